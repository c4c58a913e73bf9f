// UnitResourceWatch: the `watch:` section of one unit while its main process
// runs. On start it writes memory.high / memory.max / pids.max into the unit
// cgroup (where the controller exists) and owns every mechanism the section
// needs, each registered with the event loop:
//   - memory.events / pids.events (CgroupEventsFile, POLLPRI): counter
//     increments (CounterDelta) become memory.high, memory.max, memory.oom,
//     memory.oom_kill and tasks.max events;
//   - one PsiTrigger per configured pressure resource (POLLPRI):
//     pressure.cpu|memory|io events;
//   - one CpuTimeTimer on the main process's CPU clock, whose expiries the
//     owner routes here (OnCpuTick): it fires every `cpu_tick` of the
//     process's CPU while levels are configured, and at the cpu_time budget
//     (cpu_time.limit). A process that sleeps costs no wakeup.
// Levels (memory, tasks, fds) are read only on those triggers and fed to
// LevelTrackers (memory.level, tasks.level, fds.level, up or down).
//
// Each trigger turns into Firings (an event plus the actions its ActionGate
// admitted) handed to `deliver` as the callback's last step, because carrying
// out a restart or stop may destroy this watch. The destructor removes every
// loop registration, deletes the timer, puts the limits it wrote back to
// "max" and thaws the cgroup if a freeze action froze it.
#ifndef VIGIL_SUPERVISOR_UNIT_RESOURCE_WATCH_H_
#define VIGIL_SUPERVISOR_UNIT_RESOURCE_WATCH_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "config/config.h"
#include "supervisor/action_runner.h"
#include "supervisor/event.h"
#include "supervisor/event_loop.h"
#include "supervisor/maze/cpu_time_timer.h"
#include "supervisor/pidfd_source.h"
#include "supervisor/unit_usage.h"
#include "supervisor/watch/action_plan.h"
#include "supervisor/watch/cgroup_events_file.h"
#include "supervisor/watch/flat_keyed.h"
#include "supervisor/watch/level_tracker.h"
#include "supervisor/watch/psi_trigger.h"
#include "supervisor/watch_plan.h"

namespace vigil {

// One event and the actions admitted for it (copies, with how many events
// each skipped under its rate limit).
struct Firing {
  Event event;
  std::vector<std::pair<watch::Action, uint64_t>> actions;
};

class UnitResourceWatch {
 public:
  struct Context {
    EventLoop* loop = nullptr;
    WatchFeatures features;
    int tick_signo = 0;   // the CPU-time timer's real-time signal
    uint64_t cookie = 0;  // carried by that signal, names this watch
  };
  using Deliver = std::function<void(UnitResourceWatch&, std::vector<Firing>)>;

  // Problems with single mechanisms (a limit that cannot be written, a PSI
  // trigger the kernel refuses) do not stop the others: they are appended to
  // `warnings`.
  static absl::StatusOr<std::unique_ptr<UnitResourceWatch>> Start(
      const config::UnitConfig& unit, pid_t pid, const std::string& cgroup_dir,
      const Context& context, Deliver deliver, std::vector<std::string>* warnings);
  ~UnitResourceWatch();
  UnitResourceWatch(const UnitResourceWatch&) = delete;
  UnitResourceWatch& operator=(const UnitResourceWatch&) = delete;

  // Reads the levels now (`trigger` names why, for the events' message).
  std::vector<Firing> SampleLevels(const char* trigger);
  // The CPU-time timer expired (its cookie is context.cookie).
  void OnCpuTick();
  // The memory.events / pids.events increments not yet reported, read once
  // more when the main process is gone.
  std::vector<Firing> CountersAtExit();

  pid_t pid() const { return pid_; }
  const ActionTarget& target() const { return target_; }
  // Undoes a freeze action, so that a stop or restart can reach the process.
  void Thaw();

 private:
  UnitResourceWatch(const config::UnitConfig& unit, pid_t pid, std::string cgroup_dir,
                    const Context& context, Deliver deliver);

  void WriteLimits(std::vector<std::string>* warnings);
  absl::Status OpenEventsFiles();
  void OpenPressure(std::vector<std::string>* warnings);
  absl::Status StartCpuTimer();
  absl::Status ArmCpuTimer();

  void OnMemoryEvents();
  void OnPidsEvents();
  // Appends the counter increments since the last read; false when the
  // cgroup is gone (the events file is then closed).
  bool AddMemoryCounterFirings(std::vector<Firing>* out);
  bool AddPidsCounterFirings(std::vector<Firing>* out);
  void OnPressure(size_t index);

  // An event with the actions `gate_key`'s gate admits for it.
  Firing Fire(Event event, const std::string& gate_key, const config::Actions& actions);
  Event BaseEvent(const char* kind, const char* resource, const char* mechanism) const;
  std::optional<int64_t> CgroupCurrent(const char* file) const;
  void AddLevelFirings(const char* kind, const char* resource, const char* mechanism,
                       const char* trigger, int64_t value, watch::LevelTracker& tracker,
                       const std::vector<config::Level>& levels,
                       const config::Actions& up, const config::Actions& down,
                       std::vector<Firing>* out);

  struct EventsFile {
    watch::CgroupEventsFile file;
    watch::CounterDelta delta;
    EventLoop::WatchId watch = 0;
  };
  struct Pressure {
    std::string resource;  // cpu, memory, io
    const config::PressureTrigger* config;
    watch::PsiTrigger trigger;
    EventLoop::WatchId watch = 0;
  };

  std::string unit_;
  config::WatchSpec spec_;
  pid_t pid_;
  std::string cgroup_dir_;
  Context context_;
  Deliver deliver_;
  std::optional<PidfdSource> main_;
  ActionTarget target_;
  std::vector<std::string> limits_written_;  // files to put back to "max"
  bool frozen_by_action_ = false;

  std::optional<EventsFile> memory_events_;
  std::optional<EventsFile> pids_events_;
  std::vector<std::unique_ptr<Pressure>> pressure_;
  std::optional<UnitUsage> usage_;
  std::optional<watch::LevelTracker> memory_levels_;
  std::optional<watch::LevelTracker> tasks_levels_;
  std::optional<watch::LevelTracker> fds_levels_;
  std::optional<maze::CpuTimeTimer> cpu_timer_;
  bool cpu_budget_spent_ = false;
  std::map<std::string, watch::ActionGate> gates_;
};

}  // namespace vigil

#endif  // VIGIL_SUPERVISOR_UNIT_RESOURCE_WATCH_H_
