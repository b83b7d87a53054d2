#include "redis_test_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <vector>

#include "ithaca/store/redis/redis_client.hpp"

extern char** environ;

namespace ithaca::testing {
namespace {

namespace fs = std::filesystem;

uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

bool answers_ping(uint16_t port) {
  store::redis::PoolOptions options;
  options.size = 1;
  options.connect_timeout = std::chrono::milliseconds(200);
  store::redis::RedisPool pool({"127.0.0.1", port, 0}, options);
  auto r = pool.command({"PING"});
  return r.ok() && r->str == "PONG";
}

}  // namespace

std::string RedisTestServer::binary() {
  for (const char* candidate : {"/usr/bin/redis-server", "/usr/local/bin/redis-server"}) {
    if (access(candidate, X_OK) == 0) return candidate;
  }
  return "";
}

RedisTestServer::RedisTestServer(bool persist) : persist_(persist) {
  std::string pattern = (fs::temp_directory_path() / "ithaca-redis-XXXXXX").string();
  if (mkdtemp(pattern.data())) dir_ = pattern;
}

RedisTestServer::~RedisTestServer() {
  kill();
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

std::string RedisTestServer::url(int db) const {
  return "redis://127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db);
}

bool RedisTestServer::start() {
  const std::string bin = binary();
  if (bin.empty() || dir_.empty() || running()) return false;
  // A port picked free may be taken before redis binds it: try a few.
  for (int attempt = 0; attempt < 5; ++attempt) {
    const bool keep_port = port_ != 0 && attempt == 0;
    if (!keep_port && attempt > 0) port_ = 0;
    if (port_ == 0) port_ = free_port();
    std::vector<std::string> args = {
        bin,     "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save",           "",
        "--dir", dir_,     "--daemonize",         "no",     "--logfile", dir_ + "/redis.log"};
    if (persist_) {
      args.insert(args.end(), {"--appendonly", "yes", "--appendfsync", "always"});
    } else {
      args.insert(args.end(), {"--appendonly", "no"});
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    // Its own log file only: a redis-server holding the test's stdout or stderr would keep a
    // pipe reading the test's output open after the test.
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, bin.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) return false;
    pid_ = pid;
    for (int i = 0; i < 100; ++i) {  // up to 5 s
      if (answers_ping(port_)) return true;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {  // exited: the port was taken
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill();
  }
  return false;
}

void RedisTestServer::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

}  // namespace ithaca::testing
