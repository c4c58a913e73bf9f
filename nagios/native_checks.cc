#include "nagios/native_checks.h"

#include <cstdio>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nagios/ps_output.h"
#include "nagios/unit_report.h"
#include "nagios/unit_usage.h"
#include "nagios/vigild_client.h"

namespace vigil::nagios {
namespace {

constexpr char kUsage[] =
    "Usage: check_vigil unit NAME [--vigil-socket=PATH]\n"
    "       check_vigil level UNIT memory|tasks|fds [-w RANGE] [-c RANGE] "
    "[--vigil-socket=PATH]\n";

int Emit(const PluginResult& result) {
  const std::string line = result.Line();
  std::fwrite(line.data(), 1, line.size(), stdout);
  return result.status;
}

std::string StringField(const json::Value& object, const char* key) {
  const json::Value* v = object.Find(key);
  return v != nullptr && v->IsString() ? v->AsString() : "";
}

int64_t IntField(const json::Value& object, const char* key) {
  const json::Value* v = object.Find(key);
  return v != nullptr && v->IsInt() ? v->AsInt() : 0;
}

// The unit's entry of vigild's "status" reply.
absl::StatusOr<json::Value> UnitStatus(VigildClient& client, const std::string& name) {
  auto reply = client.Request(json::Value::Object().Set("cmd", "status"));
  if (!reply.ok()) return reply.status();
  const json::Value* units = reply->Find("units");
  if (units != nullptr && units->IsArray()) {
    for (const json::Value& unit : units->AsArray()) {
      if (StringField(unit, "name") == name) return unit;
    }
  }
  return absl::NotFoundError(absl::StrCat("no unit named \"", name, "\""));
}

int UnitCheck(VigildClient& client, const std::string& name) {
  auto status = UnitStatus(client, name);
  if (!status.ok()) return Emit(UnknownResult("UNIT", status.status().message()));
  UnitFacts facts{.name = name,
                  .state = StringField(*status, "state"),
                  .reason = StringField(*status, "reason"),
                  .pid = static_cast<int>(IntField(*status, "pid")),
                  .restarts = IntField(*status, "restarts")};
  // What the Nagios service in vigild knows: the last event and the watched
  // resources. An older vigild without it still gets a state check.
  auto nagios = client.Request(json::Value::Object().Set("cmd", "nagios").Set("unit", name));
  if (nagios.ok()) {
    if (const json::Value* unit = nagios->Find("unit"); unit != nullptr && unit->IsObject()) {
      facts.last_event = StringField(*unit, "last_event");
      if (const json::Value* watched = unit->Find("watched"); watched && watched->IsArray()) {
        for (const json::Value& resource : watched->AsArray()) {
          if (!resource.IsString()) continue;
          auto usage = ReadUnitUsage(StringField(*status, "cgroup"), facts.pid,
                                     resource.AsString());
          if (usage.ok()) facts.perf.push_back(*usage);
        }
      }
    }
  }
  return Emit(UnitResult(facts));
}

int LevelCheck(VigildClient& client, const std::vector<std::string>& args) {
  const std::string& unit = args[2];
  const std::string& resource = args[3];
  Thresholds thresholds;
  PerfValue shown;
  for (size_t i = 4; i < args.size(); ++i) {
    const std::string& flag = args[i];
    const bool warning = flag == "-w" || flag == "--warning";
    const bool critical = flag == "-c" || flag == "--critical";
    if ((!warning && !critical) || i + 1 >= args.size()) {
      std::fputs(kUsage, stdout);
      return kUnknown;
    }
    const std::string& text = args[++i];
    std::optional<Range> range = ParseRange(text);
    if (!range) return Emit(UnknownResult("LEVEL", absl::StrCat("bad range \"", text, "\"")));
    (warning ? thresholds.warning : thresholds.critical) = range;
    (warning ? shown.warning : shown.critical) = text;
  }
  auto status = UnitStatus(client, unit);
  if (!status.ok()) return Emit(UnknownResult("LEVEL", status.status().message()));
  auto reading = ReadUnitUsage(StringField(*status, "cgroup"),
                               static_cast<int>(IntField(*status, "pid")), resource);
  if (!reading.ok()) {
    return Emit(UnknownResult("LEVEL", absl::StrCat(unit, " ", resource, ": ",
                                                    reading.status().message())));
  }
  reading->warning = shown.warning;
  reading->critical = shown.critical;
  return Emit(LevelResult(unit, *reading, GetStatus(static_cast<double>(reading->value),
                                                    thresholds)));
}

}  // namespace

bool IsNativeCheck(const std::vector<std::string>& args) {
  if (args.size() < 2 || BaseName(args[0]) == "check_procs") return false;
  return args[1] == "unit" || args[1] == "level";
}

int RunNativeCheck(const std::vector<std::string>& args, const std::string& socket_path) {
  const bool unit = args[1] == "unit";
  if ((unit && args.size() != 3) || (!unit && args.size() < 4)) {
    std::fputs(kUsage, stdout);
    return kUnknown;
  }
  auto client = VigildClient::Connect(socket_path);
  if (!client.ok()) {
    return Emit(UnknownResult(unit ? "UNIT" : "LEVEL", client.status().message()));
  }
  return unit ? UnitCheck(*client, args[2]) : LevelCheck(*client, args);
}

}  // namespace vigil::nagios
