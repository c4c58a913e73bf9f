// VigildProcessSource: check_vigil's answer from vigild's process table.
// vigild returns the pids that may match the check's filters (from its
// indexes, in time proportional to the answer); only those are read from
// /proc (stat, status, cmdline), with the ps child stand-in, and go through
// the same rendering and parser as a full /proc scan. The evaluation is
// therefore identical; only unrelated processes are never read.
//
// Filters vigild cannot narrow (state -s, VSZ -z, RSS -r, %CPU -P, or no
// filter) select the whole table; -vvv (every ps line is echoed) and -k with
// -vv (every kernel thread is reported) do too. With -k, pid 1 and kthreadd
// are always read: check_procs' kernel-thread quirk depends on them.
#ifndef VIGIL_NAGIOS_VIGILD_SOURCE_H_
#define VIGIL_NAGIOS_VIGILD_SOURCE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/json.h"
#include "nagios/options.h"
#include "nagios/process_source.h"
#include "nagios/vigild_client.h"

namespace vigil::nagios {

// The "select" list of a "procs" request for `config` (pure).
json::Value SelectorsFor(const CheckConfig& config);

class VigildProcessSource : public ProcessSource {
 public:
  // nullptr when vigild is not reachable at `socket_path` (the caller scans
  // /proc itself).
  static std::unique_ptr<VigildProcessSource> Connect(const std::string& socket_path,
                                                      const CheckConfig& config);
  // Falls back to a /proc scan when vigild answers that its table is
  // unavailable (no proc connector) or fails mid-request.
  absl::StatusOr<std::vector<PsRow>> Rows() override;

  // What the last Rows() did, for the bench and tests.
  bool used_table() const { return used_table_; }
  size_t candidates() const { return candidates_; }
  std::string fallback_reason() const { return fallback_reason_; }

 private:
  VigildProcessSource(VigildClient client, const CheckConfig& config)
      : client_(std::move(client)), config_(config) {}
  absl::StatusOr<std::vector<int>> Candidates();

  VigildClient client_;
  const CheckConfig& config_;
  bool used_table_ = false;
  size_t candidates_ = 0;
  std::string fallback_reason_;
};

}  // namespace vigil::nagios

#endif  // VIGIL_NAGIOS_VIGILD_SOURCE_H_
