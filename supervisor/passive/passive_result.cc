#include "supervisor/passive/passive_result.h"

#include <limits.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "nagios/unit_report.h"

namespace vigil::passive {
namespace {

int64_t UnixTime(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// Nagios 4 unescapes \n and \\ in passive output; a raw newline would end
// the command.
std::string EscapeForNagios(const std::string& text) {
  return absl::StrReplaceAll(text, {{"\\", "\\\\"}, {"\n", "\\n"}});
}

std::string OneLine(const std::string& text) {
  return absl::StrReplaceAll(text, {{"\n", " "}, {"\t", " "}, {"\x17", " "}});
}

std::string OutputWithPerfdata(const PassiveResult& r) {
  return r.perfdata.empty() ? r.output : absl::StrCat(r.output, "|", r.perfdata);
}

std::string JsonQuoted(const std::string& text) { return json::Serialize(json::Value(text)); }

const std::vector<uint64_t>* LevelsFor(const UnitLevels& levels, const std::string& resource) {
  if (resource == "memory") return &levels.memory;
  if (resource == "tasks") return &levels.tasks;
  if (resource == "fds") return &levels.fds;
  return nullptr;
}

nagios::State GradeCrossing(const Event& e, const std::vector<uint64_t>& levels) {
  auto at = std::find(levels.begin(), levels.end(), static_cast<uint64_t>(e.level));
  if (at == levels.end()) return e.direction == Direction::kUp ? nagios::kWarning : nagios::kOk;
  // Levels at or above which the value now is.
  const size_t reached = static_cast<size_t>(at - levels.begin()) +
                         (e.direction == Direction::kUp ? 1 : 0);
  if (reached == 0) return nagios::kOk;
  return reached == levels.size() ? nagios::kCritical : nagios::kWarning;
}

}  // namespace

std::string ExternalCommandLine(const PassiveResult& r) {
  const std::string head = absl::StrCat("[", UnixTime(r.time), "] PROCESS_SERVICE_CHECK_RESULT;",
                                        OneLine(r.host), ";", OneLine(r.service), ";", r.status,
                                        ";");
  std::string output = EscapeForNagios(OutputWithPerfdata(r));
  const size_t room = PIPE_BUF - 1 - std::min<size_t>(head.size(), PIPE_BUF - 1);
  if (output.size() > room) {
    output.resize(room);
    // Never leave half an escape at the end.
    size_t backslashes = 0;
    while (backslashes < output.size() && output[output.size() - 1 - backslashes] == '\\') {
      ++backslashes;
    }
    if (backslashes % 2 == 1) output.pop_back();
  }
  return absl::StrCat(head, output, "\n");
}

std::string NscaInput(const std::vector<PassiveResult>& results) {
  std::string out;
  for (const PassiveResult& r : results) {
    if (!out.empty()) out += '\x17';
    absl::StrAppend(&out, OneLine(r.host), "\t", OneLine(r.service), "\t", r.status, "\t",
                    OneLine(OutputWithPerfdata(r)), "\n");
  }
  return out;
}

json::Value Icinga2Body(const PassiveResult& r) {
  json::Value perf = json::Value::Array();
  for (absl::string_view item : absl::StrSplit(r.perfdata, ' ', absl::SkipEmpty())) {
    perf.Push(std::string(item));
  }
  json::Value body = json::Value::Object();
  body.Set("type", "Service");
  body.Set("filter", absl::StrCat("host.name==", JsonQuoted(r.host),
                                  " && service.name==", JsonQuoted(r.service)));
  body.Set("exit_status", r.status);
  body.Set("plugin_output", r.output);
  body.Set("performance_data", std::move(perf));
  body.Set("check_source", r.host);
  body.Set("execution_end", UnixTime(r.time));
  return body;
}

UnitLevels LevelsOf(const config::WatchSpec& watch) {
  UnitLevels out;
  auto ats = [](const std::vector<config::Level>& levels) {
    std::vector<uint64_t> v;
    for (const config::Level& l : levels) v.push_back(l.at);
    std::sort(v.begin(), v.end());
    return v;
  };
  if (watch.memory) out.memory = ats(watch.memory->levels);
  if (watch.tasks) out.tasks = ats(watch.tasks->levels);
  if (watch.fds) out.fds = ats(watch.fds->levels);
  return out;
}

std::vector<std::string> WatchedResources(const config::WatchSpec& watch) {
  std::vector<std::string> out;
  if (watch.memory) out.push_back("memory");
  if (watch.tasks) out.push_back("tasks");
  if (watch.fds) out.push_back("fds");
  return out;
}

std::string DescribeEvent(const Event& e) {
  std::string text = e.kind;
  if (!e.state.empty()) absl::StrAppend(&text, " ", e.state);
  if (e.pid != 0) absl::StrAppend(&text, " pid ", e.pid);
  if (!e.message.empty()) absl::StrAppend(&text, ": ", e.message);
  return text;
}

std::string ServiceName(const std::string& pattern, const std::string& unit,
                        const std::string& resource) {
  return absl::StrReplaceAll(pattern, {{"{unit}", unit}, {"{resource}", resource}});
}

std::optional<PassiveResult> ResultForEvent(const Event& e, const config::NagiosConfig& config,
                                            const std::string& host, const UnitLevels* levels,
                                            const std::string& last_event) {
  if (e.unit.empty()) return std::nullopt;
  nagios::PluginResult plugin;
  std::string service;
  if (e.kind == "state") {
    plugin = nagios::UnitResult({.name = e.unit, .state = e.state, .reason = e.message,
                                 .pid = e.pid, .last_event = last_event});
    service = ServiceName(config.service, e.unit, "");
  } else if (absl::EndsWith(e.kind, ".level") && !e.resource.empty()) {
    const std::vector<uint64_t>* known = levels ? LevelsFor(*levels, e.resource) : nullptr;
    const std::vector<uint64_t> none;
    const std::vector<uint64_t>& ats = known ? *known : none;
    nagios::PerfValue reading{.label = e.resource, .value = e.value,
                              .uom = e.resource == "memory" ? "B" : ""};
    if (!ats.empty()) {
      reading.warning = absl::StrCat(ats.front());
      reading.critical = absl::StrCat(ats.back());
    }
    plugin = nagios::LevelResult(e.unit, reading, GradeCrossing(e, ats));
    service = ServiceName(config.level_service, e.unit, e.resource);
  } else {
    return std::nullopt;
  }
  return PassiveResult{.host = host, .service = std::move(service), .status = plugin.status,
                       .output = std::move(plugin.output), .perfdata = std::move(plugin.perfdata),
                       .time = e.time};
}

}  // namespace vigil::passive
