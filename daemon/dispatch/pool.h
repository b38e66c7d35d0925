/* dispatch = pool: long-running processes fed accepted fds over a channel,
 * with ACK/DONE accounting (lib/frame.c is the codec). */
#ifndef USD_POOL_H
#define USD_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "dispatch/dispatch.h"

#define POOL_UNACKED_MAX 32             /* connections sent to one process, not yet taken */
#define POOL_QUEUE_MAX 64               /* accepted, held by the daemon, no process free */
/* A pool that sizes itself starts one process at a time: another only when
 * every one started has spoken (HELLO, or its first ACK), or when the last
 * start and the oldest connection waiting are this old (a program slow to
 * start must not hold a burst up). */
#define POOL_GROW_WAIT_USEC (100 * 1000ULL)

/* 0, or -ENOMEM: makes its processes and starts them. */
int pool_start(struct worker *w);
/* DISPATCH_TAKEN, or DISPATCH_REFUSED when no process runs nor will. */
int pool_dispatch(struct worker *w, struct accepted *a);
/* Sends what is queued now, rather than at the end of this loop iteration. */
void pool_flush(struct worker *w);
/* The daemon stops, or a reload replaced w: channels close once the queue is handed out. */
void pool_stop(struct worker *w);
/* Nothing queued, nothing sent and not DONE, no process. */
bool pool_idle(const struct worker *w);
size_t pool_processes(const struct worker *w, struct process_info *out, size_t max);
/* Connections from the socket called name its processes hold, and that it queues. */
void pool_socket_load(const struct worker *w, const char *name, unsigned *ret_in_service, unsigned *ret_queued);
void pool_free(struct worker *w);
/* What the channel of process index said (revents as epoll gives them): the fuzzer's entry too. */
void pool_channel_event(struct worker *w, unsigned index, uint32_t revents);

#endif
