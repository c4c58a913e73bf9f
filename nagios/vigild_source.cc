#include "nagios/vigild_source.h"

#include <unistd.h>

#include <algorithm>

namespace vigil::nagios {
namespace {
constexpr char kProcRoot[] = "/proc";

bool NeedsWholeTable(const CheckConfig& c) {
  return c.verbose >= 3 || (c.kthread_filter && c.verbose >= 2);
}
}  // namespace

json::Value SelectorsFor(const CheckConfig& c) {
  json::Value main = json::Value::Object();
  if (!NeedsWholeTable(c)) {
    if (c.filters & kFilterProg) main.Set("command", c.command);
    if (c.filters & kFilterUser) main.Set("uid", c.uid);
    if (c.filters & kFilterPpid) main.Set("ppid", c.ppid);
    if (c.filters & kFilterArgs) main.Set("args", c.args);
    if ((c.filters & kFilterEregArgs) && c.args_regex) {
      main.Set("ereg", c.args_regex->pattern());
    }
  }
  json::Value selectors = json::Value::Array().Push(std::move(main));
  if (c.kthread_filter) {
    selectors.Push(json::Value::Object().Set("pid", 1));
    selectors.Push(json::Value::Object().Set("command", "kthreadd"));
  }
  return selectors;
}

std::unique_ptr<VigildProcessSource> VigildProcessSource::Connect(
    const std::string& socket_path, const CheckConfig& config) {
  if (socket_path.empty()) return nullptr;
  auto client = VigildClient::Connect(socket_path);
  if (!client.ok()) return nullptr;
  return std::unique_ptr<VigildProcessSource>(
      new VigildProcessSource(*std::move(client), config));
}

absl::StatusOr<std::vector<int>> VigildProcessSource::Candidates() {
  json::Value request = json::Value::Object();
  request.Set("cmd", "procs");
  request.Set("select", SelectorsFor(config_));
  auto reply = client_.Request(request);
  if (!reply.ok()) return reply.status();
  const json::Value* available = reply->Find("available");
  if (available == nullptr || !available->IsBool() || !available->AsBool()) {
    const json::Value* reason = reply->Find("reason");
    return absl::UnavailableError(reason != nullptr && reason->IsString()
                                      ? reason->AsString()
                                      : "vigild's process table is unavailable");
  }
  const json::Value* pids = reply->Find("pids");
  if (pids == nullptr || !pids->IsArray()) {
    return absl::DataLossError("vigild's procs reply has no pids");
  }
  std::vector<int> out;
  out.reserve(pids->AsArray().size());
  for (const json::Value& pid : pids->AsArray()) {
    if (pid.IsInt()) out.push_back(static_cast<int>(pid.AsInt()));
  }
  return out;
}

absl::StatusOr<std::vector<PsRow>> VigildProcessSource::Rows() {
  auto candidates = Candidates();
  if (!candidates.ok()) {
    fallback_reason_ = std::string(candidates.status().message());
    return ProcSource(kProcRoot).Rows();
  }
  auto clock = ReadPsClock(kProcRoot);
  if (!clock.ok()) return clock.status();
  std::sort(candidates->begin(), candidates->end());
  used_table_ = true;
  candidates_ = candidates->size();
  const int self_pid = getpid();
  std::vector<KernelProcess> processes;
  processes.reserve(candidates->size() + 1);
  for (int pid : *candidates) {
    auto process = ReadKernelProcess(kProcRoot, pid);
    if (!process.ok()) continue;  // exited since vigild answered, as with ps
    processes.push_back(*std::move(process));
  }
  // The ps child check_procs forks is always in its list.
  auto self = ReadKernelProcess(kProcRoot, self_pid);
  if (self.ok()) processes.push_back(PsChildStandIn(*self, *clock, PidMax(kProcRoot)));
  return RowsFromKernelProcesses(processes, *clock, PidColumnWidth(kProcRoot));
}

}  // namespace vigil::nagios
