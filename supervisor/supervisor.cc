#include "supervisor/supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/errno_status.h"
#include "common/status_macros.h"
#include "config/loader.h"
#include "supervisor/exe_processes.h"
#include "supervisor/resource_watcher.h"
#include "supervisor/watch/psi_trigger.h"

namespace vigil {

using Clock = std::chrono::steady_clock;
using config::LogLevel;

const char* UnitStateName(UnitState state) {
  switch (state) {
    case UnitState::kStarting: return "starting";
    case UnitState::kRunning: return "running";
    case UnitState::kStopping: return "stopping";
    case UnitState::kExited: return "exited";
    case UnitState::kBackoff: return "backoff";
    case UnitState::kFailed: return "failed";
  }
  return "unknown";
}

const char* DirectionName(Direction d) {
  switch (d) {
    case Direction::kUp: return "up";
    case Direction::kDown: return "down";
    case Direction::kNone: return "";
  }
  return "";
}

// The output pipe (stdout and stderr) of one spawned process. Outlives the
// process until EOF, so nothing it wrote before dying is lost.
struct Supervisor::OutputPipe {
  UniqueFd fd;
  EventLoop::WatchId watch = 0;
  LineSplitter lines;
  std::string label;  // "web[1234] output: "
};

struct Supervisor::Unit {
  explicit Unit(const config::UnitConfig& c)
      : config(c), restarts(c.backoff, c.start_limit) {}

  config::UnitConfig config;
  UnitState state = UnitState::kExited;
  std::string state_reason;
  std::unique_ptr<UnitCgroup> cgroup;
  int cgroup_events_id = -1;  // in cgroup_events_
  std::optional<PidfdSource> main;
  EventLoop::WatchId main_watch = 0;
  // attach: {exe: ...}: the executable's processes, followed from the first
  // attach until the unit is stopped. `exe_main` is the oldest of them, the
  // one unit listeners were told about.
  std::unique_ptr<ExeProcesses> exe;
  int exe_main = 0;
  RestartTracker restarts;
  int starts = 0;
  Clock::time_point started_at;
  absl::Time started_wall;
  std::optional<ExitStatus> last_exit;
  absl::Time last_exit_time;
  absl::Duration last_run;  // how long the process that exited last had run
  TimerQueue::TimerId timer = 0;
  bool stop_requested = false;
  bool awaiting_empty = false;  // main exited; leftovers were killed
  std::vector<std::function<void(Unit&)>> after_stop;

  void RecordExit(ExitStatus status) {
    last_exit = status;
    last_exit_time = absl::Now();
    last_run = last_exit_time - started_wall;
  }
};

namespace {

// `after:` orders starts: a unit starts after the units it names.
std::vector<std::string> StartOrder(const std::vector<config::UnitConfig>& units) {
  std::map<std::string, const config::UnitConfig*> by_name;
  for (const auto& u : units) by_name[u.name] = &u;
  std::vector<std::string> order;
  std::set<std::string> visited;
  std::function<void(const std::string&)> visit = [&](const std::string& name) {
    if (!visited.insert(name).second || !by_name.count(name)) return;
    for (const auto& dep : by_name[name]->after) visit(dep);
    order.push_back(name);
  };
  for (const auto& u : units) visit(u.name);
  return order;
}

std::string FormatMs(config::Duration d) { return absl::StrCat(d.count(), "ms"); }

}  // namespace

Supervisor::Supervisor(Options options, config::Config config)
    : options_(std::move(options)), config_(std::move(config)) {}

absl::StatusOr<std::unique_ptr<Supervisor>> Supervisor::Create(
    const Options& options, config::Config config) {
  auto supervisor =
      std::unique_ptr<Supervisor>(new Supervisor(options, std::move(config)));
  RETURN_IF_ERROR(supervisor->Init());
  return supervisor;
}

absl::Status Supervisor::Init() {
  log_.set_level(config_.main.log_level);
  ASSIGN_OR_RETURN(loop_, EventLoop::Create(options_.backend, &loop_fallback_reason_));
  ASSIGN_OR_RETURN(timers_, TimerQueue::Create(*loop_));
  // As PID 1 (in a container) orphans are re-parented to vigild: reap them.
  if (getpid() == 1) {
    ASSIGN_OR_RETURN(signals_, SignalSource::Create({SIGTERM, SIGINT, SIGHUP, SIGCHLD}));
  } else {
    ASSIGN_OR_RETURN(signals_, SignalSource::Create({SIGTERM, SIGINT, SIGHUP}));
  }
  signal(SIGPIPE, SIG_IGN);
  RETURN_IF_ERROR(loop_->Add(signals_->fd(), POLLIN, [this](uint32_t) { OnSignals(); }).status());
  ASSIGN_OR_RETURN(CgroupHostInfo host, DetectCgroupHost());
  ASSIGN_OR_RETURN(cgroups_, CgroupTree::Setup(host, config_.main.cgroup_root));
  ASSIGN_OR_RETURN(cgroup_events_, CgroupEventsWatch::Create());
  RETURN_IF_ERROR(
      loop_->Add(cgroup_events_->fd(), POLLIN, [this](uint32_t) { OnCgroupChanges(); }).status());
  spawner_ = Spawner::Detect();
  ASSIGN_OR_RETURN(control_, ControlServer::Listen(
                                 *loop_, config_.main.control_socket,
                                 config_.main.control_socket_mode,
                                 [this](const json::Value& r) { return HandleRequest(r); }));
  RETURN_IF_ERROR(StartResourceWatcher());
  ReportCapabilities();
  for (const std::string& note : cgroups_->setup_notes()) log_.Warning(note);
  ReportWatchMechanisms();
  for (const auto& unit_config : config_.units) RETURN_IF_ERROR(AddUnit(unit_config));
  return absl::OkStatus();
}

absl::Status Supervisor::StartResourceWatcher() {
  ResourceWatcher::Options options;
  options.features = {.memory_controller = cgroups_->UnitsHave("memory"),
                      .pids_controller = cgroups_->UnitsHave("pids"),
                      .psi = access("/proc/pressure/cpu", R_OK) == 0};
  // Each CPU-timer user has its own signal (MAZE and rlimit-events use others).
  options.tick_signo = SIGRTMIN + 1;
  options.warn = [this](const std::string& text) { log_.Warning(text); };
  auto with_unit = [this](std::function<void(Unit&)> act) {
    return [this, act](const std::string& name) {
      auto it = units_.find(name);
      if (it != units_.end()) act(*it->second);
    };
  };
  ActionRunner::Callbacks callbacks{
      .publish = [this](Event event) { Publish(std::move(event)); },
      .restart = with_unit([this](Unit& unit) {
        StopUnit(unit, [this](Unit& stopped) { StartUnit(stopped); });
      }),
      .stop = with_unit([this](Unit& unit) { StopUnit(unit, nullptr); })};
  ASSIGN_OR_RETURN(resource_watcher_,
                   ResourceWatcher::Create(*loop_, *spawner_, std::move(options),
                                           std::move(callbacks)));
  AddUnitListener(resource_watcher_.get());
  return absl::OkStatus();
}

json::Value Supervisor::WatchCapabilities() const {
  json::Value units = json::Value::Object();
  for (const auto& unit : config_.units) {
    if (unit.watch.empty()) continue;
    json::Value watches = json::Value::Object();
    for (const auto& [watch, mechanism] : resource_watcher_->Mechanisms(unit)) {
      watches.Set(watch, mechanism);
    }
    units.Set(unit.name, std::move(watches));
  }
  return units;
}

void Supervisor::ReportWatchMechanisms() const {
  for (const auto& unit : config_.units) {
    for (const auto& [watch, mechanism] : resource_watcher_->Mechanisms(unit)) {
      log_.Info(absl::StrCat("watch ", unit.name, " ", watch, ": ", mechanism));
    }
  }
}

Supervisor::~Supervisor() {
  while (!units_.empty()) RemoveUnit(units_.begin()->first);
  pipes_.clear();
}

json::Value Supervisor::Capabilities() const {
  const CgroupHostInfo& host = cgroups_->host();
  json::Value caps = json::Value::Object();
  caps.Set("event_loop", loop_->backend_name());
  if (!loop_fallback_reason_.empty()) caps.Set("event_loop_fallback_reason", loop_fallback_reason_);
  caps.Set("cgroup_layout", host.layout == CgroupLayout::kHybrid ? "hybrid" : "unified");
  caps.Set("cgroup_mount", host.mount);
  caps.Set("cgroup_root", cgroups_->root());
  json::Value controllers = json::Value::Array();
  for (const auto& c : cgroups_->unit_controllers()) controllers.Push(c);
  caps.Set("unit_controllers", std::move(controllers));
  caps.Set("spawn", spawner_->method_name());
  caps.Set("exit", "pidfd readiness + waitid(P_PIDFD)");
  caps.Set("memory_watch", cgroups_->UnitsHave("memory")
                               ? "cgroup v2 memory.events"
                               : "per-process /proc/<pid>/status (no cgroup v2 memory controller)");
  caps.Set("tasks_watch", cgroups_->UnitsHave("pids")
                              ? "cgroup v2 pids.events"
                              : "per-process /proc/<pid>/task (no cgroup v2 pids controller)");
  caps.Set("psi", access("/proc/pressure/cpu", R_OK) == 0);
  caps.Set("watch_cpu_tick", resource_watcher_->tick_description());
  caps.Set("watches", WatchCapabilities());
  caps.Set("cap_sys_resource", watch::HasCapSysResource());
  caps.Set("psi_window_rule", watch::HasCapSysResource()
                                  ? "any window from 500ms to 10s"
                                  : "windows must be multiples of 2s (no CAP_SYS_RESOURCE)");
  for (const auto& [name, value] : service_capabilities_) caps.Set(name, value);
  return caps;
}

void Supervisor::ReportCapabilities() {
  json::Value caps = Capabilities();
  for (const auto& [key, value] : caps.AsObject()) {
    log_.Info(absl::StrCat("capability ", key, ": ",
                           value.IsString() ? value.AsString() : json::Serialize(value)));
  }
}

void Supervisor::AddCapability(const std::string& name, json::Value value) {
  log_.Info(absl::StrCat("capability ", name, ": ",
                         value.IsString() ? value.AsString() : json::Serialize(value)));
  service_capabilities_[name] = std::move(value);
}

void Supervisor::PublishWithActions(Event cause, const std::vector<watch::DueAction>& due) {
  auto it = units_.find(cause.unit);
  if (due.empty() || it == units_.end()) {
    Publish(std::move(cause));
    return;
  }
  const Unit& unit = *it->second;
  ActionTarget target{.unit = unit.config.name,
                      .main = unit.main ? &*unit.main : nullptr,
                      .cgroup_dir = unit.config.attach ? "" : unit.cgroup->path()};
  Firing firing{.event = std::move(cause), .actions = {}};
  for (const watch::DueAction& action : due) {
    firing.actions.emplace_back(*action.action, action.suppressed_before);
  }
  // Whoever froze the unit (a freeze action of any watch), a restart or stop
  // must reach its processes.
  auto thaw = [this, name = target.unit, dir = target.cgroup_dir] {
    resource_watcher_->Thaw(name);
    if (!dir.empty()) (void)WriteStringToFile(dir + "/cgroup.freeze", "0");
  };
  resource_watcher_->RunFirings(target, {std::move(firing)}, thaw);
}

absl::Status Supervisor::AddUnit(const config::UnitConfig& unit_config) {
  auto unit = std::make_unique<Unit>(unit_config);
  ASSIGN_OR_RETURN(unit->cgroup, cgroups_->CreateUnit(unit_config.name));
  ASSIGN_OR_RETURN(unit->cgroup_events_id, cgroup_events_->Add(*unit->cgroup));
  unit_by_cgroup_events_id_[unit->cgroup_events_id] = unit_config.name;
  units_[unit_config.name] = std::move(unit);
  return absl::OkStatus();
}

void Supervisor::RemoveUnit(const std::string& name) {
  auto it = units_.find(name);
  if (it == units_.end()) return;
  Unit& unit = *it->second;
  if (unit.main_watch) loop_->Remove(unit.main_watch);
  if (unit.main) NotifyMainGone(unit, unit.main->pid());
  StopFollowingExe(unit);
  cgroup_events_->Remove(unit.cgroup_events_id);
  unit_by_cgroup_events_id_.erase(unit.cgroup_events_id);
  timers_->Cancel(unit.timer);
  if (CgroupPopulated(unit)) (void)unit.cgroup->Kill();
  unit.cgroup.reset();
  units_.erase(it);
  absl::Status removed = cgroups_->RemoveUnit(name);
  if (!removed.ok()) log_.Warning(removed.message());
}

std::vector<std::string> Supervisor::SpawnEnvironment(const Unit& unit) const {
  std::map<std::string, std::string> env = {
      {"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
      {"VIGIL_UNIT", unit.config.name}};
  for (const char* inherited : {"LANG", "TZ"}) {
    if (const char* v = getenv(inherited)) env[inherited] = v;
  }
  for (const auto& [k, v] : unit.config.env) env[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(absl::StrCat(k, "=", v));
  return out;
}

void Supervisor::StartUnit(Unit& unit) {
  if (unit.state == UnitState::kRunning || unit.state == UnitState::kStarting ||
      unit.state == UnitState::kStopping) {
    return;
  }
  timers_->Cancel(unit.timer);
  const config::StartLimit& limit = unit.config.start_limit;
  if (!unit.restarts.AllowStart(Clock::now())) {
    SetState(unit, UnitState::kFailed,
             absl::StrCat("start limit hit: ", limit.burst, " starts within ",
                          FormatMs(limit.interval)));
    return;
  }
  unit.started_at = Clock::now();
  unit.started_wall = absl::Now();
  ++unit.starts;
  if (unit.config.attach) {
    AttachMain(unit);
    return;
  }
  SpawnMain(unit, unit.config.exec);
}

void Supervisor::SpawnMain(Unit& unit, const std::vector<std::string>& argv) {
  SpawnRequest request;
  request.argv = unit.config.shell
                     ? std::vector<std::string>{"/bin/sh", "-c", argv.at(0)}
                     : argv;
  request.env = SpawnEnvironment(unit);
  request.cwd = unit.config.cwd;
  request.user = unit.config.user;
  request.group = unit.config.group;
  // Held only while spawning: a unit keeps no fd on its cgroup directory.
  absl::StatusOr<UniqueFd> cgroup_dir = unit.cgroup->OpenDir();
  if (!cgroup_dir.ok()) {
    SetState(unit, UnitState::kFailed, std::string(cgroup_dir.status().message()));
    return;
  }
  // A file that cannot be opened fails this start like an exec that fails:
  // the restart policy decides whether to try again.
  absl::StatusOr<OutputEnds> output = OpenOutput(unit.config.output);
  absl::StatusOr<PidfdSource> child = absl::UnknownError("not spawned");
  if (!output.ok()) {
    child = output.status();
  } else {
    request.cgroup_dir_fd = cgroup_dir->get();
    request.stdout_fd = output->child_stdout;
    request.stderr_fd = output->child_stderr;
    child = spawner_->Spawn(request);
    output->child_end.reset();
  }
  cgroup_dir->reset();
  if (!child.ok()) {
    unit.RecordExit(ExitStatus{.known = true, .code = 127});
    Publish({.unit = unit.config.name, .kind = "spawn-failed",
             .mechanism = "spawn", .message = std::string(child.status().message())});
    OnUnitGone(unit);
    return;
  }
  int pid = child->pid();
  if (output->log_end.get() >= 0) CaptureOutput(unit, output->log_end.release(), pid);
  bool is_starter = unit.config.attach || unit.config.type == config::ServiceType::kForking;
  Publish({.unit = unit.config.name, .pid = pid, .kind = "spawn",
           .mechanism = spawner_->method() == Spawner::Method::kClone3 ? "clone3" : "fork",
           .message = absl::StrCat("started ", absl::StrJoin(request.argv, " "))});
  WatchMain(unit, *std::move(child));
  SetState(unit, is_starter ? UnitState::kStarting : UnitState::kRunning,
           absl::StrCat("pid ", pid));
}

void Supervisor::AttachMain(Unit& unit) {
  const config::AttachSpec& attach = *unit.config.attach;
  if (attach.exe) {
    AttachExe(unit);
    return;
  }
  absl::StatusOr<PidfdSource> target = absl::NotFoundError("no pid");
  std::string from;
  const std::string& pidfile = attach.pidfile ? *attach.pidfile : unit.config.pidfile;
  if (attach.pid) {
    target = PidfdSource::Open(*attach.pid);
    from = absl::StrCat("pid ", *attach.pid);
  } else {
    auto text = ReadFileToString(pidfile);
    int pid = 0;
    if (!text.ok()) {
      target = text.status();
    } else if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &pid) || pid <= 0) {
      target = absl::InvalidArgumentError(
          absl::StrCat("pidfile ", pidfile, ": expected a process id, got \"",
                       absl::StripAsciiWhitespace(*text), "\""));
    } else {
      target = PidfdSource::Open(pid);
    }
    from = absl::StrCat("pidfile ", pidfile);
  }
  if (target.ok()) {
    int pid = target->pid();
    WatchMain(unit, *std::move(target));
    SetState(unit, UnitState::kRunning, absl::StrCat("attached to pid ", pid, " (", from, ")"));
    return;
  }
  Publish({.unit = unit.config.name, .kind = "attach-failed", .mechanism = "pidfd_open",
           .message = absl::StrCat(from, ": ", target.status().message())});
  if (!attach.start.empty() && unit.state != UnitState::kStarting) {
    SpawnMain(unit, attach.start);
    return;
  }
  unit.last_exit = ExitStatus{};
  SetState(unit, UnitState::kFailed, std::string(target.status().message()));
}

namespace {

std::string ExeSummary(const ExeProcesses& exe) {
  return absl::StrCat(exe.count(), exe.count() == 1 ? " process" : " processes", " of ",
                      exe.path(), ", oldest pid ", exe.oldest());
}

}  // namespace

void Supervisor::AttachExe(Unit& unit) {
  const config::AttachSpec& attach = *unit.config.attach;
  absl::Status problem;
  if (!unit.exe) {
    Unit* raw = &unit;
    auto started = ExeProcesses::Start(
        *loop_, *attach.exe,
        {.attached = [this, raw](int pid, const char* how,
                                 bool gone) { OnExeAttached(*raw, pid, how, gone); },
         .exited = [this, raw](int pid, const char* seen_by) { OnExeExited(*raw, pid, seen_by); },
         .execs_lost = [this, raw] {
           Publish({.unit = raw->config.name, .kind = "exec-events-lost",
                    .mechanism = "fanotify",
                    .message = "the kernel's fanotify queue overflowed: processes that started "
                               "and ended meanwhile were not seen; /proc rescanned"});
         },
         .path_changed = [this, raw](const std::string& message) {
           Publish({.unit = raw->config.name, .kind = "exe-replaced", .mechanism = "inotify",
                    .message = message});
         }});
    if (started.ok()) {
      unit.exe = *std::move(started);
      log_.Info(absl::StrCat(unit.config.name, ": new processes of ", unit.exe->path(),
                             " come from ", unit.exe->mechanism()));
      for (int pid : unit.exe->Pids()) {
        Publish({.unit = unit.config.name, .pid = pid, .kind = "attach",
                 .mechanism = "/proc scan", .message = absl::StrCat("runs ", unit.exe->path())});
      }
    } else {
      problem = started.status();
    }
  }
  if (unit.exe && unit.exe->count() > 0) {
    FollowOldestExe(unit);
    SetState(unit, UnitState::kRunning, ExeSummary(*unit.exe));
    return;
  }
  std::string why = unit.exe ? absl::StrCat("no process runs ", unit.exe->path(),
                                            "; watching for one to start")
                             : std::string(problem.message());
  Publish({.unit = unit.config.name, .kind = "attach-failed",
           .mechanism = unit.exe ? "/proc scan" : "fanotify", .message = why});
  if (!attach.start.empty() && unit.state != UnitState::kStarting) {
    SpawnMain(unit, attach.start);
    return;
  }
  unit.last_exit = ExitStatus{};
  SetState(unit, UnitState::kFailed, why);
}

void Supervisor::OnExeAttached(Unit& unit, int pid, const char* mechanism, bool gone) {
  Publish({.unit = unit.config.name, .pid = pid, .kind = "attach", .mechanism = mechanism,
           .message = gone ? absl::StrCat("ran ", unit.exe->path(),
                                          "; had exited before its exec event was read")
                           : absl::StrCat("runs ", unit.exe->path(), "; ", unit.exe->count(),
                                          " running")});
  switch (unit.state) {
    case UnitState::kRunning:
      FollowOldestExe(unit);  // a rescan may find an older one
      return;
    case UnitState::kStopping:
      unit.exe->Signal(pid, unit.config.stop.signal);
      return;
    case UnitState::kStarting:
      return;  // the start: command's exit decides (AttachMain)
    case UnitState::kExited:
    case UnitState::kFailed:
    case UnitState::kBackoff:
      // The program was started by someone else: the unit runs again.
      timers_->Cancel(unit.timer);
      unit.timer = 0;
      FollowOldestExe(unit);
      SetState(unit, UnitState::kRunning, ExeSummary(*unit.exe));
      return;
  }
}

void Supervisor::OnExeExited(Unit& unit, int pid, const char* seen_by) {
  size_t left = unit.exe->count();
  Publish({.unit = unit.config.name, .pid = pid, .kind = "exit", .mechanism = seen_by,
           .message = absl::StrCat(ExitStatus{}.Describe(), "; ", left, " left")});
  FollowOldestExe(unit);
  if (left > 0) return;
  unit.RecordExit(ExitStatus{});
  if (unit.state == UnitState::kStopping) {
    if (!unit.main) FinishStop(unit);
  } else if (unit.state == UnitState::kRunning) {
    OnUnitGone(unit);
  }
}

void Supervisor::FollowOldestExe(Unit& unit) {
  int oldest = unit.exe ? unit.exe->oldest() : 0;
  if (oldest == unit.exe_main) return;
  if (unit.exe_main) NotifyMainGone(unit, unit.exe_main);
  unit.exe_main = oldest;
  if (!oldest) return;
  UnitListener::UnitProcess process{unit.config, oldest, unit.cgroup->path()};
  for (UnitListener* listener : listeners_) listener->OnMainStarted(process);
}

void Supervisor::StopFollowingExe(Unit& unit) {
  unit.exe.reset();
  FollowOldestExe(unit);
}

void Supervisor::WatchMain(Unit& unit, PidfdSource main) {
  int fd = main.fd();
  unit.main.emplace(std::move(main));
  Unit* raw = &unit;
  auto watch = loop_->Add(fd, POLLIN, [this, raw](uint32_t) { OnMainExit(*raw); });
  unit.main_watch = watch.ok() ? *watch : 0;
  NotifyMainStarted(unit);
}

int Supervisor::UnwatchMain(Unit& unit) {
  int pid = unit.main->pid();
  loop_->Remove(unit.main_watch);
  unit.main_watch = 0;
  unit.main.reset();
  NotifyMainGone(unit, pid);
  return pid;
}

void Supervisor::NotifyMainStarted(const Unit& unit) {
  UnitListener::UnitProcess process{unit.config, unit.main->pid(), unit.cgroup->path()};
  for (UnitListener* listener : listeners_) listener->OnMainStarted(process);
}

void Supervisor::NotifyMainGone(const Unit& unit, int pid) {
  for (UnitListener* listener : listeners_) listener->OnMainGone(unit.config.name, pid);
}

void Supervisor::RegisterCommand(const std::string& cmd, ControlServer::Handler handler) {
  commands_[cmd] = std::move(handler);
}

absl::StatusOr<Supervisor::OutputEnds> Supervisor::OpenOutput(
    const config::OutputSpec& output) {
  OutputEnds ends;
  switch (output.mode) {
    case config::OutputMode::kLog: {
      // stdout and stderr share one pipe (as systemd's journal stream does):
      // one fd per running unit instead of two.
      int fds[2];
      if (pipe2(fds, O_CLOEXEC) < 0) return ErrnoStatus("output: pipe2", errno);
      ends.log_end.reset(fds[0]);
      ends.child_end.reset(fds[1]);
      break;
    }
    case config::OutputMode::kFile: {
      // Opened at each start, so a rotated file is followed by the next
      // start; vigild keeps nothing open once the child has it.
      int fd = open(output.file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd < 0) return ErrnoStatus(absl::StrCat("output file ", output.file), errno);
      ends.child_end.reset(fd);
      break;
    }
    case config::OutputMode::kInherit:
      ends.child_stdout = STDOUT_FILENO;
      ends.child_stderr = STDERR_FILENO;
      return ends;
    case config::OutputMode::kNull:
      return ends;  // the Spawner gives the child /dev/null
  }
  ends.child_stdout = ends.child_stderr = ends.child_end.get();
  return ends;
}

void Supervisor::CaptureOutput(Unit& unit, int read_fd, int pid) {
  fcntl(read_fd, F_SETFL, fcntl(read_fd, F_GETFL) | O_NONBLOCK);
  auto pipe = std::make_unique<OutputPipe>();
  pipe->fd.reset(read_fd);
  pipe->label = absl::StrCat(unit.config.name, "[", pid, "] output: ");
  OutputPipe* raw = pipe.get();
  auto it = pipes_.insert(pipes_.end(), std::move(pipe));
  auto on_ready = [this, raw, it](uint32_t) {
    auto emit = [&](absl::string_view line) { log_.Info(absl::StrCat(raw->label, line)); };
    // Bounded work per wakeup: a chatty unit cannot starve the others; the
    // level-triggered watch brings us back for the rest.
    char buf[65536];
    for (int round = 0; round < 4; ++round) {
      ssize_t n = read(raw->fd.get(), buf, sizeof buf);
      if (n > 0) {
        raw->lines.Feed(absl::string_view(buf, n), emit);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      raw->lines.Flush(emit);
      loop_->Remove(raw->watch);
      pipes_.erase(it);
      return;
    }
  };
  auto watch = loop_->Add(read_fd, POLLIN, on_ready);
  raw->watch = watch.ok() ? *watch : 0;
}

bool Supervisor::CgroupPopulated(const Unit& unit) const {
  auto populated = unit.cgroup->Populated();
  return populated.ok() && *populated;
}

void Supervisor::OnMainExit(Unit& unit) {
  ExitStatus status = unit.main->Reap();
  int pid = UnwatchMain(unit);
  unit.RecordExit(status);
  Publish({.unit = unit.config.name, .pid = pid, .kind = "exit",
           .value = status.signaled ? status.signal : status.code,
           .mechanism = "pidfd", .message = status.Describe()});
  if (unit.state == UnitState::kStopping) {
    if (!CgroupPopulated(unit)) FinishStop(unit);
    return;
  }
  if (unit.state == UnitState::kStarting) {
    if (!status.success()) {
      OnUnitGone(unit);
    } else if (unit.config.attach || !unit.config.pidfile.empty()) {
      AttachMain(unit);  // the daemon named by the pidfile is the main now
    } else if (CgroupPopulated(unit)) {
      SetState(unit, UnitState::kRunning, "daemonized; tracked by cgroup.events");
    } else {
      OnUnitGone(unit);
    }
    return;
  }
  if (!unit.config.attach && CgroupPopulated(unit)) {
    // The service is its main process: whatever it left behind goes too.
    log_.Info(absl::StrCat(unit.config.name, ": main process gone, killing what is left in ",
                           unit.cgroup->path()));
    unit.awaiting_empty = true;
    (void)unit.cgroup->Kill();
    return;
  }
  OnUnitGone(unit);
}

void Supervisor::OnCgroupChanges() {
  CgroupEventsWatch::Changes changes = cgroup_events_->Read();
  std::vector<std::string> changed;
  if (changes.overflowed) {
    for (const auto& [name, unit] : units_) changed.push_back(name);
  } else {
    for (int id : changes.ids) {
      auto it = unit_by_cgroup_events_id_.find(id);
      if (it != unit_by_cgroup_events_id_.end()) changed.push_back(it->second);
    }
  }
  // By name: handling one may remove another (a reload's continuation).
  for (const std::string& name : changed) {
    auto it = units_.find(name);
    if (it != units_.end()) OnCgroupEvents(*it->second);
  }
}

void Supervisor::OnCgroupEvents(Unit& unit) {
  auto populated = unit.cgroup->Populated();
  if (!populated.ok() || *populated || unit.main) return;
  Publish({.unit = unit.config.name, .kind = "cgroup-empty", .mechanism = "cgroup.events",
           .message = "populated 0"});
  if (unit.state == UnitState::kStopping) {
    FinishStop(unit);
  } else if (unit.awaiting_empty) {
    unit.awaiting_empty = false;
    OnUnitGone(unit);
  } else if (unit.state == UnitState::kRunning && !unit.config.attach) {
    unit.RecordExit(ExitStatus{});  // a daemon that is not our child
    OnUnitGone(unit);
  }
}

void Supervisor::OnUnitGone(Unit& unit) {
  unit.awaiting_empty = false;
  if (unit.stop_requested || shutting_down_) {
    FinishStop(unit);
    return;
  }
  bool success = unit.last_exit && unit.last_exit->success();
  bool can_restart = !unit.config.attach || !unit.config.attach->start.empty();
  if (can_restart && ShouldRestart(unit.config.restart, success)) {
    ScheduleRestart(unit);
    return;
  }
  SetState(unit, success ? UnitState::kExited : UnitState::kFailed,
           unit.last_exit ? unit.last_exit->Describe() : "gone");
}

void Supervisor::ScheduleRestart(Unit& unit) {
  auto run_time = std::chrono::duration_cast<config::Duration>(Clock::now() - unit.started_at);
  config::Duration delay = unit.restarts.NextDelay(run_time);
  SetState(unit, UnitState::kBackoff, absl::StrCat("restarting in ", FormatMs(delay)));
  Unit* raw = &unit;
  unit.timer = timers_->ScheduleAfter(delay, [this, raw] {
    raw->timer = 0;
    StartUnit(*raw);
  });
}

void Supervisor::StopUnit(Unit& unit, std::function<void(Unit&)> then) {
  if (then) unit.after_stop.push_back(std::move(then));
  if (unit.state == UnitState::kStopping) return;
  timers_->Cancel(unit.timer);
  unit.timer = 0;
  bool active = unit.state == UnitState::kRunning || unit.state == UnitState::kStarting;
  if (!active) {
    // A failed unit stays failed (the operator should see why); a pending
    // restart is simply dropped.
    if (unit.state == UnitState::kBackoff) SetState(unit, UnitState::kExited, "stopped");
    FinishStop(unit);
    return;
  }
  unit.stop_requested = true;
  SetState(unit, UnitState::kStopping,
           absl::StrCat("sending signal ", unit.config.stop.signal, ", timeout ",
                        FormatMs(unit.config.stop.timeout)));
  if (unit.main) {
    (void)unit.main->SendSignal(unit.config.stop.signal);
  } else if (unit.exe && unit.exe->count() > 0) {
    unit.exe->SignalAll(unit.config.stop.signal);
  } else if (CgroupPopulated(unit)) {
    auto pids = unit.cgroup->Pids();
    if (pids.ok()) for (int pid : *pids) kill(pid, unit.config.stop.signal);
  } else {
    FinishStop(unit);
    return;
  }
  Unit* raw = &unit;
  unit.timer = timers_->ScheduleAfter(unit.config.stop.timeout, [this, raw] {
    raw->timer = 0;
    OnStopTimeout(*raw);
  });
}

void Supervisor::OnStopTimeout(Unit& unit) {
  if (unit.state != UnitState::kStopping) return;
  if (unit.config.attach) {
    if (unit.main) (void)unit.main->SendSignal(SIGKILL);
    if (unit.exe) unit.exe->SignalAll(SIGKILL);
  } else {
    (void)unit.cgroup->Kill();
  }
  Publish({.unit = unit.config.name, .kind = "stop-timeout",
           .mechanism = unit.config.attach ? "pidfd_send_signal" : "cgroup.kill",
           .message = absl::StrCat("still running after ", FormatMs(unit.config.stop.timeout),
                                   "; sent SIGKILL")});
}

void Supervisor::StopOrRelease(Unit& unit, std::function<void(Unit&)> then) {
  bool watching = unit.state == UnitState::kRunning || unit.state == UnitState::kStarting;
  if (!unit.config.attach || !watching) {
    StopUnit(unit, std::move(then));
    return;
  }
  // vigild did not start these processes: like monit, it stops watching them
  // when it goes away or reloads, and leaves them running. `vigilctl stop`
  // is what stops them.
  if (unit.main) UnwatchMain(unit);
  SetState(unit, UnitState::kExited, "released: the attached processes keep running");
  if (then) unit.after_stop.push_back(std::move(then));
  FinishStop(unit);
}

void Supervisor::FinishStop(Unit& unit) {
  timers_->Cancel(unit.timer);
  unit.timer = 0;
  unit.stop_requested = false;
  unit.awaiting_empty = false;
  // Stopped means no longer watched: a later exec does not revive the unit.
  StopFollowingExe(unit);
  if (unit.state == UnitState::kStopping) SetState(unit, UnitState::kExited, "stopped");
  // Continuations may destroy `unit`: nothing touches it afterwards.
  auto continuations = std::move(unit.after_stop);
  unit.after_stop.clear();
  for (auto& then : continuations) then(unit);
  MaybeFinishShutdown();
}

void Supervisor::SetState(Unit& unit, UnitState state, std::string why) {
  unit.state = state;
  unit.state_reason = why;
  Publish({.unit = unit.config.name, .pid = unit.main ? unit.main->pid() : unit.exe_main,
           .kind = "state", .mechanism = "vigild", .state = UnitStateName(state),
           .message = std::move(why)});
}

void Supervisor::Publish(Event event) {
  std::string text = absl::StrCat(event.unit.empty() ? "vigild" : event.unit, ": ", event.kind);
  if (!event.state.empty()) absl::StrAppend(&text, " ", event.state);
  if (event.pid) absl::StrAppend(&text, " pid ", event.pid);
  if (!event.message.empty()) absl::StrAppend(&text, ": ", event.message);
  log_.Log(event.kind == "state" || event.kind == "spawn" ? LogLevel::kInfo : LogLevel::kWarning,
           text);
  json::Value message = json::Value::Object();
  message.Set("time", absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ",
                                       absl::FromChrono(event.time), absl::UTCTimeZone()));
  message.Set("unit", event.unit);
  message.Set("kind", event.kind);
  message.Set("pid", event.pid);
  if (!event.state.empty()) message.Set("state", event.state);
  if (!event.resource.empty()) {
    message.Set("resource", event.resource);
    message.Set("level", event.level);
    message.Set("direction", DirectionName(event.direction));
  }
  message.Set("value", event.value);
  message.Set("mechanism", event.mechanism);
  message.Set("message", event.message);
  if (control_) control_->Broadcast(message);
  for (const auto& listener : event_listeners_) listener(event);
}

void Supervisor::OnSignals() {
  for (const signalfd_siginfo& info : signals_->Drain()) {
    switch (info.ssi_signo) {
      case SIGHUP: {
        absl::Status status = Reload();
        if (!status.ok()) log_.Error(absl::StrCat("reload refused:\n", status.message()));
        break;
      }
      case SIGCHLD:
        ReapOrphans();
        break;
      default:
        if (shutting_down_) {
          log_.Warning("second stop signal: killing every unit now");
          for (auto& [name, unit] : units_) (void)unit->cgroup->Kill();
        } else {
          BeginShutdown();
        }
    }
  }
}

void Supervisor::ReapOrphans() {
  // Children with an owner (unit mains, exec hooks, send_nsca) are reaped
  // too; their statuses wait for the owner in ChildRegistry.
  for (pid_t pid : ReapExitedChildren()) log_.Debug(absl::StrCat("reaped orphan pid ", pid));
}

void Supervisor::BeginShutdown() {
  log_.Info("stopping every unit");
  shutting_down_ = true;
  std::vector<std::string> order = StartOrder(config_.units);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    auto unit = units_.find(*it);
    if (unit != units_.end()) StopOrRelease(*unit->second, nullptr);
  }
  MaybeFinishShutdown();
}

void Supervisor::MaybeFinishShutdown() {
  if (!shutting_down_) return;
  // Called while BeginShutdown is still issuing stops, too: a unit not yet
  // told to stop is still running, and vigild must wait for it.
  for (const auto& [name, unit] : units_) {
    if (unit->state == UnitState::kStopping || unit->state == UnitState::kRunning ||
        unit->state == UnitState::kStarting) {
      return;
    }
  }
  done_ = true;
}

absl::Status Supervisor::Reload() {
  auto loaded = config::LoadConfig(
      options_.config_path, {.psi_window_needs_2s_multiple = !watch::HasCapSysResource()});
  if (!loaded.ok()) return loaded.status();
  config::Config next = *std::move(loaded);
  log_.set_level(next.main.log_level);
  if (next.main.control_socket != config_.main.control_socket ||
      next.main.cgroup_root != config_.main.cgroup_root) {
    log_.Warning("control_socket and cgroup_root changes take effect at the next vigild start");
  }
  std::map<std::string, const config::UnitConfig*> wanted;
  for (const auto& u : next.units) wanted[u.name] = &u;
  std::vector<std::string> removed, changed, added;
  for (const auto& [name, unit] : units_) {
    auto it = wanted.find(name);
    if (it == wanted.end()) removed.push_back(name);
    else if (!(*it->second == unit->config)) changed.push_back(name);
  }
  for (const auto& name : StartOrder(next.units)) {
    if (!units_.count(name)) added.push_back(name);
  }
  log_.Info(absl::StrCat("reload: added [", absl::StrJoin(added, " "), "] removed [",
                         absl::StrJoin(removed, " "), "] changed [",
                         absl::StrJoin(changed, " "), "]"));
  for (const auto& name : removed) {
    StopOrRelease(*units_[name], [this, name](Unit&) { RemoveUnit(name); });
  }
  for (const auto& name : changed) {
    config::UnitConfig fresh = *wanted[name];
    StopOrRelease(*units_[name], [this, fresh](Unit& unit) {
      unit.config = fresh;
      unit.restarts = RestartTracker(fresh.backoff, fresh.start_limit);
      StartUnit(unit);
    });
  }
  for (const auto& name : added) {
    absl::Status status = AddUnit(*wanted[name]);
    if (!status.ok()) {
      log_.Error(absl::StrCat(name, ": ", status.message()));
      continue;
    }
    StartUnit(*units_[name]);
  }
  config_ = std::move(next);
  return absl::OkStatus();
}

json::Value Supervisor::UnitStatus(const Unit& unit) const {
  json::Value u = json::Value::Object();
  u.Set("name", unit.config.name);
  u.Set("state", UnitStateName(unit.state));
  u.Set("reason", unit.state_reason);
  u.Set("pid", unit.main ? unit.main->pid() : unit.exe_main);
  if (unit.exe) {  // attach: {exe: ...}: all of them, oldest first
    json::Value pids = json::Value::Array();
    for (int pid : unit.exe->Pids()) pids.Push(pid);
    u.Set("pids", std::move(pids));
    u.Set("count", static_cast<int64_t>(unit.exe->count()));
  }
  bool up = unit.state == UnitState::kRunning || unit.state == UnitState::kStarting;
  u.Set("uptime_ms", up ? absl::ToInt64Milliseconds(absl::Now() - unit.started_wall) : 0);
  u.Set("restarts", std::max(0, unit.starts - 1));
  u.Set("cgroup", unit.cgroup->path());
  if (unit.last_exit) {
    u.Set("last_exit", unit.last_exit->Describe());
    u.Set("last_exit_time", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", unit.last_exit_time,
                                             absl::UTCTimeZone()));
    u.Set("last_run_ms", absl::ToInt64Milliseconds(unit.last_run));
  }
  return u;
}

json::Value Supervisor::HandleRequest(const json::Value& request) {
  json::Value reply = json::Value::Object();
  auto fail = [&](std::string message) {
    reply.Set("ok", false);
    reply.Set("error", std::move(message));
    return reply;
  };
  auto cmd = json::GetString(request, "cmd");
  if (!cmd.ok()) return fail(std::string(cmd.status().message()));
  if (*cmd == "status") {
    json::Value list = json::Value::Array();
    for (const auto& [name, unit] : units_) list.Push(UnitStatus(*unit));
    reply.Set("ok", true);
    reply.Set("units", std::move(list));
    return reply;
  }
  if (*cmd == "capabilities") {
    reply.Set("ok", true);
    reply.Set("capabilities", Capabilities());
    return reply;
  }
  if (*cmd == "reload") {
    absl::Status status = Reload();
    if (!status.ok()) return fail(std::string(status.message()));
    reply.Set("ok", true);
    return reply;
  }
  if (auto extension = commands_.find(*cmd); extension != commands_.end()) {
    return extension->second(request);
  }
  if (*cmd != "start" && *cmd != "stop" && *cmd != "restart") {
    std::vector<std::string> known = {"status", "start",  "stop",        "restart",
                                      "reload", "events", "capabilities"};
    for (const auto& [name, handler] : commands_) known.push_back(name);
    return fail(absl::StrCat("field \"cmd\": unknown command \"", *cmd,
                             "\"; expected one of ", absl::StrJoin(known, ", ")));
  }
  auto name = json::GetString(request, "unit");
  if (!name.ok()) return fail(std::string(name.status().message()));
  auto it = units_.find(*name);
  if (it == units_.end()) return fail(absl::StrCat("no unit named \"", *name, "\""));
  Unit& unit = *it->second;
  if (*cmd == "start") {
    unit.restarts.Reset();
    StartUnit(unit);
  } else if (*cmd == "stop") {
    StopUnit(unit, nullptr);
  } else {
    StopUnit(unit, [this](Unit& u) {
      u.restarts.Reset();
      StartUnit(u);
    });
  }
  reply.Set("ok", true);
  reply.Set("unit", UnitStatus(unit));
  return reply;
}

absl::Status Supervisor::Run() {
  for (const auto& name : StartOrder(config_.units)) StartUnit(*units_[name]);
  while (!done_) RETURN_IF_ERROR(loop_->RunOnce());
  log_.Info("every unit stopped; exiting");
  return absl::OkStatus();
}

}  // namespace vigil
