/* Resource limits: the daemon's own, and those its workers start with. */
#ifndef USD_LIMITS_H
#define USD_LIMITS_H

#include <stdbool.h>
#include <sys/resource.h>

/* Raises the soft RLIMIT_NOFILE to the hard one: the daemon holds a listening
 * socket for each [socket:] and an fd for each client it holds, and a
 * service manager's default soft limit (1024) leaves little beyond 1000
 * sockets. Its workers get back the soft limit it was started with (a
 * program may rely on fds below FD_SETSIZE). 0, or a negative errno (the
 * limits are left as they were). */
int limits_raise_nofile(void);
/* The RLIMIT_NOFILE a worker starts with; false if it is the daemon's own. */
bool limits_worker_nofile(struct rlimit *ret);

#endif
