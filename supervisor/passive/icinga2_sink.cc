#include "supervisor/passive/icinga2_sink.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace vigil::passive {

constexpr char kPath[] = "/v1/actions/process-check-result";

struct Icinga2Sink::Request {
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string body;
  std::string response;
  char error[CURL_ERROR_SIZE] = {};
  Done done;
  ~Request() {
    if (headers != nullptr) curl_slist_free_all(headers);
    if (easy != nullptr) curl_easy_cleanup(easy);
  }
};

namespace {
size_t AppendResponse(char* data, size_t size, size_t count, void* out) {
  auto* response = static_cast<std::string*>(out);
  if (response->size() < 4096) response->append(data, size * count);
  return size * count;
}

// curl (7.88) makes its sockets without SOCK_CLOEXEC: a process vigild
// starts would inherit them and hold Icinga connections open.
curl_socket_t OpenCloseOnExecSocket(void*, curlsocktype, curl_sockaddr* address) {
  return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

// Open descriptors and what they are ("socket:[123]").
std::map<int, std::filesystem::path> OpenFds() {
  std::map<int, std::filesystem::path> fds;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", error)) {
    fds[std::atoi(entry.path().filename().c_str())] = std::filesystem::read_symlink(entry, error);
  }
  return fds;
}

// curl_multi_init, with close-on-exec set on what it opens (its wake-up
// socketpair, made without SOCK_CLOEXEC). vigild is single-threaded here:
// every descriptor that appeared meanwhile is curl's.
CURLM* MultiInitCloseOnExec() {
  const std::map<int, std::filesystem::path> before = OpenFds();
  CURLM* multi = curl_multi_init();
  for (const auto& [fd, what] : OpenFds()) {
    auto it = before.find(fd);
    if (it == before.end() || it->second != what) fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  return multi;
}
}  // namespace

absl::Status Icinga2Sink::GlobalInit() {
  static const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (code != CURLE_OK) {
    return absl::InternalError(absl::StrCat("curl_global_init: ", curl_easy_strerror(code)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Icinga2Sink>> Icinga2Sink::Create(
    EventLoop& loop, TimerQueue& timers, const config::NagiosConfig::Icinga2& config,
    std::chrono::milliseconds timeout) {
  if (absl::Status init = GlobalInit(); !init.ok()) return init;
  CURLM* multi = MultiInitCloseOnExec();
  if (multi == nullptr) return absl::InternalError("curl_multi_init failed");
  std::unique_ptr<Icinga2Sink> sink(new Icinga2Sink(loop, timers, config, timeout, multi));
  curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION,
                    reinterpret_cast<curl_socket_callback>(&Icinga2Sink::OnSocket));
  curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, sink.get());
  curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION,
                    reinterpret_cast<curl_multi_timer_callback>(&Icinga2Sink::OnTimer));
  curl_multi_setopt(multi, CURLMOPT_TIMERDATA, sink.get());
  return sink;
}

Icinga2Sink::Icinga2Sink(EventLoop& loop, TimerQueue& timers,
                         config::NagiosConfig::Icinga2 config,
                         std::chrono::milliseconds timeout, void* multi)
    : loop_(loop),
      timers_(timers),
      config_(std::move(config)),
      timeout_(timeout),
      multi_(multi) {}

Icinga2Sink::~Icinga2Sink() {
  if (request_) curl_multi_remove_handle(static_cast<CURLM*>(multi_), request_->easy);
  request_.reset();
  for (const auto& [fd, watch] : sockets_) loop_.Remove(watch);
  if (timer_ != 0) timers_.Cancel(timer_);
  curl_multi_cleanup(static_cast<CURLM*>(multi_));
}

std::string Icinga2Sink::name() const { return absl::StrCat("icinga2 ", config_.url); }

void Icinga2Sink::Deliver(const std::vector<PassiveResult>& batch, Done done) {
  // One result per request: the API takes one check result per POST.
  auto request = std::make_unique<Request>();
  request->easy = curl_easy_init();
  if (request->easy == nullptr) {
    done(0, absl::InternalError("curl_easy_init failed"));
    return;
  }
  request->body = json::Serialize(Icinga2Body(batch.front()));
  request->done = std::move(done);
  request->headers = curl_slist_append(nullptr, "Accept: application/json");
  request->headers = curl_slist_append(request->headers, "Content-Type: application/json");
  CURL* easy = request->easy;
  const std::string url = absl::StrCat(absl::StripSuffix(config_.url, "/"), kPath);
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_POST, 1L);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request->body.c_str());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(request->body.size()));
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, request->headers);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &AppendResponse);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &request->response);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, request->error);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, &OpenCloseOnExecSocket);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  if (!config_.user.empty()) {
    curl_easy_setopt(easy, CURLOPT_USERNAME, config_.user.c_str());
    curl_easy_setopt(easy, CURLOPT_PASSWORD, config_.password.c_str());
  }
  if (!config_.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, config_.ca_file.c_str());
  if (config_.insecure) {
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  request_ = std::move(request);
  const CURLMcode added = curl_multi_add_handle(static_cast<CURLM*>(multi_), easy);
  if (added != CURLM_OK) {
    std::unique_ptr<Request> failed = std::move(request_);
    failed->done(0, absl::InternalError(
                        absl::StrCat("curl_multi_add_handle: ", curl_multi_strerror(added))));
  }
}

int Icinga2Sink::OnSocket(void*, int fd, int what, void* self_ptr, void*) {
  auto* self = static_cast<Icinga2Sink*>(self_ptr);
  if (auto it = self->sockets_.find(fd); it != self->sockets_.end()) {
    self->loop_.Remove(it->second);
    self->sockets_.erase(it);
  }
  if (what == CURL_POLL_REMOVE) return 0;
  uint32_t mask = 0;
  if (what & CURL_POLL_IN) mask |= POLLIN;
  if (what & CURL_POLL_OUT) mask |= POLLOUT;
  auto watch = self->loop_.Add(fd, mask, [self, fd](uint32_t revents) {
    int events = 0;
    if (revents & (POLLIN | POLLHUP)) events |= CURL_CSELECT_IN;
    if (revents & POLLOUT) events |= CURL_CSELECT_OUT;
    if (revents & POLLERR) events |= CURL_CSELECT_ERR;
    self->Act(fd, events);
  });
  if (watch.ok()) self->sockets_[fd] = *watch;
  return watch.ok() ? 0 : -1;
}

int Icinga2Sink::OnTimer(void*, long timeout_ms, void* self_ptr) {
  auto* self = static_cast<Icinga2Sink*>(self_ptr);
  if (self->timer_ != 0) self->timers_.Cancel(self->timer_);
  self->timer_ = 0;
  if (timeout_ms < 0) return 0;
  // curl must not be re-entered from its own callback: act from the timer,
  // even for a zero timeout.
  const uint64_t generation = ++self->timer_generation_;
  self->timer_ = self->timers_.ScheduleAfter(std::chrono::milliseconds(timeout_ms), [self,
                                                                                   generation] {
    if (generation == self->timer_generation_) self->timer_ = 0;
    self->Act(CURL_SOCKET_TIMEOUT, 0);
  });
  return 0;
}

void Icinga2Sink::Act(int fd, int events) {
  int running = 0;
  curl_multi_socket_action(static_cast<CURLM*>(multi_), fd, events, &running);
  CollectFinished();
}

void Icinga2Sink::CollectFinished() {
  int left = 0;
  while (CURLMsg* message = curl_multi_info_read(static_cast<CURLM*>(multi_), &left)) {
    if (message->msg != CURLMSG_DONE || !request_ || message->easy_handle != request_->easy) {
      continue;
    }
    const CURLcode result = message->data.result;
    std::unique_ptr<Request> done = std::move(request_);
    curl_multi_remove_handle(static_cast<CURLM*>(multi_), done->easy);
    long http_status = 0;
    curl_easy_getinfo(done->easy, CURLINFO_RESPONSE_CODE, &http_status);
    if (result != CURLE_OK) {
      done->done(0, absl::UnavailableError(absl::StrCat(
                        "POST ", config_.url, kPath, ": ",
                        done->error[0] != '\0' ? done->error : curl_easy_strerror(result))));
    } else if (http_status != 200) {
      done->done(0, absl::UnavailableError(absl::StrCat("POST ", config_.url, kPath, ": HTTP ",
                                                        http_status, ": ",
                                                        done->response.substr(0, 200))));
    } else {
      done->done(1, absl::OkStatus());
    }
    return;  // `done` may have started the next request already
  }
}

}  // namespace vigil::passive
