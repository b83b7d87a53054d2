#include "ithaca/signaling/ice_config.hpp"

#include <gtest/gtest.h>

namespace ithaca::signaling {
namespace {

using json = nlohmann::json;

TEST(IceConfig, EmptyByDefault) {
  EXPECT_EQ(ice_config_json({}, "", "").dump(), R"({"iceServers":[]})");
  EXPECT_EQ(ice_config_json({}, "user", "pass").dump(), R"({"iceServers":[]})");
}

TEST(IceConfig, StunWithoutCredentialsTurnWithThem) {
  const auto j = ice_config_json({"stun:stun.example.com:3478", "turn:turn.example.com:3478",
                                  "stuns:stun2.example.com", "turns:turn.example.com:5349"},
                                 "user", "secret");
  EXPECT_EQ(json(j), json::parse(R"({"iceServers":[
      {"urls":["stun:stun.example.com:3478","stuns:stun2.example.com"]},
      {"urls":["turn:turn.example.com:3478","turns:turn.example.com:5349"],
       "username":"user","credential":"secret"}]})"));
}

TEST(IceConfig, TurnWithoutCredentialsOmitsThem) {
  const auto j = ice_config_json({"turn:turn.example.com:3478?transport=udp"}, "", "");
  EXPECT_EQ(
      json(j),
      json::parse(R"({"iceServers":[{"urls":["turn:turn.example.com:3478?transport=udp"]}]})"));
  const auto stun_only = ice_config_json({"stun:s:1"}, "user", "secret");
  EXPECT_EQ(json(stun_only), json::parse(R"({"iceServers":[{"urls":["stun:s:1"]}]})"));
}

}  // namespace
}  // namespace ithaca::signaling
