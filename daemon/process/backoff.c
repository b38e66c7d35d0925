/* Exponential restart backoff: pure arithmetic on struct backoff. */
#include "backoff.h"

uint64_t backoff_next(struct backoff *b, uint64_t ran_usec)
{
        uint64_t d;

        if (ran_usec >= BACKOFF_RAN_WELL_USEC || b->next == 0)
                b->next = b->first_usec;
        d = b->next;
        b->next = b->next > b->max_usec / 2 ? b->max_usec : b->next * 2;
        return d;
}

void backoff_reset(struct backoff *b)
{
        b->next = 0;
}
