// PsiTrigger: owns an fd on a pressure file (a cgroup's cpu/memory/io.pressure
// or /proc/pressure/*) on which a PSI trigger "some|full <stall> <window>" was
// written. The kernel marks the fd POLLPRI at most once per window when the
// tasks of that cgroup (or the system) stalled for longer than <stall> within
// the last <window>. Kernel interface: Documentation/accounting/psi.rst.
//
// Poll for POLLPRI only: the file always reports POLLIN|POLLOUT. Polling
// itself consumes the event, so a level-triggered loop does not spin; after a
// wakeup call Consume(), which rereads the averages through the same fd. When
// the cgroup is removed the fd reports POLLERR|POLLPRI for good and Consume()
// fails with NotFound: close the trigger then.
//
// Without CAP_SYS_RESOURCE the kernel accepts only windows that are
// multiples of 2 s (such triggers run on the 2 s averaging clock);
// ValidatePsiTrigger knows the rule so config validation can say so early.
#ifndef VIGIL_SUPERVISOR_WATCH_PSI_TRIGGER_H_
#define VIGIL_SUPERVISOR_WATCH_PSI_TRIGGER_H_

#include <poll.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "supervisor/unique_fd.h"

namespace vigil::watch {

enum class PsiResource { kCpu, kMemory, kIo };
// kSome: at least one task stalled; kFull: all non-idle tasks stalled.
enum class PsiScope { kSome, kFull };

struct PsiTriggerSpec {
  PsiScope scope = PsiScope::kSome;
  std::chrono::microseconds stall{0};
  std::chrono::microseconds window{0};
};

// "some 150000 2000000": what is written to the pressure file.
std::string PsiTriggerLine(const PsiTriggerSpec& spec);

// The kernel's rules for a trigger (stall in (0, window], window up to 10 s,
// at least 500 ms with CAP_SYS_RESOURCE and a multiple of 2 s without it),
// with a message saying which one is broken.
absl::Status ValidatePsiTrigger(const PsiTriggerSpec& spec,
                                bool has_cap_sys_resource);

// Whether this process has CAP_SYS_RESOURCE in its effective set
// (/proc/self/status CapEff); false if that cannot be read.
bool HasCapSysResource();
// The same, from the text of a /proc/<pid>/status file.
bool StatusHasCapSysResource(absl::string_view proc_status);

std::string CgroupPressureFile(absl::string_view cgroup_dir,
                               PsiResource resource);
std::string SystemPressureFile(PsiResource resource);

struct PsiAverages {
  double avg10 = 0, avg60 = 0, avg300 = 0;  // percent of wall time
  uint64_t total_us = 0;                    // cumulative stall time
};
struct PsiReading {
  PsiAverages some;
  std::optional<PsiAverages> full;  // absent in /proc/pressure/cpu before 5.13
};
absl::StatusOr<PsiReading> ParsePressure(absl::string_view text,
                                         absl::string_view source);

class PsiTrigger {
 public:
  static constexpr short kPollEvents = POLLPRI;

  static absl::StatusOr<PsiTrigger> Open(std::string pressure_file,
                                         const PsiTriggerSpec& spec);

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  const PsiTriggerSpec& spec() const { return spec_; }

  // Call when fd() polled POLLPRI: the pressure figures at that moment.
  absl::StatusOr<PsiReading> Consume() const;

 private:
  PsiTrigger(std::string path, const PsiTriggerSpec& spec, UniqueFd fd)
      : path_(std::move(path)), spec_(spec), fd_(std::move(fd)) {}

  std::string path_;
  PsiTriggerSpec spec_;
  UniqueFd fd_;
};

}  // namespace vigil::watch

#endif  // VIGIL_SUPERVISOR_WATCH_PSI_TRIGGER_H_
