/* Allow lists and per-uid counts: who may be served, decided without I/O. */
#include <errno.h>
#include <stdlib.h>

#include "admit.h"

struct uidcount {
        uid_t uid;
        unsigned n;
        struct uidcount *next;
};

static struct uidcount **slot(const struct uidtab *t, uid_t uid)
{
        struct uidcount **u = (struct uidcount **)&t->buckets[uid % UIDTAB_BUCKETS];

        while (*u && (*u)->uid != uid)
                u = &(*u)->next;
        return u;
}

unsigned uidtab_count(const struct uidtab *t, uid_t uid)
{
        struct uidcount *u = *slot(t, uid);

        return u ? u->n : 0;
}

int uidtab_inc(struct uidtab *t, uid_t uid)
{
        struct uidcount **s = slot(t, uid);

        if (!*s) {
                *s = calloc(1, sizeof(**s));
                if (!*s)
                        return -ENOMEM;
                (*s)->uid = uid;
        }
        (*s)->n++;
        return 0;
}

void uidtab_dec(struct uidtab *t, uid_t uid)
{
        struct uidcount **s = slot(t, uid), *u = *s;

        if (u && --u->n == 0) {
                *s = u->next;
                free(u);
        }
}

void uidtab_move(struct uidtab *from, struct uidtab *to, uid_t uid)
{
        uidtab_dec(from, uid);
        (void)uidtab_inc(to, uid);
}

void uidtab_clear(struct uidtab *t)
{
        for (size_t i = 0; i < UIDTAB_BUCKETS; i++) {
                for (struct uidcount *u = t->buckets[i], *next; u; u = next) {
                        next = u->next;
                        free(u);
                }
                t->buckets[i] = NULL;
        }
}

static bool gid_allowed(const struct cfg_socket *cs, gid_t gid)
{
        for (size_t i = 0; i < cs->n_allow_gids; i++)
                if (cs->allow_gids[i] == gid)
                        return true;
        return false;
}

/* Allowed by uid or by primary group, with no look at the others. */
static bool allowed_by_ids(const struct cfg_socket *cs, const struct us_peer *peer)
{
        if (!cs->n_allow_uids && !cs->n_allow_gids)
                return true;
        for (size_t i = 0; i < cs->n_allow_uids; i++)
                if (cs->allow_uids[i] == peer->uid)
                        return true;
        return gid_allowed(cs, peer->gid);
}

bool admit_needs_groups(const struct cfg_socket *cs, const struct us_peer *peer)
{
        return cs->n_allow_gids && !allowed_by_ids(cs, peer);
}

/* As the kernel's permission check on a file: the group class is the
 * primary group and every supplementary one. */
static bool peer_allowed(const struct cfg_socket *cs, const struct us_peer *peer, const gid_t *groups,
                         size_t n_groups)
{
        if (allowed_by_ids(cs, peer))
                return true;
        for (size_t i = 0; i < n_groups; i++)
                if (gid_allowed(cs, groups[i]))
                        return true;
        return false;
}

enum admit admit_check(const struct cfg_socket *cs, const struct cfg_worker *cw, const struct uidtab *t,
                       const struct us_peer *peer, const gid_t *groups, size_t n_groups)
{
        if (!peer_allowed(cs, peer, groups, n_groups))
                return ADMIT_NOT_ALLOWED;
        if (cw->max_per_user && uidtab_count(t, peer->uid) >= cw->max_per_user)
                return ADMIT_MAX_PER_USER;
        return ADMIT_OK;
}

const char *admit_to_string(enum admit a)
{
        switch (a) {
        case ADMIT_NOT_ALLOWED:
                return "not in allow-users/allow-groups";
        case ADMIT_MAX_PER_USER:
                return "max-per-user reached";
        default:
                return "admitted";
        }
}
