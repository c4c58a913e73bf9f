#include "supervisor/rlimit/wire.h"

#include <cerrno>
#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"

namespace vigil::rlimit {

std::variant<Request, Rejection> DecodeRequest(absl::string_view record,
                                               size_t received) {
  if (received > RLE_MAX_MESSAGE || received > record.size()) {
    return Rejection{0, EMSGSIZE,
                     absl::StrFormat("message of %d bytes is longer than the "
                                     "%d-byte maximum; it was discarded",
                                     received, RLE_MAX_MESSAGE)};
  }
  rle_header header;
  if (received < sizeof header) {
    return Rejection{0, EBADMSG,
                     absl::StrFormat("truncated message: %d bytes, shorter than "
                                     "the %d-byte header",
                                     received, sizeof header)};
  }
  std::memcpy(&header, record.data(), sizeof header);
  Rejection rejection{header.seq, 0, ""};
  if (header.version != RLE_WIRE_VERSION) {
    rejection.error = EPROTO;
    rejection.message = absl::StrFormat(
        "wire version %d is not supported; this vigild speaks version %d",
        header.version, RLE_WIRE_VERSION);
    return rejection;
  }
  if (header.size != received) {
    rejection.error = EBADMSG;
    rejection.message = absl::StrFormat(
        "malformed message: header says %d bytes, %d arrived", header.size,
        received);
    return rejection;
  }
  if (header.type != RLE_MSG_ADD_WATCH && header.type != RLE_MSG_REMOVE_WATCH) {
    rejection.error = ENOSYS;
    rejection.message = absl::StrFormat(
        "unknown message type %d (requests are %d add-watch, %d remove-watch)",
        header.type, RLE_MSG_ADD_WATCH, RLE_MSG_REMOVE_WATCH);
    return rejection;
  }
  if (received != sizeof header + sizeof(rle_watch)) {
    rejection.error = EBADMSG;
    rejection.message = absl::StrFormat(
        "malformed message: a watch request is %d bytes, got %d",
        sizeof header + sizeof(rle_watch), received);
    return rejection;
  }
  Request request;
  request.seq = header.seq;
  request.type = static_cast<rle_msg_type>(header.type);
  std::memcpy(&request.watch, record.data() + sizeof header, sizeof request.watch);
  return request;
}

namespace {

std::string Frame(rle_msg_type type, uint64_t seq, const void* body, size_t size) {
  rle_header header{RLE_WIRE_VERSION, static_cast<uint16_t>(type),
                    static_cast<uint32_t>(sizeof header + size), seq};
  std::string out(sizeof header + size, '\0');
  std::memcpy(out.data(), &header, sizeof header);
  std::memcpy(out.data() + sizeof header, body, size);
  return out;
}

}  // namespace

std::string EncodeReply(uint64_t seq, int error, absl::string_view message) {
  rle_reply reply{};
  reply.error = error;
  size_t n = std::min(message.size(), sizeof reply.message - 1);
  std::memcpy(reply.message, message.data(), n);
  return Frame(RLE_MSG_REPLY, seq, &reply, sizeof reply);
}

std::string EncodeEvent(const rle_event& event) {
  return Frame(RLE_MSG_EVENT, 0, &event, sizeof event);
}

}  // namespace vigil::rlimit
