// ActionRunner: carries out a watch's admitted actions on a unit — signals
// (pidfd_send_signal to the main process, kill(2) over cgroup.procs for the
// whole cgroup), cgroup.freeze, exec hooks, log — and hands restart and stop
// to the supervisor. Every action it runs is published as an "action" event
// (or "action-failed"), so the event stream says what vigild did and why.
//
// Owns the pidfds of running exec hooks: a hook is spawned without waiting
// for it, its pidfd is watched in the loop and it is reaped (waitid
// P_PIDFD) when it exits, with a "hook-exit" event. Hooks still running when
// the runner goes keep running; vigild does not wait for them.
#ifndef VIGIL_SUPERVISOR_ACTION_RUNNER_H_
#define VIGIL_SUPERVISOR_ACTION_RUNNER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "supervisor/event.h"
#include "supervisor/event_loop.h"
#include "supervisor/pidfd_source.h"
#include "supervisor/spawner.h"
#include "supervisor/watch/action_plan.h"

namespace vigil {

// What an action acts on. `main` may be null (no main process); an empty
// `cgroup_dir` means the unit's processes are not in its cgroup (attach:), so
// cgroup-wide signals reach the main process only and freeze is refused.
struct ActionTarget {
  std::string unit;
  const PidfdSource* main = nullptr;
  std::string cgroup_dir;
};

class ActionRunner {
 public:
  struct Callbacks {
    std::function<void(Event)> publish;
    std::function<void(const std::string& unit)> restart;
    std::function<void(const std::string& unit)> stop;
  };
  ActionRunner(EventLoop& loop, Spawner spawner, Callbacks callbacks)
      : loop_(loop), spawner_(spawner), callbacks_(std::move(callbacks)) {}
  ~ActionRunner();
  ActionRunner(const ActionRunner&) = delete;
  ActionRunner& operator=(const ActionRunner&) = delete;

  // Carries out `action` for the event `cause`; `suppressed` events skipped
  // it since its last run (its rate limit), which the action event reports.
  void Run(const watch::Action& action, uint64_t suppressed, const Event& cause,
           const ActionTarget& target);

  size_t running_hooks() const { return hooks_.size(); }

 private:
  absl::Status Signal(const watch::SignalAction& signal, const ActionTarget& target);
  absl::Status Freeze(const ActionTarget& target);
  // The hook's pid.
  absl::StatusOr<int> SpawnHook(const watch::ExecAction& exec, const Event& cause);
  void OnHookExit(EventLoop::WatchId id, const std::string& unit);

  EventLoop& loop_;
  Spawner spawner_;
  Callbacks callbacks_;
  std::map<EventLoop::WatchId, PidfdSource> hooks_;
};

}  // namespace vigil

#endif  // VIGIL_SUPERVISOR_ACTION_RUNNER_H_
