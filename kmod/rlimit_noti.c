// SPDX-License-Identifier: GPL-2.0
/*
 * rlimit_noti: the rlimit-events RFC's userspace API (netlink protocol 23,
 * notification fd, plain-integer ioctls, one event per read(), poll) as an
 * out-of-tree module, with exact open-fd counts (RLIMIT_NOFILE).
 *
 * Where the count is taken. The count of a process is the number of set
 * bits in its fd table's open_fds bitmap (what /proc/<pid>/fd's st_size
 * reports on newer kernels). It is re-read, never incremented, at each
 * point where the kernel installs or releases a descriptor, so a path this
 * module does not hook can delay an event until the next hook but can never
 * make the count drift:
 *   fd_install        entry    every new fd (open, socket, pipe, dup, accept,
 *                              SCM_RIGHTS, pidfd, eventfd, ...)
 *   filp_close        entry    every release from the caller's own table
 *                              (close, close_range, exec's close-on-exec,
 *                              dup2 onto an open fd, io_uring close); the fd
 *                              is already out of the table there
 *   do_dup2           return   dup2/dup3 onto a free fd (no fd_install)
 *   __close_range     return   close_range(CLOSE_RANGE_UNSHARE)
 *   put_unused_fd     entry    a reserved fd given back by a failed open
 * plus the sched_process_fork tracepoint (watch inheritance) and
 * sched_process_exit (the watches die with the process).
 *
 * RLIMIT_RM_NOTI_LVL is ioctl 2, which is FIGETBSZ: do_vfs_ioctl() answers
 * it for every file before any driver sees it (returns 0 and writes the
 * block size over the caller's pid). While a notification fd exists, a
 * kprobe on the ioctl syscall's entry renames command 2 on one of our fds
 * to a private number, and rn_ioctl() puts the caller's register back, so
 * programs written against the RFC work unchanged.
 *
 * The entry hooks are ftrace callbacks without SAVE_REGS; the two return
 * hooks are kretprobes.
 *
 * Cost. The hooks are armed only while at least one process is watched, so
 * a loaded module with no watches costs nothing.
 * While enabled, an unwatched process pays one RCU hash lookup of its tgid
 * per hook; a watched one re-reads its bitmap (max_fds/64 words) under a
 * per-process lock and walks only its NOFILE watcher list.
 *
 * Locking order: rn_mutex (ioctl, hook enabling) > rn_lock (structure:
 * hash, watch lists) > proc->lock (count, per-resource watcher lists,
 * taken by the hooks) > ctx->lock (event queue).
 */
#include <linux/anon_inodes.h>
#include <linux/bitmap.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/ftrace.h>
#include <linux/hashtable.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/poll.h>
#include <linux/rlimit_noti.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/tracepoint.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include <net/netlink.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/sock.h>

#define RN_MAX_QUEUED_EVENTS 4096
#define RN_MAX_WATCHES_PER_FD 65536
#define RN_KNOWN_FLAGS RLIMIT_FLAG_NO_INHERIT
/* What RLIMIT_RM_NOTI_LVL arrives as (see the top of this file). */
#define RN_RM_NOTI_LVL_ROUTED _IOW('r', RLIMIT_RM_NOTI_LVL, struct rlimit_noti_level)

/* One notification fd (open file description). */
struct rn_ctx {
	struct pid_namespace *pid_ns; /* pids are read and reported in it */
	struct list_head watches;     /* rn_watch.ctx_node, under rn_lock */
	unsigned int nr_watches;      /* under rn_lock */
	u64 mark;                     /* rn_mark of the last per-fd event */

	spinlock_t lock; /* protects the fields below */
	struct list_head events;
	unsigned int nr_events;
	u64 lost;
	wait_queue_head_t wq;
};

/* One watched thread group. */
struct rn_proc {
	struct hlist_node hnode; /* rn_procs, keyed by tgid */
	struct pid *tgid;
	struct rcu_head rcu;

	spinlock_t lock; /* protects the fields below */
	bool dead;
	u64 usage[RLIM_NLIMITS];
	struct list_head watches[RLIM_NLIMITS]; /* rn_watch.proc_node */
};

struct rn_watch {
	struct rn_ctx *ctx;
	struct rn_proc *proc;
	struct list_head proc_node;
	struct list_head ctx_node;
	u32 resource;
	u64 level;
	u32 flags;
	bool all_changes;
};

struct rn_event {
	struct list_head node;
	struct rlimit_event hdr;
	union {
		struct rlimit_event_res_changed res;
		struct rlimit_event_new_pid new_pid;
		struct rlimit_event_pid_dead dead;
		struct rlimit_event_overflow overflow;
	} u;
};

static DEFINE_MUTEX(rn_mutex);
static DEFINE_SPINLOCK(rn_lock);
static DEFINE_HASHTABLE(rn_procs, 10);
static u64 rn_mark; /* under rn_lock: one id per fork/exit fan-out */

/* Read-only counters under /sys/module/rlimit_noti/parameters/. */
static int watched_processes;
module_param(watched_processes, int, 0444);
MODULE_PARM_DESC(watched_processes, "thread groups with at least one watch");
static int watches;
module_param(watches, int, 0444);
MODULE_PARM_DESC(watches, "watches on all notification fds");
static bool hooks_enabled;
module_param(hooks_enabled, bool, 0444);
MODULE_PARM_DESC(hooks_enabled, "fd hooks armed (only while something is watched)");

static int notification_fds; /* under rn_mutex */
module_param(notification_fds, int, 0444);
MODULE_PARM_DESC(notification_fds, "open notification fds");

static void rn_disable_hooks_work(struct work_struct *work);
static DECLARE_WORK(rn_disable_work, rn_disable_hooks_work);

/* ------------------------------------------------------------------------
 * Counting
 */

static u64 rn_count_open_fds(struct files_struct *files)
{
	struct fdtable *fdt;
	u64 n;

	rcu_read_lock();
	fdt = rcu_dereference_raw(files->fdt);
	n = bitmap_weight(fdt->open_fds, fdt->max_fds);
	rcu_read_unlock();
	return n;
}

static u64 rn_count_task_fds(struct task_struct *task)
{
	u64 n = 0;

	task_lock(task);
	if (task->files)
		n = rn_count_open_fds(task->files);
	task_unlock(task);
	return n;
}

/* ------------------------------------------------------------------------
 * Event queue of a notification fd
 */

static struct rn_event *rn_event_alloc(u32 type, size_t payload, gfp_t gfp)
{
	struct rn_event *ev = kzalloc(sizeof(*ev), gfp | __GFP_NOWARN);

	if (ev) {
		ev->hdr.ev_type = type;
		ev->hdr.size = sizeof(ev->hdr) + payload;
	}
	return ev;
}

/* Queues ev (may be NULL: allocation failed, counted as lost). */
static void rn_enqueue(struct rn_ctx *ctx, struct rn_event *ev)
{
	struct rn_event *overflow = NULL;
	unsigned long flags;

	spin_lock_irqsave(&ctx->lock, flags);
	if (!ev || ctx->nr_events >= RN_MAX_QUEUED_EVENTS - 1) {
		ctx->lost++;
		spin_unlock_irqrestore(&ctx->lock, flags);
		kfree(ev);
		return;
	}
	if (ctx->lost) {
		overflow = rn_event_alloc(RLIMIT_EVENT_TYPE_OVERFLOW,
					  sizeof(overflow->u.overflow), GFP_ATOMIC);
		if (!overflow) {
			ctx->lost++;
			spin_unlock_irqrestore(&ctx->lock, flags);
			kfree(ev);
			return;
		}
		overflow->u.overflow.lost = ctx->lost;
		ctx->lost = 0;
		list_add_tail(&overflow->node, &ctx->events);
		ctx->nr_events++;
	}
	list_add_tail(&ev->node, &ctx->events);
	ctx->nr_events++;
	spin_unlock_irqrestore(&ctx->lock, flags);
	wake_up_interruptible_poll(&ctx->wq, EPOLLIN | EPOLLRDNORM);
}

static void rn_send_res_changed(struct rn_ctx *ctx, struct rn_proc *proc,
				u32 resource, u64 value)
{
	struct rn_event *ev = rn_event_alloc(RLIMIT_EVENT_TYPE_RES_CHANGED,
					     sizeof(ev->u.res), GFP_ATOMIC);

	if (ev) {
		ev->u.res.subj.pid = pid_nr_ns(proc->tgid, ctx->pid_ns);
		ev->u.res.subj.resource = resource;
		ev->u.res.new_value = value;
	}
	rn_enqueue(ctx, ev);
}

static void rn_send_pid_dead(struct rn_ctx *ctx, struct pid *tgid)
{
	struct rn_event *ev = rn_event_alloc(RLIMIT_EVENT_TYPE_PID_DEAD,
					     sizeof(ev->u.dead), GFP_ATOMIC);

	if (ev)
		ev->u.dead.pid = pid_nr_ns(tgid, ctx->pid_ns);
	rn_enqueue(ctx, ev);
}

static void rn_send_new_pid(struct rn_ctx *ctx, struct pid *parent,
			    struct pid *child)
{
	struct rn_event *ev = rn_event_alloc(RLIMIT_EVENT_TYPE_NEW_PID,
					     sizeof(ev->u.new_pid), GFP_ATOMIC);

	if (ev) {
		ev->u.new_pid.parent = pid_nr_ns(parent, ctx->pid_ns);
		ev->u.new_pid.new_pid = pid_nr_ns(child, ctx->pid_ns);
	}
	rn_enqueue(ctx, ev);
}

/* ------------------------------------------------------------------------
 * Watched processes
 */

static struct rn_proc *rn_find_proc(struct pid *tgid)
{
	struct rn_proc *proc;

	hash_for_each_possible_rcu(rn_procs, proc, hnode, (unsigned long)tgid)
		if (proc->tgid == tgid)
			return proc;
	return NULL;
}

static struct rn_proc *rn_proc_alloc(struct pid *tgid, u64 nofile, gfp_t gfp)
{
	struct rn_proc *proc = kzalloc(sizeof(*proc), gfp | __GFP_NOWARN);
	int i;

	if (!proc)
		return NULL;
	spin_lock_init(&proc->lock);
	for (i = 0; i < RLIM_NLIMITS; i++)
		INIT_LIST_HEAD(&proc->watches[i]);
	proc->usage[RLIMIT_NOFILE] = nofile;
	proc->tgid = get_pid(tgid);
	return proc;
}

static void rn_proc_free_rcu(struct rcu_head *rcu)
{
	struct rn_proc *proc = container_of(rcu, struct rn_proc, rcu);

	put_pid(proc->tgid);
	kfree(proc);
}

/* Caller holds rn_lock. */
static void rn_proc_publish(struct rn_proc *proc)
{
	hash_add_rcu(rn_procs, &proc->hnode, (unsigned long)proc->tgid);
	WRITE_ONCE(watched_processes, watched_processes + 1);
}

/* Caller holds rn_lock and proc->lock; proc has no watches left. */
static void rn_proc_retire(struct rn_proc *proc)
{
	proc->dead = true;
	hash_del_rcu(&proc->hnode);
	WRITE_ONCE(watched_processes, watched_processes - 1);
	if (!watched_processes)
		schedule_work(&rn_disable_work);
}

static bool rn_proc_has_watches(struct rn_proc *proc)
{
	int i;

	for (i = 0; i < RLIM_NLIMITS; i++)
		if (!list_empty(&proc->watches[i]))
			return true;
	return false;
}

/* Caller holds rn_lock. Frees w; retires its process with its last watch. */
static void rn_watch_remove(struct rn_watch *w)
{
	struct rn_proc *proc = w->proc;

	spin_lock(&proc->lock);
	list_del(&w->proc_node);
	if (!proc->dead && !rn_proc_has_watches(proc)) {
		rn_proc_retire(proc);
		call_rcu(&proc->rcu, rn_proc_free_rcu);
	}
	spin_unlock(&proc->lock);
	list_del(&w->ctx_node);
	w->ctx->nr_watches--;
	WRITE_ONCE(watches, watches - 1);
	kfree(w);
}

/* Caller holds rn_lock. Links w into its ctx and its proc. */
static void rn_watch_link(struct rn_watch *w)
{
	spin_lock(&w->proc->lock);
	list_add_tail(&w->proc_node, &w->proc->watches[w->resource]);
	spin_unlock(&w->proc->lock);
	list_add_tail(&w->ctx_node, &w->ctx->watches);
	w->ctx->nr_watches++;
	WRITE_ONCE(watches, watches + 1);
}

/* ------------------------------------------------------------------------
 * Hooks
 */

static bool rn_crossed(const struct rn_watch *w, u64 old, u64 now)
{
	if (w->all_changes)
		return true;
	return (w->level > old && w->level <= now) ||
	       (w->level > now && w->level <= old);
}

/*
 * Records the current process's fd count; `released` is an fd that is
 * still in the bitmap but is being given back (put_unused_fd), or -1.
 */
static void rn_observe_current(int released)
{
	struct files_struct *files = current->files;
	struct rn_proc *proc;
	struct rn_watch *w;
	u64 old, now;

	if (likely(!READ_ONCE(watched_processes)) || !files)
		return;
	rcu_read_lock();
	proc = rn_find_proc(task_tgid(current));
	if (!proc)
		goto out;
	spin_lock(&proc->lock);
	if (proc->dead)
		goto unlock;
	now = rn_count_open_fds(files);
	if (released >= 0 && now > 0) {
		struct fdtable *fdt = rcu_dereference_raw(files->fdt);

		if (released < fdt->max_fds && test_bit(released, fdt->open_fds))
			now--;
	}
	old = proc->usage[RLIMIT_NOFILE];
	if (now == old)
		goto unlock;
	proc->usage[RLIMIT_NOFILE] = now;
	list_for_each_entry(w, &proc->watches[RLIMIT_NOFILE], proc_node)
		if (rn_crossed(w, old, now))
			rn_send_res_changed(w->ctx, proc, RLIMIT_NOFILE, now);
unlock:
	spin_unlock(&proc->lock);
out:
	rcu_read_unlock();
}

/*
 * The entry hooks are ftrace callbacks without SAVE_REGS: the trampoline
 * saves only the argument registers (DYNAMIC_FTRACE_WITH_ARGS), where a
 * kprobe on the same ftrace site saves all registers and goes through the
 * kprobe table. One ops per function, so each gets its own trampoline that
 * calls its callback directly. None of them can recurse (the callbacks call
 * none of the hooked functions), but they run with preemption disabled by
 * the recursion guard, which the events' GFP_ATOMIC allocations need.
 * x86-64 only: arguments are read from rdi/rsi.
 */
static void notrace rn_fd_install_hook(unsigned long ip, unsigned long parent_ip,
				       struct ftrace_ops *op,
				       struct ftrace_regs *fregs)
{
	int bit = ftrace_test_recursion_trylock(ip, parent_ip);

	if (bit < 0)
		return;
	rn_observe_current(-1);
	ftrace_test_recursion_unlock(bit);
}

static void notrace rn_filp_close_hook(unsigned long ip, unsigned long parent_ip,
				       struct ftrace_ops *op,
				       struct ftrace_regs *fregs)
{
	int bit;

	/* filp_close(file, id): id is the table the fd was taken out of;
	 * NULL for files that never had an fd, another table at exit and
	 * for close_range(CLOSE_RANGE_UNSHARE) (its return hook counts). */
	if (fregs->regs.si != (unsigned long)current->files)
		return;
	bit = ftrace_test_recursion_trylock(ip, parent_ip);
	if (bit < 0)
		return;
	rn_observe_current(-1);
	ftrace_test_recursion_unlock(bit);
}

static void notrace rn_put_unused_fd_hook(unsigned long ip,
					  unsigned long parent_ip,
					  struct ftrace_ops *op,
					  struct ftrace_regs *fregs)
{
	int bit = ftrace_test_recursion_trylock(ip, parent_ip);

	if (bit < 0)
		return;
	rn_observe_current((int)fregs->regs.di);
	ftrace_test_recursion_unlock(bit);
}

struct rn_ftrace_hook {
	const char *name;
	struct ftrace_ops ops;
};

static struct rn_ftrace_hook rn_ftrace_hooks[] = {
	{ .name = "fd_install", .ops.func = rn_fd_install_hook },
	{ .name = "filp_close", .ops.func = rn_filp_close_hook },
	{ .name = "put_unused_fd", .ops.func = rn_put_unused_fd_hook },
};

static int rn_count_on_return(struct kretprobe_instance *ri,
			      struct pt_regs *regs)
{
	rn_observe_current(-1);
	return 0;
}

/* Rare paths: kretprobes are simpler than an exit hook and cost enough
 * only there. */
static struct kretprobe rn_kretprobes[] = {
	{ .kp.symbol_name = "do_dup2", .handler = rn_count_on_return },
	{ .kp.symbol_name = "__close_range", .handler = rn_count_on_return },
};

static const struct file_operations rn_fops;

/* __x64_sys_ioctl(const struct pt_regs *user_regs): see the top of file. */
static int rn_ioctl_syscall_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct pt_regs *user = (struct pt_regs *)regs_get_kernel_argument(regs, 0);
	struct file *file;

	if (likely((unsigned int)user->si != RLIMIT_RM_NOTI_LVL))
		return 0;
	rcu_read_lock();
	file = files_lookup_fd_rcu(current->files, (unsigned int)user->di);
	if (file && file->f_op == &rn_fops)
		user->si = RN_RM_NOTI_LVL_ROUTED;
	rcu_read_unlock();
	return 0;
}

static struct kprobe rn_ioctl_kprobe = {
	.symbol_name = "__x64_sys_ioctl",
	.pre_handler = rn_ioctl_syscall_pre,
};

/* Caller holds rn_mutex. Disarms the first n kretprobes and ftrace hooks. */
static void rn_disarm(int nr_kretprobes, int nr_ftrace_hooks)
{
	int i;

	for (i = 0; i < nr_ftrace_hooks; i++)
		unregister_ftrace_function(&rn_ftrace_hooks[i].ops);
	for (i = 0; i < nr_kretprobes; i++)
		disable_kretprobe(&rn_kretprobes[i]);
}

/* Caller holds rn_mutex. */
static int rn_enable_hooks(void)
{
	int i, j = 0, err;

	if (hooks_enabled)
		return 0;
	for (i = 0; i < ARRAY_SIZE(rn_kretprobes); i++) {
		err = enable_kretprobe(&rn_kretprobes[i]);
		if (err)
			goto disable;
	}
	for (j = 0; j < ARRAY_SIZE(rn_ftrace_hooks); j++) {
		err = register_ftrace_function(&rn_ftrace_hooks[j].ops);
		if (err)
			goto disable;
	}
	WRITE_ONCE(hooks_enabled, true);
	return 0;
disable:
	rn_disarm(i, j);
	return err;
}

static void rn_disable_hooks_work(struct work_struct *work)
{
	mutex_lock(&rn_mutex);
	/* Procs are only created under rn_mutex or by inheritance from an
	 * existing one, so none can appear while this holds the mutex. */
	if (hooks_enabled && !READ_ONCE(watched_processes)) {
		rn_disarm(ARRAY_SIZE(rn_kretprobes), ARRAY_SIZE(rn_ftrace_hooks));
		WRITE_ONCE(hooks_enabled, false);
	}
	mutex_unlock(&rn_mutex);
}

/* sched_process_fork: children inherit the inheritable watches. */
static void rn_on_fork(void *data, struct task_struct *parent,
		       struct task_struct *child)
{
	struct rn_proc *pproc, *cproc = NULL;
	struct rn_watch *w, *copy;
	struct pid *ptgid = task_tgid(parent);
	struct pid *ctgid = task_tgid(child);
	u64 mark;
	int res;

	if (likely(!READ_ONCE(watched_processes)) || ptgid == ctgid)
		return;
	spin_lock(&rn_lock);
	pproc = rn_find_proc(ptgid);
	if (!pproc || pproc->dead)
		goto out;
	mark = ++rn_mark;
	for (res = 0; res < RLIM_NLIMITS; res++) {
		list_for_each_entry(w, &pproc->watches[res], proc_node) {
			if (w->flags & RLIMIT_FLAG_NO_INHERIT)
				continue;
			if (!cproc) {
				cproc = rn_proc_alloc(ctgid,
						      rn_count_task_fds(child),
						      GFP_ATOMIC);
				if (!cproc)
					goto out;
				rn_proc_publish(cproc);
			}
			copy = kmemdup(w, sizeof(*w), GFP_ATOMIC | __GFP_NOWARN);
			if (!copy) {
				rn_enqueue(w->ctx, NULL);
				continue;
			}
			copy->proc = cproc;
			rn_watch_link(copy);
			if (w->ctx->mark != mark) {
				w->ctx->mark = mark;
				rn_send_new_pid(w->ctx, ptgid, ctgid);
			}
		}
	}
	/* Nothing inherited after all (every copy failed): drop it again. */
	if (cproc && !rn_proc_has_watches(cproc)) {
		spin_lock(&cproc->lock);
		rn_proc_retire(cproc);
		spin_unlock(&cproc->lock);
		call_rcu(&cproc->rcu, rn_proc_free_rcu);
	}
out:
	spin_unlock(&rn_lock);
}

/* sched_process_exit: the watches die with the last thread of the group. */
static void rn_on_exit(void *data, struct task_struct *task)
{
	struct rn_proc *proc;
	struct rn_watch *w, *tmp;
	u64 mark;
	int res;

	if (likely(!READ_ONCE(watched_processes)) ||
	    atomic_read(&task->signal->live))
		return;
	spin_lock(&rn_lock);
	proc = rn_find_proc(task_tgid(task));
	if (!proc || proc->dead)
		goto out;
	mark = ++rn_mark;
	spin_lock(&proc->lock);
	rn_proc_retire(proc);
	for (res = 0; res < RLIM_NLIMITS; res++) {
		list_for_each_entry_safe(w, tmp, &proc->watches[res], proc_node) {
			if (w->ctx->mark != mark) {
				w->ctx->mark = mark;
				rn_send_pid_dead(w->ctx, proc->tgid);
			}
			list_del(&w->proc_node);
			list_del(&w->ctx_node);
			w->ctx->nr_watches--;
			WRITE_ONCE(watches, watches - 1);
			kfree(w);
		}
	}
	spin_unlock(&proc->lock);
	call_rcu(&proc->rcu, rn_proc_free_rcu);
out:
	spin_unlock(&rn_lock);
}

struct rn_tracepoint {
	const char *name;
	void *probe;
	struct tracepoint *tp;
};

static struct rn_tracepoint rn_tracepoints[] = {
	{ .name = "sched_process_fork", .probe = rn_on_fork },
	{ .name = "sched_process_exit", .probe = rn_on_exit },
};

static void rn_find_tracepoint(struct tracepoint *tp, void *unused)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(rn_tracepoints); i++)
		if (!strcmp(tp->name, rn_tracepoints[i].name))
			rn_tracepoints[i].tp = tp;
}

/* ------------------------------------------------------------------------
 * Notification fd
 */

static struct task_struct *rn_get_task(struct rn_ctx *ctx, pid_t nr)
{
	struct task_struct *task;

	rcu_read_lock();
	task = pid_task(find_pid_ns(nr, ctx->pid_ns), PIDTYPE_PID);
	if (task)
		get_task_struct(task);
	rcu_read_unlock();
	return task;
}

/* Like ptrace's read check without dumpability: root, or the same user. */
static bool rn_may_watch(struct task_struct *task)
{
	const struct cred *me = current_cred(), *them;
	bool ok;

	if (capable(CAP_SYS_PTRACE))
		return true;
	rcu_read_lock();
	them = __task_cred(task);
	ok = uid_eq(me->uid, them->euid) && uid_eq(me->uid, them->suid) &&
	     uid_eq(me->uid, them->uid);
	rcu_read_unlock();
	return ok;
}

static int rn_check_subject(const struct rlimit_noti_subject *subj)
{
	if (subj->pid <= 0 || subj->resource >= RLIM_NLIMITS)
		return -EINVAL;
	if (subj->resource != RLIMIT_NOFILE)
		return -EOPNOTSUPP;
	return 0;
}

static struct rn_watch *rn_ctx_find(struct rn_ctx *ctx, struct pid *tgid,
				    u32 resource, bool all, u64 level)
{
	struct rn_watch *w;

	list_for_each_entry(w, &ctx->watches, ctx_node)
		if (w->proc->tgid == tgid && w->resource == resource &&
		    w->all_changes == all && (all || w->level == level))
			return w;
	return NULL;
}

static long rn_add_watch(struct rn_ctx *ctx, const struct rlimit_noti_subject *subj,
			 bool all, u64 level, u32 flags)
{
	struct rn_proc *fresh = NULL, *proc;
	struct task_struct *task;
	struct rn_watch *w;
	struct pid *tgid;
	long err;

	err = rn_check_subject(subj);
	if (err)
		return err;
	if (flags & ~RN_KNOWN_FLAGS)
		return -EINVAL;
	task = rn_get_task(ctx, subj->pid);
	if (!task)
		return -ESRCH;
	err = -EPERM;
	if (!rn_may_watch(task))
		goto put_task;
	tgid = task_tgid(task);
	err = -ENOMEM;
	w = kzalloc(sizeof(*w), GFP_KERNEL);
	fresh = rn_proc_alloc(tgid, rn_count_task_fds(task), GFP_KERNEL);
	if (!w || !fresh)
		goto free;
	w->ctx = ctx;
	w->resource = subj->resource;
	w->level = level;
	w->flags = flags;
	w->all_changes = all;

	mutex_lock(&rn_mutex);
	err = rn_enable_hooks();
	if (err)
		goto unlock_mutex;
	spin_lock(&rn_lock);
	err = -ESRCH; /* its exit hook has run or will find nothing to do */
	if (!atomic_read(&task->signal->live))
		goto unlock;
	err = -EEXIST;
	if (rn_ctx_find(ctx, tgid, w->resource, all, level))
		goto unlock;
	err = -ENOSPC;
	if (ctx->nr_watches >= RN_MAX_WATCHES_PER_FD)
		goto unlock;
	proc = rn_find_proc(tgid);
	if (!proc) {
		proc = fresh;
		fresh = NULL;
		rn_proc_publish(proc);
	}
	w->proc = proc;
	rn_watch_link(w);
	w = NULL;
	err = 0;
unlock:
	/* A refused first watch leaves the hooks armed for nothing. */
	if (err && !watched_processes)
		schedule_work(&rn_disable_work);
	spin_unlock(&rn_lock);
unlock_mutex:
	mutex_unlock(&rn_mutex);
free:
	kfree(w);
	if (fresh)
		rn_proc_free_rcu(&fresh->rcu);
put_task:
	put_task_struct(task);
	return err;
}

static long rn_rm_watch(struct rn_ctx *ctx, const struct rlimit_noti_subject *subj,
			bool all, u64 level)
{
	struct task_struct *task;
	struct rn_watch *w;
	long err;

	err = rn_check_subject(subj);
	if (err)
		return err;
	task = rn_get_task(ctx, subj->pid);
	if (!task)
		return -ESRCH;
	spin_lock(&rn_lock);
	w = rn_ctx_find(ctx, task_tgid(task), subj->resource, all, level);
	if (w)
		rn_watch_remove(w);
	spin_unlock(&rn_lock);
	put_task_struct(task);
	return w ? 0 : -ENOENT;
}

/*
 * The levels (not RLIMIT_SET_NOTI_ALL) this fd has on one subject, in the
 * order they were added. index < 0: count them; else the index-th one.
 */
static long rn_get_level(struct rn_ctx *ctx, const struct rlimit_noti_subject *subj,
			 long index, struct rlimit_noti_level *out)
{
	struct task_struct *task;
	struct rn_watch *w;
	long err, n = 0;

	err = rn_check_subject(subj);
	if (err)
		return err;
	task = rn_get_task(ctx, subj->pid);
	if (!task)
		return -ESRCH;
	err = -ENOENT;
	spin_lock(&rn_lock);
	list_for_each_entry(w, &ctx->watches, ctx_node) {
		if (w->proc->tgid != task_tgid(task) ||
		    w->resource != subj->resource || w->all_changes)
			continue;
		if (n++ == index) {
			out->value = w->level;
			out->flags = w->flags;
			err = 0;
			break;
		}
	}
	spin_unlock(&rn_lock);
	put_task_struct(task);
	return index < 0 ? n : err;
}

static long rn_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct rn_ctx *ctx = file->private_data;
	void __user *uarg = (void __user *)arg;
	struct rlimit_noti_subject subj;
	struct rlimit_noti_level lvl;
	long ret;

	switch (cmd) {
	case RN_RM_NOTI_LVL_ROUTED:
		/* The caller's register as it passed it (x86-64 syscalls
		 * preserve all but rax, rcx, r11). */
		task_pt_regs(current)->si = RLIMIT_RM_NOTI_LVL;
		cmd = RLIMIT_RM_NOTI_LVL;
		fallthrough;
	case RLIMIT_ADD_NOTI_LVL:
	case RLIMIT_GET_NOTI_LVL:
		if (copy_from_user(&lvl, uarg, sizeof(lvl)))
			return -EFAULT;
		if (cmd == RLIMIT_ADD_NOTI_LVL)
			return rn_add_watch(ctx, &lvl.subj, false, lvl.value,
					    lvl.flags);
		if (cmd == RLIMIT_RM_NOTI_LVL)
			return rn_rm_watch(ctx, &lvl.subj, false, lvl.value);
		if (lvl.value > LONG_MAX)
			return -EINVAL;
		ret = rn_get_level(ctx, &lvl.subj, lvl.value, &lvl);
		if (!ret && copy_to_user(uarg, &lvl, sizeof(lvl)))
			return -EFAULT;
		return ret;
	case RLIMIT_SET_NOTI_ALL:
	case RLIMIT_UNSET_NOTI_ALL:
	case RLIMIT_GET_NOTI_LVL_COUNT:
		if (copy_from_user(&subj, uarg, sizeof(subj)))
			return -EFAULT;
		if (cmd == RLIMIT_SET_NOTI_ALL)
			return rn_add_watch(ctx, &subj, true, 0, 0);
		if (cmd == RLIMIT_UNSET_NOTI_ALL)
			return rn_rm_watch(ctx, &subj, true, 0);
		return rn_get_level(ctx, &subj, -1, NULL);
	default:
		return -EINVAL;
	}
}

static bool rn_has_event(struct rn_ctx *ctx)
{
	unsigned long flags;
	bool ret;

	spin_lock_irqsave(&ctx->lock, flags);
	ret = !list_empty(&ctx->events) || ctx->lost;
	spin_unlock_irqrestore(&ctx->lock, flags);
	return ret;
}

/* Takes the next event, synthesizing the overflow report if only that is
 * left. Returns NULL if nothing is queued, ERR_PTR(-EINVAL) if the next
 * event does not fit in `room` (it stays queued). */
static struct rn_event *rn_dequeue(struct rn_ctx *ctx, size_t room)
{
	struct rn_event *ev = NULL, *overflow;
	unsigned long flags;

	overflow = rn_event_alloc(RLIMIT_EVENT_TYPE_OVERFLOW,
				  sizeof(overflow->u.overflow), GFP_KERNEL);
	spin_lock_irqsave(&ctx->lock, flags);
	if (!list_empty(&ctx->events)) {
		ev = list_first_entry(&ctx->events, struct rn_event, node);
		if (ev->hdr.size > room) {
			ev = ERR_PTR(-EINVAL);
		} else {
			list_del(&ev->node);
			ctx->nr_events--;
		}
	} else if (ctx->lost && overflow) {
		if (overflow->hdr.size > room) {
			ev = ERR_PTR(-EINVAL);
		} else {
			overflow->u.overflow.lost = ctx->lost;
			ctx->lost = 0;
			ev = overflow;
			overflow = NULL;
		}
	}
	spin_unlock_irqrestore(&ctx->lock, flags);
	kfree(overflow);
	return ev;
}

static ssize_t rn_read(struct file *file, char __user *buf, size_t size,
		       loff_t *pos)
{
	struct rn_ctx *ctx = file->private_data;
	struct rn_event *ev;
	unsigned long flags;
	ssize_t len;

	for (;;) {
		ev = rn_dequeue(ctx, size);
		if (IS_ERR(ev))
			return PTR_ERR(ev);
		if (ev)
			break;
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		if (wait_event_interruptible(ctx->wq, rn_has_event(ctx)))
			return -ERESTARTSYS;
	}
	len = ev->hdr.size;
	if (copy_to_user(buf, &ev->hdr, len)) {
		spin_lock_irqsave(&ctx->lock, flags);
		list_add(&ev->node, &ctx->events);
		ctx->nr_events++;
		spin_unlock_irqrestore(&ctx->lock, flags);
		return -EFAULT;
	}
	kfree(ev);
	return len;
}

static __poll_t rn_poll(struct file *file, struct poll_table_struct *pt)
{
	struct rn_ctx *ctx = file->private_data;

	poll_wait(file, &ctx->wq, pt);
	return rn_has_event(ctx) ? EPOLLIN | EPOLLRDNORM : 0;
}

static void rn_ctx_free(struct rn_ctx *ctx)
{
	struct rn_watch *w, *tmp;
	struct rn_event *ev, *etmp;

	spin_lock(&rn_lock);
	list_for_each_entry_safe(w, tmp, &ctx->watches, ctx_node)
		rn_watch_remove(w);
	spin_unlock(&rn_lock);
	/* No hook can reach ctx now: it was only reachable through watches,
	 * which the hooks walk under their proc's lock. */
	list_for_each_entry_safe(ev, etmp, &ctx->events, node)
		kfree(ev);
	put_pid_ns(ctx->pid_ns);
	kfree(ctx);
	mutex_lock(&rn_mutex);
	if (!--notification_fds)
		disable_kprobe(&rn_ioctl_kprobe);
	mutex_unlock(&rn_mutex);
}

static int rn_release(struct inode *inode, struct file *file)
{
	rn_ctx_free(file->private_data);
	return 0;
}

static const struct file_operations rn_fops = {
	.owner = THIS_MODULE,
	.read = rn_read,
	.poll = rn_poll,
	.unlocked_ioctl = rn_ioctl,
	.release = rn_release,
	.llseek = noop_llseek,
};

/* Counted from here on: free it with rn_ctx_free(). */
static struct rn_ctx *rn_ctx_new(void)
{
	struct rn_ctx *ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);

	if (!ctx)
		return NULL;
	mutex_lock(&rn_mutex);
	if (!notification_fds++ && enable_kprobe(&rn_ioctl_kprobe))
		pr_warn_once("rlimit_noti: cannot arm the RLIMIT_RM_NOTI_LVL reroute\n");
	mutex_unlock(&rn_mutex);
	ctx->pid_ns = get_pid_ns(task_active_pid_ns(current));
	INIT_LIST_HEAD(&ctx->watches);
	spin_lock_init(&ctx->lock);
	INIT_LIST_HEAD(&ctx->events);
	init_waitqueue_head(&ctx->wq);
	return ctx;
}

/* ------------------------------------------------------------------------
 * Netlink: RLIMIT_GET_NOTI_FD
 */

/* Runs in the sender's context (netlink input is synchronous), so the new
 * fd lands in the sender's table; installed only once the reply is queued. */
static int rn_get_noti_fd(struct sk_buff *skb, const struct nlmsghdr *req)
{
	struct rn_ctx *ctx;
	struct sk_buff *reply;
	struct nlmsghdr *nlh;
	struct file *file;
	int fd, err;

	fd = get_unused_fd_flags(0);
	if (fd < 0)
		return fd;
	err = -ENOMEM;
	ctx = rn_ctx_new();
	if (!ctx)
		goto put_fd;
	file = anon_inode_getfile("[rlimit_noti]", &rn_fops, ctx, O_RDWR);
	if (IS_ERR(file)) {
		err = PTR_ERR(file);
		rn_ctx_free(ctx);
		goto put_fd;
	}
	reply = nlmsg_new(sizeof(fd), GFP_KERNEL);
	if (!reply)
		goto put_file;
	nlh = nlmsg_put(reply, 0, req->nlmsg_seq, RLIMIT_GET_NOTI_FD,
			sizeof(fd), 0);
	if (!nlh) {
		kfree_skb(reply);
		goto put_file;
	}
	memcpy(nlmsg_data(nlh), &fd, sizeof(fd));
	err = netlink_unicast(skb->sk, reply, NETLINK_CB(skb).portid,
			      MSG_DONTWAIT);
	if (err < 0)
		goto put_file;
	fd_install(fd, file);
	return 0;
put_file:
	fput(file); /* releases ctx */
put_fd:
	put_unused_fd(fd);
	return err;
}

static void rn_netlink_input(struct sk_buff *skb)
{
	struct nlmsghdr *nlh = nlmsg_hdr(skb);
	int len = skb->len;
	int err;

	while (nlmsg_ok(nlh, len)) {
		if (nlh->nlmsg_flags & NLM_F_REQUEST) {
			err = nlh->nlmsg_type == RLIMIT_GET_NOTI_FD ?
				      rn_get_noti_fd(skb, nlh) : -EINVAL;
			if (err || (nlh->nlmsg_flags & NLM_F_ACK))
				netlink_ack(skb, nlh, err, NULL);
		}
		nlh = nlmsg_next(nlh, &len);
	}
}

static unsigned int rn_net_id;

struct rn_net {
	struct sock *sk;
};

static int __net_init rn_net_init(struct net *net)
{
	struct netlink_kernel_cfg cfg = { .input = rn_netlink_input };
	struct rn_net *rn = net_generic(net, rn_net_id);

	rn->sk = netlink_kernel_create(net, NETLINK_RLIMIT_EVENTS, &cfg);
	return rn->sk ? 0 : -ENOMEM;
}

static void __net_exit rn_net_exit(struct net *net)
{
	struct rn_net *rn = net_generic(net, rn_net_id);

	netlink_kernel_release(rn->sk);
}

static struct pernet_operations rn_net_ops = {
	.init = rn_net_init,
	.exit = rn_net_exit,
	.id = &rn_net_id,
	.size = sizeof(struct rn_net),
};

/* ------------------------------------------------------------------------
 * Module
 */

static void rn_unregister_hooks(int nr_tracepoints, int nr_ftrace_hooks,
				int nr_kretprobes)
{
	int i;

	unregister_kprobe(&rn_ioctl_kprobe); /* harmless if never registered */

	for (i = 0; i < nr_tracepoints; i++)
		tracepoint_probe_unregister(rn_tracepoints[i].tp,
					    rn_tracepoints[i].probe, NULL);
	if (nr_tracepoints)
		tracepoint_synchronize_unregister();
	for (i = 0; i < nr_kretprobes; i++)
		unregister_kretprobe(&rn_kretprobes[i]);
	for (i = 0; i < nr_ftrace_hooks; i++)
		ftrace_free_filter(&rn_ftrace_hooks[i].ops);
}

static int __init rn_init(void)
{
	int i, j = 0, k = 0, err;
	const char *name;

	BUILD_BUG_ON(sizeof(struct rlimit_noti_level) != 24);
	BUILD_BUG_ON(offsetof(struct rlimit_noti_level, value) != 8);
	BUILD_BUG_ON(offsetof(struct rlimit_noti_level, flags) != 16);
	BUILD_BUG_ON(sizeof(struct rlimit_event) != 16);
	BUILD_BUG_ON(offsetof(struct rn_event, u) !=
		     offsetof(struct rn_event, hdr) + sizeof(struct rlimit_event));

	for_each_kernel_tracepoint(rn_find_tracepoint, NULL);
	for (i = 0; i < ARRAY_SIZE(rn_tracepoints); i++) {
		if (!rn_tracepoints[i].tp) {
			pr_err("rlimit_noti: no tracepoint %s\n",
			       rn_tracepoints[i].name);
			err = -ENOENT;
			goto fail;
		}
		err = tracepoint_probe_register(rn_tracepoints[i].tp,
						rn_tracepoints[i].probe, NULL);
		if (err)
			goto fail;
	}
	/* Filtered now, registered (armed) only while something is watched. */
	for (j = 0; j < ARRAY_SIZE(rn_ftrace_hooks); j++) {
		name = rn_ftrace_hooks[j].name;
		err = ftrace_set_filter(&rn_ftrace_hooks[j].ops, (unsigned char *)name,
					strlen(name), 1);
		if (err) {
			pr_err("rlimit_noti: ftrace filter on %s: %d\n", name, err);
			j++; /* may hold a partial filter */
			goto fail;
		}
	}
	for (k = 0; k < ARRAY_SIZE(rn_kretprobes); k++) {
		rn_kretprobes[k].kp.flags = KPROBE_FLAG_DISABLED;
		err = register_kretprobe(&rn_kretprobes[k]);
		if (err) {
			pr_err("rlimit_noti: kretprobe on %s: %d\n",
			       rn_kretprobes[k].kp.symbol_name, err);
			goto fail;
		}
	}
	rn_ioctl_kprobe.flags = KPROBE_FLAG_DISABLED;
	err = register_kprobe(&rn_ioctl_kprobe);
	if (err) {
		pr_err("rlimit_noti: kprobe on %s: %d\n",
		       rn_ioctl_kprobe.symbol_name, err);
		goto fail;
	}
	err = register_pernet_subsys(&rn_net_ops);
	if (err)
		goto fail;
	pr_info("rlimit_noti: rlimit-events on netlink protocol %d (RLIMIT_NOFILE)\n",
		NETLINK_RLIMIT_EVENTS);
	return 0;
fail:
	rn_unregister_hooks(i, j, k);
	return err;
}

static void __exit rn_exit(void)
{
	/* Every notification fd and protocol-23 socket pins the module, so
	 * no watch is left here: only hooks and deferred work to tear down.
	 * The hooks may still be armed (the work that disarms them queued). */
	unregister_pernet_subsys(&rn_net_ops);
	cancel_work_sync(&rn_disable_work);
	if (hooks_enabled)
		rn_disarm(ARRAY_SIZE(rn_kretprobes), ARRAY_SIZE(rn_ftrace_hooks));
	rn_unregister_hooks(ARRAY_SIZE(rn_tracepoints),
			    ARRAY_SIZE(rn_ftrace_hooks),
			    ARRAY_SIZE(rn_kretprobes));
	rcu_barrier();
}

module_init(rn_init);
module_exit(rn_exit);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("vigil");
MODULE_DESCRIPTION("rlimit-events: exact open-fd level notifications for watched processes");
