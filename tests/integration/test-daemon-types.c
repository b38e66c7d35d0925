/* unixsockd and every kind of UNIX socket: type = seqpacket in each dispatch
 * mode (message boundaries kept end to end), type = datagram with dispatch =
 * listener (the worker started by the first datagram), the configuration
 * errors, an inherited fd of another type than its section, a reload that
 * changes a socket's type; and allow-groups matching a peer's supplementary
 * groups as the kernel's check of the socket file does. The programs are
 * tests/harness/activate-echo, which knows nothing of unixsockd, and
 * pool-probe. */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "daemon-harness.h"
#include "helpers.h"
#include "unixsock.h"

#define EX_CONFIG 78
#define NOBODY 65534

static struct daemon d;
static int held = -1;           /* a listener the test hands the daemon */

static void fini(void)
{
        pid_t pid;

        /* a listener copy left by a failed test: its own process group */
        if (d.pid > 0 && kill(d.pid, SIGSTOP) == 0)
                for (int i = 0; (pid = daemon_started_pid(&d, "e", (size_t)i)) > 0; i++)
                        (void)kill(-pid, SIGKILL);
        daemon_cleanup(&d);
        harness_listen_fd = -1;
        harness_listen_name = "";
        if (held >= 0)
                close(held);
        held = -1;
}

TestSuite(types, .fini = fini, .timeout = 120);

static char conf[4096];

/* [socket:s] of type (and extra) for [worker:e], command and dispatch. */
static const char *type_conf(const char *type, const char *extra, const char *command, const char *dispatch)
{
        snprintf(conf, sizeof(conf),
                 "[unixsockd]\nruntime-directory = @DIR@\ncontrol = control.sock\n\n"
                 "[socket:s]\npath = s.sock\ntype = %s\nworker = e\n%s\n"
                 "[worker:e]\ncommand = %s\ndispatch = %s\n",
                 type, extra, command, dispatch);
        return conf;
}

/* One message of at most size - 1 bytes, NUL-terminated, within the deadline;
 * its length, or -1. */
static ssize_t recv_msg(int fd, char *buf, size_t size)
{
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t n;

        if (poll(&p, 1, DEADLINE_MS) != 1)
                return -1;
        n = recv(fd, buf, size - 1, MSG_DONTWAIT);
        if (n >= 0)
                buf[n] = '\0';
        return n;
}

static void expect_msg(int fd, const char *msg)
{
        char buf[256];
        ssize_t n = recv_msg(fd, buf, sizeof(buf));

        cr_assert_geq(n, 0, "no message (%s)", strerror(errno));
        cr_assert_str_eq(buf, msg, "one message, as it was sent: got \"%s\", not \"%s\"", buf, msg);
}

/* Two messages sent in a row come back as two messages. */
static void expect_two_messages_back(int fd)
{
        cr_assert_eq(send(fd, "one", 3, MSG_NOSIGNAL), 3);
        cr_assert_eq(send(fd, "second", 6, MSG_NOSIGNAL), 6);
        expect_msg(fd, "one");
        expect_msg(fd, "second");
}

static int connect_type(const char *path, int type)
{
        int fd = us_connect_type(path, type);

        cr_assert_geq(fd, 0, "connect %s: %s", path, strerror(errno));
        return fd;
}

/* ---- seqpacket in each dispatch mode ------------------------------------------- */

Test(types, spawn_seqpacket_connection_is_the_workers_stdin_and_stdout_with_boundaries)
{
        daemon_start(&d, type_conf("seqpacket", "", test_prog("activate-echo"), "spawn"));
        const char *p = daemon_path(&d, "s.sock");
        int c = connect_type(p, SOCK_SEQPACKET);

        expect_two_messages_back(c);
        close(c);
        cr_assert_lt(us_connect_type(p, SOCK_STREAM), 0, "a stream client reaches a seqpacket socket");
        cr_assert_eq(errno, EPROTOTYPE);
        daemon_stop(&d);
}

Test(types, pool_seqpacket_connection_reaches_the_worker_with_its_type_in_the_frame)
{
        char cmd[1200], buf[256];

        snprintf(cmd, sizeof(cmd), "%s type", test_prog("pool-probe"));
        daemon_start(&d, type_conf("seqpacket", "", cmd, "pool"));
        int c = connect_type(daemon_path(&d, "s.sock"), SOCK_SEQPACKET);

        cr_assert_gt(recv_msg(c, buf, sizeof(buf)), 0);
        cr_assert(strncmp(buf, "pid=", 4) == 0, "greeting: %s", buf);
        snprintf(cmd, sizeof(cmd), "sock_type=%d\n", SOCK_SEQPACKET);
        expect_msg(c, cmd);
        expect_two_messages_back(c);
        close(c);
        daemon_stop(&d);
}

Test(types, pool_stream_frames_still_say_stream)
{
        char cmd[1200], buf[256];

        snprintf(cmd, sizeof(cmd), "%s type", test_prog("pool-probe"));
        daemon_start(&d, type_conf("stream", "", cmd, "pool"));
        int c = connect_type(daemon_path(&d, "s.sock"), SOCK_STREAM);

        snprintf(cmd, sizeof(cmd), "sock_type=%d\n", SOCK_STREAM);
        shutdown(c, SHUT_WR);
        cr_assert_gt(read_all_deadline(c, buf, sizeof(buf), DEADLINE_MS), 0);
        cr_assert(strstr(buf, cmd), "%s", buf);
        close(c);
        daemon_stop(&d);
}

Test(types, listener_seqpacket_socket_goes_to_a_socket_activated_program_unchanged)
{
        daemon_start(&d, type_conf("seqpacket", "", test_prog("activate-echo"), "listener"));
        int c = connect_type(daemon_path(&d, "s.sock"), SOCK_SEQPACKET);

        expect_two_messages_back(c);
        close(c);
        daemon_stop(&d);
}

/* ---- datagram ---------------------------------------------------------------- */

static unsigned running(void)
{
        char *out = daemon_ctl(&d, "--json status");
        json_object *o = json_tokener_parse(out), *w, *v;
        unsigned n;

        free(out);
        cr_assert_not_null(o);
        cr_assert(json_object_object_get_ex(o, "workers", &w));
        cr_assert(json_object_object_get_ex(json_object_array_get_idx(w, 0), "running", &v));
        n = (unsigned)json_object_get_int(v);
        json_object_put(o);
        return n;
}

Test(types, datagram_listener_is_started_by_the_first_datagram_which_it_gets)
{
        daemon_start(&d, type_conf("datagram", "", test_prog("activate-echo"), "listener"));
        const char *p = daemon_path(&d, "s.sock");
        struct stat st;

        cr_assert(stat(p, &st) == 0 && S_ISSOCK(st.st_mode));
        cr_assert_eq(running(), 0, "nothing runs before a datagram");
        int c = connect_type(p, SOCK_DGRAM);
        expect_two_messages_back(c); /* the first one started it, and was not lost */
        /* the copy may answer before the daemon has logged its start */
        cr_assert(daemon_wait_log(&d, "worker e: started pid"));
        cr_assert_eq(daemon_log_count(&d, "worker e: started pid"), 1, "one copy for both");
        cr_assert_eq(running(), 1);
        close(c);
        cr_assert_lt(us_connect_type(p, SOCK_STREAM), 0);
        cr_assert_eq(errno, EPROTOTYPE, "the file is a datagram socket");

        /* its status: a datagram socket has no accept queue */
        char *out = daemon_ctl(&d, "--json status");
        cr_assert(strstr(out, "\"type\":\"datagram\""), "%s", out);
        cr_assert(strstr(out, "\"backlog\":-1,\"backlog_max\":-1"), "%s", out);
        free(out);
        daemon_stop(&d);
}

Test(types, datagram_listener_restarts_for_a_datagram_that_waits)
{
        daemon_start(&d, type_conf("datagram", "", test_prog("activate-echo"), "listener"));
        int c = connect_type(daemon_path(&d, "s.sock"), SOCK_DGRAM);

        expect_two_messages_back(c);
        cr_assert(daemon_wait_log(&d, "worker e: started pid"));
        pid_t first = daemon_started_pid(&d, "e", 0);
        cr_assert_gt(first, 0);
        cr_assert(kill(-first, SIGSTOP) == 0);
        cr_assert_eq(send(c, "queued", 6, 0), 6); /* waits in the socket while the copy is stopped */
        cr_assert(kill(-first, SIGKILL) == 0);
        cr_assert(daemon_wait_log_count(&d, "worker e: started pid", 2), "started again for the datagram waiting");
        expect_msg(c, "queued");
        close(c);
        daemon_stop(&d);
}

/* ---- configuration errors --------------------------------------------------- */

/* unixsockd --check on text, as u.conf: its exit code, its output in out. */
static int check_config(const char *text, char *out, size_t size)
{
        return check_config_text("u.conf", text, out, size);
}

Test(types, datagram_with_a_dispatch_that_hands_over_connections_is_a_config_error)
{
        static const char *const modes[] = { "spawn", "pool" };
        char text[1024], out[4096];

        for (size_t i = 0; i < 2; i++) {
                snprintf(text, sizeof(text),
                         "[socket:s]\npath = /run/x.sock\nworker = e\ntype = datagram\n\n"
                         "[worker:e]\ncommand = /bin/cat\ndispatch = %s\n", modes[i]);
                int st = check_config(text, out, sizeof(out));
                cr_assert_eq(st, EX_CONFIG, "%s: %s", modes[i], out);
                cr_assert(strstr(out, "u.conf:4: type: a datagram socket has no connections to hand over"),
                          "%s: %s", modes[i], out);
                cr_assert(strstr(out, fmt("dispatch = %s", modes[i])), "names the dispatch: %s", out);
        }
        int st = check_config("[socket:s]\npath = /run/x.sock\nworker = e\ntype = datagram\nbacklog = 5\n\n"
                              "[worker:e]\ncommand = /bin/cat\ndispatch = listener\n", out, sizeof(out));
        cr_assert_eq(st, EX_CONFIG, "%s", out);
        cr_assert(strstr(out, "u.conf:5: backlog: a datagram socket has no queue of connections"), "%s", out);
        st = check_config("[socket:s]\npath = /run/x.sock\nworker = e\ntype = stream-ish\n\n"
                          "[worker:e]\ncommand = /bin/cat\n", out, sizeof(out));
        cr_assert_eq(st, EX_CONFIG, "%s", out);
        cr_assert(strstr(out, "u.conf:4: type:"), "%s", out);
        cr_assert(strstr(out, "stream-ish"), "%s", out);
}

/* ---- inherited fds of another type --------------------------------------------- */

/* A stream listener at dir/s.sock that a socket unit would hand over: bound
 * there directly (so not one a unixsockd published). */
static int unit_listener(const char *path, int type)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

        cr_assert_geq(fd, 0);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        cr_assert(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "%s: %s", path, strerror(errno));
        cr_assert(type == SOCK_DGRAM || listen(fd, 16) == 0);
        return fd;
}

Test(types, a_socket_units_fd_of_another_type_is_an_error_naming_both)
{
        char *dir = make_tmpdir();
        const char *path = strdup(join(dir, "s.sock"));

        held = unit_listener(path, SOCK_STREAM);
        harness_listen_fd = held;
        harness_listen_name = "s";
        daemon_spawn(&d, type_conf("seqpacket", "", test_prog("activate-echo"), "listener"), NULL);
        int st = daemon_wait_exit(&d);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == EX_CONFIG, "status 0x%x", st);
        cr_assert(daemon_log_has(&d, "[socket:s] has type = seqpacket, but the inherited fd 3"));
        cr_assert(daemon_log_has(&d, "is a stream socket"));
        cr_assert(daemon_log_has(&d, "unixsockd.conf:5: [socket:s]"), "FILE:LINE of the section");
        rm_rf(dir);
        free(dir);
}

Test(types, a_socket_units_fd_of_the_sections_type_is_served)
{
        char *dir = make_tmpdir();
        const char *path = strdup(join(dir, "s.sock"));

        held = unit_listener(path, SOCK_SEQPACKET);
        harness_listen_fd = held;
        harness_listen_name = "s";
        snprintf(conf, sizeof(conf),
                 "[unixsockd]\nruntime-directory = @DIR@\ncontrol = none\n\n"
                 "[socket:s]\npath = %s\ntype = seqpacket\nworker = e\n\n"
                 "[worker:e]\ncommand = %s\n", path, test_prog("activate-echo"));
        daemon_start(&d, conf);
        close(held); /* the daemon has its own copy now */
        held = -1;
        int c = connect_type(path, SOCK_SEQPACKET);
        expect_two_messages_back(c);
        close(c);
        daemon_stop(&d);
        rm_rf(dir);
        free(dir);
}

Test(types, the_fd_stores_socket_of_an_older_type_gives_way_to_a_new_one_on_its_file)
{
        /* what a unixsockd stored: published by libunixsock, as the daemon does */
        struct us_listener *l;
        char *dir = make_tmpdir();
        const char *path = strdup(join(dir, "s.sock"));
        struct stat before, after;

        l = us_listen(path, 16);
        cr_assert_not_null(l, "%s", strerror(errno));
        us_listener_set_unlink(l, false);
        cr_assert(stat(path, &before) == 0);
        held = dup(us_listener_fd(l)); /* the store keeps its copy: the old socket stays live */
        us_close(l);
        harness_listen_fd = held;
        harness_listen_name = "s";
        snprintf(conf, sizeof(conf),
                 "[unixsockd]\nruntime-directory = @DIR@\ncontrol = none\n\n"
                 "[socket:s]\npath = %s\ntype = seqpacket\nworker = e\n\n"
                 "[worker:e]\ncommand = %s\n", path, test_prog("activate-echo"));
        daemon_start(&d, conf);
        cr_assert(daemon_log_has(&d, "socket s: the fd store's socket is a stream socket, type = seqpacket now"));
        cr_assert(stat(path, &after) == 0);
        cr_assert_neq(after.st_ino, before.st_ino, "a new file in its place");
        int c = connect_type(path, SOCK_SEQPACKET);
        expect_two_messages_back(c);
        close(c);
        daemon_stop(&d);
        rm_rf(dir);
        free(dir);
}

/* ---- reload --------------------------------------------------------------------- */

Test(types, a_reload_that_changes_a_sockets_type_replaces_it_on_its_path)
{
        daemon_start(&d, type_conf("stream", "", test_prog("activate-echo"), "spawn"));
        const char *p = daemon_path(&d, "s.sock");

        client_expect_echo(p, "as a stream");
        daemon_reload(&d, type_conf("seqpacket", "", test_prog("activate-echo"), "spawn"));
        cr_assert(daemon_log_has(&d, "reloaded"), "applied");
        int c = connect_type(p, SOCK_SEQPACKET);
        expect_two_messages_back(c);
        close(c);
        cr_assert_lt(us_connect_type(p, SOCK_STREAM), 0, "the stream socket is gone");
        cr_assert_eq(errno, EPROTOTYPE);

        daemon_reload(&d, type_conf("datagram", "", test_prog("activate-echo"), "listener"));
        cr_assert(daemon_wait_log_count(&d, "reloaded", 2));
        c = connect_type(p, SOCK_DGRAM);
        expect_two_messages_back(c);
        close(c);

        daemon_reload(&d, type_conf("stream", "", test_prog("activate-echo"), "spawn"));
        cr_assert(daemon_wait_log_count(&d, "reloaded", 3));
        client_expect_echo(p, "a stream again");
        daemon_stop(&d);
}

Test(types, a_reload_that_changes_a_listener_sockets_type_restarts_its_worker_on_the_new_one)
{
        daemon_start(&d, type_conf("stream", "", test_prog("activate-echo"), "listener"));
        const char *p = daemon_path(&d, "s.sock");

        client_expect_echo(p, "the copy runs"); /* and holds the stream socket */
        cr_assert(daemon_wait_log(&d, "worker e: started pid"));
        daemon_reload(&d, type_conf("seqpacket", "", test_prog("activate-echo"), "listener"));
        cr_assert(daemon_log_has(&d, "reloaded"));
        int c = connect_type(p, SOCK_SEQPACKET);
        expect_two_messages_back(c); /* by a copy that has the seqpacket socket */
        close(c);
        daemon_stop(&d);
}

/* The directory's owner put a socket of their own on b's path: a reload that
 * changes the type of a and b leaves a served on its new type and touches
 * nothing of theirs. (Replacing in reload_make, a refusal caused by b took
 * a's file with it.) */
Test(types, a_type_change_that_cannot_replace_one_file_loses_no_other)
{
        snprintf(conf, sizeof(conf),
                 "[unixsockd]\nruntime-directory = @DIR@\ncontrol = control.sock\n\n"
                 "[socket:a]\npath = a.sock\ntype = %s\nworker = e\n\n"
                 "[socket:b]\npath = b.sock\ntype = %s\nworker = e\n\n"
                 "[worker:e]\ncommand = %s\n", "stream", "stream", test_prog("activate-echo"));
        daemon_start(&d, conf);
        const char *b = strdup(daemon_path(&d, "b.sock"));
        cr_assert(rename(b, daemon_path(&d, "b-away.sock")) == 0);
        struct us_listener *theirs = us_listen(b, 4);
        cr_assert_not_null(theirs, "%s", strerror(errno));

        snprintf(conf, sizeof(conf),
                 "[unixsockd]\nruntime-directory = @DIR@\ncontrol = control.sock\n\n"
                 "[socket:a]\npath = a.sock\ntype = %s\nworker = e\n\n"
                 "[socket:b]\npath = b.sock\ntype = %s\nworker = e\n\n"
                 "[worker:e]\ncommand = %s\n", "seqpacket", "seqpacket", test_prog("activate-echo"));
        daemon_reload(&d, conf);
        cr_assert(daemon_wait_log(&d, "socket b: "), "b's failure is logged");
        int c = connect_type(daemon_path(&d, "a.sock"), SOCK_SEQPACKET);
        expect_two_messages_back(c);
        close(c);
        c = us_connect(b);
        cr_assert_geq(c, 0, "their socket is untouched: %s", strerror(errno));
        int k = us_accept(theirs, NULL);
        cr_assert_geq(k, 0, "and it is theirs that answers");
        close(k);
        close(c);
        us_close(theirs);
        daemon_stop(&d);
}

/* The last fd store message about name in d's notify messages: "FDSTORE=1",
 * "FDSTOREREMOVE=1", or "" for none. */
static const char *last_store_message(const char *name)
{
        char want[300];
        const char *last = "";
        char *copy = strndup(d.notes, d.notes_len), *save = NULL;

        snprintf(want, sizeof(want), "FDNAME=%s", name);
        for (char *m = strtok_r(copy, ";", &save); m; m = strtok_r(NULL, ";", &save)) {
                bool named = false;
                for (char *line = m; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
                        named |= strncmp(line, want, strlen(want)) == 0 &&
                                 (line[strlen(want)] == '\n' || line[strlen(want)] == '\0');
                if (named)
                        last = strstr(m, "FDSTOREREMOVE=1") ? "FDSTOREREMOVE=1" : "FDSTORE=1";
        }
        free(copy);
        return last;
}

Test(types, a_socket_whose_type_or_path_a_reload_changed_stays_in_the_fd_store)
{
        daemon_start(&d, type_conf("stream", "", test_prog("activate-echo"), "spawn"));
        cr_assert_str_eq(last_store_message("s"), "FDSTORE=1", "stored at start: %.*s", (int)d.notes_len, d.notes);

        d.notes_len = 0;
        daemon_reload(&d, type_conf("seqpacket", "", test_prog("activate-echo"), "spawn"));
        cr_assert(daemon_log_has(&d, "reloaded"));
        /* the old one leaves the store by name, then the new one is stored under it */
        cr_assert_str_eq(last_store_message("s"), "FDSTORE=1", "%.*s", (int)d.notes_len, d.notes);

        d.notes_len = 0;
        snprintf(conf, sizeof(conf),
                 "[unixsockd]\nruntime-directory = @DIR@\ncontrol = control.sock\n\n"
                 "[socket:s]\npath = moved.sock\ntype = seqpacket\nworker = e\n\n"
                 "[worker:e]\ncommand = %s\n", test_prog("activate-echo"));
        daemon_reload(&d, conf);
        cr_assert(daemon_wait_log_count(&d, "reloaded", 2));
        cr_assert_str_eq(last_store_message("s"), "FDSTORE=1", "a new path: %.*s", (int)d.notes_len, d.notes);
        daemon_stop(&d);
}

/* ---- allow-groups and supplementary groups ----------------------------------------- */

/* From a child as uid and primary group nobody with exactly the
 * supplementary groups given: exchange_as() of "let me in" on a socket of type. */
static ssize_t exchange_with_groups(const char *path, int type, const gid_t *groups, int n, char *buf, size_t size)
{
        const struct client_ids ids = { NOBODY, NOBODY, groups, n };

        return exchange_as(path, type, &ids, "let me in", buf, size);
}

Test(types, allow_groups_admits_a_peer_whose_only_matching_group_is_supplementary)
{
        static const gid_t docker[] = { 4343, 4242 }, others[] = { 4343, 4444 };
        char buf[256];

        if (geteuid() != 0)
                cr_skip_test("needs root to connect with other ids");
        daemon_start(&d, type_conf("stream", "mode = 0666\nallow-groups = 4242\n", "/bin/cat", "spawn"));
        const char *p = daemon_path(&d, "s.sock");

        cr_assert_eq(exchange_with_groups(p, SOCK_STREAM, docker, 2, buf, sizeof(buf)), 9, "served");
        cr_assert_str_eq(buf, "let me in");
        cr_assert_eq(exchange_with_groups(p, SOCK_STREAM, others, 2, buf, sizeof(buf)), 0,
                     "refused: closed unanswered");
        cr_assert(daemon_wait_log(&d, "refused uid 65534"));
        cr_assert_eq(exchange_with_groups(p, SOCK_STREAM, NULL, 0, buf, sizeof(buf)), 0,
                     "no group at all: refused");
        cr_assert(daemon_wait_log_count(&d, "refused uid 65534", 2));
        daemon_stop(&d);
}

Test(types, allow_groups_agrees_with_the_kernels_check_of_the_socket_file)
{
        static const gid_t member[] = { 4242 };
        char buf[256];

        if (geteuid() != 0)
                cr_skip_test("needs root to connect with other ids");
        /* the file lets group 4242 in; so does the daemon, for a supplementary member too */
        daemon_start(&d, type_conf("seqpacket", "mode = 0660\ngroup = 4242\nallow-groups = 4242\n", "/bin/cat",
                                   "spawn"));
        const char *p = daemon_path(&d, "s.sock");

        cr_assert_eq(exchange_with_groups(p, SOCK_SEQPACKET, member, 1, buf, sizeof(buf)), 9, "served: %s", buf);
        cr_assert_str_eq(buf, "let me in");
        cr_assert_eq(exchange_with_groups(p, SOCK_SEQPACKET, NULL, 0, buf, sizeof(buf)), -3,
                     "the kernel refuses a non-member");
        cr_assert_str_eq(buf, "connect: Permission denied", "by the file's mode");
        cr_assert_not(daemon_log_has(&d, "refused uid"), "the daemon refused nobody");
        daemon_stop(&d);
}
