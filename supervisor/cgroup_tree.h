// CgroupTree: finds the cgroup v2 hierarchy vigild may use, moves vigild into
// a leaf of its own and creates one child cgroup per unit.
//
// Layout under the chosen root:
//   <root>/vigild        vigild itself (no-internal-processes rule)
//   <root>/units/<name>  one per unit
#ifndef VIGIL_SUPERVISOR_CGROUP_TREE_H_
#define VIGIL_SUPERVISOR_CGROUP_TREE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "supervisor/unique_fd.h"

namespace vigil {

enum class CgroupLayout { kUnified, kHybrid };

// What the host offers, read from /proc/self/mountinfo, /proc/self/cgroup
// and cgroup.controllers. Plain data, printed at startup.
struct CgroupHostInfo {
  CgroupLayout layout = CgroupLayout::kUnified;
  std::string mount;            // the cgroup2 mount point
  std::string own_cgroup;       // vigild's cgroup, relative to the mount
  std::vector<std::string> root_controllers;  // of the mount's root

  bool HasController(const std::string& name) const;
};

// Parses mountinfo and /proc/self/cgroup text; split from I/O for tests.
absl::StatusOr<CgroupHostInfo> ParseCgroupHostInfo(
    const std::string& mountinfo, const std::string& proc_self_cgroup);
absl::StatusOr<CgroupHostInfo> DetectCgroupHost();

// One unit's cgroup directory. Holds no fd: the directory is opened only
// while a process is spawned into it (OpenDir, for CLONE_INTO_CGROUP), and
// its cgroup.events is watched through the one CgroupEventsWatch shared by all
// units, so a unit costs vigild no descriptor for its cgroup.
class UnitCgroup {
 public:
  static absl::StatusOr<std::unique_ptr<UnitCgroup>> Create(
      const std::string& path);
  ~UnitCgroup();

  const std::string& path() const { return path_; }
  // An O_DIRECTORY fd on the cgroup, for CLONE_INTO_CGROUP.
  absl::StatusOr<UniqueFd> OpenDir() const;

  absl::StatusOr<bool> Populated() const;
  // SIGKILL to every process in the cgroup: cgroup.kill where the kernel has
  // it (5.14+), otherwise one kill(2) per pid in cgroup.procs.
  absl::Status Kill() const;
  absl::Status Freeze(bool frozen) const;
  absl::StatusOr<std::vector<int>> Pids() const;
  // Moves the calling process (or a given pid) into this cgroup.
  absl::Status Adopt(int pid) const;

 private:
  explicit UnitCgroup(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// CgroupEventsWatch: owns one inotify instance (inotify(7)) watching the
// cgroup.events file of any number of cgroups for IN_MODIFY, which kernfs
// raises when "populated" or "frozen" changes (cgroup-v2.rst, "cgroup.events
// ... a value change in this file generates a file modified event"). One fd
// for every unit instead of one per unit; each cgroup costs an inotify watch
// (fs.inotify.max_user_watches), not a descriptor.
class CgroupEventsWatch {
 public:
  static absl::StatusOr<CgroupEventsWatch> Create();

  int fd() const { return fd_.get(); }
  // Watches `cgroup`'s cgroup.events; Read() reports changes by the id returned.
  absl::StatusOr<int> Add(const UnitCgroup& cgroup);
  void Remove(int id);

  struct Changes {
    std::vector<int> ids;     // each changed cgroup once
    bool overflowed = false;  // the kernel dropped events: re-read every cgroup
  };
  // Drains the queue without blocking.
  Changes Read();

 private:
  explicit CgroupEventsWatch(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

class CgroupTree {
 public:
  // `root_setting` is MainConfig::cgroup_root ("auto" or an absolute path).
  static absl::StatusOr<std::unique_ptr<CgroupTree>> Setup(
      const CgroupHostInfo& host, const std::string& root_setting);
  // Moves vigild back to the cgroup it came from and removes what it made.
  ~CgroupTree();

  const std::string& root() const { return root_; }
  const CgroupHostInfo& host() const { return host_; }
  // Controllers enabled for unit cgroups (memory, pids, cpu, io, ...).
  const std::vector<std::string>& unit_controllers() const {
    return unit_controllers_;
  }
  bool UnitsHave(const std::string& controller) const;
  // What Setup found and cleaned up (stale unit cgroups of a vigild that was
  // killed), for the log.
  const std::vector<std::string>& setup_notes() const { return setup_notes_; }

  absl::StatusOr<std::unique_ptr<UnitCgroup>> CreateUnit(
      const std::string& name);
  // Removes an empty unit cgroup directory.
  absl::Status RemoveUnit(const std::string& name);

 private:
  CgroupTree() = default;
  // Returns the controllers this call turned on in `dir`.
  std::vector<std::string> EnableControllers(const std::string& dir);
  void RemoveStaleUnits();

  CgroupHostInfo host_;
  std::string root_;
  std::string origin_;  // absolute path of vigild's cgroup before Setup
  bool created_root_ = false;
  std::vector<std::string> enabled_in_root_;  // turned off again on exit
  std::vector<std::string> setup_notes_;
  std::vector<std::string> unit_controllers_;
};

// Helpers for small cgroup/proc files.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);
absl::Status WriteStringToFile(const std::string& path,
                               const std::string& content);

}  // namespace vigil

#endif  // VIGIL_SUPERVISOR_CGROUP_TREE_H_
