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

// One unit's cgroup. Owns an O_DIRECTORY fd (for CLONE_INTO_CGROUP) and an
// fd on cgroup.events, which the kernel marks POLLPRI when "populated" or
// "frozen" changes (kernfs notify).
class UnitCgroup {
 public:
  static absl::StatusOr<std::unique_ptr<UnitCgroup>> Create(
      const std::string& path);
  ~UnitCgroup();

  const std::string& path() const { return path_; }
  int dir_fd() const { return dir_fd_.get(); }
  int events_fd() const { return events_fd_.get(); }

  absl::StatusOr<bool> Populated() const;
  // SIGKILL to every process in the cgroup: cgroup.kill where the kernel has
  // it (5.14+), otherwise one kill(2) per pid in cgroup.procs.
  absl::Status Kill() const;
  absl::Status Freeze(bool frozen) const;
  absl::StatusOr<std::vector<int>> Pids() const;
  // Moves the calling process (or a given pid) into this cgroup.
  absl::Status Adopt(int pid) const;

 private:
  UnitCgroup(std::string path, UniqueFd dir, UniqueFd events)
      : path_(std::move(path)), dir_fd_(std::move(dir)),
        events_fd_(std::move(events)) {}
  std::string path_;
  UniqueFd dir_fd_;
  UniqueFd events_fd_;
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
