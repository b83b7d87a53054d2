// Tests that need real processes: the `ithaca keys` CLI as operators script it, and durability
// (kill -9 the server while clients mint, restart, and compare with what clients were told).
#include <gtest/gtest.h>
#include <signal.h>

#include <regex>
#include <set>
#include <thread>

#include "child_process.hpp"
#include "ithaca/net/http_client.hpp"
#include "test_node.hpp"

namespace ithaca::testing {
namespace {

const std::string kIthaca = ITHACA_BIN;
const std::string kTestServer = ITHACA_TEST_SERVER_BIN;

std::string create_key(const std::string& data, const std::string& account, int limit) {
  auto r = run_command({kIthaca, "keys", "create", "--account", account, "--max-concurrent",
                        std::to_string(limit), "--data", data});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(std::regex_match(r.out, std::regex("ith_[a-z2-7]{16}_[A-Za-z0-9_-]{43}\n"))) << r.out;
  return r.out.substr(0, r.out.size() - 1);
}

TEST(KeysCli, CreateListRevoke) {
  TempDir dir;
  const std::string key = create_key(dir.path(), "acme", 2);
  const std::string key_id = key.substr(4, 16);
  auto list = run_command({kIthaca, "keys", "list", "--json", "--data", dir.path()});
  ASSERT_EQ(list.exit_code, 0);
  const auto keys = nlohmann::json::parse(list.out);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0]["key_id"], key_id);
  EXPECT_EQ(keys[0]["account"], "acme");
  EXPECT_TRUE(keys[0]["revoked_at"].is_null());
  EXPECT_EQ(list.out.find(key.substr(21)), std::string::npos);  // the secret is never shown
  EXPECT_EQ(run_command({kIthaca, "keys", "revoke", key_id, "--data", dir.path()}).exit_code, 0);
  EXPECT_NE(run_command({kIthaca, "keys", "revoke", "nosuchkey", "--data", dir.path()}).exit_code,
            0);
  auto after = nlohmann::json::parse(
      run_command({kIthaca, "keys", "list", "--json", "--data", dir.path()}).out);
  EXPECT_FALSE(after[0]["revoked_at"].is_null());
  // Config errors name the problem and exit 2.
  EXPECT_EQ(run_command({kIthaca, "keys", "list", "--store", "postgres://x", "--data", dir.path()})
                .exit_code,
            2);
}

struct Server {
  Server(const std::string& data, const std::string& port_file)
      : process(
            {kTestServer, "--data", data, "--port-file", port_file, "--streamer", "str:100000"}) {
    const std::string port = wait_for_file(port_file, 20000);
    if (port.empty()) throw std::runtime_error("test server did not start");
    this->port = static_cast<uint16_t>(std::stoi(port));
  }
  ChildProcess process;
  uint16_t port = 0;
};

// Clients mint as fast as they can; the server dies by SIGKILL mid-traffic. After a restart
// every session a client was told about exists, at most the requests in flight at the kill
// exist besides, and the limit still holds.
void kill_during_minting(int limit) {
  TempDir dir;
  const std::string key = create_key(dir.path(), "acme", limit);
  const std::string port_file = dir.path() + "/port";
  std::set<std::string> told;
  std::mutex told_mu;
  constexpr int kClients = 8;
  {
    auto server = std::make_unique<Server>(dir.path(), port_file);
    std::atomic<bool> stop{false};
    std::atomic<int> ok{0};
    std::vector<std::thread> clients;
    for (int i = 0; i < kClients; ++i) {
      clients.emplace_back([&] {
        net::HttpClient c("127.0.0.1", server->port);
        while (!stop) {
          auto r =
              c.request("POST", "/v1/client_credentials", "", {{"Authorization", "Bearer " + key}});
          if (!r) break;  // the server is gone
          if (r->status == 201) {
            std::lock_guard lock(told_mu);
            told.insert(nlohmann::json::parse(r->body)["session_id"].get<std::string>());
            ++ok;
          }
        }
      });
    }
    while (ok < std::min(limit, 200)) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    server->process.kill(SIGKILL);
    EXPECT_EQ(server->process.wait(), 128 + SIGKILL);
    stop = true;
    for (auto& t : clients) t.join();
    std::filesystem::remove(port_file);
  }
  Server again(dir.path(), port_file);
  net::HttpClient c("127.0.0.1", again.port);
  auto list = call(c, "GET", "/v1/sessions", key);
  ASSERT_EQ(list.status, 200);
  std::set<std::string> stored;
  for (const auto& s : list.body["sessions"]) stored.insert(s["session_id"].get<std::string>());
  for (const auto& id : told) EXPECT_TRUE(stored.count(id)) << id << " was told but lost";
  EXPECT_LE(stored.size(), told.size() + kClients);
  EXPECT_LE(static_cast<int>(stored.size()), limit);
  auto usage = call(c, "GET", "/v1/usage", key);
  EXPECT_EQ(usage.body["active_count"], static_cast<int>(stored.size()));
  // And the node still works.
  EXPECT_EQ(call(c, "GET", "/healthz").status, 200);
}

TEST(Durability, KillNineWhileMintingLosesNothing) {
  kill_during_minting(100000);
}
TEST(Durability, KillNineAtTheLimitKeepsTheLimit) {
  kill_during_minting(20);
}

}  // namespace
}  // namespace ithaca::testing
