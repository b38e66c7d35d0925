/* libFuzzer target of the daemon's side of the pool channel
 * (daemon/dispatch/pool.c, pool-channel.c): what it does with whatever a
 * worker process writes on its channel (ACK, DONE, garbage, fds sent back,
 * EOF), between connections being dispatched, processes dying, restarting and
 * stopping, a pool that grows and shrinks (instances = MIN-MAX), processes
 * replaced after max-connections and stopped when runtime-max runs out.
 *
 * No process is forked and no socket is bound. Each input builds a pool
 * worker from a small configuration as the daemon does (dispatch_worker_new()
 * with its own sd-event loop, struct proctab and struct counters), attaches
 * one port for the socket "s" whose gate_changed records the worker's gate,
 * and starts it (dispatch_worker_start(): the real member_start() of its MIN
 * processes, channel and all). The configuration is one of configs[], a pool
 * of at most 2 processes (POSITIONS) in each:
 *   0  instances = 2 (the default)
 *   1  instances = 0-2, idle-timeout = 1s
 *   2  instances = 1-2, idle-timeout = 1s, on a seqpacket socket
 *   3  instances = 2, max-connections = 2
 *   4  instances = 2, runtime-max = 2s, on a seqpacket socket
 *   5  instances = 1-2, idle-timeout = 1s, max-connections = 3, runtime-max = 2s
 * With max-connections the pool has 4 slots (p->n): slot i + 2 is slot i's
 * twin, where its successor starts; both are member i % 2 of the pool.
 * The harness plays:
 *   - the processes: exec_spawn() is the harness's own (it replaces
 *     daemon/process/exec.c, whose only function it is, in the daemon's static
 *     library): it forks nothing, keeps a dup of the channel's worker end (the
 *     fd the params put at 3: the slot is the one whose chan_child that is)
 *     and returns FAKE_PID + the slot's index. That is above any pid Linux
 *     gives (PID_MAX_LIMIT, 2^22), so no signal could reach anyone, and
 *     kill() is the harness's own here anyway: it records what the daemon
 *     sent and sends nothing (a kill() to any other pid or group aborts).
 *     shutdown() is the harness's own too, only to see when the daemon
 *     retires a process. Starts happen wherever the daemon makes them: at
 *     start, at a restart, inside drain() (growth, a successor) and so inside
 *     any operation. An exit is what the daemon's SIGCHLD handling does:
 *     proctab_take() then the process's on_exit() with a made-up siginfo
 *     (member.c judges it, the pool's exiting and exited hooks run).
 *   - time: the loop never waits, and its clock is the harness's:
 *     sd_event_now() is its own, FAKE_EPOCH at the start, and moves only when
 *     a timer is due, to that timer's deadline. A timer is due when the input
 *     says: a restart is member_start() called as on_restart() does; any
 *     other timer (ACK timeout, lost timer, runtime timer, the pool's grow
 *     and idle timers) is one iteration of the loop with only that timer due.
 *   - the socket: it hands connections to dispatch_connection() as a struct
 *     accepted naming the configuration's socket, accepts none while the
 *     worker's gate is closed, and closes what is refused.
 *
 * The input's first byte chooses the configuration if it is a STOP with an
 * argument a (not 0): 1 + (a - 1) % 5; else (and that byte is the first
 * operation) it is the default. Then the input is a list of operations, one
 * byte each (kind = b & 7, argument = b >> 3) and the bytes some of them
 * take. A member operand m (0 or 1) names slot m; with 4 slots, slot m or
 * its twin m + 2, as the last STOP focus said (slot m at first):
 *   FRAME    m, fd?, type, batch?  + id byte: a well-formed ACK, DONE or CONN
 *                                  for connection id (1..N are the ones
 *                                  dispatched); or type 3 + a byte x (+ a credit
 *                                  byte for HELLO and CREDIT): x & 7 = ACK then
 *                                  DONE (version 1), HELLO, CREDIT, a version 2
 *                                  ACK, DONE or ACK+DONE listing (x >> 3) + 1
 *                                  ids from id on, HELLO and an ACK in one
 *                                  message, a version 2 ACK; then the channel
 *                                  event (unless batch)
 *   RAW      m, nfds, batch?       + length byte (255: then 2 bytes LE) + bytes:
 *                                  any message, 0 to 2 fds attached
 *   EVENT    m, revents            pool_channel_event(m, revents)
 *   DISPATCH uid, count            count new connections (unless the worker's
 *                                  gate is closed, as its socket's would be),
 *                                  then the end of the wake-up (pool_flush)
 *   READ     m, max                the worker reads up to max messages (of
 *                                  CONN frames, each with its fd)
 *   CLOSE    m, how, event?        the worker closes or shuts down its end
 *   EXIT     m, restart?, status   the process exits (on_exit); or, restart
 *                                  set: one that exited is started again when
 *                                  its restart is due (member_start(), a new
 *                                  channel; with the three status bits set,
 *                                  that start fails as an exec that fails
 *                                  does), and for one running, time passes:
 *                                  its ACK timeout (status bit 0 clear) or its
 *                                  lost timer (set) fires if armed; or if the
 *                                  configuration has it, status bits 1-2 = 1:
 *                                  its runtime timer, 2: the pool's grow
 *                                  timer, 3: the pool's idle timer
 *   STOP     a                     a = 0, or the default configuration: the
 *                                  daemon stops (dispatch_worker_stop); else
 *                                  focus: member a & 1 names its twin if bit 1
 *                                  is set, else its own slot; bit 3 set: the
 *                                  next start fails as an exec that fails
 * Four connections (ids 1 to 4) are dispatched before the first operation: as
 * neither member has spoken yet, each is sent one (1 and 2) and 3 and 4 wait
 * in the queue; in a pool of 0-2, the first starts slot 0 and is sent to it,
 * and as it has not spoken no other starts before the grow timer; in a pool
 * of 1-2 likewise.
 *
 * Checked after every operation: the daemon's bookkeeping (queue and member
 * lists consistent, fd held until ACK and only then, unacked and inflight
 * counts, per-uid counts, no id twice, every connection naming its socket,
 * the process table and the pids, no queued connection while a member could
 * take one, nothing queued in a pool with no process and none to start, the
 * capacity gate and that the port heard of each change), that every CONN a
 * worker reads names a connection dispatched with its own fd and peer, that
 * every start hands the process its channel as fd 3, that a refused
 * connection's fd is left to the socket (open, held by nobody); the pool's
 * size: in each of its places at most one process serving (running and not
 * retired), so never more than MAX, and (unless it is stopping or a process
 * exited and restart= left its place empty) at least MIN places that serve,
 * restart, or hold a hung process; a pool that grows starts no process while
 * another one started has not spoken, unless POOL_GROW_WAIT_USEC passed since
 * the last start, a restart too (this holds for a start that grows the pool:
 * not a restart, nor a successor in a twin's slot); a retired
 * process is half-closed or signalled, being stopped, and is never sent
 * another connection (its worker reads no more than it had been sent then);
 * with max-connections no process is sent more, nor does its worker read
 * more; runtime-max: a process holding connections has its runtime timer
 * armed; every connection taken is held once or over, and once over never
 * held again; and after each input, once everything is freed, that no fd is
 * left open. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/config.h"
#include "dispatch/dispatch.h"
#include "dispatch/pool-channel.h"
#include "log.h"
#include "process/exec.h"
#include "process/proctab.h"
#include "unixsock.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int kill(pid_t pid, int sig);

#define POSITIONS 2              /* instances (a pool's MAX) in every configuration */
#define SLOTS_MAX (2 * POSITIONS) /* with max-connections: slot i + POSITIONS is i's twin */
#define MAX_CONNS 256           /* connections dispatched per input */
#define QUEUE_MAX POOL_QUEUE_MAX /* the capacity gate */
#define UNACKED_MAX POOL_UNACKED_MAX
#define MAX_PER_USER 1000       /* counted, never reached: MAX_CONNS per input */
#define INITIAL_CONNS 4
#define FAKE_PID 0x40000000     /* + slot index: no pid Linux gives (<= 2^22) */
#define FAKE_EPOCH 1000000ULL   /* sd_event_now() when an input starts: 1s of CLOCK_MONOTONIC */

_Static_assert(MAX_PER_USER > MAX_CONNS, "admission must never refuse");

/* max-per-user: so that the worker counts connections per uid (admission
 * never refuses here; the queue's capacity is what is fuzzed). */
#define STR_(x) #x
#define STR(x) STR_(x)
/* A printf format: %s is the socket's type. */
#define CONFIG_HEAD                                     \
        "[unixsockd]\n"                                 \
        "runtime-directory = /run/unixsockd-fuzz\n"     \
        "control = none\n"                              \
        "[socket:s]\n"                                  \
        "path = s.sock\n"                               \
        "worker = w\n"                                  \
        "type = %s\n"                                   \
        "[worker:w]\n"                                  \
        "command = /bin/true\n"                         \
        "dispatch = pool\n"                             \
        "max-per-user = " STR(MAX_PER_USER) "\n"

/* The configurations an input chooses from (its first byte, see above):
 * the pool's size and what it does with its processes. */
static const struct fuzz_config {
        const char *text;
        const char *type;               /* the socket's: its CONN frames say it */
        unsigned min;                   /* instances_min */
        unsigned max_connections;
        bool elastic, runtime_max;
} configs[] = {
        { "instances = 2\n", "stream", 2, 0, false, false },
        { "instances = 0-2\nidle-timeout = 1s\n", "stream", 0, 0, true, false },
        { "instances = 1-2\nidle-timeout = 1s\n", "seqpacket", 1, 0, true, false },
        { "instances = 2\nmax-connections = 2\n", "stream", 2, 2, false, false },
        { "instances = 2\nruntime-max = 2s\n", "seqpacket", 2, 0, false, true },
        { "instances = 1-2\nidle-timeout = 1s\nmax-connections = 3\nruntime-max = 2s\n", "stream", 1, 3, true,
          true },
};
#define N_CONFIGS (sizeof(configs) / sizeof(configs[0]))

static const uid_t uids[4] = { 1000, 1001, 0, 65534 };

enum { K_FRAME, K_RAW, K_EVENT, K_DISPATCH, K_READ, K_CLOSE, K_EXIT, K_STOP };

struct input {
        const uint8_t *p, *end;
};

/* What the harness knows of one process (one start of a slot): the CONN
 * frames its worker read, and what the daemon had sent it (pm->handed) when
 * it was first seen on its way out (pm->retire): it may read no more. */
struct incarnation {
        unsigned reads;                 /* CONN frames its worker read */
        bool retired;                   /* seen with pm->retire != RETIRE_NO */
        unsigned long handed;           /* pm->handed then */
};

struct harness {
        sd_event *e;
        struct config *cfg;
        struct proctab procs;
        struct counters counters;
        struct worker *w;
        unsigned gate;                  /* what the port was last told (gate_changed) */
        const struct fuzz_config *fc;
        unsigned slots;                 /* the pool's p->n: POSITIONS, or SLOTS_MAX with max-connections */
        bool fail_start;                /* the next exec_spawn() fails (then this is false again) */
        int restarting;                 /* the slot the EXIT operation restarts, or -1 */
        bool started;                   /* dispatch_worker_start() returned */
        unsigned abandoned;             /* exits that left their place empty (no restart, not retired) */
        unsigned focus[POSITIONS];      /* 4 slots: which twin a member operand names (0 or 1) */
        uint64_t now;                   /* sd_event_now(): the loop's clock */
        uint64_t last_start;            /* h->now at the last exec_spawn() */
        int wend[SLOTS_MAX];            /* the worker's end of each channel, or -1 */
        bool alive[SLOTS_MAX];          /* a "process" runs: it has not exited */
        unsigned starts[SLOTS_MAX];     /* exec_spawn() calls that made it run */
        struct incarnation inc[SLOTS_MAX];
        bool over[MAX_CONNS + 1];       /* the daemon held it, and no longer does */
        unsigned n_conns;               /* connections the daemon took, ids 1..n_conns */
        unsigned n_offered;             /* connections given to dispatch_connection() */
        struct us_peer peer[MAX_CONNS + 1];
        ino_t ino[MAX_CONNS + 1];       /* of the connection's socket */
};

static int devnull = -1;
static int signalled[SLOTS_MAX];        /* the last signal kill() sent each process group */
static struct harness *cur;             /* for exec_spawn() */

static void check_at(bool ok, const char *what, int line)
{
        if (!ok) {
                fprintf(stderr, "fuzz-channel.c:%d: check failed: %s\n", line, what);
                abort();
        }
}
#define check(x) check_at((x), #x, __LINE__)

static void see_retired(struct harness *h, unsigned i);

/* The daemon's kill(): it only ever signals the process groups of the
 * members' fake processes (pool workers are process group leaders). A
 * runtime-max that runs out makes the process hung (pm->retire) just before
 * its SIGTERM: what it was sent is counted then. */
int kill(pid_t pid, int sig)
{
        for (int i = 0; i < SLOTS_MAX; i++)
                if (pid == -(FAKE_PID + i) || pid == FAKE_PID + i) {
                        if (sig)
                                signalled[i] = sig;
                        if (cur && cur->w && (unsigned)i < cur->slots)
                                see_retired(cur, (unsigned)i);
                        return 0;
                }
        /* kill(0) or kill(-1) would be the daemon signalling itself or everyone */
        check(pid > 0 && pid != getpid());
        return (int)syscall(SYS_kill, pid, sig);        /* not the daemon's: libFuzzer's own */
}

/* The daemon's shutdown(): the harness's own only to see a process retired
 * (pool.c's retire() half-closes its channel right after it sets
 * pm->retire) before anything else happens to it. */
int shutdown(int fd, int how)
{
        if (cur && cur->w && pool_of(cur->w))
                for (unsigned i = 0; i < cur->slots; i++)
                        if (pool_of(cur->w)->pm[i].chan == fd)
                                see_retired(cur, i);
        return (int)syscall(SYS_shutdown, fd, how);
}

/* The loop's clock (worker_now() in daemon/dispatch/worker.c, member_now()
 * in daemon/process/member.c): the harness's own, FAKE_EPOCH when an input
 * starts; it moves only when a timer comes due (fire(), a restart). */
int sd_event_now(sd_event *e, clockid_t clock, uint64_t *usec)
{
        check(cur && e == cur->e && clock == CLOCK_MONOTONIC);
        *usec = cur->now;
        return 0;
}

static unsigned byte(struct input *in)
{
        return in->p < in->end ? *in->p++ : 0;
}

static size_t count_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        size_t n = 0;

        check(d != NULL);
        while ((de = readdir(d)))
                n += de->d_name[0] != '.';
        closedir(d);
        return n - 1; /* the directory's own fd */
}

static void print_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;

        check(d != NULL);
        while ((de = readdir(d))) {
                char path[300], target[300] = "";
                snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
                if (readlink(path, target, sizeof(target) - 1) < 0)
                        continue;
                fprintf(stderr, "fd %s: %s\n", de->d_name, target);
        }
        closedir(d);
}

static bool fd_is_open(int fd)
{
        return fcntl(fd, F_GETFD) >= 0;
}

static struct pool_member *member(struct harness *h, unsigned i)
{
        return &pool_of(h->w)->pm[i];
}

/* The slot a member operand m (0 or 1) names: slot m, or with 4 slots its
 * position's twin that h->focus says. */
static unsigned slot_of(struct harness *h, unsigned m)
{
        return m + (h->slots > POSITIONS ? POSITIONS * h->focus[m] : 0);
}

/* The first time the daemon has process i on its way out: what it was sent
 * until then is all it may ever read. */
static void see_retired(struct harness *h, unsigned i)
{
        struct pool_member *pm = member(h, i);
        struct incarnation *inc = &h->inc[i];

        if (inc->retired || !h->alive[i] || pm->retire == RETIRE_NO)
                return;
        inc->retired = true;
        inc->handed = pm->handed;
        check(inc->reads <= inc->handed);
}

/* ---- what the daemon's state must be --------------------------------------- */

/* fds: whether to check that each fd the daemon holds is open (a syscall
 * each: once per input, not after every operation). */
static void check_state(struct harness *h, bool fds)
{
        struct worker *w = h->w;
        struct pool *p = pool_of(w);
        bool seen[MAX_CONNS + 1] = { false };
        unsigned per_uid[4] = { 0 }, n = 0, n_alive = 0, placed = 0;
        unsigned max_connections = h->fc->max_connections;
        struct conn *prev = NULL;

        check(p != NULL && p->n == h->slots && w->n_members == h->slots && p->positions == POSITIONS);
        for (struct conn *c = p->queue; c; prev = c, c = c->next) {
                check(c->prev == prev);
                check(!c->acked && strcmp(c->socket, "s") == 0);
                check(c->id >= 1 && c->id <= h->n_conns && !seen[c->id]);
                seen[c->id] = true;
                check(c->fd >= 0 && (!fds || fd_is_open(c->fd)));
                n++;
        }
        check(p->queue_tail == prev);
        check(n == w->n_queued);
        for (unsigned i = 0; i < h->slots; i++) {
                struct pool_member *pm = member(h, i);
                struct incarnation *inc = &h->inc[i];
                unsigned unacked = 0, inflight = 0;

                check(pm->w == w && pm->base.index == i % POSITIONS && w->members[i] == &pm->base);
                check(pid_of(pm) == (h->alive[i] ? FAKE_PID + (pid_t)i : 0));
                check(pm->chan_child == -1);    /* only while it starts */
                n_alive += h->alive[i];
                /* a restart is due only for a process that is not running */
                check(!member_restart_pending(&pm->base) || !h->alive[i]);
                /* a lost channel, or one on its way out, is a running process being stopped */
                if (pm->lost != LOST_NO)
                        check(h->alive[i] && (pm->chan < 0 || pm->retire != RETIRE_NO) && pm->lost_timer);
                if (!h->alive[i])
                        check(pm->lost == LOST_NO && !pm->lost_timer && pm->dropped == 0 && pm->chan < 0 &&
                              pm->retire == RETIRE_NO && !pm->runtime_timer);
                /* on its way out: asked to exit (half-closed, or hung: SIGTERM), stopped if it does
                 * not; a replaced one only once it holds nothing (it serves what it has) */
                if (pm->retire != RETIRE_NO)
                        check((pm->lost != LOST_NO || (pm->retire == RETIRE_RECYCLE && pm->inflight > 0)) &&
                              (pm->retire == RETIRE_HUNG ? signalled[i] != 0 : pm->chan < 0 || pm->shut));
                check(pm->retire != RETIRE_HUNG || h->fc->runtime_max);
                check(pm->retire != RETIRE_RECYCLE || max_connections);
                check(pm->retire != RETIRE_IDLE || h->fc->elastic);
                /* max-connections: never sent more (but stopping, when no successor will
                 * start: the queue goes out first); once on its way out, nothing more */
                check(!max_connections || worker_ending(w) || pm->handed <= max_connections);
                see_retired(h, i);
                if (h->alive[i]) {
                        check(inc->reads <= pm->handed);
                        check(!inc->retired || pm->handed == inc->handed);
                }
                if (pm->chan < 0) {
                        check(!pm->conns && pm->unacked == 0 && pm->inflight == 0);
                        check(!pm->chan_io && !pm->ack_timer && !pm->blocked && !pm->shut && !pm->runtime_timer);
                        continue;
                }
                check(pm->chan_io && pm->ack_timer && (!fds || fd_is_open(pm->chan)));
                /* runtime-max: a process holding connections has its deadline
                 * set, unless it is hung or being stopped (SIGTERM sent) */
                if (h->fc->runtime_max && pm->conns && pm->retire != RETIRE_HUNG && pm->lost < LOST_TERM) {
                        int enabled;
                        check(pm->runtime_timer && sd_event_source_get_enabled(pm->runtime_timer, &enabled) >= 0 &&
                              enabled != SD_EVENT_OFF);
                }
                prev = NULL;
                for (struct conn *c = pm->conns; c; prev = c, c = c->next) {
                        check(c->prev == prev);
                        check(strcmp(c->socket, "s") == 0);
                        check(c->id >= 1 && c->id <= h->n_conns && !seen[c->id]);
                        seen[c->id] = true;
                        /* the fd is ours until the ACK, and only until then */
                        check(c->acked ? c->fd == -1 : c->fd >= 0 && (!fds || fd_is_open(c->fd)));
                        unacked += !c->acked;
                        inflight++;
                }
                check(pm->unacked == unacked && pm->inflight == inflight);
                /* it said which version it speaks, and version 2 its credit */
                check(pm->version <= 2 && (pm->version == 2 || pm->credit == 0));
                check(unacked <= UNACKED_MAX);
        }
        /* every running process is in the table, and only they */
        check(proctab_count(&h->procs) == n_alive);
        check(worker_members_up(w) == n_alive);
        /* the pool's size: in each place at most one process that serves
         * (running, not on its way out), so never more than MAX; and
         * (stopping aside, and once a process left its place empty as
         * restart= says) never fewer than MIN that serve, will restart, or
         * are hung and will restart when they exit */
        for (unsigned pos = 0; pos < POSITIONS; pos++) {
                unsigned serving = 0;
                bool held_place = false;
                for (unsigned i = pos; i < h->slots; i += POSITIONS) {
                        struct pool_member *pm = member(h, i);
                        serving += h->alive[i] && pm->retire == RETIRE_NO;
                        held_place |= (h->alive[i] && (pm->retire == RETIRE_NO || pm->retire == RETIRE_HUNG)) ||
                                      member_restart_pending(&pm->base);
                }
                check(serving <= 1);
                placed += held_place;
        }
        if (h->started && !worker_ending(w) && !h->abandoned)
                check(placed >= h->fc->min);
        /* every connection taken is held once (above), or over for good:
         * DONE, or closed by the daemon; never held again */
        for (unsigned id = 1; id <= h->n_conns; id++) {
                check(!seen[id] || !h->over[id]);
                h->over[id] = !seen[id];
        }
        /* every connection alive counts for its uid */
        for (unsigned id = 1; id <= h->n_conns; id++)
                if (seen[id])
                        for (size_t k = 0; k < 4; k++)
                                per_uid[k] += h->peer[id].uid == uids[k];
        for (size_t k = 0; k < 4; k++)
                check(uidtab_count(&w->uids, uids[k]) == per_uid[k]);
        /* the port heard of every change of the gate */
        check(h->gate == w->gate);
        if (worker_ending(w))
                return;
        /* no connection waits while a process could take it */
        if (p->queue)
                for (unsigned i = 0; i < h->slots; i++) {
                        struct pool_member *pm = member(h, i);
                        check(pm->chan < 0 || pm->shut || pm->blocked || pool_member_room(pm) == 0);
                }
        /* none waits for a pool with no process and none to start */
        if (p->queue) {
                bool any = false;
                for (unsigned i = 0; i < h->slots; i++)
                        any |= h->alive[i] || member_restart_pending(&member(h, i)->base);
                check(any);
        }
        check(!!(w->gate & GATE_CAPACITY) == (w->n_queued >= QUEUE_MAX));
}

/* ---- the fake processes ------------------------------------------------- */

static bool env_has(char *const *envp, const char *s)
{
        for (; *envp; envp++)
                if (strcmp(*envp, s) == 0)
                        return true;
        return false;
}

/* The daemon's exec_spawn() (daemon/process/exec.c): what member_start()
 * launches is played here. The process is the slot whose channel is fd 3:
 * it keeps its end of the channel (a dup: the daemon closes its copy once
 * started) and runs as FAKE_PID + its slot's index. Starts happen anywhere:
 * at dispatch_worker_start(), a restart, or inside drain() (a pool that
 * grows, a successor of a process spent by max-connections). */
int exec_spawn(const struct exec_params *p, pid_t *ret_pid, const char **ret_step)
{
        struct harness *h = cur;
        struct pool *pool;
        unsigned i;
        int fd;

        check(h && h->w && (pool = pool_of(h->w)) != NULL);
        check(p->n_fds == 4 && p->fds[3] >= 0 && p->fds[0] >= 0 && p->fds[1] >= 0 && p->fds[2] >= 0);
        check(env_has(p->envp, "UNIXSOCKD_CHANNEL=3") && env_has(p->envp, "UNIXSOCKD_SOCKET=s"));
        check(p->path && strcmp(p->path, "/bin/true") == 0);
        for (i = 0; i < h->slots && pool->pm[i].chan_child != p->fds[3]; i++)
                ;
        check(i < h->slots);
        check(!h->alive[i] && h->wend[i] < 0 && pid_of(&pool->pm[i]) == 0);
        check(pool->pm[i].chan >= 0 && pool->pm[i].chan != p->fds[3]);
        check(!member_restart_pending(&pool->pm[i].base) && !worker_ending(h->w));
        /* A pool that grows starts one at a time: not while another process
         * started has not spoken, unless POOL_GROW_WAIT_USEC passed since the
         * last start. (Not a restart the input made due, not a successor of a
         * process spent by max-connections: its twin runs.) */
        if (h->fc->elastic && h->started && (int)i != h->restarting &&
            !(h->slots > POSITIONS && h->alive[(i + POSITIONS) % h->slots])) {
                bool unspoken = false;
                for (unsigned j = 0; j < h->slots; j++) {
                        const struct pool_member *o = &pool->pm[j];
                        unspoken |= j != i && h->alive[j] && o->version == 0 && o->retire == RETIRE_NO && !o->shut;
                }
                check(!unspoken || h->now >= h->last_start + POOL_GROW_WAIT_USEC);
        }
        h->last_start = h->now;
        h->restarting = -1;
        memset(&h->inc[i], 0, sizeof(h->inc[i]));
        if (h->fail_start) {
                /* the child failed before execve, and was reaped */
                h->fail_start = false;
                *ret_step = "execve";
                return -ENOENT;
        }
        fd = fcntl(p->fds[3], F_DUPFD_CLOEXEC, 3);
        check(fd >= 0 && fcntl(fd, F_SETFL, O_NONBLOCK) == 0);
        h->wend[i] = fd;
        h->alive[i] = true;
        h->starts[i]++;
        signalled[i] = 0;
        *ret_pid = FAKE_PID + (pid_t)i;
        return 0;
}

/* The loop runs once, with only timer t due (if it is armed): everything
 * else it watches is off meanwhile, then as it was; but a restart timer stays
 * on (pool.c reads it: a restart pending), only due never meanwhile. The
 * callbacks it may run make no new source that was on before. Time passes: the loop's clock
 * (h->now) moves on to t's deadline, and the callback is told that
 * deadline. As the harness's clock starts at FAKE_EPOCH, long before the
 * machine's, every deadline is already past for sd-event; should an input
 * move it beyond the machine's uptime, the callback is told the machine's
 * time instead (earlier than its deadline: it waits again). */
static void fire(struct harness *h, sd_event_source *t)
{
        struct pool *p = pool_of(h->w);
        struct {
                sd_event_source **field, *s;
                int enabled;
        } off[5 * SLOTS_MAX + 3];
        struct {
                sd_event_source **field, *s;
                uint64_t at;
        } later[SLOTS_MAX];
        size_t n = 0, n_later = 0;
        int enabled;
        uint64_t at, real;
        struct timespec ts;

        if (!t || sd_event_source_get_enabled(t, &enabled) < 0 || enabled == SD_EVENT_OFF)
                return;
        for (unsigned i = 0; i < h->slots + 1; i++) {
                struct pool_member *pm = i < h->slots ? member(h, i) : NULL;
                sd_event_source **fields[5] = { &p->grow_timer, &p->idle_timer, &p->flush, NULL, NULL };
                if (pm) {
                        fields[0] = &pm->chan_io;
                        fields[1] = &pm->ack_timer;
                        fields[2] = &pm->lost_timer;
                        fields[3] = &pm->base.restart_timer;
                        fields[4] = &pm->runtime_timer;
                }
                for (size_t k = 0; k < 5 && fields[k]; k++) {
                        sd_event_source *s = *fields[k];
                        if (!s || s == t)
                                continue;
                        check(sd_event_source_get_enabled(s, &enabled) >= 0);
                        if (enabled == SD_EVENT_OFF)
                                continue;
                        if (pm && k == 3) {
                                later[n_later].field = fields[k];
                                later[n_later].s = s;
                                check(sd_event_source_get_time(s, &later[n_later++].at) >= 0);
                                check(sd_event_source_set_time(s, UINT64_MAX - 1) >= 0);
                                continue;
                        }
                        off[n].field = fields[k];
                        off[n].s = s;
                        off[n++].enabled = enabled;
                        check(sd_event_source_set_enabled(s, SD_EVENT_OFF) >= 0);
                }
        }
        check(sd_event_source_get_time(t, &at) >= 0);
        if (at > h->now)
                h->now = at;
        check(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
        real = (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
        check(sd_event_source_set_time(t, at <= real ? at : real) >= 0);
        check(sd_event_run(h->e, 0) > 0);
        for (size_t k = 0; k < n; k++)
                if (*off[k].field == off[k].s)  /* not freed by the callback */
                        check(sd_event_source_set_enabled(off[k].s, off[k].enabled) >= 0);
        for (size_t k = 0; k < n_later; k++)
                if (*later[k].field == later[k].s &&
                    sd_event_source_get_time(later[k].s, &at) >= 0 && at == UINT64_MAX - 1)
                        check(sd_event_source_set_time(later[k].s, later[k].at) >= 0);
}

static void event(struct harness *h, unsigned i, uint32_t revents)
{
        /* The loop calls it only while the channel is watched. */
        if (member(h, i)->chan >= 0)
                pool_channel_event(h->w, i, revents);
}

/* The worker of slot i reads what the daemon sent on its end: only CONN
 * frames, each with the fd of the connection it names, in order; a version
 * it said it speaks (unless gone: the process exited, and the slot may run
 * another); never more than max-connections, nor after it was retired more
 * than it had been sent then. */
static void worker_read_end(struct harness *h, unsigned i, int end, struct incarnation *inc, bool gone,
                            unsigned max)
{
        unsigned char buf[US_FRAME_MSG_MAX + 1];
        struct us_frame_reader r;
        struct us_frame f;

        for (unsigned k = 0; k < max && end >= 0; k++) {
                int fds[US_FRAME_BATCH_MAX];
                size_t nfds = 0, used = 0;
                ssize_t n = us_recv_fds(end, buf, sizeof(buf), fds, US_FRAME_BATCH_MAX, &nfds);
                struct stat st;
                int got;

                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        break;
                /* The daemon closed its end with answers of ours unread: said
                 * once, what it had sent is still there to read. */
                if (n < 0 && errno == ECONNRESET)
                        continue;
                check(n >= 0);
                if (n == 0) {   /* the daemon closed or shut its side */
                        check(nfds == 0);
                        break;
                }
                us_frame_reader_init(&r, buf, (size_t)n);
                while ((got = us_frame_read(&r, &f)) > 0) {
                        check(f.type == US_FRAME_CONN && strcmp(f.socket, "s") == 0);
                        /* version 2 only to one that said HELLO (its channel may be closed since) */
                        check(gone || f.version == 1 || member(h, i)->version == 2 || member(h, i)->chan < 0);
                        check(f.version == 1 ? nfds == 1 : f.sock_type == h->cfg->sockets[0].type);
                        check(f.id >= 1 && f.id <= h->n_conns);
                        check(f.peer.pid == h->peer[f.id].pid && f.peer.uid == h->peer[f.id].uid &&
                              f.peer.gid == h->peer[f.id].gid);
                        check(used < nfds && fstat(fds[used], &st) == 0 && st.st_ino == h->ino[f.id]);
                        used++;
                        inc->reads++;
                        check(!h->fc->max_connections || worker_ending(h->w) || inc->reads <= h->fc->max_connections);
                        check(!inc->retired || inc->reads <= inc->handed);
                        check(gone || inc->reads <= member(h, i)->handed);
                }
                check(got == 0 && used == nfds);
                for (size_t j = 0; j < nfds; j++)
                        close(fds[j]);
        }
}

/* A message from worker i: len bytes, n_pass fds attached. false: not sent
 * (the channel is full or gone). */
static void worker_read(struct harness *h, unsigned i, unsigned max)
{
        worker_read_end(h, i, h->wend[i], &h->inc[i], false, max);
}

static bool worker_send(struct harness *h, unsigned i, const void *buf, size_t len, unsigned n_pass)
{
        union {
                struct cmsghdr hdr;
                char buf[CMSG_SPACE(sizeof(int) * 2)];
        } ctl;
        struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        int fds[2] = { devnull, devnull };

        if (h->wend[i] < 0)
                return false;
        if (n_pass) {
                memset(&ctl, 0, sizeof(ctl));
                mh.msg_control = ctl.buf;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_pass);
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_pass);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n_pass);
        }
        return sendmsg(h->wend[i], &mh, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len;
}

static void frame_send(struct harness *h, unsigned i, unsigned type, uint64_t id, bool pass)
{
        unsigned char buf[US_FRAME_MAX];
        struct us_frame f = { .type = type, .id = id };
        ssize_t n;

        if (type == US_FRAME_CONN)
                snprintf(f.socket, sizeof(f.socket), "s");
        n = us_frame_encode(&f, buf, sizeof(buf));
        check(n > 0);
        worker_send(h, i, buf, (size_t)n, pass);
}

/* Version 2 frames, well formed: x & 7 as the FRAME operation says. */
static void frame_send_v2(struct harness *h, unsigned i, unsigned x, uint64_t id, uint64_t credit, bool pass)
{
        unsigned char buf[US_FRAME_MSG_MAX];
        uint64_t ids[32];
        unsigned k = (x >> 3) + 1;
        size_t len = 0;
        struct us_frame f = { .version = 2, .id = credit };

        for (unsigned j = 0; j < k; j++)
                ids[j] = id + j;
        switch (x & 7) {
        case 1: /* HELLO */
        case 2: /* CREDIT */
        case 6: /* HELLO, then an ACK, in one message */
                f.type = (x & 7) == 2 ? US_FRAME_CREDIT : US_FRAME_HELLO;
                len = (size_t)us_frame_encode(&f, buf, sizeof(buf));
                if ((x & 7) == 6)
                        len += (size_t)us_frame_encode_ids(US_FRAME_ACK, ids, 1, buf + len, sizeof(buf) - len);
                break;
        case 3:
        case 4:
        case 5:
                len = (size_t)us_frame_encode_ids((x & 7) == 4 ? US_FRAME_DONE : US_FRAME_ACK, ids, k, buf,
                                                  sizeof(buf));
                if ((x & 7) == 5)
                        len += (size_t)us_frame_encode_ids(US_FRAME_DONE, ids, k, buf + len, sizeof(buf) - len);
                break;
        default: /* 7 */
                len = (size_t)us_frame_encode_ids(US_FRAME_ACK, ids, 1, buf, sizeof(buf));
                break;
        }
        worker_send(h, i, buf, len, pass);
}

/* ---- the socket --------------------------------------------------------- */

static void gate_changed(void *userdata)
{
        struct harness *h = userdata;

        h->gate = h->w->gate;
}

/* Some connection the daemon holds has fd. */
static bool held(struct harness *h, int fd)
{
        struct pool *p = pool_of(h->w);

        for (struct conn *c = p->queue; c; c = c->next)
                if (c->fd == fd)
                        return true;
        for (unsigned i = 0; i < h->slots; i++)
                for (struct conn *c = member(h, i)->conns; c; c = c->next)
                        if (c->fd == fd)
                                return true;
        return false;
}

static void dispatch(struct harness *h, unsigned uid_index)
{
        struct accepted a = { .socket = &h->cfg->sockets[0] };
        struct stat st;
        int pair[2], r;

        /* While the gate is closed (at capacity) the socket accepts nothing:
         * clients wait in the backlog. Stopping, it is closed. */
        if (worker_ending(h->w) || h->n_offered >= MAX_CONNS || h->gate)
                return;
        check(us_pair(pair) == 0);
        check(fstat(pair[0], &st) == 0);
        close(pair[1]); /* the client: gone at once, which changes nothing for the daemon */
        h->n_offered++;
        a.fd = pair[0];
        a.peer = (struct us_peer){
                .pid = 100 + (pid_t)h->n_offered, .uid = uids[uid_index], .gid = uids[uid_index] + 1 };
        /* its id, if the daemon takes it: written before, as CONN may go at once */
        h->ino[h->n_conns + 1] = st.st_ino;
        h->peer[h->n_conns + 1] = a.peer;
        r = dispatch_connection(h->w, &a);
        if (r == DISPATCH_TAKEN && pool_of(h->w)->next_id == h->n_conns + 1) {
                h->n_conns++;
                return;
        }
        check(pool_of(h->w)->next_id == h->n_conns);
        if (r == DISPATCH_TAKEN) {
                /* out of memory for it: closed */
                check(!fd_is_open(pair[0]));
                return;
        }
        /* refused (a pool with no process and none to start): the fd is still
         * the socket's, which closes it */
        check(r == DISPATCH_REFUSED && a.why != NULL);
        check(fd_is_open(pair[0]) && !held(h, pair[0]));
        for (unsigned i = 0; i < h->slots; i++)
                check(!h->alive[i] && !member_restart_pending(&member(h, i)->base));
        close(pair[0]);
}

/* ---- one input ------------------------------------------------------------ */

static void setup(struct harness *h, const struct fuzz_config *fc)
{
        struct port port = { .name = "s", .gate_changed = gate_changed, .userdata = h };
        struct worker_env env;
        const struct cfg_worker *cw;
        char text[sizeof(CONFIG_HEAD) + 128];
        int len;

        memset(h, 0, sizeof(*h));
        cur = h;
        h->fc = fc;
        h->now = FAKE_EPOCH;
        h->restarting = -1;
        h->slots = fc->max_connections ? SLOTS_MAX : POSITIONS;
        for (size_t i = 0; i < SLOTS_MAX; i++)
                h->wend[i] = -1;
        len = snprintf(text, sizeof(text), CONFIG_HEAD, fc->type);
        check(len > 0 && (size_t)len + strlen(fc->text) < sizeof(text));
        len += snprintf(text + len, sizeof(text) - (size_t)len, "%s", fc->text);
        check(len > 0 && (size_t)len < sizeof(text));
        check(config_load_string("fuzz-channel.conf", text, (size_t)len, NULL, NULL, &h->cfg) == 0);
        check(h->cfg->n_workers == 1 && h->cfg->n_sockets == 1);
        check(h->cfg->sockets[0].worker == &h->cfg->workers[0]);
        check(h->cfg->sockets[0].type == (strcmp(fc->type, "seqpacket") == 0 ? SOCK_SEQPACKET : SOCK_STREAM));
        cw = &h->cfg->workers[0];
        check(cw->dispatch == DISPATCH_POOL && cw->instances == POSITIONS && cw->instances_min == fc->min);
        check(cw->max_connections == fc->max_connections && !!cw->runtime_max_usec == fc->runtime_max);
        check(!fc->elastic == (fc->min == POSITIONS));
        check(sd_event_new(&h->e) >= 0);
        env = (struct worker_env){
                .event = h->e,
                .procs = &h->procs,
                .counters = &h->counters,
                .stop_timeout_usec = h->cfg->stop_timeout_usec,
        };
        h->w = dispatch_worker_new(&h->cfg->workers[0], &env);
        check(h->w != NULL);
        check(worker_attach(h->w, &port) == 0);
        /* MIN processes start (both, in a pool of a fixed size): exec_spawn() above */
        check(dispatch_worker_start(h->w) == 0);
        h->started = true;
        for (unsigned i = 0; i < h->slots; i++)
                check(h->alive[i] == (i < fc->min) && (h->wend[i] >= 0) == h->alive[i] &&
                      (member(h, i)->chan >= 0) == h->alive[i]);
        for (unsigned i = 0; i < INITIAL_CONNS; i++)
                dispatch(h, i % 2);
        pool_flush(h->w);
        check_state(h, true);
}

static void teardown(struct harness *h)
{
        for (size_t i = 0; i < h->slots; i++) {
                /* what is still in flight to the worker: read, so its fds close */
                worker_read(h, (unsigned)i, UINT32_MAX);
                if (h->wend[i] >= 0)
                        close(h->wend[i]);
        }
        /* first, as the daemon does: its chains run through the members */
        proctab_free(&h->procs);
        dispatch_worker_free(h->w);
        sd_event_unref(h->e);
        config_free(h->cfg);
        cur = NULL;
}

static void run_op(struct harness *h, struct input *in)
{
        unsigned b = byte(in), a = b >> 3, i = slot_of(h, a & 1);
        struct pool_member *pm = member(h, i);

        switch (b & 7) {
        case K_FRAME: {
                static const unsigned types[4] = { US_FRAME_ACK, US_FRAME_DONE, US_FRAME_CONN, 0 };
                unsigned type = types[(a >> 2) & 3];
                uint64_t id = byte(in);

                if (type) {
                        frame_send(h, i, type, id, a & 2);
                } else {
                        unsigned x = byte(in);
                        if ((x & 7) == 0) {     /* ACK then DONE */
                                frame_send(h, i, US_FRAME_ACK, id, a & 2);
                                frame_send(h, i, US_FRAME_DONE, id, false);
                        } else {
                                uint64_t credit = (x & 7) == 1 || (x & 7) == 2 || (x & 7) == 6 ? byte(in) : 0;
                                frame_send_v2(h, i, x, id, credit, a & 2);
                        }
                }
                if (!(a & 16))
                        event(h, i, EPOLLIN);
                break;
        }
        case K_RAW: {
                unsigned char buf[1024];
                size_t len = byte(in);

                if (len == 255) {
                        len = byte(in);
                        len |= (size_t)byte(in) << 8;
                        if (len > sizeof(buf))
                                len = sizeof(buf);
                }
                if (len > (size_t)(in->end - in->p))
                        len = (size_t)(in->end - in->p);
                memcpy(buf, in->p, len);
                in->p += len;
                worker_send(h, i, buf, len, ((a >> 1) & 3) % 3);
                if (!(a & 8))
                        event(h, i, EPOLLIN);
                break;
        }
        case K_EVENT:
                event(h, i, (a & 2 ? EPOLLIN : 0) | (a & 4 ? EPOLLOUT : 0) | (a & 8 ? EPOLLHUP : 0) |
                            (a & 16 ? EPOLLERR : 0));
                break;
        case K_DISPATCH:
                for (unsigned k = 0; k <= (a >> 2); k++)
                        dispatch(h, a & 3);
                pool_flush(h->w); /* the socket's accept loop is over */
                break;
        case K_READ:
                worker_read(h, i, (a >> 1) + 1);
                break;
        case K_CLOSE:
                if (h->wend[i] < 0)
                        break;
                switch ((a >> 1) & 3) {
                case 0:
                case 1:
                        close(h->wend[i]);
                        h->wend[i] = -1;
                        break;
                case 2:
                        (void)shutdown(h->wend[i], SHUT_WR);
                        break;
                case 3:
                        (void)shutdown(h->wend[i], SHUT_RDWR);
                        break;
                }
                if (a & 8)
                        event(h, i, EPOLLIN | EPOLLHUP);
                break;
        case K_EXIT:
                if (!(a & 2)) {
                        /* SIGCHLD: reaped, taken out of the table, its on_exit */
                        siginfo_t si = { 0 };
                        struct process *p;
                        struct incarnation inc;
                        enum retire was;
                        int end;

                        if (!h->alive[i])
                                break;
                        si.si_signo = SIGCHLD;
                        si.si_code = a & 4 ? CLD_KILLED : CLD_EXITED;
                        si.si_status = a & 4 ? SIGTERM : (int)(a >> 3);
                        if (signalled[i] == SIGKILL) {  /* that one it cannot survive */
                                si.si_code = CLD_KILLED;
                                si.si_status = SIGKILL;
                        }
                        si.si_pid = pid_of(pm);
                        p = proctab_take(&h->procs, si.si_pid);
                        check(p == &pm->base.proc && p->on_exit);
                        h->alive[i] = false;
                        /* its end and what it read are its own: a pool that
                         * grows may start another in its slot in on_exit() */
                        end = h->wend[i];
                        h->wend[i] = -1;
                        inc = h->inc[i];
                        was = pm->retire;
                        p->on_exit(p, &si);
                        check(h->alive[i] || (pid_of(pm) == 0 && pm->chan < 0));
                        /* its place is left empty: restart= said so (not the pool, that retired it) */
                        if (!h->alive[i] && !member_restart_pending(&pm->base) && was != RETIRE_IDLE &&
                            was != RETIRE_RECYCLE)
                                h->abandoned++;
                        /* the worker is gone: its end closes with it */
                        worker_read_end(h, i, end, &inc, true, UINT32_MAX);
                        if (end >= 0)
                                close(end);
                } else if (h->alive[i]) {
                        /* time passes: its lost timer, or its ACK timeout, is
                         * due; or (status 1 to 3, in a configuration that
                         * has one) its runtime timer, the pool's grow timer,
                         * the pool's idle timer */
                        sd_event_source *t = a & 4 ? pm->lost_timer : pm->ack_timer;

                        if ((a >> 3) == 1 && h->fc->runtime_max)
                                t = pm->runtime_timer;
                        else if ((a >> 3) == 2 && h->fc->elastic)
                                t = pool_of(h->w)->grow_timer;
                        else if ((a >> 3) == 3 && h->fc->elastic)
                                t = pool_of(h->w)->idle_timer;
                        fire(h, t);
                } else {
                        /* its restart timer fired: member_start(), as on_restart() */
                        bool fail = (a >> 2) == 7 || h->fail_start;
                        unsigned starts = h->starts[i];
                        uint64_t at = member_restart_at(&pm->base);

                        if (worker_ending(h->w) || pid_of(pm) > 0 || pm->chan >= 0 ||
                            !member_restart_pending(&pm->base))
                                break;
                        /* a ONESHOT timer is off once it fired; time is then its deadline */
                        sd_event_source_set_enabled(pm->base.restart_timer, SD_EVENT_OFF);
                        if (at > h->now)
                                h->now = at;
                        h->fail_start = fail;
                        h->restarting = (int)i;
                        member_start(&pm->base);
                        h->fail_start = false;
                        h->restarting = -1;
                        if (fail) {
                                /* throttled as one that failed at once: again later */
                                check(pid_of(pm) == 0 && pm->chan < 0 && member_restart_pending(&pm->base));
                        } else {
                                check(h->starts[i] == starts + 1);
                                check(pid_of(pm) == FAKE_PID + (pid_t)i && pm->chan >= 0);
                        }
                }
                break;
        case K_STOP:
                if (a && h->fc != &configs[0]) {
                        /* (not in the default configuration) the harness's
                         * own: which twin member a & 1 names; the next start
                         * fails */
                        h->focus[a & 1] = (a >> 1) & 1;
                        if (a & 8)
                                h->fail_start = true;
                        break;
                }
                /* SIGTERM: as the daemon stops each worker; its socket is closed */
                if (worker_ending(h->w))
                        break;
                dispatch_worker_stop(h->w);
                break;
        }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        /* Nothing logged (the fuzzer's output stays its own) unless asked. */
        const char *lvl = getenv("FUZZ_CHANNEL_LOG_LEVEL");

        (void)argc;
        (void)argv;
        log_open(LOG_TARGET_CONSOLE);
        log_pin_level(lvl ? atoi(lvl) : -1);
        devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (devnull < 0)
                abort();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct input in = { data, data + size };
        const struct fuzz_config *fc = &configs[0];
        struct harness h;
        /* Counted for each input: libFuzzer itself opens some as it goes (its
         * symbolizer's pipes when it prints a new function). */
        int n_fds_start = (int)count_fds();

        /* a first byte that would be STOP with an argument chooses the configuration */
        if (size > 0 && (data[0] & 7) == K_STOP && data[0] >> 3) {
                fc = &configs[1 + ((data[0] >> 3) - 1) % (N_CONFIGS - 1)];
                in.p++;
        }
        setup(&h, fc);
        while (in.p < in.end) {
                run_op(&h, &in);
                check_state(&h, false);
        }
        check_state(&h, true);
        teardown(&h);
        /* everything the daemon and the harness opened is closed again */
        if ((int)count_fds() != n_fds_start) {
                fprintf(stderr, "fds open: %d, before: %d\n", (int)count_fds(), n_fds_start);
                print_fds();
                check((int)count_fds() == n_fds_start);
        }
        return 0;
}
