/* Listening sockets from the service manager: sd_listen_fds_with_names(),
 * and the fd store (FDSTORE=). Knows nothing of sockets' runtime state. */
#ifndef USD_INHERIT_H
#define USD_INHERIT_H

#include <stdbool.h>
#include <stddef.h>

#include "unixsock.h"

struct inherited {
        char *name;                     /* its FileDescriptorName, or "" */
        struct us_listener *listener;   /* NULL once taken */
};

/* The listening unix sockets (us_listener_fd_type) passed to the daemon, in
 * order; any other fd passed is closed, logged. *ret is NULL when there are none. */
size_t inherit_listeners(struct inherited **ret);
/* Closes what was not taken. */
void inherit_free(struct inherited *v, size_t n);

/* Gives l to the service manager's fd store under name: the next start
 * inherits it, with its queue. The file then stays when the daemon stops. */
void inherit_store(const char *name, struct us_listener *l);
/* Takes name out of the fd store. */
void inherit_unstore(const char *name);

#endif
