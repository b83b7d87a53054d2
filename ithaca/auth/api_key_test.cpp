#include "ithaca/auth/api_key.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace ithaca::auth {
namespace {

constexpr size_t kKeyChars = 4 + 16 + 1 + 43;  // "ith_" + key id + "_" + secret

// A well-formed key with a fixed id and secret, to vary one character at a time.
const std::string kId = "abcdefgh234567zz";
const std::string kSecret = std::string(20, 'A') + "-_" + std::string(20, 'A') + "Q";
const std::string kKey = "ith_" + kId + "_" + kSecret;

void expect_malformed(std::string_view text) {
  auto parsed = parse_api_key(text);
  ASSERT_FALSE(parsed.ok()) << text;
  EXPECT_EQ(parsed.error().code, ErrorCode::malformed_api_key) << text;
}

TEST(ApiKey, GenerateParseMatch) {
  const NewApiKey key = generate_api_key();
  EXPECT_EQ(key.plaintext.size(), kKeyChars);
  EXPECT_EQ(key.plaintext.rfind("ith_", 0), 0u);
  EXPECT_EQ(key.key_id.size(), 16u);
  EXPECT_EQ(key.secret_hash.size(), 64u);  // hex SHA-256
  EXPECT_TRUE(looks_like_api_key(key.plaintext));

  auto parsed = parse_api_key(key.plaintext);
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  EXPECT_EQ(parsed->key_id, key.key_id);
  EXPECT_EQ(parsed->secret.size(), 43u);
  EXPECT_EQ(key.plaintext, "ith_" + parsed->key_id + "_" + parsed->secret);
  EXPECT_TRUE(api_key_secret_matches(parsed->secret, key.secret_hash));
  EXPECT_EQ(hash_api_key_secret(parsed->secret), key.secret_hash);
  // The stored hash is not the secret.
  EXPECT_EQ(key.secret_hash.find(parsed->secret), std::string::npos);
}

TEST(ApiKey, GeneratedKeysAreDistinct) {
  std::set<std::string> ids;
  std::set<std::string> keys;
  for (int i = 0; i < 200; ++i) {
    const NewApiKey key = generate_api_key();
    ids.insert(key.key_id);
    keys.insert(key.plaintext);
    ASSERT_TRUE(parse_api_key(key.plaintext).ok()) << key.key_id;
  }
  EXPECT_EQ(ids.size(), 200u);
  EXPECT_EQ(keys.size(), 200u);
}

TEST(ApiKey, ParsesAHandWrittenKey) {
  auto parsed = parse_api_key(kKey);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->key_id, kId);
  EXPECT_EQ(parsed->secret, kSecret);
}

TEST(ApiKey, WrongSecretDoesNotMatch) {
  const NewApiKey key = generate_api_key();
  const NewApiKey other = generate_api_key();
  auto mine = parse_api_key(key.plaintext);
  auto theirs = parse_api_key(other.plaintext);
  ASSERT_TRUE(mine.ok() && theirs.ok());
  EXPECT_FALSE(api_key_secret_matches(theirs->secret, key.secret_hash));
  std::string flipped = mine->secret;
  flipped[0] = flipped[0] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(api_key_secret_matches(flipped, key.secret_hash));
  EXPECT_FALSE(api_key_secret_matches("", key.secret_hash));
  EXPECT_FALSE(api_key_secret_matches(mine->secret, ""));
  EXPECT_FALSE(api_key_secret_matches(mine->secret, key.secret_hash.substr(1)));
  EXPECT_FALSE(api_key_secret_matches(key.secret_hash, key.secret_hash));
}

TEST(ApiKey, KnownHash) {
  // SHA-256("abc"), FIPS 180-2 appendix B.1.
  EXPECT_EQ(hash_api_key_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(api_key_secret_matches(
      "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
}

TEST(ApiKey, MalformedPrefix) {
  expect_malformed("");
  expect_malformed("ith_");
  expect_malformed("ITH_" + kKey.substr(4));
  expect_malformed("itx_" + kKey.substr(4));
  expect_malformed("ith-" + kKey.substr(4));
  expect_malformed("sk_" + kKey.substr(3));
  expect_malformed("x" + kKey.substr(1));
}

TEST(ApiKey, MalformedLengths) {
  expect_malformed(kKey.substr(0, kKey.size() - 1));               // secret one short
  expect_malformed(kKey + "A");                                    // secret one long
  expect_malformed("ith_" + kId.substr(1) + "_" + kSecret + "A");  // id short, total right
  expect_malformed("ith_" + kId + "a" + "_" + kSecret.substr(1));  // id long, total right
  expect_malformed("ith_" + kId + "_");
  expect_malformed("ith__" + kSecret);
  expect_malformed(kKey + kKey);
}

TEST(ApiKey, MalformedCharacters) {
  // Key id: lowercase base32 only (no uppercase, no 0, 1, 8, 9, no punctuation).
  for (char c : {'A', '0', '1', '8', '9', '-', '_', '.', ' ', '\0'}) {
    std::string key = kKey;
    key[4 + 3] = c;
    expect_malformed(key);
  }
  // Secret: base64url only (no standard alphabet, no padding).
  for (char c : {'+', '/', '=', ' ', '.', '\n', '\0', '\x80'}) {
    std::string key = kKey;
    key[key.size() - 5] = c;
    expect_malformed(key);
  }
  // The separator between id and secret.
  std::string key = kKey;
  key[4 + 16] = '-';
  expect_malformed(key);
  // Non-ASCII in place of one character: the length changes too, but check both.
  expect_malformed("ith_" + kId + "_" + kSecret.substr(0, 41) + "\xc3\xa9");
}

TEST(ApiKey, LooksLikeApiKey) {
  EXPECT_TRUE(looks_like_api_key(kKey));
  EXPECT_TRUE(looks_like_api_key("ith_"));  // dispatch only: parse_api_key then rejects it
  EXPECT_FALSE(looks_like_api_key(""));
  EXPECT_FALSE(looks_like_api_key("ith"));
  EXPECT_FALSE(looks_like_api_key("ITH_" + kKey.substr(4)));
  // A JWT starts with the base64url of '{"', never with "ith_".
  EXPECT_FALSE(looks_like_api_key("eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0.e30.sig"));
}

}  // namespace
}  // namespace ithaca::auth
