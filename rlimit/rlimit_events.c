/* rlimit-events client (see rlimit_events.h). Owns one SOCK_SEQPACKET
 * connection to vigild and a small FIFO of events that arrived while a
 * request waited for its reply. */
#define _GNU_SOURCE
#include "rlimit/rlimit_events.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define RLE_BUFFERED_MAX 4096

struct rle_client {
  int fd;
  int flags;
  uint64_t next_seq;
  /* ring of events received while waiting for a reply */
  struct rle_event *buffered;
  int head, count, capacity;
  char error[256];
};

static int fail(rle_client *c, int err, const char *what) {
  snprintf(c->error, sizeof c->error, "%s: %s", what, strerror(err));
  return -err;
}

rle_client *rle_open(const char *socket_path, int flags) {
  if (socket_path == NULL) socket_path = getenv("VIGIL_RLIMIT_SOCKET");
  if (socket_path == NULL || *socket_path == '\0') socket_path = RLE_DEFAULT_SOCKET;
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (strlen(socket_path) >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    return NULL;
  }
  strcpy(addr.sun_path, socket_path);
  rle_client *c = calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  c->flags = flags;
  c->next_seq = 1;
  c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC |
                              ((flags & RLE_NONBLOCK) ? SOCK_NONBLOCK : 0), 0);
  if (c->fd < 0 ||
      (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS)) {
    int err = errno;
    if (c->fd >= 0) close(c->fd);
    free(c);
    errno = err;
    return NULL;
  }
  return c;
}

void rle_close(rle_client *c) {
  if (c == NULL) return;
  close(c->fd);
  free(c->buffered);
  free(c);
}

int rle_fd(const rle_client *c) { return c->fd; }
int rle_pending(const rle_client *c) { return c->count; }
const char *rle_error(const rle_client *c) { return c->error; }

static int wait_for(rle_client *c, short events) {
  struct pollfd p = {.fd = c->fd, .events = events};
  while (poll(&p, 1, -1) < 0) {
    if (errno != EINTR) return -errno;
  }
  return 0;
}

/* One record into buf: its length, 0 at end of stream, or -errno. */
static ssize_t receive(rle_client *c, void *buf, size_t size, int wait) {
  for (;;) {
    ssize_t n = recv(c->fd, buf, size, MSG_TRUNC | (wait ? 0 : MSG_DONTWAIT));
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno == EAGAIN && wait) {
      int err = wait_for(c, POLLIN);
      if (err < 0) return err;
      continue;
    }
    return -errno;
  }
}

static int buffer_event(rle_client *c, const struct rle_event *ev) {
  if (c->count == c->capacity) {
    if (c->capacity == RLE_BUFFERED_MAX) return -ENOBUFS;
    int capacity = c->capacity ? c->capacity * 2 : 16;
    struct rle_event *grown = malloc(capacity * sizeof *grown);
    if (grown == NULL) return -ENOMEM;
    for (int i = 0; i < c->count; ++i) grown[i] = c->buffered[(c->head + i) % c->capacity];
    free(c->buffered);
    c->buffered = grown;
    c->head = 0;
    c->capacity = capacity;
  }
  c->buffered[(c->head + c->count) % c->capacity] = *ev;
  c->count++;
  return 0;
}

/* Copies a received event body, zero-filling fields an older vigild did not send. */
static void copy_event(const unsigned char *record, size_t n, struct rle_event *ev) {
  size_t body = n - sizeof(struct rle_header);
  memset(ev, 0, sizeof *ev);
  memcpy(ev, record + sizeof(struct rle_header), body < sizeof *ev ? body : sizeof *ev);
}

static int request(rle_client *c, uint16_t type, const struct rle_watch *w) {
  struct {
    struct rle_header h;
    struct rle_watch w;
  } msg = {{RLE_WIRE_VERSION, type, sizeof msg, c->next_seq++}, *w};
  c->error[0] = '\0';
  while (send(c->fd, &msg, sizeof msg, MSG_NOSIGNAL) < 0) {
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return fail(c, errno, "sending to vigild");
    int err = wait_for(c, POLLOUT);
    if (err < 0) return fail(c, -err, "waiting to send to vigild");
  }
  unsigned char record[RLE_MAX_MESSAGE];
  for (;;) {
    ssize_t n = receive(c, record, sizeof record, 1);
    if (n == 0) return fail(c, ECONNRESET, "vigild closed the connection");
    if (n < 0) return fail(c, (int)-n, "reading from vigild");
    const struct rle_header *h = (const struct rle_header *)record;
    if ((size_t)n < sizeof *h || (size_t)n > sizeof record) continue;
    if (h->type == RLE_MSG_EVENT) {
      struct rle_event ev;
      copy_event(record, n, &ev);
      int err = buffer_event(c, &ev);
      if (err < 0) return fail(c, -err, "keeping events while waiting for a reply");
      continue;
    }
    if (h->type != RLE_MSG_REPLY || h->seq != msg.h.seq) continue;
    struct rle_reply reply;
    memset(&reply, 0, sizeof reply);
    size_t body = n - sizeof *h;
    memcpy(&reply, record + sizeof *h, body < sizeof reply ? body : sizeof reply);
    reply.message[sizeof reply.message - 1] = '\0';
    snprintf(c->error, sizeof c->error, "%s", reply.message);
    return -reply.error;
  }
}

int rle_add_watch(rle_client *c, const struct rle_watch *w) {
  return request(c, RLE_MSG_ADD_WATCH, w);
}

int rle_remove_watch(rle_client *c, const struct rle_watch *w) {
  return request(c, RLE_MSG_REMOVE_WATCH, w);
}

int rle_read_event(rle_client *c, struct rle_event *ev) {
  if (c->count > 0) {
    *ev = c->buffered[c->head];
    c->head = (c->head + 1) % c->capacity;
    c->count--;
    return 1;
  }
  unsigned char record[RLE_MAX_MESSAGE];
  for (;;) {
    ssize_t n = receive(c, record, sizeof record, !(c->flags & RLE_NONBLOCK));
    if (n == 0) return 0;
    if (n == -EAGAIN) return -EAGAIN;
    if (n < 0) return fail(c, (int)-n, "reading from vigild");
    const struct rle_header *h = (const struct rle_header *)record;
    /* Unknown records (newer types, stray replies) are skipped. */
    if ((size_t)n < sizeof *h || (size_t)n > sizeof record || h->type != RLE_MSG_EVENT) continue;
    copy_event(record, n, ev);
    return 1;
  }
}

static const struct {
  uint32_t id;
  const char *name;
} resources[] = {
    {RLE_RES_NOFILE, "nofile"}, {RLE_RES_RSS, "rss"},   {RLE_RES_TASKS, "tasks"},
    {RLE_RES_CPU, "cpu"},       {RLE_RES_MAZE, "maze"},
};

const char *rle_resource_name(uint32_t resource) {
  for (size_t i = 0; i < sizeof resources / sizeof resources[0]; ++i) {
    if (resources[i].id == resource) return resources[i].name;
  }
  return NULL;
}

int rle_resource_from_name(const char *name) {
  for (size_t i = 0; i < sizeof resources / sizeof resources[0]; ++i) {
    if (strcasecmp(resources[i].name, name) == 0) return (int)resources[i].id;
  }
  return -1;
}
