#include "ithaca/auth/token.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <atomic>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "ithaca/base/encoding.hpp"

namespace ithaca::auth {
namespace {

using nlohmann::json;

constexpr int64_t kNow = 1'767'225'600;  // 2026-01-01T00:00:00Z
constexpr int64_t kIat = kNow - 60;
constexpr int64_t kExp = kIat + 900;

const std::string kSecret(32, 'k');  // the signing key of ring()
const std::string kOldSecret = "an-older-secret-of-forty-bytes-0123456789";  // verify-only

std::shared_ptr<const TokenKeyRing> make_ring(HmacKey signing, std::vector<HmacKey> old = {}) {
  auto ring = TokenKeyRing::create(std::move(signing), std::move(old));
  EXPECT_TRUE(ring.ok()) << (ring.ok() ? "" : ring.error().to_string());
  return ring.ok() ? *ring : nullptr;
}

TokenClaims player_claims() {
  TokenClaims c;
  c.session_id = "ses_k3vq7x2mfa4ze5rbnh6t";
  c.account = "acc_demo";
  c.role = Role::player;
  c.audience = "ithaca";
  c.jti = "tok_0001";
  c.issued_at = kIat;
  c.expires_at = kExp;
  return c;
}

VerifyRules rules(Role role = Role::player, std::string audience = "ithaca", int64_t leeway = 5) {
  return VerifyRules{std::move(audience), role, leeway};
}

std::string b64(std::string_view bytes) {
  return base64url_encode(bytes);
}

std::string hmac(std::string_view secret, std::string_view data, const EVP_MD* md) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

// A token with any header and payload text, HMAC'd with any secret and digest.
std::string craft(std::string_view header, std::string_view payload,
                  std::string_view secret = kSecret, const EVP_MD* md = EVP_sha256()) {
  const std::string input = b64(header) + "." + b64(payload);
  return input + "." + b64(hmac(secret, input, md));
}

const std::string kHeader = R"({"alg":"HS256","kid":"k1","typ":"JWT"})";
const std::string kPayload =
    R"({"session_id":"ses_k3vq7x2mfa4ze5rbnh6t","account":"acc_demo","role":"player",)"
    R"("aud":"ithaca","iat":1767225540,"exp":1767226440,"jti":"tok_0001"})";

// The payload of player_claims() as a JSON object, to edit one claim at a time.
json payload_object() {
  return json::parse(kPayload);
}
std::string craft(const json& payload) {
  return craft(kHeader, payload.dump());
}

class TokenTest : public ::testing::Test {
 protected:
  std::shared_ptr<const TokenKeyRing> ring_ = make_ring({"k1", kSecret}, {{"k0", kOldSecret}});

  ErrorCode verify_error(std::string_view token, const VerifyRules& r = rules(),
                         int64_t now = kNow) {
    auto result = ring_->verify(token, r, now);
    EXPECT_FALSE(result.ok()) << "verified unexpectedly";
    if (result.ok()) return ErrorCode::internal;
    const Error& error = result.error();
    // Error text must never carry the token or a secret.
    if (token.size() >= 8) {
      EXPECT_EQ(error.detail.find(token), std::string::npos);
      EXPECT_EQ(error.to_string().find(token), std::string::npos);
      EXPECT_EQ(error.details.dump().find(token.substr(0, 8)), std::string::npos);
    }
    EXPECT_EQ(error.detail.find(kSecret), std::string::npos);
    EXPECT_EQ(error.detail.find(kOldSecret), std::string::npos);
    return error.code;
  }
};

// ---- roles -------------------------------------------------------------------------------------

TEST(Role, NamesRoundTrip) {
  for (Role r : {Role::player, Role::spectator, Role::api}) {
    Role parsed = Role::api;
    ASSERT_TRUE(parse_role(to_string(r), parsed));
    EXPECT_EQ(parsed, r);
  }
  EXPECT_EQ(to_string(Role::spectator), "spectator");
  Role out = Role::spectator;
  EXPECT_FALSE(parse_role("Player", out));
  EXPECT_FALSE(parse_role("", out));
  EXPECT_FALSE(parse_role("admin", out));
  EXPECT_EQ(out, Role::spectator);
}

// ---- create ------------------------------------------------------------------------------------

TEST(TokenKeyRingCreate, AcceptsValidKeys) {
  auto ring = TokenKeyRing::create({std::string(64, 'a'), std::string(32, 's')},
                                   {{"Az09._-", std::string(100, 't')}});
  ASSERT_TRUE(ring.ok());
  EXPECT_EQ((*ring)->signing_kid(), std::string(64, 'a'));
}

TEST(TokenKeyRingCreate, RejectsMalformedKids) {
  for (const std::string& kid : std::vector<std::string>{
           "", "has space", "slash/", "quote\"", "caf\xc3\xa9", "a:b", std::string(65, 'a')}) {
    auto ring = TokenKeyRing::create({kid, kSecret});
    ASSERT_FALSE(ring.ok()) << kid;
    EXPECT_EQ(ring.error().code, ErrorCode::config_invalid);
    auto old = TokenKeyRing::create({"k1", kSecret}, {{kid, kSecret}});
    ASSERT_FALSE(old.ok()) << kid;
    EXPECT_EQ(old.error().code, ErrorCode::config_invalid);
  }
}

TEST(TokenKeyRingCreate, RejectsRepeatedKids) {
  auto a = TokenKeyRing::create({"k1", kSecret}, {{"k1", kOldSecret}});
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, ErrorCode::config_invalid);
  auto b = TokenKeyRing::create({"k1", kSecret}, {{"k0", kOldSecret}, {"k0", kSecret}});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, ErrorCode::config_invalid);
}

TEST(TokenKeyRingCreate, RejectsShortSecretsWithoutNamingThem) {
  const std::string short_secret = "thirty-one-bytes-of-secret-text";
  ASSERT_EQ(short_secret.size(), 31u);
  auto a = TokenKeyRing::create({"k1", short_secret});
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, ErrorCode::config_invalid);
  EXPECT_EQ(a.error().to_string().find(short_secret), std::string::npos);
  auto b = TokenKeyRing::create({"k1", kSecret}, {{"k0", short_secret}});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, ErrorCode::config_invalid);
  auto empty = TokenKeyRing::create({"k1", ""});
  EXPECT_FALSE(empty.ok());
}

// ---- sign --------------------------------------------------------------------------------------

TEST_F(TokenTest, SignWritesTheExactHeaderAndPayload) {
  const std::string token = ring_->sign(player_claims());
  EXPECT_EQ(token, craft(kHeader, kPayload));
  const auto dot = token.find('.');
  EXPECT_EQ(base64url_decode(token.substr(0, dot)), kHeader);
  EXPECT_EQ(ring_->signing_kid(), "k1");
}

TEST_F(TokenTest, SignOmitsEmptySessionIdAndWritesSub) {
  TokenClaims c = player_claims();
  c.role = Role::api;
  c.session_id.clear();
  c.subject = "key_abc";
  const std::string token = ring_->sign(c);
  const auto payload = token.substr(token.find('.') + 1, token.rfind('.') - token.find('.') - 1);
  EXPECT_EQ(base64url_decode(payload),
            R"({"account":"acc_demo","role":"api","aud":"ithaca","iat":1767225540,)"
            R"("exp":1767226440,"jti":"tok_0001","sub":"key_abc"})");
}

TEST_F(TokenTest, SignIsDeterministic) {
  EXPECT_EQ(ring_->sign(player_claims()), ring_->sign(player_claims()));
}

TEST_F(TokenTest, RoundTripsEveryRole) {
  TokenClaims player = player_claims();
  TokenClaims spectator = player_claims();
  spectator.role = Role::spectator;
  TokenClaims api = player_claims();
  api.role = Role::api;
  api.session_id.clear();
  api.subject = "key_abcdefgh23456789";
  for (const TokenClaims& c : {player, spectator, api}) {
    auto result = ring_->verify(ring_->sign(c), rules(c.role), kNow);
    ASSERT_TRUE(result.ok()) << result.error().to_string();
    EXPECT_EQ(*result, c);
  }
}

TEST_F(TokenTest, RoundTripsEscapesUnicodeAndControlCharacters) {
  TokenClaims c = player_claims();
  c.account = "caf\xc3\xa9 \"quoted\" \\ \xe2\x98\x95\n\x01\x7f";
  c.jti = "tab\there";
  c.audience = "aud/\"x\"";
  const std::string token = ring_->sign(c);
  auto result = ring_->verify(token, rules(Role::player, c.audience), kNow);
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ(*result, c);
}

TEST_F(TokenTest, SignReplacesInvalidUtf8SoTheTokenStaysValid) {
  TokenClaims c = player_claims();
  c.account = "bad\xff\xfe";
  auto result = ring_->verify(ring_->sign(c), rules(), kNow);
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ(result->account, "bad\xef\xbf\xbd\xef\xbf\xbd");
}

TEST_F(TokenTest, ExtremeTimesRoundTrip) {
  TokenClaims c = player_claims();
  c.issued_at = -1000;
  c.expires_at = (int64_t{1} << 53) - 1;
  auto result = ring_->verify(ring_->sign(c), rules(), kNow);
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ(*result, c);
}

// ---- verify: success paths ---------------------------------------------------------------------

TEST_F(TokenTest, AcceptsOtherJsonSpellingsOfAValidToken) {
  // Keys in another order, whitespace, escapes and unknown claims go through the full parser;
  // nbf, when present, is an integer like iat and exp (a fraction is malformed, see below).
  const std::string header = R"( { "typ" : "JWT", "kid" : "k1", "alg" : "HS256" } )";
  const std::string payload =
      R"({ "jti": "tok_0001", "exp": 1767226440, "iat": 1767225540, "aud": "ithaca",)"
      R"( "role": "play\u0065r", "account": "acc_demo", "nbf": 1, "x": {"y": [null]},)"
      R"( "session_id": "ses_k3vq7x2mfa4ze5rbnh6t" })";
  auto result = ring_->verify(craft(header, payload), rules(), kNow);
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ(*result, player_claims());
}

TEST_F(TokenTest, AcceptsHeaderWithoutTyp) {
  auto result = ring_->verify(craft(R"({"alg":"HS256","kid":"k1"})", kPayload), rules(), kNow);
  ASSERT_TRUE(result.ok()) << result.error().to_string();
}

TEST_F(TokenTest, IgnoresUnknownClaimsOnTheCompactPath) {
  json p = payload_object();
  p["zzz"] = "extra";
  p["n"] = 12;
  auto result = ring_->verify(craft(p), rules(), kNow);
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ(*result, player_claims());
}

TEST_F(TokenTest, ApiTokenMayCarryASessionId) {
  TokenClaims c = player_claims();
  c.role = Role::api;
  c.subject = "key_1";
  auto result = ring_->verify(ring_->sign(c), rules(Role::api), kNow);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->session_id, c.session_id);
}

TEST_F(TokenTest, ApiTokenAcceptsAnExplicitEmptySessionId) {
  json p = payload_object();
  p["role"] = "api";
  p["session_id"] = "";
  auto result = ring_->verify(craft(p), rules(Role::api), kNow);
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ(result->session_id, "");
}

TEST_F(TokenTest, AcceptsExactly8KiB) {
  json p = payload_object();
  p["pad"] = "";
  std::string token = craft(p);
  for (size_t pad = 0; token.size() < 8192; ++pad) {
    p["pad"] = std::string(pad, 'p');
    token = craft(p);
  }
  if (token.size() == 8192) {
    EXPECT_TRUE(ring_->verify(token, rules(), kNow).ok());
  }
  p["pad"] = std::string(6200, 'p');
  token = craft(p);
  ASSERT_GT(token.size(), 8192u);
  EXPECT_EQ(verify_error(token), ErrorCode::token_malformed);
}

// ---- verify: token_malformed -------------------------------------------------------------------

TEST_F(TokenTest, MalformedShape) {
  const std::string good = ring_->sign(player_claims());
  const auto dot1 = good.find('.');
  const auto dot2 = good.rfind('.');
  EXPECT_EQ(verify_error(""), ErrorCode::token_malformed);
  EXPECT_EQ(verify_error("."), ErrorCode::token_malformed);
  EXPECT_EQ(verify_error(".."), ErrorCode::token_malformed);
  EXPECT_EQ(verify_error("abc"), ErrorCode::token_malformed);
  EXPECT_EQ(verify_error(good.substr(0, dot2)), ErrorCode::token_malformed);  // two segments
  EXPECT_EQ(verify_error(good + ".e30"), ErrorCode::token_malformed);         // four segments
  EXPECT_EQ(verify_error(good + "."), ErrorCode::token_malformed);
  EXPECT_EQ(verify_error("." + good), ErrorCode::token_malformed);
  EXPECT_EQ(verify_error(std::string(8193, 'a')), ErrorCode::token_malformed);
  // Bad base64url in each segment.
  std::string t = good;
  t[1] = '+';
  EXPECT_EQ(verify_error(t), ErrorCode::token_malformed);
  t = good;
  t[dot1 + 1] = '/';
  EXPECT_EQ(verify_error(t), ErrorCode::token_malformed);
  t = good;
  t[dot2 + 1] = '=';
  EXPECT_EQ(verify_error(t), ErrorCode::token_malformed);
  EXPECT_EQ(verify_error(good.substr(0, dot1) + "==" + good.substr(dot1)),
            ErrorCode::token_malformed);
  EXPECT_EQ(verify_error(good + "="), ErrorCode::token_malformed);
  EXPECT_EQ(verify_error(good.substr(0, dot2) + ".A"), ErrorCode::token_malformed);  // 1 char
  EXPECT_EQ(verify_error(std::string(good).insert(dot1 + 5, " ")), ErrorCode::token_malformed);
}

TEST_F(TokenTest, MalformedNonCanonicalBase64) {
  // The last character of a 43-character signature holds 2 unused bits; setting one gives a
  // second spelling of the same bytes, which strict decoding refuses.
  std::string t = ring_->sign(player_claims());
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  t.back() = kAlphabet[kAlphabet.find(t.back()) | 1];
  EXPECT_EQ(verify_error(t), ErrorCode::token_malformed);
}

TEST_F(TokenTest, MalformedHeader) {
  EXPECT_EQ(verify_error(craft("", kPayload)), ErrorCode::token_malformed);
  EXPECT_EQ(verify_error(craft("alg=HS256", kPayload)), ErrorCode::token_malformed);
  EXPECT_EQ(verify_error(craft(R"(["HS256"])", kPayload)), ErrorCode::token_malformed);
  EXPECT_EQ(verify_error(craft(R"("HS256")", kPayload)), ErrorCode::token_malformed);
  EXPECT_EQ(verify_error(craft(R"({"alg":"HS256","kid":"k1"} x)", kPayload)),
            ErrorCode::token_malformed);
  EXPECT_EQ(verify_error(craft(R"({"alg":"HS256","kid":"k1","crit":["exp"]})", kPayload)),
            ErrorCode::token_malformed);
  EXPECT_EQ(verify_error(craft("{\"alg\":\"HS256\",\"kid\":\"k1\",\"x\":\"\xff\"}", kPayload)),
            ErrorCode::token_malformed);  // invalid UTF-8
}

TEST_F(TokenTest, MalformedPayloadAfterAValidSignature) {
  for (const std::string payload :
       {"", "not json", "[]", "null", "42", "\"text\"", "{", "{}x", R"({"a":1,})", "{\"a\":01}",
        "{\"account\":\"\xff\"}",
        R"({"session_id":"s","account":"a","role":"player","aud":"ithaca",)"
        R"("iat":1767225540,"exp":1767226440,"jti":"t"} {})"}) {
    EXPECT_EQ(verify_error(craft(kHeader, payload)), ErrorCode::token_malformed) << payload;
  }
}

TEST_F(TokenTest, MalformedWhenARequiredClaimIsMissing) {
  for (const char* name : {"account", "role", "aud", "iat", "exp", "jti"}) {
    json p = payload_object();
    p.erase(name);
    EXPECT_EQ(verify_error(craft(p)), ErrorCode::token_malformed) << name;
  }
}

TEST_F(TokenTest, MalformedWhenAClaimHasTheWrongType) {
  const std::vector<std::pair<const char*, json>> cases = {
      {"account", 1},
      {"role", json::array({"player"})},
      {"aud", json::array({"ithaca"})},
      {"iat", "1767225540"},
      {"iat", true},
      {"exp", 1767226440.5},
      {"exp", 1.7e9},
      {"exp", nullptr},
      {"jti", json::object()},
      {"session_id", 5},
      {"sub", false},
      {"nbf", "1767225540"},
      {"nbf", 1767225540.5},
      {"nbf", nullptr},
      {"exp", int64_t{1} << 53},
      {"iat", -(int64_t{1} << 53)},
      {"exp", uint64_t{1} << 63},
      {"exp", std::numeric_limits<uint64_t>::max()},
  };
  for (const auto& [name, value] : cases) {
    json p = payload_object();
    p[name] = value;
    EXPECT_EQ(verify_error(craft(p)), ErrorCode::token_malformed) << name << "=" << value.dump();
  }
  // Integers of 19 digits and more, and fractions, spelled out by hand.
  for (const std::string exp : {"1767226440.0", "1767226440e0", "9223372036854775807",
                                "99999999999999999999", "-0.0", "+1"}) {
    std::string payload = kPayload;
    payload.replace(payload.find("1767226440"), 10, exp);
    EXPECT_EQ(verify_error(craft(kHeader, payload)), ErrorCode::token_malformed) << exp;
  }
}

TEST_F(TokenTest, MalformedRoleAndSession) {
  json p = payload_object();
  p["role"] = "admin";
  EXPECT_EQ(verify_error(craft(p)), ErrorCode::token_malformed);
  p["role"] = "Player";
  EXPECT_EQ(verify_error(craft(p)), ErrorCode::token_malformed);
  for (const char* role : {"player", "spectator"}) {
    p = payload_object();
    p["role"] = role;
    p.erase("session_id");
    EXPECT_EQ(verify_error(craft(p)), ErrorCode::token_malformed) << role;
    p["session_id"] = "";
    EXPECT_EQ(verify_error(craft(p)), ErrorCode::token_malformed) << role;
  }
}

TEST_F(TokenTest, RepeatedClaimKeepsTheLastValueOnBothPaths) {
  // Compact path (sign()'s form) and full parser agree, as they must.
  std::string compact = kPayload;
  compact.insert(1, R"("role":"spectator",)");
  auto a = ring_->verify(craft(kHeader, compact), rules(), kNow);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->role, Role::player);
  std::string spaced = kPayload;
  spaced.insert(1, R"( "role" : "spectator" , )");
  auto b = ring_->verify(craft(kHeader, spaced), rules(), kNow);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->role, Role::player);
}

// ---- verify: token_unsupported_alg -------------------------------------------------------------

TEST_F(TokenTest, UnsupportedAlg) {
  const std::string payload = b64(kPayload);
  EXPECT_EQ(verify_error(b64(R"({"alg":"none","kid":"k1","typ":"JWT"})") + "." + payload + "."),
            ErrorCode::token_unsupported_alg);
  EXPECT_EQ(verify_error(b64(R"({"alg":"none"})") + "." + payload + "."),
            ErrorCode::token_unsupported_alg);
  EXPECT_EQ(verify_error(b64(R"({"alg":"None","kid":"k1"})") + "." + payload + "."),
            ErrorCode::token_unsupported_alg);
  EXPECT_EQ(verify_error(craft(R"({"alg":"HS512","kid":"k1","typ":"JWT"})", kPayload, kSecret,
                               EVP_sha512())),
            ErrorCode::token_unsupported_alg);
  for (const std::string header :
       {R"({"alg":"RS256","kid":"k1","typ":"JWT"})", R"({"alg":"hs256","kid":"k1"})",
        R"({"alg":"HS256 ","kid":"k1"})", R"({"kid":"k1","typ":"JWT"})", R"({})",
        R"({"alg":null,"kid":"k1"})", R"({"alg":["HS256"],"kid":"k1"})",
        R"({"alg":256,"kid":"k1"})"}) {
    EXPECT_EQ(verify_error(craft(header, kPayload)), ErrorCode::token_unsupported_alg) << header;
  }
}

// ---- verify: token_unknown_kid -----------------------------------------------------------------

TEST_F(TokenTest, UnknownKid) {
  for (const std::string header :
       {R"({"alg":"HS256","kid":"k9","typ":"JWT"})", R"({"alg":"HS256","kid":"K1"})",
        R"({"alg":"HS256","kid":""})", R"({"alg":"HS256","typ":"JWT"})",
        R"({"alg":"HS256","kid":1})", R"({"alg":"HS256","kid":null})",
        R"({"alg":"HS256","kid":["k1"]})"}) {
    EXPECT_EQ(verify_error(craft(header, kPayload)), ErrorCode::token_unknown_kid) << header;
  }
}

// ---- verify: token_bad_signature ---------------------------------------------------------------

TEST_F(TokenTest, BadSignature) {
  const std::string good = ring_->sign(player_claims());
  const auto dot1 = good.find('.');
  const auto dot2 = good.rfind('.');
  const std::string input = good.substr(0, dot2);
  const std::string mac = *base64url_decode(good.substr(dot2 + 1));

  EXPECT_EQ(verify_error(input + "."), ErrorCode::token_bad_signature);  // empty
  EXPECT_EQ(verify_error(input + "." + b64(mac.substr(0, 31))), ErrorCode::token_bad_signature);
  EXPECT_EQ(verify_error(input + "." + b64(mac + "x")), ErrorCode::token_bad_signature);
  EXPECT_EQ(verify_error(input + "." + b64(mac + mac)), ErrorCode::token_bad_signature);
  for (size_t bit : {0, 7, 100, 255}) {
    std::string flipped = mac;
    flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_EQ(verify_error(input + "." + b64(flipped)), ErrorCode::token_bad_signature) << bit;
  }
  // Payload changed after signing.
  TokenClaims c = player_claims();
  c.role = Role::spectator;
  const std::string other = ring_->sign(c);
  EXPECT_EQ(verify_error(good.substr(0, dot1) + other.substr(dot1, other.rfind('.') - dot1) +
                             good.substr(dot2),
                         rules(Role::spectator)),
            ErrorCode::token_bad_signature);
  // Signed with another key's secret, or under another header spelling.
  EXPECT_EQ(verify_error(craft(kHeader, kPayload, kOldSecret)), ErrorCode::token_bad_signature);
  EXPECT_EQ(verify_error(b64(R"({"kid":"k1","alg":"HS256"})") + good.substr(dot1)),
            ErrorCode::token_bad_signature);
  // The signature is checked before the payload is parsed.
  EXPECT_EQ(verify_error(good.substr(0, dot1) + "." + b64("not json") + good.substr(dot2)),
            ErrorCode::token_bad_signature);
}

TEST_F(TokenTest, LongestSegmentsFitTheLimit) {
  // 8192 characters with almost all of them in the signature segment: still just a bad signature.
  const std::string good = ring_->sign(player_claims());
  const std::string input = good.substr(0, good.rfind('.'));
  std::string sig(8192 - input.size() - 1, 'A');
  if (sig.size() % 4 == 1) sig.pop_back();
  EXPECT_EQ(verify_error(input + "." + sig), ErrorCode::token_bad_signature);
  // And almost all in the payload: a valid signature over a payload of 6 KiB of JSON.
  json p = payload_object();
  p["pad"] = "";
  std::string token = craft(p);
  p["pad"] = std::string((8192 - token.size()) * 3 / 4 - 2, 'p');
  token = craft(p);
  ASSERT_LE(token.size(), 8192u);
  ASSERT_GT(token.size(), 8180u);
  EXPECT_TRUE(ring_->verify(token, rules(), kNow).ok());
}

TEST_F(TokenTest, DeeplyNestedJsonIsHandled) {
  // Within the size limit, nesting is as deep as it gets: no recursion may overflow.
  const std::string deep = std::string(2900, '[') + std::string(2900, ']');
  EXPECT_EQ(verify_error(craft(R"({"kid":"k1","x":)" + deep + "}", kPayload)),
            ErrorCode::token_unsupported_alg);
  EXPECT_EQ(verify_error(craft(kHeader, deep)), ErrorCode::token_malformed);
  json p = payload_object();
  std::string payload = p.dump();
  payload.insert(1, R"("x":)" + deep + ",");
  EXPECT_TRUE(ring_->verify(craft(kHeader, payload), rules(), kNow).ok());
}

TEST_F(TokenTest, EveryOneCharacterChangeFails) {
  // Strict base64url makes each text spell one byte string, so no edit of a token verifies.
  const std::string good = ring_->sign(player_claims());
  const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ";
  for (size_t i = 0; i < good.size(); ++i) {
    for (size_t k = i % 7; k < alphabet.size(); k += 7) {
      if (good[i] == alphabet[k]) continue;
      std::string t = good;
      t[i] = alphabet[k];
      ASSERT_FALSE(ring_->verify(t, rules(), kNow).ok()) << i << " " << alphabet[k];
    }
    ASSERT_FALSE(ring_->verify(good.substr(0, i), rules(), kNow).ok()) << i;
    ASSERT_FALSE(ring_->verify(std::string(good).erase(i, 1), rules(), kNow).ok()) << i;
  }
  EXPECT_TRUE(ring_->verify(good, rules(), kNow).ok());
}

// ---- verify: time, audience, role --------------------------------------------------------------

TEST_F(TokenTest, ExpiryWithLeeway) {
  const std::string token = ring_->sign(player_claims());
  EXPECT_TRUE(ring_->verify(token, rules(), kExp).ok());
  EXPECT_TRUE(ring_->verify(token, rules(), kExp + 5).ok());
  EXPECT_EQ(verify_error(token, rules(), kExp + 6), ErrorCode::token_expired);
  EXPECT_EQ(verify_error(token, rules(Role::player, "ithaca", 0), kExp + 1),
            ErrorCode::token_expired);
  EXPECT_TRUE(ring_->verify(token, rules(Role::player, "ithaca", 60), kExp + 60).ok());
  EXPECT_EQ(verify_error(token, rules(), std::numeric_limits<int64_t>::max()),
            ErrorCode::token_expired);
}

TEST_F(TokenTest, IssuedInTheFutureWithLeeway) {
  TokenClaims c = player_claims();
  c.issued_at = kNow + 5;
  c.expires_at = kNow + 900;
  const std::string edge = ring_->sign(c);
  EXPECT_TRUE(ring_->verify(edge, rules(), kNow).ok());
  EXPECT_EQ(verify_error(edge, rules(), kNow - 1), ErrorCode::token_not_yet_valid);
  EXPECT_EQ(verify_error(edge, rules(Role::player, "ithaca", 0), kNow),
            ErrorCode::token_not_yet_valid);
}

// A valid token whose nbf is ahead is not yet valid, with the same leeway as iat.
TEST_F(TokenTest, NotBeforeInTheFutureWithLeeway) {
  json p = payload_object();
  p["nbf"] = kNow + 3600;
  EXPECT_EQ(verify_error(craft(p)), ErrorCode::token_not_yet_valid);
  p["nbf"] = kNow + 5;
  EXPECT_TRUE(ring_->verify(craft(p), rules(), kNow).ok());
  EXPECT_EQ(verify_error(craft(p), rules(), kNow - 1), ErrorCode::token_not_yet_valid);
  p["nbf"] = kNow - 3600;
  EXPECT_TRUE(ring_->verify(craft(p), rules(), kNow).ok());
}

TEST_F(TokenTest, NegativeLeewayCountsAsZeroAndHugeLeewayDoesNotOverflow) {
  const std::string token = ring_->sign(player_claims());
  EXPECT_TRUE(ring_->verify(token, rules(Role::player, "ithaca", -100), kExp).ok());
  EXPECT_EQ(verify_error(token, rules(Role::player, "ithaca", -100), kExp + 1),
            ErrorCode::token_expired);
  const auto huge = rules(Role::player, "ithaca", std::numeric_limits<int64_t>::max());
  EXPECT_TRUE(ring_->verify(token, huge, std::numeric_limits<int64_t>::max()).ok());
  EXPECT_TRUE(ring_->verify(token, huge, kIat - 1'000'000'000).ok());
}

TEST_F(TokenTest, WrongAudience) {
  const std::string token = ring_->sign(player_claims());
  EXPECT_EQ(verify_error(token, rules(Role::player, "ithaca-staging")),
            ErrorCode::token_wrong_audience);
  EXPECT_EQ(verify_error(token, rules(Role::player, "")), ErrorCode::token_wrong_audience);
  EXPECT_EQ(verify_error(token, rules(Role::player, "ITHACA")), ErrorCode::token_wrong_audience);
}

TEST_F(TokenTest, WrongRole) {
  TokenClaims c = player_claims();
  c.role = Role::spectator;
  const std::string spectator = ring_->sign(c);
  EXPECT_EQ(verify_error(spectator, rules(Role::player)), ErrorCode::token_wrong_role);
  EXPECT_EQ(verify_error(spectator, rules(Role::api)), ErrorCode::token_wrong_role);
  EXPECT_EQ(verify_error(ring_->sign(player_claims()), rules(Role::spectator)),
            ErrorCode::token_wrong_role);
}

TEST_F(TokenTest, FailuresAreReportedInOrder) {
  // expired + wrong audience + wrong role -> expired
  EXPECT_EQ(verify_error(ring_->sign(player_claims()), rules(Role::api, "x"), kExp + 100),
            ErrorCode::token_expired);
  // not yet valid + wrong audience -> not yet valid
  EXPECT_EQ(verify_error(ring_->sign(player_claims()), rules(Role::player, "x"), kIat - 100),
            ErrorCode::token_not_yet_valid);
  // wrong audience + wrong role -> audience
  EXPECT_EQ(verify_error(ring_->sign(player_claims()), rules(Role::api, "x")),
            ErrorCode::token_wrong_audience);
  // bad signature + expired -> signature
  EXPECT_EQ(verify_error(craft(kHeader, kPayload, kOldSecret), rules(), kExp + 100),
            ErrorCode::token_bad_signature);
  // unknown kid + bad signature -> kid
  EXPECT_EQ(verify_error(b64(R"({"alg":"HS256","kid":"k9"})") + "." + b64(kPayload) + ".AAAA"),
            ErrorCode::token_unknown_kid);
  // alg none + unknown kid -> alg
  EXPECT_EQ(verify_error(b64(R"({"alg":"none","kid":"k9"})") + "." + b64(kPayload) + "."),
            ErrorCode::token_unsupported_alg);
  // malformed payload base64 + alg none -> malformed
  EXPECT_EQ(verify_error(b64(R"({"alg":"none"})") + ".a+b."), ErrorCode::token_malformed);
}

// ---- rotation and ring lifetime ----------------------------------------------------------------

TEST(TokenRotation, OldTokensVerifyWhileTheOldKeyIsListed) {
  const std::string secret_2025(32, 'o');
  const std::string secret_2026(48, 'n');
  auto old_ring = make_ring({"key-2025", secret_2025});
  auto new_ring = make_ring({"key-2026", secret_2026}, {{"key-2025", secret_2025}});
  auto newest_ring = make_ring({"key-2027", std::string(32, 'z')}, {{"key-2026", secret_2026}});
  const std::string old_token = old_ring->sign(player_claims());
  const std::string new_token = new_ring->sign(player_claims());
  EXPECT_EQ(new_ring->signing_kid(), "key-2026");

  auto r = new_ring->verify(old_token, rules(), kNow);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(*r, player_claims());
  EXPECT_TRUE(new_ring->verify(new_token, rules(), kNow).ok());
  EXPECT_TRUE(newest_ring->verify(new_token, rules(), kNow).ok());

  auto dropped = newest_ring->verify(old_token, rules(), kNow);
  ASSERT_FALSE(dropped.ok());
  EXPECT_EQ(dropped.error().code, ErrorCode::token_unknown_kid);
  auto unseen = old_ring->verify(new_token, rules(), kNow);
  ASSERT_FALSE(unseen.ok());
  EXPECT_EQ(unseen.error().code, ErrorCode::token_unknown_kid);
}

TEST(TokenRotation, ASameKidWithANewSecretIsAnotherKey) {
  // Rings reuse memory; a per-thread HMAC context left by a destroyed ring must never serve a
  // new one, even with the same kid at the same address.
  std::string token;
  {
    auto first = make_ring({"k1", std::string(32, 'a')});
    token = first->sign(player_claims());
    EXPECT_TRUE(first->verify(token, rules(), kNow).ok());
  }
  for (int i = 0; i < 40; ++i) {
    auto next = make_ring({"k1", std::string(32, static_cast<char>('b' + i % 20))});
    auto r = next->verify(token, rules(), kNow);
    ASSERT_FALSE(r.ok()) << i;
    EXPECT_EQ(r.error().code, ErrorCode::token_bad_signature);
  }
}

TEST(TokenRotation, ManyRingsInOneThreadStayCorrect) {
  // More (ring, key) pairs than the per-thread context cache holds.
  std::vector<std::shared_ptr<const TokenKeyRing>> rings;
  std::vector<std::string> tokens;
  for (int i = 0; i < 40; ++i) {
    rings.push_back(make_ring({"k" + std::to_string(i), std::string(32, static_cast<char>(i))},
                              {{"shared", std::string(40, 's')}}));
    tokens.push_back(rings.back()->sign(player_claims()));
  }
  for (int round = 0; round < 2; ++round) {
    for (size_t i = 0; i < rings.size(); ++i) {
      EXPECT_TRUE(rings[i]->verify(tokens[i], rules(), kNow).ok()) << i;
      const size_t j = (i + 1) % rings.size();
      auto r = rings[i]->verify(tokens[j], rules(), kNow);
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().code, ErrorCode::token_unknown_kid);
    }
  }
}

// ---- threads -----------------------------------------------------------------------------------

TEST_F(TokenTest, ConcurrentSignAndVerify) {
  TokenClaims spectator = player_claims();
  spectator.role = Role::spectator;
  const std::string good = ring_->sign(player_claims());
  const std::string old = make_ring({"k0", kOldSecret})->sign(spectator);
  const std::string forged = craft(kHeader, kPayload, kOldSecret);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        bool right = ring_->verify(good, rules(), kNow).ok() &&
                     ring_->verify(old, rules(Role::spectator), kNow).ok();
        auto bad = ring_->verify(forged, rules(), kNow);
        right = right && !bad.ok() && bad.error().code == ErrorCode::token_bad_signature;
        if (i % 16 == t) {
          TokenClaims c = player_claims();
          c.jti = "tok_" + std::to_string(t) + "_" + std::to_string(i);
          auto r = ring_->verify(ring_->sign(c), rules(), kNow);
          right = right && r.ok() && r->jti == c.jti;
        }
        if (!right) failures.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

// ---- shared vectors (spec/vectors/tokens.json) -------------------------------------------------

TokenClaims claims_from_json(const json& j) {
  TokenClaims c;
  c.session_id = j.at("session_id").get<std::string>();
  c.account = j.at("account").get<std::string>();
  EXPECT_TRUE(parse_role(j.at("role").get<std::string>(), c.role));
  c.audience = j.at("aud").get<std::string>();
  c.issued_at = j.at("iat").get<int64_t>();
  c.expires_at = j.at("exp").get<int64_t>();
  c.jti = j.at("jti").get<std::string>();
  c.subject = j.at("sub").get<std::string>();
  return c;
}

TEST(TokenVectors, EveryCaseMatches) {
  const std::string path = std::string(ITHACA_SOURCE_DIR) + "/spec/vectors/tokens.json";
  std::ifstream file(path);
  ASSERT_TRUE(file) << path;
  const json doc = json::parse(file);

  std::vector<HmacKey> keys;
  std::vector<std::string> secrets;
  for (const auto& k : doc.at("keys")) {
    auto secret = base64url_decode(k.at("secret_b64url").get<std::string>());
    ASSERT_TRUE(secret.has_value());
    secrets.push_back(*secret);
    keys.push_back({k.at("kid").get<std::string>(), *secret});
  }
  ASSERT_FALSE(keys.empty());
  const HmacKey signing = keys.front();
  keys.erase(keys.begin());
  auto ring = make_ring(signing, keys);
  ASSERT_NE(ring, nullptr);

  std::set<std::string> ids;
  std::set<std::string> codes_seen;
  int signed_cases = 0;
  for (const auto& c : doc.at("cases")) {
    const auto id = c.at("id").get<std::string>();
    SCOPED_TRACE(id);
    EXPECT_TRUE(ids.insert(id).second) << "repeated id";
    const auto token = c.at("token").get<std::string>();
    const auto& r = c.at("rules");
    Role role = Role::player;
    ASSERT_TRUE(parse_role(r.at("role").get<std::string>(), role));
    const VerifyRules rules{r.at("audience").get<std::string>(), role,
                            r.at("leeway_seconds").get<int64_t>()};
    auto result = ring->verify(token, rules, c.at("now").get<int64_t>());
    const auto& expect = c.at("expect");
    if (expect.at("ok").get<bool>()) {
      codes_seen.insert("ok");
      ASSERT_TRUE(result.ok()) << result.error().to_string();
      const TokenClaims want = claims_from_json(expect.at("claims"));
      EXPECT_EQ(*result, want);
      if (c.value("sign", false)) {
        ++signed_cases;
        EXPECT_EQ(ring->sign(want), token);
      }
    } else {
      const auto name = expect.at("error").get<std::string>();
      codes_seen.insert(name);
      ErrorCode want = ErrorCode::internal;
      ASSERT_TRUE(parse_error_code(name, want)) << name;
      ASSERT_FALSE(result.ok());
      EXPECT_EQ(result.error().name(), name) << result.error().to_string();
      if (!token.empty()) {
        EXPECT_EQ(result.error().detail.find(token), std::string::npos);
      }
      for (const auto& s : secrets) EXPECT_EQ(result.error().detail.find(s), std::string::npos);
    }
  }
  EXPECT_GE(ids.size(), 25u);
  EXPECT_GE(signed_cases, 3);
  for (const char* code : {"ok", "token_malformed", "token_unsupported_alg", "token_unknown_kid",
                           "token_bad_signature", "token_expired", "token_not_yet_valid",
                           "token_wrong_audience", "token_wrong_role"}) {
    EXPECT_TRUE(codes_seen.count(code)) << "no case for " << code;
  }
}

}  // namespace
}  // namespace ithaca::auth
