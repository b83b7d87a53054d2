#include "ithaca/streamer/streamer.hpp"

#include <algorithm>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <set>

#include "ithaca/base/clock.hpp"
#include "ithaca/base/log.hpp"
#include "ithaca/media/procedural_world.hpp"
#include "ithaca/net/websocket.hpp"
#include "ithaca/streamer/broadcast.hpp"
#include "ithaca/streamer/dtls_certificate.hpp"
#include "ithaca/streamer/image_decoder.hpp"

namespace ithaca::streamer {
namespace {

using nlohmann::json;

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("streamer");
  return l;
}

constexpr unsigned kFirstBackoffMs = 500;
constexpr unsigned kMaxBackoffMs = 10'000;
constexpr const char* kVersion = "0.2.0";

std::string string_field(const json& m, const char* name) {
  const auto it = m.find(name);
  return it != m.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

struct Streamer::Impl : std::enable_shared_from_this<Impl> {
  Impl(StreamerOptions o, std::unique_ptr<DtlsIdentity> id)
      : options(std::move(o)), identity(std::move(id)) {
    // Link messages carry start images (up to 36 MiB as JSON), like the client's socket.
    net::WebSocketOptions ws;
    ws.max_message_bytes = 36 * 1024 * 1024;
    dialer = std::make_unique<net::WebSocketDialer>(ws);
  }

  // The link's callbacks: posted to the loop, for the link they belong to only.
  class LinkHandler : public net::WebSocketHandler {
   public:
    LinkHandler(std::weak_ptr<Impl> impl, uint64_t generation, MainLoopThread& loop)
        : impl_(std::move(impl)), generation_(generation), loop_(loop) {}
    void on_open(std::shared_ptr<net::WebSocketConnection> c) override {
      post([c = std::move(c)](Impl& i) { i.link_open(c); });
    }
    void on_text(std::string text) override {
      post([t = std::move(text)](Impl& i) { i.link_message(t); });
    }
    void on_close(int code, std::string reason, bool) override {
      post([code, r = std::move(reason)](Impl& i) { i.link_closed(code, r); });
    }

   private:
    template <class F>
    void post(F&& f) {
      loop_.invoke([weak = impl_, g = generation_, f = std::forward<F>(f)]() mutable {
        auto self = weak.lock();
        if (self && self->generation == g && !self->stopping) f(*self);
      });
    }
    std::weak_ptr<Impl> impl_;
    uint64_t generation_;
    MainLoopThread& loop_;
  };

  // ---- on the loop thread ----

  void dial() {
    if (stopping) return;
    ++generation;
    std::string url = options.server_url;
    while (!url.empty() && url.back() == '/') url.pop_back();
    dialer->dial(url + "/signaling/streamer", {{"Authorization", "Bearer " + options.secret}},
                 std::make_shared<LinkHandler>(weak_from_this(), generation, loop));
  }

  void link_open(std::shared_ptr<net::WebSocketConnection> c) {
    link = std::move(c);
    register_when_known();
  }

  // The register message needs the model's hello; a model streamer waits for its first one.
  void register_when_known() {
    if (!link || register_sent) return;
    json model_json = {{"name", "procedural"}, {"version", kVersion}};
    bool image_to_video = true;
    if (models) {
      const auto info = models->info();
      if (!info) return;  // models_changed() calls again
      model_json = info->to_register_json();
      image_to_video = info->image_to_video;
    }
    register_sent = true;
    sent_places = places_now();
    sent_degraded = models && models->degraded();
    link->send_text(json{
        {"type", "register"},
        {"streamer_id", options.streamer_id},
        {"capacity", sent_places},
        {"capabilities", {{"image_to_video", image_to_video}}},
        {"model", model_json},
        {"version",
         kVersion}}.dump());
  }

  int places_now() const { return models ? models->ready_places() : options.capacity; }

  // A worker became ready, died or said hello: register, or tell the server the new places.
  void models_changed() {
    if (!link) return;
    if (!register_sent) return register_when_known();
    if (!registered_flag) return;  // `registered` syncs it: the server may still be registering
    const int places = places_now();
    const bool degraded = models->degraded();
    if (places == sent_places && degraded == sent_degraded) return;
    sent_places = places;
    sent_degraded = degraded;
    send({{"type", "capacity"}, {"capacity", places}, {"degraded", degraded}});
    log()->info("places={} degraded={}", places, degraded);
    prepare_spare();
  }

  void link_message(const std::string& text) {
    const json m = json::parse(text, nullptr, false);
    if (!m.is_object()) return log()->warn("ignoring a link message that is not a JSON object");
    const std::string type = string_field(m, "type");
    const std::string session = string_field(m, "session_id");
    if (type == "registered") {
      if (const auto cap = m.find("max_stream_seconds"); cap != m.end() && cap->is_number()) {
        max_stream = seconds(std::max<int64_t>(0, cap->get<int64_t>()));
      }
      if (const auto idle = m.find("idle_timeout_seconds"); idle != m.end() && idle->is_number()) {
        idle_timeout = seconds(std::max<int64_t>(0, idle->get<int64_t>()));
      }
      backoff_ms = kFirstBackoffMs;
      set_registered(true);
      if (models) models_changed();  // places that changed while the server was registering
      spare.reset();                 // made with the old stream cap, if any
      prepare_spare();
      log()->info("registered streamer={} server={} capacity={} max_stream_s={}",
                  options.streamer_id, options.server_url, options.capacity, max_stream.count());
    } else if (type == "session_open") {
      open_session(session);
    } else if (type == "signal") {
      const auto peer = peers.find(session);
      const auto message = m.find("message");
      if (peer != peers.end() && message != m.end() && message->is_object()) {
        peer->second->handle_client_message(*message);
      }
    } else if (type == "broadcast_opened" || type == "broadcast_refused" ||
               type == "viewer_offer" || type == "viewer_close") {
      if (const auto peer = peers.find(session); peer != peers.end()) {
        peer->second->handle_server_message(m);
      } else if (type == "viewer_offer") {
        send(viewer_failed_message(
            session, string_field(m, "stream_id"), string_field(m, "viewer_id"),
            make_error(ErrorCode::stream_not_found, "the session is not running here")));
      }
    } else if (type == "session_close") {
      if (peers.erase(session)) {
        log()->info("peer closed session={} reason={}", session, string_field(m, "reason"));
        prepare_spare();  // a place is free again
      }
    } else {
      log()->warn("ignoring link message type={}", type.substr(0, 64));
    }
  }

  void open_session(const std::string& session) {
    if (session.empty()) return;
    peers.erase(session);  // a resume: the old media connection is dead
    if (static_cast<int>(peers.size()) >= capacity_limit()) {
      return session_failed(session, make_error(ErrorCode::streamer_failed, "at capacity"));
    }
    std::shared_ptr<model::LaneLease> lease;
    if (models && !(lease = models->acquire())) {
      return session_failed(session, make_error(ErrorCode::streamer_failed, "no model place free"));
    }
    PeerCallbacks callbacks;
    std::weak_ptr<Impl> weak = weak_from_this();
    callbacks.to_client = [weak, session](const json& message) {
      if (auto self = weak.lock()) {
        self->send({{"type", "signal"}, {"session_id", session}, {"message", message}});
      }
    };
    callbacks.to_server = [weak](const json& message) {
      if (auto self = weak.lock()) self->send(message);
    };
    callbacks.failed = [weak, session](const Error& error) {
      auto self = weak.lock();
      if (!self) return;
      self->session_failed(session, error);
      // Not from inside the peer's own call: drop it on the next turn of the loop.
      self->loop.invoke([weak, session] {
        if (auto s = weak.lock()) {
          s->peers.erase(session);
          s->prepare_spare();  // a place is free again
        }
      });
    };
    const bool prepared = spare && spare->usable();
    auto lane = prepared ? spare_lane : std::make_shared<LaneSlot>();
    lane->lease = std::move(lease);
    Result<std::unique_ptr<WebRtcPeer>> peer =
        prepared ? Result<std::unique_ptr<WebRtcPeer>>(std::move(spare))
                 : WebRtcPeer::create(session, peer_options(), new_controller(lane),
                                      std::move(callbacks), loop);
    spare.reset();
    spare_lane.reset();
    if (!peer) return session_failed(session, peer.error());
    if (prepared) (*peer)->start(session, std::move(callbacks));
    peers.emplace(session, std::move(*peer));
    log()->info("peer opened session={} peers={} prepared={}", session, peers.size(), prepared);
    // The next connect's peer, made after this one's offer is on its way.
    loop.invoke([weak] {
      if (auto self = weak.lock()) self->prepare_spare();
    });
  }

  // The model lane a session's streams run on; filled when the session opens (a prepared
  // peer's controller exists before its session does).
  struct LaneSlot {
    std::shared_ptr<model::LaneLease> lease;
  };

  std::unique_ptr<StreamController> new_controller(const std::shared_ptr<LaneSlot>& lane) {
    StreamLimits limits;
    limits.max_stream = max_stream;
    if (!models) {
      return std::make_unique<StreamController>(options.source_factory, decode_image_data_url,
                                                limits, SystemClock::instance());
    }
    limits.image_to_video = models->info() ? models->info()->image_to_video : false;
    std::shared_ptr<model::ModelPool> pool = models;
    SourceFactory streams = [pool, lane]() -> std::unique_ptr<media::FrameSource> {
      return pool->new_source(lane->lease);
    };
    SourceFactory idle = [pool] { return pool->new_idle_source(); };
    return std::make_unique<StreamController>(std::move(streams), decode_image_data_url, limits,
                                              SystemClock::instance(), std::move(idle));
  }

  int capacity_limit() const { return models ? 1024 : options.capacity; }

  PeerOptions peer_options() {
    PeerOptions o = options.peer;
    o.dtls_certificate = identity->for_new_peer();
    return o;
  }

  // One peer made ahead for the next client while a place is free (WebRtcPeer::prepare): it
  // costs its pipeline's memory and one encoded frame, no CPU while it waits.
  void prepare_spare() {
    if (stopping || !link || spare || static_cast<int>(peers.size()) >= capacity_limit()) return;
    if (models && (!models->info() || places_now() <= static_cast<int>(peers.size()))) return;
    auto lane = std::make_shared<LaneSlot>();
    auto peer = WebRtcPeer::prepare(peer_options(), new_controller(lane), loop);
    if (peer) {
      spare = std::move(*peer);
      spare_lane = std::move(lane);
    } else {
      log()->warn("could not prepare a peer: {}", peer.error().to_string());
    }
  }

  void session_failed(const std::string& session, const Error& error) {
    send({{"type", "session_failed"},
          {"session_id", session},
          {"reason", std::string(error.name())},
          {"message", error.detail}});
  }

  void link_closed(int code, const std::string& reason) {
    const bool was_registered = registered_flag;
    link.reset();
    register_sent = false;
    set_registered(false);
    if (!peers.empty()) {
      log()->warn("lost the server: closing {} peers", peers.size());
      peers.clear();
    }
    spare.reset();
    if (stopping) return;
    if (was_registered || backoff_ms == kFirstBackoffMs) {
      log()->warn("link closed code={} reason={}; reconnecting in {} ms", code, reason, backoff_ms);
    }
    loop.after(backoff_ms, [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->dial();
    });
    backoff_ms = std::min(backoff_ms * 2, kMaxBackoffMs);
  }

  void send(const json& message) {
    if (link) link->send_text(message.dump());
  }

  void tick() {
    for (auto& [id, peer] : peers) peer->tick();
    end_idle_connections();
  }

  // A place is a GPU's worth of work: a client that runs no stream gives it back after
  // idle_timeout (the server ends the session with idle_timeout).
  void end_idle_connections() {
    if (idle_timeout.count() <= 0) return;
    const TimePoint now = SystemClock::instance().now();
    for (auto& [id, peer] : peers) {
      const auto since = peer->idle_since();
      if (since && now - *since >= idle_timeout && idle_reported.insert(id).second) {
        log()->info("session idle for {} s: ending session={}", idle_timeout.count(), id);
        send({{"type", "session_end"}, {"session_id", id}, {"reason", "idle_timeout"}});
      }
    }
    std::erase_if(idle_reported, [this](const std::string& id) { return !peers.count(id); });
  }

  void set_registered(bool value) {
    {
      std::lock_guard lock(state_mu);
      registered_flag = value;
      peer_count_value = static_cast<int>(peers.size());
    }
    state_cv.notify_all();
  }

  // Runs `fn` on the loop and waits for it.
  void run_sync(std::function<void()> fn) {
    std::promise<void> done;
    loop.invoke([&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }

  // Declared first, destroyed last: tasks still queued find the Impl gone and do nothing.
  MainLoopThread loop;
  StreamerOptions options;
  std::unique_ptr<DtlsIdentity> identity;
  std::unique_ptr<net::WebSocketDialer> dialer;
  std::shared_ptr<net::WebSocketConnection> link;
  std::map<std::string, std::unique_ptr<WebRtcPeer>> peers;
  std::unique_ptr<WebRtcPeer> spare;  // prepared for the next client (prepare_spare)
  std::shared_ptr<LaneSlot> spare_lane;
  std::shared_ptr<model::ModelPool> models;  // when it serves a model through workers
  bool register_sent = false;
  int sent_places = -1;
  bool sent_degraded = false;
  seconds idle_timeout{0};
  std::set<std::string> idle_reported;
  uint64_t generation = 0;
  unsigned backoff_ms = kFirstBackoffMs;
  seconds max_stream{0};
  bool stopping = false;

  mutable std::mutex state_mu;
  mutable std::condition_variable state_cv;
  bool registered_flag = false;
  int peer_count_value = 0;
};

Result<std::unique_ptr<Streamer>> Streamer::create(StreamerOptions options) {
  if (options.server_url.empty()) {
    return make_error(ErrorCode::config_invalid, "the streamer needs --server");
  }
  if (auto url = net::parse_websocket_url(options.server_url); !url) return url.error();
  if (options.streamer_id.empty()) {
    return make_error(ErrorCode::config_invalid, "the streamer needs an id");
  }
  if (options.capacity < 1 || options.capacity > 1024) {
    return make_error(ErrorCode::config_invalid, "capacity must be 1..1024");
  }
  if (auto s = check_elements(options.peer.encoder.name); !s) return s.error();
  if (auto e = encoder_pipeline(options.peer.encoder); !e) return e.error();
  if (!options.source_factory) {
    options.source_factory = [] { return std::make_unique<media::ProceduralWorld>(); };
  }
  auto identity = DtlsIdentity::create(options.dtls_certificate_lifetime, SystemClock::instance());
  if (!identity) return std::move(identity).error();
  warm_up(options.peer.encoder.name, (*identity)->for_new_peer()->pem);
  return std::unique_ptr<Streamer>(
      new Streamer(std::make_shared<Impl>(std::move(options), std::move(*identity))));
}

Streamer::Streamer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Streamer::~Streamer() {
  auto& i = *impl_;
  i.run_sync([&i] {
    i.stopping = true;
    i.peers.clear();
    i.spare.reset();
    if (i.link) i.link->close(net::ws_close::going_away, "streamer stopping");
  });
  i.dialer.reset();  // joins the network thread (after the close frame went out)
}

void Streamer::start() {
  if (impl_->options.model && !impl_->models) {
    std::weak_ptr<Impl> weak = impl_;
    MainLoopThread& loop = impl_->loop;
    impl_->models = std::make_shared<model::ModelPool>(*impl_->options.model, [weak, &loop] {
      loop.invoke([weak] {
        if (auto self = weak.lock()) self->models_changed();
      });
    });
  }
  impl_->loop.invoke([weak = std::weak_ptr<Impl>(impl_)] {
    if (auto self = weak.lock()) self->dial();
  });
  impl_->loop.every(1000, [weak = std::weak_ptr<Impl>(impl_)] {
    if (auto self = weak.lock()) self->tick();
  });
}

int Streamer::peer_count() const {
  int n = 0;
  impl_->run_sync([&] { n = static_cast<int>(impl_->peers.size()); });
  return n;
}

bool Streamer::peer_prepared() const {
  bool prepared = false;
  impl_->run_sync([&] { prepared = impl_->spare != nullptr; });
  return prepared;
}

int Streamer::places() const {
  int n = 0;
  impl_->run_sync([&] { n = impl_->places_now(); });
  return n;
}

const model::ModelPool* Streamer::models() const {
  return impl_->models.get();
}

bool Streamer::registered() const {
  std::lock_guard lock(impl_->state_mu);
  return impl_->registered_flag;
}

bool Streamer::wait_registered(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->state_mu);
  return impl_->state_cv.wait_for(lock, timeout, [&] { return impl_->registered_flag; });
}

}  // namespace ithaca::streamer
