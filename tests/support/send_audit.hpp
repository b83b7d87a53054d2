// Every address this process sends to or connects to, recorded by interposing the socket
// calls (sendto, sendmsg, sendmmsg, connect) in the test executable itself: GLib's sockets,
// libnice and the fan-out all go through them. A test asserts with it that nothing leaves this
// host, such as libnice's UPnP discovery, which multicasts SSDP on the LAN unless turned off.
//
// Link into an executable with ENABLE_EXPORTS, so the shared libraries' calls bind to these
// definitions rather than libc's.
#pragma once

#include <sys/socket.h>

#include <string>
#include <vector>

namespace ithaca::testing::send_audit {

// The destinations recorded since the process started (or the last clear), as "ip:port".
std::vector<std::string> destinations();
// Those of them that are not this host's: multicast, broadcast, or an address no local
// interface has.
std::vector<std::string> off_host_destinations();
void clear();

// Whether `address` is on this host: loopback, or an address of a local interface.
bool is_on_this_host(const sockaddr* address);

}  // namespace ithaca::testing::send_audit
