#include "supervisor/signal_source.h"

#include <unistd.h>

#include <cerrno>

#include "common/errno_status.h"

namespace vigil {

absl::StatusOr<SignalSource> SignalSource::Create(
    std::initializer_list<int> signals) {
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : signals) sigaddset(&mask, s);
  if (sigprocmask(SIG_BLOCK, &mask, nullptr) < 0) {
    return ErrnoStatus("sigprocmask", errno);
  }
  int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) return ErrnoStatus("signalfd", errno);
  return SignalSource(UniqueFd(fd));
}

std::vector<signalfd_siginfo> SignalSource::Drain() {
  std::vector<signalfd_siginfo> out;
  signalfd_siginfo info;
  while (read(fd_.get(), &info, sizeof info) == sizeof info) {
    out.push_back(info);
  }
  return out;
}

}  // namespace vigil
