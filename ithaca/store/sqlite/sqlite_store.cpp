#include "ithaca/store/sqlite/sqlite_store.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ithaca/base/log.hpp"
#include "ithaca/store/rules.hpp"

namespace ithaca::store {

using session::Account;
using session::ApiKeyRecord;
using session::LiveCount;
using session::SessionRecord;
using session::SessionState;

namespace {

// At most this many calls share one transaction. Calls that arrive while a transaction runs join
// it until COMMIT, so this bounds how long the first caller of a batch waits for the last
// (~25 us of writer time per mint on the reference VM: ~6 ms) and the WAL written per commit.
// Callers block, so a batch rarely holds more than the number of calling threads anyway.
constexpr size_t kMaxBatch = 256;
// Threads that run the callbacks of insert_session_async once their batch committed, off the
// writer: the callbacks sign tokens and build responses. One per core of the reference VM; more
// would only queue for the CPU.
constexpr int kCompletionThreads = 2;
// Read connections kept open between calls; more are opened under load and closed after.
// Each holds its own page cache (SQLite's default, about 2 MiB).
constexpr size_t kMaxIdleReaders = 16;
// After a checkpoint resets the WAL, truncate it to this size so a burst does not leave a huge
// file behind.
constexpr int64_t kJournalSizeLimitBytes = 64 * 1024 * 1024;
// The writer never checkpoints (wal_autocheckpoint=0): copying the WAL into the database costs
// tens of milliseconds of writes and fsyncs, a stall every caller of that batch would feel. A
// checkpointer thread does it in the background this often, PASSIVE, so it never blocks the
// writer or readers.
constexpr auto kCheckpointEvery = std::chrono::milliseconds(250);
// WAL size past which the checkpointer restarts it (see run_checkpointer).
constexpr uintmax_t kWalRestartBytes = 16 * 1024 * 1024;

// ---- Schema -------------------------------------------------------------------------------

struct Migration {
  int version;
  const char* sql;
};

// Applied in order, each once, in the transaction that records it in schema_version. Never edit
// a released migration: add the next one.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE accounts (
  name            TEXT PRIMARY KEY,
  max_concurrent  INTEGER NOT NULL CHECK (max_concurrent >= 0),
  -- Live (not ended) sessions of the account, kept by the triggers below: the slot rule reads
  -- one row instead of counting sessions.
  live_count      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE api_keys (
  key_id       TEXT PRIMARY KEY,
  account      TEXT NOT NULL REFERENCES accounts(name),
  secret_hash  TEXT NOT NULL,
  created_at   INTEGER NOT NULL,  -- unix ms
  revoked_at   INTEGER            -- unix ms; NULL while valid
);

CREATE TABLE sessions (
  id                TEXT PRIMARY KEY,
  account           TEXT NOT NULL REFERENCES accounts(name),
  streamer_id       TEXT NOT NULL DEFAULT '',
  state             TEXT NOT NULL
                    CHECK (state IN ('provisioned', 'connected', 'dropped', 'ended')),
  end_cause         TEXT NOT NULL DEFAULT 'none',
  created_at        INTEGER NOT NULL,  -- all times: unix ms
  connected_at      INTEGER,
  ended_at          INTEGER,
  token_jti         TEXT NOT NULL DEFAULT '',
  token_expires_at  INTEGER,
  deadline_at       INTEGER,
  capabilities      TEXT NOT NULL DEFAULT '{}',  -- JSON object of booleans
  metadata          TEXT NOT NULL DEFAULT '{}'   -- JSON object of strings
);

CREATE INDEX sessions_account_state ON sessions (account, state);
CREATE INDEX sessions_live_deadline ON sessions (deadline_at) WHERE state <> 'ended';
CREATE INDEX sessions_live_streamer ON sessions (streamer_id) WHERE state <> 'ended';
CREATE INDEX sessions_ended_at ON sessions (coalesce(ended_at, created_at))
  WHERE state = 'ended';

CREATE TRIGGER sessions_live_insert AFTER INSERT ON sessions WHEN NEW.state <> 'ended'
BEGIN
  UPDATE accounts SET live_count = live_count + 1 WHERE name = NEW.account;
END;
CREATE TRIGGER sessions_live_delete AFTER DELETE ON sessions WHEN OLD.state <> 'ended'
BEGIN
  UPDATE accounts SET live_count = live_count - 1 WHERE name = OLD.account;
END;
CREATE TRIGGER sessions_live_update AFTER UPDATE OF state, account ON sessions
WHEN (OLD.state <> 'ended') IS NOT (NEW.state <> 'ended') OR OLD.account IS NOT NEW.account
BEGIN
  UPDATE accounts SET live_count = live_count - 1
    WHERE name = OLD.account AND OLD.state <> 'ended';
  UPDATE accounts SET live_count = live_count + 1
    WHERE name = NEW.account AND NEW.state <> 'ended';
END;
)sql"},
    {2, R"sql(
ALTER TABLE sessions ADD COLUMN model TEXT NOT NULL DEFAULT '';
)sql"},
};
static_assert(std::size(kMigrations) == static_cast<size_t>(SqliteStore::kSchemaVersion));

// ---- Statements (cached per connection by address) ----------------------------------------

#define ITHACA_SESSION_COLUMNS                                                                  \
  "id, account, streamer_id, state, end_cause, created_at, connected_at, ended_at, token_jti, " \
  "token_expires_at, deadline_at, capabilities, metadata, model"
#define ITHACA_LIVE "state IN ('provisioned', 'connected', 'dropped')"

constexpr const char kBegin[] = "BEGIN IMMEDIATE";
constexpr const char kCommit[] = "COMMIT";
constexpr const char kRollback[] = "ROLLBACK";
constexpr const char kSavepoint[] = "SAVEPOINT op";
constexpr const char kRelease[] = "RELEASE op";
constexpr const char kRollbackTo[] = "ROLLBACK TO op";

constexpr const char kUpsertAccount[] =
    "INSERT INTO accounts (name, max_concurrent) VALUES (?1, ?2) "
    "ON CONFLICT (name) DO UPDATE SET max_concurrent = excluded.max_concurrent";
constexpr const char kGetAccount[] =
    "SELECT max_concurrent, live_count FROM accounts WHERE name = ?1";
constexpr const char kInsertKey[] =
    "INSERT INTO api_keys (key_id, account, secret_hash, created_at, revoked_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";
constexpr const char kKeyExists[] = "SELECT 1 FROM api_keys WHERE key_id = ?1";
constexpr const char kFindKey[] =
    "SELECT key_id, account, secret_hash, created_at, revoked_at FROM api_keys "
    "WHERE key_id = ?1";
constexpr const char kListKeys[] =
    "SELECT key_id, account, secret_hash, created_at, revoked_at FROM api_keys "
    "ORDER BY created_at, key_id";
constexpr const char kRevokeKey[] =
    "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?2) WHERE key_id = ?1";
constexpr const char kInsertSession[] = "INSERT INTO sessions (" ITHACA_SESSION_COLUMNS
                                        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
                                        "?12, ?13, ?14)";
constexpr const char kGetSession[] =
    "SELECT " ITHACA_SESSION_COLUMNS " FROM sessions WHERE id = ?1";
constexpr const char kUpdateSession[] =
    "UPDATE sessions SET state = ?2, end_cause = ?3, connected_at = ?4, ended_at = ?5, "
    "token_jti = ?6, token_expires_at = ?7, deadline_at = ?8 WHERE id = ?1";
constexpr const char kListLiveOfAccount[] =
    "SELECT " ITHACA_SESSION_COLUMNS " FROM sessions WHERE account = ?1 AND " ITHACA_LIVE
    " ORDER BY created_at, rowid";
constexpr const char kListLiveAll[] = "SELECT " ITHACA_SESSION_COLUMNS
                                      " FROM sessions WHERE state <> 'ended' "
                                      "ORDER BY created_at, rowid";
constexpr const char kSessionsDue[] = "SELECT " ITHACA_SESSION_COLUMNS
                                      " FROM sessions WHERE state <> 'ended' AND deadline_at <= ?1 "
                                      "ORDER BY deadline_at, created_at, rowid LIMIT ?2";
constexpr const char kSessionsOnStreamer[] =
    "SELECT " ITHACA_SESSION_COLUMNS
    " FROM sessions WHERE state <> 'ended' AND streamer_id = ?1 ORDER BY created_at, rowid";
constexpr const char kPurgeEnded[] =
    "DELETE FROM sessions WHERE state = 'ended' AND coalesce(ended_at, created_at) < ?1";
// No index of its own (one more page to write per mint): a scan of sessions_account_state,
// for metrics every few seconds.
constexpr const char kCountByState[] =
    "SELECT state, count(*) FROM sessions WHERE " ITHACA_LIVE " GROUP BY state";
constexpr const char kCountByAccount[] = "SELECT name, live_count FROM accounts ORDER BY name";

#undef ITHACA_SESSION_COLUMNS
#undef ITHACA_LIVE

std::shared_ptr<spdlog::logger> store_log() {
  static const auto instance = logger("store");
  return instance;
}

Error unavailable(std::string detail) {
  return make_error(ErrorCode::store_unavailable, "sqlite: " + std::move(detail));
}

// The database and its -wal and -shm files are owner-only (0600): SQLite creates the latter two
// with the database file's mode, so the file is created (or an older, wider one tightened) here
// before SQLite opens it.
Status make_owner_only(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return unavailable("open " + path + ": " + std::strerror(errno));
  const int rc = ::fchmod(fd, 0600);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return unavailable("chmod " + path + ": " + std::strerror(err));
  for (const char* suffix : {"-wal", "-shm"}) {
    const std::string side = path + suffix;
    if (::chmod(side.c_str(), 0600) != 0 && errno != ENOENT) {
      return unavailable("chmod " + side + ": " + std::strerror(errno));
    }
  }
  return ok_status();
}

// ---- Connection ---------------------------------------------------------------------------

// One sqlite3 handle with its prepared statements. Used by one thread at a time (the writer, or
// whoever leased it from the reader pool), so it is opened without SQLite's own mutex.
class Connection {
 public:
  enum class Role { writer, reader };

  static Result<std::unique_ptr<Connection>> open(const std::string& path, Role role,
                                                  const SqliteOptions& options) {
    sqlite3* db = nullptr;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (role == Role::writer) flags |= SQLITE_OPEN_CREATE;
    const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
    auto conn = std::unique_ptr<Connection>(new Connection(db));
    if (rc != SQLITE_OK) return conn->error("open " + path);
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, static_cast<int>(options.busy_timeout.count()));
    if (role == Role::writer) {
      // journal_mode answers with the mode it ended in; anything but wal means no WAL.
      std::string mode;
      auto set_wal = conn->exec_collect("PRAGMA journal_mode=WAL", mode);
      if (!set_wal) return std::move(set_wal).error();
      if (mode != "wal") return unavailable("could not switch " + path + " to WAL (" + mode + ")");
      auto pragmas = conn->exec(
          "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA wal_autocheckpoint=0; "
          "PRAGMA journal_size_limit=" +
          std::to_string(kJournalSizeLimitBytes) + ";");
      if (!pragmas) return std::move(pragmas).error();
    } else {
      auto pragmas = conn->exec("PRAGMA query_only=ON;");
      if (!pragmas) return std::move(pragmas).error();
    }
    return conn;
  }

  ~Connection() {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* db() const { return db_; }

  // The prepared statement of `sql`, one of the constants above (cached by its address).
  sqlite3_stmt* statement(const char* sql, int& rc) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return nullptr;
    }
    statements_.emplace(sql, stmt);
    return stmt;
  }

  // Runs SQL text (several statements allowed) that returns no rows worth reading.
  Status exec(const std::string& sql) {
    char* message = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
    std::string text = message ? message : "";
    sqlite3_free(message);
    if (rc != SQLITE_OK) return error(rc, "exec", text);
    return ok_status();
  }

  // Runs one statement and keeps the first column of its first row.
  Status exec_collect(const std::string& sql, std::string& first) {
    char* message = nullptr;
    auto keep = [](void* out, int n, char** values, char**) {
      if (n > 0 && values[0]) *static_cast<std::string*>(out) = values[0];
      return 0;
    };
    const int rc = sqlite3_exec(db_, sql.c_str(), keep, &first, &message);
    std::string text = message ? message : "";
    sqlite3_free(message);
    if (rc != SQLITE_OK) return error(rc, "exec", text);
    return ok_status();
  }

  // The error of the connection's last failed call. A constraint violation is the caller's
  // mistake (invalid_request); everything else means the store cannot do its job.
  Error error(int rc, std::string_view what, std::string message = {}) const {
    if (message.empty()) message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    std::string detail = std::string(what) + ": " + message + " (" + sqlite3_errstr(rc) + ")";
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
      return make_error(ErrorCode::invalid_request, "constraint failed: " + message);
    }
    return unavailable(std::move(detail));
  }
  Error error(std::string_view what) const {
    return error(db_ ? sqlite3_extended_errcode(db_) : SQLITE_NOMEM, what);
  }

  bool in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  std::unordered_map<const char*, sqlite3_stmt*> statements_;
};

// One use of a cached statement: bind, step, read columns; reset when it goes out of scope so
// no statement stays open (and holds a snapshot) between uses. Errors from prepare or bind are
// kept and reported by step().
class Query {
 public:
  Query(Connection& conn, const char* sql) : conn_(conn), stmt_(conn.statement(sql, rc_)) {}
  ~Query() {
    if (stmt_) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& bind(int index, std::string_view text) {
    if (ready()) {
      const char* data = text.data() ? text.data() : "";  // a null pointer would bind NULL
      keep(sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
    }
    return *this;
  }
  Query& bind(int index, int64_t value) {
    if (ready()) keep(sqlite3_bind_int64(stmt_, index, value));
    return *this;
  }
  Query& bind(int index, TimePoint t) { return bind(index, to_unix_ms(t)); }
  Query& bind(int index, const std::optional<TimePoint>& t) {
    if (t) return bind(index, *t);
    if (ready()) keep(sqlite3_bind_null(stmt_, index));
    return *this;
  }

  // true: a row is ready; false: done.
  Result<bool> step() {
    if (!ready()) return conn_.error(rc_, "prepare");
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return conn_.error(rc, "step");
  }
  // Steps a statement that returns no rows.
  Status run() {
    auto stepped = step();
    if (!stepped) return std::move(stepped).error();
    return ok_status();
  }

  bool null_at(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  int64_t int_at(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string text_at(int col) const {
    const auto* text = sqlite3_column_text(stmt_, col);
    if (!text) return {};
    return std::string(reinterpret_cast<const char*>(text),
                       static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
  }
  TimePoint time_at(int col) const { return from_unix_ms(int_at(col)); }
  std::optional<TimePoint> opt_time_at(int col) const {
    if (null_at(col)) return std::nullopt;
    return time_at(col);
  }

 private:
  bool ready() const { return stmt_ && rc_ == SQLITE_OK; }
  void keep(int rc) {
    if (rc != SQLITE_OK) rc_ = rc;
  }

  Connection& conn_;
  int rc_ = SQLITE_OK;
  sqlite3_stmt* stmt_;
};

// ---- Rows -----------------------------------------------------------------------------------

std::string to_json_text(const nlohmann::json& value) {
  // replace: an invalid UTF-8 byte in metadata becomes U+FFFD instead of throwing.
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Error corrupt(const std::string& what) {
  return make_error(ErrorCode::internal, "sqlite: undecodable " + what);
}

Result<SessionRecord> read_session(const Query& q) {
  SessionRecord s;
  s.id = q.text_at(0);
  s.account = q.text_at(1);
  s.streamer_id = q.text_at(2);
  if (!session::parse_session_state(q.text_at(3), s.state)) return corrupt("state of " + s.id);
  if (!session::parse_end_cause(q.text_at(4), s.end_cause)) return corrupt("end cause of " + s.id);
  s.created_at = q.time_at(5);
  s.connected_at = q.opt_time_at(6);
  s.ended_at = q.opt_time_at(7);
  s.token_jti = q.text_at(8);
  s.token_expires_at = q.opt_time_at(9);
  s.deadline_at = q.opt_time_at(10);

  const auto capabilities = nlohmann::json::parse(q.text_at(11), nullptr, false);
  if (!capabilities.is_object()) return corrupt("capabilities of " + s.id);
  for (const auto& [name, value] : capabilities.items()) {
    if (!value.is_boolean()) return corrupt("capabilities of " + s.id);
    s.capabilities.emplace(name, value.get<bool>());
  }
  const auto metadata = nlohmann::json::parse(q.text_at(12), nullptr, false);
  if (!metadata.is_object()) return corrupt("metadata of " + s.id);
  for (const auto& [name, value] : metadata.items()) {
    if (!value.is_string()) return corrupt("metadata of " + s.id);
    s.metadata.emplace(name, value.get<std::string>());
  }
  s.model = q.text_at(13);
  return s;
}

ApiKeyRecord read_key(const Query& q) {
  ApiKeyRecord key;
  key.key_id = q.text_at(0);
  key.account = q.text_at(1);
  key.secret_hash = q.text_at(2);
  key.created_at = q.time_at(3);
  key.revoked_at = q.opt_time_at(4);
  return key;
}

Result<std::vector<SessionRecord>> collect_sessions(Query& q) {
  std::vector<SessionRecord> out;
  while (true) {
    auto row = q.step();
    if (!row) return std::move(row).error();
    if (!*row) return out;
    auto s = read_session(q);
    if (!s) return std::move(s).error();
    out.push_back(std::move(s).value());
  }
}

Result<std::optional<SessionRecord>> get_session_on(Connection& c, const std::string& id) {
  Query q(c, kGetSession);
  q.bind(1, id);
  auto row = q.step();
  if (!row) return std::move(row).error();
  if (!*row) return std::optional<SessionRecord>{};
  auto s = read_session(q);
  if (!s) return std::move(s).error();
  return std::optional<SessionRecord>{std::move(s).value()};
}

struct AccountRow {
  int max_concurrent = 0;
  int live_count = 0;  // kept by the sessions_live_* triggers
};

// The account's row, or none. The statement is reset on return, before any write that follows.
Result<std::optional<AccountRow>> account_row(Connection& c, const std::string& name) {
  Query q(c, kGetAccount);
  q.bind(1, name);
  auto row = q.step();
  if (!row) return std::move(row).error();
  if (!*row) return std::optional<AccountRow>{};
  return std::optional<AccountRow>{
      AccountRow{static_cast<int>(q.int_at(0)), static_cast<int>(q.int_at(1))}};
}

Result<bool> exists(Connection& c, const char* sql, const std::string& key) {
  Query q(c, sql);
  q.bind(1, key);
  return q.step();
}

Status migrate(Connection& c, const std::string& path) {
  if (auto begun = c.exec(kBegin); !begun) return begun;
  auto run = [&]() -> Result<int> {
    auto created = c.exec(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
    if (!created) return std::move(created).error();
    std::string text;
    auto read = c.exec_collect("SELECT coalesce(max(version), 0) FROM schema_version", text);
    if (!read) return std::move(read).error();
    const int current = std::stoi(text.empty() ? "0" : text);
    if (current > SqliteStore::kSchemaVersion) {
      return make_error(ErrorCode::config_invalid, path + " has schema version " +
                                                       std::to_string(current) +
                                                       ", newer than this build's " +
                                                       std::to_string(SqliteStore::kSchemaVersion));
    }
    for (const Migration& m : kMigrations) {
      if (m.version <= current) continue;
      if (auto applied = c.exec(m.sql); !applied) return std::move(applied).error();
      auto recorded = c.exec("INSERT INTO schema_version (version, applied_at) VALUES (" +
                             std::to_string(m.version) + ", " +
                             std::to_string(to_unix_ms(std::chrono::system_clock::now())) + ")");
      if (!recorded) return std::move(recorded).error();
      store_log()->info("migrated path={} schema_version={}", path, m.version);
    }
    return current;
  };
  auto done = run();
  if (!done) {
    if (c.in_transaction()) (void)c.exec(kRollback);
    return std::move(done).error();
  }
  return c.exec(kCommit);
}

}  // namespace

// ---- The store --------------------------------------------------------------------------------

// One queued write: `apply` runs on the writer thread inside the op's savepoint and says whether
// to keep its effect; `fail` replaces the outcome when the batch could not commit.
//
// A blocking call owns its op (on its stack) and waits in wait() until it is completed. Waking a
// batch is a tree spread over its callers: the writer completes the first op only, and each
// woken caller completes the two ops below it before it returns. Waking each caller from the
// writer cost ~15 us per op on the reference VM, serial time the writer could not spend on the
// next batch. A mutex and condition variable rather than std::binary_semaphore: libstdc++'s
// semaphore spins with sched_yield before it sleeps, and dozens of waiting callers yielding in a
// loop took a third of the two cores away from the writer in store_bench.
//
// An async op (AsyncWriteOp) has no waiting caller: it lives on the heap, and a completion
// thread runs its callback, then deletes it.
struct WriteOp {
  virtual ~WriteOp() = default;

  std::function<bool(Connection&)> apply;
  std::function<void(const Error&)> fail;
  // Set by the writer before it completes the batch's first op; read by this op's caller once
  // its own op is complete.
  WriteOp* wake_next[2] = {nullptr, nullptr};

  virtual bool async() const { return false; }
  // Async ops only: hands the outcome to the callback (on a completion thread).
  virtual void finish() {}

  void complete() {
    std::lock_guard lock(mu);
    done = true;
    cv.notify_one();  // under the lock: the caller cannot return and destroy `cv` before this
  }
  void wait() {
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return done; });
    }
    for (WriteOp* next : wake_next) {
      if (next) next->complete();  // `next` may vanish right after this
    }
  }

 private:
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
};

template <class T>
struct AsyncWriteOp final : WriteOp {
  std::optional<Result<T>> out;
  std::function<void(Result<T>)> done;

  bool async() const override { return true; }
  void finish() override { done(std::move(*out)); }
};

struct SqliteStore::Impl {
  std::string path;
  SqliteOptions options;
  std::unique_ptr<Connection> writer;  // used only by the writer thread once it runs

  std::mutex mu;
  std::condition_variable wake;
  std::deque<WriteOp*> queue;
  bool closing = false;
  std::thread thread;

  // Async ops whose batch is done, for the completion threads.
  std::mutex completed_mu;
  std::condition_variable completed_cv;
  std::deque<WriteOp*> completed;
  bool completers_stop = false;
  std::vector<std::thread> completers;

  // The background checkpointer (see kCheckpointEvery); stops when `closing` is set.
  std::unique_ptr<Connection> checkpoint_conn;
  std::condition_variable checkpoint_cv;
  std::thread checkpointer;

  void run_checkpointer() {
    std::unique_lock lock(mu);
    while (!checkpoint_cv.wait_for(lock, kCheckpointEvery, [this] { return closing; })) {
      lock.unlock();
      if (auto done = checkpoint_conn->exec("PRAGMA wal_checkpoint(PASSIVE)"); !done) {
        store_log()->warn("checkpoint failed path={} error=\"{}\"", path, done.error().to_string());
      }
      // Under constant writes a PASSIVE checkpoint never lets the WAL start over, so it grows and
      // every commit appends to freshly allocated file blocks. Once it is large, a RESTART waits
      // for a gap between batches so that the next commit writes from the start of the file.
      std::error_code ec;
      const auto wal_bytes = std::filesystem::file_size(path + "-wal", ec);
      if (!ec && wal_bytes > kWalRestartBytes) {
        (void)checkpoint_conn->exec("PRAGMA wal_checkpoint(RESTART)");
      }
      lock.lock();
    }
    lock.unlock();
    // A last full pass on close, so the WAL does not outlive the process for nothing.
    (void)checkpoint_conn->exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }

  std::mutex readers_mu;
  std::vector<std::unique_ptr<Connection>> idle_readers;

  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> operations{0};
  std::atomic<uint64_t> apply_ns{0};
  std::atomic<uint64_t> commit_ns{0};
  std::atomic<uint64_t> wake_ns{0};
  std::vector<WriteOp*> waiters_scratch;  // writer thread only

  // ---- Writes ----

  template <class T, class F>
  Result<T> write(F&& fn) {
    std::optional<Result<T>> out;
    WriteOp op;
    op.apply = [&](Connection& c) {
      out.emplace(fn(c));
      return out->ok();
    };
    op.fail = [&](const Error& e) { out.emplace(e); };
    {
      std::lock_guard lock(mu);
      if (closing) return make_error(ErrorCode::shutting_down, "the store is closing");
      queue.push_back(&op);
    }
    wake.notify_one();
    op.wait();
    return std::move(*out);
  }

  // write() without a waiting caller: `done` runs on a completion thread once the batch is
  // durable (or failed), or right here when the store is closing.
  template <class T, class F>
  void write_async(F fn, std::function<void(Result<T>)> done) {
    auto op = std::make_unique<AsyncWriteOp<T>>();
    AsyncWriteOp<T>* raw = op.get();
    op->done = std::move(done);
    op->apply = [raw, fn = std::move(fn)](Connection& c) {
      raw->out.emplace(fn(c));
      return raw->out->ok();
    };
    op->fail = [raw](const Error& e) { raw->out.emplace(e); };
    {
      std::unique_lock lock(mu);
      if (!closing) {
        queue.push_back(raw);
        op.release();  // the queue owns it now
      }
    }
    if (op) return op->done(make_error(ErrorCode::shutting_down, "the store is closing"));
    wake.notify_one();
  }

  void run_completer() {
    while (true) {
      std::unique_ptr<WriteOp> op;
      {
        std::unique_lock lock(completed_mu);
        completed_cv.wait(lock, [&] { return !completed.empty() || completers_stop; });
        if (completed.empty()) return;  // stopping, and every callback ran
        op.reset(completed.front());
        completed.pop_front();
      }
      try {
        op->finish();
      } catch (const std::exception& e) {
        store_log()->error("write callback threw: {}", e.what());
      } catch (...) {
        store_log()->error("write callback threw");
      }
    }
  }

  // Hands a committed (or failed) batch back: async ops to the completion threads, blocked
  // callers through the wake tree. No op may be touched after this.
  void complete_batch(const std::vector<WriteOp*>& batch) {
    std::vector<WriteOp*>& waiters = waiters_scratch;
    waiters.clear();
    size_t async_ops = 0;
    {
      std::unique_lock lock(completed_mu, std::defer_lock);
      for (WriteOp* op : batch) {
        if (!op->async()) {
          waiters.push_back(op);
          continue;
        }
        if (!lock.owns_lock()) lock.lock();
        completed.push_back(op);
        ++async_ops;
      }
    }
    if (async_ops == 1) completed_cv.notify_one();
    if (async_ops > 1) completed_cv.notify_all();
    const size_t n = waiters.size();
    if (n == 0) return;
    for (size_t i = 0; i < n; ++i) {
      waiters[i]->wake_next[0] = 2 * i + 1 < n ? waiters[2 * i + 1] : nullptr;
      waiters[i]->wake_next[1] = 2 * i + 2 < n ? waiters[2 * i + 2] : nullptr;
    }
    waiters[0]->complete();  // the rest follow from its caller
  }

  void run_writer() {
    std::vector<WriteOp*> batch;
    batch.reserve(kMaxBatch);
    while (true) {
      {
        std::unique_lock lock(mu);
        wake.wait(lock, [&] { return !queue.empty() || closing; });
        if (queue.empty()) return;  // closing, and everything queued is done
      }
      commit_batch(batch);
      batches.fetch_add(1, std::memory_order_relaxed);
      operations.fetch_add(batch.size(), std::memory_order_relaxed);
      const auto waking = std::chrono::steady_clock::now();
      complete_batch(batch);
      wake_ns.fetch_add(nanoseconds(std::chrono::steady_clock::now() - waking),
                        std::memory_order_relaxed);
      batch.clear();
    }
  }

  // Moves queued ops into `batch`, up to kMaxBatch in all; false when there were none.
  bool take_queued(std::vector<WriteOp*>& batch) {
    std::lock_guard lock(mu);
    const size_t n = std::min(queue.size(), kMaxBatch - batch.size());
    if (n == 0) return false;
    const auto end = queue.begin() + static_cast<std::ptrdiff_t>(n);
    batch.insert(batch.end(), queue.begin(), end);
    queue.erase(queue.begin(), end);
    return true;
  }

  static bool apply_guarded(WriteOp& op, Connection& c) {
    try {
      return op.apply(c);
    } catch (const std::exception& e) {
      op.fail(make_error(ErrorCode::internal, std::string("store write failed: ") + e.what()));
    } catch (...) {
      op.fail(make_error(ErrorCode::internal, "store write failed"));
    }
    return false;
  }

  void fail_all(const std::vector<WriteOp*>& ops, const Error& error) {
    for (WriteOp* op : ops) op->fail(error);
  }

  // One transaction for the batch, one savepoint per op, one fsync at COMMIT. Ops queued while
  // the transaction runs join it before COMMIT: they cost no fsync of their own. When the
  // transaction as a whole fails, every op in it hears store_unavailable, even one that was
  // refused: its refusal was judged against writes that never happened.
  void commit_batch(std::vector<WriteOp*>& batch) {
    Connection& c = *writer;
    const auto started = std::chrono::steady_clock::now();
    auto statement = [&](const char* sql) {
      Query q(c, sql);
      return q.run();
    };
    take_queued(batch);
    if (auto begun = statement(kBegin); !begun) {
      store_log()->warn("batch failed path={} ops={} error=\"{}\"", path, batch.size(),
                        begun.error().to_string());
      fail_all(batch, begun.error());
      return;
    }
    size_t next = 0;
    do {
      for (; next < batch.size(); ++next) {
        WriteOp& op = *batch[next];
        if (auto saved = statement(kSavepoint); !saved) {
          abort_batch(batch, saved.error());
          return;
        }
        const bool keep = apply_guarded(op, c);
        if (!c.in_transaction()) {
          // SQLite rolled the whole transaction back itself (I/O error, disk full, ...).
          abort_batch(batch,
                      unavailable("transaction aborted: " + std::string(sqlite3_errmsg(c.db()))));
          return;
        }
        Status ended = keep ? statement(kRelease) : statement(kRollbackTo);
        if (ended && !keep) ended = statement(kRelease);
        if (!ended) {
          abort_batch(batch, ended.error());
          return;
        }
      }
    } while (take_queued(batch));
    const auto applied = std::chrono::steady_clock::now();
    auto committed = statement(kCommit);
    const auto finished = std::chrono::steady_clock::now();
    apply_ns.fetch_add(nanoseconds(applied - started), std::memory_order_relaxed);
    commit_ns.fetch_add(nanoseconds(finished - applied), std::memory_order_relaxed);
    if (!committed) abort_batch(batch, committed.error());
  }

  static uint64_t nanoseconds(std::chrono::steady_clock::duration d) {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
  }

  void abort_batch(const std::vector<WriteOp*>& batch, const Error& cause) {
    if (writer->in_transaction()) (void)writer->exec(kRollback);
    Error error = cause.code == ErrorCode::store_unavailable
                      ? cause
                      : unavailable("batch rolled back: " + cause.to_string());
    store_log()->warn("batch failed path={} ops={} error=\"{}\"", path, batch.size(),
                      error.to_string());
    fail_all(batch, error);
  }

  // ---- Reads ----

  struct Lease {
    Impl* impl;
    std::unique_ptr<Connection> conn;
    ~Lease() {
      if (conn) impl->release_reader(std::move(conn));
    }
    Lease(Impl* i, std::unique_ptr<Connection> c) : impl(i), conn(std::move(c)) {}
    Lease(Lease&&) = default;
  };

  Result<Lease> lease_reader() {
    {
      std::lock_guard lock(readers_mu);
      if (!idle_readers.empty()) {
        Lease lease(this, std::move(idle_readers.back()));
        idle_readers.pop_back();
        return lease;
      }
    }
    auto opened = Connection::open(path, Connection::Role::reader, options);
    if (!opened) return std::move(opened).error();
    return Lease(this, std::move(opened).value());
  }

  void release_reader(std::unique_ptr<Connection> conn) {
    std::lock_guard lock(readers_mu);
    if (idle_readers.size() < kMaxIdleReaders) idle_readers.push_back(std::move(conn));
  }

  template <class T, class F>
  Result<T> read(F&& fn) {
    auto lease = lease_reader();
    if (!lease) return std::move(lease).error();
    try {
      return fn(*lease->conn);
    } catch (const std::exception& e) {
      return make_error(ErrorCode::internal, std::string("store read failed: ") + e.what());
    }
  }
};

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  // Names show in top -H, perf and gdb.
  impl_->thread = std::thread([impl = impl_.get()] {
    pthread_setname_np(pthread_self(), "store-writer");
    impl->run_writer();
  });
  for (int i = 0; i < kCompletionThreads; ++i) {
    impl_->completers.emplace_back([impl = impl_.get()] {
      pthread_setname_np(pthread_self(), "store-done");
      impl->run_completer();
    });
  }
  impl_->checkpointer = std::thread([impl = impl_.get()] {
    pthread_setname_np(pthread_self(), "store-ckpt");
    impl->run_checkpointer();
  });
}

SqliteStore::~SqliteStore() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->closing = true;
  }
  impl_->wake.notify_all();
  impl_->checkpoint_cv.notify_all();
  impl_->thread.join();  // every queued write is done and handed back
  impl_->checkpointer.join();
  {
    std::lock_guard lock(impl_->completed_mu);
    impl_->completers_stop = true;
  }
  impl_->completed_cv.notify_all();
  for (auto& t : impl_->completers) t.join();  // every callback ran
  store_log()->info("closed path={} batches={} operations={} apply_ms={} commit_ms={}", impl_->path,
                    impl_->batches.load(), impl_->operations.load(),
                    impl_->apply_ns.load() / 1000000, impl_->commit_ns.load() / 1000000);
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path,
                                                       const SqliteOptions& options) {
  if (path.empty() || path == ":memory:" || path.starts_with("file:")) {
    return make_error(ErrorCode::config_invalid,
                      "sqlite store needs a file path, not '" + path + "'");
  }
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) return unavailable("cannot create folder " + parent.string() + ": " + ec.message());
  }
  if (auto owner_only = make_owner_only(path); !owner_only) return std::move(owner_only).error();
  auto writer = Connection::open(path, Connection::Role::writer, options);
  if (!writer) return std::move(writer).error();
  if (auto migrated = migrate(**writer, path); !migrated) return std::move(migrated).error();

  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->options = options;
  impl->writer = std::move(writer).value();
  auto checkpoint_conn = Connection::open(path, Connection::Role::writer, options);
  if (!checkpoint_conn) return std::move(checkpoint_conn).error();
  impl->checkpoint_conn = std::move(checkpoint_conn).value();
  // Open one reader now, so a file a reader cannot use fails here and not on the first read.
  auto reader = Connection::open(path, Connection::Role::reader, options);
  if (!reader) return std::move(reader).error();
  impl->idle_readers.push_back(std::move(reader).value());
  store_log()->info("opened path={} schema_version={}", path, kSchemaVersion);
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
}

SqliteStore::WriterStats SqliteStore::writer_stats() const {
  return {impl_->batches.load(std::memory_order_relaxed),
          impl_->operations.load(std::memory_order_relaxed),
          impl_->apply_ns.load(std::memory_order_relaxed),
          impl_->commit_ns.load(std::memory_order_relaxed),
          impl_->wake_ns.load(std::memory_order_relaxed)};
}

// ---- Accounts and keys --------------------------------------------------------------------

Status SqliteStore::upsert_account(const Account& account) {
  if (auto valid = validate_account(account); !valid) return valid;
  return impl_->write<Ok>([&](Connection& c) -> Status {
    Query q(c, kUpsertAccount);
    q.bind(1, account.name).bind(2, int64_t{account.max_concurrent});
    return q.run();
  });
}

Result<std::optional<Account>> SqliteStore::get_account(const std::string& name) {
  return impl_->read<std::optional<Account>>([&](Connection& c) -> Result<std::optional<Account>> {
    auto row = account_row(c, name);
    if (!row) return std::move(row).error();
    if (!*row) return std::optional<Account>{};
    return std::optional<Account>{Account{name, (*row)->max_concurrent}};
  });
}

Status SqliteStore::insert_api_key(const ApiKeyRecord& key) {
  if (auto valid = validate_api_key(key); !valid) return valid;
  return impl_->write<Ok>([&](Connection& c) -> Status {
    auto account = account_row(c, key.account);
    if (!account) return std::move(account).error();
    if (!*account) return unknown_account(key.account);
    auto duplicate = exists(c, kKeyExists, key.key_id);
    if (!duplicate) return std::move(duplicate).error();
    if (*duplicate) {
      return make_error(ErrorCode::invalid_request, "api key " + key.key_id + " already exists");
    }
    Query q(c, kInsertKey);
    q.bind(1, key.key_id)
        .bind(2, key.account)
        .bind(3, key.secret_hash)
        .bind(4, key.created_at)
        .bind(5, key.revoked_at);
    return q.run();
  });
}

Result<std::optional<ApiKeyRecord>> SqliteStore::find_api_key(const std::string& key_id) {
  return impl_->read<std::optional<ApiKeyRecord>>(
      [&](Connection& c) -> Result<std::optional<ApiKeyRecord>> {
        Query q(c, kFindKey);
        q.bind(1, key_id);
        auto row = q.step();
        if (!row) return std::move(row).error();
        if (!*row) return std::optional<ApiKeyRecord>{};
        return std::optional<ApiKeyRecord>{read_key(q)};
      });
}

Result<std::vector<ApiKeyRecord>> SqliteStore::list_api_keys() {
  return impl_->read<std::vector<ApiKeyRecord>>(
      [&](Connection& c) -> Result<std::vector<ApiKeyRecord>> {
        Query q(c, kListKeys);
        std::vector<ApiKeyRecord> out;
        while (true) {
          auto row = q.step();
          if (!row) return std::move(row).error();
          if (!*row) return out;
          out.push_back(read_key(q));
        }
      });
}

Result<bool> SqliteStore::revoke_api_key(const std::string& key_id, TimePoint at) {
  return impl_->write<bool>([&](Connection& c) -> Result<bool> {
    Query q(c, kRevokeKey);
    q.bind(1, key_id).bind(2, at);
    if (auto done = q.run(); !done) return std::move(done).error();
    return sqlite3_changes(c.db()) > 0;
  });
}

// ---- Sessions -----------------------------------------------------------------------------

namespace {

// The slot rule and the insert, on the writer connection inside BEGIN IMMEDIATE, so no other
// writer, thread or process, runs between the count and the insert.
Status insert_session_on(Connection& c, const SessionRecord& session,
                         const std::string& capabilities, const std::string& metadata) {
  auto account = account_row(c, session.account);
  if (!account) return std::move(account).error();
  if (!*account) return unknown_account(session.account);
  const AccountRow& row = **account;
  if (row.live_count >= row.max_concurrent) {
    return limit_reached(session.account, row.live_count, row.max_concurrent);
  }
  // A duplicate id fails the primary key: invalid_request, rolled back with its savepoint.
  Query q(c, kInsertSession);
  q.bind(1, session.id)
      .bind(2, session.account)
      .bind(3, session.streamer_id)
      .bind(4, session::to_string(session.state))
      .bind(5, session::to_string(session.end_cause))
      .bind(6, session.created_at)
      .bind(7, session.connected_at)
      .bind(8, session.ended_at)
      .bind(9, session.token_jti)
      .bind(10, session.token_expires_at)
      .bind(11, session.deadline_at)
      .bind(12, capabilities)
      .bind(13, metadata)
      .bind(14, session.model);
  return q.run();
}

}  // namespace

Status SqliteStore::insert_session(const SessionRecord& session) {
  if (auto valid = validate_new_session(session); !valid) return valid;
  // Everything that needs no database is done here, on the caller's thread: the writer is the
  // one serial part of a mint.
  const std::string capabilities = to_json_text(nlohmann::json(session.capabilities));
  const std::string metadata = to_json_text(nlohmann::json(session.metadata));
  return impl_->write<Ok>(
      [&](Connection& c) { return insert_session_on(c, session, capabilities, metadata); });
}

void SqliteStore::insert_session_async(const SessionRecord& session,
                                       std::function<void(Status)> done) {
  if (auto valid = validate_new_session(session); !valid) return done(std::move(valid));
  impl_->write_async<Ok>(
      [session, capabilities = to_json_text(nlohmann::json(session.capabilities)),
       metadata = to_json_text(nlohmann::json(session.metadata))](Connection& c) {
        return insert_session_on(c, session, capabilities, metadata);
      },
      std::move(done));
}

Result<std::optional<SessionRecord>> SqliteStore::get_session(const std::string& id) {
  return impl_->read<std::optional<SessionRecord>>(
      [&](Connection& c) { return get_session_on(c, id); });
}

Result<std::vector<SessionRecord>> SqliteStore::list_live_sessions(const std::string& account) {
  return impl_->read<std::vector<SessionRecord>>([&](Connection& c) {
    if (account.empty()) {
      Query q(c, kListLiveAll);
      return collect_sessions(q);
    }
    Query q(c, kListLiveOfAccount);
    q.bind(1, account);
    return collect_sessions(q);
  });
}

Result<SessionRecord> SqliteStore::update_session(const std::string& id,
                                                  const session::SessionUpdate& update) {
  return impl_->write<SessionRecord>([&](Connection& c) -> Result<SessionRecord> {
    auto current = get_session_on(c, id);
    if (!current) return std::move(current).error();
    if (!*current) return session_not_found(id);
    auto next = apply_update(**current, update);
    if (!next) return next;
    Query q(c, kUpdateSession);
    q.bind(1, id)
        .bind(2, session::to_string(next->state))
        .bind(3, session::to_string(next->end_cause))
        .bind(4, next->connected_at)
        .bind(5, next->ended_at)
        .bind(6, next->token_jti)
        .bind(7, next->token_expires_at)
        .bind(8, next->deadline_at);
    if (auto done = q.run(); !done) return std::move(done).error();
    return next;
  });
}

Result<std::vector<SessionRecord>> SqliteStore::sessions_due(TimePoint now, int limit) {
  if (limit <= 0) return std::vector<SessionRecord>{};
  return impl_->read<std::vector<SessionRecord>>([&](Connection& c) {
    Query q(c, kSessionsDue);
    q.bind(1, now).bind(2, int64_t{limit});
    return collect_sessions(q);
  });
}

Result<std::vector<SessionRecord>> SqliteStore::sessions_on_streamer(
    const std::string& streamer_id) {
  return impl_->read<std::vector<SessionRecord>>([&](Connection& c) {
    Query q(c, kSessionsOnStreamer);
    q.bind(1, streamer_id);
    return collect_sessions(q);
  });
}

Result<int> SqliteStore::purge_ended(TimePoint before) {
  return impl_->write<int>([&](Connection& c) -> Result<int> {
    Query q(c, kPurgeEnded);
    q.bind(1, before);
    if (auto done = q.run(); !done) return std::move(done).error();
    return sqlite3_changes(c.db());
  });
}

Result<std::vector<LiveCount>> SqliteStore::count_live_by_state() {
  return impl_->read<std::vector<LiveCount>>([&](Connection& c) -> Result<std::vector<LiveCount>> {
    std::vector<LiveCount> out;
    for (SessionState s :
         {SessionState::provisioned, SessionState::connected, SessionState::dropped}) {
      out.push_back({std::string(session::to_string(s)), 0});
    }
    Query q(c, kCountByState);
    while (true) {
      auto row = q.step();
      if (!row) return std::move(row).error();
      if (!*row) return out;
      const std::string state = q.text_at(0);
      for (LiveCount& count : out) {
        if (count.key == state) count.count = static_cast<int>(q.int_at(1));
      }
    }
  });
}

Result<std::vector<LiveCount>> SqliteStore::count_live_by_account() {
  return impl_->read<std::vector<LiveCount>>([&](Connection& c) -> Result<std::vector<LiveCount>> {
    Query q(c, kCountByAccount);
    std::vector<LiveCount> out;
    while (true) {
      auto row = q.step();
      if (!row) return std::move(row).error();
      if (!*row) return out;
      out.push_back({q.text_at(0), static_cast<int>(q.int_at(1))});
    }
  });
}

}  // namespace ithaca::store
