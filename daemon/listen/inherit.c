/* Inherited listeners (LISTEN_FDS, LISTEN_FDNAMES) and the fd store. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "inherit.h"
#include "log.h"
#include "notify.h"

size_t inherit_listeners(struct inherited **ret)
{
        char **names = NULL;
        int n = sd_listen_fds_with_names(1, &names);
        struct inherited *v = NULL;
        size_t k = 0;

        *ret = NULL;
        if (n < 0)
                log_errno(LOG_WARNING, n, "sd_listen_fds_with_names");
        if (n > 0 && !(v = calloc((size_t)n, sizeof(*v))))
                log_msg(LOG_ERR, "out of memory taking %d inherited fds", n);
        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                const char *name = names && names[i] ? names[i] : "";
                struct us_listener *l = v ? us_listener_adopt(fd) : NULL;

                if (!l) {
                        if (v)
                                log_errno(LOG_WARNING, -errno, "inherited fd %d (%s) is not a listening unix socket; closed",
                                          fd, name);
                        close(fd);
                        free(names ? names[i] : NULL);
                        continue;
                }
                v[k].name = names && names[i] ? names[i] : NULL;
                v[k++].listener = l;
        }
        free(names);
        *ret = v;
        return k;
}

void inherit_free(struct inherited *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                us_close(v[i].listener);
                free(v[i].name);
        }
        free(v);
}

void inherit_store(const char *name, struct us_listener *l)
{
        char msg[300];

        snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s", name);
        if (notify_send(msg, us_listener_fd(l)) > 0)
                us_listener_set_unlink(l, false);
}

void inherit_unstore(const char *name)
{
        char msg[300];

        snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", name);
        (void)notify_send(msg, -1);
}
