// Every YAML file shipped under units/ loads without error, and the demo
// units' commands really do what the demo promises (exit, crash, tick), so
// neither the examples nor the demo can rot.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "config/loader.h"
#include "gtest/gtest.h"

namespace vigil::config {
namespace {

namespace fs = std::filesystem;

// Data files sit under the test's working directory, as in the source tree.
constexpr char kUnitsRoot[] = "units";
constexpr char kDemoConfig[] = "units/demo/vigil.yaml";

std::vector<fs::path> ShippedYamlFiles(const fs::path& root) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    fs::path extension = entry.path().extension();
    if (extension == ".yaml" || extension == ".yml") {
      files.push_back(entry.path());
    }
  }
  return files;
}

TEST(ShippedUnitsTest, EveryShippedFileLoads) {
  std::vector<fs::path> files = ShippedYamlFiles(kUnitsRoot);
  // 1 demo main file + 4 demo units + 4 examples, at least.
  ASSERT_GE(files.size(), 9u);
  for (const fs::path& file : files) {
    absl::Status status = file.filename() == "vigil.yaml"
                              ? LoadConfig(file.string()).status()
                              : LoadUnitFile(file.string()).status();
    EXPECT_TRUE(status.ok()) << status;
  }
}

TEST(ShippedUnitsTest, DemoConfigHasTheFourDemoUnits) {
  absl::StatusOr<Config> config = LoadConfig(kDemoConfig);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->main.control_socket, "/tmp/vigil-demo.sock");
  EXPECT_EQ(config->main.cgroup_root, "auto");
  EXPECT_EQ(config->main.units_dir, "units/demo/units");
  std::vector<std::string> names;
  for (const UnitConfig& unit : config->units) names.push_back(unit.name);
  EXPECT_EQ(names, (std::vector<std::string>{"crasher", "flaky", "oneshot",
                                             "ticker"}));
  EXPECT_EQ(config->units[0].restart, RestartPolicy::kAlways);
  EXPECT_EQ(config->units[0].start_limit.burst, 3);
  EXPECT_EQ(config->units[1].restart, RestartPolicy::kOnFailure);
  EXPECT_EQ(config->units[2].restart, RestartPolicy::kNever);
  EXPECT_EQ(config->units[3].restart, RestartPolicy::kAlways);
}

TEST(ShippedUnitsTest, ExamplesEachWatchSomething) {
  std::set<std::string> names;
  for (const fs::path& file : ShippedYamlFiles("units/examples")) {
    absl::StatusOr<UnitConfig> unit = LoadUnitFile(file.string());
    ASSERT_TRUE(unit.ok()) << unit.status();
    EXPECT_FALSE(unit->watch.empty()) << file;
    names.insert(unit->name);
  }
  EXPECT_TRUE(names.contains("nginx"));
  EXPECT_TRUE(names.contains("postgres"));
  EXPECT_TRUE(names.contains("redis"));
  EXPECT_TRUE(names.contains("report-worker"));
}

// ---- running the demo commands ----

struct Running {
  pid_t pid;
  int stdout_fd;
};

Running Spawn(const std::vector<std::string>& argv) {
  int pipe_fds[2];
  EXPECT_EQ(pipe(pipe_fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    // The crasher dumps no core into the test's directory.
    rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  return {pid, pipe_fds[0]};
}

std::string ReadLine(int fd) {
  std::string line;
  char c;
  while (read(fd, &c, 1) == 1 && c != '\n') line += c;
  return line;
}

int WaitStatus(pid_t pid) {
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  return status;
}

std::vector<std::string> ExecOf(const Config& config, const std::string& name) {
  for (const UnitConfig& unit : config.units) {
    if (unit.name == name) return unit.exec;
  }
  ADD_FAILURE() << "no unit " << name;
  return {"/bin/false"};
}

TEST(ShippedUnitsTest, DemoCommandsDoWhatTheDemoPromises) {
  absl::StatusOr<Config> config = LoadConfig(kDemoConfig);
  ASSERT_TRUE(config.ok()) << config.status();
  auto started = std::chrono::steady_clock::now();
  // All at once: the test takes as long as the slowest (flaky, 3 s).
  Running oneshot = Spawn(ExecOf(*config, "oneshot"));
  Running crasher = Spawn(ExecOf(*config, "crasher"));
  Running flaky = Spawn(ExecOf(*config, "flaky"));
  Running ticker = Spawn(ExecOf(*config, "ticker"));

  EXPECT_EQ(ReadLine(oneshot.stdout_fd), "oneshot: job done");
  int status = WaitStatus(oneshot.pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;

  status = WaitStatus(crasher.pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV) << status;

  EXPECT_EQ(ReadLine(ticker.stdout_fd), "tick 1");
  EXPECT_EQ(ReadLine(ticker.stdout_fd), "tick 2");
  // Still running after two ticks: long-running until stopped.
  EXPECT_EQ(waitpid(ticker.pid, &status, WNOHANG), 0);
  kill(ticker.pid, SIGTERM);
  status = WaitStatus(ticker.pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << status;

  status = WaitStatus(flaky.pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
  // "fails after 3 s": not before (a generous upper bound is implied by the
  // test's own timeout).
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));

  for (Running running : {oneshot, crasher, flaky, ticker}) {
    close(running.stdout_fd);
  }
}

}  // namespace
}  // namespace vigil::config
