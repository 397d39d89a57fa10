/* The daemon context: the one place that owns all daemon state.  Everything
 * in it is touched only from the loop thread. */
#ifndef BERTH_NODE_DAEMON_H
#define BERTH_NODE_DAEMON_H

#include <sqlite3.h>
#include <stdbool.h>
#include <time.h>
#include <uv.h>

#include "node/config.h"
#include "netoverlay/networks.h"
#include "node/agent.h"
#include "node/attachments.h"
#include "node/autolock.h"
#include "node/cluster_events.h"
#include "node/events.h"
#include "node/overlay_sync.h"
#include "node/reconcile.h"
#include "runtime/container/container.h"
#include "runtime/layer/graphdriver.h"

struct api_server;
struct rt_image_store;
struct reg_http;
struct swarm;

typedef struct berth_daemon {
    uv_loop_t *loop;
    berth_config cfg;
    char id[65];                    /* stable daemon ID, kept in <data-root>/engine-id */
    char tmp_dir[4096];             /* <data-root>/tmp: request spools and staging */
    sqlite3 *db;                    /* the local store */
    rt_graphdriver driver;
    struct rt_image_store *images;
    struct reg_http *registry;      /* HTTP to registries on the loop (runtime/registry/http.h) */
    struct rt_volumes *volumes;
    net_manager networks;
    bool networks_open;
    ipam_default_pool *address_pools;  /* parsed --default-address-pool, IPv4 ones */
    ipam6_default_pool *address_pools6;/* and IPv6 ones */
    rt_containers containers;
    bool containers_open;
    rt_idmap remap;                 /* --userns-remap's mapping, when remap_on */
    bool remap_on;
    events events;
    struct api_server *api;
    struct metrics_server *metrics; /* metrics-addr's /metrics (node/metrics.h) */
    struct swarm *swarm;            /* swarm mode: the cluster store (node/swarm.h) */
    reconciler reconciler;          /* the leader's orchestrators and scheduler (node/reconcile.h) */
    agent agent;                    /* this node's tasks -> containers (node/agent.h) */
    overlay_sync overlay;           /* overlay networks follow the store (node/overlay_sync.h) */
    attachments attachments;        /* plain containers on swarm overlays (node/attachments.h) */
    cluster_events cluster_events;  /* service and node events (node/cluster_events.h) */
    autolock autolock;              /* the keyring follows the cluster's unlock key (node/autolock.h) */
    uv_signal_t sig_term, sig_int, sig_hup;
    struct timespec started;
    bool stopping;
    int pidfile_fd;
} berth_daemon;

/* Starts everything from a loaded configuration: pidfile, directories,
 * stores, listeners.  On failure everything started is torn down again. */
int daemon_start(berth_daemon *d, uv_loop_t *loop, berr *e);

/* Begins a clean shutdown: stop accepting, let requests finish, close the
 * cluster store, then the local stores; the loop then runs dry and uv_run
 * returns. */
void daemon_stop(berth_daemon *d);

/* Hands the configuration's container defaults (log driver and options,
 * ulimits, shm size, DNS, modes, init, security options) to the container
 * manager; again after each reload. */
void daemon_apply_container_defaults(berth_daemon *d);

/* Logs one warning per option given but not acted on. */
void daemon_warn_ignored(const berth_config *c);

/* Releases what daemon_start allocated (after the loop has returned). */
void daemon_free(berth_daemon *d);

#endif
