/* Fields of the daemon's JSON answer, and strings and times made printable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "answer.h"

bool answer_int(struct json_object *o, const char *key, int64_t *ret)
{
        struct json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return false;
        *ret = json_object_get_int64(v);
        return true;
}

const char *answer_str(struct json_object *o, const char *key)
{
        struct json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static struct json_object *typed(struct json_object *o, const char *key, enum json_type t)
{
        struct json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, t))
                return NULL;
        return v;
}

struct json_object *answer_array(struct json_object *o, const char *key)
{
        return typed(o, key, json_type_array);
}

struct json_object *answer_object(struct json_object *o, const char *key)
{
        return typed(o, key, json_type_object);
}

bool answer_true(struct json_object *o, const char *key)
{
        struct json_object *v = typed(o, key, json_type_boolean);

        return v && json_object_get_boolean(v);
}

bool answer_check_list(struct json_object *o, const char *key, char *err, size_t errsize)
{
        struct json_object *v, *a = answer_array(o, key);

        if (!a) {
                if (json_object_object_get_ex(o, key, &v)) {
                        snprintf(err, errsize, "\"%s\" is not a list", key);
                        return false;
                }
                return true;
        }
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                struct json_object *e = json_object_array_get_idx(a, i);

                if (!json_object_is_type(e, json_type_object) || !answer_str(e, "name")) {
                        snprintf(err, errsize, "\"%s\"[%zu] is not an object with a \"name\"", key, i);
                        return false;
                }
        }
        return true;
}

char *answer_safe(const char *s)
{
        size_t n = 0;
        char *out, *o;

        if (!s)
                s = "-";
        for (const unsigned char *u = (const unsigned char *)s; *u; u++)
                n += (*u < 0x20 || *u == 0x7f) ? 4 : 1;
        out = o = malloc(n + 1);
        if (!out)
                abort();
        for (const unsigned char *u = (const unsigned char *)s; *u; u++)
                if (*u < 0x20 || *u == 0x7f)
                        o += sprintf(o, "\\x%02x", *u);
                else
                        *o++ = (char)*u;
        *o = '\0';
        return out;
}

void answer_span(char *buf, size_t size, int64_t usec)
{
        int64_t s = usec / 1000000;

        if (usec < 1000000)
                snprintf(buf, size, "%lldms", (long long)(usec / 1000));
        else if (s < 60)
                snprintf(buf, size, "%llds", (long long)s);
        else if (s < 3600)
                snprintf(buf, size, "%lldmin %llds", (long long)(s / 60), (long long)(s % 60));
        else if (s < 86400)
                snprintf(buf, size, "%lldh %lldmin", (long long)(s / 3600), (long long)(s % 3600 / 60));
        else
                snprintf(buf, size, "%lldd %lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
}

void answer_time(char *buf, size_t size, int64_t realtime_usec, int64_t now_usec)
{
        time_t t = (time_t)(realtime_usec / 1000000);
        char when[32], span[32];
        struct tm tm;

        if (realtime_usec <= 0 || !localtime_r(&t, &tm) ||
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm) == 0) {
                snprintf(buf, size, "-");
                return;
        }
        if (realtime_usec <= now_usec) {
                answer_span(span, sizeof(span), now_usec - realtime_usec);
                snprintf(buf, size, "%s (%s ago)", when, span);
        } else {
                answer_span(span, sizeof(span), realtime_usec - now_usec);
                snprintf(buf, size, "%s (in %s)", when, span);
        }
}
