#include "bench/flags.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace vigil::bench {

absl::Status ParseFlags(int argc, char** argv, const std::vector<IntFlag>& ints, bool* quick) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--quick") {
      *quick = true;
      continue;
    }
    bool known = false;
    for (const IntFlag& flag : ints) {
      absl::string_view value = arg;
      if (!absl::ConsumePrefix(&value, absl::StrCat("--", flag.name, "="))) continue;
      known = true;
      if (!absl::SimpleAtoi(value, flag.value) || *flag.value < 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", flag.name, ": expected a positive integer, got \"", value, "\""));
      }
    }
    if (!known) return absl::InvalidArgumentError(absl::StrCat("unknown argument \"", arg, "\""));
  }
  return absl::OkStatus();
}

}  // namespace vigil::bench
