// The Store contract: one suite, run against every backend (memory, SQLite, Redis), covering
// each method and error rule of ithaca/session/store.hpp. The Redis backend runs against a
// redis-server the suite starts itself on a free loopback port (skipped, loudly, only when
// redis-server is not installed; scripts/install-deps.sh installs it). Then what only SQLite
// promises: data survives close, reopen and kill -9; a second store on the same file (another
// process) sees the writes and the slot rule still holds across both; a bad file is an error, not a
// crash.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ithaca/store/memory/memory_store.hpp"
#include "ithaca/store/open_store.hpp"
#include "ithaca/store/redis/redis_store.hpp"
#include "ithaca/store/sqlite/sqlite_store.hpp"
#include "redis_test_server.hpp"

extern char** environ;

namespace ithaca::session {

// Readable failures for records compared with EXPECT_EQ.
void PrintTo(const SessionRecord& s, std::ostream* os) {
  auto t = [](const std::optional<TimePoint>& v) {
    return v ? std::to_string(to_unix_ms(*v)) : std::string("-");
  };
  *os << "{id=" << s.id << " account=" << s.account << " streamer=" << s.streamer_id
      << " model=" << s.model << " state=" << to_string(s.state)
      << " cause=" << to_string(s.end_cause) << " created=" << to_unix_ms(s.created_at)
      << " connected=" << t(s.connected_at) << " ended=" << t(s.ended_at) << " jti=" << s.token_jti
      << " token_exp=" << t(s.token_expires_at) << " deadline=" << t(s.deadline_at)
      << " caps=" << nlohmann::json(s.capabilities).dump()
      << " meta=" << nlohmann::json(s.metadata).dump() << "}";
}

bool operator==(const LiveCount& a, const LiveCount& b) {
  return a.key == b.key && a.count == b.count;
}
void PrintTo(const LiveCount& c, std::ostream* os) {
  *os << c.key << "=" << c.count;
}

}  // namespace ithaca::session

namespace ithaca::store {
namespace {

namespace fs = std::filesystem;
using session::Account;
using session::ApiKeyRecord;
using session::EndCause;
using session::LiveCount;
using session::SessionRecord;
using session::SessionState;
using session::SessionUpdate;
using session::Store;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const TimePoint kT0 = TimePoint{seconds{1'700'000'000}};
const std::vector<SessionState> kLive = {SessionState::provisioned, SessionState::connected,
                                         SessionState::dropped};

// The code of a failed result, or "ok": reads well in EXPECT_EQ and in its failure message.
template <class T>
std::string code(const Result<T>& r) {
  return r.ok() ? "ok" : std::string(r.error().name());
}

std::vector<std::string> ids(const std::vector<SessionRecord>& sessions) {
  std::vector<std::string> out;
  for (const auto& s : sessions) out.push_back(s.id);
  return out;
}

SessionRecord new_session(std::string id, std::string account, TimePoint created = kT0) {
  SessionRecord s;
  s.id = std::move(id);
  s.account = std::move(account);
  s.streamer_id = "str_1";
  s.created_at = created;
  s.deadline_at = created + seconds{60};
  return s;
}

SessionUpdate end_update(TimePoint at, EndCause cause = EndCause::operator_ended) {
  SessionUpdate u;
  u.expected_states = kLive;
  u.new_state = SessionState::ended;
  u.end_cause = cause;
  u.ended_at = at;
  u.set_deadline = true;
  return u;
}

// A fresh folder per test, removed after it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "ithaca-store-XXXXXX").string();
    if (!mkdtemp(pattern.data())) std::abort();
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::unique_ptr<SqliteStore> open_sqlite(const fs::path& file) {
  auto opened = SqliteStore::open(file.string());
  if (!opened) ADD_FAILURE() << opened.error().to_string();
  return opened ? std::move(opened).value() : nullptr;
}

struct Backend {
  std::string name;
  std::function<std::unique_ptr<Store>(const fs::path& dir)> make;
};

constexpr const char* kNoRedis =
    "SKIPPED: redis-server is not installed (scripts/install-deps.sh installs it); the Redis "
    "store is untested here";

// One redis-server for the whole suite (started on first use), emptied before each test.
testing::RedisTestServer* shared_redis() {
  if (testing::RedisTestServer::binary().empty()) return nullptr;
  static testing::RedisTestServer server;  // stopped when the test process exits
  if (!server.running() && !server.start()) ADD_FAILURE() << "redis-server did not start";
  return &server;
}

std::unique_ptr<Store> open_redis() {
  auto* server = shared_redis();
  if (!server) return nullptr;
  auto store = RedisStore::open(server->url(3));
  if (!store) {
    ADD_FAILURE() << store.error().to_string();
    return nullptr;
  }
  auto flushed = (*store)->pool()->command({"FLUSHDB"});
  if (!flushed) ADD_FAILURE() << flushed.error().to_string();
  return std::move(*store);
}

class StoreContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam().name == "redis" && testing::RedisTestServer::binary().empty()) {
      GTEST_SKIP() << kNoRedis;
    }
    store_ = GetParam().make(dir_.path());
    ASSERT_NE(store_, nullptr);
  }

  Store& store() { return *store_; }

  void add_account(const std::string& name, int limit) {
    auto done = store().upsert_account({name, limit});
    ASSERT_TRUE(done.ok()) << done.error().to_string();
  }
  void insert(const SessionRecord& s) {
    auto done = store().insert_session(s);
    ASSERT_TRUE(done.ok()) << s.id << ": " << done.error().to_string();
  }
  SessionRecord get(const std::string& id) {
    auto found = store().get_session(id);
    EXPECT_TRUE(found.ok());
    EXPECT_TRUE(found.ok() && found->has_value()) << id;
    return found.ok() && found->has_value() ? **found : SessionRecord{};
  }
  void end(const std::string& id, TimePoint at) {
    auto done = store().update_session(id, end_update(at));
    ASSERT_TRUE(done.ok()) << id << ": " << done.error().to_string();
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

// ---- Accounts ----

TEST_P(StoreContract, AccountUpsertAndGet) {
  auto missing = store().get_account("acme");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  add_account("acme", 5);
  auto found = store().get_account("acme");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ(**found, (Account{"acme", 5}));

  add_account("acme", 2);
  EXPECT_EQ(**store().get_account("acme"), (Account{"acme", 2}));

  EXPECT_EQ(code(store().upsert_account({"", 1})), "invalid_request");
  EXPECT_EQ(code(store().upsert_account({"neg", -1})), "invalid_request");
  EXPECT_FALSE(store().get_account("neg")->has_value());
}

TEST_P(StoreContract, UpsertKeepsSessionsAndALowerLimitOnlyStopsNewMints) {
  add_account("acme", 3);
  for (int i = 0; i < 3; ++i) insert(new_session("s" + std::to_string(i), "acme"));
  add_account("acme", 1);
  EXPECT_EQ(store().list_live_sessions("acme")->size(), 3u);
  auto refused = store().insert_session(new_session("s3", "acme"));
  ASSERT_EQ(code(refused), "CONCURRENT_LIMIT_REACHED");
  EXPECT_EQ(refused.error().details["active_count"], 3);
  EXPECT_EQ(refused.error().details["limit"], 1);
}

// ---- API keys ----

TEST_P(StoreContract, ApiKeysInsertFindListRevoke) {
  add_account("acme", 1);
  ApiKeyRecord a{"key_a", "acme", std::string(64, 'a'), kT0 + seconds{2}, std::nullopt};
  ApiKeyRecord b{"key_b", "acme", std::string(64, 'b'), kT0 + seconds{1}, std::nullopt};
  ASSERT_TRUE(store().insert_api_key(a).ok());
  ASSERT_TRUE(store().insert_api_key(b).ok());

  auto found = store().find_api_key("key_a");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ(**found, a);
  EXPECT_FALSE(store().find_api_key("key_zzz")->has_value());

  auto listed = store().list_api_keys();
  ASSERT_TRUE(listed.ok());
  EXPECT_THAT(*listed, ElementsAre(b, a));  // oldest first

  auto unknown = store().revoke_api_key("key_zzz", kT0);
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(*unknown);

  const TimePoint revoked = kT0 + seconds{10};
  auto first = store().revoke_api_key("key_a", revoked);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(*first);
  auto twice = store().revoke_api_key("key_a", revoked + seconds{5});
  ASSERT_TRUE(twice.ok());
  EXPECT_TRUE(*twice);
  EXPECT_EQ(store().find_api_key("key_a")->value().revoked_at, revoked);  // the first one stays
  EXPECT_EQ(store().find_api_key("key_b")->value().revoked_at, std::nullopt);
}

TEST_P(StoreContract, ApiKeyErrors) {
  add_account("acme", 1);
  ApiKeyRecord key{"key_a", "acme", "hash", kT0, std::nullopt};
  ASSERT_TRUE(store().insert_api_key(key).ok());
  EXPECT_EQ(code(store().insert_api_key(key)), "invalid_request");  // same id twice
  EXPECT_EQ(code(store().insert_api_key({"key_b", "nobody", "hash", kT0, {}})), "invalid_request");
  EXPECT_EQ(code(store().insert_api_key({"", "acme", "hash", kT0, {}})), "invalid_request");
  EXPECT_EQ(code(store().insert_api_key({"key_c", "acme", "", kT0, {}})), "invalid_request");
  EXPECT_EQ(store().list_api_keys()->size(), 1u);
}

// ---- insert_session and the slot rule ----

TEST_P(StoreContract, InsertSessionHoldsExactlyMaxConcurrent) {
  add_account("acme", 3);
  for (int i = 0; i < 3; ++i) insert(new_session("s" + std::to_string(i), "acme"));

  auto refused = store().insert_session(new_session("s3", "acme"));
  ASSERT_EQ(code(refused), "CONCURRENT_LIMIT_REACHED");
  EXPECT_EQ(refused.error().details["active_count"], 3);
  EXPECT_EQ(refused.error().details["limit"], 3);
  EXPECT_FALSE(store().get_session("s3")->has_value());

  // An ended session frees its slot.
  end("s1", kT0 + seconds{1});
  insert(new_session("s3", "acme"));
  EXPECT_EQ(code(store().insert_session(new_session("s4", "acme"))), "CONCURRENT_LIMIT_REACHED");

  // Other accounts have their own slots.
  add_account("other", 1);
  insert(new_session("o1", "other"));
}

TEST_P(StoreContract, InsertSessionErrors) {
  EXPECT_EQ(code(store().insert_session(new_session("s1", "nobody"))), "invalid_request");

  add_account("zero", 0);
  auto refused = store().insert_session(new_session("z1", "zero"));
  ASSERT_EQ(code(refused), "CONCURRENT_LIMIT_REACHED");
  EXPECT_EQ(refused.error().details["active_count"], 0);
  EXPECT_EQ(refused.error().details["limit"], 0);

  add_account("acme", 5);
  insert(new_session("s1", "acme"));
  EXPECT_EQ(code(store().insert_session(new_session("s1", "acme"))), "invalid_request");
  SessionRecord ended = new_session("s2", "acme");
  ended.state = SessionState::ended;
  EXPECT_EQ(code(store().insert_session(ended)), "invalid_request");
  EXPECT_EQ(code(store().insert_session(new_session("", "acme"))), "invalid_request");
  EXPECT_EQ(store().list_live_sessions("acme")->size(), 1u);
}

TEST_P(StoreContract, InsertSessionAsyncHoldsTheLimitAndCallsBackOnce) {
  constexpr int kLimit = 5;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  constexpr int kTotal = kThreads * kPerThread;
  add_account("acme", kLimit);
  std::mutex mu;
  std::condition_variable all_done;
  std::set<std::string> called;
  int ok = 0, limited = 0, other = 0, twice = 0, invisible = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = "s" + std::to_string(t) + "_" + std::to_string(i);
        store().insert_session_async(new_session(id, "acme"), [&, id](Status inserted) {
          // Once the callback runs, the outcome is durable and readable.
          const bool visible = !inserted.ok() || store().get_session(id)->has_value();
          std::lock_guard lock(mu);
          if (!called.insert(id).second) ++twice;
          if (inserted.ok()) {
            ++ok;
          } else if (code(inserted) == "CONCURRENT_LIMIT_REACHED") {
            ++limited;
          } else {
            ++other;
          }
          if (!visible) ++invisible;
          all_done.notify_all();
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  std::unique_lock lock(mu);
  ASSERT_TRUE(all_done.wait_for(lock, seconds{30},
                                [&] { return called.size() == static_cast<size_t>(kTotal); }))
      << called.size() << " of " << kTotal << " callbacks";
  EXPECT_EQ(ok, kLimit);
  EXPECT_EQ(limited, kTotal - kLimit);
  EXPECT_EQ(other, 0);
  EXPECT_EQ(twice, 0);
  EXPECT_EQ(invisible, 0);
  lock.unlock();
  EXPECT_EQ(store().list_live_sessions("acme")->size(), static_cast<size_t>(kLimit));
}

TEST_P(StoreContract, InsertSessionAsyncErrors) {
  std::promise<Status> unknown;
  store().insert_session_async(new_session("s1", "nobody"),
                               [&](Status s) { unknown.set_value(std::move(s)); });
  EXPECT_EQ(code(unknown.get_future().get()), "invalid_request");
  add_account("acme", 5);
  std::promise<Status> invalid;
  store().insert_session_async(new_session("", "acme"),
                               [&](Status s) { invalid.set_value(std::move(s)); });
  EXPECT_EQ(code(invalid.get_future().get()), "invalid_request");
}

// ---- get_session and round trips ----

TEST_P(StoreContract, GetSessionRoundTripsEveryField) {
  add_account("acme", 5);
  SessionRecord s = new_session("ses_full", "acme", kT0 + milliseconds{123});
  s.state = SessionState::dropped;
  s.streamer_id = "str_gpu7";
  s.model = "my-world";
  s.connected_at = kT0 + seconds{1};
  s.token_jti = "jti_1";
  s.token_expires_at = kT0 + seconds{900};
  s.deadline_at = kT0 + seconds{900};
  s.capabilities = {{"image_to_video", true}, {"text_to_video", false}};
  s.metadata = {{"user", "u-42"}, {"room", "blue"}};
  insert(s);
  EXPECT_EQ(get("ses_full"), s);

  auto missing = store().get_session("ses_none");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST_P(StoreContract, MetadataAndCapabilitiesRoundTrip) {
  add_account("acme", 5);
  SessionRecord empty = new_session("empty", "acme");
  empty.deadline_at.reset();
  insert(empty);
  EXPECT_EQ(get("empty"), empty);

  SessionRecord odd = new_session("odd", "acme");
  odd.metadata = {{"quote\"", "back\\slash"},
                  {"unicode", "caf\u00e9 \u6f22\u5b57 \U0001F600"},
                  {"newline", "a\nb\tc"},
                  {"empty", ""},
                  {"json", R"({"nested": [1, 2]})"}};
  for (int i = 0; i < 12; ++i) odd.capabilities["cap" + std::to_string(i)] = i % 2 == 0;
  insert(odd);
  EXPECT_EQ(get("odd"), odd);
}

TEST_P(StoreContract, TimesAreKeptToTheMillisecond) {
  add_account("acme", 5);
  SessionRecord s = new_session("s1", "acme", kT0 + std::chrono::microseconds{1'234'567});
  insert(s);
  EXPECT_EQ(get("s1").created_at, kT0 + milliseconds{1'234});
}

// ---- list_live_sessions ----

TEST_P(StoreContract, ListLiveSessionsOldestFirstExcludingEnded) {
  add_account("acme", 10);
  add_account("other", 10);
  insert(new_session("a_late", "acme", kT0 + seconds{30}));
  insert(new_session("a_early", "acme", kT0 + seconds{10}));
  insert(new_session("o_mid", "other", kT0 + seconds{20}));
  insert(new_session("a_tie1", "acme", kT0 + seconds{20}));
  insert(new_session("a_tie2", "acme", kT0 + seconds{20}));  // same time: insertion order
  insert(new_session("a_gone", "acme", kT0 + seconds{5}));
  end("a_gone", kT0 + seconds{40});

  EXPECT_THAT(ids(*store().list_live_sessions("acme")),
              ElementsAre("a_early", "a_tie1", "a_tie2", "a_late"));
  EXPECT_THAT(ids(*store().list_live_sessions("other")), ElementsAre("o_mid"));
  EXPECT_THAT(ids(*store().list_live_sessions("")),
              ElementsAre("a_early", "o_mid", "a_tie1", "a_tie2", "a_late"));
  EXPECT_TRUE(store().list_live_sessions("nobody")->empty());
}

// ---- update_session ----

TEST_P(StoreContract, UpdateSessionLifecycle) {
  add_account("acme", 5);
  insert(new_session("s1", "acme"));

  SessionUpdate connect;
  connect.expected_states = {SessionState::provisioned, SessionState::dropped};
  connect.new_state = SessionState::connected;
  connect.connected_at = kT0 + seconds{1};
  connect.set_deadline = true;  // connected: no deadline
  auto connected = store().update_session("s1", connect);
  ASSERT_TRUE(connected.ok()) << connected.error().to_string();
  EXPECT_EQ(connected->state, SessionState::connected);
  EXPECT_EQ(connected->connected_at, kT0 + seconds{1});
  EXPECT_EQ(connected->deadline_at, std::nullopt);
  EXPECT_EQ(*connected, get("s1"));

  // Another client racing in finds it connected.
  EXPECT_EQ(code(store().update_session("s1", connect)), "session_already_connected");

  SessionUpdate drop;
  drop.expected_states = {SessionState::connected};
  drop.new_state = SessionState::dropped;
  drop.set_deadline = true;
  drop.deadline = kT0 + seconds{300};
  auto dropped = store().update_session("s1", drop);
  ASSERT_TRUE(dropped.ok());
  EXPECT_EQ(dropped->deadline_at, kT0 + seconds{300});

  // Expecting connected and finding dropped: a plain mismatch.
  auto mismatch = store().update_session("s1", drop);
  EXPECT_EQ(code(mismatch), "invalid_request");

  // Resume: connected_at is set once, the first connect stays.
  connect.connected_at = kT0 + seconds{50};
  auto resumed = store().update_session("s1", connect);
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->connected_at, kT0 + seconds{1});
  EXPECT_EQ(resumed->deadline_at, std::nullopt);

  // A deadline that is not asked to change stays.
  SessionUpdate keep = drop;
  ASSERT_TRUE(store().update_session("s1", drop).ok());
  keep.expected_states = {SessionState::dropped};
  keep.set_deadline = false;
  keep.deadline = kT0 + seconds{1};
  EXPECT_EQ(store().update_session("s1", keep)->deadline_at, kT0 + seconds{300});

  auto ended =
      store().update_session("s1", end_update(kT0 + seconds{400}, EndCause::token_expired));
  ASSERT_TRUE(ended.ok());
  EXPECT_EQ(ended->state, SessionState::ended);
  EXPECT_EQ(ended->end_cause, EndCause::token_expired);
  EXPECT_EQ(ended->ended_at, kT0 + seconds{400});
  EXPECT_EQ(ended->deadline_at, std::nullopt);
  EXPECT_EQ(*ended, get("s1"));

  // Expecting a live state, finding it ended.
  EXPECT_EQ(code(store().update_session("s1", connect)), "session_ended");
  EXPECT_EQ(code(store().update_session("s1", end_update(kT0))), "session_ended");
  // An ended session never becomes live again.
  SessionUpdate revive;
  revive.expected_states = {SessionState::ended};
  revive.new_state = SessionState::provisioned;
  EXPECT_EQ(code(store().update_session("s1", revive)), "invalid_request");
  EXPECT_EQ(get("s1"), *ended);  // refused updates change nothing
}

TEST_P(StoreContract, UpdateSessionNotFound) {
  EXPECT_EQ(code(store().update_session("nope", end_update(kT0))), "session_not_found");
}

TEST_P(StoreContract, UpdateMismatchFromProvisioned) {
  add_account("acme", 5);
  insert(new_session("s1", "acme"));
  SessionUpdate drop;
  drop.expected_states = {SessionState::connected};
  drop.new_state = SessionState::dropped;
  auto refused = store().update_session("s1", drop);
  ASSERT_EQ(code(refused), "invalid_request");
  EXPECT_EQ(refused.error().details["state"], "provisioned");
  SessionUpdate nothing_expected;
  EXPECT_EQ(code(store().update_session("s1", nothing_expected)), "invalid_request");
  EXPECT_EQ(get("s1").state, SessionState::provisioned);
}

TEST_P(StoreContract, IssueTokenOnce) {
  add_account("acme", 5);
  insert(new_session("s1", "acme"));
  SessionUpdate issue;
  issue.expected_states = {SessionState::provisioned};
  issue.new_state = SessionState::provisioned;
  issue.issue_token_jti = "jti_first";
  issue.token_expires_at = kT0 + seconds{900};
  auto issued = store().update_session("s1", issue);
  ASSERT_TRUE(issued.ok()) << issued.error().to_string();
  EXPECT_EQ(issued->token_jti, "jti_first");
  EXPECT_EQ(issued->token_expires_at, kT0 + seconds{900});
  EXPECT_EQ(issued->deadline_at, kT0 + seconds{60});  // untouched

  issue.issue_token_jti = "jti_second";
  EXPECT_EQ(code(store().update_session("s1", issue)), "credential_already_issued");
  EXPECT_EQ(get("s1").token_jti, "jti_first");

  SessionRecord preissued = new_session("s2", "acme");
  preissued.token_jti = "jti_at_mint";
  insert(preissued);
  EXPECT_EQ(code(store().update_session("s2", issue)), "credential_already_issued");
}

TEST_P(StoreContract, ConcurrentUpdatesOnlyOneWins) {
  add_account("acme", 5);
  insert(new_session("s1", "acme"));
  SessionUpdate connect;
  connect.expected_states = {SessionState::provisioned, SessionState::dropped};
  connect.new_state = SessionState::connected;
  std::atomic<int> won{0}, already{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 32; ++i) {
    threads.emplace_back([&] {
      auto r = store().update_session("s1", connect);
      if (r.ok()) {
        ++won;
      } else if (code(r) == "session_already_connected") {
        ++already;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(already.load(), 31);
  EXPECT_EQ(other.load(), 0);
}

// ---- sessions_due, sessions_on_streamer ----

TEST_P(StoreContract, SessionsDueOldestDeadlineFirst) {
  add_account("acme", 10);
  auto with_deadline = [&](const std::string& id, std::optional<TimePoint> deadline) {
    SessionRecord s = new_session(id, "acme");
    s.deadline_at = deadline;
    insert(s);
  };
  with_deadline("d10", kT0 + seconds{10});
  with_deadline("d5", kT0 + seconds{5});
  with_deadline("d20", kT0 + seconds{20});
  with_deadline("none", std::nullopt);
  with_deadline("d1_ended", kT0 + seconds{1});
  SessionUpdate end_keep_deadline = end_update(kT0);
  end_keep_deadline.set_deadline = false;
  ASSERT_TRUE(store().update_session("d1_ended", end_keep_deadline).ok());

  EXPECT_THAT(ids(*store().sessions_due(kT0 + seconds{10}, 10)), ElementsAre("d5", "d10"));
  EXPECT_THAT(ids(*store().sessions_due(kT0 + seconds{10}, 1)), ElementsAre("d5"));
  EXPECT_THAT(ids(*store().sessions_due(kT0 + seconds{100}, 10)), ElementsAre("d5", "d10", "d20"));
  EXPECT_TRUE(store().sessions_due(kT0 + seconds{4}, 10)->empty());
  EXPECT_TRUE(store().sessions_due(kT0 + seconds{100}, 0)->empty());
}

TEST_P(StoreContract, SessionsOnStreamer) {
  add_account("acme", 10);
  auto on = [&](const std::string& id, const std::string& streamer, int created_s) {
    SessionRecord s = new_session(id, "acme", kT0 + seconds{created_s});
    s.streamer_id = streamer;
    insert(s);
  };
  on("late", "str_a", 20);
  on("early", "str_a", 10);
  on("elsewhere", "str_b", 5);
  on("gone", "str_a", 1);
  end("gone", kT0 + seconds{30});
  EXPECT_THAT(ids(*store().sessions_on_streamer("str_a")), ElementsAre("early", "late"));
  EXPECT_THAT(ids(*store().sessions_on_streamer("str_b")), ElementsAre("elsewhere"));
  EXPECT_TRUE(store().sessions_on_streamer("str_none")->empty());
}

// ---- purge_ended ----

TEST_P(StoreContract, PurgeEndedDeletesOnlyEndedBeforeTheCutoff) {
  add_account("acme", 10);
  insert(new_session("old", "acme"));
  insert(new_session("edge", "acme"));
  insert(new_session("recent", "acme"));
  insert(new_session("live", "acme"));
  end("old", kT0 + seconds{1});
  end("edge", kT0 + seconds{5});
  end("recent", kT0 + seconds{9});

  auto purged = store().purge_ended(kT0 + seconds{5});
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(*purged, 1);  // strictly before
  EXPECT_FALSE(store().get_session("old")->has_value());
  EXPECT_TRUE(store().get_session("edge")->has_value());
  EXPECT_EQ(*store().purge_ended(kT0 + seconds{5}), 0);
  EXPECT_EQ(*store().purge_ended(kT0 + seconds{3600}), 2);
  EXPECT_TRUE(store().get_session("live")->has_value());
  EXPECT_THAT(*store().count_live_by_account(), ElementsAre(LiveCount{"acme", 1}));
}

// ---- counts ----

TEST_P(StoreContract, CountLiveByStateAndAccount) {
  EXPECT_THAT(
      *store().count_live_by_state(),
      ElementsAre(LiveCount{"provisioned", 0}, LiveCount{"connected", 0}, LiveCount{"dropped", 0}));
  EXPECT_TRUE(store().count_live_by_account()->empty());

  add_account("zeta", 10);
  add_account("acme", 10);
  add_account("idle", 10);
  for (int i = 0; i < 4; ++i) insert(new_session("a" + std::to_string(i), "acme"));
  insert(new_session("z0", "zeta"));
  SessionUpdate connect;
  connect.expected_states = {SessionState::provisioned};
  connect.new_state = SessionState::connected;
  ASSERT_TRUE(store().update_session("a0", connect).ok());
  ASSERT_TRUE(store().update_session("a1", connect).ok());
  SessionUpdate drop;
  drop.expected_states = {SessionState::connected};
  drop.new_state = SessionState::dropped;
  ASSERT_TRUE(store().update_session("a1", drop).ok());
  end("a2", kT0);

  EXPECT_THAT(
      *store().count_live_by_state(),
      ElementsAre(LiveCount{"provisioned", 2}, LiveCount{"connected", 1}, LiveCount{"dropped", 1}));
  EXPECT_THAT(*store().count_live_by_account(),
              ElementsAre(LiveCount{"acme", 3}, LiveCount{"idle", 0}, LiveCount{"zeta", 1}));
}

// ---- concurrency ----

TEST_P(StoreContract, ConcurrentInsertsNeverExceedTheLimit) {
  constexpr int kLimit = 5;
  constexpr int kThreads = 64;
  constexpr int kPerThread = 4;
  add_account("acme", kLimit);
  std::atomic<int> ok{0}, limited{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r = store().insert_session(
            new_session("s" + std::to_string(t) + "_" + std::to_string(i), "acme"));
        if (r.ok()) {
          ++ok;
        } else if (code(r) == "CONCURRENT_LIMIT_REACHED") {
          ++limited;
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kLimit);
  EXPECT_EQ(limited.load(), kThreads * kPerThread - kLimit);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(store().list_live_sessions("acme")->size(), static_cast<size_t>(kLimit));
  EXPECT_THAT(*store().count_live_by_account(), ElementsAre(LiveCount{"acme", kLimit}));
}

TEST_P(StoreContract, ConcurrentMintAndEndKeepsCountsExact) {
  // Threads mint and end sessions in a loop; the limit holds at every moment and the counts
  // agree with the sessions at the end.
  constexpr int kLimit = 8;
  add_account("acme", kLimit);
  std::atomic<int> minted{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const std::string id = "s" + std::to_string(t) + "_" + std::to_string(i);
        auto r = store().insert_session(new_session(id, "acme"));
        if (!r.ok()) {
          if (code(r) != "CONCURRENT_LIMIT_REACHED") ++other;
          continue;
        }
        ++minted;
        if (store().list_live_sessions("acme")->size() > static_cast<size_t>(kLimit)) ++other;
        if (i % 3 != 0 && !store().update_session(id, end_update(kT0)).ok()) ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_GE(minted.load(), kLimit);
  const auto live = store().list_live_sessions("acme")->size();
  EXPECT_LE(live, static_cast<size_t>(kLimit));
  EXPECT_THAT(*store().count_live_by_account(),
              ElementsAre(LiveCount{"acme", static_cast<int>(live)}));
}

INSTANTIATE_TEST_SUITE_P(
    Backends, StoreContract,
    ::testing::Values(Backend{"memory",
                              [](const fs::path&) { return std::make_unique<MemoryStore>(); }},
                      Backend{"sqlite",
                              [](const fs::path& dir) -> std::unique_ptr<Store> {
                                return open_sqlite(dir / "ithaca.db");
                              }},
                      Backend{"redis", [](const fs::path&) { return open_redis(); }}),
    [](const ::testing::TestParamInfo<Backend>& info) { return info.param.name; });

// ---- SQLite only ----

class SqliteStoreTest : public ::testing::Test {
 protected:
  fs::path db() const { return dir_.path() / "data" / "ithaca.db"; }

  // A raw connection, to look under the store: the `column` of each row, joined by "\n".
  std::string query(const std::string& sql, int column = 0) {
    sqlite3* raw = nullptr;
    EXPECT_EQ(sqlite3_open(db().c_str(), &raw), SQLITE_OK);
    struct Out {
      int column;
      std::string text;
    } out{column, {}};
    char* message = nullptr;
    sqlite3_exec(
        raw, sql.c_str(),
        [](void* o, int n, char** values, char**) {
          auto* out = static_cast<Out*>(o);
          if (!out->text.empty()) out->text += "\n";
          if (out->column < n && values[out->column]) out->text += values[out->column];
          return 0;
        },
        &out, &message);
    if (message) ADD_FAILURE() << message;
    sqlite3_free(message);
    sqlite3_close(raw);
    return out.text;
  }
  std::string query_plan(const std::string& sql) { return query("EXPLAIN QUERY PLAN " + sql, 3); }

  TempDir dir_;
};

TEST_F(SqliteStoreTest, CreatesTheFileAndItsFolderWithTheSchema) {
  auto store = open_sqlite(db());
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(fs::exists(db()));
  EXPECT_EQ(query("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(query("SELECT max(version) FROM schema_version"),
            std::to_string(SqliteStore::kSchemaVersion));
  EXPECT_EQ(query("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                  "('accounts', 'api_keys', 'sessions', 'schema_version')"),
            "4");
}

// The database holds key hashes and session tokens' metadata: owner-only, WAL and SHM too
// (SQLite gives them the database file's mode), whatever the umask; an older, wider file is
// tightened when opened.
TEST_F(SqliteStoreTest, FilesAreOwnerOnly) {
  const mode_t old_mask = ::umask(022);
  {
    auto store = open_sqlite(db());
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->upsert_account({"acct", 3}).ok());
    for (const std::string suffix : {"", "-wal", "-shm"}) {
      const fs::path file = db().string() + suffix;
      SCOPED_TRACE(file);
      ASSERT_TRUE(fs::exists(file));
      EXPECT_EQ(fs::status(file).permissions() & fs::perms::all,
                fs::perms::owner_read | fs::perms::owner_write);
    }
  }
  fs::permissions(db(), fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                            fs::perms::others_read);
  {
    auto store = open_sqlite(db());
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(fs::status(db()).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write);
  }
  ::umask(old_mask);
}

TEST_F(SqliteStoreTest, QueriesUseTheirIndexes) {
  ASSERT_NE(open_sqlite(db()), nullptr);
  EXPECT_THAT(query_plan("SELECT id FROM sessions WHERE state <> 'ended' AND deadline_at <= 5 "
                         "ORDER BY deadline_at, created_at, rowid LIMIT 3"),
              HasSubstr("sessions_live_deadline"));
  EXPECT_THAT(query_plan("SELECT id FROM sessions WHERE state <> 'ended' AND streamer_id = 'x' "
                         "ORDER BY created_at, rowid"),
              HasSubstr("sessions_live_streamer"));
  EXPECT_THAT(query_plan("SELECT id FROM sessions WHERE account = 'a' AND state IN "
                         "('provisioned', 'connected', 'dropped') ORDER BY created_at, rowid"),
              HasSubstr("sessions_account_state"));
  EXPECT_THAT(query_plan("SELECT state, count(*) FROM sessions WHERE state IN "
                         "('provisioned', 'connected', 'dropped') GROUP BY state"),
              HasSubstr("COVERING INDEX sessions_account_state"));
  EXPECT_THAT(query_plan("DELETE FROM sessions WHERE state = 'ended' AND "
                         "coalesce(ended_at, created_at) < 5"),
              HasSubstr("sessions_ended_at"));
}

TEST_F(SqliteStoreTest, ADatabaseOfSchema1GainsTheModelColumn) {
  SessionRecord s = new_session("ses_1", "acme");
  {
    auto store = open_sqlite(db());
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->upsert_account({"acme", 2}).ok());
    ASSERT_TRUE(store->insert_session(s).ok());
  }
  // Back to what schema 1 wrote: no model column, migration 2 not recorded.
  query("ALTER TABLE sessions DROP COLUMN model");
  query("DELETE FROM schema_version WHERE version = 2");
  auto store = open_sqlite(db());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(**store->get_session("ses_1"), s);  // model "" for sessions from before models
  SessionRecord m = new_session("ses_2", "acme");
  m.model = "my-world";
  ASSERT_TRUE(store->insert_session(m).ok());
  EXPECT_EQ(store->get_session("ses_2")->value().model, "my-world");
  EXPECT_EQ(query("SELECT max(version) FROM schema_version"), "2");
}

TEST_F(SqliteStoreTest, DataSurvivesCloseAndReopen) {
  SessionRecord s = new_session("ses_1", "acme");
  s.metadata = {{"k", "v"}};
  s.capabilities = {{"image_to_video", true}};
  ApiKeyRecord key{"key_1", "acme", "hash", kT0, std::nullopt};
  {
    auto store = open_sqlite(db());
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->upsert_account({"acme", 2}).ok());
    ASSERT_TRUE(store->insert_api_key(key).ok());
    ASSERT_TRUE(store->insert_session(s).ok());
    ASSERT_TRUE(store->insert_session(new_session("ses_2", "acme")).ok());
    ASSERT_TRUE(store->update_session("ses_2", end_update(kT0 + seconds{1})).ok());
  }
  for (int round = 0; round < 2; ++round) {  // reopening is idempotent: no migration twice
    auto store = open_sqlite(db());
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(**store->get_account("acme"), (Account{"acme", 2}));
    EXPECT_EQ(**store->find_api_key("key_1"), key);
    EXPECT_EQ(**store->get_session("ses_1"), s);
    EXPECT_EQ(store->get_session("ses_2")->value().state, SessionState::ended);
    EXPECT_THAT(*store->count_live_by_account(), ElementsAre(LiveCount{"acme", 1}));
  }
  EXPECT_EQ(query("SELECT count(*) FROM schema_version"),
            std::to_string(SqliteStore::kSchemaVersion));
}

TEST_F(SqliteStoreTest, SecondStoreOnTheSameFileSeesWritesAndTheLimitHoldsAcrossBoth) {
  auto a = open_sqlite(db());
  auto b = open_sqlite(db());
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->upsert_account({"acme", 5}).ok());
  EXPECT_EQ(**b->get_account("acme"), (Account{"acme", 5}));
  ASSERT_TRUE(b->insert_api_key({"key_1", "acme", "hash", kT0, std::nullopt}).ok());
  EXPECT_TRUE(a->find_api_key("key_1")->has_value());

  std::atomic<int> ok{0}, limited{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 32; ++t) {
    threads.emplace_back([&, t] {
      Store& store = t % 2 == 0 ? static_cast<Store&>(*a) : *b;
      for (int i = 0; i < 4; ++i) {
        auto r = store.insert_session(
            new_session("s" + std::to_string(t) + "_" + std::to_string(i), "acme"));
        if (r.ok()) {
          ++ok;
        } else if (code(r) == "CONCURRENT_LIMIT_REACHED") {
          ++limited;
        } else {
          ++other;
          ADD_FAILURE() << r.error().to_string();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 5);
  EXPECT_EQ(limited.load(), 32 * 4 - 5);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(a->list_live_sessions("acme")->size(), 5u);
  EXPECT_EQ(b->list_live_sessions("acme")->size(), 5u);

  // An end in one frees a slot for the other.
  const std::string first = a->list_live_sessions("acme")->front().id;
  ASSERT_TRUE(b->update_session(first, end_update(kT0)).ok());
  EXPECT_TRUE(a->insert_session(new_session("after", "acme")).ok());
}

TEST_F(SqliteStoreTest, AWriteLockHeldElsewhereDelaysWritesNotReads) {
  auto opened = SqliteStore::open(db().string(), SqliteOptions{.busy_timeout = seconds{1}});
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  SqliteStore& store = **opened;
  ASSERT_TRUE(store.upsert_account({"acme", 5}).ok());
  ASSERT_TRUE(store.insert_session(new_session("s1", "acme")).ok());

  // Another process (the CLI, say) holds the write lock.
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(db().c_str(), &other), SQLITE_OK);
  auto exec = [&](const char* sql) {
    char* message = nullptr;
    EXPECT_EQ(sqlite3_exec(other, sql, nullptr, nullptr, &message), SQLITE_OK) << message;
    sqlite3_free(message);
  };
  exec("BEGIN IMMEDIATE; UPDATE accounts SET max_concurrent = 6");

  std::atomic<bool> inserted{false};
  std::thread writer([&] { inserted = store.insert_session(new_session("s2", "acme")).ok(); });
  std::this_thread::sleep_for(milliseconds{100});
  // The writer thread is waiting for the lock; reads go on, on the last committed state.
  const auto before = std::chrono::steady_clock::now();
  EXPECT_TRUE(store.get_session("s1")->has_value());
  EXPECT_EQ(store.get_account("acme")->value().max_concurrent, 5);
  EXPECT_LT(std::chrono::steady_clock::now() - before, milliseconds{500});
  EXPECT_FALSE(inserted.load());
  exec("COMMIT");  // within the busy timeout: the waiting write goes through
  writer.join();
  EXPECT_TRUE(inserted.load());
  EXPECT_EQ(store.get_account("acme")->value().max_concurrent, 6);

  // Held past the busy timeout: store_unavailable, and nothing written.
  exec("BEGIN IMMEDIATE; UPDATE accounts SET max_concurrent = 7");
  auto refused = store.insert_session(new_session("s3", "acme"));
  ASSERT_EQ(code(refused), "store_unavailable");
  EXPECT_THAT(refused.error().detail, HasSubstr("locked"));
  exec("ROLLBACK");
  sqlite3_close(other);
  EXPECT_FALSE(store.get_session("s3")->has_value());
  EXPECT_TRUE(store.insert_session(new_session("s3", "acme")).ok());
}

TEST_F(SqliteStoreTest, NotADatabaseIsAnError) {
  fs::create_directories(db().parent_path());
  std::ofstream(db()) << std::string(8192, 'x');
  auto opened = SqliteStore::open(db().string());
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(code(opened), "store_unavailable");
  EXPECT_THAT(opened.error().detail, HasSubstr("sqlite"));
}

TEST_F(SqliteStoreTest, UnusablePathsAreErrors) {
  // The parent "folder" is a file.
  const fs::path blocker = dir_.path() / "blocker";
  std::ofstream(blocker) << "file";
  EXPECT_EQ(code(SqliteStore::open((blocker / "ithaca.db").string())), "store_unavailable");
  // The path is a folder.
  EXPECT_EQ(code(SqliteStore::open(dir_.path().string())), "store_unavailable");
  // Not a file path at all.
  EXPECT_EQ(code(SqliteStore::open(":memory:")), "config_invalid");
  EXPECT_EQ(code(SqliteStore::open("")), "config_invalid");
}

TEST_F(SqliteStoreTest, ANewerSchemaIsRefused) {
  ASSERT_NE(open_sqlite(db()), nullptr);
  query("INSERT INTO schema_version (version, applied_at) VALUES (99, 0)");
  auto opened = SqliteStore::open(db().string());
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(code(opened), "config_invalid");
}

TEST_F(SqliteStoreTest, ClosingRunsEveryPendingCallback) {
  auto store = open_sqlite(db());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->upsert_account({"acme", 1'000'000}).ok());
  constexpr int kCalls = 300;
  std::atomic<int> called{0}, ok{0};
  for (int i = 0; i < kCalls; ++i) {
    store->insert_session_async(new_session("s" + std::to_string(i), "acme"), [&](Status s) {
      if (s.ok()) ++ok;
      ++called;
    });
  }
  store.reset();
  EXPECT_EQ(called.load(), kCalls);
  EXPECT_EQ(ok.load(), kCalls);
  store = open_sqlite(db());
  EXPECT_EQ(store->list_live_sessions("acme")->size(), static_cast<size_t>(kCalls));
}

TEST_F(SqliteStoreTest, WriterStatsCountBatches) {
  auto store = open_sqlite(db());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->upsert_account({"acme", 1000}).ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        EXPECT_TRUE(store->insert_session(new_session(std::to_string(t * 100 + i), "acme")).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto stats = store->writer_stats();
  EXPECT_EQ(stats.operations, 161u);
  EXPECT_GE(stats.batches, 1u);
  EXPECT_LE(stats.batches, stats.operations);
}

// kill -9 at a random moment: the test binary re-runs itself as a child that writes as fast as
// it can and prints each write once it returned; the parent kills it mid-stream and checks that
// the file reopens consistent with every acknowledged write in it.
constexpr const char* kCrashChildEnv = "ITHACA_STORE_CRASH_CHILD_DB";

TEST(SqliteCrashChild, WriteUntilKilled) {
  const char* path = std::getenv(kCrashChildEnv);
  if (!path) GTEST_SKIP() << "runs only as the child of SqliteStoreTest.SurvivesKill9";
  auto store = open_sqlite(path);
  ASSERT_NE(store, nullptr);
  std::mutex out_mu;
  auto ack = [&](const std::string& line) {
    std::lock_guard lock(out_mu);
    const std::string text = line + "\n";
    (void)!write(STDOUT_FILENO, text.data(), text.size());
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0;; ++i) {
        const std::string id = "c" + std::to_string(t) + "_" + std::to_string(i);
        if (!store->insert_session(new_session(id, "acme")).ok()) continue;
        ack("ack insert " + id);
        if (i % 2 == 0 && store->update_session(id, end_update(kT0)).ok()) ack("ack end " + id);
      }
    });
  }
  for (auto& t : threads) t.join();  // never: the parent kills us
}

TEST_F(SqliteStoreTest, SurvivesKill9) {
  {
    auto store = open_sqlite(db());
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->upsert_account({"acme", 1'000'000}).ok());
  }
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  posix_spawn_file_actions_addclose(&actions, fds[1]);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  env_strings.push_back(std::string(kCrashChildEnv) + "=" + db().string());
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string exe = fs::read_symlink("/proc/self/exe").string();
  std::string filter = "--gtest_filter=SqliteCrashChild.WriteUntilKilled";
  char* argv[] = {exe.data(), filter.data(), nullptr};
  pid_t child = 0;
  ASSERT_EQ(posix_spawn(&child, exe.c_str(), &actions, nullptr, argv, envp.data()), 0);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);

  std::set<std::string> inserted, ended;
  FILE* in = fdopen(fds[0], "r");
  char* line = nullptr;
  size_t cap = 0;
  // Kill after a few hundred acknowledged writes: the child is mid-batch by then.
  while (inserted.size() < 600 && getline(&line, &cap, in) > 0) {
    std::string text(line);
    if (!text.empty() && text.back() == '\n') text.pop_back();
    if (text.starts_with("ack insert ")) inserted.insert(text.substr(11));
    if (text.starts_with("ack end ")) ended.insert(text.substr(8));
  }
  kill(child, SIGKILL);
  // Writes acknowledged before the kill may still sit in the pipe.
  while (getline(&line, &cap, in) > 0) {
    std::string text(line);
    if (!text.empty() && text.back() == '\n') text.pop_back();
    if (text.starts_with("ack insert ")) inserted.insert(text.substr(11));
    if (text.starts_with("ack end ")) ended.insert(text.substr(8));
  }
  free(line);
  fclose(in);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child ended on its own";
  ASSERT_GE(inserted.size(), 600u);

  EXPECT_EQ(query("PRAGMA integrity_check"), "ok");
  auto store = open_sqlite(db());
  ASSERT_NE(store, nullptr);
  for (const auto& id : inserted) {
    auto found = store->get_session(id);
    ASSERT_TRUE(found.ok() && found->has_value()) << "acknowledged insert lost: " << id;
    if (ended.contains(id)) {
      EXPECT_EQ((*found)->state, SessionState::ended) << id;
    }
  }
  const auto live = store->list_live_sessions("acme")->size();
  EXPECT_THAT(*store->count_live_by_account(),
              ElementsAre(LiveCount{"acme", static_cast<int>(live)}));
}

// ---- open_store ----

TEST(OpenStore, MemoryUrls) {
  for (const char* url : {"memory:", "memory"}) {
    auto store = open_store(url, "/nonexistent");
    ASSERT_TRUE(store.ok()) << url;
    EXPECT_NE(dynamic_cast<MemoryStore*>(store->get()), nullptr);
  }
}

TEST(OpenStore, SqliteUrlsResolveAgainstTheDataDir) {
  TempDir dir;
  {
    auto store = open_store("", dir.path().string());
    ASSERT_TRUE(store.ok()) << store.error().to_string();
    EXPECT_NE(dynamic_cast<SqliteStore*>(store->get()), nullptr);
    EXPECT_TRUE(fs::exists(dir.path() / "ithaca.db"));
  }
  {
    auto store = open_store("sqlite:sub/x.db", dir.path().string());
    ASSERT_TRUE(store.ok()) << store.error().to_string();
    EXPECT_TRUE(fs::exists(dir.path() / "sub" / "x.db"));
  }
  {
    const fs::path absolute = dir.path() / "abs" / "y.db";
    auto store = open_store("sqlite:" + absolute.string(), "/nonexistent");
    ASSERT_TRUE(store.ok()) << store.error().to_string();
    EXPECT_TRUE(fs::exists(absolute));
  }
  EXPECT_EQ(code(open_store("sqlite:", dir.path().string())), "config_invalid");
}

TEST(OpenStore, UnknownSchemesAreConfigErrors) {
  auto mongo = open_store("mongodb://localhost:27017", "/tmp");
  ASSERT_EQ(code(mongo), "config_invalid");
  EXPECT_THAT(mongo.error().detail, HasSubstr("mongodb"));
  auto bare = open_store("bogus", "/tmp");
  ASSERT_EQ(code(bare), "config_invalid");
  EXPECT_THAT(bare.error().detail, HasSubstr("bogus"));
}

TEST(OpenStore, RedisUrls) {
  // Opening connects lazily: a URL is accepted whether or not a Redis listens there.
  auto store = open_store("redis://127.0.0.1:1/2", "/tmp");
  ASSERT_TRUE(store.ok()) << store.error().to_string();
  EXPECT_NE(dynamic_cast<RedisStore*>(store->get()), nullptr);
  for (const char* bad : {"redis://", "redis://host:0", "redis://host:99999", "redis://host:6379/x",
                          "redis://host:6379/16", "redis://[::1"}) {
    EXPECT_EQ(code(open_store(bad, "/tmp")), "config_invalid") << bad;
  }
  auto v6 = redis::parse_redis_url("redis://[::1]:7000/5");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 7000);
  EXPECT_EQ(v6->db, 5);
  auto plain = redis::parse_redis_url("redis://cache.internal");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->port, 6379);
  EXPECT_EQ(plain->db, 0);
}

// ---- Redis only ----

TEST(RedisStoreTest, ADownRedisIsStoreUnavailableAndABackOneServesAgain) {
  if (testing::RedisTestServer::binary().empty()) GTEST_SKIP() << kNoRedis;
  testing::RedisTestServer server;
  ASSERT_TRUE(server.start());
  auto opened = RedisStore::open(server.url());
  ASSERT_TRUE(opened.ok());
  auto& store = **opened;
  ASSERT_TRUE(store.upsert_account({"acme", 2}).ok());
  ASSERT_TRUE(store.insert_session(new_session("s0", "acme")).ok());

  server.kill();  // nothing persisted: it comes back empty
  EXPECT_EQ(code(store.get_account("acme")), "store_unavailable");
  EXPECT_EQ(code(store.insert_session(new_session("s1", "acme"))), "store_unavailable");
  EXPECT_EQ(code(store.list_live_sessions("")), "store_unavailable");

  ASSERT_TRUE(server.start());
  // The same store reconnects; scripts are loaded again on NOSCRIPT.
  ASSERT_TRUE(store.upsert_account({"acme", 1}).ok());
  EXPECT_TRUE(store.insert_session(new_session("s2", "acme")).ok());
  EXPECT_EQ(code(store.insert_session(new_session("s3", "acme"))), "CONCURRENT_LIMIT_REACHED");
}

TEST(RedisStoreTest, TwoStoresOnOneRedisShareTheSlotRule) {
  // Two nodes are two stores (two pools) on one Redis: the limit holds across both.
  if (testing::RedisTestServer::binary().empty()) GTEST_SKIP() << kNoRedis;
  testing::RedisTestServer server;
  ASSERT_TRUE(server.start());
  auto a = RedisStore::open(server.url());
  auto b = RedisStore::open(server.url());
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->upsert_account({"acme", 7}).ok());
  std::atomic<int> ok{0}, limited{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      Store& store = t % 2 ? **a : **b;
      for (int i = 0; i < 20; ++i) {
        auto r = store.insert_session(
            new_session("s" + std::to_string(t) + "_" + std::to_string(i), "acme"));
        if (r.ok()) {
          ++ok;
        } else if (code(r) == "CONCURRENT_LIMIT_REACHED") {
          ++limited;
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 7);
  EXPECT_EQ(limited.load(), 16 * 20 - 7);
  EXPECT_EQ(other.load(), 0);
  EXPECT_THAT(*(*b)->count_live_by_account(), ElementsAre(LiveCount{"acme", 7}));
}

TEST(RedisStoreTest, ForeignDataUnderThePrefixIsAnErrorNotACrash) {
  if (testing::RedisTestServer::binary().empty()) GTEST_SKIP() << kNoRedis;
  testing::RedisTestServer server;
  ASSERT_TRUE(server.start());
  auto opened = RedisStore::open(server.url());
  ASSERT_TRUE(opened.ok());
  auto& store = **opened;
  ASSERT_TRUE(store.pool()->command({"HSET", "ith:ses:bad", "j", "{not json", "v", "1"}).ok());
  EXPECT_EQ(code(store.get_session("bad")), "store_unavailable");
  ASSERT_TRUE(store.pool()->command({"SET", "ith:acct:x", "string"}).ok());
  EXPECT_EQ(code(store.get_account("x")), "store_unavailable");  // WRONGTYPE
}

}  // namespace
}  // namespace ithaca::store
