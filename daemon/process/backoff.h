/* The delay before a long-running process is started again. Pure. */
#ifndef USD_BACKOFF_H
#define USD_BACKOFF_H

#include <stdint.h>

#define BACKOFF_RAN_WELL_USEC (10 * 1000000ULL)   /* a run this long resets the backoff */

struct backoff {
        uint64_t first_usec;            /* restart-delay */
        uint64_t max_usec;              /* restart-delay-max */
        uint64_t next;                  /* the delay after this one; 0: first_usec */
};

/* The delay before the next start after a run of ran_usec that is to be
 * restarted: restart-delay, doubling with each run in a row shorter than
 * BACKOFF_RAN_WELL_USEC, up to restart-delay-max; back to restart-delay after
 * a run that long. */
uint64_t backoff_next(struct backoff *b, uint64_t ran_usec);
/* A run that went well and is not restarted: the next failure starts over. */
void backoff_reset(struct backoff *b);

#endif
