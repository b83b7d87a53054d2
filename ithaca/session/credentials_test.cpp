// The shared vectors of spec/vectors/credentials.json: what every SDK must write, byte for byte.
#include "ithaca/session/credentials.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace ithaca::session {
namespace {

TEST(Credentials, MatchSharedVectors) {
  std::ifstream in(std::string(ITHACA_SOURCE_DIR) + "/spec/vectors/credentials.json");
  const auto vectors = nlohmann::json::parse(in);
  int checked = 0;
  for (const auto& c : vectors["cases"]) {
    if (c["expect"].contains("error")) continue;  // reader-side cases are for the SDKs
    const auto& want = c["expect"]["object"];
    ClientCredentials creds;
    creds.session_id = want["session_id"];
    creds.signaling_url = want["signaling_url"];
    creds.session_token = want["session_token"];
    creds.expires_in = want["expires_in"];
    for (const auto& [k, v] : want["capabilities"].items()) creds.capabilities[k] = v.get<bool>();
    EXPECT_EQ(to_json(creds).dump(), c["expect"]["json"].get<std::string>()) << c["id"];
    ++checked;
  }
  EXPECT_GE(checked, 2);
}

}  // namespace
}  // namespace ithaca::session
