/* Reading fields of the daemon's JSON answer: absent or mistyped fields are
 * told apart from values, and strings are made safe to print. */
#ifndef CTL_ANSWER_H
#define CTL_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

/* o[key] if it is an integer: true and *ret; false if absent or not one. */
bool answer_int(struct json_object *o, const char *key, int64_t *ret);
/* o[key] if it is a string, else NULL. */
const char *answer_str(struct json_object *o, const char *key);
/* o[key] if it is an array (an object), else NULL. */
struct json_object *answer_array(struct json_object *o, const char *key);
struct json_object *answer_object(struct json_object *o, const char *key);
/* o[key] as a boolean: true only for true. */
bool answer_true(struct json_object *o, const char *key);

/* The objects of o[key], an array of objects with a string "name" each: true,
 * or false with a message in err. A missing key is an empty list. */
bool answer_check_list(struct json_object *o, const char *key, char *err, size_t errsize);

/* s for a terminal: every control character (C0, DEL) as \xNN. malloc'd;
 * NULL s gives "-". Aborts when out of memory. */
char *answer_safe(const char *s);

/* A realtime in microseconds since the epoch as local "YYYY-MM-DD HH:MM:SS"
 * and how long ago or ahead of now_usec ("5min ago", "in 3s"). */
void answer_time(char *buf, size_t size, int64_t realtime_usec, int64_t now_usec);
/* A duration in microseconds as "2h 3min", "5s", "250ms". */
void answer_span(char *buf, size_t size, int64_t usec);

#endif
