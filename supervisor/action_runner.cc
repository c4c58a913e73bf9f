#include "supervisor/action_runner.h"

#include <poll.h>
#include <signal.h>

#include <cerrno>
#include <variant>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/errno_status.h"
#include "common/status_macros.h"
#include "supervisor/cgroup_tree.h"
#include "supervisor/watch/rate_limiter.h"

namespace vigil {
namespace {

const char* ActionName(const watch::ActionKind& kind) {
  struct Namer {
    const char* operator()(const watch::SignalAction&) const { return "signal"; }
    const char* operator()(const watch::RestartAction&) const { return "restart"; }
    const char* operator()(const watch::StopAction&) const { return "stop"; }
    const char* operator()(const watch::FreezeAction&) const { return "freeze"; }
    const char* operator()(const watch::ExecAction&) const { return "exec"; }
    const char* operator()(const watch::LogAction&) const { return "log"; }
  };
  return std::visit(Namer{}, kind);
}

// The event's own description, for the log action.
std::string DescribeCause(const Event& cause) {
  std::string text = cause.kind;
  if (cause.direction != Direction::kNone) {
    absl::StrAppend(&text, cause.direction == Direction::kUp ? " up" : " down");
  }
  if (!cause.resource.empty()) {
    absl::StrAppend(&text, " level ", cause.level, " value ", cause.value);
  }
  if (!cause.message.empty()) absl::StrAppend(&text, " (", cause.message, ")");
  return text;
}

}  // namespace

ActionRunner::~ActionRunner() {
  for (const auto& [id, hook] : hooks_) loop_.Remove(id);
}

void ActionRunner::Run(const watch::Action& action, uint64_t suppressed,
                       const Event& cause, const ActionTarget& target) {
  Event done = cause;
  done.kind = "action";
  done.mechanism = ActionName(action.kind);
  done.time = std::chrono::system_clock::now();
  std::string what = watch::DescribeAction(action.kind);
  absl::Status status = absl::OkStatus();
  if (const auto* signal = std::get_if<watch::SignalAction>(&action.kind)) {
    status = Signal(*signal, target);
  } else if (std::holds_alternative<watch::FreezeAction>(action.kind)) {
    status = Freeze(target);
  } else if (const auto* exec = std::get_if<watch::ExecAction>(&action.kind)) {
    absl::StatusOr<int> pid = SpawnHook(*exec, cause);
    if (pid.ok()) absl::StrAppend(&what, " (pid ", *pid, ")");
    status = pid.status();
  } else if (std::holds_alternative<watch::LogAction>(action.kind)) {
    what = absl::StrCat("log: ", DescribeCause(cause));
  }
  if (!status.ok()) {
    done.kind = "action-failed";
    done.message = absl::StrCat(what, " on ", cause.kind, ": ", status.message());
  } else {
    done.message = absl::StrCat(what, " on ", cause.kind, watch::SuppressedNote(suppressed));
  }
  callbacks_.publish(done);
  // Last: restarting or stopping may end the watch that called us.
  if (std::holds_alternative<watch::RestartAction>(action.kind)) {
    callbacks_.restart(target.unit);
  } else if (std::holds_alternative<watch::StopAction>(action.kind)) {
    callbacks_.stop(target.unit);
  }
}

absl::Status ActionRunner::Signal(const watch::SignalAction& signal,
                                  const ActionTarget& target) {
  if (signal.target == watch::SignalTarget::kMainProcess || target.cgroup_dir.empty()) {
    if (target.main == nullptr) {
      return absl::FailedPreconditionError("the unit has no main process");
    }
    return target.main->SendSignal(signal.signo);
  }
  ASSIGN_OR_RETURN(std::string procs, ReadFileToString(target.cgroup_dir + "/cgroup.procs"));
  int sent = 0;
  for (absl::string_view word : absl::StrSplit(procs, '\n', absl::SkipEmpty())) {
    int pid;
    if (absl::SimpleAtoi(word, &pid) && kill(pid, signal.signo) == 0) ++sent;
  }
  if (sent == 0) {
    return absl::NotFoundError(absl::StrCat("no process in ", target.cgroup_dir));
  }
  return absl::OkStatus();
}

absl::Status ActionRunner::Freeze(const ActionTarget& target) {
  if (target.cgroup_dir.empty()) {
    return absl::FailedPreconditionError(
        "freeze needs the unit's processes in its cgroup (not an attach: unit)");
  }
  return WriteStringToFile(target.cgroup_dir + "/cgroup.freeze", "1");
}

absl::StatusOr<int> ActionRunner::SpawnHook(const watch::ExecAction& exec,
                                            const Event& cause) {
  SpawnRequest request;
  request.argv = exec.argv;
  request.env = watch::HookEnvironment(cause);
  request.env.push_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  ASSIGN_OR_RETURN(PidfdSource hook, spawner_.Spawn(request));
  int pid = hook.pid();
  int fd = hook.fd();
  std::string unit = cause.unit;
  // The id is only known after Add; the callback looks itself up by it.
  auto id = std::make_shared<EventLoop::WatchId>(0);
  ASSIGN_OR_RETURN(*id, loop_.Add(fd, POLLIN, [this, id, unit](uint32_t) {
                     OnHookExit(*id, unit);
                   }));
  hooks_.emplace(*id, std::move(hook));
  return pid;
}

void ActionRunner::OnHookExit(EventLoop::WatchId id, const std::string& unit) {
  auto it = hooks_.find(id);
  if (it == hooks_.end()) return;
  ExitStatus status = it->second.Reap();
  int pid = it->second.pid();
  loop_.Remove(id);
  hooks_.erase(it);
  callbacks_.publish({.unit = unit, .pid = pid, .kind = "hook-exit",
                      .value = status.signaled ? status.signal : status.code,
                      .mechanism = "pidfd", .message = status.Describe()});
}

}  // namespace vigil
