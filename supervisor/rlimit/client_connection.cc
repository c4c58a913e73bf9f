#include "supervisor/rlimit/client_connection.h"

#include <poll.h>
#include <time.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "supervisor/rlimit/wire.h"

namespace vigil::rlimit {

absl::StatusOr<std::unique_ptr<ClientConnection>> ClientConnection::Create(
    EventLoop& loop, UniqueFd socket, uint64_t id, size_t queue_limit,
    Handlers handlers) {
  ucred peer{};
  socklen_t size = sizeof peer;
  if (getsockopt(socket.get(), SOL_SOCKET, SO_PEERCRED, &peer, &size) < 0) {
    return ErrnoStatus("SO_PEERCRED of an rlimit-events client", errno);
  }
  std::unique_ptr<ClientConnection> connection(new ClientConnection(
      loop, std::move(socket), id, queue_limit, peer, std::move(handlers)));
  connection->UpdateInterest();
  if (connection->closed_) {
    return absl::InternalError("cannot register an rlimit-events client with the event loop");
  }
  return connection;
}

ClientConnection::ClientConnection(EventLoop& loop, UniqueFd socket, uint64_t id,
                                   size_t queue_limit, ucred peer, Handlers handlers)
    : loop_(loop), socket_(std::move(socket)), id_(id),
      queue_limit_(queue_limit), peer_(peer), handlers_(std::move(handlers)) {}

ClientConnection::~ClientConnection() {
  if (interest_ != 0) loop_.Remove(watch_);
}

void ClientConnection::SendReply(std::string record) {
  Enqueue(std::move(record));
}

void ClientConnection::SendEvent(const rle_event& event) {
  AddOverflowEventIfRoom();
  if (queue_.size() >= queue_limit_) {
    ++lost_;
    return;
  }
  Enqueue(EncodeEvent(event));
}

void ClientConnection::AddOverflowEventIfRoom() {
  if (lost_ == 0 || queue_.size() >= queue_limit_) return;
  rle_event overflow{};
  overflow.type = RLE_EV_OVERFLOW;
  overflow.lost = lost_;
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  overflow.time_ns = now.tv_sec * 1'000'000'000LL + now.tv_nsec;
  lost_ = 0;
  Enqueue(EncodeEvent(overflow));
}

void ClientConnection::Enqueue(std::string record) {
  if (closed_ || broken_) return;
  queue_.push_back(std::move(record));
  if (queue_.size() == 1 && !Flush()) {
    // The peer is gone; the loop reports POLLHUP/POLLERR and Close() runs
    // from there, never from inside another client's request.
    broken_ = true;
    queue_.clear();
  }
  UpdateInterest();
}

bool ClientConnection::Flush() {
  while (!queue_.empty()) {
    const std::string& record = queue_.front();
    ssize_t n = send(socket_.get(), record.data(), record.size(),
                     MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN;
    }
    queue_.pop_front();
  }
  return true;
}

void ClientConnection::UpdateInterest() {
  if (closed_) return;
  uint32_t wanted = 0;
  if (queue_.size() < queue_limit_) wanted |= POLLIN;
  if (!queue_.empty()) wanted |= POLLOUT;
  if (wanted == interest_) return;
  if (interest_ != 0) loop_.Remove(watch_);
  interest_ = 0;
  if (wanted == 0) return;
  absl::StatusOr<EventLoop::WatchId> watch =
      loop_.Add(socket_.get(), wanted, [this](uint32_t revents) { OnReady(revents); });
  if (!watch.ok()) {
    closed_ = true;
    return;
  }
  watch_ = *watch;
  interest_ = wanted;
}

void ClientConnection::OnReady(uint32_t revents) {
  if (revents & POLLOUT) {
    if (!Flush()) return Close();
    AddOverflowEventIfRoom();
  }
  if (revents & POLLIN) {
    // Up to a batch per wakeup, so one busy client cannot starve the others.
    char record[RLE_MAX_MESSAGE];
    for (int i = 0; i < 64 && queue_.size() < queue_limit_; ++i) {
      ssize_t n = recv(socket_.get(), record, sizeof record, MSG_DONTWAIT | MSG_TRUNC);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      if (n <= 0) return Close();
      handlers_.on_record(*this,
                          absl::string_view(record, std::min<size_t>(n, sizeof record)), n);
      if (closed_) return;
    }
  } else if (revents & (POLLHUP | POLLERR)) {
    return Close();
  }
  UpdateInterest();
}

void ClientConnection::Close() {
  if (closed_) return;
  closed_ = true;
  if (interest_ != 0) loop_.Remove(watch_);
  interest_ = 0;
  handlers_.on_closed(*this);  // may destroy *this: nothing after
}

}  // namespace vigil::rlimit
