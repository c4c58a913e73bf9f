// Parsers for the scalar value kinds of vigil's YAML: durations, byte sizes
// and signals. Each returns a status whose message reads
// `expected <kind> like <example>, got "<text>"`, so the loader can prefix it
// with a file position and key path and hand it to the user unchanged.
#ifndef VIGIL_CONFIG_DURATION_H_
#define VIGIL_CONFIG_DURATION_H_

#include <chrono>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vigil::config {

// What each parser expects, for messages about values that are not scalars.
inline constexpr absl::string_view kDurationExpectation =
    "a duration like 5s or 100ms";
inline constexpr absl::string_view kSizeExpectation = "a size like 200M";
inline constexpr absl::string_view kSignalExpectation =
    "a signal like SIGTERM, TERM or 15";

// One or more <number><unit> terms, units ms, s, m, h: "100ms", "1.5s",
// "1h30m". A bare number is an error: "5" could mean seconds or
// milliseconds, and guessing wrong is a silent factor of 1000. The total must
// be a whole number of milliseconds.
absl::StatusOr<std::chrono::milliseconds> ParseDuration(absl::string_view text);

// Bytes, with optional binary suffix K, M, G, T (also written Ki/KiB/KB
// etc.; all mean powers of 1024): "4096", "512K", "1.5G". The result must be
// a whole number of bytes.
absl::StatusOr<uint64_t> ParseSize(absl::string_view text);

// "SIGTERM", "TERM", "sigterm", "15", "SIGRTMIN+1", "RTMAX-2". Returns the
// signal number, 1..SIGRTMAX.
absl::StatusOr<int> ParseSignal(absl::string_view text);

// "SIGTERM" for 15, "SIGRTMIN+3" for real-time signals, "signal 99" for
// numbers without a name.
std::string SignalName(int signal);

// An exact spelling ParseDuration accepts: "1h30m", "1500ms".
std::string FormatDuration(std::chrono::milliseconds duration);

// How a rejected scalar is shown after "got": in double quotes, with quotes,
// backslashes and control characters escaped, cut after 60 bytes.
std::string QuoteForMessage(absl::string_view text);

}  // namespace vigil::config

#endif  // VIGIL_CONFIG_DURATION_H_
