/* dispatch = listener: instances copies of one program get the listening
 * sockets (Accept=no), all started when a client waits. */
#ifndef USD_LISTENER_H
#define USD_LISTENER_H

#include "dispatch/dispatch.h"

int listener_start(struct worker *w);
/* A client waits: the copies take every socket of w; those not running (nor
 * waiting out a backoff) start. */
void listener_activate(struct worker *w);
/* SIGTERM to every copy, as systemd stops a service; no restart. */
void listener_stop(struct worker *w);
void listener_free(struct worker *w);
size_t listener_processes(const struct worker *w, struct process_info *out, size_t max);

#endif
