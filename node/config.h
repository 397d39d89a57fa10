/* Daemon configuration: dockerd's flag names and daemon.json keys.
 *
 * Every option is declared once in a table (node/config.c) with its flag
 * spellings, its daemon.json key, its type and whether SIGHUP reloads it, so
 * flags, file keys, the conflict check and the reference docs cannot drift
 * apart.  Configuration is read once at start; config_reload() re-reads the
 * file and applies only the reloadable keys. */
#ifndef BERTH_NODE_CONFIG_H
#define BERTH_NODE_CONFIG_H

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
    bool userland_proxy;     /* --userland-proxy, "userland-proxy": accepted; berthd never proxies (NAT reaches 127.0.0.1 too) */
    /* Registries (runtime/registry/): reloadable with SIGHUP, as dockerd's. */
    char **registry_mirrors;       /* --registry-mirror, "registry-mirrors" */
    size_t n_registry_mirrors;
    char **insecure_registries;    /* --insecure-registry, "insecure-registries": CIDRs and host[:port] */
    size_t n_insecure_registries;
    long max_concurrent_downloads; /* --max-concurrent-downloads (default 3) */
    long max_concurrent_uploads;   /* --max-concurrent-uploads (default 5) */
    long max_download_attempts;    /* --max-download-attempts (default 5) */
    bool validate;           /* --validate: check and exit */
    bool show_version;       /* -v/--version */
    bool show_help;          /* -h/--help */
    unsigned long flags_set; /* bit i: option i was given on the command line */
} berth_config;

/* Parses argv, then the configuration file, and checks the result.  On
 * error returns -EINVAL with a message in dockerd's words naming the flag or
 * key at fault.  c must be zeroed by the caller; free with config_free. */
int config_load(berth_config *c, int argc, char **argv, berr *e);

/* Re-reads c->config_file and applies the reloadable keys (log-level,
 * debug) that it holds; keys it does not hold keep their values.  The
 * same checks as at start apply (unknown keys, flag/file conflicts, types);
 * on error nothing changes. */
int config_reload(berth_config *c, berr *e);

/* The effective log level (debug wins over log-level). */
log_level config_log_level(const berth_config *c);

/* Prints the flag help (dockerd style) to stdout. */
void config_usage(void);

void config_free(berth_config *c);

#endif
