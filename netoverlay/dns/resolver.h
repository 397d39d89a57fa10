/* The embedded DNS server of one container (127.0.0.11:53 inside its
 * network namespace), served from the daemon's loop.
 *
 * Names the daemon knows (containers, aliases, IDs on the networks the
 * container shares with them) are answered through the lookup callbacks;
 * everything else is forwarded to the container's upstream servers
 * (its --dns, or the host's resolv.conf) from the daemon's own namespace,
 * unless forwarding is off (containers only on --internal networks). */
#ifndef BERTH_NETOVERLAY_RESOLVER_H
#define BERTH_NETOVERLAY_RESOLVER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "lib/err.h"

typedef struct dns_lookup_ops {
    /* IPv4 addresses of name as seen by the container (up to max); the
     * count, 0 if the name is not one the daemon knows. */
    size_t (*lookup_a)(void *ctx, const char *name, struct in_addr *out, size_t max);
    /* The name for addr if the daemon knows it (written to name, cap
     * bytes, without a trailing dot); false otherwise. */
    bool (*lookup_ptr)(void *ctx, struct in_addr addr, char *name, size_t cap);
    /* IPv6 addresses of name as seen by the container (up to max); 0 if
     * it has none or the name is unknown.  NULL: no IPv6 (this and
     * lookup_ptr6 come last so initialisers of the two above mean that). */
    size_t (*lookup_aaaa)(void *ctx, const char *name, struct in6_addr *out, size_t max);
    /* The name for an IPv6 address, as lookup_ptr. NULL: none. */
    bool (*lookup_ptr6)(void *ctx, const struct in6_addr *addr, char *name, size_t cap);
} dns_lookup_ops;

typedef struct dns_resolver dns_resolver;

/* Serves queries arriving on udp_fd and connections on tcp_fd (a listening
 * socket, or -1), both already bound inside the container's namespace;
 * the resolver owns them from now on (also on failure).  ops/ctx must
 * outlive the resolver. */
int dns_resolver_start(uv_loop_t *loop, int udp_fd, int tcp_fd, const dns_lookup_ops *ops, void *ctx,
                       dns_resolver **out, berr *e);

/* Upstream servers, "a.b.c.d" or "a.b.c.d:port" (at most 3 used), tried in
 * order with a timeout each; forward false answers unknown names with
 * REFUSED and sends nothing out. */
void dns_resolver_set_upstreams(dns_resolver *r, const char *const *servers, size_t n, bool forward);

/* How long each upstream gets to answer before the next is tried
 * (default 2000 ms); tests shorten it. */
void dns_resolver_set_timeout(dns_resolver *r, unsigned ms);

/* Stops serving, abandons forwards in flight, closes its sockets; the
 * memory goes once libuv has closed every handle (the caller does not wait). */
void dns_resolver_stop(dns_resolver *r);

#endif
