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
  // Run to (re)start the service; the pidfile names the new process after it.
  std::vector<std::string> start;
  bool operator==(const AttachSpec&) const = default;
};

// A watch on one resource. The loader validates the shape of every watch;
// the watch issues give each one meaning. Kept as the raw validated text so
// later issues can add keys without changing this struct's users.
struct WatchSpec {
  std::map<std::string, std::string> fields;  // flattened key path -> scalar
  bool operator==(const WatchSpec&) const = default;
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
  WatchSpec watch;
  bool operator==(const UnitConfig&) const = default;
};

enum class LogLevel { kDebug, kInfo, kWarning, kError };

struct MainConfig {
  std::string source_path;
  std::string control_socket = "/run/vigil/vigild.sock";
  int control_socket_mode = 0600;
  // "auto": vigild's own delegated cgroup if it may write there, else
  // <cgroup2 mount>/vigil. Otherwise an absolute path inside a cgroup2 mount.
  std::string cgroup_root = "auto";
  LogLevel log_level = LogLevel::kInfo;
  std::string units_dir = "/etc/vigil/units";
};

struct Config {
  MainConfig main;
  std::vector<UnitConfig> units;  // sorted by name
};

}  // namespace vigil::config

#endif  // VIGIL_CONFIG_CONFIG_H_
