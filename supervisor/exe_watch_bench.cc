// What attach: {exe: PATH} costs everyone else: open()+close() of a hot file
// with no watch, with the FAN_OPEN_EXEC inode mark on an executable in
// another directory of the same filesystem, and with the mark plus the
// inotify watch on the executable's directory while opening a file in that
// very directory (the worst case); and fork+exec+wait of the marked binary
// with and without the mark. Prints ns/op, median of alternating rounds.
//
//   exe_watch_bench [--ops=N] [--rounds=R] [--dir=DIR]   (DIR: on the fs to measure)
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "supervisor/dir_entry_watch.h"
#include "supervisor/fanotify_exec_watch.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

double NsPerOp(int ops, const std::function<void()>& op) {
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < ops; ++i) op();
  std::chrono::duration<double, std::nano> took = std::chrono::steady_clock::now() - start;
  return took.count() / ops;
}

void OpenClose(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) std::abort();
  close(fd);
}

void ForkExecWait(const std::string& binary) {
  pid_t pid = fork();
  if (pid == 0) {
    execl(binary.c_str(), "sleeper", "0", nullptr);
    _exit(127);
  }
  waitpid(pid, nullptr, 0);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int Main(int argc, char** argv) {
  int ops = 500000, rounds = 5;
  std::string base = "/var/tmp";
  for (int i = 1; i < argc; ++i) {
    if (!strncmp(argv[i], "--ops=", 6)) ops = atoi(argv[i] + 6);
    if (!strncmp(argv[i], "--rounds=", 9)) rounds = atoi(argv[i] + 9);
    if (!strncmp(argv[i], "--dir=", 6)) base = argv[i] + 6;
  }
  std::string root = base + "/exe_watch_bench." + std::to_string(getpid());
  fs::create_directories(root + "/bin");
  fs::create_directories(root + "/data");
  std::string exe = root + "/bin/sleeper";
  fs::copy_file("/bin/sleep", exe);
  fs::permissions(exe, fs::perms::owner_all);
  std::string hot = root + "/data/hot", beside = root + "/bin/hot";
  for (const std::string& f : {hot, beside}) close(open(f.c_str(), O_CREAT | O_WRONLY, 0644));

  auto watch = FanotifyExecWatch::Create();
  if (!watch.ok() || !watch->Mark(exe).ok()) {
    std::fprintf(stderr, "fanotify: %s\n", std::string(watch.status().message()).c_str());
    return 1;
  }
  (void)watch->Unmark();
  std::optional<DirEntryWatch> entry;
  auto drain = [&] {
    auto batch = watch->ReadExecs();
    if (entry) entry->NameChanged();
  };
  std::vector<double> none, marked, same_dir, exec_none, exec_marked;
  int execs = std::max(50, ops / 2500);
  for (int r = 0; r < rounds; ++r) {
    entry.reset();
    (void)watch->Unmark();
    none.push_back(NsPerOp(ops, [&] { OpenClose(hot); }));
    exec_none.push_back(NsPerOp(execs, [&] { ForkExecWait(exe); }) / 1000);
    (void)watch->Mark(exe);
    marked.push_back(NsPerOp(ops, [&] { OpenClose(hot); }));
    exec_marked.push_back(NsPerOp(execs, [&] {
                            ForkExecWait(exe);
                            drain();
                          }) / 1000);
    entry.emplace(*DirEntryWatch::Create(root + "/bin", "sleeper"));
    same_dir.push_back(NsPerOp(ops, [&] { OpenClose(beside); }));
  }
  fs::remove_all(root);
  double base_ns = Median(none), base_exec = Median(exec_none);
  std::printf("filesystem of %s, %d ops x %d rounds (median)\n", base.c_str(), ops, rounds);
  std::printf("open+close, no watch:                         %7.1f ns\n", base_ns);
  std::printf("open+close, exe marked (other dir):           %7.1f ns  %+5.1f%%\n",
              Median(marked), 100 * (Median(marked) / base_ns - 1));
  std::printf("open+close, mark + inotify, same dir as exe:  %7.1f ns  %+5.1f%%\n",
              Median(same_dir), 100 * (Median(same_dir) / base_ns - 1));
  std::printf("fork+exec+wait of the exe, no mark:           %7.1f us\n", base_exec);
  std::printf("fork+exec+wait of the exe, marked (+read):    %7.1f us  %+5.1f%%\n",
              Median(exec_marked), 100 * (Median(exec_marked) / base_exec - 1));
  return 0;
}

}  // namespace
}  // namespace vigil

int main(int argc, char** argv) { return vigil::Main(argc, argv); }
