#include "ithaca/streamer/spectator_fanout.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <chrono>

#include "ithaca/streamer/test_support.hpp"

namespace ithaca::streamer {
namespace {

using namespace std::chrono_literals;

const std::vector<uint8_t> kMaster(30, 0x5a);
constexpr uint32_t kSsrc = 0xABCD0001;

// A spectator's end: a UDP socket on loopback, and libsrtp2 to read what arrives.
class Receiver {
 public:
  Receiver() : srtp_(kMaster, /*outbound=*/false) {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t size = sizeof address_;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address_), &size);
  }
  ~Receiver() { close(fd_); }

  // The datagrams arriving within `quiet` of each other, decrypted; an undecryptable one is an
  // empty packet.
  std::vector<std::vector<uint8_t>> receive(std::chrono::milliseconds quiet = 300ms) {
    std::vector<std::vector<uint8_t>> packets;
    pollfd p{fd_, POLLIN, 0};
    while (poll(&p, 1, static_cast<int>(quiet.count())) == 1) {
      std::vector<uint8_t> packet(2048);
      const ssize_t n = recv(fd_, packet.data(), packet.size(), 0);
      if (n <= 0) break;
      packet.resize(static_cast<size_t>(n));
      if (!srtp_.unprotect(packet)) packet.clear();
      packets.push_back(std::move(packet));
    }
    return packets;
  }

  // A route to this receiver from a fresh socket, as ICE would hand over.
  DirectRoute route(int payload_type = 102) const {
    DirectRoute r;
    r.socket.reset(
        g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, nullptr));
    std::memcpy(&r.remote, &address_, sizeof address_);
    r.remote_size = sizeof address_;
    r.srtp_master = kMaster;
    r.payload_type = payload_type;
    r.description = "test";
    return r;
  }

 private:
  int fd_ = -1;
  sockaddr_in address_{};
  testing::LibSrtp srtp_;
};

uint16_t seq_of(const std::vector<uint8_t>& p) {
  return static_cast<uint16_t>((p[2] << 8) | p[3]);
}
uint32_t ssrc_of(const std::vector<uint8_t>& p) {
  return (uint32_t{p[8]} << 24) | (uint32_t{p[9]} << 16) | (uint32_t{p[10]} << 8) | p[11];
}

class SpectatorFanoutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(testing::encode_frames(EncoderSettings{}, 6, frames_));
    auto packetizer = RtpPacketizer::create(EncoderSettings{}, frames_.caps, kSsrc);
    ASSERT_TRUE(packetizer);
    fanout_ =
        std::make_unique<SpectatorFanout>(std::move(*packetizer), [this] { ++key_frames_wanted_; });
  }

  GstBuffer* key_frame() { return frames_.frames[0].get(); }
  GstBuffer* delta_frame(int i) { return frames_.frames[static_cast<size_t>(i)].get(); }

  testing::EncodedFrames frames_;
  std::atomic<int> key_frames_wanted_{0};
  std::unique_ptr<SpectatorFanout> fanout_;
};

TEST_F(SpectatorFanoutTest, ASpectatorGetsEveryPacketFromAKeyFrameOnInItsOwnSrtp) {
  Receiver receiver;
  ASSERT_TRUE(fanout_->add("v1", receiver.route(102)));
  ASSERT_TRUE(GST_BUFFER_FLAG_IS_SET(delta_frame(1), GST_BUFFER_FLAG_DELTA_UNIT));
  fanout_->push(delta_frame(1));  // its decoder could not start here: not sent
  EXPECT_TRUE(receiver.receive(200ms).empty());

  fanout_->push(key_frame());
  for (int i = 1; i < 6; ++i) fanout_->push(delta_frame(i));
  const auto packets = receiver.receive();
  ASSERT_GT(packets.size(), 6u);
  EXPECT_EQ(fanout_->counters().packets_sent, packets.size());
  EXPECT_EQ(fanout_->counters().packets_lost, 0u);
  EXPECT_EQ((packets[0][12] & 0x1f), 24) << "starts with the key frame's SPS and PPS (STAP-A)";
  int frames_ended = 0;
  for (size_t i = 0; i < packets.size(); ++i) {
    ASSERT_FALSE(packets[i].empty()) << "packet " << i << " did not decrypt";
    EXPECT_EQ(packets[i][1] & 0x7f, 102) << "the spectator's payload type";
    EXPECT_EQ(ssrc_of(packets[i]), kSsrc);
    if (i > 0) {
      EXPECT_EQ(seq_of(packets[i]), static_cast<uint16_t>(seq_of(packets[i - 1]) + 1));
    }
    frames_ended += (packets[i][1] & 0x80) ? 1 : 0;
  }
  EXPECT_EQ(frames_ended, 6) << "one marker per frame";
  // The key frame's full-size fragments went as one segmented (GSO) send and arrived apart.
  size_t full_size = 0;
  for (const auto& p : packets) full_size += p.size() == 1200 ? 1 : 0;
  EXPECT_GE(full_size, 2u);
}

TEST_F(SpectatorFanoutTest, EachSpectatorHasItsOwnPayloadTypeAndNothingAfterRemove) {
  Receiver a, b;
  ASSERT_TRUE(fanout_->add("a", a.route(96)));
  ASSERT_TRUE(fanout_->add("b", b.route(108)));
  fanout_->push(key_frame());
  const auto to_a = a.receive(), to_b = b.receive();
  ASSERT_FALSE(to_a.empty());
  ASSERT_EQ(to_a.size(), to_b.size());
  EXPECT_EQ(to_a[0][1] & 0x7f, 96);
  EXPECT_EQ(to_b[0][1] & 0x7f, 108);

  fanout_->remove("a");
  EXPECT_FALSE(fanout_->has("a"));
  fanout_->push(delta_frame(1));
  EXPECT_TRUE(a.receive(200ms).empty());
  EXPECT_FALSE(b.receive().empty());
}

TEST_F(SpectatorFanoutTest, AMovedRouteKeepsTheSrtpStream) {
  Receiver first;
  ASSERT_TRUE(fanout_->add("v", first.route()));
  fanout_->push(key_frame());
  const auto before = first.receive();
  ASSERT_FALSE(before.empty());

  // ICE selected another pair: same DTLS session, so the receiver's SRTP state carries on.
  Receiver second;
  DirectRoute moved = second.route();
  ASSERT_TRUE(fanout_->add("v", std::move(moved)));
  fanout_->push(delta_frame(1));
  EXPECT_TRUE(first.receive(200ms).empty());
  const auto after = second.receive();
  ASSERT_FALSE(after.empty());
  // `second` has a fresh libsrtp2 receiver, so this checks the packets authenticate; the
  // sequence numbers continue from `before`.
  EXPECT_FALSE(after[0].empty());
  EXPECT_EQ(seq_of(after[0]), static_cast<uint16_t>(seq_of(before.back()) + 1));
}

TEST_F(SpectatorFanoutTest, AFailedSendCountsAsLossAndRestartsTheSpectatorAtAKeyFrame) {
  Receiver receiver;
  DirectRoute broken = receiver.route();
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&broken.remote);  // an IPv6 address on a v4 socket
  *v6 = {};
  v6->sin6_family = AF_INET6;
  v6->sin6_addr = in6addr_loopback;
  v6->sin6_port = htons(9);
  broken.remote_size = sizeof(sockaddr_in6);
  ASSERT_TRUE(fanout_->add("v", std::move(broken)));
  fanout_->push(key_frame());
  for (int i = 0; i < 50 && key_frames_wanted_ == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(key_frames_wanted_, 1);
  EXPECT_GT(fanout_->counters().packets_lost, 0u);
  EXPECT_EQ(fanout_->counters().packets_sent, 0u);

  // Back on a working route, the spectator waits for a key frame again.
  ASSERT_TRUE(fanout_->add("v", receiver.route()));
  fanout_->push(delta_frame(1));
  EXPECT_TRUE(receiver.receive(200ms).empty());
  fanout_->push(key_frame());
  EXPECT_FALSE(receiver.receive().empty());
}

TEST_F(SpectatorFanoutTest, RefusesARouteWithoutUsableKeys) {
  Receiver receiver;
  DirectRoute route = receiver.route();
  route.srtp_master.resize(16);
  auto added = fanout_->add("v", std::move(route));
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().code, ErrorCode::invalid_request);
  EXPECT_FALSE(fanout_->has("v"));
}

}  // namespace
}  // namespace ithaca::streamer
