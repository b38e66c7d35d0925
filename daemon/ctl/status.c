/* unixsockctl status: the daemon's status answer as tables, like systemctl
 * status and ss. A field the answer lacks shows as "-". */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "answer.h"
#include "status.h"
#include "table.h"

int status_check(struct json_object *answer, char *err, size_t errsize)
{
        struct json_object *workers = answer_array(answer, "workers");

        if (!answer_check_list(answer, "sockets", err, errsize) || !answer_check_list(answer, "workers", err, errsize))
                return -1;
        for (size_t i = 0; workers && i < json_object_array_length(workers); i++) {
                struct json_object *w = json_object_array_get_idx(workers, i), *p, *v;

                if (json_object_object_get_ex(w, "processes", &v) && !answer_array(w, "processes")) {
                        snprintf(err, errsize, "\"processes\" of worker %zu is not a list", i);
                        return -1;
                }
                p = answer_array(w, "processes");
                for (size_t j = 0; p && j < json_object_array_length(p); j++)
                        if (!json_object_is_type(json_object_array_get_idx(p, j), json_type_object)) {
                                snprintf(err, errsize, "process %zu of worker %zu is not an object", j, i);
                                return -1;
                        }
        }
        return 0;
}

/* A number cell: o[key], or "-". */
static void num(struct table *t, struct json_object *o, const char *key)
{
        int64_t v;

        if (answer_int(o, key, &v))
                table_cell(t, "%lld", (long long)v);
        else
                table_cell(t, "-");
}

static void str(struct table *t, struct json_object *o, const char *key)
{
        char *s = answer_safe(answer_str(o, key));

        table_cell(t, "%s", s);
        free(s);
}

static void print_daemon(FILE *f, struct json_object *d, int64_t now)
{
        char *version = answer_safe(answer_str(d, "version")), *config = answer_safe(answer_str(d, "config"));
        char started[96];
        int64_t pid = 0, v, t = 0;

        (void)answer_int(d, "pid", &pid);
        (void)answer_int(d, "started_realtime_usec", &t);
        answer_time(started, sizeof(started), t, now);
        fprintf(f, "unixsockd %s, pid %lld, config %s%s\n", version, (long long)pid, config,
                answer_true(d, "stopping") ? " (stopping)" : "");
        fprintf(f, "  started %s", started);
        if (answer_int(d, "reloads", &v))
                fprintf(f, ", %lld reload%s", (long long)v, v == 1 ? "" : "s");
        if (answer_int(d, "accepted", &v))
                fprintf(f, "; accepted %lld", (long long)v);
        if (answer_int(d, "refused", &v))
                fprintf(f, ", refused %lld", (long long)v);
        fputc('\n', f);
        free(version);
        free(config);
}

/* "a,b" of the strings of o[key], or "" if none. */
static char *join_strings(struct json_object *o, const char *key)
{
        struct json_object *a = answer_array(o, key);
        char *out, *s;
        size_t len;
        FILE *m = open_memstream(&out, &len);

        if (!m)
                abort();
        for (size_t i = 0; a && i < json_object_array_length(a); i++) {
                struct json_object *e = json_object_array_get_idx(a, i);

                s = answer_safe(json_object_is_type(e, json_type_string) ? json_object_get_string(e) : "?");
                fprintf(m, "%s%s", i ? "," : "", s);
                free(s);
        }
        if (fclose(m) != 0)
                abort();
        return out;
}

/* Total of o["refused"], and "reason N, ..." of the reasons not 0 in *ret_why. */
static int64_t refused(struct json_object *o, char **ret_why)
{
        struct json_object *r = answer_object(o, "refused");
        int64_t total = 0, v;
        size_t len;
        FILE *m = open_memstream(ret_why, &len);

        if (!m)
                abort();
        if (r) {
                struct json_object_iterator it = json_object_iter_begin(r), end = json_object_iter_end(r);
                for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
                        const char *reason = json_object_iter_peek_name(&it);
                        struct json_object *val = json_object_iter_peek_value(&it);
                        char *s;

                        if (!json_object_is_type(val, json_type_int) || (v = json_object_get_int64(val)) == 0)
                                continue;
                        s = answer_safe(reason);
                        fprintf(m, "%s%s %lld", total ? ", " : "", s, (long long)v);
                        free(s);
                        total += v;
                }
        }
        if (fclose(m) != 0)
                abort();
        return r ? total : -1;
}

static void socket_row(struct table *t, FILE *notes, struct json_object *s, int64_t now)
{
        const char *state = answer_str(s, "state");
        char *name = answer_safe(answer_str(s, "name")), *why, *reasons = join_strings(s, "paused");
        int64_t total = refused(s, &why), queued, max, since;

        table_cell(t, "%s", name);
        if (state && strcmp(state, "paused") == 0 && reasons[0])
                table_cell(t, "paused:%s", reasons);
        else
                str(t, s, "state");
        num(t, s, "accepted");
        if (total >= 0)
                table_cell(t, "%lld", (long long)total);
        else
                table_cell(t, "-");
        num(t, s, "in_service");
        num(t, s, "queued");
        /* waiting in the kernel's queue / its size, as ss -l shows Recv-Q and Send-Q */
        if (!answer_int(s, "backlog", &queued) || queued < 0)
                queued = -1;
        if (!answer_int(s, "backlog_max", &max))
                max = -1;
        if (queued >= 0 && max >= 0)
                table_cell(t, "%lld/%lld", (long long)queued, (long long)max);
        else if (max >= 0)
                table_cell(t, "-/%lld", (long long)max);
        else
                table_cell(t, "-");
        str(t, s, "worker");
        str(t, s, "origin");
        str(t, s, "type");
        str(t, s, "path");
        if (answer_int(s, "paused_since_realtime_usec", &since) && since > 0) {
                char when[96];

                answer_time(when, sizeof(when), since, now);
                fprintf(notes, "  %s: paused (%s) since %s\n", name, reasons, when);
        }
        if (why[0])
                fprintf(notes, "  %s: refused %s\n", name, why);
        free(why);
        free(reasons);
        free(name);
}

static void print_sockets(FILE *f, struct json_object *sockets, int64_t now)
{
        static const char *const h[] = { "SOCKET", "STATE", ">ACCEPTED", ">REFUSED", ">IN-SERVICE", ">QUEUED",
                                         ">BACKLOG", "WORKER", "ORIGIN", "TYPE", "PATH" };
        struct table *t = table_new(h, sizeof(h) / sizeof(h[0]));
        char *notes;
        size_t len;
        FILE *m = open_memstream(&notes, &len);

        if (!m)
                abort();
        for (size_t i = 0; i < json_object_array_length(sockets); i++)
                socket_row(t, m, json_object_array_get_idx(sockets, i), now);
        if (fclose(m) != 0)
                abort();
        fputc('\n', f);
        table_print(t, f);
        fputs(notes, f);
        free(notes);
        table_free(t);
}

/* "pid 456 exited 1, <when>" / "killed by SIGKILL" / "dumped core (SIGSEGV)". */
static void last_exit(struct table *t, struct json_object *e, int64_t now)
{
        const char *code = answer_str(e, "code");
        int64_t pid = 0, status = 0, when = 0;
        const char *sig;
        char at[96];

        if (!e) {
                table_cell(t, "-");
                return;
        }
        (void)answer_int(e, "pid", &pid);
        (void)answer_int(e, "status", &status);
        (void)answer_int(e, "realtime_usec", &when);
        answer_time(at, sizeof(at), when, now);
        sig = status > 0 && status < NSIG ? sigabbrev_np((int)status) : NULL;
        if (code && strcmp(code, "exited") == 0)
                table_cell(t, "pid %lld exited %lld, %s", (long long)pid, (long long)status, at);
        else if (code && (strcmp(code, "killed") == 0 || strcmp(code, "dumped") == 0))
                table_cell(t, "pid %lld %s SIG%s, %s", (long long)pid,
                           code[0] == 'k' ? "killed by" : "dumped core on", sig ? sig : "?", at);
        else
                table_cell(t, "pid %lld, %s", (long long)pid, at);
}

/* "MIN-MAX" for a pool that sizes itself, else the one number. */
static void instances(struct table *t, struct json_object *w)
{
        int64_t lo, hi;

        if (answer_int(w, "instances_min", &lo) && answer_int(w, "instances", &hi) && lo != hi)
                table_cell(t, "%lld-%lld", (long long)lo, (long long)hi);
        else
                num(t, w, "instances");
}

static void print_workers(FILE *f, struct json_object *workers, int64_t now)
{
        static const char *const h[] = { "WORKER", "DISPATCH", ">INSTANCES", ">RUNNING", ">RESTARTS", ">SPAWNED",
                                         ">EXEC-FAILED", "LAST-EXIT" };
        struct table *t = table_new(h, sizeof(h) / sizeof(h[0]));

        for (size_t i = 0; i < json_object_array_length(workers); i++) {
                struct json_object *w = json_object_array_get_idx(workers, i);

                str(t, w, "name");
                str(t, w, "dispatch");
                instances(t, w);
                num(t, w, "running");
                num(t, w, "restarts");
                num(t, w, "spawned");
                num(t, w, "exec_failed");
                last_exit(t, answer_object(w, "last_exit"), now);
        }
        fputc('\n', f);
        table_print(t, f);
        table_free(t);
}

static void process_row(struct table *t, struct json_object *w, struct json_object *p, int64_t now)
{
        const char *state = answer_str(p, "state");
        int64_t pid = 0, at = 0;
        char when[96];

        str(t, w, "name");
        if (answer_int(p, "pid", &pid) && pid > 0)
                table_cell(t, "%lld", (long long)pid);
        else
                table_cell(t, "-");
        str(t, p, "state");
        num(t, p, "served");
        num(t, p, "in_service");
        if (state && strcmp(state, "backoff") == 0 && answer_int(p, "backoff_until_realtime_usec", &at) && at > 0) {
                answer_time(when, sizeof(when), at, now);
                table_cell(t, "next start %s", when);
        } else if (answer_int(p, "started_realtime_usec", &at) && at > 0) {
                answer_time(when, sizeof(when), at, now);
                table_cell(t, "started %s", when);
        } else
                table_cell(t, "-");
}

static void print_processes(FILE *f, struct json_object *workers, int64_t now)
{
        static const char *const h[] = { "WORKER", ">PID", "STATE", ">SERVED", ">IN-SERVICE", "SINCE" };
        struct table *t = table_new(h, sizeof(h) / sizeof(h[0]));
        size_t rows = 0;

        for (size_t i = 0; i < json_object_array_length(workers); i++) {
                struct json_object *w = json_object_array_get_idx(workers, i), *p = answer_array(w, "processes");

                for (size_t j = 0; p && j < json_object_array_length(p); j++, rows++)
                        process_row(t, w, json_object_array_get_idx(p, j), now);
        }
        if (rows) {
                fputc('\n', f);
                table_print(t, f);
        }
        table_free(t);
}

void status_print(FILE *f, struct json_object *answer, int64_t now_usec)
{
        struct json_object *d = answer_object(answer, "daemon");
        struct json_object *sockets = answer_array(answer, "sockets"), *workers = answer_array(answer, "workers");

        if (d)
                print_daemon(f, d, now_usec);
        if (sockets && json_object_array_length(sockets))
                print_sockets(f, sockets, now_usec);
        if (workers && json_object_array_length(workers)) {
                print_workers(f, workers, now_usec);
                print_processes(f, workers, now_usec);
        }
}
