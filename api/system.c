/* System endpoints: /_ping, /version, /info. */
#include <dirent.h>
#include <microhttpd.h>
#include <sys/statfs.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/handlers.h"
#include "git_commit.h"
#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/timefmt.h"
#include "node/daemon.h"
#include "node/hostinfo.h"
#include "runtime/container/validate.h"
#include "runtime/image/store.h"

void api_ping(api_request *r)
{
    /* dockerd answers only once its swarm component is up: a starting
     * cluster store holds the ping back (briefly) rather than say "pending"
     * to a CLI that checks it before swarm commands. */
    if (!api_swarm_settled(r, api_ping))
        return;
    /* The CLI negotiates its API version from these headers. */
    struct MHD_Response *resp = MHD_create_response_from_buffer(2, "OK", MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
    MHD_add_response_header(resp, "Builder-Version", "1");
    MHD_add_response_header(resp, "Swarm", api_swarm_status(r));
    MHD_add_response_header(resp, "Cache-Control", "no-cache, no-store, must-revalidate");
    MHD_add_response_header(resp, "Pragma", "no-cache");
    api_reply_response(r, 200, resp);
}

static const char *build_time(void)
{
    return __DATE__ " " __TIME__;
}

void api_version(api_request *r)
{
    hostinfo h;
    hostinfo_read(&h);
    json_t *details = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                                "ApiVersion", API_VERSION, "Arch", h.goarch, "BuildTime", build_time(),
                                "Experimental", r->d->cfg.experimental ? "true" : "false", "GitCommit", BERTH_GIT_COMMIT, "GoVersion", "n/a (C)",
                                "KernelVersion", h.kernel, "MinAPIVersion", API_MIN_VERSION, "Os", "linux");
    json_t *v = json_pack("{s:{s:s}, s:[{s:s, s:s, s:o}], s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                          "Platform", "Name", "Berth Engine",
                          "Components", "Name", "Engine", "Version", BERTH_VERSION, "Details", details,
                          "Version", BERTH_VERSION, "ApiVersion", API_VERSION, "MinAPIVersion", API_MIN_VERSION,
                          "GitCommit", BERTH_GIT_COMMIT, "GoVersion", "n/a (C)", "Os", "linux", "Arch", h.goarch,
                          "KernelVersion", h.kernel, "BuildTime", build_time());
    api_reply_json(r, 200, v);
}

/* dockerd's names for the filesystem under the data root. */
static const char *backing_fs(const char *path)
{
    static const struct { unsigned long magic; const char *name; } names[] = {
        {0xEF53, "extfs"}, {0x58465342, "xfs"}, {0x9123683E, "btrfs"}, {0x01021994, "tmpfs"},
        {0x794c7630, "overlayfs"}, {0x2FC12FC1, "zfs"}, {0x65735546, "fuseblk"},
    };
    struct statfs fs;
    if (statfs(path, &fs) < 0)
        return "<unknown>";
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if ((unsigned long)fs.f_type == names[i].magic)
            return names[i].name;
    return "<unknown>";
}

static long open_fds(void)
{
    long n = 0;
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        return 0;
    while (readdir(dir))
        n++;
    closedir(dir);
    return n > 3 ? n - 3 : 0; /* ".", ".." and the directory's own fd */
}

static json_t *driver_status(berth_daemon *d)
{
    json_t *st = json_array();
    json_array_append_new(st, json_pack("[s,s]", "Backing Filesystem", backing_fs(d->cfg.data_root)));
    if (d->driver.kind == RT_DRIVER_OVERLAY2) {
        json_array_append_new(st, json_pack("[s,s]", "Supports d_type", "true"));
        json_array_append_new(st, json_pack("[s,s]", "Using metacopy", "false"));
        json_array_append_new(st, json_pack("[s,s]", "Native Overlay Diff", "true"));
    }
    return st;
}

/* dockerd's list: the seccomp profile in use, no-new-privileges when it is
 * the default, cgroupns. */
static json_t *security_options(const berth_daemon *d)
{
    const berth_config *c = &d->cfg;
    const char *p = c->seccomp_profile;
    const char *shown = !strcmp(p, "builtin") ? "builtin" : !strcmp(p, "unconfined") ? "unconfined" : "custom";
    cleanup_free char *sec = xasprintf("name=seccomp,profile=%s", shown);
    json_t *a = json_pack("[s]", sec);
    if (c->no_new_privileges)
        json_array_append_new(a, json_string("name=no-new-privileges"));
    if (d->remap_on)
        json_array_append_new(a, json_string("name=userns"));
    json_array_append_new(a, json_string("name=cgroupns"));
    return a;
}

static void add_warning(void *arg, const char *key, const char *why)
{
    cleanup_free char *w = xasprintf("WARNING: the daemon option \"%s\" is accepted but ignored: %s", key, why);
    json_array_append_new(arg, json_string(w));
}

static json_t *config_warnings(const berth_config *c)
{
    json_t *w = json_array();
    config_each_ignored(c, add_warning, w);
    return w;
}

void api_info(api_request *r)
{
    if (!api_swarm_settled(r, api_info))
        return;
    berth_daemon *d = r->d;
    hostinfo h;
    hostinfo_read(&h);
    char now[TIME_RFC3339_BUF];
    time_now_rfc3339(now);
    char cgv[2] = {(char)('0' + h.cgroup_version), 0};

    json_t *o = json_object();
    json_object_set_new(o, "ID", json_string(d->id));
    size_t running = 0, paused = 0;
    for (size_t i = 0; i < d->containers.n; i++) {
        rt_state st = d->containers.list[i]->state;
        running += st == RT_STATE_RUNNING || st == RT_STATE_RESTARTING;
        paused += st == RT_STATE_PAUSED;
    }
    json_object_set_new(o, "Containers", json_integer((json_int_t)d->containers.n));
    json_object_set_new(o, "ContainersRunning", json_integer((json_int_t)running));
    json_object_set_new(o, "ContainersPaused", json_integer((json_int_t)paused));
    json_object_set_new(o, "ContainersStopped", json_integer((json_int_t)(d->containers.n - running - paused)));
    json_object_set_new(o, "Images", json_integer(rt_images_count(d->images)));
    json_object_set_new(o, "Driver", json_string(rt_driver_name(&d->driver)));
    json_object_set_new(o, "DriverStatus", driver_status(d));
    json_object_set_new(o, "Plugins", json_pack("{s:[s], s:[s,s,s], s:n, s:[s]}", "Volume", "local", "Network",
                                                "bridge", "host", "null", "Authorization", "Log", "json-file"));
    json_object_set_new(o, "MemoryLimit", json_true());
    json_object_set_new(o, "SwapLimit", json_true());
    json_object_set_new(o, "CpuCfsPeriod", json_true());
    json_object_set_new(o, "CpuCfsQuota", json_true());
    json_object_set_new(o, "CPUShares", json_true());
    json_object_set_new(o, "CPUSet", json_true());
    json_object_set_new(o, "PidsLimit", json_true());
    json_object_set_new(o, "OomKillDisable", json_false());
    json_object_set_new(o, "IPv4Forwarding", json_true());
    json_object_set_new(o, "Debug", json_boolean(config_log_level(&d->cfg) == LOG_DEBUG));
    json_object_set_new(o, "NFd", json_integer(open_fds()));
    json_object_set_new(o, "NGoroutines", json_integer(1));
    json_object_set_new(o, "SystemTime", json_string(now));
    json_object_set_new(o, "LoggingDriver", json_string(d->cfg.log_driver));
    json_object_set_new(o, "CgroupDriver", json_string("cgroupfs"));
    json_object_set_new(o, "CgroupVersion", json_string(cgv));
    json_object_set_new(o, "NEventsListener", json_integer((json_int_t)events_listeners(&d->events)));
    json_object_set_new(o, "KernelVersion", json_string(h.kernel));
    json_object_set_new(o, "OperatingSystem", json_string(h.os_name));
    json_object_set_new(o, "OSVersion", json_string(h.os_version));
    json_object_set_new(o, "OSType", json_string("linux"));
    json_object_set_new(o, "Architecture", json_string(h.arch));
    json_object_set_new(o, "IndexServerAddress", json_string("https://index.docker.io/v1/"));
    json_object_set_new(o, "RegistryConfig",
                        json_pack("{s:[], s:[s], s:{}, s:[]}", "AllowNondistributableArtifactsCIDRs",
                                  "InsecureRegistryCIDRs", "127.0.0.0/8", "IndexConfigs", "Mirrors"));
    json_object_set_new(o, "NCPU", json_integer(h.ncpu));
    json_object_set_new(o, "MemTotal", json_integer(h.mem_total));
    json_object_set_new(o, "GenericResources", json_null());
    json_object_set_new(o, "DockerRootDir", json_string(d->cfg.data_root));
    cleanup_free char *http_proxy = config_mask_credentials(d->cfg.http_proxy);
    cleanup_free char *https_proxy = config_mask_credentials(d->cfg.https_proxy);
    json_object_set_new(o, "HttpProxy", json_string(http_proxy));
    json_object_set_new(o, "HttpsProxy", json_string(https_proxy));
    json_object_set_new(o, "NoProxy", json_string(d->cfg.no_proxy));
    json_object_set_new(o, "Name", json_string(h.hostname));
    json_object_set_new(o, "Labels", d->cfg.labels ? json_deep_copy(d->cfg.labels) : json_array());
    json_object_set_new(o, "ExperimentalBuild", json_boolean(d->cfg.experimental));
    json_object_set_new(o, "ServerVersion", json_string(BERTH_VERSION));
    json_object_set_new(o, "Runtimes", json_pack("{s:{s:s}}", RT_RUNTIME_NAME, "path", "berthd (built in)"));
    json_object_set_new(o, "DefaultRuntime", json_string(RT_RUNTIME_NAME));
    json_object_set_new(o, "Swarm", api_swarm_info(r));
    json_object_set_new(o, "LiveRestoreEnabled", json_boolean(d->cfg.live_restore));
    json_object_set_new(o, "Isolation", json_string(""));
    json_object_set_new(o, "InitBinary", json_string(d->cfg.init_path));
    json_object_set_new(o, "ContainerdCommit", json_pack("{s:s, s:s}", "ID", "", "Expected", ""));
    json_object_set_new(o, "RuncCommit", json_pack("{s:s, s:s}", "ID", "", "Expected", ""));
    json_object_set_new(o, "InitCommit", json_pack("{s:s, s:s}", "ID", "", "Expected", ""));
    json_object_set_new(o, "SecurityOptions", security_options(d));
    json_object_set_new(o, "Warnings", config_warnings(&d->cfg));
    api_reply_json(r, 200, o);
}
