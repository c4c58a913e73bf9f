#include "supervisor/passive/nsca_sink.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/errno_status.h"

namespace vigil::passive {

struct NscaSink::Run {
  pid_t helper = -1;  // the intermediate child, leader of its process group
  UniqueFd stdin_fd;
  UniqueFd status_fd;
  EventLoop::WatchId stdin_watch = 0;
  EventLoop::WatchId status_watch = 0;
  TimerQueue::TimerId timer = 0;
  std::string pending;  // bytes not yet written to stdin
  size_t count = 0;
  Done done;
};

namespace {

// In the intermediate child (async-signal-safe calls only): runs argv with
// `input` as stdin and /dev/null as stdout and stderr, waits for it and
// writes its wait status to `report`.
[[noreturn]] void RunAndReport(const std::vector<char*>& argv, int input, int report) {
  setpgid(0, 0);
  const pid_t child = fork();
  if (child == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);  // vigild blocks its signals
    dup2(input, STDIN_FILENO);
    const int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, STDOUT_FILENO);
    dup2(devnull, STDERR_FILENO);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  close(input);
  int status = 127 << 8;
  if (child > 0) {
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
  }
  ssize_t ignored = write(report, &status, sizeof(status));
  (void)ignored;
  _exit(0);
}

}  // namespace

NscaSink::NscaSink(EventLoop& loop, TimerQueue& timers, std::vector<std::string> argv,
                   std::chrono::milliseconds timeout)
    : loop_(loop), timers_(timers), argv_(std::move(argv)), timeout_(timeout) {}

NscaSink::~NscaSink() {
  if (!run_) return;
  kill(-run_->helper, SIGKILL);
  waitpid(run_->helper, nullptr, 0);
  Finish(absl::CancelledError("vigild is stopping"));
}

std::string NscaSink::name() const { return absl::StrCat("nsca (", absl::StrJoin(argv_, " "), ")"); }

void NscaSink::Deliver(const std::vector<PassiveResult>& batch, Done done) {
  int input[2], report[2];
  if (pipe2(input, O_CLOEXEC) != 0) {
    done(0, ErrnoStatus("pipe2 for send_nsca's stdin", errno));
    return;
  }
  if (pipe2(report, O_CLOEXEC) != 0) {
    close(input[0]);
    close(input[1]);
    done(0, ErrnoStatus("pipe2 for send_nsca's status", errno));
    return;
  }
  std::vector<char*> argv;
  for (std::string& arg : argv_) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t helper = fork();
  if (helper == 0) {
    close(input[1]);
    close(report[0]);
    RunAndReport(argv, input[0], report[1]);
  }
  const int fork_errno = errno;
  close(input[0]);
  close(report[1]);
  auto run = std::make_unique<Run>();
  run->stdin_fd.reset(input[1]);
  run->status_fd.reset(report[0]);
  if (helper < 0) {
    done(0, ErrnoStatus("fork for send_nsca", fork_errno));
    return;
  }
  run->helper = helper;
  run->pending = NscaInput(batch);
  run->count = batch.size();
  run->done = std::move(done);
  fcntl(run->stdin_fd.get(), F_SETFL, O_NONBLOCK);
  run_ = std::move(run);
  auto status_watch = loop_.Add(run_->status_fd.get(), POLLIN, [this](uint32_t) { OnStatus(); });
  auto stdin_watch =
      loop_.Add(run_->stdin_fd.get(), POLLOUT, [this](uint32_t) { OnStdinWritable(); });
  if (!status_watch.ok() || !stdin_watch.ok()) {
    if (status_watch.ok()) run_->status_watch = *status_watch;
    if (stdin_watch.ok()) run_->stdin_watch = *stdin_watch;
    kill(-helper, SIGKILL);
    Finish(!status_watch.ok() ? status_watch.status() : stdin_watch.status());
    return;
  }
  run_->status_watch = *status_watch;
  run_->stdin_watch = *stdin_watch;
  run_->timer = timers_.ScheduleAfter(timeout_, [this] { OnTimeout(); });
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

void NscaSink::OnStatus() {
  int status = 0;
  const ssize_t n = read(run_->status_fd.get(), &status, sizeof(status));
  if (n < 0 && errno == EINTR) return;
  // The helper has written its last byte and is exiting: reaping it now does
  // not wait (ECHILD if vigild's orphan reaper was first).
  waitpid(run_->helper, nullptr, 0);
  if (n != sizeof(status)) {
    Finish(absl::InternalError(absl::StrCat(name(), " ended without reporting a status")));
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    Finish(absl::OkStatus());
  } else if (WIFEXITED(status)) {
    Finish(absl::UnavailableError(
        absl::StrCat(argv_[0], " exited with status ", WEXITSTATUS(status))));
  } else {
    Finish(absl::UnavailableError(
        absl::StrCat(argv_[0], " was killed by signal ", WTERMSIG(status))));
  }
}

void NscaSink::OnTimeout() {
  run_->timer = 0;
  kill(-run_->helper, SIGKILL);
  waitpid(run_->helper, nullptr, 0);
  Finish(absl::DeadlineExceededError(
      absl::StrCat(argv_[0], " did not finish within ", timeout_.count(), "ms")));
}

void NscaSink::Finish(absl::Status status) {
  std::unique_ptr<Run> run = std::move(run_);
  if (run->stdin_watch != 0) loop_.Remove(run->stdin_watch);
  if (run->status_watch != 0) loop_.Remove(run->status_watch);
  if (run->timer != 0) timers_.Cancel(run->timer);
  const size_t delivered = status.ok() ? run->count : 0;
  run->done(delivered, std::move(status));
}

}  // namespace vigil::passive
