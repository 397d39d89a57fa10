#include "netoverlay/ports.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/buf.h"

static int parse_port(const char *s, size_t len, uint16_t *out)
{
    if (len == 0 || len > 5)
        return -EINVAL;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > 65535)
        return -EINVAL;
    *out = (uint16_t)v;
    return 0;
}

int net_port_key_parse(const char *key, uint16_t *port, char proto[5], berr *e)
{
    const char *slash = strchr(key, '/');
    size_t len = slash ? (size_t)(slash - key) : strlen(key);
    const char *p = slash ? slash + 1 : "tcp";
    if (parse_port(key, len, port) < 0 || *port == 0)
        return berr_set(e, -EINVAL, "invalid port specification: \"%s\"", key);
    if (strcmp(p, "tcp") && strcmp(p, "udp") && strcmp(p, "sctp"))
        return berr_set(e, -EINVAL, "invalid proto: %s", p);
    snprintf(proto, 5, "%s", p);
    return 0;
}

static int parse_host_port(const char *s, uint16_t *lo, uint16_t *hi, berr *e)
{
    *lo = *hi = 0;
    if (!s || !*s)
        return 0;
    const char *dash = strchr(s, '-');
    if (parse_port(s, dash ? (size_t)(dash - s) : strlen(s), lo) < 0 ||
        (dash && parse_port(dash + 1, strlen(dash + 1), hi) < 0))
        return berr_set(e, -EINVAL, "invalid port specification: \"%s\"", s);
    if (!dash)
        *hi = *lo;
    if (*hi < *lo)
        return berr_set(e, -EINVAL, "invalid port range: %s", s);
    return 0;
}

static void push(net_port_binding **out, size_t *n, const net_port_binding *b)
{
    *out = xrealloc(*out, (*n + 1) * sizeof **out);
    (*out)[(*n)++] = *b;
}

static void default_host(net_port_binding *b, const char *ip, const char *default_ip)
{
    b->both_families = false;
    if (ip && *ip) {
        snprintf(b->host_ip, sizeof b->host_ip, "%s", ip);
        return;
    }
    bool any = !default_ip || !*default_ip || !strcmp(default_ip, "0.0.0.0");
    snprintf(b->host_ip, sizeof b->host_ip, "%s", any ? "0.0.0.0" : default_ip);
    b->both_families = any;
}

int net_ports_parse(json_t *port_bindings, json_t *exposed_ports, bool publish_all, const char *default_ip,
                    net_port_binding **out, size_t *n, berr *e)
{
    *out = NULL;
    *n = 0;
    const char *key;
    json_t *list;
    json_object_foreach(port_bindings, key, list) {
        net_port_binding b = {.fd = -1};
        if (net_port_key_parse(key, &b.container_port, b.proto, e) < 0)
            goto fail;
        size_t i;
        json_t *hb;
        json_array_foreach(list, i, hb) {
            const char *ip = json_string_value(json_object_get(hb, "HostIp"));
            const char *hp = json_string_value(json_object_get(hb, "HostPort"));
            uint32_t a;
            ipam6_addr a6;
            if (ip && *ip && ipam_parse_addr(ip, &a) < 0 && ipam6_parse_addr(ip, &a6) < 0) {
                berr_set(e, -EINVAL, "invalid IP address: %s", ip);
                goto fail;
            }
            default_host(&b, ip, default_ip);
            if (ip && *ip && ipam6_parse_addr(ip, &a6) == 0)
                ipam6_format_addr(a6, b.host_ip);   /* canonical, as the rules and inspect show it */
            if (parse_host_port(hp, &b.host_port, &b.host_port_end, e) < 0)
                goto fail;
            push(out, n, &b);
        }
    }
    if (publish_all) {
        json_object_foreach(exposed_ports, key, list) {
            net_port_binding b = {.fd = -1};
            if (net_port_key_parse(key, &b.container_port, b.proto, e) < 0)
                goto fail;
            bool bound = false;
            for (size_t i = 0; i < *n && !bound; i++)
                bound = (*out)[i].container_port == b.container_port && !strcmp((*out)[i].proto, b.proto);
            if (bound)
                continue;
            default_host(&b, NULL, default_ip);
            push(out, n, &b);
        }
    }
    return 0;
fail:
    net_ports_free(*out, *n);
    *out = NULL;
    *n = 0;
    return -EINVAL;
}

void net_ports_free(net_port_binding *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        net_port_release(&b[i]);
    free(b);
}

net_port_binding net_port_twin6(const net_port_binding *b)
{
    net_port_binding t = *b;
    snprintf(t.host_ip, sizeof t.host_ip, "::");
    t.host_port_end = t.host_port;
    t.both_families = false;
    t.fd = -1;
    return t;
}

/* A wildcard covers the addresses of its own family only: 0.0.0.0:80
 * and [::]:80 are two ports, as the kernel sees them (V6ONLY). */
bool net_ports_clash(const net_port_binding *a, const net_port_binding *b)
{
    if (strcmp(a->proto, b->proto) || a->host_port == 0 || a->host_port != b->host_port)
        return false;
    if (!strcmp(a->host_ip, b->host_ip))
        return true;
    bool v6a = strchr(a->host_ip, ':') != NULL, v6b = strchr(b->host_ip, ':') != NULL;
    if (v6a != v6b)
        return false;
    const char *any = v6a ? "::" : "0.0.0.0";
    return !strcmp(a->host_ip, any) || !strcmp(b->host_ip, any);
}

static int bind_one(const net_port_binding *b, uint16_t port, int *fd)
{
    int type = !strcmp(b->proto, "udp") ? SOCK_DGRAM : SOCK_STREAM;
    int proto = !strcmp(b->proto, "sctp") ? IPPROTO_SCTP : 0;
    bool v6 = strchr(b->host_ip, ':') != NULL;
    int s = socket(v6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC, proto);
    if (s < 0)
        return -errno;
    struct sockaddr_storage ss = {0};
    socklen_t len;
    if (v6) {
        struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&ss;
        *sa = (struct sockaddr_in6){.sin6_family = AF_INET6, .sin6_port = htons(port)};
        inet_pton(AF_INET6, b->host_ip, &sa->sin6_addr);
        len = sizeof *sa;
        int one = 1;   /* [::] must not take the IPv4 port too */
        setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    } else {
        struct sockaddr_in *sa = (struct sockaddr_in *)&ss;
        *sa = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(port)};
        inet_pton(AF_INET, b->host_ip, &sa->sin_addr);
        len = sizeof *sa;
    }
    if (bind(s, (struct sockaddr *)&ss, len) < 0) {
        int r = -errno;
        close(s);
        return r;
    }
    *fd = s;
    return 0;
}

int net_port_hold(net_port_binding *b, berr *e)
{
    int r = -EADDRINUSE;
    if (b->host_port == 0) {
        /* The kernel's ephemeral range, as dockerd's port allocator uses. */
        r = bind_one(b, 0, &b->fd);
        if (r == 0) {
            struct sockaddr_storage ss;
            socklen_t len = sizeof ss;
            getsockname(b->fd, (struct sockaddr *)&ss, &len);
            b->host_port = b->host_port_end = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                                                : ((struct sockaddr_in *)&ss)->sin_port);
            return 0;
        }
    } else {
        for (unsigned p = b->host_port; p <= b->host_port_end; p++) {
            r = bind_one(b, (uint16_t)p, &b->fd);
            if (r == 0) {
                b->host_port = b->host_port_end = (uint16_t)p;
                return 0;
            }
            if (r != -EADDRINUSE && r != -EACCES)
                break;
        }
    }
    if (r == -EADDRINUSE)
        return berr_set(e, -EADDRINUSE, "failed to bind host port for %s:%u/%s: address already in use", b->host_ip,
                        b->host_port, b->proto);
    return berr_sys(e, r, "failed to bind host port for %s:%u/%s", b->host_ip, b->host_port, b->proto);
}

void net_port_release(net_port_binding *b)
{
    if (b->fd >= 0)
        close(b->fd);
    b->fd = -1;
}
