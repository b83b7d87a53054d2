// Broadcast end to end without a browser: a node and a streamer in this process, a host
// (WebRtcTestClient) that starts a stream with broadcast: true, and WHEP spectators
// (WhepViewer, webrtcbin + openh264dec). The browser and Python spectators are in
// tests/e2e/broadcast.test.mjs.
#include <gst/pbutils/pbutils.h>
#include <gtest/gtest.h>

#include "ithaca/net/http_client.hpp"
#include "ithaca/streamer/streamer.hpp"
#include "test_node.hpp"
#include "webrtc_test_client.hpp"
#include "whep_viewer.hpp"

namespace ithaca::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class BroadcastTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = std::make_unique<TestNode>([](config::Config& c) { c.max_spectators = 4; });
    key_ = node_->create_key("acme", 2);
    streamer::StreamerOptions o;
    o.server_url = "ws://127.0.0.1:" + std::to_string(node_->port());
    o.secret = node_->server().streamer_secret();
    o.streamer_id = "test-streamer";
    o.peer.spectators_direct = spectators_direct_;
    auto s = streamer::Streamer::create(std::move(o));
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    streamer_ = std::move(*s);
    streamer_->start();
    ASSERT_TRUE(streamer_->wait_registered(10s));
  }

  // A connected host whose stream broadcasts; returns broadcast_ready.
  json start_broadcast(WebRtcTestClient& host, json& creds) {
    creds = node_->call("POST", "/v1/client_credentials", key_, "{}").body;
    host.connect(creds);
    EXPECT_TRUE(host.wait_frames(3));
    host.send_command({{"type", "interactive_stream_start"},
                       {"prompt", "a lighthouse"},
                       {"portrait", false},
                       {"broadcast", true},
                       {"request_id", "b1"}});
    EXPECT_EQ(next(host)["type"], "stream_started");
    return next(host);
  }

  json next(WebRtcTestClient& c) {
    auto e = c.next_event(5s);
    EXPECT_TRUE(e.has_value()) << "no event within 5 s";
    return e.value_or(json::object());
  }

  int active_count() {
    return node_->call("GET", "/v1/usage", key_).body.value("active_count", -1);
  }

  void spectators_watch_the_host();

  bool spectators_direct_ = true;  // the streamer's fan-out sends (PeerOptions)

  std::unique_ptr<TestNode> node_;
  std::string key_;
  std::unique_ptr<streamer::Streamer> streamer_;
};

// The spectators' media through each one's webrtcbin: the way for routes the fan-out cannot
// take over (a TURN relay, ICE over TCP), and `--spectator-send webrtcbin`.
class BroadcastThroughWebrtcbinTest : public BroadcastTest {
 protected:
  BroadcastThroughWebrtcbinTest() { spectators_direct_ = false; }
};

TEST_F(BroadcastTest, SpectatorsSeeTheHostsStreamAndItsInteractions) {
  spectators_watch_the_host();
}

TEST_F(BroadcastThroughWebrtcbinTest, SpectatorsSeeTheHostsStreamAndItsInteractions) {
  spectators_watch_the_host();
}

void BroadcastTest::spectators_watch_the_host() {
  WebRtcTestClient host;
  json creds;
  const json ready = start_broadcast(host, creds);
  ASSERT_EQ(ready["type"], "broadcast_ready") << ready.dump();
  EXPECT_EQ(ready["request_id"], "b1");
  const std::string url = ready["webrtc_url"], token = ready["spectator_token"];
  EXPECT_EQ(url.rfind(node_->server().public_url() + "/broadcast/", 0), 0u);
  ASSERT_TRUE(ready.contains("broadcast_url"));

  std::vector<std::unique_ptr<WhepViewer>> viewers;
  for (int i = 0; i < 3; ++i) {
    viewers.push_back(std::make_unique<WhepViewer>());
    auto r = viewers.back()->connect(url, token);
    ASSERT_TRUE(r) << r.error().to_string();
    ASSERT_EQ(r->status, 201) << r->body;
    EXPECT_EQ(viewers.back()->location().rfind("/broadcast/", 0), 0u);
  }
  for (auto& v : viewers) {
    ASSERT_TRUE(v->wait_frames(5)) << "a spectator decoded nothing";
    EXPECT_TRUE(v->wait_marker(1)) << "a spectator does not see the host's stream";
  }
  host.send_command({{"type", "update"}, {"prompt", "at night"}});
  EXPECT_EQ(next(host)["type"], "update_acknowledged");
  for (auto& v : viewers) EXPECT_TRUE(v->wait_marker(2)) << "the interaction did not reach";
  EXPECT_EQ(active_count(), 1) << "spectators hold no slot";

  // The cap (4): a fifth spectator is refused while four watch.
  WhepViewer fourth, fifth;
  ASSERT_EQ(fourth.connect(url, token)->status, 201);
  EXPECT_EQ(fifth.connect(url, token)->status, 503);

  // Leaving with DELETE frees a place.
  auto left = viewers[0]->leave();
  ASSERT_TRUE(left);
  EXPECT_EQ(*left, 204);
  WhepViewer sixth;
  EXPECT_EQ(sixth.connect(url, token)->status, 201);

  // The stream's end ends the broadcast: WHEP answers 404 from then on.
  host.send_command({{"type", "interactive_stream_end"}});
  EXPECT_EQ(next(host)["type"], "stream_ended");
  WhepViewer late;
  auto after = late.connect(url, token);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 404) << after->body;
  host.disconnect();
}

TEST_F(BroadcastTest, ASpectatorTokenOpensNoPlayerSession) {
  WebRtcTestClient host;
  json creds;
  const json ready = start_broadcast(host, creds);
  ASSERT_EQ(ready["type"], "broadcast_ready");
  json spectator_creds = creds;
  spectator_creds["session_token"] = ready["spectator_token"];
  WebRtcTestClient intruder;
  intruder.connect(spectator_creds);
  auto error = intruder.wait_signaling_error();
  ASSERT_TRUE(error);
  EXPECT_EQ((*error)["reason"], "token_wrong_role");
  EXPECT_EQ(host.frames() > 0, true);
  host.disconnect();
}

TEST_F(BroadcastTest, TheHostsDisconnectEndsTheBroadcast) {
  WebRtcTestClient host;
  json creds;
  const json ready = start_broadcast(host, creds);
  ASSERT_EQ(ready["type"], "broadcast_ready");
  WhepViewer viewer;
  ASSERT_EQ(viewer.connect(ready["webrtc_url"], ready["spectator_token"])->status, 201);
  ASSERT_TRUE(viewer.wait_frames(3));
  host.disconnect();
  ASSERT_EQ(host.wait_closed(), 1000);
  int status = 0;
  for (int i = 0; i < 50 && status != 404; ++i) {
    WhepViewer late;
    status = late.connect(ready["webrtc_url"], ready["spectator_token"])->status;
    if (status != 404) std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(status, 404);
}

// The HLS rendition is valid: GStreamer's discoverer (hlsdemux, tsdemux, h264parse) reads the
// playlist over HTTP and finds 1280x704 H.264.
TEST_F(BroadcastTest, HlsPlaylistAndSegmentsAreValid) {
  WebRtcTestClient host;
  json creds;
  const json ready = start_broadcast(host, creds);
  ASSERT_EQ(ready["type"], "broadcast_ready");
  const std::string url = ready["broadcast_url"];
  const std::string path = url.substr(node_->server().public_url().size());
  net::HttpClient http("127.0.0.1", node_->port());
  std::string playlist;
  for (int i = 0; i < 100; ++i) {  // the first segment closes at the first key frame after 2 s
    auto r = http.request("GET", path);
    if (r && r->status == 200 && r->body.find(".ts") != std::string::npos) {
      playlist = r->body;
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_FALSE(playlist.empty()) << "no playlist with a segment";
  EXPECT_EQ(playlist.rfind("#EXTM3U", 0), 0u);
  EXPECT_NE(playlist.find("#EXT-X-TARGETDURATION:"), std::string::npos);
  const auto name_end = playlist.find(".ts");
  const auto name_start = playlist.rfind('\n', name_end) + 1;
  const std::string segment = playlist.substr(name_start, name_end + 3 - name_start);
  auto s = http.request("GET", path.substr(0, path.rfind('/') + 1) + segment);
  ASSERT_TRUE(s);
  ASSERT_EQ(s->status, 200);
  ASSERT_GT(s->body.size(), 188u * 10);
  EXPECT_EQ(s->body[0], 0x47) << "an MPEG-TS packet starts with the sync byte";

  GError* error = nullptr;
  GstDiscoverer* discoverer = gst_discoverer_new(10 * GST_SECOND, &error);
  ASSERT_TRUE(discoverer) << (error ? error->message : "");
  GstDiscovererInfo* info = gst_discoverer_discover_uri(discoverer, url.c_str(), &error);
  ASSERT_TRUE(info) << (error ? error->message : "no info");
  EXPECT_EQ(gst_discoverer_info_get_result(info), GST_DISCOVERER_OK);
  GList* videos = gst_discoverer_info_get_video_streams(info);
  ASSERT_TRUE(videos) << "no video stream found";
  auto* video = GST_DISCOVERER_VIDEO_INFO(videos->data);
  EXPECT_EQ(gst_discoverer_video_info_get_width(video), 1280u);
  EXPECT_EQ(gst_discoverer_video_info_get_height(video), 704u);
  GstCaps* caps = gst_discoverer_stream_info_get_caps(GST_DISCOVERER_STREAM_INFO(video));
  EXPECT_TRUE(gst_structure_has_name(gst_caps_get_structure(caps, 0), "video/x-h264"));
  gst_caps_unref(caps);
  gst_discoverer_stream_info_list_free(videos);
  gst_discoverer_info_unref(info);
  g_object_unref(discoverer);
  if (error) g_error_free(error);
  host.disconnect();
}

}  // namespace
}  // namespace ithaca::testing
