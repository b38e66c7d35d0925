/* Supervision of a long-running process: start, exit judged once, restart
 * with backoff by restart=. The mode (pool, listener) says the rest. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "member.h"
#include "timer.h"

uint64_t member_now(const struct member *m)
{
        uint64_t t = 0;

        sd_event_now(m->event, CLOCK_MONOTONIC, &t);
        return t;
}

struct log_ctx member_ctx(const struct member *m)
{
        struct log_ctx c = LOG_CTX_INIT;

        c.worker = m->launcher->cfg->name;
        if (m->proc.pid > 0)
                c.worker_pid = m->proc.pid;
        return c;
}

static int on_restart(sd_event_source *es, uint64_t usec, void *userdata)
{
        member_start(userdata);
        return 0;
}

static void schedule_restart(struct member *m, uint64_t delay)
{
        if (timer_at(m->event, &m->restart_timer, member_now(m) + delay, on_restart, m) < 0)
                log_msg(LOG_ERR, "worker %s: no timer for its restart", m->launcher->cfg->name);
}

bool member_restart_pending(const struct member *m)
{
        return m->restart_timer && sd_event_source_get_enabled(m->restart_timer, NULL) > 0;
}

uint64_t member_restart_at(const struct member *m)
{
        uint64_t t = 0;

        if (!member_restart_pending(m) || sd_event_source_get_time(m->restart_timer, &t) < 0)
                return 0;
        return t;
}

void member_cancel_restart(struct member *m)
{
        m->restart_timer = sd_event_source_disable_unref(m->restart_timer);
}

/* The restart policy on an exit judged as e says; the delay from the backoff. */
static void decide_restart(struct member *m, struct member_exit *e)
{
        const struct cfg_worker *cw = m->launcher->cfg;

        if (m->launcher->ending != ENDING_NO || e->retired)
                e->restart = false;
        else if (e->on_demand)
                e->restart = e->pending && !(e->failed && cw->restart == RESTART_NEVER);
        else
                e->restart = cw->restart == RESTART_ALWAYS || (e->failed && cw->restart == RESTART_ON_FAILURE);
        m->backoff.first_usec = cw->restart_delay_usec;
        m->backoff.max_usec = cw->restart_delay_max_usec;
        /* A listener worker that exits at once, accepting nothing, is throttled too. */
        if (e->restart && (e->failed || !e->on_demand || e->ran_usec < BACKOFF_RAN_WELL_USEC))
                e->delay_usec = backoff_next(&m->backoff, e->ran_usec);
        else if (!e->failed && e->ran_usec >= BACKOFF_RAN_WELL_USEC)
                backoff_reset(&m->backoff);
}

static void log_exit(struct member *m, const struct member_exit *e)
{
        struct launcher *l = m->launcher;
        bool stopping = l->ending == ENDING_STOPPING;
        struct log_ctx c = member_ctx(m);
        unsigned suppressed = 0;
        char note[64], when[64] = "";
        const char *how = launch_exit_ctx(&c, e->si);

        if (e->failed && !stopping && !ratelimit_pass(&l->exit_rl, member_now(m), &suppressed))
                return;
        if (e->restart)
                snprintf(when, sizeof(when), "; restart in %llums", (unsigned long long)(e->delay_usec / 1000));
        log_ctx(e->failed && !stopping ? LOG_WARNING : LOG_INFO, &c,
                "worker %s: pid %d %s %d after %llums%s%s%s", l->cfg->name, (int)e->si->si_pid, how,
                e->si->si_status, (unsigned long long)(e->ran_usec / 1000), e->reason, when,
                ratelimit_note(note, suppressed, "exits"));
}

static void member_exit(struct process *p, const siginfo_t *si)
{
        struct member *m = (struct member *)((char *)p - offsetof(struct member, proc));
        struct member_exit e = {
                .si = si,
                .ran_usec = member_now(m) - m->started_at,
                .failed = launch_exit_failed(si),
        };

        m->ops->exiting(m, &e);
        m->proc.pid = 0;
        launch_record_exit(m->launcher, si, member_now(m));
        /* Leaving clients unserved is a failure even with status 0: else a
         * program that exits 0 at once would, under restart = on-failure,
         * leave its pool dead and its clients waiting, logged as a clean exit. */
        e.failed = e.failed || e.reason[0];
        decide_restart(m, &e);
        log_exit(m, &e);
        if (e.restart) {
                m->restarts++;
                schedule_restart(m, e.delay_usec);
        }
        m->ops->exited(m, &e);
        counters_changed(m->counters);
}

void member_init(struct member *m, const struct member_ops *ops, void *owner, unsigned index,
                 struct launcher *l, struct proctab *procs, struct counters *counters, sd_event *e)
{
        *m = (struct member){
                .proc = { .on_exit = member_exit },
                .ops = ops,
                .owner = owner,
                .launcher = l,
                .procs = procs,
                .counters = counters,
                .event = e,
                .index = index,
        };
}

static void start_failed(struct member *m, int r, const char *step)
{
        struct log_ctx c = member_ctx(m);

        launch_log_failure(m->launcher, &c, LOG_ERR, r, step, "");
        /* As a process that failed at once: throttled by the same backoff. */
        m->restarts++;
        m->backoff.first_usec = m->launcher->cfg->restart_delay_usec;
        m->backoff.max_usec = m->launcher->cfg->restart_delay_max_usec;
        schedule_restart(m, backoff_next(&m->backoff, 0));
}

static void log_started(struct member *m)
{
        const struct cfg_worker *cw = m->launcher->cfg;
        struct log_ctx c = member_ctx(m);

        c.msgid = MSGID_WORKER_STARTED;
        log_ctx(m->restarts ? LOG_NOTICE : LOG_INFO, &c, "worker %s: started pid %d (%s %u of %u%s)",
                cw->name, (int)m->proc.pid, config_dispatch_name(cw->dispatch), m->index + 1, cw->instances,
                m->restarts ? ", a restart" : "");
}

void member_start(struct member *m)
{
        struct launch a = { .n_fds = 3 };
        const char *step = "";
        pid_t pid;
        int devnull, r;

        if (m->launcher->ending != ENDING_NO || m->proc.pid > 0)
                return;
        /* stdout too goes to stderr's stream: a daemon's output belongs in the log */
        a.fds[1] = a.fds[2] = launcher_stderr(m->launcher);
        devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        a.fds[0] = devnull >= 0 ? devnull : STDIN_FILENO;
        r = m->ops->prepare(m, &a, &step);
        if (r >= 0)
                r = launch_start(m->launcher, &a, &pid, &step);
        if (devnull >= 0)
                close(devnull);
        if (r < 0) {
                m->ops->started(m, false);
                start_failed(m, r, step);
                return;
        }
        m->proc.pid = pid;
        m->started_at = member_now(m);
        (void)proctab_add(m->procs, &m->proc);
        log_started(m);
        m->ops->started(m, true);
        counters_changed(m->counters);
}

void member_free(struct member *m)
{
        m->restart_timer = sd_event_source_disable_unref(m->restart_timer);
}
