/* The control socket: unixsockctl's requests (unixsockctl(1) has the
 * protocol), read without ever blocking the loop, checked against the
 * peer's credentials, answered in JSON. What a request does is the
 * daemon's: it comes back up through struct control_ops. */
#ifndef USD_CONTROL_H
#define USD_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include <json-c/json.h>

#define CONTROL_PROTOCOL "unixsockd/1"
#define CONTROL_LINE_MAX 4096           /* a request line, "\n" included */
#define CONTROL_CLIENTS_MAX 16          /* at once; more wait in the backlog */
#define CONTROL_DEADLINE_USEC (5 * 1000000ULL)  /* from accept to the answer written */

struct control;

/* Each returns 0 and fills answer (an object: "ok", "protocol" are added),
 * or a negative errno with *error set (a static or answer-owned string). */
struct control_ops {
        int (*status)(void *userdata, char *const *names, size_t n, json_object *answer, const char **error);
        int (*reload)(void *userdata, json_object *answer, const char **error);
        int (*restart)(void *userdata, const char *worker, const char **error);
        int (*pause)(void *userdata, const char *socket, bool paused, const char **error);
        /* After the answer went out. */
        void (*stop)(void *userdata);
        void *userdata;
};

/* Who sent a request, as SO_PEERCRED and SO_PEERGROUPS said. */
struct control_peer {
        uid_t uid;
        pid_t pid;
        bool in_group;                  /* in control-group, primary or supplementary */
};

/* The answer to one request line (NUL-terminated, without its newline) from
 * p: one JSON object and "\n", malloc'd, NULL when out of memory. error set:
 * the line is not read, the answer is that error. *ret_stop: the request was
 * stop, to be done once the answer is out. The fuzzer's entry too. */
char *control_answer(const struct control_ops *ops, const struct control_peer *p, char *line,
                     const char *error, bool *ret_stop);

/* Listens on path, mode 0600 owned by the daemon, or 0660 with group gid if
 * has_group. 0, or a negative errno (logged). */
int control_open(sd_event *e, const char *path, bool has_group, gid_t gid, const struct control_ops *ops,
                 struct control **ret);
struct control *control_free(struct control *c);
/* Whether c listens on path with that group: a reload that changes neither keeps it. */
bool control_is(const struct control *c, const char *path, bool has_group, gid_t gid);

#endif
