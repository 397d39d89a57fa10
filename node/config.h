/* Daemon configuration: dockerd's flag names and daemon.json keys.
 *
 * Every option is declared once in a table (node/config.c) with its flag
 * spellings, its daemon.json key, its type and whether SIGHUP reloads it, so
 * flags, file keys, the conflict check and the reference docs cannot drift
 * apart.  Configuration is read once at start; config_reload() re-reads the
 * file and applies only the reloadable keys. */
#ifndef BERTH_NODE_CONFIG_H
#define BERTH_NODE_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"
#include "lib/log.h"

#define BERTH_DEFAULT_DATA_ROOT "/var/lib/berth"
#define BERTH_DEFAULT_EXEC_ROOT "/run/berth"
#define BERTH_DEFAULT_CONFIG_FILE "/etc/docker/daemon.json"
#define BERTH_DEFAULT_HOST "unix:///var/run/docker.sock"

typedef struct berth_config {
    char **hosts;            /* -H/--host, "hosts" (NULL-terminated; default one unix socket) */
    size_t n_hosts;
    char *data_root;         /* --data-root, "data-root" */
    char *exec_root;         /* --exec-root, "exec-root" */
    char *pidfile;           /* --pidfile, "pidfile" (default <exec-root>/berthd.pid) */
    char *config_file;       /* --config-file; NULL when none is used */
    log_level level;         /* --log-level, "log-level" */
    bool debug;              /* -D/--debug, "debug": forces level debug */
    char *group;             /* --group, "group": the unix socket's group */
    bool tls;                /* --tls, "tls" */
    bool tls_given;          /* tls was set explicitly (flag or file) */
    bool tlsverify;          /* --tlsverify, "tlsverify" (implies tls) */
    char *tlscacert;         /* --tlscacert, "tlscacert" */
    char *tlscert;           /* --tlscert, "tlscert" */
    char *tlskey;            /* --tlskey, "tlskey" */
    char *storage_driver;    /* -s/--storage-driver, "storage-driver" ("" = automatic) */
    char *init_path;         /* --init-path, "init-path": the --init binary ("" = look beside berthd) */
    /* Networking (the default bridge and published ports). */
    char *bridge;            /* -b/--bridge, "bridge": the default bridge's device ("none": no default bridge) */
    char *bip;               /* --bip, "bip": the default bridge's address and subnet */
    char *fixed_cidr;        /* --fixed-cidr, "fixed-cidr": the default bridge's address range */
    char **address_pools;    /* --default-address-pool, "default-address-pools": "base=CIDR,size=N" */
    size_t n_address_pools;
    bool icc;                /* --icc, "icc" (default true) */
    bool ip_masq;            /* --ip-masq, "ip-masq" (default true) */
    bool iptables;           /* --iptables, "iptables": berth's nftables rules (default true) */
    bool ip_forward;         /* --ip-forward, "ip-forward" (default true) */
    char *ip;                /* --ip, "ip": default address of published ports */
    long mtu;                /* --mtu, "mtu" (0: 1500) */
    bool ipv6;               /* --ipv6, "ipv6": the default bridge is dual-stack */
    bool ip6tables;          /* --ip6tables, "ip6tables": the ip6 half of berth's nftables rules (default true) */
    char *fixed_cidr_v6;     /* --fixed-cidr-v6, "fixed-cidr-v6": the default bridge's IPv6 subnet (range with bip6) */
    char *bip6;              /* --bip6, "bip6": the default bridge's IPv6 address and subnet */
    bool userland_proxy;     /* --userland-proxy, "userland-proxy": accepted; berthd never proxies (NAT reaches 127.0.0.1 too) */
    /* The daemon's own log. */
    char *log_format;        /* --log-format, "log-format": "text" or "json" */
    bool raw_logs;           /* --raw-logs, "raw-logs": berthd never colours, so always raw */
    /* Identity shown by docker info. */
    json_t *labels;          /* --label, "labels": array of "k=v" (reloadable) */
    bool experimental;       /* --experimental, "experimental" */
    json_t *features;        /* --feature, "features": object name -> bool (reloadable) */
    /* Container defaults (node/container_defaults.c turns them into HostConfig). */
    char *log_driver;        /* --log-driver, "log-driver" (default json-file) */
    json_t *log_opts;        /* --log-opt, "log-opts": object k -> string */
    json_t *dns;             /* --dns, "dns": array of addresses */
    json_t *dns_opts;        /* --dns-opt, "dns-opts" */
    json_t *dns_search;      /* --dns-search, "dns-search" */
    json_t *default_ulimits; /* --default-ulimit, "default-ulimits": name -> {Name, Soft, Hard} (reloadable) */
    long shm_size;           /* --default-shm-size, "default-shm-size" in bytes (reloadable, default 64 MiB) */
    char *ipc_mode;          /* --default-ipc-mode, "default-ipc-mode": private or shareable */
    char *cgroupns_mode;     /* --default-cgroupns-mode, "default-cgroupns-mode": host or private */
    char *default_runtime;   /* --default-runtime, "default-runtime": berth (runc names it too) */
    bool init;               /* --init, "init": run an init as PID 1 by default */
    char *default_init;      /* "default-init": the init binary when init-path is empty */
    bool no_new_privileges;  /* --no-new-privileges, "no-new-privileges" */
    char *userns_remap;      /* --userns-remap, "userns-remap": "default", "user", "user:group"; NULL: none */
    char *seccomp_profile;   /* --seccomp-profile, "seccomp-profile": "builtin", "unconfined" or a path */
    char *seccomp_json;      /* the profile read from that path (NULL otherwise) */
    json_t *exec_opts;       /* --exec-opt, "exec-opts": native.cgroupdriver=cgroupfs */
    long shutdown_timeout;   /* --shutdown-timeout, "shutdown-timeout" in seconds (reloadable, default 15) */
    /* Registry transfers (reloadable). */
    long max_downloads;      /* --max-concurrent-downloads (default 3) */
    long max_uploads;        /* --max-concurrent-uploads (default 5) */
    long max_attempts;       /* --max-download-attempts (default 5) */
    /* Registries (reloadable): the table's arrays, and the same as C
     * arrays for runtime/registry, kept in step by node/registry_config.c. */
    json_t *registry_mirrors_json;    /* --registry-mirror, "registry-mirrors" */
    json_t *insecure_registries_json; /* --insecure-registry, "insecure-registries": CIDRs and host[:port] */
    char **registry_mirrors;
    size_t n_registry_mirrors;
    char **insecure_registries;
    size_t n_insecure_registries;
    char *metrics_addr;      /* --metrics-addr, "metrics-addr": host:port of /metrics ("" = off) */
    char *http_proxy;        /* --http-proxy, "proxies"."http-proxy" */
    char *https_proxy;       /* --https-proxy, "proxies"."https-proxy" */
    char *no_proxy;          /* --no-proxy, "proxies"."no-proxy" */
    json_t *storage_opts;    /* --storage-opt, "storage-opts": overlay2.* options */
    bool live_restore;       /* --live-restore, "live-restore" (reloadable; runtime/container/restore.c) */
    json_t *ignored;         /* options accepted but not acted on: key -> value given */
    bool validate;           /* --validate: check and exit */
    bool show_version;       /* -v/--version */
    bool show_help;          /* -h/--help */
    bool flags_set_all[160]; /* option i was given on the command line (the reload's conflict check) */
} berth_config;

/* Parses argv, then the configuration file, and checks the result.  On
 * error returns -EINVAL with a message in dockerd's words naming the flag or
 * key at fault.  c must be zeroed by the caller; free with config_free. */
int config_load(berth_config *c, int argc, char **argv, berr *e);

/* Re-reads c->config_file and applies the reloadable keys (see
 * config_is_reloadable) that it holds; keys it does not hold keep their
 * values.  The same checks as at start apply (unknown keys, flag/file
 * conflicts, types, values); on error nothing changes.  *changed (if not
 * NULL) gets an object of the reloadable keys with their values now, as
 * the "Reloaded configuration" line shows them. */
int config_reload(berth_config *c, json_t **changed, berr *e);

/* Whether SIGHUP reloads the option with this daemon.json key. */
bool config_is_reloadable(const char *key);

/* Calls fn once for each option that was given but that berthd accepts
 * without acting on it, with the key and the reason. */
void config_each_ignored(const berth_config *c, void (*fn)(void *arg, const char *key, const char *why), void *arg);

/* Masks the password of a proxy URL as dockerd does ("xxxxx:xxxxx"). */
char *config_mask_credentials(const char *url);

/* The effective log level (debug wins over log-level). */
log_level config_log_level(const berth_config *c);

/* Prints the flag help (dockerd style) to stdout. */
void config_usage(void);

void config_free(berth_config *c);

#endif
