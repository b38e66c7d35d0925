/* Rate limits: at most burst events per interval, the rest counted. Pure:
 * the caller gives the time. */
#ifndef USD_RATELIMIT_H
#define USD_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

/* At most burst events per interval; the rest are counted, and reported by
 * the first event of the next interval that passes. */
struct ratelimit {
        uint64_t interval_usec;
        unsigned burst;
        uint64_t begin;
        unsigned n;
        unsigned suppressed;
};
#define RATELIMIT_INIT(interval, b) { .interval_usec = (interval), .burst = (b) }
/* true: log it. *ret_suppressed: how many were dropped before this one. */
bool ratelimit_pass(struct ratelimit *r, uint64_t now_usec, unsigned *ret_suppressed);
/* " (N earlier WHAT not logged)" in buf, or "" when n is 0: the tail of the
 * first line a rate limit lets through again. */
const char *ratelimit_note(char buf[static 64], unsigned n, const char *what);

/* rate-limit = BURST/INTERVAL of a socket: a window of interval_usec from
 * its first accept, burst accepts in it. Unlike struct ratelimit nothing is
 * counted past the limit: the socket waits for the window's end. */
struct rate_window {
        uint64_t begin;                 /* 0: none yet */
        unsigned n;
};
/* true, counted, if one more fits in the window at now (a new window starts
 * when the last one is over); false if not: *ret_until is its end. */
bool ratelimit_window_take(struct rate_window *w, unsigned burst, uint64_t interval_usec, uint64_t now,
                 uint64_t *ret_until);

#endif
