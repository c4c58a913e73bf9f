#include "supervisor/passive/nagios_service.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "supervisor/passive/command_file_sink.h"
#include "supervisor/passive/icinga2_sink.h"
#include "supervisor/passive/nsca_sink.h"

namespace vigil::passive {
namespace {

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

}  // namespace

absl::StatusOr<std::unique_ptr<NagiosService>> NagiosService::Create(EventLoop& loop,
                                                                     config::NagiosConfig config,
                                                                     Logger log) {
  std::string host = config.host.empty() ? HostName() : config.host;
  std::unique_ptr<NagiosService> service(new NagiosService(std::move(config), log, host));
  const config::NagiosConfig& c = service->config_;
  if (!c.enabled()) return service;
  auto timers = TimerQueue::Create(loop);
  if (!timers.ok()) return timers.status();
  service->timers_ = *std::move(timers);
  TimerQueue& timer_queue = *service->timers_;
  std::vector<std::unique_ptr<Sink>> sinks;
  if (!c.command_file.empty()) sinks.push_back(std::make_unique<CommandFileSink>(c.command_file));
  if (!c.nsca_command.empty()) {
    sinks.push_back(std::make_unique<NscaSink>(loop, timer_queue, Spawner::Detect(), c.nsca_command));
  }
  if (!c.icinga2.url.empty()) {
    auto icinga2 = Icinga2Sink::Create(loop, timer_queue, c.icinga2);
    if (!icinga2.ok()) return icinga2.status();
    sinks.push_back(*std::move(icinga2));
  }
  const DeliveryQueue::Policy policy{.retry_initial = c.retry_initial,
                                     .retry_max = c.retry_max,
                                     .attempts = c.retry_attempts,
                                     .capacity = static_cast<size_t>(c.queue)};
  NagiosService* self = service.get();
  for (auto& sink : sinks) {
    service->targets_.push_back(std::make_unique<DeliveryQueue>(
        std::move(sink), policy,
        [&timer_queue](std::chrono::milliseconds delay, std::function<void()> callback) {
          timer_queue.ScheduleAfter(delay, std::move(callback));
        },
        [self](const std::string& text) { self->log_.Warning(absl::StrCat("nagios: ", text)); }));
  }
  return service;
}

NagiosService::~NagiosService() { Shutdown(); }

// Targets go first: their sinks hold the loop's watches and the timers.
void NagiosService::Shutdown() {
  targets_.clear();
  timers_.reset();
}

void NagiosService::OnMainStarted(const UnitProcess& unit) {
  UnitInfo& info = units_[unit.config.name];
  info.levels = LevelsOf(unit.config.watch);
  info.watched = WatchedResources(unit.config.watch);
}

void NagiosService::OnEvent(const Event& event) {
  if (event.unit.empty()) return;
  UnitInfo& info = units_[event.unit];
  if (!targets_.empty()) {
    std::optional<PassiveResult> result =
        ResultForEvent(event, config_, host_, &info.levels, info.last_event);
    if (result) {
      for (auto& target : targets_) target->Push(*result);
    }
  }
  // A state is reported as such; its cause is the event before it.
  if (event.kind != "state") info.last_event = DescribeEvent(event);
}

json::Value NagiosService::HandleNagios(const json::Value& request) {
  json::Value reply = json::Value::Object();
  reply.Set("ok", true);
  reply.Set("host", host_);
  json::Value targets = json::Value::Array();
  for (const auto& target : targets_) targets.Push(target->StatsJson());
  reply.Set("targets", std::move(targets));
  if (const json::Value* unit = request.Find("unit"); unit != nullptr && unit->IsString()) {
    json::Value out = json::Value::Object();
    out.Set("name", unit->AsString());
    auto it = units_.find(unit->AsString());
    json::Value watched = json::Value::Array();
    if (it != units_.end()) {
      out.Set("last_event", it->second.last_event);
      for (const std::string& resource : it->second.watched) watched.Push(resource);
    } else {
      out.Set("last_event", "");
    }
    out.Set("watched", std::move(watched));
    reply.Set("unit", std::move(out));
  }
  return reply;
}

std::string NagiosService::Describe() const {
  if (targets_.empty()) return "nagios: no passive targets configured";
  std::vector<std::string> names;
  for (const auto& target : targets_) names.push_back(target->sink().name());
  return absl::StrCat("nagios: passive results for host ", host_, " to ",
                      absl::StrJoin(names, ", "));
}

}  // namespace vigil::passive
