/* Names, hosts and URLs of registries (see endpoint.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "runtime/registry/endpoint.h"

int reg_name_split(const char *familiar, reg_name *n, berr *e)
{
    memset(n, 0, sizeof *n);
    if (!familiar || !*familiar)
        return berr_set(e, -EINVAL, "invalid reference format");
    const char *slash = strchr(familiar, '/');
    size_t first = slash ? (size_t)(slash - familiar) : strlen(familiar);
    /* Only a first element with a dot, a port or "localhost" names a registry
     * (docker/distribution's splitDockerDomain). */
    bool domain = slash && (memchr(familiar, '.', first) || memchr(familiar, ':', first) ||
                            (first == 9 && strncmp(familiar, "localhost", 9) == 0));
    if (domain) {
        if (first >= REG_HOST_MAX || strlen(slash + 1) >= REG_REPO_MAX)
            return berr_set(e, -EINVAL,
                            "invalid reference format: repository name must not be more than 255 characters");
        snprintf(n->index, sizeof n->index, "%.*s", (int)first, familiar);
        snprintf(n->repo, sizeof n->repo, "%s", slash + 1);
        if (strcmp(n->index, "docker.io") == 0 || strcmp(n->index, "index.docker.io") == 0)
            domain = false;
        else
            snprintf(n->host, sizeof n->host, "%s", n->index);
    }
    if (!domain) {
        const char *path = n->repo[0] ? n->repo : familiar;
        char repo[REG_REPO_MAX];
        if (strlen(path) + 8 >= sizeof repo)
            return berr_set(e, -EINVAL,
                            "invalid reference format: repository name must not be more than 255 characters");
        snprintf(repo, sizeof repo, "%s%s", strchr(path, '/') ? "" : "library/", path);
        snprintf(n->repo, sizeof n->repo, "%s", repo);
        snprintf(n->index, sizeof n->index, "%s", REG_DOCKER_HUB_INDEX);
        snprintf(n->host, sizeof n->host, "%s", REG_DOCKER_HUB_HOST);
        n->hub = true;
    }
    return 0;
}

void reg_server_split(const char *server, char index[REG_HOST_MAX], char host[REG_HOST_MAX])
{
    const char *s = server ? server : "";
    const char *p = strstr(s, "://");
    if (p)
        s = p + 3;
    size_t len = strcspn(s, "/");
    if (len == 0 || (len == 15 && strncmp(s, "index.docker.io", 15) == 0) ||
        (len == 9 && strncmp(s, "docker.io", 9) == 0) || (len == 20 && strncmp(s, "registry-1.docker.io", 20) == 0)) {
        snprintf(index, REG_HOST_MAX, "%s", REG_DOCKER_HUB_INDEX);
        snprintf(host, REG_HOST_MAX, "%s", REG_DOCKER_HUB_HOST);
        return;
    }
    snprintf(index, REG_HOST_MAX, "%.*s", (int)len, s);
    snprintf(host, REG_HOST_MAX, "%.*s", (int)len, s);
}

/* The host part without port or brackets. */
static void host_only(const char *host, char *out, size_t n)
{
    if (host[0] == '[') {
        const char *end = strchr(host, ']');
        size_t len = end ? (size_t)(end - host - 1) : strlen(host + 1);
        snprintf(out, n, "%.*s", (int)len, host + 1);
        return;
    }
    const char *colon = strchr(host, ':');
    if (colon && strchr(colon + 1, ':'))
        colon = NULL; /* a bare IPv6 address */
    size_t len = colon ? (size_t)(colon - host) : strlen(host);
    snprintf(out, n, "%.*s", (int)len, host);
}

typedef struct addr {
    int family;
    unsigned char b[16];
} addr;

static bool parse_addr(const char *s, addr *a)
{
    if (inet_pton(AF_INET, s, a->b) == 1) {
        a->family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, s, a->b) == 1) {
        a->family = AF_INET6;
        return true;
    }
    return false;
}

/* Parses "addr/bits"; false if it is not a CIDR. */
static bool parse_cidr(const char *s, addr *a, int *bits)
{
    const char *slash = strchr(s, '/');
    if (!slash)
        return false;
    char ip[64];
    if ((size_t)(slash - s) >= sizeof ip)
        return false;
    snprintf(ip, sizeof ip, "%.*s", (int)(slash - s), s);
    if (!parse_addr(ip, a))
        return false;
    char *end;
    long b = strtol(slash + 1, &end, 10);
    if (*end || end == slash + 1 || b < 0 || b > (a->family == AF_INET ? 32 : 128))
        return false;
    *bits = (int)b;
    return true;
}

static bool in_cidr(const addr *ip, const addr *net, int bits)
{
    if (ip->family != net->family)
        return false;
    for (int i = 0; i < bits / 8; i++)
        if (ip->b[i] != net->b[i])
            return false;
    if (bits % 8) {
        unsigned char mask = (unsigned char)(0xff << (8 - bits % 8));
        if ((ip->b[bits / 8] & mask) != (net->b[bits / 8] & mask))
            return false;
    }
    return true;
}

bool reg_host_insecure(const reg_options *o, const char *host)
{
    char h[REG_HOST_MAX];
    host_only(host, h, sizeof h);
    addr a;
    bool literal = parse_addr(h, &a);
    if (strcmp(h, "localhost") == 0 || (literal && a.family == AF_INET && a.b[0] == 127))
        return true;
    static const unsigned char v6_loopback[16] = {[15] = 1};
    if (literal && a.family == AF_INET6 && memcmp(a.b, v6_loopback, 16) == 0)
        return true;
    for (size_t i = 0; o && i < o->n_insecure; i++) {
        const char *ent = o->insecure[i];
        addr net;
        int bits;
        if (parse_cidr(ent, &net, &bits)) {
            if (literal && in_cidr(&a, &net, bits))
                return true;
            continue;
        }
        if (strcmp(ent, host) == 0 || strcmp(ent, h) == 0)
            return true;
    }
    return false;
}

int reg_insecure_entry_valid(const char *entry, berr *e)
{
    addr net;
    int bits;
    if (!entry || !*entry)
        return berr_set(e, -EINVAL, "insecure registry  is not valid: empty");
    if (strstr(entry, "://"))
        return berr_set(e, -EINVAL, "insecure registry %s should not contain '://'", entry);
    if (strchr(entry, '/') && !parse_cidr(entry, &net, &bits))
        return berr_set(e, -EINVAL, "insecure registry %s is not valid: invalid CIDR address", entry);
    return 0;
}

int reg_mirror_valid(const char *mirror, berr *e)
{
    const char *m = mirror ? mirror : "";
    const char *p = strstr(m, "://");
    if (!p)
        return berr_set(e, -EINVAL, "invalid mirror: unsupported scheme \"\" in \"%s\"", m);
    if (strncmp(m, "http://", 7) != 0 && strncmp(m, "https://", 8) != 0)
        return berr_set(e, -EINVAL, "invalid mirror: unsupported scheme \"%.*s\" in \"%s\"", (int)(p - m), m, m);
    const char *path = strchr(p + 3, '/');
    if (!p[3] || (path && path[1]) || strchr(p + 3, '?') || strchr(p + 3, '#'))
        return berr_set(e, -EINVAL, "invalid mirror: path, query, or fragment at end of the URI \"%s\"", m);
    return 0;
}

char *reg_url(const char *scheme, const char *host, const char *repo, const char *kind, const char *ref)
{
    if (!repo)
        return xasprintf("%s://%s/v2/", scheme, host);
    return xasprintf("%s://%s/v2/%s/%s/%s", scheme, host, repo, kind, ref ? ref : "");
}
