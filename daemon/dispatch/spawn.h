/* dispatch = spawn: a process per connection (inetd, Accept=yes). */
#ifndef USD_SPAWN_H
#define USD_SPAWN_H

#include "dispatch/dispatch.h"

/* DISPATCH_TAKEN (the fd was handed to a process, or closed: the process
 * could not start, logged), or a negative errno: no process could be made. */
int spawn_connection(struct worker *w, struct accepted *a);
size_t spawn_processes(const struct worker *w, struct process_info *out, size_t max);
/* Connections from the socket called name that its processes serve now. */
unsigned spawn_socket_load(const struct worker *w, const char *name);

#endif
