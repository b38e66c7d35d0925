/* Resource limits: the daemon's own, and those its workers start with. */
#include <errno.h>

#include "limits.h"

static struct rlimit started_with;
static bool raised;

int limits_raise_nofile(void)
{
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return -errno;
        if (rl.rlim_cur >= rl.rlim_max)
                return 0;
        started_with = rl;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                return -errno;
        raised = true;
        return 0;
}

bool limits_worker_nofile(struct rlimit *ret)
{
        if (raised)
                *ret = started_with;
        return raised;
}
