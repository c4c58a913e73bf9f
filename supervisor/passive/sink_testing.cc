#include "supervisor/passive/sink_testing.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace vigil::passive::testing {

absl::StatusOr<TestLoop> TestLoop::Create() {
  TestLoop out;
  auto loop = EventLoop::Create(EventLoop::Backend::kAuto);
  if (!loop.ok()) return loop.status();
  out.loop = *std::move(loop);
  auto timers = TimerQueue::Create(*out.loop);
  if (!timers.ok()) return timers.status();
  out.timers = *std::move(timers);
  return out;
}

bool TestLoop::RunUntil(const std::function<bool()>& done, std::chrono::milliseconds limit,
                        const std::function<void()>& each_turn) {
  bool expired = false;
  const TimerQueue::TimerId guard = timers->ScheduleAfter(limit, [&] { expired = true; });
  while (!done() && !expired) {
    if (each_turn) each_turn();
    if (!loop->RunOnce().ok()) break;
  }
  timers->Cancel(guard);
  return done();
}

int ListenOnLoopback(int* port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof(address);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0 ||
      listen(fd, 16) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  *port = ntohs(address.sin_port);
  return fd;
}

}  // namespace vigil::passive::testing
