#include "test/vigild_harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "supervisor/cgroup_tree.h"

namespace vigil::testing {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string RunfilePath(const std::string& relative) {
  // Bazel runs tests from the workspace's runfiles directory.
  if (access(relative.c_str(), X_OK) == 0) {
    return std::filesystem::absolute(relative).string();
  }
  const char* srcdir = getenv("TEST_SRCDIR");
  return absl::StrCat(srcdir ? srcdir : ".", "/vigil/", relative);
}

int counter = 0;

}  // namespace

std::string VigildPath() { return RunfilePath("supervisor/vigild"); }
std::string VigilctlPath() { return RunfilePath("supervisor/vigilctl"); }

absl::StatusOr<ControlClient> ControlClient::Connect(const std::string& socket_path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    int err = errno;
    close(fd);
    return absl::UnavailableError(absl::StrCat("connect ", socket_path, ": ", strerror(err)));
  }
  return ControlClient(fd);
}

ControlClient::ControlClient(ControlClient&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), buffer_(std::move(other.buffer_)) {}

ControlClient::~ControlClient() {
  if (fd_ >= 0) close(fd_);
}

absl::Status ControlClient::SendLine(const std::string& line) {
  std::string data = line + "\n";
  if (send(fd_, data.data(), data.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(data.size())) {
    return absl::UnavailableError(absl::StrCat("send: ", strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ControlClient::ReadLine(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    size_t newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return absl::DeadlineExceededError("no line from vigild in time");
    pollfd pfd{fd_, POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
    char chunk[65536];
    ssize_t n = read(fd_, chunk, sizeof chunk);
    if (n <= 0) return absl::UnavailableError("vigild closed the connection");
    buffer_.append(chunk, n);
  }
}

absl::StatusOr<json::Value> ControlClient::Request(const json::Value& request) {
  absl::Status sent = SendLine(json::Serialize(request));
  if (!sent.ok()) return sent;
  auto line = ReadLine(std::chrono::seconds(10));
  if (!line.ok()) return line.status();
  return json::Parse(*line);
}

VigildHarness::VigildHarness() {
  char templ[] = "/tmp/vigil-it-XXXXXX";
  dir_ = mkdtemp(templ);
  socket_ = dir_ + "/vigild.sock";
  log_ = dir_ + "/vigild.log";
  mkdir((dir_ + "/units").c_str(), 0755);
  auto host = DetectCgroupHost();
  cgroup_root_ = absl::StrCat(host.ok() ? host->mount : "/sys/fs/cgroup", "/vigil-it-",
                              getpid(), "-", ++counter);
}

VigildHarness::~VigildHarness() {
  if (pid_ > 0) (void)Stop();
  std::filesystem::remove_all(dir_);
}

void VigildHarness::WriteUnit(const std::string& name, const std::string& yaml) {
  // Write then rename, so a reload never sees half a file.
  std::string path = dir_ + "/units/" + name + ".yaml";
  std::ofstream(path + ".tmp") << yaml;
  std::rename((path + ".tmp").c_str(), path.c_str());
}

void VigildHarness::RemoveUnit(const std::string& name) {
  std::filesystem::remove(dir_ + "/units/" + name + ".yaml");
}

absl::Status VigildHarness::Start(std::vector<std::string> args, std::vector<std::string> env) {
  std::ofstream(main_config_path()) << "control_socket: " << socket_ << "\n"
                                    << "cgroup_root: " << cgroup_root_ << "\n"
                                    << "units_dir: units\n"
                                    << extra_main_;
  std::vector<std::string> argv = {VigildPath(), "--config", main_config_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_ = fork();
  if (pid_ == 0) {
    if (!start_cgroup_.empty()) {
      int procs = open((start_cgroup_ + "/cgroup.procs").c_str(), O_WRONLY);
      if (procs < 0 || write(procs, "0", 1) != 1) _exit(126);
      close(procs);
    }
    int log = open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(log, 1);
    dup2(log, 2);
    for (const std::string& e : env) putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + kPatience;
  while (std::chrono::steady_clock::now() < deadline) {
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::InternalError(absl::StrCat("vigild exited at start-up:\n", ReadLog()));
    }
    auto client = ControlClient::Connect(socket_);
    if (client.ok()) {
      json::Value request = json::Value::Object();
      request.Set("cmd", "events");
      request.Set("replay", true);
      auto reply = client->Request(request);
      if (!reply.ok()) return reply.status();
      events_ = std::make_unique<ControlClient>(*std::move(client));
      return absl::OkStatus();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return absl::DeadlineExceededError(absl::StrCat("vigild did not answer:\n", ReadLog()));
}

absl::StatusOr<int> VigildHarness::Stop(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return absl::FailedPreconditionError("vigild is not running");
  kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      pid_ = -1;
      return absl::DeadlineExceededError("vigild did not stop on SIGTERM");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pid_ = -1;
  events_.reset();
  return status;
}

absl::StatusOr<json::Value> VigildHarness::Request(const std::string& cmd,
                                                   const std::string& unit) {
  auto client = ControlClient::Connect(socket_);
  if (!client.ok()) return client.status();
  json::Value request = json::Value::Object();
  request.Set("cmd", cmd);
  if (!unit.empty()) request.Set("unit", unit);
  return client->Request(request);
}

absl::StatusOr<json::Value> VigildHarness::UnitStatus(const std::string& unit) {
  auto reply = Request("status");
  if (!reply.ok()) return reply.status();
  const json::Value* units = reply->Find("units");
  if (units == nullptr) return absl::InternalError(json::Serialize(*reply));
  for (const auto& u : units->AsArray()) {
    if (EventField(u, "name") == unit) return u;
  }
  return absl::NotFoundError(absl::StrCat("no unit ", unit, " in ", json::Serialize(*reply)));
}

absl::StatusOr<json::Value> VigildHarness::WaitForEvent(
    const std::function<bool(const json::Value&)>& match, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    auto line = events_->ReadLine(left);
    if (!line.ok()) break;
    auto event = json::Parse(*line);
    if (!event.ok()) return event.status();
    history_.push_back(*event);
    if (match(*event)) return *event;
  }
  return absl::DeadlineExceededError(
      absl::StrCat("no matching event in time; vigild log:\n", ReadLog()));
}

absl::StatusOr<json::Value> VigildHarness::WaitForState(const std::string& unit,
                                                        const std::string& state,
                                                        std::chrono::milliseconds timeout) {
  return WaitForEvent(
      [&](const json::Value& e) {
        return EventField(e, "unit") == unit && EventField(e, "kind") == "state" &&
               EventField(e, "state") == state;
      },
      timeout);
}

std::string VigildHarness::ReadLog() const { return Slurp(log_); }

std::string EventField(const json::Value& event, const char* key) {
  const json::Value* v = event.Find(key);
  if (v == nullptr) return "";
  return v->IsString() ? v->AsString() : json::Serialize(*v);
}

int64_t EventInt(const json::Value& event, const char* key) {
  const json::Value* v = event.Find(key);
  return v != nullptr && v->IsInt() ? v->AsInt() : -1;
}

absl::Time EventTime(const json::Value& event) {
  absl::Time t = absl::InfinitePast();
  std::string error;
  absl::ParseTime("%Y-%m-%dT%H:%M:%E*SZ", EventField(event, "time"), &t, &error);
  return t;
}

CommandResult RunCommand(const std::vector<std::string>& argv) {
  char out_templ[] = "/tmp/vigil-cmd-out-XXXXXX";
  char err_templ[] = "/tmp/vigil-cmd-err-XXXXXX";
  int out = mkstemp(out_templ);
  int err = mkstemp(err_templ);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out, 1);
    dup2(err, 2);
    std::vector<char*> cargv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  int status;
  waitpid(pid, &status, 0);
  close(out);
  close(err);
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = Slurp(out_templ);
  result.err = Slurp(err_templ);
  unlink(out_templ);
  unlink(err_templ);
  return result;
}

bool ProcessAlive(pid_t pid) {
  // A zombie is dead for our purposes.
  std::string stat = Slurp(absl::StrCat("/proc/", pid, "/stat"));
  if (stat.empty()) return false;
  size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

absl::StatusOr<int64_t> ContextSwitches(pid_t pid) {
  std::string dir = absl::StrCat("/proc/", pid, "/task");
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return absl::NotFoundError(dir);
  int64_t total = 0;
  while (dirent* entry = readdir(d)) {
    if (entry->d_name[0] == '.') continue;
    std::string status = Slurp(absl::StrCat(dir, "/", entry->d_name, "/status"));
    for (absl::string_view line : absl::StrSplit(status, '\n')) {
      int64_t n;
      if ((absl::ConsumePrefix(&line, "voluntary_ctxt_switches:") ||
           absl::ConsumePrefix(&line, "nonvoluntary_ctxt_switches:")) &&
          absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &n)) {
        total += n;
      }
    }
  }
  closedir(d);
  return total;
}

}  // namespace vigil::testing
