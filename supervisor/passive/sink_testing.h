// Test helpers for the passive sinks: a real EventLoop and TimerQueue driven
// until a condition holds, and a TCP socket listening on 127.0.0.1.
#ifndef VIGIL_SUPERVISOR_PASSIVE_SINK_TESTING_H_
#define VIGIL_SUPERVISOR_PASSIVE_SINK_TESTING_H_

#include <chrono>
#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "supervisor/event_loop.h"
#include "supervisor/timer_queue.h"

namespace vigil::passive::testing {

struct TestLoop {
  static absl::StatusOr<TestLoop> Create();
  // Runs the loop until `done()` holds or `limit` passes (a timer of its
  // own wakes the loop then); `each_turn` runs before every wait. Returns
  // whether `done()` held.
  bool RunUntil(const std::function<bool()>& done, std::chrono::milliseconds limit,
                const std::function<void()>& each_turn = nullptr);

  std::unique_ptr<EventLoop> loop;
  std::unique_ptr<TimerQueue> timers;
};

// A TCP socket bound to 127.0.0.1 on a free port and listening (close-on-exec);
// `*port` receives the port. -1 on failure.
int ListenOnLoopback(int* port);

}  // namespace vigil::passive::testing

#endif  // VIGIL_SUPERVISOR_PASSIVE_SINK_TESTING_H_
