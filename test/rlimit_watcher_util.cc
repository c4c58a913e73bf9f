#include "test/rlimit_watcher_util.h"

#include <poll.h>

#include <utility>

#include "gtest/gtest.h"

namespace vigil::testing {

rlimit::Watcher ConnectWatcher(const std::string& socket_path) {
  rlimit::Error error;
  std::optional<rlimit::Watcher> watcher = rlimit::Watcher::Open(socket_path, &error);
  EXPECT_TRUE(watcher.has_value()) << error.message;
  return std::move(*watcher);
}

std::optional<rle_event> NextEvent(rlimit::Watcher& watcher, int timeout_ms) {
  rlimit::Error error;
  if (watcher.pending() == 0) {
    pollfd p{watcher.fd(), POLLIN, 0};
    if (poll(&p, 1, timeout_ms) != 1) return std::nullopt;
  }
  return watcher.Read(&error);
}

bool NoEventWithin(rlimit::Watcher& watcher, int ms) {
  if (watcher.pending() > 0) return false;
  pollfd p{watcher.fd(), POLLIN, 0};
  return poll(&p, 1, ms) == 0;
}

}  // namespace vigil::testing
