/* Messages to the service manager ($NOTIFY_SOCKET) that never block the
 * event loop: what the manager's full queue does not take waits, in order,
 * and goes when it has room (notify.c says why sd_notify(3) will not do). */
#ifndef USD_NOTIFY_H
#define USD_NOTIFY_H

#include <stdbool.h>
#include <systemd/sd-event.h>

/* Connects to $NOTIFY_SOCKET if set, and sends WATCHDOG=1 every half
 * $WATCHDOG_USEC. 0 also when there is no manager; < 0 on error (logged). */
int notify_open(sd_event *e);
/* Sends text with fd (-1: none; the caller keeps its fd). 1 sent or queued,
 * 0 no service manager, < 0 an error (logged). */
int notify_send(const char *text, int fd);
void notify_close(void);

#endif
