/* unixsockctl metrics: every counter and gauge of the status answer, one
 * family at a time (a family's samples are never interleaved with another's),
 * label values escaped as the exposition formats say. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "answer.h"
#include "metrics.h"

struct out {
        FILE *f;
        bool openmetrics;
};

struct family;
typedef void emit_fn(const struct out *o, const struct family *fam, struct json_object *item);

struct family {
        const char *name;       /* a counter's without "_total" */
        bool counter;
        const char *unit;       /* or NULL */
        const char *help;
        emit_fn *emit;
};

/* A label value: '\\', '"' and newline escaped; bytes that are no UTF-8 as U+FFFD. */
static void put_value(FILE *f, const char *s)
{
        const unsigned char *u = (const unsigned char *)s;

        while (*u) {
                size_t n = *u < 0x80 ? 1 : (*u >> 5) == 0x6 ? 2 : (*u >> 4) == 0xe ? 3 : (*u >> 3) == 0x1e ? 4 : 0;
                size_t i = 1;

                for (; n && i < n; i++)
                        if ((u[i] & 0xc0) != 0x80)
                                break;
                if (n == 0 || i < n) {
                        fputs("\xef\xbf\xbd", f);
                        u++;
                } else if (*u == '\\' || *u == '"')
                        fprintf(f, "\\%c", *u++);
                else if (*u == '\n') {
                        fputs("\\n", f);
                        u++;
                } else {
                        fwrite(u, 1, n, f);
                        u += n;
                }
        }
}

/* One sample: name{k="v",...} value; the labels are NULL-terminated pairs. */
static void put(const struct out *o, const struct family *fam, const char *value, ...)
{
        const char *k, *v;
        va_list ap;
        bool first = true;

        fprintf(o->f, "%s%s", fam->name, fam->counter ? "_total" : "");
        va_start(ap, value);
        while ((k = va_arg(ap, const char *))) {
                v = va_arg(ap, const char *);
                fprintf(o->f, "%s%s=\"", first ? "{" : ",", k);
                put_value(o->f, v ? v : "");
                fputc('"', o->f);
                first = false;
        }
        va_end(ap);
        fprintf(o->f, "%s %s\n", first ? "" : "}", value);
}

static const char *i64(char buf[static 24], int64_t v)
{
        snprintf(buf, 24, "%" PRId64, v);
        return buf;
}

/* Microseconds since the epoch as seconds. */
static const char *seconds(char buf[static 24], int64_t usec)
{
        snprintf(buf, 24, "%" PRId64 ".%06" PRId64, usec / 1000000, usec % 1000000);
        return buf;
}

static void head(const struct out *o, const struct family *fam)
{
        const char *total = fam->counter && !o->openmetrics ? "_total" : "";

        fprintf(o->f, "# HELP %s%s %s\n", fam->name, total, fam->help);
        fprintf(o->f, "# TYPE %s%s %s\n", fam->name, total, fam->counter ? "counter" : "gauge");
        if (fam->unit)
                fprintf(o->f, "# UNIT %s%s %s\n", fam->name, total, fam->unit);
}

/* ---- the daemon ---------------------------------------------------------- */

static void daemon_build(const struct out *o, const struct family *fam, struct json_object *d)
{
        const char *v = answer_str(d, "version");

        if (v)
                put(o, fam, "1", "version", v, NULL);
}

/* A family whose value is item[key] as is, labelled label="item's name"
 * unless label is NULL; nothing if the answer lacks it (or says -1). */
static void plain(const struct out *o, const struct family *fam, struct json_object *item, const char *key,
                  const char *label)
{
        char b[24];
        int64_t v;

        if (!answer_int(item, key, &v) || v < 0)
                return;
        if (label)
                put(o, fam, i64(b, v), label, answer_str(item, "name"), NULL);
        else
                put(o, fam, i64(b, v), NULL);
}

#define PLAIN(fn, key, label)                                                                   \
        static void fn(const struct out *o, const struct family *fam, struct json_object *item)  \
        {                                                                                       \
                plain(o, fam, item, key, label);                                                \
        }

PLAIN(daemon_reloads, "reloads", NULL)
PLAIN(daemon_accepted, "accepted", NULL)
PLAIN(daemon_refused, "refused", NULL)

static void daemon_started(const struct out *o, const struct family *fam, struct json_object *d)
{
        char b[24];
        int64_t v;

        if (answer_int(d, "started_realtime_usec", &v) && v > 0)
                put(o, fam, seconds(b, v), NULL);
}

static void daemon_stopping(const struct out *o, const struct family *fam, struct json_object *d)
{
        put(o, fam, answer_true(d, "stopping") ? "1" : "0", NULL);
}

static const struct family daemon_families[] = {
        { "unixsockd_build_info", false, NULL, "The version of unixsockd, in the label version; always 1.",
          daemon_build },
        { "unixsockd_start_time_seconds", false, "seconds", "When the daemon started, in seconds since the epoch.",
          daemon_started },
        { "unixsockd_stopping", false, NULL, "1 while the daemon stops, else 0.", daemon_stopping },
        { "unixsockd_reloads", true, NULL, "Configuration reloads applied since the daemon started.",
          daemon_reloads },
        { "unixsockd_accepted", true, NULL, "Connections accepted on every socket since the daemon started.",
          daemon_accepted },
        { "unixsockd_refused", true, NULL, "Connections refused on every socket since the daemon started.",
          daemon_refused },
};

/* ---- sockets ------------------------------------------------------------- */

static const char *const socket_states[] = { "listening", "paused", "closed", NULL };
static const char *const pause_reasons[] = { "instances", "queue-full", "max-per-user", "rate", "resources",
                                             "manual", "worker-running", "worker-failed", NULL };

static bool listed(const char *const list[], const char *s)
{
        for (size_t i = 0; list[i]; i++)
                if (strcmp(list[i], s) == 0)
                        return true;
        return false;
}

static bool array_has(struct json_object *a, const char *s)
{
        for (size_t i = 0; a && i < json_object_array_length(a); i++) {
                struct json_object *e = json_object_array_get_idx(a, i);

                if (json_object_is_type(e, json_type_string) && strcmp(json_object_get_string(e), s) == 0)
                        return true;
        }
        return false;
}

static void socket_info(const struct out *o, const struct family *fam, struct json_object *s)
{
        put(o, fam, "1", "socket", answer_str(s, "name"), "path", answer_str(s, "path"), "worker",
            answer_str(s, "worker"), "origin", answer_str(s, "origin"), "type",
            answer_str(s, "type") ? answer_str(s, "type") : "stream", NULL);
}

/* A state set: one sample per state known, 1 for the one it is in; a state
 * this unixsockctl does not know yet is shown too. */
static void socket_state(const struct out *o, const struct family *fam, struct json_object *s)
{
        const char *state = answer_str(s, "state"), *name = answer_str(s, "name");

        for (size_t i = 0; socket_states[i]; i++)
                put(o, fam, state && strcmp(state, socket_states[i]) == 0 ? "1" : "0", "socket", name, "state",
                    socket_states[i], NULL);
        if (state && !listed(socket_states, state))
                put(o, fam, "1", "socket", name, "state", state, NULL);
}

static void socket_paused(const struct out *o, const struct family *fam, struct json_object *s)
{
        struct json_object *a = answer_array(s, "paused");
        const char *name = answer_str(s, "name");

        for (size_t i = 0; pause_reasons[i]; i++)
                put(o, fam, array_has(a, pause_reasons[i]) ? "1" : "0", "socket", name, "reason", pause_reasons[i],
                    NULL);
        for (size_t i = 0; a && i < json_object_array_length(a); i++) {
                struct json_object *e = json_object_array_get_idx(a, i);

                if (json_object_is_type(e, json_type_string) && !listed(pause_reasons, json_object_get_string(e)))
                        put(o, fam, "1", "socket", name, "reason", json_object_get_string(e), NULL);
        }
}

static void socket_paused_since(const struct out *o, const struct family *fam, struct json_object *s)
{
        char b[24];
        int64_t v;

        if (answer_int(s, "paused_since_realtime_usec", &v) && v > 0)
                put(o, fam, seconds(b, v), "socket", answer_str(s, "name"), NULL);
}

static void socket_refused(const struct out *o, const struct family *fam, struct json_object *s)
{
        struct json_object *r = answer_object(s, "refused");
        char b[24];

        if (!r)
                return;
        struct json_object_iterator it = json_object_iter_begin(r), end = json_object_iter_end(r);
        for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
                struct json_object *val = json_object_iter_peek_value(&it);
                if (json_object_is_type(val, json_type_int))
                        put(o, fam, i64(b, json_object_get_int64(val)), "socket", answer_str(s, "name"), "reason",
                            json_object_iter_peek_name(&it), NULL);
        }
}

PLAIN(socket_accepted, "accepted", "socket")
PLAIN(socket_in_service, "in_service", "socket")
PLAIN(socket_queued, "queued", "socket")
PLAIN(socket_backlog, "backlog", "socket")
PLAIN(socket_backlog_max, "backlog_max", "socket")

static const struct family socket_families[] = {
        { "unixsockd_socket_info", false, NULL, "A socket: its path, worker, where its fd came from and its type; always 1.",
          socket_info },
        { "unixsockd_socket_state", false, NULL, "1 for the state the socket is in (listening, paused, closed).",
          socket_state },
        { "unixsockd_socket_paused", false, NULL, "1 for each reason the socket is paused for now.",
          socket_paused },
        { "unixsockd_socket_paused_since_timestamp_seconds", false, "seconds",
          "Since when a paused socket is paused, in seconds since the epoch.", socket_paused_since },
        { "unixsockd_socket_accepted", true, NULL, "Connections accepted on the socket.", socket_accepted },
        { "unixsockd_socket_refused", true, NULL, "Connections refused on the socket, by reason.",
          socket_refused },
        { "unixsockd_socket_in_service", false, NULL, "Connections from the socket a worker process holds now.",
          socket_in_service },
        { "unixsockd_socket_queued", false, NULL, "Connections accepted and held by the daemon for a pool process.",
          socket_queued },
        { "unixsockd_socket_backlog", false, NULL, "Clients waiting in the kernel's accept queue of the socket now.",
          socket_backlog },
        { "unixsockd_socket_backlog_max", false, NULL, "The size of the socket's accept queue (listen backlog).",
          socket_backlog_max },
};

/* ---- workers ------------------------------------------------------------- */

static const char *const process_states[] = { "starting", "idle", "busy", "backoff", "stopped", NULL };

static void worker_info(const struct out *o, const struct family *fam, struct json_object *w)
{
        put(o, fam, "1", "worker", answer_str(w, "name"), "dispatch", answer_str(w, "dispatch"), NULL);
}

/* How many of the worker's processes are in each state. */
static void worker_processes(const struct out *o, const struct family *fam, struct json_object *w)
{
        struct json_object *p = answer_array(w, "processes");
        char b[24];

        for (size_t i = 0; process_states[i]; i++) {
                int64_t n = 0;

                for (size_t j = 0; p && j < json_object_array_length(p); j++) {
                        const char *st = answer_str(json_object_array_get_idx(p, j), "state");

                        n += st && strcmp(st, process_states[i]) == 0;
                }
                put(o, fam, i64(b, n), "worker", answer_str(w, "name"), "state", process_states[i], NULL);
        }
}

static void worker_in_service(const struct out *o, const struct family *fam, struct json_object *w)
{
        struct json_object *p = answer_array(w, "processes");
        int64_t n = 0, v;
        char b[24];

        for (size_t j = 0; p && j < json_object_array_length(p); j++)
                if (answer_int(json_object_array_get_idx(p, j), "in_service", &v) && v > 0)
                        n += v;
        put(o, fam, i64(b, n), "worker", answer_str(w, "name"), NULL);
}

/* Per process of a pool or listener worker (a spawn process serves one). */
static void worker_served(const struct out *o, const struct family *fam, struct json_object *w)
{
        struct json_object *p = answer_array(w, "processes");
        const char *d = answer_str(w, "dispatch");
        char b[24], pid[24];
        int64_t v, n;

        if (d && strcmp(d, "spawn") == 0)
                return;
        for (size_t j = 0; p && j < json_object_array_length(p); j++) {
                struct json_object *e = json_object_array_get_idx(p, j);

                if (answer_int(e, "pid", &v) && v > 0 && answer_int(e, "served", &n))
                        put(o, fam, i64(b, n), "worker", answer_str(w, "name"), "pid", i64(pid, v), NULL);
        }
}

static void worker_last_exit(const struct out *o, const struct family *fam, struct json_object *w)
{
        struct json_object *e = answer_object(w, "last_exit");
        const char *code = answer_str(e, "code");
        char b[24];
        int64_t v;

        if (e && code && answer_int(e, "status", &v))
                put(o, fam, i64(b, v), "worker", answer_str(w, "name"), "code", code, NULL);
}

static void worker_last_exit_time(const struct out *o, const struct family *fam, struct json_object *w)
{
        struct json_object *e = answer_object(w, "last_exit");
        char b[24];
        int64_t v;

        if (answer_int(e, "realtime_usec", &v) && v > 0)
                put(o, fam, seconds(b, v), "worker", answer_str(w, "name"), NULL);
}

PLAIN(worker_instances, "instances", "worker")
PLAIN(worker_instances_min, "instances_min", "worker")
PLAIN(worker_running, "running", "worker")
PLAIN(worker_restarts, "restarts", "worker")
PLAIN(worker_spawned, "spawned", "worker")
PLAIN(worker_exec_failed, "exec_failed", "worker")

static const struct family worker_families[] = {
        { "unixsockd_worker_info", false, NULL, "A worker and its dispatch mode; always 1.", worker_info },
        { "unixsockd_worker_instances", false, NULL, "The worker's instances setting (a pool's MAX).",
          worker_instances },
        { "unixsockd_worker_instances_min", false, NULL,
          "The processes a pool keeps running (its MIN; instances otherwise).", worker_instances_min },
        { "unixsockd_worker_running", false, NULL, "Processes of the worker running now.", worker_running },
        { "unixsockd_worker_processes", false, NULL, "Processes (pool and listener: members) of the worker by state.",
          worker_processes },
        { "unixsockd_worker_in_service", false, NULL, "Connections the worker's processes hold now.",
          worker_in_service },
        { "unixsockd_worker_process_served", false, NULL,
          "Connections served by one running process of a pool or listener worker.", worker_served },
        { "unixsockd_worker_restarts", true, NULL, "Restarts of the worker's processes.", worker_restarts },
        { "unixsockd_worker_spawned", true, NULL, "Processes of the worker started.", worker_spawned },
        { "unixsockd_worker_exec_failed", true, NULL, "Processes of the worker that could not be started.",
          worker_exec_failed },
        { "unixsockd_worker_last_exit_status", false, NULL,
          "How the worker's last process ended: the exit status or signal number, by code (exited, killed, dumped).",
          worker_last_exit },
        { "unixsockd_worker_last_exit_timestamp_seconds", false, "seconds",
          "When the worker's last process ended, in seconds since the epoch.", worker_last_exit_time },
};

static void families(const struct out *o, const struct family *fams, size_t n, struct json_object *items)
{
        for (size_t i = 0; i < n; i++) {
                head(o, &fams[i]);
                for (size_t j = 0; items && j < json_object_array_length(items); j++)
                        fams[i].emit(o, &fams[i], json_object_array_get_idx(items, j));
        }
}

void metrics_print(FILE *f, struct json_object *answer, bool openmetrics)
{
        struct out o = { .f = f, .openmetrics = openmetrics };
        struct json_object *d = answer_object(answer, "daemon");

        for (size_t i = 0; d && i < sizeof(daemon_families) / sizeof(daemon_families[0]); i++) {
                head(&o, &daemon_families[i]);
                daemon_families[i].emit(&o, &daemon_families[i], d);
        }
        families(&o, socket_families, sizeof(socket_families) / sizeof(socket_families[0]),
                 answer_array(answer, "sockets"));
        families(&o, worker_families, sizeof(worker_families) / sizeof(worker_families[0]),
                 answer_array(answer, "workers"));
        fputs("# EOF\n", f);
}
