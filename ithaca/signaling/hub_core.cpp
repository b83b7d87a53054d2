#include "ithaca/signaling/hub_core.hpp"

#include "ithaca/signaling/ice_config.hpp"

namespace ithaca::signaling::internal {

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("signaling");
  return l;
}

ErrorCode reason_for(session::EndCause cause) {
  switch (cause) {
    case session::EndCause::streamer_disconnected:
      return ErrorCode::streamer_disconnected;
    case session::EndCause::duration_limit:
      return ErrorCode::duration_limit_reached;
    case session::EndCause::idle_timeout:
      return ErrorCode::idle_timeout;
    default:
      return ErrorCode::session_ended;
  }
}

HubMetrics::HubMetrics(metrics::Registry& r)
    : refusals(r.counter_family("ithaca_signaling_refusals_total",
                                "Client connections refused after the upgrade, by reason.",
                                "reason")),
      relayed(r.counter_family("ithaca_signaling_messages_relayed_total",
                               "Signaling messages relayed, by direction.", "direction")),
      closes(r.counter_family("ithaca_signaling_client_closes_total",
                              "Connected clients that went away, by how.", "how")),
      invalid(r.counter("ithaca_signaling_invalid_messages_total",
                        "Client messages answered with invalid_command.")) {}

Core::Core(SignalingOptions o, SignalingDeps deps)
    : options(std::move(o)),
      cors(options.cors_origins, options.dev),
      ice_config(
          ice_config_json(options.ice_servers, options.turn_username, options.turn_credential)
              .dump()),
      sessions(deps.sessions),
      registry(deps.registry),
      store(deps.store),
      keys(std::move(deps.keys)),
      clock(deps.clock),
      metrics(deps.metrics),
      pool_(std::make_unique<ThreadPool>(std::max(1, options.worker_threads))) {}

Core::~Core() {
  stop();
}

void Core::start() {
  if (options.max_connection.count() > 0) timer_ = std::thread([this] { run_timer(); });
}

bool Core::stopping() const {
  std::lock_guard lock(mu_);
  return stopping_;
}

bool Core::post(std::function<void()> task) {
  std::lock_guard lock(mu_);
  if (stopped_) return false;
  pool_->post(std::move(task));  // only queues
  return true;
}

void Core::stop() {
  std::vector<std::shared_ptr<ClientEndpoint>> clients;
  std::vector<std::shared_ptr<StreamerEndpoint>> streamers;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    clients.assign(open_clients_.begin(), open_clients_.end());
    streamers.assign(open_streamers_.begin(), open_streamers_.end());
  }
  cv_.notify_all();  // the timer
  if (timer_.joinable()) timer_.join();
  for (auto& c : clients) c->shutdown();
  for (auto& s : streamers) s->shutdown();
  clients.clear();
  streamers.clear();
  {
    std::unique_lock lock(mu_);
    const bool all = cv_.wait_for(lock, options.shutdown_grace, [this] {
      return open_clients_.empty() && open_streamers_.empty();
    });
    if (!all) {
      log()->info("stopping with {} client(s) and {} streamer link(s) still closing",
                  open_clients_.size(), open_streamers_.size());
    }
    stopped_ = true;
  }
  pool_.reset();  // runs what was queued (drops of the clients closed above), then joins
  std::lock_guard lock(mu_);
  // Breaks the Core <-> endpoint references; connections that report later find nothing.
  clients_.clear();
  streamers_.clear();
  verifying_.clear();
  ended_while_verifying_.clear();
  open_clients_.clear();
  open_streamers_.clear();
}

void Core::track(std::shared_ptr<ClientEndpoint> client) {
  std::lock_guard lock(mu_);
  if (!stopped_) open_clients_.insert(std::move(client));
}

void Core::track(std::shared_ptr<StreamerEndpoint> streamer) {
  std::lock_guard lock(mu_);
  if (!stopped_) open_streamers_.insert(std::move(streamer));
}

void Core::untrack(const ClientEndpoint* client) {
  {
    std::lock_guard lock(mu_);
    for (auto it = open_clients_.begin(); it != open_clients_.end(); ++it) {
      if (it->get() == client) {
        open_clients_.erase(it);
        break;
      }
    }
  }
  cv_.notify_all();
}

void Core::untrack(const StreamerEndpoint* streamer) {
  {
    std::lock_guard lock(mu_);
    for (auto it = open_streamers_.begin(); it != open_streamers_.end(); ++it) {
      if (it->get() == streamer) {
        open_streamers_.erase(it);
        break;
      }
    }
  }
  cv_.notify_all();
}

void Core::begin_verifying(const std::string& session_id) {
  std::lock_guard lock(mu_);
  verifying_.insert(session_id);
}

void Core::end_verifying(const std::string& session_id) {
  std::lock_guard lock(mu_);
  if (auto it = verifying_.find(session_id); it != verifying_.end()) verifying_.erase(it);
  if (verifying_.count(session_id) == 0) ended_while_verifying_.erase(session_id);
}

Core::Activation Core::activate(const std::shared_ptr<ClientEndpoint>& client,
                                const session::SessionRecord& session) {
  Activation a;
  std::lock_guard lock(mu_);
  if (auto it = verifying_.find(session.id); it != verifying_.end()) verifying_.erase(it);
  if (auto ended = ended_while_verifying_.find(session.id); ended != ended_while_verifying_.end()) {
    a.outcome = Outcome::ended;
    a.cause = ended->second;
    if (verifying_.count(session.id) == 0) ended_while_verifying_.erase(ended);
    return a;
  }
  if (stopping_) return a;  // gone
  auto s = streamers_.find(session.streamer_id);
  if (s == streamers_.end() || !s->second->registered()) {
    a.outcome = Outcome::no_streamer;
    return a;
  }
  std::optional<TimePoint> cap_at;
  if (options.max_connection.count() > 0) cap_at = clock.now() + options.max_connection;
  if (!client->activate_locked(s->second, session.account, cap_at)) return a;  // gone
  // on_connect's compare-and-set admits one client per session: no other can be listed, but a
  // stale entry (its on_close not processed yet) must not stay reachable.
  clients_[session.id] = client;
  a.outcome = Outcome::active;
  a.streamer = s->second;
  return a;
}

void Core::remove_client(const std::string& session_id, const ClientEndpoint* client) {
  std::lock_guard lock(mu_);
  if (auto it = clients_.find(session_id); it != clients_.end() && it->second.get() == client) {
    clients_.erase(it);
  }
}

std::shared_ptr<ClientEndpoint> Core::find_client(const std::string& session_id,
                                                  const std::string& streamer_id) {
  std::lock_guard lock(mu_);
  auto it = clients_.find(session_id);
  if (it == clients_.end()) return nullptr;
  if (!streamer_id.empty() && !it->second->runs_on_locked(streamer_id)) return nullptr;
  return it->second;
}

std::shared_ptr<ClientEndpoint> Core::take_client(const std::string& session_id,
                                                  const std::string& streamer_id) {
  std::lock_guard lock(mu_);
  auto it = clients_.find(session_id);
  if (it == clients_.end()) return nullptr;
  if (!streamer_id.empty() && !it->second->runs_on_locked(streamer_id)) return nullptr;
  auto client = std::move(it->second);
  clients_.erase(it);
  return client;
}

bool Core::claim_streamer_id(const std::string& id, const std::shared_ptr<StreamerEndpoint>& link) {
  std::lock_guard lock(mu_);
  if (stopping_) return false;
  return streamers_.emplace(id, link).second;
}

void Core::release_streamer_id(const std::string& id, const StreamerEndpoint* link) {
  std::lock_guard lock(mu_);
  if (auto it = streamers_.find(id); it != streamers_.end() && it->second.get() == link) {
    streamers_.erase(it);
  }
}

std::shared_ptr<StreamerEndpoint> Core::registered_streamer(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = streamers_.find(id);
  if (it == streamers_.end() || !it->second->registered()) return nullptr;
  return it->second;
}

void Core::on_session_ended(const session::SessionRecord& session) {
  std::shared_ptr<ClientEndpoint> client;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    if (auto it = clients_.find(session.id); it != clients_.end()) {
      client = std::move(it->second);
      clients_.erase(it);
    } else if (verifying_.count(session.id) > 0) {
      // A client is between on_connect and activate(): it must not become connected.
      ended_while_verifying_[session.id] = session.end_cause;
    }
  }
  if (!client) return;
  const ErrorCode reason = reason_for(session.end_cause);
  if (client->end(make_error(reason))) {
    metrics.closes.with(std::string(info(reason).code)).inc();
    log()->info("client closed session={} reason={} cause={}", session.id, info(reason).code,
                session::to_string(session.end_cause));
  }
  client->close_on_streamer(session::to_string(session.end_cause));
}

size_t Core::client_count() const {
  std::lock_guard lock(mu_);
  return clients_.size();
}

size_t Core::streamer_count() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [id, link] : streamers_) n += link->registered() ? 1 : 0;
  return n;
}

void Core::run_timer() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, options.tick, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    check_caps();
    lock.lock();
  }
}

void Core::check_caps() {
  struct Due {
    std::string account, session_id;
  };
  std::vector<Due> due;
  {
    std::lock_guard lock(mu_);
    const TimePoint now = clock.now();
    for (const auto& [id, client] : clients_) {
      std::string account;
      if (client->cap_due_locked(now, account)) due.push_back({std::move(account), id});
    }
  }
  for (auto& d : due) {
    log()->info("duration cap reached session={} max_connection_s={}", d.session_id,
                options.max_connection.count());
    post([this, d] {
      // The end listener (on_session_ended) tells the client duration_limit_reached.
      if (auto ended = sessions.end(d.account, d.session_id, session::EndCause::duration_limit);
          !ended) {
        log()->info("duration cap: session={} not ended: {}", d.session_id,
                    ended.error().to_string());
      }
    });
  }
}

}  // namespace ithaca::signaling::internal
