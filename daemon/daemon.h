/* The running daemon: its sockets and workers, signals, stop, STATUS=, and
 * applying a reload plan. */
#ifndef USD_DAEMON_H
#define USD_DAEMON_H

#include <systemd/sd-event.h>

#include "config/config.h"

struct daemon;

/* Takes ownership of cfg. Moves the daemon into its own leaf of a delegated
 * cgroup (process/cgroup.h). 0; -EINVAL: cfg sets a cgroup key that cannot be
 * applied here (reported as config errors); -ENOMEM; another negative errno
 * (logged). */
int daemon_new(sd_event *e, struct config *cfg, struct daemon **ret);
/* Adopts inherited listeners, creates the others, starts watching them and
 * says READY=1. A negative errno (logged) if a listener cannot be made. */
int daemon_start(struct daemon *d);
struct daemon *daemon_free(struct daemon *d);

#endif
