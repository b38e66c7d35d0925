/* The restart backoff: restart-delay, doubling with each short run in a row,
 * capped at restart-delay-max, back to restart-delay after a run that went well. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "process/backoff.h"

#define MSEC (UINT64_C(1000))
#define SEC (UINT64_C(1000000))
#define SHORT (1 * SEC)                 /* a run shorter than BACKOFF_RAN_WELL_USEC */

Test(backoff, the_first_restart_waits_restart_delay)
{
        struct backoff b = { .first_usec = 100 * MSEC, .max_usec = 10 * SEC };

        cr_assert_eq(backoff_next(&b, SHORT), 100 * MSEC);
}

Test(backoff, each_short_run_in_a_row_doubles_the_delay)
{
        struct backoff b = { .first_usec = 100 * MSEC, .max_usec = 100 * SEC };
        const uint64_t want[] = { 100 * MSEC, 200 * MSEC, 400 * MSEC, 800 * MSEC, 1600 * MSEC };

        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
                cr_assert_eq(backoff_next(&b, SHORT), want[i], "restart %zu", i);
}

Test(backoff, a_run_that_fails_at_once_doubles_too)
{
        struct backoff b = { .first_usec = 1 * SEC, .max_usec = 60 * SEC };

        cr_assert_eq(backoff_next(&b, 0), 1 * SEC);
        cr_assert_eq(backoff_next(&b, 0), 2 * SEC);
}

Test(backoff, the_delay_is_capped_at_restart_delay_max)
{
        struct backoff b = { .first_usec = 1 * SEC, .max_usec = 8 * SEC };
        const uint64_t want[] = { 1 * SEC, 2 * SEC, 4 * SEC, 8 * SEC, 8 * SEC, 8 * SEC };

        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
                cr_assert_eq(backoff_next(&b, SHORT), want[i], "restart %zu", i);
}

Test(backoff, a_max_not_a_power_of_two_multiple_is_reached_and_never_passed)
{
        struct backoff b = { .first_usec = 1 * SEC, .max_usec = 5 * SEC };
        const uint64_t want[] = { 1 * SEC, 2 * SEC, 4 * SEC, 5 * SEC, 5 * SEC };

        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
                cr_assert_eq(backoff_next(&b, SHORT), want[i], "restart %zu", i);
}

Test(backoff, an_odd_max_is_reached_from_just_over_half_of_it)
{
        /* 3 > 7/2 (integer 3)? no: 3 doubles to 6; 6 > 3: the cap 7 */
        struct backoff b = { .first_usec = 3, .max_usec = 7 };

        cr_assert_eq(backoff_next(&b, SHORT), 3);
        cr_assert_eq(backoff_next(&b, SHORT), 6);
        cr_assert_eq(backoff_next(&b, SHORT), 7);
        cr_assert_eq(backoff_next(&b, SHORT), 7);
}

Test(backoff, restart_delay_equal_to_the_max_stays_there)
{
        struct backoff b = { .first_usec = 2 * SEC, .max_usec = 2 * SEC };

        for (int i = 0; i < 4; i++)
                cr_assert_eq(backoff_next(&b, SHORT), 2 * SEC, "restart %d", i);
}

Test(backoff, no_overflow_near_uint64_max)
{
        struct backoff b = { .first_usec = UINT64_MAX / 2 - 1, .max_usec = UINT64_MAX };

        cr_assert_eq(backoff_next(&b, SHORT), UINT64_MAX / 2 - 1);
        cr_assert_eq(backoff_next(&b, SHORT), UINT64_MAX - 3);
        cr_assert_eq(backoff_next(&b, SHORT), UINT64_MAX, "capped, not wrapped");
        cr_assert_eq(backoff_next(&b, SHORT), UINT64_MAX);
}

Test(backoff, no_overflow_when_doubling_would_wrap_past_a_huge_max)
{
        struct backoff b = { .first_usec = UINT64_MAX / 2 + 1, .max_usec = UINT64_MAX - 1 };

        cr_assert_eq(backoff_next(&b, SHORT), UINT64_MAX / 2 + 1);
        cr_assert_eq(backoff_next(&b, SHORT), UINT64_MAX - 1);
        cr_assert_eq(backoff_next(&b, SHORT), UINT64_MAX - 1);
}

Test(backoff, a_run_of_ran_well_usec_starts_over_at_restart_delay)
{
        struct backoff b = { .first_usec = 1 * SEC, .max_usec = 60 * SEC };

        cr_assert_eq(backoff_next(&b, SHORT), 1 * SEC);
        cr_assert_eq(backoff_next(&b, SHORT), 2 * SEC);
        cr_assert_eq(backoff_next(&b, SHORT), 4 * SEC);
        cr_assert_eq(backoff_next(&b, BACKOFF_RAN_WELL_USEC), 1 * SEC, "exactly RAN_WELL");
        cr_assert_eq(backoff_next(&b, SHORT), 2 * SEC, "and it doubles again from there");
}

Test(backoff, a_run_just_short_of_ran_well_usec_keeps_doubling)
{
        struct backoff b = { .first_usec = 1 * SEC, .max_usec = 60 * SEC };

        cr_assert_eq(backoff_next(&b, SHORT), 1 * SEC);
        cr_assert_eq(backoff_next(&b, BACKOFF_RAN_WELL_USEC - 1), 2 * SEC);
}

Test(backoff, a_long_run_after_reaching_the_max_starts_over)
{
        struct backoff b = { .first_usec = 1 * SEC, .max_usec = 4 * SEC };

        for (int i = 0; i < 5; i++)
                (void)backoff_next(&b, SHORT);
        cr_assert_eq(backoff_next(&b, SHORT), 4 * SEC);
        cr_assert_eq(backoff_next(&b, 3600 * SEC), 1 * SEC);
}

Test(backoff, ran_well_usec_is_ten_seconds)
{
        cr_assert_eq(BACKOFF_RAN_WELL_USEC, 10 * SEC);
}

Test(backoff, backoff_reset_makes_the_next_delay_restart_delay)
{
        struct backoff b = { .first_usec = 1 * SEC, .max_usec = 60 * SEC };

        (void)backoff_next(&b, SHORT);
        (void)backoff_next(&b, SHORT);
        (void)backoff_next(&b, SHORT);
        backoff_reset(&b);
        cr_assert_eq(b.next, 0);
        cr_assert_eq(backoff_next(&b, SHORT), 1 * SEC);
        cr_assert_eq(backoff_next(&b, SHORT), 2 * SEC);
}

Test(backoff, backoff_reset_keeps_the_settings)
{
        struct backoff b = { .first_usec = 3 * SEC, .max_usec = 7 * SEC };

        (void)backoff_next(&b, SHORT);
        backoff_reset(&b);
        cr_assert_eq(b.first_usec, 3 * SEC);
        cr_assert_eq(b.max_usec, 7 * SEC);
}

Test(backoff, a_restart_delay_changed_in_place_takes_effect_after_a_reset)
{
        struct backoff b = { .first_usec = 1 * SEC, .max_usec = 60 * SEC };

        (void)backoff_next(&b, SHORT);
        b.first_usec = 5 * SEC;
        cr_assert_eq(backoff_next(&b, SHORT), 2 * SEC, "the doubling goes on");
        backoff_reset(&b);
        cr_assert_eq(backoff_next(&b, SHORT), 5 * SEC);
}

Test(backoff, restart_delay_0_restarts_at_once_every_time)
{
        struct backoff b = { .first_usec = 0, .max_usec = 10 * SEC };

        for (int i = 0; i < 3; i++)
                cr_assert_eq(backoff_next(&b, SHORT), 0, "restart %d", i);
}
