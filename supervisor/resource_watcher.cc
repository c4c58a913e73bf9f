#include "supervisor/resource_watcher.h"

#include <poll.h>
#include <signal.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace vigil {

absl::StatusOr<std::unique_ptr<ResourceWatcher>> ResourceWatcher::Create(
    EventLoop& loop, Spawner spawner, Options options, ActionRunner::Callbacks callbacks) {
  ASSIGN_OR_RETURN(maze::CpuTimerSignals signals,
                   maze::CpuTimerSignals::Create(options.tick_signo));
  std::unique_ptr<ResourceWatcher> watcher(new ResourceWatcher(
      loop, spawner, std::move(options), std::move(callbacks), std::move(signals)));
  ResourceWatcher* raw = watcher.get();
  ASSIGN_OR_RETURN(watcher->signals_watch_,
                   loop.Add(watcher->signals_.fd(), POLLIN,
                            [raw](uint32_t) { raw->OnTimerSignals(); }));
  return watcher;
}

ResourceWatcher::ResourceWatcher(EventLoop& loop, Spawner spawner, Options options,
                                 ActionRunner::Callbacks callbacks,
                                 maze::CpuTimerSignals signals)
    : loop_(loop),
      options_(std::move(options)),
      publish_(callbacks.publish),
      runner_(loop, spawner, std::move(callbacks)),
      signals_(std::move(signals)) {
  tick_description_ = absl::StrCat(
      "CPU-time timers (timer_create on the main process's CPU clock) every ",
      options_.features.cpu_tick.count(), "ms of its CPU, signal SIGRTMIN+",
      options_.tick_signo - SIGRTMIN, " read through a signalfd");
}

ResourceWatcher::~ResourceWatcher() {
  watches_.clear();
  loop_.Remove(signals_watch_);
}

WatchFeatures ResourceWatcher::FeaturesFor(const config::UnitConfig& unit) const {
  WatchFeatures features = options_.features;
  features.process_in_unit_cgroup = !unit.attach.has_value();
  return features;
}

WatchMechanisms ResourceWatcher::Mechanisms(const config::UnitConfig& unit) const {
  return DescribeWatchMechanisms(unit.watch, FeaturesFor(unit));
}

void ResourceWatcher::OnMainStarted(const UnitProcess& unit) {
  const std::string& name = unit.config.name;
  watches_.erase(name);  // a main that left without OnMainGone
  if (unit.config.watch.empty()) return;
  uint64_t cookie = next_cookie_++;
  UnitResourceWatch::Context context{.loop = &loop_,
                                     .features = FeaturesFor(unit.config),
                                     .tick_signo = options_.tick_signo,
                                     .cookie = cookie};
  std::vector<std::string> warnings;
  auto watch = UnitResourceWatch::Start(
      unit.config, unit.pid, unit.cgroup_path, context,
      [this](UnitResourceWatch& w, std::vector<Firing> f) { Deliver(w, std::move(f)); },
      &warnings);
  for (const std::string& warning : warnings) {
    options_.warn(absl::StrCat(name, ": watch: ", warning));
  }
  if (!watch.ok()) {
    publish_({.unit = name, .pid = unit.pid, .kind = "watch-failed", .mechanism = "vigild",
              .message = std::string(watch.status().message())});
    return;
  }
  UnitResourceWatch& started = **watch;
  watches_[name] = *std::move(watch);
  unit_by_cookie_[cookie] = name;
  Deliver(started, started.SampleLevels("start"));
}

void ResourceWatcher::OnMainGone(const std::string& unit, int pid) {
  auto it = watches_.find(unit);
  if (it == watches_.end() || it->second->pid() != pid) return;
  std::unique_ptr<UnitResourceWatch> gone = std::move(it->second);
  watches_.erase(it);
  for (auto c = unit_by_cookie_.begin(); c != unit_by_cookie_.end();) {
    c = c->second == unit ? unit_by_cookie_.erase(c) : std::next(c);
  }
  // The exit and the counter that explains it (an oom kill) become ready
  // together; whichever the loop dispatched first, the counter is not lost.
  RunFirings(gone->target(), gone->CountersAtExit(), nullptr);
}

void ResourceWatcher::Thaw(const std::string& unit) {
  auto it = watches_.find(unit);
  if (it != watches_.end()) it->second->Thaw();
}

void ResourceWatcher::OnTimerSignals() {
  auto cookies = signals_.ReadFired();
  if (!cookies.ok()) {
    options_.warn(std::string(cookies.status().message()));
    return;
  }
  for (uint64_t cookie : *cookies) {
    // Look up each time: a tick's actions may have ended another watch.
    auto name = unit_by_cookie_.find(cookie);
    if (name == unit_by_cookie_.end()) continue;  // a watch that already ended
    auto watch = watches_.find(name->second);
    if (watch != watches_.end()) watch->second->OnCpuTick();
  }
}

void ResourceWatcher::Deliver(UnitResourceWatch& watch, std::vector<Firing> firings) {
  ActionTarget target = watch.target();  // a copy: a restart may end the watch
  RunFirings(target, firings, [&watch] { watch.Thaw(); });
}

void ResourceWatcher::RunFirings(const ActionTarget& target, const std::vector<Firing>& firings,
                                 const std::function<void()>& thaw) {
  const Event* ending_cause = nullptr;
  const watch::Action* ending = nullptr;
  uint64_t ending_suppressed = 0;
  bool process_gone = !thaw;
  for (const Firing& firing : firings) {
    publish_(firing.event);
    for (const auto& [action, suppressed] : firing.actions) {
      if (process_gone && !OnlyReports(action.kind)) continue;
      if (!EndsTheWatch(action.kind)) {
        runner_.Run(action, suppressed, firing.event, target);
      } else if (ending == nullptr) {  // one restart or stop per wakeup is plenty
        ending = &action;
        ending_cause = &firing.event;
        ending_suppressed = suppressed;
      }
    }
  }
  if (ending == nullptr) return;
  thaw();
  runner_.Run(*ending, ending_suppressed, *ending_cause, target);
}

}  // namespace vigil
