/* unixsockctl: the command line, one request to the daemon's control socket,
 * and what its answer means for the output and the exit code (sysexits). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include <json-c/json.h>

#include "answer.h"
#include "client.h"
#include "metrics.h"
#include "status.h"

#ifndef USD_VERSION
#define USD_VERSION "unknown"
#endif

#define TIMEOUT_DEFAULT_USEC (10 * 1000000LL)
#define TIMEOUT_RELOAD_USEC (30 * 1000000LL)

enum { OPT_JSON = 0x100, OPT_OPENMETRICS };

/* The commands: what they send, and how many names they take. */
static const struct command {
        const char *name;
        const char *sends;      /* the protocol's command */
        size_t min_args, max_args;
} commands[] = {
        { "status", "status", 0, (size_t)-1 },
        { "reload", "reload", 0, 0 },
        { "restart", "restart", 1, 1 },
        { "pause", "pause", 1, 1 },
        { "resume", "resume", 1, 1 },
        { "stop", "stop", 0, 0 },
        { "metrics", "status", 0, 0 },
};

struct options {
        const char *socket;
        bool json, openmetrics;
        const struct command *command;
        char **args;
        size_t n_args;
};

static void help(FILE *f)
{
        fputs("Usage: unixsockctl [-s CONTROL-SOCKET] [--json] COMMAND [ARG...]\n"
              "Asks a running unixsockd through its control socket.\n"
              "\n"
              "Commands:\n"
              "  status [NAME...]   sockets, workers and their processes (all, or those named)\n"
              "  reload             apply the configuration file again; wait until applied or refused\n"
              "  restart WORKER     replace a pool or listener worker's processes gracefully\n"
              "  pause SOCKET       stop accepting on a socket (clients wait in its backlog)\n"
              "  resume SOCKET      accept on it again\n"
              "  stop               stop the daemon\n"
              "  metrics            every counter and gauge as metrics text (Prometheus, OpenMetrics)\n"
              "\n"
              "Options:\n"
              "  -s, --socket=PATH  the control socket (default: control.sock in the daemon's\n"
              "                     runtime directory)\n"
              "      --json         print the daemon's JSON answer as it came\n"
              "      --openmetrics  metrics: counter families named as OpenMetrics 1.0 has them\n"
              "  -h, --help         this text\n"
              "  -V, --version      the version\n"
              "\n"
              "Exit: 0 done, 1 the daemon said no, 64 usage, 69 no daemon or no answer in time,\n"
              "76 a malformed answer, 77 not allowed, 78 reload refused. See unixsockctl(1).\n",
              f);
}

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage(const char *fmt, ...)
{
        va_list ap;

        fputs("unixsockctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\nTry 'unixsockctl --help'.\n", stderr);
        return EX_USAGE;
}

/* 0, -1 to exit 0 (help, version), or EX_USAGE (said). */
static int parse_args(int argc, char **argv, struct options *o)
{
        static const struct option longs[] = {
                { "socket", required_argument, NULL, 's' },   { "json", no_argument, NULL, OPT_JSON },
                { "openmetrics", no_argument, NULL, OPT_OPENMETRICS }, { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },        { NULL, 0, NULL, 0 },
        };
        int c;

        opterr = 0;
        while ((c = getopt_long(argc, argv, ":s:hV", longs, NULL)) != -1)
                switch (c) {
                case 's': o->socket = optarg; break;
                case OPT_JSON: o->json = true; break;
                case OPT_OPENMETRICS: o->openmetrics = true; break;
                case 'h': help(stdout); return -1;
                case 'V': printf("unixsockctl %s (control protocol %d)\n", USD_VERSION, CLIENT_PROTOCOL); return -1;
                case ':': return usage("%s needs a value", argv[optind - 1]);
                default: return usage("unknown option '%s'", argv[optind - 1]);
                }
        if (optind == argc)
                return usage("%s", "no command given");
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                if (strcmp(argv[optind], commands[i].name) == 0)
                        o->command = &commands[i];
        if (!o->command)
                return usage("unknown command '%s'", argv[optind]);
        o->args = argv + optind + 1;
        o->n_args = (size_t)(argc - optind - 1);
        if (o->n_args < o->command->min_args || o->n_args > o->command->max_args)
                return usage(o->command->min_args ? "%s takes one name" : "%s takes no argument", o->command->name);
        if (o->json && strcmp(o->command->name, "metrics") == 0)
                return usage("%s prints metrics text, not JSON ('status --json' gives the JSON)", "metrics");
        if (o->openmetrics && strcmp(o->command->name, "metrics") != 0)
                return usage("%s is an option of metrics", "--openmetrics");
        if (o->socket && !o->socket[0])
                return usage("%s", "-s needs a path");
        return 0;
}

/* UNIXSOCKCTL_TIMEOUT (seconds, fractions allowed) or the command's default. */
static int timeout_usec(const struct command *c, int64_t *ret)
{
        const char *s = getenv("UNIXSOCKCTL_TIMEOUT");
        char *end;
        double v;

        if (!s || !s[0]) {
                *ret = strcmp(c->name, "reload") == 0 ? TIMEOUT_RELOAD_USEC : TIMEOUT_DEFAULT_USEC;
                return 0;
        }
        errno = 0;
        v = strtod(s, &end);
        if (errno || *end || !isfinite(v) || v <= 0 || v > 86400)
                return usage("UNIXSOCKCTL_TIMEOUT='%s' is not a number of seconds from 0 to 86400", s);
        *ret = (int64_t)(v * 1e6);
        if (*ret == 0)
                *ret = 1;
        return 0;
}

static int64_t realtime_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ok false: the error on stderr; a refused reload's FILE:LINE lines first. */
static int refused(const struct options *o, struct json_object *answer)
{
        char *error = answer_safe(answer_str(answer, "error"));
        struct json_object *errors = answer_array(answer, "errors");
        int r = EXIT_FAILURE;

        if (strcmp(o->command->name, "reload") == 0 && errors) {
                for (size_t i = 0; i < json_object_array_length(errors); i++) {
                        struct json_object *e = json_object_array_get_idx(errors, i);
                        char *line = answer_safe(json_object_is_type(e, json_type_string) ? json_object_get_string(e)
                                                                                          : "?");

                        fprintf(stderr, "%s\n", line);
                        free(line);
                }
                r = EX_CONFIG;
        } else if (strstr(error, " may not run "))
                r = EX_NOPERM; /* the protocol's words for a uid that may not */
        fprintf(stderr, "unixsockctl: %s%s\n", strcmp(o->command->name, "reload") == 0 ? "reload refused: " : "",
                error);
        free(error);
        return r;
}

static int applied(const struct options *o, struct json_object *answer)
{
        char err[256];
        int64_t n = 0, c = 0, w = 0;

        if (strcmp(o->command->name, "reload") == 0) {
                (void)answer_int(answer, "sockets_new", &n);
                (void)answer_int(answer, "sockets_closed", &c);
                (void)answer_int(answer, "workers_replaced", &w);
                printf("reloaded: %lld new socket%s, %lld closed, %lld worker%s replaced\n", (long long)n,
                       n == 1 ? "" : "s", (long long)c, (long long)w, w == 1 ? "" : "s");
                return 0;
        }
        if (strcmp(o->command->sends, "status") != 0)
                return 0;
        if (status_check(answer, err, sizeof(err)) < 0) {
                fprintf(stderr, "unixsockctl: malformed status answer: %s\n", err);
                return EX_PROTOCOL;
        }
        if (strcmp(o->command->name, "metrics") == 0)
                metrics_print(stdout, answer, o->openmetrics);
        else
                status_print(stdout, answer, realtime_usec());
        return 0;
}

static int finish(int r)
{
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "unixsockctl: writing the output: %s\n", strerror(errno));
                return r ? r : EX_IOERR;
        }
        return r;
}

int main(int argc, char **argv)
{
        struct options o = { 0 };
        struct client_answer a;
        char err[1024], *path, *request;
        int64_t timeout = 0;
        int r;

        r = parse_args(argc, argv, &o);
        if (r)
                return r < 0 ? finish(0) : r;
        if (timeout_usec(o.command, &timeout))
                return EX_USAGE;
        request = client_request(o.command->sends, o.args, o.n_args, err, sizeof(err));
        if (!request)
                return usage("%s", err);
        path = o.socket ? strdup(o.socket) : client_default_socket(err, sizeof(err));
        if (!path) {
                free(request);
                return usage("%s", err);
        }
        r = client_call(path, request, timeout, &a, err, sizeof(err));
        free(request);
        free(path);
        if (r) {
                fprintf(stderr, "unixsockctl: %s\n", err);
                return r;
        }
        if (o.json)
                printf("%s\n", a.line);
        if (!answer_true(a.json, "ok"))
                r = refused(&o, a.json);
        else if (!o.json)
                r = applied(&o, a.json);
        client_answer_free(&a);
        return finish(r);
}
