#include "netoverlay/networks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/digest.h"
#include "lib/jsonutil.h"
#include "lib/log.h"
#include "netoverlay/net_addressing.h"
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
#define OPT_IPV6 "com.docker.network.enable_ipv6"

void net_network_free(net_network *n)
{
    if (!n)
        return;
    net_overlay_free(n->ov);
    ipam_pool_free(&n->pool);
    ipam6_pool_free(&n->pool6);
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
    if (n->ipv6)
        json_object_update_new(doc, json_pack("{s:b, s:b, s:s, s:s, s:s}", "IPv6", 1, "UserSubnet6", n->user_subnet6,
                                              "Subnet6", n->subnet6, "IPRange6", n->ip_range6, "Gateway6", n->gateway6));
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
    n->ipv6 = json_is_true(json_object_get(doc, "IPv6"));
    n->user_subnet6 = json_is_true(json_object_get(doc, "UserSubnet6"));
    snprintf(n->subnet6, sizeof n->subnet6, "%s", json_str(doc, "Subnet6"));
    snprintf(n->ip_range6, sizeof n->ip_range6, "%s", json_str(doc, "IPRange6"));
    snprintf(n->gateway6, sizeof n->gateway6, "%s", json_str(doc, "Gateway6"));
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

/* The IPv6 gateway beside the IPv4 one.  A host that forwards IPv4 for
 * its containers forwards IPv6 too, as dockerd sets both (--ip-forward). */
static int bridge_up_v6(net_manager *nm, net_network *n, berr *e)
{
    ipam6_addr a;
    int len;
    if (ipam6_parse_cidr(n->subnet6, &a, &len) < 0)
        return berr_set(e, -EINVAL, "network %s: bad IPv6 subnet %s", n->name, n->subnet6);
    char cidr[IPAM6_CIDR_BUF + 4];
    snprintf(cidr, sizeof cidr, "%s/%d", n->gateway6, len);
    cleanup_free char *key = xasprintf("net.ipv6.conf.%s.disable_ipv6", n->bridge);
    int r = netns_sysctl(-1, key, "0", e);
    if (r == 0)
        r = netlink_addr_add(nm->nl, n->bridge, cidr, e);
    if (r == 0 && nm->cfg.ip_forward)
        r = netns_sysctl(-1, "net.ipv6.conf.all.forwarding", "1", e);
    return r;
}

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
    if (r == 0 && n->ipv6)
        r = bridge_up_v6(nm, n, e);
    if (r < 0)
        berr_wrap(e, "network %s: bridge %s", n->name, n->bridge);
    return r;
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
    int r = net_default_bridge_subnets(nm, n, e);
    if (r < 0)
        return r;
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
    nm->ula = ipam6_ula_pool(cfg->host_id ? cfg->host_id : "");
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
        if (!n->pool.used && (r = net_pools_init(n, e)) < 0)
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
    if (json_is_true(json_object_get(req, "Ingress")) || json_is_true(json_object_get(req, "ConfigOnly")) ||
        *json_str(json_object_get(req, "ConfigFrom"), "Network"))
        return berr_set(e, -ENOSYS, "ingress and config-only networks are not available in berthd yet");
    const char *scope = json_str(req, "Scope");
    if (*scope && strcmp(scope, "local"))
        return berr_set(e, -ENOSYS, "networks of scope %s are not available in berthd yet", scope);
    json_t *labels = json_object_get(req, "Labels"), *opts = json_object_get(req, "Options");
    /* EnableIPv6, else the driver option dockerd also takes for it. */
    bool ipv6 = json_is_true(json_object_get(req, "EnableIPv6"));
    json_t *v6opt = json_object_get(opts, OPT_IPV6);
    if (!json_is_boolean(json_object_get(req, "EnableIPv6")) && v6opt) {
        const char *t = json_string_value(v6opt);
        if (!t || (strcmp(t, "true") && strcmp(t, "false") && strcmp(t, "1") && strcmp(t, "0")))
            return berr_set(e, -EINVAL, "driver-opt \"%s\" is not a valid bool", OPT_IPV6);
        ipv6 = !strcmp(t, "true") || !strcmp(t, "1");
    }
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
        r = net_create_ipam(nm, n, json_object_get(req, "IPAM"), ipv6, e);
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
    if (n->ipv6 && n->subnet6[0]) {
        json_t *c = json_pack("{s:s, s:s}", "Subnet", n->subnet6, "Gateway", n->gateway6);
        if (n->ip_range6[0])
            json_object_set_new(c, "IPRange", json_string(n->ip_range6));
        json_array_append_new(ipam_cfg, c);
    }
    json_t *containers = json_object();
    for (net_endpoint *ep = n->endpoints; ep; ep = ep->next) {
        char ip[IPAM_CIDR_BUF], ip6[IPAM6_CIDR_BUF] = "", mac[18];
        ipam_format_cidr(ep->ip, n->pool.prefix, ip);
        if (ep->has_ip6)
            ipam6_format_cidr(ep->ip6, n->pool6.prefix, ip6);
        net_endpoint_mac_text(ep->mac, mac);
        json_object_set_new(containers, ep->sb->container_id,
                            json_pack("{s:s, s:s, s:s, s:s, s:s}", "Name", ep->sb->name, "EndpointID", ep->id,
                                      "MacAddress", mac, "IPv4Address", ip, "IPv6Address", ip6));
    }
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:{s:s, s:n, s:o}, s:b, s:b, s:b, s:{s:s}, s:b, s:o, s:O, s:O}",
                     "Name", n->name, "Id", n->id, "Created", n->created, "Scope", net_network_scope(n), "Driver", n->driver,
                     "EnableIPv6", n->ipv6, "IPAM", "Driver", "default", "Options", "Config", ipam_cfg, "Internal",
                     n->internal, "Attachable", n->attachable, "Ingress", n->ov && n->ov->ingress, "ConfigFrom", "Network", "",
                     "ConfigOnly", 0, "Containers", containers, "Options", n->options, "Labels", n->labels);
    json_t *peers = n->ov ? net_overlay_peers_json(nm, n, nm->vtep) : NULL;
    if (peers)
        json_object_set_new(doc, "Peers", peers);
    return doc;
}
