/* The running daemon: listeners, dispatch to workers, child processes, stop. */
#ifndef USD_SERVER_H
#define USD_SERVER_H

#include <systemd/sd-event.h>

#include "config/config.h"

struct server;

/* Takes ownership of cfg. */
int server_new(sd_event *e, struct config *cfg, struct server **ret);
/* Adopts inherited listeners, creates the others, starts watching them and
 * says READY=1. A negative errno (logged) if a listener cannot be made. */
int server_start(struct server *s);
struct server *server_free(struct server *s);

#endif
