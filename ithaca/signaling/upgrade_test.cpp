#include "ithaca/signaling/upgrade.hpp"

#include <gtest/gtest.h>

namespace ithaca::signaling {
namespace {

net::HttpRequest upgrade(std::string path, std::string query = {},
                         std::vector<std::pair<std::string, std::string>> headers = {}) {
  net::HttpRequest r;
  r.method = "GET";
  r.path = std::move(path);
  r.query = std::move(query);
  r.headers = std::move(headers);
  return r;
}

TEST(Upgrade, ClientPathNamesASaneSessionId) {
  EXPECT_EQ(client_session_id("/signaling/client/ses_abc-123"), "ses_abc-123");
  EXPECT_EQ(client_session_id("/signaling/client/" + std::string(128, 'a')), std::string(128, 'a'));
  for (const std::string& path :
       std::vector<std::string>{"/signaling/client/", "/signaling/client", "/signaling/client/a/b",
                                "/signaling/client/a%20b", "/signaling/client/a.b",
                                "/signaling/clientx/a", "/signaling/streamer", "/other/client/a",
                                "/signaling/client/" + std::string(129, 'a')}) {
    EXPECT_FALSE(client_session_id(path)) << path;
  }
}

TEST(Upgrade, TokenFromQueryIsPercentDecoded) {
  auto t = presented_token(upgrade("/signaling/client/s", "x=1&token=ab%2Ecd.ef"));
  EXPECT_EQ(t.token, "ab.cd.ef");
  EXPECT_FALSE(t.subprotocol);
  EXPECT_TRUE(presented_token(upgrade("/signaling/client/s", "")).token.empty());
  EXPECT_TRUE(presented_token(upgrade("/signaling/client/s", "token=")).token.empty());
}

TEST(Upgrade, TokenFromSubprotocolIsEchoed) {
  auto t = presented_token(upgrade("/signaling/client/s", "",
                                   {{"sec-websocket-protocol", "json, ithaca.token.aaa.bbb.ccc"}}));
  EXPECT_EQ(t.token, "aaa.bbb.ccc");
  EXPECT_EQ(t.subprotocol, "ithaca.token.aaa.bbb.ccc");

  // The query wins, and the offered protocol is still echoed.
  t = presented_token(upgrade("/signaling/client/s", "token=q.q.q",
                              {{"sec-websocket-protocol", "ithaca.token.p.p.p"}}));
  EXPECT_EQ(t.token, "q.q.q");
  EXPECT_EQ(t.subprotocol, "ithaca.token.p.p.p");

  // Other protocols, or the bare prefix, carry no token.
  t = presented_token(
      upgrade("/signaling/client/s", "", {{"sec-websocket-protocol", "json, ithaca.token."}}));
  EXPECT_TRUE(t.token.empty());
  EXPECT_FALSE(t.subprotocol);
}

TEST(Upgrade, BearerAndSecretComparison) {
  EXPECT_EQ(bearer_token(upgrade("/", "", {{"authorization", "Bearer abc"}})), "abc");
  EXPECT_EQ(bearer_token(upgrade("/", "", {{"authorization", "bearer  abc "}})), "abc");
  EXPECT_FALSE(bearer_token(upgrade("/", "", {{"authorization", "Basic abc"}})));
  EXPECT_FALSE(bearer_token(upgrade("/", "", {{"authorization", "Bearer "}})));
  EXPECT_FALSE(bearer_token(upgrade("/", "")));

  EXPECT_TRUE(secret_matches("0123456789abcdef", "0123456789abcdef"));
  EXPECT_FALSE(secret_matches("0123456789abcdeF", "0123456789abcdef"));
  EXPECT_FALSE(secret_matches("0123456789abcde", "0123456789abcdef"));
  EXPECT_FALSE(secret_matches("", ""));  // an unset secret admits nobody
}

}  // namespace
}  // namespace ithaca::signaling
