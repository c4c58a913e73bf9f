// MazeService: MAZE inside vigild. It owns the MAZE mechanisms and registers
// their fds with the Supervisor's EventLoop:
//   - the signalfd of the CPU-time timers (CpuTimerSignals, SIGRTMIN+2) and
//     one CpuTimeTimer + MazeDetector + pidfd per watched process;
//   - the proc connector (ProcConnector) with a kernel-side fork filter, so
//     that only forks of watched processes wake vigild;
//   - one PSI trigger (cpu.pressure "some 100ms / 2s") per watched unit,
//     which samples the unit's tasks at once and adopts any process in the
//     unit's cgroup that is not watched yet.
// Units with `watch.runaway` are followed through UnitListener; any running
// process through the control commands maze-add / maze-del / maze-list.
// Decisions are published as runaway.soft / runaway.hard / runaway.reset
// events (resource "cpu", value = the maze count in ms, the tid in the
// message) and the signals are sent with tgkill, as MAZE's send_sig. A unit's
// `on: {soft, hard, reset}` actions pass one ActionGate per event kind (rate
// limits) and run through Supervisor::PublishWithActions, as a resource
// watch's do.
#ifndef VIGIL_SUPERVISOR_MAZE_MAZE_SERVICE_H_
#define VIGIL_SUPERVISOR_MAZE_MAZE_SERVICE_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "common/json.h"
#include "supervisor/logger.h"
#include "supervisor/maze/cpu_time_timer.h"
#include "supervisor/maze/cpu_timer_signals.h"
#include "supervisor/maze/maze_detector.h"
#include "supervisor/maze/proc_connector.h"
#include "supervisor/maze/schedstat.h"
#include "supervisor/pidfd_source.h"
#include "supervisor/supervisor.h"
#include "supervisor/watch/action_plan.h"
#include "supervisor/watch/psi_trigger.h"

namespace vigil::maze {

// Per process, inherited by the children it forks (MAZE's copy on fork).
struct MazeSettings {
  MazeLimits limits;
  int soft_signal = 0;
  int hard_signal = 0;
};

class MazeService : public UnitListener {
 public:
  // The real-time signal the CPU-time timers queue (resource watches use
  // SIGRTMIN+1).
  static int TimerSignal();
  // The unit cgroup's PSI trigger: a 2 s window is valid with or without
  // CAP_SYS_RESOURCE.
  static watch::PsiTriggerSpec PressureSpec();

  // Must run before vigild starts any thread: it blocks TimerSignal().
  // The service must outlive `supervisor`, which calls its UnitListener
  // methods until its own destructor ends; its fds stay registered with the
  // loop until then, and its destructor does not touch the loop.
  static absl::StatusOr<std::unique_ptr<MazeService>> Create(
      Supervisor& supervisor, config::LogLevel log_level = config::LogLevel::kInfo);
  ~MazeService() override;

  void OnMainStarted(const UnitProcess& unit) override;
  void OnMainGone(const std::string& unit, int pid) override;

  // What MAZE uses on this host and what it misses; logged at start-up and
  // part of the maze-list reply.
  const std::string& mechanisms() const { return mechanisms_; }
  // The same as an object for Supervisor::AddCapability: timer signal, fork
  // following (proc connector or unavailable, and why), PSI path, priority.
  json::Value Capability() const;

 private:
  struct Watched;
  struct UnitWatch;

  explicit MazeService(Supervisor& supervisor);
  absl::Status Init();
  void RaiseLoopPriority();

  // Watching processes.
  absl::Status Watch(pid_t pid, const std::string& unit,
                     const MazeSettings& settings, WatchOrigin origin,
                     const char* mechanism);
  void Unwatch(pid_t pid);
  void Sample(pid_t pid, const char* mechanism);
  void Act(const Watched& watched, const MazeDecision& decision,
           const char* mechanism);
  // The `on:` actions of `unit` its gate admits for one `action` event (none
  // for `maze add` processes, whose unit is "").
  std::vector<watch::DueAction> AdmitActions(const std::string& unit, MazeAction action);

  // Event sources.
  void OnTimers();
  void OnForks();
  void OnPressure(const std::string& unit);
  void OpenPressureTrigger(const std::string& name, UnitWatch& unit);
  void ClosePressureTrigger(UnitWatch& unit);

  // Finding processes the fork events did not name: members of a unit's
  // cgroup, children of `maze add` processes forked before the filter knew
  // their parent.
  void AdoptCgroupMembers(const std::string& unit, const char* mechanism);
  void AdoptChildrenOfAddedProcesses();
  void UpdateForkFilter();
  void DropUnitIfIdle(const std::string& unit);

  // Control commands.
  json::Value HandleAdd(const json::Value& request);
  json::Value HandleDel(const json::Value& request);
  json::Value HandleList(const json::Value& request);

  Supervisor& supervisor_;
  Logger log_;
  std::optional<CpuTimerSignals> signals_;
  std::optional<ProcConnector> connector_;
  // The parents whose forks the kernel filter passes; none before the first.
  std::optional<std::vector<pid_t>> fork_filter_;
  std::string mechanisms_;
  std::string fork_following_;
  std::string priority_;
  TaskSampler sampler_;
  std::map<pid_t, std::unique_ptr<Watched>> watched_;
  absl::flat_hash_map<uint64_t, pid_t> pid_by_cookie_;
  uint64_t next_cookie_ = 1;
  std::map<std::string, UnitWatch> units_;
};

}  // namespace vigil::maze

#endif  // VIGIL_SUPERVISOR_MAZE_MAZE_SERVICE_H_
