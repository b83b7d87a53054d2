#include "ithaca/streamer/stream_controller.hpp"

#include "ithaca/base/log.hpp"
#include "ithaca/base/random.hpp"
#include "ithaca/media/frame_marker.hpp"

namespace ithaca::streamer {
namespace {

using nlohmann::json;

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("stream");
  return l;
}

}  // namespace

StreamController::StreamController(SourceFactory factory, ImageDecoder decoder, StreamLimits limits,
                                   const Clock& clock, SourceFactory idle_factory)
    : factory_(std::move(factory)),
      decoder_(std::move(decoder)),
      limits_(limits),
      clock_(clock),
      idle_since_(clock.now()) {
  idle_ = idle_factory ? idle_factory() : factory_();
  // The default world with no prompt: what a client sees before its first stream.
  (void)idle_->start(media::StreamStart{});
}

StreamController::~StreamController() {
  close();
}

std::vector<json> StreamController::handle_text(std::string_view text) {
  auto command = parse_command_text(text);
  if (!command) return {stream_error_event(command.error(), request_id_of(text))};
  return handle(*command);
}

std::vector<json> StreamController::handle(const Command& command) {
  return std::visit(
      [&](const auto& body) -> std::vector<json> {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, StartCommand>) {
          return start(body, command.request_id);
        } else if constexpr (std::is_same_v<T, UpdateCommand>) {
          return update(body, command.request_id);
        } else {
          return end(command.request_id);
        }
      },
      command.body);
}

std::vector<json> StreamController::start(const StartCommand& c,
                                          const std::optional<std::string>& id) {
  {
    std::lock_guard lock(mu_);
    if (stream_) return {stream_error_event(make_error(ErrorCode::stream_already_active), id)};
  }
  media::StreamStart request;
  request.prompt = c.prompt;
  request.portrait = c.portrait;
  request.params = c.params;
  uint64_t generation;
  {
    std::lock_guard lock(mu_);
    generation = ++generation_;
  }
  request.on_fault = [poster = poster_, alive = std::weak_ptr<int>(alive_), this, generation](
                         const Error& error, bool stream_over) {
    if (!poster) {
      log()->warn("stream fault with nowhere to go: {}", error.to_string());
      return;
    }
    poster([alive, this, generation, error, stream_over]() -> std::vector<json> {
      if (alive.expired()) return {};
      return fault(generation, error, stream_over);
    });
  };
  request.on_answer = [poster = poster_, alive = std::weak_ptr<int>(alive_), this, generation](
                          uint16_t sequence, const Result<std::string>& result) {
    if (!poster) return;
    poster([alive, this, generation, sequence, result]() -> std::vector<json> {
      if (alive.expired()) return {};
      return answer(generation, sequence, result);
    });
  };
  if (c.image_data_url) {
    if (!limits_.image_to_video) {
      return {stream_error_event(
          make_error(ErrorCode::capability_missing, "this streamer does not take start images"),
          id)};
    }
    // Decoded outside the lock: a large image takes a while and frames keep flowing meanwhile.
    auto image = decoder_(*c.image_data_url);
    if (!image) return {stream_error_event(image.error(), id)};
    request.start_image = std::move(*image);
  }
  auto source = factory_();
  auto applied = source->start(request);
  if (!applied) {
    Error e = applied.error();
    if (e.code == ErrorCode::invalid_request) e.code = ErrorCode::invalid_command;
    return {stream_error_event(e, id)};
  }
  std::lock_guard lock(mu_);
  if (stream_) return {stream_error_event(make_error(ErrorCode::stream_already_active), id)};
  if (generation != generation_) {  // the source failed while it started: it is over
    source->end();
    return {stream_error_event(make_error(ErrorCode::model_crashed), id)};
  }
  stream_ = std::move(source);
  stream_id_ = time_ordered_id("st", clock_.now());
  stream_started_at_ = clock_.now();
  offset_ = static_cast<uint16_t>(issued_ + 1 - applied->sequence);
  issued_ = mapped_locked(applied->sequence);
  log()->info("stream started stream={} portrait={} image={}", stream_id_, c.portrait,
              request.start_image.has_value());
  auto event = stream_started_event(stream_id_, applied->text, id);
  event["sequence"] = issued_;
  return {event};
}

std::vector<json> StreamController::update(const UpdateCommand& c,
                                           const std::optional<std::string>& id) {
  std::lock_guard lock(mu_);
  if (!stream_) return {stream_error_event(make_error(ErrorCode::stream_not_active), id)};
  auto applied = stream_->interact(c.prompt);
  if (!applied) {
    Error e = applied.error();
    if (e.code == ErrorCode::invalid_request) e.code = ErrorCode::invalid_command;
    return {stream_error_event(e, id)};
  }
  issued_ = mapped_locked(applied->sequence);
  if (stream_->answers_later()) {  // the answer is the source's (answer())
    unanswered_[applied->sequence] = {id, issued_};
    return {};
  }
  auto event = update_acknowledged_event(applied->text, id);
  event["sequence"] = issued_;
  return {event};
}

std::vector<json> StreamController::end(const std::optional<std::string>& id) {
  std::lock_guard lock(mu_);
  if (!stream_) return {stream_error_event(make_error(ErrorCode::stream_not_active), id)};
  log()->info("stream ended stream={}", stream_id_);
  const std::string ended = stream_id_;
  stream_gone_locked();
  return {stream_ended_event(ended, id)};
}

std::vector<json> StreamController::tick() {
  std::lock_guard lock(mu_);
  if (!stream_ || limits_.max_stream.count() <= 0) return {};
  if (clock_.now() - stream_started_at_ < limits_.max_stream) return {};
  log()->info("stream capped stream={} max_s={}", stream_id_, limits_.max_stream.count());
  stream_gone_locked();
  return {stream_error_event(
      make_error(ErrorCode::session_timeout, "the stream reached the " +
                                                 std::to_string(limits_.max_stream.count()) +
                                                 " s limit; start another"),
      std::nullopt)};
}

void StreamController::close() {
  std::lock_guard lock(mu_);
  if (stream_) stream_gone_locked();
}

void StreamController::stream_gone_locked() {
  unanswered_.clear();
  stream_->end();
  stream_.reset();
  stream_id_.clear();
  ++generation_;
  idle_since_ = clock_.now();
}

std::vector<json> StreamController::fault(uint64_t generation, const Error& error,
                                          bool stream_over) {
  std::lock_guard lock(mu_);
  if (generation != generation_) return {};  // about a stream that is already over
  if (!stream_) {                            // still starting: start() sees the generation moved on
    if (stream_over) ++generation_;
    return {};
  }
  if (stream_over) {
    log()->warn("stream failed stream={}: {}", stream_id_, error.to_string());
    stream_gone_locked();
  }
  return {stream_error_event(error, std::nullopt)};
}

std::vector<json> StreamController::answer(uint64_t generation, uint16_t sequence,
                                           const Result<std::string>& result) {
  std::lock_guard lock(mu_);
  if (generation != generation_ || !stream_) return {};
  const auto it = unanswered_.find(sequence);
  if (it == unanswered_.end()) return {};
  const auto [id, shown] = it->second;
  unanswered_.erase(it);
  if (!result) return {stream_error_event(result.error(), id)};
  auto event = update_acknowledged_event(*result, id);
  event["sequence"] = shown;
  return {event};
}

void StreamController::set_event_poster(EventPoster poster) {
  std::lock_guard lock(mu_);
  poster_ = std::move(poster);
}

std::optional<TimePoint> StreamController::idle_since() const {
  std::lock_guard lock(mu_);
  if (stream_) return std::nullopt;
  return idle_since_;
}

media::FrameSource& StreamController::current_locked() {
  return stream_ ? *stream_ : *idle_;
}

uint16_t StreamController::mapped_locked(uint16_t source_sequence) const {
  return static_cast<uint16_t>(source_sequence + offset_);
}

Status StreamController::render(media::VideoFrame& out, int64_t index) {
  std::lock_guard lock(mu_);
  auto s = current_locked().render(out, index);
  if (!s) return s;
  const uint16_t shown = stream_ ? mapped_locked(out.sequence) : 0;
  if (shown != out.sequence) {
    out.sequence = shown;
    media::draw_marker(out, shown);
  }
  return s;
}

media::StreamFormat StreamController::format() const {
  std::lock_guard lock(mu_);
  return stream_ ? stream_->format() : idle_->format();
}

std::string StreamController::stream_id() const {
  std::lock_guard lock(mu_);
  return stream_id_;
}

bool StreamController::streaming() const {
  std::lock_guard lock(mu_);
  return stream_ != nullptr;
}

uint16_t StreamController::sequence() const {
  std::lock_guard lock(mu_);
  return stream_ ? mapped_locked(stream_->applied_prompt().sequence) : 0;
}

}  // namespace ithaca::streamer
