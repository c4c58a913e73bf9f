#include "supervisor/rlimit/module_fd_counter.h"

#include <poll.h>
#include <sys/resource.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace vigil::rlimit {

absl::StatusOr<std::unique_ptr<ModuleFdCounter>> ModuleFdCounter::Create(EventLoop& loop,
                                                                         CountSink sink) {
  ASSIGN_OR_RETURN(kmod::NotiDevice device, kmod::NotiDevice::Open());
  std::unique_ptr<ModuleFdCounter> counter(
      new ModuleFdCounter(loop, std::move(sink), std::move(device)));
  ASSIGN_OR_RETURN(counter->device_watch_,
                   loop.Add(counter->device_.fd(), POLLIN,
                            [c = counter.get()](uint32_t) { c->Flush(); }));
  return counter;
}

ModuleFdCounter::~ModuleFdCounter() { loop_.Remove(device_watch_); }

std::string ModuleFdCounter::Describe() const {
  return "kernel module rlimit_noti (exact: the kernel reports every crossing "
         "at the fd install or release that makes it, bursts inside one CPU "
         "tick included; no ticks needed for open fds)";
}

absl::Status ModuleFdCounter::Track(pid_t pid) {
  // Events queued so far belong to the watches that exist now, not to the
  // one being added.
  Flush();
  RETURN_IF_ERROR(procfs_.Track(pid));
  tracked_.try_emplace(pid);
  return absl::OkStatus();
}

absl::Status ModuleFdCounter::SetLevels(pid_t pid, const std::vector<int64_t>& levels) {
  auto it = tracked_.find(pid);
  if (it == tracked_.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("fd levels of pid ", pid, " set but the pid is not tracked"));
  }
  std::set<int64_t>& held = it->second.levels;
  for (int64_t level : levels) {
    if (held.contains(level)) continue;
    absl::Status added = device_.AddLevel(pid, RLIMIT_NOFILE, level);
    if (!added.ok()) {
      // ESRCH from the module: say NotFound, as the other backend does.
      absl::StatusOr<int64_t> alive = procfs_.Count(pid);
      return alive.ok() ? added : alive.status();
    }
    held.insert(level);
  }
  const std::set<int64_t> wanted(levels.begin(), levels.end());
  for (auto level = held.begin(); level != held.end();) {
    if (wanted.contains(*level)) {
      ++level;
      continue;
    }
    // Fails only when the process has exited, which took the level with it.
    device_.RemoveLevel(pid, RLIMIT_NOFILE, *level).IgnoreError();
    level = held.erase(level);
  }
  return absl::OkStatus();
}

void ModuleFdCounter::Untrack(pid_t pid) {
  SetLevels(pid, {}).IgnoreError();
  tracked_.erase(pid);
  procfs_.Untrack(pid);
}

absl::StatusOr<int64_t> ModuleFdCounter::Count(pid_t pid) {
  auto gone = [pid] { return absl::NotFoundError(absl::StrCat("process ", pid, " has exited")); };
  // Queued crossings first, so that the watches see the counts in order.
  Flush();
  auto it = tracked_.find(pid);
  if (it == tracked_.end()) return procfs_.Count(pid);
  if (it->second.gone) return gone();
  const uint64_t reports = it->second.reports;
  ASSIGN_OR_RETURN(int64_t count, procfs_.Count(pid));
  // What happened while procfs was read: an exit (a zombie's fd directory
  // is empty, which is no crossing), or a change the kernel reported, which
  // is newer than `count`.
  Flush();
  it = tracked_.find(pid);
  if (it == tracked_.end() || it->second.gone) return gone();
  return it->second.reports == reports ? count : it->second.last_report;
}

void ModuleFdCounter::Flush() {
  for (;;) {
    absl::StatusOr<std::optional<kmod::NotiEvent>> event = device_.ReadEvent();
    if (!event.ok()) {
      // A malformed event was consumed by the read: go on with the next.
      if (event.status().code() == absl::StatusCode::kDataLoss) continue;
      return;
    }
    if (!event->has_value()) return;
    const kmod::NotiEvent& e = **event;
    switch (e.type) {
      case kmod::NotiEvent::Type::kCrossed:
        if (auto it = tracked_.find(e.pid);
            it != tracked_.end() && e.resource == RLIMIT_NOFILE) {
          ++it->second.reports;
          it->second.last_report = static_cast<int64_t>(e.value);
          sink_(e.pid, it->second.last_report);
        }
        break;
      case kmod::NotiEvent::Type::kProcessGone:
        // The kernel dropped its levels; the service learns the exit from
        // the process's pidfd.
        if (auto it = tracked_.find(e.pid); it != tracked_.end()) {
          it->second.levels.clear();
          it->second.gone = true;
        }
        break;
      case kmod::NotiEvent::Type::kOverflow:
        lost_events_ += e.lost;
        Resynchronise();
        break;
      case kmod::NotiEvent::Type::kNewProcess:
        break;  // levels are added with NO_INHERIT: never sent
    }
  }
}

void ModuleFdCounter::Resynchronise() {
  std::vector<pid_t> pids;
  for (const auto& [pid, tracked] : tracked_) {
    if (!tracked.gone) pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    absl::StatusOr<int64_t> count = procfs_.Count(pid);
    if (count.ok() && tracked_.contains(pid)) sink_(pid, *count);
  }
}

std::unique_ptr<FdCountBackend> OpenFdCountBackend(EventLoop& loop,
                                                   FdCountBackend::CountSink sink) {
  absl::StatusOr<std::unique_ptr<ModuleFdCounter>> module =
      ModuleFdCounter::Create(loop, std::move(sink));
  if (module.ok()) return *std::move(module);
  if (!kmod::NotiDevice::ModuleLoaded()) {
    return std::make_unique<ProcfsFdCounter>("kernel module rlimit_noti not loaded");
  }
  return std::make_unique<ProcfsFdCounter>(absl::StrCat(
      "kernel module rlimit_noti loaded but not usable: ", module.status().message()));
}

}  // namespace vigil::rlimit
