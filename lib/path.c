/* What a socket path holds: nothing, a socket nobody accepts on (stale), a live
 * socket, or something else. One probe for us_listen() and us_path_is_stale(). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "unixsock.h"

/* connect(2), non-blocking, to the socket file pathfd (O_PATH) holds: through
 * /proc/self/fd/N, so that a name swapped for a symlink since it was opened
 * leads nowhere else; where /proc is not mounted, through path. */
static int connect_file(int fd, int pathfd, const char *path)
{
        char p[64];
        struct sockaddr_un sa;
        socklen_t len;

        snprintf(p, sizeof(p), "/proc/self/fd/%d", pathfd);
        if (usi_addr(p, &sa, &len) == 0 && connect(fd, (struct sockaddr *)&sa, len) == 0)
                return 0;
        if (errno != ENOENT || usi_addr(path, &sa, &len) < 0)
                return -1;
        return connect(fd, (struct sockaddr *)&sa, len);
}

int usi_path_probe(const char *path)
{
        struct stat st;
        int pathfd, fd, r;

        /* O_NOFOLLOW on O_PATH opens a symlink itself: it is "something else". */
        pathfd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (pathfd < 0)
                return errno == ENOENT ? USI_PATH_FREE : -1;
        if (fstat(pathfd, &st) < 0)
                return usi_close(pathfd);
        if (!S_ISSOCK(st.st_mode)) {
                usi_close(pathfd);
                return USI_PATH_OTHER;
        }
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return usi_close(pathfd);
        if (connect_file(fd, pathfd, path) == 0)
                r = USI_PATH_LIVE;
        else if (errno == ECONNREFUSED)
                r = USI_PATH_STALE;
        else if (errno == ENOENT)
                r = USI_PATH_FREE; /* gone meanwhile */
        else
                r = USI_PATH_LIVE; /* queue full (EAGAIN), or we may not know (EACCES): hands off */
        usi_close(fd);
        usi_close(pathfd);
        return r;
}

bool us_path_is_stale(const char *path)
{
        int saved = errno;
        bool r;

        if (!path || path[0] == '\0' || path[0] == '@')
                return false; /* an abstract name that nobody holds does not exist */
        r = usi_path_probe(path) == USI_PATH_STALE;
        errno = saved;
        return r;
}
