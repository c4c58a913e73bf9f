// Icinga2Sink: POSTs each result to Icinga 2's REST API
// (/v1/actions/process-check-result) with libcurl's multi interface driven
// by vigild's EventLoop and TimerQueue (CURLMOPT_SOCKETFUNCTION registers
// curl's sockets with the loop, CURLMOPT_TIMERFUNCTION arms one timer), so a
// slow or dead Icinga never blocks vigild. http:// and https:// (Icinga's
// API only speaks TLS: give its CA as ca_file, or insecure: true for a
// self-signed test setup). Success is HTTP 200; anything else is a failure
// with the status and the start of the body.
//
// Owns a CURLM handle and at most one CURL easy handle (one request in
// flight); a request still unanswered after `timeout` fails (curl's own
// timeout, fired through the TimerQueue). curl's descriptors are made
// close-on-exec (its sockets through CURLOPT_OPENSOCKETFUNCTION, the multi
// handle's wake-up socketpair when it is made), so no process vigild starts
// keeps an Icinga connection open. curl_global_init must have run before any
// thread started: GlobalInit() does it and is called by the NagiosService's
// Create.
#ifndef VIGIL_SUPERVISOR_PASSIVE_ICINGA2_SINK_H_
#define VIGIL_SUPERVISOR_PASSIVE_ICINGA2_SINK_H_

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "config/config.h"
#include "supervisor/event_loop.h"
#include "supervisor/passive/delivery_queue.h"
#include "supervisor/timer_queue.h"

namespace vigil::passive {

class Icinga2Sink : public Sink {
 public:
  static absl::Status GlobalInit();
  static absl::StatusOr<std::unique_ptr<Icinga2Sink>> Create(
      EventLoop& loop, TimerQueue& timers, const config::NagiosConfig::Icinga2& config,
      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~Icinga2Sink() override;
  std::string name() const override;
  void Deliver(const std::vector<PassiveResult>& batch, Done done) override;

 private:
  struct Request;
  Icinga2Sink(EventLoop& loop, TimerQueue& timers, config::NagiosConfig::Icinga2 config,
              std::chrono::milliseconds timeout, void* multi);
  static int OnSocket(void* easy, int fd, int what, void* self, void* socket_data);
  static int OnTimer(void* multi, long timeout_ms, void* self);
  void Act(int fd, int events);
  void CollectFinished();

  EventLoop& loop_;
  TimerQueue& timers_;
  config::NagiosConfig::Icinga2 config_;
  std::chrono::milliseconds timeout_;
  void* multi_;  // CURLM*
  std::map<int, EventLoop::WatchId> sockets_;
  TimerQueue::TimerId timer_ = 0;  // 0: curl wants no timer
  // Which OnTimer call armed timer_: a timer that fired in the same batch
  // as a newer OnTimer must not forget the newer one.
  uint64_t timer_generation_ = 0;
  std::unique_ptr<Request> request_;
};

}  // namespace vigil::passive

#endif  // VIGIL_SUPERVISOR_PASSIVE_ICINGA2_SINK_H_
