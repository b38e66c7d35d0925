/* unixsockctl status: the daemon's status answer as human tables. */
#ifndef CTL_STATUS_H
#define CTL_STATUS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct json_object;

/* Checks the answer's shape ("sockets" and "workers" lists of named
 * objects): 0, or -1 with a message in err. */
int status_check(struct json_object *answer, char *err, size_t errsize);

/* Prints the daemon line, then the sockets, workers and processes tables;
 * times are shown against now_usec (realtime, microseconds). */
void status_print(FILE *f, struct json_object *answer, int64_t now_usec);

#endif
