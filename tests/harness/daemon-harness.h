/* Runs the real unixsockd for integration tests, synchronised on its events:
 * READY=1 on a NOTIFY_SOCKET the test owns, lines in its log, its exit. */
#ifndef TESTS_DAEMON_HARNESS_H
#define TESTS_DAEMON_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

/* Generous: the suite must pass on a loaded 2-core machine. */
#define DEADLINE_MS 30000

struct daemon {
        pid_t pid;
        int pidfd;
        int notify_fd;
        char *dir;              /* runtime-directory and home of conf, log */
        char conf[512];
        char log[512];
        char status[512];       /* last STATUS= received */
        int exit_status;        /* after daemon_wait_exit: the wait status */
        char notes[16384];      /* the notify messages read, each followed by "\n;\n"; a test
                                 * empties it (notes_len = 0) before what it looks at */
        size_t notes_len;
};

/* Start the next daemon without NOTIFY_SOCKET, as by hand (no READY then). */
extern bool harness_no_notify;
/* Run the next daemon as this uid (and gid), not root; 0: as the test runs. */
extern uid_t harness_uid;
/* With harness_uid: its RLIMIT_NPROC (0: unchanged). */
extern unsigned harness_nproc;
/* Hand the next daemon this listening fd as systemd would (fd 3, LISTEN_FDS=1,
 * LISTEN_FDNAMES=harness_listen_name); -1: none. */
extern int harness_listen_fd;
extern const char *harness_listen_name;

/* Path of a test program built beside the tests (probe-worker, ...). */
const char *test_prog(const char *name);

/* Writes conf (with every "@DIR@" replaced by the test's directory; the file
 * gets "runtime-directory = DIR" prepended in [unixsockd] unless it has its own
 * [unixsockd] section) and starts the daemon with extra arguments. Does not wait. */
void daemon_spawn(struct daemon *d, const char *conf, const char *const *extra_args);
/* Same, but through `prefix...` (e.g. systemd-socket-activate ... --). */
void daemon_spawn_wrapped(struct daemon *d, const char *conf, const char *const *prefix,
                          const char *const *extra_args);
/* Waits for READY=1; false if the daemon exited first or the deadline passed. */
bool daemon_wait_ready(struct daemon *d);
/* daemon_spawn + daemon_wait_ready, asserting it. */
void daemon_start(struct daemon *d, const char *conf);
/* Rewrites its configuration (as daemon_spawn writes it) and sends SIGHUP;
 * waits for the READY=1 that ends the reload, applied or refused. */
void daemon_reload(struct daemon *d, const char *conf);
/* Waits until the notify socket got a message containing s (e.g. "STOPPING=1"). */
bool daemon_wait_notify(struct daemon *d, const char *s);
/* Waits until its log contains s. */
bool daemon_wait_log(struct daemon *d, const char *s);
/* Waits until n lines of its log contain s. */
bool daemon_wait_log_count(struct daemon *d, const char *s, int n);
bool daemon_log_has(struct daemon *d, const char *s);
/* The number of lines of its log that contain s. */
int daemon_log_count(struct daemon *d, const char *s);
/* The pids of its log's "worker NAME: started pid N" lines, in order, at
 * most max; -1 if there is no log to read. */
ssize_t daemon_started_pids(struct daemon *d, const char *worker, pid_t *pids, size_t max);
/* The nth (from 0) of them, or -1. */
pid_t daemon_started_pid(struct daemon *d, const char *worker, size_t nth);
/* Runs the unixsockctl the build made ($UNIXSOCKCTL) on its control socket
 * (control.sock in its directory, the default) with args, asserts its exit 0,
 * returns its output (to free). */
char *daemon_ctl(struct daemon *d, const char *args);
/* Waits for it to exit; returns the wait status, or -1 at the deadline. */
int daemon_wait_exit(struct daemon *d);
/* SIGTERM and wait; asserts a clean exit 0. Removes the directory. */
void daemon_stop(struct daemon *d);
/* Kills it if still running, removes the directory. */
void daemon_cleanup(struct daemon *d);

/* Waits until path exists. */
bool wait_path(const char *path);
/* dir/name of the daemon's directory. */
const char *daemon_path(struct daemon *d, const char *name);
int count_fds_of(pid_t pid);
/* Only its sockets: connections it might leak, not the timerfds sd-event makes
 * when a timer first runs. */
int count_socket_fds_of(pid_t pid);

/* Client helpers. */
int client_connect(const char *path);
/* Sends msg, half-closes, reads everything until EOF into buf (NUL-terminated). */
ssize_t client_exchange(const char *path, const char *msg, char *buf, size_t size);
/* client_exchange(path, msg) must give msg back, whole. */
void client_expect_echo(const char *path, const char *msg);
/* Reads until EOF or deadline; -1 on timeout. */
ssize_t read_all_deadline(int fd, char *buf, size_t size, int ms);
/* true if fd has data or EOF within ms. */
bool readable_within(int fd, int ms);

/* Connects n clients of a pool-probe worker at path and keeps them open
 * once each is greeted ("pid=N\n"); pids[i]: the process serving fds[i]. */
void probe_hold(const char *path, int *fds, pid_t *pids, int n);
/* Runs argv (NULL-terminated; argv[0] a path) outside the notify socket,
 * its stdout and stderr into out (NUL-terminated, as read_all_deadline());
 * its exit status. */
int run_capture(const char *const *argv, char *out, size_t size);
/* unixsockd --check (the $UNIXSOCKD build's) on text, with every "@DIR@"
 * replaced by a fresh directory, written there as name (what its messages
 * say: "NAME:LINE: ..."); its exit status, its output in out. */
int check_config_text(const char *name, const char *text, char *out, size_t size);

/* Who a client of exchange_as() is: uid, gid and, unless n_groups < 0 (it
 * keeps the caller's), exactly groups[0..n_groups) as its supplementary groups. */
struct client_ids {
        uid_t uid;
        gid_t gid;
        const gid_t *groups;
        int n_groups;
};
/* From a child that takes ids: connects a socket of type (SOCK_STREAM...) to
 * path, sends msg, half-closes, reads until EOF. What it read, in buf
 * (NUL-terminated); or -S if it failed at step S (2 taking the ids, 3
 * connecting: buf then says "connect: ERROR", 4 reading). */
ssize_t exchange_as(const char *path, int type, const struct client_ids *ids, const char *msg, char *buf,
                    size_t size);

/* The pid in the greeting a pool-probe sends first on fd, read whole. */
pid_t probe_greeting(int fd);

/* Runs n clients at once, each in its own process: connect, send, half-close,
 * read the echo (after a pool-probe's greeting). A client served by not_by
 * (when not 0) fails with 6. load_wait() returns how many got their whole
 * reply, and counts the others by exit status (2 connect, 3 send, 4 timeout,
 * 5 wrong reply) in failures_by_kind[8] when not NULL. */
struct load { pid_t pids[512]; int n; };
void load_start(struct load *l, const char *path, int n, pid_t not_by);
int load_wait(struct load *l, int *failures_by_kind);

#endif
