/*
 * rlimit_noti.ko end to end, written against the RFC's UAPI header
 * <linux/rlimit_noti.h> like the RFC's own test programs. Runs as root in
 * the VM harness (kmod/tests/in_vm.sh): loads the module, crosses levels
 * with every kind of fd operation in this process and in children, checks
 * the bad-argument errors, and ends with unloading while watches are active.
 *
 *   noti_test MODULE.ko          every case; prints "N passed, N failed"
 *   noti_test --puppet CMD ACK   internal: the child end of a puppet
 *
 * Events are queued synchronously inside the syscall that changes the
 * count, so every check below reads the queue with a zero timeout right
 * after the action (or after the puppet acknowledged it): no sleeps.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/netlink.h>
#include <linux/rlimit_noti.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int passed, failed;
static const char *current_case;
static char self_exe[4096];
static const char *module_path;

#define CHECK(cond, ...)                                                \
	do {                                                            \
		if (!(cond)) {                                          \
			fail_at(__LINE__, #cond, __VA_ARGS__);          \
			return;                                         \
		}                                                       \
	} while (0)

static int case_failed;

static void fail_at(int line, const char *expr, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL %s (line %d): %s: ", current_case, line, expr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " [errno %s]\n", strerror(errno));
	case_failed = 1;
}

static void run_case(const char *name, void (*fn)(void))
{
	current_case = name;
	case_failed = 0;
	fn();
	if (case_failed) {
		failed++;
	} else {
		passed++;
		printf("ok   %s\n", name);
	}
	fflush(stdout);
}

/* ---- the RFC's API ---------------------------------------------------- */

/* The RFC's typical scenario, step 1: a notification fd over netlink. */
static int noti_open(void)
{
	struct {
		struct nlmsghdr nlh;
		char payload[64];
	} msg;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	int sock, fd = -1;
	ssize_t n;

	sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_RLIMIT_EVENTS);
	if (sock < 0)
		return -1;
	memset(&msg, 0, sizeof(msg));
	msg.nlh.nlmsg_len = NLMSG_LENGTH(0);
	msg.nlh.nlmsg_type = RLIMIT_GET_NOTI_FD;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST;
	msg.nlh.nlmsg_seq = 42;
	if (sendto(sock, &msg, msg.nlh.nlmsg_len, 0, (struct sockaddr *)&kernel,
		   sizeof(kernel)) < 0)
		goto out;
	n = recv(sock, &msg, sizeof(msg), 0);
	if (n < (ssize_t)NLMSG_LENGTH(sizeof(int)) ||
	    msg.nlh.nlmsg_type != RLIMIT_GET_NOTI_FD || msg.nlh.nlmsg_seq != 42) {
		errno = EPROTO;
		goto out;
	}
	memcpy(&fd, NLMSG_DATA(&msg.nlh), sizeof(fd));
	if (fcntl(fd, F_GETFD) < 0)
		fd = -1;
out:
	close(sock);
	return fd;
}

static int add_level(int fd, pid_t pid, uint32_t res, uint64_t value,
		     uint32_t flags)
{
	struct rlimit_noti_level lvl = {
		.subj = { .pid = pid, .resource = res }, .value = value,
		.flags = flags,
	};

	return ioctl(fd, RLIMIT_ADD_NOTI_LVL, &lvl);
}

static int rm_level(int fd, pid_t pid, uint32_t res, uint64_t value)
{
	struct rlimit_noti_level lvl = {
		.subj = { .pid = pid, .resource = res }, .value = value,
	};

	return ioctl(fd, RLIMIT_RM_NOTI_LVL, &lvl);
}

static int set_all(int fd, pid_t pid, uint32_t flags_unused)
{
	struct rlimit_noti_subject subj = { .pid = pid, .resource = RLIMIT_NOFILE };

	(void)flags_unused;
	return ioctl(fd, RLIMIT_SET_NOTI_ALL, &subj);
}

/* RLIMIT_RM_NOTI_LVL as a raw syscall, checking that the registers come
 * back as they went in (the module renames command 2 on its way in). */
static int rm_level_raw(int fd, pid_t pid, uint32_t res, uint64_t value)
{
	struct rlimit_noti_level lvl = {
		.subj = { .pid = pid, .resource = res }, .value = value,
	};
	long ret;
	unsigned long rsi = RLIMIT_RM_NOTI_LVL, rdi = fd, rdx = (unsigned long)&lvl;

	__asm__ volatile("syscall"
			 : "=a"(ret), "+S"(rsi), "+D"(rdi), "+d"(rdx)
			 : "a"((long)SYS_ioctl)
			 : "rcx", "r11", "memory");
	if (rsi != RLIMIT_RM_NOTI_LVL || rdi != (unsigned long)fd ||
	    rdx != (unsigned long)&lvl || lvl.subj.pid != pid) {
		fprintf(stderr, "  ioctl 2 changed the caller's registers or pid\n");
		errno = EPROTO;
		return -1;
	}
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	return (int)ret;
}

struct event {
	struct rlimit_event hdr;
	union {
		struct rlimit_event_res_changed res;
		struct rlimit_event_new_pid new_pid;
		struct rlimit_event_pid_dead dead;
		struct rlimit_event_overflow overflow;
		char raw[64];
	} u;
};

/* 1: got one, 0: none queued, -1: error. */
static int next_event(int fd, struct event *ev)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, 0) < 0)
		return -1;
	if (!(p.revents & POLLIN))
		return 0;
	n = read(fd, ev, sizeof(*ev));
	if (n < 0)
		return -1;
	if ((size_t)n != ev->hdr.size) {
		errno = EPROTO;
		return -1;
	}
	return 1;
}

/* The next event is RES_CHANGED(pid, NOFILE, value). */
static int expect_res(int fd, pid_t pid, uint64_t value)
{
	struct event ev;
	int got = next_event(fd, &ev);

	if (got != 1) {
		fprintf(stderr, "  expected RES_CHANGED pid %d value %llu, got %s\n",
			pid, (unsigned long long)value, got ? "an error" : "nothing");
		return 0;
	}
	if (ev.hdr.ev_type != RLIMIT_EVENT_TYPE_RES_CHANGED ||
	    ev.u.res.subj.pid != pid || ev.u.res.subj.resource != RLIMIT_NOFILE ||
	    ev.u.res.new_value != value) {
		fprintf(stderr,
			"  expected RES_CHANGED pid %d value %llu, got type %u pid %d res %u value %llu\n",
			pid, (unsigned long long)value, ev.hdr.ev_type,
			ev.u.res.subj.pid, ev.u.res.subj.resource,
			(unsigned long long)ev.u.res.new_value);
		return 0;
	}
	return 1;
}

static int expect_type(int fd, uint32_t type, struct event *ev)
{
	int got = next_event(fd, ev);

	if (got != 1 || ev->hdr.ev_type != type) {
		fprintf(stderr, "  expected event type %u, got %s %u\n", type,
			got == 1 ? "type" : "none/error", got == 1 ? ev->hdr.ev_type : 0);
		return 0;
	}
	return 1;
}

static int expect_none(int fd)
{
	struct event ev;
	int got = next_event(fd, &ev);

	if (got != 0)
		fprintf(stderr, "  expected no event, got type %u value %llu\n",
			got == 1 ? ev.hdr.ev_type : 0,
			got == 1 ? (unsigned long long)ev.u.res.new_value : 0ULL);
	return got == 0;
}

/* Open fds of this process, without opening one. */
static int count_fds(void)
{
	int n = 0, fd, max = (int)sysconf(_SC_OPEN_MAX);

	for (fd = 0; fd < max; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

static int read_param(const char *name)
{
	char path[256], buf[32] = "";
	int fd, v = -1;

	snprintf(path, sizeof(path), "/sys/module/rlimit_noti/parameters/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) > 0)
		v = buf[0] == 'Y' ? 1 : buf[0] == 'N' ? 0 : atoi(buf);
	close(fd);
	return v;
}

/* ---- puppets: children that do one fd operation per command ------------ */

struct puppet {
	pid_t pid;
	int cmd, ack; /* parent's ends */
};

static int puppet_fds[512], puppet_nfds;

/* Performs one command; returns 0 to stop. */
static int puppet_do(char c, int cmd_fd, int ack_fd)
{
	char arg[3][16];
	int i;

	switch (c) {
	case 'o': /* open one */
		puppet_fds[puppet_nfds++] = open("/dev/null", O_RDONLY);
		break;
	case 'C': /* open one close-on-exec */
		puppet_fds[puppet_nfds++] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		break;
	case 'c': /* close the last one */
		close(puppet_fds[--puppet_nfds]);
		break;
	case 'b': /* a burst: 100 open+close, far inside one tick of a sampler */
		for (i = 0; i < 100; i++)
			close(open("/dev/null", O_RDONLY));
		break;
	case 'e': /* exec self, keeping only the command pipes */
		snprintf(arg[0], sizeof(arg[0]), "%d", cmd_fd);
		snprintf(arg[1], sizeof(arg[1]), "%d", ack_fd);
		execl(self_exe, self_exe, "--puppet", arg[0], arg[1], (char *)NULL);
		return 0;
	case 'x':
		return 0;
	}
	return 1;
}

static void puppet_loop(int cmd_fd, int ack_fd)
{
	char c;
	int n;

	for (;;) {
		n = count_fds();
		if (write(ack_fd, &n, sizeof(n)) != sizeof(n))
			_exit(1);
		if (read(cmd_fd, &c, 1) != 1)
			_exit(0);
		if (!puppet_do(c, cmd_fd, ack_fd))
			_exit(0);
	}
}

/* Starts a puppet; *nfds is its fd count once it waits for commands. */
static int puppet_start(struct puppet *p, int *nfds)
{
	int cmd[2], ack[2];

	if (pipe(cmd) || pipe(ack))
		return -1;
	p->pid = fork();
	if (p->pid < 0)
		return -1;
	if (p->pid == 0) {
		close(cmd[1]);
		close(ack[0]);
		puppet_loop(cmd[0], ack[1]);
	}
	close(cmd[0]);
	close(ack[1]);
	p->cmd = cmd[1];
	p->ack = ack[0];
	return read(p->ack, nfds, sizeof(*nfds)) == sizeof(*nfds) ? 0 : -1;
}

/* Sends one command and waits until it is done; returns the new count. */
static int puppet_cmd(struct puppet *p, char c)
{
	int n;

	if (write(p->cmd, &c, 1) != 1)
		return -1;
	if (c == 'x')
		return 0;
	return read(p->ack, &n, sizeof(n)) == sizeof(n) ? n : -1;
}

static int puppet_reap(struct puppet *p)
{
	int status;

	close(p->cmd);
	close(p->ack);
	return waitpid(p->pid, &status, 0) == p->pid ? 0 : -1;
}

/* ---- cases --------------------------------------------------------------- */

static void test_files_levels(void)
{
	int nfd = noti_open(), base, a, b, c;

	CHECK(nfd >= 0, "notification fd");
	base = count_fds();
	CHECK(add_level(nfd, getpid(), RLIMIT_NOFILE, base + 2, 0) == 0, "add");
	a = open("/dev/null", O_RDONLY);
	CHECK(expect_none(nfd), "base+1 is below the level");
	b = open("/etc/passwd", O_RDONLY);
	CHECK(expect_res(nfd, getpid(), base + 2), "rising crossing at base+2");
	c = openat(AT_FDCWD, "/", O_DIRECTORY | O_RDONLY);
	CHECK(expect_none(nfd), "base+3: no second crossing");
	close(c);
	CHECK(expect_none(nfd), "back to base+2: level not crossed downward");
	close(b);
	CHECK(expect_res(nfd, getpid(), base + 1), "falling crossing");
	close(a);
	CHECK(expect_none(nfd), "base: nothing more");
	close(nfd);
}

static void test_sockets_and_pipes(void)
{
	int nfd = noti_open(), base, s, sp[2], pp[2], lsn, cli, acc;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	pid_t me = getpid();

	CHECK(nfd >= 0, "notification fd");
	base = count_fds();
	CHECK(set_all(nfd, me, 0) == 0, "set all");
	s = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(expect_res(nfd, me, base + 1), "socket");
	/* Both fds are reserved before either is installed: one change of 2,
	 * as /proc/<pid>/fd sees it. */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0, "socketpair");
	CHECK(expect_res(nfd, me, base + 3) && expect_none(nfd),
	      "socketpair: one change by two");
	CHECK(pipe2(pp, O_CLOEXEC) == 0, "pipe");
	CHECK(expect_res(nfd, me, base + 5) && expect_none(nfd), "pipe: one change by two");
	lsn = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "/tmp/rn_test.%d", me);
	unlink(addr.sun_path);
	CHECK(bind(lsn, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
		      listen(lsn, 1) == 0, "listen");
	cli = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(connect(cli, (struct sockaddr *)&addr, sizeof(addr)) == 0, "connect");
	acc = accept(lsn, NULL, NULL);
	CHECK(acc >= 0, "accept");
	CHECK(expect_res(nfd, me, base + 6) && expect_res(nfd, me, base + 7) &&
		      expect_res(nfd, me, base + 8), "listen, connect, accept sockets");
	close(acc);
	close(cli);
	close(lsn);
	close(pp[0]);
	close(pp[1]);
	close(sp[0]);
	close(sp[1]);
	close(s);
	for (int v = base + 7; v >= base; v--)
		CHECK(expect_res(nfd, me, v), "close, step %d", v);
	CHECK(expect_none(nfd), "nothing else");
	unlink(addr.sun_path);
	close(nfd);
}

static void test_dup_family(void)
{
	int nfd = noti_open(), base, a, d, hi = 600;
	pid_t me = getpid();

	CHECK(nfd >= 0, "notification fd");
	base = count_fds();
	CHECK(set_all(nfd, me, 0) == 0, "set all");
	a = open("/dev/null", O_RDONLY);
	CHECK(expect_res(nfd, me, base + 1), "open");
	d = dup(a);
	CHECK(d >= 0 && expect_res(nfd, me, base + 2), "dup");
	CHECK(dup2(a, hi) == hi && expect_res(nfd, me, base + 3),
	      "dup2 onto a free fd (no fd_install: do_dup2)");
	CHECK(dup2(a, hi) == hi && expect_none(nfd), "dup2 onto itself");
	CHECK(dup2(d, hi) == hi && expect_none(nfd),
	      "dup2 onto an open fd replaces it: count unchanged");
	CHECK(dup3(a, hi + 1, O_CLOEXEC) == hi + 1 && expect_res(nfd, me, base + 4),
	      "dup3");
	CHECK(fcntl(a, F_DUPFD_CLOEXEC, hi + 10) == hi + 10 &&
		      expect_res(nfd, me, base + 5), "F_DUPFD_CLOEXEC");
	CHECK(fcntl(a, F_DUPFD, hi + 20) == hi + 20 && expect_res(nfd, me, base + 6),
	      "F_DUPFD");
	CHECK(syscall(SYS_close_range, hi, hi + 20, CLOSE_RANGE_CLOEXEC) == 0 &&
		      expect_none(nfd), "close_range(CLOEXEC) only marks");
	CHECK(syscall(SYS_close_range, hi, hi + 1, 0) == 0 &&
		      expect_res(nfd, me, base + 5) && expect_res(nfd, me, base + 4),
	      "close_range closes one fd at a time");
	CHECK(close(hi + 10) == 0 && expect_res(nfd, me, base + 3), "close");
	CHECK(close(hi + 10) < 0 && errno == EBADF && expect_none(nfd),
	      "close of a closed fd");
	close(d);
	CHECK(expect_res(nfd, me, base + 2), "close dup");
	close(hi + 20);
	close(a);
	CHECK(expect_res(nfd, me, base + 1) && expect_res(nfd, me, base), "close");
	close(nfd);
}

static void *block_on_fd(void *fd)
{
	char c;

	return (void *)(long)read((int)(long)fd, &c, 1);
}

/* close_range(CLOSE_RANGE_UNSHARE) on a table shared with a thread copies
 * only the fds below the range into a private table: the closed fds never
 * pass filp_close in the caller's table, and the module counts once at
 * the syscall's return. Every level the jump crosses fires, with the
 * final value. */
static void test_close_range_unshare(void)
{
	int nfd = noti_open(), base, i, gate[2];
	pid_t me = getpid();
	pthread_t thread;

	CHECK(nfd >= 0, "notification fd");
	CHECK(pipe(gate) == 0, "pipe");
	CHECK(pthread_create(&thread, NULL, block_on_fd, (void *)(long)gate[0]) == 0,
	      "a thread shares the table");
	for (i = 0; i < 4; i++)
		CHECK(dup2(nfd, 700 + i) == 700 + i, "dup2");
	base = count_fds();
	CHECK(add_level(nfd, me, RLIMIT_NOFILE, base - 1, 0) == 0 &&
		      add_level(nfd, me, RLIMIT_NOFILE, base - 3, 0) == 0 &&
		      add_level(nfd, me, RLIMIT_NOFILE, base - 5, 0) == 0, "add");
	CHECK(syscall(SYS_close_range, 700, 703, CLOSE_RANGE_UNSHARE) == 0, "close_range");
	CHECK(count_fds() == base - 4, "4 closed");
	CHECK(expect_res(nfd, me, base - 4) && expect_res(nfd, me, base - 4),
	      "two levels crossed by one jump");
	CHECK(expect_none(nfd), "base-5 not crossed");
	CHECK(write(gate[1], "x", 1) == 1 && pthread_join(thread, NULL) == 0, "join");
	close(gate[1]);
	CHECK(expect_none(nfd), "base-5: a level fires when the count drops below it");
	close(gate[0]);
	CHECK(expect_res(nfd, me, base - 6), "counted in the caller's own table");
	close(nfd);
}

static void test_failed_open(void)
{
	int nfd = noti_open(), base;
	pid_t me = getpid();

	CHECK(nfd >= 0, "notification fd");
	base = count_fds();
	CHECK(set_all(nfd, me, 0) == 0, "set all");
	CHECK(open("/nonexistent/file", O_RDONLY) < 0 && errno == ENOENT,
	      "open fails");
	CHECK(expect_none(nfd), "a reserved then released fd is no change");
	CHECK(count_fds() == base, "count");
	close(nfd);
}

static void test_burst_in_child(void)
{
	struct puppet p;
	int nfd = noti_open(), base, i;
	struct stat st0, st1;
	char path[64];

	CHECK(nfd >= 0, "notification fd");
	CHECK(puppet_start(&p, &base) == 0, "puppet");
	CHECK(add_level(nfd, p.pid, RLIMIT_NOFILE, base + 1, 0) == 0, "add");
	snprintf(path, sizeof(path), "/proc/%d/fd", p.pid);
	CHECK(stat(path, &st0) == 0, "stat before");
	CHECK(puppet_cmd(&p, 'b') == base, "burst");
	CHECK(stat(path, &st1) == 0, "stat after");
	/* What a sampler of /proc/<pid>/fd sees around the burst: nothing. */
	CHECK(st0.st_size == st1.st_size, "the burst is invisible to a sampler");
	for (i = 0; i < 100; i++) {
		CHECK(expect_res(nfd, p.pid, base + 1), "up %d", i);
		CHECK(expect_res(nfd, p.pid, base), "down %d", i);
	}
	CHECK(expect_none(nfd), "exactly 200 events");
	puppet_cmd(&p, 'x');
	puppet_reap(&p);
	close(nfd);
}

static void test_watched_process_exit(void)
{
	struct puppet p;
	int nfd = noti_open(), base, before = read_param("watched_processes");
	struct rlimit_noti_subject subj;
	struct event ev;

	CHECK(nfd >= 0, "notification fd");
	CHECK(puppet_start(&p, &base) == 0, "puppet");
	CHECK(add_level(nfd, p.pid, RLIMIT_NOFILE, base + 1, 0) == 0, "add");
	CHECK(add_level(nfd, p.pid, RLIMIT_NOFILE, base + 5, 0) == 0, "add");
	CHECK(read_param("watched_processes") == before + 1, "one more watched");
	CHECK(puppet_cmd(&p, 'o') == base + 1 && expect_res(nfd, p.pid, base + 1),
	      "crossing");
	puppet_cmd(&p, 'x');
	CHECK(puppet_reap(&p) == 0, "reap");
	CHECK(expect_type(nfd, RLIMIT_EVENT_TYPE_PID_DEAD, &ev) &&
		      ev.u.dead.pid == p.pid && ev.hdr.size == sizeof(ev.hdr) + sizeof(ev.u.dead),
	      "one PID_DEAD event for both watches");
	CHECK(expect_none(nfd), "exit closes fds without crossing events");
	CHECK(read_param("watched_processes") == before, "watch gone");
	subj.pid = p.pid;
	subj.resource = RLIMIT_NOFILE;
	CHECK(ioctl(nfd, RLIMIT_GET_NOTI_LVL_COUNT, &subj) < 0 && errno == ESRCH,
	      "dead pid");
	close(nfd);
}

/* The watcher exits first: its fd closes and takes its watches along. */
static void test_watcher_exit(void)
{
	int before = read_param("watched_processes"), w_before = read_param("watches");
	int ready[2], status, a;
	pid_t me = getpid(), watcher;
	char c;

	CHECK(pipe(ready) == 0, "pipe");
	watcher = fork();
	if (watcher == 0) {
		int nfd = noti_open();

		if (nfd < 0 || add_level(nfd, me, RLIMIT_NOFILE, 1, 0) ||
		    set_all(nfd, me, 0))
			_exit(1);
		c = 'w';
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		_exit(0); /* with events still queued */
	}
	close(ready[1]);
	CHECK(read(ready[0], &c, 1) == 1, "watcher ready");
	a = open("/dev/null", O_RDONLY); /* queues an event for the watcher */
	close(a);
	CHECK(waitpid(watcher, &status, 0) == watcher && WIFEXITED(status) &&
		      WEXITSTATUS(status) == 0, "watcher ran");
	close(ready[0]);
	CHECK(read_param("watched_processes") == before && read_param("watches") == w_before,
	      "the watcher's watches died with its fd");
	a = open("/dev/null", O_RDONLY);
	close(a);
}

static void test_fork_inherits(void)
{
	struct puppet p;
	int nfd = noti_open(), base, n;
	pid_t me = getpid();
	struct event ev;

	CHECK(nfd >= 0, "notification fd");
	base = count_fds();
	/* Inherited: children get this watch, level relative to our count. */
	CHECK(add_level(nfd, me, RLIMIT_NOFILE, base + 5, 0) == 0, "add");
	CHECK(add_level(nfd, me, RLIMIT_NOFILE, 1000, RLIMIT_FLAG_NO_INHERIT) == 0,
	      "add no-inherit");
	CHECK(puppet_start(&p, &n) == 0, "puppet");
	CHECK(expect_type(nfd, RLIMIT_EVENT_TYPE_NEW_PID, &ev) &&
		      ev.u.new_pid.parent == me && ev.u.new_pid.new_pid == p.pid,
	      "NEW_PID once for the fd");
	/* pipes of the parent stay behind; the puppet holds its inherited
	 * fds (our count minus the two ends it closed, plus nothing). */
	CHECK(expect_none(nfd), "puppet start crosses nothing");
	{
		struct rlimit_noti_subject subj = { p.pid, RLIMIT_NOFILE };
		struct rlimit_noti_level lvl = { { p.pid, RLIMIT_NOFILE }, 0, 0 };

		CHECK(ioctl(nfd, RLIMIT_GET_NOTI_LVL_COUNT, &subj) == 1,
		      "only the inheritable level was copied");
		CHECK(ioctl(nfd, RLIMIT_GET_NOTI_LVL, &lvl) == 0 &&
			      lvl.value == (uint64_t)base + 5, "its level");
	}
	while (n < base + 4)
		n = puppet_cmd(&p, 'o');
	CHECK(expect_none(nfd), "below the level");
	CHECK(puppet_cmd(&p, 'o') == base + 5 && expect_res(nfd, p.pid, base + 5),
	      "child crosses the inherited level");
	CHECK(puppet_cmd(&p, 'c') == base + 4 && expect_res(nfd, p.pid, base + 4),
	      "and back");
	puppet_cmd(&p, 'x');
	puppet_reap(&p);
	CHECK(expect_type(nfd, RLIMIT_EVENT_TYPE_PID_DEAD, &ev) && ev.u.dead.pid == p.pid,
	      "child's exit");
	CHECK(expect_none(nfd), "parent unaffected");
	close(nfd);
}

static void test_fork_no_inherit(void)
{
	struct puppet p;
	int nfd = noti_open(), n;

	CHECK(nfd >= 0, "notification fd");
	CHECK(add_level(nfd, getpid(), RLIMIT_NOFILE, 3, RLIMIT_FLAG_NO_INHERIT) == 0,
	      "add");
	CHECK(puppet_start(&p, &n) == 0, "puppet");
	CHECK(expect_none(nfd), "no NEW_PID for a no-inherit watch");
	puppet_cmd(&p, 'o');
	puppet_cmd(&p, 'c');
	CHECK(expect_none(nfd), "the child is not watched");
	puppet_cmd(&p, 'x');
	puppet_reap(&p);
	CHECK(expect_none(nfd), "no PID_DEAD for an unwatched child");
	close(nfd);
}

static void test_exec_cloexec(void)
{
	struct puppet p;
	int nfd = noti_open(), base, i, after;

	CHECK(nfd >= 0, "notification fd");
	CHECK(puppet_start(&p, &base) == 0, "puppet");
	for (i = 0; i < 3; i++)
		base = puppet_cmd(&p, 'C');
	base = puppet_cmd(&p, 'o');
	CHECK(set_all(nfd, p.pid, 0) == 0, "set all");
	after = puppet_cmd(&p, 'e');
	CHECK(after == base - 3, "exec closed the 3 close-on-exec fds (%d -> %d)",
	      base, after);
	for (i = 1; i <= 3; i++)
		CHECK(expect_res(nfd, p.pid, base - i), "close-on-exec step %d", i);
	CHECK(expect_none(nfd), "nothing else during exec");
	CHECK(puppet_cmd(&p, 'c') == after - 1 && expect_res(nfd, p.pid, after - 1),
	      "the new image is still watched");
	puppet_cmd(&p, 'x');
	puppet_reap(&p);
	close(nfd);
}

static void test_many_watchers_many_processes(void)
{
	struct puppet p1, p2;
	int f1 = noti_open(), f2 = noti_open(), b1, b2;

	CHECK(f1 >= 0 && f2 >= 0, "notification fds");
	CHECK(puppet_start(&p1, &b1) == 0 && puppet_start(&p2, &b2) == 0, "puppets");
	CHECK(add_level(f1, p1.pid, RLIMIT_NOFILE, b1 + 1, 0) == 0 &&
		      add_level(f1, p2.pid, RLIMIT_NOFILE, b2 + 1, 0) == 0 &&
		      add_level(f2, p1.pid, RLIMIT_NOFILE, b1 + 1, 0) == 0 &&
		      add_level(f2, p1.pid, RLIMIT_NOFILE, b1 + 2, 0) == 0, "adds");
	CHECK(add_level(f2, p1.pid, RLIMIT_NOFILE, b1 + 2, 0) < 0 && errno == EEXIST,
	      "duplicate");
	puppet_cmd(&p1, 'o');
	CHECK(expect_res(f1, p1.pid, b1 + 1) && expect_res(f2, p1.pid, b1 + 1),
	      "both watchers of p1");
	puppet_cmd(&p2, 'o');
	CHECK(expect_res(f1, p2.pid, b2 + 1) && expect_none(f2), "only f1 watches p2");
	puppet_cmd(&p1, 'o');
	CHECK(expect_none(f1) && expect_res(f2, p1.pid, b1 + 2), "second level");
	CHECK(rm_level_raw(f2, p1.pid, RLIMIT_NOFILE, b1 + 2) == 0,
	      "rm (ioctl 2, which the VFS calls FIGETBSZ)");
	CHECK(rm_level(f2, p1.pid, RLIMIT_NOFILE, b1 + 2) < 0 && errno == ENOENT,
	      "rm twice");
	puppet_cmd(&p1, 'c');
	CHECK(expect_none(f1) && expect_none(f2), "removed level is silent");
	puppet_cmd(&p1, 'x');
	puppet_cmd(&p2, 'x');
	puppet_reap(&p1);
	puppet_reap(&p2);
	close(f1);
	close(f2);
}

static void test_levels_query(void)
{
	int nfd = noti_open(), i;
	pid_t me = getpid();
	struct rlimit_noti_subject subj = { me, RLIMIT_NOFILE };
	struct rlimit_noti_level lvl;
	uint64_t want[3] = { 100, 50, 200 };

	CHECK(nfd >= 0, "notification fd");
	CHECK(ioctl(nfd, RLIMIT_GET_NOTI_LVL_COUNT, &subj) == 0, "none yet");
	for (i = 0; i < 3; i++)
		CHECK(add_level(nfd, me, RLIMIT_NOFILE, want[i], 0) == 0, "add");
	CHECK(set_all(nfd, me, 0) == 0, "set all is not a level");
	CHECK(set_all(nfd, me, 0) < 0 && errno == EEXIST, "set all twice");
	CHECK(ioctl(nfd, RLIMIT_GET_NOTI_LVL_COUNT, &subj) == 3, "count");
	for (i = 0; i < 3; i++) {
		memset(&lvl, 0, sizeof(lvl));
		lvl.subj = subj;
		lvl.value = i;
		CHECK(ioctl(nfd, RLIMIT_GET_NOTI_LVL, &lvl) == 0 && lvl.value == want[i],
		      "level %d", i);
	}
	lvl.value = 3;
	CHECK(ioctl(nfd, RLIMIT_GET_NOTI_LVL, &lvl) < 0 && errno == ENOENT, "past end");
	CHECK(ioctl(nfd, RLIMIT_UNSET_NOTI_ALL, &subj) == 0, "unset all");
	CHECK(ioctl(nfd, RLIMIT_UNSET_NOTI_ALL, &subj) < 0 && errno == ENOENT,
	      "unset twice");
	close(nfd);
}

static void test_poll_and_epoll(void)
{
	int nfd = noti_open(), ep, a;
	struct pollfd p;
	struct epoll_event ee = { .events = EPOLLIN }, out;
	struct event ev;

	CHECK(nfd >= 0, "notification fd");
	CHECK(set_all(nfd, getpid(), 0) == 0, "set all");
	ep = epoll_create1(EPOLL_CLOEXEC);
	CHECK(expect_res(nfd, getpid(), count_fds()), "epoll fd itself counted");
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, nfd, &ee) == 0, "epoll_ctl");
	CHECK(epoll_wait(ep, &out, 1, 0) == 0, "epoll: nothing yet");
	p.fd = nfd;
	p.events = POLLIN;
	CHECK(poll(&p, 1, 0) == 0, "poll: nothing yet");
	a = open("/dev/null", O_RDONLY);
	CHECK(poll(&p, 1, 0) == 1 && (p.revents & POLLIN), "poll: readable");
	CHECK(epoll_wait(ep, &out, 1, 0) == 1, "epoll: readable");
	CHECK(read(nfd, &ev, 8) < 0 && errno == EINVAL,
	      "a buffer smaller than the event is refused");
	CHECK(next_event(nfd, &ev) == 1 &&
		      ev.hdr.size == sizeof(struct rlimit_event) +
					     sizeof(struct rlimit_event_res_changed),
	      "the event is still there, header + payload");
	CHECK(poll(&p, 1, 0) == 0, "drained");
	fcntl(nfd, F_SETFL, O_NONBLOCK);
	CHECK(read(nfd, &ev, sizeof(ev)) < 0 && errno == EAGAIN, "nonblocking read");
	close(a);
	close(ep);
	close(nfd);
}

static void test_overflow(void)
{
	int nfd = noti_open(), i, n = 0;
	struct event ev;

	CHECK(nfd >= 0, "notification fd");
	CHECK(set_all(nfd, getpid(), 0) == 0, "set all");
	for (i = 0; i < 3000; i++)
		close(open("/dev/null", O_RDONLY));
	while (next_event(nfd, &ev) == 1 && ev.hdr.ev_type == RLIMIT_EVENT_TYPE_RES_CHANGED)
		n++;
	CHECK(n == 4095, "queue holds 4095 events, read %d", n);
	CHECK(ev.hdr.ev_type == RLIMIT_EVENT_TYPE_OVERFLOW && ev.u.overflow.lost == 6000 - 4095,
	      "then the overflow report (type %u lost %llu)", ev.hdr.ev_type,
	      (unsigned long long)ev.u.overflow.lost);
	close(open("/dev/null", O_RDONLY));
	CHECK(next_event(nfd, &ev) == 1 && ev.hdr.ev_type == RLIMIT_EVENT_TYPE_RES_CHANGED &&
		      next_event(nfd, &ev) == 1 && expect_none(nfd), "and it goes on");
	close(nfd);
}

static void test_bad_arguments(void)
{
	int nfd = noti_open();
	struct rlimit_noti_subject subj = { getpid(), RLIMIT_NOFILE };
	struct rlimit_noti_level lvl = { { getpid(), RLIMIT_NOFILE }, 5, 0 };
	static const unsigned long bad_cmds[] = { 0, 5, 8, 99, 1000, TCGETS, FIONREAD,
						  0xffffffffUL };
	unsigned i;

	CHECK(nfd >= 0, "notification fd");
	for (i = 0; i < sizeof(bad_cmds) / sizeof(bad_cmds[0]); i++)
		CHECK(ioctl(nfd, bad_cmds[i], &lvl) < 0 && errno == EINVAL,
		      "unknown command %#lx", bad_cmds[i]);
	CHECK(add_level(nfd, getpid(), RLIM_NLIMITS, 5, 0) < 0 && errno == EINVAL,
	      "resource out of range");
	CHECK(add_level(nfd, getpid(), 0xffffffffu, 5, 0) < 0 && errno == EINVAL,
	      "resource ~0");
	CHECK(add_level(nfd, getpid(), RLIMIT_AS, 5, 0) < 0 && errno == EOPNOTSUPP,
	      "a resource the module does not count");
	CHECK(add_level(nfd, 0, RLIMIT_NOFILE, 5, 0) < 0 && errno == EINVAL, "pid 0");
	CHECK(add_level(nfd, -1, RLIMIT_NOFILE, 5, 0) < 0 && errno == EINVAL, "pid -1");
	CHECK(add_level(nfd, 4194303, RLIMIT_NOFILE, 5, 0) < 0 && errno == ESRCH,
	      "no such pid");
	CHECK(add_level(nfd, getpid(), RLIMIT_NOFILE, 5, RLIMIT_FLAG_RECURSIVE) < 0 &&
		      errno == EINVAL, "RECURSIVE has no defined meaning");
	CHECK(add_level(nfd, getpid(), RLIMIT_NOFILE, 5, 0x80) < 0 && errno == EINVAL,
	      "unknown flag");
	CHECK(ioctl(nfd, RLIMIT_ADD_NOTI_LVL, NULL) < 0 && errno == EFAULT, "NULL");
	CHECK(ioctl(nfd, RLIMIT_SET_NOTI_ALL, (void *)1) < 0 && errno == EFAULT,
	      "bad pointer");
	CHECK(ioctl(nfd, RLIMIT_GET_NOTI_LVL, (void *)-4096L) < 0 && errno == EFAULT,
	      "kernel pointer");
	subj.resource = 99;
	CHECK(ioctl(nfd, RLIMIT_GET_NOTI_LVL_COUNT, &subj) < 0 && errno == EINVAL,
	      "count: bad resource");
	lvl.value = (uint64_t)1 << 63;
	CHECK(ioctl(nfd, RLIMIT_GET_NOTI_LVL, &lvl) < 0 && errno == EINVAL, "huge index");
	CHECK(rm_level(nfd, getpid(), RLIMIT_NOFILE, 12345) < 0 && errno == ENOENT,
	      "rm unknown");
	{
		struct rlimit_noti_subject s2 = { getpid(), RLIMIT_NOFILE };

		CHECK(ioctl(nfd, RLIMIT_GET_NOTI_LVL_COUNT, &s2) == 0, "nothing added");
	}
	close(nfd);
}

static void test_netlink_bad_requests(void)
{
	struct {
		struct nlmsghdr nlh;
		struct nlmsgerr err;
		char more[64];
	} msg;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	int sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_RLIMIT_EVENTS);

	CHECK(sock >= 0, "socket");
	memset(&msg, 0, sizeof(msg));
	msg.nlh.nlmsg_len = NLMSG_LENGTH(0);
	msg.nlh.nlmsg_type = 1001;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST;
	CHECK(sendto(sock, &msg, msg.nlh.nlmsg_len, 0, (struct sockaddr *)&kernel,
		     sizeof(kernel)) >= 0, "send");
	CHECK(recv(sock, &msg, sizeof(msg), 0) > 0 && msg.nlh.nlmsg_type == NLMSG_ERROR &&
		      msg.err.error == -EINVAL, "unknown type: NLMSG_ERROR -EINVAL");
	msg.nlh.nlmsg_len = 3; /* truncated */
	CHECK(sendto(sock, &msg, 3, 0, (struct sockaddr *)&kernel, sizeof(kernel)) >= 0 ||
		      errno == EINVAL, "truncated message is ignored");
	close(sock);
}

static void test_permission(void)
{
	const uid_t nobody = 65534;
	pid_t child;
	int status;

	child = fork();
	if (child == 0) {
		int nfd;

		if (setgid(nobody) || setuid(nobody))
			_exit(10);
		nfd = noti_open();
		if (nfd < 0)
			_exit(11);
		if (add_level(nfd, getppid(), RLIMIT_NOFILE, 5, 0) == 0 || errno != EPERM)
			_exit(12);
		if (add_level(nfd, getpid(), RLIMIT_NOFILE, 5, 0) != 0)
			_exit(13);
		_exit(0);
	}
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status),
	      "child ran");
	CHECK(WEXITSTATUS(status) == 0,
	      "non-root: own process yes, root's process EPERM (exit %d)",
	      WEXITSTATUS(status));
}

static void test_thread_id_resolves_to_process(void)
{
	/* A tid of the main thread is the pid; a watch reports the tgid. */
	int nfd = noti_open(), base;

	CHECK(nfd >= 0, "notification fd");
	base = count_fds();
	CHECK(add_level(nfd, (pid_t)syscall(SYS_gettid), RLIMIT_NOFILE, base + 1, 0) == 0,
	      "add by tid");
	close(open("/dev/null", O_RDONLY));
	CHECK(expect_res(nfd, getpid(), base + 1) && expect_res(nfd, getpid(), base),
	      "up and down");
	close(nfd);
}

static int load_module(void)
{
	int fd = open(module_path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return -1;
	err = (int)syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	return err;
}

static void test_load(void)
{
	CHECK(load_module() == 0, "finit_module %s", module_path);
	CHECK(read_param("hooks_enabled") == 0, "no watch: probes disarmed");
	CHECK(read_param("watched_processes") == 0, "nothing watched");
}

static void test_hooks_follow_watches(void)
{
	int nfd = noti_open();

	CHECK(nfd >= 0, "notification fd");
	CHECK(read_param("hooks_enabled") == 0, "disarmed");
	CHECK(add_level(nfd, getpid(), RLIMIT_NOFILE, 100, 0) == 0, "add");
	CHECK(read_param("hooks_enabled") == 1, "armed with the first watch");
	close(nfd);
	/* disarming is deferred to a work item: wait for it without a timer */
	for (int i = 0; i < 1000000 && read_param("hooks_enabled") != 0; i++)
		sched_yield();
	CHECK(read_param("hooks_enabled") == 0, "disarmed with the last");
}

/* Last: the module cannot go while a notification fd is open (its file
 * operations live in it); it goes as soon as the watcher is gone, while
 * the processes it watched live on. */
static void test_unload_with_active_watches(void)
{
	struct puppet p;
	int nfd, base, i;

	/* the puppet first, so that it does not inherit (and pin) the fd */
	CHECK(puppet_start(&p, &base) == 0, "puppet");
	nfd = noti_open();
	CHECK(nfd >= 0, "notification fd");
	CHECK(add_level(nfd, p.pid, RLIMIT_NOFILE, base + 1, 0) == 0 &&
		      add_level(nfd, getpid(), RLIMIT_NOFILE, 2, 0) == 0, "add");
	CHECK(syscall(SYS_delete_module, "rlimit_noti", O_NONBLOCK) < 0 &&
		      (errno == EWOULDBLOCK || errno == EBUSY), "refused while in use");
	CHECK(puppet_cmd(&p, 'o') == base + 1 && expect_res(nfd, p.pid, base + 1),
	      "still working after the refusal");
	close(nfd);
	CHECK(syscall(SYS_delete_module, "rlimit_noti", O_NONBLOCK) == 0,
	      "unloads once the watcher's fd is closed");
	for (i = 0; i < 50; i++) {
		puppet_cmd(&p, 'o');
		puppet_cmd(&p, 'c');
		close(open("/dev/null", O_RDONLY));
	}
	CHECK(noti_open() < 0 && errno == EPROTONOSUPPORT, "protocol gone");
	CHECK(load_module() == 0, "loads again");
	CHECK(puppet_cmd(&p, 'b') == base + 1, "puppet survived");
	puppet_cmd(&p, 'x');
	puppet_reap(&p);
	CHECK(syscall(SYS_delete_module, "rlimit_noti", O_NONBLOCK) == 0, "unload");
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--puppet") == 0) {
		puppet_loop(atoi(argv[2]), atoi(argv[3]));
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: %s MODULE.ko\n", argv[0]);
		return 2;
	}
	module_path = argv[1];
	if (readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1) < 0) {
		perror("readlink /proc/self/exe");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);

	run_case("load", test_load);
	if (failed) {
		printf("0 passed, 1 failed\n");
		return 1;
	}
	run_case("hooks_follow_watches", test_hooks_follow_watches);
	run_case("files_levels", test_files_levels);
	run_case("sockets_and_pipes", test_sockets_and_pipes);
	run_case("dup_family", test_dup_family);
	run_case("close_range_unshare", test_close_range_unshare);
	run_case("failed_open", test_failed_open);
	run_case("burst_in_child", test_burst_in_child);
	run_case("fork_inherits", test_fork_inherits);
	run_case("fork_no_inherit", test_fork_no_inherit);
	run_case("exec_cloexec", test_exec_cloexec);
	run_case("watched_process_exit", test_watched_process_exit);
	run_case("watcher_exit", test_watcher_exit);
	run_case("many_watchers_many_processes", test_many_watchers_many_processes);
	run_case("thread_id_resolves_to_process", test_thread_id_resolves_to_process);
	run_case("levels_query", test_levels_query);
	run_case("poll_and_epoll", test_poll_and_epoll);
	run_case("overflow", test_overflow);
	run_case("bad_arguments", test_bad_arguments);
	run_case("netlink_bad_requests", test_netlink_bad_requests);
	run_case("permission", test_permission);
	run_case("unload_with_active_watches", test_unload_with_active_watches);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
