#include "nagios/check.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <clocale>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nagios/evaluator.h"

namespace vigil::nagios {
namespace {

constexpr char kPsCommand[] =
    "/bin/ps axwwo 'stat uid pid ppid vsz rss pcpu etime comm args'";

char timeout_message[128];
size_t timeout_message_length = 0;

void OnAlarm(int) {
  // Earlier output was flushed before any blocking read, so only the
  // message itself is left to write.
  ssize_t ignored = write(STDOUT_FILENO, timeout_message, timeout_message_length);
  (void)ignored;
  _exit(kCritical);
}

void ArmTimeout(int seconds) {
  const std::string message = absl::StrFormat(
      "CRITICAL - Plugin timed out after %d seconds\n", seconds);
  timeout_message_length =
      std::min(message.size(), sizeof(timeout_message) - 1);
  message.copy(timeout_message, timeout_message_length);
  signal(SIGALRM, OnAlarm);
  alarm(static_cast<unsigned>(seconds));
}

std::optional<FileIdentity> ExeIdentity(int pid) {
  struct stat st;
  if (stat(absl::StrCat("/proc/", pid, "/exe").c_str(), &st) != 0) {
    return std::nullopt;
  }
  return FileIdentity{st.st_dev, st.st_ino};
}

void Print(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
}

}  // namespace

std::unique_ptr<ProcessSource> DefaultProcessSource(const CheckConfig& config) {
  if (config.input_file) return std::make_unique<PsFileSource>(*config.input_file);
  return std::make_unique<ProcSource>();
}

int RunCheck(int argc, char** argv) {
  std::setlocale(LC_ALL, "");
  std::setlocale(LC_NUMERIC, "POSIX");
  ParsedCommandLine parsed =
      ParseCommandLine(std::vector<std::string>(argv, argv + argc));
  if (!parsed.config) {
    Print(parsed.output);
    return parsed.exit_code;
  }
  const CheckConfig& config = *parsed.config;

  Self self{getpid(), getppid(), std::nullopt};
  if (!config.traditional_self_filter) self.exe = ExeIdentity(self.pid);

  ArmTimeout(config.timeout_seconds);
  if (config.verbose >= 2) Print(absl::StrCat("CMD: ", kPsCommand, "\n"));
  std::fflush(stdout);

  std::unique_ptr<ProcessSource> source = DefaultProcessSource(config);
  absl::StatusOr<std::vector<PsRow>> rows = source->Rows();
  if (!rows.ok()) {
    if (config.input_file) {
      Print(std::string(rows.status().message()));
      return kUnknown;
    }
    Print(absl::StrCat("System call sent warnings to stderr: ",
                       rows.status().message()));
    return kWarning;
  }
  if (auto* file = dynamic_cast<PsFileSource*>(source.get())) {
    Print(file->read_warning());
  }
  const Evaluation evaluation = Evaluate(config, *rows, self, ExeIdentity);
  Print(evaluation.trace);
  const Report report = FormatReport(config, evaluation);
  Print(report.text);
  std::fflush(stdout);
  return report.exit_code;
}

}  // namespace vigil::nagios
