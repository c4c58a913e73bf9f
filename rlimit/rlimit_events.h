/* rlimit-events client: subscribe to (pid, resource, level) and read an event
 * each time that process's usage of that resource crosses the level.
 *
 * This is the userspace form of the rlimit-events RFC
 * (../shared/seeds/000_*.txt): vigild serves it on a SOCK_SEQPACKET unix
 * socket (rlimit_events.socket in vigil.yaml, by default
 * /run/vigil/rlimit-events.sock). The RFC's kernel fd becomes the socket:
 * rle_fd() is pollable with poll/epoll/io_uring, readable when an event (or a
 * reply) is waiting.
 *
 * Plain C (C99), no dependencies; link with -lrlimitevents (pkg-config
 * rlimitevents) or the Bazel target //rlimit:rlimit_events. A C++ wrapper is
 * in rlimit/watcher.h.
 *
 *   rle_client *c = rle_open(NULL, 0);
 *   struct rle_watch w = {.pid = pid, .resource = RLE_RES_NOFILE, .level = 100};
 *   if (rle_add_watch(c, &w) < 0) fprintf(stderr, "%s\n", rle_error(c));
 *   struct rle_event ev;
 *   while (rle_read_event(c, &ev) == 1) ...;
 *   rle_close(c);
 *
 * ---- Wire format, version 1 (RLE_WIRE_VERSION) ----
 * Every message, in both directions, is one SOCK_SEQPACKET record: a
 * struct rle_header followed by a body, in host byte order (the socket is
 * local). header.size is the whole record's length. A record longer than
 * RLE_MAX_MESSAGE, shorter than its header says, or of an unknown type or
 * version is answered with an RLE_MSG_REPLY carrying an error; the
 * connection stays usable.
 *
 *   client -> vigild  RLE_MSG_ADD_WATCH     body struct rle_watch
 *   client -> vigild  RLE_MSG_REMOVE_WATCH  body struct rle_watch
 *   vigild -> client  RLE_MSG_REPLY         body struct rle_reply, seq echoed
 *   vigild -> client  RLE_MSG_EVENT         body struct rle_event, seq 0
 *
 * Every request gets exactly one reply, in request order; events may arrive
 * before, between and after replies.
 *
 * Compatible changes bump nothing: new message types, new resources, new
 * event types (readers skip unknown ones), fields appended to a body (the
 * reader uses header.size). Anything else bumps RLE_WIRE_VERSION.
 */
#ifndef VIGIL_RLIMIT_RLIMIT_EVENTS_H_
#define VIGIL_RLIMIT_RLIMIT_EVENTS_H_

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RLE_WIRE_VERSION 1
#define RLE_MAX_MESSAGE 512
#define RLE_DEFAULT_SOCKET "/run/vigil/rlimit-events.sock"

/* Resource ids: the RLIMIT_* number where one exists (so RLE_RES_NOFILE is
 * RLIMIT_NOFILE, 7, as in the RFC's UAPI), else from 64 up. */
enum rle_resource {
  RLE_RES_CPU = 0,     /* RLIMIT_CPU: CPU time of all threads, nanoseconds */
  RLE_RES_RSS = 5,     /* RLIMIT_RSS: resident memory (VmRSS), bytes */
  RLE_RES_TASKS = 6,   /* threads of the process (RLIMIT_NPROC's number) */
  RLE_RES_NOFILE = 7,  /* RLIMIT_NOFILE: open file descriptors */
  RLE_RES_MAZE = 64,   /* MAZE count: the longest time any one thread has
                          run without blocking, nanoseconds */
};

enum rle_msg_type {
  RLE_MSG_ADD_WATCH = 1,
  RLE_MSG_REMOVE_WATCH = 2,
  RLE_MSG_REPLY = 16,
  RLE_MSG_EVENT = 17,
};

struct rle_header {
  uint16_t version; /* RLE_WIRE_VERSION */
  uint16_t type;    /* enum rle_msg_type */
  uint32_t size;    /* the whole record, header included */
  uint64_t seq;     /* chosen by the client; echoed in its reply; 0 in events */
};

/* One watch: an event when `pid`'s usage of `resource` crosses `level`.
 * Crossing up: usage rises to >= level. Crossing down: usage falls below
 * level - hysteresis (0 = the RFC's rule: the level lies in (new, old]).
 * A watch added while usage is already >= level reports that crossing at
 * once. `level` > 0; 0 <= hysteresis < level. A connection's watches are
 * keyed by (pid, resource, level). */
struct rle_watch {
  int32_t pid;        /* in vigild's pid namespace */
  uint32_t resource;  /* enum rle_resource */
  int64_t level;
  int64_t hysteresis;
  uint32_t flags;     /* must be 0 */
  uint32_t reserved;  /* must be 0 */
};

/* error: 0, or a positive errno value:
 *   EINVAL   bad field (level <= 0, hysteresis out of range, flags)
 *   EOPNOTSUPP unknown resource, or one this vigild cannot count
 *   ESRCH    no such process (or it exited during the request)
 *   EPERM    not allowed: non-root clients watch only processes whose real
 *            or saved uid is their uid (the kill(2) rule)
 *   EEXIST   this connection already has that watch (add)
 *   ENOENT   this connection has no such watch (remove)
 *   EDQUOT   the connection's watch cap (rlimit_events.max_watches) is reached
 *   EBADMSG  truncated or malformed record;  EMSGSIZE  record too long
 *   EPROTO   unknown wire version;  ENOSYS  unknown message type
 * message: what went wrong, NUL-terminated, for people. */
struct rle_reply {
  int32_t error;
  uint32_t reserved;
  char message[240];
};

enum rle_event_type {
  RLE_EV_CROSSING = 1, /* usage crossed `level` in `direction` */
  RLE_EV_EXIT = 2,     /* the process exited; its watches are gone */
  RLE_EV_OVERFLOW = 3, /* this client read too slowly: `lost` events were
                          dropped just before this one */
};

enum rle_direction { RLE_DIR_NONE = 0, RLE_DIR_UP = 1, RLE_DIR_DOWN = -1 };

struct rle_event {
  uint32_t type;      /* enum rle_event_type */
  uint32_t resource;  /* CROSSING */
  int32_t pid;        /* CROSSING, EXIT */
  int32_t direction;  /* enum rle_direction; CROSSING */
  int64_t level;      /* CROSSING: the watch's level */
  int64_t value;      /* CROSSING: usage when vigild read it */
  uint64_t lost;      /* OVERFLOW */
  int64_t time_ns;    /* CLOCK_REALTIME when vigild produced the event */
};

/* ---- client API ---- */

typedef struct rle_client rle_client;

/* Flags for rle_open. */
#define RLE_NONBLOCK 1 /* rle_read_event returns -EAGAIN instead of waiting */

/* Connects to vigild (`socket_path` NULL: $VIGIL_RLIMIT_SOCKET, else
 * RLE_DEFAULT_SOCKET). NULL with errno set on failure. The fd is close-on-exec. */
rle_client *rle_open(const char *socket_path, int flags);
void rle_close(rle_client *c);

/* The socket, for poll/epoll/io_uring: readable when rle_read_event has
 * something. Events that arrived while rle_add_watch/rle_remove_watch waited
 * for their reply are kept inside the client and are not visible to poll:
 * call rle_read_event until it returns -EAGAIN after those calls (or check
 * rle_pending). */
int rle_fd(const rle_client *c);
int rle_pending(const rle_client *c);

/* Send the request and wait for its reply: 0, or -errno (the reply's error
 * or a socket error); rle_error() then says why. */
int rle_add_watch(rle_client *c, const struct rle_watch *w);
int rle_remove_watch(rle_client *c, const struct rle_watch *w);

/* 1 and *ev filled; 0 when vigild closed the connection; -EAGAIN (only with
 * RLE_NONBLOCK) when nothing is waiting; another -errno on error. */
int rle_read_event(rle_client *c, struct rle_event *ev);

/* The last error's text (empty if none). Valid until the next call on c. */
const char *rle_error(const rle_client *c);

/* "nofile", "rss", "tasks", "cpu", "maze"; NULL for an unknown id. */
const char *rle_resource_name(uint32_t resource);
/* The id for a name above (case-insensitive), or -1. */
int rle_resource_from_name(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_RLIMIT_RLIMIT_EVENTS_H_ */
