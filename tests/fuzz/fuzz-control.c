/* libFuzzer target of the control socket's request handling
 * (daemon/control/control.c, control_answer): any bytes as a request line
 * from a peer of any uid, against commands that answer as the daemon's would.
 * Checked: the answer is one JSON object and one newline, with "protocol" 1
 * and "ok"; an error has its text; only root or the daemon's uid may change
 * anything, and stop is only ever said to be done for them.
 *
 * Input: byte 0 picks the peer (bits 0-1: uid 0, the daemon's, 1000, 65534;
 * bit 2: in control-group), byte 1 how the commands answer (bit 0: reload
 * refused, bit 1: an unknown name); the rest, cut at the first newline, is
 * the line (a NUL ends it, as the server refuses a line with one). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "control/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned behaviour;
static unsigned changes;                /* changing commands the ops ran */

static void check_at(int ok, const char *what, int line)
{
        if (!ok) {
                fprintf(stderr, "fuzz-control.c:%d: check failed: %s\n", line, what);
                abort();
        }
}
#define check(x) check_at(!!(x), #x, __LINE__)

static int fake_status(void *u, char *const *names, size_t n, json_object *answer, const char **error)
{
        for (size_t i = 0; i < n; i++)
                check(names[i] && *names[i]);
        if ((behaviour & 2) && n) {
                *error = "no socket or worker";
                return -2;
        }
        json_object_object_add(answer, "sockets", json_object_new_array());
        return 0;
}

static int fake_reload(void *u, json_object *answer, const char **error)
{
        changes++;
        if (behaviour & 1) {
                json_object *e = json_object_new_array();
                json_object_array_add(e, json_object_new_string("f:1: bad"));
                json_object_object_add(answer, "errors", e);
                *error = "f has errors";
                return -22;
        }
        return 0;
}

static int fake_restart(void *u, const char *w, const char **error)
{
        changes++;
        check(w && *w);
        if (behaviour & 2) {
                *error = "no worker";
                return -2;
        }
        return 0;
}

static int fake_pause(void *u, const char *s, bool paused, const char **error)
{
        changes++;
        check(s && *s);
        return 0;
}

static const struct control_ops ops = {
        .status = fake_status, .reload = fake_reload, .restart = fake_restart, .pause = fake_pause,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const uid_t uids[4] = { 0, 0, 1000, 65534 };
        struct control_peer p;
        char line[CONTROL_LINE_MAX];
        bool stop = false;
        size_t n;

        if (size < 2)
                return 0;
        p = (struct control_peer){ .uid = (data[0] & 3) == 1 ? geteuid() : uids[data[0] & 3], .pid = 1,
                                   .in_group = data[0] & 4 };
        behaviour = data[1];
        data += 2;
        size -= 2;
        for (n = 0; n < size && n < sizeof(line) - 1 && data[n] != '\n'; n++)
                line[n] = (char)data[n];
        line[n] = '\0';
        changes = 0;

        char *out = control_answer(&ops, &p, line, NULL, &stop);
        check(out != NULL);
        size_t len = strlen(out);
        check(len >= 2 && out[len - 1] == '\n' && !memchr(out, '\n', len - 1));
        json_object *a = json_tokener_parse(out);
        check(a && json_object_is_type(a, json_type_object));
        json_object *v;
        check(json_object_object_get_ex(a, "protocol", &v) && json_object_get_int(v) == 1);
        check(json_object_object_get_ex(a, "ok", &v) && json_object_is_type(v, json_type_boolean));
        bool ok = json_object_get_boolean(v);
        check(ok || (json_object_object_get_ex(a, "error", &v) && json_object_is_type(v, json_type_string) &&
                     json_object_get_string_len(v) > 0));
        bool may_change = p.uid == 0 || p.uid == geteuid();
        check(may_change || (changes == 0 && !stop));
        check(!stop || ok);
        json_object_put(a);
        free(out);
        return 0;
}
