#include "supervisor/rlimit/wire.h"

#include <cerrno>
#include <cstring>

#include "gtest/gtest.h"

namespace vigil::rlimit {
namespace {

std::string Record(uint16_t version, uint16_t type, uint32_t size, uint64_t seq,
                   size_t actual) {
  rle_header h{version, type, size, seq};
  std::string out(actual, '\0');
  std::memcpy(out.data(), &h, std::min(actual, sizeof h));
  return out;
}

constexpr size_t kWatchRecord = sizeof(rle_header) + sizeof(rle_watch);

Rejection Rejected(const std::string& record, size_t received) {
  auto decoded = DecodeRequest(record, received);
  EXPECT_TRUE(std::holds_alternative<Rejection>(decoded));
  return std::holds_alternative<Rejection>(decoded) ? std::get<Rejection>(decoded) : Rejection{};
}

TEST(WireTest, DecodesAnAddRequest) {
  std::string record = Record(RLE_WIRE_VERSION, RLE_MSG_ADD_WATCH, kWatchRecord, 42, kWatchRecord);
  rle_watch w{1234, RLE_RES_NOFILE, 100, 5, 0, 0};
  std::memcpy(record.data() + sizeof(rle_header), &w, sizeof w);
  auto decoded = DecodeRequest(record, record.size());
  ASSERT_TRUE(std::holds_alternative<Request>(decoded));
  const Request& r = std::get<Request>(decoded);
  EXPECT_EQ(r.seq, 42u);
  EXPECT_EQ(r.type, RLE_MSG_ADD_WATCH);
  EXPECT_EQ(r.watch.pid, 1234);
  EXPECT_EQ(r.watch.level, 100);
  EXPECT_EQ(r.watch.hysteresis, 5);
}

TEST(WireTest, ShorterThanAHeaderIsTruncated) {
  Rejection r = Rejected(std::string(7, 'x'), 7);
  EXPECT_EQ(r.error, EBADMSG);
  EXPECT_EQ(r.message, "truncated message: 7 bytes, shorter than the 16-byte header");
}

TEST(WireTest, HeaderClaimingMoreThanArrivedIsMalformed) {
  Rejection r = Rejected(Record(1, RLE_MSG_ADD_WATCH, kWatchRecord, 9, 20), 20);
  EXPECT_EQ(r.error, EBADMSG);
  EXPECT_EQ(r.seq, 9u);
  EXPECT_EQ(r.message, "malformed message: header says 48 bytes, 20 arrived");
}

TEST(WireTest, WatchBodyOfTheWrongSizeIsMalformed) {
  Rejection r = Rejected(Record(1, RLE_MSG_REMOVE_WATCH, 40, 3, 40), 40);
  EXPECT_EQ(r.error, EBADMSG);
  EXPECT_EQ(r.message, "malformed message: a watch request is 48 bytes, got 40");
}

TEST(WireTest, OversizedIsRefused) {
  std::string record = Record(1, RLE_MSG_ADD_WATCH, 100000, 1, RLE_MAX_MESSAGE);
  Rejection r = Rejected(record, 100000);
  EXPECT_EQ(r.error, EMSGSIZE);
  EXPECT_EQ(r.message,
            "message of 100000 bytes is longer than the 512-byte maximum; it was discarded");
}

TEST(WireTest, UnknownTypeAndVersion) {
  Rejection type = Rejected(Record(1, 99, kWatchRecord, 5, kWatchRecord), kWatchRecord);
  EXPECT_EQ(type.error, ENOSYS);
  EXPECT_EQ(type.seq, 5u);
  EXPECT_EQ(type.message, "unknown message type 99 (requests are 1 add-watch, 2 remove-watch)");
  Rejection version = Rejected(Record(7, 1, kWatchRecord, 6, kWatchRecord), kWatchRecord);
  EXPECT_EQ(version.error, EPROTO);
  EXPECT_EQ(version.message, "wire version 7 is not supported; this vigild speaks version 1");
}

TEST(WireTest, RepliesAndEventsCarryHeaderAndBody) {
  std::string reply = EncodeReply(77, EPERM, "no");
  ASSERT_EQ(reply.size(), sizeof(rle_header) + sizeof(rle_reply));
  rle_header h;
  std::memcpy(&h, reply.data(), sizeof h);
  EXPECT_EQ(h.version, RLE_WIRE_VERSION);
  EXPECT_EQ(h.type, RLE_MSG_REPLY);
  EXPECT_EQ(h.size, reply.size());
  EXPECT_EQ(h.seq, 77u);
  rle_reply body;
  std::memcpy(&body, reply.data() + sizeof h, sizeof body);
  EXPECT_EQ(body.error, EPERM);
  EXPECT_STREQ(body.message, "no");

  std::string long_reply = EncodeReply(1, EINVAL, std::string(1000, 'a'));
  std::memcpy(&body, long_reply.data() + sizeof h, sizeof body);
  EXPECT_EQ(std::strlen(body.message), sizeof body.message - 1);

  rle_event e{};
  e.type = RLE_EV_CROSSING;
  e.value = 12;
  std::string event = EncodeEvent(e);
  std::memcpy(&h, event.data(), sizeof h);
  EXPECT_EQ(h.type, RLE_MSG_EVENT);
  EXPECT_EQ(h.seq, 0u);
  rle_event back;
  std::memcpy(&back, event.data() + sizeof h, sizeof back);
  EXPECT_EQ(back.value, 12);
}

TEST(WireTest, LayoutIsFixed) {
  // The ABI documented in rlimit_events.h: changing these breaks clients.
  EXPECT_EQ(sizeof(rle_header), 16u);
  EXPECT_EQ(sizeof(rle_watch), 32u);
  EXPECT_EQ(sizeof(rle_event), 48u);
  EXPECT_EQ(sizeof(rle_reply), 248u);
  EXPECT_EQ(RLE_RES_NOFILE, 7);  // RLIMIT_NOFILE, as in the RFC
}

}  // namespace
}  // namespace vigil::rlimit
