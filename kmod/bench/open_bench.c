/*
 * The rlimit-events RFC's own experiment, in the VM: open()+close() of a
 * hot and of a cold file, ns/op, with rlimit_noti.ko
 *   - not loaded (baseline),
 *   - loaded, nothing watched,
 *   - loaded, a watch on another (sleeping) process,
 *   - loaded, a watch on this process (a level it never reaches, like the
 *     RFC's "rule that is not triggered"),
 * each round measuring every configuration in turn (the 24 rounds run the
 * 24 orders once each, with a pause after each switch that lets its
 * deferred work finish), reported as ratios to the baseline of the same
 * run: of the fastest sample (noise only ever adds time: the best estimate
 * of what the code costs) and of the median one.
 * Hot samples are short batches, so that some fit between two preemptions
 * of the VM's vCPU by the host; cold samples are single ops. TCG emulation
 * inflates every absolute number, and the guest shares the host's cores
 * with whatever else runs there; only the ratios mean much.
 *
 *   open_bench MODULE.ko [--quick]
 *
 * hot:  a file on the guest's tmpfs (in memory: no I/O on open)
 * cold: a file on the harness's ext4 scratch disk (virtio-blk; run with
 *       VIGIL_VM_DISK_MB, which sets VIGIL_VM_DISK), the VM's stand-in for
 *       the RFC's eMMC: the page, inode and dentry caches are dropped before
 *       every open, untimed, so each timed open()+close() reads the
 *       directory and the inode from the disk
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rlimit_noti.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { BASELINE, LOADED, WATCH_OTHER, WATCH_SELF, NR_CONFIGS };
static const char *const config_names[NR_CONFIGS] = {
	"no module (baseline)",
	"module loaded, no watch",
	"watch on another process",
	"watch on this process",
};

#define MAX_ROUNDS 24 /* every order of the 4 configurations once */
#define HOT_BATCHES 20 /* per round and configuration */
#define HOT_BATCH_OPS 200
#define COLD_OPS 15 /* per round and configuration */
#define SETTLE_US 200000

static const char *module_path;
static pid_t other;

static void die(const char *what)
{
	fprintf(stderr, "open_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void load(void)
{
	int fd = open(module_path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || syscall(SYS_finit_module, fd, "", 0))
		die("finit_module");
	close(fd);
}

static void unload(void)
{
	if (syscall(SYS_delete_module, "rlimit_noti", O_NONBLOCK) && errno != ENOENT)
		die("delete_module");
}

static int noti_open(void)
{
	struct {
		struct nlmsghdr nlh;
		char payload[64];
	} msg = { .nlh = { .nlmsg_len = NLMSG_LENGTH(0),
			   .nlmsg_type = RLIMIT_GET_NOTI_FD,
			   .nlmsg_flags = NLM_F_REQUEST } };
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	int sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_RLIMIT_EVENTS);
	int fd;

	if (sock < 0 ||
	    sendto(sock, &msg, msg.nlh.nlmsg_len, 0, (struct sockaddr *)&kernel,
		   sizeof(kernel)) < 0 ||
	    recv(sock, &msg, sizeof(msg), 0) < (ssize_t)NLMSG_LENGTH(sizeof(int)))
		die("RLIMIT_GET_NOTI_FD");
	memcpy(&fd, NLMSG_DATA(&msg.nlh), sizeof(fd));
	close(sock);
	return fd;
}

static void watch(int fd, pid_t pid)
{
	struct rlimit_noti_level lvl = {
		.subj = { .pid = pid, .resource = RLIMIT_NOFILE },
		.value = 1000000, /* never reached: no event, only the count */
	};

	if (ioctl(fd, RLIMIT_ADD_NOTI_LVL, &lvl))
		die("RLIMIT_ADD_NOTI_LVL");
}

/* Sets up `config`; returns the notification fd to close afterwards. */
static int enter(int config)
{
	int fd = -1;

	if (config == BASELINE) {
		unload();
		return -1;
	}
	if (access("/sys/module/rlimit_noti", F_OK) != 0)
		load();
	if (config == WATCH_OTHER || config == WATCH_SELF) {
		fd = noti_open();
		watch(fd, config == WATCH_SELF ? getpid() : other);
	}
	return fd;
}

/* Times `ops` open()+close() of `path` one by one, each after dropping the
 * caches (untimed); appends each op's ns to samples. */
static void time_cold_ops(const char *path, int ops, double *samples)
{
	int drop = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	struct timespec t0, t1;
	int i;

	if (drop < 0)
		die("/proc/sys/vm/drop_caches");
	for (i = 0; i < ops; i++) {
		int fd;

		if (pwrite(drop, "3", 1, 0) != 1)
			die("drop_caches");
		clock_gettime(CLOCK_MONOTONIC, &t0);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			die(path);
		close(fd);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		samples[i] = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
	}
	close(drop);
}

/* Times `batches` batches of HOT_BATCH_OPS open()+close() of `path`;
 * appends each batch's ns/op to samples. Batches are short so that some
 * run between two preemptions of the VM's vCPU on a busy host. */
static void time_hot_batches(const char *path, int batches, double *samples)
{
	struct timespec t0, t1;
	int b, i;

	for (i = 0; i < HOT_BATCH_OPS; i++) /* warm up */
		close(open(path, O_RDONLY));
	for (b = 0; b < batches; b++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (i = 0; i < HOT_BATCH_OPS; i++) {
			int fd = open(path, O_RDONLY);

			if (fd < 0)
				die(path);
			close(fd);
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		samples[b] = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) /
			     HOT_BATCH_OPS;
	}
}

/* The i-th configuration of round r: round r runs the (r mod 24)-th of the
 * 24 orders, so every configuration follows every other equally often (a
 * switch leaves work behind: the previous watch's hooks being disarmed). */
static int config_of(int r, int i)
{
	static const int fact[NR_CONFIGS] = { 6, 2, 1, 1 };
	int left[NR_CONFIGS] = { 0, 1, 2, 3 }, code = r % 24, chosen = 0, j, k;

	for (k = 0; k <= i; k++) {
		int pick = code / fact[k];

		code %= fact[k];
		chosen = left[pick];
		for (j = pick; j < NR_CONFIGS - 1 - k; j++)
			left[j] = left[j + 1];
	}
	return chosen;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	static double hot[NR_CONFIGS][MAX_ROUNDS * HOT_BATCHES];
	static double cold[NR_CONFIGS][MAX_ROUNDS * COLD_OPS];
	const char *hot_path = "/tmp/rlimit_noti_bench_hot";
	const char *disk = getenv("VIGIL_VM_DISK");
	char cold_path[4096];
	int quick = argc == 3 && strcmp(argv[2], "--quick") == 0;
	int rounds = quick ? 1 : MAX_ROUNDS;
	int hot_batches = quick ? 2 : HOT_BATCHES, cold_ops = quick ? 2 : COLD_OPS;
	double hot_min[NR_CONFIGS], cold_min[NR_CONFIGS];
	double hot_med[NR_CONFIGS], cold_med[NR_CONFIGS];
	cpu_set_t cpu;
	int r, i, c;

	if (argc < 2 || (argc == 3 && !quick) || argc > 3) {
		fprintf(stderr, "usage: %s MODULE.ko [--quick]\n", argv[0]);
		return 2;
	}
	module_path = argv[1];
	if (!disk) {
		fprintf(stderr, "open_bench: no VIGIL_VM_DISK: run the VM harness "
				"with VIGIL_VM_DISK_MB=64 for the cold file\n");
		return 2;
	}
	snprintf(cold_path, sizeof(cold_path), "%s/rlimit_noti_bench_cold", disk);
	close(open(hot_path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
	close(open(cold_path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
	sync();
	CPU_ZERO(&cpu);
	CPU_SET(0, &cpu);
	sched_setaffinity(0, sizeof(cpu), &cpu);
	other = fork();
	if (other == 0) {
		pause();
		_exit(0);
	}

	for (r = 0; r < rounds; r++) {
		for (i = 0; i < NR_CONFIGS; i++) {
			int config = config_of(r, i), fd = enter(config);

			usleep(SETTLE_US);
			time_hot_batches(hot_path, hot_batches,
					 &hot[config][r * hot_batches]);
			time_cold_ops(cold_path, cold_ops, &cold[config][r * cold_ops]);
			if (fd >= 0)
				close(fd);
		}
	}
	unload();
	kill(other, SIGKILL);
	waitpid(other, NULL, 0);
	unlink(hot_path);
	unlink(cold_path);

	for (c = 0; c < NR_CONFIGS; c++) {
		/* median() sorts: [0] is then the min */
		hot_med[c] = median(hot[c], rounds * hot_batches);
		cold_med[c] = median(cold[c], rounds * cold_ops);
		hot_min[c] = hot[c][0];
		cold_min[c] = cold[c][0];
	}
	printf("open()+close() in the VM: %d rounds; per round and configuration %d batches "
	       "of %d ops (hot, tmpfs) and %d single ops (cold, ext4 on virtio-blk, caches "
	       "dropped before each)\n",
	       rounds, hot_batches, HOT_BATCH_OPS, cold_ops);
	printf("%-30s %10s %9s %9s | %10s %9s %9s\n", "", "hot ns/op", "overhead",
	       "(median)", "cold ns/op", "overhead", "(median)");
	for (c = 0; c < NR_CONFIGS; c++)
		printf("%-30s %10.0f %+8.2f%% %+8.2f%% | %10.0f %+8.2f%% %+8.2f%%\n",
		       config_names[c], hot_min[c],
		       (hot_min[c] / hot_min[BASELINE] - 1) * 100,
		       (hot_med[c] / hot_med[BASELINE] - 1) * 100, cold_min[c],
		       (cold_min[c] / cold_min[BASELINE] - 1) * 100,
		       (cold_med[c] / cold_med[BASELINE] - 1) * 100);
	printf("%-30s %10s %+8.2f%% %9s | %10s %+8.2f%%\n",
	       "RFC rlimit-events (Odroid U3+)", "", 5.63, "", "", 1.58);
	printf("%-30s %10s %+8.2f%% %9s | %10s %+8.2f%%\n", "audit, one rule (Odroid U3+)",
	       "", 44.6, "", "", 33.34);
	printf("overhead: of the fastest sample (noise only adds); (median): of the median "
	       "sample (hot: a batch's ns/op, cold: one op)\n");
	return 0;
}
