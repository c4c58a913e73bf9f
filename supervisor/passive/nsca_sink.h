// NscaSink: hands results to send_nsca (or any command reading its input
// format on stdin) once per delivery: the batch is written to the command's
// stdin through a non-blocking pipe registered with the EventLoop, and the
// delivery succeeds when the command exits 0.
//
// The command runs under a small intermediate child that waits for it and
// writes its wait status to a pipe: vigild reaps every child that is not a
// unit's main process (Supervisor::ReapOrphans) and would otherwise take the
// exit status first. A command that outlives `timeout` is killed (its whole
// process group) and the delivery fails.
#ifndef VIGIL_SUPERVISOR_PASSIVE_NSCA_SINK_H_
#define VIGIL_SUPERVISOR_PASSIVE_NSCA_SINK_H_

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "supervisor/event_loop.h"
#include "supervisor/passive/delivery_queue.h"
#include "supervisor/timer_queue.h"
#include "supervisor/unique_fd.h"

namespace vigil::passive {

class NscaSink : public Sink {
 public:
  NscaSink(EventLoop& loop, TimerQueue& timers, std::vector<std::string> argv,
           std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~NscaSink() override;
  std::string name() const override;
  void Deliver(const std::vector<PassiveResult>& batch, Done done) override;

 private:
  struct Run;
  void OnStdinWritable();
  void OnStatus();
  void OnTimeout();
  void Finish(absl::Status status);

  EventLoop& loop_;
  TimerQueue& timers_;
  std::vector<std::string> argv_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<Run> run_;
};

}  // namespace vigil::passive

#endif  // VIGIL_SUPERVISOR_PASSIVE_NSCA_SINK_H_
