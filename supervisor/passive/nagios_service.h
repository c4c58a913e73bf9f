// NagiosService: vigild's passive results. Subscribed to every published
// event (Supervisor::AddEventListener) and to units' main processes
// (UnitListener, for their watch levels), it turns a unit's state change or
// a level crossing into one PassiveResult the moment the event is published
// and queues it for each configured target (the main file's `nagios:`
// section): the Nagios external command file, send_nsca, Icinga 2's API.
// Each target has its own DeliveryQueue (retry with backoff, then drop with
// a count); nothing here blocks the loop.
//
// Control command "nagios": {"cmd":"nagios"[, "unit":NAME]} ->
// {"ok":true,"targets":[{target,sent,dropped,failures,queued,last_error}],
//  "unit":{"name","last_event","watched":[resources]}} — what `check_vigil
// unit` reads for the last event and the perfdata resources.
#ifndef VIGIL_SUPERVISOR_PASSIVE_NAGIOS_SERVICE_H_
#define VIGIL_SUPERVISOR_PASSIVE_NAGIOS_SERVICE_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/json.h"
#include "config/config.h"
#include "supervisor/event.h"
#include "supervisor/event_loop.h"
#include "supervisor/logger.h"
#include "supervisor/passive/delivery_queue.h"
#include "supervisor/passive/passive_result.h"
#include "supervisor/supervisor.h"
#include "supervisor/timer_queue.h"

namespace vigil::passive {

class NagiosService : public UnitListener {
 public:
  // Call before any thread starts (libcurl's global initialisation).
  static absl::StatusOr<std::unique_ptr<NagiosService>> Create(EventLoop& loop,
                                                               config::NagiosConfig config,
                                                               Logger log);
  ~NagiosService() override;

  void OnEvent(const Event& event);
  void OnMainStarted(const UnitProcess& unit) override;
  void OnMainGone(const std::string&, int) override {}
  json::Value HandleNagios(const json::Value& request);
  // Releases the targets (their loop watches and timers) while the loop
  // still exists; later events are ignored. vigild calls it when Run()
  // returns: the service itself must outlive the Supervisor, which may still
  // publish while it is destroyed.
  void Shutdown();
  // One line for vigild's start-up report.
  std::string Describe() const;

 private:
  struct UnitInfo {
    UnitLevels levels;
    std::vector<std::string> watched;
    std::string last_event;
  };
  NagiosService(config::NagiosConfig config, Logger log, std::string host)
      : config_(std::move(config)), log_(log), host_(std::move(host)) {}

  config::NagiosConfig config_;
  Logger log_;
  std::string host_;
  std::unique_ptr<TimerQueue> timers_;
  std::vector<std::unique_ptr<DeliveryQueue>> targets_;
  std::map<std::string, UnitInfo> units_;
};

}  // namespace vigil::passive

#endif  // VIGIL_SUPERVISOR_PASSIVE_NAGIOS_SERVICE_H_
