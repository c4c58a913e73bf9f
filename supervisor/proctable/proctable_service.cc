#include "supervisor/proctable/proctable_service.h"

#include <dirent.h>
#include <regex.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "nagios/process_source.h"
#include "nagios/ps_output.h"

namespace vigil::proctable {
namespace {

// One ps line for a process with these names, parsed as check_procs parses
// it: the keys then follow every quirk of the real parser (comm cut to 15
// columns, a space in comm spilling into args, [comm] for empty cmdlines).
nagios::ProcessRecord ParsedLine(const std::string& comm, const std::string& cmdline,
                                 char state) {
  nagios::KernelProcess p;
  p.pid = 1;
  p.state = state;
  p.comm = comm;
  p.cmdline = cmdline;
  nagios::PsClock clock;
  clock.boot_ticks = 100;
  std::vector<nagios::PsRow> rows =
      nagios::ParsePsOutput(nagios::RenderPsOutput({p}, clock, 5));
  if (rows.empty() || !rows[0].parsed) {
    nagios::ProcessRecord fallback;
    fallback.prog = comm;
    return fallback;
  }
  return rows[0].record;
}

// Owns a compiled regex for an "ereg" selector.
struct Regex {
  regex_t regex;
  ~Regex() { regfree(&regex); }
};

absl::StatusOr<Selector> ParseSelector(const json::Value& object) {
  if (!object.IsObject()) {
    return absl::InvalidArgumentError("field \"select\": expected objects");
  }
  Selector s;
  for (const auto& [key, value] : object.AsObject()) {
    if (key == "pid" || key == "uid" || key == "ppid") {
      auto n = json::GetInt(object, key);
      if (!n.ok()) return n.status();
      if (key == "pid") s.pid = static_cast<pid_t>(*n);
      if (key == "uid") s.euid = static_cast<uint32_t>(*n);
      if (key == "ppid") s.ppid = static_cast<pid_t>(*n);
    } else if (key == "command" || key == "args" || key == "ereg") {
      auto text = json::GetString(object, key);
      if (!text.ok()) return text.status();
      if (key == "command") s.command = *text;
      if (key == "args") s.args_substring = *text;
      if (key == "ereg") {
        auto regex = std::make_shared<Regex>();
        if (regcomp(&regex->regex, text->c_str(), REG_EXTENDED | REG_NOSUB) != 0) {
          return absl::InvalidArgumentError(
              absl::StrCat("field \"ereg\": not a POSIX extended regex: ", *text));
        }
        s.args_match = [regex](const std::string& args) {
          return regexec(&regex->regex, args.c_str(), 0, nullptr, 0) == 0;
        };
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "selector key \"", key, "\": expected pid, command, uid, ppid, args or ereg"));
    }
  }
  return s;
}

json::Value Failure(absl::string_view message) {
  json::Value reply = json::Value::Object();
  reply.Set("ok", false);
  reply.Set("error", std::string(message));
  return reply;
}

}  // namespace

PsKeys KeysFor(const std::string& comm, const std::string& cmdline) {
  nagios::ProcessRecord live = ParsedLine(comm, cmdline, 'S');
  nagios::ProcessRecord defunct = ParsedLine(comm, "", 'Z');
  return {std::move(live.prog), std::move(live.args), std::move(defunct.args)};
}

std::unique_ptr<ProcTableService> ProcTableService::Start(std::string proc_root,
                                                          int receive_buffer_bytes) {
  std::unique_ptr<ProcTableService> service(new ProcTableService(std::move(proc_root)));
  auto connector = maze::ProcConnector::Subscribe(receive_buffer_bytes);
  if (!connector.ok()) {
    service->unavailable_reason_ = std::string(connector.status().message());
    return service;
  }
  service->connector_.emplace(*std::move(connector));
  // Subscribed first: whatever happens during the scan is queued as events,
  // and applying them in order ends in the current state.
  service->Rescan();
  return service;
}

std::string ProcTableService::Describe() const {
  if (!available()) {
    return absl::StrCat("process table: unavailable (", *unavailable_reason_,
                        "); check_vigil scans /proc itself");
  }
  return absl::StrCat("process table: ", table_.size(),
                      " processes from one /proc scan, kept current by proc connector "
                      "events (fork, exec, exit, uid, comm) applied when check_vigil asks");
}

std::optional<ProcessFacts> ProcTableService::ReadFacts(pid_t pid) {
  ++stats_.proc_reads;
  auto process = nagios::ReadKernelProcess(proc_root_, pid);
  if (!process.ok()) return std::nullopt;
  PsKeys keys = KeysFor(process->comm, process->cmdline);
  return ProcessFacts{.pid = pid,
                      .ppid = process->ppid,
                      .euid = process->euid,
                      .comm = std::move(process->comm),
                      .cmdline = std::move(process->cmdline),
                      .command = std::move(keys.command),
                      .args = std::move(keys.args),
                      .defunct_args = std::move(keys.defunct_args),
                      .exited = process->state == 'Z'};
}

std::optional<ProcessFacts> ProcTableService::ReadForEvent(pid_t pid) {
  ++stats_.event_reads;
  return ReadFacts(pid);
}

void ProcTableService::Rescan() {
  table_.Clear();
  std::unique_ptr<DIR, int (*)(DIR*)> dir(opendir(proc_root_.c_str()), closedir);
  if (!dir) return;
  while (const dirent* entry = readdir(dir.get())) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid) || pid <= 0) continue;
    std::optional<ProcessFacts> facts = ReadFacts(pid);
    if (!facts) continue;  // exited during the scan
    const bool zombie = facts->exited;
    std::string defunct_args = facts->defunct_args;
    facts->exited = false;
    table_.Put(*std::move(facts));
    if (zombie) table_.MarkExited(pid, std::move(defunct_args));
  }
}

void ProcTableService::RefreshChildren(pid_t parent) {
  for (pid_t child : table_.Children(parent)) {
    const ProcessFacts* known = table_.Find(child);
    std::optional<ProcessFacts> now = ReadForEvent(child);
    if (known == nullptr || !now || now->ppid == known->ppid) continue;
    ProcessFacts updated = *known;
    updated.ppid = now->ppid;
    table_.Put(std::move(updated));
  }
}

void ProcTableService::Apply(const maze::ProcEvent& c) {
  ++stats_.events;
  using Kind = maze::ProcEvent::Kind;
  const ProcessFacts* known = table_.Find(c.tgid);
  switch (c.kind) {
    case Kind::kFork: {
      if (!c.IsProcessLevel()) return;  // a new thread
      const ProcessFacts* parent = table_.Find(c.parent_tgid);
      if (parent == nullptr) {
        if (std::optional<ProcessFacts> facts = ReadForEvent(c.pid)) table_.Put(*std::move(facts));
        return;
      }
      ProcessFacts child = *parent;
      child.pid = c.pid;
      child.ppid = c.parent_tgid;
      child.exited = false;
      table_.Put(std::move(child));
      return;
    }
    case Kind::kExec:
      // After exec the task is the thread group leader: pid == tgid.
      if (std::optional<ProcessFacts> facts = ReadForEvent(c.tgid)) {
        facts->exited = false;
        table_.Put(*std::move(facts));
      }
      return;
    case Kind::kUid:
    case Kind::kComm: {
      if (!c.IsProcessLevel() || known == nullptr) return;
      ProcessFacts updated = *known;
      if (c.kind == Kind::kUid) {
        updated.euid = c.euid;
      } else {
        updated.comm = c.comm;
        PsKeys keys = KeysFor(updated.comm, updated.cmdline);
        updated.command = std::move(keys.command);
        updated.args = std::move(keys.args);
        updated.defunct_args = std::move(keys.defunct_args);
      }
      table_.Put(std::move(updated));
      return;
    }
    case Kind::kExit:
      if (known == nullptr) return;
      // A thread's exit matters once the leader is gone: it may be the last
      // one, whose exit hands the children to a subreaper or init.
      if (!c.IsProcessLevel() && !known->exited) return;
      if (c.IsProcessLevel()) table_.MarkExited(c.tgid, known->defunct_args);
      RefreshChildren(c.tgid);
      return;
    case Kind::kLost:  // handled by Sync() for the whole batch
      return;
  }
}

bool ProcTableService::GoneFromProc(pid_t pid) const {
  return access(absl::StrCat(proc_root_, "/", pid).c_str(), F_OK) != 0;
}

void ProcTableService::ConfirmExited(size_t budget) {
  for (pid_t pid : table_.TakeExitedToConfirm(budget)) {
    if (GoneFromProc(pid)) {
      table_.Erase(pid);
    } else {
      table_.RequeueExited(pid);
    }
  }
}

void ProcTableService::DropReaped(std::vector<pid_t>& candidates) {
  std::erase_if(candidates, [this](pid_t pid) {
    const ProcessFacts* facts = table_.Find(pid);
    if (facts == nullptr || !facts->exited || !GoneFromProc(pid)) return false;
    table_.Erase(pid);
    return true;
  });
}

void ProcTableService::Sync() {
  if (!connector_) return;
  auto changes = connector_->Drain();
  // A socket error or lost events leave the table in doubt: rebuild it from
  // /proc. The whole batch goes: every event in it happened before the scan,
  // which sees their outcome. (The kernel reports an overflow before the
  // older events still queued: applied after the scan, a stale fork event
  // would put the parent's name back on a child that has exec'd since.)
  // Events during the scan stay queued for the next Sync().
  const auto lost = [](const maze::ProcEvent& c) { return c.kind == maze::ProcEvent::Kind::kLost; };
  if (!changes.ok() || std::any_of(changes->begin(), changes->end(), lost)) {
    ++stats_.rescans;
    Rescan();
    return;
  }
  for (const maze::ProcEvent& change : *changes) Apply(change);
  ConfirmExited(changes->size() + 1);
}

json::Value ProcTableService::HandleProcs(const json::Value& request) {
  json::Value reply = json::Value::Object();
  reply.Set("ok", true);
  if (!available()) {
    reply.Set("available", false);
    reply.Set("reason", *unavailable_reason_);
    return reply;
  }
  std::vector<Selector> selectors;
  auto list = json::GetArray(request, "select");
  if (!list.ok()) return Failure(list.status().message());
  for (const json::Value& item : (*list)->AsArray()) {
    auto selector = ParseSelector(item);
    if (!selector.ok()) return Failure(selector.status().message());
    selectors.push_back(*std::move(selector));
  }
  Sync();
  QueryResult result = table_.Query(selectors);
  // One access() per exited candidate: the answer's size, not the table's.
  DropReaped(result.pids);
  json::Value pids = json::Value::Array();
  for (pid_t pid : result.pids) pids.Push(pid);
  reply.Set("available", true);
  reply.Set("pids", std::move(pids));
  reply.Set("examined", static_cast<int64_t>(result.examined));
  reply.Set("table", static_cast<int64_t>(table_.size()));
  return reply;
}

}  // namespace vigil::proctable
