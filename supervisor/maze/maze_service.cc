#include "supervisor/maze/maze_service.h"

#include <dirent.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <variant>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/errno_status.h"
#include "common/status_macros.h"
#include "config/duration.h"
#include "supervisor/cgroup_tree.h"
#include "supervisor/maze/maze_entry.h"
#include "supervisor/watch_plan.h"

namespace vigil::maze {
namespace {

// vigild must not queue behind the runaways it watches (README: a 30 ms
// outlier at nice 0 on a loaded 2-core host), as earlyoom raises itself.
constexpr int kLoopNice = -10;

// The field after the command name in /proc/<pid>/stat.
std::optional<std::vector<std::string>> StatFieldsAfterComm(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  size_t close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  return absl::StrSplit(absl::string_view(text).substr(close + 1), ' ',
                        absl::SkipEmpty());
}

std::optional<pid_t> ParentOf(pid_t pid) {
  std::optional<std::vector<std::string>> fields = StatFieldsAfterComm(pid);
  pid_t parent;
  if (!fields || fields->size() < 2 || !absl::SimpleAtoi((*fields)[1], &parent)) {
    return std::nullopt;
  }
  return parent;
}

// The process a task id belongs to, from /proc/<tid>/status.
std::optional<pid_t> ThreadGroupOf(pid_t tid) {
  std::ifstream in(absl::StrCat("/proc/", tid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view value = line;
    if (absl::ConsumePrefix(&value, "Tgid:")) {
      pid_t tgid;
      if (absl::SimpleAtoi(absl::StripAsciiWhitespace(value), &tgid)) return tgid;
    }
  }
  return std::nullopt;
}

std::vector<pid_t> AllProcesses() {
  std::vector<pid_t> pids;
  if (DIR* dir = opendir("/proc")) {
    while (dirent* entry = readdir(dir)) {
      if (pid_t pid; absl::SimpleAtoi(entry->d_name, &pid)) pids.push_back(pid);
    }
    closedir(dir);
  }
  return pids;
}

std::vector<pid_t> CgroupMembers(const std::string& cgroup) {
  std::vector<pid_t> pids;
  std::ifstream in(cgroup + "/cgroup.procs");
  for (pid_t pid; in >> pid;) pids.push_back(pid);
  return pids;
}

std::string FormatMs(absl::Duration d) {
  if (d == absl::InfiniteDuration()) return "none";
  return config::FormatDuration(
      std::chrono::milliseconds(absl::ToInt64Milliseconds(d)));
}

json::Value Error(std::string message) {
  json::Value reply = json::Value::Object();
  reply.Set("ok", false);
  reply.Set("error", std::move(message));
  return reply;
}

MazeSettings SettingsOf(const config::RunawayWatch& runaway) {
  MazeSettings settings;
  settings.limits.soft = absl::FromChrono(runaway.soft);
  settings.limits.hard = runaway.hard ? absl::FromChrono(*runaway.hard)
                                      : absl::InfiniteDuration();
  settings.soft_signal = runaway.soft_signal;
  settings.hard_signal = runaway.hard_signal;
  return settings;
}

}  // namespace

struct MazeService::Watched {
  Watched(pid_t pid, std::string unit, MazeSettings settings, CpuTimeTimer timer,
          MazeDetector detector, PidfdSource pidfd)
      : pid(pid),
        unit(std::move(unit)),
        settings(settings),
        timer(std::move(timer)),
        detector(std::move(detector)),
        pidfd(std::move(pidfd)) {}

  pid_t pid;
  std::string unit;  // "" for a process added with maze-add
  MazeSettings settings;
  CpuTimeTimer timer;
  MazeDetector detector;
  PidfdSource pidfd;  // readable at exit; never reaped here
  EventLoop::WatchId exit_watch = 0;
};

struct MazeService::UnitWatch {
  std::string cgroup;
  MazeSettings settings;
  bool main_alive = false;
  // One per `on:` list, made when the main process starts (as a resource
  // watch's gates): rate limits count from there.
  std::map<MazeAction, watch::ActionGate> gates;
  bool frozen_by_action = false;  // thawed when the main process goes
  std::optional<watch::PsiTrigger> pressure;
  EventLoop::WatchId pressure_watch = 0;
};

int MazeService::TimerSignal() { return SIGRTMIN + 2; }

watch::PsiTriggerSpec MazeService::PressureSpec() {
  return {.scope = watch::PsiScope::kSome,
          .stall = std::chrono::milliseconds(100),
          .window = std::chrono::seconds(2)};
}

absl::StatusOr<std::unique_ptr<MazeService>> MazeService::Create(
    Supervisor& supervisor, config::LogLevel log_level) {
  std::unique_ptr<MazeService> service(new MazeService(supervisor));
  service->log_.set_level(log_level);
  RETURN_IF_ERROR(service->Init());
  return service;
}

MazeService::MazeService(Supervisor& supervisor) : supervisor_(supervisor) {}

// The loop is left alone: it may already be gone (see the header).
MazeService::~MazeService() = default;

absl::Status MazeService::Init() {
  ASSIGN_OR_RETURN(CpuTimerSignals signals, CpuTimerSignals::Create(TimerSignal()));
  signals_.emplace(std::move(signals));
  RETURN_IF_ERROR(supervisor_.loop()
                      .Add(signals_->fd(), POLLIN, [this](uint32_t) { OnTimers(); })
                      .status());
  mechanisms_ = absl::StrCat(
      "CPU-time timers per watched process (", config::SignalName(TimerSignal()),
      " through a signalfd), per-thread /proc schedstat+status samples, PSI "
      "cpu.pressure trigger per unit (",
      watch::PsiTriggerLine(PressureSpec()), ")");
  absl::StatusOr<ProcConnector> connector = ProcConnector::Subscribe();
  if (connector.ok()) {
    connector_.emplace(*std::move(connector));
    UpdateForkFilter();
    RETURN_IF_ERROR(supervisor_.loop()
                        .Add(connector_->fd(), POLLIN, [this](uint32_t) { OnForks(); })
                        .status());
    fork_following_ =
        "proc connector, filtered in the kernel to forks of watched processes";
    absl::StrAppend(&mechanisms_, "; fork following: ", fork_following_);
  } else {
    fork_following_ = absl::StrCat(
        "UNAVAILABLE (", connector.status().message(),
        "): children forked after a watch are missed, except in a unit's "
        "cgroup, where the PSI trigger adopts them once the unit is under "
        "CPU pressure");
    absl::StrAppend(&mechanisms_, "; fork following ", fork_following_);
  }
  RaiseLoopPriority();
  log_.Info(absl::StrCat("maze: ", mechanisms_));
  supervisor_.RegisterCommand(
      "maze-add", [this](const json::Value& r) { return HandleAdd(r); });
  supervisor_.RegisterCommand(
      "maze-del", [this](const json::Value& r) { return HandleDel(r); });
  supervisor_.RegisterCommand(
      "maze-list", [this](const json::Value& r) { return HandleList(r); });
  return absl::OkStatus();
}

void MazeService::RaiseLoopPriority() {
  // SCHED_RESET_ON_FORK first: units spawned by vigild start at nice 0, not
  // at vigild's raised priority.
  sched_param param{};
  if (sched_setscheduler(0, SCHED_OTHER | SCHED_RESET_ON_FORK, &param) != 0 ||
      setpriority(PRIO_PROCESS, 0, kLoopNice) != 0) {
    priority_ = absl::StrCat("NOT raised (", strerror(errno),
                             "): detection may queue behind runaways");
    absl::StrAppend(&mechanisms_, "; loop priority ", priority_);
    return;
  }
  priority_ = absl::StrCat("nice ", kLoopNice,
                           " (children reset to 0 by SCHED_RESET_ON_FORK)");
  absl::StrAppend(&mechanisms_, "; vigild at ", priority_);
}

json::Value MazeService::Capability() const {
  json::Value capability = json::Value::Object();
  capability.Set("timer", absl::StrCat("CPU-time timer per watched process, ",
                                       config::SignalName(TimerSignal()),
                                       " through a signalfd"));
  capability.Set("sampling", "per-thread /proc/<pid>/task/<tid>/{schedstat,status}");
  capability.Set("psi", absl::StrCat("cpu.pressure trigger per unit (",
                                     watch::PsiTriggerLine(PressureSpec()), ")"));
  capability.Set("fork_following", fork_following_);
  capability.Set("priority", priority_);
  return capability;
}

absl::Status MazeService::Watch(pid_t pid, const std::string& unit,
                                const MazeSettings& settings,
                                WatchOrigin origin, const char* mechanism) {
  if (watched_.contains(pid)) {
    return absl::AlreadyExistsError(absl::StrCat("pid ", pid, " is already watched"));
  }
  ASSIGN_OR_RETURN(MazeDetector detector, MazeDetector::Create(settings.limits, origin));
  ASSIGN_OR_RETURN(PidfdSource pidfd, PidfdSource::Open(pid));
  uint64_t cookie = next_cookie_++;
  ASSIGN_OR_RETURN(CpuTimeTimer timer, CpuTimeTimer::Create(pid, TimerSignal(), cookie));
  auto watched = std::make_unique<Watched>(pid, unit, settings, std::move(timer),
                                           std::move(detector), std::move(pidfd));
  ASSIGN_OR_RETURN(watched->exit_watch,
                   supervisor_.loop().Add(watched->pidfd.fd(), POLLIN,
                                          [this, pid](uint32_t) { Unwatch(pid); }));
  watched_[pid] = std::move(watched);
  pid_by_cookie_[cookie] = pid;
  Sample(pid, mechanism);
  return absl::OkStatus();
}

void MazeService::Unwatch(pid_t pid) {
  auto it = watched_.find(pid);
  if (it == watched_.end()) return;
  supervisor_.loop().Remove(it->second->exit_watch);
  pid_by_cookie_.erase(it->second->timer.cookie());
  std::string unit = it->second->unit;
  watched_.erase(it);
  if (!unit.empty()) DropUnitIfIdle(unit);
}

void MazeService::Sample(pid_t pid, const char* mechanism) {
  auto it = watched_.find(pid);
  if (it == watched_.end()) return;
  Watched& watched = *it->second;
  absl::StatusOr<std::vector<TaskSample>> tasks = sampler_.SampleProcess(pid);
  if (!tasks.ok()) {
    if (!absl::IsNotFound(tasks.status())) {
      log_.Warning(absl::StrCat("maze: sampling pid ", pid, ": ",
                                tasks.status().message()));
    }
    Unwatch(pid);  // it exited; its pidfd may not have been polled yet
    return;
  }
  MazeVerdict verdict = watched.detector.Observe(*tasks);
  absl::Status armed = verdict.next_check ? watched.timer.ArmAfter(*verdict.next_check)
                                          : watched.timer.Disarm();
  if (!armed.ok()) log_.Warning(absl::StrCat("maze: ", armed.message()));
  // Last: an action may restart or stop the unit.
  for (const MazeDecision& decision : verdict.decisions) {
    Act(watched, decision, mechanism);
  }
}

void MazeService::Act(const Watched& watched, const MazeDecision& decision,
                      const char* mechanism) {
  Event event{.unit = watched.unit,
              .pid = watched.pid,
              .kind = absl::StrCat("runaway.", MazeActionName(decision.action)),
              .resource = "cpu",
              .value = absl::ToInt64Milliseconds(decision.count),
              .mechanism = mechanism};
  if (decision.action == MazeAction::kReset) {
    event.level = absl::ToInt64Milliseconds(watched.settings.limits.soft);
    event.direction = Direction::kDown;
    event.message = absl::StrFormat(
        "tid %d blocked after %s on CPU: maze count reset", decision.tid,
        FormatMs(decision.count));
    supervisor_.PublishWithActions(std::move(event),
                                   AdmitActions(watched.unit, decision.action));
    return;
  }
  bool soft = decision.action == MazeAction::kSoft;
  absl::Duration limit = soft ? watched.settings.limits.soft
                              : watched.settings.limits.hard;
  int signo = soft ? watched.settings.soft_signal : watched.settings.hard_signal;
  std::string sent = config::SignalName(signo);
  if (syscall(SYS_tgkill, watched.pid, decision.tid, signo) != 0) {
    sent = absl::StrCat("no signal (", config::SignalName(signo), ": ",
                        strerror(errno), ")");
  }
  event.level = absl::ToInt64Milliseconds(limit);
  event.direction = Direction::kUp;
  event.message = absl::StrFormat(
      "tid %d ran %s on CPU without blocking (%s limit %s); sent %s",
      decision.tid, FormatMs(decision.count), soft ? "soft" : "hard",
      FormatMs(limit), sent);
  supervisor_.PublishWithActions(std::move(event),
                                 AdmitActions(watched.unit, decision.action));
}

std::vector<watch::DueAction> MazeService::AdmitActions(const std::string& name,
                                                        MazeAction action) {
  auto unit = units_.find(name);
  if (unit == units_.end()) return {};
  auto gate = unit->second.gates.find(action);
  if (gate == unit->second.gates.end()) return {};
  std::vector<watch::DueAction> due = gate->second.Admit();
  for (const watch::DueAction& admitted : due) {
    if (std::holds_alternative<watch::FreezeAction>(admitted.action->kind)) {
      unit->second.frozen_by_action = true;
    }
  }
  return due;
}

void MazeService::OnTimers() {
  absl::StatusOr<std::vector<uint64_t>> fired = signals_->ReadFired();
  if (!fired.ok()) {
    log_.Error(absl::StrCat("maze: ", fired.status().message()));
    return;
  }
  for (uint64_t cookie : *fired) {
    auto it = pid_by_cookie_.find(cookie);
    if (it != pid_by_cookie_.end()) Sample(it->second, "cpu-timer");
  }
}

void MazeService::OnForks() {
  absl::StatusOr<std::vector<ProcEvent>> events = connector_->Drain();
  if (!events.ok()) {
    log_.Error(absl::StrCat("maze: ", events.status().message()));
    return;
  }
  bool lost = false;
  std::set<std::string> units_with_children;
  size_t before = watched_.size();
  for (const ProcEvent& event : *events) {
    if (event.kind == ProcEvent::Kind::kLost) lost = true;
    if (!event.IsNewProcess()) continue;
    auto parent = watched_.find(event.parent_tgid);
    if (parent == watched_.end()) continue;
    std::string unit = parent->second->unit;
    MazeSettings settings = parent->second->settings;
    absl::Status watched =
        Watch(event.pid, unit, settings, WatchOrigin::kForked, "proc-connector");
    // A child that already exited (NotFound/ESRCH) needs no watch.
    if (!watched.ok() && !absl::IsAlreadyExists(watched)) {
      log_.Debug(absl::StrCat("maze: child ", event.pid, ": ", watched.message()));
    }
    if (!unit.empty()) units_with_children.insert(unit);
  }
  if (watched_.size() == before && !lost) return;
  // The filter did not know the new children until now: a grandchild forked
  // in between was dropped in the kernel. Find such processes from /proc.
  UpdateForkFilter();
  if (lost) {
    log_.Warning("maze: proc connector overflowed; rescanning watched processes");
    for (const auto& [name, unit] : units_) units_with_children.insert(name);
  }
  for (const std::string& unit : units_with_children) {
    AdoptCgroupMembers(unit, "cgroup.procs");
  }
  AdoptChildrenOfAddedProcesses();
  UpdateForkFilter();
}

void MazeService::UpdateForkFilter() {
  if (!connector_) return;
  std::vector<pid_t> parents;
  parents.reserve(watched_.size());
  for (const auto& [pid, watched] : watched_) parents.push_back(pid);
  // Unchanged on most calls (every PSI sample ends with one); attaching a
  // filter costs a syscall and up to milliseconds.
  if (parents == fork_filter_) return;
  absl::Status status = connector_->SetForkFilter(parents);
  if (!status.ok()) {
    log_.Error(absl::StrCat("maze: ", status.message()));
    return;
  }
  fork_filter_ = std::move(parents);
}

void MazeService::AdoptCgroupMembers(const std::string& name,
                                     const char* mechanism) {
  auto unit = units_.find(name);
  if (unit == units_.end()) return;
  MazeSettings settings = unit->second.settings;
  for (pid_t pid : CgroupMembers(unit->second.cgroup)) {
    if (watched_.contains(pid)) continue;
    // Whatever never blocked since it was created has been running since
    // then, as MAZE's maze_fork() would have counted it.
    log_.Info(absl::StrCat("maze: ", name, ": adopted pid ", pid, " (", mechanism, ")"));
    absl::Status status = Watch(pid, name, settings, WatchOrigin::kForked, mechanism);
    if (!status.ok()) {
      log_.Info(absl::StrCat("maze: ", name, ": pid ", pid, " not watched: ", status.message()));
    }
  }
}

void MazeService::AdoptChildrenOfAddedProcesses() {
  bool any_added = false;
  for (const auto& [pid, watched] : watched_) any_added |= watched->unit.empty();
  if (!any_added) return;
  std::vector<pid_t> processes = AllProcesses();
  for (bool adopted = true; adopted;) {  // until no grandchild is left out
    adopted = false;
    for (pid_t pid : processes) {
      if (watched_.contains(pid)) continue;
      std::optional<pid_t> parent_pid = ParentOf(pid);
      if (!parent_pid) continue;
      auto parent = watched_.find(*parent_pid);
      if (parent == watched_.end() || !parent->second->unit.empty()) continue;
      MazeSettings settings = parent->second->settings;
      adopted |= Watch(pid, "", settings, WatchOrigin::kForked, "proc-scan").ok();
    }
  }
}

void MazeService::OnMainStarted(const UnitProcess& process) {
  const std::optional<config::RunawayWatch>& runaway = process.config.watch.runaway;
  if (!runaway) return;
  const std::string& name = process.config.name;
  UnitWatch& unit = units_[name];
  unit.cgroup = process.cgroup_path;
  unit.settings = SettingsOf(*runaway);
  unit.main_alive = true;
  unit.gates.clear();
  for (const auto& [action, actions] :
       {std::pair{MazeAction::kSoft, &runaway->on.soft},
        std::pair{MazeAction::kHard, &runaway->on.hard},
        std::pair{MazeAction::kReset, &runaway->on.reset}}) {
    if (actions->empty()) continue;
    absl::StatusOr<watch::ActionGate> gate = watch::ActionGate::Create(ToActionPlan(*actions));
    if (!gate.ok()) {
      log_.Warning(absl::StrCat("maze: ", name, ": no actions on ", MazeActionName(action),
                                ": ", gate.status().message()));
      continue;
    }
    unit.gates.emplace(action, *std::move(gate));
  }
  // The cgroup may have been recreated since the unit last ran.
  OpenPressureTrigger(name, unit);
  WatchOrigin origin =
      process.config.attach ? WatchOrigin::kAttached : WatchOrigin::kForked;
  absl::Status status = Watch(process.pid, name, unit.settings, origin, "spawn");
  if (!status.ok() && !absl::IsAlreadyExists(status)) {
    log_.Warning(absl::StrCat("maze: ", name, ": cannot watch pid ", process.pid,
                              ": ", status.message()));
  }
  AdoptCgroupMembers(name, "cgroup.procs");
  UpdateForkFilter();
}

void MazeService::OnMainGone(const std::string& name, int pid) {
  auto unit = units_.find(name);
  if (unit == units_.end()) return;
  unit->second.main_alive = false;
  if (unit->second.frozen_by_action) {  // the next main must not start frozen
    unit->second.frozen_by_action = false;
    (void)WriteStringToFile(unit->second.cgroup + "/cgroup.freeze", "0");
  }
  Unwatch(pid);
  DropUnitIfIdle(name);
  UpdateForkFilter();
}

void MazeService::DropUnitIfIdle(const std::string& name) {
  auto unit = units_.find(name);
  if (unit == units_.end() || unit->second.main_alive) return;
  for (const auto& [pid, watched] : watched_) {
    if (watched->unit == name) return;
  }
  ClosePressureTrigger(unit->second);
  units_.erase(unit);
}

void MazeService::OpenPressureTrigger(const std::string& name, UnitWatch& unit) {
  ClosePressureTrigger(unit);
  std::string file = watch::CgroupPressureFile(unit.cgroup, watch::PsiResource::kCpu);
  absl::StatusOr<watch::PsiTrigger> trigger = watch::PsiTrigger::Open(file, PressureSpec());
  if (!trigger.ok()) {
    log_.Warning(absl::StrCat("maze: ", name, ": no PSI path (",
                              trigger.status().message(),
                              "); runaways are found by CPU-time timers only"));
    return;
  }
  unit.pressure.emplace(*std::move(trigger));
  absl::StatusOr<EventLoop::WatchId> id = supervisor_.loop().Add(
      unit.pressure->fd(), watch::PsiTrigger::kPollEvents,
      [this, name](uint32_t) { OnPressure(name); });
  if (!id.ok()) {
    log_.Warning(absl::StrCat("maze: ", name, ": ", id.status().message()));
    unit.pressure.reset();
    return;
  }
  unit.pressure_watch = *id;
}

void MazeService::ClosePressureTrigger(UnitWatch& unit) {
  if (!unit.pressure) return;
  supervisor_.loop().Remove(unit.pressure_watch);
  unit.pressure.reset();
}

void MazeService::OnPressure(const std::string& name) {
  auto unit = units_.find(name);
  if (unit == units_.end() || !unit->second.pressure) return;
  absl::StatusOr<watch::PsiReading> reading = unit->second.pressure->Consume();
  if (!reading.ok()) {  // the cgroup is gone
    ClosePressureTrigger(unit->second);
    return;
  }
  log_.Debug(absl::StrFormat("maze: %s: cpu pressure some avg10 %.2f; sampling its tasks",
                             name, reading->some.avg10));
  AdoptCgroupMembers(name, "psi");
  std::vector<pid_t> members;
  for (const auto& [pid, watched] : watched_) {
    if (watched->unit == name) members.push_back(pid);
  }
  for (pid_t pid : members) Sample(pid, "psi");
  UpdateForkFilter();
}

json::Value MazeService::HandleAdd(const json::Value& request) {
  absl::StatusOr<MazeEntry> entry = MazeEntryFromRequest(request);
  if (!entry.ok()) return Error(std::string(entry.status().message()));
  MazeSettings settings{{entry->soft, entry->hard}, entry->soft_signal, entry->hard_signal};
  json::Value reply = json::Value::Object();
  reply.Set("ok", true);
  reply.Set("pid", entry->pid);
  if (auto it = watched_.find(entry->pid); it != watched_.end()) {
    // As MAZE: a second entry for a watched task replaces its settings.
    if (absl::Status set = it->second->detector.SetLimits(settings.limits); !set.ok()) {
      return Error(std::string(set.message()));
    }
    it->second->settings = settings;
    Sample(entry->pid, "control");
    reply.Set("updated", true);
    return reply;
  }
  std::optional<pid_t> tgid = ThreadGroupOf(entry->pid);
  if (!tgid) return Error(absl::StrCat("field \"pid\": no process ", entry->pid));
  if (*tgid != entry->pid) {
    return Error(absl::StrCat("field \"pid\": ", entry->pid, " is a thread of process ",
                              *tgid, "; MAZE watches processes (every thread of ",
                              *tgid, ")"));
  }
  absl::Status status = Watch(entry->pid, "", settings, WatchOrigin::kAttached, "control");
  if (!status.ok()) return Error(absl::StrCat("pid ", entry->pid, ": ", status.message()));
  UpdateForkFilter();
  reply.Set("updated", false);
  return reply;
}

json::Value MazeService::HandleDel(const json::Value& request) {
  absl::StatusOr<int64_t> pid = json::GetInt(request, "pid");
  if (!pid.ok()) return Error(std::string(pid.status().message()));
  if (!watched_.contains(*pid)) {
    return Error(absl::StrCat("field \"pid\": ", *pid,
                              " is not watched by MAZE (see maze-list)"));
  }
  Unwatch(*pid);
  UpdateForkFilter();
  json::Value reply = json::Value::Object();
  reply.Set("ok", true);
  reply.Set("pid", *pid);
  return reply;
}

json::Value MazeService::HandleList(const json::Value&) {
  // A fresh sample, so counts are current (this is a wakeup with a cause).
  std::vector<pid_t> pids;
  for (const auto& [pid, watched] : watched_) pids.push_back(pid);
  for (pid_t pid : pids) Sample(pid, "control");
  json::Value entries = json::Value::Array();
  for (const auto& [pid, watched] : watched_) {
    const MazeSettings& s = watched->settings;
    for (const MazeTaskCount& task : watched->detector.Counts()) {
      json::Value entry = json::Value::Object();
      entry.Set("pid", pid);
      entry.Set("tid", task.tid);
      entry.Set("unit", watched->unit);
      entry.Set("count", absl::ToInt64Milliseconds(task.count));
      entry.Set("soft", absl::ToInt64Milliseconds(s.limits.soft));
      entry.Set("hard", s.limits.hard == absl::InfiniteDuration()
                            ? json::Value()
                            : json::Value(absl::ToInt64Milliseconds(s.limits.hard)));
      entry.Set("soft_signal", s.soft_signal);
      entry.Set("hard_signal", s.hard_signal);
      entry.Set("soft_sent", task.soft_sent);
      entry.Set("hard_sent", task.hard_sent);
      entries.Push(std::move(entry));
    }
  }
  json::Value reply = json::Value::Object();
  reply.Set("ok", true);
  reply.Set("mechanisms", mechanisms_);
  reply.Set("entries", std::move(entries));
  return reply;
}

}  // namespace vigil::maze
