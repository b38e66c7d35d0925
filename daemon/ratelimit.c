/* Rate limits of log lines and of a socket's accepts: pure counting. */
#include <stdio.h>

#include "ratelimit.h"

bool ratelimit_pass(struct ratelimit *r, uint64_t now, unsigned *ret_suppressed)
{
        if (r->begin == 0 || now - r->begin >= r->interval_usec) {
                *ret_suppressed = r->suppressed;
                r->begin = now;
                r->n = 1;
                r->suppressed = 0;
                return true;
        }
        if (r->n < r->burst) {
                r->n++;
                *ret_suppressed = 0;
                return true;
        }
        r->suppressed++;
        return false;
}

const char *ratelimit_note(char buf[static 64], unsigned n, const char *what)
{
        if (!n)
                return "";
        snprintf(buf, 64, " (%u earlier %s not logged)", n, what);
        return buf;
}

bool ratelimit_window_take(struct rate_window *w, unsigned burst, uint64_t interval_usec, uint64_t now,
                 uint64_t *ret_until)
{
        if (w->begin == 0 || now - w->begin >= interval_usec) {
                w->begin = now;
                w->n = 0;
        }
        if (w->n < burst) {
                w->n++;
                return true;
        }
        *ret_until = w->begin + interval_usec;
        return false;
}
