/* Shared helpers of the test suite. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

char *make_tmpdir(void)
{
        char tmpl[] = "/tmp/us-test-XXXXXX";
        char *d = mkdtemp(tmpl);

        if (!d || chmod(d, 0755) < 0)
                abort();
        return strdup(d);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st; (void)flag; (void)ftw;
        remove(path);
        return 0;
}

void rm_rf(const char *dir)
{
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *join(const char *dir, const char *name)
{
        static char bufs[4][4096];
        static int i;
        char *b = bufs[i++ % 4];

        snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
        return b;
}

int count_dir_entries(const char *path)
{
        DIR *d = opendir(path);
        struct dirent *e;
        int n = 0;

        if (!d)
                return -1;
        while ((e = readdir(d)))
                if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

int count_open_fds(void)
{
        int n = count_dir_entries("/proc/self/fd");

        return n - 1; /* the directory stream's own fd */
}

bool fd_is_cloexec(int fd)
{
        int f = fcntl(fd, F_GETFD);

        return f >= 0 && (f & FD_CLOEXEC);
}

bool fd_is_open(int fd)
{
        return fcntl(fd, F_GETFD) >= 0 || errno != EBADF;
}

ssize_t read_full(int fd, void *buf, size_t n)
{
        size_t done = 0;

        while (done < n) {
                ssize_t r = read(fd, (char *)buf + done, n - done);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return -1;
                if (r == 0)
                        break;
                done += (size_t)r;
        }
        return (ssize_t)done;
}

char *replace_all(const char *text, const char *token, const char *value)
{
        size_t tl = strlen(token), vl = strlen(value), n = 0, cap = strlen(text) + 1;
        char *out;

        for (const char *p = strstr(text, token); p; p = strstr(p + tl, token))
                cap += vl;
        out = malloc(cap);
        if (!out)
                abort();
        for (const char *p = text; *p;) {
                if (strncmp(p, token, tl) == 0) {
                        memcpy(out + n, value, vl);
                        n += vl;
                        p += tl;
                } else {
                        out[n++] = *p++;
                }
        }
        out[n] = '\0';
        return out;
}

long long now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int ms_left(long long deadline)
{
        long long l = deadline - now_ms();

        return l < 0 ? 0 : (int)l;
}

char *fmt(const char *f, ...)
{
        static char bufs[4][8192];
        static int i;
        char *b = bufs[i++ % 4];
        va_list ap;

        va_start(ap, f);
        vsnprintf(b, sizeof(bufs[0]), f, ap);
        va_end(ap);
        return b;
}
