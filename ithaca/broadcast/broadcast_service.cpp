#include "ithaca/broadcast/broadcast_service.hpp"

#include "ithaca/base/encoding.hpp"
#include "ithaca/base/log.hpp"
#include "ithaca/base/random.hpp"
#include "ithaca/signaling/upgrade.hpp"

namespace ithaca::broadcast {
namespace {

using net::HttpRequest;
using net::HttpResponse;
using nlohmann::json;
using nlohmann::ordered_json;

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("broadcast");
  return l;
}

constexpr std::string_view kPrefix = "/broadcast/";
constexpr size_t kMaxSdpBytes = 64 * 1024;

HttpResponse error(ErrorCode code, std::string detail = {}) {
  return net::error_response(detail.empty() ? make_error(code) : make_error(code, detail));
}

// "/broadcast/a/b/c" -> {"a", "b", "c"}; empty parts make it not a broadcast path.
std::vector<std::string> parts_of(std::string_view path) {
  std::vector<std::string> parts;
  path.remove_prefix(kPrefix.size());
  while (!path.empty()) {
    const auto slash = path.find('/');
    const auto part = path.substr(0, slash);
    if (part.empty() || part.size() > 128) return {};
    parts.emplace_back(part);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
    if (path.empty()) return {};  // a trailing slash
  }
  return parts;
}

std::string viewer_close_message(const std::string& session_id, const std::string& stream_id,
                                 const std::string& viewer_id) {
  return json{{"type", "viewer_close"},
              {"session_id", session_id},
              {"stream_id", stream_id},
              {"viewer_id", viewer_id}}
      .dump();
}

std::string string_of(const json& m, const char* field) {
  const auto it = m.find(field);
  return it != m.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Segment names are the streamer's ("segment00042.ts"); only that shape is stored or served.
bool valid_segment_name(std::string_view name) {
  if (name.size() < 4 || name.size() > 32 || name.substr(name.size() - 3) != ".ts") return false;
  for (char c : name.substr(0, name.size() - 3)) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

// The spectator token a request presents: ?token= (what the official SDKs send) or Bearer.
std::optional<std::string> token_of(const HttpRequest& request) {
  std::optional<std::string> token = request.query_param("token");
  if (!token) token = signaling::bearer_token(request);
  if (token && token->empty()) token.reset();
  return token;
}

}  // namespace

BroadcastService::BroadcastService(BroadcastOptions options,
                                   std::shared_ptr<const auth::TokenKeyRing> keys,
                                   const Clock& clock, SendToStreamer send,
                                   metrics::Registry& metrics)
    : options_(std::move(options)),
      keys_(std::move(keys)),
      clock_(clock),
      send_(std::move(send)),
      viewers_joined_(
          metrics.counter("ithaca_spectators_joined_total", "WHEP spectators that got an answer.")),
      viewers_refused_(metrics.counter("ithaca_spectators_refused_total",
                                       "WHEP offers refused (token, stream, cap, streamer).")) {
  timer_ = std::thread([this] { run_timer(); });
}

BroadcastService::~BroadcastService() {
  stop();
}

void BroadcastService::stop() {
  std::vector<net::Respond> pending;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& [id, stream] : streams_) {
      for (auto& [vid, viewer] : stream.viewers) {
        if (viewer.pending) pending.push_back(std::move(viewer.pending));
      }
    }
  }
  cv_.notify_all();
  if (timer_.joinable()) timer_.join();
  for (auto& respond : pending) respond(error(ErrorCode::shutting_down));
}

bool BroadcastService::is_broadcast_path(std::string_view path) {
  return path.substr(0, kPrefix.size()) == kPrefix;
}

void BroadcastService::handle(HttpRequest request, net::Respond respond) {
  const auto parts = parts_of(request.path);
  const std::string& m = request.method;
  if (parts.size() == 2 && parts[1] == "whep") {
    if (m != "POST") return respond(error(ErrorCode::method_not_allowed));
    return whep_post(request, parts[0], std::move(respond));
  }
  if (parts.size() == 3 && parts[1] == "whep") {
    if (m != "DELETE") return respond(error(ErrorCode::method_not_allowed));
    return respond(whep_delete(request, parts[0], parts[2]));
  }
  if (parts.size() == 4 && parts[1] == "hls") {
    if (m != "GET" && m != "HEAD") return respond(error(ErrorCode::method_not_allowed));
    return respond(hls_get(parts[0], parts[2], parts[3]));
  }
  respond(error(ErrorCode::not_found));
}

Result<auth::TokenClaims> BroadcastService::check_token(const HttpRequest& request,
                                                        const std::string& stream_id) const {
  const std::optional<std::string> token = token_of(request);
  if (!token) {
    return make_error(ErrorCode::spectator_token_invalid,
                      "no spectator token: give ?token= or Authorization: Bearer");
  }
  auth::VerifyRules rules;
  rules.audience = options_.audience;
  rules.role = auth::Role::spectator;
  auto claims = keys_->verify(*token, rules, to_unix_seconds(clock_.now()));
  if (!claims) {
    return make_error(ErrorCode::spectator_token_invalid,
                      "the spectator token is not valid: " + std::string(claims.error().name()));
  }
  if (claims->subject != stream_id) {
    return make_error(ErrorCode::spectator_token_invalid, "the token is for another stream");
  }
  return claims;
}

std::string BroadcastService::mint_token(const std::string& session_id,
                                         const std::string& stream_id) const {
  auth::TokenClaims claims;
  claims.session_id = session_id;
  claims.role = auth::Role::spectator;
  claims.audience = options_.audience;
  claims.jti = random_id("spt_");
  claims.subject = stream_id;
  claims.issued_at = to_unix_seconds(clock_.now());
  claims.expires_at = claims.issued_at + options_.spectator_token_ttl.count();
  return keys_->sign(claims);
}

std::string BroadcastService::webrtc_url(const std::string& stream_id) const {
  return options_.public_url + std::string(kPrefix) + stream_id;
}

std::string BroadcastService::hls_url(const std::string& stream_id, const Stream& s) const {
  if (s.hls_key.empty()) return {};
  return webrtc_url(stream_id) + "/hls/" + s.hls_key + "/index.m3u8";
}

void BroadcastService::whep_post(const HttpRequest& request, const std::string& stream_id,
                                 net::Respond respond) {
  auto refuse = [&](HttpResponse r) {
    viewers_refused_.inc();
    respond(std::move(r));
  };
  auto claims = check_token(request, stream_id);
  if (!claims) return refuse(net::error_response(claims.error()));
  const std::string_view type = request.header("content-type");
  if (type.substr(0, 15) != "application/sdp") {
    return refuse(error(ErrorCode::unsupported_media_type, "a WHEP offer is application/sdp"));
  }
  if (request.body.empty() || request.body.size() > kMaxSdpBytes) {
    return refuse(error(ErrorCode::invalid_request, "the offer must be 1 byte to 64 KiB of SDP"));
  }
  // SDP is UTF-8 text (RFC 8866 5): anything else cannot be relayed as JSON to the streamer.
  if (!is_valid_utf8(request.body)) {
    return refuse(error(ErrorCode::invalid_request, "the offer is not UTF-8 text"));
  }
  const std::string viewer_id = random_id("vw_");
  std::string streamer_id, session_id;
  {
    std::lock_guard lock(mu_);
    auto it = streams_.find(stream_id);
    if (stopping_) return refuse(error(ErrorCode::shutting_down));
    if (it == streams_.end() || it->second.session_id != claims->session_id) {
      return refuse(error(ErrorCode::stream_not_found));
    }
    Stream& s = it->second;
    if (static_cast<int>(s.viewers.size()) >= options_.max_spectators) {
      return refuse(error(ErrorCode::spectator_limit_reached,
                          "this stream has " + std::to_string(s.viewers.size()) +
                              " spectators, the most this server allows"));
    }
    s.viewers[viewer_id] = Viewer{claims->jti, std::move(respond), *token_of(request),
                                  std::chrono::steady_clock::now() + options_.answer_timeout};
    streamer_id = s.streamer_id;
    session_id = s.session_id;
  }
  const bool sent = send_(streamer_id, json{{"type", "viewer_offer"},
                                            {"session_id", session_id},
                                            {"stream_id", stream_id},
                                            {"viewer_id", viewer_id},
                                            {"sdp", request.body}}
                                           .dump());
  if (!sent) {
    answered(json{{"stream_id", stream_id},
                  {"viewer_id", viewer_id},
                  {"reason", "streamer_not_available"},
                  {"message", "the stream's streamer is not connected"}},
             false);
  }
}

HttpResponse BroadcastService::whep_delete(const HttpRequest& request, const std::string& stream_id,
                                           const std::string& viewer_id) {
  auto claims = check_token(request, stream_id);
  if (!claims) return net::error_response(claims.error());
  std::string streamer_id, session_id;
  {
    std::lock_guard lock(mu_);
    auto it = streams_.find(stream_id);
    if (it == streams_.end()) return error(ErrorCode::stream_not_found);
    auto viewer = it->second.viewers.find(viewer_id);
    if (viewer == it->second.viewers.end()) {
      return error(ErrorCode::not_found, "no such spectator on this stream");
    }
    if (viewer->second.token_id != claims->jti) {
      return error(ErrorCode::forbidden, "only the token that created a spectator may end it");
    }
    if (viewer->second.pending) return error(ErrorCode::invalid_request, "not answered yet");
    it->second.viewers.erase(viewer);
    streamer_id = it->second.streamer_id;
    session_id = it->second.session_id;
  }
  send_(streamer_id, viewer_close_message(session_id, stream_id, viewer_id));
  HttpResponse r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

HttpResponse BroadcastService::hls_get(const std::string& stream_id, const std::string& key,
                                       const std::string& file) {
  std::shared_ptr<const std::string> body;
  {
    std::lock_guard lock(mu_);
    auto it = streams_.find(stream_id);
    // The key is the credential: compared in constant time, and a wrong one looks like no stream.
    if (it == streams_.end() || it->second.hls_key.empty() ||
        !signaling::secret_matches(key, it->second.hls_key)) {
      return error(ErrorCode::stream_not_found);
    }
    const Stream& s = it->second;
    if (file == "index.m3u8") {
      body = s.playlist;
      if (!body) {
        HttpResponse r = error(ErrorCode::stream_not_found, "the first segment is not ready yet");
        r.headers.emplace_back("Retry-After", "1");
        return r;
      }
    } else {
      for (const auto& segment : s.segments) {
        if (segment.name == file) body = segment.bytes;
      }
      if (!body) return error(ErrorCode::not_found, "no such segment (any more)");
    }
  }
  HttpResponse r;
  const bool playlist = file == "index.m3u8";
  r.content_type = playlist ? "application/vnd.apple.mpegurl" : "video/mp2t";
  // The playlist changes every segment; a segment never changes (CDN-friendly).
  r.headers.emplace_back("Cache-Control", playlist ? "no-cache" : "public, max-age=60");
  r.body = *body;
  return r;
}

Result<ordered_json> BroadcastService::spectator_token_for_session(const std::string& session_id) {
  std::lock_guard lock(mu_);
  for (const auto& [id, s] : streams_) {
    if (s.session_id != session_id) continue;
    ordered_json out = {{"spectator_token", mint_token(session_id, id)},
                        {"webrtc_url", webrtc_url(id)}};
    if (const auto hls = hls_url(id, s); !hls.empty()) out["broadcast_url"] = hls;
    out["stream_id"] = id;
    out["expires_in"] = options_.spectator_token_ttl.count();
    return out;
  }
  return make_error(ErrorCode::stream_not_found, "this session broadcasts nothing now");
}

size_t BroadcastService::stream_count() const {
  std::lock_guard lock(mu_);
  return streams_.size();
}

size_t BroadcastService::viewer_count(const std::string& stream_id) const {
  std::lock_guard lock(mu_);
  auto it = streams_.find(stream_id);
  return it == streams_.end() ? 0 : it->second.viewers.size();
}

// ---- the streamer link ----

void BroadcastService::on_streamer_message(const std::string& streamer_id, const json& m) {
  const std::string type = string_of(m, "type");
  const std::string stream_id = string_of(m, "stream_id");
  if (type == "broadcast_open") return opened(streamer_id, m);
  if (type == "viewer_answer") return answered(m, true);
  if (type == "viewer_failed") return answered(m, false);
  if (type == "viewer_closed") return viewer_closed(m);
  if (type == "hls_segment") return segment(m);
  if (type == "broadcast_close") {
    close_streams([&](const std::string& id, const Stream& s) {
      return id == stream_id && s.streamer_id == streamer_id;
    });
  }
}

void BroadcastService::opened(const std::string& streamer_id, const json& m) {
  const std::string stream_id = string_of(m, "stream_id");
  const std::string session_id = string_of(m, "session_id");
  const auto hls = m.find("hls");
  json reply = {{"type", "broadcast_opened"}, {"session_id", session_id}, {"stream_id", stream_id}};
  // One broadcast per session: a new stream replaces the session's old one.
  close_streams([&](const std::string&, const Stream& s) { return s.session_id == session_id; });
  {
    std::lock_guard lock(mu_);
    if (streams_.count(stream_id)) {
      reply = {{"type", "broadcast_refused"},
               {"session_id", session_id},
               {"stream_id", stream_id},
               {"message", "this stream id is broadcasting already"}};
    } else {
      Stream& s = streams_[stream_id];
      s.session_id = session_id;
      s.streamer_id = streamer_id;
      if (hls != m.end() && hls->is_boolean() && hls->get<bool>()) s.hls_key = random_token(16);
      reply["webrtc_url"] = webrtc_url(stream_id);
      if (const auto url = hls_url(stream_id, s); !url.empty()) reply["broadcast_url"] = url;
      reply["spectator_token"] = mint_token(session_id, stream_id);
    }
  }
  log()->info("{} stream={} session={} streamer={}", reply["type"].get<std::string>(), stream_id,
              session_id, streamer_id);
  send_(streamer_id, reply.dump());
}

void BroadcastService::answered(const json& m, bool ok) {
  const std::string stream_id = string_of(m, "stream_id");
  const std::string viewer_id = string_of(m, "viewer_id");
  net::Respond respond;
  std::string token;
  {
    std::unique_lock lock(mu_);
    auto it = streams_.find(stream_id);
    if (it == streams_.end()) return;
    auto viewer = it->second.viewers.find(viewer_id);
    if (viewer == it->second.viewers.end() || !viewer->second.pending) {
      if (ok && viewer == it->second.viewers.end()) {
        // An answer for a viewer refused meanwhile (timed out): close the peer it made.
        const std::string streamer_id = it->second.streamer_id;
        std::string close = viewer_close_message(it->second.session_id, stream_id, viewer_id);
        lock.unlock();
        send_(streamer_id, std::move(close));
      }
      return;
    }
    respond = std::move(viewer->second.pending);
    viewer->second.pending = nullptr;
    token = std::exchange(viewer->second.token, {});
    if (!ok) it->second.viewers.erase(viewer);
  }
  if (!ok) {
    viewers_refused_.inc();
    ErrorCode code = ErrorCode::streamer_failed;
    const std::string reason = string_of(m, "reason");
    if (!parse_error_code(reason, code)) code = ErrorCode::streamer_failed;
    // What a streamer may say about an offer; anything else is its own failure.
    if (code != ErrorCode::invalid_request && code != ErrorCode::stream_not_found &&
        code != ErrorCode::streamer_not_available) {
      code = ErrorCode::streamer_failed;
    }
    return respond(error(code, string_of(m, "message")));
  }
  viewers_joined_.inc();
  HttpResponse r;
  r.status = 201;
  r.content_type = "application/sdp";
  r.body = string_of(m, "sdp");
  // Relative, with the token (base64url and dots: nothing to escape): the official SDK's DELETE
  // sends no Authorization header.
  std::string location =
      std::string(kPrefix) + stream_id + "/whep/" + viewer_id + "?token=" + token;
  r.headers.emplace_back("Location", std::move(location));
  respond(std::move(r));
}

void BroadcastService::viewer_closed(const json& m) {
  std::lock_guard lock(mu_);
  auto it = streams_.find(string_of(m, "stream_id"));
  if (it == streams_.end()) return;
  auto viewer = it->second.viewers.find(string_of(m, "viewer_id"));
  if (viewer != it->second.viewers.end() && !viewer->second.pending) {
    it->second.viewers.erase(viewer);
  }
}

void BroadcastService::segment(const json& m) {
  const std::string name = string_of(m, "name");
  auto bytes = base64url_decode(string_of(m, "data"));
  const std::string playlist = string_of(m, "playlist");
  if (!valid_segment_name(name) || !bytes || playlist.rfind("#EXTM3U", 0) != 0) {
    return log()->warn("ignoring a malformed hls_segment stream={}", string_of(m, "stream_id"));
  }
  std::lock_guard lock(mu_);
  auto it = streams_.find(string_of(m, "stream_id"));
  if (it == streams_.end() || it->second.hls_key.empty()) return;
  Stream& s = it->second;
  s.segments.push_back({name, std::make_shared<const std::string>(std::move(*bytes))});
  while (s.segments.size() > options_.hls_segments_kept) s.segments.pop_front();
  s.playlist = std::make_shared<const std::string>(playlist);
}

void BroadcastService::on_streamer_lost(const std::string& streamer_id) {
  close_streams([&](const std::string&, const Stream& s) { return s.streamer_id == streamer_id; });
}

void BroadcastService::close_streams(
    const std::function<bool(const std::string& id, const Stream& stream)>& which) {
  std::vector<net::Respond> pending;
  {
    std::lock_guard lock(mu_);
    for (auto it = streams_.begin(); it != streams_.end();) {
      if (!which(it->first, it->second)) {
        ++it;
        continue;
      }
      for (auto& [vid, viewer] : it->second.viewers) {
        if (viewer.pending) pending.push_back(std::move(viewer.pending));
      }
      log()->info("broadcast closed stream={} viewers={}", it->first, it->second.viewers.size());
      it = streams_.erase(it);
    }
  }
  for (auto& respond : pending) respond(error(ErrorCode::stream_not_found));
}

void BroadcastService::run_timer() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(250));
    const auto now = std::chrono::steady_clock::now();
    std::vector<net::Respond> late;
    std::vector<std::pair<std::string, std::string>> closes;  // (streamer, viewer_close)
    for (auto& [id, s] : streams_) {
      for (auto v = s.viewers.begin(); v != s.viewers.end();) {
        if (v->second.pending && v->second.deadline <= now) {
          late.push_back(std::move(v->second.pending));
          // The streamer may have made (or still make) a peer for it: it must not keep a
          // spectator place for a viewer that was refused.
          closes.emplace_back(s.streamer_id, viewer_close_message(s.session_id, id, v->first));
          v = s.viewers.erase(v);
        } else {
          ++v;
        }
      }
    }
    if (late.empty()) continue;
    lock.unlock();
    for (auto& [streamer, message] : closes) send_(streamer, std::move(message));
    for (auto& respond : late) {
      viewers_refused_.inc();
      respond(error(ErrorCode::streamer_not_available, "the streamer did not answer in time"));
    }
    lock.lock();
  }
}

}  // namespace ithaca::broadcast
