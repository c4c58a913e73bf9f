// VigildHarness: runs the real vigild binary on a throw-away configuration
// (a temp dir for files, a fresh cgroup root under the host's cgroup2 mount)
// and talks to it over its control socket, as vigilctl would.
#ifndef VIGIL_TEST_VIGILD_HARNESS_H_
#define VIGIL_TEST_VIGILD_HARNESS_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/json.h"

namespace vigil::testing {

// A connection to the control socket.
class ControlClient {
 public:
  static absl::StatusOr<ControlClient> Connect(const std::string& socket_path);
  ControlClient(ControlClient&& other) noexcept;
  ~ControlClient();

  absl::Status SendLine(const std::string& line);
  // The next line, or an error after `timeout`.
  absl::StatusOr<std::string> ReadLine(std::chrono::milliseconds timeout);
  absl::StatusOr<json::Value> Request(const json::Value& request);

 private:
  explicit ControlClient(int fd) : fd_(fd) {}
  int fd_;
  std::string buffer_;
};

class VigildHarness {
 public:
  VigildHarness();   // makes the temp dir; nothing runs yet
  ~VigildHarness();  // stops vigild (SIGTERM, then SIGKILL) and cleans up

  const std::string& dir() const { return dir_; }
  const std::string& socket_path() const { return socket_; }
  const std::string& cgroup_root() const { return cgroup_root_; }
  const std::string& log_path() const { return log_; }
  pid_t pid() const { return pid_; }

  void WriteUnit(const std::string& name, const std::string& yaml);
  void RemoveUnit(const std::string& name);
  // Extra lines for the main YAML file (before Start).
  void AddMainConfig(const std::string& yaml) { extra_main_ += yaml; }
  // Sets cgroup_root in the main file ("auto" to let vigild choose).
  void set_cgroup_root(const std::string& root) { cgroup_root_ = root; }
  // vigild starts inside this cgroup (a delegated subtree, as under systemd
  // Delegate=yes or in a container).
  void set_start_cgroup(const std::string& dir) { start_cgroup_ = dir; }

  // Starts vigild with `args` and waits until its socket answers; also opens
  // an event subscription so no event after start-up is missed.
  absl::Status Start(std::vector<std::string> args = {},
                     std::vector<std::string> env = {});
  // SIGTERM and wait; returns vigild's exit status (as waitpid's).
  absl::StatusOr<int> Stop(std::chrono::milliseconds timeout = std::chrono::seconds(20));

  absl::StatusOr<json::Value> Request(const std::string& cmd, const std::string& unit = "");
  absl::StatusOr<json::Value> UnitStatus(const std::string& unit);

  // How long to wait for what must happen: only a failure waits this long,
  // and a TCG VM on a busy 2-core host can take many seconds for what takes
  // milliseconds here.
  static constexpr std::chrono::seconds kPatience{30};

  // Reads events until one matches; returns it. Events read on the way are
  // kept in history().
  absl::StatusOr<json::Value> WaitForEvent(
      const std::function<bool(const json::Value&)>& match,
      std::chrono::milliseconds timeout = kPatience);
  absl::StatusOr<json::Value> WaitForState(const std::string& unit, const std::string& state,
                                           std::chrono::milliseconds timeout = kPatience);
  const std::vector<json::Value>& history() const { return history_; }

  std::string ReadLog() const;
  std::string main_config_path() const { return dir_ + "/vigil.yaml"; }

 private:
  std::string dir_;
  std::string socket_;
  std::string cgroup_root_;
  std::string log_;
  std::string extra_main_;
  std::string start_cgroup_;
  pid_t pid_ = -1;
  std::unique_ptr<ControlClient> events_;
  std::vector<json::Value> history_;
};

// Event fields, for matchers.
std::string EventField(const json::Value& event, const char* key);
int64_t EventInt(const json::Value& event, const char* key);
// The event's "time" stamp; InfinitePast if it has none.
absl::Time EventTime(const json::Value& event);

// Runs a command to completion, returns exit status and output.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
CommandResult RunCommand(const std::vector<std::string>& argv);

// Paths of the binaries under test (Bazel runfiles).
std::string VigildPath();
std::string VigilctlPath();

bool ProcessAlive(pid_t pid);
// Voluntary + involuntary context switches of every thread of `pid`.
absl::StatusOr<int64_t> ContextSwitches(pid_t pid);

}  // namespace vigil::testing

#endif  // VIGIL_TEST_VIGILD_HARNESS_H_
