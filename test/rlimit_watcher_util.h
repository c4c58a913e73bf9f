// Reading rlimit-events from vigild in the end-to-end tests: connect, wait for
// the next event, or make sure none comes.
#ifndef VIGIL_TEST_RLIMIT_WATCHER_UTIL_H_
#define VIGIL_TEST_RLIMIT_WATCHER_UTIL_H_

#include <optional>
#include <string>

#include "rlimit/watcher.h"

namespace vigil::testing {

// Fails the test if vigild does not accept the connection.
rlimit::Watcher ConnectWatcher(const std::string& socket_path);

// The next event, nullopt if none arrives within `timeout_ms`.
std::optional<rle_event> NextEvent(rlimit::Watcher& watcher, int timeout_ms);

// True if no event is pending and none arrives within `ms`.
bool NoEventWithin(rlimit::Watcher& watcher, int ms);

}  // namespace vigil::testing

#endif  // VIGIL_TEST_RLIMIT_WATCHER_UTIL_H_
