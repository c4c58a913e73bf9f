#include "supervisor/event_loop.h"

#include <liburing.h>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/errno_status.h"

namespace vigil {
namespace {

struct Watch {
  int fd;
  uint32_t events;
  EventLoop::Callback callback;
};

// user_data of poll-remove requests; their completions carry no work.
constexpr uint64_t kCancelTag = 1ull << 63;

class IoUringLoop final : public EventLoop {
 public:
  ~IoUringLoop() override { io_uring_queue_exit(&ring_); }

  static absl::StatusOr<std::unique_ptr<EventLoop>> Create() {
    auto loop = std::unique_ptr<IoUringLoop>(new IoUringLoop);
    int rc = io_uring_queue_init(256, &loop->ring_, 0);
    if (rc < 0) return ErrnoStatus("io_uring_queue_init", -rc);
    return std::unique_ptr<EventLoop>(std::move(loop));
  }

  absl::StatusOr<WatchId> Add(int fd, uint32_t poll_events,
                              Callback callback) override {
    WatchId id = next_id_++;
    watches_[id] = Watch{fd, poll_events, std::move(callback)};
    Arm(id, fd, poll_events);
    return id;
  }

  void Remove(WatchId id) override {
    if (watches_.erase(id) == 0) return;
    if (armed_.erase(id) == 0) return;
    io_uring_sqe* sqe = GetSqe();
    io_uring_prep_poll_remove(sqe, id);
    io_uring_sqe_set_data64(sqe, kCancelTag);
  }

  absl::Status RunOnce() override {
    io_uring_cqe* cqe = nullptr;
    int rc;
    do {
      rc = io_uring_submit_and_wait(&ring_, 1);
    } while (rc == -EINTR);
    if (rc < 0) return ErrnoStatus("io_uring_submit_and_wait", -rc);
    ++wakeups_;
    std::vector<std::pair<WatchId, int>> ready;
    unsigned head;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ready.emplace_back(io_uring_cqe_get_data64(cqe), cqe->res);
    }
    io_uring_cq_advance(&ring_, ready.size());
    for (auto [id, res] : ready) Dispatch(id, res);
    return absl::OkStatus();
  }

  const char* backend_name() const override { return "io_uring"; }

 private:
  IoUringLoop() = default;

  io_uring_sqe* GetSqe() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    while (sqe == nullptr) {  // submission queue full: flush and retry
      io_uring_submit(&ring_);
      sqe = io_uring_get_sqe(&ring_);
    }
    return sqe;
  }

  void Arm(WatchId id, int fd, uint32_t events) {
    io_uring_sqe* sqe = GetSqe();
    io_uring_prep_poll_add(sqe, fd, events);
    io_uring_sqe_set_data64(sqe, id);
    armed_.insert(id);
  }

  void Dispatch(WatchId id, int res) {
    if (id & kCancelTag) return;
    armed_.erase(id);
    auto it = watches_.find(id);
    if (it == watches_.end()) return;  // removed while in flight
    uint32_t revents = res < 0 ? POLLERR : static_cast<uint32_t>(res);
    // Copy: the callback may Remove() this watch and destroy the original.
    Callback callback = it->second.callback;
    callback(revents);
    it = watches_.find(id);
    if (it != watches_.end() && !armed_.contains(id)) {
      Arm(id, it->second.fd, it->second.events);
    }
  }

  io_uring ring_{};
  WatchId next_id_ = 1;
  absl::flat_hash_map<WatchId, Watch> watches_;
  absl::flat_hash_set<WatchId> armed_;
};

class EpollLoop final : public EventLoop {
 public:
  ~EpollLoop() override { close(epfd_); }

  static absl::StatusOr<std::unique_ptr<EventLoop>> Create() {
    int fd = epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) return ErrnoStatus("epoll_create1", errno);
    auto loop = std::unique_ptr<EpollLoop>(new EpollLoop(fd));
    return std::unique_ptr<EventLoop>(std::move(loop));
  }

  absl::StatusOr<WatchId> Add(int fd, uint32_t poll_events,
                              Callback callback) override {
    WatchId id = next_id_++;
    epoll_event ev{};
    ev.events = ToEpoll(poll_events);
    ev.data.u64 = id;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0) {
      return ErrnoStatus(absl::StrCat("epoll_ctl ADD fd ", fd), errno);
    }
    watches_[id] = Watch{fd, poll_events, std::move(callback)};
    return id;
  }

  void Remove(WatchId id) override {
    auto it = watches_.find(id);
    if (it == watches_.end()) return;
    epoll_ctl(epfd_, EPOLL_CTL_DEL, it->second.fd, nullptr);
    watches_.erase(it);
  }

  absl::Status RunOnce() override {
    epoll_event events[64];
    int n;
    do {
      n = epoll_wait(epfd_, events, 64, -1);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return ErrnoStatus("epoll_wait", errno);
    ++wakeups_;
    for (int i = 0; i < n; ++i) {
      auto it = watches_.find(events[i].data.u64);
      if (it == watches_.end()) continue;
      Callback callback = it->second.callback;
      callback(FromEpoll(events[i].events));
    }
    return absl::OkStatus();
  }

  const char* backend_name() const override { return "epoll"; }

 private:
  explicit EpollLoop(int fd) : epfd_(fd) {}

  static uint32_t ToEpoll(uint32_t poll_events) {
    uint32_t e = 0;
    if (poll_events & POLLIN) e |= EPOLLIN;
    if (poll_events & POLLPRI) e |= EPOLLPRI;
    if (poll_events & POLLOUT) e |= EPOLLOUT;
    return e;
  }
  static uint32_t FromEpoll(uint32_t e) {
    uint32_t r = 0;
    if (e & EPOLLIN) r |= POLLIN;
    if (e & EPOLLPRI) r |= POLLPRI;
    if (e & EPOLLOUT) r |= POLLOUT;
    if (e & EPOLLERR) r |= POLLERR;
    if (e & EPOLLHUP) r |= POLLHUP;
    return r;
  }

  int epfd_;
  WatchId next_id_ = 1;
  absl::flat_hash_map<WatchId, Watch> watches_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<EventLoop>> EventLoop::Create(
    Backend backend, std::string* fallback_reason) {
  if (backend == Backend::kEpoll) return EpollLoop::Create();
  auto ring = IoUringLoop::Create();
  if (ring.ok() || backend == Backend::kIoUring) return ring;
  if (fallback_reason != nullptr) *fallback_reason = ring.status().ToString();
  return EpollLoop::Create();
}

}  // namespace vigil
