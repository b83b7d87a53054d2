// Nothing the streaming path runs may send traffic off this host: after every test of this
// binary (a stream, a broadcast, every encoder), each address a socket sent to or connected to
// is loopback or this host's own (ICE pairs use the interface address). libnice's UPnP
// discovery, on by default, multicasts SSDP to 239.255.255.250:1900 for every session.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>

#include "send_audit.hpp"

namespace ithaca::testing {
namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

class NothingLeavesThisHost : public ::testing::Environment {
 public:
  void TearDown() override {
    const auto off_host = send_audit::off_host_destinations();
    EXPECT_TRUE(off_host.empty()) << "sent to addresses off this host: " << joined(off_host);
  }
};
[[maybe_unused]] auto* const kCheck =
    ::testing::AddGlobalTestEnvironment(new NothingLeavesThisHost);

sockaddr_in ipv4(const char* ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

TEST(SendAudit, RecordsTheAddressesThisProcessSendsTo) {
  // A datagram to a loopback port nothing listens on: the audit must see it, or the check
  // above would pass for want of looking.
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in to = ipv4("127.0.0.1", 9);
  ASSERT_EQ(sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 1);
  close(fd);
  const auto seen = send_audit::destinations();
  EXPECT_NE(std::find(seen.begin(), seen.end(), "127.0.0.1:9"), seen.end()) << joined(seen);
}

TEST(SendAudit, MulticastAndOtherHostsAreOffThisHost) {
  sockaddr_in ssdp = ipv4("239.255.255.250", 1900), other = ipv4("192.0.2.1", 80),
              loopback = ipv4("127.0.0.1", 80), broadcast = ipv4("255.255.255.255", 67);
  EXPECT_FALSE(send_audit::is_on_this_host(reinterpret_cast<sockaddr*>(&ssdp)));
  EXPECT_FALSE(send_audit::is_on_this_host(reinterpret_cast<sockaddr*>(&other)));
  EXPECT_FALSE(send_audit::is_on_this_host(reinterpret_cast<sockaddr*>(&broadcast)));
  EXPECT_TRUE(send_audit::is_on_this_host(reinterpret_cast<sockaddr*>(&loopback)));
}

}  // namespace
}  // namespace ithaca::testing
