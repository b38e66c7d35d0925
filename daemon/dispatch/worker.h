/* One [worker:]: its launcher, counts, capacity, and the gates of the sockets
 * that hand it connections. The modes (spawn.c, pool.c, listener.c) build on it. */
#ifndef USD_WORKER_H
#define USD_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "counters.h"
#include "dispatch/admit.h"
#include "process/cgroup.h"
#include "process/launch.h"
#include "process/member.h"
#include "process/proctab.h"
#include "unixsock.h"

/* Why a worker's sockets must not accept now: the gate they ask. */
enum {
        GATE_CAPACITY = 1 << 0,         /* at instances (spawn), queue full (pool) */
        GATE_ACTIVE = 1 << 1,           /* listener: its process has the sockets */
        GATE_FAILED = 1 << 2,           /* listener: failed, restart = never */
};

/* A socket that hands connections to a worker: what the worker knows of it. */
struct port {
        const char *name;               /* the socket's name, valid while attached */
        struct us_listener *listener;   /* listener dispatch hands it over */
        void (*gate_changed)(void *userdata);
        void *userdata;
};

struct worker;
/* The worker that now serves the socket called name (a reload's successor), or NULL. */
typedef struct worker *(*worker_successor_fn)(void *userdata, const char *socket);

struct worker {
        const struct cfg_worker *cfg;
        struct launcher launcher;
        struct counters *counters;
        struct proctab *procs;
        sd_event *event;
        worker_successor_fn successor;
        void *successor_userdata;
        struct port *ports;
        size_t n_ports, cap_ports;
        unsigned gate;
        struct uidtab uids;
        unsigned running;               /* spawn: processes running */
        unsigned n_queued;              /* pool: accepted, waiting for a process */
        struct {                        /* spawn; read by the top (control socket) */
                unsigned long spawned, failed;
        } counts;
        struct member **members;        /* pool and listener: its long-running processes */
        size_t n_members;
        void *mode;                     /* the mode's own state */
        struct cgroup *cgroup;          /* its processes' cgroup (launcher.cgroup_fd); NULL: none */
};

struct worker_env {
        sd_event *event;
        struct proctab *procs;
        struct counters *counters;
        worker_successor_fn successor;
        void *successor_userdata;
        uint64_t stop_timeout_usec;
        struct cgroup_tree *cgroups;    /* where its cgroup is made (none if not delegated) */
};

/* 0, or -ENOMEM, or why its cgroup could not be made (logged). */
int worker_init(struct worker *w, const struct cfg_worker *cw, const struct worker_env *env);
void worker_done(struct worker *w);

int worker_attach(struct worker *w, const struct port *p);
void worker_detach(struct worker *w, void *userdata);
/* Sets or clears a gate reason; the sockets hear of a change. */
void worker_set_gate(struct worker *w, unsigned reason, bool on);
unsigned worker_members_up(const struct worker *w);
unsigned long worker_restarts(const struct worker *w);
bool worker_ending(const struct worker *w);
uint64_t worker_now(const struct worker *w);
/* "name1:name2" of its sockets, for UNIXSOCKD_SOCKET and LISTEN_FDNAMES. */
void worker_socket_names(const struct worker *w, char *buf, size_t size);
/* A log context for a connection of this worker from socket. */
struct log_ctx worker_ctx(const struct worker *w, const char *socket, const struct us_peer *peer);

#endif
