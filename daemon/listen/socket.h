/* One [socket:]: its listener (made, inherited or taken over), the gate
 * that says whether it may accept now, the accept loop that hands each
 * connection down to dispatch, update and retirement at reload. */
#ifndef USD_SOCKET_H
#define USD_SOCKET_H

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "config/config.h"
#include "counters.h"
#include "dispatch/dispatch.h"
#include "ratelimit.h"
#include "unixsock.h"

/* A socket's own reasons not to accept (its worker's are its gate, worker.h). */
enum {
        SOCKET_PAUSE_RESOURCE = 1 << 0,         /* EMFILE and friends: retried on a timer */
        SOCKET_PAUSE_RATE = 1 << 1,             /* rate-limit: this interval's accepts are used up */
        SOCKET_PAUSE_MANUAL = 1 << 2,           /* unixsockctl pause */
};

struct socket {
        const struct cfg_socket *cfg;
        struct worker *w;
        struct us_listener *l;
        sd_event *event;
        struct counters *counters;
        sd_event_source *io, *resume;
        unsigned pause;                 /* its own reasons: SOCKET_PAUSE_* */
        uint64_t paused_since;          /* CLOCK_MONOTONIC; 0: accepting */
        bool attached;                  /* one of w's ports */
        bool nonblock_set;              /* O_NONBLOCK is on, and no worker has had the
                                         * listener (dispatch = listener shares its flags) */
        bool inherited;
        bool published_here;            /* inherited, but a unixsockd published it
                                         * (fd store): its file is ours to remove */
        struct {                        /* read by the top (STATUS=, control socket) */
                unsigned long accepted, refused;
                unsigned long refused_by[_REFUSAL_MAX];
        } counts;
        struct ratelimit refuse_rl, pause_rl;
        struct rate_window rate;
        struct us_listener *replaces;   /* inherited from the fd store, of another type:
                                         * the listener made for s takes its file */
        char *replaces_name;            /* ... and the name it was stored under */
        int pending_fd;                 /* accepted, no process could be made yet */
        struct us_peer pending_peer;
};

/* NULL when out of memory. */
struct socket *socket_new(const struct cfg_socket *cs, struct worker *w, sd_event *e, struct counters *c);
/* l came from the service manager. */
void socket_adopt(struct socket *s, struct us_listener *l);
/* The listening fds the service manager passed go to the sockets they are
 * for: by FileDescriptorName, else by path; any other is logged and closed.
 * One of another type than its section's: from the fd store (the type
 * changed), its socket is made anew over its file; from a socket unit, an
 * error naming both (file is the configuration's, for FILE:LINE): then
 * -EPROTOTYPE, after all are matched. */
int socket_adopt_inherited(struct socket *const *socks, size_t n_socks, const char *file);
/* Its listener is a socket unit's (systemd's): its file, mode and owner are
 * the unit's, and the fd store never holds it. */
bool socket_is_units(const struct socket *s);
/* Makes its listener, not yet watched nor stored; b (or NULL) is the batch
 * of sockets made together (us_listen_batched); replaces (or NULL) is a
 * socket on its path, of another type, whose file it takes if it is the
 * daemon's. 0, or a negative errno (logged). */
int socket_listen(struct socket *s, struct us_listen_batch *b, const struct socket *replaces);
/* Listens unless it does (and then gives the listener to the fd store), and watches it. */
int socket_open(struct socket *s, struct us_listen_batch *b);
/* Tells its worker about it (the worker's sockets in file order: attach in
 * order); nothing if it is attached already. */
int socket_attach(struct socket *s);
/* Its worker forgets it (socket_update() does it too; a reload detaches the
 * sockets it keeps from the last one first, so nothing moves in the worker's list). */
void socket_detach(struct socket *s);
/* from's listener, with its queue, goes to s (a section renamed on the same path). */
void socket_take_over(struct socket *s, struct socket *from);
/* Gives its listener to the fd store under its name, unless it is a socket
 * unit's (which systemd keeps): after a reload made it or took it over, and
 * after the sockets it replaces left the store. */
void socket_store(struct socket *s);
/* A reload kept s: its new section cs and worker w. */
void socket_update(struct socket *s, const struct cfg_socket *cs, struct worker *w);
/* A reload removed it: closed, out of the fd store, its file removed if ours; freed. */
void socket_retire(struct socket *s);
/* The daemon stops: no more accepting. */
void socket_close(struct socket *s);
/* Stops accepting (clients wait in the backlog) or starts again. */
void socket_set_paused(struct socket *s, bool paused);
/* An fd or a process slot came back: a socket paused on EMFILE tries again now. */
void socket_resources_freed(struct socket *s);
void socket_free(struct socket *s);

#endif
