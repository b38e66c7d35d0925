/* Admission of a connection: a socket's allow lists and a worker's per-uid
 * counts (max-per-user). Pure: no I/O, the caller acts on the answer. */
#ifndef USD_ADMIT_H
#define USD_ADMIT_H

#include <stdbool.h>
#include <sys/types.h>

#include "config/config.h"
#include "unixsock.h"

#define UIDTAB_BUCKETS 64

/* How many connections of each uid a worker holds: only uids with one or more. */
struct uidtab {
        struct uidcount *buckets[UIDTAB_BUCKETS];
};

unsigned uidtab_count(const struct uidtab *t, uid_t uid);
/* 0, or -ENOMEM (the uid is then not counted). */
int uidtab_inc(struct uidtab *t, uid_t uid);
void uidtab_dec(struct uidtab *t, uid_t uid);
void uidtab_clear(struct uidtab *t);
/* Moves one count of uid from one table to another (a connection handed to
 * another worker). */
void uidtab_move(struct uidtab *from, struct uidtab *to, uid_t uid);

enum admit {
        ADMIT_OK,
        ADMIT_NOT_ALLOWED,              /* not in allow-users / allow-groups */
        ADMIT_MAX_PER_USER,             /* its uid holds max-per-user connections */
};

/* May peer, whose supplementary groups are groups[0..n_groups) (SO_PEERGROUPS;
 * none needed unless admit_needs_groups()), connect through cs to cw, whose
 * connections per uid are in t? allow-groups matches the primary group or
 * any supplementary one, as the kernel's check of the socket file does. */
enum admit admit_check(const struct cfg_socket *cs, const struct cfg_worker *cw, const struct uidtab *t,
                       const struct us_peer *peer, const gid_t *groups, size_t n_groups);
/* Do its supplementary groups decide: allow-groups is set, and neither its
 * uid nor its primary group is allowed? (Most peers need no look-up.) */
bool admit_needs_groups(const struct cfg_socket *cs, const struct us_peer *peer);
/* Why, as the refusal's log line says it. */
const char *admit_to_string(enum admit a);

#endif
