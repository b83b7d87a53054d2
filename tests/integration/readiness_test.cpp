// Readiness beside liveness: GET /readyz is 503 until a streamer with a free place is
// registered, and `ithaca server --dev` says it runs (banner, --port-file) only once a mint
// succeeds, its in-process streamer registered.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <sstream>

#include "child_process.hpp"
#include "test_node.hpp"

namespace ithaca::testing {
namespace {

const std::string kIthaca = ITHACA_BIN;

TEST(Readiness, NotReadyWithoutAStreamerReadyOnceOneRegisteredNotReadyWhenFull) {
  TestNode node;
  auto r = node.call("GET", "/readyz");
  EXPECT_EQ(r.status, 503) << r.raw;
  EXPECT_EQ(r.body["ready"], false);
  EXPECT_EQ(r.body["checks"]["store"], "ok");
  EXPECT_EQ(r.body["checks"]["streamers"], "none registered");
  EXPECT_EQ(r.body["streamers"]["registered"], 0);
  EXPECT_EQ(node.call("GET", "/healthz").status, 200);  // alive all the same

  ASSERT_TRUE(node.server().add_streamer({"str_one", 1, {}}).ok());
  r = node.call("GET", "/readyz");
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body, nlohmann::json::parse(R"({"ready": true,
      "checks": {"store": "ok", "streamers": "ok"},
      "streamers": {"registered": 1, "free_places": 1}})"));

  const std::string key = node.create_key("acme", 5);
  ASSERT_EQ(node.call("POST", "/v1/client_credentials", key).status, 201);
  r = node.call("GET", "/readyz");
  EXPECT_EQ(r.status, 503) << r.raw;
  EXPECT_EQ(r.body["checks"]["streamers"], "all full");
  EXPECT_EQ(r.body["streamers"]["free_places"], 0);
  EXPECT_EQ(node.call("POST", "/readyz").status, 405);

  node.server().registry().remove("str_one");
  EXPECT_EQ(node.call("GET", "/readyz").body["checks"]["streamers"], "none registered");
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

// `ithaca server` with stdout in a file; the port once its port file appears.
struct DevProcess {
  DevProcess(const TempDir& dir, std::vector<std::string> extra)
      : stdout_path(dir.path() + "/stdout"), process([&] {
          std::string cmd = "exec '" + kIthaca + "' server --dev --listen 127.0.0.1:0 --data '" +
                            dir.path() + "' --port-file '" + dir.path() + "/port'";
          for (const auto& e : extra) cmd += " " + e;
          return std::vector<std::string>{"/bin/sh", "-c", cmd + " >'" + stdout_path + "'"};
        }()) {
    const std::string p = wait_for_file(dir.path() + "/port", 40000);
    if (p.empty()) throw std::runtime_error("ithaca server did not write its port file");
    port = static_cast<uint16_t>(std::stoi(p));
  }
  std::string stdout_path;
  ChildProcess process;
  uint16_t port = 0;
};

TEST(Readiness, DevServerSaysItRunsOnlyOnceAMintSucceeds) {
  TempDir dir;
  DevProcess server(dir, {});
  // The very first request after the port file: no window of no_streamer_available.
  net::HttpClient client("127.0.0.1", server.port);
  auto mint = call(client, "POST", "/dev/credentials");
  EXPECT_EQ(mint.status, 201) << mint.raw;
  EXPECT_EQ(call(client, "GET", "/readyz").status, 200);
  // The banner came before the port file.
  const std::string out = read_file(server.stdout_path);
  EXPECT_NE(out.find("Ithaca is running at http://127.0.0.1:" + std::to_string(server.port)),
            std::string::npos)
      << out;
  server.process.kill(SIGTERM);
  EXPECT_EQ(server.process.wait(), 0);
}

TEST(Readiness, WithoutTheLocalStreamerNothingWaitsAndReadyzSaysWhy) {
  TempDir dir;
  DevProcess server(dir, {"--no-local-streamer"});
  net::HttpClient client("127.0.0.1", server.port);
  auto ready = call(client, "GET", "/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(ready.body["checks"]["streamers"], "none registered");
  EXPECT_EQ(call(client, "GET", "/healthz").status, 200);
  EXPECT_EQ(call(client, "POST", "/dev/credentials").body["detail"]["code"],
            "no_streamer_available");
  server.process.kill(SIGTERM);
  EXPECT_EQ(server.process.wait(), 0);
}

}  // namespace
}  // namespace ithaca::testing
