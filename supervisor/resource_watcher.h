// ResourceWatcher: vigild's resource watches (issue 4). A UnitListener that
// starts a UnitResourceWatch for every unit with a `watch:` section when its
// main process starts, and ends it when the main process goes (exit, stop,
// removal, or a reload that changed the unit, which restarts it).
//
// Owns the CpuTimerSignals (a signalfd on its own real-time signal) that every
// watch's CPU-time timer queues to, routes each expiry to its watch by
// cookie, and the ActionRunner that carries out what the watches' gates
// admit. Events are published through the supervisor's stream.
#ifndef VIGIL_SUPERVISOR_RESOURCE_WATCHER_H_
#define VIGIL_SUPERVISOR_RESOURCE_WATCHER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "supervisor/action_runner.h"
#include "supervisor/event_loop.h"
#include "supervisor/maze/cpu_timer_signals.h"
#include "supervisor/spawner.h"
#include "supervisor/supervisor.h"
#include "supervisor/unit_resource_watch.h"
#include "supervisor/watch_plan.h"

namespace vigil {

class ResourceWatcher : public UnitListener {
 public:
  struct Options {
    // Host features; process_in_unit_cgroup is decided per unit.
    WatchFeatures features;
    int tick_signo = 0;  // a real-time signal no one else in vigild uses
    std::function<void(const std::string&)> warn;  // vigild's log
  };
  // Blocks `options.tick_signo` in the calling thread (create it before any
  // other thread starts) and registers its signalfd with `loop`.
  static absl::StatusOr<std::unique_ptr<ResourceWatcher>> Create(
      EventLoop& loop, Spawner spawner, Options options, ActionRunner::Callbacks callbacks);
  ~ResourceWatcher() override;

  void OnMainStarted(const UnitProcess& unit) override;
  void OnMainGone(const std::string& unit, int pid) override;

  // Which mechanism each watch of `unit` uses here.
  WatchMechanisms Mechanisms(const config::UnitConfig& unit) const;
  const char* tick_description() const { return tick_description_.c_str(); }
  size_t active_watches() const { return watches_.size(); }
  // Before a restart or stop action reaches the unit: undo a freeze.
  void Thaw(const std::string& unit);
  // Publishes each firing's event and carries out its admitted actions on
  // `target` with this watcher's ActionRunner: restart and stop after every
  // other action (one per call), preceded by `thaw`. Resource watches and
  // plug-in watches (MAZE, through Supervisor::PublishWithActions) share it.
  // An empty `thaw` means the process is already gone: only the actions that
  // report (exec, log) run; restarting is the unit's restart policy's call.
  void RunFirings(const ActionTarget& target, const std::vector<Firing>& firings,
                  const std::function<void()>& thaw);

 private:
  ResourceWatcher(EventLoop& loop, Spawner spawner, Options options,
                  ActionRunner::Callbacks callbacks, maze::CpuTimerSignals signals);
  WatchFeatures FeaturesFor(const config::UnitConfig& unit) const;
  void OnTimerSignals();
  void Deliver(UnitResourceWatch& watch, std::vector<Firing> firings);

  EventLoop& loop_;
  Options options_;
  std::function<void(Event)> publish_;
  ActionRunner runner_;
  maze::CpuTimerSignals signals_;
  EventLoop::WatchId signals_watch_ = 0;
  std::string tick_description_;
  std::map<std::string, std::unique_ptr<UnitResourceWatch>> watches_;
  std::map<uint64_t, std::string> unit_by_cookie_;
  uint64_t next_cookie_ = 1;
};

}  // namespace vigil

#endif  // VIGIL_SUPERVISOR_RESOURCE_WATCHER_H_
