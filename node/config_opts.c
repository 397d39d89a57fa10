/* The one list of dockerd's options as berthd knows them: every flag and
 * daemon.json key of dockerd 28, with its type, whether SIGHUP reloads it, and, for the
 * ones berthd accepts without acting on them, why.  docs/configuration.md
 * documents the same set. */
#include <stdio.h>
#include <string.h>

#include "node/config_internal.h"

#define F(field) offsetof(berth_config, field)
#define NF OPT_NO_FIELD

/* Reasons shared by several options. */
#define NO_CONTAINERD "berthd runs containers itself, without containerd"

const opt_def config_opts[] = {
    /* The daemon process. */
    {"host", 'H', "hosts", T_LIST, F(hosts), false, "Daemon socket(s) to connect to (unix://, tcp://, fd://)", NULL},
    {"data-root", 0, "data-root", T_STR, F(data_root), false, "Root directory of persistent state (default \"/var/lib/berth\")", NULL},
    {"exec-root", 0, "exec-root", T_STR, F(exec_root), false, "Root directory for execution state files (default \"/run/berth\")", NULL},
    {"pidfile", 'p', "pidfile", T_STR, F(pidfile), false, "Path to use for daemon PID file (default \"<exec-root>/berthd.pid\")", NULL},
    {"config-file", 0, NULL, T_STR, F(config_file), false, "Daemon configuration file (default \"/etc/docker/daemon.json\")", NULL},
    {"log-level", 'l', "log-level", T_LEVEL, F(level), true, "Set the logging level (\"debug\"|\"info\"|\"warn\"|\"error\"|\"fatal\") (default \"info\")", NULL},
    {"debug", 'D', "debug", T_BOOL, F(debug), true, "Enable debug mode", NULL},
    {"log-format", 0, "log-format", T_STR, F(log_format), false, "Set the logging format (\"text\"|\"json\") (default \"text\")", NULL},
    {"raw-logs", 0, "raw-logs", T_BOOL, F(raw_logs), false, "Full timestamps without ANSI coloring (berthd never colours)", NULL},
    {"group", 'G', "group", T_STR, F(group), false, "Group for the unix socket (default \"docker\")", NULL},
    {"tls", 0, "tls", T_BOOL, F(tls), false, "Use TLS; implied by --tlsverify", NULL},
    {"tlsverify", 0, "tlsverify", T_BOOL, F(tlsverify), false, "Use TLS and verify the remote", NULL},
    {"tlscacert", 0, "tlscacert", T_STR, F(tlscacert), false, "Trust certs signed only by this CA", NULL},
    {"tlscert", 0, "tlscert", T_STR, F(tlscert), false, "Path to TLS certificate file", NULL},
    {"tlskey", 0, "tlskey", T_STR, F(tlskey), false, "Path to TLS key file", NULL},
    {"label", 0, "labels", T_SLIST, F(labels), true, "Set key=value labels to the daemon", NULL},
    {"experimental", 0, "experimental", T_BOOL, F(experimental), false, "Enable experimental features", NULL},
    {"feature", 0, "features", T_OBJ, F(features), true, "Enable feature in the daemon (name[=true|false])", NULL},
    {"metrics-addr", 0, "metrics-addr", T_STR, F(metrics_addr), false, "Set default address and port to serve the metrics api on", NULL},
    {"shutdown-timeout", 0, "shutdown-timeout", T_INT, F(shutdown_timeout), true, "Set the default shutdown timeout (default 15)",
     "every container gets its own stop timeout, then SIGKILL, and the daemon waits for all of them"},
    {"live-restore", 0, "live-restore", T_BOOL, F(live_restore), true, "Enable live restore of docker when containers are still running",
     NULL},
    {"validate", 0, NULL, T_BOOL, F(validate), false, "Validate daemon configuration and exit", NULL},
    {"version", 'v', NULL, T_BOOL, F(show_version), false, "Print version information and quit", NULL},
    {"help", 'h', NULL, T_BOOL, F(show_help), false, "Print usage", NULL},

    /* Storage. */
    {"storage-driver", 's', "storage-driver", T_STR, F(storage_driver), false, "Storage driver to use (overlay2, vfs)", NULL},
    {"storage-opt", 0, "storage-opts", T_SLIST, F(storage_opts), false, "Storage driver options",
     "overlay2 options are checked but not applied: layers have no size quota"},

    /* Container defaults. */
    {"log-driver", 0, "log-driver", T_STR, F(log_driver), false, "Default driver for container logs (default \"json-file\")", NULL},
    {"log-opt", 0, "log-opts", T_MAP, F(log_opts), false, "Default log driver options for containers (default map[])", NULL},
    {"dns", 0, "dns", T_SLIST, F(dns), false, "DNS server to use", NULL},
    {"dns-opt", 0, "dns-opts", T_SLIST, F(dns_opts), false, "DNS options to use", NULL},
    {"dns-search", 0, "dns-search", T_SLIST, F(dns_search), false, "DNS search domains to use", NULL},
    {"default-ulimit", 0, "default-ulimits", T_ULIMITS, F(default_ulimits), true, "Default ulimits for containers (default [])", NULL},
    {"default-shm-size", 0, "default-shm-size", T_BYTES, F(shm_size), true, "Default shm size for containers (default 64MiB)", NULL},
    {"default-ipc-mode", 0, "default-ipc-mode", T_STR, F(ipc_mode), false, "Default mode for containers ipc (\"shareable\" | \"private\") (default \"private\")", NULL},
    {"default-cgroupns-mode", 0, "default-cgroupns-mode", T_STR, F(cgroupns_mode), false, "Default mode for containers cgroup namespace (\"host\" | \"private\") (default \"private\" on cgroup v2, \"host\" on v1)", NULL},
    {"default-runtime", 0, "default-runtime", T_STR, F(default_runtime), false, "Default OCI runtime for containers (default \"berth\")", NULL},
    {"init", 0, "init", T_BOOL, F(init), false, "Run an init in the container to forward signals and reap processes", NULL},
    {"init-path", 0, "init-path", T_STR, F(init_path), false, "Path to the init binary run by --init (default: berth-init beside berthd, then PATH)", NULL},
    {NULL, 0, "default-init", T_STR, F(default_init), false, "The init binary when init-path is not set", NULL},
    {"no-new-privileges", 0, "no-new-privileges", T_BOOL, F(no_new_privileges), false, "Set no-new-privileges by default for new containers", NULL},
    {"seccomp-profile", 0, "seccomp-profile", T_STR, F(seccomp_profile), false, "Path to seccomp profile; \"unconfined\" or \"builtin\" (default \"builtin\")", NULL},
    {"exec-opt", 0, "exec-opts", T_SLIST, F(exec_opts), false, "Runtime execution options (native.cgroupdriver=cgroupfs)", NULL},
    {"cgroup-parent", 0, "cgroup-parent", T_STR, NF, false, "Set parent cgroup for all containers",
     "every container's cgroup is berth/<id> under the cgroup root"},
    {"cpu-rt-period", 0, "cpu-rt-period", T_INT, NF, false, "Limit the CPU real-time period in microseconds for the parent cgroup",
     "real-time CPU limits are not implemented"},
    {"cpu-rt-runtime", 0, "cpu-rt-runtime", T_INT, NF, false, "Limit the CPU real-time runtime in microseconds for the parent cgroup",
     "real-time CPU limits are not implemented"},
    {"oom-score-adj", 0, "oom-score-adjust", T_INT, NF, false, "Set the oom_score_adj for the daemon", "the daemon's oom_score_adj is left as it is"},
    {"selinux-enabled", 0, "selinux-enabled", T_BOOL, NF, false, "Enable selinux support", "SELinux labels are not applied"},
    {"userns-remap", 0, "userns-remap", T_STR, F(userns_remap), false, "User/Group setting for user namespaces (\"default\" or user[:group])", NULL},
    {"rootless", 0, "rootless", T_BOOL, NF, false, "Enable rootless mode", "berthd runs as root only"},
    {"add-runtime", 0, "runtimes", T_OBJ, NF, false, "Register an additional OCI compatible runtime",
     "external OCI runtimes are not used: berthd's runtime is built in"},
    {"cdi-spec-dir", 0, "cdi-spec-dirs", T_SLIST, NF, false, "CDI specification directories to use", "CDI devices are not implemented"},
    {"authorization-plugin", 0, "authorization-plugins", T_SLIST, NF, false, "Authorization plugins to load",
     "berthd has no plugins"},
    {"containerd", 0, "containerd", T_STR, NF, false, "containerd grpc address", NO_CONTAINERD},
    {"containerd-namespace", 0, "containerd-namespace", T_STR, NF, false, "Containerd namespace to use", NO_CONTAINERD},
    {"containerd-plugins-namespace", 0, "containerd-plugin-namespace", T_STR, NF, false, "Containerd namespace to use for plugins", NO_CONTAINERD},
    {"cri-containerd", 0, "cri-containerd", T_BOOL, NF, false, "start containerd with cri", NO_CONTAINERD},
    {NULL, 0, "builder", T_OBJ, NF, false, "BuildKit settings", "berthd has no builder"},
    {NULL, 0, "deprecated-key-path", T_STR, NF, false, "Deprecated, kept for old files", "it was removed from dockerd"},

    /* Registry transfers. */
    /* Registries: their checks are runtime/registry/endpoint.c's (node/registry_config.c). */
    {"registry-mirror", 0, "registry-mirrors", T_SLIST, F(registry_mirrors_json), true, "Preferred Docker registry mirror", NULL},
    {"insecure-registry", 0, "insecure-registries", T_SLIST, F(insecure_registries_json), true, "Enable insecure registry communication", NULL},
    {"max-concurrent-downloads", 0, "max-concurrent-downloads", T_INT, F(max_downloads), true, "Set the max concurrent downloads (default 3)", NULL},
    {"max-concurrent-uploads", 0, "max-concurrent-uploads", T_INT, F(max_uploads), true, "Set the max concurrent uploads (default 5)", NULL},
    {"max-download-attempts", 0, "max-download-attempts", T_INT, F(max_attempts), true, "Set the max download attempts for each pull (default 5)", NULL},
    {"http-proxy", 0, NULL, T_STR, F(http_proxy), false, "HTTP proxy URL to use for outgoing traffic", NULL},
    {"https-proxy", 0, NULL, T_STR, F(https_proxy), false, "HTTPS proxy URL to use for outgoing traffic", NULL},
    {"no-proxy", 0, NULL, T_STR, F(no_proxy), false, "Comma-separated list of hosts or IP addresses for which the proxy is skipped", NULL},
    {NULL, 0, "proxies", T_PROXIES, NF, false, "http-proxy, https-proxy and no-proxy as one object", NULL},

    /* Networking (the default bridge and published ports). */
    {"bridge", 'b', "bridge", T_STR, F(bridge), false, "Attach containers to a network bridge (default \"docker0\"; \"none\": no default bridge)", NULL},
    {"bip", 0, "bip", T_STR, F(bip), false, "Specify default-bridge IPv4 network (\"a.b.c.d/len\")", NULL},
    {"fixed-cidr", 0, "fixed-cidr", T_STR, F(fixed_cidr), false, "IPv4 subnet for the default bridge's container addresses", NULL},
    {"default-address-pool", 0, "default-address-pools", T_POOLS, F(address_pools), false, "Default address pools for networks (\"base=10.10.0.0/16,size=24\")", NULL},
    {"icc", 0, "icc", T_BOOL, F(icc), false, "Enable inter-container communication on the default bridge (default true)", NULL},
    {"ip-masq", 0, "ip-masq", T_BOOL, F(ip_masq), false, "Enable IP masquerading for the default bridge (default true)", NULL},
    {"iptables", 0, "iptables", T_BOOL, F(iptables), false, "Enable addition of berth's nftables rules (default true)", NULL},
    {"ip-forward", 0, "ip-forward", T_BOOL, F(ip_forward), false, "Enable net.ipv4.ip_forward (default true)", NULL},
    {"ip", 0, "ip", T_STR, F(ip), false, "Default IP when binding container ports (default \"0.0.0.0\")", NULL},
    {"mtu", 0, "mtu", T_INT, F(mtu), false, "Set the MTU of the default bridge and its containers (default 1500)", NULL},
    {"userland-proxy", 0, "userland-proxy", T_BOOL, F(userland_proxy), false, "Accepted for compatibility: berthd publishes ports with NAT only, 127.0.0.1 included", NULL},
    {"userland-proxy-path", 0, "userland-proxy-path", T_STR, NF, false, "Path to the userland proxy binary", "berthd never proxies ports in user space"},
    {"ipv6", 0, "ipv6", T_BOOL, F(ipv6), false, "Enable IPv6 networking on the default bridge", NULL},
    {"ip6tables", 0, "ip6tables", T_BOOL, F(ip6tables), false, "Enable addition of berth's IPv6 nftables rules (default true)", NULL},
    {"fixed-cidr-v6", 0, "fixed-cidr-v6", T_STR, F(fixed_cidr_v6), false, "IPv6 subnet for the default bridge (its address range with --bip6)", NULL},
    {"bip6", 0, "bip6", T_STR, F(bip6), false, "Specify default-bridge IPv6 network (\"addr/len\")", NULL},
    {"default-gateway", 0, "default-gateway", T_STR, NF, false, "Container default gateway IPv4 address", "containers route through their network's gateway"},
    {"default-gateway-v6", 0, "default-gateway-v6", T_STR, NF, false, "Container default gateway IPv6 address", "containers route through their network's gateway"},
    {"ip-forward-no-drop", 0, "ip-forward-no-drop", T_BOOL, NF, false, "Do not set the filter-FORWARD policy to DROP", "berthd's nftables table never changes the FORWARD policy"},
    {"allow-direct-routing", 0, "allow-direct-routing", T_BOOL, NF, false, "Allow remote access to published ports on container IP addresses", "direct routing rules are not implemented"},
    {"bridge-accept-fwmark", 0, "bridge-accept-fwmark", T_STR, NF, false, "In bridge networks, accept packets with this firewall mark/mask", "firewall marks are not implemented"},
    {"firewall-backend", 0, "firewall-backend", T_STR, NF, false, "Firewall backend to use, iptables or nftables", "berthd always programs nftables"},
    {"host-gateway-ip", 0, "host-gateway-ips", T_SLIST, NF, false, "IP addresses that the special 'host-gateway' string in --add-host resolves to",
     "host-gateway resolves to the gateway of the container's network"},
    {NULL, 0, "host-gateway-ip", T_STR, NF, false, "Deprecated single-address form of host-gateway-ips",
     "host-gateway resolves to the gateway of the container's network"},
    {"default-network-opt", 0, "default-network-opts", T_OBJ, NF, false, "Default network options", "networks take only the options given at create"},
    {"network-control-plane-mtu", 0, "network-control-plane-mtu", T_INT, NF, false, "Network Control plane MTU (default 1500)", "swarm's control plane uses the host's MTU"},
    {"network-diagnostic-port", 0, "network-diagnostic-port", T_INT, NF, false, "TCP port number of the network diagnostic server", "there is no network diagnostic server"},
    {"resolv-conf", 0, "resolv-conf", T_STR, NF, false, "The host's resolv.conf", "containers' resolv.conf is made from /etc/resolv.conf"},
    {"api-cors-header", 0, "api-cors-header", T_STR, NF, false, "Removed: use a reverse proxy for CORS headers", NULL},

    /* Swarm mode. */
    {"swarm-default-advertise-addr", 0, "swarm-default-advertise-addr", T_STR, NF, false, "Set default address or interface for swarm advertised address",
     "swarm init and join take the address from the request"},
    {"swarm-raft-heartbeat-tick", 0, "swarm-raft-heartbeat-tick", T_INT, NF, false, "Raft heartbeat tick (default 1)", "berth's raft keeps its own timings"},
    {"swarm-raft-election-tick", 0, "swarm-raft-election-tick", T_INT, NF, false, "Raft election tick (default 10)", "berth's raft keeps its own timings"},
    {"node-generic-resource", 0, "node-generic-resources", T_SLIST, NF, false, "Advertise user-defined resource", "generic resources are not offered to the scheduler"},
};
const size_t config_n_opts = sizeof config_opts / sizeof config_opts[0];

/* berthd --help: the table's flags with their help text. */
void config_usage(void)
{
    printf("Usage:\tberthd [OPTIONS]\n\nA container engine that speaks the Docker Engine API\n\nOptions:\n");
    for (size_t i = 0; i < config_n_opts; i++) {
        if (!config_opts[i].flag)
            continue;
        char names[64];
        if (config_opts[i].shorthand)
            snprintf(names, sizeof names, "-%c, --%s", config_opts[i].shorthand, config_opts[i].flag);
        else
            snprintf(names, sizeof names, "    --%s", config_opts[i].flag);
        const opt_type t = config_opts[i].type;
        const char *arg = t == T_BOOL                                                 ? ""
                          : t == T_LIST || t == T_POOLS || t == T_SLIST || t == T_OBJ ? " list"
                          : t == T_MAP                                                ? " map"
                          : t == T_ULIMITS                                            ? " ulimit"
                          : t == T_BYTES                                              ? " bytes"
                          : t == T_INT                                                ? " int"
                                                                                      : " string";
        printf("  %s%-*s %s%s\n", names, (int)(34 - strlen(names) > 34 ? 0 : 34 - strlen(names)), arg, config_opts[i].help,
               config_opts[i].ignored ? " (accepted, ignored)" : "");
    }
}
