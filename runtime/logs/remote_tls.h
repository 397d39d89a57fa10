/* TLS for the syslog driver's tcp+tls (runtime/logs/remote_tls.c), on a
 * connected non-blocking socket. */
#ifndef BERTH_RUNTIME_LOGS_REMOTE_TLS_H
#define BERTH_RUNTIME_LOGS_REMOTE_TLS_H

#include <jansson.h>
#include <sys/types.h>

#include "lib/err.h"

typedef struct rt_log_tls rt_log_tls;

/* Handshakes on fd (not owned) within timeout_ms, with the syslog-tls-*
 * options of opts; host is the name the certificate must carry. */
int rt_log_tls_open(int fd, const char *host, json_t *opts, int timeout_ms, rt_log_tls **out, berr *e);
/* Bytes of data taken (a prefix), -EAGAIN when the socket is full (call
 * again later with the same data first), -EPIPE when the session broke. */
ssize_t rt_log_tls_send(rt_log_tls *t, const char *data, size_t len);
/* Sends close_notify if the socket takes it; frees. */
void rt_log_tls_close(rt_log_tls *t);

#endif
