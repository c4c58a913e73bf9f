/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * rlimit-events: notifications when a process's resource usage crosses a
 * level. The userspace API of Krzysztof Opasiak's rlimit-events RFC, as
 * its author posted it, served by vigil's out-of-tree module rlimit_noti.ko.
 * Programs written against the RFC include this as <linux/rlimit_noti.h>.
 *
 * 1. socket(AF_NETLINK, SOCK_RAW, NETLINK_RLIMIT_EVENTS), send one message
 *    with nlmsg_type RLIMIT_GET_NOTI_FD and NLM_F_REQUEST, no payload, to
 *    nl_pid 0. The reply (same type, same sequence number) carries one int:
 *    a notification fd already installed in the sender's fd table.
 * 2. ioctl(fd, RLIMIT_ADD_NOTI_LVL, &struct rlimit_noti_level) etc.; the
 *    commands are plain integers, not _IOW-encoded.
 * 3. read() returns exactly one event per call: struct rlimit_event
 *    followed by its payload, ev.size bytes in all. poll()/epoll report
 *    POLLIN while an event is queued.
 *
 * The ev_type numbers below and the overflow event are this module's
 * choice; the RFC left them open. See kmod/README.md for the errno of
 * every ioctl and the meaning of RLIMIT_GET_NOTI_LVL{,_COUNT}.
 */
#ifndef _UAPI_LINUX_RLIMIT_NOTI_H_
#define _UAPI_LINUX_RLIMIT_NOTI_H_

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#endif

/* The RFC added this to <linux/netlink.h>. */
#ifndef NETLINK_RLIMIT_EVENTS
#define NETLINK_RLIMIT_EVENTS 23
#endif

/* netlink message type: request (and reply) of a notification fd */
#define RLIMIT_GET_NOTI_FD 1000

/* ioctl's */
#define RLIMIT_ADD_NOTI_LVL 1
#define RLIMIT_RM_NOTI_LVL 2

#define RLIMIT_SET_NOTI_ALL 3
#define RLIMIT_UNSET_NOTI_ALL 4

/*
 * For future (notify every 5, 10 units change):
 * #define RLIMIT_SET_NOTI_STEP 5
 */

#define RLIMIT_GET_NOTI_LVL 6
#define RLIMIT_GET_NOTI_LVL_COUNT 7

/* Flags for ioctl's */
#define RLIMIT_FLAG_NO_INHERIT (1u << 0)
#define RLIMIT_FLAG_RECURSIVE (1u << 1)

/* Argument of RLIMIT_SET_NOTI_ALL, RLIMIT_UNSET_NOTI_ALL, ..._LVL_COUNT */
struct rlimit_noti_subject {
	pid_t pid;
	uint32_t resource; /* RLIMIT_* number, e.g. RLIMIT_NOFILE (7) */
};

/* Argument of RLIMIT_ADD_NOTI_LVL, RLIMIT_RM_NOTI_LVL, RLIMIT_GET_NOTI_LVL */
struct rlimit_noti_level {
	struct rlimit_noti_subject subj;
	uint64_t value;
	uint32_t flags;
};

/* ev_type values */
#define RLIMIT_EVENT_TYPE_RES_CHANGED 1 /* struct rlimit_event_res_changed */
#define RLIMIT_EVENT_TYPE_NEW_PID 2	/* struct rlimit_event_new_pid */
#define RLIMIT_EVENT_TYPE_PID_DEAD 3	/* struct rlimit_event_pid_dead */
#define RLIMIT_EVENT_TYPE_OVERFLOW 4	/* struct rlimit_event_overflow */

struct rlimit_event {
	uint32_t ev_type;
	size_t size; /* of this header and the payload that follows it */
};

/* A watched process forked; the child inherited the watches. */
struct rlimit_event_new_pid {
	pid_t parent;
	pid_t new_pid;
};

/* A watched process exited; its watches on this fd are gone. */
struct rlimit_event_pid_dead {
	pid_t pid;
};

/* Usage of subj.resource by subj.pid crossed a level (or changed, for
 * RLIMIT_SET_NOTI_ALL); new_value is the usage just after the change. */
struct rlimit_event_res_changed {
	struct rlimit_noti_subject subj;
	uint64_t new_value;
};

/* The fd's queue was full: this many events were dropped before the
 * events that follow this one. */
struct rlimit_event_overflow {
	uint64_t lost;
};

#endif /* _UAPI_LINUX_RLIMIT_NOTI_H_ */
