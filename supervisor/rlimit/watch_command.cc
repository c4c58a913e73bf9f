#include "supervisor/rlimit/watch_command.h"

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/json.h"
#include "config/duration.h"
#include "rlimit/watcher.h"

namespace vigil::rlimit {

namespace {

constexpr char kUsage[] =
    "usage: vigilctl watch [--rlimit-socket PATH] PID RESOURCE LEVEL "
    "[PID RESOURCE LEVEL]...\n"
    "  RESOURCE: nofile (open fds), tasks (threads), rss (200M), cpu (5s), "
    "maze (300ms)\n";

const char* DirectionWord(int32_t direction) {
  return direction == RLE_DIR_UP ? "up" : direction == RLE_DIR_DOWN ? "down" : "-";
}

std::string Describe(const rle_event& e, bool json) {
  const char* resource = rle_resource_name(e.resource);
  if (json) {
    json::Value v = json::Value::Object();
    v.Set("type", e.type == RLE_EV_CROSSING ? "crossing"
                  : e.type == RLE_EV_EXIT   ? "exit"
                  : e.type == RLE_EV_OVERFLOW ? "overflow" : "unknown");
    v.Set("pid", e.pid);
    if (e.type == RLE_EV_CROSSING) {
      v.Set("resource", resource ? resource : "unknown");
      v.Set("direction", DirectionWord(e.direction));
      v.Set("level", e.level);
      v.Set("value", e.value);
    }
    if (e.type == RLE_EV_OVERFLOW) v.Set("lost", static_cast<int64_t>(e.lost));
    v.Set("time_ns", e.time_ns);
    return json::Serialize(v);
  }
  switch (e.type) {
    case RLE_EV_CROSSING:
      return absl::StrFormat("pid %d %s %s level %d value %d", e.pid,
                             resource ? resource : "unknown", DirectionWord(e.direction),
                             e.level, e.value);
    case RLE_EV_EXIT:
      return absl::StrFormat("pid %d exited", e.pid);
    case RLE_EV_OVERFLOW:
      return absl::StrFormat("overflow: %d events lost (read faster)", e.lost);
    default:
      return absl::StrFormat("unknown event type %d", e.type);
  }
}

std::string SocketPath(const std::string& flag, const std::string& control_socket) {
  if (!flag.empty()) return flag;
  const char* env = std::getenv("VIGIL_RLIMIT_SOCKET");
  if (env != nullptr && *env != '\0') return env;
  return (std::filesystem::path(control_socket).parent_path() / "rlimit-events.sock").string();
}

}  // namespace

absl::StatusOr<int64_t> ParseLevel(uint32_t resource, const std::string& text) {
  switch (resource) {
    case RLE_RES_RSS: {
      absl::StatusOr<uint64_t> bytes = config::ParseSize(text);
      if (!bytes.ok()) return bytes.status();
      return static_cast<int64_t>(*bytes);
    }
    case RLE_RES_CPU:
    case RLE_RES_MAZE: {
      absl::StatusOr<std::chrono::milliseconds> d = config::ParseDuration(text);
      if (!d.ok()) return d.status();
      return static_cast<int64_t>(d->count()) * 1'000'000;
    }
    default: {
      // Negative counts are passed on: vigild's refusal is the answer.
      int64_t count = 0;
      if (!absl::SimpleAtoi(text, &count)) {
        return absl::InvalidArgumentError(
            absl::StrCat("expected a count like 100, got \"", text, "\""));
      }
      return count;
    }
  }
}

int RunWatchCommand(const std::vector<std::string>& args,
                    const std::string& control_socket, bool json,
                    std::ostream& out, std::ostream& err) {
  std::string socket_flag;
  std::vector<std::string> words;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--rlimit-socket" && i + 1 < args.size()) {
      socket_flag = args[++i];
    } else if (args[i].rfind("--rlimit-socket=", 0) == 0) {
      socket_flag = args[i].substr(16);
    } else {
      words.push_back(args[i]);
    }
  }
  if (words.empty() || words.size() % 3 != 0) {
    err << "vigilctl: watch: expected PID RESOURCE LEVEL triplets\n" << kUsage;
    return 2;
  }
  std::vector<rle_watch> watches;
  for (size_t i = 0; i < words.size(); i += 3) {
    rle_watch w{};
    int resource = rle_resource_from_name(words[i + 1].c_str());
    absl::StatusOr<int64_t> level =
        resource < 0 ? absl::InvalidArgumentError("") : ParseLevel(resource, words[i + 2]);
    if (!absl::SimpleAtoi(words[i], &w.pid)) {
      err << "vigilctl: watch: PID: expected a process id, got \"" << words[i] << "\"\n";
      return 2;
    }
    if (resource < 0) {
      err << "vigilctl: watch: RESOURCE: expected nofile, tasks, rss, cpu or maze, got \""
          << words[i + 1] << "\"\n";
      return 2;
    }
    if (!level.ok()) {
      err << "vigilctl: watch: LEVEL of " << words[i + 1] << ": " << level.status().message()
          << "\n";
      return 2;
    }
    w.resource = static_cast<uint32_t>(resource);
    w.level = *level;
    watches.push_back(w);
  }
  const std::string path = SocketPath(socket_flag, control_socket);
  Error error;
  std::optional<Watcher> watcher = Watcher::Open(path, &error);
  if (!watcher) {
    err << "vigilctl: " << error.message
        << " (is vigild running? --rlimit-socket or $VIGIL_RLIMIT_SOCKET selects the socket)\n";
    return 1;
  }
  absl::flat_hash_set<int32_t> alive;
  for (const rle_watch& w : watches) {
    error = watcher->Add(w);
    if (!error.ok()) {
      err << absl::StrFormat("vigilctl: watch pid %d %s level %d: %s\n", w.pid,
                             rle_resource_name(w.resource), w.level, error.message);
      return 1;
    }
    alive.insert(w.pid);
    if (!json) {
      out << absl::StrFormat("watching pid %d %s level %d", w.pid,
                             rle_resource_name(w.resource), w.level)
          << std::endl;
    }
  }
  while (!alive.empty()) {
    std::optional<rle_event> event = watcher->Read(&error);
    if (!event) {
      if (error.ok()) {
        err << "vigilctl: vigild closed the rlimit-events connection\n";
      } else {
        err << "vigilctl: " << error.message << "\n";
      }
      return 1;
    }
    out << Describe(*event, json) << std::endl;
    if (event->type == RLE_EV_EXIT) alive.erase(event->pid);
  }
  return 0;
}

}  // namespace vigil::rlimit
