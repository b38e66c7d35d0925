/* Helpers shared by the modules of libunixsock; not exported. */
#ifndef UNIXSOCK_INTERNAL_H
#define UNIXSOCK_INTERNAL_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>

#define US_HIDDEN __attribute__((visibility("hidden")))

/* path -> address; ENAMETOOLONG if it does not fit, EINVAL if empty. */
US_HIDDEN int usi_addr(const char *path, struct sockaddr_un *sa, socklen_t *ret_len);
/* address -> path ('@' for abstract, "" for unnamed). */
US_HIDDEN int usi_addr_to_path(const struct sockaddr_un *sa, socklen_t len, char *buf, size_t size);

/* close(2) that keeps errno and never retries EINTR. Returns -1 for fd = x(fd). */
US_HIDDEN int usi_close(int fd);
/* Sets or clears O_NONBLOCK on fd. 0, or -1 with errno. */
US_HIDDEN int usi_set_nonblock(int fd, bool nonblock);

/* What usi_path_probe() found at a file-system path. */
enum {
        USI_PATH_FREE,          /* nothing (ENOENT) */
        USI_PATH_STALE,         /* a socket file nobody accepts on (ECONNREFUSED) */
        USI_PATH_LIVE,          /* a socket somebody accepts on, or may (queue full, EACCES) */
        USI_PATH_OTHER,         /* anything else, a symlink included: never followed */
};
/* One of USI_PATH_*, or -1 with errno. */
US_HIDDEN int usi_path_probe(const char *path);

#endif
