#include "nagios/check.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <clocale>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nagios/evaluator.h"
#include "nagios/native_checks.h"
#include "nagios/vigild_client.h"
#include "nagios/vigild_source.h"

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

void Trace(const ProcessSource& source) {
  const char* path = std::getenv("VIGIL_CHECK_TRACE");
  if (path == nullptr || *path == '\0') return;
  std::string line = "source=proc\n";
  if (auto* vigild = dynamic_cast<const VigildProcessSource*>(&source)) {
    line = vigild->used_table()
               ? absl::StrCat("source=vigild candidates=", vigild->candidates(), "\n")
               : absl::StrCat("source=proc fallback=", vigild->fallback_reason(), "\n");
  } else if (dynamic_cast<const PsFileSource*>(&source) != nullptr) {
    line = "source=file\n";
  }
  if (FILE* out = std::fopen(path, "a")) {
    std::fputs(line.c_str(), out);
    std::fclose(out);
  }
}

}  // namespace

std::unique_ptr<ProcessSource> DefaultProcessSource(const CheckConfig& config,
                                                    const std::string& vigil_socket) {
  if (config.input_file) return std::make_unique<PsFileSource>(*config.input_file);
  if (auto vigild = VigildProcessSource::Connect(vigil_socket, config)) return vigild;
  return std::make_unique<ProcSource>();
}

int RunCheck(int argc, char** argv) {
  std::setlocale(LC_ALL, "");
  std::setlocale(LC_NUMERIC, "POSIX");
  std::vector<std::string> args(argv, argv + argc);
  const std::optional<std::string> socket_option = TakeVigilSocketOption(args);
  const std::string vigil_socket =
      VigilSocketPath(socket_option ? &*socket_option : nullptr);
  if (IsNativeCheck(args)) {
    const int code = RunNativeCheck(args, vigil_socket);
    std::fflush(stdout);
    return code;
  }
  ParsedCommandLine parsed = ParseCommandLine(std::move(args));
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

  std::unique_ptr<ProcessSource> source = DefaultProcessSource(config, vigil_socket);
  absl::StatusOr<std::vector<PsRow>> rows = source->Rows();
  Trace(*source);
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
