/* The client side of the control protocol (unixsockctl(1), PROTOCOL): where
 * the control socket is by default, the request line, one answer read within
 * a deadline and checked. */
#ifndef CTL_CLIENT_H
#define CTL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

struct json_object;

#define CLIENT_PROTOCOL 1
#define CLIENT_REQUEST_MAX 4096                 /* bytes, with the "\n" */
#define CLIENT_ANSWER_MAX (16u << 20)           /* bytes, with the "\n" */

/* The daemon's default control socket, as daemon/config/config.c derives the
 * runtime directory: $RUNTIME_DIRECTORY (its first path), else /run/unixsockd
 * as root, else $XDG_RUNTIME_DIR/unixsockd; "control.sock" in it. Returns a
 * malloc'd path, or NULL with a message in err when there is none. */
char *client_default_socket(char *err, size_t errsize);

/* "unixsockd/1 WORD...\n" from the command and its arguments, malloc'd; NULL
 * with a message in err when a word is not a name or the line is too long. */
char *client_request(const char *command, char *const args[], size_t n_args, char *err, size_t errsize);

/* What client_call() got: the answer parsed, and the line as it came. */
struct client_answer {
        struct json_object *json;       /* an object with "protocol": 1 and "ok" */
        char *line;                     /* the bytes received, "\n" excluded */
        size_t len;
};

/* Connects to path, sends request, reads the answer, all within timeout_usec.
 * Returns 0 with *ret filled (ok true or false), or a sysexits code with a
 * message in err: EX_UNAVAILABLE (no daemon at path, no answer in time, the
 * connection lost), EX_NOPERM (the socket refuses us), EX_PROTOCOL (the answer
 * is no JSON object of protocol 1, truncated, or longer than
 * CLIENT_ANSWER_MAX), EX_OSERR. */
int client_call(const char *path, const char *request, int64_t timeout_usec, struct client_answer *ret,
                char *err, size_t errsize);
void client_answer_free(struct client_answer *a);

#endif
