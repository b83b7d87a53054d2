// Scale-out, with real processes on loopback: a redis-server, two `ithaca server` nodes on it
// (each with its own URL, sharing the signing key and the streamer secret through one config
// file) and two `ithaca streamer` processes, one linked to each node. Short leases (2 s) keep
// the suite fast. Covers: the slot rule across nodes under 500 concurrent mints, a stream
// through the node a credential names, kill -9 of a streamer and of a node, and a Redis restart.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "child_process.hpp"
#include "ithaca/base/encoding.hpp"
#include "ithaca/base/random.hpp"
#include "ithaca/net/http_client.hpp"
#include "ithaca/store/redis/redis_client.hpp"
#include "redis_test_server.hpp"
#include "test_node.hpp"
#include "webrtc_test_client.hpp"

namespace ithaca::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const std::string kIthaca = ITHACA_BIN;
constexpr int kLeaseMs = 2000;
// Within this, anything a lease governs has happened (a lease, a heartbeat, a sweep, slack).
constexpr auto kLeaseBound = std::chrono::milliseconds(kLeaseMs * 3);

// Polls `done` every 50 ms until it holds or `timeout` passes.
template <class F>
bool eventually(F done, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return done();
}

struct Node {
  std::unique_ptr<ChildProcess> process;
  uint16_t port = 0;
  std::string http_url() const { return "http://127.0.0.1:" + std::to_string(port); }
  std::string ws_url() const { return "ws://127.0.0.1:" + std::to_string(port); }
};

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (RedisTestServer::binary().empty()) {
      GTEST_SKIP() << "SKIPPED: redis-server is not installed (scripts/install-deps.sh installs "
                      "it); the cluster is untested here";
    }
    ASSERT_TRUE(redis_.start());
    redis_url_ = redis_.url();
    // What every node shares: the store, the token signing key, the streamer secret.
    secret_ = random_token(24);
    config_ = dir_.path() + "/cluster.toml";
    std::ofstream(config_) << "[server]\nstore = \"" << redis_url_ << "\"\nlog_level = \"warn\"\n"
                           << "[tokens]\nsigning_key = \"k1:" << random_token(32) << "\"\n"
                           << "[sessions]\nmint_rate_per_second = 0.0\n"
                           << "[streaming]\nstreamer_secret = \"" << secret_ << "\"\n"
                           << "[cluster]\nlease_ms = " << kLeaseMs << "\n";
    secret_file_ = dir_.path() + "/streamer.secret";
    std::ofstream(secret_file_) << secret_ << "\n";
    key_ = create_key("acme", 7);
    nodes_[0] = start_node(0);
    nodes_[1] = start_node(1);
  }

  std::string create_key(const std::string& account, int limit) {
    auto r = run_command({kIthaca, "keys", "create", "--account", account, "--max-concurrent",
                          std::to_string(limit), "--config", config_, "--data", dir_.path()});
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return r.out.empty() ? "" : r.out.substr(0, r.out.size() - 1);
  }

  Node start_node(int i) {
    const std::string data = dir_.path() + "/node" + std::to_string(i);
    const std::string port_file = data + ".port";
    std::filesystem::create_directories(data);
    std::filesystem::remove(port_file);
    Node n;
    n.process = std::make_unique<ChildProcess>(
        std::vector<std::string>{kIthaca, "server", "--config", config_, "--data", data, "--listen",
                                 "127.0.0.1:0", "--port-file", port_file});
    const std::string port = wait_for_file(port_file, 20000);
    EXPECT_FALSE(port.empty()) << "node " << i << " did not start";
    if (!port.empty()) n.port = static_cast<uint16_t>(std::stoi(port));
    return n;
  }

  // A real streamer linked to node `i`; waits until Redis lists it as linked there.
  void start_streamer(const std::string& id, int node, int capacity = 4) {
    streamers_[id] = std::make_unique<ChildProcess>(
        std::vector<std::string>{kIthaca, "streamer", "--server", nodes_[node].ws_url(),
                                 "--secret-file", secret_file_, "--id", id, "--capacity", "4"});
    ASSERT_TRUE(eventually(
        [&] {
          auto r = redis().command({"HGET", "ith:streamer:" + id, "url"});
          return r.ok() && r->str == nodes_[node].ws_url() + "/signaling";
        },
        15s))
        << id << " did not register with node " << node;
  }

  store::redis::RedisPool& redis() {
    if (!pool_)
      pool_ = std::make_unique<store::redis::RedisPool>(*store::redis::parse_redis_url(redis_url_));
    return *pool_;
  }

  JsonResponse call_node(int i, const std::string& method, const std::string& target,
                         const std::string& body = {}) {
    net::HttpClient c("127.0.0.1", nodes_[i].port);
    return call(c, method, target, key_, body);
  }
  JsonResponse mint(int node) { return call_node(node, "POST", "/v1/client_credentials", "{}"); }
  int active(int node) {
    auto r = call_node(node, "GET", "/v1/usage");
    return r.status == 200 ? r.body.value("active_count", -1) : -1;
  }
  json session(int node, const std::string& id) {
    return call_node(node, "GET", "/v1/sessions/" + id).body;
  }
  int in_use(const std::string& streamer) {
    auto r = redis().command({"HGET", "ith:streamer:" + streamer, "in_use"});
    return r.ok() && !r->is_nil() ? static_cast<int>(r->as_int()) : -1;
  }

  TempDir dir_;
  RedisTestServer redis_{/*persist=*/true};
  std::string redis_url_, secret_, config_, secret_file_, key_;
  Node nodes_[2];
  std::map<std::string, std::unique_ptr<ChildProcess>> streamers_;
  std::unique_ptr<store::redis::RedisPool> pool_;
};

TEST_F(ClusterTest, FiveHundredConcurrentMintsOverTwoNodesHoldTheLimitExactly) {
  // Places for every mint in flight (a place is reserved before the slot rule is checked), so
  // only the slot rule refuses: 7 in the account.
  start_streamer("str_a", 0, 32);
  start_streamer("str_b", 1, 32);
  constexpr int kThreads = 20, kPerThread = 25;
  std::atomic<int> created{0}, limited{0}, other{0}, retried{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      net::HttpClient c("127.0.0.1", nodes_[t % 2].port);
      while (!go) std::this_thread::yield();
      for (int i = 0; i < kPerThread; ++i) {
        auto r = call(c, "POST", "/v1/client_credentials", key_, "{}");
        // no_streamer_available is retryable (the SDKs poll it): with 20 mints hammering a
        // 2-core box, a 2 s lease can lapse before its heartbeat runs. Retry as a client would;
        // what is under test is that the slot rule admits exactly 7.
        for (int retry = 0;
             retry < 20 && r.status == 503 && r.body["detail"]["code"] == "no_streamer_available";
             ++retry) {
          ++retried;
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          r = call(c, "POST", "/v1/client_credentials", key_, "{}");
        }
        if (r.status == 201) {
          ++created;
        } else if (r.status == 429 && r.body["detail"]["code"] == "CONCURRENT_LIMIT_REACHED") {
          ++limited;
        } else {
          ++other;
          ADD_FAILURE() << r.status << " " << r.raw;
        }
      }
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 7) << retried.load() << " mints retried a 503";
  EXPECT_EQ(limited.load(), kThreads * kPerThread - 7);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(active(0), 7);
  EXPECT_EQ(active(1), 7);
  EXPECT_EQ(in_use("str_a") + in_use("str_b"), 7);  // refused mints gave their places back
}

TEST_F(ClusterTest, MintOnOneNodeStreamThroughTheNodeItNamesAndEndCleanly) {
  start_streamer("str_a", 0);
  start_streamer("str_b", 1);
  // Two mints on node 0 land on both streamers (least loaded first); the one on str_b names
  // node 1, which holds str_b's link.
  json cross;
  std::vector<std::string> minted;
  for (int i = 0; i < 2; ++i) {
    auto r = mint(0);
    ASSERT_EQ(r.status, 201) << r.raw;
    minted.push_back(r.body["session_id"]);
    const std::string streamer = session(0, r.body["session_id"])["streamer_id"];
    EXPECT_EQ(r.body["signaling_url"], nodes_[streamer == "str_a" ? 0 : 1].ws_url() + "/signaling");
    if (streamer == "str_b") cross = r.body;
  }
  ASSERT_FALSE(cross.is_null()) << "no session was placed on the other node's streamer";

  WebRtcTestClient client;
  client.connect(cross);
  ASSERT_TRUE(client.wait_frames(10, 20s)) << "no video through node 1";
  EXPECT_EQ(session(0, cross["session_id"])["state"], "connected");
  client.disconnect();
  ASSERT_TRUE(eventually([&] { return session(1, cross["session_id"])["state"] == "ended"; }, 5s));
  EXPECT_EQ(session(0, cross["session_id"])["end_cause"], "client_disconnect");
  for (const auto& id : minted) call_node(0, "DELETE", "/v1/sessions/" + id);
  EXPECT_EQ(active(0), 0);
  EXPECT_EQ(active(1), 0);
  EXPECT_EQ(in_use("str_a"), 0);
  EXPECT_EQ(in_use("str_b"), 0);
}

TEST_F(ClusterTest, AnOperatorEndOnOneNodeClosesTheClientOnTheOther) {
  start_streamer("str_b", 1);
  auto r = mint(0);  // placed on node 1's streamer: the client connects to node 1
  ASSERT_EQ(r.status, 201) << r.raw;
  ASSERT_EQ(r.body["signaling_url"], nodes_[1].ws_url() + "/signaling");
  WebRtcTestClient client;
  client.connect(r.body);
  ASSERT_TRUE(client.wait_frames(5, 20s));
  ASSERT_EQ(
      call_node(0, "DELETE", "/v1/sessions/" + r.body["session_id"].get<std::string>()).status,
      200);
  auto error = client.wait_signaling_error(5s);
  ASSERT_TRUE(error.has_value()) << "node 1 did not close the client";
  EXPECT_EQ(active(1), 0);
  EXPECT_TRUE(eventually([&] { return in_use("str_b") == 0; }, 5s));
}

TEST_F(ClusterTest, KillNineAStreamerMidStream) {
  start_streamer("str_a", 0);
  start_streamer("str_b", 1);
  auto r = mint(1);
  ASSERT_EQ(r.status, 201) << r.raw;
  const std::string id = r.body["session_id"];
  const std::string victim = session(1, id)["streamer_id"];
  const std::string survivor = victim == "str_a" ? "str_b" : "str_a";
  WebRtcTestClient client;
  client.connect(r.body);
  ASSERT_TRUE(client.wait_frames(5, 20s));

  streamers_[victim]->kill(SIGKILL);
  auto error = client.wait_signaling_error(kLeaseBound);
  ASSERT_TRUE(error.has_value()) << "the client was not told";
  EXPECT_EQ((*error)["reason"], "streamer_disconnected") << error->dump();
  ASSERT_TRUE(eventually([&] { return active(0) == 0 && active(1) == 0; }, kLeaseBound));
  EXPECT_EQ(session(0, id)["end_cause"], "streamer_disconnected");
  for (int node = 0; node < 2; ++node) {
    auto next = mint(node);
    ASSERT_EQ(next.status, 201) << next.raw;
    EXPECT_EQ(session(node, next.body["session_id"])["streamer_id"], survivor);
  }
}

TEST_F(ClusterTest, KillNineANodeTheOtherServesAndCleansUpItsSessions) {
  start_streamer("str_a", 0);
  start_streamer("str_b", 1);
  // A session on node 0's streamer, with its client connected through node 0.
  json on_a;
  std::vector<std::string> others;
  for (int i = 0; i < 4 && on_a.is_null(); ++i) {
    auto r = mint(1);
    ASSERT_EQ(r.status, 201) << r.raw;
    const std::string id = r.body["session_id"];
    if (session(1, id)["streamer_id"] == "str_a") {
      on_a = r.body;
    } else {
      others.push_back(id);
    }
  }
  ASSERT_FALSE(on_a.is_null());
  for (const auto& id : others) ASSERT_EQ(call_node(1, "DELETE", "/v1/sessions/" + id).status, 200);
  WebRtcTestClient client;
  client.connect(on_a);
  ASSERT_TRUE(client.wait_frames(5, 20s));

  nodes_[0].process->kill(SIGKILL);
  EXPECT_EQ(nodes_[0].process->wait(), 128 + SIGKILL);
  // Node 1 keeps serving, and within the lease ends what node 0 owned.
  EXPECT_EQ(call_node(1, "GET", "/healthz").status, 200);
  ASSERT_TRUE(
      eventually([&] { return session(1, on_a["session_id"])["state"] == "ended"; }, kLeaseBound));
  EXPECT_EQ(session(1, on_a["session_id"])["end_cause"], "streamer_disconnected");
  auto next = mint(1);
  ASSERT_EQ(next.status, 201) << next.raw;
  EXPECT_EQ(session(1, next.body["session_id"])["streamer_id"], "str_b");
  EXPECT_EQ(next.body["signaling_url"], nodes_[1].ws_url() + "/signaling");
  EXPECT_EQ(active(1), 1);  // only the new one: every slot of the dead node's sessions is free
}

TEST_F(ClusterTest, RedisRestartedMidRunGives503sThenServesAgain) {
  start_streamer("str_a", 0);
  start_streamer("str_b", 1);
  ASSERT_EQ(mint(0).status, 201);
  redis_.kill();
  for (int node = 0; node < 2; ++node) {
    auto r = mint(node);
    EXPECT_EQ(r.status, 503) << r.raw;
    EXPECT_EQ(r.body["detail"]["code"], "store_unavailable") << r.raw;
    auto list = call_node(node, "GET", "/v1/sessions");
    EXPECT_EQ(list.status, 503) << list.raw;
    // Not ready, and saying why; alive, not crashed.
    auto health = call_node(node, "GET", "/healthz");
    EXPECT_EQ(health.status, 503) << health.raw;
    int status = 0;
    EXPECT_EQ(waitpid(nodes_[node].process->pid(), &status, WNOHANG), 0) << "node exited";
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(kLeaseMs));  // heartbeats fail meanwhile
  ASSERT_TRUE(redis_.start());
  auto kept = redis().command({"DBSIZE"});
  ASSERT_TRUE(kept.ok() && kept->as_int() > 0) << "the test Redis lost its data";
  // Without a restart of either node: both mint again (the data survived in the AOF).
  for (int node = 0; node < 2; ++node) {
    JsonResponse last;
    ASSERT_TRUE(eventually(
        [&] {
          last = mint(node);
          return last.status == 201;
        },
        kLeaseBound))
        << "node " << node << " did not recover: " << last.raw;
  }
  EXPECT_EQ(active(0), 3);
  EXPECT_EQ(active(1), 3);
  for (auto& node : nodes_) {
    int status = 0;
    EXPECT_EQ(waitpid(node.process->pid(), &status, WNOHANG), 0) << "a node exited";
  }
}

}  // namespace
}  // namespace ithaca::testing
