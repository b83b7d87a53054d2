// A browser's signaling connection: verify, connect, relay, and report how it ended.
#include "ithaca/signaling/hub_core.hpp"

namespace ithaca::signaling::internal {
namespace {

// Messages a client may send before its verification finished (they are relayed once it did).
constexpr size_t kMaxEarlyMessages = 64;
constexpr size_t kMaxEarlyBytes = kMaxMessageBytes;

}  // namespace

ClientEndpoint::ClientEndpoint(std::shared_ptr<Core> core, std::string session_id,
                               std::string token)
    : core_(std::move(core)), session_id_(std::move(session_id)), token_(std::move(token)) {}

void ClientEndpoint::on_open(std::shared_ptr<net::WebSocketConnection> connection) {
  {
    std::lock_guard lock(mu_);
    ws_ = std::move(connection);
    remote_ = ws_->remote_address();
    phase_ = Phase::verifying;
  }
  core_->begin_verifying(session_id_);
  // The token check is cheap, but on_connect writes the store: never on a network thread.
  if (!core_->post([self = shared_from_this()] { self->verify(); })) {
    core_->end_verifying(session_id_);
    refuse(make_error(ErrorCode::shutting_down));
  }
}

void ClientEndpoint::verify() {
  const std::string token = std::exchange(token_, {});
  if (token.empty()) {
    core_->end_verifying(session_id_);
    return refuse(make_error(ErrorCode::token_malformed,
                             "no token: give ?token= or the subprotocol ithaca.token.<token>"));
  }
  auto claims = core_->keys->verify(token, core_->sessions.player_verify_rules(),
                                    to_unix_seconds(core_->clock.now()));
  if (!claims) {
    core_->end_verifying(session_id_);
    return refuse(claims.error());
  }
  // Whether this is a resume, for the streamer: the state before on_connect (which admits
  // only provisioned and dropped). A failed read only loses that hint.
  const auto before = core_->store.get_session(session_id_);
  const bool resumed = before && *before && (**before).state == session::SessionState::dropped;
  auto opened = core_->sessions.on_connect(*claims, session_id_);
  if (!opened) {
    core_->end_verifying(session_id_);
    return refuse(opened.error());
  }
  // The session is `connected` now: every way out below activates it or gives it back.
  const auto activation = core_->activate(shared_from_this(), *opened);
  switch (activation.outcome) {
    case Core::Outcome::active:
      break;
    case Core::Outcome::no_streamer:
      // Not the client's fault: a drop keeps the session resumable with the same token.
      (void)core_->sessions.on_unclean_drop(session_id_);
      return refuse(make_error(ErrorCode::streamer_not_available));
    case Core::Outcome::ended:
      return refuse(make_error(reason_for(activation.cause)));
    case Core::Outcome::gone: {
      bool clean_end;
      {
        std::lock_guard lock(mu_);
        clean_end = closed_clean_;
      }
      (void)(clean_end ? core_->sessions.on_clean_disconnect(session_id_)
                       : core_->sessions.on_unclean_drop(session_id_));
      log()->info("client left during verification session={} clean={}", session_id_, clean_end);
      return;
    }
  }
  if (!send_open(resumed)) return;  // closed or ended meanwhile: nothing reached the streamer
  log()->info("client connected session={} streamer={} resumed={} remote={}", session_id_,
              opened->streamer_id, resumed, remote_);
  flush_early();
}

void ClientEndpoint::refuse(const Error& error) {
  std::shared_ptr<net::WebSocketConnection> ws;
  {
    std::lock_guard lock(mu_);
    if (phase_ == Phase::done) return;
    phase_ = Phase::done;
    early_.clear();
    ws = ws_;
  }
  core_->metrics.refusals.with(std::string(error.name())).inc();
  log()->info("client refused session={} reason={}", session_id_, error.name());
  if (!ws) return;
  ws->send_text(error_message(error));
  ws->close(info(error.code).ws_close_code, std::string(error.name()));
}

bool ClientEndpoint::send_open(bool resumed) {
  // Under mu_, so that a session_close (sent only once open_sent_) can never overtake it.
  std::lock_guard lock(mu_);
  if (phase_ != Phase::activating || !streamer_) return false;
  open_sent_ = true;
  streamer_->send(session_open_message(session_id_, resumed));
  return true;
}

bool ClientEndpoint::activate_locked(std::shared_ptr<StreamerEndpoint> streamer,
                                     std::string account, std::optional<TimePoint> cap_at) {
  std::lock_guard lock(mu_);
  if (closed_ || phase_ != Phase::verifying) return false;
  phase_ = Phase::activating;
  streamer_ = std::move(streamer);
  account_ = std::move(account);
  cap_at_ = cap_at;
  return true;
}

bool ClientEndpoint::cap_due_locked(TimePoint now, std::string& account) {
  std::lock_guard lock(mu_);
  if (cap_fired_ || !cap_at_ || now < *cap_at_) return false;
  cap_fired_ = true;
  account = account_;
  return true;
}

bool ClientEndpoint::runs_on_locked(const std::string& streamer_id) const {
  std::lock_guard lock(mu_);
  return streamer_ && streamer_->id() == streamer_id;
}

void ClientEndpoint::flush_early() {
  // Relays what came before activation, in order; on_text keeps buffering until this is done.
  for (;;) {
    std::vector<std::string> batch;
    {
      std::lock_guard lock(mu_);
      if (phase_ != Phase::activating) return;  // ended meanwhile
      if (early_.empty()) {
        phase_ = Phase::active;
        return;
      }
      batch.swap(early_);
      early_bytes_ = 0;
    }
    for (const auto& m : batch) handle(m);
  }
}

void ClientEndpoint::on_text(std::string message) {
  bool overflow = false;
  {
    std::lock_guard lock(mu_);
    if (phase_ == Phase::done || phase_ == Phase::opening) return;
    if (phase_ == Phase::verifying || phase_ == Phase::activating) {
      if (early_.size() < kMaxEarlyMessages && early_bytes_ + message.size() <= kMaxEarlyBytes) {
        early_bytes_ += message.size();
        early_.push_back(std::move(message));
        return;
      }
      overflow = true;  // too much before the session even opened: refused, not buffered
    }
  }
  if (overflow) {
    core_->metrics.invalid.inc();
    return send(error_message(
        make_error(ErrorCode::invalid_command, "too many messages before the session opened")));
  }
  handle(message);
}

void ClientEndpoint::handle(const std::string& text) {
  const ClientMessage m = classify_client_message(text);
  switch (m.kind) {
    case ClientMessageKind::keepalive:
      return;
    case ClientMessageKind::client_disconnecting: {
      std::lock_guard lock(mu_);
      disconnecting_ = true;
      return;
    }
    case ClientMessageKind::relay: {
      std::shared_ptr<StreamerEndpoint> streamer;
      {
        std::lock_guard lock(mu_);
        if (phase_ == Phase::active || phase_ == Phase::activating) streamer = streamer_;
      }
      if (!streamer) {
        return send(error_message(make_error(ErrorCode::invalid_command,
                                             "the session is not open yet; wait for the offer")));
      }
      core_->metrics.relayed.with("client_to_streamer").inc();
      streamer->send(signal_message(session_id_, text));
      return;
    }
    case ClientMessageKind::invalid:
      core_->metrics.invalid.inc();
      log()->debug("invalid client message session={} type={} problem={}", session_id_,
                   m.type.size() > 64 ? m.type.substr(0, 64) : m.type, m.problem);
      return send(error_message(make_error(ErrorCode::invalid_command, m.problem)));
  }
}

void ClientEndpoint::send(std::string message) {
  std::shared_ptr<net::WebSocketConnection> ws;
  {
    std::lock_guard lock(mu_);
    if (phase_ == Phase::done) return;
    ws = ws_;
  }
  if (ws) ws->send_text(std::move(message));
}

bool ClientEndpoint::end(const Error& reason) {
  std::shared_ptr<net::WebSocketConnection> ws;
  {
    std::lock_guard lock(mu_);
    if (phase_ == Phase::done) return false;
    phase_ = Phase::done;
    early_.clear();
    ws = ws_;
  }
  if (!ws) return true;
  ws->send_text(error_message(reason));
  ws->close(info(reason.code).ws_close_code, std::string(reason.name()));
  return true;
}

void ClientEndpoint::close_on_streamer(std::string_view reason) {
  std::shared_ptr<StreamerEndpoint> streamer;
  {
    std::lock_guard lock(mu_);
    if (open_sent_) streamer = streamer_;
  }
  if (streamer) streamer->send(session_close_message(session_id_, reason));
}

void ClientEndpoint::shutdown() {
  std::shared_ptr<net::WebSocketConnection> ws;
  {
    std::lock_guard lock(mu_);
    if (phase_ == Phase::done || phase_ == Phase::opening) return;
    ws = ws_;  // the phase stays: the on_close that follows reports a drop
  }
  if (!ws) return;
  ws->send_text(error_message(make_error(ErrorCode::shutting_down)));
  ws->close(info(ErrorCode::shutting_down).ws_close_code, "shutting_down");
}

void ClientEndpoint::on_close(int code, std::string reason, bool clean) {
  Phase phase;
  bool clean_end;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    phase = phase_;
    // A client_disconnecting may still wait in the early buffer (a client that left at once).
    for (const auto& m : early_) {
      if (classify_client_message(m).kind == ClientMessageKind::client_disconnecting) {
        disconnecting_ = true;
      }
    }
    clean_end = disconnecting_ && clean && code == net::ws_close::normal;
    closed_clean_ = clean_end;
    if (phase_ == Phase::active || phase_ == Phase::activating) phase_ = Phase::done;
    early_.clear();
    ws_.reset();
  }
  core_->untrack(this);
  // opening: the handshake failed. verifying: verify() sees closed_ and reports the ending.
  // done: refused, or ended by the server, which already said so.
  if (phase != Phase::active && phase != Phase::activating) return;
  core_->remove_client(session_id_, this);
  core_->metrics.closes.with(clean_end ? "client_disconnect" : "drop").inc();
  log()->info("client closed session={} code={} clean={} reason={}", session_id_, code, clean_end,
              reason.size() > 64 ? reason.substr(0, 64) : reason);
  close_on_streamer(clean_end ? "client_disconnect" : "client_dropped");
  auto report = [core = core_, id = session_id_, clean_end] {
    const Status s =
        clean_end ? core->sessions.on_clean_disconnect(id) : core->sessions.on_unclean_drop(id);
    if (!s) log()->info("session={} close not applied: {}", id, s.error().to_string());
  };
  if (!core_->post(report)) {
    log()->info("session={} closed after the hub stopped; left to the next start", session_id_);
  }
}

}  // namespace ithaca::signaling::internal
