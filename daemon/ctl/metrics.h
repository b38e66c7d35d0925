/* unixsockctl metrics: the daemon's status answer as metrics text. */
#ifndef CTL_METRICS_H
#define CTL_METRICS_H

#include <stdbool.h>
#include <stdio.h>

struct json_object;

/* Prints every counter and gauge of a status answer (status_check() passed),
 * ending with "# EOF". Counter families are named with their "_total", as the
 * Prometheus text format 0.0.4 has them (promtool, node_exporter's textfile
 * collector); with openmetrics, without it, as OpenMetrics 1.0 has them. */
void metrics_print(FILE *f, struct json_object *answer, bool openmetrics);

#endif
