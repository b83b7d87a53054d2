#include "ithaca/streamer/ice_farewell.hpp"

#include <openssl/hmac.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <thread>

namespace ithaca::streamer {
namespace {

constexpr uint16_t kBindingRequest = 0x0001;
constexpr uint16_t kBindingErrorResponse = 0x0111;
constexpr uint32_t kMagicCookie = 0x2112A442;
constexpr uint16_t kErrorCode = 0x0009;
constexpr uint16_t kMessageIntegrity = 0x0008;
constexpr uint16_t kFingerprint = 0x8028;
constexpr uint32_t kFingerprintXor = 0x5354554e;
constexpr size_t kHeader = 20;

uint16_t read16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
uint32_t read32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
void put16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
void put32(std::vector<uint8_t>& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v));
}
// The header's length field: the bytes after the header, counting what is about to follow.
void set_length(std::vector<uint8_t>& message, size_t extra) {
  const size_t length = message.size() - kHeader + extra;
  message[2] = static_cast<uint8_t>(length >> 8);
  message[3] = static_cast<uint8_t>(length);
}

const char* reason_of(int code) {
  switch (code) {
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    default:
      return "Error";
  }
}

}  // namespace

std::optional<std::vector<uint8_t>> stun_binding_error(std::string_view request,
                                                       const std::string& password, int code) {
  const auto* in = reinterpret_cast<const uint8_t*>(request.data());
  if (request.size() < kHeader || read16(in) != kBindingRequest || read32(in + 4) != kMagicCookie ||
      read16(in + 2) != request.size() - kHeader || read16(in + 2) % 4 != 0 || code < 300 ||
      code > 699) {
    return std::nullopt;
  }
  std::vector<uint8_t> out;
  put16(out, kBindingErrorResponse);
  put16(out, 0);                                // length, set below
  out.insert(out.end(), in + 4, in + kHeader);  // cookie and transaction id, as asked

  const std::string reason = reason_of(code);
  put16(out, kErrorCode);
  put16(out, static_cast<uint16_t>(4 + reason.size()));
  put16(out, 0);
  out.push_back(static_cast<uint8_t>(code / 100));
  out.push_back(static_cast<uint8_t>(code % 100));
  out.insert(out.end(), reason.begin(), reason.end());
  while (out.size() % 4) out.push_back(0);

  // MESSAGE-INTEGRITY: HMAC-SHA1 keyed with the ICE password, over the message so far with the
  // length counting the attribute itself.
  set_length(out, 24);
  unsigned char mac[20];
  unsigned int mac_size = 0;
  HMAC(EVP_sha1(), password.data(), static_cast<int>(password.size()), out.data(), out.size(), mac,
       &mac_size);
  put16(out, kMessageIntegrity);
  put16(out, 20);
  out.insert(out.end(), mac, mac + 20);

  // FINGERPRINT: CRC-32 of everything before it, length counting it too.
  set_length(out, 8);
  const uint32_t crc = static_cast<uint32_t>(crc32(0L, out.data(), static_cast<uInt>(out.size())));
  put16(out, kFingerprint);
  put16(out, 4);
  put32(out, crc ^ kFingerprintXor);
  return out;
}

struct IceFarewell::Impl {
  struct Entry {
    int fd;
    std::string password;
    std::chrono::steady_clock::time_point until;
  };

  Impl() : wake(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    thread = std::thread([this] {
      pthread_setname_np(pthread_self(), "ice-farewell");
      run();
    });
  }
  ~Impl() {
    stopping = true;
    poke();
    thread.join();
    for (auto& e : entries) close(e.fd);
    close(wake);
  }

  void poke() {
    const uint64_t one = 1;
    [[maybe_unused]] auto n = write(wake, &one, sizeof one);
  }

  void run() {
    while (!stopping) {
      std::vector<pollfd> fds{{wake, POLLIN, 0}};
      std::vector<Entry> snapshot;
      {
        std::lock_guard lock(mu);
        const auto now = std::chrono::steady_clock::now();
        for (auto it = entries.begin(); it != entries.end();) {
          if (it->until <= now) {
            close(it->fd);
            it = entries.erase(it);
          } else {
            fds.push_back({it->fd, POLLIN, 0});
            snapshot.push_back(*it);
            ++it;
          }
        }
      }
      if (poll(fds.data(), fds.size(), snapshot.empty() ? -1 : 250) <= 0) continue;
      if (fds[0].revents) {
        uint64_t count;
        [[maybe_unused]] auto n = read(wake, &count, sizeof count);
      }
      for (size_t i = 0; i < snapshot.size(); ++i) {
        if (fds[i + 1].revents & POLLIN) answer(snapshot[i]);
      }
    }
  }

  void answer(const Entry& e) {
    uint8_t buffer[1500];
    sockaddr_storage from{};
    socklen_t from_size = sizeof from;
    const ssize_t n = recvfrom(e.fd, buffer, sizeof buffer, MSG_DONTWAIT,
                               reinterpret_cast<sockaddr*>(&from), &from_size);
    if (n <= 0) return;
    auto reply = stun_binding_error(
        std::string_view(reinterpret_cast<const char*>(buffer), static_cast<size_t>(n)), e.password,
        403);
    if (!reply) return;  // media or DTLS still in flight: dropped
    ++answered;          // before the answer leaves, so whoever reads it sees the count
    sendto(e.fd, reply->data(), reply->size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from),
           from_size);
  }

  int wake;
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> answered{0};
  std::mutex mu;
  std::vector<Entry> entries;
  std::thread thread;
};

IceFarewell::Impl& IceFarewell::impl() {
  static Impl impl;
  return impl;
}

void IceFarewell::add(int fd, std::string password) {
  if (fd < 0) return;
  Impl& i = impl();
  {
    std::lock_guard lock(i.mu);
    i.entries.push_back({fd, std::move(password), std::chrono::steady_clock::now() + kHold});
  }
  i.poke();
}

uint64_t IceFarewell::answered() {
  return impl().answered.load();
}

}  // namespace ithaca::streamer
