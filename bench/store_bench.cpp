// SqliteStore::insert_session throughput: many callers minting at once, as the HTTP server's
// threads do, each call durable (fsync'd) before it returns. Group commit is what makes this
// scale: one fsync (~0.4 ms on the reference 2-core VM) serves every call that queued while the
// previous batch was committing. The target is >= 10,000 sessions/s with 32+ callers.
//
//   build/dev/bench/store_bench                      # sessions/s = items_per_second
//   build/dev/bench/store_bench --benchmark_filter=/threads:64
//
// BM_InsertSession: blocking insert_session from 1, 32, 64 threads. BM_InsertSessionAsync:
// insert_session_async from one thread with 64 or 256 mints in flight (the HTTP server's way).
//
// Counters: items_per_second (sessions/s, all threads together, wall-clock); batch (average
// calls per committed transaction, i.e. per fsync); apply_us_per_op (writer time running one
// call); commit_us_per_batch (writer time in COMMIT, mostly the fsync); wake_us_per_batch
// (writer time handing a batch back).
#include <benchmark/benchmark.h>
#include <stdlib.h>  // mkdtemp

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "ithaca/base/random.hpp"
#include "ithaca/store/sqlite/sqlite_store.hpp"

namespace {

namespace fs = std::filesystem;
using ithaca::store::SqliteStore;

// Large enough that no mint is refused during a run.
constexpr int kHugeLimit = 1'000'000'000;

std::unique_ptr<SqliteStore> g_store;
fs::path g_dir;

void open_store(const benchmark::State&) {
  std::string pattern = (fs::temp_directory_path() / "ithaca-store-bench-XXXXXX").string();
  if (!mkdtemp(pattern.data())) std::abort();
  g_dir = pattern;
  auto opened = SqliteStore::open((g_dir / "ithaca.db").string());
  if (!opened) std::abort();
  g_store = std::move(opened).value();
  if (!g_store->upsert_account({"bench", kHugeLimit}).ok()) std::abort();
}

void close_store(const benchmark::State&) {
  g_store.reset();
  std::error_code ec;
  fs::remove_all(g_dir, ec);
}

ithaca::session::SessionRecord new_session() {
  ithaca::session::SessionRecord s;
  // Random, as the server mints them: inserts land all over the primary-key index.
  s.id = ithaca::random_id("ses_");
  s.account = "bench";
  s.streamer_id = "str_gpu0";
  s.created_at = std::chrono::system_clock::now();
  s.deadline_at = s.created_at + std::chrono::minutes{5};
  s.capabilities = {{"image_to_video", true}};
  s.metadata = {{"user", "u-1234"}, {"room", "lobby"}};
  return s;
}

void report_writer_stats(benchmark::State& state, const SqliteStore::WriterStats& before) {
  const auto after = g_store->writer_stats();
  const double batches = static_cast<double>(after.batches - before.batches);
  const double ops = static_cast<double>(after.operations - before.operations);
  if (batches > 0 && ops > 0) {
    state.counters["batch"] = ops / batches;
    state.counters["apply_us_per_op"] =
        static_cast<double>(after.apply_ns - before.apply_ns) / ops / 1e3;
    state.counters["commit_us_per_batch"] =
        static_cast<double>(after.commit_ns - before.commit_ns) / batches / 1e3;
    state.counters["wake_us_per_batch"] =
        static_cast<double>(after.wake_ns - before.wake_ns) / batches / 1e3;
  }
}

// Blocking callers, one mint at a time each, as a thread-per-request server.
void BM_InsertSession(benchmark::State& state) {
  const auto before = g_store->writer_stats();
  for (auto _ : state) {
    auto done = g_store->insert_session(new_session());
    if (!done.ok()) state.SkipWithError(done.error().to_string().c_str());
  }
  state.SetItemsProcessed(state.iterations());
  // Only thread 0 reports the writer's counters; the per-thread values are summed.
  if (state.thread_index() == 0) report_writer_stats(state, before);
}
BENCHMARK(BM_InsertSession)
    ->Setup(open_store)
    ->Teardown(close_store)
    ->Threads(1)
    ->Threads(32)
    ->Threads(64)
    ->UseRealTime()
    ->MinTime(1.0);

// One thread issuing insert_session_async with up to range(0) mints in flight, as the HTTP
// server's network threads do: no thread waits for the fsync. Iterations count issued mints;
// the last window drains after the clock stops (under 1% of a run).
void BM_InsertSessionAsync(benchmark::State& state) {
  const auto window = static_cast<int>(state.range(0));
  std::mutex mu;
  std::condition_variable room;
  int in_flight = 0;
  const auto before = g_store->writer_stats();
  for (auto _ : state) {
    {
      std::unique_lock lock(mu);
      room.wait(lock, [&] { return in_flight < window; });
      ++in_flight;
    }
    g_store->insert_session_async(new_session(), [&](ithaca::Status done) {
      if (!done.ok()) std::abort();
      std::lock_guard lock(mu);
      --in_flight;
      room.notify_one();
    });
  }
  {
    std::unique_lock lock(mu);
    room.wait(lock, [&] { return in_flight == 0; });
  }
  state.SetItemsProcessed(state.iterations());
  report_writer_stats(state, before);
}
BENCHMARK(BM_InsertSessionAsync)
    ->Setup(open_store)
    ->Teardown(close_store)
    ->ArgName("in_flight")
    ->Arg(64)
    ->Arg(256)
    ->UseRealTime()
    ->MinTime(1.0);

}  // namespace
