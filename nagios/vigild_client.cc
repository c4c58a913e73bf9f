#include "nagios/vigild_client.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"

namespace vigil::nagios {
namespace {
constexpr char kDefaultSocket[] = "/run/vigil/vigild.sock";
constexpr char kOption[] = "--vigil-socket";
}  // namespace

std::string VigilSocketPath(const std::string* option) {
  if (option != nullptr) return *option;
  if (const char* env = std::getenv("VIGIL_SOCKET")) return env;
  return kDefaultSocket;
}

std::optional<std::string> TakeVigilSocketOption(std::vector<std::string>& args) {
  std::optional<std::string> path;
  std::vector<std::string> kept;
  bool options_ended = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (i > 0 && !options_ended) {
      if (arg == "--") options_ended = true;
      if (arg.rfind(absl::StrCat(kOption, "="), 0) == 0) {
        path = arg.substr(sizeof(kOption));
        continue;
      }
      if (arg == kOption && i + 1 < args.size()) {
        path = args[++i];
        continue;
      }
    }
    kept.push_back(arg);
  }
  args = std::move(kept);
  return path;
}

absl::StatusOr<VigildClient> VigildClient::Connect(const std::string& path,
                                                   std::chrono::milliseconds timeout) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("bad control socket path \"", path, "\""));
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoStatus("socket(AF_UNIX)", errno);
  timeval tv{.tv_sec = static_cast<time_t>(timeout.count() / 1000),
             .tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    return absl::UnavailableError(absl::StrCat("vigild is not reachable at ", path, ": ",
                                               std::strerror(errno)));
  }
  return VigildClient(std::move(fd));
}

absl::StatusOr<json::Value> VigildClient::Request(const json::Value& request) {
  const std::string line = json::Serialize(request) + "\n";
  for (size_t sent = 0; sent < line.size();) {
    const ssize_t n = send(fd_.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("writing to vigild's control socket", errno);
    sent += static_cast<size_t>(n);
  }
  size_t newline;
  while ((newline = buffer_.find('\n')) == std::string::npos) {
    char chunk[65536];
    const ssize_t n = recv(fd_.get(), chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("reading vigild's reply", errno);
    if (n == 0) return absl::UnavailableError("vigild closed the control connection");
    buffer_.append(chunk, static_cast<size_t>(n));
  }
  auto reply = json::Parse(std::string_view(buffer_).substr(0, newline));
  buffer_.erase(0, newline + 1);
  if (!reply.ok()) return reply.status();
  const json::Value* ok = reply->Find("ok");
  if (ok == nullptr || !ok->IsBool() || !ok->AsBool()) {
    const json::Value* error = reply->Find("error");
    return absl::FailedPreconditionError(
        error != nullptr && error->IsString() ? error->AsString() : "vigild refused the request");
  }
  return reply;
}

}  // namespace vigil::nagios
