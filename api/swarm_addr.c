/* The addresses `swarm init` takes, resolved as dockerd resolves them
 * (daemon/cluster/listen_addr.go): an IP address or an interface name, with
 * or without a port; the advertise address autodetected when not given.
 * The messages are dockerd's. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/swarm_api.h"
#include "lib/buf.h"
#include "lib/cleanup.h"
#include "node/swarm.h"

#define ERR_NO_SUCH_INTERFACE 1
#define ERR_BAD_IDENTIFIER 2

static const char err_bad_listen[] = "listen address must be an IP address or network interface (with optional port number)";
static const char err_bad_advertise[] =
    "advertise address must be a non-zero IP address or network interface (with optional port number)";
static const char err_bad_data_path[] =
    "data path address must be a non-zero IP address or network interface (without a port number)";

typedef struct ipaddr {
    int family;
    union {
        struct in_addr v4;
        struct in6_addr v6;
    } a;
} ipaddr;

static bool ip_parse(const char *s, ipaddr *ip)
{
    if (inet_pton(AF_INET, s, &ip->a.v4) == 1) {
        ip->family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, s, &ip->a.v6) == 1) {
        ip->family = AF_INET6;
        return true;
    }
    return false;
}

static void ip_format(const ipaddr *ip, char out[INET6_ADDRSTRLEN])
{
    inet_ntop(ip->family, &ip->a, out, INET6_ADDRSTRLEN);
}

static bool ip_unspecified(const ipaddr *ip)
{
    return ip->family == AF_INET ? ip->a.v4.s_addr == INADDR_ANY : IN6_IS_ADDR_UNSPECIFIED(&ip->a.v6);
}

static bool ip_from_sockaddr(const struct sockaddr *sa, ipaddr *ip)
{
    if (!sa)
        return false;
    if (sa->sa_family == AF_INET) {
        ip->family = AF_INET;
        ip->a.v4 = ((const struct sockaddr_in *)sa)->sin_addr;
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        ip->family = AF_INET6;
        ip->a.v6 = ((const struct sockaddr_in6 *)sa)->sin6_addr;
        return true;
    }
    return false;
}

static bool ip_equal(const ipaddr *a, const ipaddr *b)
{
    return a->family == b->family &&
           memcmp(&a->a, &b->a, a->family == AF_INET ? sizeof a->a.v4 : sizeof a->a.v6) == 0;
}

/* Go's IP.IsGlobalUnicast. */
static bool ip_global_unicast(const ipaddr *ip)
{
    if (ip->family == AF_INET) {
        uint32_t a = ntohl(ip->a.v4.s_addr);
        return a != 0 && a != 0xffffffff && (a >> 24) != 127 && (a >> 16) != 0xa9fe && (a >> 28) != 0xe;
    }
    const struct in6_addr *a = &ip->a.v6;
    return !IN6_IS_ADDR_UNSPECIFIED(a) && !IN6_IS_ADDR_LOOPBACK(a) && !IN6_IS_ADDR_LINKLOCAL(a) &&
           !IN6_IS_ADDR_MULTICAST(a);
}

/* dockerd's resolveInterfaceAddr. */
static int interface_addr(const char *name, ipaddr *out, berr *e)
{
    if (!*name || if_nametoindex(name) == 0)
        return ERR_NO_SUCH_INTERFACE;
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) < 0)
        return berr_sys(e, -errno, "getifaddrs");
    ipaddr v4 = {0}, v6 = {0};
    bool have4 = false, have6 = false;
    int r = 0;
    for (struct ifaddrs *i = ifs; i && r == 0; i = i->ifa_next) {
        ipaddr ip;
        if (strcmp(i->ifa_name, name) != 0 || !ip_from_sockaddr(i->ifa_addr, &ip))
            continue;
        char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
        ip_format(&ip, b);
        if (ip.family == AF_INET) {
            if (have4) {
                ip_format(&v4, a);
                r = berr_set(e, -EINVAL, "interface %s has more than one IPv4 address (%s and %s)", name, a, b);
            }
            v4 = ip;
            have4 = true;
        } else {
            if (have6) {
                ip_format(&v6, a);
                r = berr_set(e, -EINVAL, "interface %s has more than one IPv6 address (%s and %s)", name, a, b);
            }
            v6 = ip;
            have6 = true;
        }
    }
    freeifaddrs(ifs);
    if (r < 0)
        return r;
    if (!have4 && !have6)
        return berr_set(e, -EINVAL, "interface %s has no usable IPv4 or IPv6 address", name);
    *out = have4 ? v4 : v6;
    return 0;
}

/* dockerd's resolveInputIPAddr: an interface's address, else the IP. */
static int input_ip(const char *input, bool unspecified_ok, char **out, berr *e)
{
    ipaddr ip;
    int r = interface_addr(input, &ip, e);
    if (r < 0)
        return r;
    if (r == ERR_NO_SUCH_INTERFACE) {
        if (!ip_parse(input, &ip) || (!unspecified_ok && ip_unspecified(&ip)))
            return ERR_BAD_IDENTIFIER;
    }
    char s[INET6_ADDRSTRLEN];
    ip_format(&ip, s);
    *out = xstrdup(s);
    return 0;
}

/* Go's net.SplitHostPort. */
static int split_host_port(const char *s, char **host, char **port)
{
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return -1;
        *host = xstrndup(s + 1, (size_t)(close - s - 1));
        *port = xstrdup(close + 2);
        return 0;
    }
    const char *colon = strrchr(s, ':');
    if (!colon || strchr(s, ':') != colon)
        return -1; /* missing port, or too many colons */
    *host = xstrndup(s, (size_t)(colon - s));
    *port = xstrdup(colon + 1);
    return 0;
}

static bool valid_port(const char *p)
{
    if (!*p || strlen(p) > 5 || strspn(p, "0123456789") != strlen(p))
        return false;
    int n = atoi(p);
    return n > 0 && n < 65536;
}

/* dockerd's validateAddr (opts.ParseTCPAddr with 0.0.0.0:2377 for what is
 * missing); an address it cannot parse is kept as given. */
static char *normalize_addr(const char *addr)
{
    const char *a = addr;
    if (strncmp(a, "tcp://", 6) == 0)
        a += 6;
    else if (strstr(a, "://"))
        return xstrdup(addr);
    cleanup_free char *host = NULL, *port = NULL;
    if (split_host_port(a, &host, &port) < 0) {
        if (strchr(a, ':') || strchr(a, '/'))
            return xstrdup(addr);
        host = xstrdup(a);
        port = xstrdup("");
    }
    if (*port && !valid_port(port))
        return xstrdup(addr);
    return swarm_join_host_port(*host ? host : "0.0.0.0", *port ? port : "2377");
}

int api_swarm_listen_addr(const char *addr, char **host, char **port, berr *e)
{
    if (!addr || !*addr)
        return berr_set(e, -EINVAL, "invalid ListenAddr \"\": invalid empty address");
    cleanup_free char *norm = normalize_addr(addr);
    cleanup_free char *h = NULL, *p = NULL;
    if (split_host_port(norm, &h, &p) < 0)
        return berr_set(e, -EINVAL, "could not parse listen address %s", norm);
    int r = input_ip(h, true, host, e);
    if (r == ERR_BAD_IDENTIFIER)
        return berr_set(e, -EINVAL, "%s", err_bad_listen);
    if (r < 0)
        return r;
    *port = steal_ptr(&p);
    return 0;
}

int api_swarm_advertise_addr(const char *addr, const char *listen_port, char **host, char **port, berr *e)
{
    if (!addr || !*addr) {
        int r = api_swarm_system_addr(host, e);
        if (r == 0)
            *port = xstrdup(listen_port);
        return r;
    }
    cleanup_free char *h = NULL, *p = NULL;
    if (split_host_port(addr, &h, &p) < 0) {
        h = xstrdup(addr);
        p = xstrdup(listen_port);
    }
    int r = input_ip(h, false, host, e);
    if (r == ERR_BAD_IDENTIFIER)
        return berr_set(e, -EINVAL, "%s", err_bad_advertise);
    if (r < 0)
        return r;
    *port = steal_ptr(&p);
    return 0;
}

int api_swarm_data_path_addr(const char *addr, char **out, berr *e)
{
    if (!addr || !*addr) {
        *out = xstrdup("");
        return 0;
    }
    int r = input_ip(addr, false, out, e);
    if (r == ERR_BAD_IDENTIFIER)
        return berr_set(e, -EINVAL, "%s", err_bad_data_path);
    return r;
}

bool api_swarm_is_system_ip(const char *s)
{
    ipaddr want, ip;
    if (!ip_parse(s, &want))
        return false;
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) < 0)
        return false;
    bool found = false;
    for (struct ifaddrs *i = ifs; i && !found; i = i->ifa_next)
        found = ip_from_sockaddr(i->ifa_addr, &ip) && ip_equal(&ip, &want);
    freeifaddrs(ifs);
    return found;
}

/* dockerd leaves out the subnets of its own networks; berth's bridges are
 * docker0 and br-<id>. */
static bool berth_bridge(const char *name)
{
    return strcmp(name, "docker0") == 0 || strncmp(name, "br-", 3) == 0;
}

static int multiple_ips(const char *ia, const char *ib, const ipaddr *a, const ipaddr *b, berr *e)
{
    char sa[INET6_ADDRSTRLEN], sb[INET6_ADDRSTRLEN];
    ip_format(a, sa);
    ip_format(b, sb);
    if (strcmp(ia, ib) == 0)
        return berr_set(e, -EINVAL,
                        "could not choose an IP address to advertise since this system has multiple addresses on interface %s (%s and %s)",
                        ia, sa, sb);
    return berr_set(e, -EINVAL,
                    "could not choose an IP address to advertise since this system has multiple addresses on different interfaces (%s on %s and %s on %s)",
                    sa, ia, sb, ib);
}

int api_swarm_system_addr(char **out, berr *e)
{
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) < 0)
        return berr_sys(e, -errno, "getifaddrs");
    /* One pass per interface, in getifaddrs' order (the kernel's), as Go
     * walks net.Interfaces(). */
    ipaddr sys = {0};
    char sys_if[IF_NAMESIZE + 1] = "";
    int r = 0;
    for (struct ifaddrs *i = ifs; i && r == 0; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_PACKET)
            continue; /* each interface once, by its link entry */
        if (!(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK) || berth_bridge(i->ifa_name))
            continue;
        ipaddr v4 = {0}, v6 = {0};
        bool have4 = false, have6 = false;
        for (struct ifaddrs *j = ifs; j && r == 0; j = j->ifa_next) {
            ipaddr ip;
            if (strcmp(j->ifa_name, i->ifa_name) != 0 || !ip_from_sockaddr(j->ifa_addr, &ip) || !ip_global_unicast(&ip))
                continue;
            if (ip.family == AF_INET) {
                if (have4)
                    r = multiple_ips(i->ifa_name, i->ifa_name, &v4, &ip, e);
                v4 = ip;
                have4 = true;
            } else {
                if (have6)
                    r = multiple_ips(i->ifa_name, i->ifa_name, &v6, &ip, e);
                v6 = ip;
                have6 = true;
            }
        }
        if (r < 0 || (!have4 && !have6))
            continue;
        ipaddr *pick = have4 ? &v4 : &v6;
        if (sys_if[0])
            r = multiple_ips(sys_if, i->ifa_name, &sys, pick, e);
        sys = *pick;
        snprintf(sys_if, sizeof sys_if, "%s", i->ifa_name);
    }
    freeifaddrs(ifs);
    if (r < 0)
        return r;
    if (!sys_if[0])
        return berr_set(e, -EINVAL, "could not find the system's IP address");
    char s[INET6_ADDRSTRLEN];
    ip_format(&sys, s);
    *out = xstrdup(s);
    return 0;
}
