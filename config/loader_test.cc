#include "config/loader.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vigil::config {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using ::testing::ElementsAre;

// Each test runs in a fresh directory, so paths in messages are the short
// relative ones a user passing relative paths would see.
class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = getenv("TEST_TMPDIR");
    std::string pattern = std::string(tmp ? tmp : "/tmp") + "/config_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    old_cwd_ = fs::current_path();
    fs::current_path(dir_);
  }
  void TearDown() override {
    fs::current_path(old_cwd_);
    fs::remove_all(dir_);
  }

  static void Write(const std::string& path, const std::string& text) {
    fs::path parent = fs::path(path).parent_path();
    if (!parent.empty()) fs::create_directories(parent);
    std::ofstream(path) << text;
  }

  static std::vector<std::string> ErrorLines(const absl::Status& status) {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    return absl::StrSplit(status.message(), '\n');
  }

  fs::path dir_;
  fs::path old_cwd_;
};

// ---- bad inputs: one file, one exact error ----

struct BadCase {
  const char* name;
  const char* file;  // "vigil.yaml" for the main file, else a unit file
  const char* yaml;
  const char* error;
};

class BadInputTest : public LoaderTest,
                     public ::testing::WithParamInterface<BadCase> {};

TEST_P(BadInputTest, ReportsExactErrorAndLocation) {
  const BadCase& c = GetParam();
  if (std::string(c.file) == "vigil.yaml") {
    fs::create_directories("units");
    Write("vigil.yaml", c.yaml);
  } else {
    Write("vigil.yaml", "units_dir: units\n");
    Write(c.file, c.yaml);
  }
  absl::StatusOr<Config> config = LoadConfig("vigil.yaml");
  ASSERT_FALSE(config.ok()) << c.name;
  EXPECT_THAT(ErrorLines(config.status()), ElementsAre(c.error)) << c.name;
}

constexpr char kUnitKeys[] =
    "exec, shell, env, cwd, user, group, type, pidfile, restart, backoff, "
    "start_limit, stop, after, attach, output, watch";

const BadCase kBadCases[] = {
    // -- the main file --
    {"main_unknown_key", "vigil.yaml", "units_dir: units\nsocket: /tmp/s\n",
     "vigil.yaml:2:1: socket: expected a key among control_socket, "
     "control_socket_mode, cgroup_root, log_level, units_dir, rlimit_events, "
     "nagios, got \"socket\""},
    {"nagios_unknown_key", "vigil.yaml", "units_dir: units\nnagios: {cmd_file: /x}\n",
     "vigil.yaml:2:10: nagios.cmd_file: expected a key among host, service, "
     "level_service, command_file, nsca, icinga2, retry, queue, got \"cmd_file\""},
    {"nagios_relative_command_file", "vigil.yaml",
     "units_dir: units\nnagios:\n  command_file: nagios.cmd\n",
     "vigil.yaml:3:3: nagios.command_file: expected an absolute path, got \"nagios.cmd\""},
    {"nagios_service_without_unit", "vigil.yaml",
     "units_dir: units\nnagios:\n  service: procs\n",
     "vigil.yaml:3:3: nagios.service: expected a service name containing {unit}, got "
     "\"procs\""},
    {"nagios_level_service_without_resource", "vigil.yaml",
     "units_dir: units\nnagios:\n  level_service: \"{unit}\"\n",
     "vigil.yaml:3:3: nagios.level_service: expected a service name containing "
     "{resource}, got \"{unit}\""},
    {"nagios_nsca_without_command", "vigil.yaml",
     "units_dir: units\nnagios:\n  nsca: {}\n",
     "vigil.yaml:3:3: nagios.nsca.command: expected a send_nsca command line, got "
     "nothing (the key is missing)"},
    {"nagios_icinga2_ftp", "vigil.yaml",
     "units_dir: units\nnagios:\n  icinga2: {url: \"ftp://x\"}\n",
     "vigil.yaml:3:13: nagios.icinga2.url: expected an http:// or https:// URL, got "
     "\"ftp://x\""},
    {"nagios_icinga2_user_without_password", "vigil.yaml",
     "units_dir: units\nnagios:\n  icinga2: {url: \"http://x\", user: root}\n",
     "vigil.yaml:3:3: nagios.icinga2: user and password go together"},
    {"nagios_retry_max_below_initial", "vigil.yaml",
     "units_dir: units\nnagios:\n  retry: {initial: 5s, max: 1s}\n",
     "vigil.yaml:3:3: nagios.retry: max must not be below initial"},
    {"nagios_zero_queue", "vigil.yaml", "units_dir: units\nnagios:\n  queue: 0\n",
     "vigil.yaml:3:3: nagios.queue: expected an integer from 1 to 1000000, got \"0\""},
    {"rlimit_events_unknown_key", "vigil.yaml",
     "units_dir: units\nrlimit_events: {sock: /tmp/r.sock}\n",
     "vigil.yaml:2:17: rlimit_events.sock: expected a key among socket, mode, "
     "group, max_watches, queue, cpu_tick, got \"sock\""},
    {"rlimit_events_relative_socket", "vigil.yaml",
     "units_dir: units\nrlimit_events:\n  socket: r.sock\n",
     "vigil.yaml:3:3: rlimit_events.socket: expected an absolute path, got "
     "\"r.sock\""},
    {"rlimit_events_zero_watches", "vigil.yaml",
     "units_dir: units\nrlimit_events:\n  max_watches: 0\n",
     "vigil.yaml:3:3: rlimit_events.max_watches: expected an integer from 1 "
     "to 10000000, got \"0\""},
    {"rlimit_events_bad_tick", "vigil.yaml",
     "units_dir: units\nrlimit_events:\n  cpu_tick: fast\n",
     "vigil.yaml:3:3: rlimit_events.cpu_tick: expected a duration like 5s or "
     "100ms, got \"fast\""},
    {"main_log_level", "vigil.yaml", "units_dir: units\nlog_level: verbose\n",
     "vigil.yaml:2:1: log_level: expected one of debug, info, warning, error, "
     "got \"verbose\""},
    {"main_mode_decimal_600", "vigil.yaml",
     "units_dir: units\ncontrol_socket_mode: 600\n",
     "vigil.yaml:2:1: control_socket_mode: expected a file mode like 0600, got "
     "\"600\""},
    {"main_mode_not_octal", "vigil.yaml",
     "units_dir: units\ncontrol_socket_mode: \"0689\"\n",
     "vigil.yaml:2:1: control_socket_mode: expected a file mode like 0600, got "
     "\"0689\""},
    {"main_socket_relative", "vigil.yaml",
     "units_dir: units\ncontrol_socket: vigil.sock\n",
     "vigil.yaml:2:1: control_socket: expected an absolute path, got "
     "\"vigil.sock\""},
    {"main_cgroup_root", "vigil.yaml", "units_dir: units\ncgroup_root: [a]\n",
     "vigil.yaml:2:1: cgroup_root: expected auto or an absolute path, got a "
     "list"},
    {"main_units_dir_missing", "vigil.yaml", "units_dir: nope\n",
     "vigil.yaml:1:1: units_dir: expected a readable directory, got \"nope\" "
     "(No such file or directory)"},
    {"main_empty", "vigil.yaml", "# nothing here\n",
     "vigil.yaml:1:1: expected a map of vigild settings, got an empty file"},
    {"main_yaml_syntax", "vigil.yaml", "units_dir: units\nlog_level: [info\n",
     "vigil.yaml:3:1: invalid YAML: end of sequence flow not found"},
    // -- unit file structure --
    {"unknown_key", "units/web.yaml", "exec: [/bin/true]\nrestat: always\n",
     "units/web.yaml:2:1: restat: expected a key among exec, shell, env, cwd, "
     "user, group, type, pidfile, restart, backoff, start_limit, stop, after, "
     "attach, output, watch, got \"restat\""},
    {"duplicate_key", "units/web.yaml",
     "exec: [/bin/true]\nrestart: always\nrestart: never\n",
     "units/web.yaml:3:1: restart: expected each key once, got a second "
     "\"restart\" (first at line 2)"},
    {"not_a_map", "units/web.yaml", "- /bin/true\n",
     "units/web.yaml:1:1: expected a map of unit settings, got a list"},
    {"empty_file", "units/web.yaml", "",
     "units/web.yaml:1:1: expected a map of unit settings, got an empty file"},
    {"two_documents", "units/web.yaml", "exec: [a]\n---\nexec: [b]\n",
     "units/web.yaml:3:1: expected one YAML document per file, got a second "
     "one"},
    {"non_scalar_key", "units/web.yaml", "exec: [a]\n[x]: 1\n",
     "units/web.yaml:2:1: expected a key name, got a list"},
    {"yaml_syntax", "units/web.yaml", "exec: [/bin/true]\n  restart: always\n",
     "units/web.yaml:2:3: invalid YAML: end of map not found"},
    {"bad_file_name", "units/bad name.yaml", "exec: [/bin/true]\n",
     "units/bad name.yaml:1:1: expected a file name that is a unit name of "
     "letters, digits and _ . @ -, got \"bad name\""},
    // -- exec / attach --
    {"neither_exec_nor_attach", "units/web.yaml", "restart: always\n",
     "units/web.yaml:1:1: expected exec or attach, got neither"},
    {"exec_and_attach", "units/web.yaml", "exec: [/bin/true]\nattach: {pid: 1}\n",
     "units/web.yaml:2:1: attach: expected exec or attach, got both"},
    {"exec_string_without_shell", "units/web.yaml", "exec: nginx -g 'daemon off;'\n",
     "units/web.yaml:1:1: exec: expected a list of strings (exec runs no shell; "
     "add shell: true to run a command line), got \"nginx -g 'daemon off;'\""},
    {"exec_empty_list", "units/web.yaml", "exec: []\n",
     "units/web.yaml:1:1: exec: expected a non-empty list of strings, got an "
     "empty list"},
    {"exec_item_map", "units/web.yaml", "exec:\n  - /bin/echo\n  - {a: b}\n",
     "units/web.yaml:3:5: exec[1]: expected a string, got a map"},
    {"shell_two_items", "units/web.yaml", "shell: true\nexec: [a, b]\n",
     "units/web.yaml:2:1: exec: expected one command line (shell: true runs it "
     "with /bin/sh -c), got a list"},
    {"shell_yes", "units/web.yaml", "exec: [/bin/true]\nshell: yes\n",
     "units/web.yaml:2:1: shell: expected true or false, got \"yes\""},
    {"attach_neither", "units/web.yaml", "attach: {start: [/bin/true]}\n",
     "units/web.yaml:1:1: attach: expected one of pid, pidfile or exe, got none"},
    {"attach_pid_and_exe", "units/web.yaml", "attach:\n  pid: 3\n  exe: /usr/sbin/sshd\n",
     "units/web.yaml:3:3: attach.exe: expected only one of pid, pidfile or exe, got pid "
     "too"},
    {"attach_exe_relative", "units/web.yaml", "attach:\n  exe: sbin/sshd\n",
     "units/web.yaml:2:3: attach.exe: expected an absolute path, got \"sbin/sshd\""},
    {"attach_exe_list", "units/web.yaml", "attach:\n  exe: [/usr/sbin/sshd]\n",
     "units/web.yaml:2:3: attach.exe: expected an absolute path, got a list"},
    {"attach_pid_negative", "units/web.yaml", "attach:\n  pid: -3\n",
     "units/web.yaml:2:3: attach.pid: expected an integer from 1 to 4194304, "
     "got \"-3\""},
    {"attach_pidfile_relative", "units/web.yaml",
     "attach:\n  pidfile: run/pg.pid\n",
     "units/web.yaml:2:3: attach.pidfile: expected an absolute path, got "
     "\"run/pg.pid\""},
    // -- process settings --
    {"env_not_map", "units/web.yaml", "exec: [/bin/true]\nenv: [A=1]\n",
     "units/web.yaml:2:1: env: expected a map of variable: value, got a list"},
    {"env_bad_name", "units/web.yaml", "exec: [/bin/true]\nenv:\n  1ABC: x\n",
     "units/web.yaml:3:3: env.1ABC: expected a variable name of letters, "
     "digits and _, got \"1ABC\""},
    {"env_value_list", "units/web.yaml", "exec: [/bin/true]\nenv:\n  PATH: [a]\n",
     "units/web.yaml:3:3: env.PATH: expected a string, got a list"},
    {"cwd_relative", "units/web.yaml", "exec: [/bin/true]\ncwd: srv/www\n",
     "units/web.yaml:2:1: cwd: expected an absolute path, got \"srv/www\""},
    {"user_empty", "units/web.yaml", "exec: [/bin/true]\nuser:\n",
     "units/web.yaml:2:1: user: expected a string, got nothing"},
    {"type_unknown", "units/web.yaml", "exec: [/bin/true]\ntype: oneshot\n",
     "units/web.yaml:2:1: type: expected simple or forking, got \"oneshot\""},
    {"pidfile_without_forking", "units/web.yaml",
     "exec: [/bin/true]\npidfile: /run/web.pid\n",
     "units/web.yaml:2:1: pidfile: expected pidfile only with type: forking, "
     "got \"/run/web.pid\""},
    // -- restart policy --
    {"restart_unknown", "units/web.yaml", "exec: [/bin/true]\nrestart: sometimes\n",
     "units/web.yaml:2:1: restart: expected one of always, on-failure, never, "
     "got \"sometimes\""},
    {"backoff_factor_below_1", "units/web.yaml",
     "exec: [/bin/true]\nbackoff:\n  factor: 0.5\n",
     "units/web.yaml:3:3: backoff.factor: expected a number >= 1, got \"0.5\""},
    {"backoff_bare_number", "units/web.yaml",
     "exec: [/bin/true]\nbackoff: {initial: 100}\n",
     "units/web.yaml:2:11: backoff.initial: expected a duration like 5s or "
     "100ms, got \"100\" (a unit is required: ms, s, m or h)"},
    {"backoff_max_below_initial", "units/web.yaml",
     "exec: [/bin/true]\nbackoff:\n  initial: 2s\n  max: 1s\n",
     "units/web.yaml:4:3: backoff.max: expected at least initial (2s), got "
     "\"1s\""},
    {"start_limit_scalar", "units/web.yaml", "exec: [/bin/true]\nstart_limit: 5\n",
     "units/web.yaml:2:1: start_limit: expected a map of burst and interval, "
     "got \"5\""},
    {"start_limit_burst_zero", "units/web.yaml",
     "exec: [/bin/true]\nstart_limit: {burst: 0, interval: 10s}\n",
     "units/web.yaml:2:15: start_limit.burst: expected an integer from 1 to "
     "1000000, got \"0\""},
    {"start_limit_interval_zero", "units/web.yaml",
     "exec: [/bin/true]\nstart_limit: {interval: 0s}\n",
     "units/web.yaml:2:15: start_limit.interval: expected a duration above 0, "
     "got \"0s\""},
    {"stop_signal_unknown", "units/web.yaml",
     "exec: [/bin/true]\nstop: {signal: SIGNOPE}\n",
     "units/web.yaml:2:8: stop.signal: expected a signal like SIGTERM, TERM or "
     "15, got \"SIGNOPE\""},
    {"stop_timeout_size", "units/web.yaml",
     "exec: [/bin/true]\nstop: {timeout: 5M}\n",
     "units/web.yaml:2:8: stop.timeout: expected a duration like 5s or 100ms, "
     "got \"5M\" (unknown unit \"M\"; use ms, s, m or h)"},
    {"after_scalar", "units/web.yaml", "exec: [/bin/true]\nafter: db\n",
     "units/web.yaml:2:1: after: expected a list of unit names, got \"db\""},
    {"after_bad_name", "units/web.yaml", "exec: [/bin/true]\nafter: [\"a b\"]\n",
     "units/web.yaml:2:9: after[0]: expected a unit name of letters, digits "
     "and _ . @ -, got \"a b\""},
    {"after_unknown_unit", "units/web.yaml", "exec: [/bin/true]\nafter: [db]\n",
     "units/web.yaml:2:9: after[0]: expected the name of a unit, got \"db\", "
     "which has no unit file"},
    {"after_self", "units/web.yaml", "exec: [/bin/true]\nafter: [web]\n",
     "units/web.yaml:2:9: after[0]: expected an order without cycles, got web "
     "after web"},
    // -- watch: shape, values, actions --
    {"watch_memory_high_lots", "units/web.yaml",
     "# a web server\n"
     "exec: [/usr/sbin/nginx, -g, \"daemon off;\"]\n"
     "restart: always\n"
     "\n"
     "watch:\n"
     "  memory:\n"
     "    high: lots\n",
     "units/web.yaml:7:5: watch.memory.high: expected a size like 200M, got "
     "\"lots\""},
    {"watch_unknown", "units/web.yaml",
     "exec: [/bin/true]\nwatch:\n  memroy: {high: 1G}\n",
     "units/web.yaml:3:3: watch.memroy: expected a key among memory, tasks, "
     "fds, pressure, cpu_time, runaway, got \"memroy\""},
    {"watch_not_map", "units/web.yaml", "exec: [/bin/true]\nwatch: memory\n",
     "units/web.yaml:2:1: watch: expected a map of watches, got \"memory\""},
    {"watch_memory_empty", "units/web.yaml",
     "exec: [/bin/true]\nwatch:\n  memory: {}\n",
     "units/web.yaml:3:3: watch.memory: expected at least one of high, max, "
     "levels, got an empty map"},
    {"watch_memory_high_above_max", "units/web.yaml",
     "exec: [/bin/true]\nwatch:\n  memory: {high: 2G, max: 1G}\n",
     "units/web.yaml:3:12: watch.memory.high: expected at most max (1G), got "
     "\"2G\""},
    {"watch_levels_scalar", "units/web.yaml",
     "exec: [/bin/true]\nwatch:\n  memory:\n    levels: 100M\n",
     "units/web.yaml:4:5: watch.memory.levels: expected a list of levels, got "
     "\"100M\""},
    {"watch_levels_duplicate", "units/web.yaml",
     "exec: [/bin/true]\nwatch:\n  memory:\n    levels: [100M, 200M, 100M]\n",
     "units/web.yaml:4:26: watch.memory.levels[2]: expected each level once, "
     "got \"100M\" again"},
    {"watch_level_zero", "units/web.yaml",
     "exec: [/bin/true]\nwatch:\n  tasks:\n    levels: [0]\n",
     "units/web.yaml:4:14: watch.tasks.levels[0]: expected a level above 0, got "
     "\"0\""},
    {"watch_level_map_without_at", "units/web.yaml",
     "exec: [/bin/true]\nwatch:\n  memory:\n    levels:\n      - up: [log]\n",
     "units/web.yaml:5:9: watch.memory.levels[0].at: expected a size like "
     "200M, got nothing (the key is missing)"},
    {"watch_hysteresis_too_big", "units/web.yaml",
     "exec: [/bin/true]\nwatch:\n  memory:\n    levels: [100M]\n"
     "    hysteresis: 200M\n",
     "units/web.yaml:5:5: watch.memory.hysteresis: expected less than the "
     "lowest level (100M), got \"200M\""},
    {"watch_hysteresis_without_levels", "units/web.yaml",
     "exec: [/bin/true]\nwatch:\n  memory:\n    high: 1G\n    hysteresis: 10M\n",
     "units/web.yaml:5:5: watch.memory.hysteresis: expected hysteresis only "
     "with levels, got \"10M\""},
    {"watch_tasks_max_zero", "units/web.yaml",
     "exec: [/bin/true]\nwatch:\n  tasks: {max: 0}\n",
     "units/web.yaml:3:11: watch.tasks.max: expected an integer >= 1, got \"0\""},
    {"watch_tasks_level_size", "units/web.yaml",
     "exec: [/bin/true]\nwatch:\n  tasks: {levels: [1K]}\n",
     "units/web.yaml:3:20: watch.tasks.levels[0]: expected an integer >= 0, "
     "got \"1K\""},
    {"watch_fds_without_levels", "units/web.yaml",
     "exec: [/bin/true]\nwatch:\n  fds:\n    on: {up: [log]}\n",
     "units/web.yaml:3:3: watch.fds.levels: expected a list of levels, got "
     "nothing (the key is missing)"},
    {"watch_psi_window_not_2s_multiple", "units/web.yaml",
     "exec: [/bin/true]\nwatch:\n  pressure:\n    memory: {some: 150ms, window: 1s}\n",
     "units/web.yaml:4:27: watch.pressure.memory.window: window must be a "
     "multiple of 2s when vigild lacks CAP_SYS_RESOURCE, got \"1s\""},
    {"watch_psi_window_too_long", "units/web.yaml",
     "exec: [/bin/true]\nwatch:\n  pressure:\n    io: {full: 1s, window: 20s}\n",
     "units/web.yaml:4:20: watch.pressure.io.window: expected a window from "
     "500ms to 10s, got \"20s\""},
    {"watch_psi_some_and_full", "units/web.yaml",
     "exec: [/bin/true]\nwatch:\n  pressure:\n"
     "    cpu: {some: 1s, full: 1s, window: 2s}\n",
     "units/web.yaml:4:5: watch.pressure.cpu: expected some or full, got both"},
    {"watch_psi_stall_longer_than_window", "units/web.yaml",
     "exec: [/bin/true]\nwatch:\n  pressure:\n    io: {some: 3s, window: 2s}\n",
     "units/web.yaml:4:10: watch.pressure.io.some: expected a stall no longer "
     "than the window (2s), got \"3s\""},
    {"watch_psi_window_missing", "units/web.yaml",
     "exec: [/bin/true]\nwatch:\n  pressure:\n    memory: {some: 150ms}\n",
     "units/web.yaml:4:5: watch.pressure.memory.window: expected a duration "
     "like 2s, got nothing (the key is missing)"},
    {"watch_psi_unknown_resource", "units/web.yaml",
     "exec: [/bin/true]\nwatch:\n  pressure:\n    disk: {some: 1s, window: 2s}\n",
     "units/web.yaml:4:5: watch.pressure.disk: expected a key among cpu, "
     "memory, io, got \"disk\""},
    {"watch_cpu_time_without_limit", "units/web.yaml",
     "exec: [/bin/true]\nwatch:\n  cpu_time: {on: {exceeded: [stop]}}\n",
     "units/web.yaml:3:3: watch.cpu_time.limit: expected a duration like 1h, "
     "got nothing (the key is missing)"},
    {"watch_runaway_hard_not_above_soft", "units/web.yaml",
     "exec: [/bin/true]\nwatch:\n  runaway: {soft: 10s, hard: 5s}\n",
     "units/web.yaml:3:24: watch.runaway.hard: expected more than soft (10s), "
     "got \"5s\""},
    {"watch_runaway_bad_signal", "units/web.yaml",
     "exec: [/bin/true]\nwatch:\n  runaway: {soft: 5s, soft_signal: SIGXCPUU}\n",
     "units/web.yaml:3:23: watch.runaway.soft_signal: expected a signal like "
     "SIGTERM, TERM or 15, got \"SIGXCPUU\""},
    {"action_unknown", "units/web.yaml",
     "exec: [/bin/true]\nwatch:\n  memory:\n    high: 1G\n"
     "    on: {high: [reboot]}\n",
     "units/web.yaml:5:17: watch.memory.on.high[0]: expected an action: log, "
     "restart, stop, freeze, {signal: NAME} or {exec: [argv]}, got \"reboot\""},
    {"action_unknown_event", "units/web.yaml",
     "exec: [/bin/true]\nwatch:\n  memory:\n    high: 1G\n"
     "    on: {spike: [log]}\n",
     "units/web.yaml:5:10: watch.memory.on.spike: expected a key among high, "
     "max, oom, oom_kill, up, down, got \"spike\""},
    {"action_list_expected", "units/web.yaml",
     "exec: [/bin/true]\nwatch:\n  memory:\n    high: 1G\n    on: {high: log}\n",
     "units/web.yaml:5:10: watch.memory.on.high: expected a list of actions, "
     "got \"log\""},
    {"action_two_kinds", "units/web.yaml",
     "exec: [/bin/true]\nwatch:\n  memory:\n    high: 1G\n    on:\n"
     "      high:\n        - {signal: SIGTERM, exec: [/bin/true]}\n",
     "units/web.yaml:7:11: watch.memory.on.high[0]: expected exactly one of "
     "signal, restart, stop, freeze, exec, log, got signal and exec"},
    {"action_target_without_signal", "units/web.yaml",
     "exec: [/bin/true]\nwatch:\n  tasks:\n    max: 100\n    on:\n"
     "      max:\n        - restart:\n          target: cgroup\n",
     "units/web.yaml:8:11: watch.tasks.on.max[0].target: expected target only "
     "in a signal action, got \"cgroup\""},
    {"action_target_unknown", "units/web.yaml",
     "exec: [/bin/true]\nwatch:\n  tasks:\n    max: 100\n"
     "    on: {max: [{signal: TERM, target: group}]}\n",
     "units/web.yaml:5:31: watch.tasks.on.max[0].target: expected main or "
     "cgroup, got \"group\""},
    {"action_rate_limit_bad", "units/web.yaml",
     "exec: [/bin/true]\nwatch:\n  fds:\n    levels: [100]\n"
     "    on: {up: [{exec: [/bin/true], rate_limit: often}]}\n",
     "units/web.yaml:5:35: watch.fds.on.up[0].rate_limit: expected a duration "
     "like 5s or 100ms, got \"often\""},
    {"action_restart_with_argument", "units/web.yaml",
     "exec: [/bin/true]\nwatch:\n  memory:\n    max: 1G\n"
     "    on: {oom_kill: [{restart: now}]}\n",
     "units/web.yaml:5:22: watch.memory.on.oom_kill[0].restart: expected "
     "nothing (restart takes no argument), got \"now\""},
    {"action_exec_empty", "units/web.yaml",
     "exec: [/bin/true]\nwatch:\n  runaway:\n    soft: 5s\n"
     "    on: {soft: [{exec: []}]}\n",
     "units/web.yaml:5:18: watch.runaway.on.soft[0].exec: expected a non-empty "
     "list of strings, got an empty list"},
    // -- output --
    {"output_unknown_word", "units/web.yaml", "exec: [/bin/true]\noutput: journal\n",
     "units/web.yaml:2:1: output: expected log, null, inherit or a map with file: PATH, "
     "got \"journal\""},
    {"output_empty", "units/web.yaml", "exec: [/bin/true]\noutput:\n",
     "units/web.yaml:2:1: output: expected log, null, inherit or a map with file: PATH, "
     "got nothing"},
    {"output_list", "units/web.yaml", "exec: [/bin/true]\noutput: [log]\n",
     "units/web.yaml:2:1: output: expected log, null, inherit or a map with file: PATH, "
     "got a list"},
    {"output_file_relative", "units/web.yaml", "exec: [/bin/true]\noutput: {file: web.log}\n",
     "units/web.yaml:2:10: output.file: expected an absolute path, got \"web.log\""},
    {"output_file_missing", "units/web.yaml", "exec: [/bin/true]\noutput: {}\n",
     "units/web.yaml:2:1: output.file: expected an absolute path, got nothing (the key is "
     "missing)"},
    {"output_map_unknown_key", "units/web.yaml", "exec: [/bin/true]\noutput: {path: /x}\n",
     "units/web.yaml:2:10: output.path: expected a key among file, got \"path\""},
    {"output_with_attach_alone", "units/web.yaml", "attach: {pid: 1}\noutput: null\n",
     "units/web.yaml:2:1: output: expected output only with exec or attach.start (vigild "
     "starts no process), got it with attach alone"},
};

INSTANTIATE_TEST_SUITE_P(Table, BadInputTest, ::testing::ValuesIn(kBadCases),
                         [](const auto& info) { return info.param.name; });

// ---- good files ----

Action MakeAction(ActionKind kind) {
  Action action;
  action.kind = kind;
  return action;
}

TEST_F(LoaderTest, MinimalUnitGetsDefaults) {
  Write("vigil.yaml", "units_dir: units\n");
  Write("units/web.yaml", "exec: [/bin/true]\n");
  absl::StatusOr<Config> config = LoadConfig("vigil.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  UnitConfig expected;
  expected.name = "web";
  expected.source_path = "units/web.yaml";
  expected.exec = {"/bin/true"};
  ASSERT_EQ(config->units.size(), 1u);
  EXPECT_EQ(config->units[0], expected);
  EXPECT_EQ(config->units[0].restart, RestartPolicy::kOnFailure);
  EXPECT_EQ(config->units[0].stop.signal, SIGTERM);
  EXPECT_TRUE(config->units[0].watch.empty());
}

TEST_F(LoaderTest, FullUnitReadsEveryKey) {
  Write("vigil.yaml", "units_dir: units\n");
  Write("units/db.yaml", "exec: [/bin/true]\n");
  Write("units/web@1.yaml", R"(
exec: ["/usr/sbin/nginx", "-g", "daemon off;"]
env:
  LANG: C.UTF-8
  EMPTY: ""
cwd: /srv/www
user: www-data
group: "33"
type: forking
pidfile: /run/nginx.pid
restart: always
backoff: {initial: 250ms, max: 1m, factor: 1.5}
start_limit: {burst: 3, interval: 30s}
stop: {signal: SIGQUIT, timeout: 1m30s}
after: [db]
)");
  absl::StatusOr<Config> config = LoadConfig("vigil.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->units.size(), 2u);
  UnitConfig expected;
  expected.name = "web@1";
  expected.source_path = "units/web@1.yaml";
  expected.exec = {"/usr/sbin/nginx", "-g", "daemon off;"};
  expected.env = {{"LANG", "C.UTF-8"}, {"EMPTY", ""}};
  expected.cwd = "/srv/www";
  expected.user = "www-data";
  expected.group = "33";
  expected.type = ServiceType::kForking;
  expected.pidfile = "/run/nginx.pid";
  expected.restart = RestartPolicy::kAlways;
  expected.backoff = {milliseconds(250), milliseconds(60000), 1.5};
  expected.start_limit = {3, milliseconds(30000)};
  expected.stop = {SIGQUIT, milliseconds(90000)};
  expected.after = {"db"};
  EXPECT_EQ(config->units[0].name, "db");  // sorted by name
  EXPECT_EQ(config->units[1], expected);
}

TEST_F(LoaderTest, OutputModes) {
  Write("vigil.yaml", "units_dir: units\n");
  const char* const kUnits[] = {
      "exec: [/bin/true]\n",
      "exec: [/bin/true]\noutput: log\n",
      "exec: [/bin/true]\noutput: null\n",
      "exec: [/bin/true]\noutput: ~\n",
      "exec: [/bin/true]\noutput: \"null\"\n",
      "exec: [/bin/true]\noutput: inherit\n",
      "exec: [/bin/true]\noutput:\n  file: /var/log/g.log\n",
      "attach: {pidfile: /run/h.pid, start: [/bin/h]}\noutput: null\n",
  };
  char name = 'a';
  for (const char* yaml : kUnits) Write(absl::StrCat("units/", std::string(1, name++), ".yaml"), yaml);
  absl::StatusOr<Config> config = LoadConfig("vigil.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  std::vector<OutputSpec> outputs;
  for (const UnitConfig& unit : config->units) outputs.push_back(unit.output);
  EXPECT_THAT(outputs, ElementsAre(OutputSpec{OutputMode::kLog}, OutputSpec{OutputMode::kLog},
                                   OutputSpec{OutputMode::kNull}, OutputSpec{OutputMode::kNull},
                                   OutputSpec{OutputMode::kNull},
                                   OutputSpec{OutputMode::kInherit},
                                   OutputSpec{OutputMode::kFile, "/var/log/g.log"},
                                   OutputSpec{OutputMode::kNull}));
}

TEST_F(LoaderTest, WatchSectionBecomesStructuredSpec) {
  Write("web.yaml", R"(
exec: [/bin/true]
watch:
  memory:
    high: 200M
    max: 1.5G
    levels: [300M, {at: 100M, up: [log], down: []}]
    hysteresis: 10M
    on:
      high: [log, {signal: SIGUSR1, target: cgroup, rate_limit: 60s}]
      oom_kill: [restart]
      up:
        - exec: [/usr/local/bin/page, oncall]
          rate_limit: 5m
  tasks:
    max: 512
    levels: [100, 400]
    hysteresis: 20
    on: {max: [freeze, {stop: }]}
  fds: {levels: [1000], on: {up: [{log: }]}}
  pressure:
    memory: {some: 150ms, window: 2s, on: {stall: [log]}}
    io: {full: 1s, window: 10s}
  cpu_time: {limit: 2h, on: {exceeded: [stop]}}
  runaway: {soft: 5s, hard: 10s, hard_signal: SIGTERM, on: {reset: [log]}}
)");
  absl::StatusOr<UnitConfig> unit = LoadUnitFile("web.yaml");
  ASSERT_TRUE(unit.ok()) << unit.status();
  const WatchSpec& watch = unit->watch;

  ASSERT_TRUE(watch.memory.has_value());
  EXPECT_EQ(watch.memory->high, 200ull << 20);
  EXPECT_EQ(watch.memory->max, 3ull << 29);
  Level low;
  low.at = 100ull << 20;
  low.up = Actions{MakeAction(ActionKind::kLog)};
  low.down = Actions{};
  Level high;
  high.at = 300ull << 20;
  EXPECT_THAT(watch.memory->levels, ElementsAre(low, high));  // ascending
  EXPECT_EQ(watch.memory->hysteresis, 10ull << 20);
  Action signal = MakeAction(ActionKind::kSignal);
  signal.signal = SIGUSR1;
  signal.target = SignalTarget::kCgroup;
  signal.rate_limit = milliseconds(60000);
  EXPECT_THAT(watch.memory->on.high,
              ElementsAre(MakeAction(ActionKind::kLog), signal));
  EXPECT_THAT(watch.memory->on.oom_kill,
              ElementsAre(MakeAction(ActionKind::kRestart)));
  Action hook = MakeAction(ActionKind::kExec);
  hook.argv = {"/usr/local/bin/page", "oncall"};
  hook.rate_limit = milliseconds(300000);
  EXPECT_THAT(watch.memory->on.up, ElementsAre(hook));
  EXPECT_TRUE(watch.memory->on.max.empty());

  ASSERT_TRUE(watch.tasks.has_value());
  EXPECT_EQ(watch.tasks->max, 512u);
  ASSERT_EQ(watch.tasks->levels.size(), 2u);
  EXPECT_EQ(watch.tasks->levels[1].at, 400u);
  EXPECT_EQ(watch.tasks->hysteresis, 20u);
  EXPECT_THAT(watch.tasks->on.max, ElementsAre(MakeAction(ActionKind::kFreeze),
                                               MakeAction(ActionKind::kStop)));

  ASSERT_TRUE(watch.fds.has_value());
  ASSERT_EQ(watch.fds->levels.size(), 1u);
  EXPECT_EQ(watch.fds->levels[0].at, 1000u);
  EXPECT_THAT(watch.fds->on.up, ElementsAre(MakeAction(ActionKind::kLog)));

  ASSERT_TRUE(watch.pressure.has_value());
  EXPECT_FALSE(watch.pressure->cpu.has_value());
  ASSERT_TRUE(watch.pressure->memory.has_value());
  EXPECT_EQ(watch.pressure->memory->kind, PressureKind::kSome);
  EXPECT_EQ(watch.pressure->memory->stall, milliseconds(150));
  EXPECT_EQ(watch.pressure->memory->window, milliseconds(2000));
  EXPECT_THAT(watch.pressure->memory->on.stall,
              ElementsAre(MakeAction(ActionKind::kLog)));
  ASSERT_TRUE(watch.pressure->io.has_value());
  EXPECT_EQ(watch.pressure->io->kind, PressureKind::kFull);
  EXPECT_EQ(watch.pressure->io->window, milliseconds(10000));

  ASSERT_TRUE(watch.cpu_time.has_value());
  EXPECT_EQ(watch.cpu_time->limit, milliseconds(7200000));
  EXPECT_THAT(watch.cpu_time->on.exceeded,
              ElementsAre(MakeAction(ActionKind::kStop)));

  ASSERT_TRUE(watch.runaway.has_value());
  EXPECT_EQ(watch.runaway->soft, milliseconds(5000));
  EXPECT_EQ(watch.runaway->hard, milliseconds(10000));
  EXPECT_EQ(watch.runaway->soft_signal, SIGXCPU);  // the default
  EXPECT_EQ(watch.runaway->hard_signal, SIGTERM);
  EXPECT_THAT(watch.runaway->on.reset, ElementsAre(MakeAction(ActionKind::kLog)));
}

TEST_F(LoaderTest, PsiWindowRuleFollowsTheCapabilityOption) {
  Write("web.yaml",
        "exec: [/bin/true]\n"
        "watch: {pressure: {cpu: {some: 100ms, window: 1s}}}\n");
  absl::StatusOr<UnitConfig> strict = LoadUnitFile("web.yaml");
  ASSERT_FALSE(strict.ok());
  EXPECT_EQ(std::string(strict.status().message()),
            "web.yaml:2:39: watch.pressure.cpu.window: window must be a "
            "multiple of 2s when vigild lacks CAP_SYS_RESOURCE, got \"1s\"");
  absl::StatusOr<UnitConfig> privileged =
      LoadUnitFile("web.yaml", {.psi_window_needs_2s_multiple = false});
  ASSERT_TRUE(privileged.ok()) << privileged.status();
  EXPECT_EQ(privileged->watch.pressure->cpu->window, milliseconds(1000));
}

TEST_F(LoaderTest, MainFileReadsEveryKey) {
  fs::create_directories("u");
  Write("vigil.yaml", R"(
control_socket: /tmp/v.sock
control_socket_mode: "0660"
cgroup_root: /sys/fs/cgroup/unified/vigil
log_level: debug
units_dir: u
)");
  absl::StatusOr<Config> config = LoadConfig("vigil.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  MainConfig expected;
  expected.source_path = "vigil.yaml";
  expected.control_socket = "/tmp/v.sock";
  expected.control_socket_mode = 0660;
  expected.cgroup_root = "/sys/fs/cgroup/unified/vigil";
  expected.log_level = LogLevel::kDebug;
  expected.units_dir = "u";
  expected.rlimit_events.socket = "/tmp/rlimit-events.sock";
  EXPECT_EQ(config->main, expected);
  EXPECT_TRUE(config->units.empty());
}

TEST_F(LoaderTest, MainFileReadsRlimitEvents) {
  fs::create_directories("u");
  Write("vigil.yaml", R"(
units_dir: u
rlimit_events:
  socket: /tmp/r.sock
  mode: "0666"
  group: nogroup
  max_watches: 500
  queue: 64
  cpu_tick: 5ms
)");
  absl::StatusOr<Config> config = LoadConfig("vigil.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  RlimitEventsConfig expected{"/tmp/r.sock", 0666, "nogroup", 500, 64, milliseconds(5)};
  EXPECT_EQ(config->main.rlimit_events, expected);
}

TEST_F(LoaderTest, MainFileReadsNagios) {
  fs::create_directories("u");
  Write("vigil.yaml", R"(
units_dir: u
nagios:
  host: web01
  service: "svc {unit}"
  level_service: "{unit}/{resource}"
  command_file: /var/lib/nagios4/rw/nagios.cmd
  nsca: {command: [/usr/sbin/send_nsca, -H, nagios.example]}
  icinga2: {url: "https://icinga:5665", user: vigil, password: s3cret,
            ca_file: /etc/ca.crt, insecure: true}
  retry: {initial: 200ms, max: 5s, attempts: 3}
  queue: 50
)");
  absl::StatusOr<Config> config = LoadConfig("vigil.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  NagiosConfig expected;
  expected.host = "web01";
  expected.service = "svc {unit}";
  expected.level_service = "{unit}/{resource}";
  expected.command_file = "/var/lib/nagios4/rw/nagios.cmd";
  expected.nsca_command = {"/usr/sbin/send_nsca", "-H", "nagios.example"};
  expected.icinga2 = {"https://icinga:5665", "vigil", "s3cret", "/etc/ca.crt", true};
  expected.retry_initial = milliseconds(200);
  expected.retry_max = milliseconds(5000);
  expected.retry_attempts = 3;
  expected.queue = 50;
  EXPECT_EQ(config->main.nagios, expected);
  EXPECT_TRUE(config->main.nagios.enabled());
}

TEST_F(LoaderTest, NagiosIsOffByDefault) {
  fs::create_directories("u");
  Write("vigil.yaml", "units_dir: u\n");
  absl::StatusOr<Config> config = LoadConfig("vigil.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->main.nagios.enabled());
  EXPECT_EQ(config->main.nagios.service, "vigil {unit}");
}

TEST_F(LoaderTest, RlimitEventsSocketDefaultsBesideTheControlSocket) {
  fs::create_directories("u");
  Write("vigil.yaml", "units_dir: u\n");
  absl::StatusOr<Config> config = LoadConfig("vigil.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->main.rlimit_events.socket, "/run/vigil/rlimit-events.sock");
  EXPECT_EQ(config->main.rlimit_events.socket_mode, 0660);
}

TEST_F(LoaderTest, SocketModeAcceptsOctalSpellingsAndDecimal) {
  fs::create_directories("units");
  for (const char* mode : {"0600", "\"0600\"", "0o600", "384"}) {
    Write("vigil.yaml",
          absl::StrCat("units_dir: units\ncontrol_socket_mode: ", mode, "\n"));
    absl::StatusOr<Config> config = LoadConfig("vigil.yaml");
    ASSERT_TRUE(config.ok()) << mode << ": " << config.status();
    EXPECT_EQ(config->main.control_socket_mode, 0600) << mode;
  }
}

TEST_F(LoaderTest, RelativeUnitsDirIsResolvedAgainstTheMainFile) {
  Write("etc/vigil/vigil.yaml", "units_dir: ../units\n");
  Write("etc/units/web.yaml", "exec: [/bin/true]\n");
  absl::StatusOr<Config> config = LoadConfig("etc/vigil/vigil.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->main.units_dir, "etc/units");
  ASSERT_EQ(config->units.size(), 1u);
  EXPECT_EQ(config->units[0].source_path, "etc/units/web.yaml");

  // Named by absolute path, from elsewhere, the same file finds the same units.
  std::string absolute = (dir_ / "etc/vigil/vigil.yaml").string();
  fs::current_path("/");
  config = LoadConfig(absolute);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->main.units_dir, (dir_ / "etc/units").string());
  ASSERT_EQ(config->units.size(), 1u);
  EXPECT_EQ(config->units[0].source_path, (dir_ / "etc/units/web.yaml").string());
}

TEST_F(LoaderTest, AbsoluteUnitsDirIsUsedAsIs) {
  Write("conf/vigil.yaml",
        absl::StrCat("units_dir: ", (dir_ / "elsewhere").string(), "\n"));
  Write("elsewhere/web.yaml", "exec: [/bin/true]\n");
  absl::StatusOr<Config> config = LoadConfig("conf/vigil.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->units.size(), 1u);
  EXPECT_EQ(config->units[0].source_path, (dir_ / "elsewhere/web.yaml").string());
}

TEST_F(LoaderTest, OnlyYamlFilesAreUnits) {
  Write("vigil.yaml", "units_dir: units\n");
  Write("units/web.yaml", "exec: [/bin/true]\n");
  Write("units/db.yml", "exec: [/bin/true]\n");
  Write("units/README", "not yaml: [\n");
  Write("units/notes.txt", "not yaml: [\n");
  Write("units/.web.yaml.swp", "not yaml: [\n");
  Write("units/.hidden.yaml", "not yaml: [\n");
  fs::create_directories("units/sub.yaml");
  absl::StatusOr<Config> config = LoadConfig("vigil.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->units.size(), 2u);
  EXPECT_EQ(config->units[0].name, "db");
  EXPECT_EQ(config->units[0].source_path, "units/db.yml");
  EXPECT_EQ(config->units[1].name, "web");
}

TEST_F(LoaderTest, TwoFilesForOneUnitAreAnError) {
  Write("vigil.yaml", "units_dir: units\n");
  Write("units/web.yaml", "exec: [/bin/true]\n");
  Write("units/web.yml", "exec: [/bin/false]\n");
  absl::StatusOr<Config> config = LoadConfig("vigil.yaml");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(ErrorLines(config.status()),
              ElementsAre("units/web.yml:1:1: expected one file per unit, got "
                          "this and units/web.yaml for unit \"web\""));
}

TEST_F(LoaderTest, AttachByPidfileWithStartCommand) {
  Write("pg.yaml", R"(
attach:
  pidfile: /var/run/postgresql/15-main.pid
  start: [/usr/bin/pg_ctlcluster, "15", main, start]
restart: on-failure
)");
  absl::StatusOr<UnitConfig> unit = LoadUnitFile("pg.yaml");
  ASSERT_TRUE(unit.ok()) << unit.status();
  EXPECT_TRUE(unit->exec.empty());
  ASSERT_TRUE(unit->attach.has_value());
  AttachSpec expected;
  expected.pidfile = "/var/run/postgresql/15-main.pid";
  expected.start = {"/usr/bin/pg_ctlcluster", "15", "main", "start"};
  EXPECT_EQ(*unit->attach, expected);
}

TEST_F(LoaderTest, AttachByPid) {
  Write("init.yaml", "attach: {pid: 1}\n");
  absl::StatusOr<UnitConfig> unit = LoadUnitFile("init.yaml");
  ASSERT_TRUE(unit.ok()) << unit.status();
  ASSERT_TRUE(unit->attach.has_value());
  EXPECT_EQ(unit->attach->pid, 1);
  EXPECT_FALSE(unit->attach->pidfile.has_value());
  EXPECT_TRUE(unit->attach->start.empty());
}

TEST_F(LoaderTest, AttachByExeWithStartCommand) {
  Write("sshd.yaml",
        "attach:\n  exe: /usr/sbin/sshd\n  start: [/usr/sbin/sshd]\nrestart: always\n");
  absl::StatusOr<UnitConfig> unit = LoadUnitFile("sshd.yaml");
  ASSERT_TRUE(unit.ok()) << unit.status();
  ASSERT_TRUE(unit->attach.has_value());
  AttachSpec expected;
  expected.exe = "/usr/sbin/sshd";
  expected.start = {"/usr/sbin/sshd"};
  EXPECT_EQ(*unit->attach, expected);
}

TEST_F(LoaderTest, ForkingUnitWithPidfile) {
  Write("redis.yaml",
        "exec: [/usr/bin/redis-server, --daemonize, \"yes\"]\n"
        "type: forking\npidfile: /run/redis/redis.pid\n");
  absl::StatusOr<UnitConfig> unit = LoadUnitFile("redis.yaml");
  ASSERT_TRUE(unit.ok()) << unit.status();
  EXPECT_EQ(unit->type, ServiceType::kForking);
  EXPECT_EQ(unit->pidfile, "/run/redis/redis.pid");
  EXPECT_EQ(unit->exec,
            (std::vector<std::string>{"/usr/bin/redis-server", "--daemonize", "yes"}));
}

TEST_F(LoaderTest, ShellRunsOneCommandLine) {
  Write("a.yaml", "shell: true\nexec: echo $HOME | tr a-z A-Z\n");
  Write("b.yaml", "shell: true\nexec: [\"sleep 1; echo hi\"]\n");
  absl::StatusOr<UnitConfig> a = LoadUnitFile("a.yaml");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->shell);
  EXPECT_EQ(a->exec, std::vector<std::string>{"echo $HOME | tr a-z A-Z"});
  absl::StatusOr<UnitConfig> b = LoadUnitFile("b.yaml");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->exec, std::vector<std::string>{"sleep 1; echo hi"});
}

TEST_F(LoaderTest, AfterChainWithoutCycleLoads) {
  Write("vigil.yaml", "units_dir: units\n");
  Write("units/app.yaml", "exec: [/bin/true]\nafter: [db, cache]\n");
  Write("units/cache.yaml", "exec: [/bin/true]\nafter: [db]\n");
  Write("units/db.yaml", "exec: [/bin/true]\n");
  absl::StatusOr<Config> config = LoadConfig("vigil.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->units[0].after, (std::vector<std::string>{"db", "cache"}));
}

TEST_F(LoaderTest, AfterCycleIsReportedWhereItCloses) {
  Write("vigil.yaml", "units_dir: units\n");
  Write("units/a.yaml", "exec: [/bin/true]\nafter: [b]\n");
  Write("units/b.yaml", "exec: [/bin/true]\nafter: [c]\n");
  Write("units/c.yaml", "exec: [/bin/true]\nafter: [d, a]\n");
  Write("units/d.yaml", "exec: [/bin/true]\n");
  absl::StatusOr<Config> config = LoadConfig("vigil.yaml");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(ErrorLines(config.status()),
              ElementsAre("units/c.yaml:2:12: after[1]: expected an order "
                          "without cycles, got a after b after c after a"));
}

TEST_F(LoaderTest, EveryErrorInEveryFileIsReported) {
  // An error in the main file does not stop the units from being checked.
  Write("vigil.yaml", "units_dir: units\nlog_level: loud\n");
  // Two errors; the one on line 3 is found first (unknown keys are), yet the
  // report reads top to bottom.
  Write("units/a.yaml", "exec: /bin/true\nrestart: always\nbogus: 1\n");
  Write("units/b.yaml", "exec: [/bin/true\n");
  Write("units/c.yaml", "exec: [/bin/true]\nafter: [zz, a]\n");
  Write("units/d.yaml", "exec: [/bin/true]\n");
  absl::StatusOr<Config> config = LoadConfig("vigil.yaml");
  ASSERT_FALSE(config.ok());
  // "a" had errors, so it is not loaded, but c's `after: [a]` still names a
  // unit file: only "zz" is unknown.
  EXPECT_THAT(
      ErrorLines(config.status()),
      ElementsAre(
          "vigil.yaml:2:1: log_level: expected one of debug, info, warning, "
          "error, got \"loud\"",
          "units/a.yaml:1:1: exec: expected a list of strings (exec runs no "
          "shell; add shell: true to run a command line), got \"/bin/true\"",
          absl::StrCat("units/a.yaml:3:1: bogus: expected a key among ",
                       kUnitKeys, ", got \"bogus\""),
          "units/b.yaml:2:1: invalid YAML: end of sequence flow not found",
          "units/c.yaml:2:9: after[0]: expected the name of a unit, got "
          "\"zz\", which has no unit file"));
}

TEST_F(LoaderTest, MainFileErrorsAndUnreadableFiles) {
  absl::StatusOr<Config> missing = LoadConfig("nope.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(ErrorLines(missing.status()),
              ElementsAre("nope.yaml: cannot read: No such file or directory"));
  absl::StatusOr<UnitConfig> unit = LoadUnitFile("units/gone.yaml");
  ASSERT_FALSE(unit.ok());
  EXPECT_EQ(std::string(unit.status().message()),
            "units/gone.yaml: cannot read: No such file or directory");
}

TEST_F(LoaderTest, LoadUnitFileDoesNotResolveAfter) {
  Write("web.yaml", "exec: [/bin/true]\nafter: [db]\n");
  absl::StatusOr<UnitConfig> unit = LoadUnitFile("web.yaml");
  ASSERT_TRUE(unit.ok()) << unit.status();
  EXPECT_EQ(unit->after, std::vector<std::string>{"db"});
}

TEST_F(LoaderTest, DuplicateEnvironmentVariable) {
  Write("web.yaml", "exec: [/bin/true]\nenv:\n  A: 1\n  A: 2\n");
  absl::StatusOr<UnitConfig> unit = LoadUnitFile("web.yaml");
  ASSERT_FALSE(unit.ok());
  EXPECT_EQ(std::string(unit.status().message()),
            "web.yaml:4:3: env.A: expected each variable once, got \"A\" again");
}

}  // namespace
}  // namespace vigil::config
