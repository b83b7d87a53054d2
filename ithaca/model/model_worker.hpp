// ModelWorker: one supervised worker process (docs/model-workers.md section 2) and the lanes
// (places) it serves. A thread of its own spawns the worker, answers its hello with the frame
// ring, reads its messages, asks for steps just in time (section 2.3), and kills and restarts it
// (whole process group) when it exits, misbehaves, misses heartbeats or overruns a deadline.
//
// Streams use it through ModelSource (one lane each). start_stream() waits for the model's
// answer; interact()/end_stream() only send; render() takes the lane's next frame at the
// stream's tick, converting it from the ring straight into the encoder's I420 buffer (libyuv).
// Faults that end a stream (a crash, model_error from a step) reach the stream's listener, on
// this worker's thread, with no lock of the worker held.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "ithaca/base/error.hpp"
#include "ithaca/media/frame_source.hpp"
#include "ithaca/model/model_info.hpp"

namespace ithaca::model {

struct WorkerOptions {
  std::string command;  // the worker command line (/bin/sh -c "exec <command>")
  int index = 0;        // its number in logs (worker-<index>)
  std::string gpu;      // CUDA_VISIBLE_DEVICES for it; empty: inherited
  std::chrono::milliseconds load_timeout{600'000};
  std::chrono::milliseconds start_timeout{60'000};
  std::chrono::milliseconds step_timeout{10'000};
  std::chrono::milliseconds heartbeat_timeout{5'000};
  std::chrono::milliseconds first_backoff{500};
  std::chrono::milliseconds max_backoff{30'000};
};

// Called when a running stream cannot go on (stream_over) or a call failed (a refused prompt).
using FaultListener = std::function<void(const Error& error, bool stream_over)>;
// The model's answer to an interact: the applied prompt, or its refusal (model_error).
using AnswerListener = std::function<void(uint16_t sequence, const Result<std::string>& answer)>;

struct StreamRequest {
  std::string prompt;
  bool portrait = false;
  uint16_t sequence = 1;
  nlohmann::json params = nlohmann::json::object();
  const media::RgbImage* image = nullptr;
  FaultListener on_fault;
  AnswerListener on_answer;
};

class ModelWorker {
 public:
  // on_change: the worker's ready places or its info changed (on the worker's thread).
  ModelWorker(WorkerOptions options, std::function<void()> on_change);
  ~ModelWorker();  // shuts the worker down (kills its group)
  ModelWorker(const ModelWorker&) = delete;
  ModelWorker& operator=(const ModelWorker&) = delete;

  // The model's hello, once one came (it may change on a restart).
  std::optional<ModelInfo> info() const;
  // max_sessions while the worker is ready, else 0.
  int ready_places() const;
  int lanes() const;  // max_sessions of the last hello; 0 before any
  // Crashes (deaths, kills) within the last ten minutes, and in all.
  int recent_crashes() const;
  int64_t total_crashes() const;
  // The worker's process id while one runs (tests kill it).
  int pid() const;

  // Begins a stream on `lane`; returns the applied prompt and the stream's generation.
  // model_crashed when the worker is not ready or dies meanwhile; model_error with the
  // model's message when its start raised; invalid_request for a busy or unknown lane.
  Result<std::pair<std::string, uint64_t>> start_stream(int lane, const StreamRequest& request);
  Status interact(int lane, uint64_t generation, const std::string& prompt, uint16_t sequence);
  void end_stream(int lane, uint64_t generation);
  // The lane's frame for this tick into `out` (format of the stream's orientation).
  Status render(int lane, uint64_t generation, media::VideoFrame& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ithaca::model
