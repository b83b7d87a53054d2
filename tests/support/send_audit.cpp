#include "send_audit.hpp"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <cstring>
#include <mutex>

namespace ithaca::testing::send_audit {
namespace {

struct Recorded {
  sockaddr_storage address;
  bool operator==(const Recorded& o) const {
    return std::memcmp(&address, &o.address, sizeof address) == 0;
  }
};

std::mutex& mutex() {
  static std::mutex m;
  return m;
}
std::vector<Recorded>& recorded() {
  static std::vector<Recorded> r;
  return r;
}

void record(const sockaddr* address) {
  if (!address || (address->sa_family != AF_INET && address->sa_family != AF_INET6)) return;
  Recorded r{};
  std::memcpy(&r.address, address,
              address->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
  std::lock_guard lock(mutex());
  for (const auto& seen : recorded()) {
    if (seen == r) return;
  }
  recorded().push_back(r);
}

std::string text(const sockaddr* a) {
  char host[INET6_ADDRSTRLEN] = {0};
  if (a->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(a);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
  }
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a);
  inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
  return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6->sin6_port));
}

bool same_host(const sockaddr* a, const sockaddr* b) {
  if (a->sa_family != b->sa_family) return false;
  if (a->sa_family == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(a)->sin_addr.s_addr ==
           reinterpret_cast<const sockaddr_in*>(b)->sin_addr.s_addr;
  }
  return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(a)->sin6_addr,
                     &reinterpret_cast<const sockaddr_in6*>(b)->sin6_addr, sizeof(in6_addr)) == 0;
}

template <class F>
F real(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

}  // namespace

bool is_on_this_host(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    const uint32_t ip = ntohl(reinterpret_cast<const sockaddr_in*>(address)->sin_addr.s_addr);
    if ((ip >> 24) == 127) return true;
    if ((ip >> 28) == 0xE || ip == 0xFFFFFFFFu) return false;  // multicast, broadcast
  } else if (address->sa_family == AF_INET6) {
    const in6_addr& ip = reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&ip)) return true;
    if (IN6_IS_ADDR_MULTICAST(&ip)) return false;
  } else {
    return false;
  }
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return false;
  bool local = false;
  for (ifaddrs* i = list; i && !local; i = i->ifa_next) {
    local = i->ifa_addr && same_host(i->ifa_addr, address);
  }
  freeifaddrs(list);
  return local;
}

std::vector<std::string> destinations() {
  std::lock_guard lock(mutex());
  std::vector<std::string> out;
  for (const auto& r : recorded())
    out.push_back(text(reinterpret_cast<const sockaddr*>(&r.address)));
  return out;
}

std::vector<std::string> off_host_destinations() {
  std::vector<Recorded> all;
  {
    std::lock_guard lock(mutex());
    all = recorded();
  }
  std::vector<std::string> out;
  for (const auto& r : all) {
    const auto* a = reinterpret_cast<const sockaddr*>(&r.address);
    if (!is_on_this_host(a)) out.push_back(text(a));
  }
  return out;
}

void clear() {
  std::lock_guard lock(mutex());
  recorded().clear();
}

}  // namespace ithaca::testing::send_audit

namespace audit = ithaca::testing::send_audit;

extern "C" {

ssize_t sendto(int fd, const void* buf, size_t n, int flags, const sockaddr* address,
               socklen_t length) {
  static auto next = audit::real<decltype(&sendto)>("sendto");
  audit::record(address);
  return next(fd, buf, n, flags, address, length);
}

ssize_t sendmsg(int fd, const msghdr* message, int flags) {
  static auto next = audit::real<decltype(&sendmsg)>("sendmsg");
  if (message) audit::record(static_cast<const sockaddr*>(message->msg_name));
  return next(fd, message, flags);
}

int sendmmsg(int fd, mmsghdr* messages, unsigned int count, int flags) {
  static auto next = audit::real<decltype(&sendmmsg)>("sendmmsg");
  for (unsigned int i = 0; i < count; ++i) {
    audit::record(static_cast<const sockaddr*>(messages[i].msg_hdr.msg_name));
  }
  return next(fd, messages, count, flags);
}

int connect(int fd, const sockaddr* address, socklen_t length) {
  static auto next = audit::real<decltype(&connect)>("connect");
  audit::record(address);
  return next(fd, address, length);
}

}  // extern "C"
