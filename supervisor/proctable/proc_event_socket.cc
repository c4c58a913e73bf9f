#include "supervisor/proctable/proc_event_socket.h"

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "common/errno_status.h"

namespace vigil::proctable {
namespace {

// Room for a fork storm while the loop is busy elsewhere; forcing the size
// needs CAP_NET_ADMIN, which subscribing needs anyway.
constexpr int kReceiveBufferBytes = 8 << 20;

absl::Status SendMulticastOp(int fd, proc_cn_mcast_op op) {
  constexpr size_t kSize = NLMSG_LENGTH(sizeof(cn_msg) + sizeof(op));
  alignas(nlmsghdr) char request[kSize] = {};
  auto* header = reinterpret_cast<nlmsghdr*>(request);
  header->nlmsg_len = kSize;
  header->nlmsg_type = NLMSG_DONE;
  auto* message = static_cast<cn_msg*>(NLMSG_DATA(header));
  message->id.idx = CN_IDX_PROC;
  message->id.val = CN_VAL_PROC;
  message->len = sizeof(op);
  std::memcpy(message->data, &op, sizeof(op));
  if (send(fd, request, kSize, 0) != static_cast<ssize_t>(kSize)) {
    return ErrnoStatus("sending the proc connector subscription", errno);
  }
  return absl::OkStatus();
}

std::optional<ProcChange> Decode(const proc_event& e) {
  ProcChange c;
  switch (e.what) {
    case proc_event::PROC_EVENT_FORK:
      c.kind = ProcChange::Kind::kFork;
      c.pid = e.event_data.fork.child_pid;
      c.tgid = e.event_data.fork.child_tgid;
      c.parent_tgid = e.event_data.fork.parent_tgid;
      return c;
    case proc_event::PROC_EVENT_EXEC:
      c.kind = ProcChange::Kind::kExec;
      c.pid = e.event_data.exec.process_pid;
      c.tgid = e.event_data.exec.process_tgid;
      return c;
    case proc_event::PROC_EVENT_EXIT:
      c.kind = ProcChange::Kind::kExit;
      c.pid = e.event_data.exit.process_pid;
      c.tgid = e.event_data.exit.process_tgid;
      return c;
    case proc_event::PROC_EVENT_UID:
      c.kind = ProcChange::Kind::kUid;
      c.pid = e.event_data.id.process_pid;
      c.tgid = e.event_data.id.process_tgid;
      c.euid = e.event_data.id.e.euid;
      return c;
    case proc_event::PROC_EVENT_COMM:
      c.kind = ProcChange::Kind::kComm;
      c.pid = e.event_data.comm.process_pid;
      c.tgid = e.event_data.comm.process_tgid;
      c.comm.assign(e.event_data.comm.comm,
                    strnlen(e.event_data.comm.comm, sizeof(e.event_data.comm.comm)));
      return c;
    default:  // the subscription ack, gid/sid/ptrace/coredump changes
      return std::nullopt;
  }
}

void AppendChanges(const char* data, size_t size, std::vector<ProcChange>& out) {
  auto* header = reinterpret_cast<const nlmsghdr*>(data);
  for (int left = static_cast<int>(size); NLMSG_OK(header, left);
       header = NLMSG_NEXT(header, left)) {
    if (header->nlmsg_len < NLMSG_LENGTH(sizeof(cn_msg) + sizeof(proc_event))) {
      continue;
    }
    auto* message = static_cast<const cn_msg*>(NLMSG_DATA(header));
    if (message->id.idx != CN_IDX_PROC || message->id.val != CN_VAL_PROC) continue;
    proc_event event;
    std::memcpy(&event, message->data, sizeof(event));
    if (std::optional<ProcChange> change = Decode(event)) out.push_back(*change);
  }
}

}  // namespace

absl::StatusOr<ProcEventSocket> ProcEventSocket::Subscribe() {
  UniqueFd fd(socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                     NETLINK_CONNECTOR));
  if (!fd.valid()) return ErrnoStatus("socket(NETLINK_CONNECTOR)", errno);
  if (setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &kReceiveBufferBytes,
                 sizeof(kReceiveBufferBytes)) != 0) {
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &kReceiveBufferBytes,
               sizeof(kReceiveBufferBytes));
  }
  sockaddr_nl address{};
  address.nl_family = AF_NETLINK;
  address.nl_groups = CN_IDX_PROC;
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    const int err = errno;
    if (err == EPERM || err == EACCES) {
      return absl::PermissionDeniedError(
          "subscribing to proc connector events needs CAP_NET_ADMIN in the "
          "initial user namespace");
    }
    return ErrnoStatus("bind to the proc connector multicast group", err);
  }
  if (absl::Status sent = SendMulticastOp(fd.get(), PROC_CN_MCAST_LISTEN); !sent.ok()) {
    return sent;
  }
  return ProcEventSocket(std::move(fd));
}

ProcEventSocket::~ProcEventSocket() {
  // The kernel stops building events when its listener count drops to
  // zero; an unsubscribe keeps the count honest.
  if (fd_.valid()) SendMulticastOp(fd_.get(), PROC_CN_MCAST_IGNORE).IgnoreError();
}

absl::StatusOr<std::vector<ProcChange>> ProcEventSocket::Drain() {
  std::vector<ProcChange> changes;
  alignas(nlmsghdr) char buffer[32768];
  for (;;) {
    sockaddr_nl sender{};
    socklen_t sender_size = sizeof(sender);
    const ssize_t n = recvfrom(fd_.get(), buffer, sizeof(buffer), 0,
                               reinterpret_cast<sockaddr*>(&sender), &sender_size);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return changes;
      if (errno == ENOBUFS) {
        changes.push_back(ProcChange{});  // kLost
        continue;
      }
      return ErrnoStatus("reading proc connector events", errno);
    }
    if (sender.nl_pid != 0) continue;  // only the kernel speaks here
    AppendChanges(buffer, static_cast<size_t>(n), changes);
  }
}

}  // namespace vigil::proctable
