#include "nagios/evaluator.h"

#include "gtest/gtest.h"
#include "nagios/options.h"
#include "nagios/ps_output.h"

namespace vigil::nagios {
namespace {

constexpr char kPs[] =
    "STAT   UID   PID  PPID    VSZ   RSS %CPU     ELAPSED COMMAND         COMMAND\n"
    "Ss       0     1     0  1000   100  0.0    1-00:00:00 systemd         /sbin/init\n"
    "S        0     2     0     0     0  0.0    1-00:00:00 kthreadd        [kthreadd]\n"
    "I<       0    10     2     0     0  0.0    1-00:00:00 kworker/0:1-eve [kworker/0:1-events]\n"
    "S       33   100     1  5000  2000 12.5       10:00 apache2         /usr/sbin/apache2 -k start\n"
    "R       33   101   100  9000  8000 55.0       01:00 apache2         /usr/sbin/apache2 -k start\n"
    "Z       33   102   100     0     0  0.0       00:05 apache2         [apache2] <defunct>\n"
    "Ss    1000   200     1   900   400  0.0       20:00 tmux: server    tmux new -s work\n"
    "S        0   300     1   100   100  0.0       00:01 check_vigil     check_vigil -C x\n"
    "garbage\n";

CheckConfig Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "check_procs");
  ParsedCommandLine parsed = ParseCommandLine(std::move(args));
  EXPECT_TRUE(parsed.config.has_value()) << parsed.output;
  return parsed.config ? *std::move(parsed.config) : CheckConfig();
}

Report Check(const CheckConfig& config, Self self = {999, 998, std::nullopt}) {
  auto no_exe = [](int) { return std::optional<FileIdentity>(); };
  return FormatReport(config, Evaluate(config, ParsePsOutput(kPs), self, no_exe));
}

TEST(ParsePsOutputTest, SplitsCommWithSpacesAndBasenames) {
  std::vector<PsRow> rows = ParsePsOutput(kPs);
  ASSERT_EQ(rows.size(), 9u);
  EXPECT_EQ(rows[2].record.prog, "0:1-eve");
  EXPECT_EQ(rows[6].record.prog, "tmux:");
  EXPECT_EQ(rows[6].record.args, "server    tmux new -s work");
  EXPECT_EQ(rows[4].record.pcpu, 55.0f);
  EXPECT_FALSE(rows[8].parsed);
}

TEST(ParsePsOutputTest, ShortZombieLineKeepsPreviousFields) {
  std::vector<PsRow> rows = ParsePsOutput(
      "HEADER\nS 5 40 1 7 8 0.0 00:01 a /a\nZ 6\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(rows[1].parsed);
  EXPECT_EQ(rows[1].record.uid, 6);
  EXPECT_EQ(rows[1].record.pid, 40);
  EXPECT_EQ(rows[1].record.prog, "");
}

TEST(BaseNameTest, GnulibSemantics) {
  EXPECT_EQ(BaseName("kworker/0:1-eve"), "0:1-eve");
  EXPECT_EQ(BaseName("/usr/sbin/ntpd"), "ntpd");
  EXPECT_EQ(BaseName("a//b//"), "b/");
  EXPECT_EQ(BaseName("///"), "/");
  EXPECT_EQ(BaseName(""), "");
}

TEST(ElapsedSecondsTest, FormatsAndKernelBug) {
  EXPECT_EQ(ElapsedSeconds("01:02"), 62);
  EXPECT_EQ(ElapsedSeconds("01:02:03"), 3723);
  EXPECT_EQ(ElapsedSeconds("2-00:00:01"), 172801);
  EXPECT_EQ(ElapsedSeconds("launchd"), 0);
  EXPECT_EQ(ElapsedSeconds("49710-06:28:15"), std::nullopt);
}

TEST(EvaluatorTest, CountsEverythingWithoutFilters) {
  Report r = Check(Parse({"-w", "5"}));
  EXPECT_EQ(r.text, "PROCS WARNING: 8 processes | procs=8;5;;0;\n");
  EXPECT_EQ(r.exit_code, kWarning);
}

TEST(EvaluatorTest, FiltersAreAnded) {
  Report r = Check(Parse({"-C", "apache2", "-s", "Z"}));
  EXPECT_EQ(r.text,
            "PROCS OK: 1 process with command name 'apache2', STATE = Z | "
            "procs=1;;;0;\n");
}

TEST(EvaluatorTest, KernelThreadFilterDropsPid1Quirk) {
  Report r = Check(Parse({"-k", "-C", "systemd"}));
  EXPECT_EQ(r.text,
            "PROCS OK: 0 processes with command name 'systemd' | "
            "procs=0;;;0;\n");
  EXPECT_EQ(Check(Parse({"-k"})).text, "PROCS OK: 6 processes | procs=6;;;0;\n");
}

TEST(EvaluatorTest, PerProcessMetricWithFails) {
  Report r = Check(Parse({"-m", "CPU", "-w", "10", "-c", "50", "-v"}));
  EXPECT_EQ(r.text,
            "CPU CRITICAL: 1 crit, 1 warn out of 8 processes [apache2, "
            "apache2] | procs=8;;;0; procs_warn=1;;;0; procs_crit=1;;;0;\n");
  EXPECT_EQ(r.exit_code, kCritical);
}

TEST(EvaluatorTest, ExcludesSelfByPidAndParent) {
  Report r = Check(Parse({"-T"}), Self{300, 200, std::nullopt});
  EXPECT_EQ(r.text, "PROCS OK: 6 processes | procs=6;;;0;\n");
}

TEST(EvaluatorTest, ExcludesEveryProcessRunningOurExecutable) {
  const FileIdentity mine{1, 42};
  auto exe = [&](int pid) {
    return pid == 100 || pid == 101 ? std::optional<FileIdentity>(mine)
                                    : std::nullopt;
  };
  CheckConfig config = Parse({"-C", "apache2"});
  Evaluation e = Evaluate(config, ParsePsOutput(kPs), Self{1, 0, mine}, exe);
  EXPECT_EQ(e.procs, 1);
}

TEST(EvaluatorTest, NothingLeftIsUnknown) {
  CheckConfig config = Parse({});
  auto no_exe = [](int) { return std::optional<FileIdentity>(); };
  Evaluation e = Evaluate(config, ParsePsOutput("HEADER\n"), Self{}, no_exe);
  EXPECT_EQ(FormatReport(config, e).text, "Unable to read output\n");
  EXPECT_EQ(FormatReport(config, e).exit_code, kUnknown);
}

TEST(EvaluatorTest, VerboseTraces) {
  Evaluation e = Evaluate(Parse({"-vv", "-k", "-C", "tmux:"}),
                          ParsePsOutput(kPs), Self{999, 998, std::nullopt},
                          [](int) { return std::optional<FileIdentity>(); });
  EXPECT_EQ(e.trace,
            "Ignore kernel thread: pid=1 ppid=0 prog=systemd args=/sbin/init\n"
            "Ignore kernel thread: pid=10 ppid=2 prog=0:1-eve "
            "args=[kworker/0:1-events]\n"
            "Matched: uid=1000 vsz=900 rss=400 pid=200 ppid=1 pcpu=0.00 "
            "stat=Ss etime=20:00 prog=tmux: args=server    tmux new -s work\n"
            "Not parseable: ");
}

TEST(OptionsTest, ErrorsAndQuirks) {
  auto out = [](std::vector<std::string> args) {
    args.insert(args.begin(), "check_procs");
    return ParseCommandLine(std::move(args));
  };
  EXPECT_EQ(out({"-w", "3:2"}).output, "Range format incorrect");
  EXPECT_EQ(out({"-m", "FOO", "-c", "3:2"}).output.substr(0, 65),
            "check_procs: Metric must be one of PROCS, VSZ, RSS, CPU, ELAPSED!");
  EXPECT_EQ(out({"-V"}).output, "check_procs v2.3.3 (monitoring-plugins 2.3.3)\n");
  EXPECT_EQ(out({"-p", "1x"}).exit_code, 3);
  EXPECT_EQ(out({"--ereg-argument-array=("}).output,
            "PROCS UNKNOWN: Could not compile regular expression - Unmatched ( "
            "or \\(\n");
  CheckConfig c = Parse({"--ereg-argument-array=a|b", "--ereg-argument-array=c|d",
                         "-C", "x", "-C", "y", "-p", "1", "-p", "2", "5", "10",
                         "Z"});
  EXPECT_EQ(c.description,
            "regex args 'a,b', regex args 'c|d', command name 'x', PPID = 1, "
            "PPID = 2, STATE = Z");
  EXPECT_EQ(c.command, "x");
  EXPECT_EQ(c.ppid, 2);
  EXPECT_EQ(*c.warning_text, "5");
  EXPECT_EQ(*c.critical_text, "10");
  EXPECT_EQ(Parse({"-P", "1.5.5"}).pcpu, 1.5f);
  EXPECT_EQ(Parse({"-to", "5"}).timeout_seconds, 5);
}

}  // namespace
}  // namespace vigil::nagios
