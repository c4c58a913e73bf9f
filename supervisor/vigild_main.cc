// vigild: the vigil daemon. Runs in the foreground; logs to stderr.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>

#include "config/loader.h"
#include "supervisor/maze/maze_service.h"
#include "supervisor/passive/nagios_service.h"
#include "supervisor/proctable/proctable_service.h"
#include "supervisor/rlimit/rlimit_service.h"
#include "supervisor/spawner.h"
#include "supervisor/supervisor.h"
#include "supervisor/watch/psi_trigger.h"

namespace {

constexpr char kUsage[] =
    "usage: vigild [--config FILE] [--check-config] [--event-backend auto|io_uring|epoll]\n"
    "  --config FILE    main configuration (default /etc/vigil/vigil.yaml)\n"
    "  --check-config   validate the configuration and every unit, then exit 0 or 1\n"
    "  --event-backend  force the event loop backend (default auto: io_uring, else epoll)\n";

int Usage(const std::string& problem) {
  std::cerr << "vigild: " << problem << "\n" << kUsage;
  return 2;
}

// The plug-in services in "capabilities" and the start-up report.
void AddServiceCapabilities(vigil::Supervisor& supervisor, const vigil::maze::MazeService& maze,
                            const vigil::rlimit::RlimitEventsService& rlimit_events,
                            const std::string& rlimit_socket,
                            const vigil::proctable::ProcTableService& proctable,
                            vigil::passive::NagiosService& nagios) {
  using vigil::json::Value;
  supervisor.AddCapability("maze", maze.Capability());
  Value rlimit = Value::Object();
  rlimit.Set("socket", rlimit_socket);
  rlimit.Set("fd_backend", rlimit_events.DescribeFdBackend());
  rlimit.Set("description", rlimit_events.Describe());
  supervisor.AddCapability("rlimit_events", std::move(rlimit));
  Value table = Value::Object();
  table.Set("proc_connector", proctable.available());
  table.Set("description", proctable.Describe());
  supervisor.AddCapability("process_table", std::move(table));
  Value targets = Value::Array();
  Value stats = nagios.HandleNagios(Value::Object());
  for (const Value& target : stats.Find("targets")->AsArray()) targets.Push(*target.Find("target"));
  Value passive = Value::Object();
  passive.Set("targets", std::move(targets));
  passive.Set("description", nagios.Describe());
  supervisor.AddCapability("passive_results", std::move(passive));
}

}  // namespace

int main(int argc, char** argv) {
  vigil::Supervisor::Options options;
  options.config_path = "/etc/vigil/vigil.yaml";
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char* flag) -> const char* {
      std::string prefix = std::string(flag) + "=";
      if (arg.rfind(prefix, 0) == 0) return argv[i] + prefix.size();
      if (arg == flag && i + 1 < argc) return argv[++i];
      return nullptr;
    };
    if (arg == "--check-config") {
      check_only = true;
    } else if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (arg.rfind("--config", 0) == 0) {
      const char* v = value("--config");
      if (v == nullptr) return Usage("argument --config: expected a file path");
      options.config_path = v;
    } else if (arg.rfind("--event-backend", 0) == 0) {
      const char* v = value("--event-backend");
      std::string b = v ? v : "";
      if (b == "auto") options.backend = vigil::EventLoop::Backend::kAuto;
      else if (b == "io_uring") options.backend = vigil::EventLoop::Backend::kIoUring;
      else if (b == "epoll") options.backend = vigil::EventLoop::Backend::kEpoll;
      else return Usage("argument --event-backend: expected auto, io_uring or epoll, got \"" + b + "\"");
    } else {
      return Usage("unknown argument \"" + arg + "\"");
    }
  }
  auto config = vigil::config::LoadConfig(
      options.config_path,
      {.psi_window_needs_2s_multiple = !vigil::watch::HasCapSysResource()});
  if (!config.ok()) {
    std::cerr << config.status().message() << "\n";
    return 1;
  }
  if (check_only) {
    std::cout << options.config_path << ": OK (" << config->units.size() << " units)\n";
    return 0;
  }
  const vigil::config::MainConfig main_config = config->main;
  // Declared first so it outlives the Supervisor, which notifies its unit
  // listeners until its destructor ends.
  std::unique_ptr<vigil::maze::MazeService> maze;
  std::unique_ptr<vigil::passive::NagiosService> nagios;
  if (auto raised = vigil::RaiseOpenFileLimit(); !raised.ok()) {
    std::cerr << "vigild: warning: " << raised.status().message() << "\n";
  }
  auto supervisor = vigil::Supervisor::Create(options, *std::move(config));
  if (!supervisor.ok()) {
    std::cerr << "vigild: " << supervisor.status().message() << "\n";
    return 1;
  }
  // MAZE (runaway watches, vigilctl maze): must exist before any thread starts.
  auto maze_service = vigil::maze::MazeService::Create(**supervisor, main_config.log_level);
  if (!maze_service.ok()) {
    std::cerr << "vigild: MAZE: " << maze_service.status().message() << "\n";
    return 1;
  }
  maze = *std::move(maze_service);
  (*supervisor)->AddUnitListener(maze.get());
  // rlimit-events API: also before any thread starts (its timer signal).
  auto rlimit_events = vigil::rlimit::RlimitEventsService::Create(
      (*supervisor)->loop(),
      vigil::rlimit::RlimitEventsService::OptionsFromConfig(main_config.rlimit_events));
  if (!rlimit_events.ok()) {
    std::cerr << "vigild: rlimit-events: " << rlimit_events.status().message() << "\n";
    return 1;
  }
  vigil::Logger log;
  log.set_level(main_config.log_level);
  log.Info((*rlimit_events)->Describe());
  log.Info((*rlimit_events)->DescribeFdBackend());
  // check_vigil (issue 8): the process table behind "procs", and passive
  // results to Nagios, send_nsca and Icinga 2 (also before any thread starts:
  // libcurl's global initialisation).
  auto proctable = vigil::proctable::ProcTableService::Start();
  log.Info(proctable->Describe());
  (*supervisor)->RegisterCommand(
      "procs", [&proctable](const vigil::json::Value& r) { return proctable->HandleProcs(r); });
  auto nagios_service =
      vigil::passive::NagiosService::Create((*supervisor)->loop(), main_config.nagios, log);
  if (!nagios_service.ok()) {
    std::cerr << "vigild: nagios: " << nagios_service.status().message() << "\n";
    return 1;
  }
  nagios = *std::move(nagios_service);
  (*supervisor)->AddUnitListener(nagios.get());
  (*supervisor)->AddEventListener([n = nagios.get()](const vigil::Event& e) { n->OnEvent(e); });
  (*supervisor)->RegisterCommand(
      "nagios", [n = nagios.get()](const vigil::json::Value& r) { return n->HandleNagios(r); });
  log.Info(nagios->Describe());
  AddServiceCapabilities(**supervisor, *maze, **rlimit_events, main_config.rlimit_events.socket,
                         *proctable, *nagios);
  absl::Status status = (*supervisor)->Run();
  nagios->Shutdown();
  if (!status.ok()) {
    std::cerr << "vigild: " << status.message() << "\n";
    return 1;
  }
  return 0;
}
