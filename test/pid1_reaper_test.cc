// vigild as PID 1 of a PID namespace, as in a container: orphans re-parented
// to it are reaped, and the children it owns (here an exec hook) keep their
// exit status although the orphan reaper may collect them first.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <optional>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "test/vigild_harness.h"

namespace vigil::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

template <typename Condition>
bool WaitFor(Condition condition) {
  auto deadline = std::chrono::steady_clock::now() + seconds(20);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return true;
}

// vigild as PID 1 of a new PID namespace with its own /proc (what
// `unshare --pid --fork --mount-proc vigild ...` does). A helper process
// stays in this namespace and waits for it.
class Pid1Vigild {
 public:
  ~Pid1Vigild() { (void)Stop(); }

  // Empty on success, else why a PID namespace cannot be had here.
  std::string Start(const VigildHarness& files) {
    std::ofstream(files.main_config_path()) << "control_socket: " << files.socket_path() << "\n"
                                            << "cgroup_root: " << files.cgroup_root() << "\n"
                                            << "units_dir: units\nlog_level: debug\n";
    std::vector<std::string> args = {VigildPath(), "--config", files.main_config_path()};
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    std::string log = files.log_path();
    int report[2];  // helper → test: vigild's pid here, or an errno
    if (pipe2(report, O_CLOEXEC) < 0) return strerror(errno);
    helper_ = fork();
    if (helper_ == 0) RunHelper(argv.data(), log.c_str(), report[1]);
    close(report[1]);
    int answer[2] = {0, 0};  // {pid, errno}
    ssize_t n = read(report[0], answer, sizeof answer);
    close(report[0]);
    if (n != sizeof answer || answer[0] <= 0) {
      Stop();
      return absl::StrCat("unshare(CLONE_NEWPID | CLONE_NEWNS) or mounting /proc: ",
                          strerror(answer[1]), " (needs CAP_SYS_ADMIN)");
    }
    vigild_ = answer[0];
    return "";
  }

  pid_t pid() const { return vigild_; }

  // SIGTERM, and SIGKILL if vigild is not gone 20 s later (which ends its
  // whole namespace).
  void Stop() {
    if (vigild_ > 0) kill(vigild_, SIGTERM);
    if (helper_ > 0) {
      int status;
      if (!WaitFor([&] { return waitpid(helper_, &status, WNOHANG) != 0; })) {
        kill(vigild_, SIGKILL);
        waitpid(helper_, &status, 0);
      }
    }
    helper_ = vigild_ = -1;
  }

 private:
  [[noreturn]] static void RunHelper(char* const* argv, const char* log, int report) {
    int answer[2] = {0, 0};
    if (unshare(CLONE_NEWPID | CLONE_NEWNS) < 0) {
      answer[1] = errno;
      (void)!write(report, answer, sizeof answer);
      _exit(1);
    }
    int mounted[2];  // vigild → helper: errno of its /proc mount, nothing if fine
    if (pipe2(mounted, O_CLOEXEC) < 0) _exit(1);
    pid_t vigild = fork();  // PID 1 of the new namespace
    if (vigild == 0) {
      if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0 ||
          mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0) {
        int err = errno;
        (void)!write(mounted[1], &err, sizeof err);
        _exit(1);
      }
      int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      dup2(out, 1);
      dup2(out, 2);
      execv(argv[0], argv);
      _exit(127);
    }
    close(mounted[1]);
    int err = 0;
    if (read(mounted[0], &err, sizeof err) == sizeof err) {
      answer[1] = err;
    } else {
      answer[0] = vigild;
    }
    (void)!write(report, answer, sizeof answer);
    int status = 0;
    waitpid(vigild, &status, 0);
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128);
  }

  pid_t helper_ = -1;
  pid_t vigild_ = -1;
};

absl::StatusOr<ControlClient> SubscribeToEvents(const std::string& socket) {
  std::optional<ControlClient> client;
  if (!WaitFor([&] {
        absl::StatusOr<ControlClient> connected = ControlClient::Connect(socket);
        if (connected.ok()) client.emplace(*std::move(connected));
        return client.has_value();
      })) {
    return absl::DeadlineExceededError("vigild's control socket never answered");
  }
  json::Value request = json::Value::Object();
  request.Set("cmd", "events");
  request.Set("replay", true);  // what happened before this connection, too
  absl::Status sent = client->Request(request).status();
  if (!sent.ok()) return sent;
  return std::move(*client);
}

// The events vigild published, in order; each wait also looks at those an
// earlier wait read past (events of different units interleave).
class EventStream {
 public:
  explicit EventStream(ControlClient client) : client_(std::move(client)) {}

  absl::StatusOr<json::Value> WaitFor(const std::string& unit, const std::string& kind) {
    auto matches = [&](const json::Value& event) {
      return EventField(event, "unit") == unit && EventField(event, "kind") == kind;
    };
    for (const json::Value& event : seen_) {
      if (matches(event)) return event;
    }
    auto deadline = std::chrono::steady_clock::now() + seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      auto line = client_.ReadLine(milliseconds(500));
      if (!line.ok()) continue;
      auto event = json::Parse(*line);
      if (!event.ok()) continue;
      seen_.push_back(*event);
      if (matches(*event)) return event;
    }
    return absl::DeadlineExceededError(absl::StrCat("no ", kind, " event of ", unit));
  }

 private:
  ControlClient client_;
  std::vector<json::Value> seen_;
};

// The pid, in this namespace, of the child of `parent` whose pid in its own
// (innermost) namespace is `inner`; -1 if there is none.
pid_t ChildWithInnerPid(pid_t parent, int inner) {
  std::string children = Slurp(absl::StrCat("/proc/", parent, "/task/", parent, "/children"));
  for (absl::string_view word : absl::StrSplit(children, ' ', absl::SkipEmpty())) {
    int pid = 0;
    if (!absl::SimpleAtoi(word, &pid)) continue;
    for (absl::string_view line : absl::StrSplit(Slurp(absl::StrCat("/proc/", pid, "/status")), '\n')) {
      if (!absl::ConsumePrefix(&line, "NSpid:")) continue;
      std::vector<absl::string_view> ids = absl::StrSplit(line, '\t', absl::SkipEmpty());
      int id = 0;
      if (!ids.empty() && absl::SimpleAtoi(ids.back(), &id) && id == inner) return pid;
    }
  }
  return -1;
}

TEST(Pid1ReaperTest, HookKeepsItsStatusAndOrphansAreReaped) {
  VigildHarness files;  // temp dir, units, cgroup root; started here, not by it
  // The watch's hook exits 7; the stop ends the spinner.
  files.WriteUnit("hooked",
                  "exec: [/bin/sh, -c, 'while :; do :; done']\nrestart: never\n"
                  "watch:\n  cpu_time:\n    limit: 100ms\n"
                  "    on: {exceeded: [{exec: [/bin/sh, -c, 'exit 7']}, stop]}\n");
  // Double fork: the inner shell exits, its sleep is re-parented to PID 1.
  std::string orphan_file = files.dir() + "/orphan.pid";
  files.WriteUnit("orphaner", absl::StrCat("exec: [/bin/sh, -c, 'sh -c \"sleep 1000 & echo \\$! > ",
                                           orphan_file, "\"; exec sleep 1000']\n"
                                           "restart: never\n"));
  Pid1Vigild vigild;
  std::string unavailable = vigild.Start(files);
  if (!unavailable.empty()) GTEST_SKIP() << "no PID namespace: " << unavailable;
  auto subscription = SubscribeToEvents(files.socket_path());
  ASSERT_TRUE(subscription.ok()) << subscription.status() << "\n" << files.ReadLog();
  EventStream events(*std::move(subscription));

  auto hook_exit = events.WaitFor("hooked", "hook-exit");
  ASSERT_TRUE(hook_exit.ok()) << hook_exit.status() << "\n" << files.ReadLog();
  EXPECT_EQ(EventField(*hook_exit, "message"), "exited with code 7");
  EXPECT_EQ(EventInt(*hook_exit, "value"), 7);

  // The unit's main is claimed too: its exit status survives the reaper.
  auto main_exit = events.WaitFor("hooked", "exit");
  ASSERT_TRUE(main_exit.ok()) << main_exit.status();
  EXPECT_EQ(EventField(*main_exit, "message"), "killed by signal 15 (Terminated)");

  int inner = 0;
  ASSERT_TRUE(WaitFor([&] {
    std::string text = Slurp(orphan_file);
    return !text.empty() && text.back() == '\n' &&
           absl::SimpleAtoi(absl::StripTrailingAsciiWhitespace(text), &inner);
  }));
  pid_t orphan = -1;
  ASSERT_TRUE(WaitFor([&] { return (orphan = ChildWithInnerPid(vigild.pid(), inner)) > 0; }))
      << "pid " << inner << " never became a child of vigild (PID 1)";
  ASSERT_EQ(kill(orphan, SIGKILL), 0);
  // A zombie still answers kill(pid, 0); a reaped process does not.
  EXPECT_TRUE(WaitFor([&] { return kill(orphan, 0) < 0 && errno == ESRCH; }))
      << "orphan " << orphan << " (pid " << inner << " in vigild's namespace) stayed a zombie";
  vigild.Stop();
}

}  // namespace
}  // namespace vigil::testing
