// Logger: vigild's log lines on stderr ("<time> <level> <text>"), filtered by
// the configured level. stderr is the journal under systemd.
#ifndef VIGIL_SUPERVISOR_LOGGER_H_
#define VIGIL_SUPERVISOR_LOGGER_H_

#include "absl/strings/string_view.h"

#include "config/config.h"

namespace vigil {

class Logger {
 public:
  void set_level(config::LogLevel level) { level_ = level; }
  void Log(config::LogLevel level, absl::string_view text) const;
  void Debug(absl::string_view text) const { Log(config::LogLevel::kDebug, text); }
  void Info(absl::string_view text) const { Log(config::LogLevel::kInfo, text); }
  void Warning(absl::string_view text) const { Log(config::LogLevel::kWarning, text); }
  void Error(absl::string_view text) const { Log(config::LogLevel::kError, text); }

 private:
  config::LogLevel level_ = config::LogLevel::kInfo;
};

}  // namespace vigil

#endif  // VIGIL_SUPERVISOR_LOGGER_H_
