// SrtpProtector: SRTP (RFC 3711) for one outgoing RTP stream, AES_CM_128_HMAC_SHA1_80 or _32,
// the profiles GStreamer's DTLS offers (docs/streaming.md section 5.1).
//
// The spectator fan-out encrypts every packet once per spectator, so this is its hot path.
// Debian's libsrtp2 is built against NSS, and in a profile its per-packet cost was as large as
// the kernel's UDP send; this one keeps OpenSSL contexts keyed once (AES-NI and SHA-NI do the
// rest): about 1 µs for a 1200-byte packet. Tests compare its output with libsrtp2's, byte for
// byte.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "ithaca/base/error.hpp"

namespace ithaca::streamer {

enum class SrtpProfile { aes128_cm_hmac_sha1_80, aes128_cm_hmac_sha1_32 };

class SrtpProtector {
 public:
  static constexpr size_t kMasterKeyBytes = 16;
  static constexpr size_t kMasterSaltBytes = 14;
  static constexpr size_t kMaxTagBytes = 10;  // the room protect() needs after the packet

  // `master`: the 16-byte master key then the 14-byte master salt (as DTLS-SRTP exports them).
  // invalid_request when it has another length.
  static Result<std::unique_ptr<SrtpProtector>> create(std::span<const uint8_t> master,
                                                       SrtpProfile profile);
  ~SrtpProtector();
  SrtpProtector(const SrtpProtector&) = delete;
  SrtpProtector& operator=(const SrtpProtector&) = delete;

  // Encrypts the RTP packet packet[0, size) in place and appends its authentication tag, so
  // `packet` must have kMaxTagBytes of room after `size`. Packets must come in sending order:
  // the rollover counter follows the sequence numbers. Returns the SRTP size, or 0 for bytes
  // that are not an RTP packet (then nothing is written).
  size_t protect(uint8_t* packet, size_t size);

  // The session keys (RFC 3711 section 4.3), for tests against published vectors.
  std::span<const uint8_t> cipher_key() const { return {cipher_key_, sizeof cipher_key_}; }
  std::span<const uint8_t> cipher_salt() const { return {cipher_salt_, sizeof cipher_salt_}; }
  std::span<const uint8_t> auth_key() const { return {auth_key_, sizeof auth_key_}; }

 private:
  SrtpProtector() = default;

  uint8_t cipher_key_[16] = {};
  uint8_t cipher_salt_[14] = {};
  uint8_t auth_key_[20] = {};
  size_t tag_bytes_ = 10;
  EVP_CIPHER_CTX* cipher_ = nullptr;  // AES-128-CTR, keyed once; the IV is set per packet
  EVP_MAC_CTX* mac_ = nullptr;        // HMAC-SHA1, keyed once; re-initialised per packet
  // Rollover counter: how many times the 16-bit sequence number wrapped (section 3.3.1).
  uint32_t roc_ = 0;
  uint16_t last_seq_ = 0;
  bool started_ = false;
};

}  // namespace ithaca::streamer
