// SignalSource: owns a signalfd for a set of signals, which it blocks in the
// calling thread so they are only ever delivered through the fd (and so
// through the EventLoop).
#ifndef VIGIL_SUPERVISOR_SIGNAL_SOURCE_H_
#define VIGIL_SUPERVISOR_SIGNAL_SOURCE_H_

#include <signal.h>
#include <sys/signalfd.h>

#include <initializer_list>
#include <vector>

#include "absl/status/statusor.h"
#include "supervisor/unique_fd.h"

namespace vigil {

class SignalSource {
 public:
  static absl::StatusOr<SignalSource> Create(std::initializer_list<int> signals);

  int fd() const { return fd_.get(); }
  // Every pending signal, without blocking.
  std::vector<signalfd_siginfo> Drain();

 private:
  explicit SignalSource(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace vigil

#endif  // VIGIL_SUPERVISOR_SIGNAL_SOURCE_H_
