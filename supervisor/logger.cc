#include "supervisor/logger.h"

#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace vigil {

void Logger::Log(config::LogLevel level, absl::string_view text) const {
  if (level < level_) return;
  static constexpr const char* kNames[] = {"DEBUG", "INFO", "WARN", "ERROR"};
  std::string line = absl::StrCat(
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3S", absl::Now(), absl::LocalTimeZone()),
      " ", kNames[static_cast<int>(level)], " ", text, "\n");
  // One write per line, so lines from vigild and its units never interleave
  // mid-line; a short write to a pipe is retried.
  absl::string_view rest = line;
  while (!rest.empty()) {
    ssize_t n = write(STDERR_FILENO, rest.data(), rest.size());
    if (n <= 0) return;
    rest.remove_prefix(n);
  }
}

}  // namespace vigil
