/* A one-shot timer kept in one event source: made at its first use, moved
 * and enabled again at each next one. */
#ifndef USD_TIMER_H
#define USD_TIMER_H

#include <stdint.h>
#include <systemd/sd-event.h>

/* Arms *s to call cb(userdata) once at usec (CLOCK_MONOTONIC), making it on
 * first use. 0, or a negative errno: no source could be made, nothing is
 * armed (the caller says what it does without). */
static inline int timer_at(sd_event *e, sd_event_source **s, uint64_t usec, sd_event_time_handler_t cb,
                           void *userdata)
{
        int r;

        if (!*s && (r = sd_event_add_time(e, s, CLOCK_MONOTONIC, usec, 0, cb, userdata)) < 0)
                return r;
        (void)sd_event_source_set_time(*s, usec);
        (void)sd_event_source_set_enabled(*s, SD_EVENT_ONESHOT);
        return 0;
}

#endif
