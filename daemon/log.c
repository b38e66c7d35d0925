/* Logging: native journal entries with structured fields, or one readable line on stderr. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "log.h"

static bool to_journal;
static int max_level = LOG_INFO;
static bool level_pinned;       /* --log-level: the configuration's log-level does not apply */

static const char *const level_names[] = {
        [LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
        [LOG_ERR] = "err", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
        [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

int log_level_from_string(const char *s)
{
        for (int i = LOG_ERR; i <= LOG_DEBUG; i++)
                if (strcmp(s, level_names[i]) == 0)
                        return i;
        if (strcmp(s, "error") == 0)
                return LOG_ERR;
        return -EINVAL;
}

const char *log_level_to_string(int level)
{
        return level >= 0 && level <= LOG_DEBUG ? level_names[level] : "?";
}

static bool stderr_is_journal(void)
{
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
                return false;
        return st.st_dev == dev && st.st_ino == ino;
}

void log_open(enum log_target t)
{
        to_journal = t == LOG_TARGET_JOURNAL || (t == LOG_TARGET_AUTO && stderr_is_journal());
}

bool log_to_journal(void)
{
        return to_journal;
}

void log_set_level(int level)
{
        if (!level_pinned)
                max_level = level;
}

void log_pin_level(int level)
{
        max_level = level;
        level_pinned = true;
}

int log_get_level(void)
{
        return max_level;
}

bool log_enabled(int prio)
{
        return prio <= max_level;
}

static const char *exit_code_name(int code)
{
        switch (code) {
        case CLD_EXITED: return "exited";
        case CLD_KILLED: return "killed";
        case CLD_DUMPED: return "dumped";
        default: return "unknown";
        }
}

/* EXIT_STATUS as systemd writes it: the number, or the signal's name. */
static void exit_status_string(int code, int status, char *buf, size_t size)
{
        const char *name = code == CLD_EXITED ? NULL : sigabbrev_np(status);

        if (name)
                snprintf(buf, size, "%s", name);
        else
                snprintf(buf, size, "%d", status);
}

static void send_journal(int prio, const struct log_ctx *c, const char *msg)
{
        char f[12][96];
        struct iovec iov[14];
        size_t n = 0, k = 0;
        char *m;

        if (asprintf(&m, "MESSAGE=%s", msg) < 0)
                return;
        iov[n++] = (struct iovec){ m, strlen(m) };
#define FIELD(...) do { \
                snprintf(f[k], sizeof(f[k]), __VA_ARGS__); \
                iov[n++] = (struct iovec){ f[k], strlen(f[k]) }; \
                k++; \
        } while (0)
        FIELD("PRIORITY=%d", prio);
        FIELD("SYSLOG_IDENTIFIER=unixsockd");
        if (c) {
                if (c->msgid)
                        FIELD("MESSAGE_ID=%s", c->msgid);
                if (c->socket)
                        FIELD("UNIXSOCKD_SOCKET=%s", c->socket);
                if (c->worker)
                        FIELD("UNIXSOCKD_WORKER=%s", c->worker);
                if (c->peer_pid >= 0)
                        FIELD("UNIXSOCKD_PEER_PID=%d", (int)c->peer_pid);
                if (c->peer_uid != (uid_t)-1)
                        FIELD("UNIXSOCKD_PEER_UID=%u", (unsigned)c->peer_uid);
                if (c->peer_gid != (gid_t)-1)
                        FIELD("UNIXSOCKD_PEER_GID=%u", (unsigned)c->peer_gid);
                if (c->worker_pid >= 0)
                        FIELD("UNIXSOCKD_WORKER_PID=%d", (int)c->worker_pid);
                if (c->exit_code) {
                        char s[32];
                        FIELD("EXIT_CODE=%s", exit_code_name(c->exit_code));
                        exit_status_string(c->exit_code, c->exit_status, s, sizeof(s));
                        FIELD("EXIT_STATUS=%s", s);
                }
        }
#undef FIELD
        sd_journal_sendv(iov, (int)n);
        free(m);
}

static void send_console(int prio, const struct log_ctx *c, const char *msg)
{
        char line[2048];
        size_t n = 0;

#define ADD(...) do { \
                int w_ = snprintf(line + n, sizeof(line) - n, __VA_ARGS__); \
                if (w_ > 0) \
                        n = (size_t)w_ >= sizeof(line) - n ? sizeof(line) - 1 : n + (size_t)w_; \
        } while (0)
        ADD("unixsockd[%d]: %s: %s", (int)getpid(), log_level_to_string(prio), msg);
        if (c) {
                if (c->socket)
                        ADD(" socket=%s", c->socket);
                if (c->worker)
                        ADD(" worker=%s", c->worker);
                if (c->peer_pid >= 0)
                        ADD(" peer_pid=%d", (int)c->peer_pid);
                if (c->peer_uid != (uid_t)-1)
                        ADD(" peer_uid=%u", (unsigned)c->peer_uid);
                if (c->peer_gid != (gid_t)-1)
                        ADD(" peer_gid=%u", (unsigned)c->peer_gid);
                if (c->worker_pid >= 0)
                        ADD(" worker_pid=%d", (int)c->worker_pid);
                if (c->exit_code) {
                        char s[32];
                        exit_status_string(c->exit_code, c->exit_status, s, sizeof(s));
                        ADD(" exit_code=%s exit_status=%s", exit_code_name(c->exit_code), s);
                }
        }
#undef ADD
        line[n++] = '\n';
        /* One write(2) per line, so lines of concurrent writers never mix. */
        (void)!write(STDERR_FILENO, line, n);
}

static void vlog(int prio, const struct log_ctx *c, const char *fmt, va_list ap)
{
        char msg[1024];
        int saved = errno;

        if (!log_enabled(prio))
                return;
        vsnprintf(msg, sizeof(msg), fmt, ap);
        if (to_journal)
                send_journal(prio, c, msg);
        else
                send_console(prio, c, msg);
        errno = saved;
}

void log_ctx(int prio, const struct log_ctx *c, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vlog(prio, c, fmt, ap);
        va_end(ap);
}

int log_errno(int prio, int r, const char *fmt, ...)
{
        char msg[1024];
        va_list ap;

        if (!log_enabled(prio))
                return r;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        log_ctx(prio, NULL, "%s: %s", msg, strerror(r < 0 ? -r : r));
        return r;
}

bool ratelimit_pass(struct ratelimit *r, uint64_t now, unsigned *ret_suppressed)
{
        if (r->begin == 0 || now - r->begin >= r->interval_usec) {
                *ret_suppressed = r->suppressed;
                r->begin = now;
                r->n = 1;
                r->suppressed = 0;
                return true;
        }
        if (r->n < r->burst) {
                r->n++;
                *ret_suppressed = 0;
                return true;
        }
        r->suppressed++;
        return false;
}
