/* Logging: native journal entries with structured fields, or one readable line on stderr. */
#ifndef USD_LOG_H
#define USD_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>
#include <sys/types.h>

#include "ratelimit.h"

/* One MESSAGE_ID per kind of event: journalctl MESSAGE_ID=... finds them. */
#define MSGID_STARTED          "712bb57761224f36b7e21fef3d46eaea"
#define MSGID_RELOADED         "81e6a919258e4a9ab2bd2b454f458083"
#define MSGID_WORKER_EXITED    "418d4d2e4b56403a95a4843476ed5569"
#define MSGID_CONN_REFUSED     "b30e15e841c74907a8cb4fa81067fb8f"
#define MSGID_ACCEPT_PAUSED    "54f37d0b37ec4baf8748fb482daeda28"
#define MSGID_STOPPING         "4d237d49239c463ba9b3c1f486f8ac66"
#define MSGID_WORKER_STARTED   "8cac6d32d75d478d887abcb21cf69850"
#define MSGID_CONFIG_ERROR     "055cd6b3e6844c7fb93684277d4d0b4e"
#define MSGID_RUNTIME_MAX      "868e6df4f7e148b98eb3c596f38e20c7"

enum log_target {
        LOG_TARGET_AUTO,
        LOG_TARGET_JOURNAL,
        LOG_TARGET_CONSOLE,
};

/* What an event is about; every member is optional (NULL, or -1 for numbers). */
struct log_ctx {
        const char *msgid;
        const char *socket;
        const char *worker;
        pid_t peer_pid;
        uid_t peer_uid;
        gid_t peer_gid;
        pid_t worker_pid;
        int exit_code;          /* CLD_EXITED, CLD_KILLED, CLD_DUMPED; 0: none */
        int exit_status;
        int error;              /* the errno (positive) of what failed, ERRNO= in the journal; 0: none */
};
#define LOG_CTX_INIT { .peer_pid = -1, .peer_uid = (uid_t)-1, .peer_gid = (gid_t)-1, .worker_pid = -1 }

/* Decides where logs go: journal when asked, or when auto and stderr is the
 * journal ($JOURNAL_STREAM names stderr's device and inode). */
void log_open(enum log_target t);
bool log_to_journal(void);
void log_set_level(int level);
/* The command line's level: log_set_level() no longer changes it (reloads). */
void log_pin_level(int level);
bool log_enabled(int prio);

void log_ctx(int prio, const struct log_ctx *ctx, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
#define log_msg(prio, ...) log_ctx((prio), NULL, __VA_ARGS__)
/* Logs "...: strerror(-r)" with ERRNO= in the journal entry (the console
 * line has the text only) and returns r (negative errno; a positive one is
 * taken as it is and returned unchanged). */
int log_errno(int prio, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same with the fields of ctx (NULL: none); ctx->error is replaced. */
int log_ctx_errno(int prio, const struct log_ctx *ctx, int r, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* A configuration error as the daemon logs it, at start and at reload alike:
 * LOG_ERR, MSGID_CONFIG_ERROR, "FILE:LINE: message" ("FILE: message" for
 * line 0). A config_error_fn (config.h); userdata is not used. */
void log_config_error(void *userdata, const char *file, unsigned line, const char *msg);

int log_level_from_string(const char *s);
const char *log_level_to_string(int level);

#endif
