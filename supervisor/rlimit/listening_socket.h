// ListeningSocket: owns the listening SOCK_SEQPACKET unix socket that
// rlimit-events clients connect to, and its path: bound with the configured
// mode and group, unlinked again on destruction. Who may connect is decided
// by the file's mode and group; what each client may watch is decided per
// request from SO_PEERCRED (permission.h).
#ifndef VIGIL_SUPERVISOR_RLIMIT_LISTENING_SOCKET_H_
#define VIGIL_SUPERVISOR_RLIMIT_LISTENING_SOCKET_H_

#include <sys/types.h>

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "supervisor/unique_fd.h"

namespace vigil::rlimit {

class ListeningSocket {
 public:
  // `group` empty keeps vigild's group. A stale socket file at `path` (from
  // a vigild that died) is replaced; a live one is an error.
  static absl::StatusOr<ListeningSocket> Bind(const std::string& path, int mode,
                                              const std::string& group);
  ListeningSocket(ListeningSocket&&) = default;
  ListeningSocket& operator=(ListeningSocket&&) = default;
  ~ListeningSocket();

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  // A new connection (non-blocking, close-on-exec), or an invalid fd when
  // none is waiting.
  UniqueFd Accept();

 private:
  ListeningSocket(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}

  std::string path_;
  UniqueFd fd_;
};

}  // namespace vigil::rlimit

#endif  // VIGIL_SUPERVISOR_RLIMIT_LISTENING_SOCKET_H_
