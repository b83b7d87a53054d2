#include "ithaca/session/session_service.hpp"

#include <future>

#include "ithaca/base/log.hpp"
#include "ithaca/base/random.hpp"

namespace ithaca::session {
namespace {

const std::vector<SessionState> kLive = {SessionState::provisioned, SessionState::connected,
                                         SessionState::dropped};

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("session");
  return l;
}

}  // namespace

SessionMetrics::SessionMetrics(metrics::Registry& r)
    : mints(r.counter("ithaca_mints_total", "Sessions provisioned.")),
      rejections(r.counter_family("ithaca_mint_rejections_total",
                                  "Mints and session requests refused, by error code.", "reason")),
      ended(r.counter_family("ithaca_sessions_ended_total", "Sessions ended, by cause.", "cause")),
      lifecycle(r.counter_family("ithaca_session_events_total",
                                 "Connection events: connect, resume, drop, refused.", "event")) {}

SessionService::SessionService(Store& store, StreamerRegistry& registry,
                               std::shared_ptr<const auth::TokenKeyRing> keys, const Clock& clock,
                               SessionRules rules, SessionMetrics& metrics)
    : store_(store),
      registry_(registry),
      keys_(std::move(keys)),
      clock_(clock),
      rules_(std::move(rules)),
      metrics_(metrics),
      mint_limiter_(clock, rules_.mint_rate_per_second, rules_.mint_burst) {}

auth::VerifyRules SessionService::player_verify_rules() const {
  return {rules_.audience, auth::Role::player, rules_.token_leeway.count()};
}

void SessionService::reject(const Error& error) {
  metrics_.rejections.with(std::string(error.name())).inc();
}

Status SessionService::check_metadata(const Metadata& metadata) const {
  size_t bytes = 0;
  for (const auto& [k, v] : metadata) bytes += k.size() + v.size();
  if (metadata.size() > rules_.metadata_max_entries || bytes > rules_.metadata_max_bytes) {
    return make_error(ErrorCode::invalid_metadata,
                      "metadata has " + std::to_string(metadata.size()) + " entries and " +
                          std::to_string(bytes) + " bytes; at most " +
                          std::to_string(rules_.metadata_max_entries) + " and " +
                          std::to_string(rules_.metadata_max_bytes));
  }
  return ok_status();
}

Result<SessionRecord> SessionService::prepare(const std::string& account, const Metadata& metadata,
                                              const Capabilities& required,
                                              const std::string& model, bool with_token,
                                              std::string* signaling_url) {
  if (auto s = check_metadata(metadata); !s) {
    reject(s.error());
    return s.error();
  }
  if (const int64_t wait = mint_limiter_.acquire(account); wait > 0) {
    Error e = make_error(ErrorCode::RATE_LIMITED, "mint rate limit of the account",
                         {{"retry_after_seconds", wait}});
    reject(e);
    return e;
  }
  auto placement = registry_.reserve(required, model.empty() ? rules_.default_model : model);
  if (!placement) {
    // An account at its limit hears so at once rather than "no streamer": the Odyssey SDKs poll
    // a 503 for 30 s but fail fast on this 429. Checked only here, so a mint pays nothing for it.
    Error e = placement.error();
    if (auto u = usage(account); u && u->limit > 0 && u->active >= u->limit) {
      e = make_error(ErrorCode::CONCURRENT_LIMIT_REACHED,
                     "account " + account + " holds " + std::to_string(u->active) + " of " +
                         std::to_string(u->limit) + " live sessions",
                     {{"active_count", u->active}, {"limit", u->limit}});
    }
    reject(e);
    return e;
  }
  if (signaling_url) {
    *signaling_url =
        placement->signaling_url.empty() ? rules_.signaling_url : placement->signaling_url;
  }
  const TimePoint now = clock_.now();
  SessionRecord s;
  s.id = time_ordered_id("ses_", now);
  s.account = account;
  s.streamer_id = placement->streamer_id;
  s.model = placement->model;
  s.state = SessionState::provisioned;
  s.created_at = now;
  s.deadline_at = now + rules_.idle_timeout;
  s.capabilities = placement->capabilities;
  s.metadata = metadata;
  if (with_token) {
    s.token_jti = random_token(12);
    s.token_expires_at = now + rules_.token_ttl;
  }
  return s;
}

Status SessionService::settle(const SessionRecord& s, Status inserted) {
  if (!inserted) {
    registry_.release(s.streamer_id);
    reject(inserted.error());
    return inserted;
  }
  metrics_.mints.inc();
  log()->info("session provisioned session={} account={} streamer={}", s.id, s.account,
              s.streamer_id);
  return inserted;
}

std::string SessionService::sign_token(const SessionRecord& s) const {
  auth::TokenClaims claims;
  claims.session_id = s.id;
  claims.account = s.account;
  claims.role = auth::Role::player;
  claims.audience = rules_.audience;
  claims.jti = s.token_jti;
  claims.expires_at = to_unix_seconds(*s.token_expires_at);
  claims.issued_at = claims.expires_at - rules_.token_ttl.count();
  return keys_->sign(claims);
}

void SessionService::mint_async(const std::string& account, const Metadata& metadata,
                                const Capabilities& required, const std::string& model,
                                MintDone done) {
  std::string signaling_url;
  auto prepared = prepare(account, metadata, required, model, /*with_token=*/true, &signaling_url);
  if (!prepared) return done(std::move(prepared).error());
  auto session = std::make_shared<SessionRecord>(std::move(*prepared));
  store_.insert_session_async(*session, [this, session, url = std::move(signaling_url),
                                         done = std::move(done)](Status inserted) {
    if (auto settled = settle(*session, std::move(inserted)); !settled) {
      return done(std::move(settled).error());
    }
    done(ClientCredentials{session->id, url, sign_token(*session), rules_.token_ttl.count(),
                           session->capabilities});
  });
}

Result<ClientCredentials> SessionService::mint(const std::string& account, const Metadata& metadata,
                                               const Capabilities& required,
                                               const std::string& model) {
  std::promise<Result<ClientCredentials>> outcome;
  mint_async(account, metadata, required, model,
             [&outcome](Result<ClientCredentials> r) { outcome.set_value(std::move(r)); });
  return outcome.get_future().get();
}

Result<SessionRecord> SessionService::provision(const std::string& account,
                                                const Metadata& metadata,
                                                const Capabilities& required,
                                                const std::string& model) {
  auto s = prepare(account, metadata, required, model, /*with_token=*/false);
  if (!s) return s;
  if (auto settled = settle(*s, store_.insert_session(*s)); !settled) {
    return std::move(settled).error();
  }
  return s;
}

Result<IssuedToken> SessionService::issue_token(const std::string& account,
                                                const std::string& session_id) {
  if (auto owned = get(account, session_id); !owned) return std::move(owned).error();
  SessionUpdate u;
  u.expected_states = {SessionState::provisioned};
  u.new_state = SessionState::provisioned;
  u.issue_token_jti = random_token(12);
  u.token_expires_at = clock_.now() + rules_.token_ttl;
  auto updated = store_.update_session(session_id, u);
  if (!updated) return std::move(updated).error();
  return IssuedToken{sign_token(*updated), rules_.token_ttl.count()};
}

Result<SessionRecord> SessionService::get(const std::string& account,
                                          const std::string& session_id) {
  auto found = store_.get_session(session_id);
  if (!found) return std::move(found).error();
  if (!*found || (*found)->account != account) {
    return make_error(ErrorCode::session_not_found);
  }
  return **found;
}

Result<std::vector<SessionRecord>> SessionService::list_live(const std::string& account) {
  return store_.list_live_sessions(account);
}

Result<SessionRecord> SessionService::end(const std::string& account, const std::string& session_id,
                                          EndCause cause) {
  if (auto owned = get(account, session_id); !owned) return std::move(owned).error();
  return finish(session_id, kLive, cause);
}

Result<Usage> SessionService::usage(const std::string& account) {
  auto acct = store_.get_account(account);
  if (!acct) return std::move(acct).error();
  auto live = store_.list_live_sessions(account);
  if (!live) return std::move(live).error();
  return Usage{static_cast<int>(live->size()), *acct ? (*acct)->max_concurrent : 0};
}

Result<SessionRecord> SessionService::on_connect(const auth::TokenClaims& claims,
                                                 const std::string& session_id) {
  auto refuse = [&](Error e) -> Result<SessionRecord> {
    metrics_.lifecycle.with("refused").inc();
    log()->info("connect refused session={} reason={}", session_id, e.name());
    return e;
  };
  if (claims.session_id != session_id) return refuse(make_error(ErrorCode::token_wrong_session));
  auto found = store_.get_session(session_id);
  if (!found) return refuse(std::move(found).error());
  if (!*found || (*found)->account != claims.account) {
    return refuse(make_error(ErrorCode::session_not_found));
  }
  const SessionRecord& s = **found;
  if (s.state == SessionState::ended) return refuse(make_error(ErrorCode::session_ended));
  if (s.token_jti.empty() || s.token_jti != claims.jti) {
    return refuse(make_error(ErrorCode::token_revoked));
  }
  SessionUpdate u;
  u.expected_states = {SessionState::provisioned, SessionState::dropped};
  u.new_state = SessionState::connected;
  u.connected_at = clock_.now();
  u.set_deadline = true;  // a connected session lives as long as its connection
  auto updated = store_.update_session(session_id, u);
  if (!updated) return refuse(std::move(updated).error());
  const bool resumed = s.state == SessionState::dropped;
  metrics_.lifecycle.with(resumed ? "resume" : "connect").inc();
  log()->info("session {} session={}", resumed ? "resumed" : "connected", session_id);
  return updated;
}

Status SessionService::on_clean_disconnect(const std::string& session_id) {
  auto ended = finish(session_id, {SessionState::connected}, EndCause::client_disconnect);
  if (!ended) return std::move(ended).error();
  return ok_status();
}

Status SessionService::on_unclean_drop(const std::string& session_id) {
  auto found = store_.get_session(session_id);
  if (!found) return std::move(found).error();
  if (!*found) return make_error(ErrorCode::session_not_found);
  const TimePoint now = clock_.now();
  const auto expires = (*found)->token_expires_at;
  if (!expires || *expires <= now) {
    // Nothing could resume it: end it now rather than at the next sweep.
    auto ended = finish(session_id, {SessionState::connected}, EndCause::token_expired);
    if (!ended) return std::move(ended).error();
    return ok_status();
  }
  SessionUpdate u;
  u.expected_states = {SessionState::connected};
  u.new_state = SessionState::dropped;
  u.set_deadline = true;
  u.deadline = expires;
  auto updated = store_.update_session(session_id, u);
  if (!updated) return std::move(updated).error();
  metrics_.lifecycle.with("drop").inc();
  log()->info("session dropped session={} resumable_for_s={}", session_id,
              std::chrono::duration_cast<seconds>(*expires - now).count());
  return ok_status();
}

Result<SessionRecord> SessionService::finish(const std::string& session_id,
                                             std::vector<SessionState> from, EndCause cause) {
  SessionUpdate u;
  u.expected_states = std::move(from);
  u.new_state = SessionState::ended;
  u.end_cause = cause;
  u.ended_at = clock_.now();
  u.set_deadline = true;
  auto ended = store_.update_session(session_id, u);
  if (!ended) return ended;
  registry_.release(ended->streamer_id);
  metrics_.ended.with(std::string(to_string(cause))).inc();
  log()->info("session ended session={} account={} cause={}", session_id, ended->account,
              to_string(cause));
  std::vector<SessionEndListener*> listeners;
  {
    std::lock_guard lock(listeners_mu_);
    listeners = listeners_;
  }
  for (auto* l : listeners) l->on_session_ended(*ended);
  return ended;
}

int SessionService::end_sessions_on_streamer(const std::string& streamer_id) {
  auto sessions = store_.sessions_on_streamer(streamer_id);
  if (!sessions) {
    log()->error("cannot list sessions of lost streamer={}: {}", streamer_id,
                 sessions.error().to_string());
    return 0;
  }
  int n = 0;
  for (const auto& s : *sessions) {
    if (finish(s.id, kLive, EndCause::streamer_disconnected)) ++n;
  }
  return n;
}

int SessionService::end_sessions_without_streamer(
    const std::function<bool(const std::string&)>& present) {
  auto live = store_.list_live_sessions("");
  if (!live) {
    log()->error("cannot list live sessions: {}", live.error().to_string());
    return 0;
  }
  int n = 0;
  for (const auto& s : *live) {
    if (present(s.streamer_id)) continue;
    if (finish(s.id, kLive, EndCause::streamer_disconnected)) ++n;
  }
  return n;
}

int SessionService::sweep() {
  constexpr int kBatch = 500;  // bounded work per call; the next tick takes the rest
  auto due = store_.sessions_due(clock_.now(), kBatch);
  if (!due) {
    log()->warn("sweep skipped: {}", due.error().to_string());
    return 0;
  }
  int n = 0;
  for (const auto& s : *due) {
    const EndCause cause =
        s.state == SessionState::dropped ? EndCause::token_expired : EndCause::idle_timeout;
    // Expecting the state we read: a client that reconnected meanwhile wins the race.
    if (finish(s.id, {s.state}, cause)) ++n;
  }
  return n;
}

std::string SessionService::signaling_url_for(const std::string& streamer_id) {
  std::string url = registry_.signaling_url_of(streamer_id);
  return url.empty() ? rules_.signaling_url : url;
}

void SessionService::add_end_listener(SessionEndListener* listener) {
  std::lock_guard lock(listeners_mu_);
  listeners_.push_back(listener);
}

}  // namespace ithaca::session
