// ControlPlaneApi: the HTTP routes of the control plane, as one net::HttpHandler.
//
//   GET  /healthz                    liveness and store reachability
//   GET  /readyz                     readiness: a mint can be served now (api/readiness.hpp)
//   POST /telemetry                  the official Odyssey SDKs' client events (api/telemetry.hpp)
//   GET  /metrics                    Prometheus text
//   POST /v1/client_credentials      mint: 201 with the credentials object
//   GET  /v1/sessions                the account's live sessions
//   GET  /v1/sessions/{id}           one session (also ended ones, within retention)
//   DELETE /v1/sessions/{id}         end it now, free its slot
//   POST /v1/sessions/{id}/spectator_tokens   another spectator token for the session's broadcast
//   GET  /v1/usage                   active count and limit
//   GET  /v1/models, /v1/streamers   the models served and the streamers serving them
//   POST /auth/token, GET /regions, POST /sessions/request, POST /sessions/token
//                                    the Odyssey-compatible routes
//                                    (docs/odyssey-compatibility.md section 4.2)
//
// Only with ApiOptions::dev (`ithaca server --dev`; otherwise 404 like any unknown route):
//   GET  /, /index.html, /demo.js, /sdk/index.js, ...   the demo page and the JS SDK (ithaca/web)
//   POST /dev/credentials            a mint for the "dev" account WITHOUT an API key
//
// Errors are the catalog's ({"detail": {"code", "message", "retryable", "details"?}}) with its
// HTTP status. handle() is called on a network thread and never blocks it: a mint is checked
// there and completes when the store's writer commits its batch; every other route runs on the
// API's worker pool, where waiting on the store is fine.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "ithaca/api/authenticator.hpp"
#include "ithaca/api/telemetry.hpp"
#include "ithaca/base/thread_pool.hpp"
#include "ithaca/metrics/metrics.hpp"
#include "ithaca/net/http_server.hpp"
#include "ithaca/session/session_service.hpp"

namespace ithaca::api {

struct ApiOptions {
  std::string public_url;  // http(s)://host:port of this node, no trailing slash
  std::string region = "local";
  seconds access_token_ttl{3600};
  int worker_threads = 16;  // for routes that wait on the store
  // Development mode: serves the demo page and POST /dev/credentials, which hands anyone who can
  // reach the node credentials for the "dev" account. Never in production.
  bool dev = false;
  // Mints a spectator token for a session's live broadcast (BroadcastService); without it the
  // route answers stream_not_found.
  std::function<Result<nlohmann::ordered_json>(const std::string& session_id)> spectator_tokens;
  // Where sessions are placed, for GET /readyz, /v1/models and /v1/streamers; without it
  // /readyz answers 503.
  session::StreamerRegistry* streamers = nullptr;
  // The clock of POST /telemetry's rate limit; null: the system clock.
  const Clock* clock = nullptr;
  // Hex SHA-256 of the bearer token GET /metrics needs (metrics.bearer_token); empty: open.
  std::string metrics_token_sha256;
};

// The account POST /dev/credentials mints for (the one `ithaca server --dev` creates).
inline constexpr const char* kDevAccount = "dev";

class ControlPlaneApi {
 public:
  ControlPlaneApi(session::SessionService& sessions, session::Store& store,
                  const Authenticator& authenticator, metrics::Registry& metrics,
                  ApiOptions options);

  void handle(net::HttpRequest request, net::Respond respond);

 private:
  // Answers with the response and the route's name, for the latency metric.
  using Finish = std::function<void(const char* route, net::HttpResponse)>;
  net::HttpResponse dispatch(const net::HttpRequest& request, std::string& route_name);
  void mint(const net::HttpRequest& request, Finish finish);
  void dev_mint(const net::HttpRequest& request, Finish finish);
  // The body checks and the mint shared by mint() and dev_mint().
  void mint_for(const std::string& account, const net::HttpRequest& request, const char* route,
                Finish finish);

  net::HttpResponse healthz();
  net::HttpResponse metrics_text(const net::HttpRequest& request);
  net::HttpResponse list_sessions(const Caller& caller);
  net::HttpResponse get_session(const Caller& caller, const std::string& id);
  net::HttpResponse end_session(const Caller& caller, const std::string& id);
  net::HttpResponse usage(const Caller& caller);
  // GET /v1/models or GET /v1/streamers (api/models.hpp).
  net::HttpResponse placement_view(const std::string& path);
  net::HttpResponse spectator_token(const Caller& caller, const std::string& session_id);
  net::HttpResponse odyssey_auth_token(const net::HttpRequest& request);
  net::HttpResponse odyssey_regions();
  net::HttpResponse odyssey_session_request(const net::HttpRequest& request, const Caller& caller);
  net::HttpResponse odyssey_session_token(const net::HttpRequest& request, const Caller& caller);

  session::SessionService& sessions_;
  session::Store& store_;
  const Authenticator& auth_;
  metrics::Registry& metrics_;
  ApiOptions options_;
  std::atomic<bool> dev_mint_used_{false};  // the first dev mint logs a warning
  metrics::Family<metrics::Histogram>& latency_;
  metrics::Family<metrics::Counter>& responses_;
  std::unique_ptr<TelemetryIntake> telemetry_;
  ThreadPool workers_;  // last: joined first, while everything it uses still exists
};

// Session as JSON for the operator routes (times RFC 3339, absent ones null).
nlohmann::ordered_json session_json(const session::SessionRecord& session);

}  // namespace ithaca::api
