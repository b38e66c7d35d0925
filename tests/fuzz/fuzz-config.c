/* libFuzzer target of the configuration parser: any bytes, as a file's text.
 * Beyond "no crash, no leak", it checks the parser's promise that the rest of
 * the daemon never re-checks a string: a config it accepts is complete and in
 * range, and a refused one was explained with at least one error. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "config.h"
#include "parse.h"

#define SUN_PATH_MAX 107

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct errors {
        size_t n;
        unsigned max_line;
};

/* Nothing printed: the fuzzer's output stays its own. */
static void count_error(void *userdata, const char *file, unsigned line, const char *msg)
{
        struct errors *e = userdata;

        (void)file;
        (void)msg;
        e->n++;
        if (line > e->max_line)
                e->max_line = line;
}

static void check(bool ok)
{
        if (!ok)
                abort();
}

static bool is_abs(const char *s)
{
        return s && s[0] == '/';
}

static void check_config(const struct config *c)
{
        check(is_abs(c->runtime_directory));
        check(!c->control || is_abs(c->control));
        check(c->log_level >= LOG_ERR && c->log_level <= LOG_DEBUG);
        check(c->n_sockets >= 1);
        for (size_t i = 0; i < c->n_sockets; i++) {
                const struct cfg_socket *s = &c->sockets[i];

                check(parse_name_is_valid(s->name));
                check(s->path && (s->path[0] == '/' || s->path[0] == '@'));
                check(strlen(s->path + (s->path[0] == '@')) <= SUN_PATH_MAX);
                check(s->backlog >= 1 && s->backlog <= 65535);
                check(s->mode <= 07777);
                check(s->worker >= c->workers && s->worker < c->workers + c->n_workers);
                check(s->rate_burst == 0 || s->rate_interval_usec > 0);
        }
        for (size_t i = 0; i < c->n_workers; i++) {
                const struct cfg_worker *w = &c->workers[i];

                check(parse_name_is_valid(w->name));
                check(w->argv && w->argv[0]);
                check(is_abs(w->exec_path));
                check(w->env);
                check(w->instances >= 1);
                check(w->dispatch != DISPATCH_LISTENER || w->instances == 1);
                check(w->restart_delay_usec > 0 && w->restart_delay_usec <= w->restart_delay_max_usec);
                check(!w->working_directory || is_abs(w->working_directory));
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct errors e = { 0 };
        struct config *c = NULL;
        unsigned lines = 1;
        int r;

        for (size_t i = 0; i < size; i++)
                lines += data[i] == '\n';
        r = config_load_string("fuzz.conf", (const char *)data, size, count_error, &e, &c);
        /* An error names a line of the text, or the whole file (0). */
        check(e.max_line <= lines);
        if (r == 0) {
                check(c && e.n == 0);
                check_config(c);
                config_free(c);
        } else
                check((r == -EINVAL || r == -ENOMEM) && e.n > 0);
        return 0;
}
