/* POST /swarm/init.
 *
 * The node is already the manager of its own one-member cluster, so init
 * creates nothing: it resolves and records the addresses (the advertise
 * address becomes the node's Status.Addr and ManagerStatus.Addr, which
 * `docker info` and the join instructions show), merges the request's spec
 * into the cluster's (as dockerd's initClusterSpec does), renews both join
 * tokens and marks the cluster initialized, in one proposal.  A second
 * init is refused as dockerd refuses it, unless ForceNewCluster: dockerd
 * then restarts the node as the only member of the cluster it had, which a
 * one-member cluster already is, so only the addresses and spec change. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/swarm_api.h"
#include "api/versions.h"
#include "lib/cleanup.h"
#include "lib/timefmt.h"
#include "node/daemon.h"
#include "node/autolock.h"
#include "node/swarm.h"

typedef struct init_req {
    const char *listen, *advertise, *data_path, *availability;
    json_t *spec;
    json_t *pool;            /* DefaultAddrPool, or NULL */
    json_int_t subnet_size;
    json_int_t data_path_port;
    bool force;
    bool autolock;
} init_req;

static int str_field(json_t *body, const char *key, const char **out, berr *e)
{
    json_t *v = json_object_get(body, key);
    *out = "";
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return berr_set(e, -EINVAL, "json: cannot unmarshal %s into Go struct field InitRequest.%s of type string",
                        json_is_number(v) ? "number" : json_is_boolean(v) ? "bool" : "object", key);
    *out = json_string_value(v);
    return 0;
}

static int int_field(json_t *body, const char *key, json_int_t *out, berr *e)
{
    json_t *v = json_object_get(body, key);
    *out = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 0xffffffffLL)
        return berr_set(e, -EINVAL, "json: cannot unmarshal %s into Go struct field InitRequest.%s of type uint32",
                        json_is_number(v) ? "number" : "value", key);
    *out = json_integer_value(v);
    return 0;
}

static int parse_request(api_request *r, json_t *body, init_req *q, berr *e)
{
    memset(q, 0, sizeof *q);
    if (body && !json_is_object(body))
        return berr_set(e, -EINVAL, "json: cannot unmarshal into Go value of type swarm.InitRequest");
    int rc = str_field(body, "ListenAddr", &q->listen, e);
    if (rc == 0)
        rc = str_field(body, "AdvertiseAddr", &q->advertise, e);
    if (rc == 0)
        rc = str_field(body, "DataPathAddr", &q->data_path, e);
    if (rc == 0)
        rc = str_field(body, "Availability", &q->availability, e);
    /* DefaultAddrPool and SubnetSize came with API 1.39, DataPathPort with
     * 1.40: older clients' values are ignored, as dockerd ignores them. */
    if (rc == 0 && api_has(r, API_SWARM_ADDR_POOL))
        rc = int_field(body, "SubnetSize", &q->subnet_size, e);
    if (rc == 0 && api_has(r, API_SWARM_DATA_PATH_PORT))
        rc = int_field(body, "DataPathPort", &q->data_path_port, e);
    if (rc < 0)
        return rc;
    q->force = json_is_true(json_object_get(body, "ForceNewCluster"));
    q->autolock = json_is_true(json_object_get(body, "AutoLockManagers"));
    q->spec = json_object_get(body, "Spec");
    json_t *pool = api_has(r, API_SWARM_ADDR_POOL) ? json_object_get(body, "DefaultAddrPool") : NULL;
    if (pool && !json_is_null(pool)) {
        if (!json_is_array(pool))
            return berr_set(e, -EINVAL, "json: cannot unmarshal into Go struct field InitRequest.DefaultAddrPool of type []netip.Prefix");
        size_t i;
        json_t *p;
        json_array_foreach(pool, i, p) {
            const char *s = json_string_value(p);
            const char *slash = s ? strchr(s, '/') : NULL;
            char ip[64];
            unsigned char buf[16];
            if (!slash || (size_t)(slash - s) >= sizeof ip || !slash[1] || strspn(slash + 1, "0123456789") != strlen(slash + 1))
                return berr_set(e, -EINVAL, "netip.ParsePrefix(\"%s\"): not a CIDR prefix", s ? s : "");
            snprintf(ip, sizeof ip, "%.*s", (int)(slash - s), s);
            int bits = atoi(slash + 1);
            int max = inet_pton(AF_INET, ip, buf) == 1 ? 32 : inet_pton(AF_INET6, ip, buf) == 1 ? 128 : -1;
            if (max < 0 || bits > max)
                return berr_set(e, -EINVAL, "netip.ParsePrefix(\"%s\"): not a CIDR prefix", s);
        }
        if (json_array_size(pool) > 0)
            q->pool = pool;
    }
    return 0;
}

/* dockerd's validateDefaultAddrPool and getDataPathPort (their errors
 * carry no type, so they are 500s). */
static int check_pools(init_req *q, berr *e)
{
    if (q->pool) {
        json_int_t size = q->subnet_size ? q->subnet_size : 24;
        if (size > 29)
            return berr_set(e, -EIO, "subnet size is out of range: %lld", (long long)size);
        size_t i;
        json_t *p;
        json_array_foreach(q->pool, i, p) {
            const char *s = json_string_value(p);
            if (size < atoi(strchr(s, '/') + 1))
                return berr_set(e, -EIO, "invalid CIDR: \"%s\". Subnet size is too small for pool: %lld", s,
                                (long long)size);
        }
    }
    if (q->data_path_port && (q->data_path_port < 1024 || q->data_path_port > 49151))
        return berr_set(e, -EIO, "Datapath port number is not in valid range (1024-49151) : %lld",
                        (long long)q->data_path_port);
    if (q->availability[0] && strcmp(q->availability, "active") != 0 && strcmp(q->availability, "pause") != 0 &&
        strcmp(q->availability, "drain") != 0)
        return berr_set(e, -EIO, "invalid Availability: \"%s\"", q->availability);
    return 0;
}

typedef struct init_addrs {
    char *listen_host, *listen_port, *adv_host, *adv_port, *data_path;
} init_addrs;

static void init_addrs_free(init_addrs *a)
{
    free(a->listen_host);
    free(a->listen_port);
    free(a->adv_host);
    free(a->adv_port);
    free(a->data_path);
}

static int resolve_addrs(init_req *q, init_addrs *a, berr *e)
{
    int rc = api_swarm_listen_addr(q->listen, &a->listen_host, &a->listen_port, e);
    if (rc == 0)
        rc = api_swarm_advertise_addr(q->advertise, a->listen_port, &a->adv_host, &a->adv_port, e);
    if (rc == 0)
        rc = api_swarm_data_path_addr(q->data_path, &a->data_path, e);
    if (rc < 0)
        return rc;
    /* dockerd needs a local address to listen on: the advertise address if
     * it is this system's, else the system's one address. */
    if (strcmp(a->listen_host, "0.0.0.0") == 0 || strcmp(a->listen_host, "::") == 0) {
        cleanup_free char *sys = NULL;
        berr ignored = {0};
        if (!api_swarm_is_system_ip(a->adv_host) && api_swarm_system_addr(&sys, &ignored) < 0)
            return berr_set(e, -EINVAL,
                            "must specify a listening address because the address to advertise is not recognized as "
                            "a system address, and a system's IP address to use could not be uniquely identified");
    }
    return 0;
}

/* The cluster object after init, or NULL with e set. */
/* The cluster document's Spec.EncryptionConfig, made when missing. */
static json_t *ensure_encryption(json_t *cluster)
{
    json_t *spec = json_object_get(cluster, "Spec");
    if (!json_is_object(spec))
        json_object_set_new(cluster, "Spec", spec = json_object());
    json_t *enc = json_object_get(spec, "EncryptionConfig");
    if (!json_is_object(enc))
        json_object_set_new(spec, "EncryptionConfig", enc = json_object());
    return enc;
}

static json_t *init_cluster_doc(json_t *cur, init_req *q, bool initialized, const char *now, berr *e)
{
    json_t *doc = json_deep_copy(cur);
    json_t *spec = json_object_get(doc, "Spec");
    if (!json_is_object(spec)) {
        spec = swarm_default_spec();
        json_object_set_new(doc, "Spec", spec);
    }
    int rc = api_swarm_spec_apply(spec, q->spec, false, e);
    if (rc == -EINVAL && strncmp(e->msg, "rpc error", 9) == 0) {
        /* SwarmKit refused the merged spec after the node started. */
        berr_wrap(e, "error updating cluster settings");
        e->code = rc = -EIO;
    }
    if (rc == 0 && !initialized)
        rc = swarm_rotate_tokens(doc, true, true, e);
    if (rc < 0) {
        json_decref(doc);
        return NULL;
    }
    if (q->pool) {
        json_object_set(doc, "DefaultAddrPool", q->pool);
        json_object_set_new(doc, "SubnetSize", json_integer(q->subnet_size ? q->subnet_size : 24));
    } else if (!initialized) {
        json_object_set_new(doc, "DefaultAddrPool", json_pack("[s]", "10.0.0.0/8"));
        json_object_set_new(doc, "SubnetSize", json_integer(24));
    }
    if (q->data_path_port || !initialized)
        json_object_set_new(doc, "DataPathPort", json_integer(q->data_path_port ? q->data_path_port : 4789));
    json_t *berth = json_object_get(doc, "Berth");
    json_object_set_new(berth, "Initialized", json_true());
    json_object_set_new(doc, "UpdatedAt", json_string(now));
    return doc;
}

static json_t *init_node_doc(json_t *cur, init_req *q, init_addrs *a, const char *now)
{
    json_t *doc = json_deep_copy(cur);
    cleanup_free char *maddr = swarm_join_host_port(a->adv_host, a->adv_port);
    cleanup_free char *laddr = swarm_join_host_port(a->listen_host, a->listen_port);
    json_t *st = json_object_get(doc, "Status");
    if (json_is_object(st))
        json_object_set_new(st, "Addr", json_string(a->adv_host));
    json_t *ms = json_object_get(doc, "ManagerStatus");
    if (json_is_object(ms))
        json_object_set_new(ms, "Addr", json_string(maddr));
    if (q->availability[0])
        json_object_set_new(json_object_get(doc, "Spec"), "Availability", json_string(q->availability));
    json_t *berth = json_object_get(doc, "Berth");
    if (!json_is_object(berth)) {
        berth = json_object();
        json_object_set_new(doc, "Berth", berth);
    }
    /* RaftID (kept) says which raft member this node is. */
    json_object_set_new(berth, "ListenAddr", json_string(laddr));
    json_object_set_new(berth, "AdvertiseAddr", json_string(maddr));
    json_object_set_new(berth, "DataPathAddr", json_string(a->data_path));
    json_object_set_new(doc, "UpdatedAt", json_string(now));
    return doc;
}

static void on_forced(void *arg, int status, const berr *e)
{
    api_request *r = arg;
    if (status < 0) {
        api_reply_error(r, -EIO, e && e->msg[0] ? e->msg : "could not force a new cluster");
        return;
    }
    /* The store is back, this member alone: init proceeds as on a lone
     * manager. */
    api_swarm_init(r);
}

static size_t raft_members(cluster_store *cs)
{
    cs_member m[16];
    return cluster_store_members(cs, m, 16);
}

/* After a forced new cluster the other managers are gone from raft: their
 * documents say so. */
static size_t mark_others_gone(cluster_store *cs, const char *self, const char *now, cs_op *ops, json_t **docs,
                               size_t max)
{
    json_t *nodes = cs_list(cs, CS_NODE);
    size_t i, k = 0;
    json_t *n;
    json_array_foreach(nodes, i, n) {
        json_t *ms = json_object_get(n, "ManagerStatus");
        const char *id = json_string_value(json_object_get(n, "ID")) ?: "";
        if (!json_is_object(ms) || strcmp(id, self) == 0 || k == max ||
            strcmp(json_string_value(json_object_get(ms, "Reachability")) ?: "", "unreachable") == 0)
            continue;
        json_t *doc = json_deep_copy(n);
        json_object_set_new(json_object_get(doc, "ManagerStatus"), "Reachability", json_string("unreachable"));
        json_t *st = json_object_get(doc, "Status");
        if (json_is_object(st))
            json_object_set_new(st, "State", json_string("down"));
        json_object_set_new(doc, "UpdatedAt", json_string(now));
        docs[k] = doc;
        ops[k] = (cs_op){.type = CS_PUT, .kind = CS_NODE, .doc = doc, .if_version = (int64_t)api_swarm_doc_version(n)};
        snprintf(ops[k].id, sizeof ops[k].id, "%s", id);
        k++;
    }
    json_decref(nodes);
    return k;
}

void api_swarm_init(api_request *r)
{
    berr e = {0};
    json_t *body = NULL;
    if (api_body_json(r, &body, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    if (!api_swarm_store(r, api_swarm_init)) {
        json_decref(body);
        return;
    }
    swarm *s = r->d->swarm;
    init_req q;
    init_addrs a = {0};
    json_t *cluster = swarm_cluster_doc(s), *node = swarm_node_doc(s);
    json_t *cdoc = NULL, *ndoc = NULL;
    int rc = 0;
    if (!cluster || !node) {
        rc = berr_set(&e, -EAGAIN, "This node is not a swarm manager. Manager is being prepared or has trouble "
                                   "connecting to the cluster.");
        goto out;
    }
    bool initialized = json_is_true(json_object_get(json_object_get(cluster, "Berth"), "Initialized"));
    rc = parse_request(r, body, &q, &e);
    if (rc < 0)
        goto out;
    if (q.force && raft_members(swarm_store(s)) > 1) {
        rc = swarm_force_new_cluster(s, on_forced, r, &e);
        if (rc == 0) {
            json_decref(cluster);
            json_decref(node);
            json_decref(body);
            return;
        }
        goto out;
    }
    /* dockerd checks for an existing swarm before looking at the request. */
    if (initialized && !q.force) {
        rc = berr_set(&e, -EAGAIN, "%s", API_SWARM_EXISTS);
        goto out;
    }
    const char *name = json_string_value(json_object_get(q.spec, "Name"));
    if (name && *name && strcmp(name, "default") != 0) {
        rc = berr_set(&e, -EINVAL, "swarm spec must be named \"default\"");
        goto out;
    }
    rc = resolve_addrs(&q, &a, &e);
    if (rc == 0)
        rc = check_pools(&q, &e);
    if (rc < 0)
        goto out;
    char now[TIME_RFC3339_BUF];
    time_now_rfc3339(now);
    cdoc = init_cluster_doc(cluster, &q, initialized, now, &e);
    if (!cdoc) {
        rc = e.code;
        goto out;
    }
    if (q.autolock)   /* dockerd's AutoLockManagers: the spec's flag, a new unlock key */
        json_object_set_new(ensure_encryption(cdoc), "AutoLockManagers", json_true());
    autolock_apply_spec(cdoc, false);
    ndoc = init_node_doc(node, &q, &a, now);
    /* The swarm port moves to the listen address now (a port already taken
     * fails init, as in dockerd), and the others will reach this manager
     * at the advertise address. */
    {
        cleanup_free char *laddr = swarm_join_host_port(a.listen_host, a.listen_port);
        cleanup_free char *maddr = swarm_join_host_port(a.adv_host, a.adv_port);
        if ((rc = swarm_set_addresses(s, laddr, maddr, &e)) < 0)
            goto out;
    }
    cs_op ops[2 + 16] = {
        {.type = CS_PUT, .kind = CS_CLUSTER, .doc = cdoc, .if_version = (int64_t)api_swarm_doc_version(cluster)},
        {.type = CS_PUT, .kind = CS_NODE, .doc = ndoc, .if_version = (int64_t)api_swarm_doc_version(node)},
    };
    json_t *others[16] = {0};
    size_t n_others = q.force ? mark_others_gone(swarm_store(s), swarm_node_id(s), now, ops + 2, others, 16) : 0;
    snprintf(ops[0].id, sizeof ops[0].id, "%s", swarm_cluster_id(s));
    snprintf(ops[1].id, sizeof ops[1].id, "%s", swarm_node_id(s));
    /* The reply is the node ID, a JSON string. */
    api_swarm_propose(r, ops, 2 + n_others, json_string(swarm_node_id(s)));
    for (size_t i = 0; i < n_others; i++)
        json_decref(others[i]);
out:
    if (rc < 0)
        api_reply_berr(r, &e);
    init_addrs_free(&a);
    json_decref(cdoc);
    json_decref(ndoc);
    json_decref(cluster);
    json_decref(node);
    json_decref(body);
}
