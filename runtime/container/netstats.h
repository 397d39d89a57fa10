/* A container's network counters, as `docker stats` shows them: per
 * interface of its network namespace, read from /proc/<pid>/net/dev (the
 * file shows the namespace of the process, so no setns is needed). */
#ifndef BERTH_RUNTIME_CONTAINER_NETSTATS_H
#define BERTH_RUNTIME_CONTAINER_NETSTATS_H

#include <jansson.h>
#include <sys/types.h>

#include "lib/err.h"

/* The text of a /proc/net/dev -> {"eth0": {"rx_bytes": N, "rx_packets",
 * "rx_errors", "rx_dropped", "tx_bytes", "tx_packets", "tx_errors",
 * "tx_dropped"}, ...}.  Loopback and the tunnel devices the kernel puts in
 * every namespace (tunl0, sit0, ...) are left out: dockerd lists only the
 * interfaces libnetwork moved in.  Lines that are not of the file's shape
 * are skipped.  Never NULL. */
json_t *rt_netstats_parse(const char *text);

/* Reads and parses /proc/<pid>/net/dev.  -ENOENT when the process is gone. */
int rt_netstats_read(pid_t pid, json_t **out, berr *e);

#endif
