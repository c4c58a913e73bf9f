#include "config/watch_reader.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "config/duration.h"

namespace vigil::config {
namespace {

using std::chrono::milliseconds;

constexpr absl::string_view kActionExpectation =
    "an action: log, restart, stop, freeze, {signal: NAME} or {exec: [argv]}";

// The PSI window range the kernel accepts (kernel/sched/psi.c).
constexpr milliseconds kMinPsiWindow{500};
constexpr milliseconds kMaxPsiWindow{10000};
constexpr milliseconds kUnprivilegedPsiGranule{2000};

// An action without arguments takes nothing after its key: `- restart:`.
void RequireNoArgument(const Field& field, absl::string_view action) {
  if (!field.node().IsNull()) {
    field.Expected(absl::StrCat("nothing (", action, " takes no argument)"));
  }
}

std::optional<Action> ReadActionMap(const Field& item) {
  // In ActionKind's order.
  static const std::vector<absl::string_view> kKinds = {
      "signal", "restart", "stop", "freeze", "exec", "log"};
  MapFields map(item, kActionExpectation,
                {"signal", "target", "restart", "stop", "freeze", "exec", "log",
                 "rate_limit"});
  if (!map.ok()) return std::nullopt;
  std::vector<absl::string_view> kinds;
  for (absl::string_view kind : kKinds) {
    if (map.Has(kind)) kinds.push_back(kind);
  }
  if (kinds.size() != 1) {
    item.Fail(absl::StrCat(
        "expected exactly one of ", absl::StrJoin(kKinds, ", "), ", got ",
        kinds.empty() ? "none" : absl::StrJoin(kinds, " and ")));
    return std::nullopt;
  }
  Action action;
  Field kind = *map.Get(kinds[0]);
  action.kind = static_cast<ActionKind>(
      std::find(kKinds.begin(), kKinds.end(), kinds[0]) - kKinds.begin());
  switch (action.kind) {
    case ActionKind::kSignal:
      Assign(kind.Signal(), action.signal);
      break;
    case ActionKind::kExec:
      Assign(kind.Argv(), action.argv);
      break;
    default:
      RequireNoArgument(kind, kinds[0]);
  }
  if (std::optional<Field> target = map.Get("target")) {
    if (action.kind != ActionKind::kSignal) {
      target->Fail(absl::StrCat("expected target only in a signal action, got ",
                                DescribeNode(target->node())));
    } else if (std::optional<size_t> which = target->OneOf({"main", "cgroup"})) {
      action.target = *which == 0 ? SignalTarget::kMain : SignalTarget::kCgroup;
    }
  }
  if (std::optional<Field> rate_limit = map.Get("rate_limit")) {
    Assign(rate_limit->PositiveDuration(), action.rate_limit);
  }
  return action;
}

std::optional<Action> ReadAction(const Field& item) {
  if (!item.node().IsScalar()) return ReadActionMap(item);
  absl::string_view text = item.node().Scalar();
  for (auto [name, kind] : {std::pair{"log", ActionKind::kLog},
                            {"restart", ActionKind::kRestart},
                            {"stop", ActionKind::kStop},
                            {"freeze", ActionKind::kFreeze}}) {
    if (text == name) {
      Action action;
      action.kind = kind;
      return action;
    }
  }
  item.Expected(kActionExpectation);
  return std::nullopt;
}

Actions ReadActions(const Field& actions) {
  Actions read;
  std::optional<std::vector<Field>> items = actions.Items("a list of actions");
  if (!items) return read;
  for (const Field& item : *items) {
    if (std::optional<Action> action = ReadAction(item)) {
      read.push_back(*std::move(action));
    }
  }
  return read;
}

// `on:` — a map from each event the watch produces to its actions.
void ReadOn(const Field& on,
            const std::vector<std::pair<absl::string_view, Actions*>>& events) {
  std::vector<absl::string_view> names;
  for (const auto& [name, actions] : events) names.push_back(name);
  MapFields map(on, absl::StrCat("a map from events (", absl::StrJoin(names, ", "),
                                 ") to lists of actions"),
                names);
  for (const auto& [name, actions] : events) {
    if (std::optional<Field> field = map.Get(name)) {
      *actions = ReadActions(*field);
    }
  }
}

enum class LevelUnit { kBytes, kCount };

std::optional<uint64_t> ReadAmount(const Field& field, LevelUnit unit) {
  if (unit == LevelUnit::kBytes) return field.Size();
  std::optional<int64_t> count = field.Integer(0, INT64_MAX);
  if (!count) return std::nullopt;
  return static_cast<uint64_t>(*count);
}

// A level as read, with the field its value came from (for messages).
struct LevelRead {
  Level level;
  Field at;
};

std::optional<LevelRead> ReadLevel(const Field& item, LevelUnit unit) {
  Level level;
  std::optional<Field> at = item;
  if (!item.node().IsScalar()) {
    MapFields map(item,
                  unit == LevelUnit::kBytes
                      ? "a level like 500M or {at: 500M, up: [log]}"
                      : "a level like 100 or {at: 100, up: [log]}",
                  {"at", "up", "down"});
    at = map.Require("at", unit == LevelUnit::kBytes ? kSizeExpectation
                                                      : "an integer >= 1");
    if (std::optional<Field> up = map.Get("up")) level.up = ReadActions(*up);
    if (std::optional<Field> down = map.Get("down")) {
      level.down = ReadActions(*down);
    }
  }
  if (!at) return std::nullopt;
  std::optional<uint64_t> amount = ReadAmount(*at, unit);
  if (!amount) return std::nullopt;
  if (*amount == 0) {
    at->Expected("a level above 0");
    return std::nullopt;
  }
  level.at = *amount;
  return LevelRead{std::move(level), *at};
}

// Levels sorted ascending; a level given twice is an error.
std::vector<LevelRead> ReadLevels(const Field& field, LevelUnit unit) {
  std::optional<std::vector<Field>> items = field.Items("a list of levels");
  if (!items) return {};
  std::vector<LevelRead> read;
  for (const Field& item : *items) {
    if (std::optional<LevelRead> level = ReadLevel(item, unit)) {
      read.push_back(*std::move(level));
    }
  }
  std::stable_sort(read.begin(), read.end(),
                   [](const LevelRead& a, const LevelRead& b) {
                     return a.level.at < b.level.at;
                   });
  std::vector<LevelRead> levels;
  for (LevelRead& level : read) {
    if (!levels.empty() && levels.back().level.at == level.level.at) {
      level.at.Fail(absl::StrCat("expected each level once, got ",
                                 DescribeNode(level.at.node()), " again"));
      continue;
    }
    levels.push_back(std::move(level));
  }
  return levels;
}

// Levels and their hysteresis, shared by memory, tasks and fds.
void ReadLevelsAndHysteresis(const MapFields& map, LevelUnit unit,
                             std::vector<Level>& levels, uint64_t& hysteresis) {
  std::vector<LevelRead> read;
  if (std::optional<Field> field = map.Get("levels")) {
    read = ReadLevels(*field, unit);
  }
  for (const LevelRead& level : read) levels.push_back(level.level);
  std::optional<Field> field = map.Get("hysteresis");
  if (!field) return;
  std::optional<uint64_t> amount = ReadAmount(*field, unit);
  if (!amount) return;
  if (!map.Has("levels")) {
    field->Fail(absl::StrCat("expected hysteresis only with levels, got ",
                             DescribeNode(field->node())));
  } else if (!read.empty() && *amount >= read.front().level.at) {
    // Usage could never fall below `lowest - hysteresis`.
    field->Fail(absl::StrCat("expected less than the lowest level (",
                             read.front().at.node().Scalar(), "), got ",
                             DescribeNode(field->node())));
  }
  hysteresis = *amount;
}

void RequireOneOf(const MapFields& map, const std::vector<absl::string_view>& keys) {
  if (!map.clean()) return;
  for (absl::string_view key : keys) {
    if (map.Has(key)) return;
  }
  map.self().Expected(absl::StrCat("at least one of ", absl::StrJoin(keys, ", ")));
}

MemoryWatch ReadMemory(const Field& field) {
  MemoryWatch watch;
  MapFields map(field, "a map of memory settings",
                {"high", "max", "levels", "hysteresis", "on"});
  if (!map.ok()) return watch;
  RequireOneOf(map, {"high", "max", "levels"});
  if (std::optional<Field> high = map.Get("high")) Assign(high->Size(), watch.high);
  if (std::optional<Field> max = map.Get("max")) Assign(max->Size(), watch.max);
  if (watch.high && watch.max && *watch.high > *watch.max) {
    map.Get("high")->Fail(absl::StrCat("expected at most max (",
                                       map.Get("max")->node().Scalar(), "), got ",
                                       DescribeNode(map.Get("high")->node())));
  }
  ReadLevelsAndHysteresis(map, LevelUnit::kBytes, watch.levels, watch.hysteresis);
  if (std::optional<Field> on = map.Get("on")) {
    ReadOn(*on, {{"high", &watch.on.high},
                 {"max", &watch.on.max},
                 {"oom", &watch.on.oom},
                 {"oom_kill", &watch.on.oom_kill},
                 {"up", &watch.on.up},
                 {"down", &watch.on.down}});
  }
  return watch;
}

TasksWatch ReadTasks(const Field& field) {
  TasksWatch watch;
  MapFields map(field, "a map of tasks settings",
                {"max", "levels", "hysteresis", "on"});
  if (!map.ok()) return watch;
  RequireOneOf(map, {"max", "levels"});
  if (std::optional<Field> max = map.Get("max")) {
    std::optional<int64_t> count = max->Integer(1, INT64_MAX);
    if (count) watch.max = static_cast<uint64_t>(*count);
  }
  ReadLevelsAndHysteresis(map, LevelUnit::kCount, watch.levels, watch.hysteresis);
  if (std::optional<Field> on = map.Get("on")) {
    ReadOn(*on, {{"max", &watch.on.max},
                 {"up", &watch.on.up},
                 {"down", &watch.on.down}});
  }
  return watch;
}

FdsWatch ReadFds(const Field& field) {
  FdsWatch watch;
  MapFields map(field, "a map of fds settings", {"levels", "hysteresis", "on"});
  if (!map.ok()) return watch;
  map.Require("levels", "a list of levels");
  ReadLevelsAndHysteresis(map, LevelUnit::kCount, watch.levels, watch.hysteresis);
  if (std::optional<Field> on = map.Get("on")) {
    ReadOn(*on, {{"up", &watch.on.up}, {"down", &watch.on.down}});
  }
  return watch;
}

void CheckPsiWindow(const Field& field, milliseconds window,
                    const LoadOptions& options) {
  if (window < kMinPsiWindow || window > kMaxPsiWindow) {
    field.Expected("a window from 500ms to 10s");
  } else if (options.psi_window_needs_2s_multiple &&
             window % kUnprivilegedPsiGranule != milliseconds(0)) {
    field.Fail(absl::StrCat(
        "window must be a multiple of 2s when vigild lacks CAP_SYS_RESOURCE, "
        "got ",
        DescribeNode(field.node())));
  }
}

std::optional<PressureTrigger> ReadTrigger(const Field& field,
                                           const LoadOptions& options) {
  MapFields map(field, "a trigger like {some: 150ms, window: 2s}",
                {"some", "full", "window", "on"});
  if (!map.ok()) return std::nullopt;
  std::optional<Field> some = map.Get("some");
  std::optional<Field> full = map.Get("full");
  if (some.has_value() == full.has_value()) {
    field.Fail(absl::StrCat("expected some or full, got ",
                            some ? "both" : "neither"));
  }
  PressureTrigger trigger;
  std::optional<milliseconds> stall;
  if (some || full) stall = (some ? *some : *full).PositiveDuration();
  trigger.kind = full && !some ? PressureKind::kFull : PressureKind::kSome;
  std::optional<milliseconds> window;
  if (std::optional<Field> window_field =
          map.Require("window", "a duration like 2s")) {
    window = window_field->Duration();
    if (window) CheckPsiWindow(*window_field, *window, options);
  }
  if (stall && window && *stall > *window) {
    const Field& stall_field = some ? *some : *full;
    stall_field.Fail(absl::StrCat("expected a stall no longer than the window (",
                                  FormatDuration(*window), "), got ",
                                  DescribeNode(stall_field.node())));
  }
  Assign(stall, trigger.stall);
  Assign(window, trigger.window);
  if (std::optional<Field> on = map.Get("on")) {
    ReadOn(*on, {{"stall", &trigger.on.stall}});
  }
  return trigger;
}

PressureWatch ReadPressure(const Field& field, const LoadOptions& options) {
  PressureWatch watch;
  MapFields map(field, "a map of cpu, memory and io triggers",
                {"cpu", "memory", "io"});
  if (!map.ok()) return watch;
  RequireOneOf(map, {"cpu", "memory", "io"});
  for (auto [name, trigger] : {std::pair{"cpu", &watch.cpu},
                               {"memory", &watch.memory},
                               {"io", &watch.io}}) {
    if (std::optional<Field> value = map.Get(name)) {
      *trigger = ReadTrigger(*value, options);
    }
  }
  return watch;
}

CpuTimeWatch ReadCpuTime(const Field& field) {
  CpuTimeWatch watch;
  MapFields map(field, "a map like {limit: 1h}", {"limit", "on"});
  if (std::optional<Field> limit = map.Require("limit", "a duration like 1h")) {
    Assign(limit->PositiveDuration(), watch.limit);
  }
  if (std::optional<Field> on = map.Get("on")) {
    ReadOn(*on, {{"exceeded", &watch.on.exceeded}});
  }
  return watch;
}

RunawayWatch ReadRunaway(const Field& field) {
  RunawayWatch watch;
  MapFields map(field, "a map like {soft: 5s, hard: 10s}",
                {"soft", "hard", "soft_signal", "hard_signal", "on"});
  if (std::optional<Field> soft = map.Require("soft", "a duration like 5s")) {
    Assign(soft->PositiveDuration(), watch.soft);
  }
  if (std::optional<Field> hard = map.Get("hard")) {
    std::optional<milliseconds> duration = hard->Duration();
    if (duration && *duration <= watch.soft) {
      hard->Fail(absl::StrCat("expected more than soft (",
                              FormatDuration(watch.soft), "), got ",
                              DescribeNode(hard->node())));
    }
    Assign(duration, watch.hard);
  }
  if (std::optional<Field> signal = map.Get("soft_signal")) {
    Assign(signal->Signal(), watch.soft_signal);
  }
  if (std::optional<Field> signal = map.Get("hard_signal")) {
    Assign(signal->Signal(), watch.hard_signal);
  }
  if (std::optional<Field> on = map.Get("on")) {
    ReadOn(*on, {{"soft", &watch.on.soft},
                 {"hard", &watch.on.hard},
                 {"reset", &watch.on.reset}});
  }
  return watch;
}

}  // namespace

WatchSpec ReadWatch(const Field& field, const LoadOptions& options) {
  WatchSpec watch;
  MapFields map(field, "a map of watches",
                {"memory", "tasks", "fds", "pressure", "cpu_time", "runaway"});
  if (std::optional<Field> f = map.Get("memory")) watch.memory = ReadMemory(*f);
  if (std::optional<Field> f = map.Get("tasks")) watch.tasks = ReadTasks(*f);
  if (std::optional<Field> f = map.Get("fds")) watch.fds = ReadFds(*f);
  if (std::optional<Field> f = map.Get("pressure")) {
    watch.pressure = ReadPressure(*f, options);
  }
  if (std::optional<Field> f = map.Get("cpu_time")) {
    watch.cpu_time = ReadCpuTime(*f);
  }
  if (std::optional<Field> f = map.Get("runaway")) {
    watch.runaway = ReadRunaway(*f);
  }
  return watch;
}

}  // namespace vigil::config
