#include "supervisor/rlimit/listening_socket.h"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/errno_status.h"

namespace vigil::rlimit {

namespace {

// True if something answers at `path` (a running vigild).
bool SomeoneListens(const sockaddr_un& addr) {
  UniqueFd probe(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  return probe.valid() &&
         connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
}

}  // namespace

absl::StatusOr<ListeningSocket> ListeningSocket::Bind(const std::string& path, int mode,
                                                      const std::string& group) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "rlimit-events socket path %s is longer than %d bytes", path,
        sizeof addr.sun_path - 1));
  }
  std::strcpy(addr.sun_path, path.c_str());
  std::optional<gid_t> gid;
  if (!group.empty()) {
    struct group* entry = getgrnam(group.c_str());
    if (entry == nullptr) {
      return absl::NotFoundError(absl::StrCat(
          "rlimit_events.group: no group named \"", group, "\" on this host"));
    }
    gid = entry->gr_gid;
  }
  if (SomeoneListens(addr)) {
    return absl::AlreadyExistsError(absl::StrCat(
        "rlimit-events socket ", path, " is in use by another process (another vigild?)"));
  }
  unlink(path.c_str());
  UniqueFd fd(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoStatus("socket(AF_UNIX, SOCK_SEQPACKET)", errno);
  // Bind under a restrictive umask so that no one connects before chmod.
  mode_t old_umask = umask(0177);
  int rc = bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int bind_errno = errno;
  umask(old_umask);
  if (rc < 0) return ErrnoStatus(absl::StrCat("bind ", path), bind_errno);
  ListeningSocket socket(path, std::move(fd));
  if (gid && chown(path.c_str(), -1, *gid) < 0) {
    return ErrnoStatus(absl::StrCat("chown ", path, " to group ", group), errno);
  }
  if (chmod(path.c_str(), mode) < 0) {
    return ErrnoStatus(absl::StrFormat("chmod %s %04o", path, mode), errno);
  }
  if (listen(socket.fd(), 128) < 0) return ErrnoStatus(absl::StrCat("listen ", path), errno);
  return socket;
}

ListeningSocket::~ListeningSocket() {
  if (fd_.valid()) unlink(path_.c_str());
}

UniqueFd ListeningSocket::Accept() {
  for (;;) {
    int fd = accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0 || errno != EINTR) return UniqueFd(fd);
  }
}

}  // namespace vigil::rlimit
