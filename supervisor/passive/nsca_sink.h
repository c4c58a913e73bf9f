// NscaSink: hands results to send_nsca (or any command reading its input
// format on stdin) once per delivery: the batch is written to the command's
// stdin through a non-blocking pipe registered with the EventLoop, and the
// delivery succeeds when the command exits 0.
//
// The Spawner starts the command (exec'd at once, a session of its own, stdin
// the pipe, output to /dev/null): it holds no descriptor of vigild's, and
// vigild holds the only write end of its stdin (EOF as soon as the batch is
// written). Its pidfd says when it is gone and gives its exit status (handed
// over by the ChildRegistry when vigild's orphan reaper took it first). A
// command still running after `timeout` is killed with its session and the
// delivery fails then; nothing here waits in a system call.
#ifndef VIGIL_SUPERVISOR_PASSIVE_NSCA_SINK_H_
#define VIGIL_SUPERVISOR_PASSIVE_NSCA_SINK_H_

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "supervisor/event_loop.h"
#include "supervisor/passive/delivery_queue.h"
#include "supervisor/pidfd_source.h"
#include "supervisor/spawner.h"
#include "supervisor/timer_queue.h"

namespace vigil::passive {

class NscaSink : public Sink {
 public:
  NscaSink(EventLoop& loop, TimerQueue& timers, Spawner spawner, std::vector<std::string> argv,
           std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Kills the commands still running (vigild is stopping); waits for none.
  ~NscaSink() override;
  std::string name() const override;
  void Deliver(const std::vector<PassiveResult>& batch, Done done) override;

 private:
  struct Run;
  absl::StatusOr<std::unique_ptr<Run>> Start(std::string input);
  absl::Status DeliveryStatus(const ExitStatus& exit) const;
  void OnStdinWritable();
  void OnExit(Run* run);
  void OnTimeout();
  void Finish(absl::Status status);
  void Forget(Run& run);

  EventLoop& loop_;
  TimerQueue& timers_;
  Spawner spawner_;
  std::vector<std::string> argv_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<Run> run_;  // the delivery in flight
  // Commands killed on timeout, reaped when their pidfd says they are gone.
  std::map<Run*, std::unique_ptr<Run>> killed_;
};

}  // namespace vigil::passive

#endif  // VIGIL_SUPERVISOR_PASSIVE_NSCA_SINK_H_
