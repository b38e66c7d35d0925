/* Socket addresses: a path (or '@abstract' name) to a struct sockaddr_un. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "internal.h"

int usi_addr(const char *path, struct sockaddr_un *sa, socklen_t *ret_len)
{
        size_t n;

        if (!path || !*path) {
                errno = EINVAL;
                return -1;
        }
        n = strlen(path);
        memset(sa, 0, sizeof(*sa));
        sa->sun_family = AF_UNIX;
        if (path[0] == '@') {
                /* The leading NUL takes the '@''s place: the name may fill sun_path. */
                if (n > sizeof(sa->sun_path)) {
                        errno = ENAMETOOLONG;
                        return -1;
                }
                memcpy(sa->sun_path + 1, path + 1, n - 1);
                *ret_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
                return 0;
        }
        /* Keep room for the NUL: a name filling all of sun_path is not portable. */
        if (n >= sizeof(sa->sun_path)) {
                errno = ENAMETOOLONG;
                return -1;
        }
        memcpy(sa->sun_path, path, n);
        *ret_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
        return 0;
}

int usi_addr_to_path(const struct sockaddr_un *sa, socklen_t len, char *buf, size_t size)
{
        size_t off = offsetof(struct sockaddr_un, sun_path), n;

        if (len <= off || sa->sun_family != AF_UNIX) {
                if (size < 1)
                        goto toolong;
                buf[0] = '\0';
                return 0;
        }
        n = len - off;
        if (sa->sun_path[0] == '\0') {
                if (n + 1 > size)
                        goto toolong;
                buf[0] = '@';
                memcpy(buf + 1, sa->sun_path + 1, n - 1);
                buf[n] = '\0';
                return 0;
        }
        n = strnlen(sa->sun_path, n);
        if (n + 1 > size)
                goto toolong;
        memcpy(buf, sa->sun_path, n);
        buf[n] = '\0';
        return 0;
toolong:
        errno = ENAMETOOLONG;
        return -1;
}
