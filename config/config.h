// The configuration model: plain data produced by the loader (loader.h) and
// consumed by vigild. Nothing here touches the kernel.
#ifndef VIGIL_CONFIG_CONFIG_H_
#define VIGIL_CONFIG_CONFIG_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vigil::config {

using Duration = std::chrono::milliseconds;

enum class RestartPolicy { kAlways, kOnFailure, kNever };

// What the main process is expected to do. kSimple: the main process is the
// service; when it exits, leftovers in the cgroup are killed. kForking: the
// main process double-forks and exits; the unit lives while its cgroup is
// populated (cgroup.events).
enum class ServiceType { kSimple, kForking };

struct Backoff {
  Duration initial{100};
  Duration max{30000};
  double factor = 2.0;
  bool operator==(const Backoff&) const = default;
};

// At most `burst` starts within `interval`; one more puts the unit in `failed`.
struct StartLimit {
  int burst = 5;
  Duration interval{10000};
  bool operator==(const StartLimit&) const = default;
};

struct StopSpec {
  int signal = 15;  // SIGTERM
  Duration timeout{5000};
  bool operator==(const StopSpec&) const = default;
};

// Watching a process vigild did not start.
struct AttachSpec {
  std::optional<int> pid;
  std::optional<std::string> pidfile;
  // Every process running this executable (supervisor/exe_processes.h): the
  // unit runs while at least one does.
  std::optional<std::string> exe;
  // Run to (re)start the service; the pidfile names the new process after it
  // (with exe: the processes of the executable it starts).
  std::vector<std::string> start;
  bool operator==(const AttachSpec&) const = default;
};

// ---- watch: what vigild does when a resource crosses a line ----

enum class ActionKind { kSignal, kRestart, kStop, kFreeze, kExec, kLog };

// kMain: the unit's main process. kCgroup: every process in the unit's cgroup.
enum class SignalTarget { kMain, kCgroup };

// One thing to do when a watch fires. Every event is published on the event
// stream whatever its actions are; `log` also writes it to vigild's log.
struct Action {
  ActionKind kind = ActionKind::kLog;
  int signal = 0;                             // kSignal
  SignalTarget target = SignalTarget::kMain;  // kSignal
  std::vector<std::string> argv;  // kExec; the event is in its environment
  // At most one run per period; events in between still publish, not act.
  std::optional<Duration> rate_limit;
  bool operator==(const Action&) const = default;
};
using Actions = std::vector<Action>;

// A notify-only threshold. It fires once when usage rises to `at` and once
// when usage falls below `at - hysteresis` (the watch's hysteresis).
struct Level {
  uint64_t at = 0;  // bytes for memory, a count for tasks and fds
  // When set, replaces the watch's on.up / on.down for this level.
  std::optional<Actions> up;
  std::optional<Actions> down;
  bool operator==(const Level&) const = default;
};

struct MemoryWatch {
  std::optional<uint64_t> high;  // bytes, written to memory.high
  std::optional<uint64_t> max;   // bytes, written to memory.max
  std::vector<Level> levels;     // on memory.current; ascending, distinct
  uint64_t hysteresis = 0;       // bytes
  struct On {
    Actions high;      // memory.events high incremented (throttling began)
    Actions max;       // memory.events max incremented
    Actions oom;       // memory.events oom
    Actions oom_kill;  // memory.events oom_kill
    Actions up;        // any level crossed upward
    Actions down;      // any level crossed downward
    bool operator==(const On&) const = default;
  } on;
  bool operator==(const MemoryWatch&) const = default;
};

struct TasksWatch {
  std::optional<uint64_t> max;  // written to pids.max
  std::vector<Level> levels;    // on pids.current; ascending, distinct
  uint64_t hysteresis = 0;
  struct On {
    Actions max;  // pids.events max: a fork was refused
    Actions up;
    Actions down;
    bool operator==(const On&) const = default;
  } on;
  bool operator==(const TasksWatch&) const = default;
};

struct FdsWatch {
  std::vector<Level> levels;  // open fds of the main process
  uint64_t hysteresis = 0;
  struct On {
    Actions up;
    Actions down;
    bool operator==(const On&) const = default;
  } on;
  bool operator==(const FdsWatch&) const = default;
};

enum class PressureKind { kSome, kFull };

// A PSI trigger: fires when tasks stalled for `stall` within any `window`.
struct PressureTrigger {
  PressureKind kind = PressureKind::kSome;
  Duration stall{0};
  Duration window{0};
  struct On {
    Actions stall;
    bool operator==(const On&) const = default;
  } on;
  bool operator==(const PressureTrigger&) const = default;
};

struct PressureWatch {
  std::optional<PressureTrigger> cpu;
  std::optional<PressureTrigger> memory;
  std::optional<PressureTrigger> io;
  bool operator==(const PressureWatch&) const = default;
};

// A total CPU-time budget for the unit, like RLIMIT_CPU.
struct CpuTimeWatch {
  Duration limit{0};
  struct On {
    Actions exceeded;
    bool operator==(const On&) const = default;
  } on;
  bool operator==(const CpuTimeWatch&) const = default;
};

// MAZE: a task on the CPU for `soft` without blocking gets soft_signal once,
// for `hard` gets hard_signal once; both reset when it blocks.
struct RunawayWatch {
  Duration soft{0};
  std::optional<Duration> hard;
  int soft_signal = 24;  // SIGXCPU
  int hard_signal = 9;   // SIGKILL
  struct On {
    Actions soft;
    Actions hard;
    Actions reset;
    bool operator==(const On&) const = default;
  } on;
  bool operator==(const RunawayWatch&) const = default;
};

// A unit's `watch:` section; an absent watch is nullopt.
struct WatchSpec {
  std::optional<MemoryWatch> memory;
  std::optional<TasksWatch> tasks;
  std::optional<FdsWatch> fds;
  std::optional<PressureWatch> pressure;
  std::optional<CpuTimeWatch> cpu_time;
  std::optional<RunawayWatch> runaway;
  bool empty() const {
    return !memory && !tasks && !fds && !pressure && !cpu_time && !runaway;
  }
  bool operator==(const WatchSpec&) const = default;
};

// Where a unit's stdout and stderr go (`output:`), like systemd's
// StandardOutput= or supervisord's stdout_logfile.
enum class OutputMode {
  kLog,      // one pipe, read by vigild line by line into its log
  kNull,     // /dev/null: vigild holds no fd for it
  kFile,     // appended to `file`, opened by vigild at each start, not kept
  kInherit,  // vigild's own stdout and stderr
};

struct OutputSpec {
  OutputMode mode = OutputMode::kLog;
  std::string file;  // kFile: an absolute path
  bool operator==(const OutputSpec&) const = default;
};

struct UnitConfig {
  std::string name;         // file stem
  std::string source_path;  // the YAML file it came from
  std::vector<std::string> exec;
  bool shell = false;  // run exec[0] through /bin/sh -c
  std::map<std::string, std::string> env;
  std::string cwd;
  std::string user;
  std::string group;
  ServiceType type = ServiceType::kSimple;
  RestartPolicy restart = RestartPolicy::kOnFailure;
  Backoff backoff;
  StartLimit start_limit;
  StopSpec stop;
  std::vector<std::string> after;
  std::optional<AttachSpec> attach;
  std::string pidfile;  // for type: forking, the daemon's pid after startup
  OutputSpec output;
  WatchSpec watch;
  bool operator==(const UnitConfig&) const = default;
};

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// The rlimit-events API socket (rlimit/rlimit_events.h, issue 6). The mode
// and group decide who may connect; what each client may watch is checked
// per request from its credentials (root: anything; others: their own
// processes).
struct RlimitEventsConfig {
  // Default: rlimit-events.sock beside the control socket.
  std::string socket;
  int socket_mode = 0660;
  std::string group;  // empty: vigild's group
  int64_t max_watches = 10000;  // per client connection
  int64_t queue = 1024;  // records waiting per client before events are dropped
  // CPU time of a watched process between two readings of its fds, RSS and
  // threads.
  Duration cpu_tick{10};
  bool operator==(const RlimitEventsConfig&) const = default;
};

// Passive results for Nagios, NSCA and Icinga 2 (the main file's `nagios:`
// section, issue 8): vigild pushes a result the moment a unit's state or a
// watched level changes. Each target is off while its key is unset.
struct NagiosConfig {
  std::string host;  // empty: this machine's host name
  // Service names; {unit} and {resource} are replaced.
  std::string service = "vigil {unit}";
  std::string level_service = "vigil {unit} {resource}";
  std::string command_file;               // Nagios external command file
  std::vector<std::string> nsca_command;  // send_nsca argv, results on stdin
  struct Icinga2 {
    std::string url;  // http(s)://host:5665
    std::string user;
    std::string password;
    std::string ca_file;  // empty: the system's CAs
    bool insecure = false;  // skip TLS verification
    bool operator==(const Icinga2&) const = default;
  } icinga2;
  // A target that fails is retried after initial, doubling up to max; after
  // `attempts` failures in a row its queued results are dropped and counted.
  Duration retry_initial{1000};
  Duration retry_max{30000};
  int64_t retry_attempts = 5;
  int64_t queue = 1000;  // results waiting per target; the oldest go first
  bool enabled() const {
    return !command_file.empty() || !nsca_command.empty() || !icinga2.url.empty();
  }
  bool operator==(const NagiosConfig&) const = default;
};

struct MainConfig {
  std::string source_path;
  std::string control_socket = "/run/vigil/vigild.sock";
  int control_socket_mode = 0600;
  // "auto": vigild's own delegated cgroup if it may write there, else
  // <cgroup2 mount>/vigil. Otherwise an absolute path inside a cgroup2 mount.
  std::string cgroup_root = "auto";
  LogLevel log_level = LogLevel::kInfo;
  std::string units_dir = "/etc/vigil/units";
  RlimitEventsConfig rlimit_events;
  NagiosConfig nagios;
  bool operator==(const MainConfig&) const = default;
};

struct Config {
  MainConfig main;
  std::vector<UnitConfig> units;  // sorted by name
  bool operator==(const Config&) const = default;
};

}  // namespace vigil::config

#endif  // VIGIL_CONFIG_CONFIG_H_
