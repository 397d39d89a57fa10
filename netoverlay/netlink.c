/* rtnetlink through libnl-route-3.  Each call asks the kernel about the one
 * link it needs (rtnl_link_get_kernel) instead of dumping whole tables:
 * the daemon makes these calls for every container start and stop.
 *
 * libnl reduces the kernel's errno to its own codes and drops the
 * kernel's extended-ack text; both say more than "Unspecific failure", so
 * the handle installs its own error callback to keep them. */
#include "netoverlay/netlink.h"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/link/vxlan.h>
#include <netlink/route/neighbour.h>
#include <linux/neighbour.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

#include "lib/buf.h"
#include "netoverlay/netns.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

struct netlink {
    struct nl_sock *sk;
    int kerr;           /* errno of the last kernel error reply, 0 if none */
    char ext[200];      /* its extended-ack message, "" if none */
};

static void link_putp(struct rtnl_link **l) { if (*l) rtnl_link_put(*l); }
static void addr_putp(struct nl_addr **a) { if (*a) nl_addr_put(*a); }
static void cache_freep(struct nl_cache **c) { if (*c) nl_cache_free(*c); }
#define auto_link __attribute__((cleanup(link_putp)))
#define auto_nladdr __attribute__((cleanup(addr_putp)))
#define auto_cache __attribute__((cleanup(cache_freep)))

/* With NETLINK_CAP_ACK the error reply is the header, the nlmsgerr with
 * only the request's header, then (NLM_F_ACK_TLVS) attributes. */
static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *err, void *arg)
{
    (void)nla;
    netlink *h = arg;
    h->kerr = -err->error;
    h->ext[0] = 0;
    const struct nlmsghdr *hdr = (const struct nlmsghdr *)((const char *)err - NLMSG_HDRLEN);
    if (!(hdr->nlmsg_flags & NLM_F_ACK_TLVS) || !(hdr->nlmsg_flags & NLM_F_CAPPED))
        return NL_STOP;
    const char *p = (const char *)err + sizeof *err;
    const char *end = (const char *)hdr + hdr->nlmsg_len;
    while (p + sizeof(struct nlattr) <= end) {
        const struct nlattr *a = (const struct nlattr *)p;
        if (a->nla_len < sizeof *a || p + a->nla_len > end)
            break;
        if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
            size_t n = a->nla_len - sizeof *a;
            const char *s = p + sizeof *a;
            n = strnlen(s, n);
            if (n >= sizeof h->ext)
                n = sizeof h->ext - 1;
            memcpy(h->ext, s, n);
            h->ext[n] = 0;
            break;
        }
        p += NLA_ALIGN(a->nla_len);
    }
    return NL_STOP;
}

static void reset_err(netlink *h)
{
    h->kerr = 0;
    h->ext[0] = 0;
}

static int nle_to_errno(int nle)
{
    switch (nle < 0 ? -nle : nle) {
    case NLE_EXIST: return EEXIST;
    case NLE_OBJ_NOTFOUND: return ENOENT;
    case NLE_NODEV: return ENODEV;
    case NLE_NOADDR: return EADDRNOTAVAIL;
    case NLE_INVAL: return EINVAL;
    case NLE_RANGE: return ERANGE;
    case NLE_NOMEM: return ENOMEM;
    case NLE_AGAIN: return EAGAIN;
    case NLE_INTR: return EINTR;
    case NLE_BUSY: return EBUSY;
    case NLE_PERM: return EPERM;
    case NLE_NOACCESS: return EACCES;
    case NLE_OPNOTSUPP: return EOPNOTSUPP;
    case NLE_AF_NOSUPPORT: return EAFNOSUPPORT;
    case NLE_MSGSIZE: return EMSGSIZE;
    default: return EIO;
    }
}

/* The errno of a failed libnl call: the kernel's own when it answered. */
static int fail_code(netlink *h, int nle)
{
    return -(h->kerr ? h->kerr : nle_to_errno(nle));
}

static int fail(netlink *h, int nle, berr *e, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(netlink *h, int nle, berr *e, const char *fmt, ...)
{
    int code = fail_code(h, nle);
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (h->ext[0])
        return berr_set(e, code, "%s: %s (%s)", what, strerror(-code), h->ext);
    if (h->kerr)
        return berr_sys(e, code, "%s", what);
    return berr_set(e, code, "%s: %s", what, nl_geterror(nle));
}

static bool missing(netlink *h, int nle)
{
    int c = fail_code(h, nle);
    return c == -ENODEV || c == -ENOENT;
}

static int check_name(const char *name, berr *e)
{
    if (!name || !*name || strlen(name) >= IFNAMSIZ)
        return berr_set(e, -EINVAL, "invalid interface name \"%s\"", name ? name : "");
    return 0;
}

int netlink_open(int ns_fd, netlink **out, berr *e)
{
    netlink *h = xcalloc(1, sizeof *h);
    h->sk = nl_socket_alloc();
    if (!h->sk) {
        free(h);
        return berr_set(e, -ENOMEM, "nl_socket_alloc");
    }
    int saved;
    int r = netns_enter(ns_fd, &saved, e);
    if (r < 0)
        goto fail;
    /* The socket belongs to the namespace it was made in, for its life. */
    int nr = nl_connect(h->sk, NETLINK_ROUTE);
    netns_leave(saved);
    if (nr < 0) {
        r = berr_set(e, -nle_to_errno(nr), "netlink connect: %s", nl_geterror(nr));
        goto fail;
    }
    int one = 1, fd = nl_socket_get_fd(h->sk);
    /* Best effort: older kernels simply give no text. */
    (void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    (void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    nl_socket_modify_err_cb(h->sk, NL_CB_CUSTOM, on_error, h);
    *out = h;
    return 0;
fail:
    nl_socket_free(h->sk);
    free(h);
    return r;
}

void netlink_close(netlink *h)
{
    if (!h)
        return;
    nl_socket_free(h->sk);
    free(h);
}

/* The kernel's view of one link; -ENOENT (with a message) if absent. */
static int get_link(netlink *h, const char *name, struct rtnl_link **out, berr *e)
{
    int r = check_name(name, e);
    if (r < 0)
        return r;
    reset_err(h);
    r = rtnl_link_get_kernel(h->sk, 0, name, out);
    if (r < 0) {
        if (missing(h, r))
            return berr_set(e, -ENOENT, "no network interface %s", name);
        return fail(h, r, e, "look up interface %s", name);
    }
    return 0;
}

bool netlink_link_exists(netlink *h, const char *name)
{
    auto_link struct rtnl_link *l = NULL;
    return get_link(h, name, &l, NULL) == 0;
}

int netlink_link_index(netlink *h, const char *name, berr *e)
{
    auto_link struct rtnl_link *l = NULL;
    int r = get_link(h, name, &l, e);
    return r < 0 ? r : rtnl_link_get_ifindex(l);
}

/* Applies changes (flags, mtu, name, master...) to the link orig. */
static int change_link(netlink *h, struct rtnl_link *orig, struct rtnl_link *changes, berr *e)
{
    reset_err(h);
    int r = rtnl_link_change(h->sk, orig, changes, 0);
    if (r < 0)
        return fail(h, r, e, "change interface %s", rtnl_link_get_name(orig));
    return 0;
}

int netlink_bridge_ensure(netlink *h, const char *name, int mtu, berr *e)
{
    int r = check_name(name, e);
    if (r < 0)
        return r;
    if (mtu < 0)
        return berr_set(e, -EINVAL, "invalid mtu %d", mtu);
    auto_link struct rtnl_link *cur = NULL;
    berr le;
    r = get_link(h, name, &cur, &le);
    if (r < 0 && r != -ENOENT)
        return berr_set(e, r, "%s", le.msg);
    if (r == -ENOENT) {
        auto_link struct rtnl_link *br = rtnl_link_bridge_alloc();
        if (!br)
            return berr_set(e, -ENOMEM, "rtnl_link_bridge_alloc");
        rtnl_link_set_name(br, name);
        if (mtu > 0)
            rtnl_link_set_mtu(br, (unsigned)mtu);
        rtnl_link_set_flags(br, IFF_UP);
        reset_err(h);
        r = rtnl_link_add(h->sk, br, NLM_F_CREATE | NLM_F_EXCL);
        if (r >= 0)
            return 0;
        if (fail_code(h, r) != -EEXIST)
            return fail(h, r, e, "create bridge %s", name);
        /* Made meanwhile by someone else: check its shape below. */
        r = get_link(h, name, &cur, e);
    }
    if (r < 0)
        return r;
    const char *kind = rtnl_link_get_type(cur);
    if (!kind || strcmp(kind, "bridge") != 0)
        return berr_set(e, -EEXIST, "interface %s exists and is not a bridge", name);
    bool want_mtu = mtu > 0 && rtnl_link_get_mtu(cur) != (unsigned)mtu;
    if (!want_mtu && (rtnl_link_get_flags(cur) & IFF_UP))
        return 0;
    auto_link struct rtnl_link *ch = rtnl_link_alloc();
    if (!ch)
        return berr_set(e, -ENOMEM, "rtnl_link_alloc");
    if (want_mtu)
        rtnl_link_set_mtu(ch, (unsigned)mtu);
    rtnl_link_set_flags(ch, IFF_UP);
    return change_link(h, cur, ch, e);
}

int netlink_link_delete(netlink *h, const char *name, berr *e)
{
    int r = check_name(name, e);
    if (r < 0)
        return r;
    auto_link struct rtnl_link *l = rtnl_link_alloc();
    if (!l)
        return berr_set(e, -ENOMEM, "rtnl_link_alloc");
    rtnl_link_set_name(l, name);
    reset_err(h);
    r = rtnl_link_delete(h->sk, l);
    if (r < 0 && !missing(h, r))
        return fail(h, r, e, "delete interface %s", name);
    return 0;
}

int netlink_link_up(netlink *h, const char *name, berr *e)
{
    auto_link struct rtnl_link *cur = NULL;
    int r = get_link(h, name, &cur, e);
    if (r < 0)
        return r;
    if (rtnl_link_get_flags(cur) & IFF_UP)
        return 0;
    auto_link struct rtnl_link *ch = rtnl_link_alloc();
    if (!ch)
        return berr_set(e, -ENOMEM, "rtnl_link_alloc");
    rtnl_link_set_flags(ch, IFF_UP);
    return change_link(h, cur, ch, e);
}

int netlink_veth_create(netlink *h, const char *host_name, const char *bridge, const char *peer_name,
                        const uint8_t *mac, int mtu, int peer_ns_fd, berr *e)
{
    int r;
    if ((r = check_name(host_name, e)) < 0 || (r = check_name(peer_name, e)) < 0)
        return r;
    if (mtu < 0)
        return berr_set(e, -EINVAL, "invalid mtu %d", mtu);
    int br = netlink_link_index(h, bridge, e);
    if (br < 0)
        return br == -ENOENT ? berr_set(e, -ENOENT, "bridge %s not found", bridge) : br;

    auto_link struct rtnl_link *veth = rtnl_link_veth_alloc();
    if (!veth)
        return berr_set(e, -ENOMEM, "rtnl_link_veth_alloc");
    /* Owned by veth: freed with it. */
    struct rtnl_link *peer = rtnl_link_veth_get_peer(veth);
    rtnl_link_put(peer);

    rtnl_link_set_name(veth, host_name);
    rtnl_link_set_name(peer, peer_name);
    if (mtu > 0) {
        rtnl_link_set_mtu(veth, (unsigned)mtu);
        rtnl_link_set_mtu(peer, (unsigned)mtu);
    }
    if (mac) {
        auto_nladdr struct nl_addr *a = nl_addr_build(AF_LLC, mac, 6);
        if (!a)
            return berr_set(e, -ENOMEM, "nl_addr_build");
        rtnl_link_set_addr(peer, a);
    }
    if (peer_ns_fd >= 0)
        rtnl_link_set_ns_fd(peer, peer_ns_fd);
    /* One request makes both ends, puts the peer in its namespace,
     * enslaves the host end and brings it up.  The kernel undoes the
     * whole creation when any part fails (a master that refuses the
     * port, a peer name taken in the target namespace), so there is
     * nothing of ours to clean up after an error. */
    rtnl_link_set_master(veth, br);
    rtnl_link_set_flags(veth, IFF_UP);
    reset_err(h);
    r = rtnl_link_add(h->sk, veth, NLM_F_CREATE | NLM_F_EXCL);
    if (r < 0)
        return fail(h, r, e, "create veth %s (peer %s) on %s", host_name, peer_name, bridge);
    return 0;
}

int netlink_link_set_mac(netlink *h, const char *name, const uint8_t mac[6], berr *e)
{
    auto_link struct rtnl_link *cur = NULL;
    int r = get_link(h, name, &cur, e);
    if (r < 0)
        return r;
    auto_link struct rtnl_link *ch = rtnl_link_alloc();
    auto_nladdr struct nl_addr *a = nl_addr_build(AF_LLC, mac, 6);
    if (!ch || !a)
        return berr_set(e, -ENOMEM, "rtnl_link_alloc");
    rtnl_link_set_addr(ch, a);
    return change_link(h, cur, ch, e);
}

int netlink_link_rename(netlink *h, const char *name, const char *new_name, berr *e)
{
    int r = check_name(new_name, e);
    if (r < 0)
        return r;
    auto_link struct rtnl_link *cur = NULL;
    r = get_link(h, name, &cur, e);
    if (r == -ENOENT && netlink_link_exists(h, new_name))
        return 0;   /* renamed already */
    if (r < 0)
        return r;
    auto_link struct rtnl_link *ch = rtnl_link_alloc();
    if (!ch)
        return berr_set(e, -ENOMEM, "rtnl_link_alloc");
    rtnl_link_set_name(ch, new_name);
    return change_link(h, cur, ch, e);
}

/* An rtnl_addr for cidr (IPv4 or IPv6) on the link ifindex. */
static int make_addr(int ifindex, const char *cidr, struct rtnl_addr **out, berr *e)
{
    auto_nladdr struct nl_addr *local = NULL;
    int family = cidr && strchr(cidr, ':') ? AF_INET6 : AF_INET;
    if (!cidr || !strchr(cidr, '/') || nl_addr_parse(cidr, family, &local) < 0)
        return berr_set(e, -EINVAL, "invalid address \"%s\" (want address/len)", cidr ? cidr : "");
    struct rtnl_addr *a = rtnl_addr_alloc();
    if (!a)
        return berr_set(e, -ENOMEM, "rtnl_addr_alloc");
    rtnl_addr_set_ifindex(a, ifindex);
    /* Duplicate address detection would keep an IPv6 address tentative
     * (unusable) for a second or more after the container starts; the
     * daemon hands out every address on its bridges, so none can clash. */
    if (family == AF_INET6)
        rtnl_addr_set_flags(a, IFA_F_NODAD);
    int r = rtnl_addr_set_local(a, local);
    if (r < 0) {
        rtnl_addr_put(a);
        return berr_set(e, -EINVAL, "address %s: %s", cidr, nl_geterror(r));
    }
    *out = a;
    return 0;
}

int netlink_addr_add(netlink *h, const char *name, const char *cidr, berr *e)
{
    int idx = netlink_link_index(h, name, e);
    if (idx < 0)
        return idx;
    struct rtnl_addr *a = NULL;
    int r = make_addr(idx, cidr, &a, e);
    if (r < 0)
        return r;
    reset_err(h);
    r = rtnl_addr_add(h->sk, a, NLM_F_CREATE | NLM_F_EXCL);
    rtnl_addr_put(a);
    if (r < 0 && fail_code(h, r) != -EEXIST)
        return fail(h, r, e, "add address %s to %s", cidr, name);
    return 0;
}

int netlink_addr_del(netlink *h, const char *name, const char *cidr, berr *e)
{
    berr le;
    int idx = netlink_link_index(h, name, &le);
    if (idx == -ENOENT)
        return 0;   /* gone with its link */
    if (idx < 0)
        return berr_set(e, idx, "%s", le.msg);
    struct rtnl_addr *a = NULL;
    int r = make_addr(idx, cidr, &a, e);
    if (r < 0)
        return r;
    reset_err(h);
    r = rtnl_addr_delete(h->sk, a, 0);
    rtnl_addr_put(a);
    if (r < 0) {
        int c = fail_code(h, r);
        if (c == -EADDRNOTAVAIL || c == -ENOENT || c == -ENODEV)
            return 0;
        return fail(h, r, e, "delete address %s from %s", cidr, name);
    }
    return 0;
}

int netlink_route_default(netlink *h, const char *name, const char *gateway, berr *e)
{
    int idx = netlink_link_index(h, name, e);
    if (idx < 0)
        return idx;
    auto_nladdr struct nl_addr *gw = NULL;
    auto_nladdr struct nl_addr *dst = NULL;
    int family = gateway && strchr(gateway, ':') ? AF_INET6 : AF_INET;
    if (!gateway || strchr(gateway, '/') || nl_addr_parse(gateway, family, &gw) < 0)
        return berr_set(e, -EINVAL, "invalid gateway \"%s\"", gateway ? gateway : "");
    if (nl_addr_parse(family == AF_INET6 ? "::/0" : "0.0.0.0/0", family, &dst) < 0)
        return berr_set(e, -ENOMEM, "nl_addr_parse");

    struct rtnl_route *rt = rtnl_route_alloc();
    struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
    if (!rt || !nh) {
        if (rt)
            rtnl_route_put(rt);
        if (nh)
            rtnl_route_nh_free(nh);
        return berr_set(e, -ENOMEM, "rtnl_route_alloc");
    }
    rtnl_route_set_family(rt, (uint8_t)family);
    rtnl_route_set_table(rt, RT_TABLE_MAIN);
    rtnl_route_set_protocol(rt, RTPROT_BOOT);
    rtnl_route_set_scope(rt, RT_SCOPE_UNIVERSE);
    rtnl_route_set_type(rt, RTN_UNICAST);
    int r = rtnl_route_set_dst(rt, dst);
    if (r < 0) {
        rtnl_route_nh_free(nh);
        rtnl_route_put(rt);
        return berr_set(e, -EINVAL, "route destination: %s", nl_geterror(r));
    }
    rtnl_route_nh_set_ifindex(nh, idx);
    rtnl_route_nh_set_gateway(nh, gw);
    rtnl_route_add_nexthop(rt, nh);     /* rt owns nh from here */
    reset_err(h);
    r = rtnl_route_add(h->sk, rt, NLM_F_CREATE | NLM_F_REPLACE);
    rtnl_route_put(rt);
    if (r < 0)
        return fail(h, r, e, "add default route via %s dev %s", gateway, name);
    return 0;
}

int netlink_vxlan_ensure(netlink *h, const char *name, uint32_t vni, const char *local, uint16_t port,
                         const char *bridge, int mtu, berr *e)
{
    int r = check_name(name, e);
    if (r < 0)
        return r;
    int br = netlink_link_index(h, bridge, e);
    if (br < 0)
        return br;
    auto_link struct rtnl_link *cur = NULL;
    if (get_link(h, name, &cur, NULL) == 0) {
        const char *kind = rtnl_link_get_type(cur);
        if (!kind || strcmp(kind, "vxlan"))
            return berr_set(e, -EEXIST, "interface %s exists and is not a VXLAN device", name);
        /* Made by an earlier run: its shape may be stale (another local
         * address), so it is made again. */
        if ((r = netlink_link_delete(h, name, e)) < 0)
            return r;
    }
    auto_nladdr struct nl_addr *la = NULL;
    if (!local || nl_addr_parse(local, AF_INET, &la) < 0)
        return berr_set(e, -EINVAL, "invalid VXLAN local address \"%s\"", local ? local : "");
    auto_link struct rtnl_link *vx = rtnl_link_vxlan_alloc();
    if (!vx)
        return berr_set(e, -ENOMEM, "rtnl_link_vxlan_alloc");
    rtnl_link_set_name(vx, name);
    rtnl_link_vxlan_set_id(vx, vni);
    rtnl_link_vxlan_set_local(vx, la);
    rtnl_link_vxlan_set_port(vx, port);
    /* No learning, no flooding: every remote endpoint is a static FDB
     * entry and its ARP answer comes from the neighbour table (proxy). */
    rtnl_link_vxlan_set_learning(vx, 0);
    rtnl_link_vxlan_set_proxy(vx, 1);
    if (mtu > 0)
        rtnl_link_set_mtu(vx, (unsigned)mtu);
    rtnl_link_set_master(vx, br);
    rtnl_link_set_flags(vx, IFF_UP);
    reset_err(h);
    r = rtnl_link_add(h->sk, vx, NLM_F_CREATE | NLM_F_EXCL);
    if (r < 0)
        return fail(h, r, e, "create VXLAN device %s (VNI %u, local %s, port %u)", name, vni, local, port);
    return 0;
}

/* A permanent neighbour entry on ifindex: with family AF_BRIDGE an FDB
 * entry of the device itself (mac -> the remote VTEP ip), with AF_INET
 * an ARP entry (ip -> mac). */
static int neigh_change(netlink *h, bool add, int family, const char *dev, const uint8_t mac[6], const char *ip,
                        berr *e)
{
    int idx = netlink_link_index(h, dev, e);
    if (idx < 0)
        return idx;
    struct rtnl_neigh *n = rtnl_neigh_alloc();
    if (!n)
        return berr_set(e, -ENOMEM, "rtnl_neigh_alloc");
    auto_nladdr struct nl_addr *ll = nl_addr_build(AF_LLC, mac, 6);
    auto_nladdr struct nl_addr *dst = NULL;
    if (!ll || nl_addr_parse(ip, AF_INET, &dst) < 0) {
        rtnl_neigh_put(n);
        return berr_set(e, -EINVAL, "invalid neighbour address \"%s\"", ip);
    }
    rtnl_neigh_set_ifindex(n, idx);
    rtnl_neigh_set_lladdr(n, ll);
    /* The destination first: libnl takes the family from it and refuses
     * an address of another family than one already set. */
    rtnl_neigh_set_dst(n, dst);
    rtnl_neigh_set_family(n, family);
    rtnl_neigh_set_state(n, NUD_PERMANENT);
    if (family == AF_BRIDGE)
        rtnl_neigh_set_flags(n, NTF_SELF);
    reset_err(h);
    int r = add ? rtnl_neigh_add(h->sk, n, NLM_F_CREATE | NLM_F_REPLACE) : rtnl_neigh_delete(h->sk, n, 0);
    rtnl_neigh_put(n);
    if (r < 0 && !(!add && missing(h, r)))
        return fail(h, r, e, "%s %s entry %s on %s", add ? "add" : "delete", family == AF_BRIDGE ? "FDB" : "ARP", ip,
                    dev);
    return 0;
}

int netlink_fdb_set(netlink *h, const char *dev, const uint8_t mac[6], const char *vtep, bool add, berr *e)
{
    return neigh_change(h, add, AF_BRIDGE, dev, mac, vtep, e);
}

int netlink_neigh_set(netlink *h, const char *dev, const char *ip, const uint8_t mac[6], bool add, berr *e)
{
    return neigh_change(h, add, AF_INET, dev, mac, ip, e);
}

int netlink_delete_prefixed(netlink *h, const char *prefix)
{
    auto_cache struct nl_cache *c = NULL;
    reset_err(h);
    if (!prefix || !*prefix || rtnl_link_alloc_cache(h->sk, AF_UNSPEC, &c) < 0)
        return 0;
    int n = 0;
    for (struct nl_object *o = nl_cache_get_first(c); o; o = nl_cache_get_next(o)) {
        const char *nm = rtnl_link_get_name((struct rtnl_link *)o);
        size_t pl = strlen(prefix);
        if (nm && !strncmp(nm, prefix, pl) && nm[pl] && strspn(nm + pl, "0123456789") == strlen(nm + pl) &&
            netlink_link_delete(h, nm, NULL) == 0)
            n++;
    }
    return n;
}

int netlink_count_links(netlink *h, const char *prefix)
{
    auto_cache struct nl_cache *c = NULL;
    reset_err(h);
    int r = rtnl_link_alloc_cache(h->sk, AF_UNSPEC, &c);
    if (r < 0)
        return fail_code(h, r);
    size_t plen = strlen(prefix ? prefix : "");
    int n = 0;
    for (struct nl_object *o = nl_cache_get_first(c); o; o = nl_cache_get_next(o)) {
        const char *nm = rtnl_link_get_name((struct rtnl_link *)o);
        if (nm && strncmp(nm, prefix ? prefix : "", plen) == 0)
            n++;
    }
    return n;
}

int netlink_count_addrs(netlink *h, const char *prefix)
{
    auto_cache struct nl_cache *links = NULL;
    auto_cache struct nl_cache *addrs = NULL;
    reset_err(h);
    int r = rtnl_link_alloc_cache(h->sk, AF_UNSPEC, &links);
    if (r >= 0)
        r = rtnl_addr_alloc_cache(h->sk, &addrs);
    if (r < 0)
        return fail_code(h, r);
    size_t plen = strlen(prefix ? prefix : "");
    int n = 0;
    for (struct nl_object *o = nl_cache_get_first(addrs); o; o = nl_cache_get_next(o)) {
        struct rtnl_addr *a = (struct rtnl_addr *)o;
        if (rtnl_addr_get_family(a) != AF_INET)
            continue;
        char nm[IFNAMSIZ];
        if (!rtnl_link_i2name(links, rtnl_addr_get_ifindex(a), nm, sizeof nm))
            continue;
        if (strncmp(nm, prefix ? prefix : "", plen) == 0)
            n++;
    }
    return n;
}
