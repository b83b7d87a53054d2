#include "ithaca/base/encoding.hpp"

#include <gtest/gtest.h>

#include "ithaca/base/random.hpp"

namespace ithaca {
namespace {

TEST(Base64Url, RoundTripsEveryLength) {
  for (size_t n = 0; n < 40; ++n) {
    const std::string bytes = random_bytes(n);
    const auto text = base64url_encode(bytes);
    EXPECT_EQ(text.find_first_of("+/="), std::string::npos);
    ASSERT_EQ(base64url_decode(text), bytes) << n;
  }
}

TEST(Base64Url, KnownVectors) {
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("foob"), "Zm9vYg");
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
}

TEST(Base64Url, RejectsBadInput) {
  EXPECT_FALSE(base64url_decode("Zm9v+g"));   // standard alphabet
  EXPECT_FALSE(base64url_decode("Zg=="));     // padding
  EXPECT_FALSE(base64url_decode("Z"));        // impossible length
  EXPECT_FALSE(base64url_decode("Zh"));       // non-zero trailing bits: a second spelling of "f"
}

TEST(RandomId, HasPrefixAndEntropy) {
  const auto a = random_id("ses_"), b = random_id("ses_");
  EXPECT_EQ(a.rfind("ses_", 0), 0u);
  EXPECT_EQ(a.size(), 24u);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace ithaca
