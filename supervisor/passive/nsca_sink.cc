#include "supervisor/passive/nsca_sink.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/errno_status.h"
#include "common/status_macros.h"
#include "supervisor/pidfd_source.h"
#include "supervisor/unique_fd.h"

extern char** environ;

namespace vigil::passive {

struct NscaSink::Run {
  explicit Run(PidfdSource c) : child(std::move(c)) {}
  PidfdSource child;  // the command, leader of its own session
  UniqueFd stdin_fd;  // the only write end of the command's stdin
  EventLoop::WatchId stdin_watch = 0;
  EventLoop::WatchId exit_watch = 0;
  TimerQueue::TimerId timer = 0;
  std::string pending;  // bytes not yet written to stdin
  size_t count = 0;
  Done done;
};

NscaSink::NscaSink(EventLoop& loop, TimerQueue& timers, Spawner spawner,
                   std::vector<std::string> argv, std::chrono::milliseconds timeout)
    : loop_(loop),
      timers_(timers),
      spawner_(spawner),
      argv_(std::move(argv)),
      timeout_(timeout) {}

NscaSink::~NscaSink() {
  for (auto& [key, run] : killed_) Forget(*run);
  if (!run_) return;
  kill(-run_->child.pid(), SIGKILL);
  Forget(*run_);
  Finish(absl::CancelledError("vigild is stopping"));
}

std::string NscaSink::name() const { return absl::StrCat("nsca (", absl::StrJoin(argv_, " "), ")"); }

absl::StatusOr<std::unique_ptr<NscaSink::Run>> NscaSink::Start(std::string input) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return ErrnoStatus("pipe2 for send_nsca's stdin", errno);
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);
  // vigild's end only: the command's stdin stays blocking.
  if (fcntl(write_end.get(), F_SETFL, O_NONBLOCK) != 0) {
    return ErrnoStatus("fcntl O_NONBLOCK on send_nsca's stdin", errno);
  }
  SpawnRequest request;
  request.argv = argv_;
  request.stdin_fd = read_end.get();  // stdout and stderr: /dev/null
  for (char** e = environ; *e != nullptr; ++e) request.env.emplace_back(*e);
  ASSIGN_OR_RETURN(PidfdSource child, spawner_.Spawn(request));
  auto run = std::make_unique<Run>(std::move(child));
  run->stdin_fd = std::move(write_end);
  run->pending = std::move(input);
  return run;
}

void NscaSink::Deliver(const std::vector<PassiveResult>& batch, Done done) {
  absl::StatusOr<std::unique_ptr<Run>> started = Start(NscaInput(batch));
  if (!started.ok()) {
    done(0, started.status());
    return;
  }
  run_ = *std::move(started);
  run_->count = batch.size();
  run_->done = std::move(done);
  Run* run = run_.get();
  auto exit_watch = loop_.Add(run->child.fd(), POLLIN, [this, run](uint32_t) { OnExit(run); });
  auto stdin_watch = loop_.Add(run->stdin_fd.get(), POLLOUT, [this](uint32_t) {
    OnStdinWritable();
  });
  if (exit_watch.ok()) run->exit_watch = *exit_watch;
  if (stdin_watch.ok()) run->stdin_watch = *stdin_watch;
  run->timer = timers_.ScheduleAfter(timeout_, [this] { OnTimeout(); });
  if (!exit_watch.ok() || !stdin_watch.ok()) {
    // Without its watches the command could only time out: end it now.
    kill(-run->child.pid(), SIGKILL);
    Finish(!exit_watch.ok() ? exit_watch.status() : stdin_watch.status());
  }
}

void NscaSink::OnStdinWritable() {
  Run& run = *run_;
  while (!run.pending.empty()) {
    const ssize_t n = write(run.stdin_fd.get(), run.pending.data(), run.pending.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;  // called again when there is room
    if (n < 0) break;  // EPIPE: the command exited early; its status says why
    run.pending.erase(0, static_cast<size_t>(n));
  }
  // All written (or nobody reads any more): EOF tells send_nsca to send.
  loop_.Remove(run.stdin_watch);
  run.stdin_watch = 0;
  run.stdin_fd.reset();
}

absl::Status NscaSink::DeliveryStatus(const ExitStatus& exit) const {
  if (!exit.known) {
    return absl::InternalError(absl::StrCat(argv_[0], " ended without a status vigild could collect"));
  }
  if (exit.success()) return absl::OkStatus();
  if (exit.signaled) {
    return absl::UnavailableError(absl::StrCat(argv_[0], " was killed by signal ", exit.signal));
  }
  return absl::UnavailableError(absl::StrCat(argv_[0], " exited with status ", exit.code));
}

void NscaSink::OnExit(Run* run) {
  const ExitStatus exit = run->child.Reap();
  if (run != run_.get()) {  // killed on timeout, already reported
    Forget(*run);
    killed_.erase(run);
    return;
  }
  Finish(DeliveryStatus(exit));
}

void NscaSink::OnTimeout() {
  std::unique_ptr<Run> run = std::move(run_);
  run->timer = 0;
  // Not yet reaped, so the pid still names the command's session.
  kill(-run->child.pid(), SIGKILL);
  if (run->stdin_watch != 0) loop_.Remove(run->stdin_watch);
  run->stdin_watch = 0;
  run->stdin_fd.reset();
  Done done = std::move(run->done);
  // Its exit watch stays and reaps it once it is gone.
  Run* key = run.get();
  killed_.emplace(key, std::move(run));
  done(0, absl::DeadlineExceededError(absl::StrCat(
              argv_[0], " did not finish within ", timeout_.count(), "ms (killed)")));
}

void NscaSink::Finish(absl::Status status) {
  std::unique_ptr<Run> run = std::move(run_);
  Forget(*run);
  const size_t delivered = status.ok() ? run->count : 0;
  run->done(delivered, std::move(status));
}

// Drops the run's watches and timer (its pidfd closes with it).
void NscaSink::Forget(Run& run) {
  if (run.stdin_watch != 0) loop_.Remove(run.stdin_watch);
  if (run.exit_watch != 0) loop_.Remove(run.exit_watch);
  if (run.timer != 0) timers_.Cancel(run.timer);
  run.stdin_watch = run.exit_watch = 0;
  run.timer = 0;
}

}  // namespace vigil::passive
