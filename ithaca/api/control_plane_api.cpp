#include "ithaca/api/control_plane_api.hpp"

#include <chrono>

#include "ithaca/api/models.hpp"
#include "ithaca/api/readiness.hpp"
#include "ithaca/auth/api_key.hpp"
#include "ithaca/base/log.hpp"
#include "ithaca/net/http_server.hpp"
#include "ithaca/web/static_assets.hpp"

namespace ithaca::api {
namespace {

using net::HttpRequest;
using net::HttpResponse;
using nlohmann::ordered_json;

HttpResponse json_response(int status, const ordered_json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, ordered_json::error_handler_t::replace);  // never throws
  return r;
}

HttpResponse error(ErrorCode code, std::string detail = {}) {
  return net::error_response(make_error(code, std::move(detail)));
}

// Every dev-only answer says so, so nobody mistakes a dev node for a real one.
HttpResponse dev_only(HttpResponse r) {
  r.headers.emplace_back("X-Ithaca-Dev-Only", "true");
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

HttpResponse asset_response(const web::StaticAsset& asset) {
  HttpResponse r;
  r.content_type = std::string(asset.content_type);
  r.body = std::string(asset.body);
  return dev_only(std::move(r));
}

// Whether a body of this Content-Type is read as JSON: none, any JSON type, and the form type
// curl sends with `-d` when not told otherwise (a JSON body under that label is still JSON; a
// real form body then fails to parse as `invalid_json`). Anything else is 415.
bool read_as_json(std::string_view type) {
  if (type.empty() || type.find("json") != std::string_view::npos) return true;
  const std::string_view media = type.substr(0, type.find(';'));
  return media == "application/x-www-form-urlencoded";
}

// Parses an optional JSON object body. Empty body: an empty object.
Result<nlohmann::json> json_body(const HttpRequest& request) {
  if (!request.body.empty() && !read_as_json(request.header("content-type"))) {
    return make_error(ErrorCode::unsupported_media_type,
                      "send the body as JSON (Content-Type: application/json)");
  }
  if (request.body.empty()) return nlohmann::json::object();
  auto body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return make_error(ErrorCode::invalid_json);
  if (!body.is_object())
    return make_error(ErrorCode::invalid_request, "the body must be an object");
  return body;
}

Result<session::Metadata> metadata_of(const nlohmann::json& body) {
  session::Metadata out;
  if (!body.contains("metadata") || body["metadata"].is_null()) return out;
  const auto& m = body["metadata"];
  if (!m.is_object()) return make_error(ErrorCode::invalid_metadata, "metadata must be an object");
  for (const auto& [k, v] : m.items()) {
    if (!v.is_string()) {
      return make_error(ErrorCode::invalid_metadata, "metadata." + k + " must be a string");
    }
    out[k] = v.get<std::string>();
  }
  return out;
}

Result<session::Capabilities> required_capabilities(const nlohmann::json& body) {
  session::Capabilities out;
  if (!body.contains("capabilities") || body["capabilities"].is_null()) return out;
  const auto& c = body["capabilities"];
  if (!c.is_object())
    return make_error(ErrorCode::invalid_request, "capabilities must be an object");
  for (const auto& [k, v] : c.items()) {
    if (!v.is_boolean()) {
      return make_error(ErrorCode::invalid_request, "capabilities." + k + " must be a boolean");
    }
    out[k] = v.get<bool>();
  }
  return out;
}

// The optional "model" of a mint: a model name ("" when absent).
Result<std::string> requested_model(const nlohmann::json& body) {
  const auto it = body.find("model");
  if (it == body.end() || it->is_null()) return std::string();
  if (!it->is_string() || it->get_ref<const std::string&>().empty() ||
      it->get_ref<const std::string&>().size() > 64) {
    return make_error(ErrorCode::invalid_request, "model must be a model name (1..64 bytes)");
  }
  return it->get<std::string>();
}

ordered_json capabilities_json(const session::Capabilities& caps) {
  ordered_json out = ordered_json::object();
  for (const auto& [k, v] : caps) out[k] = v;
  return out;
}

ordered_json time_or_null(const std::optional<TimePoint>& t) {
  return t ? ordered_json(to_rfc3339(*t)) : ordered_json(nullptr);
}

// "/v1/sessions/{id}" -> id; empty when the path is not of that shape.
std::string session_id_in(std::string_view path) {
  constexpr std::string_view kPrefix = "/v1/sessions/";
  if (path.substr(0, kPrefix.size()) != kPrefix) return {};
  const auto id = path.substr(kPrefix.size());
  if (id.empty() || id.size() > 64 || id.find('/') != std::string_view::npos) return {};
  return std::string(id);
}

// "/v1/sessions/{id}/spectator_tokens" -> id; empty when the path is not of that shape.
std::string spectator_tokens_session_in(std::string_view path) {
  constexpr std::string_view kSuffix = "/spectator_tokens";
  if (path.size() <= kSuffix.size() || path.substr(path.size() - kSuffix.size()) != kSuffix) {
    return {};
  }
  return session_id_in(path.substr(0, path.size() - kSuffix.size()));
}

}  // namespace

ordered_json session_json(const session::SessionRecord& s) {
  ordered_json metadata = ordered_json::object();
  for (const auto& [k, v] : s.metadata) metadata[k] = v;
  return {
      {"session_id", s.id},
      {"state", session::to_string(s.state)},
      {"end_cause", s.end_cause == session::EndCause::none
                        ? ordered_json(nullptr)
                        : ordered_json(session::to_string(s.end_cause))},
      {"created_at", to_rfc3339(s.created_at)},
      {"connected_at", time_or_null(s.connected_at)},
      {"ended_at", time_or_null(s.ended_at)},
      {"expires_at", time_or_null(s.token_expires_at)},
      {"streamer_id", s.streamer_id},
      {"model", s.model},
      {"capabilities", capabilities_json(s.capabilities)},
      {"metadata", metadata},
  };
}

ControlPlaneApi::ControlPlaneApi(session::SessionService& sessions, session::Store& store,
                                 const Authenticator& authenticator, metrics::Registry& metrics,
                                 ApiOptions options)
    : sessions_(sessions),
      store_(store),
      auth_(authenticator),
      metrics_(metrics),
      options_(std::move(options)),
      latency_(metrics.histogram_family("ithaca_http_request_duration_seconds",
                                        "HTTP request latency by route.", "route",
                                        metrics::latency_buckets())),
      responses_(metrics.counter_family("ithaca_http_responses_total",
                                        "HTTP responses by status code.", "status")),
      telemetry_(std::make_unique<TelemetryIntake>(
          metrics, options_.clock ? *options_.clock : SystemClock::instance())),
      workers_(options_.worker_threads) {
  if (options_.dev) {
    logger("api")->warn(
        "DEV MODE: GET / serves the demo page and POST /dev/credentials mints credentials for "
        "account={} without an API key; never expose this server",
        kDevAccount);
  }
  auto counts = [this](auto method) {
    return [this, method] {
      std::vector<std::pair<std::string, double>> out;
      if (auto rows = (store_.*method)(); rows) {
        for (const auto& row : *rows) out.emplace_back(row.key, row.count);
      }
      return out;
    };
  };
  metrics.gauge("ithaca_live_sessions", "Live sessions by state.", "state",
                counts(&session::Store::count_live_by_state));
  metrics.gauge("ithaca_slots_in_use", "Concurrency slots held, by account.", "account",
                counts(&session::Store::count_live_by_account));
  if (options_.streamers) add_placement_metrics(metrics, *options_.streamers);
}

void ControlPlaneApi::handle(HttpRequest request, net::Respond respond) {
  const auto start = std::chrono::steady_clock::now();
  Finish finish = [this, start, respond = std::move(respond)](const char* route, HttpResponse r) {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    latency_.with(route).observe(elapsed);
    responses_.with(std::to_string(r.status)).inc();
    respond(std::move(r));
  };
  if (request.method == "POST" && request.path == "/v1/client_credentials") {
    return mint(request, std::move(finish));
  }
  if (options_.dev && request.method == "POST" && request.path == "/dev/credentials") {
    return dev_mint(request, std::move(finish));
  }
  workers_.post([this, request = std::move(request), finish = std::move(finish)] {
    std::string route = "unmatched";
    HttpResponse response = dispatch(request, route);
    finish(route.c_str(), std::move(response));
  });
}

HttpResponse ControlPlaneApi::dispatch(const HttpRequest& r, std::string& route) {
  const std::string& m = r.method;
  const std::string& p = r.path;
  auto named = [&](const char* name) { route = name; };

  if (p == "/healthz") {
    named("GET /healthz");
    return m == "GET" ? healthz() : error(ErrorCode::method_not_allowed);
  }
  if (p == "/metrics") {
    named("GET /metrics");
    return m == "GET" ? metrics_text(r) : error(ErrorCode::method_not_allowed);
  }
  if (p == "/readyz") {
    named("GET /readyz");
    return m == "GET" ? readiness(store_, options_.streamers)
                      : error(ErrorCode::method_not_allowed);
  }
  if (p == "/telemetry") {
    named("POST /telemetry");
    return m == "POST" ? telemetry_->handle(r) : error(ErrorCode::method_not_allowed);
  }
  if (p == "/regions") {
    named("GET /regions");
    return m == "GET" ? odyssey_regions() : error(ErrorCode::method_not_allowed);
  }
  if (p == "/auth/token") {
    named("POST /auth/token");
    return m == "POST" ? odyssey_auth_token(r) : error(ErrorCode::method_not_allowed);
  }
  if (options_.dev) {
    if (p == "/dev/credentials") {
      named("POST /dev/credentials");
      return dev_only(error(ErrorCode::method_not_allowed));  // POST is answered by dev_mint()
    }
    if (auto asset = web::find_demo_asset(p)) {
      named(p == "/" ? "GET /" : "GET /{demo asset}");
      return m == "GET" ? asset_response(*asset) : error(ErrorCode::method_not_allowed);
    }
  }

  // Everything below needs a caller.
  const bool known = p == "/v1/client_credentials" || p == "/v1/sessions" || p == "/v1/usage" ||
                     p == "/v1/models" || p == "/v1/streamers" || p == "/sessions/request" ||
                     p == "/sessions/token" || !session_id_in(p).empty() ||
                     !spectator_tokens_session_in(p).empty();
  if (!known) return error(ErrorCode::not_found);
  auto caller = auth_.authenticate(r);
  if (!caller) {
    named("unauthenticated");
    return net::error_response(caller.error());
  }
  if (p == "/v1/client_credentials") {
    named("POST /v1/client_credentials");
    return error(ErrorCode::method_not_allowed);  // POST is answered by mint()
  }
  if (p == "/v1/sessions") {
    named("GET /v1/sessions");
    return m == "GET" ? list_sessions(*caller) : error(ErrorCode::method_not_allowed);
  }
  if (p == "/v1/models" || p == "/v1/streamers") {
    named(p == "/v1/models" ? "GET /v1/models" : "GET /v1/streamers");
    return m == "GET" ? placement_view(p) : error(ErrorCode::method_not_allowed);
  }
  if (p == "/v1/usage") {
    named("GET /v1/usage");
    return m == "GET" ? usage(*caller) : error(ErrorCode::method_not_allowed);
  }
  if (p == "/sessions/request") {
    named("POST /sessions/request");
    return m == "POST" ? odyssey_session_request(r, *caller) : error(ErrorCode::method_not_allowed);
  }
  if (p == "/sessions/token") {
    named("POST /sessions/token");
    return m == "POST" ? odyssey_session_token(r, *caller) : error(ErrorCode::method_not_allowed);
  }
  if (const std::string id = spectator_tokens_session_in(p); !id.empty()) {
    named("POST /v1/sessions/{id}/spectator_tokens");
    return m == "POST" ? spectator_token(*caller, id) : error(ErrorCode::method_not_allowed);
  }
  const std::string id = session_id_in(p);
  if (m == "GET") {
    named("GET /v1/sessions/{id}");
    return get_session(*caller, id);
  }
  if (m == "DELETE") {
    named("DELETE /v1/sessions/{id}");
    return end_session(*caller, id);
  }
  return error(ErrorCode::method_not_allowed);
}

HttpResponse ControlPlaneApi::healthz() {
  // A read that touches the store: a node whose database is gone is not healthy.
  if (auto probe = store_.get_account(""); !probe) return net::error_response(probe.error());
  return json_response(200, {{"status", "ok"}});
}

HttpResponse ControlPlaneApi::metrics_text(const HttpRequest& request) {
  if (!options_.metrics_token_sha256.empty()) {
    // Compared as SHA-256 digests in constant time: the token itself is not kept.
    const auto bearer = net::bearer_token(request);
    if (!bearer) return error(ErrorCode::missing_api_key, "GET /metrics needs the metrics token");
    if (!auth::api_key_secret_matches(*bearer, options_.metrics_token_sha256)) {
      return error(ErrorCode::invalid_api_key, "not the metrics token");
    }
  }
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = metrics_.render();
  return r;
}

void ControlPlaneApi::mint(const HttpRequest& request, Finish finish) {
  constexpr const char* kRoute = "POST /v1/client_credentials";
  // Authentication reads the store: a few microseconds on a read connection, fine here.
  auto caller = auth_.authenticate(request);
  if (!caller) return finish("unauthenticated", net::error_response(caller.error()));
  mint_for(caller->account, request, kRoute, std::move(finish));
}

void ControlPlaneApi::dev_mint(const HttpRequest& request, Finish finish) {
  if (!dev_mint_used_.exchange(true)) {
    logger("api")->warn("DEV MODE: POST /dev/credentials used (no API key) remote={}",
                        request.remote_address);
  }
  mint_for(kDevAccount, request, "POST /dev/credentials",
           [finish = std::move(finish)](const char* route, HttpResponse r) {
             finish(route, dev_only(std::move(r)));
           });
}

void ControlPlaneApi::mint_for(const std::string& account, const HttpRequest& request,
                               const char* route, Finish finish) {
  auto body = json_body(request);
  if (!body) return finish(route, net::error_response(body.error()));
  auto metadata = metadata_of(*body);
  if (!metadata) return finish(route, net::error_response(metadata.error()));
  auto required = required_capabilities(*body);
  if (!required) return finish(route, net::error_response(required.error()));
  auto model = requested_model(*body);
  if (!model) return finish(route, net::error_response(model.error()));
  sessions_.mint_async(account, *metadata, *required, *model,
                       [route, finish = std::move(finish)](Result<session::ClientCredentials> c) {
                         finish(route, c ? json_response(201, session::to_json(*c))
                                         : net::error_response(c.error()));
                       });
}

HttpResponse ControlPlaneApi::list_sessions(const Caller& caller) {
  auto live = sessions_.list_live(caller.account);
  if (!live) return net::error_response(live.error());
  ordered_json list = ordered_json::array();
  for (const auto& s : *live) list.push_back(session_json(s));
  return json_response(200, {{"sessions", list}});
}

HttpResponse ControlPlaneApi::get_session(const Caller& caller, const std::string& id) {
  auto s = sessions_.get(caller.account, id);
  if (!s) return net::error_response(s.error());
  return json_response(200, session_json(*s));
}

HttpResponse ControlPlaneApi::end_session(const Caller& caller, const std::string& id) {
  auto s = sessions_.end(caller.account, id);
  if (!s) return net::error_response(s.error());
  return json_response(200, session_json(*s));
}

HttpResponse ControlPlaneApi::spectator_token(const Caller& caller, const std::string& id) {
  auto s = sessions_.get(caller.account, id);  // the caller's own sessions only
  if (!s) return net::error_response(s.error());
  if (s->state == session::SessionState::ended || !options_.spectator_tokens) {
    return error(ErrorCode::stream_not_found, "this session broadcasts nothing now");
  }
  auto minted = options_.spectator_tokens(id);
  if (!minted) return net::error_response(minted.error());
  return json_response(201, *minted);
}

HttpResponse ControlPlaneApi::placement_view(const std::string& path) {
  if (!options_.streamers) return error(ErrorCode::store_unavailable, "no streamer registry");
  auto body = path == "/v1/models"
                  ? models_json(*options_.streamers, sessions_.rules().default_model)
                  : streamers_json(*options_.streamers);
  if (!body) return net::error_response(body.error());
  return json_response(200, *body);
}

HttpResponse ControlPlaneApi::usage(const Caller& caller) {
  auto u = sessions_.usage(caller.account);
  if (!u) return net::error_response(u.error());
  return json_response(
      200, {{"account", caller.account}, {"active_count", u->active}, {"limit", u->limit}});
}

HttpResponse ControlPlaneApi::odyssey_auth_token(const HttpRequest& request) {
  auto body = json_body(request);
  if (!body) return net::error_response(body.error());
  if (!body->contains("api_key") || !(*body)["api_key"].is_string()) {
    return error(ErrorCode::malformed_api_key, "api_key (a string) is required");
  }
  auto caller = auth_.check_api_key((*body)["api_key"].get<std::string>(), request.remote_address);
  if (!caller) return net::error_response(caller.error());
  return json_response(
      200, {{"access_token", auth_.issue_access_token(*caller, options_.access_token_ttl)},
            {"expires_in", options_.access_token_ttl.count()},
            {"token_type", "bearer"}});
}

HttpResponse ControlPlaneApi::odyssey_regions() {
  return json_response(
      200, {{"regions", ordered_json::array({{{"id", options_.region},
                                              {"ping_url", options_.public_url + "/healthz"}}})}});
}

HttpResponse ControlPlaneApi::odyssey_session_request(const HttpRequest& request,
                                                      const Caller& caller) {
  auto body = json_body(request);
  if (!body) return net::error_response(body.error());
  // region_latencies is accepted and ignored: one node, one region.
  auto s = sessions_.provision(caller.account, {}, {});
  if (!s) return net::error_response(s.error());
  return json_response(200, {{"session_id", s->id},
                             {"signalling_url", sessions_.signaling_url_for(s->streamer_id)},
                             {"capabilities", capabilities_json(s->capabilities)},
                             {"streamer_id", s->streamer_id},
                             {"region", options_.region}});
}

HttpResponse ControlPlaneApi::odyssey_session_token(const HttpRequest& request,
                                                    const Caller& caller) {
  auto body = json_body(request);
  if (!body) return net::error_response(body.error());
  if (!body->contains("session_id") || !(*body)["session_id"].is_string()) {
    return error(ErrorCode::invalid_request, "session_id (a string) is required");
  }
  auto token = sessions_.issue_token(caller.account, (*body)["session_id"].get<std::string>());
  if (!token) return net::error_response(token.error());
  return json_response(
      200, {{"session_token", token->session_token}, {"expires_in", token->expires_in}});
}

}  // namespace ithaca::api
