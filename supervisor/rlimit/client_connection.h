// ClientConnection: one rlimit-events client as vigild sees it. It owns the
// accepted SOCK_SEQPACKET socket, registered in the EventLoop, the client's
// SO_PEERCRED credentials, and a bounded queue of records the socket could
// not take yet.
//
// A client that stops reading never blocks vigild: records go out with
// non-blocking sends; what the socket refuses waits in the queue; an event
// that finds the queue full is dropped and counted, and the count goes out as
// one RLE_EV_OVERFLOW event as soon as there is room. Replies are never
// dropped: while the queue is full vigild stops reading that client's
// requests, so a client that floods requests without reading replies only
// stalls itself.
#ifndef VIGIL_SUPERVISOR_RLIMIT_CLIENT_CONNECTION_H_
#define VIGIL_SUPERVISOR_RLIMIT_CLIENT_CONNECTION_H_

#include <sys/socket.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rlimit/rlimit_events.h"
#include "supervisor/event_loop.h"
#include "supervisor/unique_fd.h"

namespace vigil::rlimit {

class ClientConnection {
 public:
  struct Handlers {
    // One received record; `received` is its full length (MSG_TRUNC), which
    // may exceed record.size().
    std::function<void(ClientConnection&, absl::string_view record, size_t received)>
        on_record;
    // The client hung up or its socket failed. The handler may destroy the
    // connection; nothing touches it afterwards.
    std::function<void(ClientConnection&)> on_closed;
  };

  // Reads the peer's credentials and registers the socket with `loop`.
  static absl::StatusOr<std::unique_ptr<ClientConnection>> Create(
      EventLoop& loop, UniqueFd socket, uint64_t id, size_t queue_limit,
      Handlers handlers);
  ~ClientConnection();

  uint64_t id() const { return id_; }
  const ucred& peer() const { return peer_; }

  void SendReply(std::string record);
  void SendEvent(const rle_event& event);

  size_t queued() const { return queue_.size(); }
  uint64_t lost() const { return lost_; }

 private:
  ClientConnection(EventLoop& loop, UniqueFd socket, uint64_t id, size_t queue_limit,
                   ucred peer, Handlers handlers);
  void OnReady(uint32_t revents);
  // Sends queued records until the socket refuses; false if it failed.
  bool Flush();
  void Enqueue(std::string record);
  void AddOverflowEventIfRoom();
  // Re-registers with the loop when the wanted poll mask changed.
  void UpdateInterest();
  void Close();

  EventLoop& loop_;
  UniqueFd socket_;
  uint64_t id_;
  size_t queue_limit_;
  ucred peer_;
  Handlers handlers_;
  std::deque<std::string> queue_;
  uint64_t lost_ = 0;
  EventLoop::WatchId watch_ = 0;
  uint32_t interest_ = 0;
  bool broken_ = false;  // a send failed: the socket is dead
  bool closed_ = false;
};

}  // namespace vigil::rlimit

#endif  // VIGIL_SUPERVISOR_RLIMIT_CLIENT_CONNECTION_H_
