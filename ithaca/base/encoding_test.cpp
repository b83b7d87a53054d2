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
  EXPECT_FALSE(base64url_decode("Zm9v+g"));  // standard alphabet
  EXPECT_FALSE(base64url_decode("Zg=="));    // padding
  EXPECT_FALSE(base64url_decode("Z"));       // impossible length
  EXPECT_FALSE(base64url_decode("Zh"));      // non-zero trailing bits: a second spelling of "f"
}

TEST(Utf8, ValidatesStrictly) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"));
  EXPECT_TRUE(is_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_TRUE(is_valid_utf8(std::string_view("\0", 1)));
  for (const std::string bad :
       {"\xff", "\xc3", "\xc3\x28", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
        "\xf8\x88\x80\x80\x80", "ok\x80", "\xe2\x82"}) {
    EXPECT_FALSE(is_valid_utf8(bad)) << hex_encode(bad);
  }
}

TEST(RandomId, HasPrefixAndEntropy) {
  const auto a = random_id("ses_"), b = random_id("ses_");
  EXPECT_EQ(a.rfind("ses_", 0), 0u);
  EXPECT_EQ(a.size(), 24u);
  EXPECT_NE(a, b);
}

TEST(TimeOrderedId, SortsByTimeAndStaysUnique) {
  const TimePoint t0 = from_unix_ms(1'700'000'000'000);
  std::string previous;
  for (int i = 0; i < 100; ++i) {
    const auto id = time_ordered_id("ses_", t0 + milliseconds(i));
    EXPECT_EQ(id.size(), 28u);
    EXPECT_LT(previous, id);
    previous = id;
  }
  EXPECT_NE(time_ordered_id("s", t0), time_ordered_id("s", t0));
  // The year 2200 still sorts after today: 50 bits of milliseconds.
  EXPECT_LT(time_ordered_id("", t0), time_ordered_id("", from_unix_ms(7'258'118'400'000)));
}

}  // namespace
}  // namespace ithaca
