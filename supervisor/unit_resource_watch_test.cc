#include "supervisor/unit_resource_watch.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "supervisor/event_loop.h"

namespace vigil {
namespace {

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

std::string MemoryEvents(int oom_kill) {
  return "low 0\nhigh 0\nmax " + std::to_string(oom_kill) + "\noom " +
         std::to_string(oom_kill) + "\noom_kill " + std::to_string(oom_kill) + "\n";
}

// A fake unit cgroup (plain files in a temp dir) with a real process: the
// counters the kernel would have bumped just before the process died.
class UnitResourceWatchTest : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vigil-urw-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    WriteFile(dir_ + "/memory.events", MemoryEvents(0));
    WriteFile(dir_ + "/memory.max", "max\n");
    WriteFile(dir_ + "/memory.current", "1048576\n");
    auto loop = EventLoop::Create(EventLoop::Backend::kIoUring, nullptr);
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = *std::move(loop);
    child_ = fork();
    if (child_ == 0) {
      pause();
      _exit(0);
    }
  }
  void TearDown() override {
    if (child_ > 0) {
      kill(child_, SIGKILL);
      waitpid(child_, nullptr, 0);
    }
    std::system(("rm -rf " + dir_).c_str());
  }

  std::string dir_;
  std::unique_ptr<EventLoop> loop_;
  pid_t child_ = -1;
};

TEST_F(UnitResourceWatchTest, AnOomKillCountedAsTheProcessDiesIsReportedAtExit) {
  config::UnitConfig unit;
  unit.name = "oomer";
  config::MemoryWatch memory;
  memory.max = 48u << 20;
  unit.watch.memory = memory;
  UnitResourceWatch::Context context{.loop = loop_.get()};
  context.features.memory_controller = true;
  std::vector<std::vector<Firing>> delivered;
  std::vector<std::string> warnings;
  auto watch = UnitResourceWatch::Start(
      unit, child_, dir_, context,
      [&](UnitResourceWatch&, std::vector<Firing> f) { delivered.push_back(std::move(f)); },
      &warnings);
  ASSERT_TRUE(watch.ok()) << watch.status();

  WriteFile(dir_ + "/memory.events", MemoryEvents(1));
  kill(child_, SIGKILL);
  waitpid(child_, nullptr, 0);
  child_ = -1;

  std::vector<Firing> at_exit = (*watch)->CountersAtExit();
  std::vector<std::string> kinds;
  for (const Firing& firing : at_exit) kinds.push_back(firing.event.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"memory.max", "memory.oom", "memory.oom_kill"}));
  // Read once: nothing is reported twice.
  EXPECT_TRUE((*watch)->CountersAtExit().empty());
}

}  // namespace
}  // namespace vigil
