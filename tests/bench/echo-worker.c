/* echo-worker: the worker every benchmarked server runs. Copies stdin to
 * stdout until EOF, then exits 0; 1 on a read or write error.
 * Plain read(2)/write(2), no stdio: nothing is buffered, so every byte read is
 * written before the next read, and nothing is left behind at exit. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static char buf[65536];

static int write_all(int fd, const char *p, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -1;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

int main(void)
{
        for (;;) {
                ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
                if (n == 0)
                        return EXIT_SUCCESS;
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return EXIT_FAILURE;
                }
                if (write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
                        return EXIT_FAILURE;
        }
}
