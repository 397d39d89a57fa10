#include "netoverlay/networks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/digest.h"
#include "lib/jsonutil.h"
#include "lib/log.h"
#include "netoverlay/netlink.h"
#include "netoverlay/netns.h"
#include "netoverlay/nft.h"
#include "netoverlay/overlay.h"
#include "netoverlay/sandbox.h"
#include "lib/sql.h"

#define OPT_NAME "com.docker.network.bridge.name"
#define OPT_ICC "com.docker.network.bridge.enable_icc"
#define OPT_MASQ "com.docker.network.bridge.enable_ip_masquerade"
#define OPT_HOST_BINDING "com.docker.network.bridge.host_binding_ipv4"
#define OPT_MTU "com.docker.network.driver.mtu"
#define OPT_DEFAULT "com.docker.network.bridge.default_bridge"

void net_network_free(net_network *n)
{
    if (!n)
        return;
    net_overlay_free(n->ov);
    ipam_pool_free(&n->pool);
    json_decref(n->labels);
    json_decref(n->options);
    json_decref(n->aux_addresses);
    free(n);
}

static void emit(net_manager *nm, net_network *n, const char *action, const char *container)
{
    if (!nm->events.emit)
        return;
    json_t *attrs = json_pack("{s:s, s:s}", "name", n->name, "type", n->driver);
    if (container)
        json_object_set_new(attrs, "container", json_string(container));
    nm->events.emit(nm->events.ctx, "network", action, n->id, attrs);
}

bool net_network_in_use(const net_network *n) { return n->endpoints != NULL; }

bool net_network_is_user(const net_network *n) { return !n->predefined; }

/* ---- persistence ----------------------------------------------------------- */

static int net_save(net_manager *nm, net_network *n, berr *e)
{
    json_t *doc = json_pack("{s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:b, s:i, s:s, s:s, s:s, s:s, s:O, s:O, s:O*}", "Driver",
                            n->driver, "Bridge", n->bridge, "Internal", n->internal, "Attachable", n->attachable, "ICC",
                            n->icc, "Masquerade", n->masquerade, "Predefined", n->predefined, "UserSubnet",
                            n->user_subnet, "MTU", n->mtu, "Subnet", n->subnet, "IPRange", n->ip_range, "Gateway",
                            n->gateway, "HostBinding", n->host_binding, "Labels", n->labels, "Options", n->options,
                            "AuxAddresses", n->aux_addresses);
    cleanup_free char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    cleanup_stmt sqlite3_stmt *st = NULL;
    int r = sql_prepare(nm->db,
                               "INSERT INTO networks(id, name, created, doc) VALUES(?1, ?2, ?3, ?4) "
                               "ON CONFLICT(id) DO UPDATE SET doc = ?4",
                               &st, e);
    if (r < 0)
        return r;
    sqlite3_bind_text(st, 1, n->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, n->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, n->created, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        return berr_set(e, -EIO, "save network %s: %s", n->name, sqlite3_errmsg(nm->db));
    return 0;
}

static int net_delete_row(net_manager *nm, net_network *n, berr *e)
{
    cleanup_stmt sqlite3_stmt *st = NULL;
    int r = sql_prepare(nm->db, "DELETE FROM networks WHERE id = ?", &st, e);
    if (r < 0)
        return r;
    sqlite3_bind_text(st, 1, n->id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        return berr_set(e, -EIO, "delete network %s: %s", n->name, sqlite3_errmsg(nm->db));
    return 0;
}

static net_network *net_from_row(sqlite3_stmt *st)
{
    json_t *doc = json_loads((const char *)sqlite3_column_text(st, 3), 0, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return NULL;
    }
    net_network *n = xcalloc(1, sizeof *n);
    snprintf(n->id, sizeof n->id, "%s", (const char *)sqlite3_column_text(st, 0));
    snprintf(n->name, sizeof n->name, "%s", (const char *)sqlite3_column_text(st, 1));
    snprintf(n->created, sizeof n->created, "%s", (const char *)sqlite3_column_text(st, 2));
    snprintf(n->driver, sizeof n->driver, "%s", json_str(doc, "Driver"));
    snprintf(n->bridge, sizeof n->bridge, "%s", json_str(doc, "Bridge"));
    n->internal = json_is_true(json_object_get(doc, "Internal"));
    n->attachable = json_is_true(json_object_get(doc, "Attachable"));
    n->icc = json_is_true(json_object_get(doc, "ICC"));
    n->masquerade = json_is_true(json_object_get(doc, "Masquerade"));
    n->predefined = json_is_true(json_object_get(doc, "Predefined"));
    n->user_subnet = json_is_true(json_object_get(doc, "UserSubnet"));
    n->mtu = (int)json_integer_value(json_object_get(doc, "MTU"));
    snprintf(n->subnet, sizeof n->subnet, "%s", json_str(doc, "Subnet"));
    snprintf(n->ip_range, sizeof n->ip_range, "%s", json_str(doc, "IPRange"));
    snprintf(n->gateway, sizeof n->gateway, "%s", json_str(doc, "Gateway"));
    snprintf(n->host_binding, sizeof n->host_binding, "%s", json_str(doc, "HostBinding"));
    json_t *l = json_object_get(doc, "Labels"), *o = json_object_get(doc, "Options");
    n->labels = json_is_object(l) ? json_incref(l) : json_object();
    n->options = json_is_object(o) ? json_incref(o) : json_object();
    json_t *aux = json_object_get(doc, "AuxAddresses");
    n->aux_addresses = json_is_object(aux) ? json_incref(aux) : NULL;
    json_decref(doc);
    return n;
}

static void add_net(net_manager *nm, net_network *n)
{
    nm->nets = xrealloc(nm->nets, (nm->n_nets + 1) * sizeof *nm->nets);
    nm->nets[nm->n_nets++] = n;
}

static void forget_net(net_manager *nm, net_network *n)
{
    for (size_t i = 0; i < nm->n_nets; i++)
        if (nm->nets[i] == n) {
            memmove(&nm->nets[i], &nm->nets[i + 1], (nm->n_nets - i - 1) * sizeof *nm->nets);
            nm->n_nets--;
            return;
        }
}

void net_network_adopt(net_manager *nm, net_network *n)
{
    add_net(nm, n);
    berr e = {0};
    if (net_rules_sync(nm, &e) < 0)
        log_warn("network %s: %s", n->name, e.msg);
}

void net_network_drop(net_manager *nm, net_network *n)
{
    forget_net(nm, n);
    net_network_free(n);
    berr e = {0};
    if (net_rules_sync(nm, &e) < 0)
        log_warn("nftables: %s", e.msg);
}

/* ---- bridge devices --------------------------------------------------------- */

/* The bridge device with the network's gateway on it, up; published ports
 * reached at 127.0.0.1 need route_localnet on it. */
int net_bridge_up(net_manager *nm, net_network *n, berr *e)
{
    uint32_t a;
    int len;
    if (ipam_parse_cidr(n->subnet, &a, &len) < 0)
        return berr_set(e, -EINVAL, "network %s: bad subnet %s", n->name, n->subnet);
    char cidr[IPAM_CIDR_BUF + 4];
    snprintf(cidr, sizeof cidr, "%s/%d", n->gateway, len);
    int r = netlink_bridge_ensure(nm->nl, n->bridge, n->mtu, e);
    if (r == 0)
        r = netlink_addr_add(nm->nl, n->bridge, cidr, e);
    if (r == 0 && !n->internal) {
        cleanup_free char *key = xasprintf("net.ipv4.conf.%s.route_localnet", n->bridge);
        r = netns_sysctl(-1, key, "1", e);
    }
    if (r < 0)
        berr_wrap(e, "network %s: bridge %s", n->name, n->bridge);
    return r;
}

/* Auxiliary addresses, checked and kept from containers as libnetwork
 * does (its words, its status codes). */
static int reserve_aux(net_network *n, berr *e)
{
    const char *k;
    json_t *v;
    json_object_foreach(n->aux_addresses, k, v) {
        const char *addr = json_string_value(v);
        uint32_t a;
        if (!addr || ipam_parse_addr(addr, &a) < 0)
            return berr_set(e, -EINVAL, "non parsable secondary ip address (%s:%s) passed for network %s", k,
                            addr ? addr : "", n->name);
        if ((a & ipam_mask(n->pool.prefix)) != n->pool.subnet)
            return berr_set(e, -EPERM, "auxiliary address: (%s:%s) must belong to the master pool: %s", k, addr,
                            n->subnet);
        berr why = {0};
        if (ipam_reserve(&n->pool, a, &why) < 0 && why.code == -EEXIST)
            return berr_set(e, -EIO, "failed to allocate secondary ip address (%s:%s): %s", k, addr, why.msg);
    }
    return 0;
}

static int pool_init(net_network *n, berr *e)
{
    ipam_pool_free(&n->pool);
    int r = ipam_pool_init(&n->pool, n->subnet, n->ip_range, n->gateway, e);
    if (r == 0 && !n->gateway[0])
        ipam_format_addr(n->pool.gateway, n->gateway);
    return r < 0 ? r : reserve_aux(n, e);
}

/* Subnets of every bridge network but skip. */
static ipam_subnet *taken_subnets(net_manager *nm, const net_network *skip, size_t *n)
{
    ipam_subnet *t = xcalloc(nm->n_nets + 1, sizeof *t);
    *n = 0;
    for (size_t i = 0; i < nm->n_nets; i++) {
        net_network *o = nm->nets[i];
        if (o != skip && o->subnet[0] && ipam_parse_cidr(o->subnet, &t[*n].addr, &t[*n].prefix) == 0)
            (*n)++;
    }
    return t;
}

static int pick_subnet(net_manager *nm, net_network *n, berr *e)
{
    size_t nt;
    cleanup_free ipam_subnet *taken = taken_subnets(nm, n, &nt);
    ipam_subnet s;
    const ipam_default_pool *pools = nm->cfg.pools ? nm->cfg.pools : ipam_docker_pools;
    size_t np = nm->cfg.pools ? nm->cfg.n_pools : ipam_docker_pools_n;
    int r = ipam_pick_subnet(pools, np, taken, nt, &s, e);
    if (r < 0)
        return r;
    ipam_format_cidr(s.addr, s.prefix, n->subnet);
    n->gateway[0] = 0;
    return 0;
}

/* ---- the predefined networks --------------------------------------------- */

static net_network *find_by_name(net_manager *nm, const char *name)
{
    for (size_t i = 0; i < nm->n_nets; i++)
        if (!strcmp(nm->nets[i]->name, name))
            return nm->nets[i];
    return NULL;
}

static net_network *new_net(const char *name, const char *driver)
{
    net_network *n = xcalloc(1, sizeof *n);
    digest_random_id(n->id);
    snprintf(n->name, sizeof n->name, "%s", name);
    snprintf(n->driver, sizeof n->driver, "%s", driver);
    time_now_rfc3339(n->created);
    n->labels = json_object();
    n->options = json_object();
    return n;
}

static int ensure_predefined(net_manager *nm, const char *name, const char *driver, berr *e)
{
    net_network *n = find_by_name(nm, name);
    if (n)
        return 0;
    n = new_net(name, driver);
    n->predefined = true;
    add_net(nm, n);
    return net_save(nm, n, e);
}

/* The default bridge follows the daemon's flags at every start: --bridge,
 * --bip, --fixed-cidr, --icc, --ip-masq, --mtu, --ip. */
static int default_bridge(net_manager *nm, berr *e)
{
    const net_config *c = &nm->cfg;
    net_network *n = find_by_name(nm, "bridge");
    if (!strcmp(c->bridge, "none")) {
        if (n && !net_network_in_use(n)) {
            net_delete_row(nm, n, NULL);
            forget_net(nm, n);
            net_network_free(n);
        }
        return 0;
    }
    bool fresh = !n;
    if (fresh) {
        n = new_net("bridge", "bridge");
        n->predefined = true;
        add_net(nm, n);
    }
    snprintf(n->bridge, sizeof n->bridge, "%s", *c->bridge ? c->bridge : "docker0");
    n->icc = c->icc;
    n->masquerade = c->ip_masq;
    n->mtu = c->mtu;
    snprintf(n->host_binding, sizeof n->host_binding, "%s", c->default_ip);
    snprintf(n->ip_range, sizeof n->ip_range, "%s", c->fixed_cidr);
    if (*c->bip) {
        uint32_t a;
        int len;
        if (ipam_parse_cidr(c->bip, &a, &len) < 0)
            return berr_set(e, -EINVAL, "invalid value for --bip: %s", c->bip);
        ipam_format_cidr(a & ipam_mask(len), len, n->subnet);
        ipam_format_addr(a, n->gateway);
    } else if (!n->subnet[0]) {
        int r = pick_subnet(nm, n, e);
        if (r < 0)
            return r;
    }
    int r = pool_init(n, e);
    if (r < 0)
        return berr_wrap(e, "default bridge");
    json_object_clear(n->options);
    json_object_set_new(n->options, OPT_DEFAULT, json_string("true"));
    json_object_set_new(n->options, OPT_ICC, json_string(n->icc ? "true" : "false"));
    json_object_set_new(n->options, OPT_MASQ, json_string(n->masquerade ? "true" : "false"));
    json_object_set_new(n->options, OPT_HOST_BINDING, json_string(n->host_binding));
    json_object_set_new(n->options, OPT_NAME, json_string(n->bridge));
    json_object_set_new(n->options, OPT_MTU, json_sprintf("%d", n->mtu ? n->mtu : 1500));
    return net_save(nm, n, e);
}

int net_manager_open(net_manager *nm, uv_loop_t *loop, sqlite3 *db, const net_config *cfg, rt_event_sink events,
                     berr *e)
{
    memset(nm, 0, sizeof *nm);
    nm->loop = loop;
    nm->db = db;
    nm->cfg = *cfg;
    nm->events = events;
    int r = netlink_open(-1, &nm->nl, e);
    if (r < 0 || (r = nft_open(e)) < 0)
        return r;
    if (cfg->ip_forward && (r = netns_sysctl(-1, "net.ipv4.ip_forward", "1", e)) < 0)
        return r;
    cleanup_stmt sqlite3_stmt *st = NULL;
    if ((r = sql_prepare(db, "SELECT id, name, created, doc FROM networks ORDER BY created", &st, e)) < 0)
        return r;
    while (sqlite3_step(st) == SQLITE_ROW) {
        net_network *n = net_from_row(st);
        if (n)
            add_net(nm, n);
    }
    if ((r = default_bridge(nm, e)) < 0 || (r = ensure_predefined(nm, "host", "host", e)) < 0 ||
        (r = ensure_predefined(nm, "none", "null", e)) < 0)
        return r;
    for (size_t i = 0; i < nm->n_nets; i++) {
        net_network *n = nm->nets[i];
        if (strcmp(n->driver, "bridge"))
            continue;
        if (!n->pool.used && (r = pool_init(n, e)) < 0)
            return berr_wrap(e, "network %s", n->name);
        if ((r = net_bridge_up(nm, n, e)) < 0)
            return r;
    }
    /* Overlay devices exist only while endpoints do, and none do yet: any
     * found were left by a daemon that was killed. */
    netlink_delete_prefixed(nm->nl, "vx-");
    netlink_delete_prefixed(nm->nl, "ov-");
    return net_rules_sync(nm, e);
}

void net_manager_close(net_manager *nm)
{
    while (nm->sandboxes)
        net_sandbox_close(nm->sandboxes);
    net_ingress_retain(nm, NULL);
    /* The routing mesh keeps the ingress overlay up without endpoints. */
    for (size_t i = 0; i < nm->n_nets; i++)
        if (nm->nets[i]->ov) {
            nm->nets[i]->ov->pinned = false;
            net_overlay_down(nm, nm->nets[i]);
        }
    berr e = {0};
    if (nm->cfg.iptables && nm->applied_rules && !nm->keep_rules && nft_remove(&e) < 0)
        log_warn("removing berth's nftables table: %s", e.msg);
    for (size_t i = 0; i < nm->n_nets; i++)
        net_network_free(nm->nets[i]);
    free(nm->nets);
    free(nm->applied_rules);
    if (nm->nl)
        netlink_close(nm->nl);
    memset(nm, 0, sizeof *nm);
}

/* ---- lookup -------------------------------------------------------------- */

int net_network_find(net_manager *nm, const char *ref, net_network **out, berr *e)
{
    for (size_t i = 0; i < nm->n_nets; i++)
        if (!strcmp(nm->nets[i]->id, ref)) {
            *out = nm->nets[i];
            return 0;
        }
    net_network *n = find_by_name(nm, ref);
    if (!n && *ref) {
        size_t len = strlen(ref);
        for (size_t i = 0; i < nm->n_nets; i++) {
            if (strncmp(nm->nets[i]->id, ref, len))
                continue;
            if (n)
                return berr_set(e, -EINVAL, "network %s is ambiguous (%zu matches found on name)", ref, (size_t)2);
            n = nm->nets[i];
        }
    }
    if (!n)
        return berr_set(e, -ENOENT, "network %s not found", ref);
    *out = n;
    return 0;
}

/* ---- create and remove -------------------------------------------------------- */

static int bool_opt(json_t *opts, const char *key, bool def, bool *out, berr *e)
{
    json_t *v = json_object_get(opts, key);
    *out = def;
    if (!v)
        return 0;
    const char *s = json_string_value(v);
    if (json_is_boolean(v))
        *out = json_is_true(v);
    else if (s && (!strcmp(s, "true") || !strcmp(s, "1")))
        *out = true;
    else if (s && (!strcmp(s, "false") || !strcmp(s, "0")))
        *out = false;
    else
        return berr_set(e, -EINVAL, "failed to parse %s value: invalid syntax", key);
    return 0;
}

int net_parse_mtu(const char *s, int *out, berr *e)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 68 || v > 65535)
        return berr_set(e, -EINVAL, "invalid MTU %s", s);
    *out = (int)v;
    return 0;
}

static int create_options(net_manager *nm, net_network *n, json_t *opts, berr *e)
{
    int r;
    if ((r = bool_opt(opts, OPT_ICC, true, &n->icc, e)) < 0 || (r = bool_opt(opts, OPT_MASQ, true, &n->masquerade, e)) < 0)
        return r;
    const char *name = json_str(opts, OPT_NAME);
    if (*name) {
        if (strlen(name) > 15)
            return berr_set(e, -EINVAL, "bridge name %s is longer than 15 characters", name);
        for (size_t i = 0; i < nm->n_nets; i++)
            if (!strcmp(nm->nets[i]->bridge, name))
                return berr_set(e, -EEXIST, "bridge name %s is already used by network %s", name, nm->nets[i]->name);
        if (netlink_link_exists(nm->nl, name))
            return berr_set(e, -EEXIST, "device %s already exists on the host", name);
        unsigned vni;
        char rest;
        if (sscanf(name, "ov-%u%c", &vni, &rest) == 1)
            return berr_set(e, -EINVAL, "bridge name %s is reserved for overlay networks", name);
        snprintf(n->bridge, sizeof n->bridge, "%s", name);
    } else {
        snprintf(n->bridge, sizeof n->bridge, "br-%.12s", n->id);
    }
    const char *mtu = json_str(opts, OPT_MTU);
    n->mtu = nm->cfg.mtu;
    if (*mtu && (r = net_parse_mtu(mtu, &n->mtu, e)) < 0)
        return r;
    const char *hb = json_str(opts, OPT_HOST_BINDING);
    uint32_t a;
    if (*hb && ipam_parse_addr(hb, &a) < 0)
        return berr_set(e, -EINVAL, "invalid %s: %s", OPT_HOST_BINDING, hb);
    snprintf(n->host_binding, sizeof n->host_binding, "%s", *hb ? hb : nm->cfg.default_ip);
    return 0;
}

static int create_ipam(net_manager *nm, net_network *n, json_t *ipam, berr *e)
{
    const char *drv = json_str(ipam, "Driver");
    if (*drv && strcmp(drv, "default"))
        return berr_set(e, -ENOSYS, "IPAM driver %s is not available in berthd: only \"default\"", drv);
    json_t *cfgs = json_object_get(ipam, "Config");
    json_t *v4 = NULL;
    size_t i;
    json_t *c;
    json_array_foreach(cfgs, i, c) {
        if (strchr(json_str(c, "Subnet"), ':'))
            return berr_set(e, -ENOSYS, "IPv6 subnets are not supported by berthd yet");
        if (v4)
            return berr_set(e, -ENOSYS, "berthd supports one IPv4 subnet per network");
        v4 = c;
    }
    json_t *aux = v4 ? json_object_get(v4, "AuxiliaryAddresses") : NULL;
    if (json_object_size(aux))
        n->aux_addresses = json_deep_copy(aux);
    const char *subnet = v4 ? json_str(v4, "Subnet") : "";
    if (!*subnet && v4 && (*json_str(v4, "Gateway") || *json_str(v4, "IPRange")))
        return berr_set(e, -EINVAL, "a subnet is required with --gateway or --ip-range");
    if (*subnet) {
        uint32_t a;
        int len;
        if (ipam_parse_cidr(subnet, &a, &len) < 0)
            return berr_set(e, -EINVAL, "invalid CIDR address: %s", subnet);
        ipam_format_cidr(a & ipam_mask(len), len, n->subnet);
        size_t nt;
        cleanup_free ipam_subnet *taken = taken_subnets(nm, n, &nt);
        for (size_t t = 0; t < nt; t++)
            if (ipam_overlaps(a, len, taken[t].addr, taken[t].prefix))
                return berr_set(e, -EPERM, "invalid pool request: Pool overlaps with other one on this address space");
        snprintf(n->ip_range, sizeof n->ip_range, "%s", json_str(v4, "IPRange"));
        snprintf(n->gateway, sizeof n->gateway, "%s", json_str(v4, "Gateway"));
        n->user_subnet = true;
        return pool_init(n, e);
    }
    int r = pick_subnet(nm, n, e);
    return r < 0 ? r : pool_init(n, e);
}

int net_network_create(net_manager *nm, json_t *req, char id[65], berr *e)
{
    const char *name = json_str(req, "Name");
    const char *driver = json_str(req, "Driver");
    if (!*name)
        return berr_set(e, -EINVAL, "network name must not be empty");
    if (find_by_name(nm, name))
        return berr_set(e, -EEXIST, "network with name %s already exists", name);
    if (!*driver)
        driver = "bridge";
    if (!strcmp(driver, "host") || !strcmp(driver, "null"))
        return berr_set(e, -EPERM, "only one instance of \"%s\" network is allowed", driver);
    if (!strcmp(driver, "overlay"))
        return berr_set(e, -ENOSYS, "overlay networks are not available in berthd yet");
    if (strcmp(driver, "bridge"))
        return berr_set(e, -ENOENT, "plugin \"%s\" not found", driver);
    if (json_is_true(json_object_get(req, "EnableIPv6")))
        return berr_set(e, -ENOSYS, "IPv6 networks are not supported by berthd yet");
    if (json_is_true(json_object_get(req, "Ingress")) || json_is_true(json_object_get(req, "ConfigOnly")) ||
        *json_str(json_object_get(req, "ConfigFrom"), "Network"))
        return berr_set(e, -ENOSYS, "ingress and config-only networks are not available in berthd yet");
    const char *scope = json_str(req, "Scope");
    if (*scope && strcmp(scope, "local"))
        return berr_set(e, -ENOSYS, "networks of scope %s are not available in berthd yet", scope);
    json_t *labels = json_object_get(req, "Labels"), *opts = json_object_get(req, "Options");
    if ((labels && !json_is_object(labels) && !json_is_null(labels)) || (opts && !json_is_object(opts) && !json_is_null(opts)))
        return berr_set(e, -EINVAL, "Labels and Options must be objects");

    net_network *n = new_net(name, "bridge");
    n->internal = json_is_true(json_object_get(req, "Internal"));
    n->attachable = json_is_true(json_object_get(req, "Attachable"));
    if (json_is_object(labels))
        json_object_update(n->labels, labels);
    if (json_is_object(opts))
        json_object_update(n->options, opts);
    int r = create_options(nm, n, n->options, e);
    if (r == 0)
        r = create_ipam(nm, n, json_object_get(req, "IPAM"), e);
    if (r == 0)
        r = net_bridge_up(nm, n, e);
    if (r == 0)
        r = net_save(nm, n, e);
    if (r < 0) {
        netlink_link_delete(nm->nl, n->bridge, NULL);
        net_network_free(n);
        return r;
    }
    add_net(nm, n);
    berr re = {0};
    if (net_rules_sync(nm, &re) < 0)
        log_warn("network %s: %s", n->name, re.msg);
    snprintf(id, 65, "%s", n->id);
    emit(nm, n, "create", NULL);
    return 0;
}

int net_network_remove(net_manager *nm, net_network *n, berr *e)
{
    if (n->predefined)
        return berr_set(e, -EPERM, "%s is a pre-defined network and cannot be removed", n->name);
    if (net_network_in_use(n))
        return berr_set(e, -EBUSY, "error while removing network: network %s id %s has active endpoints", n->name,
                        n->id);
    int r = net_delete_row(nm, n, e);
    if (r < 0)
        return r;
    berr de = {0};
    if (netlink_link_delete(nm->nl, n->bridge, &de) < 0)
        log_warn("network %s: %s", n->name, de.msg);
    forget_net(nm, n);
    if (net_rules_sync(nm, &de) < 0)
        log_warn("network %s: %s", n->name, de.msg);
    emit(nm, n, "destroy", NULL);
    net_network_free(n);
    return 0;
}

/* ---- inspect ------------------------------------------------------------- */

void net_endpoint_mac_text(const uint8_t mac[6], char out[18])
{
    snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

const char *net_network_scope(const net_network *n) { return n->ov ? "swarm" : "local"; }

json_t *net_network_inspect(net_manager *nm, net_network *n)
{
    json_t *ipam_cfg = json_array();
    if (n->subnet[0]) {
        json_t *c = json_pack("{s:s, s:s}", "Subnet", n->subnet, "Gateway", n->gateway);
        if (n->ip_range[0])
            json_object_set_new(c, "IPRange", json_string(n->ip_range));
        if (n->aux_addresses)
            json_object_set(c, "AuxiliaryAddresses", n->aux_addresses);
        json_array_append_new(ipam_cfg, c);
    }
    json_t *containers = json_object();
    int prefix = n->pool.prefix;
    for (net_endpoint *ep = n->endpoints; ep; ep = ep->next) {
        char ip[IPAM_CIDR_BUF], mac[18];
        ipam_format_cidr(ep->ip, prefix, ip);
        net_endpoint_mac_text(ep->mac, mac);
        json_object_set_new(containers, ep->sb->container_id,
                            json_pack("{s:s, s:s, s:s, s:s, s:s}", "Name", ep->sb->name, "EndpointID", ep->id,
                                      "MacAddress", mac, "IPv4Address", ip, "IPv6Address", ""));
    }
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:{s:s, s:n, s:o}, s:b, s:b, s:b, s:{s:s}, s:b, s:o, s:O, s:O}",
                     "Name", n->name, "Id", n->id, "Created", n->created, "Scope", net_network_scope(n), "Driver", n->driver,
                     "EnableIPv6", 0, "IPAM", "Driver", "default", "Options", "Config", ipam_cfg, "Internal",
                     n->internal, "Attachable", n->attachable, "Ingress", n->ov && n->ov->ingress, "ConfigFrom", "Network", "",
                     "ConfigOnly", 0, "Containers", containers, "Options", n->options, "Labels", n->labels);
    json_t *peers = n->ov ? net_overlay_peers_json(nm, n, nm->vtep) : NULL;
    if (peers)
        json_object_set_new(doc, "Peers", peers);
    return doc;
}

/* ---- nftables ------------------------------------------------------------ */

int net_rules_sync(net_manager *nm, berr *e)
{
    if (!nm->cfg.iptables)
        return 0;
    size_t nn = 0, np = 0, cap_p = 0;
    cleanup_free nft_net *nets = xcalloc(nm->n_nets + 1, sizeof *nets);
    for (size_t i = 0; i < nm->n_nets; i++) {
        net_network *n = nm->nets[i];
        /* An overlay's bridge exists while it has endpoints here (or the mesh). */
        if (!strcmp(n->driver, "bridge") || (n->ov && n->ov->up))
            nets[nn++] = (nft_net){n->bridge, n->subnet, n->internal, n->icc, n->masquerade};
    }
    for (net_sandbox *sb = nm->sandboxes; sb; sb = sb->next)
        cap_p += sb->n_ports;
    cleanup_free nft_port *ports = xcalloc(cap_p + 1, sizeof *ports);
    /* The address strings must outlive the model: one buffer per port. */
    cleanup_free char(*ips)[IPAM_ADDR_BUF] = xcalloc(cap_p + 1, IPAM_ADDR_BUF);
    for (net_sandbox *sb = nm->sandboxes; sb; sb = sb->next) {
        net_endpoint *ep = NULL;
        for (size_t i = 0; i < sb->n_eps && !ep; i++)
            if (!sb->eps[i]->net->internal)
                ep = sb->eps[i];
        if (!ep)
            continue;
        for (size_t i = 0; i < sb->n_ports; i++) {
            net_port_binding *b = &sb->ports[i];
            ipam_format_addr(ep->ip, ips[np]);
            ports[np] = (nft_port){b->proto, b->host_ip, b->host_port, ep->net->bridge, ips[np], b->container_port};
            np++;
        }
    }
    size_t nl = 0, nb = 0;
    for (net_ingress *g = nm->ingress; g; g = g->next) {
        nl += g->n_ports;
        nb += g->n_ports * g->n_backends;
    }
    cleanup_free nft_lb *lbs = xcalloc(nl + 1, sizeof *lbs);
    cleanup_free const char **addrs = xcalloc(nb + 1, sizeof *addrs);
    size_t li = 0, ai = 0;
    net_network *mesh = net_overlay_mesh(nm);
    char mesh_addr[IPAM_ADDR_BUF] = "";
    if (mesh)
        ipam_format_addr(mesh->ov->node_addr, mesh_addr);
    for (net_ingress *g = nm->ingress; g; g = g->next)
        for (size_t i = 0; i < g->n_ports; i++) {
            const char **first = &addrs[ai];
            for (size_t k = 0; k < g->n_backends; k++)
                addrs[ai++] = g->backends[k];
            lbs[li++] = (nft_lb){g->ports[i].proto, g->ports[i].published, g->ports[i].target, first, g->n_backends,
                                 mesh ? mesh->bridge : NULL, mesh ? mesh_addr : NULL};
        }
    nft_model model = {nets, nn, ports, np, lbs, li};
    int r = nft_model_check(&model, e);
    if (r < 0)
        return r;
    cleanup_buf buf script = BUF_INIT;
    nft_ruleset(&model, &script);
    if (nm->applied_rules && !strcmp(nm->applied_rules, script.data))
        return 0;
    if ((r = nft_run(script.data, e)) < 0)
        return r;
    free(nm->applied_rules);
    nm->applied_rules = buf_steal(&script);
    return 0;
}
