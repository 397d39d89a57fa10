/* Overlay networks as cluster objects: POST /networks/create with driver
 * "overlay" stores a swarmkit Network document (a VNI and a subnet chosen
 * here from the store), DELETE removes it.  Every node mirrors them from
 * the store (netoverlay/overlay.h), so list and inspect are the local
 * ones of api/networks.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/handlers.h"
#include "api/networks_swarm.h"
#include "lib/jsonutil.h"
#include "netoverlay/networks.h"
#include "netoverlay/overlay.h"
#include "netoverlay/overlay_alloc.h"
#include "node/daemon.h"
#include "node/swarm.h"
#include "raft/cluster_store.h"
#include "scheduler/common.h"

#define OPT_MTU "com.docker.network.driver.mtu"
#define OPT_ENCRYPTED "encrypted"

bool api_network_wants_overlay(json_t *body)
{
    return !strcmp(json_str(body, "Driver"), "overlay");
}

static void now_text(char out[40])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    sched_time_format((long long)ts.tv_sec * SCHED_NS_PER_SEC + ts.tv_nsec, out);
}

void api_overlay_mirror(api_request *r)
{
    cluster_store *cs = r->d->swarm ? swarm_store(r->d->swarm) : NULL;
    if (!cs)
        return;
    json_t *docs = cs_list(cs, CS_NETWORK);
    net_overlay_set_networks(&r->d->networks, docs);
    json_decref(docs);
}

/* The IPAM part of the request as swarmkit's IPAMOptions and the chosen
 * config: Subnet, Gateway and Range given or picked. */
static int ipam_of(cluster_store *cs, json_t *req, json_t *networks, json_t **config, berr *e)
{
    json_t *ipam = json_object_get(req, "IPAM");
    const char *drv = json_str(ipam, "Driver");
    if (*drv && strcmp(drv, "default"))
        return berr_set(e, -ENOSYS, "IPAM driver %s is not available in berthd: only \"default\"", drv);
    json_t *cfgs = json_object_get(ipam, "Config");
    if (json_array_size(cfgs) > 1)
        return berr_set(e, -ENOSYS, "berthd supports one IPv4 subnet per network");
    json_t *c = json_array_get(cfgs, 0);
    const char *subnet = json_str(c, "Subnet"), *gw = json_str(c, "Gateway"), *range = json_str(c, "IPRange");
    if (strchr(subnet, ':'))
        return berr_set(e, -ENOSYS, "IPv6 subnets on overlay networks are not supported by berthd yet");
    if (json_object_size(json_object_get(c, "AuxiliaryAddresses")))
        return berr_set(e, -ENOSYS, "auxiliary addresses are not supported by berthd yet");
    if (!*subnet && (*gw || *range))
        return berr_set(e, -EINVAL, "a subnet is required with --gateway or --ip-range");
    char cidr[IPAM_CIDR_BUF];
    if (*subnet) {
        uint32_t a;
        int len;
        if (ipam_parse_cidr(subnet, &a, &len) < 0)
            return berr_set(e, -EINVAL, "invalid CIDR address: %s", subnet);
        ipam_format_cidr(a & ipam_mask(len), len, cidr);
        size_t i;
        json_t *n;
        json_array_foreach(networks, i, n) {
            uint32_t b;
            int blen;
            if (ipam_parse_cidr(ovl_network_subnet(n), &b, &blen) == 0 && ipam_overlaps(a, len, b, blen))
                return berr_set(e, -EPERM, "invalid pool request: Pool overlaps with other one on this address space");
        }
    } else {
        json_t *clusters = cs_list(cs, CS_CLUSTER);
        ipam_subnet s;
        int r = ovl_pick_subnet(json_array_get(clusters, 0), networks, &s, e);
        json_decref(clusters);
        if (r < 0)
            return r;
        ipam_format_cidr(s.addr, s.prefix, cidr);
    }
    /* The pool checks gateway and range against the subnet, in Docker's words. */
    ipam_pool p;
    int r = ipam_pool_init(&p, cidr, range, gw, e);
    if (r < 0)
        return r;
    char gwtext[IPAM_ADDR_BUF];
    ipam_format_addr(p.gateway, gwtext);
    ipam_pool_free(&p);
    *config = json_pack("{s:s, s:s}", "Subnet", cidr, "Gateway", gwtext);
    if (*range)
        json_object_set_new(*config, "Range", json_string(range));
    return 0;
}

static int check_request(api_request *r, cluster_store *cs, json_t *req, json_t *networks, berr *e)
{
    const char *name = json_str(req, "Name");
    if (!*name)
        return berr_set(e, -EINVAL, "network name must not be empty");
    net_network *local;
    if (net_network_find(&r->d->networks, name, &local, NULL) == 0 && !strcmp(local->name, name))
        return berr_set(e, -EEXIST, "network with name %s already exists", name);
    size_t i;
    json_t *n;
    json_array_foreach(networks, i, n) if (!strcmp(json_str(json_object_get(n, "Spec"), "Name"), name))
        return berr_set(e, -EEXIST, "network with name %s already exists", name);
    const char *scope = json_str(req, "Scope");
    if (*scope && strcmp(scope, "swarm"))
        return berr_set(e, -EINVAL, "overlay networks have scope \"swarm\", not \"%s\"", scope);
    if (json_is_true(json_object_get(req, "EnableIPv6")))
        return berr_set(e, -ENOSYS, "IPv6 overlay networks are not supported by berthd yet (bridge networks take --ipv6)");
    if (json_is_true(json_object_get(req, "ConfigOnly")) || *json_str(json_object_get(req, "ConfigFrom"), "Network"))
        return berr_set(e, -ENOSYS, "config-only networks are not available in berthd yet");
    json_t *labels = json_object_get(req, "Labels"), *opts = json_object_get(req, "Options");
    if ((labels && !json_is_object(labels) && !json_is_null(labels)) || (opts && !json_is_object(opts) && !json_is_null(opts)))
        return berr_set(e, -EINVAL, "Labels and Options must be objects");
    if (json_object_get(opts, OPT_ENCRYPTED))
        return berr_set(e, -ENOSYS, "encrypted overlay networks are not supported by berthd: this kernel has no IPsec "
                                    "(XFRM/ESP) to encrypt the VXLAN traffic with; create the network without "
                                    "--opt encrypted");
    const char *mtu = json_str(opts, OPT_MTU);
    int v, rc;
    if (*mtu && (rc = net_parse_mtu(mtu, &v, e)) < 0)
        return rc;
    if (json_is_true(json_object_get(req, "Ingress"))) {
        json_array_foreach(networks, i, n) if (json_is_true(json_object_get(json_object_get(n, "Spec"), "Ingress")))
            return berr_set(e, -EPERM, "rpc error: code = AlreadyExists desc = ingress network (%s) is already present",
                            json_str(n, "ID"));
        (void)cs;
    }
    return 0;
}

json_t *api_overlay_network_doc(const char *id, const char *now, json_t *req, json_t *ipam_config, uint32_t vni)
{
    json_t *labels = json_object_get(req, "Labels"), *opts = json_object_get(req, "Options");
    json_t *spec = json_pack("{s:s, s:o, s:{s:s, s:o}, s:{s:{s:s}, s:[O]}, s:b, s:b, s:b}", "Name",
                             json_str(req, "Name"), "Labels", json_is_object(labels) ? json_deep_copy(labels) : json_object(),
                             "DriverConfiguration", "Name", "overlay", "Options",
                             json_is_object(opts) ? json_deep_copy(opts) : json_object(), "IPAMOptions", "Driver", "Name",
                             "default", "Configs", ipam_config, "Internal", json_is_true(json_object_get(req, "Internal")),
                             "Attachable", json_is_true(json_object_get(req, "Attachable")), "Ingress",
                             json_is_true(json_object_get(req, "Ingress")));
    return json_pack("{s:s, s:{s:i}, s:s, s:s, s:o, s:{s:s, s:{s:o}}, s:{s:{s:s}, s:[O]}}", "ID", id, "Version",
                     "Index", 0, "CreatedAt", now, "UpdatedAt", now, "Spec", spec, "DriverState", "Name", "overlay",
                     "Options", OVL_VNI_OPTION, json_sprintf("%u", vni), "IPAM", "Driver", "Name", "default", "Configs",
                     ipam_config);
}

typedef struct net_write {
    api_request *r;
    char id[26];
    char name[256];
    bool create;
} net_write;

static void written(void *arg, int status, uint64_t index, const berr *e)
{
    (void)index;
    net_write *w = arg;
    api_overlay_mirror(w->r);
    char msg[400];
    if (status == -EEXIST) {
        snprintf(msg, sizeof msg, "network with name %s already exists", w->name);
        api_reply_error(w->r, -EEXIST, msg);
    } else if (status == -ENOENT) {
        snprintf(msg, sizeof msg, "network %s not found", w->name);
        api_reply_error(w->r, -ENOENT, msg);
    } else if (status < 0)
        api_reply_berr(w->r, e);
    else if (w->create)
        api_reply_json(w->r, 201, json_pack("{s:s, s:s}", "Id", w->id, "Warning", ""));
    else
        api_reply_empty(w->r, 204);
    free(w);
}

static void propose(api_request *r, cluster_store *cs, net_write *w, json_t *doc)
{
    cs_op op = {.type = doc ? CS_PUT : CS_DEL, .kind = CS_NETWORK, .doc = doc, .if_version = doc ? 0 : -1};
    snprintf(op.id, sizeof op.id, "%s", w->id);
    w->r = r;
    berr e = {0};
    if (cluster_store_propose(cs, &op, 1, written, w, &e) < 0) {
        free(w);
        api_reply_berr(r, &e);
    }
}

void api_overlay_network_create(api_request *r, json_t *req)
{
    cluster_store *cs = api_swarm_store(r, api_network_create);
    if (!cs)
        return;
    berr e = {0};
    json_t *networks = cs_list(cs, CS_NETWORK), *config = NULL;
    uint32_t vni = 0;
    int rc = check_request(r, cs, req, networks, &e);
    if (rc == 0)
        rc = ipam_of(cs, req, networks, &config, &e);
    if (rc == 0)
        rc = ovl_pick_vni(networks, &vni, &e);
    json_decref(networks);
    if (rc < 0) {
        json_decref(config);
        api_reply_berr(r, &e);
        return;
    }
    net_write *w = xcalloc(1, sizeof *w);
    w->create = true;
    cs_new_id(w->id);
    snprintf(w->name, sizeof w->name, "%s", json_str(req, "Name"));
    char now[40];
    now_text(now);
    json_t *doc = api_overlay_network_doc(w->id, now, req, config, vni);
    json_decref(config);
    propose(r, cs, w, doc);
    json_decref(doc);
}

void api_overlay_network_remove(api_request *r, net_network *n)
{
    cluster_store *cs = api_swarm_store(r, api_network_delete);
    if (!cs)
        return;
    char msg[600];
    json_t *services = cs_list(cs, CS_SERVICE), *tasks = cs_list(cs, CS_TASK);
    const char *user = NULL, *what = "service";
    size_t i, k;
    json_t *s, *x;
    json_array_foreach(services, i, s) {
        json_t *spec = json_object_get(s, "Spec");
        json_array_foreach(json_object_get(json_object_get(spec, "TaskTemplate"), "Networks"), k, x)
            if (!strcmp(json_str(x, "Target"), n->id))
                user = json_str(spec, "Name");
        if (!user && n->ov->ingress && json_array_size(json_object_get(json_object_get(s, "Endpoint"), "Ports")))
            user = json_str(spec, "Name");
    }
    json_array_foreach(user ? NULL : tasks, i, s) {
        /* swarmkit's rule: a task holds the network while both its desired
         * and its observed state are running or before; the tasks of a
         * removed service (desired remove) do not, so `docker stack rm`
         * removes the stack's networks at once. */
        if (sched_task_desired(s) > SCHED_ST_RUNNING || sched_task_state(s) > SCHED_ST_RUNNING)
            continue;
        json_array_foreach(json_object_get(s, "NetworksAttachments"), k, x)
            if (!strcmp(json_str(json_object_get(x, "Network"), "ID"), n->id)) {
                user = json_str(s, "ID");
                what = "task";
            }
    }
    /* swarmkit's checks (services, then tasks) are the only ones, as
     * dockerd hands a swarm network's removal to the cluster: this node's
     * endpoints are task containers still stopping, and the network stays
     * here until its last one is gone (net_overlay_set_networks). */
    if (user) {
        snprintf(msg, sizeof msg, "rpc error: code = FailedPrecondition desc = network %s is in use by %s %s", n->id,
                 what, user);
        api_reply_error(r, -EINVAL, msg);
    } else {
        net_write *w = xcalloc(1, sizeof *w);
        snprintf(w->id, sizeof w->id, "%s", n->id);
        snprintf(w->name, sizeof w->name, "%s", n->name);
        propose(r, cs, w, NULL);
    }
    json_decref(services);
    json_decref(tasks);
}
