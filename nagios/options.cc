#include "nagios/options.h"

#include <getopt.h>
#include <pwd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nagios/extra_opts.h"
#include "nagios/help_text.h"

namespace vigil::nagios {
namespace {

constexpr int kEregOption = CHAR_MAX + 1;
constexpr int kInputFileOption = CHAR_MAX + 2;

const struct option kLongOptions[] = {
    {"warning", required_argument, nullptr, 'w'},
    {"critical", required_argument, nullptr, 'c'},
    {"metric", required_argument, nullptr, 'm'},
    {"timeout", required_argument, nullptr, 't'},
    {"status", required_argument, nullptr, 's'},
    {"ppid", required_argument, nullptr, 'p'},
    {"user", required_argument, nullptr, 'u'},
    {"command", required_argument, nullptr, 'C'},
    {"vsz", required_argument, nullptr, 'z'},
    {"rss", required_argument, nullptr, 'r'},
    {"pcpu", required_argument, nullptr, 'P'},
    {"elapsed", required_argument, nullptr, 'e'},
    {"argument-array", required_argument, nullptr, 'a'},
    {"help", no_argument, nullptr, 'h'},
    {"version", no_argument, nullptr, 'V'},
    {"verbose", no_argument, nullptr, 'v'},
    {"ereg-argument-array", required_argument, nullptr, kEregOption},
    {"input-file", required_argument, nullptr, kInputFileOption},
    {"no-kthreads", required_argument, nullptr, 'k'},
    {"traditional-filter", no_argument, nullptr, 'T'},
    {nullptr, 0, nullptr, 0}};

ParsedCommandLine Exit(std::string output, int code = 3) {
  ParsedCommandLine out;
  out.output = std::move(output);
  out.exit_code = code;
  return out;
}

// usage4(): "check_procs: <msg>\n" + usage.
ParsedCommandLine Usage4(absl::string_view message) {
  return Exit(absl::StrCat("check_procs: ", message, "\n", kUsageText));
}

// usage2(): "check_procs: <msg> - <arg>\n" + usage.
ParsedCommandLine Usage2(absl::string_view message, absl::string_view arg) {
  return Exit(absl::StrCat("check_procs: ", message, " - ", arg, "\n",
                           kUsageText));
}

// monitoring-plugins is_integer(): only "-0123456789 " and fits an int.
bool IsInteger(const char* number) {
  if (std::strspn(number, "-0123456789 ") != std::strlen(number)) return false;
  errno = 0;
  const long n = std::strtol(number, nullptr, 10);
  return errno != ERANGE && n >= INT_MIN && n <= INT_MAX;
}

// sscanf(arg, "%d%[^0-9]", ...) == 1
bool ScanInt(const char* arg, int* value) {
  std::string rest(std::strlen(arg) + 1, '\0');
  return std::sscanf(arg, "%d%[^0-9]", value, rest.data()) == 1;
}

// sscanf(arg, "%f%[^0-9.]", ...) == 1
bool ScanFloat(const char* arg, float* value) {
  std::string rest(std::strlen(arg) + 1, '\0');
  return std::sscanf(arg, "%f%[^0-9.]", value, rest.data()) == 1;
}

class Parser {
 public:
  explicit Parser(std::vector<std::string> args) : args_(std::move(args)) {}

  ParsedCommandLine Run() {
    for (size_t i = 1; i < args_.size(); ++i) {
      if (args_[i] == "-to") args_[i] = "-t";
    }
    std::vector<char*> argv;
    for (std::string& a : args_) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int argc = static_cast<int>(args_.size());
    optind = 0;  // full reinitialisation of glibc's getopt state
    for (;;) {
      int index = 0;
      const int c = getopt_long(argc, argv.data(),
                                "Vvhkt:c:w:p:s:u:C:a:z:r:m:P:T", kLongOptions,
                                &index);
      if (c == -1) break;
      if (auto exit = Handle(c, optarg)) return *std::move(exit);
    }
    return Finish(argv, optind);
  }

 private:
  void Describe(const std::string& text) {
    absl::StrAppend(&config_.description,
                    any_filter_ ? ", " : "", text);
    any_filter_ = true;
  }

  std::optional<ParsedCommandLine> Handle(int c, const char* arg) {
    switch (c) {
      case '?':
        return Exit(kUsageText);
      case 'h':
        return Exit(kHelpText);
      case 'V':
        return Exit(kVersionLine);
      case 't':
        if (!IsInteger(arg)) {
          return Usage2("Timeout interval must be a positive integer", arg);
        }
        config_.timeout_seconds = std::atoi(arg);
        return std::nullopt;
      case 'c':
        config_.critical_text = arg;
        return std::nullopt;
      case 'w':
        config_.warning_text = arg;
        return std::nullopt;
      case 'p':
        if (!ScanInt(arg, &config_.ppid)) {
          return Usage4("Parent Process ID must be an integer!");
        }
        Describe(absl::StrFormat("PPID = %d", config_.ppid));
        filters_ |= kFilterPpid;
        return std::nullopt;
      case 's':
        if (state_given_) return std::nullopt;
        state_given_ = true;
        config_.state = arg;
        Describe(absl::StrCat("STATE = ", arg));
        filters_ |= kFilterStat;
        return std::nullopt;
      case 'u':
        return HandleUser(arg);
      case 'C':
        if (command_given_) return std::nullopt;
        command_given_ = true;
        config_.command = arg;
        Describe(absl::StrCat("command name '", arg, "'"));
        filters_ |= kFilterProg;
        return std::nullopt;
      case 'a':
        if (args_given_) return std::nullopt;
        args_given_ = true;
        config_.args = arg;
        Describe(absl::StrCat("args '", arg, "'"));
        filters_ |= kFilterArgs;
        return std::nullopt;
      case kEregOption:
        return HandleRegex(arg);
      case 'r':
        if (!ScanInt(arg, &config_.rss)) {
          return Usage4("RSS must be an integer!");
        }
        Describe(absl::StrFormat("RSS >= %d", config_.rss));
        filters_ |= kFilterRss;
        return std::nullopt;
      case 'z':
        if (!ScanInt(arg, &config_.vsz)) {
          return Usage4("VSZ must be an integer!");
        }
        Describe(absl::StrFormat("VSZ >= %d", config_.vsz));
        filters_ |= kFilterVsz;
        return std::nullopt;
      case 'P':
        if (!ScanFloat(arg, &config_.pcpu)) {
          return Usage4("PCPU must be a float!");
        }
        Describe(absl::StrFormat("PCPU >= %.2f", config_.pcpu));
        filters_ |= kFilterPcpu;
        return std::nullopt;
      case 'm':
        return HandleMetric(arg);
      case 'k':
        config_.kthread_filter = true;
        return std::nullopt;
      case 'v':
        ++config_.verbose;
        return std::nullopt;
      case 'T':
        config_.traditional_self_filter = true;
        return std::nullopt;
      case kInputFileOption:
        config_.input_file = arg;
        return std::nullopt;
      default:  // 'e' (--elapsed) has no handler in 2.3.3
        return std::nullopt;
    }
  }

  std::optional<ParsedCommandLine> HandleUser(const char* arg) {
    const passwd* pw = nullptr;
    if (IsInteger(arg)) {
      config_.uid = std::atoi(arg);
      pw = getpwuid(static_cast<uid_t>(config_.uid));
      if (pw == nullptr) return Usage2("UID was not found", arg);
    } else {
      pw = getpwnam(arg);
      if (pw == nullptr) return Usage2("User name was not found", arg);
      config_.uid = static_cast<int>(pw->pw_uid);
    }
    Describe(absl::StrFormat("UID = %d (%s)", config_.uid, pw->pw_name));
    filters_ |= kFilterUser;
    return std::nullopt;
  }

  std::optional<ParsedCommandLine> HandleRegex(const char* arg) {
    std::string error;
    std::unique_ptr<PosixRegex> regex = PosixRegex::Compile(arg, &error);
    if (!regex) {
      return Exit(absl::StrCat(
          "PROCS UNKNOWN: Could not compile regular expression - ", error,
          "\n"));
    }
    config_.args_regex = std::move(regex);
    // 2.3.3 never resets its index between occurrences: only characters at
    // positions >= the previous patterns' end are rewritten.
    std::string shown = arg;
    for (; regex_bar_index_ < shown.size(); ++regex_bar_index_) {
      if (shown[regex_bar_index_] == '|') shown[regex_bar_index_] = ',';
    }
    Describe(absl::StrCat("regex args '", shown, "'"));
    filters_ |= kFilterEregArgs;
    return std::nullopt;
  }

  std::optional<ParsedCommandLine> HandleMetric(const char* arg) {
    config_.metric_name = arg;
    static constexpr std::pair<const char*, Metric> kMetrics[] = {
        {"PROCS", Metric::kProcs}, {"VSZ", Metric::kVsz},
        {"RSS", Metric::kRss},     {"CPU", Metric::kCpu},
        {"ELAPSED", Metric::kElapsed}};
    for (const auto& [name, metric] : kMetrics) {
      if (std::strcmp(arg, name) == 0) {
        config_.metric = metric;
        return std::nullopt;
      }
    }
    return Usage4("Metric must be one of PROCS, VSZ, RSS, CPU, ELAPSED!");
  }

  ParsedCommandLine Finish(const std::vector<char*>& argv, int first) {
    const int argc = static_cast<int>(args_.size());
    int c = first;
    if (!config_.warning_text && c < argc) config_.warning_text = argv[c++];
    if (!config_.critical_text && c < argc) config_.critical_text = argv[c++];
    if (!state_given_ && c < argc) {
      config_.state = argv[c++];
      Describe(absl::StrCat("STATE = ", config_.state));
      filters_ |= kFilterStat;
    }
    if (config_.warning_text) {
      config_.thresholds.warning = ParseRange(*config_.warning_text);
      if (!config_.thresholds.warning) return Exit("Range format incorrect");
    }
    if (config_.critical_text) {
      config_.thresholds.critical = ParseRange(*config_.critical_text);
      if (!config_.thresholds.critical) return Exit("Range format incorrect");
    }
    config_.filters = filters_ == 0 ? kFilterAll : filters_;
    ParsedCommandLine out;
    out.config = std::move(config_);
    out.exit_code = 0;
    return out;
  }

  std::vector<std::string> args_;
  CheckConfig config_;
  int filters_ = 0;
  bool any_filter_ = false;
  bool state_given_ = false;
  bool command_given_ = false;
  bool args_given_ = false;
  size_t regex_bar_index_ = 0;
};

}  // namespace

std::unique_ptr<PosixRegex> PosixRegex::Compile(const std::string& pattern,
                                                std::string* error) {
  regex_t compiled;
  const int err = regcomp(&compiled, pattern.c_str(), REG_EXTENDED | REG_NOSUB);
  if (err != 0) {
    char buffer[4096];
    regerror(err, &compiled, buffer, sizeof(buffer));
    *error = buffer;
    return nullptr;
  }
  std::unique_ptr<PosixRegex> regex(new PosixRegex());
  regex->regex_ = compiled;
  regex->pattern_ = pattern;
  return regex;
}

bool PosixRegex::Matches(const std::string& text) const {
  return regexec(&regex_, text.c_str(), 0, nullptr, 0) == 0;
}

ParsedCommandLine ParseCommandLine(std::vector<std::string> args) {
  auto expanded = ExpandExtraOpts(std::move(args), "check_procs");
  if (!expanded.ok()) return Exit(std::string(expanded.status().message()));
  return Parser(*std::move(expanded)).Run();
}

}  // namespace vigil::nagios
