/* The client side of the control protocol: the default socket, the request
 * line, one answer within a deadline. Never blocks past the deadline, never
 * trusts the answer's size or shape. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "client.h"
#include "unixsock.h"

static void say(char *err, size_t errsize, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *err, size_t errsize, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err, errsize, fmt, ap);
        va_end(ap);
}

/* dir/control.sock with runs of '/' and "." parts dropped, as the daemon's
 * parse_path_join() makes the runtime directory. */
static char *control_in(const char *dir)
{
        size_t n = strlen(dir);
        char *out = malloc(n + sizeof("/control.sock") + 1), *o = out;

        if (!out)
                return NULL;
        for (const char *s = dir; *s;) {
                const char *e;

                while (*s == '/')
                        s++;
                e = strchrnul(s, '/');
                if (e != s && !(e - s == 1 && *s == '.')) {
                        *o++ = '/';
                        memcpy(o, s, (size_t)(e - s));
                        o += e - s;
                }
                s = e;
        }
        strcpy(o, "/control.sock");
        return out;
}

char *client_default_socket(char *err, size_t errsize)
{
        const char *rd = getenv("RUNTIME_DIRECTORY"), *x = getenv("XDG_RUNTIME_DIR");
        char *dir, *path;

        /* systemd gives one path per RuntimeDirectory= entry, ':'-separated. */
        if (rd && rd[0] == '/')
                dir = strndup(rd, strcspn(rd, ":"));
        else if (geteuid() == 0)
                dir = strdup("/run/unixsockd");
        else if (x && x[0] == '/') {
                if (asprintf(&dir, "%s/unixsockd", x) < 0)
                        dir = NULL;
        } else {
                say(err, errsize, "no default control socket: RUNTIME_DIRECTORY and XDG_RUNTIME_DIR are not "
                    "set to absolute paths; name the socket with -s");
                return NULL;
        }
        path = dir ? control_in(dir) : NULL;
        free(dir);
        if (!path)
                say(err, errsize, "out of memory");
        return path;
}

static bool is_name(const char *s)
{
        return s[0] && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == strlen(s);
}

char *client_request(const char *command, char *const args[], size_t n_args, char *err, size_t errsize)
{
        char *line;
        size_t len;
        FILE *f = open_memstream(&line, &len);

        if (!f) {
                say(err, errsize, "out of memory");
                return NULL;
        }
        fprintf(f, "unixsockd/%d %s", CLIENT_PROTOCOL, command);
        for (size_t i = 0; i < n_args; i++)
                fprintf(f, " %s", args[i]);
        fputc('\n', f);
        if (fclose(f) != 0) {
                say(err, errsize, "out of memory");
                return NULL;
        }
        for (size_t i = 0; i < n_args; i++)
                if (!is_name(args[i])) {
                        say(err, errsize, "'%s' is not a socket or worker name (letters, digits, '_', '.', '-')",
                            args[i]);
                        free(line);
                        return NULL;
                }
        if (len > CLIENT_REQUEST_MAX) {
                say(err, errsize, "the request is %zu bytes, the protocol allows %d: ask for fewer names",
                    len, CLIENT_REQUEST_MAX);
                free(line);
                return NULL;
        }
        return line;
}

static int64_t now_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Waits for events on fd until deadline: 1 ready, 0 the deadline passed, -1 errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
        for (;;) {
                int64_t left = deadline - now_usec();
                struct pollfd p = { .fd = fd, .events = events };
                int r;

                if (left <= 0)
                        return 0;
                r = poll(&p, 1, left / 1000 + 1 > INT_MAX ? INT_MAX : (int)(left / 1000 + 1));
                if (r > 0)
                        return 1;
                if (r < 0 && errno != EINTR)
                        return -1;
        }
}

/* connect(2) to a listener whose queue is full waits, with no deadline of its
 * own: a one-shot timer stops the program if it is still waiting then. The
 * handler does only async-signal-safe work: write the message made before. */
static char alarm_msg[1024];
static size_t alarm_len;

static void on_alarm(int sig)
{
        (void)sig;
        (void)!write(STDERR_FILENO, alarm_msg, alarm_len);
        _exit(EX_UNAVAILABLE);
}

static int connect_within(const char *path, int64_t timeout_usec)
{
        struct sigaction sa = { .sa_handler = on_alarm };
        struct itimerval on = { .it_value = { .tv_sec = timeout_usec / 1000000,
                                              .tv_usec = timeout_usec % 1000000 } }, off = { 0 };
        int fd, e;

        snprintf(alarm_msg, sizeof(alarm_msg),
                 "unixsockctl: %s: the daemon did not take the connection within %.3g s (its queue is full)\n",
                 path, (double)timeout_usec / 1e6);
        alarm_len = strlen(alarm_msg);
        if (on.it_value.tv_sec == 0 && on.it_value.tv_usec == 0)
                on.it_value.tv_usec = 1;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGALRM, &sa, NULL);
        setitimer(ITIMER_REAL, &on, NULL);
        fd = us_connect(path);
        e = errno;
        setitimer(ITIMER_REAL, &off, NULL);
        errno = e;
        return fd;
}

static int connect_failed(const char *path, char *err, size_t errsize)
{
        int e = errno;

        if (e == EACCES || e == EPERM) {
                say(err, errsize, "%s: %s (the control socket is for the daemon's user, root, and "
                    "control-group)", path, strerror(e));
                return EX_NOPERM;
        }
        if (e == ENOENT || e == ECONNREFUSED)
                say(err, errsize, "cannot reach the daemon at %s: %s (is unixsockd running? -s names "
                    "another control socket)", path, strerror(e));
        else
                say(err, errsize, "cannot reach the daemon at %s: %s", path, strerror(e));
        return EX_UNAVAILABLE;
}

static int send_request(int fd, const char *path, const char *request, int64_t deadline, char *err,
                        size_t errsize)
{
        size_t len = strlen(request), off = 0;

        while (off < len) {
                ssize_t n = us_send(fd, request + off, len - off);
                int r;

                if (n > 0) {
                        off += (size_t)n;
                        continue;
                }
                if (errno != EAGAIN && errno != EINTR) {
                        say(err, errsize, "%s: sending the request: %s", path, strerror(errno));
                        return EX_UNAVAILABLE;
                }
                r = wait_fd(fd, POLLOUT, deadline);
                if (r <= 0) {
                        say(err, errsize, "%s: the daemon did not read the request in time", path);
                        return EX_UNAVAILABLE;
                }
        }
        return 0;
}

/* Reads until the first "\n" (or EOF) into *buf; 0, or a sysexits code. */
static int read_answer(int fd, const char *path, int64_t deadline, int64_t timeout_usec, char **buf,
                       size_t *ret_len, char *err, size_t errsize)
{
        size_t len = 0, size = 0;
        char *b = NULL;

        for (;;) {
                ssize_t n;
                int r;

                if (len == size) {
                        size_t nsize = size ? size * 2 : 65536;
                        char *nb;

                        if (size >= CLIENT_ANSWER_MAX) {
                                say(err, errsize, "%s: the answer is longer than %u MiB: not read", path,
                                    CLIENT_ANSWER_MAX >> 20);
                                break;
                        }
                        if (!(nb = realloc(b, nsize))) {
                                say(err, errsize, "out of memory");
                                free(b);
                                return EX_OSERR;
                        }
                        b = nb;
                        size = nsize;
                }
                n = read(fd, b + len, size - len);
                if (n > 0) {
                        char *nl = memchr(b + len, '\n', (size_t)n);

                        len += (size_t)n;
                        if (nl) {
                                *ret_len = (size_t)(nl - b);
                                *nl = '\0';
                                *buf = b;
                                return 0;
                        }
                        continue;
                }
                if (n == 0) {
                        if (len == 0)
                                say(err, errsize, "%s: the daemon closed the connection without an answer", path);
                        else
                                say(err, errsize, "%s: the answer ends after %zu bytes without its newline "
                                    "(truncated)", path, len);
                        break;
                }
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN) {
                        say(err, errsize, "%s: reading the answer: %s", path, strerror(errno));
                        free(b);
                        return EX_UNAVAILABLE;
                }
                r = wait_fd(fd, POLLIN, deadline);
                if (r <= 0) {
                        say(err, errsize, "%s: no answer from the daemon within %.3g s%s", path,
                            (double)timeout_usec / 1e6, len ? " (a part came)" : "");
                        free(b);
                        return EX_UNAVAILABLE;
                }
        }
        free(b);
        return EX_PROTOCOL;
}

/* The envelope every answer has: an object, "protocol": 1, "ok": a boolean. */
static int parse_answer(const char *path, const char *line, size_t len, struct json_object **ret, char *err,
                        size_t errsize)
{
        struct json_tokener *tok = json_tokener_new();
        struct json_object *o, *v;
        int64_t proto;

        if (!tok) {
                say(err, errsize, "out of memory");
                return EX_OSERR;
        }
        o = json_tokener_parse_ex(tok, line, (int)len);
        if (!o || json_tokener_get_parse_end(tok) != len) {
                say(err, errsize, "%s: the answer is no JSON (%s at byte %zu)", path,
                    o ? "text after the value" : json_tokener_error_desc(json_tokener_get_error(tok)),
                    json_tokener_get_parse_end(tok));
                goto bad;
        }
        if (!json_object_is_type(o, json_type_object)) {
                say(err, errsize, "%s: the answer is JSON but no object", path);
                goto bad;
        }
        if (!json_object_object_get_ex(o, "protocol", &v) || !json_object_is_type(v, json_type_int)) {
                say(err, errsize, "%s: the answer has no \"protocol\" number", path);
                goto bad;
        }
        proto = json_object_get_int64(v);
        if (proto != CLIENT_PROTOCOL) {
                say(err, errsize, "%s: the daemon answers in protocol %lld; this unixsockctl speaks %d", path,
                    (long long)proto, CLIENT_PROTOCOL);
                goto bad;
        }
        if (!json_object_object_get_ex(o, "ok", &v) || !json_object_is_type(v, json_type_boolean)) {
                say(err, errsize, "%s: the answer has no \"ok\" true or false", path);
                goto bad;
        }
        json_tokener_free(tok);
        *ret = o;
        return 0;
bad:
        json_object_put(o);
        json_tokener_free(tok);
        return EX_PROTOCOL;
}

int client_call(const char *path, const char *request, int64_t timeout_usec, struct client_answer *ret,
                char *err, size_t errsize)
{
        int64_t deadline = now_usec() + timeout_usec;
        struct client_answer a = { 0 };
        int fd, r;

        fd = connect_within(path, timeout_usec);
        if (fd < 0)
                return connect_failed(path, err, errsize);
        if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
                say(err, errsize, "%s: %s", path, strerror(errno));
                close(fd);
                return EX_OSERR;
        }
        r = send_request(fd, path, request, deadline, err, errsize);
        if (r == 0)
                r = read_answer(fd, path, deadline, timeout_usec, &a.line, &a.len, err, errsize);
        close(fd);
        if (r == 0)
                r = parse_answer(path, a.line, a.len, &a.json, err, errsize);
        if (r != 0) {
                free(a.line);
                return r;
        }
        *ret = a;
        return 0;
}

void client_answer_free(struct client_answer *a)
{
        json_object_put(a->json);
        free(a->line);
        a->json = NULL;
        a->line = NULL;
}
