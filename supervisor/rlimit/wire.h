// The rlimit-events wire format (version RLE_WIRE_VERSION, documented in
// rlimit/rlimit_events.h) as plain functions: records in, typed requests or
// error replies out. No I/O here, so every malformed record is testable.
#ifndef VIGIL_SUPERVISOR_RLIMIT_WIRE_H_
#define VIGIL_SUPERVISOR_RLIMIT_WIRE_H_

#include <cstdint>
#include <string>
#include <variant>

#include "absl/strings/string_view.h"
#include "rlimit/rlimit_events.h"

namespace vigil::rlimit {

struct Request {
  uint64_t seq = 0;
  rle_msg_type type = RLE_MSG_ADD_WATCH;
  rle_watch watch{};
};

// What to answer a record that is not a well-formed request.
struct Rejection {
  uint64_t seq = 0;  // the record's, when its header could be read
  int error = 0;     // errno value, as documented for rle_reply
  std::string message;
};

// `received` is recv()'s result with MSG_TRUNC: the record's real length,
// which may exceed `record.size()` (what fit in the buffer).
std::variant<Request, Rejection> DecodeRequest(absl::string_view record,
                                               size_t received);

std::string EncodeReply(uint64_t seq, int error, absl::string_view message);
std::string EncodeEvent(const rle_event& event);

}  // namespace vigil::rlimit

#endif  // VIGIL_SUPERVISOR_RLIMIT_WIRE_H_
