#include "supervisor/control_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"

namespace vigil {

struct ControlServer::Client {
  int id = 0;
  UniqueFd fd;
  EventLoop::WatchId watch = 0;
  uint32_t interest = 0;
  std::string in;
  std::string out;
  bool subscribed = false;
  bool closing = false;  // flush `out`, then close
  uint64_t dropped = 0;
};

namespace {

json::Value ErrorReply(absl::string_view message) {
  json::Value reply = json::Value::Object();
  reply.Set("ok", false);
  reply.Set("error", std::string(message));
  return reply;
}

}  // namespace

ControlServer::ControlServer(EventLoop& loop, std::string path, UniqueFd fd,
                             Handler handler, size_t max_queued_bytes)
    : loop_(loop), path_(std::move(path)), fd_(std::move(fd)),
      handler_(std::move(handler)), max_queued_bytes_(max_queued_bytes) {}

absl::StatusOr<std::unique_ptr<ControlServer>> ControlServer::Listen(
    EventLoop& loop, const std::string& path, int mode, Handler handler,
    size_t max_queued_bytes) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return absl::InvalidArgumentError(absl::StrCat(
        "control_socket: path is ", path.size(), " bytes, the limit is ",
        sizeof addr.sun_path - 1, ": ", path));
  }
  std::strcpy(addr.sun_path, path.c_str());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("socket(AF_UNIX)", errno);
  UniqueFd owner(fd);
  unlink(path.c_str());  // a stale socket from a previous run
  // Bind with a restrictive umask so the socket is never briefly world-open.
  mode_t old_umask = umask(0777 & ~mode);
  int rc = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  umask(old_umask);
  if (rc < 0) return ErrnoStatus(absl::StrCat("bind ", path), errno);
  chmod(path.c_str(), mode);
  if (listen(fd, 64) < 0) return ErrnoStatus(absl::StrCat("listen ", path), errno);
  auto server = std::unique_ptr<ControlServer>(
      new ControlServer(loop, path, std::move(owner), std::move(handler),
                        max_queued_bytes));
  ControlServer* self = server.get();
  auto watch = loop.Add(fd, POLLIN, [self](uint32_t) { self->OnAcceptable(); });
  if (!watch.ok()) return watch.status();
  server->watch_ = *watch;
  return server;
}

ControlServer::~ControlServer() {
  while (!clients_.empty()) Close(clients_.begin()->first);
  loop_.Remove(watch_);
  unlink(path_.c_str());
}

size_t ControlServer::subscribers() const {
  size_t n = 0;
  for (const auto& [id, client] : clients_) n += client->subscribed;
  return n;
}

void ControlServer::OnAcceptable() {
  for (;;) {
    int fd = accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    int id = next_client_++;
    auto client = std::make_unique<Client>();
    client->id = id;
    client->fd.reset(fd);
    client->interest = POLLIN;
    auto watch = loop_.Add(fd, POLLIN, [this, id](uint32_t revents) {
      OnClientReady(id, revents);
    });
    if (!watch.ok()) continue;  // the fd closes with `client`
    client->watch = *watch;
    clients_[id] = std::move(client);
  }
}

void ControlServer::OnClientReady(int id, uint32_t revents) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  Client& client = *it->second;
  if (revents & POLLOUT) Flush(client);
  if (revents & (POLLIN | POLLHUP | POLLERR)) {
    char buf[16384];
    ssize_t n = read(client.fd.get(), buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      Close(id);
      return;
    }
    if (n > 0 && !client.closing) {
      client.in.append(buf, n);
      size_t newline;
      while (!client.closing &&
             (newline = client.in.find('\n')) != std::string::npos) {
        std::string line = client.in.substr(0, newline);
        client.in.erase(0, newline + 1);
        HandleLine(client, line);
      }
      if (client.in.size() > kMaxRequestBytes) {
        Send(client, json::Serialize(ErrorReply(absl::StrCat(
                         "request exceeds ", kMaxRequestBytes,
                         " bytes without a newline; closing"))));
        client.in.clear();
        client.closing = true;
      }
    }
  }
  if (clients_.count(id) == 0) return;
  if (client.closing && client.out.empty()) {
    Close(id);
    return;
  }
  UpdateInterest(client);
}

void ControlServer::HandleLine(Client& client, absl::string_view line) {
  if (line.empty()) return;
  auto request = json::Parse(std::string_view(line.data(), line.size()));
  if (!request.ok()) {
    Send(client, json::Serialize(ErrorReply(absl::StrCat(
                     "malformed request: ", request.status().message()))));
    return;
  }
  if (!request->IsObject()) {
    Send(client, json::Serialize(
                     ErrorReply("malformed request: expected a JSON object "
                                "like {\"cmd\":\"status\"}")));
    return;
  }
  const json::Value* cmd = request->Find("cmd");
  if (cmd != nullptr && cmd->IsString() && cmd->AsString() == "events") {
    client.subscribed = true;
    json::Value reply = json::Value::Object();
    reply.Set("ok", true);
    reply.Set("subscribed", true);
    Send(client, json::Serialize(reply));
    const json::Value* replay = request->Find("replay");
    if (replay != nullptr && replay->IsBool() && replay->AsBool()) {
      for (const std::string& event : recent_) Send(client, event);
    }
    return;
  }
  Send(client, json::Serialize(handler_(*request)));
}

void ControlServer::Send(Client& client, const std::string& line) {
  if (client.out.size() + line.size() + 1 > max_queued_bytes_) {
    ++client.dropped;
    return;
  }
  if (client.dropped > 0) {
    json::Value overflow = json::Value::Object();
    overflow.Set("kind", "overflow");
    overflow.Set("lost", static_cast<int64_t>(client.dropped));
    overflow.Set("message", "events were dropped: this client read too slowly");
    client.out += json::Serialize(overflow);
    client.out += '\n';
    client.dropped = 0;
  }
  client.out += line;
  client.out += '\n';
  Flush(client);
}

void ControlServer::Flush(Client& client) {
  while (!client.out.empty()) {
    ssize_t n = send(client.fd.get(), client.out.data(), client.out.size(),
                     MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n <= 0) break;
    client.out.erase(0, n);
  }
}

void ControlServer::UpdateInterest(Client& client) {
  uint32_t want = POLLIN | (client.out.empty() ? 0 : POLLOUT);
  if (want == client.interest) return;
  loop_.Remove(client.watch);
  int id = client.id;
  auto watch = loop_.Add(client.fd.get(), want, [this, id](uint32_t revents) {
    OnClientReady(id, revents);
  });
  if (watch.ok()) client.watch = *watch;
  client.interest = want;
}

void ControlServer::Broadcast(const json::Value& message) {
  std::string line = json::Serialize(message);
  recent_.push_back(line);
  if (recent_.size() > kReplayEvents) recent_.pop_front();
  for (auto& [id, client] : clients_) {
    if (!client->subscribed) continue;
    Send(*client, line);
    UpdateInterest(*client);
  }
}

void ControlServer::Close(int id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  loop_.Remove(it->second->watch);
  clients_.erase(it);
}

}  // namespace vigil
