// The benchmarks' command line: `--name=N` integer flags and `--quick`.
#ifndef VIGIL_BENCH_FLAGS_H_
#define VIGIL_BENCH_FLAGS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace vigil::bench {

// `--name=N` integer flags and the boolean `--quick`. A flag left out keeps
// its value; an unknown or malformed one is an error naming it.
struct IntFlag {
  std::string name;
  int* value;
};
absl::Status ParseFlags(int argc, char** argv, const std::vector<IntFlag>& ints, bool* quick);

}  // namespace vigil::bench

#endif  // VIGIL_BENCH_FLAGS_H_
