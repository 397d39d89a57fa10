/* Listening sockets for the -H addresses: unix://PATH, tcp://HOST:PORT and
 * fd:// (systemd socket activation: every passed socket, or fd://N for one). */
#ifndef BERTH_API_LISTEN_H
#define BERTH_API_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"

typedef struct api_socket {
    int fd;
    bool is_tcp;          /* TLS applies only to TCP listeners */
    char *unix_path;      /* owned; set for sockets berthd created (removed at exit) */
    char *desc;           /* owned; what to print in logs */
} api_socket;

/* Opens the sockets for host.  Appends to *socks (reallocated; *n updated).
 * group is the unix socket's group name ("docker" falls back to root when
 * that group does not exist). */
int api_listen(const char *host, const char *group, api_socket **socks, size_t *n, berr *e);

void api_socket_close(api_socket *s, bool remove_path);

#endif
