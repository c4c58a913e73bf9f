#include "config/loader.h"

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/strings/string_view.h"
#include "config/duration.h"
#include "config/watch_reader.h"
#include "config/yaml_fields.h"

namespace vigil::config {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

// The one document of a YAML file, or nullopt after recording why not.
std::optional<YAML::Node> ParseFile(const std::string& file,
                                    ErrorList& errors) {
  std::ifstream in(file);
  if (!in) {
    errors.AddFileError(file, absl::StrCat("cannot read: ", strerror(errno)));
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(text.str());
  } catch (const YAML::Exception& e) {
    errors.Add(file, e.mark, "", absl::StrCat("invalid YAML: ", e.msg));
    return std::nullopt;
  }
  if (documents.size() > 1) {
    errors.Add(file, documents[1].Mark(), "",
               "expected one YAML document per file, got a second one");
    return std::nullopt;
  }
  if (documents.empty() || documents[0].IsNull()) return YAML::Node();
  return documents[0];
}

// The document of `file` as a map with `allowed` keys, or nullopt after
// recording why not.
std::optional<MapFields> ReadRootMap(const std::string& file,
                                     absl::string_view expectation,
                                     const std::vector<absl::string_view>& allowed,
                                     ErrorList& errors) {
  std::optional<YAML::Node> root = ParseFile(file, errors);
  if (!root) return std::nullopt;
  Field field(*root, root->Mark(), "",
              std::make_shared<const Source>(Source{file, &errors}));
  if (root->IsNull()) {
    field.Fail(absl::StrCat("expected ", expectation, ", got an empty file"));
    return std::nullopt;
  }
  MapFields map(field, expectation, allowed);
  if (!map.ok()) return std::nullopt;
  return map;
}

bool IsUnitName(absl::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
           return absl::ascii_isalnum(c) || c == '_' || c == '.' || c == '@' ||
                  c == '-';
         });
}

constexpr absl::string_view kUnitNameExpectation =
    "a unit name of letters, digits and _ . @ -";

bool IsEnvName(absl::string_view name) {
  return !name.empty() && !absl::ascii_isdigit(name[0]) &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return absl::ascii_isalnum(c) || c == '_';
         });
}

// ---- unit files ----

// A unit as read, with what the cross-unit checks need to blame.
struct UnitRead {
  UnitConfig unit;
  std::vector<Field> after;  // one per unit.after entry
};

void ReadExec(const MapFields& map, UnitConfig& unit) {
  std::optional<Field> exec = map.Get("exec");
  std::optional<Field> shell = map.Get("shell");
  if (shell) Assign(shell->Bool(), unit.shell);
  if (!exec) {
    if (unit.shell) {
      shell->Fail("expected shell: true only with exec, got no exec");
    }
    return;
  }
  if (!unit.shell) {
    if (exec->node().IsScalar()) {
      exec->Expected(
          "a list of strings (exec runs no shell; add shell: true to run a "
          "command line)");
      return;
    }
    Assign(exec->Argv(), unit.exec);
    return;
  }
  // With a shell, exec is one command line: a string, or a list of one.
  const YAML::Node& node = exec->node();
  if (node.IsSequence() && node.size() != 1) {
    exec->Expected("one command line (shell: true runs it with /bin/sh -c)");
  } else if (node.IsSequence()) {
    Assign(exec->Argv(), unit.exec);
  } else if (std::optional<std::string> line = exec->String()) {
    unit.exec = {*line};
  }
}

void ReadEnv(const Field& field, UnitConfig& unit) {
  if (!field.node().IsMap()) {
    field.Expected("a map of variable: value");
    return;
  }
  // Entries by value: yaml-cpp's iterators hand out temporaries.
  for (const auto& entry : field.node()) {
    YAML::Node key = entry.first;
    Field value = field.Child(entry.second, key.Mark(),
                              key.IsScalar() ? key.Scalar() : "");
    if (!key.IsScalar() || !IsEnvName(key.Scalar())) {
      value.Fail(absl::StrCat(
          "expected a variable name of letters, digits and _, got ",
          DescribeNode(key)));
      continue;
    }
    std::optional<std::string> text = value.Text();
    if (!text) continue;
    if (!unit.env.emplace(key.Scalar(), *text).second) {
      value.Fail(absl::StrCat("expected each variable once, got ",
                              QuoteForMessage(key.Scalar()), " again"));
    }
  }
}

void ReadBackoff(const Field& field, Backoff& backoff) {
  MapFields map(field, "a map of initial, max and factor",
                {"initial", "max", "factor"});
  if (auto f = map.Get("initial")) Assign(f->PositiveDuration(), backoff.initial);
  if (auto f = map.Get("factor")) {
    Assign(f->Number(1.0, std::numeric_limits<double>::infinity()),
           backoff.factor);
  }
  std::optional<Field> max = map.Get("max");
  if (!max) return;
  std::optional<milliseconds> duration = max->Duration();
  if (duration && *duration < backoff.initial) {
    max->Fail(absl::StrCat("expected at least initial (",
                           FormatDuration(backoff.initial), "), got ",
                           DescribeNode(max->node())));
    return;
  }
  Assign(duration, backoff.max);
}

void ReadStartLimit(const Field& field, StartLimit& limit) {
  MapFields map(field, "a map of burst and interval", {"burst", "interval"});
  if (auto f = map.Get("burst")) {
    std::optional<int64_t> burst = f->Integer(1, 1000000);
    if (burst) limit.burst = static_cast<int>(*burst);
  }
  if (auto f = map.Get("interval")) Assign(f->PositiveDuration(), limit.interval);
}

void ReadStop(const Field& field, StopSpec& stop) {
  MapFields map(field, "a map of signal and timeout", {"signal", "timeout"});
  if (auto f = map.Get("signal")) Assign(f->Signal(), stop.signal);
  if (auto f = map.Get("timeout")) Assign(f->Duration(), stop.timeout);
}

// Linux's largest pid (PID_MAX_LIMIT on 64-bit).
constexpr int64_t kMaxPid = 4194304;

std::optional<AttachSpec> ReadAttach(const Field& field) {
  MapFields map(field, "a map with pid, pidfile or exe", {"pid", "pidfile", "exe", "start"});
  if (!map.ok()) return std::nullopt;
  AttachSpec attach;
  std::optional<Field> pid = map.Get("pid");
  std::optional<Field> pidfile = map.Get("pidfile");
  std::optional<Field> exe = map.Get("exe");
  std::vector<std::pair<const char*, const Field*>> given;
  if (pid) given.push_back({"pid", &*pid});
  if (pidfile) given.push_back({"pidfile", &*pidfile});
  if (exe) given.push_back({"exe", &*exe});
  if (given.empty()) {
    field.Fail("expected one of pid, pidfile or exe, got none");
  } else if (given.size() > 1) {
    given[1].second->Fail(absl::StrCat("expected only one of pid, pidfile or exe, got ",
                                       given[0].first, " too"));
  }
  if (pid) {
    std::optional<int64_t> number = pid->Integer(1, kMaxPid);
    if (number) attach.pid = static_cast<int>(*number);
  }
  if (pidfile) attach.pidfile = pidfile->AbsolutePath();
  if (exe) attach.exe = exe->AbsolutePath();
  if (auto f = map.Get("start")) Assign(f->Argv(), attach.start);
  return attach;
}

void ReadAfter(const Field& field, UnitRead& read) {
  std::optional<std::vector<Field>> items = field.Items("a list of unit names");
  if (!items) return;
  for (const Field& item : *items) {
    std::optional<std::string> name = item.String();
    if (!name) continue;
    if (!IsUnitName(*name)) {
      item.Expected(kUnitNameExpectation);
    } else if (absl::c_linear_search(read.unit.after, *name)) {
      item.Fail(absl::StrCat("expected each unit once, got ",
                             QuoteForMessage(*name), " again"));
    } else {
      read.unit.after.push_back(*name);
      read.after.push_back(item);
    }
  }
}

constexpr absl::string_view kOutputExpectation =
    "log, null, inherit or a map with file: PATH";

std::optional<OutputSpec> ReadOutput(const Field& field) {
  const YAML::Node& node = field.node();
  // `output: null` is YAML's null; an empty `output:` is null too, but its
  // position is the next token's, not on the key's line.
  if (node.IsNull() && node.Mark().line == field.blame().line) {
    return OutputSpec{.mode = OutputMode::kNull};
  }
  if (node.IsMap()) {
    MapFields map(field, kOutputExpectation, {"file"});
    if (!map.clean()) return std::nullopt;
    std::optional<Field> file = map.Require("file", "an absolute path");
    if (!file) return std::nullopt;
    std::optional<std::string> path = file->AbsolutePath();
    if (!path) return std::nullopt;
    return OutputSpec{.mode = OutputMode::kFile, .file = *path};
  }
  static constexpr std::pair<absl::string_view, OutputMode> kModes[] = {
      {"log", OutputMode::kLog}, {"null", OutputMode::kNull}, {"inherit", OutputMode::kInherit}};
  for (const auto& [name, mode] : kModes) {
    if (node.IsScalar() && node.Scalar() == name) return OutputSpec{.mode = mode};
  }
  field.Expected(kOutputExpectation);
  return std::nullopt;
}

void ReadUnitBody(const MapFields& map, const LoadOptions& options,
                  UnitRead& read) {
  UnitConfig& unit = read.unit;
  std::optional<Field> exec = map.Get("exec");
  std::optional<Field> attach = map.Get("attach");
  if (exec && attach) {
    attach->Fail("expected exec or attach, got both");
  } else if (!exec && !attach) {
    map.self().Fail("expected exec or attach, got neither");
  }
  ReadExec(map, unit);
  if (attach) unit.attach = ReadAttach(*attach);
  if (auto f = map.Get("env")) ReadEnv(*f, unit);
  if (auto f = map.Get("cwd")) Assign(f->AbsolutePath(), unit.cwd);
  if (auto f = map.Get("user")) Assign(f->String(), unit.user);
  if (auto f = map.Get("group")) Assign(f->String(), unit.group);
  if (auto f = map.Get("type")) {
    if (std::optional<size_t> type = f->OneOf({"simple", "forking"})) {
      unit.type = *type == 0 ? ServiceType::kSimple : ServiceType::kForking;
    }
  }
  if (auto f = map.Get("pidfile")) {
    if (unit.type != ServiceType::kForking) {
      f->Fail(absl::StrCat("expected pidfile only with type: forking, got ",
                           DescribeNode(f->node())));
    } else {
      Assign(f->AbsolutePath(), unit.pidfile);
    }
  }
  if (auto f = map.Get("restart")) {
    if (std::optional<size_t> policy = f->OneOf({"always", "on-failure", "never"})) {
      unit.restart = static_cast<RestartPolicy>(*policy);
    }
  }
  if (auto f = map.Get("backoff")) ReadBackoff(*f, unit.backoff);
  if (auto f = map.Get("start_limit")) ReadStartLimit(*f, unit.start_limit);
  if (auto f = map.Get("stop")) ReadStop(*f, unit.stop);
  if (auto f = map.Get("after")) ReadAfter(*f, read);
  if (auto f = map.Get("output")) {
    if (unit.attach && unit.attach->start.empty()) {
      f->Fail("expected output only with exec or attach.start (vigild starts no process), "
              "got it with attach alone");
    } else {
      Assign(ReadOutput(*f), unit.output);
    }
  }
  if (auto f = map.Get("watch")) unit.watch = ReadWatch(*f, options);
}

// Reads one unit file; nullopt if it had any error (all of them recorded).
std::optional<UnitRead> ReadUnit(const std::string& file, std::string name,
                                 const LoadOptions& options, ErrorList& errors) {
  errors.NoteFile(file);
  size_t errors_before = errors.size();
  if (!IsUnitName(name)) {
    errors.Add(file, YAML::Mark::null_mark(), "",
               absl::StrCat("expected a file name that is ", kUnitNameExpectation,
                            ", got ", QuoteForMessage(name)));
  }
  std::optional<MapFields> map = ReadRootMap(
      file, "a map of unit settings",
      {"exec", "shell", "env", "cwd", "user", "group", "type", "pidfile",
       "restart", "backoff", "start_limit", "stop", "after", "attach", "output",
       "watch"},
      errors);
  if (!map) return std::nullopt;
  UnitRead read;
  read.unit.name = std::move(name);
  read.unit.source_path = file;
  ReadUnitBody(*map, options, read);
  if (errors.size() != errors_before) return std::nullopt;
  return read;
}

// ---- the main file ----

std::optional<int> ReadMode(const Field& field) {
  constexpr absl::string_view kExpectation = "a file mode like 0600";
  if (!field.node().IsScalar()) {
    field.Expected(kExpectation);
    return std::nullopt;
  }
  absl::string_view text = field.node().Scalar();
  int base = 10;
  if (absl::ConsumePrefix(&text, "0o") || absl::StartsWith(text, "0")) base = 8;
  int mode = 0;
  auto [end, error] =
      std::from_chars(text.data(), text.data() + text.size(), mode, base);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() ||
      mode > 0777) {
    field.Expected(kExpectation);
    return std::nullopt;
  }
  return mode;
}

std::optional<LogLevel> ReadLogLevel(const Field& field) {
  std::optional<size_t> level = field.OneOf({"debug", "info", "warning", "error"});
  if (!level) return std::nullopt;
  return static_cast<LogLevel>(*level);
}

// The units directory as the user should see it in messages: relative to
// where the main file was named from.
std::string ResolveUnitsDir(const std::string& main_path,
                            const std::string& units_dir) {
  fs::path dir(units_dir);
  if (dir.is_absolute()) return dir.lexically_normal().string();
  fs::path resolved = (fs::path(main_path).parent_path() / dir).lexically_normal();
  std::string text = resolved.string();
  if (text.size() > 1 && text.back() == '/') text.pop_back();
  return text.empty() ? "." : text;
}

void ReadRlimitEvents(const Field& field, RlimitEventsConfig& rlimit) {
  MapFields map(field, "a map of socket, mode, group, max_watches, queue and cpu_tick",
                {"socket", "mode", "group", "max_watches", "queue", "cpu_tick"});
  if (auto f = map.Get("socket")) Assign(f->AbsolutePath(), rlimit.socket);
  if (auto f = map.Get("mode")) Assign(ReadMode(*f), rlimit.socket_mode);
  if (auto f = map.Get("group")) Assign(f->String(), rlimit.group);
  if (auto f = map.Get("max_watches")) Assign(f->Integer(1, 10000000), rlimit.max_watches);
  if (auto f = map.Get("queue")) Assign(f->Integer(1, 1000000), rlimit.queue);
  if (auto f = map.Get("cpu_tick")) Assign(f->PositiveDuration(), rlimit.cpu_tick);
}

std::optional<std::string> ReadServiceTemplate(const Field& field,
                                               std::initializer_list<const char*> needed) {
  std::optional<std::string> text = field.String();
  if (!text) return std::nullopt;
  for (const char* placeholder : needed) {
    if (text->find(placeholder) == std::string::npos) {
      field.Expected(absl::StrCat("a service name containing ", placeholder));
      return std::nullopt;
    }
  }
  return text;
}

void ReadIcinga2(const Field& field, NagiosConfig::Icinga2& icinga2) {
  MapFields map(field, "a map of url, user, password, ca_file and insecure",
                {"url", "user", "password", "ca_file", "insecure"});
  if (auto f = map.Require("url", "an http:// or https:// URL")) {
    std::optional<std::string> url = f->String();
    if (url && !absl::StartsWith(*url, "http://") && !absl::StartsWith(*url, "https://")) {
      f->Expected("an http:// or https:// URL");
    } else if (url) {
      icinga2.url = *url;
    }
  }
  if (auto f = map.Get("user")) Assign(f->String(), icinga2.user);
  if (auto f = map.Get("password")) Assign(f->Text(), icinga2.password);
  if (auto f = map.Get("ca_file")) Assign(f->AbsolutePath(), icinga2.ca_file);
  if (auto f = map.Get("insecure")) Assign(f->Bool(), icinga2.insecure);
  if (map.clean() && map.Has("user") != map.Has("password")) {
    map.self().Fail("user and password go together");
  }
}

void ReadNagios(const Field& field, NagiosConfig& nagios) {
  MapFields map(field,
                "a map of host, service, level_service, command_file, nsca, icinga2, "
                "retry and queue",
                {"host", "service", "level_service", "command_file", "nsca", "icinga2",
                 "retry", "queue"});
  if (auto f = map.Get("host")) Assign(f->String(), nagios.host);
  if (auto f = map.Get("service")) Assign(ReadServiceTemplate(*f, {"{unit}"}), nagios.service);
  if (auto f = map.Get("level_service")) {
    Assign(ReadServiceTemplate(*f, {"{unit}", "{resource}"}), nagios.level_service);
  }
  if (auto f = map.Get("command_file")) Assign(f->AbsolutePath(), nagios.command_file);
  if (auto f = map.Get("nsca")) {
    MapFields nsca(*f, "a map with command", {"command"});
    if (auto c = nsca.Require("command", "a send_nsca command line")) {
      Assign(c->Argv(), nagios.nsca_command);
    }
  }
  if (auto f = map.Get("icinga2")) ReadIcinga2(*f, nagios.icinga2);
  if (auto f = map.Get("retry")) {
    MapFields retry(*f, "a map of initial, max and attempts", {"initial", "max", "attempts"});
    if (auto r = retry.Get("initial")) Assign(r->PositiveDuration(), nagios.retry_initial);
    if (auto r = retry.Get("max")) Assign(r->PositiveDuration(), nagios.retry_max);
    if (auto r = retry.Get("attempts")) Assign(r->Integer(1, 1000), nagios.retry_attempts);
    if (retry.clean() && nagios.retry_max < nagios.retry_initial) {
      retry.self().Fail("max must not be below initial");
    }
  }
  if (auto f = map.Get("queue")) Assign(f->Integer(1, 1000000), nagios.queue);
}

struct MainRead {
  MainConfig config;
  // Where units_dir was set, to blame if the directory cannot be read.
  std::optional<Field> units_dir_field;
  bool units_dir_ok = true;
};

// The main file, read as far as it can be: nullopt only if it is not a map.
// Its other errors do not stop the units from being read and checked too.
std::optional<MainRead> ReadMain(const std::string& file, ErrorList& errors) {
  errors.NoteFile(file);
  std::optional<MapFields> map = ReadRootMap(
      file, "a map of vigild settings",
      {"control_socket", "control_socket_mode", "cgroup_root", "log_level",
       "units_dir", "rlimit_events", "nagios"},
      errors);
  if (!map) return std::nullopt;
  MainRead read;
  MainConfig& config = read.config;
  config.source_path = file;
  if (auto f = map->Get("control_socket")) {
    Assign(f->AbsolutePath(), config.control_socket);
  }
  if (auto f = map->Get("control_socket_mode")) {
    Assign(ReadMode(*f), config.control_socket_mode);
  }
  if (auto f = map->Get("cgroup_root")) {
    const YAML::Node& node = f->node();
    if (node.IsScalar() &&
        (node.Scalar() == "auto" || absl::StartsWith(node.Scalar(), "/"))) {
      config.cgroup_root = node.Scalar();
    } else {
      f->Expected("auto or an absolute path");
    }
  }
  if (auto f = map->Get("log_level")) Assign(ReadLogLevel(*f), config.log_level);
  if (auto f = map->Get("rlimit_events")) ReadRlimitEvents(*f, config.rlimit_events);
  if (auto f = map->Get("nagios")) ReadNagios(*f, config.nagios);
  if (config.rlimit_events.socket.empty()) {
    config.rlimit_events.socket =
        (fs::path(config.control_socket).parent_path() / "rlimit-events.sock").string();
  }
  read.units_dir_field = map->Get("units_dir");
  if (read.units_dir_field) {
    std::optional<std::string> dir = read.units_dir_field->String();
    read.units_dir_ok = dir.has_value();
    if (dir) config.units_dir = ResolveUnitsDir(file, *dir);
  }
  return read;
}

// Unit files in `dir` by unit name, or nullopt after recording why not.
std::optional<std::map<std::string, std::string>> ListUnitFiles(
    const std::string& dir, const Field& blame, ErrorList& errors) {
  std::error_code error;
  fs::directory_iterator it(dir, error);
  if (error) {
    blame.Fail(absl::StrCat("expected a readable directory, got ",
                            QuoteForMessage(dir), " (", error.message(), ")"));
    return std::nullopt;
  }
  std::map<std::string, std::string> files;
  for (; it != fs::directory_iterator(); it.increment(error)) {
    const fs::path& path = it->path();
    std::string extension = path.extension().string();
    // Dotfiles are editors' scratch copies, not units.
    if ((extension != ".yaml" && extension != ".yml") ||
        absl::StartsWith(path.filename().string(), ".") ||
        !it->is_regular_file(error)) {
      continue;
    }
    std::string file = (fs::path(dir) / path.filename()).string();
    auto [existing, inserted] = files.emplace(path.stem().string(), file);
    if (!inserted) {
      // Report on whichever sorts last, so the message names both.
      auto [first, second] = std::minmax(existing->second, file);
      errors.Add(second, YAML::Mark::null_mark(), "",
                 absl::StrCat("expected one file per unit, got this and ",
                              first, " for unit ",
                              QuoteForMessage(path.stem().string())));
    }
  }
  if (error) {
    blame.Fail(absl::StrCat("expected a readable directory, got ",
                            QuoteForMessage(dir), " (", error.message(), ")"));
    return std::nullopt;
  }
  return files;
}

// ---- across units ----

// Every `after:` names an existing unit, and the order has no cycle.
void CheckOrdering(const std::vector<UnitRead>& units,
                   const std::map<std::string, std::string>& unit_files) {
  std::map<absl::string_view, const UnitRead*> by_name;
  for (const UnitRead& read : units) by_name[read.unit.name] = &read;
  for (const UnitRead& read : units) {
    for (size_t i = 0; i < read.unit.after.size(); ++i) {
      if (!unit_files.contains(read.unit.after[i])) {
        read.after[i].Fail(absl::StrCat("expected the name of a unit, got ",
                                        QuoteForMessage(read.unit.after[i]),
                                        ", which has no unit file"));
      }
    }
  }
  // Depth-first search; a back edge closes a cycle, reported where it closes.
  enum class Mark { kUnvisited, kOnPath, kDone };
  std::map<absl::string_view, Mark> marks;
  std::vector<absl::string_view> path;
  auto visit = [&](auto& self, const UnitRead& read) -> void {
    marks[read.unit.name] = Mark::kOnPath;
    path.push_back(read.unit.name);
    for (size_t i = 0; i < read.unit.after.size(); ++i) {
      auto next = by_name.find(read.unit.after[i]);
      if (next == by_name.end()) continue;
      Mark mark = marks[next->first];
      if (mark == Mark::kOnPath) {
        auto start = std::find(path.begin(), path.end(), next->first);
        std::vector<absl::string_view> cycle(start, path.end());
        cycle.push_back(next->first);
        read.after[i].Fail(absl::StrCat("expected an order without cycles, got ",
                                        absl::StrJoin(cycle, " after ")));
      } else if (mark == Mark::kUnvisited) {
        self(self, *next->second);
      }
    }
    path.pop_back();
    marks[read.unit.name] = Mark::kDone;
  };
  for (const UnitRead& read : units) {
    if (marks[read.unit.name] == Mark::kUnvisited) visit(visit, read);
  }
}

}  // namespace

absl::StatusOr<Config> LoadConfig(const std::string& main_path,
                                  const LoadOptions& options) {
  ErrorList errors;
  std::optional<MainRead> main = ReadMain(main_path, errors);
  if (!main || !main->units_dir_ok) return errors.ToStatus();
  Field blame_dir = main->units_dir_field.value_or(
      Field(YAML::Node(), YAML::Mark::null_mark(), "units_dir",
            std::make_shared<const Source>(Source{main_path, &errors})));
  std::optional<std::map<std::string, std::string>> unit_files =
      ListUnitFiles(main->config.units_dir, blame_dir, errors);
  if (!unit_files) return errors.ToStatus();

  std::vector<UnitRead> units;
  for (const auto& [name, file] : *unit_files) {
    if (std::optional<UnitRead> read = ReadUnit(file, name, options, errors)) {
      units.push_back(*std::move(read));
    }
  }
  CheckOrdering(units, *unit_files);
  if (!errors.empty()) return errors.ToStatus();
  Config config;
  config.main = std::move(main->config);
  for (UnitRead& read : units) config.units.push_back(std::move(read.unit));
  return config;
}

absl::StatusOr<UnitConfig> LoadUnitFile(const std::string& path,
                                        const LoadOptions& options) {
  ErrorList errors;
  std::optional<UnitRead> read =
      ReadUnit(path, fs::path(path).stem().string(), options, errors);
  if (!read) return errors.ToStatus();
  return std::move(read->unit);
}

}  // namespace vigil::config
