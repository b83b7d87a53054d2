#include "ithaca/streamer/srtp_protector.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "ithaca/streamer/test_support.hpp"

namespace ithaca::streamer {
namespace {

using testing::LibSrtp;

std::vector<uint8_t> hex(const char* text) {
  std::vector<uint8_t> out;
  for (size_t i = 0; text[i] && text[i + 1]; i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(text + i, 2), nullptr, 16)));
  }
  return out;
}

std::vector<uint8_t> bytes(std::span<const uint8_t> s) {
  return {s.begin(), s.end()};
}

// An RTP packet: version 2, `csrcs` contributing sources, an optional one-word header
// extension, then `payload` pseudo-random bytes.
std::vector<uint8_t> rtp_packet(uint16_t seq, uint32_t ts, uint32_t ssrc, size_t payload, int csrcs,
                                bool extension, std::mt19937& rng) {
  std::vector<uint8_t> p = {static_cast<uint8_t>(0x80 | (extension ? 0x10 : 0) | csrcs),
                            96,
                            static_cast<uint8_t>(seq >> 8),
                            static_cast<uint8_t>(seq),
                            static_cast<uint8_t>(ts >> 24),
                            static_cast<uint8_t>(ts >> 16),
                            static_cast<uint8_t>(ts >> 8),
                            static_cast<uint8_t>(ts),
                            static_cast<uint8_t>(ssrc >> 24),
                            static_cast<uint8_t>(ssrc >> 16),
                            static_cast<uint8_t>(ssrc >> 8),
                            static_cast<uint8_t>(ssrc)};
  for (int i = 0; i < 4 * csrcs; ++i) p.push_back(static_cast<uint8_t>(rng()));
  if (extension) p.insert(p.end(), {0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0x00, 0x00});
  for (size_t i = 0; i < payload; ++i) p.push_back(static_cast<uint8_t>(rng()));
  return p;
}

size_t protect(SrtpProtector& ours, std::vector<uint8_t>& packet) {
  const size_t size = packet.size();
  packet.resize(size + SrtpProtector::kMaxTagBytes);
  const size_t out = ours.protect(packet.data(), size);
  packet.resize(out ? out : size);
  return out;
}

const std::vector<uint8_t> kMaster =
    hex("E1F97A0D3E018BE0D64FA32C06DE4139"
        "0EC675AD498AFEEBB6960B3AABE6");

TEST(SrtpProtector, DerivesTheSessionKeysOfRfc3711AppendixB3) {
  auto p = SrtpProtector::create(kMaster, SrtpProfile::aes128_cm_hmac_sha1_80);
  ASSERT_TRUE(p);
  EXPECT_EQ(bytes((*p)->cipher_key()), hex("C61E7A93744F39EE10734AFE3FF7A087"));
  EXPECT_EQ(bytes((*p)->cipher_salt()), hex("30CBBC08863D8C85D49DB34A9AE1"));
  EXPECT_EQ(bytes((*p)->auth_key()), hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"));
}

// Byte for byte what libsrtp2 makes, over a sequence-number wrap (the rollover counter enters
// both the keystream and the tag), with and without CSRCs and header extensions.
void expect_same_as_libsrtp(SrtpProfile profile, bool tag80) {
  auto ours = SrtpProtector::create(kMaster, profile);
  ASSERT_TRUE(ours);
  LibSrtp reference(kMaster, /*outbound=*/true, tag80);
  LibSrtp receiver(kMaster, /*outbound=*/false, tag80);
  std::mt19937 rng(7);
  uint16_t seq = 65000;
  for (int i = 0; i < 3000; ++i, ++seq) {
    const auto plain = rtp_packet(seq, 90000u * i / 30, 0x11223344, 1 + rng() % 1188,
                                  static_cast<int>(i % 3), i % 5 == 0, rng);
    std::vector<uint8_t> mine = plain;
    ASSERT_EQ(protect(**ours, mine), plain.size() + (tag80 ? 10 : 4)) << "packet " << i;
    ASSERT_EQ(mine, reference.protect(plain)) << "packet " << i << " seq " << seq;
    ASSERT_TRUE(receiver.unprotect(mine)) << "packet " << i;
    ASSERT_EQ(mine, plain);
  }
}

TEST(SrtpProtector, MatchesLibsrtpWithAn80BitTag) {
  expect_same_as_libsrtp(SrtpProfile::aes128_cm_hmac_sha1_80, true);
}

TEST(SrtpProtector, MatchesLibsrtpWithA32BitTag) {
  expect_same_as_libsrtp(SrtpProfile::aes128_cm_hmac_sha1_32, false);
}

TEST(SrtpProtector, ARetransmissionFromBeforeTheWrapUsesTheOldRolloverCounter) {
  auto ours = SrtpProtector::create(kMaster, SrtpProfile::aes128_cm_hmac_sha1_80);
  ASSERT_TRUE(ours);
  LibSrtp receiver(kMaster, false, true);
  std::mt19937 rng(3);
  std::vector<uint8_t> late;
  for (uint16_t seq : {65534, 65535, 0, 1}) {
    auto p = rtp_packet(seq, 0, 1, 100, 0, false, rng);
    if (seq == 65535) {
      late = p;  // sent after the wrap
      continue;
    }
    ASSERT_GT(protect(**ours, p), 0u);
    ASSERT_TRUE(receiver.unprotect(p)) << seq;
  }
  const auto plain = late;
  ASSERT_GT(protect(**ours, late), 0u);
  ASSERT_TRUE(receiver.unprotect(late));
  EXPECT_EQ(late, plain);
}

TEST(SrtpProtector, LeavesWhatIsNotRtpUntouched) {
  auto ours = SrtpProtector::create(kMaster, SrtpProfile::aes128_cm_hmac_sha1_80);
  ASSERT_TRUE(ours);
  std::mt19937 rng(1);
  auto short_packet = std::vector<uint8_t>(11, 0x80);
  auto version1 = rtp_packet(1, 0, 1, 50, 0, false, rng);
  version1[0] = 0x40;
  auto csrcs_past_end = rtp_packet(1, 0, 1, 0, 0, false, rng);
  csrcs_past_end[0] = 0x8f;  // 15 CSRCs in a 12-byte packet
  auto extension_past_end = rtp_packet(1, 0, 1, 0, 0, true, rng);
  extension_past_end[14] = 0x7f;  // an extension of 127 words
  for (auto packet : {short_packet, version1, csrcs_past_end, extension_past_end}) {
    const auto before = packet;
    EXPECT_EQ(protect(**ours, packet), 0u);
    EXPECT_EQ(packet, before);
  }
}

TEST(SrtpProtector, RefusesAMasterKeyOfTheWrongLength) {
  const std::vector<uint8_t> short_key(16, 1);
  auto p = SrtpProtector::create(short_key, SrtpProfile::aes128_cm_hmac_sha1_80);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, ErrorCode::invalid_request);
}

}  // namespace
}  // namespace ithaca::streamer
