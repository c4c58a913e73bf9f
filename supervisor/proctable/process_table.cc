#include "supervisor/proctable/process_table.h"

#include <algorithm>

namespace vigil::proctable {
namespace {

template <typename Key>
void RemoveFrom(absl::flat_hash_map<Key, absl::flat_hash_set<pid_t>>& index,
                const Key& key, pid_t pid) {
  auto it = index.find(key);
  if (it == index.end()) return;
  it->second.erase(pid);
  if (it->second.empty()) index.erase(it);
}

bool ArgsMatch(const Selector& s, const std::string& args) {
  if (s.args_substring && args.find(*s.args_substring) == std::string::npos) {
    return false;
  }
  return !s.args_match || s.args_match(args);
}

}  // namespace

bool Matches(const Selector& s, const ProcessFacts& f) {
  if (s.pid && f.pid != *s.pid) return false;
  if (s.command && f.command != *s.command) return false;
  if (s.euid && f.euid != *s.euid) return false;
  if (s.ppid && f.ppid != *s.ppid) return false;
  if (!s.args_substring && !s.args_match) return true;
  // An exited process may still be listed with either text.
  return ArgsMatch(s, f.args) || (f.exited && ArgsMatch(s, f.defunct_args));
}

void ProcessTable::Index(const ProcessFacts& f) {
  by_command_[f.command].insert(f.pid);
  by_uid_[f.euid].insert(f.pid);
  by_ppid_[f.ppid].insert(f.pid);
}

void ProcessTable::Unindex(const ProcessFacts& f) {
  RemoveFrom(by_command_, f.command, f.pid);
  RemoveFrom(by_uid_, f.euid, f.pid);
  RemoveFrom(by_ppid_, f.ppid, f.pid);
}

void ProcessTable::Put(ProcessFacts facts) {
  auto it = entries_.find(facts.pid);
  if (it != entries_.end()) {
    Unindex(it->second);
    it->second = std::move(facts);
    Index(it->second);
    return;
  }
  const pid_t pid = facts.pid;
  Index(entries_.emplace(pid, std::move(facts)).first->second);
}

void ProcessTable::Erase(pid_t pid) {
  auto it = entries_.find(pid);
  if (it == entries_.end()) return;
  Unindex(it->second);
  entries_.erase(it);
}

const ProcessFacts* ProcessTable::Find(pid_t pid) const {
  auto it = entries_.find(pid);
  return it == entries_.end() ? nullptr : &it->second;
}

void ProcessTable::Clear() {
  entries_.clear();
  by_command_.clear();
  by_uid_.clear();
  by_ppid_.clear();
  exited_.clear();
}

void ProcessTable::MarkExited(pid_t pid, std::string defunct_args) {
  auto it = entries_.find(pid);
  if (it == entries_.end() || it->second.exited) return;
  it->second.exited = true;
  it->second.defunct_args = std::move(defunct_args);
  exited_.push_back(pid);
}

std::vector<pid_t> ProcessTable::TakeExitedToConfirm(size_t budget) {
  std::vector<pid_t> out;
  while (out.size() < budget && !exited_.empty()) {
    const pid_t pid = exited_.front();
    exited_.pop_front();
    // A pid reused by a new process (or already erased) needs no check.
    const ProcessFacts* facts = Find(pid);
    if (facts != nullptr && facts->exited) out.push_back(pid);
  }
  return out;
}

void ProcessTable::RequeueExited(pid_t pid) { exited_.push_back(pid); }

std::vector<pid_t> ProcessTable::Children(pid_t ppid) const {
  auto it = by_ppid_.find(ppid);
  if (it == by_ppid_.end()) return {};
  return std::vector<pid_t>(it->second.begin(), it->second.end());
}

void ProcessTable::Select(const Selector& s, absl::flat_hash_set<pid_t>& out,
                          size_t& examined) const {
  static const absl::flat_hash_set<pid_t> kNone;
  // The smallest index that applies; nullptr: none applies, walk everything.
  const absl::flat_hash_set<pid_t>* smallest = nullptr;
  auto consider = [&](const auto& index, const auto& key) {
    auto it = index.find(key);
    const absl::flat_hash_set<pid_t>* set = it == index.end() ? &kNone : &it->second;
    if (smallest == nullptr || set->size() < smallest->size()) smallest = set;
  };
  if (s.pid) {
    ++examined;
    const ProcessFacts* facts = Find(*s.pid);
    if (facts != nullptr && Matches(s, *facts)) out.insert(*s.pid);
    return;
  }
  if (s.command) consider(by_command_, *s.command);
  if (s.euid) consider(by_uid_, *s.euid);
  if (s.ppid) consider(by_ppid_, *s.ppid);
  if (smallest == nullptr) {
    for (const auto& [pid, facts] : entries_) {
      ++examined;
      if (Matches(s, facts)) out.insert(pid);
    }
    return;
  }
  for (pid_t pid : *smallest) {
    ++examined;
    if (Matches(s, entries_.at(pid))) out.insert(pid);
  }
}

QueryResult ProcessTable::Query(const std::vector<Selector>& selectors) const {
  absl::flat_hash_set<pid_t> selected;
  QueryResult result;
  for (const Selector& s : selectors) Select(s, selected, result.examined);
  result.pids.assign(selected.begin(), selected.end());
  std::sort(result.pids.begin(), result.pids.end());
  return result;
}

}  // namespace vigil::proctable
