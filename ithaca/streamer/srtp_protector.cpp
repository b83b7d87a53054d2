#include "ithaca/streamer/srtp_protector.hpp"

#include <openssl/core_names.h>

#include <cstring>

namespace ithaca::streamer {
namespace {

// RFC 3711 section 4.3.1 with a key derivation rate of 0: AES-CM keystream of the master key,
// from IV = (master salt XOR label at byte 7) || 0x0000.
bool derive(const uint8_t* master_key, const uint8_t* master_salt, uint8_t label, uint8_t* out,
            size_t out_bytes) {
  uint8_t iv[16] = {};
  std::memcpy(iv, master_salt, SrtpProtector::kMasterSaltBytes);
  iv[7] ^= label;
  uint8_t zeros[32] = {};
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int written = 0;
  const bool ok = ctx && EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), nullptr, master_key, iv) &&
                  EVP_EncryptUpdate(ctx, out, &written, zeros, static_cast<int>(out_bytes));
  EVP_CIPHER_CTX_free(ctx);
  return ok && written == static_cast<int>(out_bytes);
}

}  // namespace

Result<std::unique_ptr<SrtpProtector>> SrtpProtector::create(std::span<const uint8_t> master,
                                                             SrtpProfile profile) {
  if (master.size() != kMasterKeyBytes + kMasterSaltBytes) {
    return make_error(ErrorCode::invalid_request, "an SRTP master key and salt are 30 bytes, not " +
                                                      std::to_string(master.size()));
  }
  std::unique_ptr<SrtpProtector> p(new SrtpProtector());
  const uint8_t* key = master.data();
  const uint8_t* salt = master.data() + kMasterKeyBytes;
  if (!derive(key, salt, 0x00, p->cipher_key_, sizeof p->cipher_key_) ||
      !derive(key, salt, 0x01, p->auth_key_, sizeof p->auth_key_) ||
      !derive(key, salt, 0x02, p->cipher_salt_, sizeof p->cipher_salt_)) {
    return make_error(ErrorCode::internal, "SRTP key derivation failed");
  }
  p->tag_bytes_ = profile == SrtpProfile::aes128_cm_hmac_sha1_80 ? 10 : 4;

  p->cipher_ = EVP_CIPHER_CTX_new();
  if (!p->cipher_ ||
      !EVP_EncryptInit_ex(p->cipher_, EVP_aes_128_ctr(), nullptr, p->cipher_key_, nullptr)) {
    return make_error(ErrorCode::internal, "AES-128-CTR is not available");
  }
  EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (hmac) p->mac_ = EVP_MAC_CTX_new(hmac);
  EVP_MAC_free(hmac);  // the context holds its own reference
  char digest[] = "SHA1";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_END};
  if (!p->mac_ || !EVP_MAC_init(p->mac_, p->auth_key_, sizeof p->auth_key_, params)) {
    return make_error(ErrorCode::internal, "HMAC-SHA1 is not available");
  }
  return p;
}

SrtpProtector::~SrtpProtector() {
  EVP_CIPHER_CTX_free(cipher_);
  EVP_MAC_CTX_free(mac_);
  OPENSSL_cleanse(cipher_key_, sizeof cipher_key_);
  OPENSSL_cleanse(auth_key_, sizeof auth_key_);
}

size_t SrtpProtector::protect(uint8_t* packet, size_t size) {
  // The RTP header (RFC 3550 section 5.1): it stays in the clear but is authenticated.
  if (size < 12 || (packet[0] >> 6) != 2) return 0;
  size_t header = 12 + 4 * static_cast<size_t>(packet[0] & 0x0f);
  if (packet[0] & 0x10) {  // a header extension: 4 bytes, then its length in 32-bit words
    if (size < header + 4) return 0;
    header += 4 + 4 * ((static_cast<size_t>(packet[header + 2]) << 8) | packet[header + 3]);
  }
  if (header > size) return 0;

  const uint16_t seq = static_cast<uint16_t>((packet[2] << 8) | packet[3]);
  uint32_t roc = roc_;
  if (!started_) {
    started_ = true;
    last_seq_ = seq;
  } else if (static_cast<uint16_t>(seq - last_seq_) < 0x8000) {  // forward, maybe wrapped
    if (seq < last_seq_) roc = ++roc_;
    last_seq_ = seq;
  } else if (seq > last_seq_) {  // an older packet from before the last wrap
    roc = roc_ - 1;
  }

  // IV = (salt * 2^16) XOR (SSRC * 2^64) XOR (index * 2^16), index = ROC || SEQ (section 4.1.1).
  uint8_t iv[16] = {};
  std::memcpy(iv, cipher_salt_, sizeof cipher_salt_);
  for (int i = 0; i < 4; ++i) iv[4 + i] ^= packet[8 + i];
  const uint64_t index = (static_cast<uint64_t>(roc) << 16) | seq;
  for (int i = 0; i < 6; ++i) iv[8 + i] ^= static_cast<uint8_t>(index >> (8 * (5 - i)));

  int written = 0;
  if (!EVP_EncryptInit_ex(cipher_, nullptr, nullptr, nullptr, iv) ||
      !EVP_EncryptUpdate(cipher_, packet + header, &written, packet + header,
                         static_cast<int>(size - header))) {
    return 0;
  }

  // Tag = HMAC-SHA1(auth key, packet || ROC), truncated (section 4.2).
  const uint8_t roc_bytes[4] = {static_cast<uint8_t>(roc >> 24), static_cast<uint8_t>(roc >> 16),
                                static_cast<uint8_t>(roc >> 8), static_cast<uint8_t>(roc)};
  uint8_t tag[20];
  size_t tag_size = 0;
  if (!EVP_MAC_init(mac_, nullptr, 0, nullptr) || !EVP_MAC_update(mac_, packet, size) ||
      !EVP_MAC_update(mac_, roc_bytes, sizeof roc_bytes) ||
      !EVP_MAC_final(mac_, tag, &tag_size, sizeof tag)) {
    return 0;
  }
  std::memcpy(packet + size, tag, tag_bytes_);
  return size + tag_bytes_;
}

}  // namespace ithaca::streamer
