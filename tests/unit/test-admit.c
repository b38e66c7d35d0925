/* Admission: a socket's allow-users / allow-groups, a worker's max-per-user
 * with its table of connections per uid, and the refusal texts. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "dispatch/admit.h"

#define NOBODY 65534

static struct us_peer peer(uid_t uid, gid_t gid)
{
        return (struct us_peer){ .pid = 4242, .uid = uid, .gid = gid };
}

/* ---- allow-users / allow-groups ------------------------------------------ */

static uid_t uids[] = { 1000, 1001 };
static gid_t gids[] = { 100, 27 };

Test(admit, with_no_allow_list_everyone_is_admitted)
{
        struct cfg_socket cs = { 0 };
        struct cfg_worker cw = { 0 };
        struct uidtab t = { 0 };
        struct us_peer p0 = peer(0, 0), p1 = peer(NOBODY, NOBODY), p2 = peer(1000, 1000);

        cr_assert_eq(admit_check(&cs, &cw, &t, &p0, NULL, 0), ADMIT_OK);
        cr_assert_eq(admit_check(&cs, &cw, &t, &p1, NULL, 0), ADMIT_OK);
        cr_assert_eq(admit_check(&cs, &cw, &t, &p2, NULL, 0), ADMIT_OK);
}

Test(admit, a_uid_in_allow_users_is_admitted)
{
        struct cfg_socket cs = { .allow_uids = uids, .n_allow_uids = 2 };
        struct cfg_worker cw = { 0 };
        struct uidtab t = { 0 };
        struct us_peer a = peer(1000, 5000), b = peer(1001, 5000);

        cr_assert_eq(admit_check(&cs, &cw, &t, &a, NULL, 0), ADMIT_OK);
        cr_assert_eq(admit_check(&cs, &cw, &t, &b, NULL, 0), ADMIT_OK);
}

Test(admit, a_uid_not_in_allow_users_is_not_allowed)
{
        struct cfg_socket cs = { .allow_uids = uids, .n_allow_uids = 2 };
        struct cfg_worker cw = { 0 };
        struct uidtab t = { 0 };
        struct us_peer p = peer(1002, 1000), r = peer(0, 0);

        cr_assert_eq(admit_check(&cs, &cw, &t, &p, NULL, 0), ADMIT_NOT_ALLOWED, "its gid equal to an allowed uid does not count");
        cr_assert_eq(admit_check(&cs, &cw, &t, &r, NULL, 0), ADMIT_NOT_ALLOWED, "root is not special");
}

Test(admit, a_primary_gid_in_allow_groups_is_admitted)
{
        struct cfg_socket cs = { .allow_gids = gids, .n_allow_gids = 2 };
        struct cfg_worker cw = { 0 };
        struct uidtab t = { 0 };
        struct us_peer a = peer(5000, 100), b = peer(5001, 27);

        cr_assert_eq(admit_check(&cs, &cw, &t, &a, NULL, 0), ADMIT_OK);
        cr_assert_eq(admit_check(&cs, &cw, &t, &b, NULL, 0), ADMIT_OK);
}

Test(admit, a_supplementary_group_in_allow_groups_admits_as_the_kernel_file_check_does)
{
        struct cfg_socket cs = { .allow_gids = gids, .n_allow_gids = 2 };
        struct cfg_worker cw = { 0 };
        struct uidtab t = { 0 };
        struct us_peer p = peer(5000, 5000);
        gid_t docker[] = { 4, 24, 27 }, other[] = { 4, 24, 46 };

        cr_assert(admit_needs_groups(&cs, &p), "its primary group is not allowed: its others decide");
        cr_assert_eq(admit_check(&cs, &cw, &t, &p, docker, 3), ADMIT_OK, "27 is its last supplementary group");
        cr_assert_eq(admit_check(&cs, &cw, &t, &p, other, 3), ADMIT_NOT_ALLOWED);
        cr_assert_eq(admit_check(&cs, &cw, &t, &p, NULL, 0), ADMIT_NOT_ALLOWED, "groups that could not be read");
}

Test(admit, supplementary_groups_are_looked_at_only_when_they_decide)
{
        struct cfg_socket users = { .allow_uids = uids, .n_allow_uids = 2 };
        struct cfg_socket groups = { .allow_gids = gids, .n_allow_gids = 2 };
        struct cfg_socket both = { .allow_uids = uids, .n_allow_uids = 2, .allow_gids = gids, .n_allow_gids = 2 };
        struct cfg_socket none = { 0 };
        struct us_peer stranger = peer(5000, 5000), by_uid = peer(1000, 5000), by_gid = peer(5000, 100);

        cr_assert_not(admit_needs_groups(&none, &stranger), "no allow list");
        cr_assert_not(admit_needs_groups(&users, &stranger), "allow-users alone: groups never admit");
        cr_assert_not(admit_needs_groups(&both, &by_uid), "admitted by its uid");
        cr_assert_not(admit_needs_groups(&groups, &by_gid), "admitted by its primary group");
        cr_assert(admit_needs_groups(&both, &stranger));
}

Test(admit, a_supplementary_group_never_counts_against_allow_users)
{
        struct cfg_socket cs = { .allow_uids = uids, .n_allow_uids = 2 };
        struct cfg_worker cw = { 0 };
        struct uidtab t = { 0 };
        struct us_peer p = peer(5000, 5000);
        gid_t g[] = { 1000, 1001 };

        cr_assert_eq(admit_check(&cs, &cw, &t, &p, g, 2), ADMIT_NOT_ALLOWED, "gids equal to allowed uids");
}

Test(admit, a_gid_not_in_allow_groups_is_not_allowed)
{
        struct cfg_socket cs = { .allow_gids = gids, .n_allow_gids = 2 };
        struct cfg_worker cw = { 0 };
        struct uidtab t = { 0 };
        struct us_peer p = peer(100, 5000);

        cr_assert_eq(admit_check(&cs, &cw, &t, &p, NULL, 0), ADMIT_NOT_ALLOWED, "its uid equal to an allowed gid does not count");
}

Test(admit, with_both_lists_either_a_uid_or_a_gid_match_admits)
{
        struct cfg_socket cs = { .allow_uids = uids, .n_allow_uids = 2, .allow_gids = gids, .n_allow_gids = 2 };
        struct cfg_worker cw = { 0 };
        struct uidtab t = { 0 };
        struct us_peer by_uid = peer(1001, 9), by_gid = peer(9, 27), both = peer(1000, 100), neither = peer(9, 9);

        cr_assert_eq(admit_check(&cs, &cw, &t, &by_uid, NULL, 0), ADMIT_OK);
        cr_assert_eq(admit_check(&cs, &cw, &t, &by_gid, NULL, 0), ADMIT_OK);
        cr_assert_eq(admit_check(&cs, &cw, &t, &both, NULL, 0), ADMIT_OK);
        cr_assert_eq(admit_check(&cs, &cw, &t, &neither, NULL, 0), ADMIT_NOT_ALLOWED);
}

Test(admit, an_allow_users_list_alone_does_not_let_any_group_in)
{
        static uid_t one[] = { 1000 };
        struct cfg_socket cs = { .allow_uids = one, .n_allow_uids = 1 };
        struct cfg_worker cw = { 0 };
        struct uidtab t = { 0 };
        struct us_peer p = peer(1001, 1000);

        cr_assert_eq(admit_check(&cs, &cw, &t, &p, NULL, 0), ADMIT_NOT_ALLOWED);
}

Test(admit, the_last_entry_of_a_list_matches_too)
{
        static uid_t u[] = { 1, 2, 3, 4, 5 };
        static gid_t g[] = { 10, 20, 30 };
        struct cfg_socket cs = { .allow_uids = u, .n_allow_uids = 5, .allow_gids = g, .n_allow_gids = 3 };
        struct cfg_worker cw = { 0 };
        struct uidtab t = { 0 };
        struct us_peer a = peer(5, 0), b = peer(0, 30), c = peer(6, 31);

        cr_assert_eq(admit_check(&cs, &cw, &t, &a, NULL, 0), ADMIT_OK);
        cr_assert_eq(admit_check(&cs, &cw, &t, &b, NULL, 0), ADMIT_OK);
        cr_assert_eq(admit_check(&cs, &cw, &t, &c, NULL, 0), ADMIT_NOT_ALLOWED);
}

/* ---- max-per-user -------------------------------------------------------- */

Test(admit, max_per_user_0_is_no_limit)
{
        struct cfg_socket cs = { 0 };
        struct cfg_worker cw = { .max_per_user = 0 };
        struct uidtab t = { 0 };
        struct us_peer p = peer(1000, 1000);

        for (int i = 0; i < 100; i++)
                cr_assert_eq(uidtab_inc(&t, 1000), 0);
        cr_assert_eq(admit_check(&cs, &cw, &t, &p, NULL, 0), ADMIT_OK);
        uidtab_clear(&t);
}

Test(admit, a_uid_holding_max_per_user_connections_is_refused)
{
        struct cfg_socket cs = { 0 };
        struct cfg_worker cw = { .max_per_user = 2 };
        struct uidtab t = { 0 };
        struct us_peer p = peer(1000, 1000);

        cr_assert_eq(admit_check(&cs, &cw, &t, &p, NULL, 0), ADMIT_OK, "0 held");
        uidtab_inc(&t, 1000);
        cr_assert_eq(admit_check(&cs, &cw, &t, &p, NULL, 0), ADMIT_OK, "1 held");
        uidtab_inc(&t, 1000);
        cr_assert_eq(admit_check(&cs, &cw, &t, &p, NULL, 0), ADMIT_MAX_PER_USER, "2 held");
        uidtab_inc(&t, 1000);
        cr_assert_eq(admit_check(&cs, &cw, &t, &p, NULL, 0), ADMIT_MAX_PER_USER, "3 held");
        uidtab_clear(&t);
}

Test(admit, max_per_user_counts_each_uid_on_its_own)
{
        struct cfg_socket cs = { 0 };
        struct cfg_worker cw = { .max_per_user = 1 };
        struct uidtab t = { 0 };
        struct us_peer a = peer(1000, 1000), b = peer(1064, 1000);

        uidtab_inc(&t, 1000);
        cr_assert_eq(admit_check(&cs, &cw, &t, &a, NULL, 0), ADMIT_MAX_PER_USER);
        cr_assert_eq(admit_check(&cs, &cw, &t, &b, NULL, 0), ADMIT_OK, "same bucket, other uid, same gid");
        uidtab_clear(&t);
}

Test(admit, a_uid_back_under_max_per_user_is_admitted_again)
{
        struct cfg_socket cs = { 0 };
        struct cfg_worker cw = { .max_per_user = 1 };
        struct uidtab t = { 0 };
        struct us_peer p = peer(1000, 1000);

        uidtab_inc(&t, 1000);
        cr_assert_eq(admit_check(&cs, &cw, &t, &p, NULL, 0), ADMIT_MAX_PER_USER);
        uidtab_dec(&t, 1000);
        cr_assert_eq(admit_check(&cs, &cw, &t, &p, NULL, 0), ADMIT_OK);
}

Test(admit, not_allowed_is_said_before_max_per_user)
{
        static uid_t one[] = { 1 };
        struct cfg_socket cs = { .allow_uids = one, .n_allow_uids = 1 };
        struct cfg_worker cw = { .max_per_user = 1 };
        struct uidtab t = { 0 };
        struct us_peer p = peer(1000, 1000);

        uidtab_inc(&t, 1000);
        cr_assert_eq(admit_check(&cs, &cw, &t, &p, NULL, 0), ADMIT_NOT_ALLOWED);
        uidtab_clear(&t);
}

Test(admit, an_allowed_uid_at_max_per_user_is_refused_for_max_per_user)
{
        static gid_t g[] = { 100 };
        struct cfg_socket cs = { .allow_gids = g, .n_allow_gids = 1 };
        struct cfg_worker cw = { .max_per_user = 3 };
        struct uidtab t = { 0 };
        struct us_peer p = peer(1000, 100);

        for (int i = 0; i < 3; i++)
                uidtab_inc(&t, 1000);
        cr_assert_eq(admit_check(&cs, &cw, &t, &p, NULL, 0), ADMIT_MAX_PER_USER);
        uidtab_clear(&t);
}

/* ---- the uid table ------------------------------------------------------- */

Test(uidtab, an_empty_table_counts_0_for_every_uid)
{
        struct uidtab t = { 0 };

        cr_assert_eq(uidtab_count(&t, 0), 0);
        cr_assert_eq(uidtab_count(&t, 1000), 0);
        cr_assert_eq(uidtab_count(&t, (uid_t)-1), 0);
}

Test(uidtab, inc_counts_up_and_dec_counts_down)
{
        struct uidtab t = { 0 };

        cr_assert_eq(uidtab_inc(&t, 1000), 0);
        cr_assert_eq(uidtab_inc(&t, 1000), 0);
        cr_assert_eq(uidtab_inc(&t, 1000), 0);
        cr_assert_eq(uidtab_count(&t, 1000), 3);
        uidtab_dec(&t, 1000);
        cr_assert_eq(uidtab_count(&t, 1000), 2);
        uidtab_clear(&t);
}

Test(uidtab, uids_in_different_buckets_are_counted_apart)
{
        struct uidtab t = { 0 };

        uidtab_inc(&t, 0);
        uidtab_inc(&t, 1);
        uidtab_inc(&t, 1);
        uidtab_inc(&t, (uid_t)-2);
        cr_assert_eq(uidtab_count(&t, 0), 1);
        cr_assert_eq(uidtab_count(&t, 1), 2);
        cr_assert_eq(uidtab_count(&t, (uid_t)-2), 1);
        cr_assert_eq(uidtab_count(&t, 2), 0);
        uidtab_clear(&t);
}

Test(uidtab, decrement_to_zero_frees_the_entry)
{
        struct uidtab t = { 0 };

        uidtab_inc(&t, 1000);
        uidtab_inc(&t, 1000);
        cr_assert_not_null(t.buckets[1000 % UIDTAB_BUCKETS]);
        uidtab_dec(&t, 1000);
        cr_assert_not_null(t.buckets[1000 % UIDTAB_BUCKETS], "1 left");
        uidtab_dec(&t, 1000);
        cr_assert_null(t.buckets[1000 % UIDTAB_BUCKETS], "0 left: no entry");
        cr_assert_eq(uidtab_count(&t, 1000), 0);
}

Test(uidtab, dec_of_an_absent_uid_does_nothing)
{
        struct uidtab t = { 0 };

        uidtab_dec(&t, 1000);
        cr_assert_eq(uidtab_count(&t, 1000), 0);
        for (size_t i = 0; i < UIDTAB_BUCKETS; i++)
                cr_assert_null(t.buckets[i]);
        uidtab_inc(&t, 1064);
        uidtab_dec(&t, 1000);          /* same bucket, absent */
        cr_assert_eq(uidtab_count(&t, 1064), 1);
        cr_assert_eq(uidtab_count(&t, 1000), 0);
        uidtab_clear(&t);
}

Test(uidtab, inc_after_freeing_starts_again_at_1)
{
        struct uidtab t = { 0 };

        uidtab_inc(&t, 7);
        uidtab_dec(&t, 7);
        uidtab_inc(&t, 7);
        cr_assert_eq(uidtab_count(&t, 7), 1);
        uidtab_clear(&t);
}

#define NCOLL 20
/* uid, uid+64, uid+128 ...: one bucket */
Test(uidtab, many_uids_in_one_bucket_are_counted_apart)
{
        struct uidtab t = { 0 };
        const uid_t base = 1000;

        for (unsigned i = 0; i < NCOLL; i++)
                for (unsigned k = 0; k <= i; k++)
                        cr_assert_eq(uidtab_inc(&t, base + i * UIDTAB_BUCKETS), 0);
        for (unsigned i = 0; i < NCOLL; i++)
                cr_assert_eq(uidtab_count(&t, base + i * UIDTAB_BUCKETS), i + 1, "uid %u",
                             base + i * UIDTAB_BUCKETS);
        for (size_t b = 0; b < UIDTAB_BUCKETS; b++)
                if (b != base % UIDTAB_BUCKETS)
                        cr_assert_null(t.buckets[b], "bucket %zu", b);
        uidtab_clear(&t);
}

Test(uidtab, freeing_one_of_a_bucket_keeps_the_others_before_and_after_it)
{
        struct uidtab t = { 0 };
        const uid_t base = 5;

        for (unsigned i = 0; i < NCOLL; i++) {
                uidtab_inc(&t, base + i * UIDTAB_BUCKETS);
                uidtab_inc(&t, base + i * UIDTAB_BUCKETS);
        }
        /* the first in, a middle one, the last in: each down to 0 */
        const unsigned gone[] = { 0, NCOLL / 2, NCOLL - 1 };
        for (size_t g = 0; g < 3; g++) {
                uidtab_dec(&t, base + gone[g] * UIDTAB_BUCKETS);
                uidtab_dec(&t, base + gone[g] * UIDTAB_BUCKETS);
        }
        for (unsigned i = 0; i < NCOLL; i++) {
                bool is_gone = i == gone[0] || i == gone[1] || i == gone[2];
                cr_assert_eq(uidtab_count(&t, base + i * UIDTAB_BUCKETS), is_gone ? 0 : 2, "uid %u",
                             base + i * UIDTAB_BUCKETS);
        }
        /* all the others down to 0: the bucket is empty */
        for (unsigned i = 0; i < NCOLL; i++)
                if (i != gone[0] && i != gone[1] && i != gone[2]) {
                        uidtab_dec(&t, base + i * UIDTAB_BUCKETS);
                        uidtab_dec(&t, base + i * UIDTAB_BUCKETS);
                }
        cr_assert_null(t.buckets[base % UIDTAB_BUCKETS]);
}

Test(uidtab, clear_empties_every_bucket)
{
        struct uidtab t = { 0 };

        for (uid_t u = 0; u < 1000; u += 7)
                uidtab_inc(&t, u);
        uidtab_clear(&t);
        for (size_t i = 0; i < UIDTAB_BUCKETS; i++)
                cr_assert_null(t.buckets[i], "bucket %zu", i);
        cr_assert_eq(uidtab_count(&t, 0), 0);
        cr_assert_eq(uidtab_count(&t, 994), 0);
        /* usable again */
        uidtab_inc(&t, 994);
        cr_assert_eq(uidtab_count(&t, 994), 1);
        uidtab_clear(&t);
}

Test(uidtab, clear_of_an_empty_table_is_fine)
{
        struct uidtab t = { 0 };

        uidtab_clear(&t);
        for (size_t i = 0; i < UIDTAB_BUCKETS; i++)
                cr_assert_null(t.buckets[i]);
}

Test(uidtab, move_takes_one_count_from_one_table_to_the_other)
{
        struct uidtab a = { 0 }, b = { 0 };

        uidtab_inc(&a, 1000);
        uidtab_inc(&a, 1000);
        uidtab_inc(&b, 1000);
        uidtab_move(&a, &b, 1000);
        cr_assert_eq(uidtab_count(&a, 1000), 1);
        cr_assert_eq(uidtab_count(&b, 1000), 2);
        uidtab_move(&a, &b, 1000);
        cr_assert_eq(uidtab_count(&a, 1000), 0);
        cr_assert_null(a.buckets[1000 % UIDTAB_BUCKETS], "its last count moved: no entry left");
        cr_assert_eq(uidtab_count(&b, 1000), 3);
        uidtab_clear(&b);
}

Test(uidtab, move_leaves_other_uids_alone)
{
        struct uidtab a = { 0 }, b = { 0 };

        uidtab_inc(&a, 1000);
        uidtab_inc(&a, 1064);
        uidtab_inc(&b, 1128);
        uidtab_move(&a, &b, 1064);
        cr_assert_eq(uidtab_count(&a, 1000), 1);
        cr_assert_eq(uidtab_count(&a, 1064), 0);
        cr_assert_eq(uidtab_count(&b, 1064), 1);
        cr_assert_eq(uidtab_count(&b, 1128), 1);
        cr_assert_eq(uidtab_count(&b, 1000), 0);
        uidtab_clear(&a);
        uidtab_clear(&b);
}

/* As the daemon did: the new worker counts it even if the old had not. */
Test(uidtab, move_of_a_uid_the_source_does_not_hold_still_counts_it_in_the_target)
{
        struct uidtab a = { 0 }, b = { 0 };

        uidtab_move(&a, &b, 1000);
        cr_assert_eq(uidtab_count(&a, 1000), 0);
        cr_assert_eq(uidtab_count(&b, 1000), 1);
        uidtab_clear(&b);
}

/* ---- the texts of the log lines ------------------------------------------ */

Test(admit_to_string, not_allowed_is_said_as_the_log_line_says_it)
{
        cr_assert_str_eq(admit_to_string(ADMIT_NOT_ALLOWED), "not in allow-users/allow-groups");
}

Test(admit_to_string, max_per_user_is_said_as_the_log_line_says_it)
{
        cr_assert_str_eq(admit_to_string(ADMIT_MAX_PER_USER), "max-per-user reached");
}

Test(admit_to_string, ok_is_admitted)
{
        cr_assert_str_eq(admit_to_string(ADMIT_OK), "admitted");
}
