#include "config/duration.h"

#include <signal.h>
#include <string.h>

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/strings/string_view.h"

namespace vigil::config {
namespace {

using u128 = unsigned __int128;

// A decimal number "12.5" as 125 / 10^1, kept exact until it is scaled.
struct Decimal {
  uint64_t mantissa = 0;
  int fraction_digits = 0;
};

// Consumes "<digits>[.<digits>]" from the front of `text`.
std::optional<Decimal> ConsumeDecimal(absl::string_view& text) {
  Decimal number;
  size_t i = 0;
  int digits = 0;
  bool seen_point = false;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.' && !seen_point) {
      seen_point = true;
      continue;
    }
    if (!absl::ascii_isdigit(c)) break;
    // 18 digits always fit in uint64_t; longer numbers are not plausible.
    if (++digits > 18) return std::nullopt;
    number.mantissa = number.mantissa * 10 + (c - '0');
    if (seen_point) ++number.fraction_digits;
  }
  // "", ".", "5." and ".5" are all rejected: write 5 or 0.5.
  if (digits == 0 || text[i - 1] == '.' || text[0] == '.') return std::nullopt;
  text.remove_prefix(i);
  return number;
}

// number * factor, if that is a whole number that fits in uint64_t.
std::optional<uint64_t> ScaleExactly(Decimal number, uint64_t factor) {
  u128 scaled = static_cast<u128>(number.mantissa) * factor;
  u128 divisor = 1;
  for (int i = 0; i < number.fraction_digits; ++i) divisor *= 10;
  if (scaled % divisor != 0) return std::nullopt;
  scaled /= divisor;
  if (scaled > UINT64_MAX) return std::nullopt;
  return static_cast<uint64_t>(scaled);
}

absl::Status Expected(absl::string_view expectation, absl::string_view text,
                      absl::string_view why = "") {
  return absl::InvalidArgumentError(absl::StrCat(
      "expected ", expectation, ", got ", QuoteForMessage(text),
      why.empty() ? "" : absl::StrCat(" (", why, ")")));
}

std::optional<uint64_t> DurationUnitMs(absl::string_view unit) {
  if (unit == "ms") return 1;
  if (unit == "s") return 1000;
  if (unit == "m") return 60 * 1000;
  if (unit == "h") return 60 * 60 * 1000;
  return std::nullopt;
}

std::optional<uint64_t> SizeUnitBytes(absl::string_view unit) {
  if (unit.empty() || unit == "B") return 1;
  absl::string_view prefix = unit.substr(0, 1);
  absl::string_view rest = unit.substr(1);
  if (!rest.empty() && rest != "B" && rest != "i" && rest != "iB") {
    return std::nullopt;
  }
  if (prefix == "K") return uint64_t{1} << 10;
  if (prefix == "M") return uint64_t{1} << 20;
  if (prefix == "G") return uint64_t{1} << 30;
  if (prefix == "T") return uint64_t{1} << 40;
  return std::nullopt;
}

// The classic names glibc's sigabbrev_np() does not return.
struct SignalAlias {
  const char* name;
  int signal;
};
constexpr SignalAlias kSignalAliases[] = {
    {"IOT", SIGABRT}, {"POLL", SIGIO}, {"CLD", SIGCHLD}};

std::optional<int> SignalByName(absl::string_view name) {
  for (int signal = 1; signal < SIGRTMIN; ++signal) {
    const char* abbrev = sigabbrev_np(signal);
    if (abbrev != nullptr && name == abbrev) return signal;
  }
  for (const SignalAlias& alias : kSignalAliases) {
    if (name == alias.name) return alias.signal;
  }
  // RTMIN, RTMIN+n, RTMAX, RTMAX-n
  for (auto [base, sign, origin] : {std::tuple{"RTMIN", '+', SIGRTMIN},
                                    std::tuple{"RTMAX", '-', SIGRTMAX}}) {
    if (!absl::ConsumePrefix(&name, base)) continue;
    if (name.empty()) return origin;
    int offset = 0;
    if (name[0] != sign || !absl::SimpleAtoi(name.substr(1), &offset) ||
        !absl::ascii_isdigit(name[1])) {
      return std::nullopt;
    }
    int signal = sign == '+' ? origin + offset : origin - offset;
    if (signal < SIGRTMIN || signal > SIGRTMAX) return std::nullopt;
    return signal;
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<std::chrono::milliseconds> ParseDuration(absl::string_view text) {
  absl::string_view rest = text;
  uint64_t total_ms = 0;
  if (rest.empty()) return Expected(kDurationExpectation, text);
  while (!rest.empty()) {
    std::optional<Decimal> number = ConsumeDecimal(rest);
    if (!number) return Expected(kDurationExpectation, text);
    size_t unit_length = 0;
    while (unit_length < rest.size() && absl::ascii_isalpha(rest[unit_length])) {
      ++unit_length;
    }
    if (unit_length == 0) {
      return Expected(kDurationExpectation, text,
                      "a unit is required: ms, s, m or h");
    }
    std::optional<uint64_t> unit_ms = DurationUnitMs(rest.substr(0, unit_length));
    if (!unit_ms) {
      return Expected(kDurationExpectation, text,
                      absl::StrCat("unknown unit \"", rest.substr(0, unit_length),
                                   "\"; use ms, s, m or h"));
    }
    rest.remove_prefix(unit_length);
    std::optional<uint64_t> term_ms = ScaleExactly(*number, *unit_ms);
    if (!term_ms) {
      return Expected(kDurationExpectation, text,
                      "not a whole number of milliseconds");
    }
    total_ms += *term_ms;
    if (total_ms > static_cast<uint64_t>(INT64_MAX)) {
      return Expected(kDurationExpectation, text, "too long");
    }
  }
  return std::chrono::milliseconds(static_cast<int64_t>(total_ms));
}

absl::StatusOr<uint64_t> ParseSize(absl::string_view text) {
  absl::string_view rest = text;
  std::optional<Decimal> number = ConsumeDecimal(rest);
  if (!number) return Expected(kSizeExpectation, text);
  std::optional<uint64_t> unit_bytes = SizeUnitBytes(rest);
  if (!unit_bytes) {
    return Expected(kSizeExpectation, text,
                    "units are K, M, G and T, powers of 1024");
  }
  std::optional<uint64_t> bytes = ScaleExactly(*number, *unit_bytes);
  if (!bytes) {
    return Expected(kSizeExpectation, text,
                    number->fraction_digits > 0 ? "not a whole number of bytes"
                                                : "too large");
  }
  return *bytes;
}

absl::StatusOr<int> ParseSignal(absl::string_view text) {
  int number = 0;
  if (absl::SimpleAtoi(text, &number) && absl::ascii_isdigit(text[0])) {
    if (number < 1 || number > SIGRTMAX) {
      return Expected(kSignalExpectation, text,
                      absl::StrCat("signals are 1 to ", SIGRTMAX));
    }
    return number;
  }
  std::string name = absl::AsciiStrToUpper(text);
  absl::string_view bare = name;
  absl::ConsumePrefix(&bare, "SIG");
  std::optional<int> signal = SignalByName(bare);
  if (!signal) return Expected(kSignalExpectation, text);
  return *signal;
}

std::string SignalName(int signal) {
  if (signal >= SIGRTMIN && signal <= SIGRTMAX) {
    return signal == SIGRTMIN ? "SIGRTMIN"
                              : absl::StrCat("SIGRTMIN+", signal - SIGRTMIN);
  }
  const char* abbrev = signal > 0 ? sigabbrev_np(signal) : nullptr;
  if (abbrev == nullptr) return absl::StrCat("signal ", signal);
  return absl::StrCat("SIG", abbrev);
}

std::string FormatDuration(std::chrono::milliseconds duration) {
  int64_t ms = duration.count();
  if (ms == 0) return "0s";
  std::string text;
  for (auto [unit_ms, unit] : {std::pair<int64_t, const char*>{3600000, "h"},
                               {60000, "m"},
                               {1000, "s"}}) {
    if (ms % 1000 != 0) break;  // "1500ms" reads better than "1s500ms"
    if (ms >= unit_ms) {
      absl::StrAppend(&text, ms / unit_ms, unit);
      ms %= unit_ms;
    }
  }
  if (ms != 0) absl::StrAppend(&text, ms, "ms");
  return text;
}

std::string QuoteForMessage(absl::string_view text) {
  constexpr size_t kMaxShown = 60;
  std::string quoted = "\"";
  for (char c : text.substr(0, kMaxShown)) {
    if (c == '"' || c == '\\') {
      absl::StrAppend(&quoted, "\\", absl::string_view(&c, 1));
    } else if (c == '\n') {
      quoted += "\\n";
    } else if (c == '\t') {
      quoted += "\\t";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      absl::StrAppend(&quoted, "\\x", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
    } else {
      quoted += c;  // printable ASCII and UTF-8 bytes, as written
    }
  }
  absl::StrAppend(&quoted, text.size() > kMaxShown ? "...\"" : "\"");
  return quoted;
}

}  // namespace vigil::config
