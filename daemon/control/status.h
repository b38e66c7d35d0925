/* What the daemon is doing, as the control socket's status answer (JSON) and
 * as the STATUS= line systemctl status shows. Reads the sockets and workers;
 * changes nothing. */
#ifndef USD_STATUS_H
#define USD_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "dispatch/worker.h"
#include "listen/socket.h"

struct status_daemon {
        const char *config;
        uint64_t started_usec;          /* CLOCK_MONOTONIC */
        bool stopping;
        unsigned long accepted, refused, reloads;
        struct socket *const *socks;
        size_t n_socks;
        struct worker *const *workers;
        size_t n_workers;
};

/* Adds "daemon", "sockets" and "workers" to answer: all, or those named in
 * names[]. 0, or -ENOENT with *error naming one that is neither. */
int status_json(const struct status_daemon *d, char *const *names, size_t n, json_object *answer,
                const char **error);
/* The STATUS= text: totals, then a short line per socket, within size. */
void status_line(const struct status_daemon *d, char *buf, size_t size);

#endif
