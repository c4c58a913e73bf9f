// ControlServer: owns the listening unix-domain socket (SOCK_STREAM, JSON
// lines) and its client connections, each registered with the EventLoop.
// A request is one JSON object per line; the reply is one JSON object per
// line. A client that sends {"cmd":"events"} becomes a subscriber and then
// receives every published event as a JSON line; with "replay": true it
// first receives the most recent events (up to kReplayEvents: enough for
// the start-up of 2000 units), so a client
// that connects just after start-up misses nothing.
//
// Nothing a client sends can block or crash vigild: lines are bounded,
// malformed requests get an error reply, and each subscriber's outgoing
// queue is bounded (events beyond it are dropped and counted; the client is
// told how many it lost once it catches up).
#ifndef VIGIL_SUPERVISOR_CONTROL_SERVER_H_
#define VIGIL_SUPERVISOR_CONTROL_SERVER_H_

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/json.h"
#include "supervisor/event_loop.h"
#include "supervisor/unique_fd.h"

namespace vigil {

class ControlServer {
 public:
  // Returns the reply for one well-formed request object.
  using Handler = std::function<json::Value(const json::Value& request)>;

  static constexpr size_t kMaxRequestBytes = 64 * 1024;
  static constexpr size_t kDefaultMaxQueuedBytes = 4 * 1024 * 1024;
  static constexpr size_t kReplayEvents = 4096;

  // `max_queued_bytes` bounds what waits for one slow client.
  static absl::StatusOr<std::unique_ptr<ControlServer>> Listen(
      EventLoop& loop, const std::string& path, int mode, Handler handler,
      size_t max_queued_bytes = kDefaultMaxQueuedBytes);
  ~ControlServer();

  // Sends `message` to every events subscriber.
  void Broadcast(const json::Value& message);
  size_t subscribers() const;

 private:
  struct Client;
  ControlServer(EventLoop& loop, std::string path, UniqueFd fd, Handler handler,
                size_t max_queued_bytes);

  void OnAcceptable();
  void OnClientReady(int id, uint32_t revents);
  void HandleLine(Client& client, absl::string_view line);
  void Send(Client& client, const std::string& line);
  void Flush(Client& client);
  void UpdateInterest(Client& client);
  void Close(int id);

  EventLoop& loop_;
  std::string path_;
  UniqueFd fd_;
  Handler handler_;
  size_t max_queued_bytes_;
  EventLoop::WatchId watch_ = 0;
  int next_client_ = 1;
  std::map<int, std::unique_ptr<Client>> clients_;
  std::deque<std::string> recent_;  // serialized, newest last
};

}  // namespace vigil

#endif  // VIGIL_SUPERVISOR_CONTROL_SERVER_H_
