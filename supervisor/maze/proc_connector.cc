#include "supervisor/maze/proc_connector.h"

#include <arpa/inet.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <optional>
#include <utility>

#include "common/errno_status.h"

namespace vigil::maze {
namespace {

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

std::optional<ProcEvent> ToProcEvent(const proc_event& event) {
  ProcEvent out;
  switch (event.what) {
    case proc_event::PROC_EVENT_FORK:
      out.kind = ProcEvent::Kind::kFork;
      out.pid = event.event_data.fork.child_pid;
      out.tgid = event.event_data.fork.child_tgid;
      out.parent_pid = event.event_data.fork.parent_pid;
      out.parent_tgid = event.event_data.fork.parent_tgid;
      return out;
    case proc_event::PROC_EVENT_EXEC:
      out.kind = ProcEvent::Kind::kExec;
      out.pid = event.event_data.exec.process_pid;
      out.tgid = event.event_data.exec.process_tgid;
      return out;
    case proc_event::PROC_EVENT_EXIT:
      out.kind = ProcEvent::Kind::kExit;
      out.pid = event.event_data.exit.process_pid;
      out.tgid = event.event_data.exit.process_tgid;
      out.parent_pid = event.event_data.exit.parent_pid;
      out.parent_tgid = event.event_data.exit.parent_tgid;
      out.exit_code = event.event_data.exit.exit_code;
      return out;
    case proc_event::PROC_EVENT_UID:
      out.kind = ProcEvent::Kind::kUid;
      out.pid = event.event_data.id.process_pid;
      out.tgid = event.event_data.id.process_tgid;
      out.euid = event.event_data.id.e.euid;
      return out;
    case proc_event::PROC_EVENT_COMM:
      out.kind = ProcEvent::Kind::kComm;
      out.pid = event.event_data.comm.process_pid;
      out.tgid = event.event_data.comm.process_tgid;
      out.comm.assign(event.event_data.comm.comm,
                      strnlen(event.event_data.comm.comm,
                              sizeof(event.event_data.comm.comm)));
      return out;
    default:  // the subscription ack, gid/sid/ptrace/coredump changes
      return std::nullopt;
  }
}

void AppendEvents(const char* data, size_t size, std::vector<ProcEvent>& out) {
  auto* header = reinterpret_cast<const nlmsghdr*>(data);
  for (int left = static_cast<int>(size); NLMSG_OK(header, left);
       header = NLMSG_NEXT(header, left)) {
    if (header->nlmsg_len < NLMSG_LENGTH(sizeof(cn_msg) + sizeof(proc_event))) {
      continue;
    }
    auto* message = static_cast<const cn_msg*>(NLMSG_DATA(header));
    if (message->id.idx != CN_IDX_PROC || message->id.val != CN_VAL_PROC) {
      continue;
    }
    proc_event event;
    std::memcpy(&event, message->data, sizeof(event));
    if (std::optional<ProcEvent> converted = ToProcEvent(event)) {
      out.push_back(*std::move(converted));
    }
  }
}

// Each proc event is its own datagram: nlmsghdr, cn_msg, proc_event.
constexpr uint32_t kEventOffset = NLMSG_LENGTH(0) + offsetof(cn_msg, data);
constexpr uint32_t kWhatOffset = kEventOffset + offsetof(proc_event, what);
constexpr uint32_t kForkOffset =
    kEventOffset + offsetof(proc_event, event_data.fork);
constexpr uint32_t kParentTgidOffset =
    kForkOffset + offsetof(decltype(proc_event::event_data.fork), parent_tgid);
constexpr uint32_t kChildPidOffset =
    kForkOffset + offsetof(decltype(proc_event::event_data.fork), child_pid);
constexpr uint32_t kChildTgidOffset =
    kForkOffset + offsetof(decltype(proc_event::event_data.fork), child_tgid);
constexpr uint32_t kAccept = 0xffffffff;
constexpr uint32_t kDrop = 0;

// Classic BPF loads words big-endian, so constants are compared in network
// order. Jump offsets are 8-bit, so each parent gets its own accept.
std::vector<sock_filter> ForkFilter(absl::Span<const pid_t> parents,
                                    bool any_parent) {
  std::vector<sock_filter> code = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kWhatOffset),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(proc_event::PROC_EVENT_FORK), 1, 0),
      BPF_STMT(BPF_RET | BPF_K, kDrop),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kChildPidOffset),
      BPF_STMT(BPF_MISC | BPF_TAX, 0),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kChildTgidOffset),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_X, 0, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, kDrop),  // a new thread
  };
  if (any_parent) {
    code.push_back(BPF_STMT(BPF_RET | BPF_K, kAccept));
    return code;
  }
  code.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kParentTgidOffset));
  for (pid_t parent : parents) {
    code.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
                            htonl(static_cast<uint32_t>(parent)), 0, 1));
    code.push_back(BPF_STMT(BPF_RET | BPF_K, kAccept));
  }
  code.push_back(BPF_STMT(BPF_RET | BPF_K, kDrop));
  return code;
}

}  // namespace

absl::Status ProcConnector::SetForkFilter(absl::Span<const pid_t> parents) {
  std::vector<sock_filter> code =
      ForkFilter(parents, parents.size() > kMaxFilteredParents);
  sock_fprog program{static_cast<unsigned short>(code.size()), code.data()};
  if (setsockopt(fd_, SOL_SOCKET, SO_ATTACH_FILTER, &program,
                 sizeof(program)) != 0) {
    return ErrnoStatus("attaching the fork filter to the proc connector socket",
                       errno);
  }
  return absl::OkStatus();
}

absl::StatusOr<ProcConnector> ProcConnector::Subscribe(
    int receive_buffer_bytes) {
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                  NETLINK_CONNECTOR);
  if (fd < 0) return ErrnoStatus("socket(NETLINK_CONNECTOR)", errno);
  ProcConnector connector(fd);
  // A burst of forks must not overflow the queue while the loop is busy;
  // the forced size needs CAP_NET_ADMIN, which subscribing needs anyway.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &receive_buffer_bytes,
                 sizeof(receive_buffer_bytes)) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes,
               sizeof(receive_buffer_bytes));
  }
  sockaddr_nl address{};
  address.nl_family = AF_NETLINK;
  address.nl_groups = CN_IDX_PROC;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    int err = errno;
    if (err == EPERM || err == EACCES) {
      return absl::PermissionDeniedError(
          "subscribing to proc connector events needs CAP_NET_ADMIN in the "
          "initial user namespace");
    }
    return ErrnoStatus("bind to the proc connector multicast group", err);
  }
  if (absl::Status sent = SendMulticastOp(fd, PROC_CN_MCAST_LISTEN);
      !sent.ok()) {
    return sent;
  }
  return connector;
}

ProcConnector::ProcConnector(ProcConnector&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)) {}

ProcConnector& ProcConnector::operator=(ProcConnector&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

ProcConnector::~ProcConnector() { Close(); }

void ProcConnector::Close() {
  if (fd_ < 0) return;
  // The kernel keeps a global listener count and stops building events
  // when it drops to zero; an unsubscribe keeps it honest.
  SendMulticastOp(fd_, PROC_CN_MCAST_IGNORE).IgnoreError();
  close(fd_);
  fd_ = -1;
}

absl::StatusOr<std::vector<ProcEvent>> ProcConnector::Drain() {
  std::vector<ProcEvent> events;
  alignas(nlmsghdr) char buffer[32768];
  for (;;) {
    sockaddr_nl sender{};
    socklen_t sender_size = sizeof(sender);
    ssize_t n = recvfrom(fd_, buffer, sizeof(buffer), 0,
                         reinterpret_cast<sockaddr*>(&sender), &sender_size);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return events;
      if (errno == ENOBUFS) {
        events.push_back(ProcEvent{});  // kLost
        continue;
      }
      return ErrnoStatus("reading proc connector events", errno);
    }
    if (sender.nl_pid != 0) continue;  // only the kernel speaks here
    AppendEvents(buffer, static_cast<size_t>(n), events);
  }
}

}  // namespace vigil::maze
