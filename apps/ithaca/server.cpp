#include "server.hpp"

#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "ithaca/api/control_plane_api.hpp"
#include "ithaca/auth/api_key.hpp"
#include "ithaca/base/log.hpp"
#include "ithaca/base/random.hpp"
#include "ithaca/broadcast/broadcast_service.hpp"
#include "ithaca/cluster/cluster_node.hpp"
#include "ithaca/cluster/session_end_relay.hpp"
#include "ithaca/config/signing_keys.hpp"
#include "ithaca/net/http_server.hpp"
#include "ithaca/session/sweeper.hpp"
#include "ithaca/signaling/signaling_hub.hpp"
#include "ithaca/store/open_store.hpp"
#include "ithaca/store/redis/redis_store.hpp"

namespace ithaca::app {
namespace {

std::string ws_url_of(const std::string& http_url) {
  if (http_url.rfind("https://", 0) == 0) return "wss://" + http_url.substr(8);
  if (http_url.rfind("http://", 0) == 0) return "ws://" + http_url.substr(7);
  return http_url;
}

std::string strip_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// Signaling's routes, and GET /config: the ICE servers where WHEP clients look for them (the
// origin of a broadcast's webrtc_url).
bool is_signaling_path(const std::string& path) {
  return path.rfind("/signaling/", 0) == 0 || path == "/signaling" || path == "/config";
}

// The dev account's key lives in data_dir/dev-api-key (0600) so `make run` prints the same key
// every time; it is created, with its account, the first time.
Result<std::string> ensure_dev_key(session::Store& store, const config::Config& config) {
  namespace fs = std::filesystem;
  const fs::path path = fs::path(config.data_dir) / "dev-api-key";
  if (std::ifstream in(path); in) {
    std::string key;
    std::getline(in, key);
    if (auto parsed = auth::parse_api_key(key); parsed) {
      auto record = store.find_api_key(parsed->key_id);
      if (record && *record && !(*record)->revoked_at) return key;
    }
  }
  if (auto s = store.upsert_account({"dev", static_cast<int>(config.default_max_concurrent)}); !s) {
    return s.error();
  }
  const auto key = auth::generate_api_key();
  if (auto s = store.insert_api_key(
          {key.key_id, "dev", key.secret_hash, SystemClock::instance().now(), std::nullopt});
      !s) {
    return s.error();
  }
  std::error_code ec;
  fs::create_directories(config.data_dir, ec);
  const mode_t old = umask(077);
  std::ofstream(path, std::ios::trunc) << key.plaintext << '\n';
  umask(old);
  return key.plaintext;
}

}  // namespace

struct Server::Parts {
  config::Config config;
  std::string public_url;
  std::unique_ptr<session::Store> store;
  std::shared_ptr<const auth::TokenKeyRing> keys;
  session::LocalStreamerRegistry registry;
  // With a redis:// store: the registry shared by every node, and this node's heartbeats.
  std::unique_ptr<cluster::RedisStreamerRegistry> cluster_registry;
  std::unique_ptr<cluster::ClusterNode> cluster;
  session::StreamerRegistry* placement = &registry;  // the one in use
  metrics::Registry metrics;
  std::unique_ptr<session::SessionMetrics> session_metrics;
  std::unique_ptr<session::SessionService> sessions;
  std::string streamer_secret;
  // Registered with `sessions` as an end listener: destroyed before it.
  std::unique_ptr<signaling::SignalingHub> signaling;
  // The hub's broadcast link: stopped after the hub, destroyed after it.
  std::unique_ptr<broadcast::BroadcastService> broadcasts;
  // With Redis: tells other nodes' hubs of ends here, and this hub of theirs. Declared after
  // `signaling`, which it calls, so it is destroyed first.
  std::unique_ptr<cluster::SessionEndRelay> end_relay;
  std::unique_ptr<api::Authenticator> authenticator;
  std::unique_ptr<api::ControlPlaneApi> api;
  std::unique_ptr<net::HttpServer> http;
  std::unique_ptr<session::Sweeper> sweeper;
  std::string dev_key;
};

Result<std::unique_ptr<Server>> Server::create(const config::Config& config) {
  if (auto s = config::validate(config); !s) return s.error();
  auto parts = std::make_unique<Parts>();
  auto& p = *parts;
  p.config = config;
  const auto listen = *config::parse_host_port(config.listen);

  // Bind first: with port 0 (tests) the URL in every credential needs the real port.
  net::HttpServerOptions http;
  http.host = listen.host;
  http.port = listen.port;
  http.threads = static_cast<int>(config.io_threads);
  http.max_body_bytes = static_cast<size_t>(config.max_body_bytes);
  // Every answer of a dev node says so (docs/api.md), whichever part of the server wrote it.
  if (config.dev) http.response_headers.emplace_back("X-Ithaca-Dev-Only", "true");
  Parts* raw = parts.get();
  // Requests arrive only after start(), when every part below exists.
  http.websocket_acceptor = [raw](const net::HttpRequest& r) { return raw->signaling->accept(r); };
  p.http = std::make_unique<net::HttpServer>(http, [raw](net::HttpRequest r, net::Respond done) {
    if (is_signaling_path(r.path)) return done(raw->signaling->handle_http(r));
    // The API answers browsers under signaling's CORS policy too: the official Odyssey SDK's
    // connect() in a trusted page calls /auth/token, /regions and /sessions/* cross-origin.
    const signaling::CorsPolicy& cors = raw->signaling->cors();
    if (r.method == "OPTIONS") return done(cors.preflight(r));
    if (!r.header("origin").empty()) {
      net::HttpRequest origin;
      origin.headers.emplace_back("origin", std::string(r.header("origin")));
      done = [&cors, origin = std::move(origin), done = std::move(done)](net::HttpResponse res) {
        cors.apply(origin, res);
        done(std::move(res));
      };
    }
    if (broadcast::BroadcastService::is_broadcast_path(r.path)) {
      return raw->broadcasts->handle(std::move(r), std::move(done));
    }
    raw->api->handle(std::move(r), std::move(done));
  });
  if (auto s = p.http->listen(); !s) return s.error();
  p.public_url =
      strip_slash(config.public_url.empty()
                      ? "http://" +
                            (listen.host.find(':') != std::string::npos ? "[" + listen.host + "]"
                                                                        : listen.host) +
                            ":" + std::to_string(p.http->port())
                      : config.public_url);

  auto store = store::open_store(config.store, config.data_dir);
  if (!store) return std::move(store).error();
  p.store = std::move(*store);
  if (auto* redis = dynamic_cast<store::RedisStore*>(p.store.get())) {
    cluster::NodeIdentity self;
    self.node_id = config.node_id.empty() ? random_token(8) : config.node_id;
    self.signaling_url = ws_url_of(p.public_url) + "/signaling";
    self.lease = milliseconds(config.lease_ms);
    p.cluster_registry = std::make_unique<cluster::RedisStreamerRegistry>(redis->pool(), self);
    p.placement = p.cluster_registry.get();
  }
  auto keys = config::load_key_ring(config);
  if (!keys) return std::move(keys).error();
  p.keys = std::move(*keys);

  session::SessionRules rules;
  rules.token_ttl = seconds(config.ttl_seconds);
  rules.idle_timeout = seconds(config.idle_timeout_seconds);
  rules.token_leeway = seconds(config.leeway_seconds);
  rules.audience = config.audience;
  rules.signaling_url = ws_url_of(p.public_url) + "/signaling";
  rules.metadata_max_entries = static_cast<size_t>(config.metadata_max_entries);
  rules.metadata_max_bytes = static_cast<size_t>(config.metadata_max_bytes);
  rules.mint_rate_per_second = config.mint_rate_per_second;
  rules.mint_burst = config.mint_burst;
  rules.default_model = config.default_model;
  p.session_metrics = std::make_unique<session::SessionMetrics>(p.metrics);
  p.sessions = std::make_unique<session::SessionService>(
      *p.store, *p.placement, p.keys, SystemClock::instance(), rules, *p.session_metrics);
  auto secret = config::load_streamer_secret(config);
  if (!secret) return std::move(secret).error();
  p.streamer_secret = std::move(*secret);
  p.signaling = std::make_unique<signaling::SignalingHub>(
      signaling::signaling_options(config, p.streamer_secret),
      signaling::SignalingDeps{*p.sessions, *p.placement, *p.store, p.keys, SystemClock::instance(),
                               p.metrics});
  broadcast::BroadcastOptions broadcast_options;
  broadcast_options.public_url = p.public_url;
  broadcast_options.audience = config.audience;
  broadcast_options.max_spectators = static_cast<int>(config.max_spectators);
  broadcast_options.spectator_token_ttl = seconds(config.spectator_token_ttl_seconds);
  p.broadcasts = std::make_unique<broadcast::BroadcastService>(
      broadcast_options, p.keys, SystemClock::instance(),
      [hub = p.signaling.get()](const std::string& streamer, std::string message) {
        return hub->send_to_streamer(streamer, std::move(message));
      },
      p.metrics);
  p.signaling->set_broadcast_link(p.broadcasts.get());
  if (p.cluster_registry) {
    auto* hub = p.signaling.get();
    p.end_relay = std::make_unique<cluster::SessionEndRelay>(
        dynamic_cast<store::RedisStore&>(*p.store).pool(), p.cluster_registry->self().node_id,
        [hub](const session::SessionRecord& s) { hub->session_ended_elsewhere(s); });
    p.sessions->add_end_listener(p.end_relay.get());
  }
  api::AuthLimits auth_limits;
  auth_limits.max_failures_per_address = config.max_failures_per_address;
  auth_limits.max_failures_per_key = config.max_failures_per_key;
  auth_limits.window = seconds(config.failure_window_seconds);
  p.authenticator = std::make_unique<api::Authenticator>(*p.store, p.keys, SystemClock::instance(),
                                                         config.audience, config.leeway_seconds,
                                                         auth_limits, &p.metrics);

  api::ApiOptions api_options;
  api_options.public_url = p.public_url;
  api_options.region = config.region;
  api_options.access_token_ttl = seconds(config.access_token_ttl_seconds);
  api_options.worker_threads = static_cast<int>(config.worker_threads);
  api_options.dev = config.dev;
  api_options.metrics_token_sha256 = config.metrics_bearer_token.empty()
                                         ? config.metrics_bearer_token_sha256
                                         : auth::hash_api_key_secret(config.metrics_bearer_token);
  api_options.spectator_tokens = [b = p.broadcasts.get()](const std::string& session_id) {
    return b->spectator_token_for_session(session_id);
  };
  api_options.streamers = p.placement;
  p.api = std::make_unique<api::ControlPlaneApi>(*p.sessions, *p.store, *p.authenticator, p.metrics,
                                                 api_options);
  if (config.dev) {
    auto key = ensure_dev_key(*p.store, config);
    if (!key) return std::move(key).error();
    p.dev_key = std::move(*key);
  }
  return std::unique_ptr<Server>(new Server(std::move(parts)));
}

Server::Server(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
Server::~Server() {
  stop();
}

Status Server::start() {
  auto& p = *parts_;
  if (p.cluster_registry) {
    // Other nodes' connected sessions are theirs: this node's leftovers are handled when their
    // streamers link again (ClusterNode) or their leases expire.
    p.cluster = std::make_unique<cluster::ClusterNode>(*p.cluster_registry, *p.sessions, *p.store);
  } else if (auto live = p.store->list_live_sessions(""); live) {
    // A previous process's connected sessions lost their connections with it.
    for (const auto& s : *live) {
      if (s.state == session::SessionState::connected) (void)p.sessions->on_unclean_drop(s.id);
    }
  } else {
    return live.error();
  }
  if (auto s = p.http->start(); !s) return s;
  // One node: sessions of a previous process whose streamer does not link again within the grace
  // end (streamer_disconnected). A cluster leaves that to the streamers' leases (ClusterNode).
  session::Sweeper::StreamerPresent present;
  if (!p.cluster_registry) {
    present = [raw = &p.registry](const std::string& streamer_id) {
      for (const auto& load : raw->snapshot()) {
        if (load.info.id == streamer_id) return true;
      }
      return false;
    };
  }
  p.sweeper = std::make_unique<session::Sweeper>(
      *p.sessions, *p.store, SystemClock::instance(), milliseconds(p.config.sweep_interval_ms),
      std::chrono::hours(p.config.retention_hours),
      std::chrono::seconds(p.config.streamer_reconnect_grace_seconds), std::move(present));
  logger("server")->info("listening url={} store={} dev={} node={}", p.public_url,
                         p.config.store.empty() ? "sqlite:ithaca.db" : p.config.store, p.config.dev,
                         p.cluster_registry ? p.cluster_registry->self().node_id : "-");
  return ok_status();
}

void Server::stop() {
  auto& p = *parts_;
  if (!p.http) return;
  // Order matters: answers to requests in flight are posted to the HTTP server's io_context, so
  // it must outlive every piece of work that can still answer.
  p.sweeper.reset();
  // No more heartbeats: if this node does not come back, its streamers' leases run out and the
  // other nodes end their sessions.
  p.cluster.reset();
  // Clients get shutting_down (1001) while the network threads still run to send it; their
  // drops are written before the store closes. Connections that report later are ignored.
  p.signaling->stop();
  p.broadcasts->stop();  // pending WHEP offers get shutting_down
  p.http->stop();        // no new requests; network threads joined (io_context still alive)
  p.api.reset();         // runs the API work already queued; its answers go nowhere
  p.store.reset();       // completes queued writes; their mint callbacks still find the service
  p.http.reset();
}

uint16_t Server::port() const {
  return parts_->http->port();
}
const std::string& Server::public_url() const {
  return parts_->public_url;
}
session::LocalStreamerRegistry& Server::registry() {
  return parts_->registry;
}
session::Store& Server::store() {
  return *parts_->store;
}
const std::string& Server::dev_api_key() const {
  return parts_->dev_key;
}
const std::string& Server::streamer_secret() const {
  return parts_->streamer_secret;
}

namespace {
sigset_t stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  return signals;
}
}  // namespace

void block_stop_signals() {
  const sigset_t signals = stop_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

int wait_for_stop_signal() {
  const sigset_t signals = stop_signals();
  int sig = 0;
  sigwait(&signals, &sig);
  return sig;
}

Status Server::add_streamer(const session::StreamerInfo& info) {
  auto placed = parts_->store->sessions_on_streamer(info.id);
  if (!placed) return placed.error();
  parts_->placement->upsert(info, static_cast<int>(placed->size()));
  return ok_status();
}

}  // namespace ithaca::app
