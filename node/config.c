/* Loading the daemon's configuration: flags, then daemon.json, then the
 * checks; SIGHUP reloads.  The options themselves are the table in
 * node/config_opts.c; the value checks are node/config_check.c. */
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
#include "netoverlay/ipam/ipam.h"
#include "netoverlay/ipam/ipam6.h"
#include "node/config_internal.h"
#include "node/registry_config.h"
#include "runtime/linux/cgroup.h"

#define opts config_opts
#define N_OPTS config_n_opts
#define MAX_OPTS 160

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

/* A default address pool of either family (dockerd takes both in one
 * list; an IPv6 base is the only kind with a colon). */
static int check_pool(const char *spec, berr *e)
{
    if (strchr(spec, ':')) {
        ipam6_default_pool p6;
        return ipam6_parse_default_pool(spec, &p6, e);
    }
    ipam_default_pool p;
    return ipam_parse_default_pool(spec, &p, e);
}

static const char *opt_name(const opt_def *o) { return o->key ? o->key : o->flag; }

static json_t **json_field(berth_config *c, const opt_def *o) { return FIELD(c, o, json_t *); }

static void set_json_field(berth_config *c, const opt_def *o, json_t *v)
{
    json_t **f = json_field(c, o);
    json_decref(*f);
    *f = v;
}

/* Records a value of an option berthd does not act on (see config_each_ignored). */
static void note_ignored(berth_config *c, const opt_def *o, json_t *v)
{
    if (!c->ignored)
        c->ignored = json_object();
    json_t *old = json_object_get(c->ignored, opt_name(o));
    if (json_is_array(old) && json_is_array(v)) {
        json_array_extend(old, v);
        json_decref(v);
    } else if (json_is_object(old) && json_is_object(v)) {
        json_object_update(old, v);
        json_decref(v);
    } else {
        json_object_set_new(c->ignored, opt_name(o), v);
    }
}

/* Applies one value, given as JSON (from the file, or converted from a
 * flag's text), to its field.  Arrays and objects add to what is there:
 * flags repeat, and a file gives each key once. */
static int apply(berth_config *c, const opt_def *o, json_t *v, const char *as, const char *file, berr *e)
{
    const char *bad = NULL;
    switch (o->type) {
    case T_STR:
        if (!json_is_string(v))
            bad = "a string";
        else if (o->off != OPT_NO_FIELD) {
            char **f = FIELD(c, o, char *);
            free(*f);
            *f = xstrdup(json_string_value(v));
        }
        break;
    case T_BOOL:
        if (!json_is_boolean(v))
            bad = "a boolean";
        else if (o->off != OPT_NO_FIELD)
            *FIELD(c, o, bool) = json_is_true(v);
        break;
    case T_LEVEL:
        if (!json_is_string(v))
            bad = "a string";
        else if (log_level_parse(json_string_value(v), FIELD(c, o, log_level)) < 0)
            return berr_set(e, -EINVAL, "unable to configure the daemon with file %s: invalid log-level \"%s\": use one of debug, info, warn, error, fatal",
                            file, json_string_value(v));
        break;
    case T_INT:
        if (!json_is_integer(v))
            bad = "an integer";
        else if (o->off != OPT_NO_FIELD)
            *FIELD(c, o, long) = (long)json_integer_value(v);
        break;
    case T_BYTES: {
        long n;
        if (json_is_integer(v) && json_integer_value(v) >= 0)
            n = (long)json_integer_value(v);
        else if (!json_is_string(v)) {
            bad = "a size such as \"64M\"";
            break;
        } else if (config_parse_bytes(json_string_value(v), &n) < 0)
            return berr_set(e, -EINVAL, "unable to configure the daemon with file %s: invalid size: '%s'", file, json_string_value(v));
        *FIELD(c, o, long) = n;
        break;
    }
    case T_LIST:
    case T_SLIST: {
        size_t i;
        json_t *it;
        if (!json_is_array(v)) {
            bad = "an array of strings";
            break;
        }
        json_array_foreach(v, i, it) if (!json_is_string(it)) bad = "an array of strings";
        if (bad)
            break;
        if (o->type == T_LIST) {
            json_array_foreach(v, i, it) list_push(&c->hosts, &c->n_hosts, json_string_value(it));
        } else if (o->off != OPT_NO_FIELD) {
            json_t **f = json_field(c, o);
            if (!*f)
                *f = json_array();
            json_array_extend(*f, v);
        }
        break;
    }
    case T_MAP:
    case T_ULIMITS:
    case T_OBJ: {
        if (!json_is_object(v)) {
            bad = "an object";
            break;
        }
        const char *k;
        json_t *it;
        if (o->type == T_MAP)
            json_object_foreach(v, k, it) if (!json_is_string(it)) bad = "an object of strings";
        if (bad)
            break;
        json_t *copy = json_deep_copy(v);
        if (o->type == T_ULIMITS) {
            berr ue = {0};
            if (config_check_ulimits(copy, &ue) < 0) {
                json_decref(copy);
                return berr_set(e, -EINVAL, "unable to configure the daemon with file %s: %s", file, ue.msg);
            }
        }
        if (o->off != OPT_NO_FIELD) {
            json_t **f = json_field(c, o);
            if (!*f)
                *f = json_object();
            json_object_update(*f, copy);
        }
        json_decref(copy);
        break;
    }
    case T_POOLS: {
        /* [{"base": "10.10.0.0/16", "size": 24}, ...] */
        size_t i;
        json_t *it;
        if (!json_is_array(v)) {
            bad = "an array of {\"base\", \"size\"} objects";
            break;
        }
        json_array_foreach(v, i, it) {
            const char *base = json_string_value(json_object_get(it, "base"));
            json_t *size = json_object_get(it, "size");
            if (!base || !json_is_integer(size)) {
                bad = "an array of {\"base\", \"size\"} objects";
                break;
            }
            cleanup_free char *spec = xasprintf("base=%s,size=%lld", base, (long long)json_integer_value(size));
            berr pe = {0};
            if (check_pool(spec, &pe) < 0)
                return berr_set(e, -EINVAL, "unable to configure the daemon with file %s: %s", file, pe.msg);
            list_push(&c->address_pools, &c->n_address_pools, spec);
        }
        break;
    }
    case T_PROXIES: {
        static const char *const keys[] = {"http-proxy", "https-proxy", "no-proxy"};
        if (!json_is_object(v)) {
            bad = "an object of \"http-proxy\", \"https-proxy\", \"no-proxy\"";
            break;
        }
        const char *k;
        json_t *it;
        json_object_foreach(v, k, it) {
            size_t i = 0;
            while (i < 3 && strcmp(keys[i], k))
                i++;
            if (i == 3 || !json_is_string(it))
                return berr_set(e, -EINVAL, "unable to configure the daemon with file %s: invalid proxies entry \"%s\"", file, k);
            char **f = i == 0 ? &c->http_proxy : i == 1 ? &c->https_proxy : &c->no_proxy;
            free(*f);
            *f = xstrdup(json_string_value(it));
        }
        break;
    }
    }
    if (bad) {
        if (file)
            return berr_set(e, -EINVAL, "unable to configure the daemon with file %s: invalid value for \"%s\": expected %s", file, o->key, bad);
        return berr_set(e, -EINVAL, "invalid argument for \"%s\" flag: expected %s", as, bad);
    }
    if (o->ignored || o->off == OPT_NO_FIELD)
        note_ignored(c, o, json_deep_copy(v));
    return 0;
}

/* A flag's text as the JSON value the file would hold. */
static int flag_value(const opt_def *o, const char *v, const char *as, json_t **out, berr *e)
{
    *out = NULL;
    switch (o->type) {
    case T_STR:
    case T_LEVEL:
    case T_BYTES:
        if (o->type == T_LEVEL) {
            log_level l;
            if (log_level_parse(v, &l) < 0)
                return berr_set(e, -EINVAL, "invalid argument \"%s\" for \"%s\" flag: unable to parse logging level: %s", v, as, v);
        }
        if (o->type == T_BYTES) {
            long n;
            if (config_parse_bytes(v, &n) < 0)
                return berr_set(e, -EINVAL, "invalid argument \"%s\" for \"%s\" flag: invalid size: '%s'", v, as, v);
        }
        *out = json_string(v);
        return 0;
    case T_BOOL: {
        bool b;
        if (parse_bool(v, &b) < 0)
            return berr_set(e, -EINVAL, "invalid argument \"%s\" for \"%s\" flag: parse error", v, as);
        *out = json_boolean(b);
        return 0;
    }
    case T_INT: {
        char *end;
        long n = strtol(v, &end, 10);
        if (!*v || *end)
            return berr_set(e, -EINVAL, "invalid argument \"%s\" for \"%s\" flag: invalid syntax", v, as);
        *out = json_integer(n);
        return 0;
    }
    case T_LIST:
    case T_SLIST:
        *out = json_pack("[s]", v);
        return 0;
    case T_MAP:
    case T_OBJ: {
        const char *eq = strchr(v, '=');
        if (o->off == offsetof(berth_config, features)) {
            /* --feature name[=true|false] */
            bool b = true;
            cleanup_free char *name = strndup(v, eq ? (size_t)(eq - v) : strlen(v));
            if (eq && parse_bool(eq + 1, &b) < 0)
                return berr_set(e, -EINVAL, "invalid argument \"%s\" for \"%s\" flag: invalid value for feature %s", v, as, name);
            *out = json_pack("{s:b}", name, b);
            return 0;
        }
        if (!eq || eq == v)
            return berr_set(e, -EINVAL, "invalid argument \"%s\" for \"%s\" flag: expected key=value", v, as);
        cleanup_free char *k = strndup(v, (size_t)(eq - v));
        *out = json_pack("{s:s}", k, eq + 1);
        return 0;
    }
    case T_ULIMITS: {
        berr ue = {0};
        if (config_parse_ulimit(v, out, &ue) < 0)
            return berr_set(e, -EINVAL, "invalid argument \"%s\" for \"%s\" flag: %s", v, as, ue.msg);
        return 0;
    }
    case T_POOLS: {
        berr pe = {0};
        if (check_pool(v, &pe) < 0)
            return berr_set(e, -EINVAL, "invalid argument \"%s\" for \"%s\" flag: %s", v, as, pe.msg);
        return 1; /* stored directly */
    }
    case T_PROXIES:
        break;
    }
    return -EINVAL;
}

static const opt_def *find_flag(const char *name, char shorthand)
{
    for (size_t i = 0; i < N_OPTS; i++)
        if (opts[i].flag && ((name && strcmp(opts[i].flag, name) == 0) || (!name && shorthand && opts[i].shorthand == shorthand)))
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
static int parse_flags(berth_config *c, int argc, char **argv, bool set[MAX_OPTS], berr *e)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const opt_def *o = NULL;
        const char *val = NULL;
        char as[80];
        if (strncmp(a, "--", 2) == 0 && a[2]) {
            const char *eq = strchr(a + 2, '=');
            char name[64];
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
        json_t *jv;
        int r = flag_value(o, val, as, &jv, e);
        if (r < 0)
            return r;
        if (r == 1)
            list_push(&c->address_pools, &c->n_address_pools, val);
        else {
            r = apply(c, o, jv, as, NULL, e);
            json_decref(jv);
            if (r < 0)
                return r;
        }
        set[o - opts] = true;
    }
    return 0;
}

static void describe_flag_value(const berth_config *c, const opt_def *o, buf *b)
{
    if (o->off == OPT_NO_FIELD) {
        cleanup_free char *s = json_dumps(json_object_get(c->ignored, opt_name(o)), JSON_ENCODE_ANY | JSON_COMPACT);
        buf_puts(b, s ? s : "");
        return;
    }
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
    case T_BYTES:
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
    default: {
        cleanup_free char *s = json_dumps(*FIELD(c, o, json_t *), JSON_ENCODE_ANY | JSON_COMPACT);
        buf_puts(b, s ? s : "");
        break;
    }
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
    size_t skip = len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0 ? 3 : 0; /* a UTF-8 BOM, as dockerd allows */
    if (strspn(text + skip, " \t\r\n") == len - skip) {
        /* An empty file configures nothing, as with dockerd. */
        *out = json_object();
        return 0;
    }
    json_error_t je;
    json_t *root = json_loadb(text + skip, len - skip, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return berr_set(e, -EINVAL, "unable to configure the daemon with file %s: %s (line %d)", path, je.text, je.line);
    if (!json_is_object(root)) {
        json_decref(root);
        return berr_set(e, -EINVAL, "unable to configure the daemon with file %s: the file must hold a JSON object", path);
    }
    *out = root;
    return 0;
}

static void conflict(buf *both, const berth_config *flags, const opt_def *o, const char *name, json_t *v)
{
    cleanup_free char *fv = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    cleanup_buf buf flag = BUF_INIT;
    describe_flag_value(flags, o, &flag);
    const char *shown = flag.data ? flag.data : "";
    cleanup_free char *masked = NULL, *fmasked = NULL;
    if (!strcmp(name, "http-proxy") || !strcmp(name, "https-proxy")) {
        shown = masked = config_mask_credentials(shown);
        if (json_is_string(v)) {
            free(fv);
            fv = config_mask_credentials(json_string_value(v));
        }
    }
    if (both->len)
        buf_puts(both, ", ");
    buf_printf(both, "%s: (from flag: %s, from file: %s)", name, shown, fv ? fv : "?");
}

/* Checks every key of the file: unknown keys and keys also given as flags
 * are reported all at once, as dockerd does. */
static int check_file_keys(const berth_config *flags, json_t *root, const bool set[MAX_OPTS], const char *path, berr *e)
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
        if (o->type == T_PROXIES && json_is_object(v)) {
            /* dockerd flattens "proxies": its members meet --http-proxy and co. */
            const char *pk;
            json_t *pv;
            json_object_foreach(v, pk, pv) {
                const opt_def *fo = find_flag(pk, 0);
                if (fo && set[fo - opts])
                    conflict(&both, flags, fo, pk, pv);
            }
        } else if (set[o - opts]) {
            conflict(&both, flags, o, key, v);
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

static void set_defaults(berth_config *c)
{
    c->level = LOG_INFO;
    c->icc = c->ip_masq = c->iptables = c->ip6tables = c->ip_forward = c->userland_proxy = true;
    c->shm_size = 64L * 1024 * 1024;
    c->shutdown_timeout = 15;
    c->max_downloads = 3;
    c->max_uploads = 5;
    c->max_attempts = 5;
}

static void default_str(char **f, const char *v)
{
    if (!*f)
        *f = xstrdup(v);
}

/* default-init names the init binary when init-path does not: a path, or a
 * name looked up in PATH. */
static void resolve_default_init(berth_config *c)
{
    if ((c->init_path && *c->init_path) || !c->default_init || !*c->default_init)
        return;
    free(c->init_path);
    c->init_path = NULL;
    if (strchr(c->default_init, '/')) {
        c->init_path = xstrdup(c->default_init);
        return;
    }
    const char *path = getenv("PATH");
    cleanup_free char *dirs = xstrdup(path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    char *save = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        cleanup_free char *p = xasprintf("%s/%s", d, c->default_init);
        if (access(p, X_OK) == 0) {
            c->init_path = xstrdup(p);
            return;
        }
    }
    c->init_path = xstrdup(c->default_init); /* the check below names it */
}

int config_load(berth_config *c, int argc, char **argv, berr *e)
{
    bool set[MAX_OPTS] = {false};
    if (N_OPTS > MAX_OPTS)
        abort(); /* the table outgrew the flags_set_all array */
    set_defaults(c);
    int r = parse_flags(c, argc, argv, set, e);
    if (r < 0)
        return r;
    memcpy(c->flags_set_all, set, sizeof c->flags_set_all);
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
            r = apply(c, find_key(key), v, key, c->config_file, e);
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
    default_str(&c->data_root, BERTH_DEFAULT_DATA_ROOT);
    default_str(&c->exec_root, BERTH_DEFAULT_EXEC_ROOT);
    if (!c->pidfile)
        c->pidfile = xasprintf("%s/berthd.pid", c->exec_root);
    default_str(&c->group, "docker");
    default_str(&c->storage_driver, "");
    resolve_default_init(c);
    default_str(&c->init_path, "");
    default_str(&c->bridge, "");
    default_str(&c->bip, "");
    default_str(&c->fixed_cidr, "");
    default_str(&c->fixed_cidr_v6, "");
    default_str(&c->bip6, "");
    default_str(&c->ip, "0.0.0.0");
    default_str(&c->log_format, "text");
    default_str(&c->log_driver, "json-file");
    default_str(&c->ipc_mode, "private");
    /* dockerd's default follows the host: private on cgroup v2, host on v1. */
    default_str(&c->cgroupns_mode, rt_cgroup_host_unified("/sys/fs/cgroup") ? "private" : "host");
    default_str(&c->default_runtime, "berth");
    default_str(&c->seccomp_profile, "builtin");
    default_str(&c->metrics_addr, "");
    default_str(&c->http_proxy, "");
    default_str(&c->https_proxy, "");
    default_str(&c->no_proxy, "");
    r = config_check_values(c, e);
    if (r < 0 || (r = config_check_combined(c, e)) < 0)
        return r;
    registry_config_sync(c);
    return 0;
}

bool config_is_reloadable(const char *key)
{
    const opt_def *o = find_key(key);
    return o && o->reloadable;
}

/* The reloadable options with their values now: the "Reloaded
 * configuration" line. */
static json_t *reloadable_values(berth_config *c)
{
    json_t *out = json_object();
    for (size_t i = 0; i < N_OPTS; i++) {
        const opt_def *o = &opts[i];
        if (!o->reloadable || !o->key)
            continue;
        json_t *v = NULL;
        switch (o->type) {
        case T_BOOL: v = json_boolean(*FIELD(c, o, bool)); break;
        case T_INT:
        case T_BYTES: v = json_integer(*FIELD(c, o, long)); break;
        case T_LEVEL: v = json_string(log_level_name(*FIELD(c, o, log_level))); break;
        case T_SLIST: v = *json_field(c, o) ? json_incref(*json_field(c, o)) : json_array(); break;
        case T_OBJ:
        case T_ULIMITS:
        case T_MAP: v = *json_field(c, o) ? json_incref(*json_field(c, o)) : json_object(); break;
        default: v = json_null(); break;
        }
        json_object_set_new(out, o->key, v);
    }
    return out;
}

/* dockerd resets the transfer limits on every reload: a file that no
 * longer names one puts its default back, where other keys keep their
 * value.  A value given on the command line stays. */
static void reset_transfer_limits(berth_config *c, const berth_config *defaults, json_t *root)
{
    static const char *const keys[] = {"max-concurrent-downloads", "max-concurrent-uploads", "max-download-attempts"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const opt_def *o = find_key(keys[i]);
        json_t *v = json_object_get(root, keys[i]);
        if (c->flags_set_all[o - opts] || v)
            continue;
        *FIELD(c, o, long) = *FIELD(defaults, o, long);
    }
}

int config_reload(berth_config *c, json_t **changed, berr *e)
{
    if (changed)
        *changed = NULL;
    if (!c->config_file)
        return 0;
    json_t *root;
    int r = read_config_file(c->config_file, true, &root, e);
    if (r < 0)
        return r;
    /* Apply to a scratch copy first so a bad file changes nothing; every
     * key is type-checked, then the reloadable ones are taken over. */
    berth_config scratch = {0};
    set_defaults(&scratch);
    r = check_file_keys(c, root, c->flags_set_all, c->config_file, e);
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (r < 0)
            break;
        r = apply(&scratch, find_key(key), v, key, c->config_file, e);
    }
    if (r == 0) {
        r = config_check_values(&scratch, e);
        if (r < 0)
            berr_wrap(e, "file configuration validation failed");
    }
    if (r == 0) {
        json_object_foreach(root, key, v) {
            const opt_def *o = find_key(key);
            if (!o->reloadable)
                continue;
            switch (o->type) {
            case T_BOOL: *FIELD(c, o, bool) = *FIELD(&scratch, o, bool); break;
            case T_INT:
            case T_BYTES: *FIELD(c, o, long) = *FIELD(&scratch, o, long); break;
            case T_LEVEL: *FIELD(c, o, log_level) = *FIELD(&scratch, o, log_level); break;
            case T_SLIST:
            case T_OBJ:
            case T_ULIMITS:
            case T_MAP:
                set_json_field(c, o, *json_field(&scratch, o));
                *json_field(&scratch, o) = NULL;
                break;
            default: break;
            }
            if (o->ignored) {
                json_t *nv = json_object_get(scratch.ignored, key);
                if (!c->ignored)
                    c->ignored = json_object();
                json_object_set(c->ignored, key, nv ? nv : json_null());
            }
        }
        reset_transfer_limits(c, &scratch, root);
        registry_config_sync(c);
        if (changed)
            *changed = reloadable_values(c);
    }
    json_decref(root);
    config_free(&scratch);
    return r;
}

log_level config_log_level(const berth_config *c) { return c->debug ? LOG_DEBUG : c->level; }

/* A value that asks for something: false, 0, "" and empty lists do not. */
static bool truthy(json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_TRUE: return true;
    case JSON_INTEGER: return json_integer_value(v) != 0;
    case JSON_STRING: return json_string_length(v) > 0;
    case JSON_ARRAY: return json_array_size(v) > 0;
    case JSON_OBJECT: return json_object_size(v) > 0;
    default: return false;
    }
}

void config_each_ignored(const berth_config *c, void (*fn)(void *arg, const char *key, const char *why), void *arg)
{
    for (size_t i = 0; i < N_OPTS; i++) {
        const opt_def *o = &opts[i];
        if (!o->ignored)
            continue;
        json_t *v = json_object_get(c->ignored, opt_name(o));
        if (v && truthy(v))
            fn(arg, opt_name(o), o->ignored);
    }
}

char *config_mask_credentials(const char *url)
{
    const char *scheme = strstr(url, "://");
    const char *start = scheme ? scheme + 3 : url;
    const char *at = strchr(start, '@');
    const char *slash = strchr(start, '/');
    if (!scheme || !at || (slash && slash < at))
        return xstrdup(url);
    return xasprintf("%.*sxxxxx:xxxxx%s", (int)(start - url), url, at);
}

void config_free(berth_config *c)
{
    list_free(c->hosts);
    list_free(c->address_pools);
    c->address_pools = NULL;
    c->n_address_pools = 0;
    for (size_t i = 0; i < N_OPTS; i++) {
        const opt_def *o = &opts[i];
        if (o->off == OPT_NO_FIELD)
            continue;
        if (o->type == T_STR) {
            free(*FIELD(c, o, char *));
            *FIELD(c, o, char *) = NULL;
        } else if (o->type == T_SLIST || o->type == T_MAP || o->type == T_OBJ || o->type == T_ULIMITS) {
            json_decref(*json_field(c, o));
            *json_field(c, o) = NULL;
        }
    }
    free(c->seccomp_json);
    c->seccomp_json = NULL;
    registry_config_free(c);
    json_decref(c->ignored);
    c->ignored = NULL;
    c->hosts = NULL;
    c->n_hosts = 0;
}
