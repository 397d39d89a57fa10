/* Legacy links (see links.h), with dockerd's wording
 * (daemon/links/links.go, daemon.registerLinks, setupLinkedContainers,
 * rmLink). */
#include "runtime/container/links.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/jsonutil.h"
#include "runtime/container/network.h"

int rt_link_parse(const char *val, char *name, size_t name_cap, char *alias, size_t alias_cap, berr *e)
{
    if (!val || !*val)
        return berr_set(e, -EINVAL, "empty string specified for links");
    const char *colon = strchr(val, ':');
    if (colon && strchr(colon + 1, ':'))
        return berr_set(e, -EINVAL, "bad format for links: %s", val);
    const char *n = val, *a = colon ? colon + 1 : val;
    size_t nlen = colon ? (size_t)(colon - val) : strlen(val);
    /* The inspect form "/child:/parent/alias" comes back from clients
     * that copy a container's HostConfig. */
    if (colon && *n == '/') {
        n++, nlen--;
        const char *slash = strrchr(a, '/');
        if (slash)
            a = slash + 1;
    }
    if (!nlen || !*a || nlen >= name_cap || strlen(a) >= alias_cap)
        return berr_set(e, -EINVAL, "bad format for links: %s", val);
    memcpy(name, n, nlen);
    name[nlen] = 0;
    snprintf(alias, alias_cap, "%s", a);
    return 0;
}

/* A NetworkMode naming a user-defined network (not bridge, host, none,
 * container:). */
static bool user_defined_mode(const char *mode)
{
    return *mode && strcmp(mode, "default") && strcmp(mode, "bridge") && rt_network_mode_sandboxed(mode);
}

int rt_links_register(rt_containers *m, rt_container *c, berr *e)
{
    json_t *hc = c->host_config;
    json_t *links = json_object_get(hc, "Links");
    if (!json_array_size(links))
        return 0;
    if (user_defined_mode(json_str(hc, "NetworkMode"))) {
        json_object_set_new(hc, "Links", json_null());   /* inspect's, as dockerd's empty link graph */
        return 0;
    }
    json_t *out = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(links, i, v) {
        char name[256], alias[256];
        rt_container *child;
        int r = rt_link_parse(json_string_value(v), name, sizeof name, alias, sizeof alias, e);
        if (r == 0 && (r = rt_container_find(m, name, &child, e)) < 0) {
            /* Not 404: the CLI would take that for a missing image. */
            e->code = r = -EINVAL;
            berr_wrap(e, "could not get container for %s", name);
        }
        /* Through container: network modes to the one that has the network. */
        for (int hops = 0; r == 0 && hops < 16 && !strncmp(json_str(child->host_config, "NetworkMode"), "container:", 10);
             hops++)
            r = rt_container_find(m, json_str(child->host_config, "NetworkMode") + 10, &child, e);
        if (r == 0 && !strcmp(json_str(child->host_config, "NetworkMode"), "host"))
            r = berr_set(e, -EINVAL, "conflicting options: host type networking can't be used with links. This "
                                     "would result in undefined behavior");
        if (r < 0) {
            json_decref(out);
            return r;
        }
        json_array_append_new(out, json_sprintf("/%s:/%s/%s", child->name, c->name, alias));
    }
    json_object_set_new(hc, "Links", out);
    return 0;
}

/* Ports as nat.Sort orders them for links: by number, tcp first on a tie. */
typedef struct link_port {
    int num;
    char proto[8];
} link_port;

static int port_cmp(const void *a, const void *b)
{
    const link_port *x = a, *y = b;
    if (x->num != y->num)
        return x->num < y->num ? -1 : 1;
    bool xt = !strcmp(x->proto, "tcp"), yt = !strcmp(y->proto, "tcp");
    return xt == yt ? strcmp(x->proto, y->proto) : xt ? -1 : 1;
}

static void upper_proto(const char *p, char out[8])
{
    size_t i = 0;
    for (; p[i] && i < 7; i++)
        out[i] = (char)toupper((unsigned char)p[i]);
    out[i] = 0;
}

void rt_link_env(const char *link_name, const char *ip, json_t *exposed, json_t *child_env, json_t *out)
{
    const char *last = strrchr(link_name, '/');
    char alias[256];
    snprintf(alias, sizeof alias, "%s", last ? last + 1 : link_name);
    for (char *p = alias; *p; p++)
        *p = *p == '-' ? '_' : (char)toupper((unsigned char)*p);

    size_t n = 0;
    cleanup_free link_port *ports = xcalloc(json_object_size(exposed) + 1, sizeof *ports);
    const char *key;
    json_t *v;
    json_object_foreach(exposed, key, v) {
        int num = 0;
        char proto[8] = "tcp";
        if (sscanf(key, "%d/%7s", &num, proto) < 1 || num <= 0)
            continue;
        ports[n].num = num;
        snprintf(ports[n].proto, sizeof ports[n].proto, "%s", proto);
        n++;
    }
    qsort(ports, n, sizeof *ports, port_cmp);
#define ADD(...) json_array_append_new(out, json_sprintf(__VA_ARGS__))
    if (n)
        ADD("%s_PORT=%s://%s:%d", alias, ports[0].proto, ip, ports[0].num);
    /* Runs of consecutive numbers also get _START/_END variables (the
     * protocol is not compared, as in dockerd's nextContiguous). */
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && ports[j + 1].num <= ports[i].num + (int)(j + 1 - i))
            j++;
        if (j > i + 1) {
            char up[8], uq[8];
            upper_proto(ports[i].proto, up);
            upper_proto(ports[j].proto, uq);
            ADD("%s_PORT_%d_%s_START=%s://%s:%d", alias, ports[i].num, up, ports[i].proto, ip, ports[i].num);
            ADD("%s_PORT_%d_%s_ADDR=%s", alias, ports[i].num, up, ip);
            ADD("%s_PORT_%d_%s_PROTO=%s", alias, ports[i].num, up, ports[i].proto);
            ADD("%s_PORT_%d_%s_PORT_START=%d", alias, ports[i].num, up, ports[i].num);
            ADD("%s_PORT_%d_%s_END=%s://%s:%d", alias, ports[i].num, uq, ports[j].proto, ip, ports[j].num);
            ADD("%s_PORT_%d_%s_PORT_END=%d", alias, ports[i].num, uq, ports[j].num);
            i = j + 1;
        } else {
            i++;
        }
    }
    for (size_t i = 0; i < n; i++) {
        char up[8];
        upper_proto(ports[i].proto, up);
        ADD("%s_PORT_%d_%s=%s://%s:%d", alias, ports[i].num, up, ports[i].proto, ip, ports[i].num);
        ADD("%s_PORT_%d_%s_ADDR=%s", alias, ports[i].num, up, ip);
        ADD("%s_PORT_%d_%s_PORT=%d", alias, ports[i].num, up, ports[i].num);
        ADD("%s_PORT_%d_%s_PROTO=%s", alias, ports[i].num, up, ports[i].proto);
    }
    ADD("%s_NAME=%s", alias, link_name);
    size_t i;
    json_array_foreach(child_env, i, v) {
        const char *kv = json_string_value(v);
        const char *eq = kv ? strchr(kv, '=') : NULL;
        if (!eq)
            continue;
        /* Left out as dockerd does: set by builds, not the child's own. */
        if ((eq - kv == 4 && !strncmp(kv, "HOME", 4)) || (eq - kv == 4 && !strncmp(kv, "PATH", 4)))
            continue;
        ADD("%s_ENV_%.*s=%s", alias, (int)(eq - kv), kv, eq + 1);
    }
#undef ADD
}

/* The address of c on the default bridge, "" if it has none. */
static const char *bridge_ip(rt_containers *m, rt_container *c, json_t **settings)
{
    *settings = rt_container_network_settings(m, c);
    return json_str(json_object_get(json_object_get(*settings, "Networks"), "bridge"), "IPAddress");
}

int rt_links_for_start(rt_containers *m, rt_container *c, json_t **env, char **hosts, berr *e)
{
    *env = json_array();
    *hosts = xstrdup("");
    json_t *links = json_object_get(c->host_config, "Links");
    if (!json_array_size(links) || !json_object_get(c->networks, "bridge"))
        return 0;
    cleanup_buf buf lines = BUF_INIT;
    size_t i;
    json_t *v;
    json_array_foreach(links, i, v) {
        const char *link = json_string_value(v);
        const char *colon = link ? strchr(link, ':') : NULL;
        char name[256], alias[256];
        if (!colon || rt_link_parse(link, name, sizeof name, alias, sizeof alias, NULL) < 0)
            continue;
        rt_container *child;
        /* A removed child is out of dockerd's link graph: no link. */
        if (rt_container_find(m, name, &child, NULL) < 0)
            continue;
        if (!rt_container_running(child))
            return berr_set(e, -EINVAL, "Cannot link to a non running container: /%s AS %s", name, colon + 1);
        for (int hops = 0; hops < 16 && !strncmp(json_str(child->host_config, "NetworkMode"), "container:", 10); hops++)
            if (rt_container_find(m, json_str(child->host_config, "NetworkMode") + 10, &child, e) < 0)
                return -EINVAL;
        json_t *settings;
        const char *ip = bridge_ip(m, child, &settings);
        if (!*ip) {
            json_decref(settings);
            return berr_set(e, -EINVAL, "container %s not attached to default bridge network", child->id);
        }
        rt_link_env(colon + 1, ip, json_object_get(child->config, "ExposedPorts"), json_object_get(child->config, "Env"),
                    *env);
        /* The alias, the child's hostname and, unless the alias is it, its name. */
        buf_printf(&lines, "%s\t%s %s", ip, alias, json_str(child->config, "Hostname"));
        if (strcmp(alias, child->name))
            buf_printf(&lines, " %s", child->name);
        buf_puts(&lines, "\n");
        json_decref(settings);
    }
    free(*hosts);
    *hosts = xstrdup(lines.data ? lines.data : "");
    return 0;
}

json_t *rt_links_names_index(rt_containers *m)
{
    json_t *index = json_object();
    for (size_t k = 0; k < m->n; k++) {
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(m->list[k]->host_config, "Links"), i, v) {
            const char *l = json_string_value(v), *colon = l && l[0] == '/' ? strchr(l, ':') : NULL;
            if (!colon)
                continue;
            char target[256];
            snprintf(target, sizeof target, "%.*s", (int)(colon - l - 1), l + 1);
            json_t *names = json_object_get(index, target);
            if (!names)
                json_object_set_new(index, target, names = json_array());
            json_array_append_new(names, json_string(colon + 1));
        }
    }
    return index;
}

json_t *rt_links_names_of(rt_containers *m, const rt_container *c)
{
    json_t *names = json_array();
    size_t plen = strlen(c->name);
    for (size_t k = 0; k < m->n; k++) {
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(m->list[k]->host_config, "Links"), i, v) {
            const char *l = json_string_value(v);
            if (l && l[0] == '/' && !strncmp(l + 1, c->name, plen) && l[plen + 1] == ':')
                json_array_append_new(names, json_string(l + plen + 2));
        }
    }
    return names;
}

int rt_link_remove(rt_containers *m, const char *link_name, berr *e)
{
    char full[512];
    snprintf(full, sizeof full, "%s%s", link_name[0] == '/' ? "" : "/", link_name);
    const char *slash = strrchr(full, '/');
    if (slash == full)
        return berr_set(e, -EIO, "Conflict, cannot remove the default link name of the container");
    char parent[256];
    snprintf(parent, sizeof parent, "%.*s", (int)(slash - full - 1), full + 1);
    rt_container *p;
    if (rt_container_find(m, parent, &p, NULL) < 0)
        return berr_set(e, -EIO, "Cannot get parent %s for link name %s", parent, full);
    json_t *links = json_object_get(p->host_config, "Links");
    size_t i;
    json_t *v;
    json_array_foreach(links, i, v) {
        const char *colon = strchr(json_string_value(v) ?: "", ':');
        if (colon && !strcmp(colon + 1, full)) {
            json_array_remove(links, i);
            /* No links left reads as dockerd's: null. */
            if (!json_array_size(links))
                json_object_set_new(p->host_config, "Links", json_null());
            return rt_container_save(m, p, e);
        }
    }
    return 0;
}

void rt_links_renamed(rt_containers *m, rt_container *c, const char *old)
{
    size_t olen = strlen(old);
    for (size_t k = 0; k < m->n; k++) {
        rt_container *p = m->list[k];
        json_t *links = json_object_get(p->host_config, "Links");
        bool changed = false;
        size_t i;
        json_t *v;
        json_array_foreach(links, i, v) {
            char name[256], alias[256];
            const char *l = json_string_value(v);
            const char *colon = l ? strchr(l, ':') : NULL;
            if (!colon || rt_link_parse(l, name, sizeof name, alias, sizeof alias, NULL) < 0)
                continue;
            /* the parent's part: "/parent/alias" after the colon */
            const char *parent = colon + 1;
            bool child_was = !strcmp(name, old);
            bool parent_was = p == c && parent[0] == '/' && !strncmp(parent + 1, old, olen) && parent[olen + 1] == '/';
            if (!child_was && !parent_was)
                continue;
            char parent_now[300];
            if (parent_was)
                snprintf(parent_now, sizeof parent_now, "/%s/%s", c->name, alias);
            else
                snprintf(parent_now, sizeof parent_now, "%s", parent);
            json_array_set_new(links, i, json_sprintf("/%s:%s", child_was ? c->name : name, parent_now));
            changed = true;
        }
        if (changed && p != c)
            rt_container_save(m, p, NULL);
    }
}
