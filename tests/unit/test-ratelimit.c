/* Rate limits: log lines (ratelimit_pass, ratelimit_note) and a socket's
 * rate-limit = BURST/INTERVAL window (ratelimit_window_take). Pure: time is given. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "ratelimit.h"

#define SEC (UINT64_C(1000000))
#define T0 (1000 * SEC)                 /* a monotonic clock well past 0 */

/* ---- ratelimit_pass ------------------------------------------------------ */

Test(ratelimit, burst_events_pass_within_the_interval_then_the_rest_are_suppressed)
{
        struct ratelimit r = RATELIMIT_INIT(10 * SEC, 3);
        unsigned sup = 99;

        for (unsigned i = 0; i < 3; i++) {
                sup = 99;
                cr_assert(ratelimit_pass(&r, T0 + i, &sup), "event %u of the burst", i);
                cr_assert_eq(sup, 0);
        }
        for (unsigned i = 0; i < 5; i++)
                cr_assert_not(ratelimit_pass(&r, T0 + 3 + i, &sup), "event %u past the burst", i);
        cr_assert_eq(r.suppressed, 5);
}

Test(ratelimit, the_first_pass_of_the_next_interval_reports_how_many_were_suppressed)
{
        struct ratelimit r = RATELIMIT_INIT(10 * SEC, 2);
        unsigned sup;

        cr_assert(ratelimit_pass(&r, T0, &sup));
        cr_assert(ratelimit_pass(&r, T0 + 1, &sup));
        for (unsigned i = 0; i < 7; i++)
                cr_assert_not(ratelimit_pass(&r, T0 + 2 + i, &sup));
        sup = 99;
        cr_assert(ratelimit_pass(&r, T0 + 11 * SEC, &sup));
        cr_assert_eq(sup, 7);
        /* reported once: the second of the new interval reports none */
        sup = 99;
        cr_assert(ratelimit_pass(&r, T0 + 11 * SEC + 1, &sup));
        cr_assert_eq(sup, 0);
}

Test(ratelimit, a_new_interval_starts_exactly_at_the_interval_boundary)
{
        struct ratelimit r = RATELIMIT_INIT(10 * SEC, 1);
        unsigned sup;

        cr_assert(ratelimit_pass(&r, T0, &sup));
        cr_assert_not(ratelimit_pass(&r, T0 + 10 * SEC - 1, &sup), "one usec before the end");
        sup = 99;
        cr_assert(ratelimit_pass(&r, T0 + 10 * SEC, &sup), "exactly at the end");
        cr_assert_eq(sup, 1);
        /* and the new interval is counted from that pass */
        cr_assert_not(ratelimit_pass(&r, T0 + 20 * SEC - 1, &sup));
        cr_assert(ratelimit_pass(&r, T0 + 20 * SEC, &sup));
}

Test(ratelimit, an_interval_with_nothing_suppressed_reports_zero)
{
        struct ratelimit r = RATELIMIT_INIT(10 * SEC, 2);
        unsigned sup;

        cr_assert(ratelimit_pass(&r, T0, &sup));
        sup = 99;
        cr_assert(ratelimit_pass(&r, T0 + 30 * SEC, &sup));
        cr_assert_eq(sup, 0);
}

Test(ratelimit, the_first_event_ever_passes_with_nothing_suppressed)
{
        struct ratelimit r = RATELIMIT_INIT(10 * SEC, 1);
        unsigned sup = 99;

        cr_assert(ratelimit_pass(&r, T0, &sup));
        cr_assert_eq(sup, 0);
        cr_assert_eq(r.begin, T0);
        cr_assert_eq(r.n, 1);
}

/* begin == 0 means "no interval yet": an event at time 0 starts none, so the
 * next one starts an interval whatever its time (as the daemon always did). */
Test(ratelimit, an_event_at_time_0_passes_and_does_not_start_an_interval)
{
        struct ratelimit r = RATELIMIT_INIT(10 * SEC, 1);
        unsigned sup = 99;

        cr_assert(ratelimit_pass(&r, 0, &sup));
        cr_assert_eq(sup, 0);
        cr_assert_eq(r.begin, 0);
        cr_assert(ratelimit_pass(&r, 0, &sup), "at 0 again: still no interval");
        cr_assert(ratelimit_pass(&r, 5, &sup), "the first after 0 starts the interval");
        cr_assert_eq(r.begin, 5);
        cr_assert_not(ratelimit_pass(&r, 6, &sup));
}

Test(ratelimit, an_event_at_time_0_after_suppression_reports_the_count)
{
        struct ratelimit r = RATELIMIT_INIT(10 * SEC, 1);
        unsigned sup;

        cr_assert(ratelimit_pass(&r, 7, &sup));
        cr_assert_not(ratelimit_pass(&r, 8, &sup));
        cr_assert_not(ratelimit_pass(&r, 9, &sup));
        /* a clock that went back to 0 (now - begin wraps): a new interval */
        sup = 99;
        cr_assert(ratelimit_pass(&r, 0, &sup));
        cr_assert_eq(sup, 2);
}

Test(ratelimit, a_burst_of_0_still_lets_the_first_of_each_interval_pass)
{
        struct ratelimit r = RATELIMIT_INIT(10 * SEC, 0);
        unsigned sup;

        cr_assert(ratelimit_pass(&r, T0, &sup));
        cr_assert_not(ratelimit_pass(&r, T0 + 1, &sup));
        cr_assert(ratelimit_pass(&r, T0 + 10 * SEC, &sup));
        cr_assert_eq(sup, 1);
}

/* ---- ratelimit_note ----------------------------------------------------- */

Test(ratelimit_note, zero_is_the_empty_string)
{
        char buf[64];

        memset(buf, 'x', sizeof(buf));
        cr_assert_str_eq(ratelimit_note(buf, 0, "failures"), "");
}

Test(ratelimit_note, n_names_the_count_and_what)
{
        char buf[64];

        cr_assert_str_eq(ratelimit_note(buf, 1, "refusals"), " (1 earlier refusals not logged)");
        cr_assert_str_eq(ratelimit_note(buf, 4294967295u, "pauses"),
                         " (4294967295 earlier pauses not logged)");
}

Test(ratelimit_note, the_text_is_in_the_callers_buffer)
{
        char buf[64];
        const char *s = ratelimit_note(buf, 12, "exits");

        cr_assert_eq(s, buf);
        cr_assert_str_eq(buf, " (12 earlier exits not logged)");
}

Test(ratelimit_note, a_long_what_is_cut_to_the_buffer)
{
        char buf[64 + 8];
        char what[200];

        memset(what, 'w', sizeof(what) - 1);
        what[sizeof(what) - 1] = '\0';
        memset(buf, 'Z', sizeof(buf));
        ratelimit_note(buf, 3, what);
        cr_assert_eq(strlen(buf), 63);
        cr_assert_eq(strncmp(buf, " (3 earlier www", 15), 0);
        for (size_t i = 64; i < sizeof(buf); i++)
                cr_assert_eq(buf[i], 'Z', "byte %zu past the 64 written", i);
}

/* ---- ratelimit_window_take --------------------------------------------------------- */

Test(window, burst_accepts_are_taken_in_a_window)
{
        struct rate_window w = { 0 };
        uint64_t until = 42;

        for (unsigned i = 0; i < 4; i++)
                cr_assert(ratelimit_window_take(&w, 4, 10 * SEC, T0 + i * SEC, &until), "accept %u", i);
        cr_assert_eq(until, 42, "*ret_until is left alone when it is taken");
        cr_assert_eq(w.begin, T0);
        cr_assert_eq(w.n, 4);
}

Test(window, past_the_burst_it_is_refused_until_the_window_ends)
{
        struct rate_window w = { 0 };
        uint64_t until = 0;

        cr_assert(ratelimit_window_take(&w, 2, 10 * SEC, T0, &until));
        cr_assert(ratelimit_window_take(&w, 2, 10 * SEC, T0 + 3 * SEC, &until));
        cr_assert_not(ratelimit_window_take(&w, 2, 10 * SEC, T0 + 4 * SEC, &until));
        cr_assert_eq(until, T0 + 10 * SEC, "the end of the window, from its first accept");
        until = 0;
        cr_assert_not(ratelimit_window_take(&w, 2, 10 * SEC, T0 + 10 * SEC - 1, &until));
        cr_assert_eq(until, T0 + 10 * SEC);
        cr_assert_eq(w.n, 2, "refusals are not counted");
}

Test(window, a_new_window_starts_at_the_end_of_the_last)
{
        struct rate_window w = { 0 };
        uint64_t until = 0;

        cr_assert(ratelimit_window_take(&w, 1, 10 * SEC, T0, &until));
        cr_assert_not(ratelimit_window_take(&w, 1, 10 * SEC, T0 + 1, &until));
        cr_assert(ratelimit_window_take(&w, 1, 10 * SEC, until, &until), "exactly at the end");
        cr_assert_eq(w.begin, T0 + 10 * SEC);
        cr_assert_eq(w.n, 1);
        cr_assert_not(ratelimit_window_take(&w, 1, 10 * SEC, T0 + 10 * SEC + 1, &until));
        cr_assert_eq(until, T0 + 20 * SEC);
}

Test(window, a_new_window_begins_at_the_first_accept_after_the_last_ended)
{
        struct rate_window w = { 0 };
        uint64_t until = 0;

        cr_assert(ratelimit_window_take(&w, 2, 10 * SEC, T0, &until));
        cr_assert(ratelimit_window_take(&w, 2, 10 * SEC, T0 + 35 * SEC, &until));
        cr_assert(ratelimit_window_take(&w, 2, 10 * SEC, T0 + 36 * SEC, &until));
        cr_assert_not(ratelimit_window_take(&w, 2, 10 * SEC, T0 + 37 * SEC, &until));
        cr_assert_eq(until, T0 + 45 * SEC);
}

Test(window, burst_1_takes_one_per_window)
{
        struct rate_window w = { 0 };
        uint64_t until = 0;
        unsigned taken = 0;

        for (uint64_t t = T0; t < T0 + 30 * SEC; t += SEC / 2)
                taken += ratelimit_window_take(&w, 1, 10 * SEC, t, &until);
        cr_assert_eq(taken, 3);
}
