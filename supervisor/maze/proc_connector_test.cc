#include "supervisor/maze/proc_connector.h"

#include <poll.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "supervisor/maze/test_processes.h"

namespace vigil::maze {
namespace {

using testing::Child;

// Collects events until `done` holds or 5 s pass.
template <typename Predicate>
std::vector<ProcEvent> CollectUntil(ProcConnector& connector, Predicate done) {
  std::vector<ProcEvent> events;
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!done(events) && absl::Now() < deadline) {
    pollfd pfd{connector.fd(), POLLIN, 0};
    if (poll(&pfd, 1, 100) <= 0) continue;
    absl::StatusOr<std::vector<ProcEvent>> drained = connector.Drain();
    EXPECT_TRUE(drained.ok()) << drained.status();
    if (!drained.ok()) break;
    events.insert(events.end(), drained->begin(), drained->end());
  }
  return events;
}

// The first event of `kind` about task `pid`.
std::vector<ProcEvent>::const_iterator Find(const std::vector<ProcEvent>& events,
                                            ProcEvent::Kind kind, pid_t pid) {
  return std::find_if(events.begin(), events.end(), [&](const ProcEvent& e) {
    return e.kind == kind && e.pid == pid;
  });
}

bool Has(const std::vector<ProcEvent>& events, ProcEvent::Kind kind, pid_t pid,
         pid_t tgid) {
  return std::any_of(events.begin(), events.end(), [&](const ProcEvent& e) {
    return e.kind == kind && e.pid == pid && e.tgid == tgid;
  });
}


TEST(ProcConnectorTest, SeesAForkedGrandchildAndBothExits) {
  absl::StatusOr<ProcConnector> connector = ProcConnector::Subscribe();
  if (absl::IsPermissionDenied(connector.status())) {
    GTEST_SKIP() << "needs CAP_NET_ADMIN: " << connector.status();
  }
  ASSERT_TRUE(connector.ok()) << connector.status();
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  Child parent([&] {
    pid_t grandchild = fork();
    if (grandchild == 0) _exit(7);
    write(pipe_fds[1], &grandchild, sizeof(grandchild));
    waitpid(grandchild, nullptr, 0);
  });
  pid_t grandchild = 0;
  ASSERT_EQ(read(pipe_fds[0], &grandchild, sizeof(grandchild)),
            static_cast<ssize_t>(sizeof(grandchild)));
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  const pid_t parent_pid = parent.pid();
  parent.Wait();

  std::vector<ProcEvent> events =
      CollectUntil(*connector, [&](const std::vector<ProcEvent>& seen) {
        return Has(seen, ProcEvent::Kind::kExit, parent_pid, parent_pid);
      });
  auto fork = Find(events, ProcEvent::Kind::kFork, grandchild);
  ASSERT_NE(fork, events.end());
  EXPECT_TRUE(fork->IsNewProcess());
  EXPECT_EQ(fork->tgid, grandchild);
  EXPECT_EQ(fork->parent_tgid, parent_pid);
  EXPECT_EQ(fork->parent_pid, parent_pid);
  auto exit = Find(events, ProcEvent::Kind::kExit, grandchild);
  ASSERT_NE(exit, events.end());
  EXPECT_EQ(exit->parent_tgid, parent_pid);
  EXPECT_TRUE(WIFEXITED(exit->exit_code));
  EXPECT_EQ(WEXITSTATUS(exit->exit_code), 7);
  // The order is the kernel's: fork before exit.
  EXPECT_LT(fork, exit);
  // The test process forked `parent` too.
  EXPECT_TRUE(Has(events, ProcEvent::Kind::kFork, parent_pid, parent_pid));
}

TEST(ProcConnectorTest, SeesExecAndThreadCreation) {
  absl::StatusOr<ProcConnector> connector = ProcConnector::Subscribe();
  if (absl::IsPermissionDenied(connector.status())) {
    GTEST_SKIP() << "needs CAP_NET_ADMIN: " << connector.status();
  }
  ASSERT_TRUE(connector.ok()) << connector.status();
  Child exec_child([] {
    pthread_t thread;
    pthread_create(
        &thread, nullptr, [](void*) -> void* { return nullptr; }, nullptr);
    pthread_join(thread, nullptr);
    execl("/bin/true", "true", static_cast<char*>(nullptr));
  });
  const pid_t pid = exec_child.pid();
  exec_child.Wait();
  std::vector<ProcEvent> events =
      CollectUntil(*connector, [&](const std::vector<ProcEvent>& seen) {
        return Has(seen, ProcEvent::Kind::kExit, pid, pid);
      });
  EXPECT_TRUE(Has(events, ProcEvent::Kind::kExec, pid, pid));
  auto thread = std::find_if(events.begin(), events.end(), [&](const ProcEvent& e) {
    return e.kind == ProcEvent::Kind::kFork && e.tgid == pid && e.pid != pid;
  });
  ASSERT_NE(thread, events.end());
  EXPECT_FALSE(thread->IsNewProcess());
  EXPECT_TRUE(Has(events, ProcEvent::Kind::kExit, thread->pid, pid));
}

// The process table takes uid and comm changes from the events themselves.
TEST(ProcConnectorTest, SeesCommAndUidChanges) {
  absl::StatusOr<ProcConnector> connector = ProcConnector::Subscribe();
  if (absl::IsPermissionDenied(connector.status())) {
    GTEST_SKIP() << "needs CAP_NET_ADMIN: " << connector.status();
  }
  ASSERT_TRUE(connector.ok()) << connector.status();
  const bool can_change_uid = geteuid() == 0;
  constexpr uid_t kNobody = 65534;
  Child renamed([&] {
    prctl(PR_SET_NAME, "vigil-renamed");
    if (can_change_uid) setresuid(kNobody, kNobody, kNobody);
  });
  const pid_t pid = renamed.pid();
  renamed.Wait();
  std::vector<ProcEvent> events =
      CollectUntil(*connector, [&](const std::vector<ProcEvent>& seen) {
        return Has(seen, ProcEvent::Kind::kExit, pid, pid);
      });
  auto comm = Find(events, ProcEvent::Kind::kComm, pid);
  ASSERT_NE(comm, events.end());
  EXPECT_TRUE(comm->IsProcessLevel());
  EXPECT_EQ(comm->comm, "vigil-renamed");
  if (!can_change_uid) return;
  auto uid = Find(events, ProcEvent::Kind::kUid, pid);
  ASSERT_NE(uid, events.end());
  EXPECT_EQ(uid->tgid, pid);
  EXPECT_EQ(uid->euid, kNobody);
}

// The filter is what keeps vigild asleep while the rest of the host forks:
// only new processes of the listed parents get through.
TEST(ProcConnectorTest, TheForkFilterPassesOnlyNewProcessesOfListedParents) {
  absl::StatusOr<ProcConnector> connector = ProcConnector::Subscribe();
  if (absl::IsPermissionDenied(connector.status())) {
    GTEST_SKIP() << "needs CAP_NET_ADMIN: " << connector.status();
  }
  ASSERT_TRUE(connector.ok()) << connector.status();
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  auto forker = [&] {
    char byte;
    read(go[0], &byte, 1);
    pthread_t thread;
    pthread_create(&thread, nullptr, [](void*) -> void* { return nullptr; },
                   nullptr);
    pthread_join(thread, nullptr);
    pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, nullptr, 0);
  };
  Child listed(forker);
  Child unlisted(forker);
  ASSERT_TRUE(connector->SetForkFilter({listed.pid()}).ok());
  ASSERT_TRUE(connector->Drain().ok());  // queued before the filter
  ASSERT_EQ(write(go[1], "xx", 2), 2);
  listed.Wait();
  unlisted.Wait();
  std::vector<ProcEvent> events =
      CollectUntil(*connector, [](const std::vector<ProcEvent>& seen) {
        return !seen.empty();
      });
  // Anything else would have been queued before the listed child's fork
  // event was read; drain once more to be sure nothing else came.
  absl::StatusOr<std::vector<ProcEvent>> rest = connector->Drain();
  ASSERT_TRUE(rest.ok());
  events.insert(events.end(), rest->begin(), rest->end());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].IsNewProcess());
  EXPECT_EQ(events[0].parent_tgid, listed.pid());

  ASSERT_TRUE(connector->SetForkFilter({}).ok());
  Child silent([] {});
  silent.Wait();
  pollfd pfd{connector->fd(), POLLIN, 0};
  EXPECT_EQ(poll(&pfd, 1, 200), 0) << "an empty filter drops everything";
  close(go[0]);
  close(go[1]);
}

TEST(ProcConnectorTest, NothingQueuedMeansAnEmptyDrain) {
  absl::StatusOr<ProcConnector> connector = ProcConnector::Subscribe();
  if (absl::IsPermissionDenied(connector.status())) {
    GTEST_SKIP() << "needs CAP_NET_ADMIN: " << connector.status();
  }
  ASSERT_TRUE(connector.ok()) << connector.status();
  ProcConnector moved = std::move(*connector);
  absl::StatusOr<std::vector<ProcEvent>> drained = moved.Drain();
  ASSERT_TRUE(drained.ok()) << drained.status();
  EXPECT_GE(moved.fd(), 0);
}

}  // namespace
}  // namespace vigil::maze
