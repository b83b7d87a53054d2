// The streaming path end to end without a browser: a node (server + signaling hub) and a
// streamer in this process, and WebRtcTestClient (webrtcbin + openh264dec) as the client. The
// browser suite (tests/e2e) covers the same protocol in Chromium.
#include <gtest/gtest.h>

#include "ithaca/streamer/streamer.hpp"
#include "test_node.hpp"
#include "webrtc_test_client.hpp"

namespace ithaca::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// A 4x2 PNG, as the start image of a stream.
constexpr const char* kPngDataUrl =
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAQAAAACCAIAAADwyuo0AAAAEElEQVR4nGM4IacBRwzIHA"
    "ByyghxJO3fWAAAAABJRU5ErkJggg==";

class StreamingTest : public ::testing::Test {
 protected:
  void SetUp() override { start_node({}); }

  void start_node(std::function<void(config::Config&)> tweak) {
    streamer_.reset();
    node_.reset();
    node_ = std::make_unique<TestNode>(std::move(tweak));
    key_ = node_->create_key("acme", 4);
    start_streamer();
  }

  void start_streamer(const std::string& encoder = "x264") {
    streamer::StreamerOptions o;
    o.peer.encoder.name = encoder;
    o.server_url = "ws://127.0.0.1:" + std::to_string(node_->port());
    o.secret = node_->server().streamer_secret();
    o.streamer_id = "test-streamer";
    o.capacity = 4;
    auto s = streamer::Streamer::create(std::move(o));
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    streamer_ = std::move(*s);
    streamer_->start();
    ASSERT_TRUE(streamer_->wait_registered(10s));
  }

  json mint() {
    auto r = node_->call("POST", "/v1/client_credentials", key_, "{}");
    EXPECT_EQ(r.status, 201) << r.raw;
    return r.body;
  }

  std::string state_of(const std::string& session_id) {
    return node_->call("GET", "/v1/sessions/" + session_id, key_).body.value("state", "");
  }

  // The next event that is not about frames; fails the test when none comes.
  json event(WebRtcTestClient& c) {
    auto e = c.next_event(5s);
    EXPECT_TRUE(e.has_value()) << "no event within 5 s";
    return e.value_or(json::object());
  }

  std::unique_ptr<TestNode> node_;
  std::string key_;
  std::unique_ptr<streamer::Streamer> streamer_;
};

TEST_F(StreamingTest, AClientStreamsInteractsAndEndsCleanly) {
  const json creds = mint();
  WebRtcTestClient client;
  client.connect(creds);
  ASSERT_TRUE(client.wait_frames(5)) << "no video decoded";
  EXPECT_EQ(client.last_marker(), 0) << "idle frames carry marker 0";
  EXPECT_EQ(client.frame_size(), std::make_pair(1280, 704));
  EXPECT_EQ(state_of(creds["session_id"]), "connected");

  client.send_command({{"type", "interactive_stream_start"},
                       {"prompt", "a lighthouse"},
                       {"portrait", false},
                       {"request_id", "r1"}});
  json started = event(client);
  EXPECT_EQ(started["type"], "stream_started");
  EXPECT_EQ(started["request_id"], "r1");
  EXPECT_EQ(started["applied_prompt"], "a lighthouse");
  EXPECT_TRUE(client.wait_marker(1)) << "the picture did not follow the start";

  client.send_command({{"type", "update"}, {"prompt", "at night"}, {"request_id", "r2"}});
  json ack = event(client);
  EXPECT_EQ(ack["type"], "update_acknowledged");
  EXPECT_EQ(ack["request_id"], "r2");
  EXPECT_EQ(ack["sequence"], 2);
  EXPECT_TRUE(client.wait_marker(2)) << "the picture did not follow the prompt";

  client.send_command({{"type", "interactive_stream_end"}, {"request_id", "r3"}});
  json ended = event(client);
  EXPECT_EQ(ended["type"], "stream_ended");
  EXPECT_EQ(ended["stream_id"], started["stream_id"]);
  EXPECT_TRUE(client.wait_marker(0));

  client.disconnect();
  EXPECT_EQ(client.wait_closed(), 1000);
  for (int i = 0; i < 50 && state_of(creds["session_id"]) != "ended"; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(state_of(creds["session_id"]), "ended");
  EXPECT_EQ(node_->call("GET", "/v1/usage", key_).body["active_count"], 0);
}

// A connect takes a peer prepared before it (pipeline running, caps in, offer at once), and
// the next one is prepared while a place is free.
TEST_F(StreamingTest, EachConnectFindsAPeerPreparedWhileAPlaceIsFree) {
  auto prepared_within = [&](bool want) {
    for (int i = 0; i < 100 && streamer_->peer_prepared() != want; ++i) {
      std::this_thread::sleep_for(20ms);
    }
    return streamer_->peer_prepared() == want;
  };
  ASSERT_TRUE(prepared_within(true)) << "none prepared once registered";
  std::vector<std::unique_ptr<WebRtcTestClient>> clients;
  for (int i = 0; i < 4; ++i) {  // capacity 4
    clients.push_back(std::make_unique<WebRtcTestClient>());
    clients.back()->connect(mint());
    ASSERT_TRUE(clients.back()->wait_frames(1)) << "client " << i;
    EXPECT_TRUE(prepared_within(i < 3)) << "after client " << i;
  }
  clients.back()->disconnect();
  EXPECT_EQ(clients.back()->wait_closed(), 1000);
  EXPECT_TRUE(prepared_within(true)) << "a place came free";
  clients.pop_back();
  for (auto& c : clients) c->disconnect();
}

// Tearing a peer down while ICE is still busy once crashed libnice's thread (a GStreamer 1.22
// use-after-free): peers are now finalized late. Many short sessions in a row must be safe.
TEST_F(StreamingTest, ShortSessionsOneAfterAnotherAreSafe) {
  for (int i = 0; i < 12; ++i) {
    const json creds = mint();
    WebRtcTestClient client;
    client.connect(creds);
    ASSERT_TRUE(client.wait_frames(1)) << "cycle " << i;
    client.disconnect();
    ASSERT_EQ(client.wait_closed(), 1000) << "cycle " << i;
  }
  EXPECT_EQ(node_->call("GET", "/healthz").status, 200);
}

TEST_F(StreamingTest, EveryEncoderStreamsDecodableVideo) {
  for (const std::string encoder : {"openh264", "vp8"}) {
    streamer_.reset();
    start_streamer(encoder);
    WebRtcTestClient client;
    client.connect(mint());
    EXPECT_TRUE(client.wait_frames(5)) << encoder << ": no video decoded";
    EXPECT_EQ(client.last_marker(), 0) << encoder;
    client.disconnect();
    EXPECT_EQ(client.wait_closed(), 1000) << encoder;
  }
}

TEST_F(StreamingTest, APortraitStreamWithAnImageStartedOverSignaling) {
  WebRtcTestClient client;
  client.connect(mint());
  ASSERT_TRUE(client.wait_frames(3));
  // The large-payload path: interactive_stream_start as a signaling message.
  client.send_command({{"type", "interactive_stream_start"},
                       {"prompt", "from this picture"},
                       {"portrait", true},
                       {"input_image_base64", kPngDataUrl},
                       {"request_id", "img"}},
                      /*over_signaling=*/true);
  json started = event(client);
  EXPECT_EQ(started["type"], "stream_started") << started.dump();
  EXPECT_EQ(started["request_id"], "img");
  ASSERT_TRUE(client.wait_marker(1));
  // The encoder followed the switch to portrait mid-connection.
  for (int i = 0; i < 100 && client.frame_size().first != 704; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(client.frame_size(), std::make_pair(704, 1280));
  const int before = client.frames();
  EXPECT_TRUE(client.wait_frames(before + 10)) << "video stalled after the size change";
}

TEST_F(StreamingTest, BadCommandsGetTypedErrorsAndTheStreamGoesOn) {
  WebRtcTestClient client;
  client.connect(mint());
  ASSERT_TRUE(client.wait_frames(3));
  client.send_command({{"type", "update"}, {"prompt", "x"}, {"request_id", "early"}});
  json early = event(client);
  EXPECT_EQ(early["reason"], "stream_not_active");
  EXPECT_EQ(early["request_id"], "early");
  client.send_command({{"type", "interactive_stream_start"}, {"prompt", 42}, {"request_id", "b"}});
  EXPECT_EQ(event(client)["reason"], "invalid_command");
  client.send_command({{"type", "interactive_stream_start"},
                       {"input_image_base64", "data:image/png;base64,AAAA"},
                       {"request_id", "i"}});
  EXPECT_EQ(event(client)["reason"], "invalid_image");
  client.send_command(
      {{"type", "interactive_stream_start"}, {"portrait", "yes"}, {"request_id", "sig"}},
      /*over_signaling=*/true);
  json over_signaling = event(client);
  EXPECT_EQ(over_signaling["reason"], "invalid_command");
  EXPECT_EQ(over_signaling["request_id"], "sig");
  client.send_command({{"type", "interactive_stream_start"}, {"prompt", "fine"}});
  EXPECT_EQ(event(client)["type"], "stream_started");
  const int before = client.frames();
  EXPECT_TRUE(client.wait_frames(before + 10));
}

TEST_F(StreamingTest, TheStreamCapEndsAStreamWithSessionTimeoutAndAnotherMayStart) {
  start_node([](config::Config& c) { c.max_stream_seconds = 1; });
  WebRtcTestClient client;
  client.connect(mint());
  ASSERT_TRUE(client.wait_frames(3));
  client.send_command({{"type", "interactive_stream_start"}, {"prompt", "short"}});
  EXPECT_EQ(event(client)["type"], "stream_started");
  auto capped = client.next_event(4s);
  ASSERT_TRUE(capped.has_value());
  EXPECT_EQ((*capped)["type"], "interactive_stream_error");
  EXPECT_EQ((*capped)["reason"], "session_timeout");
  EXPECT_TRUE(client.wait_marker(0)) << "the capped stream kept going";
  client.send_command({{"type", "interactive_stream_start"}, {"prompt", "again"}});
  EXPECT_EQ(event(client)["type"], "stream_started");
}

TEST_F(StreamingTest, LosingTheStreamerEndsItsSessionsWithStreamerDisconnected) {
  const json creds = mint();
  WebRtcTestClient client;
  client.connect(creds);
  ASSERT_TRUE(client.wait_frames(3));
  streamer_.reset();
  auto error = client.wait_signaling_error();
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ((*error)["reason"], "streamer_disconnected");
  EXPECT_EQ(client.wait_closed(), 4502);
  EXPECT_EQ(state_of(creds["session_id"]), "ended");
  // Nothing is placed on it any more.
  EXPECT_EQ(node_->call("POST", "/v1/client_credentials", key_, "{}").status, 503);
}

TEST_F(StreamingTest, AnUncleanDropCanResumeWithTheSameToken) {
  const json creds = mint();
  {
    WebRtcTestClient first;
    first.connect(creds);
    ASSERT_TRUE(first.wait_frames(3));
  }  // destroyed without client_disconnecting: a crash
  for (int i = 0; i < 50 && state_of(creds["session_id"]) != "dropped"; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(state_of(creds["session_id"]), "dropped");
  WebRtcTestClient second;
  second.connect(creds);
  ASSERT_TRUE(second.wait_frames(3)) << "the resumed session has no video";
  EXPECT_EQ(state_of(creds["session_id"]), "connected");
}

}  // namespace
}  // namespace ithaca::testing
