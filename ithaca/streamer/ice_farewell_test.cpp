#include "ithaca/streamer/ice_farewell.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <stun/stunagent.h>
#include <stun/usages/ice.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace ithaca::streamer {
namespace {

// libnice's STUN agent plays the browser: it makes the connectivity check and validates the
// answer (transaction, MESSAGE-INTEGRITY with the check's password, FINGERPRINT).
class Browser {
 public:
  Browser() {
    static const uint16_t known[] = {STUN_ATTRIBUTE_USERNAME,      STUN_ATTRIBUTE_MESSAGE_INTEGRITY,
                                     STUN_ATTRIBUTE_ERROR_CODE,    STUN_ATTRIBUTE_PRIORITY,
                                     STUN_ATTRIBUTE_USE_CANDIDATE, STUN_ATTRIBUTE_ICE_CONTROLLING,
                                     STUN_ATTRIBUTE_FINGERPRINT,   0};
    stun_agent_init(&agent_, known, STUN_COMPATIBILITY_RFC5389,
                    static_cast<StunAgentUsageFlags>(STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS |
                                                     STUN_AGENT_USAGE_USE_FINGERPRINT));
  }
  // libnice keeps a pointer to the password until the answer is validated: held here.
  std::string check(const std::string& password) {
    password_ = password;
    StunMessage msg;
    const std::string user = "remote:local";
    const size_t n = stun_usage_ice_conncheck_create(
        &agent_, &msg, buffer_, sizeof buffer_, reinterpret_cast<const uint8_t*>(user.data()),
        user.size(), reinterpret_cast<const uint8_t*>(password_.data()), password_.size(), false,
        true, 1234, 42, nullptr, STUN_USAGE_ICE_COMPATIBILITY_RFC5245);
    return std::string(reinterpret_cast<char*>(buffer_), n);
  }
  // The error code of a valid answer to the last check, or -1.
  int validate(const std::vector<uint8_t>& answer) {
    StunMessage msg;
    const auto valid =
        stun_agent_validate(&agent_, &msg, answer.data(), answer.size(), nullptr, nullptr);
    if (valid != STUN_VALIDATION_SUCCESS) return -1;
    int code = 0;
    if (stun_message_get_class(&msg) != STUN_ERROR ||
        stun_message_find_error(&msg, &code) != STUN_MESSAGE_RETURN_SUCCESS) {
      return -1;
    }
    return code;
  }

 private:
  StunAgent agent_;
  std::string password_;
  uint8_t buffer_[1024];
};

TEST(StunBindingError, IsAValidSignedErrorResponseToTheCheck) {
  Browser browser;
  const std::string check = browser.check("local-ice-password");
  auto answer = stun_binding_error(check, "local-ice-password", 403);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(browser.validate(*answer), 403);
}

TEST(StunBindingError, SignedWithAnotherPasswordItIsRefused) {
  Browser browser;
  const std::string check = browser.check("local-ice-password");
  auto answer = stun_binding_error(check, "not-the-password", 403);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(browser.validate(*answer), -1);
}

TEST(StunBindingError, AnythingButABindingRequestGetsNoAnswer) {
  Browser browser;
  const std::string check = browser.check("pw");
  EXPECT_FALSE(stun_binding_error("", "pw", 403));
  EXPECT_FALSE(stun_binding_error(check.substr(0, 19), "pw", 403));                // cut header
  EXPECT_FALSE(stun_binding_error(check.substr(0, check.size() - 4), "pw", 403));  // cut body
  std::string response = check;
  response[0] = 0x01;  // a Binding success response (0x0101), not a request
  EXPECT_FALSE(stun_binding_error(response, "pw", 403));
  std::string rtp(100, '\x80');  // media
  EXPECT_FALSE(stun_binding_error(rtp, "pw", 403));
}

TEST(IceFarewell, AnswersChecksOnTheSocketItWasGiven) {
  int streamer = socket(AF_INET, SOCK_DGRAM, 0), browser_fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(streamer, reinterpret_cast<sockaddr*>(&any), sizeof any), 0);
  sockaddr_in at{};
  socklen_t at_size = sizeof at;
  getsockname(streamer, reinterpret_cast<sockaddr*>(&at), &at_size);

  const uint64_t before = IceFarewell::answered();
  IceFarewell::add(streamer, "pw-123");
  Browser browser;
  const std::string check = browser.check("pw-123");
  ASSERT_EQ(
      sendto(browser_fd, check.data(), check.size(), 0, reinterpret_cast<sockaddr*>(&at), at_size),
      static_cast<ssize_t>(check.size()));
  pollfd p{browser_fd, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 2000), 1) << "no answer within 2 s";
  std::vector<uint8_t> answer(1500);
  answer.resize(static_cast<size_t>(recv(browser_fd, answer.data(), answer.size(), 0)));
  EXPECT_EQ(browser.validate(answer), 403);
  EXPECT_EQ(IceFarewell::answered(), before + 1);
  close(browser_fd);
}

}  // namespace
}  // namespace ithaca::streamer
