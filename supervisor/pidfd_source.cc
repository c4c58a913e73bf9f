#include "supervisor/pidfd_source.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace vigil {

std::string ExitStatus::Describe() const {
  if (!known) return "exited (status unknown: not vigild's child)";
  if (signaled) {
    return absl::StrCat("killed by signal ", signal, " (", strsignal(signal),
                        ")", core_dumped ? ", core dumped" : "");
  }
  return absl::StrCat("exited with code ", code);
}

namespace {

ExitStatus FromSiginfo(const siginfo_t& info) {
  ExitStatus status{.known = true};
  switch (info.si_code) {
    case CLD_EXITED:
      status.code = info.si_status;
      break;
    case CLD_DUMPED:
      status.core_dumped = true;
      [[fallthrough]];
    default:
      status.signaled = true;
      status.signal = info.si_status;
  }
  return status;
}

}  // namespace

void ChildRegistry::Unclaim::operator()(Claim* claim) const {
  claim->registry->Forget(*claim);
  delete claim;
}

ChildRegistry& ChildRegistry::ForThisProcess() {
  static ChildRegistry* registry = new ChildRegistry;
  return *registry;
}

ChildRegistry::ClaimPtr ChildRegistry::Register(pid_t pid) {
  ClaimPtr claim(new Claim{.registry = this, .pid = pid});
  std::lock_guard<std::mutex> lock(mutex_);
  claims_[pid] = claim.get();
  return claim;
}

void ChildRegistry::Forget(const Claim& claim) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = claims_.find(claim.pid);
  // A reaped pid may already name a newer child with a claim of its own.
  if (it != claims_.end() && it->second == &claim) claims_.erase(it);
}

bool ChildRegistry::HandOver(pid_t pid, const ExitStatus& status) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = claims_.find(pid);
  if (it == claims_.end()) return false;
  it->second->collected = status;
  claims_.erase(it);
  return true;
}

std::vector<pid_t> ReapExitedChildren(ChildRegistry& registry) {
  std::vector<pid_t> orphans;
  for (;;) {
    siginfo_t info{};
    if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG) < 0) {
      if (errno == EINTR) continue;
      break;  // ECHILD: no children at all
    }
    if (info.si_pid == 0) break;  // none has exited
    if (!registry.HandOver(info.si_pid, FromSiginfo(info))) orphans.push_back(info.si_pid);
  }
  return orphans;
}

PidfdSource::PidfdSource(pid_t pid, UniqueFd fd, bool is_child)
    : pid_(pid), fd_(std::move(fd)) {
  if (is_child) claim_ = ChildRegistry::ForThisProcess().Register(pid);
}

absl::StatusOr<PidfdSource> PidfdSource::Open(pid_t pid) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return ErrnoStatus(absl::StrCat("pidfd_open pid ", pid), errno);
  return PidfdSource(pid, UniqueFd(fd), /*is_child=*/false);
}

absl::Status PidfdSource::SendSignal(int signo) const {
  if (syscall(SYS_pidfd_send_signal, fd_.get(), signo, nullptr, 0) < 0) {
    return ErrnoStatus(absl::StrCat("pidfd_send_signal ", signo, " to pid ", pid_),
                       errno);
  }
  return absl::OkStatus();
}

ExitStatus PidfdSource::Reap() const {
  if (!claim_) return ExitStatus{};
  siginfo_t info{};
  int rc;
  do {
    rc = waitid(static_cast<idtype_t>(P_PIDFD), fd_.get(), &info,
                WEXITED | WNOHANG);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0 && errno == ECHILD && claim_->collected) return *claim_->collected;
  if (rc < 0 || info.si_pid == 0) return ExitStatus{};
  claim_->registry->Forget(*claim_);
  return FromSiginfo(info);
}

}  // namespace vigil
