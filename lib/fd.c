/* File descriptor helpers shared by the modules of libunixsock: a close that
 * keeps errno, and the O_NONBLOCK switch. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "internal.h"

int usi_close(int fd)
{
        int saved = errno;

        if (fd >= 0)
                (void)close(fd);
        errno = saved;
        return -1;
}

int usi_set_nonblock(int fd, bool nonblock)
{
        int fl = fcntl(fd, F_GETFL);

        if (fl < 0)
                return -1;
        if (!!(fl & O_NONBLOCK) == nonblock)
                return 0;
        return fcntl(fd, F_SETFL, nonblock ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}
