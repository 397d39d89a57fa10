/* Network namespaces for containers.
 *
 * A container's network namespace is made by the daemon before the
 * container's process exists (the process joins it), so addresses, routes
 * and the DNS socket are in place when the entrypoint runs and survive a
 * restart of the process.  The daemon keeps the namespace as an open fd;
 * nothing is mounted, so nothing is left behind when the fd and the
 * processes inside are gone.
 *
 * Entering a namespace switches only the calling thread (the loop thread):
 * sockets made while inside stay bound to that namespace after leaving. */
#ifndef BERTH_NETOVERLAY_NETNS_H
#define BERTH_NETOVERLAY_NETNS_H

#include "lib/err.h"

/* A new, empty network namespace (only lo, down); *fd owned by the caller. */
int netns_create(int *fd, berr *e);

/* Switches the calling thread into ns_fd; *saved gets an fd of the
 * namespace it was in, for netns_leave (which closes it). */
int netns_enter(int ns_fd, int *saved, berr *e);
void netns_leave(int saved);

/* Writes value to /proc/sys/<key with dots as slashes> as seen from ns_fd
 * (-1: the daemon's own namespace). */
int netns_sysctl(int ns_fd, const char *key, const char *value, berr *e);

/* A socket of the given type bound to addr:port inside ns_fd
 * (SOCK_CLOEXEC|SOCK_NONBLOCK; SO_REUSEADDR; listening when SOCK_STREAM). */
int netns_bound_socket(int ns_fd, int type, const char *addr, int port, int *fd, berr *e);

#endif
