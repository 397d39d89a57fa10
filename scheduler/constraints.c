#include "scheduler/constraints.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "scheduler/common.h"

#define NODE_LABELS "node.labels."
#define ENGINE_LABELS "engine.labels."

/* swarmkit's key pattern: ^(?i)[a-z_][a-z0-9\-_.]+$ */
static bool key_valid(const char *s, size_t n)
{
    if (n < 2 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

/* swarmkit's value pattern: ^(?i)[a-z0-9:\-_\s\.\*\(\)\?\+\[\]\\\^\$\|\/]+$
 * (letters, digits, blanks and a few regexp-ish characters, never an
 * operator such as '=', '<' or '~'). */
static bool value_valid(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || strchr(":-_.*()?+[]\\^$|/", c) || c == ' ' || c == '\t' ||
            c == '\n' || c == '\f' || c == '\r')
            continue;
        return false;
    }
    return true;
}

static void trim(const char **s, size_t *n)
{
    while (*n && isspace((unsigned char)**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

static int parse_one(const char *expr, sched_constraint *out, berr *e)
{
    static const char *const ops[] = {"==", "!="};
    for (size_t i = 0; i < 2; i++) {
        const char *at = strstr(expr, ops[i]);
        if (!at)
            continue;
        const char *k = expr, *v = at + 2;
        size_t kn = (size_t)(at - expr), vn = strlen(v);
        trim(&k, &kn);
        if (!key_valid(k, kn))
            return berr_set(e, -EINVAL, "key '%.*s' is invalid", (int)kn, k);
        trim(&v, &vn);
        if (!value_valid(v, vn))
            return berr_set(e, -EINVAL, "value '%.*s' is invalid", (int)vn, v);
        out->key = xstrndup(k, kn);
        out->value = xstrndup(v, vn);
        out->eq = i == 0;
        return 0;
    }
    return berr_set(e, -EINVAL, "constraint expected one operator from ==, !=");
}

int sched_constraint_parse(const json_t *list, sched_constraints *out, berr *e)
{
    out->v = NULL;
    out->n = 0;
    if (!list || json_is_null(list))
        return 0;
    if (!json_is_array(list))
        return berr_set(e, -EINVAL, "constraints must be a list of strings");
    out->v = xcalloc(json_array_size(list), sizeof *out->v);
    size_t i;
    json_t *it;
    json_array_foreach(list, i, it) {
        const char *s = json_string_value(it);
        if (!s)
            return berr_set(e, -EINVAL, "constraints must be a list of strings");
        int r = parse_one(s, &out->v[out->n], e);
        if (r < 0)
            return r;
        out->n++;
    }
    return 0;
}

void sched_constraint_free(sched_constraints *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].key);
        free(c->v[i].value);
    }
    free(c->v);
    c->v = NULL;
    c->n = 0;
}

int sched_constraint_validate(const json_t *constraints, berr *e)
{
    sched_constraints c;
    berr inner = {0};
    int r = sched_constraint_parse(constraints, &c, &inner);
    sched_constraint_free(&c);
    if (r < 0)
        return berr_set(e, r, "rpc error: code = Unknown desc = %s", inner.msg);
    return 0;
}

static bool value_match(const sched_constraint *c, const char *what)
{
    bool m = strcasecmp(c->value, what ? what : "") == 0;
    return c->eq ? m : !m;
}

static bool prefix_ci(const char *key, const char *prefix)
{
    size_t n = strlen(prefix);
    return strlen(key) > n && strncasecmp(key, prefix, n) == 0;
}

/* node.ip: an address compares for equality, a CIDR for membership; a
 * value that is neither never matches (swarmkit rejects the node). */
static bool ip_match(const sched_constraint *c, const char *addr)
{
    unsigned char node[16], want[16];
    int nfam = strchr(addr, ':') ? AF_INET6 : AF_INET;
    bool have_node = inet_pton(nfam, addr, node) == 1;
    int fam = strchr(c->value, ':') ? AF_INET6 : AF_INET;
    size_t alen = fam == AF_INET6 ? 16 : 4;
    if (inet_pton(fam, c->value, want) == 1) {
        bool same = have_node && nfam == fam && memcmp(node, want, alen) == 0;
        return c->eq ? same : !same;
    }
    const char *slash = strchr(c->value, '/');
    if (!slash)
        return false;
    char net[64];
    size_t len = (size_t)(slash - c->value);
    if (len >= sizeof net)
        return false;
    memcpy(net, c->value, len);
    net[len] = 0;
    char *end;
    long bits = strtol(slash + 1, &end, 10);
    if (*end || end == slash + 1 || bits < 0 || (size_t)bits > alen * 8 ||
        inet_pton(fam, net, want) != 1)
        return false;
    bool within = have_node && nfam == fam;
    for (long b = 0; within && b < bits; b++) {
        unsigned mask = 0x80u >> (b % 8);
        if ((node[b / 8] & mask) != (want[b / 8] & mask))
            within = false;
    }
    return c->eq ? within : !within;
}

static bool match_one(const sched_constraint *c, const json_t *node)
{
    const char *k = c->key;
    if (strcasecmp(k, "node.id") == 0)
        return value_match(c, sched_str(node, "ID"));
    if (strcasecmp(k, "node.hostname") == 0)
        return value_match(c, sched_str(node, "Description.Hostname"));
    if (strcasecmp(k, "node.ip") == 0)
        return ip_match(c, sched_str(node, "Status.Addr"));
    if (strcasecmp(k, "node.role") == 0)
        return value_match(c, sched_str(node, "Spec.Role"));
    if (strcasecmp(k, "node.platform.os") == 0)
        return value_match(c, sched_str(node, "Description.Platform.OS"));
    if (strcasecmp(k, "node.platform.arch") == 0)
        return value_match(c, sched_str(node, "Description.Platform.Architecture"));
    if (prefix_ci(k, NODE_LABELS)) {
        json_t *labels = sched_get(node, "Spec.Labels");
        return value_match(c, json_string_value(json_object_get(labels, k + strlen(NODE_LABELS))));
    }
    if (prefix_ci(k, ENGINE_LABELS)) {
        json_t *labels = sched_get(node, "Description.Engine.Labels");
        return value_match(c, json_string_value(json_object_get(labels, k + strlen(ENGINE_LABELS))));
    }
    return false;
}

bool sched_constraint_match(const sched_constraints *c, const json_t *node)
{
    for (size_t i = 0; i < c->n; i++)
        if (!match_one(&c->v[i], node))
            return false;
    return true;
}

bool sched_constraint_match_list(const json_t *list, const json_t *node)
{
    sched_constraints c;
    if (sched_constraint_parse(list, &c, NULL) < 0) {
        sched_constraint_free(&c);
        return true;
    }
    bool m = sched_constraint_match(&c, node);
    sched_constraint_free(&c);
    return m;
}
