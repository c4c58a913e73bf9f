// Supervisor: vigild's units and what happens to them. This is where the
// mechanisms (pidfds, cgroup.events, timers, the control socket, signals)
// meet the policy (restart, backoff, start limit, stop escalation, reload).
// It owns the EventLoop and every source registered with it.
#ifndef VIGIL_SUPERVISOR_SUPERVISOR_H_
#define VIGIL_SUPERVISOR_SUPERVISOR_H_

#include <chrono>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/json.h"
#include "config/config.h"
#include "supervisor/cgroup_tree.h"
#include "supervisor/control_server.h"
#include "supervisor/event.h"
#include "supervisor/event_loop.h"
#include "supervisor/line_splitter.h"
#include "supervisor/logger.h"
#include "supervisor/pidfd_source.h"
#include "supervisor/restart_policy.h"
#include "supervisor/signal_source.h"
#include "supervisor/spawner.h"
#include "supervisor/timer_queue.h"
#include "supervisor/watch/action_plan.h"

namespace vigil {

class ResourceWatcher;

enum class UnitState { kStarting, kRunning, kStopping, kExited, kBackoff, kFailed };
const char* UnitStateName(UnitState state);

// Told about units' main processes as they come and go, so that per-unit
// watches (resources, MAZE, rlimit-events) can follow them.
class UnitListener {
 public:
  struct UnitProcess {
    const config::UnitConfig& config;
    int pid;                   // the main process
    std::string cgroup_path;   // the unit's cgroup directory
  };
  virtual ~UnitListener() = default;
  virtual void OnMainStarted(const UnitProcess& unit) = 0;
  // The main process is gone (exited, or the unit stopped or was removed).
  virtual void OnMainGone(const std::string& unit, int pid) = 0;
};

class Supervisor {
 public:
  struct Options {
    std::string config_path;
    EventLoop::Backend backend = EventLoop::Backend::kAuto;
  };

  static absl::StatusOr<std::unique_ptr<Supervisor>> Create(
      const Options& options, config::Config config);
  ~Supervisor();

  // Starts every unit, then dispatches events until an orderly shutdown
  // (SIGTERM/SIGINT) has stopped them all.
  absl::Status Run();

  // What vigild found and which mechanisms it uses: printed at startup and
  // returned by the "capabilities" request.
  json::Value Capabilities() const;

  // For services that plug into vigild (they register fds with the loop,
  // publish events and answer their own control commands).
  EventLoop& loop() { return *loop_; }
  void Publish(Event event);
  // `handler` answers requests whose "cmd" is `cmd`; it must not be one of
  // the built-in commands.
  void RegisterCommand(const std::string& cmd, ControlServer::Handler handler);
  void AddUnitListener(UnitListener* listener) { listeners_.push_back(listener); }
  // For plug-in watches (MAZE): publishes `cause` and carries out the actions
  // its ActionGate admitted on the unit `cause.unit` exactly as a resource
  // watch's (ActionRunner: signal, freeze, exec hook, log, then restart or
  // stop after thawing the unit's cgroup; "action"/"action-failed" events).
  // Without such a unit only the event is published.
  void PublishWithActions(Event cause, const std::vector<watch::DueAction>& due);
  // A plug-in service's entry in Capabilities() (and the start-up report,
  // logged now, since services start after the core's report).
  void AddCapability(const std::string& name, json::Value value);
  // Called with every published event, after it is logged and broadcast
  // (passive checks to Nagios, for example). Must not block.
  void AddEventListener(std::function<void(const Event&)> listener) {
    event_listeners_.push_back(std::move(listener));
  }

 private:
  struct OutputPipe;
  struct Unit;

  Supervisor(Options options, config::Config config);
  absl::Status Init();
  void ReportCapabilities();
  absl::Status StartResourceWatcher();
  void ReportWatchMechanisms() const;
  json::Value WatchCapabilities() const;

  // Unit lifecycle.
  absl::Status AddUnit(const config::UnitConfig& unit_config);
  void StartUnit(Unit& unit);
  void SpawnMain(Unit& unit, const std::vector<std::string>& argv);
  void AttachMain(Unit& unit);
  // attach: {exe: PATH}: every process running the executable.
  void AttachExe(Unit& unit);
  void OnExeAttached(Unit& unit, int pid, const char* mechanism, bool gone);
  void OnExeExited(Unit& unit, int pid, const char* seen_by);
  void FollowOldestExe(Unit& unit);
  void StopFollowingExe(Unit& unit);
  void WatchMain(Unit& unit, PidfdSource main);
  // Drops the main process's pidfd and tells the listeners; returns its pid.
  int UnwatchMain(Unit& unit);
  void OnMainExit(Unit& unit);
  // Some units' cgroup.events changed (one inotify fd for all units).
  void OnCgroupChanges();
  void OnCgroupEvents(Unit& unit);
  void OnUnitGone(Unit& unit);
  void StopUnit(Unit& unit, std::function<void(Unit&)> then);
  // For vigild's own reasons (shutdown, reload): stops a unit it started, but
  // only lets go of an attached one, whose processes keep running.
  void StopOrRelease(Unit& unit, std::function<void(Unit&)> then);
  void OnStopTimeout(Unit& unit);
  void FinishStop(Unit& unit);
  void ScheduleRestart(Unit& unit);
  void SetState(Unit& unit, UnitState state, std::string why);
  // The fds a spawn hands the child as stdout and stderr (-1: /dev/null) for
  // the unit's `output:`; `log_end` is the read end vigild keeps (kLog only).
  struct OutputEnds {
    UniqueFd log_end;
    UniqueFd child_end;  // closed in vigild once the child has it
    int child_stdout = -1;
    int child_stderr = -1;
  };
  static absl::StatusOr<OutputEnds> OpenOutput(const config::OutputSpec& output);
  // Logs what the process writes to stdout and stderr (one pipe), line by line.
  void CaptureOutput(Unit& unit, int read_fd, int pid);
  bool CgroupPopulated(const Unit& unit) const;
  void RemoveUnit(const std::string& name);
  std::vector<std::string> SpawnEnvironment(const Unit& unit) const;

  // Signals, reload and shutdown.
  void OnSignals();
  absl::Status Reload();
  void BeginShutdown();
  void MaybeFinishShutdown();
  void ReapOrphans();

  // Control socket.
  json::Value HandleRequest(const json::Value& request);
  json::Value UnitStatus(const Unit& unit) const;
  void NotifyMainStarted(const Unit& unit);
  void NotifyMainGone(const Unit& unit, int pid);

  Options options_;
  config::Config config_;
  Logger log_;
  std::unique_ptr<EventLoop> loop_;
  std::string loop_fallback_reason_;
  std::unique_ptr<TimerQueue> timers_;
  std::optional<SignalSource> signals_;
  std::unique_ptr<CgroupTree> cgroups_;
  std::optional<CgroupEventsWatch> cgroup_events_;
  std::map<int, std::string> unit_by_cgroup_events_id_;
  std::optional<Spawner> spawner_;
  std::unique_ptr<ControlServer> control_;
  std::map<std::string, std::unique_ptr<Unit>> units_;
  std::list<std::unique_ptr<OutputPipe>> pipes_;
  std::map<std::string, ControlServer::Handler> commands_;
  std::vector<UnitListener*> listeners_;
  std::vector<std::function<void(const Event&)>> event_listeners_;
  std::map<std::string, json::Value> service_capabilities_;
  bool shutting_down_ = false;
  bool done_ = false;
  // Last: destroyed first, while the loop it registered with still exists.
  std::unique_ptr<ResourceWatcher> resource_watcher_;
};

}  // namespace vigil

#endif  // VIGIL_SUPERVISOR_SUPERVISOR_H_
