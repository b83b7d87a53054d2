#include "ithaca/broadcast/broadcast_service.hpp"

#include <gtest/gtest.h>

#include <future>
#include <random>

#include "ithaca/base/encoding.hpp"

namespace ithaca::broadcast {
namespace {

using nlohmann::json;

class BroadcastServiceTest : public ::testing::Test {
 protected:
  BroadcastServiceTest() {
    keys_ = *auth::TokenKeyRing::create({"k1", std::string(32, 'k')});
    options_.public_url = "http://node:1";
    options_.audience = "ithaca";
    options_.max_spectators = 2;
    options_.answer_timeout = std::chrono::milliseconds(300);
    make();
  }

  void make() {
    service_ = std::make_unique<BroadcastService>(
        options_, keys_, clock_,
        [this](const std::string& streamer, std::string message) {
          if (streamer != connected_) return false;
          std::lock_guard lock(mu_);
          sent_.push_back(json::parse(message));
          return true;
        },
        metrics_);
  }

  json last_sent() {
    std::lock_guard lock(mu_);
    return sent_.empty() ? json() : sent_.back();
  }

  // The streamer opens a broadcast; returns the broadcast_opened reply.
  json open(const std::string& stream = "st_1", bool hls = true) {
    service_->on_streamer_message(
        "s1",
        {{"type", "broadcast_open"}, {"session_id", "ses_1"}, {"stream_id", stream}, {"hls", hls}});
    return last_sent();
  }

  // Sends a request; returns the response once answered (within 2 s).
  std::future<net::HttpResponse> request(const std::string& method, const std::string& target,
                                         std::string body = "v=0\r\n",
                                         std::string type = "application/sdp") {
    net::HttpRequest r;
    r.method = method;
    const auto q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) r.query = target.substr(q + 1);
    r.headers.emplace_back("content-type", std::move(type));
    r.body = std::move(body);
    auto promise = std::make_shared<std::promise<net::HttpResponse>>();
    auto future = promise->get_future();
    service_->handle(std::move(r), [promise](net::HttpResponse res) { promise->set_value(res); });
    return future;
  }

  static std::string code_of(const net::HttpResponse& r) {
    const json body = json::parse(r.body, nullptr, false);
    return body.is_object() ? body["detail"].value("code", "") : "";
  }

  // POSTs an offer and answers it as the streamer would.
  net::HttpResponse join(const std::string& token, const std::string& stream = "st_1") {
    auto response = request("POST", "/broadcast/" + stream + "/whep?token=" + token);
    const json offer = last_sent();
    if (offer.value("type", "") == "viewer_offer") {
      service_->on_streamer_message("s1", {{"type", "viewer_answer"},
                                           {"session_id", "ses_1"},
                                           {"stream_id", stream},
                                           {"viewer_id", offer["viewer_id"]},
                                           {"sdp", "v=0\r\nanswer\r\n"}});
    }
    return response.get();
  }

  BroadcastOptions options_;
  std::shared_ptr<const auth::TokenKeyRing> keys_;
  ManualClock clock_{from_unix_seconds(1'800'000'000)};
  metrics::Registry metrics_;
  std::string connected_ = "s1";
  std::mutex mu_;
  std::vector<json> sent_;
  std::unique_ptr<BroadcastService> service_;
};

TEST_F(BroadcastServiceTest, OpeningMintsASpectatorTokenBoundToTheStream) {
  const json opened = open();
  ASSERT_EQ(opened["type"], "broadcast_opened");
  EXPECT_EQ(opened["webrtc_url"], "http://node:1/broadcast/st_1");
  EXPECT_EQ(
      opened["broadcast_url"].get<std::string>().rfind("http://node:1/broadcast/st_1/hls/", 0), 0u);
  auth::VerifyRules rules;
  rules.audience = "ithaca";
  rules.role = auth::Role::spectator;
  auto claims = keys_->verify(opened["spectator_token"].get<std::string>(), rules,
                              to_unix_seconds(clock_.now()));
  ASSERT_TRUE(claims) << claims.error().to_string();
  EXPECT_EQ(claims->subject, "st_1");
  EXPECT_EQ(claims->session_id, "ses_1");
  // The same token is no player credential.
  rules.role = auth::Role::player;
  EXPECT_FALSE(keys_->verify(opened["spectator_token"].get<std::string>(), rules,
                             to_unix_seconds(clock_.now())));
  EXPECT_FALSE(open(/*stream=*/"st_2", /*hls=*/false).contains("broadcast_url"));
  EXPECT_EQ(service_->stream_count(), 1u) << "a new stream of the session replaces the old one";
}

TEST_F(BroadcastServiceTest, WhepAnswersWithTheStreamersSdpAndALocation) {
  const std::string token = open()["spectator_token"];
  auto response = request("POST", "/broadcast/st_1/whep?token=" + token, "v=0\r\noffer\r\n");
  const json offer = last_sent();
  ASSERT_EQ(offer["type"], "viewer_offer");
  EXPECT_EQ(offer["sdp"], "v=0\r\noffer\r\n");
  EXPECT_EQ(offer["session_id"], "ses_1");
  service_->on_streamer_message("s1", {{"type", "viewer_answer"},
                                       {"session_id", "ses_1"},
                                       {"stream_id", "st_1"},
                                       {"viewer_id", offer["viewer_id"]},
                                       {"sdp", "v=0\r\nanswer\r\n"}});
  const auto r = response.get();
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.content_type, "application/sdp");
  EXPECT_EQ(r.body, "v=0\r\nanswer\r\n");
  std::string location;
  for (const auto& [k, v] : r.headers) {
    if (k == "Location") location = v;
  }
  EXPECT_EQ(location,
            "/broadcast/st_1/whep/" + offer["viewer_id"].get<std::string>() + "?token=" + token);
  EXPECT_EQ(service_->viewer_count("st_1"), 1u);
}

TEST_F(BroadcastServiceTest, RefusesBadTokensUnknownStreamsAndWrongContent) {
  const std::string token = open()["spectator_token"];
  EXPECT_EQ(request("POST", "/broadcast/st_1/whep").get().status, 401);
  EXPECT_EQ(request("POST", "/broadcast/st_1/whep?token=garbage").get().status, 401);
  EXPECT_EQ(code_of(request("POST", "/broadcast/st_1/whep?token=x.y.z").get()),
            "spectator_token_invalid");
  // A token for another stream is not valid for this one.
  EXPECT_EQ(request("POST", "/broadcast/st_9/whep?token=" + token).get().status, 401);
  EXPECT_EQ(
      request("POST", "/broadcast/st_1/whep?token=" + token, "v=0", "text/plain").get().status,
      415);
  EXPECT_EQ(request("POST", "/broadcast/st_1/whep?token=" + token, "").get().status, 400);
  EXPECT_EQ(request("GET", "/broadcast/st_1/whep?token=" + token).get().status, 405);
  EXPECT_EQ(request("POST", "/broadcast/st_1/nope").get().status, 404);
  EXPECT_EQ(request("POST", "/broadcast//whep").get().status, 404);
  // A player token is refused: wrong role.
  auth::TokenClaims player;
  player.session_id = "ses_1";
  player.audience = "ithaca";
  player.jti = "j";
  player.subject = "st_1";
  player.issued_at = to_unix_seconds(clock_.now());
  player.expires_at = player.issued_at + 60;
  EXPECT_EQ(request("POST", "/broadcast/st_1/whep?token=" + keys_->sign(player)).get().status, 401);
  // An expired spectator token.
  clock_.advance(seconds(3601 + 10));
  EXPECT_EQ(request("POST", "/broadcast/st_1/whep?token=" + token).get().status, 401);
}

// An offer that is not UTF-8 (random bytes) is a 400 before it reaches the streamer or takes a
// spectator place; it once made dump() throw (json.exception.type_error.316) and a 500.
TEST_F(BroadcastServiceTest, AnOfferThatIsNotUtf8IsA400) {
  const std::string token = open()["spectator_token"];
  std::mt19937 rng(7);
  std::string junk(2000, '\0');
  for (auto& c : junk) c = static_cast<char>(rng());
  junk[0] = '\xff';
  const size_t sent_before = [&] {
    std::lock_guard lock(mu_);
    return sent_.size();
  }();
  for (const std::string& body : {junk, std::string("v=0\r\ns=\xc3\x28\r\n")}) {
    const auto r = request("POST", "/broadcast/st_1/whep?token=" + token, body).get();
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(code_of(r), "invalid_request");
  }
  EXPECT_EQ(service_->viewer_count("st_1"), 0u);
  std::lock_guard lock(mu_);
  EXPECT_EQ(sent_.size(), sent_before);
}

TEST_F(BroadcastServiceTest, CapsSpectatorsPerStream) {
  const std::string token = open()["spectator_token"];
  EXPECT_EQ(join(token).status, 201);
  EXPECT_EQ(join(token).status, 201);
  const auto third = join(token);
  EXPECT_EQ(third.status, 503);
  EXPECT_EQ(code_of(third), "spectator_limit_reached");
}

TEST_F(BroadcastServiceTest, OnlyTheCreatingTokenMayDelete) {
  const std::string mine = open()["spectator_token"];
  auto other = service_->spectator_token_for_session("ses_1");
  ASSERT_TRUE(other);
  const std::string theirs = (*other)["spectator_token"];
  ASSERT_NE(mine, theirs);
  const auto joined = join(mine);
  ASSERT_EQ(joined.status, 201);
  std::string location;
  for (const auto& [k, v] : joined.headers) {
    if (k == "Location") location = v.substr(0, v.find('?'));
  }
  EXPECT_EQ(request("DELETE", location + "?token=" + theirs).get().status, 403);
  EXPECT_EQ(request("DELETE", location).get().status, 401);
  EXPECT_EQ(request("DELETE", location + "?token=" + mine).get().status, 204);
  EXPECT_EQ(last_sent()["type"], "viewer_close");
  EXPECT_EQ(request("DELETE", location + "?token=" + mine).get().status, 404);
  EXPECT_EQ(service_->viewer_count("st_1"), 0u);
}

TEST_F(BroadcastServiceTest, TheStreamsEndClosesEverything) {
  const std::string token = open()["spectator_token"];
  auto pending = request("POST", "/broadcast/st_1/whep?token=" + token);
  service_->on_streamer_message(
      "s1", {{"type", "broadcast_close"}, {"session_id", "ses_1"}, {"stream_id", "st_1"}});
  EXPECT_EQ(pending.get().status, 404);
  const auto again = request("POST", "/broadcast/st_1/whep?token=" + token).get();
  EXPECT_EQ(again.status, 404);
  EXPECT_EQ(code_of(again), "stream_not_found");
  EXPECT_FALSE(service_->spectator_token_for_session("ses_1"));
}

TEST_F(BroadcastServiceTest, ALostStreamerEndsItsBroadcasts) {
  const std::string token = open()["spectator_token"];
  service_->on_streamer_lost("s2");
  EXPECT_EQ(service_->stream_count(), 1u);
  service_->on_streamer_lost("s1");
  EXPECT_EQ(service_->stream_count(), 0u);
  EXPECT_EQ(request("POST", "/broadcast/st_1/whep?token=" + token).get().status, 404);
}

TEST_F(BroadcastServiceTest, AStreamerThatFailsOrIsSilentGetsTheViewerRefused) {
  const std::string token = open()["spectator_token"];
  auto failed = request("POST", "/broadcast/st_1/whep?token=" + token);
  service_->on_streamer_message("s1", {{"type", "viewer_failed"},
                                       {"session_id", "ses_1"},
                                       {"stream_id", "st_1"},
                                       {"viewer_id", last_sent()["viewer_id"]},
                                       {"reason", "invalid_request"},
                                       {"message", "the offer cannot receive H264"}});
  EXPECT_EQ(failed.get().status, 400);
  const auto start = std::chrono::steady_clock::now();
  const auto silent = request("POST", "/broadcast/st_1/whep?token=" + token).get();
  EXPECT_EQ(silent.status, 503);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(250));
  EXPECT_EQ(service_->viewer_count("st_1"), 0u);
  // The streamer is not connected at all.
  connected_ = "nobody";
  EXPECT_EQ(request("POST", "/broadcast/st_1/whep?token=" + token).get().status, 503);
}

// A viewer refused for lateness (503) holds no spectator place, here or on the streamer: the
// streamer is told to close it, and an answer arriving after the refusal closes it too.
TEST_F(BroadcastServiceTest, AViewerThatTimedOutHoldsNoPlaceAnywhere) {
  const std::string token = open()["spectator_token"];
  auto silent = request("POST", "/broadcast/st_1/whep?token=" + token);
  const std::string late_id = last_sent()["viewer_id"];
  EXPECT_EQ(silent.get().status, 503);
  json closed = last_sent();
  EXPECT_EQ(closed["type"], "viewer_close");
  EXPECT_EQ(closed["viewer_id"], late_id);
  EXPECT_EQ(closed["stream_id"], "st_1");
  {
    std::lock_guard lock(mu_);
    sent_.clear();
  }
  // The streamer's answer comes after the refusal: the peer it made is closed at once.
  service_->on_streamer_message("s1", {{"type", "viewer_answer"},
                                       {"session_id", "ses_1"},
                                       {"stream_id", "st_1"},
                                       {"viewer_id", late_id},
                                       {"sdp", "v=0\r\nanswer\r\n"}});
  closed = last_sent();
  EXPECT_EQ(closed["type"], "viewer_close");
  EXPECT_EQ(closed["viewer_id"], late_id);
  EXPECT_EQ(service_->viewer_count("st_1"), 0u);
  // Both places are free for viewers that do get answered.
  EXPECT_EQ(join(token).status, 201);
  EXPECT_EQ(join(token).status, 201);
  EXPECT_EQ(service_->viewer_count("st_1"), 2u);
}

TEST_F(BroadcastServiceTest, ServesHlsBehindTheUnguessableKey) {
  const std::string url = open()["broadcast_url"];
  const std::string base = url.substr(std::string("http://node:1").size());
  const std::string dir = base.substr(0, base.rfind('/') + 1);
  EXPECT_EQ(request("GET", base).get().status, 404) << "no segment yet";
  const std::string playlist = "#EXTM3U\n#EXTINF:2.0,\nsegment00000.ts\n";
  service_->on_streamer_message("s1", {{"type", "hls_segment"},
                                       {"session_id", "ses_1"},
                                       {"stream_id", "st_1"},
                                       {"name", "segment00000.ts"},
                                       {"data", base64url_encode("TSDATA")},
                                       {"playlist", playlist}});
  const auto p = request("GET", base).get();
  EXPECT_EQ(p.status, 200);
  EXPECT_EQ(p.body, playlist);
  EXPECT_EQ(p.content_type, "application/vnd.apple.mpegurl");
  const auto s = request("GET", dir + "segment00000.ts").get();
  EXPECT_EQ(s.status, 200);
  EXPECT_EQ(s.body, "TSDATA");
  EXPECT_EQ(request("GET", dir + "segment00001.ts").get().status, 404);
  EXPECT_EQ(request("GET", "/broadcast/st_1/hls/wrongkey/index.m3u8").get().status, 404);
  // Malformed segments are ignored: bad name, bad data, bad playlist.
  for (const json& bad : {json{{"name", "../x.ts"}, {"data", "QQ"}, {"playlist", "#EXTM3U"}},
                          json{{"name", "segment1.ts"}, {"data", "!!"}, {"playlist", "#EXTM3U"}},
                          json{{"name", "segment1.ts"}, {"data", "QQ"}, {"playlist", "x"}}}) {
    json m = bad;
    m["type"] = "hls_segment";
    m["session_id"] = "ses_1";
    m["stream_id"] = "st_1";
    service_->on_streamer_message("s1", m);
  }
  EXPECT_EQ(request("GET", base).get().body, playlist);
}

}  // namespace
}  // namespace ithaca::broadcast
