#include "node/config.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "netoverlay/ipam.h"
#include "node/registry_config.h"

typedef enum opt_type { T_STR, T_BOOL, T_LIST, T_LEVEL, T_INT, T_POOLS } opt_type;

typedef struct opt_def {
    const char *flag;       /* long flag name without "--" */
    char shorthand;         /* one-letter flag or 0 */
    const char *key;        /* daemon.json key, or NULL for flag-only options */
    opt_type type;
    size_t off;             /* offset of the field in berth_config */
    bool reloadable;        /* SIGHUP re-applies it from the file */
    const char *help;
} opt_def;

#define F(field) offsetof(berth_config, field)

/* The one list of options.  docs/configuration.md documents the same set. */
static const opt_def opts[] = {
    {"host", 'H', "hosts", T_LIST, F(hosts), false, "Daemon socket(s) to connect to (unix://, tcp://, fd://)"},
    {"data-root", 0, "data-root", T_STR, F(data_root), false, "Root directory of persistent state (default \"/var/lib/berth\")"},
    {"exec-root", 0, "exec-root", T_STR, F(exec_root), false, "Root directory for execution state files (default \"/run/berth\")"},
    {"pidfile", 'p', "pidfile", T_STR, F(pidfile), false, "Path to use for daemon PID file (default \"<exec-root>/berthd.pid\")"},
    {"config-file", 0, NULL, T_STR, F(config_file), false, "Daemon configuration file (default \"/etc/docker/daemon.json\")"},
    {"log-level", 'l', "log-level", T_LEVEL, F(level), true, "Set the logging level (\"debug\"|\"info\"|\"warn\"|\"error\"|\"fatal\") (default \"info\")"},
    {"debug", 'D', "debug", T_BOOL, F(debug), true, "Enable debug mode"},
    {"group", 'G', "group", T_STR, F(group), false, "Group for the unix socket (default \"docker\")"},
    {"tls", 0, "tls", T_BOOL, F(tls), false, "Use TLS; implied by --tlsverify"},
    {"tlsverify", 0, "tlsverify", T_BOOL, F(tlsverify), false, "Use TLS and verify the remote"},
    {"tlscacert", 0, "tlscacert", T_STR, F(tlscacert), false, "Trust certs signed only by this CA"},
    {"tlscert", 0, "tlscert", T_STR, F(tlscert), false, "Path to TLS certificate file"},
    {"tlskey", 0, "tlskey", T_STR, F(tlskey), false, "Path to TLS key file"},
    {"storage-driver", 's', "storage-driver", T_STR, F(storage_driver), false, "Storage driver to use (overlay2, vfs)"},
    {"init-path", 0, "init-path", T_STR, F(init_path), false, "Path to the init binary run by --init (default: berth-init beside berthd, then PATH)"},
    {"bridge", 'b', "bridge", T_STR, F(bridge), false, "Attach containers to a network bridge (default \"docker0\"; \"none\": no default bridge)"},
    {"bip", 0, "bip", T_STR, F(bip), false, "Specify default-bridge IPv4 network (\"a.b.c.d/len\")"},
    {"fixed-cidr", 0, "fixed-cidr", T_STR, F(fixed_cidr), false, "IPv4 subnet for the default bridge's container addresses"},
    {"default-address-pool", 0, "default-address-pools", T_POOLS, F(address_pools), false, "Default address pools for networks (\"base=10.10.0.0/16,size=24\")"},
    {"icc", 0, "icc", T_BOOL, F(icc), false, "Enable inter-container communication on the default bridge (default true)"},
    {"ip-masq", 0, "ip-masq", T_BOOL, F(ip_masq), false, "Enable IP masquerading for the default bridge (default true)"},
    {"iptables", 0, "iptables", T_BOOL, F(iptables), false, "Enable addition of berth's nftables rules (default true)"},
    {"ip-forward", 0, "ip-forward", T_BOOL, F(ip_forward), false, "Enable net.ipv4.ip_forward (default true)"},
    {"ip", 0, "ip", T_STR, F(ip), false, "Default IP when binding container ports (default \"0.0.0.0\")"},
    {"mtu", 0, "mtu", T_INT, F(mtu), false, "Set the MTU of the default bridge and its containers (default 1500)"},
    {"userland-proxy", 0, "userland-proxy", T_BOOL, F(userland_proxy), false, "Accepted for compatibility: berthd publishes ports with NAT only, 127.0.0.1 included"},
    /* Registries: their checks are runtime/registry/endpoint.c's. */
    {"registry-mirror", 0, "registry-mirrors", T_LIST, F(registry_mirrors), true, "Preferred Docker registry mirror"},
    {"insecure-registry", 0, "insecure-registries", T_LIST, F(insecure_registries), true, "Enable insecure registry communication"},
    {"max-concurrent-downloads", 0, "max-concurrent-downloads", T_INT, F(max_concurrent_downloads), true, "Set the max concurrent downloads (default 3)"},
    {"max-concurrent-uploads", 0, "max-concurrent-uploads", T_INT, F(max_concurrent_uploads), true, "Set the max concurrent uploads (default 5)"},
    {"max-download-attempts", 0, "max-download-attempts", T_INT, F(max_download_attempts), true, "Set the max download attempts for each pull (default 5)"},
    {"validate", 0, NULL, T_BOOL, F(validate), false, "Validate daemon configuration and exit"},
    {"version", 'v', NULL, T_BOOL, F(show_version), false, "Print version information and quit"},
    {"help", 'h', NULL, T_BOOL, F(show_help), false, "Print usage"},
};
#define N_OPTS (sizeof opts / sizeof opts[0])

#define FIELD(c, o, type) ((type *)((char *)(c) + (o)->off))

static void list_free(char **l)
{
    if (!l)
        return;
    for (char **p = l; *p; p++)
        free(*p);
    free(l);
}

static void list_push(char ***l, size_t *n, const char *v)
{
    *l = xrealloc(*l, (*n + 2) * sizeof **l);
    (*l)[(*n)++] = xstrdup(v);
    (*l)[*n] = NULL;
}

static int parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
    static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False"};
    for (size_t i = 0; i < 6; i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}

/* Stores a flag's textual value into its field. */
static int set_from_text(berth_config *c, const opt_def *o, const char *v, const char *as, berr *e)
{
    switch (o->type) {
    case T_STR: {
        char **f = FIELD(c, o, char *);
        free(*f);
        *f = xstrdup(v);
        return 0;
    }
    case T_BOOL:
        if (parse_bool(v, FIELD(c, o, bool)) < 0)
            return berr_set(e, -EINVAL, "invalid argument \"%s\" for \"%s\" flag: parse error", v, as);
        return 0;
    case T_LIST:
        if (o->off == F(hosts))
            list_push(&c->hosts, &c->n_hosts, v);
        else if (o->off == F(registry_mirrors))
            list_push(&c->registry_mirrors, &c->n_registry_mirrors, v);
        else if (o->off == F(insecure_registries))
            list_push(&c->insecure_registries, &c->n_insecure_registries, v);
        return 0;
    case T_LEVEL:
        if (log_level_parse(v, FIELD(c, o, log_level)) < 0)
            return berr_set(e, -EINVAL, "invalid argument \"%s\" for \"%s\" flag: unable to parse logging level: %s", v, as, v);
        return 0;
    case T_INT: {
        char *end;
        long n = strtol(v, &end, 10);
        if (!*v || *end || n < 0)
            return berr_set(e, -EINVAL, "invalid argument \"%s\" for \"%s\" flag: invalid syntax", v, as);
        *FIELD(c, o, long) = n;
        return 0;
    }
    case T_POOLS: {
        ipam_default_pool p;
        berr pe = {0};
        if (ipam_parse_default_pool(v, &p, &pe) < 0)
            return berr_set(e, -EINVAL, "invalid argument \"%s\" for \"%s\" flag: %s", v, as, pe.msg);
        list_push(&c->address_pools, &c->n_address_pools, v);
        return 0;
    }
    }
    return -EINVAL;
}

static const opt_def *find_flag(const char *name, char shorthand)
{
    for (size_t i = 0; i < N_OPTS; i++)
        if ((name && strcmp(opts[i].flag, name) == 0) || (!name && shorthand && opts[i].shorthand == shorthand))
            return &opts[i];
    return NULL;
}

static const opt_def *find_key(const char *key)
{
    for (size_t i = 0; i < N_OPTS; i++)
        if (opts[i].key && strcmp(opts[i].key, key) == 0)
            return &opts[i];
    return NULL;
}

/* Parses the command line.  set[i] records which options it gave, for the
 * flag/file conflict check. */
static int parse_flags(berth_config *c, int argc, char **argv, bool set[N_OPTS], berr *e)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const opt_def *o = NULL;
        const char *val = NULL;
        char as[64];
        if (strncmp(a, "--", 2) == 0 && a[2]) {
            const char *eq = strchr(a + 2, '=');
            char name[48];
            snprintf(name, sizeof name, "%.*s", (int)(eq ? (size_t)(eq - a - 2) : strlen(a + 2)), a + 2);
            o = find_flag(name, 0);
            if (!o)
                return berr_set(e, -EINVAL, "unknown flag: --%s", name);
            val = eq ? eq + 1 : NULL;
            snprintf(as, sizeof as, "--%s", name);
        } else if (a[0] == '-' && a[1] && a[1] != '-') {
            o = find_flag(NULL, a[1]);
            if (!o)
                return berr_set(e, -EINVAL, "unknown shorthand flag: '%c' in %s", a[1], a);
            val = a[2] ? (a[2] == '=' ? a + 3 : a + 2) : NULL;
            snprintf(as, sizeof as, "-%c, --%s", o->shorthand, o->flag);
        } else {
            return berr_set(e, -EINVAL, "\"berthd\" accepts no arguments: got \"%s\"", a);
        }
        if (!val) {
            if (o->type == T_BOOL)
                val = "true";
            else if (i + 1 < argc)
                val = argv[++i];
            else
                return berr_set(e, -EINVAL, "flag needs an argument: %s", a);
        }
        int r = set_from_text(c, o, val, as, e);
        if (r < 0)
            return r;
        set[o - opts] = true;
    }
    return 0;
}

/* Applies one daemon.json key.  Only keys whose option allows it when
 * `only_reloadable` is set (SIGHUP). */
static int set_from_json(berth_config *c, const opt_def *o, json_t *v, const char *file, berr *e)
{
    const char *bad = NULL;
    switch (o->type) {
    case T_STR:
        if (!json_is_string(v)) {
            bad = "a string";
            break;
        }
        return set_from_text(c, o, json_string_value(v), o->key, e);
    case T_BOOL:
        if (!json_is_boolean(v)) {
            bad = "a boolean";
            break;
        }
        *FIELD(c, o, bool) = json_is_true(v);
        return 0;
    case T_LEVEL:
        if (!json_is_string(v)) {
            bad = "a string";
            break;
        }
        if (log_level_parse(json_string_value(v), FIELD(c, o, log_level)) < 0)
            return berr_set(e, -EINVAL, "unable to configure the daemon with file %s: invalid log-level \"%s\": use one of debug, info, warn, error, fatal",
                            file, json_string_value(v));
        return 0;
    case T_INT:
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
            bad = "a non-negative integer";
            break;
        }
        *FIELD(c, o, long) = (long)json_integer_value(v);
        return 0;
    case T_POOLS: {
        /* [{"base": "10.10.0.0/16", "size": 24}, ...] */
        if (!json_is_array(v)) {
            bad = "an array of {\"base\", \"size\"} objects";
            break;
        }
        size_t i;
        json_t *it;
        json_array_foreach(v, i, it) {
            const char *base = json_string_value(json_object_get(it, "base"));
            json_t *size = json_object_get(it, "size");
            if (!base || !json_is_integer(size)) {
                bad = "an array of {\"base\", \"size\"} objects";
                break;
            }
            cleanup_free char *spec = xasprintf("base=%s,size=%lld", base, (long long)json_integer_value(size));
            int r = set_from_text(c, o, spec, o->key, e);
            if (r < 0)
                return r;
        }
        if (bad)
            break;
        return 0;
    }
    case T_LIST: {
        if (!json_is_array(v)) {
            bad = "an array of strings";
            break;
        }
        size_t i;
        json_t *it;
        json_array_foreach(v, i, it) {
            if (!json_is_string(it)) {
                bad = "an array of strings";
                break;
            }
        }
        if (bad)
            break;
        json_array_foreach(v, i, it) set_from_text(c, o, json_string_value(it), o->key, e);
        return 0;
    }
    }
    return berr_set(e, -EINVAL, "unable to configure the daemon with file %s: invalid value for \"%s\": expected %s", file, o->key, bad);
}

static void describe_flag_value(const berth_config *c, const opt_def *o, buf *b)
{
    switch (o->type) {
    case T_STR:
        buf_puts(b, *FIELD(c, o, char *) ? *FIELD(c, o, char *) : "");
        break;
    case T_BOOL:
        buf_puts(b, *FIELD(c, o, bool) ? "true" : "false");
        break;
    case T_LEVEL:
        buf_puts(b, log_level_name(*FIELD(c, o, log_level)));
        break;
    case T_INT:
        buf_printf(b, "%ld", *FIELD(c, o, long));
        break;
    case T_POOLS:
        for (size_t i = 0; i < c->n_address_pools; i++)
            buf_printf(b, "%s%s", i ? " " : "", c->address_pools[i]);
        break;
    case T_LIST:
        buf_puts(b, "[");
        for (size_t i = 0; i < c->n_hosts; i++)
            buf_printf(b, "%s%s", i ? " " : "", c->hosts[i]);
        buf_puts(b, "]");
        break;
    }
}

/* Reads the file into a JSON object; a missing default file is no error. */
static int read_config_file(const char *path, bool required, json_t **out, berr *e)
{
    *out = NULL;
    if (access(path, F_OK) < 0) {
        if (!required)
            return 0;
        return berr_set(e, -EINVAL, "unable to configure the daemon with file %s: open %s: no such file or directory", path, path);
    }
    cleanup_free char *text = NULL;
    size_t len;
    berr re = {0};
    if (fs_read_file(path, &text, &len, &re) < 0)
        return berr_set(e, -EINVAL, "unable to configure the daemon with file %s: %s", path, re.msg);
    if (strspn(text, " \t\r\n") == len) {
        /* An empty file configures nothing, as with dockerd. */
        *out = json_object();
        return 0;
    }
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return berr_set(e, -EINVAL, "unable to configure the daemon with file %s: %s (line %d)", path, je.text, je.line);
    if (!json_is_object(root)) {
        json_decref(root);
        return berr_set(e, -EINVAL, "unable to configure the daemon with file %s: the file must hold a JSON object", path);
    }
    *out = root;
    return 0;
}

/* Checks every key of the file: unknown keys and keys also given as flags
 * are reported all at once, as dockerd does. */
static int check_file_keys(const berth_config *flags, json_t *root, const bool set[N_OPTS], const char *path, berr *e)
{
    cleanup_buf buf unknown = BUF_INIT, both = BUF_INIT;
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        const opt_def *o = find_key(key);
        if (!o) {
            buf_printf(&unknown, "%s%s", unknown.len ? ", " : "", key);
            continue;
        }
        if (set[o - opts]) {
            cleanup_free char *fv = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            if (both.len)
                buf_puts(&both, ", ");
            buf_printf(&both, "%s: (from flag: ", key);
            describe_flag_value(flags, o, &both);
            buf_printf(&both, ", from file: %s)", fv ? fv : "?");
        }
    }
    if (unknown.len)
        return berr_set(e, -EINVAL, "unable to configure the daemon with file %s: the following directives don't match any configuration option: %s",
                        path, unknown.data);
    if (both.len)
        return berr_set(e, -EINVAL, "unable to configure the daemon with file %s: the following directives are specified both as a flag and in the configuration file: %s",
                        path, both.data);
    return 0;
}

static int validate_host(const char *h, berr *e)
{
    if (strncmp(h, "unix://", 7) == 0) {
        if (!h[7])
            return berr_set(e, -EINVAL, "invalid host \"%s\": unix socket path is empty", h);
        return 0;
    }
    if (strncmp(h, "fd://", 5) == 0)
        return 0;
    if (strncmp(h, "tcp://", 6) == 0) {
        const char *colon = strrchr(h + 6, ':');
        if (!colon || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1))
            return berr_set(e, -EINVAL, "invalid host \"%s\": expected tcp://ADDRESS:PORT", h);
        return 0;
    }
    return berr_set(e, -EINVAL, "invalid host \"%s\": unsupported protocol (use unix://, tcp:// or fd://)", h);
}

static int validate(berth_config *c, berr *e)
{
    bool tcp = false;
    for (size_t i = 0; i < c->n_hosts; i++) {
        int r = validate_host(c->hosts[i], e);
        if (r < 0)
            return r;
        tcp |= strncmp(c->hosts[i], "tcp://", 6) == 0;
    }
    if (c->tlsverify) {
        c->tls = true;
        c->tls_given = true;
    }
    if (c->tls && (!c->tlscert || !c->tlskey))
        return berr_set(e, -EINVAL, "TLS needs a certificate and key: set --tlscert and --tlskey");
    if (c->tlsverify && !c->tlscacert)
        return berr_set(e, -EINVAL, "--tlsverify needs --tlscacert to verify clients against");
    if (tcp && !c->tls && !c->tls_given)
        return berr_set(e, -EINVAL,
                        "refusing to listen on TCP without TLS: anyone who reaches the port gets root on this host. "
                        "Configure --tlsverify with --tlscacert/--tlscert/--tlskey, or pass --tls=false to accept the risk");
    if (c->data_root[0] != '/')
        return berr_set(e, -EINVAL, "data-root must be an absolute path: %s", c->data_root);
    if (c->exec_root[0] != '/')
        return berr_set(e, -EINVAL, "exec-root must be an absolute path: %s", c->exec_root);
    if (c->init_path && *c->init_path && access(c->init_path, X_OK) < 0)
        return berr_set(e, -EINVAL, "init-path %s: not an executable file", c->init_path);
    if (c->storage_driver && *c->storage_driver && strcmp(c->storage_driver, "overlay2") && strcmp(c->storage_driver, "vfs"))
        return berr_set(e, -EINVAL, "error initializing graphdriver: driver not supported: %s", c->storage_driver);
    return registry_config_validate(c, e);
}

int config_load(berth_config *c, int argc, char **argv, berr *e)
{
    bool set[N_OPTS] = {false};
    c->level = LOG_INFO;
    c->icc = c->ip_masq = c->iptables = c->ip_forward = c->userland_proxy = true;
    registry_config_defaults(c);
    int r = parse_flags(c, argc, argv, set, e);
    if (r < 0)
        return r;
    for (size_t i = 0; i < N_OPTS; i++)
        if (set[i])
            c->flags_set |= 1UL << i;
    if (c->show_help || c->show_version)
        return 0;
    c->tls_given = set[find_flag("tls", 0) - opts];

    bool required = c->config_file != NULL;
    if (!c->config_file)
        c->config_file = xstrdup(BERTH_DEFAULT_CONFIG_FILE);
    json_t *root;
    r = read_config_file(c->config_file, required, &root, e);
    if (r < 0)
        return r;
    if (root) {
        r = check_file_keys(c, root, set, c->config_file, e);
        const char *key;
        json_t *v;
        json_object_foreach(root, key, v) {
            if (r < 0)
                break;
            const opt_def *o = find_key(key);
            r = set_from_json(c, o, v, c->config_file, e);
            if (r == 0 && strcmp(key, "tls") == 0)
                c->tls_given = true;
        }
        json_decref(root);
        if (r < 0)
            return r;
    } else {
        free(c->config_file);
        c->config_file = NULL;
    }

    if (!c->n_hosts)
        list_push(&c->hosts, &c->n_hosts, BERTH_DEFAULT_HOST);
    if (!c->data_root)
        c->data_root = xstrdup(BERTH_DEFAULT_DATA_ROOT);
    if (!c->exec_root)
        c->exec_root = xstrdup(BERTH_DEFAULT_EXEC_ROOT);
    if (!c->pidfile)
        c->pidfile = xasprintf("%s/berthd.pid", c->exec_root);
    if (!c->group)
        c->group = xstrdup("docker");
    if (!c->storage_driver)
        c->storage_driver = xstrdup("");
    if (!c->init_path)
        c->init_path = xstrdup("");
    if (!c->bridge)
        c->bridge = xstrdup("");
    if (!c->bip)
        c->bip = xstrdup("");
    if (!c->fixed_cidr)
        c->fixed_cidr = xstrdup("");
    if (!c->ip)
        c->ip = xstrdup("0.0.0.0");
    return validate(c, e);
}

int config_reload(berth_config *c, berr *e)
{
    if (!c->config_file)
        return 0;
    json_t *root;
    int r = read_config_file(c->config_file, true, &root, e);
    if (r < 0)
        return r;
    /* Apply to a scratch copy first so a bad file changes nothing; every
     * key is type-checked, the reloadable ones are then taken over. */
    berth_config scratch = {.level = c->level, .debug = c->debug};
    bool set[N_OPTS];
    for (size_t i = 0; i < N_OPTS; i++)
        set[i] = (c->flags_set >> i) & 1;
    r = check_file_keys(c, root, set, c->config_file, e);
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (r < 0)
            break;
        r = set_from_json(&scratch, find_key(key), v, c->config_file, e);
    }
    if (r == 0)
        r = registry_config_reload(c, &scratch, root, e);
    json_decref(root);
    if (r == 0) {
        c->level = scratch.level;
        c->debug = scratch.debug;
    }
    config_free(&scratch);
    return r;
}

log_level config_log_level(const berth_config *c) { return c->debug ? LOG_DEBUG : c->level; }

void config_usage(void)
{
    printf("Usage:\tberthd [OPTIONS]\n\nA container engine that speaks the Docker Engine API\n\nOptions:\n");
    for (size_t i = 0; i < N_OPTS; i++) {
        char names[64];
        if (opts[i].shorthand)
            snprintf(names, sizeof names, "-%c, --%s", opts[i].shorthand, opts[i].flag);
        else
            snprintf(names, sizeof names, "    --%s", opts[i].flag);
        const char *arg = opts[i].type == T_BOOL  ? ""
                          : opts[i].type == T_LIST || opts[i].type == T_POOLS ? " list"
                          : opts[i].type == T_INT ? " int"
                                                  : " string";
        printf("  %s%-*s %s\n", names, (int)(28 - strlen(names)), arg, opts[i].help);
    }
}

void config_free(berth_config *c)
{
    registry_config_free(c);
    list_free(c->hosts);
    list_free(c->address_pools);
    c->address_pools = NULL;
    c->n_address_pools = 0;
    for (size_t i = 0; i < N_OPTS; i++)
        if (opts[i].type == T_STR) {
            free(*FIELD(c, &opts[i], char *));
            *FIELD(c, &opts[i], char *) = NULL;
        }
    c->hosts = NULL;
    c->n_hosts = 0;
}
