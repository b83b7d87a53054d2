#include "ithaca/model/model_worker.hpp"

#include <libyuv/convert.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "ithaca/base/log.hpp"
#include "ithaca/media/frame_marker.hpp"
#include "ithaca/model/shared_memory.hpp"
#include "ithaca/model/worker_process.hpp"

namespace ithaca::model {
namespace {

using nlohmann::json;
using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("model");
  return l;
}

// Slots per lane: up to a 4-frame chunk queued, plus the one on screen (held for underruns).
constexpr int kSlotsPerLane = 5;
// How long render() waits for a frame of a step that is running before it holds the last one.
constexpr auto kFrameWait = milliseconds(4);
// Asked this long before the frame is due, on top of the recent step time.
constexpr auto kStepMargin = milliseconds(3);
constexpr auto kCrashWindow = std::chrono::minutes(10);
constexpr auto kGoodRun = std::chrono::minutes(1);

enum class State { down, spawned, loading, ready };

void fill_black(media::VideoFrame& out, const media::StreamFormat& f) {
  out.resize(f.width, f.height);
  const std::size_t luma = static_cast<std::size_t>(f.width) * f.height;
  std::memset(out.data.data(), 16, luma);
  std::memset(out.data.data() + luma, 128, out.data.size() - luma);
  out.sequence = 0;
  media::draw_marker(out, 0);
}

int int_field(const json& m, const char* name, int fallback = -1) {
  const auto it = m.find(name);
  return it != m.end() && it->is_number_integer() ? it->get<int>() : fallback;
}

std::string string_field(const json& m, const char* name) {
  const auto it = m.find(name);
  return it != m.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

struct ModelWorker::Impl {
  // Listener calls collected under the lock and made after it is released.
  using Faults = std::vector<std::pair<std::shared_ptr<FaultListener>, std::pair<Error, bool>>>;
  using Answer = std::tuple<std::shared_ptr<AnswerListener>, uint16_t, Result<std::string>>;
  struct Queued {
    int slot;
    uint16_t sequence;
  };
  struct Lane {
    uint64_t generation = 0;
    bool active = false;
    bool starting = false;
    bool in_step = false;
    media::StreamFormat format;
    std::deque<Queued> queued;
    std::optional<Queued> shown;
    std::optional<Steady::time_point> last_tick;
    std::optional<Result<std::string>> start_reply;
    Steady::time_point start_sent;
    std::shared_ptr<FaultListener> listener;
    std::shared_ptr<AnswerListener> answers;
    std::deque<uint16_t> interacts;  // sent, not answered yet: answers come in order
  };

  Impl(WorkerOptions o, std::function<void()> change)
      : options(std::move(o)), on_change(std::move(change)), wake_fd(eventfd(0, EFD_CLOEXEC)) {
    name = "worker-" + std::to_string(options.index);
    thread = std::thread([this] {
      pthread_setname_np(pthread_self(), "model-worker");
      supervise();
    });
  }

  ~Impl() {
    {
      std::lock_guard lock(mu);
      stopping = true;
      if (process && state != State::down)
        (void)process->send(MessageType::shutdown, json::object());
    }
    wake();
    cv.notify_all();
    thread.join();
  }

  // ---- the supervisor thread ----

  void supervise() {
    auto backoff = options.first_backoff;
    while (!is_stopping()) {
      WorkerSpawn spec{options.command, {{"ITHACA_WORKER_ID", std::to_string(options.index)}}};
      if (!options.gpu.empty()) spec.env["CUDA_VISIBLE_DEVICES"] = options.gpu;
      auto spawned = WorkerProcess::spawn(spec);
      std::string why;
      Steady::time_point ready_at{};
      if (!spawned) {
        why = spawned.error().to_string();
      } else {
        {
          std::lock_guard lock(mu);
          process.emplace(std::move(*spawned));
          state = State::spawned;
          spawned_at = last_message = Steady::now();
          worker_pid = process->pid();
        }
        log()->info("{} started pid={} command=\"{}\"", name, worker_pid, options.command);
        why = run(ready_at);
      }
      const bool good_run = ready_at != Steady::time_point{} && Steady::now() - ready_at > kGoodRun;
      went_down(why);
      if (is_stopping()) break;
      if (good_run) backoff = options.first_backoff;
      log()->warn("{} restarting in {} ms", name, backoff.count());
      std::unique_lock lock(mu);
      cv.wait_for(lock, backoff, [this] { return stopping; });
      backoff = std::min(backoff * 2, options.max_backoff);
    }
  }

  // Serves one worker process until it must go; returns why.
  std::string run(Steady::time_point& ready_at) {
    std::string partial_line;
    for (;;) {
      if (is_stopping()) return "the streamer is stopping";
      pollfd fds[3] = {{process->control_fd(), POLLIN, 0},
                       {process->output_fd(), POLLIN, 0},
                       {wake_fd, POLLIN, 0}};
      const auto timeout = next_timeout();
      timespec ts{static_cast<time_t>(timeout.count() / 1'000'000'000),
                  static_cast<long>(timeout.count() % 1'000'000'000)};
      ppoll(fds, 3, &ts, nullptr);
      if (fds[2].revents & POLLIN) {
        uint64_t n;
        (void)!::read(wake_fd, &n, sizeof n);
      }
      if (fds[1].revents & (POLLIN | POLLHUP)) drain_output(partial_line);
      for (;;) {
        auto m = process->receive();
        if (!m)
          return m.error().code == ErrorCode::invalid_request
                     ? "protocol error: " + m.error().detail
                     : "it exited";
        if (!*m) break;
        if (auto why = handle(**m); !why.empty()) return why;
      }
      std::string why;
      {
        std::lock_guard lock(mu);
        if (state == State::ready && ready_at == Steady::time_point{}) ready_at = Steady::now();
        why = overdue_locked();
        if (why.empty()) schedule_locked();
      }
      if (!why.empty()) return why;
    }
  }

  // The longest ppoll may sleep: until the next step is due or a deadline passes.
  std::chrono::nanoseconds next_timeout() {
    std::lock_guard lock(mu);
    auto wake_at = Steady::now() + milliseconds(250);
    if (state == State::ready && step_lanes.empty()) {
      for (const Lane& l : lanes_state) {
        if (l.active && !l.starting) wake_at = std::min(wake_at, due_locked(l));
      }
    }
    return std::max(std::chrono::nanoseconds(0), wake_at - Steady::now());
  }

  // When the lane's next step must be asked for: its queued frames run out at its next tick
  // after them; the step takes (at most, lately) step_estimate.
  Steady::time_point due_locked(const Lane& l) const {
    if (!l.last_tick || (!l.shown && l.queued.empty())) return {};  // the first: at once
    const auto period = std::chrono::nanoseconds(1'000'000'000 / std::max(l.format.frame_rate, 1));
    return *l.last_tick + period * static_cast<int64_t>(l.queued.size() + 1) -
           step_estimate_locked() - kStepMargin;
  }

  std::chrono::nanoseconds step_estimate_locked() const {
    std::chrono::nanoseconds worst{0};
    for (auto d : step_times) worst = std::max(worst, d);
    return worst;
  }

  void schedule_locked() {
    if (state != State::ready || !step_lanes.empty()) return;
    const auto now = Steady::now();
    bool any_due = false;
    for (const Lane& l : lanes_state) {
      if (l.active && !l.starting && due_locked(l) <= now) any_due = true;
    }
    if (!any_due) return;
    // The others that would be due within a frame ride along: a batched model steps them all.
    json lanes = json::array();
    for (int i = 0; i < static_cast<int>(lanes_state.size()); ++i) {
      Lane& l = lanes_state[i];
      const auto period =
          std::chrono::nanoseconds(1'000'000'000 / std::max(l.format.frame_rate, 1));
      if (!l.active || l.starting || due_locked(l) > now + period) continue;
      lanes.push_back(i);
      l.in_step = true;
      step_lanes.insert(i);
    }
    step_started = now;
    (void)process->send(MessageType::step, {{"lanes", lanes}});
  }

  std::string overdue_locked() {
    const auto now = Steady::now();
    if ((state == State::spawned || state == State::loading) &&
        now - spawned_at > options.load_timeout) {
      return "it did not load within " + std::to_string(options.load_timeout.count()) + " ms";
    }
    if (state != State::ready) return {};
    if (!step_lanes.empty() && now - step_started > options.step_timeout) {
      return "a step took longer than " + std::to_string(options.step_timeout.count()) + " ms";
    }
    bool starting = false;
    for (const Lane& l : lanes_state) {
      if (l.starting) {
        starting = true;
        if (now - l.start_sent > options.start_timeout) {
          return "start took longer than " + std::to_string(options.start_timeout.count()) + " ms";
        }
      }
    }
    if (step_lanes.empty() && !starting && now - last_message > options.heartbeat_timeout) {
      return "no heartbeat for " + std::to_string(options.heartbeat_timeout.count()) + " ms";
    }
    return {};
  }

  // One message from the worker; a non-empty answer is why the worker must be killed.
  std::string handle(const Message& m) {
    Faults faults;
    bool changed = false;
    std::string why;
    std::optional<Answer> answer;
    {
      std::lock_guard lock(mu);
      last_message = Steady::now();
      why = handle_locked(m, faults, changed);
      answer = answer_locked(m);
    }
    for (auto& [listener, fault] : faults) (*listener)(fault.first, fault.second);
    if (answer) (*std::get<0>(*answer))(std::get<1>(*answer), std::get<2>(*answer));
    if (changed && on_change) on_change();
    return why;
  }

  std::string handle_locked(const Message& m, Faults& faults, bool& changed) {
    const json& p = m.payload;
    const auto lane_of = [&]() -> Lane* {
      const int i = int_field(p, "lane");
      return i >= 0 && i < static_cast<int>(lanes_state.size()) ? &lanes_state[i] : nullptr;
    };
    switch (m.type) {
      case MessageType::hello: {
        if (state != State::spawned) return "a second hello";
        auto parsed = parse_hello(p);
        if (!parsed) return parsed.error().detail;
        const int slots = kSlotsPerLane * parsed->max_sessions;
        auto memory = SharedMemory::create("ithaca-frames", slots * parsed->max_frame_bytes());
        if (!memory) return memory.error().to_string();
        ring = std::make_shared<SharedMemory>(std::move(*memory));
        slot_bytes = parsed->max_frame_bytes();
        owned.assign(slots, false);
        lanes_state.assign(parsed->max_sessions, Lane{});
        if (auto s = process->send(MessageType::ring,
                                   {{"slots", slots}, {"slot_bytes", slot_bytes}}, ring->fd());
            !s) {
          return s.error().to_string();
        }
        log()->info("{} hello model={} version={} sessions={} landscape={}x{}@{}", name,
                    parsed->name, parsed->version, parsed->max_sessions, parsed->landscape.width,
                    parsed->landscape.height, parsed->landscape.frame_rate);
        model = std::move(*parsed);
        state = State::loading;
        changed = true;
        return {};
      }
      case MessageType::ready:
        if (state != State::loading) return "ready before hello";
        state = State::ready;
        log()->info("{} ready in {} ms", name,
                    std::chrono::duration_cast<milliseconds>(Steady::now() - spawned_at).count());
        changed = true;
        return {};
      case MessageType::started: {
        Lane* l = lane_of();
        if (!l || !l->starting) return "started for a lane that is not starting";
        l->start_reply = Result<std::string>(string_field(p, "prompt"));
        cv.notify_all();
        return {};
      }
      case MessageType::failed: {
        const std::string op = string_field(p, "op");
        const std::string message = string_field(p, "message").substr(0, 1024);
        Lane* l = lane_of();
        if (op == "load") {
          log()->error("{} failed to load: {}", name, message);
          return {};
        }
        if (!l) return "failed without a lane";
        const Error error = make_error(ErrorCode::model_error, message);
        if (op == "start" && l->starting) {
          l->start_reply = Result<std::string>(error);
          cv.notify_all();
        } else if (op == "interact" && l->active && l->listener && !l->answers) {
          faults.push_back({l->listener, {error, false}});
        } else if (op == "step" && l->active) {
          log()->warn("{} step failed lane={}: {}", name, int_field(p, "lane"), message);
          if (l->listener) faults.push_back({l->listener, {error, true}});
          l->active = false;  // end_stream() from the stream then frees its slots
          l->in_step = false;
          step_lanes.erase(int_field(p, "lane"));
          step_done_locked();
          cv.notify_all();
        }
        return {};
      }
      case MessageType::frame:
        return frame_locked(p);
      case MessageType::log: {
        const std::string level = string_field(p, "level");
        const std::string text = string_field(p, "message").substr(0, 4096);
        if (level == "error") {
          log()->error("{}: {}", name, text);
        } else if (level == "warning") {
          log()->warn("{}: {}", name, text);
        } else if (level == "debug") {
          log()->debug("{}: {}", name, text);
        } else {
          log()->info("{}: {}", name, text);
        }
        return {};
      }
      case MessageType::interacted:
      case MessageType::heartbeat:
      case MessageType::ended:
        return {};
      default:
        return "a " + std::string(message_name(m.type)) + " message, which workers do not send";
    }
  }

  // An interacted, or a failed interact: the answer to the lane's oldest interact.
  std::optional<Answer> answer_locked(const Message& m) {
    const bool ok = m.type == MessageType::interacted;
    if (!ok && !(m.type == MessageType::failed && string_field(m.payload, "op") == "interact")) {
      return std::nullopt;
    }
    const int i = int_field(m.payload, "lane");
    if (i < 0 || i >= static_cast<int>(lanes_state.size())) return std::nullopt;
    Lane& l = lanes_state[i];
    if (l.interacts.empty() || !l.answers) return std::nullopt;
    const uint16_t sequence = l.interacts.front();
    l.interacts.pop_front();
    Result<std::string> answer =
        ok ? Result<std::string>(string_field(m.payload, "prompt"))
           : Result<std::string>(make_error(ErrorCode::model_error,
                                            string_field(m.payload, "message").substr(0, 1024)));
    return std::make_tuple(l.answers, sequence, std::move(answer));
  }

  std::string frame_locked(const json& p) {
    const int lane = int_field(p, "lane");
    const int slot = int_field(p, "slot");
    if (lane < 0 || lane >= static_cast<int>(lanes_state.size())) return "frame: bad lane";
    if (slot < 0 || slot >= static_cast<int>(owned.size())) return "frame: bad slot";
    if (owned[slot]) return "frame: slot " + std::to_string(slot) + " was not released";
    owned[slot] = true;
    Lane& l = lanes_state[lane];
    if (!l.active || !step_lanes.count(lane)) {  // a stream that ended meanwhile: dropped
      release_locked(slot);
      return {};
    }
    const int w = int_field(p, "width"), h = int_field(p, "height");
    if (w != l.format.width || h != l.format.height) {
      return "frame: " + std::to_string(w) + "x" + std::to_string(h) + " on a " +
             std::to_string(l.format.width) + "x" + std::to_string(l.format.height) + " stream";
    }
    l.queued.push_back({slot, static_cast<uint16_t>(int_field(p, "sequence", 0))});
    if (p.value("last", false)) {
      l.in_step = false;
      step_lanes.erase(lane);
      step_done_locked();
    }
    cv.notify_all();
    return {};
  }

  void step_done_locked() {
    if (!step_lanes.empty()) return;
    step_times.push_back(Steady::now() - step_started);
    if (step_times.size() > 8) step_times.pop_front();
  }

  void release_locked(int slot) {
    if (slot < 0 || slot >= static_cast<int>(owned.size()) || !owned[slot]) return;
    owned[slot] = false;
    if (process) (void)process->send(MessageType::release, {{"slot", slot}});
  }

  void drain_output(std::string& partial) {
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(process->output_fd(), buf, sizeof buf);
      if (n <= 0) break;
      partial.append(buf, static_cast<std::size_t>(n));
      for (auto nl = partial.find('\n'); nl != std::string::npos; nl = partial.find('\n')) {
        log()->info("{} output: {}", name, partial.substr(0, std::min<std::size_t>(nl, 4096)));
        partial.erase(0, nl + 1);
      }
      if (partial.size() > 4096) partial.clear();
    }
  }

  // The worker is gone (or must go): kill its group, end its streams, free its places.
  void went_down(const std::string& why) {
    std::string exit;
    std::vector<std::shared_ptr<FaultListener>> listeners;
    {
      std::lock_guard lock(mu);
      if (process) exit = process->kill_group();
      process.reset();
      const bool was_up = state != State::down;
      state = State::down;
      worker_pid = -1;
      ring.reset();
      owned.clear();
      step_lanes.clear();
      step_times.clear();
      for (Lane& l : lanes_state) {
        if (l.starting) {
          l.start_reply = Result<std::string>(make_error(
              ErrorCode::model_crashed, "the model's worker died while starting: " + why));
        }
        // Not while stopping: whoever listened may be gone (the streamer ends streams first).
        if (l.active && l.listener && !stopping) listeners.push_back(l.listener);
        l.active = l.in_step = false;
        l.queued.clear();
        l.shown.reset();
      }
      if (!stopping && was_up) {
        crash_times.push_back(Steady::now());
        ++crashes;
      }
      cv.notify_all();
    }
    if (!is_stopping()) log()->error("{} down ({}): {}", name, exit.empty() ? "-" : exit, why);
    const Error error = make_error(ErrorCode::model_crashed,
                                   "the model's worker stopped (" + why + "); start a new stream");
    for (auto& l : listeners) (*l)(error, true);
    if (on_change) on_change();
  }

  bool is_stopping() {
    std::lock_guard lock(mu);
    return stopping;
  }

  void wake() {
    const uint64_t one = 1;
    (void)!::write(wake_fd, &one, sizeof one);
  }

  WorkerOptions options;
  std::function<void()> on_change;
  std::string name;
  int wake_fd;

  mutable std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  State state = State::down;
  std::optional<WorkerProcess> process;
  int worker_pid = -1;
  std::optional<ModelInfo> model;
  std::shared_ptr<SharedMemory> ring;
  std::size_t slot_bytes = 0;
  std::vector<bool> owned;  // slots the streamer holds (a frame in them not yet released)
  std::vector<Lane> lanes_state;
  std::set<int> step_lanes;  // lanes of the running step that have not sent their last frame
  Steady::time_point step_started, spawned_at, last_message;
  std::deque<std::chrono::nanoseconds> step_times;
  std::deque<Steady::time_point> crash_times;
  int64_t crashes = 0;
  uint64_t next_generation = 0;
  std::thread thread;  // last: started once everything above exists
};

ModelWorker::ModelWorker(WorkerOptions options, std::function<void()> on_change)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(on_change))) {}

ModelWorker::~ModelWorker() = default;

std::optional<ModelInfo> ModelWorker::info() const {
  std::lock_guard lock(impl_->mu);
  return impl_->model;
}

int ModelWorker::ready_places() const {
  std::lock_guard lock(impl_->mu);
  return impl_->state == State::ready ? static_cast<int>(impl_->lanes_state.size()) : 0;
}

int ModelWorker::lanes() const {
  std::lock_guard lock(impl_->mu);
  return impl_->model ? impl_->model->max_sessions : 0;
}

int ModelWorker::recent_crashes() const {
  std::lock_guard lock(impl_->mu);
  const auto since = Steady::now() - kCrashWindow;
  return static_cast<int>(std::count_if(impl_->crash_times.begin(), impl_->crash_times.end(),
                                        [&](auto t) { return t > since; }));
}

int64_t ModelWorker::total_crashes() const {
  std::lock_guard lock(impl_->mu);
  return impl_->crashes;
}

int ModelWorker::pid() const {
  std::lock_guard lock(impl_->mu);
  return impl_->worker_pid;
}

Result<std::pair<std::string, uint64_t>> ModelWorker::start_stream(int lane,
                                                                   const StreamRequest& request) {
  auto& i = *impl_;
  // The start image goes in shared memory of its own (up to 8192x8192 RGB: no packet holds it).
  std::optional<SharedMemory> image;
  if (request.image) {
    auto m = SharedMemory::create("ithaca-start-image", request.image->bytes.size());
    if (!m) return m.error();
    std::memcpy(m->data(), request.image->bytes.data(), request.image->bytes.size());
    image.emplace(std::move(*m));
  }
  std::unique_lock lock(i.mu);
  if (i.state != State::ready || !i.model) {
    return make_error(ErrorCode::model_crashed,
                      "the model's worker is restarting; start again in a moment");
  }
  if (lane < 0 || lane >= static_cast<int>(i.lanes_state.size())) {
    return make_error(ErrorCode::invalid_request, "no such lane");
  }
  Impl::Lane& l = i.lanes_state[lane];
  if (l.active || l.starting) return make_error(ErrorCode::stream_already_active);
  json start = {{"lane", lane},
                {"prompt", request.prompt},
                {"portrait", request.portrait},
                {"sequence", request.sequence},
                {"params", request.params}};
  if (image) start["image"] = {{"width", request.image->width}, {"height", request.image->height}};
  const uint64_t generation = ++i.next_generation;
  l = Impl::Lane{};
  l.generation = generation;
  l.starting = true;
  l.format = i.model->format(request.portrait);
  l.start_sent = Steady::now();
  if (auto s = i.process->send(MessageType::start, start, image ? image->fd() : -1); !s) {
    l.starting = false;
    return make_error(ErrorCode::model_crashed, s.error().detail);
  }
  i.cv.wait(lock, [&] { return l.generation != generation || l.start_reply.has_value(); });
  if (l.generation != generation) return make_error(ErrorCode::model_crashed);
  l.starting = false;
  Result<std::string> reply = std::move(*l.start_reply);
  l.start_reply.reset();
  if (!reply) return reply.error();
  l.active = true;
  if (request.on_fault) l.listener = std::make_shared<FaultListener>(request.on_fault);
  if (request.on_answer) l.answers = std::make_shared<AnswerListener>(request.on_answer);
  lock.unlock();
  i.wake();  // the first step is due now
  return std::make_pair(std::move(*reply), generation);
}

Status ModelWorker::interact(int lane, uint64_t generation, const std::string& prompt,
                             uint16_t sequence) {
  auto& i = *impl_;
  std::lock_guard lock(i.mu);
  if (lane < 0 || lane >= static_cast<int>(i.lanes_state.size()) ||
      i.lanes_state[lane].generation != generation || !i.lanes_state[lane].active ||
      i.state != State::ready) {
    return make_error(ErrorCode::model_crashed, "the stream is no longer running on the model");
  }
  auto s = i.process->send(MessageType::interact,
                           {{"lane", lane}, {"prompt", prompt}, {"sequence", sequence}});
  if (s) i.lanes_state[lane].interacts.push_back(sequence);
  return s;
}

void ModelWorker::end_stream(int lane, uint64_t generation) {
  auto& i = *impl_;
  std::lock_guard lock(i.mu);
  if (lane < 0 || lane >= static_cast<int>(i.lanes_state.size())) return;
  Impl::Lane& l = i.lanes_state[lane];
  if (l.generation != generation) return;
  for (const auto& q : l.queued) i.release_locked(q.slot);
  if (l.shown) i.release_locked(l.shown->slot);
  l = Impl::Lane{};
  i.step_lanes.erase(lane);
  i.step_done_locked();
  if (i.state == State::ready) (void)i.process->send(MessageType::end, {{"lane", lane}});
  i.cv.notify_all();
}

Status ModelWorker::render(int lane, uint64_t generation, media::VideoFrame& out) {
  auto& i = *impl_;
  std::unique_lock lock(i.mu);
  if (lane < 0 || lane >= static_cast<int>(i.lanes_state.size()) ||
      i.lanes_state[lane].generation != generation) {
    fill_black(out, out.width ? media::StreamFormat{out.width, out.height, 30}
                              : media::stream_format(false));
    return ok_status();
  }
  Impl::Lane& l = i.lanes_state[lane];
  if (l.queued.empty() && l.in_step) {
    i.cv.wait_for(lock, kFrameWait,
                  [&] { return l.generation != generation || !l.queued.empty() || !l.in_step; });
    if (l.generation != generation) {
      fill_black(out, media::stream_format(false));
      return ok_status();
    }
  }
  if (!l.queued.empty()) {
    if (l.shown) i.release_locked(l.shown->slot);
    l.shown = l.queued.front();
    l.queued.pop_front();
  }
  l.last_tick = Steady::now();
  const media::StreamFormat format = l.format;
  if (!l.shown || !i.ring) {
    lock.unlock();
    fill_black(out, format);
    return ok_status();
  }
  const Impl::Queued shown = *l.shown;
  auto ring = i.ring;  // kept mapped while we read, even if the worker dies meanwhile
  const std::size_t offset = static_cast<std::size_t>(shown.slot) * i.slot_bytes;
  lock.unlock();
  i.wake();
  out.resize(format.width, format.height);
  // libyuv's RAW is R, G, B in memory order (its RGB24 is B, G, R).
  libyuv::RAWToI420(ring->data() + offset, format.width * 3, out.y(), out.y_stride(), out.u(),
                    out.uv_stride(), out.v(), out.uv_stride(), format.width, format.height);
  out.sequence = shown.sequence;
  media::draw_marker(out, shown.sequence);
  return ok_status();
}

}  // namespace ithaca::model
