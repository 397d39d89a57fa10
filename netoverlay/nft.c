/* The berth nftables tables, "table ip berth" and "table ip6 berth",
 * generated whole from the model and replaced in one libnftables batch.
 * "add table" before "delete table" makes the delete succeed whether or
 * not the table was there, and the kernel applies the batch as one
 * transaction: the old rules hold until the new ones are in, in both
 * families at once.
 *
 * Both tables come from one model and mostly from the same generators:
 * a port goes in the table of its container address's family, the
 * isolation of bridges (by interface name) is the same text in both, and
 * what only IPv4 has (service load balancers, the loopback masquerade)
 * is left out of ip6.
 *
 * The script is text, so every name and address from the model is checked
 * before it goes in (nft_apply): a bridge name with a quote in it must not
 * become a rule of its own. */
#include "netoverlay/nft.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A port's family is its container address's: only the ip6 table can
 * DNAT to an IPv6 address. */
static bool port_v6(const nft_port *p)
{
    return p->container_ip && strchr(p->container_ip, ':');
}

/* Every local address of the port's family: no daddr match.  An IPv6
 * "::" may be spelled "0::0" too; each spelling means the same. */
static bool any_addr(const char *ip, bool v6)
{
    struct in6_addr a;
    if (v6)
        return ip && inet_pton(AF_INET6, ip, &a) == 1 && IN6_IS_ADDR_UNSPECIFIED(&a);
    return !ip || !*ip || strcmp(ip, "0.0.0.0") == 0;
}

static void publish_chain(const nft_model *m, bool v6, buf *out)
{
    buf_puts(out, "\tchain publish {\n");
    for (size_t i = 0; i < m->n_ports; i++) {
        const nft_port *p = &m->ports[i];
        if (port_v6(p) != v6)
            continue;
        buf_puts(out, "\t\t");
        if (!any_addr(p->host_ip, v6))
            buf_printf(out, "%s daddr %s ", v6 ? "ip6" : "ip", p->host_ip);
        /* An IPv6 address takes brackets before its ":port". */
        buf_printf(out, v6 ? "%s dport %u dnat to [%s]:%u\n" : "%s dport %u dnat to %s:%u\n", p->proto,
                   p->host_port, p->container_ip, p->container_port);
    }
    /* Services' backends are IPv4 addresses (tasks have no IPv6 yet). */
    for (size_t i = 0; !v6 && i < m->n_lbs; i++) {
        const nft_lb *l = &m->lbs[i];
        if (!l->n_backends)
            continue;
        buf_printf(out, "\t\t%s dport %u dnat to numgen inc mod %zu map { ", l->proto, l->host_port, l->n_backends);
        for (size_t k = 0; k < l->n_backends; k++)
            buf_printf(out, "%s%zu : %s", k ? ", " : "", k, l->backends[k]);
        buf_printf(out, " } : %u\n", l->target_port);
    }
    buf_puts(out, "\t}\n");
}

static bool has_subnet6(const nft_net *n)
{
    return n->subnet6 && *n->subnet6;
}

static void postrouting_chain(const nft_model *m, bool v6, buf *out)
{
    buf_puts(out, "\tchain postrouting {\n"
                  "\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
    /* First: the mesh's source address wins over every masquerade below,
     * for the host's own 127.0.0.1 too. */
    for (size_t i = 0; !v6 && i < m->n_lbs; i++)
        if (m->lbs[i].mesh_bridge)
            buf_printf(out, "\t\tct status dnat oifname \"%s\" %s dport %u snat to %s\n", m->lbs[i].mesh_bridge,
                       m->lbs[i].proto, m->lbs[i].target_port, m->lbs[i].mesh_addr);
    for (size_t i = 0; i < m->n_nets; i++) {
        const nft_net *n = &m->nets[i];
        if (!n->masquerade || n->internal || (v6 && !has_subnet6(n)))
            continue;
        buf_printf(out, "\t\t%s saddr %s oifname != \"%s\" masquerade\n", v6 ? "ip6" : "ip",
                   v6 ? n->subnet6 : n->subnet, n->bridge);
    }
    /* The host reaching a published port at 127.0.0.1: after DNAT the
     * packet leaves on the bridge with a loopback source the container
     * could not answer.  IPv6 has no such rule: the kernel never routes
     * a packet from ::1 out of a bridge (there is no route_localnet for
     * IPv6), so a port reached at [::1] is not NATed to a container. */
    for (size_t i = 0; !v6 && i < m->n_nets; i++)
        buf_printf(out, "\t\toifname \"%s\" ip saddr 127.0.0.0/8 masquerade\n", m->nets[i].bridge);
    /* Hairpin: a container reaching its own published port comes back to
     * itself, and would answer itself directly without this. */
    for (size_t i = 0; i < m->n_ports; i++) {
        const nft_port *p = &m->ports[i];
        const char *f = v6 ? "ip6" : "ip";
        if (port_v6(p) == v6)
            buf_printf(out, "\t\t%s saddr %s %s daddr %s %s dport %u masquerade\n", f, p->container_ip, f,
                       p->container_ip, p->proto, p->container_port);
    }
    /* A task reaching its service's port may land on any task, itself or
     * a sibling on the same bridge: masquerade so the answer comes back
     * through the NAT. */
    for (size_t i = 0; !v6 && i < m->n_lbs; i++)
        for (size_t k = 0; !m->lbs[i].mesh_bridge && k < m->lbs[i].n_backends; k++)
            buf_printf(out, "\t\tct status dnat ip daddr %s %s dport %u ip saddr != 127.0.0.0/8 masquerade\n",
                       m->lbs[i].backends[k], m->lbs[i].proto, m->lbs[i].target_port);
    buf_puts(out, "\t}\n");
}

/* The same text in both tables: it matches interfaces, not addresses.
 * Every network is in it, in ip6 too even without an IPv6 subnet: a
 * bridge's containers still have link-local IPv6 addresses, and an
 * internal network or one without icc must not leak that way either. */
static void forward_chain(const nft_model *m, buf *out)
{
    buf_puts(out, "\tchain forward {\n"
                  "\t\ttype filter hook forward priority filter; policy accept;\n"
                  "\t\tct state established,related accept\n"
                  "\t\tct status dnat accept\n");
    for (size_t i = 0; i < m->n_nets; i++) {
        const nft_net *n = &m->nets[i];
        if (n->internal)
            buf_printf(out,
                       "\t\tiifname \"%s\" oifname != \"%s\" drop\n"
                       "\t\toifname \"%s\" iifname != \"%s\" drop\n",
                       n->bridge, n->bridge, n->bridge, n->bridge);
    }
    for (size_t i = 0; i < m->n_nets; i++) {
        const nft_net *n = &m->nets[i];
        buf_printf(out, "\t\tiifname \"%s\" oifname \"%s\" %s\n", n->bridge, n->bridge,
                   n->icc ? "accept" : "drop");
    }
    /* Networks do not reach each other.  An anonymous set rejects a
     * duplicate element, hence the dedup. */
    buf set = BUF_INIT;
    size_t distinct = 0;
    for (size_t i = 0; i < m->n_nets; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(m->nets[i].bridge, m->nets[j].bridge) == 0;
        if (seen)
            continue;
        buf_printf(&set, "%s\"%s\"", distinct ? ", " : "", m->nets[i].bridge);
        distinct++;
    }
    if (distinct >= 2)
        buf_printf(out, "\t\tiifname { %s } oifname { %s } drop\n", set.data, set.data);
    buf_free(&set);
    buf_puts(out, "\t}\n");
}

/* One table's body: "table ip berth { ... }" or "table ip6 berth { ... }". */
static void table_body(const nft_model *m, bool v6, buf *out)
{
    buf_printf(out, "table %s " NFT_TABLE " {\n", v6 ? "ip6" : "ip");
    /* publish first so the jumps below name a chain already declared. */
    publish_chain(m, v6, out);
    buf_puts(out, "\tchain prerouting {\n"
                  "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
                  "\t\tfib daddr type local jump publish\n"
                  "\t}\n"
                  "\tchain output {\n"
                  "\t\ttype nat hook output priority -100; policy accept;\n"
                  "\t\tfib daddr type local jump publish\n"
                  "\t}\n");
    postrouting_chain(m, v6, out);
    forward_chain(m, out);
    buf_puts(out, "}\n");
}

/* Both tables are deleted first, the ip6 one even when !ip6: turning
 * --ip6tables off takes away the rules a previous run left. */
#define DELETE_TABLES                                                                                             \
    "add table ip " NFT_TABLE "\n"                                                                                \
    "delete table ip " NFT_TABLE "\n"                                                                             \
    "add table ip6 " NFT_TABLE "\n"                                                                               \
    "delete table ip6 " NFT_TABLE "\n"

void nft_ruleset(const nft_model *model, buf *out)
{
    static const nft_model empty = {0};
    const nft_model *m = model ? model : &empty;
    buf_puts(out, DELETE_TABLES);
    table_body(m, false, out);
    if (m->ip6)
        table_body(m, true, out);
}

/* One libnftables context for the daemon's life, opened at start.
 * libnftables waits for the kernel's answers with select(), which glibc
 * aborts on a descriptor past FD_SETSIZE: a context made per run got the
 * lowest free descriptor, past 1023 once ~500 containers held theirs, and
 * the daemon died on its next network change ("bit out of range 0 -
 * FD_SETSIZE on fd_set", seen creating a network with 1000 containers).
 * Opened early, its netlink socket keeps a low number.
 *
 * A context's socket speaks to the network namespace it was made in, so
 * rules inside a container's namespace (nft_run_here) need a context made
 * there, for that one run.  A descriptor taken at nft_open, while numbers
 * are low, is given up just before such a context is made and taken again
 * once it is freed, so its socket gets that low number too (the daemon's
 * loop is one thread). */
static struct nft_ctx *shared_ctx;
static int reserved_fd = -1;

static int new_ctx(struct nft_ctx **out, berr *e)
{
    struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!ctx)
        return berr_set(e, -ENOMEM, "nft_ctx_new");
    /* Buffered so nft prints nothing on the daemon's stderr, and its error
     * text can go into e. */
    if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0) {
        nft_ctx_free(ctx);
        return berr_set(e, -ENOMEM, "nft: cannot buffer output");
    }
    *out = ctx;
    return 0;
}

int nft_open(berr *e)
{
    if (shared_ctx)
        return 0;
    int r = new_ctx(&shared_ctx, e);
    if (r == 0 && reserved_fd < 0)
        reserved_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return r;
}

static int run_with(struct nft_ctx *ctx, const char *script, berr *e)
{
    int r = 0;
    if (nft_run_cmd_from_buffer(ctx, script) != 0) {
        const char *err = nft_ctx_get_error_buffer(ctx);
        size_t n = err ? strlen(err) : 0;
        while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
            n--;
        r = berr_set(e, -EIO, "nft: %.*s", (int)n, n ? err : "failed");
    }
    /* Reading a buffer empties it, for the next run. */
    nft_ctx_get_error_buffer(ctx);
    nft_ctx_get_output_buffer(ctx);
    return r;
}

int nft_run(const char *script, berr *e)
{
    int r = nft_open(e);
    return r < 0 ? r : run_with(shared_ctx, script, e);
}

int nft_run_here(const char *script, berr *e)
{
    int r = nft_open(e);
    if (r < 0)
        return r;
    if (reserved_fd >= 0)
        close(reserved_fd);
    struct nft_ctx *ctx = NULL;
    r = new_ctx(&ctx, e);
    if (r == 0) {
        r = run_with(ctx, script, e);
        nft_ctx_free(ctx);
    }
    reserved_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return r;
}

/* Checks of what goes into the script: see the comment at the top. */
static bool ifname_ok(const char *s)
{
    if (!s || !*s || strlen(s) >= IF_NAMESIZE)
        return false;
    for (const char *p = s; *p; p++)
        if (*p <= ' ' || *p > '~' || *p == '"' || *p == '\\' || *p == '/')
            return false;
    return true;
}

static bool ip4_ok(const char *s)
{
    struct in_addr a;
    return s && inet_pton(AF_INET, s, &a) == 1;
}

static bool ip6_ok(const char *s)
{
    struct in6_addr a;
    return s && inet_pton(AF_INET6, s, &a) == 1;
}

/* "ADDR/LEN" with ADDR of family af and LEN up to its bits. */
static bool cidr_ok(const char *s, int af)
{
    const char *slash = s ? strchr(s, '/') : NULL;
    if (!slash || slash - s >= INET6_ADDRSTRLEN)
        return false;
    char ip[INET6_ADDRSTRLEN];
    memcpy(ip, s, (size_t)(slash - s));
    ip[slash - s] = 0;
    char *end;
    long len = strtol(slash + 1, &end, 10);
    bool addr = af == AF_INET6 ? ip6_ok(ip) : ip4_ok(ip);
    return addr && slash[1] >= '0' && slash[1] <= '9' && !*end && len >= 0 && len <= (af == AF_INET6 ? 128 : 32);
}

static bool subnet_ok(const char *s)
{
    return cidr_ok(s, AF_INET);
}

static bool subnet6_ok(const char *s)
{
    return cidr_ok(s, AF_INET6);
}

/* A port's host address is of its container address's family: the DNAT
 * rule is in that family's table, which never sees the other's packets. */
static int port_addrs_check(const nft_port *p, berr *e)
{
    const char *h = p->host_ip ? p->host_ip : "";
    if (port_v6(p)) {
        if (!ip6_ok(p->container_ip))
            return berr_set(e, -EINVAL, "nft: invalid container address \"%s\"", p->container_ip);
        if (!*h)   /* "" is IPv4's "every address", never IPv6's */
            return berr_set(e, -EINVAL, "nft: no host address for IPv6 container address %s (\"::\": every address)",
                            p->container_ip);
        if (ip4_ok(h))
            return berr_set(e, -EINVAL, "nft: host address %s is IPv4 but container address %s is IPv6", h,
                            p->container_ip);
        if (!ip6_ok(h))
            return berr_set(e, -EINVAL, "nft: invalid host address \"%s\"", h);
        return 0;
    }
    if (!ip4_ok(p->container_ip))
        return berr_set(e, -EINVAL, "nft: invalid container address \"%s\"", p->container_ip ? p->container_ip : "");
    if (ip6_ok(h))
        return berr_set(e, -EINVAL, "nft: host address %s is IPv6 but container address %s is IPv4", h,
                        p->container_ip);
    if (!any_addr(h, false) && !ip4_ok(h))
        return berr_set(e, -EINVAL, "nft: invalid host address \"%s\"", h);
    return 0;
}

int nft_model_check(const nft_model *model, berr *e)
{
    static const nft_model empty = {0};
    const nft_model *m = model ? model : &empty;
    for (size_t i = 0; i < m->n_nets; i++) {
        const nft_net *n = &m->nets[i];
        if (!ifname_ok(n->bridge))
            return berr_set(e, -EINVAL, "nft: invalid bridge name \"%s\"", n->bridge ? n->bridge : "");
        if (!subnet_ok(n->subnet))
            return berr_set(e, -EINVAL, "nft: invalid subnet \"%s\" for %s", n->subnet ? n->subnet : "",
                            n->bridge);
        if (has_subnet6(n) && !subnet6_ok(n->subnet6))
            return berr_set(e, -EINVAL, "nft: invalid IPv6 subnet \"%s\" for %s", n->subnet6, n->bridge);
    }
    for (size_t i = 0; i < m->n_ports; i++) {
        const nft_port *p = &m->ports[i];
        if (!p->proto || (strcmp(p->proto, "tcp") && strcmp(p->proto, "udp") && strcmp(p->proto, "sctp")))
            return berr_set(e, -EINVAL, "nft: invalid protocol \"%s\"", p->proto ? p->proto : "");
        int r = port_addrs_check(p, e);
        if (r < 0)
            return r;
        if (p->host_port == 0 || p->container_port == 0)
            return berr_set(e, -EINVAL, "nft: port 0 in %s:%u -> %s:%u", p->proto, p->host_port,
                            p->container_ip, p->container_port);
    }
    for (size_t i = 0; i < m->n_lbs; i++) {
        const nft_lb *l = &m->lbs[i];
        if (!l->proto || (strcmp(l->proto, "tcp") && strcmp(l->proto, "udp") && strcmp(l->proto, "sctp")))
            return berr_set(e, -EINVAL, "nft: invalid protocol \"%s\"", l->proto ? l->proto : "");
        if (l->host_port == 0 || l->target_port == 0)
            return berr_set(e, -EINVAL, "nft: port 0 in a service's published port");
        if (l->mesh_bridge && (!ifname_ok(l->mesh_bridge) || !ip4_ok(l->mesh_addr)))
            return berr_set(e, -EINVAL, "nft: invalid routing mesh bridge or address");
        for (size_t k = 0; k < l->n_backends; k++)
            if (!ip4_ok(l->backends[k]))
                return berr_set(e, -EINVAL, "nft: invalid backend address \"%s\"", l->backends[k] ? l->backends[k] : "");
    }
    return 0;
}

int nft_apply(const nft_model *model, berr *e)
{
    static const nft_model empty = {0};
    const nft_model *m = model ? model : &empty;
    int r = nft_model_check(m, e);
    if (r < 0)
        return r;
    buf script = BUF_INIT;
    nft_ruleset(m, &script);
    r = nft_run(script.data, e);
    buf_free(&script);
    return r;
}

int nft_remove(berr *e)
{
    return nft_run(DELETE_TABLES, e);
}
