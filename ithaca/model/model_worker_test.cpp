// ModelWorker against real worker processes: a shell one that breaks the protocol, and the
// Python runtime (sdks/model-python) with the test models of tests/models, when its venv exists
// (`make model-deps` makes it; `make test` does before the C++ tests).
#include "ithaca/model/model_worker.hpp"

#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "ithaca/media/frame_marker.hpp"

namespace ithaca::model {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

const std::string kRoot = ITHACA_SOURCE_DIR;
const std::string kPython = kRoot + "/sdks/model-python/.venv/bin/python";

std::string python_worker(const std::string& target) {
  return "env PYTHONPATH=" + kRoot + ":" + kRoot + "/sdks/model-python " + kPython +
         " -m ithaca_model " + target;
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto end = Steady::now() + limit;
  while (Steady::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return done();
}

// Faults as a listener sees them.
struct Faults {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<Error, bool>> seen;
  FaultListener listener() {
    return [this](const Error& e, bool over) {
      std::lock_guard lock(mu);
      seen.emplace_back(e, over);
      cv.notify_all();
    };
  }
  std::optional<std::pair<Error, bool>> wait(std::chrono::milliseconds limit) {
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, limit, [&] { return !seen.empty(); })) return std::nullopt;
    return seen.front();
  }
};

uint16_t marker_of(const media::VideoFrame& f) {
  return media::decode_marker(f.y(), f.width, f.height, f.y_stride(), media::MarkerPixels::luma)
      .value_or(0xffff);
}

// The luma BT.601 limited range gives an RGB colour.
int luma_of(const uint8_t rgb[3]) {
  return static_cast<int>(16 + (65.481 * rgb[0] + 128.553 * rgb[1] + 24.966 * rgb[2]) / 255.0 +
                          0.5);
}

class PythonWorker : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kPython)) GTEST_SKIP() << "no " << kPython << " (make model-deps)";
  }
  std::unique_ptr<ModelWorker> start(const std::string& target, WorkerOptions o = {}) {
    o.command = python_worker(target);
    o.first_backoff = 100ms;
    auto w = std::make_unique<ModelWorker>(o, [] {});
    EXPECT_TRUE(wait_until([&] { return w->ready_places() > 0; }, 30s)) << target;
    return w;
  }
  // Renders at the stream's rate for `count` ticks; returns the frames' markers.
  std::vector<uint16_t> play(ModelWorker& w, uint64_t generation, int count,
                             media::VideoFrame& frame) {
    std::vector<uint16_t> markers;
    auto next = Steady::now();
    for (int i = 0; i < count; ++i) {
      EXPECT_TRUE(w.render(0, generation, frame));
      markers.push_back(marker_of(frame));
      next += 33ms;
      std::this_thread::sleep_until(next);
    }
    return markers;
  }
};

TEST(ModelWorkerProcess, AWorkerThatBreaksTheProtocolIsKilledAndRestarted) {
  WorkerOptions o;
  o.command = "sh -c 'printf junk >&3; sleep 30'";
  o.first_backoff = 50ms;
  ModelWorker w(o, [] {});
  EXPECT_TRUE(wait_until([&] { return w.total_crashes() >= 2; }, 5s));  // killed, and again
  EXPECT_EQ(w.ready_places(), 0);
  auto refused = w.start_stream(0, StreamRequest{});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::model_crashed);
}

TEST(ModelWorkerProcess, TheWorkerInheritsOnlyItsSocket) {
  // 0 is /dev/null, 1 and 2 the log pipe, 3 the socket: nothing else of the streamer's. Read
  // from outside, while the worker (exec'd sleep) waits.
  WorkerOptions o;
  o.command = "sleep 30";
  ModelWorker w(o, [] {});
  std::set<int> fds;
  ASSERT_TRUE(wait_until(
      [&] {
        const int pid = w.pid();
        if (pid <= 0) return false;
        std::error_code ec;
        fds.clear();
        for (const auto& e :
             std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
          fds.insert(std::stoi(e.path().filename().string()));
        }
        // Until exec, the pid is the streamer's forked copy.
        std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
        std::string name;
        std::getline(comm, name);
        return !ec && name == "sleep";
      },
      5s));
  EXPECT_EQ(fds, (std::set<int>{0, 1, 2, 3}));
}

TEST_F(PythonWorker, StreamsThePromptsColourWithItsMarker) {
  auto w = start("tests.models.rgb_world:RgbWorld");
  ASSERT_TRUE(w->info());
  EXPECT_EQ(w->info()->name, "rgb-world");
  Faults faults;
  StreamRequest r;
  r.prompt = "a red fox";
  r.on_fault = faults.listener();
  const auto before = Steady::now();
  auto started = w->start_stream(0, r);
  ASSERT_TRUE(started) << started.error().to_string();
  EXPECT_EQ(started->first, "a red fox");
  media::VideoFrame frame;
  // The first model frame is there within 50 ms of start returning (docs: warm worker).
  const auto returned = Steady::now();
  while (Steady::now() - returned < 2s) {
    ASSERT_TRUE(w->render(0, started->second, frame));
    if (marker_of(frame) == 1) break;
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_EQ(frame.width, 1280);
  EXPECT_EQ(marker_of(frame), 1);
  EXPECT_LT(Steady::now() - returned, 50ms) << "start took " << (returned - before) / 1ms << " ms";
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(r.prompt.data()), r.prompt.size(), digest);
  const int y = frame.y()[(frame.height / 2) * frame.width + frame.width / 2];
  EXPECT_NEAR(y, luma_of(digest), 2);

  ASSERT_TRUE(w->interact(0, started->second, "a blue whale", 2));
  const auto markers = play(*w, started->second, 10, frame);
  EXPECT_EQ(markers.back(), 2);
  SHA256(reinterpret_cast<const uint8_t*>("a blue whale"), 12, digest);
  EXPECT_NEAR(frame.y()[(frame.height / 2) * frame.width + frame.width / 2], luma_of(digest), 2);
  w->end_stream(0, started->second);
  EXPECT_FALSE(faults.wait(100ms));
}

TEST_F(PythonWorker, KillNineIsModelCrashedWithin200msAndTheWorkerComesBack) {
  auto w = start("tests.models.rgb_world:RgbWorld");
  Faults faults;
  StreamRequest r;
  r.prompt = "x";
  r.on_fault = faults.listener();
  auto started = w->start_stream(0, r);
  ASSERT_TRUE(started);
  const auto t0 = Steady::now();
  ASSERT_EQ(kill(w->pid(), SIGKILL), 0);
  auto fault = faults.wait(2s);
  ASSERT_TRUE(fault);
  EXPECT_LT(Steady::now() - t0, 200ms);
  EXPECT_EQ(fault->first.code, ErrorCode::model_crashed);
  EXPECT_TRUE(fault->second);
  EXPECT_EQ(w->ready_places(), 0);
  ASSERT_TRUE(wait_until([&] { return w->ready_places() > 0; }, 30s));
  r.on_fault = {};
  EXPECT_TRUE(w->start_stream(0, r));
}

TEST_F(PythonWorker, ARaisingInteractIsReportedWithTheModelsMessage) {
  auto w = start("tests.models.raising_world:RaisingWorld");
  Faults faults;
  StreamRequest r;
  r.prompt = "calm";
  r.on_fault = faults.listener();
  auto started = w->start_stream(0, r);
  ASSERT_TRUE(started);
  ASSERT_TRUE(w->interact(0, started->second, "boom", 2));
  auto fault = faults.wait(2s);
  ASSERT_TRUE(fault);
  EXPECT_EQ(fault->first.code, ErrorCode::model_error);
  EXPECT_NE(fault->first.detail.find("boom"), std::string::npos) << fault->first.detail;
  EXPECT_FALSE(fault->second);  // the stream goes on
}

TEST_F(PythonWorker, WrongShapesEndTheStreamNamingWhatWasExpected) {
  auto w = start("tests.models.bad_shape_world:BadShapeWorld");
  Faults faults;
  StreamRequest r;
  r.prompt = "bad";
  r.on_fault = faults.listener();
  auto started = w->start_stream(0, r);
  ASSERT_TRUE(started);
  auto fault = faults.wait(3s);
  ASSERT_TRUE(fault);
  EXPECT_EQ(fault->first.code, ErrorCode::model_error);
  EXPECT_NE(fault->first.detail.find("1280"), std::string::npos) << fault->first.detail;
  EXPECT_TRUE(fault->second);
  EXPECT_GT(w->ready_places(), 0);  // the worker itself is fine
}

TEST_F(PythonWorker, AHungStepIsKilled) {
  WorkerOptions o;
  o.step_timeout = 500ms;
  auto w = start("tests.models.hung_world:HungWorld", o);
  Faults faults;
  StreamRequest r;
  r.prompt = "hang";
  r.on_fault = faults.listener();
  auto started = w->start_stream(0, r);
  ASSERT_TRUE(started);
  auto fault = faults.wait(3s);
  ASSERT_TRUE(fault);
  EXPECT_EQ(fault->first.code, ErrorCode::model_crashed);
  EXPECT_NE(fault->first.detail.find("step"), std::string::npos) << fault->first.detail;
}

TEST_F(PythonWorker, AChunkPlaysOneFramePerTick) {
  auto w = start("tests.models.chunked_world:ChunkedWorld");
  StreamRequest r;
  r.prompt = "waves";
  auto started = w->start_stream(0, r);
  ASSERT_TRUE(started);
  media::VideoFrame frame;
  std::vector<uint64_t> sums;
  auto next = Steady::now();
  int distinct = 0;
  int last = -1;
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(w->render(0, started->second, frame));
    // The chunk's frame number, from the grey block at the bottom right.
    const int grey = frame.y()[(frame.height - 8) * frame.width + frame.width - 8];
    if (grey != last) ++distinct;
    last = grey;
    next += 33ms;
    std::this_thread::sleep_until(next);
  }
  EXPECT_GE(distinct, 34) << "frames held instead of played";
}

TEST_F(PythonWorker, OneBatchedWorkerServesFourStreamsEachWithItsOwnPrompt) {
  auto w = start("tests.models.batched_world:BatchedWorld");
  ASSERT_EQ(w->ready_places(), 4);
  const std::vector<std::string> prompts = {"north", "south", "east", "west"};
  std::vector<uint64_t> generations;
  for (int lane = 0; lane < 4; ++lane) {
    StreamRequest r;
    r.prompt = prompts[lane];
    r.portrait = lane == 3;
    auto started = w->start_stream(lane, r);
    ASSERT_TRUE(started) << started.error().to_string();
    generations.push_back(started->second);
  }
  std::vector<media::VideoFrame> frames(4);
  auto next = Steady::now();
  for (int tick = 0; tick < 15; ++tick) {
    for (int lane = 0; lane < 4; ++lane) {
      ASSERT_TRUE(w->render(lane, generations[lane], frames[lane]));
    }
    next += 33ms;
    std::this_thread::sleep_until(next);
  }
  for (int lane = 0; lane < 4; ++lane) {
    const media::VideoFrame& f = frames[lane];
    EXPECT_EQ(f.width, lane == 3 ? 704 : 1280) << lane;
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const uint8_t*>(prompts[lane].data()), prompts[lane].size(), digest);
    EXPECT_NEAR(f.y()[(f.height / 2) * f.width + f.width / 2], luma_of(digest), 2) << lane;
    EXPECT_EQ(marker_of(f), 1) << lane;
  }
}

TEST_F(PythonWorker, ParamsTheModelDeclaresAreShownInItsInfo) {
  auto w = start("tests.models.params_world:ParamsWorld");
  const auto info = w->info();
  ASSERT_TRUE(info);
  const auto& params = info->params;
  ASSERT_TRUE(params.contains("seed")) << params.dump();
  EXPECT_EQ(params["seed"]["type"], "integer");
  EXPECT_TRUE(check_params(params, {{"seed", 3}}));
  EXPECT_FALSE(check_params(params, {{"seed", "three"}}));
}

}  // namespace
}  // namespace ithaca::model
