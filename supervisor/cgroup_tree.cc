#include "supervisor/cgroup_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/errno_status.h"
#include "common/status_macros.h"
#include "supervisor/watch/cgroup_events_file.h"
#include "supervisor/watch/flat_keyed.h"

namespace vigil {
namespace {

// The controllers vigil's watches use; others are left alone.
constexpr const char* kWantedControllers[] = {"cpu", "io", "memory", "pids"};

std::vector<std::string> SplitWords(absl::string_view text) {
  return absl::StrSplit(text, absl::ByAnyChar(" \n"), absl::SkipEmpty());
}

std::string Parent(const std::string& path) {
  return path.substr(0, path.rfind('/'));
}

}  // namespace

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(absl::StrCat("open ", path), errno);
  UniqueFd owner(fd);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, n);
  if (n < 0) return ErrnoStatus(absl::StrCat("read ", path), errno);
  return out;
}

absl::Status WriteStringToFile(const std::string& path,
                               const std::string& content) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(absl::StrCat("open ", path), errno);
  UniqueFd owner(fd);
  if (write(fd, content.data(), content.size()) !=
      static_cast<ssize_t>(content.size())) {
    return ErrnoStatus(absl::StrCat("write \"", content, "\" to ", path),
                       errno);
  }
  return absl::OkStatus();
}

bool CgroupHostInfo::HasController(const std::string& name) const {
  return std::find(root_controllers.begin(), root_controllers.end(), name) !=
         root_controllers.end();
}

absl::StatusOr<CgroupHostInfo> ParseCgroupHostInfo(
    const std::string& mountinfo, const std::string& proc_self_cgroup) {
  CgroupHostInfo info;
  bool v1_seen = false;
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n')) {
    // "id parent maj:min root mountpoint opts ... - fstype source superopts"
    std::vector<absl::string_view> halves = absl::StrSplit(line, " - ");
    if (halves.size() != 2) continue;
    std::vector<absl::string_view> left = absl::StrSplit(halves[0], ' ');
    std::vector<absl::string_view> right = absl::StrSplit(halves[1], ' ');
    if (left.size() < 5 || right.empty()) continue;
    if (right[0] == "cgroup") v1_seen = true;
    if (right[0] == "cgroup2" && info.mount.empty()) {
      info.mount = std::string(left[4]);
    }
  }
  if (info.mount.empty()) {
    return absl::FailedPreconditionError(
        "no cgroup2 filesystem is mounted (looked in /proc/self/mountinfo); "
        "mount one, e.g. mount -t cgroup2 none /sys/fs/cgroup");
  }
  info.layout = v1_seen ? CgroupLayout::kHybrid : CgroupLayout::kUnified;
  info.own_cgroup = "/";
  for (absl::string_view line : absl::StrSplit(proc_self_cgroup, '\n')) {
    if (absl::ConsumePrefix(&line, "0::")) info.own_cgroup = std::string(line);
  }
  return info;
}

absl::StatusOr<CgroupHostInfo> DetectCgroupHost() {
  ASSIGN_OR_RETURN(std::string mountinfo,
                   ReadFileToString("/proc/self/mountinfo"));
  ASSIGN_OR_RETURN(std::string self_cgroup,
                   ReadFileToString("/proc/self/cgroup"));
  ASSIGN_OR_RETURN(CgroupHostInfo info,
                   ParseCgroupHostInfo(mountinfo, self_cgroup));
  ASSIGN_OR_RETURN(std::string controllers,
                   ReadFileToString(info.mount + "/cgroup.controllers"));
  info.root_controllers = SplitWords(controllers);
  return info;
}

absl::StatusOr<std::unique_ptr<UnitCgroup>> UnitCgroup::Create(
    const std::string& path) {
  if (mkdir(path.c_str(), 0755) < 0 && errno != EEXIST) {
    return ErrnoStatus(absl::StrCat("mkdir ", path), errno);
  }
  std::string events_path = path + "/cgroup.events";
  if (access(events_path.c_str(), R_OK) < 0) {
    return ErrnoStatus(absl::StrCat("access ", events_path), errno);
  }
  return std::unique_ptr<UnitCgroup>(new UnitCgroup(path));
}

UnitCgroup::~UnitCgroup() = default;

absl::StatusOr<UniqueFd> UnitCgroup::OpenDir() const {
  int dir = open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return ErrnoStatus(absl::StrCat("open ", path_), errno);
  return UniqueFd(dir);
}

namespace {

absl::StatusOr<bool> ReadPopulated(const watch::CgroupEventsFile& events) {
  ASSIGN_OR_RETURN(watch::FlatKeyed keys, events.Read());
  std::optional<int64_t> populated = watch::FindKey(keys, "populated");
  if (!populated) {
    return absl::InternalError(absl::StrCat(events.path(), " has no \"populated\" key"));
  }
  return *populated == 1;
}

}  // namespace

absl::StatusOr<bool> UnitCgroup::Populated() const {
  ASSIGN_OR_RETURN(watch::CgroupEventsFile events,
                   watch::CgroupEventsFile::Open(path_ + "/cgroup.events"));
  return ReadPopulated(events);
}

absl::StatusOr<CgroupEventsWatch> CgroupEventsWatch::Create() {
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return ErrnoStatus("inotify_init1 (for cgroup.events)", errno);
  return CgroupEventsWatch(UniqueFd(fd));
}

absl::StatusOr<int> CgroupEventsWatch::Add(const UnitCgroup& cgroup) {
  std::string events_path = cgroup.path() + "/cgroup.events";
  int id = inotify_add_watch(fd_.get(), events_path.c_str(), IN_MODIFY);
  if (id < 0) {
    return ErrnoStatus(absl::StrCat("inotify_add_watch ", events_path,
                                    errno == ENOSPC ? " (fs.inotify.max_user_watches reached)"
                                                    : ""),
                       errno);
  }
  return id;
}

void CgroupEventsWatch::Remove(int id) { inotify_rm_watch(fd_.get(), id); }

CgroupEventsWatch::Changes CgroupEventsWatch::Read() {
  Changes changes;
  std::set<int> seen;
  alignas(inotify_event) char buf[16384];
  ssize_t n;
  while ((n = read(fd_.get(), buf, sizeof buf)) > 0) {
    for (char* at = buf; at < buf + n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(at);
      at += sizeof(inotify_event) + event->len;
      if (event->mask & IN_Q_OVERFLOW) changes.overflowed = true;
      if ((event->mask & IN_MODIFY) && seen.insert(event->wd).second) {
        changes.ids.push_back(event->wd);
      }
    }
  }
  return changes;
}

absl::StatusOr<std::vector<int>> UnitCgroup::Pids() const {
  ASSIGN_OR_RETURN(std::string procs,
                   ReadFileToString(path_ + "/cgroup.procs"));
  std::vector<int> pids;
  for (const std::string& word : SplitWords(procs)) {
    int pid;
    if (absl::SimpleAtoi(word, &pid)) pids.push_back(pid);
  }
  return pids;
}

absl::Status UnitCgroup::Kill() const {
  absl::Status via_kill_file = WriteStringToFile(path_ + "/cgroup.kill", "1");
  if (via_kill_file.ok()) return via_kill_file;
  // Pre-5.14 kernels: freeze so nothing forks behind our back, then kill.
  (void)Freeze(true);
  ASSIGN_OR_RETURN(std::vector<int> pids, Pids());
  for (int pid : pids) kill(pid, SIGKILL);
  return Freeze(false);
}

absl::Status UnitCgroup::Freeze(bool frozen) const {
  return WriteStringToFile(path_ + "/cgroup.freeze", frozen ? "1" : "0");
}

absl::Status UnitCgroup::Adopt(int pid) const {
  return WriteStringToFile(path_ + "/cgroup.procs", std::to_string(pid));
}

absl::StatusOr<std::unique_ptr<CgroupTree>> CgroupTree::Setup(
    const CgroupHostInfo& host, const std::string& root_setting) {
  auto tree = std::unique_ptr<CgroupTree>(new CgroupTree);
  tree->host_ = host;
  std::string own = host.mount + (host.own_cgroup == "/" ? "" : host.own_cgroup);
  tree->origin_ = own;
  if (root_setting != "auto") {
    if (root_setting.rfind(host.mount + "/", 0) != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cgroup_root ", root_setting, " is not inside the cgroup2 mount ",
          host.mount));
    }
    tree->root_ = root_setting;
  } else if (host.own_cgroup != "/" && access(own.c_str(), W_OK) == 0) {
    tree->root_ = own;  // a delegated subtree (systemd Delegate=yes, container)
  } else {
    tree->root_ = host.mount + "/vigil";
  }
  const std::string& root = tree->root_;
  if (mkdir(root.c_str(), 0755) == 0) {
    tree->created_root_ = true;
  } else if (errno != EEXIST) {
    return ErrnoStatus(absl::StrCat("mkdir ", root), errno);
  }
  for (const char* leaf : {"/vigild", "/units"}) {
    std::string dir = root + leaf;
    if (mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) {
      return ErrnoStatus(absl::StrCat("mkdir ", dir), errno);
    }
  }
  RETURN_IF_ERROR(WriteStringToFile(root + "/vigild/cgroup.procs",
                                    std::to_string(getpid())));
  // Controllers must flow down: the root's parent, the root, then units/.
  tree->EnableControllers(Parent(root));
  tree->enabled_in_root_ = tree->EnableControllers(root);
  tree->EnableControllers(root + "/units");
  tree->RemoveStaleUnits();
  auto enabled = ReadFileToString(root + "/units/cgroup.subtree_control");
  if (enabled.ok()) tree->unit_controllers_ = SplitWords(*enabled);
  return tree;
}

std::vector<std::string> CgroupTree::EnableControllers(const std::string& dir) {
  std::vector<std::string> turned_on;
  auto available = ReadFileToString(dir + "/cgroup.controllers");
  auto already = ReadFileToString(dir + "/cgroup.subtree_control");
  if (!available.ok() || !already.ok()) return turned_on;
  std::vector<std::string> have = SplitWords(*available);
  std::vector<std::string> on = SplitWords(*already);
  for (const char* controller : kWantedControllers) {
    if (std::find(have.begin(), have.end(), controller) == have.end()) continue;
    if (std::find(on.begin(), on.end(), controller) != on.end()) continue;
    if (WriteStringToFile(dir + "/cgroup.subtree_control", absl::StrCat("+", controller)).ok()) {
      turned_on.push_back(controller);
    }
  }
  return turned_on;
}

// A vigild that was SIGKILLed leaves its units' processes running in their
// cgroups; starting the units again would run them twice. So whatever is
// still there is killed, and the empty cgroups removed, before any start.
void CgroupTree::RemoveStaleUnits() {
  std::string units = root_ + "/units";
  DIR* dir = opendir(units.c_str());
  if (dir == nullptr) return;
  std::vector<std::string> names;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_type == DT_DIR && entry->d_name[0] != '.') names.push_back(entry->d_name);
  }
  closedir(dir);
  for (const std::string& name : names) {
    auto unit = UnitCgroup::Create(units + "/" + name);
    if (!unit.ok()) continue;
    auto events = watch::CgroupEventsFile::Open((*unit)->path() + "/cgroup.events");
    if (events.ok() && ReadPopulated(*events).value_or(false)) {
      setup_notes_.push_back(absl::StrCat("killing processes left in ", (*unit)->path(),
                                          " by a previous vigild"));
      (void)(*unit)->Kill();
      // Start-up only: wait (bounded, 5 s) for the kernel to report it empty;
      // each Read() through the polled fd re-arms its POLLPRI.
      for (int i = 0; i < 50 && ReadPopulated(*events).value_or(false); ++i) {
        pollfd pfd{events->fd(), watch::CgroupEventsFile::kPollEvents, 0};
        poll(&pfd, 1, 100);
      }
    }
    unit->reset();
    if (rmdir((units + "/" + name).c_str()) == 0) {
      setup_notes_.push_back(absl::StrCat("removed stale cgroup ", units, "/", name));
    }
  }
}

bool CgroupTree::UnitsHave(const std::string& controller) const {
  return std::find(unit_controllers_.begin(), unit_controllers_.end(),
                   controller) != unit_controllers_.end();
}

absl::StatusOr<std::unique_ptr<UnitCgroup>> CgroupTree::CreateUnit(
    const std::string& name) {
  return UnitCgroup::Create(root_ + "/units/" + name);
}

absl::Status CgroupTree::RemoveUnit(const std::string& name) {
  std::string path = root_ + "/units/" + name;
  if (rmdir(path.c_str()) < 0 && errno != ENOENT) {
    return ErrnoStatus(absl::StrCat("rmdir ", path), errno);
  }
  return absl::OkStatus();
}

CgroupTree::~CgroupTree() {
  rmdir((root_ + "/units").c_str());
  // A cgroup with controllers in subtree_control cannot take processes back
  // (no-internal-processes rule): undo what Setup turned on first.
  for (const std::string& controller : enabled_in_root_) {
    (void)WriteStringToFile(root_ + "/cgroup.subtree_control", "-" + controller);
  }
  (void)WriteStringToFile(origin_ + "/cgroup.procs", std::to_string(getpid()));
  rmdir((root_ + "/vigild").c_str());
  if (created_root_) rmdir(root_.c_str());
}

}  // namespace vigil
