#include "supervisor/rlimit/rlimit_service.h"

#include <poll.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <csignal>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "supervisor/rlimit/module_fd_counter.h"

namespace vigil::rlimit {

namespace {

int64_t RealtimeNs() {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  return now.tv_sec * 1'000'000'000LL + now.tv_nsec;
}

// A MAZE count grows no faster than the process clock, but a level closer
// than this is looked at this much later: it bounds the checks near a level
// (as MazeDetector::kMinCheckInterval does for MAZE limits).
constexpr absl::Duration kMinMazeCheck = maze::MazeDetector::kMinCheckInterval;

}  // namespace

int ErrnoFor(const absl::Status& status, rle_msg_type type) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 0;
    case absl::StatusCode::kInvalidArgument:
      return EINVAL;
    case absl::StatusCode::kNotFound:
      return type == RLE_MSG_REMOVE_WATCH ? ENOENT : ESRCH;
    case absl::StatusCode::kPermissionDenied:
      return EPERM;
    case absl::StatusCode::kAlreadyExists:
      return EEXIST;
    case absl::StatusCode::kResourceExhausted:
      return EDQUOT;
    case absl::StatusCode::kUnimplemented:
      return EOPNOTSUPP;
    default:
      return EIO;
  }
}

RlimitEventsService::Options RlimitEventsService::OptionsFromConfig(
    const config::RlimitEventsConfig& config) {
  Options options;
  options.socket_path = config.socket;
  options.socket_mode = config.socket_mode;
  options.socket_group = config.group;
  options.max_watches_per_client = static_cast<size_t>(config.max_watches);
  options.queue_limit = static_cast<size_t>(config.queue);
  options.cpu_tick = absl::FromChrono(config.cpu_tick);
  options.timer_signal = SIGRTMIN + 3;
  return options;
}

absl::StatusOr<std::unique_ptr<RlimitEventsService>> RlimitEventsService::Create(
    EventLoop& loop, Options options) {
  if (options.queue_limit == 0 || options.max_watches_per_client == 0 ||
      options.cpu_tick <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "rlimit-events: queue, max_watches and cpu_tick must be positive");
  }
  ASSIGN_OR_RETURN(maze::CpuTimerSignals signals,
                   maze::CpuTimerSignals::Create(options.timer_signal));
  ASSIGN_OR_RETURN(ListeningSocket listener,
                   ListeningSocket::Bind(options.socket_path, options.socket_mode,
                                         options.socket_group));
  std::unique_ptr<RlimitEventsService> service(new RlimitEventsService(
      loop, std::move(options), std::move(listener), std::move(signals)));
  RETURN_IF_ERROR(service->Register());
  return service;
}

RlimitEventsService::RlimitEventsService(EventLoop& loop, Options options,
                                         ListeningSocket listener,
                                         maze::CpuTimerSignals signals)
    : loop_(loop),
      options_(std::move(options)),
      listener_(std::move(listener)),
      signals_(std::move(signals)),
      table_(options_.max_watches_per_client) {}

RlimitEventsService::~RlimitEventsService() {
  clients_.clear();
  for (auto& [pid, process] : processes_) loop_.Remove(process->exit_watch);
  for (EventLoop::WatchId id : own_watches_) loop_.Remove(id);
}

absl::Status RlimitEventsService::Register() {
  FdCountBackend::CountSink sink = [this](pid_t pid, int64_t count) {
    OnFdCount(pid, count);
  };
  fds_ = options_.fd_backend ? options_.fd_backend(loop_, std::move(sink))
                             : OpenFdCountBackend(loop_, std::move(sink));
  ASSIGN_OR_RETURN(EventLoop::WatchId accept,
                   loop_.Add(listener_.fd(), POLLIN, [this](uint32_t) { OnAccept(); }));
  own_watches_.push_back(accept);
  ASSIGN_OR_RETURN(EventLoop::WatchId timers,
                   loop_.Add(signals_.fd(), POLLIN, [this](uint32_t) { OnTimerSignals(); }));
  own_watches_.push_back(timers);
  return absl::OkStatus();
}

std::string RlimitEventsService::Describe() const {
  return absl::StrFormat(
      "rlimit-events: socket %s (mode %04o%s), wire version %d; fds: %s; RSS, "
      "threads, CPU and MAZE count read on the process's CPU ticks of %s "
      "(timer signal SIGRTMIN+%d); at most %d watches and %d queued records "
      "per client",
      listener_.path(), options_.socket_mode,
      options_.socket_group.empty() ? "" : ", group " + options_.socket_group,
      RLE_WIRE_VERSION, fds_->Describe(), absl::FormatDuration(options_.cpu_tick),
      options_.timer_signal - SIGRTMIN, options_.max_watches_per_client,
      options_.queue_limit);
}

std::string RlimitEventsService::DescribeFdBackend() const {
  return absl::StrCat("rlimit-events: open-fd watches use the ",
                      fds_->sampled() ? "userspace backend: " : "exact backend: ",
                      fds_->Describe());
}

void RlimitEventsService::OnAccept() {
  for (UniqueFd socket = listener_.Accept(); socket.valid(); socket = listener_.Accept()) {
    uint64_t id = next_connection_++;
    ClientConnection::Handlers handlers{
        [this](ClientConnection& c, absl::string_view record, size_t received) {
          OnRecord(c, record, received);
        },
        [this](ClientConnection& c) { OnClosed(c); }};
    auto client = ClientConnection::Create(loop_, std::move(socket), id,
                                           options_.queue_limit, std::move(handlers));
    if (client.ok()) clients_.emplace(id, *std::move(client));
  }
}

void RlimitEventsService::OnRecord(ClientConnection& client, absl::string_view record,
                                   size_t received) {
  std::variant<Request, Rejection> decoded = DecodeRequest(record, received);
  if (const auto* rejection = std::get_if<Rejection>(&decoded)) {
    client.SendReply(EncodeReply(rejection->seq, rejection->error, rejection->message));
    return;
  }
  const Request& request = std::get<Request>(decoded);
  bool add = request.type == RLE_MSG_ADD_WATCH;
  absl::Status status = add ? Add(client, request.watch) : Remove(client, request.watch);
  client.SendReply(EncodeReply(request.seq, ErrnoFor(status, request.type),
                               status.ok() ? "ok" : std::string(status.message())));
  // The new watch's first reading: a usage already past its level is
  // reported now.
  if (add && status.ok()) Sample(request.watch.pid);
}

absl::Status RlimitEventsService::Add(ClientConnection& client, const rle_watch& watch) {
  if (!IsKnownResource(watch.resource)) {
    return absl::UnimplementedError(absl::StrFormat(
        "unknown resource %d (known: cpu %d, rss %d, tasks %d, nofile %d, maze %d)",
        watch.resource, RLE_RES_CPU, RLE_RES_RSS, RLE_RES_TASKS, RLE_RES_NOFILE,
        RLE_RES_MAZE));
  }
  RETURN_IF_ERROR(WatchTable::Validate(watch));
  ASSIGN_OR_RETURN(Process * process, FindOrOpen(watch.pid));
  absl::Status status = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(StatusReading reading, process->process.ReadStatus());
    RETURN_IF_ERROR(MayWatch(client.peer().uid, watch.pid, reading.uids));
    if (watch.resource == RLE_RES_NOFILE) RETURN_IF_ERROR(fds_->Track(watch.pid));
    RETURN_IF_ERROR(table_.Add(client.id(), watch));
    if (watch.resource != RLE_RES_NOFILE) return absl::OkStatus();
    return fds_->SetLevels(watch.pid, table_.CrossingPoints(watch.pid, RLE_RES_NOFILE));
  }();
  if (status.ok()) return status;
  if (status.code() == absl::StatusCode::kNotFound) {
    // It exited during the request: its other watchers learn it now.
    OnExit(watch.pid);
  } else if (!table_.HasProcess(watch.pid)) {
    Forget(watch.pid);
  }
  return status;
}

absl::Status RlimitEventsService::Remove(ClientConnection& client, const rle_watch& watch) {
  bool last = false;
  RETURN_IF_ERROR(table_.Remove(client.id(), watch, &last));
  if (last) {
    Forget(watch.pid);
  } else if (watch.resource == RLE_RES_NOFILE) {
    return fds_->SetLevels(watch.pid, table_.CrossingPoints(watch.pid, RLE_RES_NOFILE));
  }
  return absl::OkStatus();
}

void RlimitEventsService::OnClosed(ClientConnection& client) {
  ConnectionId id = client.id();
  for (pid_t pid : table_.RemoveConnection(id)) {
    if (!table_.HasProcess(pid)) {
      Forget(pid);
    } else {
      // Best effort: a failure here means the process is exiting, which its
      // pidfd reports.
      fds_->SetLevels(pid, table_.CrossingPoints(pid, RLE_RES_NOFILE)).IgnoreError();
    }
  }
  clients_.erase(id);  // destroys `client`
}

absl::StatusOr<RlimitEventsService::Process*> RlimitEventsService::FindOrOpen(pid_t pid) {
  if (auto it = processes_.find(pid); it != processes_.end()) return it->second.get();
  uint64_t cookie = next_cookie_++;
  ASSIGN_OR_RETURN(WatchedProcess process,
                   WatchedProcess::Open(pid, options_.timer_signal, cookie));
  auto entry = std::make_unique<Process>(Process{std::move(process), cookie, 0});
  ASSIGN_OR_RETURN(entry->exit_watch,
                   loop_.Add(entry->process.pidfd(), POLLIN,
                             [this, pid](uint32_t) { OnExit(pid); }));
  cookies_[cookie] = pid;
  return processes_.emplace(pid, std::move(entry)).first->second.get();
}

void RlimitEventsService::Sample(pid_t pid) {
  auto it = processes_.find(pid);
  if (it == processes_.end()) return;
  WatchedProcess& process = it->second->process;
  const int64_t now = RealtimeNs();
  std::vector<Notice> notices;
  std::optional<absl::Duration> next;
  auto sooner = [&](absl::Duration d) { next = next ? std::min(*next, d) : d; };
  auto update = [&](uint32_t resource, int64_t value) {
    std::vector<Notice> crossed = table_.Update(pid, resource, value, now);
    notices.insert(notices.end(), crossed.begin(), crossed.end());
  };
  absl::Status status = [&]() -> absl::Status {
    if (table_.Watches(pid, RLE_RES_NOFILE)) {
      ASSIGN_OR_RETURN(int64_t fds, fds_->Count(pid));
      update(RLE_RES_NOFILE, fds);
      // An exact backend reports later changes itself.
      if (fds_->sampled()) sooner(options_.cpu_tick);
    }
    if (table_.Watches(pid, RLE_RES_RSS) || table_.Watches(pid, RLE_RES_TASKS)) {
      ASSIGN_OR_RETURN(StatusReading reading, process.ReadStatus());
      update(RLE_RES_RSS, reading.rss_bytes);
      update(RLE_RES_TASKS, reading.threads);
      sooner(options_.cpu_tick);
    }
    if (table_.Watches(pid, RLE_RES_CPU)) {
      ASSIGN_OR_RETURN(int64_t cpu, process.CpuTimeNs());
      update(RLE_RES_CPU, cpu);
      if (auto level = table_.LowestLevelBelow(pid, RLE_RES_CPU)) {
        sooner(absl::Nanoseconds(*level - cpu));
      }
    }
    if (table_.Watches(pid, RLE_RES_MAZE)) {
      ASSIGN_OR_RETURN(int64_t count, process.MazeCountNs());
      update(RLE_RES_MAZE, count);
      // A count falls only when its thread blocks, which shows at a sample.
      if (table_.AnyAbove(pid, RLE_RES_MAZE)) sooner(options_.cpu_tick);
      if (auto level = table_.LowestLevelBelow(pid, RLE_RES_MAZE)) {
        sooner(std::max(absl::Nanoseconds(*level - count), kMinMazeCheck));
      }
    }
    return process.ArmAfter(next);
  }();
  Deliver(notices);
  if (status.ok()) return;
  if (process.Exited()) {
    // The pidfd reports it too, but the watchers may as well learn it now.
    OnExit(pid);
  } else {
    // A reading failed for another reason: try again a tick later rather
    // than fall silent.
    process.ArmAfter(options_.cpu_tick).IgnoreError();
  }
}

void RlimitEventsService::OnTimerSignals() {
  absl::StatusOr<std::vector<uint64_t>> fired = signals_.ReadFired();
  if (!fired.ok()) return;
  absl::flat_hash_set<pid_t> pids;
  for (uint64_t cookie : *fired) {
    // Timers deleted after firing leave cookies nobody owns any more.
    if (auto it = cookies_.find(cookie); it != cookies_.end()) pids.insert(it->second);
  }
  for (pid_t pid : pids) Sample(pid);
}

void RlimitEventsService::OnFdCount(pid_t pid, int64_t count) {
  Deliver(table_.Update(pid, RLE_RES_NOFILE, count, RealtimeNs()));
}

void RlimitEventsService::OnExit(pid_t pid) {
  // Crossings the process made before it exited go out before its exit.
  fds_->Flush();
  std::vector<Notice> notices = table_.RemoveProcess(pid, RealtimeNs());
  Forget(pid);
  Deliver(notices);
}

void RlimitEventsService::Forget(pid_t pid) {
  auto it = processes_.find(pid);
  if (it == processes_.end()) return;
  loop_.Remove(it->second->exit_watch);
  cookies_.erase(it->second->cookie);
  fds_->Untrack(pid);
  processes_.erase(it);
}

void RlimitEventsService::Deliver(const std::vector<Notice>& notices) {
  for (const Notice& notice : notices) {
    if (auto it = clients_.find(notice.connection); it != clients_.end()) {
      it->second->SendEvent(notice.event);
    }
  }
}

}  // namespace vigil::rlimit
