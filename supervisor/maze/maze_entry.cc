#include "supervisor/maze/maze_entry.h"

#include <cstdint>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "config/duration.h"

namespace vigil::maze {
namespace {

// What one field is called where the user wrote it: the column name of a
// /proc/maze/entries line, or the key of a control request.
struct FieldNames {
  const char* pid;
  const char* soft;
  const char* hard;
  const char* soft_signal;
  const char* hard_signal;
  const char* prefix;  // "" or "field "
  bool quote;
};
constexpr FieldNames kLineFields{"PID", "SOFT", "HARD", "SOFTSIG", "HARDSIG",
                                 "", false};
constexpr FieldNames kRequestFields{"pid",         "soft",   "hard",
                                    "soft_signal", "hard_signal", "field ",
                                    true};

std::string Name(const FieldNames& names, const char* field) {
  return names.quote ? absl::StrCat(names.prefix, "\"", field, "\"")
                     : std::string(field);
}

absl::Status FieldError(const FieldNames& names, const char* field,
                        absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat(Name(names, field), ": ", problem));
}

absl::StatusOr<pid_t> ParsePid(const FieldNames& names, absl::string_view text) {
  int64_t pid = 0;
  if (!absl::SimpleAtoi(text, &pid) || pid <= 0 ||
      pid > std::numeric_limits<pid_t>::max() ||
      !absl::ascii_isdigit(text[0])) {
    return FieldError(names, names.pid,
                      absl::StrCat("expected a process id (a positive "
                                   "integer), got ",
                                   config::QuoteForMessage(text)));
  }
  return static_cast<pid_t>(pid);
}

absl::StatusOr<absl::Duration> ParseLimit(const FieldNames& names,
                                          const char* field,
                                          absl::string_view text) {
  absl::Duration limit;
  if (int64_t ms; absl::SimpleAtoi(text, &ms) && !text.empty() &&
                  absl::ascii_isdigit(text[0])) {
    limit = absl::Milliseconds(ms);
  } else {
    absl::StatusOr<std::chrono::milliseconds> duration =
        config::ParseDuration(text);
    if (!duration.ok()) {
      return FieldError(
          names, field,
          absl::StrCat("expected milliseconds (a bare number, as MAZE's "
                       "entries) or a duration like 5s or 300ms, got ",
                       config::QuoteForMessage(text)));
    }
    limit = absl::FromChrono(*duration);
  }
  if (limit <= absl::ZeroDuration()) {
    return FieldError(names, field,
                      absl::StrCat("the limit must be more than 0, got ",
                                   config::QuoteForMessage(text)));
  }
  return limit;
}

absl::StatusOr<int> ParseSignalField(const FieldNames& names, const char* field,
                                     absl::string_view text) {
  absl::StatusOr<int> signal = config::ParseSignal(text);
  if (!signal.ok()) return FieldError(names, field, signal.status().message());
  return *signal;
}

absl::StatusOr<MazeEntry> Parse(const FieldNames& names,
                                const std::vector<std::string>& fields) {
  MazeEntry entry;
  absl::StatusOr<pid_t> pid = ParsePid(names, fields[0]);
  if (!pid.ok()) return pid.status();
  entry.pid = *pid;
  absl::StatusOr<absl::Duration> soft = ParseLimit(names, names.soft, fields[1]);
  if (!soft.ok()) return soft.status();
  entry.soft = *soft;
  absl::StatusOr<absl::Duration> hard = ParseLimit(names, names.hard, fields[2]);
  if (!hard.ok()) return hard.status();
  entry.hard = *hard;
  if (entry.hard < entry.soft) {
    return FieldError(
        names, names.hard,
        absl::StrCat("the hard limit (", absl::FormatDuration(entry.hard),
                     ") must not be less than the soft limit (",
                     absl::FormatDuration(entry.soft), ")"));
  }
  absl::StatusOr<int> soft_signal =
      ParseSignalField(names, names.soft_signal, fields[3]);
  if (!soft_signal.ok()) return soft_signal.status();
  entry.soft_signal = *soft_signal;
  absl::StatusOr<int> hard_signal =
      ParseSignalField(names, names.hard_signal, fields[4]);
  if (!hard_signal.ok()) return hard_signal.status();
  entry.hard_signal = *hard_signal;
  return entry;
}

// A request field as the text a line would have held: numbers in decimal,
// strings as they are.
absl::StatusOr<std::string> RequestField(const json::Value& request,
                                         const char* key) {
  const json::Value* value = request.Find(key);
  if (value == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("field \"", key, "\" is missing"));
  }
  if (value->IsString()) return value->AsString();
  if (value->IsInt()) return absl::StrCat(value->AsInt());
  return absl::InvalidArgumentError(
      absl::StrCat("field \"", key, "\": expected a number or a string, got ",
                   std::string(json::TypeName(value->type()))));
}

}  // namespace

absl::StatusOr<MazeEntry> ParseMazeEntryFields(
    const std::vector<std::string>& fields) {
  if (fields.size() != 5) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected 5 fields, PID SOFT HARD SOFTSIG HARDSIG (as a line of "
        "/proc/maze/entries), got ",
        fields.size()));
  }
  return Parse(kLineFields, fields);
}

absl::StatusOr<MazeEntry> ParseMazeEntryLine(absl::string_view line) {
  std::vector<std::string> fields =
      absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
  return ParseMazeEntryFields(fields);
}

json::Value MazeAddRequest(const MazeEntry& entry) {
  json::Value request = json::Value::Object();
  request.Set("cmd", "maze-add");
  request.Set("pid", entry.pid);
  request.Set("soft", absl::ToInt64Milliseconds(entry.soft));
  request.Set("hard", absl::ToInt64Milliseconds(entry.hard));
  request.Set("soft_signal", entry.soft_signal);
  request.Set("hard_signal", entry.hard_signal);
  return request;
}

absl::StatusOr<MazeEntry> MazeEntryFromRequest(const json::Value& request) {
  std::vector<std::string> fields;
  for (const char* key :
       {"pid", "soft", "hard", "soft_signal", "hard_signal"}) {
    absl::StatusOr<std::string> field = RequestField(request, key);
    if (!field.ok()) return field.status();
    fields.push_back(*std::move(field));
  }
  return Parse(kRequestFields, fields);
}

}  // namespace vigil::maze
