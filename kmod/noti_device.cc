#include "kmod/noti_device.h"

#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rlimit_noti.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/errno_status.h"

namespace vigil::kmod {
namespace {

absl::Status IoctlStatus(absl::string_view what, pid_t pid, uint32_t resource,
                         int err) {
  return ErrnoStatus(absl::StrFormat("rlimit_noti %s (pid %d, resource %u)",
                                     what, pid, resource),
                     err);
}

// Asks the module for a notification fd; it lands in this process's table.
absl::StatusOr<int> RequestNotificationFd() {
  int sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_RLIMIT_EVENTS);
  if (sock < 0) {
    return ErrnoStatus(
        "socket(AF_NETLINK, protocol 23): is rlimit_noti.ko loaded?", errno);
  }
  struct {
    nlmsghdr header;
    char payload[64];
  } message{};
  message.header.nlmsg_len = NLMSG_LENGTH(0);
  message.header.nlmsg_type = RLIMIT_GET_NOTI_FD;
  message.header.nlmsg_flags = NLM_F_REQUEST;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  absl::StatusOr<int> result;
  if (sendto(sock, &message, message.header.nlmsg_len, 0,
             reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0) {
    result = ErrnoStatus("rlimit_noti: send RLIMIT_GET_NOTI_FD", errno);
  } else if (ssize_t n = recv(sock, &message, sizeof(message), 0); n < 0) {
    result = ErrnoStatus("rlimit_noti: receive RLIMIT_GET_NOTI_FD", errno);
  } else if (message.header.nlmsg_type == NLMSG_ERROR) {
    int err;
    std::memcpy(&err, NLMSG_DATA(&message.header), sizeof(err));
    result = ErrnoStatus("rlimit_noti: RLIMIT_GET_NOTI_FD", -err);
  } else if (n < static_cast<ssize_t>(NLMSG_LENGTH(sizeof(int))) ||
             message.header.nlmsg_type != RLIMIT_GET_NOTI_FD) {
    result = absl::DataLossError(absl::StrCat(
        "rlimit_noti: malformed RLIMIT_GET_NOTI_FD reply of ", n, " bytes"));
  } else {
    int fd;
    std::memcpy(&fd, NLMSG_DATA(&message.header), sizeof(fd));
    result = fd;
  }
  close(sock);
  return result;
}

}  // namespace

bool NotiDevice::ModuleLoaded() {
  return access("/sys/module/rlimit_noti", F_OK) == 0;
}

absl::StatusOr<NotiDevice> NotiDevice::Open() {
  absl::StatusOr<int> fd = RequestNotificationFd();
  if (!fd.ok()) return fd.status();
  NotiDevice device(*fd);
  if (fcntl(*fd, F_SETFD, FD_CLOEXEC) < 0 ||
      fcntl(*fd, F_SETFL, O_NONBLOCK) < 0) {
    return ErrnoStatus("rlimit_noti: set the notification fd non-blocking",
                       errno);
  }
  return device;
}

NotiDevice::NotiDevice(NotiDevice&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)) {}

NotiDevice& NotiDevice::operator=(NotiDevice&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

NotiDevice::~NotiDevice() {
  if (fd_ >= 0) close(fd_);
}

absl::Status NotiDevice::AddLevel(pid_t pid, uint32_t resource, uint64_t level,
                                  bool inherit_to_children) {
  rlimit_noti_level request{};
  request.subj.pid = pid;
  request.subj.resource = resource;
  request.value = level;
  request.flags = inherit_to_children ? 0 : RLIMIT_FLAG_NO_INHERIT;
  if (ioctl(fd_, RLIMIT_ADD_NOTI_LVL, &request) < 0) {
    return IoctlStatus(absl::StrCat("add level ", level), pid, resource, errno);
  }
  return absl::OkStatus();
}

absl::Status NotiDevice::RemoveLevel(pid_t pid, uint32_t resource,
                                     uint64_t level) {
  rlimit_noti_level request{};
  request.subj.pid = pid;
  request.subj.resource = resource;
  request.value = level;
  if (ioctl(fd_, RLIMIT_RM_NOTI_LVL, &request) < 0) {
    return IoctlStatus(absl::StrCat("remove level ", level), pid, resource,
                       errno);
  }
  return absl::OkStatus();
}

absl::Status NotiDevice::WatchEveryChange(pid_t pid, uint32_t resource) {
  rlimit_noti_subject subject{pid, resource};
  if (ioctl(fd_, RLIMIT_SET_NOTI_ALL, &subject) < 0) {
    return IoctlStatus("watch every change", pid, resource, errno);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<NotiEvent>> NotiDevice::ReadEvent() {
  struct {
    rlimit_event header;
    union {
      rlimit_event_res_changed crossed;
      rlimit_event_new_pid new_pid;
      rlimit_event_pid_dead dead;
      rlimit_event_overflow overflow;
      char raw[64];
    } payload;
  } buffer;
  ssize_t n = read(fd_, &buffer, sizeof(buffer));
  if (n < 0) {
    if (errno == EAGAIN) return std::nullopt;
    return ErrnoStatus("rlimit_noti: read event", errno);
  }
  if (n < static_cast<ssize_t>(sizeof(buffer.header)) ||
      static_cast<size_t>(n) != buffer.header.size) {
    return absl::DataLossError(
        absl::StrCat("rlimit_noti: event of ", n, " bytes, header says ",
                     n >= 16 ? buffer.header.size : 0));
  }
  NotiEvent event;
  switch (buffer.header.ev_type) {
    case RLIMIT_EVENT_TYPE_RES_CHANGED:
      event.type = NotiEvent::Type::kCrossed;
      event.pid = buffer.payload.crossed.subj.pid;
      event.resource = buffer.payload.crossed.subj.resource;
      event.value = buffer.payload.crossed.new_value;
      break;
    case RLIMIT_EVENT_TYPE_NEW_PID:
      event.type = NotiEvent::Type::kNewProcess;
      event.pid = buffer.payload.new_pid.parent;
      event.child_pid = buffer.payload.new_pid.new_pid;
      break;
    case RLIMIT_EVENT_TYPE_PID_DEAD:
      event.type = NotiEvent::Type::kProcessGone;
      event.pid = buffer.payload.dead.pid;
      break;
    case RLIMIT_EVENT_TYPE_OVERFLOW:
      event.type = NotiEvent::Type::kOverflow;
      event.lost = buffer.payload.overflow.lost;
      break;
    default:
      return absl::DataLossError(absl::StrCat(
          "rlimit_noti: unknown event type ", buffer.header.ev_type));
  }
  return event;
}

}  // namespace vigil::kmod
