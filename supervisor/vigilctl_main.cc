// vigilctl: talks to vigild over its control socket (JSON lines).
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/json.h"
#include "supervisor/rlimit/watch_command.h"
#include "supervisor/maze/maze_entry.h"

namespace {

constexpr char kUsage[] =
    "usage: vigilctl [--socket PATH] [--json] COMMAND [UNIT]\n"
    "commands:\n"
    "  status [UNIT]    state, pid, uptime, restarts and last exit of units\n"
    "  start UNIT       start a unit (clears its start-limit history)\n"
    "  stop UNIT        stop a unit (signal, timeout, then kill its cgroup)\n"
    "  restart UNIT     stop, then start\n"
    "  reload           re-read the configuration and apply the difference\n"
    "  events           print events as they happen, one JSON object a line\n"
    "  capabilities     what vigild found on this host and which mechanisms it uses\n"
    "  maze add PID SOFT HARD SOFTSIG HARDSIG\n"
    "                   MAZE: signal a task of PID on the CPU for SOFT without blocking\n"
    "                   with SOFTSIG (once), for HARD with HARDSIG; limits in ms (or 5s,\n"
    "                   300ms), signals as numbers or names; inherited by new children\n"
    "  maze add -       the same, one /proc/maze/entries line per stdin line\n"
    "  maze del PID     stop watching PID\n"
    "  maze list        pid, tid, maze count, limits (ms) and signals of every watched task\n"
    "  watch PID RESOURCE LEVEL [PID RESOURCE LEVEL]...\n"
    "                   rlimit-events: print each crossing of LEVEL by PID's RESOURCE\n"
    "                   (nofile, tasks, rss 200M, cpu 5s, maze 300ms) until the PIDs exit;\n"
    "                   socket: --rlimit-socket, $VIGIL_RLIMIT_SOCKET, else beside --socket\n"
    "The socket defaults to $VIGIL_SOCKET, else /run/vigil/vigild.sock.\n";

int Usage(const std::string& problem) {
  std::cerr << "vigilctl: " << problem << "\n" << kUsage;
  return 2;
}

class Connection {
 public:
  explicit Connection(int fd) : fd_(fd) {}
  ~Connection() { close(fd_); }
  bool Send(const std::string& line) {
    std::string data = line + "\n";
    return write(fd_, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  }
  // False at end of stream.
  bool ReadLine(std::string* line) {
    for (;;) {
      size_t newline = buffer_.find('\n');
      if (newline != std::string::npos) {
        *line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        return true;
      }
      char chunk[65536];
      ssize_t n = read(fd_, chunk, sizeof chunk);
      if (n <= 0) return false;
      buffer_.append(chunk, n);
    }
  }

 private:
  int fd_;
  std::string buffer_;
};

int Connect(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return -1;
  std::strcpy(addr.sun_path, path.c_str());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

std::string Field(const vigil::json::Value& object, const char* key) {
  const vigil::json::Value* v = object.Find(key);
  if (v == nullptr || v->IsNull()) return "-";
  if (v->IsString()) return v->AsString();
  return vigil::json::Serialize(*v);
}

std::string FormatUptime(int64_t ms) {
  if (ms <= 0) return "-";
  int64_t s = ms / 1000;
  if (s < 60) return absl::StrFormat("%ds", s);
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%dh%02dm", s / 3600, (s % 3600) / 60);
}

void PrintStatus(const vigil::json::Value& reply, const std::string& only) {
  std::cout << absl::StrFormat("%-20s %-9s %-8s %-8s %-8s %s\n", "UNIT", "STATE", "PID",
                               "UPTIME", "RESTARTS", "LAST EXIT");
  const vigil::json::Value* units = reply.Find("units");
  if (units == nullptr || !units->IsArray()) return;
  for (const auto& u : units->AsArray()) {
    if (!only.empty() && Field(u, "name") != only) continue;
    const vigil::json::Value* uptime = u.Find("uptime_ms");
    std::cout << absl::StrFormat(
        "%-20s %-9s %-8s %-8s %-8s %s\n", Field(u, "name"), Field(u, "state"),
        Field(u, "pid") == "0" ? "-" : Field(u, "pid"),
        FormatUptime(uptime && uptime->IsNumber() ? uptime->AsInt() : 0), Field(u, "restarts"),
        Field(u, "last_exit"));
  }
}

// One request/reply on `connection`; prints the error and returns false when
// vigild refuses.
bool MazeRequest(Connection& connection, const vigil::json::Value& request,
                 vigil::json::Value* reply, std::string* line) {
  if (!connection.Send(vigil::json::Serialize(request)) || !connection.ReadLine(line)) {
    std::cerr << "vigilctl: vigild closed the connection\n";
    return false;
  }
  auto parsed = vigil::json::Parse(*line);
  if (!parsed.ok()) {
    std::cerr << "vigilctl: unreadable reply from vigild: " << parsed.status().message() << "\n";
    return false;
  }
  const vigil::json::Value* ok = parsed->Find("ok");
  if (ok == nullptr || !ok->IsBool() || !ok->AsBool()) {
    std::cerr << "vigilctl: maze " << Field(request, "cmd").substr(5) << ": "
              << Field(*parsed, "error") << "\n";
    return false;
  }
  *reply = *std::move(parsed);
  return true;
}

// Like a line of MAZE's /proc/maze/entries, per task, times in ms.
void PrintMazeEntries(const vigil::json::Value& reply) {
  const vigil::json::Value* entries = reply.Find("entries");
  if (entries == nullptr || !entries->IsArray()) return;
  for (const auto& e : entries->AsArray()) {
    std::cout << absl::StrFormat(
        "pid:%5s tid:%5s count:%6s soft-limit:%6s hard-limit:%6s soft-signal:%2s "
        "hard-signal:%2s unit:%s\n",
        Field(e, "pid"), Field(e, "tid"), Field(e, "count"), Field(e, "soft"),
        Field(e, "hard"), Field(e, "soft_signal"), Field(e, "hard_signal"),
        Field(e, "unit").empty() ? "-" : Field(e, "unit"));
  }
}

// `vigilctl maze add|del|list`: MAZE's control file, over the control socket.
int Maze(const std::string& socket_path, bool raw_json, const std::vector<std::string>& args) {
  std::string sub = args.size() > 1 ? args[1] : "";
  std::vector<vigil::json::Value> requests;
  if (sub == "add" && args.size() == 3 && args[2] == "-") {
    std::string text;
    for (int number = 1; std::getline(std::cin, text); ++number) {
      size_t start = text.find_first_not_of(" \t\r");
      if (start == std::string::npos || text[start] == '#') continue;
      auto entry = vigil::maze::ParseMazeEntryLine(text);
      if (!entry.ok()) {
        std::cerr << "vigilctl: maze add: stdin line " << number << ": "
                  << entry.status().message() << "\n";
        return 2;
      }
      requests.push_back(vigil::maze::MazeAddRequest(*entry));
    }
  } else if (sub == "add") {
    auto entry = vigil::maze::ParseMazeEntryFields({args.begin() + 2, args.end()});
    if (!entry.ok()) return Usage(absl::StrCat("maze add: ", entry.status().message()));
    requests.push_back(vigil::maze::MazeAddRequest(*entry));
  } else if (sub == "del" && args.size() == 3) {
    int pid = 0;
    if (!absl::SimpleAtoi(args[2], &pid) || pid <= 0) {
      return Usage(absl::StrCat("maze del: PID: expected a process id (a positive integer), got \"",
                                args[2], "\""));
    }
    requests.push_back(vigil::json::Value::Object().Set("cmd", "maze-del").Set("pid", pid));
  } else if (sub == "list" && args.size() == 2) {
    requests.push_back(vigil::json::Value::Object().Set("cmd", "maze-list"));
  } else {
    return Usage("maze: expected add PID SOFT HARD SOFTSIG HARDSIG, add -, del PID or list");
  }
  int fd = Connect(socket_path);
  if (fd < 0) {
    std::cerr << "vigilctl: cannot connect to " << socket_path << ": " << strerror(errno)
              << " (is vigild running? --socket or $VIGIL_SOCKET selects the socket)\n";
    return 1;
  }
  Connection connection(fd);
  int failures = 0;
  for (const vigil::json::Value& request : requests) {
    vigil::json::Value reply;
    std::string line;
    if (!MazeRequest(connection, request, &reply, &line)) {
      ++failures;
      continue;
    }
    if (raw_json) {
      std::cout << line << "\n";
    } else if (sub == "list") {
      PrintMazeEntries(reply);
    } else if (sub == "del") {
      std::cout << "maze: pid " << Field(reply, "pid") << " no longer watched\n";
    } else {
      std::cout << "maze: pid " << Field(reply, "pid")
                << (Field(reply, "updated") == "true" ? " updated\n" : " watched\n");
    }
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path =
      getenv("VIGIL_SOCKET") ? getenv("VIGIL_SOCKET") : "/run/vigil/vigild.sock";
  bool raw_json = false;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--socket") {
      if (i + 1 >= argc) return Usage("argument --socket: expected a path");
      socket_path = argv[++i];
    } else if (arg.rfind("--socket=", 0) == 0) {
      socket_path = arg.substr(9);
    } else if (arg == "--json") {
      raw_json = true;
    } else if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (!args.empty() && args[0] == "maze") {
      args.push_back(arg);  // "-" (stdin) and fields are not options
    } else if (!args.empty() && args[0] == "watch") {
      args.push_back(arg);  // its own options, and negative levels for vigild to refuse
    } else if (arg.rfind("-", 0) == 0) {
      return Usage("unknown option \"" + arg + "\"");
    } else {
      args.push_back(arg);
    }
  }
  if (args.empty()) return Usage("missing COMMAND");
  const std::string& cmd = args[0];
  if (cmd == "watch") {
    return vigil::rlimit::RunWatchCommand({args.begin() + 1, args.end()}, socket_path, raw_json,
                                          std::cout, std::cerr);
  }
  if (cmd == "maze") return Maze(socket_path, raw_json, args);
  bool needs_unit = cmd == "start" || cmd == "stop" || cmd == "restart";
  bool known = needs_unit || cmd == "status" || cmd == "reload" || cmd == "events" ||
               cmd == "capabilities";
  if (!known) return Usage("unknown command \"" + cmd + "\"");
  if (needs_unit && args.size() != 2) return Usage(cmd + ": expected exactly one UNIT");
  if (!needs_unit && args.size() > (cmd == "status" ? 2u : 1u)) {
    return Usage(cmd + ": unexpected argument \"" + args.back() + "\"");
  }

  int fd = Connect(socket_path);
  if (fd < 0) {
    std::cerr << "vigilctl: cannot connect to " << socket_path << ": " << strerror(errno)
              << " (is vigild running? --socket or $VIGIL_SOCKET selects the socket)\n";
    return 1;
  }
  Connection connection(fd);
  vigil::json::Value request = vigil::json::Value::Object();
  request.Set("cmd", cmd);
  if (needs_unit) request.Set("unit", args[1]);
  std::string line;
  if (!connection.Send(vigil::json::Serialize(request)) || !connection.ReadLine(&line)) {
    std::cerr << "vigilctl: vigild closed the connection\n";
    return 1;
  }
  auto reply = vigil::json::Parse(line);
  if (!reply.ok()) {
    std::cerr << "vigilctl: unreadable reply from vigild: " << reply.status().message() << "\n";
    return 1;
  }
  const vigil::json::Value* ok = reply->Find("ok");
  if (ok == nullptr || !ok->IsBool() || !ok->AsBool()) {
    std::cerr << "vigilctl: " << Field(*reply, "error") << "\n";
    return 1;
  }
  if (cmd == "events") {
    while (connection.ReadLine(&line)) std::cout << line << std::endl;
    return 0;
  }
  if (raw_json || cmd == "capabilities") {
    std::cout << line << "\n";
  } else if (cmd == "status") {
    PrintStatus(*reply, args.size() == 2 ? args[1] : "");
  } else if (needs_unit) {
    const vigil::json::Value* unit = reply->Find("unit");
    std::cout << args[1] << ": " << (unit ? Field(*unit, "state") : "ok") << "\n";
  } else {
    std::cout << "reloaded\n";
  }
  return 0;
}
