// SqliteStore::insert_session throughput: many callers minting at once, as the HTTP server's
// threads do, each call durable (fsync'd) before it returns. Group commit is what makes this
// scale: one fsync (~0.4 ms on the reference 2-core VM) serves every call that queued while the
// previous batch was committing. The target is >= 10,000 sessions/s with 32+ callers.
//
//   build/dev/bench/store_bench                      # sessions/s = items_per_second
//   build/dev/bench/store_bench --benchmark_filter=/threads:64
//
// Counters: items_per_second (sessions/s, all threads together, wall-clock), batch (average
// calls per committed transaction, i.e. per fsync).
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "ithaca/store/sqlite/sqlite_store.hpp"

namespace {

namespace fs = std::filesystem;
using ithaca::store::SqliteStore;

// Large enough that no mint is refused during a run.
constexpr int kHugeLimit = 1'000'000'000;

std::unique_ptr<SqliteStore> g_store;
fs::path g_dir;
std::atomic<uint64_t> g_next_id{0};

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
  s.id = "ses_bench_" + std::to_string(g_next_id.fetch_add(1));
  s.account = "bench";
  s.streamer_id = "str_gpu0";
  s.created_at = std::chrono::system_clock::now();
  s.deadline_at = s.created_at + std::chrono::minutes{5};
  s.capabilities = {{"image_to_video", true}};
  s.metadata = {{"user", "u-1234"}, {"room", "lobby"}};
  return s;
}

void BM_InsertSession(benchmark::State& state) {
  const auto before = g_store->writer_stats();
  for (auto _ : state) {
    auto done = g_store->insert_session(new_session());
    if (!done.ok()) state.SkipWithError(done.error().to_string().c_str());
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    const auto after = g_store->writer_stats();
    const double batches = static_cast<double>(after.batches - before.batches);
    // Only thread 0 sets it; the per-thread values are summed.
    state.counters["batch"] =
        batches > 0 ? static_cast<double>(after.operations - before.operations) / batches : 0;
  }
}
BENCHMARK(BM_InsertSession)
    ->Setup(open_store)
    ->Teardown(close_store)
    ->Threads(1)
    ->Threads(32)
    ->Threads(64)
    ->UseRealTime()
    ->MinTime(1.0);

}  // namespace
