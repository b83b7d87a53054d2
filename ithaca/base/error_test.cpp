#include "ithaca/base/error.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace ithaca {
namespace {

// The generated enum must carry every row of spec/errors.json, with the same numbers.
TEST(ErrorCatalog, MatchesSpecFile) {
  std::ifstream in(std::string(ITHACA_SOURCE_DIR) + "/spec/errors.json");
  const auto spec = nlohmann::json::parse(in);
  for (const auto& row : spec["errors"]) {
    ErrorCode code;
    ASSERT_TRUE(parse_error_code(row["code"].get<std::string>(), code)) << row["code"];
    EXPECT_EQ(info(code).http_status, row["http_status"].get<int>());
    EXPECT_EQ(info(code).ws_close_code, row["ws_close_code"].get<int>());
    EXPECT_EQ(info(code).retryable, row["retryable"].get<bool>());
    EXPECT_EQ(info(code).action, row.value("action", ""));
  }
}

TEST(ErrorCatalog, UsageErrorsUseOdysseyNames) {
  EXPECT_EQ(info(ErrorCode::CONCURRENT_LIMIT_REACHED).http_status, 429);
  EXPECT_EQ(info(ErrorCode::RATE_LIMITED).code, "RATE_LIMITED");
  ErrorCode unused;
  EXPECT_FALSE(parse_error_code("no_such_code", unused));
}

TEST(Result, CarriesValueOrError) {
  Result<int> good = 3;
  Result<int> bad = make_error(ErrorCode::invalid_request, "x");
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().to_string(), "invalid_request: x");
}

}  // namespace
}  // namespace ithaca
