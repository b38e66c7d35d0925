/* The configuration: INI text (inih) to typed structs, every check done here
 * with FILE:LINE errors. The rest of the daemon never re-checks a string. */
#ifndef USD_CONFIG_H
#define USD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CONFIG_DEFAULT_FILE "/etc/unixsockd/unixsockd.conf"

enum dispatch {
        DISPATCH_SPAWN,
        DISPATCH_POOL,
        DISPATCH_LISTENER,
};

enum restart_policy {
        RESTART_ON_FAILURE,
        RESTART_ALWAYS,
        RESTART_NEVER,
};

/* The rlimits a worker's section may set (limit-nofile ...), in this order. */
enum cfg_limit_kind {
        LIMIT_NOFILE,
        LIMIT_NPROC,
        LIMIT_CORE,
        LIMIT_AS,
        LIMIT_CPU,
        _LIMIT_MAX,
};
#define CFG_INFINITY UINT64_MAX         /* a limit that is no limit (RLIM_INFINITY) */

struct cfg_limit {
        bool set;
        uint64_t soft, hard;            /* bytes, seconds or a count; CFG_INFINITY */
};

struct cfg_worker {
        char *name;
        unsigned line;                  /* line of its [worker:NAME] header */
        char **argv;                    /* command, split; NULL-terminated; argv[0] as written */
        char *exec_path;                /* absolute path of the executable (PATH searched) */
        enum dispatch dispatch;
        unsigned instances;             /* spawn: max concurrent; pool: processes (at most); listener: copies */
        unsigned instances_min;         /* pool: processes always running (instances = MIN-MAX);
                                         * = instances for a fixed pool */
        uint64_t idle_timeout_usec;     /* pool MIN-MAX: a process above MIN idle this long stops */
        unsigned max_connections;       /* pool: replace a process after this many; 0: never */
        uint64_t runtime_max_usec;      /* spawn: a process's time; pool: a connection's; 0: none */
        struct cfg_limit limits[_LIMIT_MAX];
        bool set_nice;
        int nice;
        mode_t umask;                   /* default 0022 */
        uint64_t memory_max;            /* cgroup memory.max; CFG_INFINITY: not set, or infinity */
        uint64_t pids_max;              /* cgroup pids.max; likewise */
        unsigned cpu_weight;            /* cgroup cpu.weight, 1..10000; 0: not set */
        unsigned cgroup_line;           /* first line setting memory-max, pids-max or cpu-weight; 0: none */
        const char *cgroup_key;         /* its key */
        unsigned memory_max_line, pids_max_line, cpu_weight_line; /* where each is set; 0: not */
        unsigned max_per_user;          /* 0: no limit */
        unsigned max_concurrent;        /* pool: connections at one process at once; 0: its credit */
        bool set_user;                  /* user= given: run as uid/gid with groups[] */
        bool set_group;                 /* group= given: gid is it (with or without user=) */
        char *user_name;
        uid_t uid;
        gid_t gid;
        gid_t *groups;                  /* supplementary groups of user= (getgrouplist) */
        size_t n_groups;
        char **env;                     /* "KEY=VALUE" strings, NULL-terminated (never NULL itself) */
        char *working_directory;        /* NULL: the daemon's */
        enum restart_policy restart;
        uint64_t restart_delay_usec;
        uint64_t restart_delay_max_usec;
        bool listen_fds;
};

struct cfg_socket {
        char *name;                     /* [A-Za-z0-9_.-]+, also the FileDescriptorName */
        unsigned line;
        char *path;                     /* absolute, or "@name" for abstract */
        int type;                       /* SOCK_STREAM, SOCK_SEQPACKET or SOCK_DGRAM */
        int backlog;
        mode_t mode;
        uid_t uid;                      /* (uid_t)-1: not set */
        gid_t gid;                      /* (gid_t)-1: not set */
        uid_t *allow_uids;
        size_t n_allow_uids;
        gid_t *allow_gids;
        size_t n_allow_gids;            /* with no allow list at all, everyone may connect */
        struct cfg_worker *worker;      /* points into config.workers */
        unsigned rate_burst;            /* rate-limit = BURST/INTERVAL; 0: off */
        uint64_t rate_interval_usec;
};

struct config {
        char *file;
        char *runtime_directory;        /* absolute, resolved from the defaults if not set */
        int log_level;                  /* LOG_DEBUG .. LOG_ERR (syslog.h) */
        uint64_t stop_timeout_usec;
        char *control;                  /* absolute; NULL: control = none */
        bool control_group_set;         /* control-group= given: control is not NULL */
        gid_t control_gid;
        struct cfg_socket *sockets;
        size_t n_sockets;
        struct cfg_worker *workers;
        size_t n_workers;
};

/* Called once per error, in line order. line is 0 for errors about the whole
 * file (cannot open it, no [socket:] at all). */
typedef void (*config_error_fn)(void *userdata, const char *file, unsigned line, const char *msg);

/* Parses and checks file. Reports every error through err (NULL: stderr as
 * "FILE:LINE: message") and returns 0 with *ret set, or a negative errno:
 * -EINVAL when errors were reported, -ENOENT etc. when the file cannot be read
 * (also reported). */
int config_load(const char *file, config_error_fn err, void *userdata, struct config **ret);
/* How many errors of one file the daemon logs, at start and at reload: a file
 * of a million bad lines must not flood the journal. */
#define CONFIG_ERRORS_LOGGED 50
/* config_load, but only the first max errors (in line order) are reported,
 * then, if there were more, one about the whole file: "N more errors not shown". */
int config_load_max(const char *file, size_t max, config_error_fn err, void *userdata,
                    struct config **ret);
/* The same on text in memory; name is used in messages. For tests and fuzzing. */
int config_load_string(const char *name, const char *text, size_t len,
                       config_error_fn err, void *userdata, struct config **ret);
/* config_load_string, with users, groups and programs looked up by res
 * (config/resolve.h) instead of the system: tests and the fuzzer give a fixed
 * table. The three functions above use resolve_system. */
struct resolver;
int config_load_string_with(const char *name, const char *text, size_t len, const struct resolver *res,
                            config_error_fn err, void *userdata, struct config **ret);
void config_free(struct config *c);

/* The environment variables a worker gets from unixsockd itself, or that are
 * the daemon's own and must not leak to a worker: NOTIFY_SOCKET, LISTEN_FDS,
 * LISTEN_PID, LISTEN_FDNAMES, WATCHDOG_PID, WATCHDOG_USEC, JOURNAL_STREAM,
 * PROTO, UNIXLOCALPATH, UNIXREMOTEPID, UNIXREMOTEEUID, UNIXREMOTEEGID and
 * every name that starts with UNIXSOCKD_. The one list: environment= refuses
 * them (FILE:LINE), and the launch code drops them from the environment the
 * daemon passes on. Reads len bytes of name, which need not end there (of an
 * entry "NAME=VALUE" of environ: len = strcspn(entry, "=")). */
bool config_env_name_reserved(const char *name, size_t len);

const struct cfg_socket *config_find_socket(const struct config *c, const char *name);
const char *config_dispatch_name(enum dispatch d);
/* "stream", "seqpacket", "datagram": as type = says it. */
const char *config_socket_type_name(int type);

#endif
