/* dispatch = listener: one process gets the listening sockets (Accept=no),
 * started when a client waits. */
#ifndef USD_LISTENER_H
#define USD_LISTENER_H

#include "dispatch/dispatch.h"

int listener_start(struct worker *w);
/* A client waits: the process takes every socket of w; started if not running. */
void listener_activate(struct worker *w);
/* SIGTERM to its process, as systemd stops a service; no restart. */
void listener_stop(struct worker *w);
void listener_free(struct worker *w);
size_t listener_processes(const struct worker *w, struct process_info *out, size_t max);

#endif
