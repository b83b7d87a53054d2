#include "ithaca/signaling/signaling_hub.hpp"

#include "ithaca/net/http_server.hpp"
#include "ithaca/signaling/hub_core.hpp"
#include "ithaca/signaling/upgrade.hpp"

namespace ithaca::signaling {

SignalingOptions signaling_options(const config::Config& config, std::string streamer_secret) {
  SignalingOptions o;
  o.ice_servers = config.ice_servers;
  o.turn_username = config.turn_username;
  o.turn_credential = config.turn_credential;
  o.cors_origins = config.cors_origins;
  o.dev = config.dev;
  o.max_connection = std::chrono::seconds(config.max_connection_seconds);
  o.max_stream_seconds = config.max_stream_seconds;
  o.idle_timeout_seconds = config::stream_idle_timeout(config);
  o.streamer_secret = std::move(streamer_secret);
  o.max_failures_per_address = config.max_failures_per_address;
  o.failure_window = std::chrono::seconds(config.failure_window_seconds);
  return o;
}

SignalingHub::SignalingHub(SignalingOptions options, SignalingDeps deps)
    : streamer_failures_(std::make_unique<session::FailureThrottle>(
          deps.clock, options.max_failures_per_address, options.failure_window)) {
  metrics::Registry& registry = deps.metrics;
  session::SessionService& sessions = deps.sessions;
  core_ = std::make_shared<internal::Core>(std::move(options), std::move(deps));
  std::weak_ptr<internal::Core> weak = core_;
  registry.gauge("ithaca_signaling_clients", "Clients connected over signaling.", "",
                 [weak]() -> std::vector<std::pair<std::string, double>> {
                   auto core = weak.lock();
                   return {{"", core ? static_cast<double>(core->client_count()) : 0.0}};
                 });
  registry.gauge("ithaca_signaling_streamers", "Streamers registered over the streamer link.", "",
                 [weak]() -> std::vector<std::pair<std::string, double>> {
                   auto core = weak.lock();
                   return {{"", core ? static_cast<double>(core->streamer_count()) : 0.0}};
                 });
  sessions.add_end_listener(core_.get());
  core_->start();
}

SignalingHub::~SignalingHub() {
  stop();
}

void SignalingHub::stop() {
  core_->stop();
}

const CorsPolicy& SignalingHub::cors() const {
  return core_->cors;
}

size_t SignalingHub::client_count() const {
  return core_->client_count();
}

size_t SignalingHub::streamer_count() const {
  return core_->streamer_count();
}

void SignalingHub::set_broadcast_link(BroadcastLink* link) {
  core_->broadcast.store(link);
}

bool SignalingHub::send_to_streamer(const std::string& streamer_id, std::string message) {
  auto streamer = core_->registered_streamer(streamer_id);
  if (!streamer) return false;
  streamer->send(std::move(message));
  return true;
}

bool SignalingHub::streamer_connected(const std::string& streamer_id) const {
  return core_->registered_streamer(streamer_id) != nullptr;
}

net::HttpResponse SignalingHub::handle_http(const net::HttpRequest& request) const {
  if (request.method == "OPTIONS") return core_->cors.preflight(request);
  net::HttpResponse r;
  if (request.path == kConfigPath || request.path == kRootConfigPath) {
    if (request.method == "GET") {
      r.body = core_->ice_config;
      r.headers.emplace_back("Cache-Control", "no-store");  // it may carry TURN credentials
    } else {
      r = net::error_response(make_error(ErrorCode::method_not_allowed));
      r.headers.emplace_back("Allow", "GET, OPTIONS");
    }
  } else if (request.path == kStreamerPath || client_session_id(request.path)) {
    r = net::error_response(
        make_error(ErrorCode::invalid_request, "this path takes a WebSocket upgrade"));
  } else {
    r = net::error_response(make_error(ErrorCode::not_found));
  }
  core_->cors.apply(request, r);
  return r;
}

net::WebSocketDecision SignalingHub::accept(const net::HttpRequest& request) {
  if (request.path == kStreamerPath) {
    const std::string& remote = request.remote_address;
    if (const int64_t wait = streamer_failures_->blocked_for(remote); wait > 0) {
      core_->metrics.refusals.with("streamer_throttled").inc();
      return net::error_response(make_error(ErrorCode::RATE_LIMITED,
                                            "too many wrong streamer secrets; retry later",
                                            {{"retry_after_seconds", wait}}));
    }
    const auto presented = bearer_token(request);
    if (!presented || !secret_matches(*presented, core_->options.streamer_secret)) {
      core_->metrics.refusals.with("streamer_unauthorized").inc();
      // Sampled: the first refusal of an address, then one line a minute with the count.
      const auto recorded = streamer_failures_->record_failure(remote);
      if (recorded.warn) {
        internal::log()->warn("streamer link refused remote={} reason={} refusals_since_last={}",
                              remote, presented ? "wrong secret" : "no secret", recorded.unlogged);
      }
      return net::error_response(make_error(ErrorCode::streamer_unauthorized));
    }
    if (core_->stopping()) return net::error_response(make_error(ErrorCode::shutting_down));
    auto link = std::make_shared<internal::StreamerEndpoint>(core_);
    core_->track(link);
    return net::WebSocketAccept{link, std::nullopt, kMaxMessageBytes};
  }
  if (auto session_id = client_session_id(request.path)) {
    if (core_->stopping()) return net::error_response(make_error(ErrorCode::shutting_down));
    PresentedToken token = presented_token(request);
    auto client =
        std::make_shared<internal::ClientEndpoint>(core_, *session_id, std::move(token.token));
    core_->track(client);
    // Every message may be up to kMaxMessageBytes (a start image); the client endpoint holds
    // all but interactive_stream_start to kMaxSmallMessageBytes.
    return net::WebSocketAccept{client, std::move(token.subprotocol), kMaxMessageBytes};
  }
  return net::error_response(
      make_error(ErrorCode::not_found, "no signaling endpoint at this path"));
}

void SignalingHub::session_ended_elsewhere(const session::SessionRecord& session) {
  core_->on_session_ended(session);
}

}  // namespace ithaca::signaling
