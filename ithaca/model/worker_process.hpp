// WorkerProcess: one model worker as a child process. The command runs under /bin/sh -c in a
// process group of its own (so killing the group frees everything the model started, GPU
// memory included), with exactly three file descriptors: stdin from /dev/null, stdout and
// stderr into one pipe the streamer reads as the worker's log, and its end of a private
// SOCK_SEQPACKET socket pair as ITHACA_WORKER_FD. Nothing else of the streamer is inherited.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "ithaca/base/error.hpp"
#include "ithaca/model/worker_protocol.hpp"

namespace ithaca::model {

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  ~Fd();
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

struct WorkerSpawn {
  std::string command;                     // run by /bin/sh -c
  std::map<std::string, std::string> env;  // added to (or replacing in) the streamer's
};

class WorkerProcess {
 public:
  static Result<WorkerProcess> spawn(const WorkerSpawn& spec);
  WorkerProcess(WorkerProcess&& o) noexcept
      : pid_(std::exchange(o.pid_, -1)),
        reaped_(o.reaped_),
        exit_(std::move(o.exit_)),
        control_(std::move(o.control_)),
        output_(std::move(o.output_)) {}
  WorkerProcess& operator=(WorkerProcess&&) = delete;
  ~WorkerProcess();  // kills the group and reaps the child

  pid_t pid() const { return pid_; }
  int control_fd() const { return control_.get(); }
  int output_fd() const { return output_.get(); }

  // One message, with a file descriptor passed along (SCM_RIGHTS) when fd >= 0.
  Status send(MessageType type, const nlohmann::json& payload, int fd = -1);
  // One packet without waiting: the message, std::nullopt when none is pending, or an error
  // (invalid_request for a malformed packet, streamer_failed when the worker hung up).
  Result<std::optional<Message>> receive();
  // SIGKILL to the whole group, then waits for the child. Idempotent. Returns the exit
  // description ("exit 1", "signal 9").
  std::string kill_group();
  // The child's exit when it has exited (without waiting); std::nullopt while it runs.
  std::optional<std::string> poll_exit();

 private:
  WorkerProcess() = default;
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::string exit_;
  Fd control_;
  Fd output_;
};

}  // namespace ithaca::model
