#include "supervisor/watch/psi_trigger.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/errno_status.h"
#include "supervisor/watch/kernel_file.h"

namespace vigil::watch {
namespace {

constexpr std::chrono::microseconds kMinPrivilegedWindow{500000};
constexpr std::chrono::microseconds kMaxWindow{10000000};
constexpr std::chrono::microseconds kUnprivilegedGranularity{2000000};

const char* PressureFileName(PsiResource resource) {
  switch (resource) {
    case PsiResource::kCpu:
      return "cpu";
    case PsiResource::kMemory:
      return "memory";
    case PsiResource::kIo:
      return "io";
  }
  return "";
}

// One line: "some avg10=0.00 avg60=0.00 avg300=0.00 total=0".
bool ParseAverages(absl::string_view line, PsiAverages& out) {
  std::vector<absl::string_view> fields =
      absl::StrSplit(line, ' ', absl::SkipEmpty());
  if (fields.size() != 5) return false;
  auto value = [&](int i, absl::string_view key) {
    return absl::ConsumePrefix(&fields[i], key) ? fields[i]
                                                : absl::string_view();
  };
  return absl::SimpleAtod(value(1, "avg10="), &out.avg10) &&
         absl::SimpleAtod(value(2, "avg60="), &out.avg60) &&
         absl::SimpleAtod(value(3, "avg300="), &out.avg300) &&
         absl::SimpleAtoi(value(4, "total="), &out.total_us);
}

}  // namespace

std::string PsiTriggerLine(const PsiTriggerSpec& spec) {
  return absl::StrCat(spec.scope == PsiScope::kFull ? "full" : "some", " ",
                      spec.stall.count(), " ", spec.window.count());
}

absl::Status ValidatePsiTrigger(const PsiTriggerSpec& spec,
                                bool has_cap_sys_resource) {
  const std::string line = PsiTriggerLine(spec);
  if (spec.window <= std::chrono::microseconds::zero() ||
      spec.window > kMaxWindow) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PSI trigger \"", line, "\": the window must be at most 10 s"));
  }
  if (has_cap_sys_resource && spec.window < kMinPrivilegedWindow) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PSI trigger \"", line, "\": the window must be at least 500 ms"));
  }
  if (!has_cap_sys_resource && spec.window % kUnprivilegedGranularity !=
                                     std::chrono::microseconds::zero()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PSI trigger \"", line,
        "\": without CAP_SYS_RESOURCE the kernel accepts only windows that "
        "are multiples of 2 s (2s, 4s, 6s, 8s, 10s)"));
  }
  if (spec.stall <= std::chrono::microseconds::zero() ||
      spec.stall > spec.window) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PSI trigger \"", line,
        "\": the stall must be longer than 0 and at most the window"));
  }
  return absl::OkStatus();
}

bool StatusHasCapSysResource(absl::string_view proc_status) {
  for (absl::string_view line : absl::StrSplit(proc_status, '\n')) {
    if (!absl::ConsumePrefix(&line, "CapEff:")) continue;
    uint64_t caps = 0;
    if (!absl::SimpleHexAtoi(absl::StripAsciiWhitespace(line), &caps)) {
      return false;
    }
    return caps & (uint64_t{1} << CAP_SYS_RESOURCE);
  }
  return false;
}

bool HasCapSysResource() {
  std::ifstream file("/proc/self/status");
  std::stringstream text;
  text << file.rdbuf();
  return StatusHasCapSysResource(text.str());
}

std::string CgroupPressureFile(absl::string_view cgroup_dir,
                               PsiResource resource) {
  return absl::StrCat(cgroup_dir, "/", PressureFileName(resource),
                      ".pressure");
}

std::string SystemPressureFile(PsiResource resource) {
  return absl::StrCat("/proc/pressure/", PressureFileName(resource));
}

absl::StatusOr<PsiReading> ParsePressure(absl::string_view text,
                                         absl::string_view source) {
  PsiReading reading;
  bool has_some = false;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    PsiAverages averages;
    if (!ParseAverages(line, averages)) {
      return absl::DataLossError(
          absl::StrCat(source, ": unexpected line \"", line, "\""));
    }
    if (absl::StartsWith(line, "some ")) {
      reading.some = averages;
      has_some = true;
    } else if (absl::StartsWith(line, "full ")) {
      reading.full = averages;
    }
  }
  if (!has_some) {
    return absl::DataLossError(absl::StrCat(source, ": no \"some\" line"));
  }
  return reading;
}

absl::StatusOr<PsiTrigger> PsiTrigger::Open(std::string pressure_file,
                                            const PsiTriggerSpec& spec) {
  UniqueFd fd(open(pressure_file.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) {
    const int err = errno;
    absl::Status status = ErrnoStatus(absl::StrCat("open ", pressure_file), err);
    if (err == EOPNOTSUPP) {
      return absl::UnimplementedError(absl::StrCat(
          status.message(), " (PSI is disabled: boot with psi=1)"));
    }
    return status;
  }
  const std::string line = PsiTriggerLine(spec);
  // The kernel wants the terminating NUL as part of the write.
  if (write(fd.get(), line.c_str(), line.size() + 1) < 0) {
    const int err = errno;
    absl::Status status = ErrnoStatus(
        absl::StrCat("write \"", line, "\" to ", pressure_file), err);
    if (err == EINVAL) {
      absl::Status why = ValidatePsiTrigger(spec, HasCapSysResource());
      if (!why.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(status.message(), ": ", why.message()));
      }
    }
    return status;
  }
  return PsiTrigger(std::move(pressure_file), spec, std::move(fd));
}

absl::StatusOr<PsiReading> PsiTrigger::Consume() const {
  absl::StatusOr<std::string> text = PreadAll(fd_.get(), path_);
  if (!text.ok()) return text.status();
  return ParsePressure(*text, path_);
}

}  // namespace vigil::watch
