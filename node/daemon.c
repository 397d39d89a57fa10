#include "node/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/server.h"
#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "node/hostinfo.h"
#include "node/localstore.h"
#include "node/metrics.h"
#include "node/registry_config.h"
#include "node/swarm.h"
#include "runtime/image/store.h"
#include "runtime/registry/http.h"
#include "runtime/container/mounts.h"
#include "runtime/container/userns.h"
#include "runtime/volume/volumes.h"

#define SHUTDOWN_GRACE_MS 10000

/* The pidfile is held with an exclusive lock for the daemon's life: a second
 * daemon on the same pidfile fails to take it, whatever the file says. */
static int pidfile_take(berth_daemon *d, berr *e)
{
    const char *path = d->cfg.pidfile;
    cleanup_free char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        int r = fs_mkdir_p(dir, 0755, e);
        if (r < 0)
            return r;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return berr_sys(e, -errno, "open pid file %s", path);
    bool locked = flock(fd, LOCK_EX | LOCK_NB) == 0;
    char pid[32] = "";
    if (!locked) {
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = 0;
        pid[strcspn(pid, "\n")] = 0;
    }
    /* The daemon named in the file is gone (kill -9) but the lock is still
     * held: by its children caught between clone and exec (a container's
     * process, a live-restore monitor), which share the file and let go
     * within moments.  Only then is waiting right. */
    int holder = atoi(pid);
    for (int tries = 0; !locked && holder > 0 && kill(holder, 0) < 0 && errno == ESRCH && tries < 100; tries++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        locked = flock(fd, LOCK_EX | LOCK_NB) == 0;
    }
    if (!locked) {
        close(fd);
        return berr_set(e, -EEXIST, "pid file found, ensure berthd is not running or delete %s (held by process %s)", path,
                        pid[0] ? pid : "?");
    }
    int len = snprintf(pid, sizeof pid, "%d\n", getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
        int r = -errno;
        close(fd);
        return berr_sys(e, r, "write pid file %s", path);
    }
    d->pidfile_fd = fd;
    return 0;
}

static void pidfile_release(berth_daemon *d)
{
    if (d->pidfile_fd < 0)
        return;
    unlink(d->cfg.pidfile);
    close(d->pidfile_fd);
    d->pidfile_fd = -1;
}

/* A stable identity for /info, made once per data root. */
static int engine_id(berth_daemon *d, berr *e)
{
    cleanup_free char *path = xasprintf("%s/engine-id", d->cfg.data_root);
    cleanup_free char *text = NULL;
    if (fs_read_file(path, &text, NULL, NULL) == 0 && strlen(text) >= 64) {
        snprintf(d->id, sizeof d->id, "%.64s", text);
        return 0;
    }
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(d->id, sizeof d->id, raw, sizeof raw);
    return fs_write_file_atomic(path, d->id, 64, 0600, e);
}

static int prepare_dirs(berth_daemon *d, berr *e)
{
    int r = fs_mkdir_p(d->cfg.data_root, 0711, e);
    if (r == 0)
        r = fs_mkdir_p(d->cfg.exec_root, 0700, e);
    if (r < 0)
        return r;
    /* Spools and staging areas from a previous run are garbage now. */
    snprintf(d->tmp_dir, sizeof d->tmp_dir, "%s/tmp", d->cfg.data_root);
    r = fs_rm_rf(d->tmp_dir, e);
    if (r == 0)
        r = fs_mkdir_p(d->tmp_dir, 0700, e);
    return r;
}

/* --userns-remap: the mapping (creating dockremap for "default"), the user
 * namespace the idmapped roots are made with, and the owner of new volumes. */
static int setup_remap(berth_daemon *d, berr *e)
{
    const char *spec = d->cfg.userns_remap;
    if (!spec || !*spec)
        return 0;
    int r = rt_idmap_load(spec, &d->remap, e);
    if (r < 0)
        return r;
    if (d->driver.kind != RT_DRIVER_OVERLAY2)
        return berr_set(e, -ENOTSUP, "userns-remap needs the overlay2 storage driver (its layers are idmapped)");
    int fd = rt_idmap_userns_fd(&d->remap, e);
    if (fd < 0)
        return berr_wrap(e, "userns-remap");
    uid_t uid;
    gid_t gid;
    rt_idmap_uid(&d->remap, 0, &uid);
    rt_idmap_gid(&d->remap, 0, &gid);
    rt_containers_set_remap(&d->containers, &d->remap, fd);
    rt_volumes_set_owner(d->volumes, uid, gid);
    d->remap_on = true;
    log_info("User namespaces: root is remapped to %u:%u (%s:%s)", (unsigned)uid, (unsigned)gid, d->remap.user,
             d->remap.group);
    return 0;
}

void daemon_apply_container_defaults(berth_daemon *d)
{
    const berth_config *c = &d->cfg;
    json_t *h = json_object();
    json_object_set_new(h, "LogConfig", json_pack("{s:s, s:o}", "Type", c->log_driver ? c->log_driver : "json-file",
                                                  "Config", c->log_opts ? json_deep_copy(c->log_opts) : json_object()));
    json_object_set_new(h, "ShmSize", json_integer(c->shm_size));
    json_t *ul = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(c->default_ulimits, k, v) json_array_append(ul, v);
    json_object_set_new(h, "Ulimits", ul);
    if (c->dns)
        json_object_set(h, "Dns", c->dns);
    if (c->dns_opts)
        json_object_set(h, "DnsOptions", c->dns_opts);
    if (c->dns_search)
        json_object_set(h, "DnsSearch", c->dns_search);
    json_object_set_new(h, "IpcMode", json_string(c->ipc_mode ? c->ipc_mode : ""));
    json_object_set_new(h, "CgroupnsMode", json_string(c->cgroupns_mode ? c->cgroupns_mode : ""));
    json_object_set_new(h, "Init", json_boolean(c->init));
    json_t *sec = json_array();
    if (c->no_new_privileges)
        json_array_append_new(sec, json_string("no-new-privileges"));
    if (c->seccomp_profile && !strcmp(c->seccomp_profile, "unconfined"))
        json_array_append_new(sec, json_string("seccomp=unconfined"));
    else if (c->seccomp_json) {
        cleanup_free char *opt = xasprintf("seccomp=%s", c->seccomp_json);
        json_array_append_new(sec, json_string(opt));
    }
    json_object_set_new(h, "SecurityOpt", sec);
    rt_containers_set_defaults(&d->containers, h);
    rt_containers_set_live_restore(&d->containers, NULL, c->live_restore);
}

static void warn_one(void *arg, const char *key, const char *why)
{
    (void)arg;
    log_warn("Configuration option \"%s\" is accepted but ignored: %s", key, why);
}

void daemon_warn_ignored(const berth_config *c) { config_each_ignored(c, warn_one, NULL); }

static void on_signal(uv_signal_t *h, int signum)
{
    berth_daemon *d = h->data;
    if (signum == SIGHUP) {
        berr e = {0};
        json_t *now = NULL;
        if (config_reload(&d->cfg, &now, &e) < 0) {
            log_error("Error reconfiguring the daemon: %s", e.msg);
            return;
        }
        log_set_level(config_log_level(&d->cfg));
        daemon_apply_container_defaults(d);
        cleanup_free char *text = json_dumps(now, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(now);
        log_info("Reloaded configuration: %s", text ? text : "{}");
        return;
    }
    if (d->stopping) {
        log_warn("Signal %d received again while shutting down; still waiting for requests to finish", signum);
        return;
    }
    log_info("Processing signal '%s'", signum == SIGTERM ? "terminated" : "interrupt");
    daemon_stop(d);
}

static void signals_start(berth_daemon *d)
{
    uv_signal_t *hs[] = {&d->sig_term, &d->sig_int, &d->sig_hup};
    int nums[] = {SIGTERM, SIGINT, SIGHUP};
    for (int i = 0; i < 3; i++) {
        uv_signal_init(d->loop, hs[i]);
        hs[i]->data = d;
        uv_signal_start(hs[i], on_signal, nums[i]);
    }
}

static void close_stores(berth_daemon *d)
{
    if (d->containers_open)
        rt_containers_close(&d->containers);
    d->containers_open = false;
    if (d->networks_open)
        net_manager_close(&d->networks);
    d->networks_open = false;
    free(d->address_pools);
    d->address_pools = NULL;
    free(d->address_pools6);
    d->address_pools6 = NULL;
    rt_volumes_close(d->volumes);
    d->volumes = NULL;
    events_free(&d->events);
    reg_http_close(d->registry);
    d->registry = NULL;
    if (d->images)
        rt_images_close(d->images);
    d->images = NULL;
    localstore_close(d->db);
    d->db = NULL;
}

static void emit_event(void *ctx, const char *type, const char *action, const char *id, json_t *attributes)
{
    berth_daemon *d = ctx;
    events_emit(&d->events, type, action, id, attributes);
}

static int open_networks(berth_daemon *d, berr *e)
{
    const berth_config *c = &d->cfg;
    d->address_pools = xcalloc(c->n_address_pools + 1, sizeof *d->address_pools);
    d->address_pools6 = xcalloc(c->n_address_pools + 1, sizeof *d->address_pools6);
    size_t n4 = 0, n6 = 0;
    for (size_t i = 0; i < c->n_address_pools; i++) {
        const char *spec = c->address_pools[i];
        int r = strchr(spec, ':') ? ipam6_parse_default_pool(spec, &d->address_pools6[n6++], e)
                                  : ipam_parse_default_pool(spec, &d->address_pools[n4++], e);
        if (r < 0)
            return r;
    }
    net_config nc = {
        .bridge = c->bridge,
        .bip = c->bip,
        .fixed_cidr = c->fixed_cidr,
        .pools = n4 ? d->address_pools : NULL,
        .n_pools = n4,
        .pools6 = n6 ? d->address_pools6 : NULL,
        .n_pools6 = n6,
        .ipv6 = c->ipv6,
        .bip6 = c->bip6,
        .fixed_cidr_v6 = c->fixed_cidr_v6,
        .ip6tables = c->ip6tables,
        .host_id = d->id,
        .icc = c->icc,
        .ip_masq = c->ip_masq,
        .iptables = c->iptables,
        .ip_forward = c->ip_forward,
        .default_ip = c->ip,
        .mtu = (int)c->mtu,
    };
    int r = net_manager_open(&d->networks, d->loop, d->db, &nc, (rt_event_sink){emit_event, d}, e);
    if (r < 0) {
        net_manager_close(&d->networks);
        return berr_wrap(e, "error initializing networks");
    }
    d->networks_open = true;
    return 0;
}

/* The cluster store starts last, once nothing after it can fail: its
 * close is asynchronous, and a start that fails never runs the loop.  Its
 * own failures leave swarm in error rather than stopping the daemon, as
 * dockerd does. */
static void open_swarm(berth_daemon *d)
{
    hostinfo h;
    hostinfo_read(&h);
    swarm_host sh = {
        .hostname = h.hostname,
        .arch = h.arch,
        .nano_cpus = (long long)h.ncpu * 1000000000LL,
        .memory_bytes = h.mem_total,
        .engine_version = BERTH_VERSION,
    };
    d->swarm = swarm_open(d->loop, d->cfg.data_root, &sh);
}

int daemon_start(berth_daemon *d, uv_loop_t *loop, berr *e)
{
    d->loop = loop;
    d->pidfile_fd = -1;
    clock_gettime(CLOCK_REALTIME, &d->started);
    int r = pidfile_take(d, e);
    if (r < 0)
        return r;
    r = prepare_dirs(d, e);
    if (r == 0)
        r = engine_id(d, e);
    cleanup_free char *db_path = xasprintf("%s/local.db", d->cfg.data_root);
    if (r == 0)
        r = localstore_open(db_path, &d->db, e);
    if (r == 0) {
        r = rt_driver_init(&d->driver, d->cfg.data_root, d->cfg.storage_driver, e);
        if (r < 0)
            berr_wrap(e, "error initializing graphdriver");
    }
    if (r == 0)
        r = rt_images_open(&d->images, loop, d->db, &d->driver, d->cfg.data_root, e);
    if (r == 0)
        r = reg_http_open(&d->registry, loop, e);
    if (r == 0) {
        char certs[4096];
        registry_config_certs_dir(&d->cfg, certs, sizeof certs);
        reg_http_set_certs_dir(d->registry, certs);
    }
    if (r == 0)
        r = open_networks(d, e);
    if (r == 0)
        r = rt_volumes_open(&d->volumes, loop, d->db, d->cfg.data_root, e);
    if (r == 0) {
        rt_images_set_events(d->images, (rt_event_sink){emit_event, d});
        d->containers.events = (rt_event_sink){emit_event, d};
        d->containers.net = &d->networks;
        d->containers.attachments = attachments_hooks(&d->attachments);
        rt_volumes_set_events(d->volumes, (rt_event_sink){emit_event, d});
        rt_volumes_set_users(d->volumes, rt_mounts_volume_users, &d->containers);
        d->containers.volumes = d->volumes;
        r = setup_remap(d, e);
    }
    if (r == 0) {
        rt_containers_set_live_restore(&d->containers, d->cfg.exec_root, d->cfg.live_restore);
        r = rt_containers_open(&d->containers, loop, d->db, &d->driver, d->images, d->cfg.data_root,
                               d->cfg.init_path, e);
        d->containers_open = r == 0;
        if (r == 0)
            daemon_apply_container_defaults(d);
    }
    if (r == 0)
        r = metrics_start(d, &d->metrics, e);
    if (r == 0)
        r = api_server_start(d, &d->api, e);
    if (r < 0) {
        metrics_stop(d->metrics);
        d->metrics = NULL;
        close_stores(d);
        pidfile_release(d);
        return r;
    }
    open_swarm(d);
    reconciler_start(&d->reconciler, d);
    overlay_sync_start(&d->overlay, d);
    attachments_start(&d->attachments, d);
    agent_start(&d->agent, d);
    cluster_events_start(&d->cluster_events, d);
    autolock_start(&d->autolock, d);
    signals_start(d);
    log_info("Daemon has completed initialization (storage driver %s, data root %s)", rt_driver_name(&d->driver),
             d->cfg.data_root);
    return 0;
}

static void on_swarm_closed(void *arg)
{
    berth_daemon *d = arg;
    d->swarm = NULL;
    close_stores(d);
    pidfile_release(d);
    uv_close((uv_handle_t *)&d->sig_term, NULL);
    uv_close((uv_handle_t *)&d->sig_int, NULL);
    uv_close((uv_handle_t *)&d->sig_hup, NULL);
    log_info("Daemon shutdown complete");
}

/* The cluster store closes once no request can use it, and before the
 * local stores; raft's handles keep the loop alive until it is done. */
static void on_api_stopped(void *arg)
{
    berth_daemon *d = arg;
    d->api = NULL;
    metrics_stop(d->metrics);
    d->metrics = NULL;
    agent_stop(&d->agent);
    attachments_stop(&d->attachments);
    overlay_sync_stop(&d->overlay);
    cluster_events_stop(&d->cluster_events);
    autolock_stop(&d->autolock);
    reconciler_stop(&d->reconciler);
    if (d->swarm)
        swarm_close(d->swarm, on_swarm_closed, d);
    else
        on_swarm_closed(d);
}

/* Containers first: requests waiting on them (wait, attach) are answered
 * when they exit, and only then can the API stop without cutting anyone. */
static void on_containers_stopped(void *arg)
{
    berth_daemon *d = arg;
    api_server_stop(d->api, SHUTDOWN_GRACE_MS, on_api_stopped, d);
}

void daemon_stop(berth_daemon *d)
{
    if (d->stopping)
        return;
    d->stopping = true;
    rt_containers_shutdown(&d->containers, on_containers_stopped, d);
}

void daemon_free(berth_daemon *d) { config_free(&d->cfg); }
