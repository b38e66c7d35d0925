/* Reading a configuration file whole: a regular file only, of bounded size,
 * never blocking on a FIFO. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"

/* The whole file, up to FILE_READ_MAX. Only a regular file: a reload reads
 * it in the event loop, where a FIFO would block in open(2) until a writer
 * came (O_NONBLOCK opens it at once, and reads of a regular file ignore the
 * flag) and a device could be endless. -EISDIR or -EBADFD for anything else,
 * as systemd's stat_verify_regular(). Symlinks are followed: a link such as
 * /etc/alternatives makes is a fine configuration path. */
int file_read_regular(const char *file, char **ret, size_t *ret_len)
{
        size_t len = 0, cap = 0;
        char *buf = NULL;
        struct stat st;
        int fd, r;

        fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                goto fail;
        }
        if (!S_ISREG(st.st_mode)) {
                r = S_ISDIR(st.st_mode) ? -EISDIR : -EBADFD;
                goto fail;
        }
        for (;;) {
                ssize_t k;

                if (len == cap) {
                        char *nb;

                        if (cap >= FILE_READ_MAX) {
                                r = -EFBIG;
                                goto fail;
                        }
                        cap = cap ? cap * 2 : 8192;
                        nb = realloc(buf, cap + 1);
                        if (!nb) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        buf = nb;
                }
                k = read(fd, buf + len, cap - len);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = -errno;
                        goto fail;
                }
                if (k == 0)
                        break;
                len += (size_t)k;
        }
        close(fd);
        *ret = buf;
        *ret_len = len;
        return 0;
fail:
        free(buf);
        close(fd);
        return r;
}
