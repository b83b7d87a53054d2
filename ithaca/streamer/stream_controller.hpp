// StreamController: the stream state of one client connection. It turns commands into calls on
// a FrameSource and answers with the events of docs/streaming.md section 3:
//
//   idle ──interactive_stream_start──▶ streaming ──interactive_stream_end / cap──▶ idle ...
//
// Each stream gets a fresh FrameSource from the factory and a new stream_id, so several streams
// run one after another on one connection. While idle, frames come from an idle source (the
// default world) so the client has video from the moment it connects.
//
// Frame markers count prompts per connection, not per source: idle frames carry 0, and each
// start or update shows the next number (stream_started and update_acknowledged report it as
// `sequence`), so a client sees the picture change on every command, across streams.
//
// No GStreamer here: the WebRTC peer feeds it command text and asks it for frames, which keeps
// the protocol testable on its own. Threads: handle_text()/tick()/close() on one thread (the
// streamer's), render() on the peer's frame thread; a mutex keeps them apart, held while a
// frame renders (about 2 ms) so a command never waits longer than one frame.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ithaca/base/clock.hpp"
#include "ithaca/media/frame_source.hpp"
#include "ithaca/streamer/stream_commands.hpp"

namespace ithaca::streamer {

using SourceFactory = std::function<std::unique_ptr<media::FrameSource>()>;
// Decodes a start image data URL; invalid_image when it cannot.
using ImageDecoder = std::function<Result<media::RgbImage>(std::string_view data_url)>;

struct StreamLimits {
  seconds max_stream{0};       // 0: no cap; a longer stream ends with session_timeout
  bool image_to_video = true;  // whether a start image is accepted
};

// Runs `job` later on the thread that owns the controller and sends the events it returns: how
// a source's late news (a model that crashed mid-stream) becomes events.
using EventPoster = std::function<void(std::function<std::vector<nlohmann::json>()> job)>;

class StreamController {
 public:
  // idle_factory: the source of frames between streams; `factory`'s when empty.
  StreamController(SourceFactory factory, ImageDecoder decoder, StreamLimits limits,
                   const Clock& clock, SourceFactory idle_factory = {});
  ~StreamController();

  // Parses and applies one command; returns the events to send (in order).
  std::vector<nlohmann::json> handle_text(std::string_view text);
  std::vector<nlohmann::json> handle(const Command& command);
  // Ends a stream that outlived limits.max_stream (interactive_stream_error session_timeout).
  std::vector<nlohmann::json> tick();
  // Ends any running stream without events (the connection is going away).
  void close();
  // Where sources' late faults go (see EventPoster); without one they are only logged.
  void set_event_poster(EventPoster poster);
  // Since when no stream has run (construction or the last end); nullopt while streaming.
  std::optional<TimePoint> idle_since() const;

  // Renders frame `index` of the connection (streaming or idle) into `out`.
  Status render(media::VideoFrame& out, int64_t index);
  // The size and rate frames have now.
  media::StreamFormat format() const;
  bool streaming() const;
  // The running stream's id; empty while idle.
  std::string stream_id() const;
  // The prompt sequence number frames show now: 0 while idle.
  uint16_t sequence() const;

 private:
  std::vector<nlohmann::json> start(const StartCommand& c, const std::optional<std::string>& id);
  std::vector<nlohmann::json> update(const UpdateCommand& c, const std::optional<std::string>& id);
  std::vector<nlohmann::json> end(const std::optional<std::string>& id);
  // The source frames come from: the stream's, else the idle one.
  media::FrameSource& current_locked();
  // The connection-wide number of a stream source's sequence number.
  uint16_t mapped_locked(uint16_t source_sequence) const;
  // A source's fault, on the owning thread: ends the stream it names when stream_over.
  std::vector<nlohmann::json> fault(uint64_t generation, const Error& error, bool stream_over);
  // A source's late answer to an update (FrameSource::answers_later), on the owning thread.
  std::vector<nlohmann::json> answer(uint64_t generation, uint16_t sequence,
                                     const Result<std::string>& answer);
  void stream_gone_locked();

  SourceFactory factory_;
  ImageDecoder decoder_;
  StreamLimits limits_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::unique_ptr<media::FrameSource> idle_;
  std::unique_ptr<media::FrameSource> stream_;
  std::string stream_id_;
  TimePoint stream_started_at_;
  uint64_t generation_ = 0;  // counts streams, so a late fault finds the one it is about
  // Updates a source answers later: its sequence -> the request_id and connection sequence.
  std::map<uint16_t, std::pair<std::optional<std::string>, uint16_t>> unanswered_;
  TimePoint idle_since_;
  EventPoster poster_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // fault callbacks hold it weakly
  uint16_t issued_ = 0;  // the highest connection-wide sequence handed out
  uint16_t offset_ = 0;  // added to the running stream's own sequence numbers
};

}  // namespace ithaca::streamer
