#include "nagios/ps_output.h"

#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace vigil::nagios {
namespace {

// check_procs' strip(): trailing blanks, CR and LF only.
void StripTrailing(std::string& s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r' ||
                        s.back() == '\n' || s.back() == '\t')) {
    s.pop_back();
  }
}

// Variables check_procs keeps across loop iterations (they are not reset
// per line, which is observable with short zombie lines).
struct ParserState {
  explicit ParserState(size_t buffer_size)
      : stat(buffer_size, '\0'), etime(buffer_size, '\0'),
        prog(buffer_size, '\0') {}
  std::vector<char> stat;
  std::vector<char> etime;
  std::vector<char> prog;
  int uid = 0, pid = 0, ppid = 0, vsz = 0, rss = 0, pos = 0;
  float pcpu = 0;
};

// procps escape_str() in the C locale check_procs runs ps in.
std::string EscapeForCLocale(absl::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (unsigned char c : raw) {
    if (c == 0) break;
    if (c < 0x20 || c == 0x7f) {
      out.push_back('.');
    } else if (c >= 0x80) {
      out.push_back('?');
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

// procps 4.0.2 TIME_ELAPSED: a double, 0 unless positive.
double ElapsedSeconds(const KernelProcess& p, const PsClock& clock) {
  const double t = static_cast<double>(clock.boot_ticks) -
                   static_cast<double>(p.start_ticks);
  return t > 0 ? t / static_cast<double>(clock.hertz) : 0;
}

struct Column {
  int width;
  bool right;
};

// stat uid pid ppid vsz rss pcpu etime comm args
void AppendRow(const std::vector<std::string>& cells,
               const std::vector<Column>& columns, std::string& out) {
  int correct = 0, actual = 0, dospace = 0;
  for (size_t i = 0; i < cells.size(); ++i) {
    const std::string& text = cells[i];
    const int amount = static_cast<int>(text.size());
    int leftpad = 0;
    if (columns[i].right) {
      leftpad = columns[i].width - amount;
      if (leftpad < 0) leftpad = 0;
    }
    int space = correct - actual + leftpad;
    if (space < 1) space = dospace;
    out.append(static_cast<size_t>(space), ' ');
    out.append(text);
    actual += space + amount;
    correct += columns[i].width + 1;
    dospace = 1;
  }
  out.push_back('\n');
}

}  // namespace

std::string BaseName(absl::string_view name) {
  size_t base = 0;
  while (base < name.size() && name[base] == '/') ++base;
  bool saw_slash = false;
  for (size_t p = base; p < name.size(); ++p) {
    if (name[p] == '/') {
      saw_slash = true;
    } else if (saw_slash) {
      base = p;
      saw_slash = false;
    }
  }
  auto base_len = [](absl::string_view s) {
    size_t len = s.size();
    while (len > 1 && s[len - 1] == '/') --len;
    return len;
  };
  if (base == name.size()) return std::string(name.substr(0, base_len(name)));
  absl::string_view rest = name.substr(base);
  size_t length = base_len(rest);
  if (length < rest.size() && rest[length] == '/') ++length;
  return std::string(rest.substr(0, length));
}

std::vector<PsRow> ParsePsOutput(absl::string_view text) {
  // cmd_file_read / cmd_run keep the output in one buffer with every '\n'
  // turned into '\0'; `input_line + pos` may therefore run into later lines.
  std::string buffer(text);
  buffer.push_back('\0');
  std::vector<size_t> starts;
  for (size_t i = 0; i < text.size();) {
    starts.push_back(i);
    while (i < text.size() && buffer[i] != '\n') ++i;
    buffer[i] = '\0';
    ++i;
  }
  std::vector<PsRow> rows;
  ParserState state(buffer.size() + 1);
  std::vector<char> prog_scratch(buffer.size() + 1);
  for (size_t j = 1; j < starts.size(); ++j) {
    const char* line = buffer.c_str() + starts[j];
    PsRow row;
    row.raw_line = line;
    state.prog[0] = '\0';
    int cols = std::sscanf(line, "%s %d %d %d %d %d %f %s %s %n",
                           state.stat.data(), &state.uid, &state.pid,
                           &state.ppid, &state.vsz, &state.rss, &state.pcpu,
                           state.etime.data(), state.prog.data(), &state.pos);
    if (cols < 9 && std::strstr(state.stat.data(), "Z") != nullptr) cols = 9;
    if (cols >= 9) {
      row.parsed = true;
      ProcessRecord& r = row.record;
      const size_t args_at = starts[j] + static_cast<size_t>(state.pos);
      r.args = args_at < buffer.size() ? std::string(buffer.c_str() + args_at)
                                       : std::string();
      StripTrailing(r.args);
      r.prog = BaseName(state.prog.data());
      r.stat = state.stat.data();
      r.uid = state.uid;
      r.pid = state.pid;
      r.ppid = state.ppid;
      r.vsz = state.vsz;
      r.rss = state.rss;
      r.pcpu = state.pcpu;
      r.etime = state.etime.data();
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string PsStatText(const KernelProcess& p) {
  std::string s(1, p.state);
  if (p.nice < 0) s.push_back('<');
  if (p.nice > 0) s.push_back('N');
  if (p.locked_kib != 0) s.push_back('L');
  if (p.session == p.pid) s.push_back('s');
  if (p.threads > 1) s.push_back('l');
  if (p.pgrp == p.tpgid) s.push_back('+');
  return s;
}

std::string PsPcpuText(const KernelProcess& p, const PsClock& clock) {
  // Same double arithmetic as procps' pr_pcpu(), truncations included.
  const auto jiffies = static_cast<unsigned long long>(
      ElapsedSeconds(p, clock) * static_cast<double>(clock.hertz));
  unsigned pcpu = 0;
  if (jiffies != 0) {
    pcpu = static_cast<unsigned>(p.cpu_ticks * 1000ULL / jiffies);
  }
  if (pcpu > 999U) return absl::StrFormat("%u", pcpu / 10U);
  return absl::StrFormat("%u.%u", pcpu / 10U, pcpu % 10U);
}

std::string PsEtimeText(const KernelProcess& p, const PsClock& clock) {
  unsigned long t = static_cast<unsigned long>(ElapsedSeconds(p, clock));
  const unsigned ss = t % 60;
  t /= 60;
  const unsigned mm = t % 60;
  t /= 60;
  const unsigned hh = t % 24;
  t /= 24;
  const unsigned dd = static_cast<unsigned>(t);
  std::string out;
  if (dd != 0) absl::StrAppendFormat(&out, "%u-", dd);
  if (dd != 0 || hh != 0) absl::StrAppendFormat(&out, "%02u:", hh);
  absl::StrAppendFormat(&out, "%02u:%02u", mm, ss);
  return out;
}

std::string PsCommText(const KernelProcess& p) {
  return EscapeForCLocale(p.comm);
}

namespace {
// A non-last ps column never prints more than its width: newer kernels
// report long kworker names ("kworker/R-rcu_gp") in /proc/<pid>/stat.
constexpr size_t kCommWidth = 15;
}  // namespace

std::string PsArgsText(const KernelProcess& p) {
  // procps read_unvectored(): trailing NULs dropped, inner NULs and newlines
  // become spaces, then escape_str(); empty cmdline falls back to [comm].
  std::string raw = p.cmdline;
  while (!raw.empty() && raw.back() == '\0') raw.pop_back();
  if (raw.empty()) {
    std::string out = absl::StrCat("[", PsCommText(p), "]");
    if (p.state == 'Z') out += " <defunct>";
    return out;
  }
  for (char& c : raw) {
    if (c == '\0' || c == '\n') c = ' ';
  }
  return EscapeForCLocale(raw);
}

std::string RenderPsOutput(const std::vector<KernelProcess>& processes,
                           const PsClock& clock, int pid_width) {
  const std::vector<Column> columns = {
      {4, false}, {5, true},  {pid_width, true}, {pid_width, true},
      {6, true},  {5, true},  {4, true},         {11, true},
      {15, false}, {0, false}};
  std::string out;
  AppendRow({"STAT", "UID", "PID", "PPID", "VSZ", "RSS", "%CPU", "ELAPSED",
             "COMMAND", "COMMAND"},
            columns, out);
  for (const KernelProcess& p : processes) {
    AppendRow({PsStatText(p), absl::StrCat(p.euid), absl::StrCat(p.pid),
               absl::StrCat(p.ppid), absl::StrCat(p.vsz_kib),
               absl::StrCat(p.rss_kib), PsPcpuText(p, clock),
               PsEtimeText(p, clock), PsCommText(p).substr(0, kCommWidth),
               PsArgsText(p)},
              columns, out);
  }
  return out;
}

}  // namespace vigil::nagios
