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
#include "config/parse.h"

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

/* The fields of an event, in one order for both targets: the journal's name
 * (UNIXSOCKD_SOCKET=...), the console's (socket=...) and the value. */
struct field {
        const char *journal, *console;
        char value[288];
};

#define FIELDS_MAX 10                   /* every member of struct log_ctx once, exit twice */

static size_t ctx_fields(const struct log_ctx *c, struct field f[static FIELDS_MAX])
{
        size_t n = 0;

#define FIELD(j, con, ...) do { \
                f[n].journal = (j); \
                f[n].console = (con); \
                snprintf(f[n].value, sizeof(f[n].value), __VA_ARGS__); \
                n++; \
        } while (0)
        if (!c)
                return 0;
        if (c->msgid)
                FIELD("MESSAGE_ID", NULL, "%s", c->msgid);
        if (c->socket)
                FIELD("UNIXSOCKD_SOCKET", "socket", "%s", c->socket);
        if (c->worker)
                FIELD("UNIXSOCKD_WORKER", "worker", "%s", c->worker);
        if (c->peer_pid >= 0)
                FIELD("UNIXSOCKD_PEER_PID", "peer_pid", "%d", (int)c->peer_pid);
        if (c->peer_uid != (uid_t)-1)
                FIELD("UNIXSOCKD_PEER_UID", "peer_uid", "%u", (unsigned)c->peer_uid);
        if (c->peer_gid != (gid_t)-1)
                FIELD("UNIXSOCKD_PEER_GID", "peer_gid", "%u", (unsigned)c->peer_gid);
        if (c->worker_pid >= 0)
                FIELD("UNIXSOCKD_WORKER_PID", "worker_pid", "%d", (int)c->worker_pid);
        if (c->exit_code) {
                FIELD("EXIT_CODE", "exit_code", "%s", exit_code_name(c->exit_code));
                FIELD("EXIT_STATUS", "exit_status", "%s", "");
                exit_status_string(c->exit_code, c->exit_status, f[n - 1].value, sizeof(f[n - 1].value));
        }
        /* As systemd's own entries: the number, for journalctl ERRNO=...; the
         * console line already has strerror() in its message. */
        if (c->error > 0)
                FIELD("ERRNO", NULL, "%d", c->error);
#undef FIELD
        return n;
}

static void send_journal(int prio, const struct log_ctx *c, const char *msg)
{
        struct field f[FIELDS_MAX];
        char lines[3 + FIELDS_MAX][320];
        struct iovec iov[3 + FIELDS_MAX];
        size_t n = 0, nf = ctx_fields(c, f);
        char *m;

        if (asprintf(&m, "MESSAGE=%s", msg) < 0)
                return;
        iov[n++] = (struct iovec){ m, strlen(m) };
        snprintf(lines[n], sizeof(lines[n]), "PRIORITY=%d", prio);
        iov[n] = (struct iovec){ lines[n], strlen(lines[n]) };
        n++;
        iov[n++] = (struct iovec){ (char *)"SYSLOG_IDENTIFIER=unixsockd", strlen("SYSLOG_IDENTIFIER=unixsockd") };
        for (size_t i = 0; i < nf; i++, n++) {
                snprintf(lines[n], sizeof(lines[n]), "%s=%s", f[i].journal, f[i].value);
                iov[n] = (struct iovec){ lines[n], strlen(lines[n]) };
        }
        sd_journal_sendv(iov, (int)n);
        free(m);
}

static void send_console(int prio, const struct log_ctx *c, const char *msg)
{
        struct field f[FIELDS_MAX];
        size_t nf = ctx_fields(c, f);
        char line[2048];
        size_t n = 0;

#define ADD(...) do { \
                int w_ = snprintf(line + n, sizeof(line) - n, __VA_ARGS__); \
                if (w_ > 0) \
                        n = (size_t)w_ >= sizeof(line) - n ? sizeof(line) - 1 : n + (size_t)w_; \
        } while (0)
        ADD("unixsockd[%d]: %s: %s", (int)getpid(), log_level_to_string(prio), msg);
        for (size_t i = 0; i < nf; i++)
                if (f[i].console)
                        ADD(" %s=%s", f[i].console, f[i].value);
#undef ADD
        line[n++] = '\n';
        /* One write(2) per line, so lines of concurrent writers never mix. */
        (void)!write(STDERR_FILENO, line, n);
}

__attribute__((format(printf, 3, 0)))
static void vlog(int prio, const struct log_ctx *c, const char *fmt, va_list ap)
{
        char raw[1024], msg[4 * sizeof(raw)];
        int saved = errno;

        if (!log_enabled(prio))
                return;
        vsnprintf(raw, sizeof(raw), fmt, ap);
        /* Paths and names come from files anyone may have written: no byte of
         * them reaches a terminal or the journal raw. */
        parse_escape(msg, sizeof(msg), raw);
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

__attribute__((format(printf, 4, 0)))
static int vlog_errno(int prio, const struct log_ctx *ctx, int r, const char *fmt, va_list ap)
{
        struct log_ctx c = LOG_CTX_INIT;
        char msg[1024];

        if (!log_enabled(prio))
                return r;
        if (ctx)
                c = *ctx;
        c.error = r < 0 ? -r : r;
        vsnprintf(msg, sizeof(msg), fmt, ap);
        log_ctx(prio, &c, "%s: %s", msg, strerror(c.error));
        return r;
}

int log_errno(int prio, int r, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        r = vlog_errno(prio, NULL, r, fmt, ap);
        va_end(ap);
        return r;
}

int log_ctx_errno(int prio, const struct log_ctx *ctx, int r, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        r = vlog_errno(prio, ctx, r, fmt, ap);
        va_end(ap);
        return r;
}

void log_config_error(void *userdata, const char *file, unsigned line, const char *msg)
{
        struct log_ctx c = LOG_CTX_INIT;

        c.msgid = MSGID_CONFIG_ERROR;
        if (line)
                log_ctx(LOG_ERR, &c, "%s:%u: %s", file, line, msg);
        else
                log_ctx(LOG_ERR, &c, "%s: %s", file, msg);
}
