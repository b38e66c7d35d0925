/* Shared helpers of the test suite. */
#ifndef TESTS_HELPERS_H
#define TESTS_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A fresh directory under /tmp (mode 0755), removed with everything in it by rm_rf(). */
char *make_tmpdir(void);
void rm_rf(const char *dir);
/* dir/name in a static rotating buffer. */
const char *join(const char *dir, const char *name);

/* Number of fds open in this process. */
int count_open_fds(void);
bool fd_is_cloexec(int fd);
bool fd_is_open(int fd);
/* Number of entries in dir, "." and ".." not counted. */
int count_dir_entries(const char *dir);

/* text with every token replaced by value, malloc'd (aborts when out of memory). */
char *replace_all(const char *text, const char *token, const char *value);

/* Reads exactly n bytes (or until EOF); returns the number read. */
ssize_t read_full(int fd, void *buf, size_t n);

/* CLOCK_MONOTONIC in milliseconds, and what is left of a deadline in it (>= 0). */
long long now_ms(void);
int ms_left(long long deadline);

/* printf into one of 4 rotating static buffers of 8 KiB: a few may be used
 * in one expression. */
char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

#endif
