#include "test_node.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include "ithaca/base/random.hpp"

namespace ithaca::testing {

TempDir::TempDir() {
  path_ = (std::filesystem::temp_directory_path() / ("ithaca-test-" + random_id(""))).string();
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

TestNode::TestNode(std::function<void(config::Config&)> tweak) {
  config::Config c;
  c.listen = "127.0.0.1:0";
  c.data_dir = dir_.path();
  c.worker_threads = 4;
  c.mint_rate_per_second = 0;
  if (tweak) tweak(c);
  auto created = app::Server::create(c);
  if (!created) throw std::runtime_error(created.error().to_string());
  server_ = std::move(*created);
  auto started = server_->start();
  if (!started) throw std::runtime_error(started.error().to_string());
}

std::string TestNode::create_key(const std::string& account, int max_concurrent) {
  EXPECT_TRUE(store().upsert_account({account, max_concurrent}).ok());
  const auto key = auth::generate_api_key();
  EXPECT_TRUE(store()
                  .insert_api_key({key.key_id, account, key.secret_hash,
                                   SystemClock::instance().now(), std::nullopt})
                  .ok());
  return key.plaintext;
}

JsonResponse TestNode::call(const std::string& method, const std::string& target,
                            const std::string& api_key, const std::string& body) {
  net::HttpClient client("127.0.0.1", port());
  return testing::call(client, method, target, api_key, body);
}

JsonResponse call(net::HttpClient& client, const std::string& method, const std::string& target,
                  const std::string& api_key, const std::string& body) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!api_key.empty()) headers.emplace_back("Authorization", "Bearer " + api_key);
  auto r = client.request(method, target, body, headers);
  if (!r) throw std::runtime_error(r.error().to_string());
  JsonResponse out;
  out.status = r->status;
  out.raw = r->body;
  out.body = nlohmann::json::parse(r->body, nullptr, false);
  return out;
}

}  // namespace ithaca::testing
