#include "ithaca/model/worker_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

extern char** environ;

namespace ithaca::model {
namespace {

// The child's end of the control socket: a fixed number, named in ITHACA_WORKER_FD.
constexpr int kChildControlFd = 3;

std::string describe(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

Error os_error(const std::string& what) {
  return make_error(ErrorCode::streamer_failed, what + ": " + std::strerror(errno));
}

}  // namespace

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Result<WorkerProcess> WorkerProcess::spawn(const WorkerSpawn& spec) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return os_error("socketpair");
  }
  Fd ours(sv[0]), theirs(sv[1]);
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return os_error("pipe");
  Fd out_read(out[0]), out_write(out[1]);

  // The environment is built before fork: the child only calls async-signal-safe functions.
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    const auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : spec.env) env[k] = v;
  env["ITHACA_WORKER_FD"] = std::to_string(kChildControlFd);
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  // exec: the model replaces the shell, so the worker's pid is the one that holds the socket.
  std::string command = "exec " + spec.command;
  char sh[] = "/bin/sh", dash_c[] = "-c";
  char* argv[] = {sh, dash_c, command.data(), nullptr};
  const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);

  const pid_t pid = fork();
  if (pid < 0) {
    if (devnull >= 0) ::close(devnull);
    return os_error("fork");
  }
  if (pid == 0) {
    setpgid(0, 0);
    // Back to default dispositions and an empty mask: the streamer blocks its stop signals.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGHUP}) signal(s, SIG_DFL);
    dup2(devnull >= 0 ? devnull : 0, 0);
    dup2(out_write.get(), 1);
    dup2(out_write.get(), 2);
    dup2(theirs.get(), kChildControlFd);
    close_range(kChildControlFd + 1, ~0U, 0);  // nothing else of the streamer's
    execve("/bin/sh", argv, envp.data());
    _exit(127);
  }
  if (devnull >= 0) ::close(devnull);
  setpgid(pid, pid);  // also here, so a kill right after spawn finds the group
  fcntl(ours.get(), F_SETFL, fcntl(ours.get(), F_GETFL) | O_NONBLOCK);
  fcntl(out_read.get(), F_SETFL, fcntl(out_read.get(), F_GETFL) | O_NONBLOCK);
  WorkerProcess p;
  p.pid_ = pid;
  p.control_ = std::move(ours);
  p.output_ = std::move(out_read);
  return p;
}

WorkerProcess::~WorkerProcess() {
  if (pid_ > 0) kill_group();
}

Status WorkerProcess::send(MessageType type, const nlohmann::json& payload, int fd) {
  auto packet = encode_message(type, payload);
  if (!packet) return packet.error();
  iovec iov{packet->data(), packet->size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  }
  // Small messages into a socket buffer of ~200 KiB: a full one means the worker stopped
  // reading, which supervision notices; the message is then lost with the worker.
  if (sendmsg(control_.get(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
    return os_error(std::string("sending ") + std::string(message_name(type)));
  }
  return ok_status();
}

Result<std::optional<Message>> WorkerProcess::receive() {
  static thread_local std::vector<char> buffer(kMaxPacketBytes + 1);
  iovec iov{buffer.data(), buffer.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 8)];
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  const ssize_t n = recvmsg(control_.get(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  // A worker has no business sending descriptors: close any that came.
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); n >= 0 && c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (std::size_t i = 0; i < count; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        ::close(fd);
      }
    }
  }
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      return std::optional<Message>{};
    }
    return os_error("receiving from the worker");
  }
  if (n == 0) return make_error(ErrorCode::streamer_failed, "the worker closed its socket");
  if (msg.msg_flags & MSG_TRUNC) {
    return make_error(ErrorCode::invalid_request, "packet over 64 KiB");
  }
  auto m = decode_message(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
  if (!m) return m.error();
  return std::optional<Message>(std::move(*m));
}

std::string WorkerProcess::kill_group() {
  if (pid_ <= 0) return exit_;
  if (!reaped_) {
    ::kill(-pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    exit_ = describe(status);
  } else {
    ::kill(-pid_, SIGKILL);  // the shell is gone; what it started may not be
  }
  return exit_;
}

std::optional<std::string> WorkerProcess::poll_exit() {
  if (reaped_) return exit_;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    reaped_ = true;
    exit_ = describe(status);
    return exit_;
  }
  return std::nullopt;
}

}  // namespace ithaca::model
