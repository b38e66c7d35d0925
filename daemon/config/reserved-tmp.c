/* TEMPORARY until the config split lands: the one list of reserved names. */
#include <string.h>

#include "config.h"

bool config_env_name_reserved(const char *name, size_t len)
{
        static const char *const names[] = {
                "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "WATCHDOG_PID",
                "WATCHDOG_USEC", "JOURNAL_STREAM", "PROTO", "UNIXLOCALPATH", "UNIXREMOTEPID",
                "UNIXREMOTEEUID", "UNIXREMOTEEGID",
        };

        if (len >= 10 && memcmp(name, "UNIXSOCKD_", 10) == 0)
                return true;
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
                        return true;
        return false;
}
