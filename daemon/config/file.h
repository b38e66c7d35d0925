/* Reading a configuration file whole (file.c). */
#ifndef USD_FILE_H
#define USD_FILE_H

#include <stddef.h>

#define FILE_READ_MAX (16u << 20)

/* The whole of file, up to FILE_READ_MAX bytes (else -EFBIG), into *ret
 * (malloc'd, with room for one more byte) and *ret_len. -EISDIR or -EBADFD
 * when it is not a regular file, else the errno of open(2) or read(2). */
int file_read_regular(const char *file, char **ret, size_t *ret_len);

#endif
