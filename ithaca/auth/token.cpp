// HS256 JWTs on OpenSSL 3 (EVP_MAC). See token.hpp for the contract.
//
// Verification order (spec/vectors/README.md states the same order for the SDKs):
//   1. size and shape: at most kMaxTokenBytes, exactly three segments, each strict unpadded
//      base64url; the header decodes to a JSON object without "crit"       -> token_malformed
//   2. header "alg" is the string "HS256"                                 -> token_unsupported_alg
//   3. header "kid" is a string naming a key of the ring                  -> token_unknown_kid
//   4. the signature decodes to 32 bytes equal (CRYPTO_memcmp) to the MAC  -> token_bad_signature
//   5. only now is the payload read: a JSON object with every required claim of the right
//      type, a known role, a non-empty session_id for player and spectator -> token_malformed
//   6. exp, then iat and nbf, then aud, then role                          -> their own codes
//
// Speed (bench/token_bench.cpp): a header segment equal to the one this ring emits for one of its
// kids skips header decoding and parsing; a payload in the compact form sign() writes (flat,
// ASCII strings without escapes, integers) is read by a small scanner with no allocation, and any
// other payload goes to nlohmann::json, which decides. Each thread keeps its own copy of each
// key's keyed HMAC context (an EVP_MAC_CTX is not safe to share), re-initialised per call.
#include "ithaca/auth/token.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <utility>

#include "ithaca/base/encoding.hpp"

namespace ithaca::auth {
namespace {

// The tokens Ithaca mints are well under 1 KiB; 8 KiB leaves room for other issuers' claims while
// bounding the work an unauthenticated peer can ask of us (decoding, header parsing, one HMAC).
constexpr size_t kMaxTokenBytes = 8 * 1024;
// RFC 7518 section 3.2: an HS256 key must be at least as long as the hash output.
constexpr size_t kMinSecretBytes = 32;
constexpr size_t kMaxKidChars = 64;
constexpr size_t kMacBytes = 32;  // SHA-256 output
// Keyed HMAC contexts kept per thread: one per (ring, key) in use. A process has one ring (plus
// a few during rotation), so 16 never evicts in practice; evicting only costs a re-dup.
constexpr size_t kMacCacheSlots = 16;

constexpr std::string_view kAlg = "HS256";
// iat and exp must be integers of at most 2^53 - 1 in magnitude (I-JSON, RFC 7493): the range a
// JavaScript number holds exactly, so every SDK reads the same instant or rejects the same token.
constexpr int64_t kMaxSafeInteger = (int64_t{1} << 53) - 1;

// ---------------------------------------------------------------------------------------------
// HMAC-SHA256 with keyed contexts reused across calls.

struct MacDeleter {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacDeleter>;

MacCtxPtr new_hmac_sha256(std::string_view secret) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
  if (mac == nullptr) return nullptr;
  MacCtxPtr ctx(EVP_MAC_CTX_new(mac));
  EVP_MAC_free(mac);  // the context holds its own reference
  if (!ctx) return nullptr;
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(secret.data()), secret.size(),
                   params) != 1) {
    return nullptr;
  }
  return ctx;
}

// Per-thread copies of keyed contexts. Rings get process-unique ids that are never reused, so a
// slot left by a destroyed ring can never be mistaken for a live one; it is freed (with the key
// material it holds) on eviction or when the thread exits, not when its ring goes.
class ThreadMacCache {
 public:
  ThreadMacCache() = default;
  ThreadMacCache(const ThreadMacCache&) = delete;
  ThreadMacCache& operator=(const ThreadMacCache&) = delete;
  ~ThreadMacCache() {
    for (auto& slot : slots_) EVP_MAC_CTX_free(slot.ctx);
  }

  EVP_MAC_CTX* get(uint64_t ring_id, size_t key_index, const EVP_MAC_CTX* keyed) {
    for (auto& slot : slots_) {
      if (slot.ring_id == ring_id && slot.key_index == key_index && slot.ctx != nullptr) {
        return slot.ctx;
      }
    }
    Slot& slot = slots_[next_];
    next_ = (next_ + 1) % kMacCacheSlots;
    EVP_MAC_CTX_free(slot.ctx);
    slot = Slot{ring_id, key_index, EVP_MAC_CTX_dup(keyed)};
    return slot.ctx;
  }

 private:
  struct Slot {
    uint64_t ring_id = 0;
    size_t key_index = 0;
    EVP_MAC_CTX* ctx = nullptr;
  };
  std::array<Slot, kMacCacheSlots> slots_{};
  size_t next_ = 0;
};

thread_local ThreadMacCache t_mac_cache;

std::atomic<uint64_t> g_next_ring_id{1};

// ---------------------------------------------------------------------------------------------
// Claims: names, and a type-tagged view of what a payload holds.

enum Claim : uint8_t {
  kSessionId,
  kAccount,
  kRole,
  kAud,
  kIat,
  kExp,
  kJti,
  kSub,
  kNbf,
  kClaimCount
};

int claim_index(std::string_view key) {
  switch (key.size()) {  // one comparison per name instead of eight
    case 3:
      if (key == "aud") return kAud;
      if (key == "iat") return kIat;
      if (key == "exp") return kExp;
      if (key == "jti") return kJti;
      if (key == "sub") return kSub;
      if (key == "nbf") return kNbf;
      return -1;
    case 4:
      return key == "role" ? kRole : -1;
    case 7:
      return key == "account" ? kAccount : -1;
    case 10:
      return key == "session_id" ? kSessionId : -1;
    default:
      return -1;
  }
}

struct RawClaims {
  enum class Kind : uint8_t { absent, string, integer, other };
  std::array<Kind, kClaimCount> kind{};
  std::array<std::string_view, kClaimCount> text{};
  std::array<int64_t, kClaimCount> number{};

  // A repeated name keeps its last value, as nlohmann::json does.
  void set_string(int i, std::string_view v) {
    if (i < 0) return;
    kind[i] = Kind::string;
    text[i] = v;
  }
  void set_integer(int i, int64_t v) {
    if (i < 0) return;
    kind[i] = Kind::integer;
    number[i] = v;
  }
  void set_other(int i) {
    if (i < 0) return;
    kind[i] = Kind::other;
  }
};

// Scans the compact, flat form sign() writes: {"name":"ascii text","name":123,...} with no
// whitespace, no escapes and integers of at most 18 digits. Returns false on anything else, which
// is then parsed by nlohmann::json: this scanner never accepts what the full parser would reject.
class FlatScanner {
 public:
  explicit FlatScanner(std::string_view s) : s_(s) {}

  bool scan(RawClaims& out) {
    if (!eat('{')) return false;
    if (eat('}')) return i_ == s_.size();
    for (;;) {
      std::string_view key;
      if (!string(key) || !eat(':')) return false;
      const int index = claim_index(key);
      if (peek() == '"') {
        std::string_view value;
        if (!string(value)) return false;
        out.set_string(index, value);
      } else {
        int64_t value = 0;
        if (!integer(value)) return false;
        out.set_integer(index, value);
      }
      if (eat(',')) continue;
      return eat('}') && i_ == s_.size();
    }
  }

 private:
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  bool eat(char c) {
    if (peek() != c) return false;
    ++i_;
    return true;
  }
  bool string(std::string_view& out) {
    if (!eat('"')) return false;
    const size_t start = i_;
    for (; i_ < s_.size(); ++i_) {
      const char c = s_[i_];
      if (c == '"') {
        out = s_.substr(start, i_ - start);
        ++i_;
        return true;
      }
      if (c < 0x20 || c > 0x7e || c == '\\') return false;  // escapes, controls, non-ASCII
    }
    return false;
  }
  bool integer(int64_t& out) {
    const bool negative = eat('-');
    const size_t start = i_;
    if (peek() == '0') {
      ++i_;  // a leading zero stands alone; "01" fails at the caller's ',' or '}'
    } else {
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    }
    const size_t digits = i_ - start;
    if (digits == 0 || digits > 18) return false;  // 18 digits always fit in int64_t
    int64_t v = 0;
    for (size_t k = start; k < i_; ++k) v = v * 10 + (s_[k] - '0');
    out = negative ? -v : v;
    return true;
  }

  std::string_view s_;
  size_t i_ = 0;
};

// The general path: any JSON object. `doc` keeps the strings `out` points into.
bool scan_json(std::string_view text, nlohmann::json& doc, RawClaims& out) {
  doc = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return false;
  for (const auto& [key, value] : doc.get_ref<const nlohmann::json::object_t&>()) {
    const int index = claim_index(key);
    if (index < 0) continue;
    if (value.is_string()) {
      out.set_string(index, value.get_ref<const std::string&>());
    } else if (value.is_number_unsigned()) {
      const auto v = value.get<uint64_t>();
      if (v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        out.set_integer(index, static_cast<int64_t>(v));
      } else {
        out.set_other(index);
      }
    } else if (value.is_number_integer()) {
      out.set_integer(index, value.get<int64_t>());
    } else {
      out.set_other(index);  // floats (1.7e9 included), booleans, null, arrays, objects
    }
  }
  return true;
}

Error malformed(std::string detail) {
  return make_error(ErrorCode::token_malformed, std::move(detail));
}

bool safe_integer(const RawClaims& raw, Claim c) {
  return raw.kind[c] == RawClaims::Kind::integer && raw.number[c] <= kMaxSafeInteger &&
         raw.number[c] >= -kMaxSafeInteger;
}

// `not_before`: nbf when the token has one (it is only checked, never kept in the claims).
Result<TokenClaims> claims_from(const RawClaims& raw, std::optional<int64_t>& not_before) {
  using Kind = RawClaims::Kind;
  static constexpr Claim kRequiredStrings[] = {kAccount, kRole, kAud, kJti};
  static constexpr Claim kOptionalStrings[] = {kSessionId, kSub};
  static constexpr Claim kRequiredIntegers[] = {kIat, kExp};
  for (Claim c : kRequiredStrings) {
    if (raw.kind[c] != Kind::string) return malformed("a required string claim is missing");
  }
  for (Claim c : kOptionalStrings) {
    if (raw.kind[c] != Kind::absent && raw.kind[c] != Kind::string) {
      return malformed("session_id and sub must be strings");
    }
  }
  for (Claim c : kRequiredIntegers) {
    if (!safe_integer(raw, c)) return malformed("iat and exp must be integers within 2^53 - 1");
  }
  not_before.reset();
  if (raw.kind[kNbf] != Kind::absent) {
    if (!safe_integer(raw, kNbf)) return malformed("nbf must be an integer within 2^53 - 1");
    not_before = raw.number[kNbf];
  }
  TokenClaims claims;
  if (!parse_role(raw.text[kRole], claims.role)) return malformed("unknown role");
  if ((claims.role == Role::player || claims.role == Role::spectator) &&
      raw.text[kSessionId].empty()) {
    return malformed("player and spectator tokens need a session_id");
  }
  claims.session_id = raw.text[kSessionId];
  claims.account = raw.text[kAccount];
  claims.audience = raw.text[kAud];
  claims.jti = raw.text[kJti];
  claims.subject = raw.text[kSub];
  claims.issued_at = raw.number[kIat];
  claims.expires_at = raw.number[kExp];
  return claims;
}

int64_t saturating_add(int64_t a, int64_t b) {  // b >= 0
  return a > std::numeric_limits<int64_t>::max() - b ? std::numeric_limits<int64_t>::max() : a + b;
}

// ---------------------------------------------------------------------------------------------
// Writing.

bool is_kid_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

bool valid_kid(std::string_view kid) {
  if (kid.empty() || kid.size() > kMaxKidChars) return false;
  for (char c : kid) {
    if (!is_kid_char(c)) return false;
  }
  return true;
}

// A JSON string literal as nlohmann::json::dump (and Python's json.dumps with
// ensure_ascii=False, and JavaScript's JSON.stringify) writes it: UTF-8 as is, only '"', '\\'
// and control characters escaped. Invalid UTF-8 becomes U+FFFD, so a token is always valid JSON.
void append_json_string(std::string& out, std::string_view s) {
  bool ascii = true;
  for (char c : s) ascii &= static_cast<unsigned char>(c) < 0x80;
  if (!ascii) {
    out += nlohmann::json(std::string(s))
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  size_t run = 0;  // start of the characters not yet written, appended in one go
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default: {
        const char escape[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out.append(escape, sizeof escape);
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

void append_integer(std::string& out, int64_t v) {
  char buf[24];
  const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  out.append(buf, end);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string_view to_string(Role role) {
  switch (role) {
    case Role::player:
      return "player";
    case Role::spectator:
      return "spectator";
    case Role::api:
      return "api";
  }
  return "unknown";
}

bool parse_role(std::string_view text, Role& out) {
  for (Role r : {Role::player, Role::spectator, Role::api}) {
    if (text == to_string(r)) {
      out = r;
      return true;
    }
  }
  return false;
}

struct TokenKeyRing::Impl {
  struct Key {
    std::string kid;
    std::string header_b64;  // base64url of {"alg":"HS256","kid":"<kid>","typ":"JWT"}
    MacCtxPtr keyed;         // never used directly: each thread works on its own copy
  };

  uint64_t id = g_next_ring_id.fetch_add(1, std::memory_order_relaxed);
  std::vector<Key> keys;  // keys[0] signs

  // HMAC-SHA256 of `data` with keys[key_index]; false only if OpenSSL fails (out of memory).
  bool mac(size_t key_index, std::string_view data, unsigned char out[kMacBytes]) const {
    EVP_MAC_CTX* ctx = t_mac_cache.get(id, key_index, keys[key_index].keyed.get());
    size_t len = 0;
    return ctx != nullptr && EVP_MAC_init(ctx, nullptr, 0, nullptr) == 1 &&
           EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) ==
               1 &&
           EVP_MAC_final(ctx, out, &len, kMacBytes) == 1 && len == kMacBytes;
  }

  // The key a header names, or the error of steps 1 to 3.
  Result<size_t> key_for_header(std::string_view segment) const {
    for (size_t i = 0; i < keys.size(); ++i) {
      if (segment == keys[i].header_b64) return i;  // fast path: our own header, byte for byte
    }
    const auto bytes = base64url_decode(segment);
    if (!bytes) return malformed("header is not base64url");
    const auto header = nlohmann::json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
    if (!header.is_object()) return malformed("header is not a JSON object");
    if (header.contains("crit")) return malformed("header has critical extensions");
    const auto alg = header.find("alg");
    if (alg == header.end() || !alg->is_string() || alg->get_ref<const std::string&>() != kAlg) {
      return make_error(ErrorCode::token_unsupported_alg, "alg must be HS256");
    }
    const auto kid = header.find("kid");
    if (kid != header.end() && kid->is_string()) {
      const auto& name = kid->get_ref<const std::string&>();
      for (size_t i = 0; i < keys.size(); ++i) {
        if (keys[i].kid == name) return i;
      }
    }
    return make_error(ErrorCode::token_unknown_kid, "kid names no key of this ring");
  }
};

TokenKeyRing::TokenKeyRing(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TokenKeyRing::~TokenKeyRing() = default;

Result<std::shared_ptr<const TokenKeyRing>> TokenKeyRing::create(HmacKey signing,
                                                                 std::vector<HmacKey> verify_only) {
  verify_only.insert(verify_only.begin(), std::move(signing));
  auto impl = std::make_unique<Impl>();
  for (size_t i = 0; i < verify_only.size(); ++i) {
    HmacKey& key = verify_only[i];
    if (!valid_kid(key.kid)) {
      return make_error(ErrorCode::config_invalid,
                        "token key kid must be 1 to 64 of [A-Za-z0-9._-]");
    }
    for (const auto& known : impl->keys) {
      if (known.kid == key.kid) {
        return make_error(ErrorCode::config_invalid, "token key kid '" + key.kid + "' is repeated");
      }
    }
    if (key.secret.size() < kMinSecretBytes) {
      return make_error(ErrorCode::config_invalid,
                        "token key '" + key.kid + "' has a secret shorter than 32 bytes");
    }
    MacCtxPtr keyed = new_hmac_sha256(key.secret);
    OPENSSL_cleanse(key.secret.data(), key.secret.size());  // our copy; the context keeps the key
    if (!keyed) return make_error(ErrorCode::internal, "HMAC-SHA256 is not available");
    const std::string header = R"({"alg":"HS256","kid":")" + key.kid + R"(","typ":"JWT"})";
    impl->keys.push_back(Impl::Key{key.kid, base64url_encode(header), std::move(keyed)});
  }
  return std::shared_ptr<const TokenKeyRing>(new TokenKeyRing(std::move(impl)));
}

const std::string& TokenKeyRing::signing_kid() const {
  return impl_->keys[0].kid;
}

std::string TokenKeyRing::sign(const TokenClaims& claims) const {
  std::string payload;
  payload.reserve(192 + claims.session_id.size() + claims.account.size() + claims.audience.size() +
                  claims.jti.size() + claims.subject.size());
  payload += '{';
  if (!claims.session_id.empty()) {
    payload += R"("session_id":)";
    append_json_string(payload, claims.session_id);
    payload += ',';
  }
  payload += R"("account":)";
  append_json_string(payload, claims.account);
  payload += R"(,"role":")";
  payload += to_string(claims.role);
  payload += R"(","aud":)";
  append_json_string(payload, claims.audience);
  payload += R"(,"iat":)";
  append_integer(payload, claims.issued_at);
  payload += R"(,"exp":)";
  append_integer(payload, claims.expires_at);
  payload += R"(,"jti":)";
  append_json_string(payload, claims.jti);
  if (!claims.subject.empty()) {
    payload += R"(,"sub":)";
    append_json_string(payload, claims.subject);
  }
  payload += '}';

  const Impl::Key& key = impl_->keys[0];
  std::string token;
  token.reserve(key.header_b64.size() + payload.size() * 4 / 3 + 4 + 1 + 43 + 1);
  token += key.header_b64;
  token += '.';
  base64url_append(token, payload);
  unsigned char mac[kMacBytes];
  if (!impl_->mac(0, token, mac)) {
    // Only out of memory gets here; sign() has no error channel and a token must never be
    // returned unsigned, so stop loudly (as random_bytes does when entropy fails).
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  token += '.';
  base64url_append(token, std::string_view(reinterpret_cast<const char*>(mac), kMacBytes));
  return token;
}

Result<TokenClaims> TokenKeyRing::verify(std::string_view token, const VerifyRules& rules,
                                         int64_t now_unix_seconds) const {
  // 1. Shape.
  if (token.size() > kMaxTokenBytes) return malformed("token is longer than 8 KiB");
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return malformed("token must have three dot-separated segments");
  }
  const std::string_view signing_input = token.substr(0, dot2);
  const std::string_view header_segment = token.substr(0, dot1);
  const std::string_view payload_segment = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature_segment = token.substr(dot2 + 1);
  // Both decoded into one stack buffer: together they are at most 3/4 of kMaxTokenBytes.
  unsigned char decoded[kMaxTokenBytes / 4 * 3];
  size_t payload_len = 0;
  if (!base64url_decode_into(payload_segment, decoded, payload_len)) {
    return malformed("payload is not base64url");
  }
  const std::string_view payload(reinterpret_cast<const char*>(decoded), payload_len);
  unsigned char* const signature = decoded + payload_len;
  size_t signature_len = 0;
  if (!base64url_decode_into(signature_segment, signature, signature_len)) {
    return malformed("signature is not base64url");
  }

  // 1 (header), 2 (alg), 3 (kid).
  auto key = impl_->key_for_header(header_segment);
  if (!key) return std::move(key).error();

  // 4. Signature, before anything in the payload is looked at.
  unsigned char mac[kMacBytes];
  if (!impl_->mac(*key, signing_input, mac)) return make_error(ErrorCode::internal, "HMAC failed");
  if (signature_len != kMacBytes || CRYPTO_memcmp(signature, mac, kMacBytes) != 0) {
    return make_error(ErrorCode::token_bad_signature, "signature does not verify");
  }

  // 5. Payload.
  RawClaims raw;
  nlohmann::json doc;  // stays empty on the fast path
  if (!FlatScanner(payload).scan(raw)) {
    raw = RawClaims{};
    if (!scan_json(payload, doc, raw)) return malformed("payload is not a JSON object");
  }
  std::optional<int64_t> not_before;
  auto claims = claims_from(raw, not_before);
  if (!claims) return claims;

  // 6. Time, audience, role.
  const int64_t leeway = std::max<int64_t>(rules.leeway_seconds, 0);
  if (now_unix_seconds > saturating_add(claims->expires_at, leeway)) {
    return make_error(ErrorCode::token_expired, "token has expired");
  }
  if (claims->issued_at > saturating_add(now_unix_seconds, leeway)) {
    return make_error(ErrorCode::token_not_yet_valid, "token iat is in the future");
  }
  if (not_before && *not_before > saturating_add(now_unix_seconds, leeway)) {
    return make_error(ErrorCode::token_not_yet_valid, "token nbf is in the future");
  }
  if (claims->audience != rules.audience) {
    return make_error(ErrorCode::token_wrong_audience, "token is for another audience");
  }
  if (claims->role != rules.role) {
    return make_error(ErrorCode::token_wrong_role, "token role may not be used here");
  }
  return claims;
}

}  // namespace ithaca::auth
