// RlimitEventsService: the rlimit-events API served by vigild (issue 6, the
// RFC in ../shared/seeds/000_*.txt). Clients connect to a SOCK_SEQPACKET
// socket, add (pid, resource, level) watches and read crossing events
// (rlimit/rlimit_events.h documents the wire format).
//
// It owns the listening socket, every client connection, one WatchedProcess
// per watched pid (pidfd + /proc dir + CPU-time timer), and the signalfd of
// the timers' real-time signal; all of them are fds in vigild's EventLoop.
// Every wakeup has a cause: a client's message, a watched process's CPU tick
// or next CPU/MAZE level, or its exit. A process that sleeps costs nothing.
#ifndef VIGIL_SUPERVISOR_RLIMIT_RLIMIT_SERVICE_H_
#define VIGIL_SUPERVISOR_RLIMIT_RLIMIT_SERVICE_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "config/config.h"
#include "supervisor/event_loop.h"
#include "supervisor/maze/cpu_timer_signals.h"
#include "supervisor/rlimit/client_connection.h"
#include "supervisor/rlimit/fd_count_backend.h"
#include "supervisor/rlimit/listening_socket.h"
#include "supervisor/rlimit/watch_table.h"
#include "supervisor/rlimit/watched_process.h"
#include "supervisor/rlimit/wire.h"

namespace vigil::rlimit {

class RlimitEventsService {
 public:
  using BackendFactory = std::function<std::unique_ptr<FdCountBackend>(
      EventLoop&, FdCountBackend::CountSink)>;

  struct Options {
    std::string socket_path;
    int socket_mode = 0666;
    std::string socket_group;  // empty: vigild's
    size_t max_watches_per_client = 10000;
    size_t queue_limit = 1024;  // records waiting per client
    // How much CPU time of a watched process may pass between two readings
    // of its fds, RSS and threads.
    absl::Duration cpu_tick = absl::Milliseconds(10);
    int timer_signal = 0;  // SIGRTMIN+3 in vigild
    // Empty: OpenFdCountBackend (the kernel module's exact counts when
    // rlimit_noti is loaded, else the procfs backend).
    BackendFactory fd_backend;
  };

  // vigil.yaml's rlimit_events section; the timer signal is SIGRTMIN+3
  // (resource watches use +1, MAZE +2).
  static Options OptionsFromConfig(const config::RlimitEventsConfig& config);

  // Create before any thread starts (the timer signal is blocked here).
  static absl::StatusOr<std::unique_ptr<RlimitEventsService>> Create(EventLoop& loop,
                                                                     Options options);
  ~RlimitEventsService();

  // One line for vigild's startup report.
  std::string Describe() const;
  // One line for vigild's log at startup: which open-fd backend is in use
  // ("exact backend: kernel module rlimit_noti ..." or "userspace backend:
  // procfs ...", with the reason the module is not used).
  std::string DescribeFdBackend() const;

 private:
  struct Process {
    WatchedProcess process;
    uint64_t cookie;
    EventLoop::WatchId exit_watch;
  };

  RlimitEventsService(EventLoop& loop, Options options, ListeningSocket listener,
                      maze::CpuTimerSignals signals);
  absl::Status Register();

  void OnAccept();
  void OnRecord(ClientConnection& client, absl::string_view record, size_t received);
  void OnClosed(ClientConnection& client);
  absl::Status Add(ClientConnection& client, const rle_watch& watch);
  absl::Status Remove(ClientConnection& client, const rle_watch& watch);

  absl::StatusOr<Process*> FindOrOpen(pid_t pid);
  // Reads every watched resource of `pid`, delivers the crossings and arms
  // the next look.
  void Sample(pid_t pid);
  void OnTimerSignals();
  void OnFdCount(pid_t pid, int64_t count);
  void OnExit(pid_t pid);
  void Forget(pid_t pid);
  void Deliver(const std::vector<Notice>& notices);

  EventLoop& loop_;
  Options options_;
  ListeningSocket listener_;
  maze::CpuTimerSignals signals_;
  std::unique_ptr<FdCountBackend> fds_;
  WatchTable table_;
  std::vector<EventLoop::WatchId> own_watches_;
  absl::flat_hash_map<ConnectionId, std::unique_ptr<ClientConnection>> clients_;
  absl::flat_hash_map<pid_t, std::unique_ptr<Process>> processes_;
  absl::flat_hash_map<uint64_t, pid_t> cookies_;
  uint64_t next_connection_ = 1;
  uint64_t next_cookie_ = 1;
};

// The errno value a reply to a request of `type` carries for its status
// (NotFound is ESRCH for an add, a missing process; ENOENT for a remove).
int ErrnoFor(const absl::Status& status, rle_msg_type type);

}  // namespace vigil::rlimit

#endif  // VIGIL_SUPERVISOR_RLIMIT_RLIMIT_SERVICE_H_
