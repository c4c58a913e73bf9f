// What /proc says about one running process: CPU time and memory.
// Reads only; keeps no fd open.
#ifndef VIGIL_BENCH_PROCESS_STATS_H_
#define VIGIL_BENCH_PROCESS_STATS_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace vigil::bench {

struct CpuTime {
  // utime + stime of every thread, from /proc/<pid>/stat (clock-tick resolution).
  double user_system_us = 0;
  // Sum of sum_exec_runtime over /proc/<pid>/task/*/schedstat (ns resolution).
  double on_cpu_us = 0;
};
absl::StatusOr<CpuTime> ReadCpuTime(pid_t pid);
CpuTime operator-(const CpuTime& after, const CpuTime& before);

struct Memory {
  int64_t rss_kib = 0;  // VmRSS
  int64_t hwm_kib = 0;  // VmHWM: peak RSS
};
absl::StatusOr<Memory> ReadMemory(pid_t pid);

}  // namespace vigil::bench

#endif  // VIGIL_BENCH_PROCESS_STATS_H_
