// A streamer's link: register, route its signals to clients, and end its sessions when it goes.
#include "ithaca/signaling/hub_core.hpp"

namespace ithaca::signaling::internal {
namespace {

// Close codes of the link (docs/streaming.md section 2).
constexpr int kCloseProtocol = 4400;   // a message out of order or malformed
constexpr int kCloseDuplicate = 4409;  // the streamer_id is connected on another link

}  // namespace

StreamerEndpoint::StreamerEndpoint(std::shared_ptr<Core> core) : core_(std::move(core)) {}

void StreamerEndpoint::on_open(std::shared_ptr<net::WebSocketConnection> connection) {
  std::lock_guard lock(mu_);
  ws_ = std::move(connection);
  remote_ = ws_->remote_address();
  phase_ = Phase::unregistered;
}

bool StreamerEndpoint::registered() const {
  std::lock_guard lock(mu_);
  return phase_ == Phase::registered;
}

void StreamerEndpoint::send(std::string message) {
  std::shared_ptr<net::WebSocketConnection> ws;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    ws = ws_;
  }
  if (ws) ws->send_text(std::move(message));
}

void StreamerEndpoint::close_with(int code, std::string reason) {
  std::shared_ptr<net::WebSocketConnection> ws;
  {
    std::lock_guard lock(mu_);
    ws = ws_;
  }
  log()->info("streamer link closed by the server streamer={} remote={} code={} reason={}",
              id_.empty() ? "-" : id_, remote_, code, reason);
  if (ws) ws->close(code, std::move(reason));
}

void StreamerEndpoint::shutdown() {
  std::shared_ptr<net::WebSocketConnection> ws;
  {
    std::lock_guard lock(mu_);
    ws = ws_;
  }
  if (ws) ws->close(info(ErrorCode::shutting_down).ws_close_code, "shutting_down");
}

void StreamerEndpoint::on_text(std::string text) {
  StreamerMessage m = parse_streamer_message(text);
  Phase phase;
  {
    std::lock_guard lock(mu_);
    phase = phase_;
  }
  if (phase == Phase::opening || phase == Phase::closed || phase == Phase::failed) return;
  if (phase == Phase::unregistered) {
    if (m.kind != StreamerMessageKind::register_) {
      return close_with(kCloseProtocol,
                        "invalid_request: " + (m.kind == StreamerMessageKind::invalid
                                                   ? m.problem
                                                   : std::string("the first message must be "
                                                                 "register")));
    }
    return on_register(std::move(m));
  }
  switch (m.kind) {
    case StreamerMessageKind::register_:
      return close_with(kCloseProtocol, "invalid_request: registered already");
    case StreamerMessageKind::signal:
      return on_signal(m);
    case StreamerMessageKind::session_failed:
      return on_session_failed(m);
    case StreamerMessageKind::broadcast:
      return on_broadcast(m);
    case StreamerMessageKind::capacity:
      return on_capacity(m);
    case StreamerMessageKind::session_end:
      return on_session_end(m);
    case StreamerMessageKind::invalid:
      if (m.type == "capacity" || m.type == "session_end") {
        return close_with(kCloseProtocol, "invalid_request: " + m.problem);
      }
      log()->warn("invalid streamer message streamer={} type={} problem={}", id_,
                  m.type.size() > 64 ? m.type.substr(0, 64) : m.type, m.problem);
      return;
  }
}

void StreamerEndpoint::on_register(StreamerMessage m) {
  const session::StreamerInfo info = std::move(m.registration.info);
  id_ = info.id;  // constant from here on; others read it only after the claim below
  if (!core_->claim_streamer_id(info.id, shared_from_this())) {
    return close_with(kCloseDuplicate, "streamer_id already connected");
  }
  {
    std::lock_guard lock(mu_);
    phase_ = Phase::registering;
  }
  log()->info("streamer registering streamer={} capacity={} version={} remote={}", info.id,
              info.capacity, m.registration.version.empty() ? "-" : m.registration.version,
              remote_);
  // Counting the sessions already placed there (after a restart) reads the store.
  if (!core_->post([self = shared_from_this(), info] { self->finish_register(info); })) {
    core_->release_streamer_id(info.id, this);
    close_with(ithaca::info(ErrorCode::shutting_down).ws_close_code, "shutting_down");
  }
}

void StreamerEndpoint::finish_register(const session::StreamerInfo& info) {
  auto placed = core_->store.sessions_on_streamer(info.id);
  if (placed) core_->registry.upsert(info, static_cast<int>(placed->size()));
  bool was_closed = false;
  {
    std::lock_guard lock(mu_);
    if (closed_) {
      was_closed = true;
      phase_ = Phase::closed;
    } else {
      phase_ = placed ? Phase::registered : Phase::failed;
    }
  }
  if (was_closed) {  // on_close left the clean-up to us
    if (placed) return lost();
    return core_->release_streamer_id(info.id, this);
  }
  if (!placed) {
    log()->error("streamer={} cannot register: {}", info.id, placed.error().to_string());
    return close_with(ithaca::info(ErrorCode::store_unavailable).ws_close_code,
                      "store_unavailable");
  }
  log()->info("streamer registered streamer={} capacity={} sessions_placed={}", info.id,
              info.capacity, placed->size());
  send(registered_message(info.id, core_->options.max_stream_seconds,
                          core_->options.idle_timeout_seconds));
}

void StreamerEndpoint::on_signal(const StreamerMessage& m) {
  auto client = core_->find_client(m.session_id, id_);
  if (!client) {
    log()->debug("signal for a session without a client here session={} streamer={}", m.session_id,
                 id_);
    return;
  }
  core_->metrics.relayed.with("streamer_to_client").inc();
  client->send(m.message);
}

void StreamerEndpoint::on_session_failed(const StreamerMessage& m) {
  auto client = core_->take_client(m.session_id, id_);
  if (!client) return;
  log()->info("streamer failed session={} streamer={} reason={}", m.session_id, id_,
              ithaca::info(m.reason).code);
  if (client->end(make_error(m.reason, m.reason_message))) {
    core_->metrics.closes.with("streamer_failed").inc();
  }
  // Unclean: the client may retry with the same token (a fresh peer, a fresh offer).
  const std::string id = m.session_id;
  core_->post([core = core_, id] {
    if (auto s = core->sessions.on_unclean_drop(id); !s) {
      log()->info("session={} drop not applied: {}", id, s.error().to_string());
    }
  });
}

void StreamerEndpoint::on_capacity(const StreamerMessage& m) {
  log()->info("streamer capacity streamer={} capacity={} degraded={}", id_, m.capacity, m.degraded);
  core_->registry.set_capacity(id_, m.capacity, m.degraded);
}

void StreamerEndpoint::on_session_end(const StreamerMessage& m) {
  // The end listener (on_session_ended) tells the client idle_timeout and frees the place.
  core_->post([core = core_, streamer = id_, id = m.session_id] {
    auto s = core->store.get_session(id);
    if (!s || !*s || (*s)->streamer_id != streamer || !(*s)->live()) {
      log()->debug("session_end for a session not live on streamer={} session={}", streamer, id);
      return;
    }
    log()->info("streamer ended idle session={} streamer={}", id, streamer);
    if (auto ended = core->sessions.end((*s)->account, id, session::EndCause::idle_timeout);
        !ended) {
      log()->info("session={} idle end not applied: {}", id, ended.error().to_string());
    }
  });
}

void StreamerEndpoint::on_broadcast(const StreamerMessage& m) {
  BroadcastLink* link = core_->broadcast.load();
  if (m.type == "broadcast_open" && (!link || !core_->find_client(m.session_id, id_))) {
    // Only the streamer running a connected session may open its broadcast.
    return send(nlohmann::json{{"type", "broadcast_refused"},
                               {"session_id", m.session_id},
                               {"stream_id", m.body.value("stream_id", "")},
                               {"message", link ? "the session has no client here"
                                                : "broadcast is not enabled on this server"}}
                    .dump());
  }
  if (link) link->on_streamer_message(id_, m.body);
}

void StreamerEndpoint::on_close(int code, std::string reason, bool) {
  Phase phase;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    phase = phase_;
    if (phase_ != Phase::registering) phase_ = Phase::closed;
    ws_.reset();
  }
  core_->untrack(this);
  if (phase == Phase::registering) return;  // finish_register() cleans up
  if (phase == Phase::failed) return core_->release_streamer_id(id_, this);
  if (phase != Phase::registered) return;
  log()->info("streamer link closed streamer={} code={} reason={}", id_, code,
              reason.size() > 64 ? reason.substr(0, 64) : reason);
  lost();
}

void StreamerEndpoint::lost() {
  const bool held = core_->registry.remove(id_);
  if (BroadcastLink* link = core_->broadcast.load()) link->on_streamer_lost(id_);
  if (core_->stopping() || !held) {
    // Stopping: a restart finds the sessions and counts them when the streamer registers again.
    // Not held: another node holds the streamer's new link, and the sessions with it.
    return core_->release_streamer_id(id_, this);
  }
  auto self = shared_from_this();
  const bool posted = core_->post([self] {
    // Fires the end listener: each connected client gets streamer_disconnected.
    const int n = self->core_->sessions.end_sessions_on_streamer(self->id_);
    log()->info("streamer lost streamer={} sessions_ended={}", self->id_, n);
    // Only now may the id register again: a new link must not see these sessions end.
    self->core_->release_streamer_id(self->id_, self.get());
  });
  if (!posted) core_->release_streamer_id(id_, this);
}

}  // namespace ithaca::signaling::internal
