#include "runtime/container/network.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/jsonutil.h"
#include "netoverlay/sandbox.h"
#include "runtime/container/links.h"

bool rt_container_is_task(const rt_container *c)
{
    return *json_str(json_object_get(c->config, "Labels"), "com.docker.swarm.task.id");
}

bool rt_network_mode_sandboxed(const char *mode)
{
    return strcmp(mode, "host") && strcmp(mode, "none") && strncmp(mode, "container:", 10);
}

/* What an endpoint may ask for on n, in dockerd's words. */
static int check_settings(net_network *n, json_t *settings, berr *e)
{
    json_t *ipam = json_object_get(settings, "IPAMConfig");
    if (*json_str(ipam, "IPv4Address") && !n->user_subnet)
        return berr_set(e, -EINVAL, n->predefined ? "user specified IP address is supported on user defined networks only"
                                                   : "user specified IP address is supported only when connecting to networks with user configured subnets");
    const char *v6 = json_str(ipam, "IPv6Address");
    ipam6_addr a6;
    if (*v6 && (ipam6_parse_addr(v6, &a6) < 0 || a6 == 0 || (a6 >> 32) == 0xffff))
        return berr_set(e, -EINVAL, "invalid endpoint settings:\ninvalid IPv6 address: %s", v6);
    if (*v6 && n->predefined && !n->ipv6)
        return berr_set(e, -EINVAL, "user specified IP address is supported on user defined networks only");
    if (*v6 && !n->ipv6)
        return berr_set(e, -EINVAL, "invalid endpoint settings:\nno configured subnet contains IP address %s", v6);
    if (*v6 && !n->user_subnet6)
        return berr_set(e, -EINVAL, n->predefined ? "user specified IP address is supported on user defined networks only"
                                                   : "user specified IP address is supported only when connecting to networks with user configured subnets");
    if (json_array_size(json_object_get(settings, "Aliases")) && n->predefined)
        return berr_set(e, -EINVAL, "network-scoped alias is supported only for containers in user defined networks");
    /* Links of an endpoint: aliases its container alone resolves
     * (netoverlay/sandbox.c); checked as dockerd parses them. */
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(settings, "Links"), i, v) {
        char name[256], alias[256];
        if (rt_link_parse(json_string_value(v), name, sizeof name, alias, sizeof alias, e) < 0)
            return -EINVAL;
    }
    return 0;
}

/* Whether c may have an endpoint on n: bridges, and overlays for the
 * swarm's tasks or, when attachable, for any container. */
static int joinable(const rt_container *c, const net_network *n, berr *e)
{
    if (!strcmp(n->driver, "bridge"))
        return 0;
    if (!n->ov)
        return berr_set(e, -EINVAL, "container cannot be connected to network %s", n->name);
    if (rt_container_is_task(c))
        return 0;
    if (!n->attachable)
        return berr_set(e, -EPERM, "Could not attach to network %s: rpc error: code = PermissionDenied desc = network %s not manually attachable",
                        n->name, n->name);
    /* Its address comes from the swarm before it starts (attach_addresses). */
    return 0;
}

static void set_ipv4(json_t *settings, const char *addr)
{
    json_t *ipam = json_object_get(settings, "IPAMConfig");
    if (!json_is_object(ipam)) {
        ipam = json_object();
        json_object_set_new(settings, "IPAMConfig", ipam);
    }
    json_object_set_new(ipam, "IPv4Address", json_string(addr));
}

/* A plain container's endpoints on overlays take the addresses the swarm
 * gave them (rt_attachments): none given, no start, for an address of
 * the node's own choosing could be another node's. */
static int attach_addresses(rt_containers *m, rt_container *c, berr *e)
{
    if (rt_container_is_task(c) || !m->net)
        return 0;
    const char *key;
    json_t *settings;
    json_object_foreach(c->networks, key, settings) {
        net_network *n;
        const char *nid = json_str(settings, "NetworkID");
        if ((!*nid || net_network_find(m->net, nid, &n, NULL) < 0) && net_network_find(m->net, key, &n, NULL) < 0)
            continue;   /* the sandbox says it is not found */
        if (!n->ov)
            continue;
        char addr[16];
        if (!m->attachments.ctx || !m->attachments.address(m->attachments.ctx, c->id, n->id, addr))
            return berr_set(e, -EINVAL, "container %s has no address from the swarm on network %s: start it again",
                            c->name, n->name);
        set_ipv4(settings, addr);
    }
    return 0;
}

/* A network a worker does not know may be a swarm overlay it has not
 * been told of yet (a worker learns a network with its first container
 * on it): its endpoint waits, under the name given, for the attachment
 * made at start. */
static bool deferred(rt_containers *m, int r)
{
    return r == -ENOENT && m->attachments.ctx && m->attachments.on_worker(m->attachments.ctx);
}

/* The settings kept for a network: what was asked, plus its ID. */
static json_t *settings_for(net_network *n, json_t *asked)
{
    json_t *s = json_is_object(asked) ? json_deep_copy(asked) : json_object();
    json_object_set_new(s, "NetworkID", json_string(n->id));
    return s;
}

int rt_container_networks_init(rt_containers *m, rt_container *c, json_t *networking_config, berr *e)
{
    json_t *hc = c->host_config;
    const char *mode = json_str(hc, "NetworkMode");
    /* The CLI keys the endpoint of the default network "default". */
    char given[256];
    snprintf(given, sizeof given, "%s", *mode ? mode : "default");
    if (!*mode || !strcmp(mode, "default")) {
        json_object_set_new(hc, "NetworkMode", json_string("bridge"));
        mode = "bridge";
    }
    json_t *eps = json_object_get(networking_config, "EndpointsConfig");
    json_decref(c->networks);
    c->networks = json_object();
    net_network *n = NULL;
    if (!rt_network_mode_sandboxed(mode)) {
        if (!strncmp(mode, "container:", 10))
            return 0;
        if (m->net && net_network_find(m->net, mode, &n, NULL) == 0)
            json_object_set_new(c->networks, n->name, settings_for(n, NULL));
        return 0;
    }
    if (!m->net)
        return berr_set(e, -ENOSYS, "networking is not available in this berthd");
    /* Not 404: the CLI would take that for a missing image and pull. */
    int r = net_network_find(m->net, mode, &n, e);
    if (deferred(m, r)) {
        json_t *asked = json_object_get(eps, given);
        json_object_set_new(c->networks, given, json_is_object(asked) ? json_deep_copy(asked) : json_object());
    } else if (r < 0) {
        return r == -ENOENT ? (e->code = -EINVAL) : r;
    } else {
        if ((r = joinable(c, n, e)) < 0)
            return r;
        /* NetworkMode may be an ID or a prefix: the endpoint settings may be
         * keyed by what the user typed or by the network's name. */
        json_t *asked = json_object_get(eps, given);
        if (!asked)
            asked = json_object_get(eps, n->name);
        if ((r = check_settings(n, asked, e)) < 0)
            return r;
        json_object_set_new(c->networks, n->name, settings_for(n, asked));
    }
    const char *key;
    json_t *v;
    json_object_foreach(eps, key, v) {
        net_network *o;
        if (!strcmp(key, given))
            continue;
        if ((r = net_network_find(m->net, key, &o, e)) < 0) {
            if (!deferred(m, r))
                return r == -ENOENT ? (e->code = -EINVAL) : r;
            json_object_set_new(c->networks, key, json_is_object(v) ? json_deep_copy(v) : json_object());
            continue;
        }
        if (o == n)
            continue;
        if ((r = joinable(c, o, e)) < 0)
            return r;
        if ((r = check_settings(o, v, e)) < 0)
            return r;
        json_object_set_new(c->networks, o->name, settings_for(o, v));
    }
    return 0;
}

static int net_open(rt_containers *m, rt_container *c, const int *adopt_ns_fd, berr *e)
{
    if (!m->net || !rt_network_mode_sandboxed(json_str(c->host_config, "NetworkMode")))
        return 0;
    if (!c->networks)
        c->networks = json_object();
    json_t *hc = c->host_config;
    net_sandbox_req req = {
        .container_id = c->id,
        .name = c->name,
        .networks = c->networks,
        .port_bindings = json_object_get(hc, "PortBindings"),
        .exposed_ports = json_object_get(c->config, "ExposedPorts"),
        .publish_all = json_is_true(json_object_get(hc, "PublishAllPorts")),
        .dns = json_object_get(hc, "Dns"),
        .adopt_ns_fd = adopt_ns_fd,
    };
    return net_sandbox_open(m->net, &req, &c->sandbox, e);
}

int rt_container_net_up(rt_containers *m, rt_container *c, berr *e)
{
    if (m->net && rt_network_mode_sandboxed(json_str(c->host_config, "NetworkMode"))) {
        int r = attach_addresses(m, c, e);
        if (r < 0)
            return r;
    }
    return net_open(m, c, NULL, e);
}

int rt_container_net_adopt(rt_containers *m, rt_container *c, int pid, berr *e)
{
    if (!m->net || !rt_network_mode_sandboxed(json_str(c->host_config, "NetworkMode")))
        return 0;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/net", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return berr_sys(e, -errno, "open %s", path);
    int r = net_open(m, c, &fd, e);
    close(fd);
    return r;
}

void rt_container_net_down(rt_containers *m, rt_container *c)
{
    (void)m;
    if (c->sandbox)
        net_sandbox_close(c->sandbox);
    c->sandbox = NULL;
}

static int check_mode_for(rt_container *c, net_network *n, berr *e)
{
    const char *mode = json_str(c->host_config, "NetworkMode");
    if (!strcmp(mode, "host") || !strcmp(n->driver, "host"))
        return berr_set(e, -EPERM, "container cannot be disconnected from host network or connected to host network");
    if (!strncmp(mode, "container:", 10))
        return berr_set(e, -EPERM,
                        "container sharing network namespace with another container or host cannot be connected to any other network");
    if (!strcmp(mode, "none") || !strcmp(n->driver, "null"))
        return berr_set(e, -EINVAL,
                        "container cannot be connected to multiple networks with one of the networks in private (none) mode");
    return 0;
}

int rt_container_connect(rt_containers *m, rt_container *c, net_network *n, json_t *endpoint_config, berr *e)
{
    int r = check_mode_for(c, n, e);
    if (r < 0)
        return r;
    if (json_object_get(c->networks, n->name))
        return berr_set(e, -EPERM, "endpoint with name %s already exists in network %s", c->name, n->name);
    if ((r = joinable(c, n, e)) < 0 || (r = check_settings(n, endpoint_config, e)) < 0)
        return r;
    json_t *s = settings_for(n, endpoint_config);
    char addr[16];
    if (n->ov && !rt_container_is_task(c)) {
        if (!m->attachments.ctx || !m->attachments.address(m->attachments.ctx, c->id, n->id, addr)) {
            json_decref(s);
            return berr_set(e, -EINVAL, "container %s has no address from the swarm on network %s", c->name, n->name);
        }
        set_ipv4(s, addr);
    }
    if (c->sandbox && (r = net_sandbox_connect(c->sandbox, n, s, e)) < 0) {
        json_decref(s);
        return r;
    }
    json_object_set_new(c->networks, n->name, s);
    return rt_container_save(m, c, e);
}

int rt_container_disconnect(rt_containers *m, rt_container *c, net_network *n, bool force, berr *e)
{
    (void)force;
    const char *mode = json_str(c->host_config, "NetworkMode");
    if (!strcmp(mode, "host") || !strcmp(n->driver, "host"))
        return berr_set(e, -EPERM, "container cannot be disconnected from host network or connected to host network");
    if (!json_object_get(c->networks, n->name))
        return berr_set(e, -EPERM, "container %s is not connected to network %s", c->id, n->name);
    if (c->sandbox) {
        int r = net_sandbox_disconnect(c->sandbox, n, e);
        if (r < 0 && r != -ENOENT)
            return r;
    }
    json_object_del(c->networks, n->name);
    return rt_container_save(m, c, e);
}

/* ---- inspect ------------------------------------------------------------ */

static void null_if_missing(json_t *o, const char *key)
{
    if (!json_object_get(o, key))
        json_object_set_new(o, key, json_null());
}

json_t *rt_container_networks(const rt_container *c)
{
    bool up = c->sandbox != NULL;
    json_t *nets = c->networks ? json_deep_copy(c->networks) : json_object();
    const char *key;
    json_t *s;
    json_object_foreach(nets, key, s) {
        if (!up) {
            /* What the last run got is kept (to be asked for again), but
             * a stopped container has no address, as with dockerd. */
            json_object_set_new(s, "EndpointID", json_string(""));
            json_object_set_new(s, "Gateway", json_string(""));
            json_object_set_new(s, "IPAddress", json_string(""));
            json_object_set_new(s, "IPPrefixLen", json_integer(0));
            json_object_set_new(s, "MacAddress", json_string(""));
            json_object_set_new(s, "IPv6Gateway", json_string(""));
            json_object_set_new(s, "GlobalIPv6Address", json_string(""));
            json_object_set_new(s, "GlobalIPv6PrefixLen", json_integer(0));
            json_object_set_new(s, "DNSNames", json_null());
        }
        null_if_missing(s, "IPAMConfig");
        null_if_missing(s, "Links");
        null_if_missing(s, "Aliases");
        null_if_missing(s, "DriverOpts");
        static const char *const strs[] = {"EndpointID", "Gateway", "IPAddress", "IPv6Gateway", "GlobalIPv6Address",
                                           "MacAddress"};
        for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
            if (!json_object_get(s, strs[i]))
                json_object_set_new(s, strs[i], json_string(""));
        if (!json_object_get(s, "IPPrefixLen"))
            json_object_set_new(s, "IPPrefixLen", json_integer(0));
        if (!json_object_get(s, "GlobalIPv6PrefixLen"))
            json_object_set_new(s, "GlobalIPv6PrefixLen", json_integer(0));
        null_if_missing(s, "DNSNames");
    }
    return nets;
}

json_t *rt_container_network_settings(rt_containers *m, rt_container *c)
{
    (void)m;
    bool up = c->sandbox != NULL;
    json_t *nets = rt_container_networks(c);
    json_t *bridge = json_object_get(nets, "bridge");
    char key_path[64] = "";
    if (up && c->pid > 0)
        snprintf(key_path, sizeof key_path, "/proc/%d/ns/net", c->pid);
    json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:s, s:i, s:n, s:n}", "Bridge", "", "SandboxID", up ? c->id : "",
                          "SandboxKey", key_path, "HairpinMode", 0, "LinkLocalIPv6Address", "",
                          "LinkLocalIPv6PrefixLen", 0, "SecondaryIPAddresses", "SecondaryIPv6Addresses");
    json_object_set_new(o, "Ports", up ? net_sandbox_ports_json(c->sandbox, json_object_get(c->config, "ExposedPorts"))
                                       : json_object());
    static const char *const top[] = {"EndpointID", "Gateway", "GlobalIPv6Address", "IPAddress", "IPv6Gateway",
                                      "MacAddress"};
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++)
        json_object_set_new(o, top[i], json_string(json_str(bridge, top[i])));
    json_object_set_new(o, "GlobalIPv6PrefixLen",
                        json_integer(json_integer_value(json_object_get(bridge, "GlobalIPv6PrefixLen"))));
    json_object_set_new(o, "IPPrefixLen", json_integer(json_integer_value(json_object_get(bridge, "IPPrefixLen"))));
    json_object_set_new(o, "Networks", nets);
    return o;
}

json_t *rt_container_ports_summary(rt_containers *m, rt_container *c)
{
    (void)m;
    json_t *out = json_array();
    json_t *ports = c->sandbox ? net_sandbox_ports_json(c->sandbox, json_object_get(c->config, "ExposedPorts")) : NULL;
    const char *key;
    json_t *list;
    json_object_foreach(ports, key, list) {
        unsigned port = 0;
        char proto[8] = "tcp";
        sscanf(key, "%u/%7s", &port, proto);
        if (!json_array_size(list)) {
            json_array_append_new(out, json_pack("{s:i, s:s}", "PrivatePort", (int)port, "Type", proto));
            continue;
        }
        size_t i;
        json_t *b;
        json_array_foreach(list, i, b) {
            json_array_append_new(out, json_pack("{s:s, s:i, s:i, s:s}", "IP", json_str(b, "HostIp"), "PrivatePort",
                                                 (int)port, "PublicPort", atoi(json_str(b, "HostPort")), "Type", proto));
        }
    }
    json_decref(ports);
    return out;
}
