/* unixsockd: command line, process setup, the event loop. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "config/config.h"
#include "log.h"
#include "notify.h"
#include "process/limits.h"
#include "daemon.h"

#ifndef USD_VERSION
#define USD_VERSION "unknown"
#endif

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: unixsockd [OPTIONS]\n"
                "Socket-activating supervisor for UNIX domain sockets.\n\n"
                "  -c, --config=FILE       configuration file (default " CONFIG_DEFAULT_FILE ")\n"
                "  -t, --check             check the configuration, print every error, exit\n"
                "      --log-target=T      auto, journal or console (default auto)\n"
                "      --log-level=L       debug, info, notice, warning or err\n"
                "  -V, --version           print the version and exit\n"
                "  -h, --help              print this help and exit\n");
}

/* A worker must start with fds 0, 1 and 2 in place, and the daemon must never
 * hand out one of them as a connection: make sure they are open. */
static int ensure_std_fds(void)
{
        for (int fd = 0; fd < 3; fd++) {
                if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
                        continue;
                int n = open("/dev/null", O_RDWR);
                if (n < 0)
                        return -errno;
                if (n != fd) {
                        close(n);
                        return -EBADF;
                }
        }
        return 0;
}

/* Workers start with every signal at its default: the daemon handles its
 * signals through a signalfd, so it needs no dispositions of its own. */
static void reset_signals(void)
{
        struct sigaction sa = { .sa_handler = SIG_DFL };

        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void)sigaction(sig, &sa, NULL);
}

struct args {
        const char *file;
        enum log_target target;
        int level;                      /* -1: the config's */
        bool check;
};

static int parse_log_target(const char *s, enum log_target *ret)
{
        static const char *const names[] = { "auto", "journal", "console" };
        static const enum log_target targets[] = { LOG_TARGET_AUTO, LOG_TARGET_JOURNAL, LOG_TARGET_CONSOLE };

        for (size_t i = 0; i < 3; i++)
                if (strcmp(s, names[i]) == 0) {
                        *ret = targets[i];
                        return 0;
                }
        fprintf(stderr, "unixsockd: --log-target: '%s' is not auto, journal or console\n", s);
        return -EINVAL;
}

/* -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, struct args *a)
{
        enum { OPT_LOG_TARGET = 0x100, OPT_LOG_LEVEL };
        static const struct option opts[] = {
                { "config", required_argument, NULL, 'c' },
                { "check", no_argument, NULL, 't' },
                { "log-target", required_argument, NULL, OPT_LOG_TARGET },
                { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
                { "version", no_argument, NULL, 'V' },
                { "help", no_argument, NULL, 'h' },
                { 0 },
        };
        int c;

        while ((c = getopt_long(argc, argv, "c:tVh", opts, NULL)) != -1) {
                switch (c) {
                case 'c':
                        a->file = optarg;
                        break;
                case 't':
                        a->check = true;
                        break;
                case OPT_LOG_TARGET:
                        if (parse_log_target(optarg, &a->target) < 0)
                                return EX_USAGE;
                        break;
                case OPT_LOG_LEVEL:
                        a->level = log_level_from_string(optarg);
                        if (a->level < 0) {
                                fprintf(stderr, "unixsockd: --log-level: '%s' is not debug, info, notice, warning or err\n", optarg);
                                return EX_USAGE;
                        }
                        break;
                case 'V':
                        printf("unixsockd %s\n", USD_VERSION);
                        return EX_OK;
                case 'h':
                        usage(stdout);
                        return EX_OK;
                default:
                        usage(stderr);
                        return EX_USAGE;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "unixsockd: unexpected argument '%s'\n", argv[optind]);
                usage(stderr);
                return EX_USAGE;
        }
        return -1;
}

/* --check: the operator asked, on a terminal: every error, on stderr. */
static int check(const char *file)
{
        struct config *cfg = NULL;
        int r = config_load(file, NULL, NULL, &cfg);

        config_free(cfg);
        if (r < 0)
                return EX_CONFIG;
        printf("%s: ok\n", file);
        return EX_OK;
}

static void block_signals(void)
{
        sigset_t mask;

        reset_signals();
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
}

/* The daemon on cfg (taken), read from file, until it stops. */
static int run(struct config *cfg, const char *file)
{
        struct daemon *d = NULL;
        sd_event *e = NULL;
        int r;

        block_signals();
        r = limits_raise_nofile();
        if (r < 0)
                log_errno(LOG_WARNING, r, "raising the limit of open files (RLIMIT_NOFILE) to its hard limit");
        r = sd_event_default(&e);
        if (r < 0) {
                log_errno(LOG_ERR, r, "sd_event_default");
                config_free(cfg);
                return EX_OSERR;
        }
        r = notify_open(e);
        if (r < 0) {
                config_free(cfg);
                sd_event_unref(e);
                return EX_OSERR;
        }
        r = daemon_new(e, cfg, &d);
        if (r == -EINVAL) {
                /* a cgroup key with no cgroup to apply it: reported as FILE:LINE */
                sd_notifyf(0, "STATUS=Configuration %s has errors\nERRNO=%d", file, -r);
                sd_event_unref(e);
                return EX_CONFIG;
        }
        if (r < 0) {
                if (r == -ENOMEM) /* the others were logged where they happened */
                        log_errno(LOG_ERR, r, "setting up");
                sd_event_unref(e);
                return EX_OSERR;
        }
        r = daemon_start(d);
        if (r >= 0)
                r = sd_event_loop(e);
        daemon_free(d);
        notify_close();
        sd_event_unref(e);
        if (r == -EPROTOTYPE) {
                /* an inherited fd of another type than its section says: FILE:LINE, logged */
                sd_notifyf(0, "STATUS=Configuration %s does not match its socket units\nERRNO=%d", file, -r);
                return EX_CONFIG;
        }
        if (r < 0) {
                sd_notifyf(0, "ERRNO=%d", -r);
                return EX_OSERR;
        }
        return EX_OK;
}

int main(int argc, char **argv)
{
        struct args a = { .file = CONFIG_DEFAULT_FILE, .target = LOG_TARGET_AUTO, .level = -1 };
        struct config *cfg = NULL;
        int r = parse_args(argc, argv, &a);

        if (r >= 0)
                return r;
        if (a.check)
                return check(a.file);
        log_open(a.target);
        if (a.level >= 0)
                log_pin_level(a.level);
        if (ensure_std_fds() < 0) {
                log_msg(LOG_ERR, "cannot open /dev/null for fds 0-2");
                return EX_OSERR;
        }
        r = config_load_max(a.file, CONFIG_ERRORS_LOGGED, log_config_error, NULL, &cfg);
        if (r < 0) {
                sd_notifyf(0, "STATUS=Configuration %s has errors\nERRNO=%d", a.file, -r);
                return EX_CONFIG;
        }
        log_set_level(cfg->log_level);
        return run(cfg, a.file);
}
