// Watcher: the C++ face of the rlimit-events client (rlimit_events.h). It
// owns one rle_client (one connection to vigild). Header-only over the C
// library and the standard library, so programs outside Bazel need nothing
// but -lrlimitevents. No exceptions: calls return an Error.
#ifndef VIGIL_RLIMIT_WATCHER_H_
#define VIGIL_RLIMIT_WATCHER_H_

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "rlimit/rlimit_events.h"

namespace vigil::rlimit {

// errno-style code (0 = success) and the reason in words.
struct Error {
  int code = 0;
  std::string message;
  bool ok() const { return code == 0; }
};

class Watcher {
 public:
  // `socket_path` empty: $VIGIL_RLIMIT_SOCKET, else RLE_DEFAULT_SOCKET.
  static std::optional<Watcher> Open(const std::string& socket_path, Error* error,
                                     bool nonblocking = false) {
    rle_client* client =
        rle_open(socket_path.empty() ? nullptr : socket_path.c_str(),
                 nonblocking ? RLE_NONBLOCK : 0);
    if (client == nullptr) {
      int err = errno;
      *error = {err, "connecting to vigild's rlimit-events socket" +
                         (socket_path.empty() ? std::string() : " " + socket_path) +
                         ": " + std::strerror(err)};
      return std::nullopt;
    }
    *error = {};
    return Watcher(client);
  }

  Watcher(Watcher&& other) noexcept : client_(std::exchange(other.client_, nullptr)) {}
  Watcher& operator=(Watcher&& other) noexcept {
    std::swap(client_, other.client_);
    return *this;
  }
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;
  ~Watcher() { rle_close(client_); }

  int fd() const { return rle_fd(client_); }
  int pending() const { return rle_pending(client_); }

  Error Add(const rle_watch& watch) { return Result(rle_add_watch(client_, &watch)); }
  Error Remove(const rle_watch& watch) { return Result(rle_remove_watch(client_, &watch)); }
  Error Add(pid_t pid, rle_resource resource, int64_t level, int64_t hysteresis = 0) {
    return Add(MakeWatch(pid, resource, level, hysteresis));
  }
  Error Remove(pid_t pid, rle_resource resource, int64_t level) {
    return Remove(MakeWatch(pid, resource, level, 0));
  }

  // An event; nullopt with error->code 0 at end of stream, EAGAIN when
  // nonblocking and nothing waits, else the failure.
  std::optional<rle_event> Read(Error* error) {
    rle_event event;
    int rc = rle_read_event(client_, &event);
    if (rc == 1) {
      *error = {};
      return event;
    }
    *error = rc == 0 ? Error{} : Result(rc);
    return std::nullopt;
  }

 private:
  explicit Watcher(rle_client* client) : client_(client) {}
  static rle_watch MakeWatch(pid_t pid, rle_resource resource, int64_t level,
                             int64_t hysteresis) {
    rle_watch w{};
    w.pid = pid;
    w.resource = resource;
    w.level = level;
    w.hysteresis = hysteresis;
    return w;
  }
  Error Result(int rc) const {
    if (rc >= 0) return {};
    return {-rc, rle_error(client_)};
  }

  rle_client* client_;
};

}  // namespace vigil::rlimit

#endif  // VIGIL_RLIMIT_WATCHER_H_
