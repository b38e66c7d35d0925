/* What the configuration asks of the system: users, groups and their members
 * (NSS) and whether a path is a program (the file system), behind one small
 * interface, so that tests and the fuzzer can put a fixed table in its place. */
#ifndef USD_RESOLVE_H
#define USD_RESOLVE_H

#include <stddef.h>
#include <sys/types.h>

/* Errors: every int function returns 0 or a negative errno, and writes ret_*
 * only on success. -ENOENT always means "there is no such entry or file",
 * apart from a look-up that failed (-EIO, -ENOMEM, ...), so that a caller can
 * tell "unknown user" from "cannot look it up". */

/* More groups than this for one user is an error (-E2BIG): the kernel's
 * NGROUPS_MAX. */
#define RESOLVE_GROUPS_MAX 65536

struct resolve_user {
        uid_t uid;
        gid_t gid;                      /* its primary group */
        char *name;                     /* as the database spells it; the caller frees it */
};

struct resolver {
        int (*user_by_name)(void *userdata, const char *name, struct resolve_user *ret);
        int (*user_by_uid)(void *userdata, uid_t uid, struct resolve_user *ret);
        int (*group_by_name)(void *userdata, const char *name, gid_t *ret);
        /* The groups initgroups(user, group) would give: group first, then
         * every group that lists user. *ret is malloc'd, *ret_n >= 1. */
        int (*group_list)(void *userdata, const char *user, gid_t group, gid_t **ret, size_t *ret_n);
        /* 0 if path is a regular file this process may execute; else -ENOENT,
         * -EISDIR (a directory), -EACCES (another kind of file, or no execute
         * permission), or what stat(2) or access(2) said. */
        int (*executable)(void *userdata, const char *path);
        /* 0 if path is a directory (symbolic links followed); else -ENOENT
         * (it, or a directory above it, does not exist), -ENOTDIR (it, or
         * one above it, is another kind of file), or what stat(2) said. */
        int (*directory)(void *userdata, const char *path);
        /* Where a command's bare name is looked up (':'-separated);
         * NULL: RESOLVE_SEARCH_PATH. */
        const char *search_path;
        void *userdata;
};

/* The fixed search path of commands: the PATH systemd gives services
 * (systemd-path search-binaries-default of systemd 252 on Debian 12), and
 * what a worker gets when the daemon has no PATH of its own. Never the
 * caller's $PATH: a file that passes --check in a shell also starts under
 * systemd. */
#define RESOLVE_SEARCH_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* glibc's NSS (getpwnam_r, getpwuid_r, getgrnam_r, getgrouplist) and the real
 * file system (stat, access); RESOLVE_SEARCH_PATH. */
extern const struct resolver resolve_system;

/* A resolver in front of inner that asks it each question once and answers
 * again from what it said (errors too, but out of memory): a file that names
 * one user, group or program in a thousand sections asks NSS or the file
 * system once, not a thousand times (each NSS look-up of the files backend
 * opens and reads /etc/passwd or /etc/group). For one load of the
 * configuration: a reload makes a new one, so it sees what changed since.
 * NULL when out of memory. inner must outlive it. */
struct resolve_memo;
struct resolve_memo *resolve_memo_new(const struct resolver *inner);
const struct resolver *resolve_memo_resolver(const struct resolve_memo *m);
void resolve_memo_free(struct resolve_memo *m);

/* The program of a command, as execvp(3) finds it: a name with a '/' must be
 * an absolute path, taken as it is if it is executable (else the error of
 * executable()); a bare name is looked up in the ':'-separated absolute
 * directories of search_path (relative entries are skipped: they would
 * depend on the daemon's working directory), -ENOENT if it is found in none.
 * -EINVAL: name is empty or a relative path. *ret is malloc'd. */
int resolve_program(const struct resolver *r, const char *name, const char *search_path, char **ret);

#endif
