// ChildProcess: runs another binary of ours (the ithaca CLI, the test server) for tests that
// need a real process: kill -9, restart, stdout of a CLI.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace ithaca::testing {

class ChildProcess {
 public:
  explicit ChildProcess(std::vector<std::string> argv);
  ~ChildProcess();  // SIGKILL if still running
  void kill(int signal);
  int wait();  // exit status, or 128+signal
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

struct CommandResult {
  int exit_code = 0;
  std::string out;  // stdout only
};
// Runs to completion, capturing stdout.
CommandResult run_command(const std::vector<std::string>& argv);

// Polls for a file (the test server writes its port there); "" after the timeout.
std::string wait_for_file(const std::string& path, int timeout_ms);

}  // namespace ithaca::testing
