// VigildClient: check_vigil's side of vigild's control socket (unix stream,
// one JSON object per line each way). Blocking with a bounded wait: a
// plugin has nothing else to do, and a vigild that does not answer must not
// eat the plugin's whole timeout.
#ifndef VIGIL_NAGIOS_VIGILD_CLIENT_H_
#define VIGIL_NAGIOS_VIGILD_CLIENT_H_

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/json.h"
#include "supervisor/unique_fd.h"

namespace vigil::nagios {

// The control socket check_vigil talks to: `option` (--vigil-socket) if
// given, else $VIGIL_SOCKET, else vigild's default path. Empty: none.
std::string VigilSocketPath(const std::string* option);

// Removes every `--vigil-socket=PATH` / `--vigil-socket PATH` before `--`
// from `args` and returns the last PATH. Not a getopt option, so no prefix of
// it changes how check_procs' own options parse.
std::optional<std::string> TakeVigilSocketOption(std::vector<std::string>& args);

class VigildClient {
 public:
  // Unavailable naming the path when nothing listens there.
  static absl::StatusOr<VigildClient> Connect(
      const std::string& path,
      std::chrono::milliseconds timeout = std::chrono::seconds(3));
  // One request, one reply; an {"ok":false} reply is an error with its text.
  absl::StatusOr<json::Value> Request(const json::Value& request);

 private:
  explicit VigildClient(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
  std::string buffer_;
};

}  // namespace vigil::nagios

#endif  // VIGIL_NAGIOS_VIGILD_CLIENT_H_
