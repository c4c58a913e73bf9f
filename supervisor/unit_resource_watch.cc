#include "supervisor/unit_resource_watch.h"

#include <cmath>
#include <variant>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "supervisor/cgroup_tree.h"

namespace vigil {
namespace {

std::vector<int64_t> LevelValues(const std::vector<config::Level>& levels) {
  std::vector<int64_t> values;
  for (const auto& level : levels) values.push_back(static_cast<int64_t>(level.at));
  return values;
}

const config::Level* FindLevel(const std::vector<config::Level>& levels, int64_t at) {
  for (const auto& level : levels) {
    if (static_cast<int64_t>(level.at) == at) return &level;
  }
  return nullptr;
}

std::chrono::microseconds Micros(config::Duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d);
}

// memory.events keys that are events of their own, with their action lists.
const config::Actions* MemoryActions(const config::MemoryWatch& memory,
                                     const std::string& key) {
  if (key == "high") return &memory.on.high;
  if (key == "max") return &memory.on.max;
  if (key == "oom") return &memory.on.oom;
  if (key == "oom_kill") return &memory.on.oom_kill;
  return nullptr;
}

}  // namespace

UnitResourceWatch::UnitResourceWatch(const config::UnitConfig& unit, pid_t pid,
                                     std::string cgroup_dir, const Context& context,
                                     Deliver deliver)
    : unit_(unit.name),
      spec_(unit.watch),
      pid_(pid),
      cgroup_dir_(std::move(cgroup_dir)),
      context_(context),
      deliver_(std::move(deliver)) {}

absl::StatusOr<std::unique_ptr<UnitResourceWatch>> UnitResourceWatch::Start(
    const config::UnitConfig& unit, pid_t pid, const std::string& cgroup_dir,
    const Context& context, Deliver deliver, std::vector<std::string>* warnings) {
  std::unique_ptr<UnitResourceWatch> watch(
      new UnitResourceWatch(unit, pid, cgroup_dir, context, std::move(deliver)));
  ASSIGN_OR_RETURN(PidfdSource main, PidfdSource::Open(pid));
  watch->main_.emplace(std::move(main));
  watch->target_ = {.unit = unit.name,
                    .main = &*watch->main_,
                    .cgroup_dir = context.features.process_in_unit_cgroup ? cgroup_dir : ""};
  const config::WatchSpec& spec = watch->spec_;
  if (spec.memory && !spec.memory->levels.empty()) {
    ASSIGN_OR_RETURN(watch->memory_levels_,
                     watch::LevelTracker::Create(LevelValues(spec.memory->levels),
                                                 spec.memory->hysteresis));
  }
  if (spec.tasks && !spec.tasks->levels.empty()) {
    ASSIGN_OR_RETURN(watch->tasks_levels_,
                     watch::LevelTracker::Create(LevelValues(spec.tasks->levels),
                                                 spec.tasks->hysteresis));
  }
  if (spec.fds && !spec.fds->levels.empty()) {
    ASSIGN_OR_RETURN(watch->fds_levels_,
                     watch::LevelTracker::Create(LevelValues(spec.fds->levels),
                                                 spec.fds->hysteresis));
  }
  watch->usage_.emplace(cgroup_dir, pid, context.features,
                        UnitUsage::Wanted{.memory = watch->memory_levels_.has_value(),
                                          .tasks = watch->tasks_levels_.has_value(),
                                          .open_fds = watch->fds_levels_.has_value()});
  watch->WriteLimits(warnings);
  if (absl::Status opened = watch->OpenEventsFiles(); !opened.ok()) {
    warnings->push_back(std::string(opened.message()));
  }
  watch->OpenPressure(warnings);
  RETURN_IF_ERROR(watch->StartCpuTimer());
  return watch;
}

UnitResourceWatch::~UnitResourceWatch() {
  EventLoop& loop = *context_.loop;
  if (memory_events_) loop.Remove(memory_events_->watch);
  if (pids_events_) loop.Remove(pids_events_->watch);
  for (const auto& pressure : pressure_) loop.Remove(pressure->watch);
  for (const std::string& file : limits_written_) (void)WriteStringToFile(file, "max");
  Thaw();
}

void UnitResourceWatch::Thaw() {
  if (!frozen_by_action_) return;
  frozen_by_action_ = false;
  (void)WriteStringToFile(cgroup_dir_ + "/cgroup.freeze", "0");
}

void UnitResourceWatch::WriteLimits(std::vector<std::string>* warnings) {
  const WatchFeatures& features = context_.features;
  if (!features.process_in_unit_cgroup) return;
  auto write = [&](const char* name, uint64_t value) {
    std::string file = absl::StrCat(cgroup_dir_, "/", name);
    absl::Status status = WriteStringToFile(file, std::to_string(value));
    if (status.ok()) {
      limits_written_.push_back(file);
    } else {
      warnings->push_back(absl::StrCat("setting ", name, ": ", status.message()));
    }
  };
  // max before high: high <= max is validated, and a lower max must not be
  // refused behind a stale high.
  if (spec_.memory && features.memory_controller) {
    if (spec_.memory->max) write("memory.max", *spec_.memory->max);
    if (spec_.memory->high) write("memory.high", *spec_.memory->high);
  }
  if (spec_.tasks && spec_.tasks->max && features.pids_controller) {
    write("pids.max", *spec_.tasks->max);
  }
}

absl::Status UnitResourceWatch::OpenEventsFiles() {
  const WatchFeatures& features = context_.features;
  if (!features.process_in_unit_cgroup) return absl::OkStatus();
  auto open = [&](const char* name, void (UnitResourceWatch::*handler)(),
                  std::optional<EventsFile>* slot) -> absl::Status {
    ASSIGN_OR_RETURN(watch::CgroupEventsFile file,
                     watch::CgroupEventsFile::Open(absl::StrCat(cgroup_dir_, "/", name)));
    slot->emplace(EventsFile{.file = std::move(file)});
    // The first reading is the baseline, and reading re-arms kernfs notify.
    ASSIGN_OR_RETURN(watch::FlatKeyed baseline, (*slot)->file.Read());
    (*slot)->delta.Update(baseline);
    ASSIGN_OR_RETURN((*slot)->watch,
                     context_.loop->Add((*slot)->file.fd(), watch::CgroupEventsFile::kPollEvents,
                                        [this, handler](uint32_t) { (this->*handler)(); }));
    return absl::OkStatus();
  };
  if (spec_.memory && features.memory_controller) {
    RETURN_IF_ERROR(open("memory.events", &UnitResourceWatch::OnMemoryEvents, &memory_events_));
  }
  if (spec_.tasks && features.pids_controller) {
    RETURN_IF_ERROR(open("pids.events", &UnitResourceWatch::OnPidsEvents, &pids_events_));
  }
  return absl::OkStatus();
}

void UnitResourceWatch::OpenPressure(std::vector<std::string>* warnings) {
  if (!spec_.pressure || !context_.features.psi ||
      !context_.features.process_in_unit_cgroup) {
    return;
  }
  auto open = [&](const char* name, watch::PsiResource resource,
                  const std::optional<config::PressureTrigger>& trigger) {
    if (!trigger) return;
    watch::PsiTriggerSpec psi{
        .scope = trigger->kind == config::PressureKind::kFull ? watch::PsiScope::kFull
                                                              : watch::PsiScope::kSome,
        .stall = Micros(trigger->stall),
        .window = Micros(trigger->window)};
    auto opened = watch::PsiTrigger::Open(watch::CgroupPressureFile(cgroup_dir_, resource), psi);
    if (!opened.ok()) {
      warnings->push_back(std::string(opened.status().message()));
      return;
    }
    auto pressure = std::make_unique<Pressure>(
        Pressure{.resource = name, .config = &*trigger, .trigger = *std::move(opened)});
    size_t index = pressure_.size();
    auto added = context_.loop->Add(pressure->trigger.fd(), watch::PsiTrigger::kPollEvents,
                                    [this, index](uint32_t) { OnPressure(index); });
    if (!added.ok()) {
      warnings->push_back(std::string(added.status().message()));
      return;
    }
    pressure->watch = *added;
    pressure_.push_back(std::move(pressure));
  };
  open("cpu", watch::PsiResource::kCpu, spec_.pressure->cpu);
  open("memory", watch::PsiResource::kMemory, spec_.pressure->memory);
  open("io", watch::PsiResource::kIo, spec_.pressure->io);
}

absl::Status UnitResourceWatch::StartCpuTimer() {
  bool has_levels = memory_levels_ || tasks_levels_ || fds_levels_;
  if (!has_levels && !spec_.cpu_time) return absl::OkStatus();
  ASSIGN_OR_RETURN(cpu_timer_,
                   maze::CpuTimeTimer::Create(pid_, context_.tick_signo, context_.cookie));
  return ArmCpuTimer();
}

absl::Status UnitResourceWatch::ArmCpuTimer() {
  std::optional<absl::Duration> next;
  if (memory_levels_ || tasks_levels_ || fds_levels_) {
    next = absl::FromChrono(context_.features.cpu_tick);
  }
  if (spec_.cpu_time && !cpu_budget_spent_) {
    ASSIGN_OR_RETURN(absl::Duration used, cpu_timer_->ProcessCpuTime());
    absl::Duration left = absl::FromChrono(spec_.cpu_time->limit) - used;
    next = next ? std::min(*next, left) : left;
  }
  if (!next) return cpu_timer_->Disarm();
  return cpu_timer_->ArmAfter(*next);
}

Event UnitResourceWatch::BaseEvent(const char* kind, const char* resource,
                                   const char* mechanism) const {
  return Event{.unit = unit_, .pid = pid_, .kind = kind, .resource = resource,
               .mechanism = mechanism};
}

Firing UnitResourceWatch::Fire(Event event, const std::string& gate_key,
                               const config::Actions& actions) {
  Firing firing{.event = std::move(event)};
  auto gate = gates_.find(gate_key);
  if (gate == gates_.end()) {
    auto created = watch::ActionGate::Create(ToActionPlan(actions));
    if (!created.ok()) {
      firing.event.message += absl::StrCat("; no actions: ", created.status().message());
      return firing;
    }
    gate = gates_.emplace(gate_key, *std::move(created)).first;
  }
  for (const watch::DueAction& due : gate->second.Admit()) {
    if (std::holds_alternative<watch::FreezeAction>(due.action->kind)) frozen_by_action_ = true;
    firing.actions.emplace_back(*due.action, due.suppressed_before);
  }
  return firing;
}

std::optional<int64_t> UnitResourceWatch::CgroupCurrent(const char* file) const {
  auto text = ReadFileToString(absl::StrCat(cgroup_dir_, "/", file));
  int64_t value;
  if (!text.ok() || !absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &value)) {
    return std::nullopt;
  }
  return value;
}

void UnitResourceWatch::AddLevelFirings(const char* kind, const char* resource,
                                        const char* mechanism, const char* trigger,
                                        int64_t value, watch::LevelTracker& tracker,
                                        const std::vector<config::Level>& levels,
                                        const config::Actions& up,
                                        const config::Actions& down,
                                        std::vector<Firing>* out) {
  for (const watch::Crossing& crossing : tracker.Update(value)) {
    bool rising = crossing.direction == Direction::kUp;
    Event event = BaseEvent(kind, resource, mechanism);
    event.level = crossing.level;
    event.value = value;
    event.direction = crossing.direction;
    event.message = absl::StrCat(mechanism, " ", value, rising ? " >= " : " < ",
                                 rising ? crossing.level : crossing.level - tracker.hysteresis(),
                                 ", read on ", trigger);
    const config::Level* level = FindLevel(levels, crossing.level);
    const std::optional<config::Actions>& own = rising ? level->up : level->down;
    const config::Actions& actions = own ? *own : (rising ? up : down);
    out->push_back(Fire(std::move(event),
                        absl::StrCat(kind, " ", crossing.level, rising ? " up" : " down"),
                        actions));
  }
}

std::vector<Firing> UnitResourceWatch::SampleLevels(const char* trigger) {
  std::vector<Firing> out;
  if (!memory_levels_ && !tasks_levels_ && !fds_levels_) return out;
  absl::StatusOr<UnitUsageFigures> usage = usage_->Read();
  if (!usage.ok()) return out;  // the unit is going; its exit says so
  if (memory_levels_ && usage->memory_bytes) {
    AddLevelFirings("memory.level", "memory", usage_->memory_source_name(), trigger,
                    *usage->memory_bytes, *memory_levels_, spec_.memory->levels,
                    spec_.memory->on.up, spec_.memory->on.down, &out);
  }
  if (tasks_levels_ && usage->tasks) {
    AddLevelFirings("tasks.level", "tasks", usage_->tasks_source_name(), trigger,
                    *usage->tasks, *tasks_levels_, spec_.tasks->levels, spec_.tasks->on.up,
                    spec_.tasks->on.down, &out);
  }
  if (fds_levels_ && usage->open_fds) {
    AddLevelFirings("fds.level", "fds", "/proc/<pid>/fd", trigger, *usage->open_fds,
                    *fds_levels_, spec_.fds->levels, spec_.fds->on.up, spec_.fds->on.down,
                    &out);
  }
  return out;
}

void UnitResourceWatch::OnMemoryEvents() {
  std::vector<Firing> out;
  if (!AddMemoryCounterFirings(&out)) return;
  for (Firing& firing : SampleLevels("memory.events")) out.push_back(std::move(firing));
  deliver_(*this, std::move(out));
}

void UnitResourceWatch::OnPidsEvents() {
  std::vector<Firing> out;
  if (!AddPidsCounterFirings(&out)) return;
  for (Firing& firing : SampleLevels("pids.events")) out.push_back(std::move(firing));
  deliver_(*this, std::move(out));
}

std::vector<Firing> UnitResourceWatch::CountersAtExit() {
  std::vector<Firing> out;
  if (memory_events_) AddMemoryCounterFirings(&out);
  if (pids_events_) AddPidsCounterFirings(&out);
  return out;
}

bool UnitResourceWatch::AddMemoryCounterFirings(std::vector<Firing>* out) {
  auto reading = memory_events_->file.Read();
  if (!reading.ok()) {  // the cgroup went away
    context_.loop->Remove(memory_events_->watch);
    memory_events_.reset();
    return false;
  }
  std::optional<int64_t> current = CgroupCurrent("memory.current");
  const config::MemoryWatch& memory = *spec_.memory;
  for (const watch::CounterIncrement& increment : memory_events_->delta.Update(*reading)) {
    const config::Actions* actions = MemoryActions(memory, increment.key);
    if (actions == nullptr) continue;
    std::string kind = absl::StrCat("memory.", increment.key);
    Event event = BaseEvent(kind.c_str(), "memory", "memory.events");
    event.level = static_cast<int64_t>(
        increment.key == "high" ? memory.high.value_or(0) : memory.max.value_or(0));
    event.value = current.value_or(0);
    event.message = absl::StrCat("memory.events ", increment.key, " +", increment.increment,
                                 " (total ", increment.total, "), memory.current ",
                                 current.value_or(0));
    out->push_back(Fire(std::move(event), kind, *actions));
  }
  return true;
}

bool UnitResourceWatch::AddPidsCounterFirings(std::vector<Firing>* out) {
  auto reading = pids_events_->file.Read();
  if (!reading.ok()) {
    context_.loop->Remove(pids_events_->watch);
    pids_events_.reset();
    return false;
  }
  std::optional<int64_t> current = CgroupCurrent("pids.current");
  for (const watch::CounterIncrement& increment : pids_events_->delta.Update(*reading)) {
    if (increment.key != "max") continue;
    Event event = BaseEvent("tasks.max", "tasks", "pids.events");
    event.level = static_cast<int64_t>(spec_.tasks->max.value_or(0));
    event.value = current.value_or(0);
    event.message = absl::StrCat("pids.events max +", increment.increment, " (total ",
                                 increment.total, "): fork refused at pids.current ",
                                 current.value_or(0));
    out->push_back(Fire(std::move(event), "tasks.max", spec_.tasks->on.max));
  }
  return true;
}

void UnitResourceWatch::OnPressure(size_t index) {
  Pressure& pressure = *pressure_[index];
  auto reading = pressure.trigger.Consume();
  if (!reading.ok()) {
    context_.loop->Remove(pressure.watch);
    pressure.watch = 0;
    return;
  }
  bool full = pressure.config->kind == config::PressureKind::kFull;
  const watch::PsiAverages& averages =
      full && reading->full ? *reading->full : reading->some;
  std::string kind = absl::StrCat("pressure.", pressure.resource);
  Event event = BaseEvent(kind.c_str(), pressure.resource.c_str(), "psi");
  event.level = pressure.config->stall.count();
  event.value = std::lround(averages.avg10);
  event.message = absl::StrFormat(
      "%s stall over %dms within %dms: avg10=%.2f avg60=%.2f avg300=%.2f total=%dus",
      full ? "full" : "some", pressure.config->stall.count(), pressure.config->window.count(),
      averages.avg10, averages.avg60, averages.avg300, averages.total_us);
  std::vector<Firing> out;
  out.push_back(Fire(std::move(event), kind, pressure.config->on.stall));
  for (Firing& firing : SampleLevels("a PSI trigger")) out.push_back(std::move(firing));
  deliver_(*this, std::move(out));
}

void UnitResourceWatch::OnCpuTick() {
  std::vector<Firing> out;
  if (spec_.cpu_time && !cpu_budget_spent_) {
    auto used = cpu_timer_->ProcessCpuTime();
    if (!used.ok()) return;  // the process is gone; its exit tears us down
    int64_t used_ms = absl::ToInt64Milliseconds(*used);
    int64_t limit_ms = spec_.cpu_time->limit.count();
    if (used_ms >= limit_ms) {
      cpu_budget_spent_ = true;
      Event event = BaseEvent("cpu_time.limit", "cpu", "cpu-timer");
      event.level = limit_ms;
      event.value = used_ms;
      event.message = absl::StrCat("main process used ", used_ms, "ms of CPU, budget ",
                                   limit_ms, "ms");
      out.push_back(Fire(std::move(event), "cpu_time.limit", spec_.cpu_time->on.exceeded));
    }
  }
  for (Firing& firing : SampleLevels("a CPU-time tick")) out.push_back(std::move(firing));
  (void)ArmCpuTimer();  // fails only when the process is gone
  deliver_(*this, std::move(out));
}

}  // namespace vigil
