/* Checks of a loaded configuration and the parsers of its structured
 * values, with dockerd's messages so that a daemon.json moved from a
 * dockerd host fails (or passes) the same way here. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "node/config_internal.h"
#include "node/registry_config.h"
#include "runtime/logs/driver.h"

/* go-units RAMInBytes: a number with an optional b, k, m, g, t, p suffix
 * (optionally followed by "b" or "ib"), in powers of 1024. */
int config_parse_bytes(const char *s, long *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0)
        return -EINVAL;
    while (*end == ' ')
        end++;
    double mult = 1;
    if (*end) {
        switch (tolower((unsigned char)*end)) {
        case 'b': mult = 1; break;
        case 'k': mult = 1024.0; break;
        case 'm': mult = 1024.0 * 1024; break;
        case 'g': mult = 1024.0 * 1024 * 1024; break;
        case 't': mult = 1024.0 * 1024 * 1024 * 1024; break;
        case 'p': mult = 1024.0 * 1024 * 1024 * 1024 * 1024; break;
        default: return -EINVAL;
        }
        const char *rest = end + 1;
        if (tolower((unsigned char)*end) != 'b' &&
            !(*rest == 0 || strcasecmp(rest, "b") == 0 || strcasecmp(rest, "ib") == 0))
            return -EINVAL;
        if (tolower((unsigned char)*end) == 'b' && *rest)
            return -EINVAL;
    }
    *out = (long)(v * mult);
    return 0;
}

static const char *const ulimit_names[] = {"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice",
                                           "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack", NULL};

static bool ulimit_known(const char *name)
{
    for (const char *const *n = ulimit_names; *n; n++)
        if (strcmp(*n, name) == 0)
            return true;
    return false;
}

/* "nofile=1024:2048" (go-units ParseUlimit) into {"nofile": {Name, Soft, Hard}}. */
int config_parse_ulimit(const char *s, json_t **out, berr *e)
{
    *out = NULL;
    const char *eq = strchr(s, '=');
    if (!eq)
        return berr_set(e, -EINVAL, "invalid ulimit argument: %s", s);
    cleanup_free char *name = strndup(s, (size_t)(eq - s));
    if (!ulimit_known(name))
        return berr_set(e, -EINVAL, "invalid ulimit type: %s", name);
    char *end;
    long long soft = strtoll(eq + 1, &end, 10), hard = soft;
    if (end == eq + 1 || (*end && *end != ':'))
        return berr_set(e, -EINVAL, "invalid ulimit argument: %s", s);
    if (*end == ':') {
        const char *h = end + 1;
        hard = strtoll(h, &end, 10);
        if (end == h || *end)
            return berr_set(e, -EINVAL, "invalid ulimit argument: %s", s);
    }
    if (soft > hard)
        return berr_set(e, -EINVAL, "ulimit soft limit must be less than or equal to hard limit: %lld > %lld", soft, hard);
    *out = json_pack("{s:{s:s, s:I, s:I}}", name, "Name", name, "Hard", (json_int_t)hard, "Soft", (json_int_t)soft);
    return 0;
}

/* The file form: {"nofile": {"Name": "nofile", "Hard": 64000, "Soft": 64000}}. */
int config_check_ulimits(json_t *v, berr *e)
{
    const char *k;
    json_t *u;
    json_object_foreach(v, k, u) {
        json_t *soft = json_object_get(u, "Soft"), *hard = json_object_get(u, "Hard");
        const char *name = json_string_value(json_object_get(u, "Name"));
        if (!json_is_object(u) || !json_is_integer(soft) || !json_is_integer(hard))
            return berr_set(e, -EINVAL, "invalid default-ulimits entry %s: expected {\"Name\", \"Soft\", \"Hard\"}", k);
        if (!ulimit_known(name ? name : k))
            return berr_set(e, -EINVAL, "invalid ulimit type: %s", name ? name : k);
        if (json_integer_value(soft) > json_integer_value(hard))
            return berr_set(e, -EINVAL, "ulimit soft limit must be less than or equal to hard limit: %lld > %lld",
                            (long long)json_integer_value(soft), (long long)json_integer_value(hard));
        if (!name)
            json_object_set_new(u, "Name", json_string(k));
    }
    return 0;
}

static bool is_ip(const char *s)
{
    unsigned char b[16];
    return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* moby's opts.ValidateDNSSearch. */
static int check_dns_search(const char *s, berr *e)
{
    if (strcmp(s, ".") == 0)
        return 0;
    size_t n = strlen(s);
    if (n > 255)
        return berr_set(e, -EINVAL, "domain name '%s' is too long", s);
    bool ok = n > 0 && s[0] != '-' && s[n - 1] != '-' && s[0] != '.';
    for (const char *p = s; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || *p == '-' || *p == '.';
    if (!ok)
        return berr_set(e, -EINVAL, "%s is not a valid domain", s);
    return 0;
}

static int check_labels(json_t *labels, berr *e)
{
    size_t i;
    json_t *v;
    json_array_foreach(labels, i, v) {
        const char *l = json_string_value(v);
        const char *eq = strchr(l, '=');
        if (!eq)
            return berr_set(e, -EINVAL, "bad attribute format: %s", l);
        if (eq == l)
            return berr_set(e, -EINVAL, "invalid label '%s': empty name", l);
        /* dockerd refuses one key with two values (GetConflictFreeLabels). */
        for (size_t j = 0; j < i; j++) {
            const char *o = json_string_value(json_array_get(labels, j));
            const char *oeq = strchr(o, '=');
            if ((size_t)(oeq - o) == (size_t)(eq - l) && strncmp(o, l, (size_t)(eq - l)) == 0 && strcmp(oeq, eq))
                return berr_set(e, -EINVAL, "conflict labels for %s and %s", l, o);
        }
    }
    return 0;
}

static int check_exec_opts(json_t *opts, berr *e)
{
    size_t i;
    json_t *v;
    json_array_foreach(opts, i, v) {
        const char *kv = json_string_value(v);
        const char *eq = strchr(kv, '=');
        if (!eq || eq == kv || !eq[1])
            return berr_set(e, -EINVAL, "invalid exec-opt (%s): must be formatted 'opt=value'", kv);
        size_t kl = (size_t)(eq - kv);
        if (kl == 9 && strncasecmp(kv, "isolation", 9) == 0)
            return berr_set(e, -EINVAL, "invalid exec-opt (%s): option 'isolation' is only supported on windows", kv);
        if (kl != 19 || strncasecmp(kv, "native.cgroupdriver", 19) != 0)
            return berr_set(e, -EINVAL, "invalid exec-opt (%s): unknown option: '%.*s'", kv, (int)kl, kv);
        if (strcmp(eq + 1, "systemd") == 0)
            return berr_set(e, -EINVAL, "native.cgroupdriver option systemd is not supported by berthd yet: use cgroupfs");
        if (strcmp(eq + 1, "cgroupfs") != 0)
            return berr_set(e, -EINVAL, "native.cgroupdriver option %s not supported", eq + 1);
    }
    return 0;
}

static int check_storage_opts(const berth_config *c, berr *e)
{
    size_t i;
    json_t *v;
    const char *drv = c->storage_driver && *c->storage_driver ? c->storage_driver : "overlay2";
    json_array_foreach(c->storage_opts, i, v) {
        const char *kv = json_string_value(v);
        const char *eq = strchr(kv, '=');
        if (!eq)
            return berr_set(e, -EINVAL, "unable to parse key/value option: %s", kv);
        size_t kl = (size_t)(eq - kv);
        bool ok = strcmp(drv, "vfs") == 0 ? (kl == 4 && strncmp(kv, "size", 4) == 0)
                                           : ((kl == 13 && strncmp(kv, "overlay2.size", 13) == 0) ||
                                              (kl == 30 && strncmp(kv, "overlay2.override_kernel_check", 30) == 0));
        if (!ok)
            return berr_set(e, -EINVAL, "%s: unknown option %.*s", drv, (int)kl, kv);
    }
    return 0;
}

static int check_seccomp(berth_config *c, berr *e)
{
    const char *p = c->seccomp_profile;
    free(c->seccomp_json);
    c->seccomp_json = NULL;
    if (!p || !*p || strcmp(p, "builtin") == 0 || strcmp(p, "unconfined") == 0)
        return 0;
    size_t len;
    berr re = {0};
    if (fs_read_file(p, &c->seccomp_json, &len, &re) < 0)
        return berr_set(e, -EINVAL, "opening seccomp profile (%s) failed: %s", p, re.msg);
    json_error_t je;
    json_t *doc = json_loadb(c->seccomp_json, len, 0, &je);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return berr_set(e, -EINVAL, "decoding seccomp profile (%s) failed: %s", p, doc ? "not a JSON object" : je.text);
    }
    json_decref(doc);
    return 0;
}

static long ignored_int(const berth_config *c, const char *key)
{
    return (long)json_integer_value(json_object_get(c->ignored, key));
}

int config_check_values(berth_config *c, berr *e)
{
    int r;
    if ((r = registry_config_validate(c, e)) < 0)
        return r;
    if (c->log_format && *c->log_format && strcmp(c->log_format, "text") && strcmp(c->log_format, "json"))
        return berr_set(e, -EINVAL, "invalid log format: %s", c->log_format);
    if ((r = check_labels(c->labels, e)) < 0)
        return r;
    size_t i;
    json_t *v;
    json_array_foreach(c->dns, i, v) if (!is_ip(json_string_value(v)))
        return berr_set(e, -EINVAL, "%s is not an ip address", json_string_value(v));
    json_array_foreach(c->dns_search, i, v) if ((r = check_dns_search(json_string_value(v), e)) < 0)
        return r;
    if (c->mtu < 0)
        return berr_set(e, -EINVAL, "invalid default MTU: %ld", c->mtu);
    if (c->max_downloads < 0)
        return berr_set(e, -EINVAL, "invalid max concurrent downloads: %ld", c->max_downloads);
    if (c->max_uploads < 0)
        return berr_set(e, -EINVAL, "invalid max concurrent uploads: %ld", c->max_uploads);
    if (c->max_attempts < 0)
        return berr_set(e, -EINVAL, "invalid max download attempts: %ld", c->max_attempts);
    long port = ignored_int(c, "network-diagnostic-port");
    if (port < 0 || port > 65535)
        return berr_set(e, -EINVAL, "invalid network-diagnostic-port (%ld): value must be between 0 and 65535", port);
    json_array_foreach(json_object_get(c->ignored, "node-generic-resources"), i, v) {
        const char *g = json_string_value(v);
        if (!strchr(g, '=') || *g == '=')
            return berr_set(e, -EINVAL, "could not parse GenericResource: %s: expected kind=value", g);
    }
    json_array_foreach(json_object_get(c->ignored, "host-gateway-ips"), i, v) if (!is_ip(json_string_value(v)))
        return berr_set(e, -EINVAL, "invalid host-gateway-ips: %s is not an ip address", json_string_value(v));
    const char *fw = json_string_value(json_object_get(c->ignored, "firewall-backend"));
    if (fw && *fw && strcmp(fw, "iptables") && strcmp(fw, "nftables"))
        return berr_set(e, -EINVAL, "invalid firewall-backend: allowed values are \"iptables\" and \"nftables\"");
    const char *cors = json_string_value(json_object_get(c->ignored, "api-cors-header"));
    if (cors && *cors)
        return berr_set(e, -EINVAL, "DEPRECATED: The \"api-cors-header\" config parameter and the dockerd \"--api-cors-header\" option have been removed; use a reverse proxy if you need CORS headers");
    if (json_object_get(c->ignored, "host-gateway-ip") && json_object_get(c->ignored, "host-gateway-ips"))
        return berr_set(e, -EINVAL, "host-gateway-ip and host-gateway-ips must not both be specified in the config file");
    if ((r = check_exec_opts(c->exec_opts, e)) < 0)
        return r;
    const char *ipc = c->ipc_mode;
    if (ipc && *ipc) {
        bool valid = !strcmp(ipc, "host") || !strcmp(ipc, "private") || !strcmp(ipc, "shareable") ||
                     !strcmp(ipc, "none") || (!strncmp(ipc, "container:", 10) && ipc[10]);
        if (!valid)
            return berr_set(e, -EINVAL, "default IPC mode setting (%s) is invalid; use \"shareable\" or \"private\"", ipc);
        if (strcmp(ipc, "private") && strcmp(ipc, "shareable"))
            return berr_set(e, -EINVAL, "IPC mode \"%s\" is not supported as default value; use \"shareable\" or \"private\"", ipc);
    }
    const char *cg = c->cgroupns_mode;
    if (cg && *cg && strcmp(cg, "host") && strcmp(cg, "private"))
        return berr_set(e, -EINVAL, "invalid default cgroup namespace (%s): use \"host\" or \"private\"", cg);
    const char *rt = c->default_runtime;
    if (rt && *rt && strcmp(rt, "berth") && strcmp(rt, "runc")) {
        if (json_object_get(json_object_get(c->ignored, "runtimes"), rt))
            return berr_set(e, -EINVAL, "default runtime %s is an external OCI runtime, which berthd cannot use", rt);
        return berr_set(e, -EINVAL, "specified default runtime '%s' does not exist", rt);
    }
    json_t *fv;
    const char *fk;
    json_object_foreach(c->features, fk, fv) if (!json_is_boolean(fv))
        return berr_set(e, -EINVAL, "invalid value for feature %s: expected true or false", fk);
    if (c->default_ulimits && (r = config_check_ulimits(c->default_ulimits, e)) < 0)
        return r;
    if (c->log_driver && *c->log_driver && (r = rt_logdriver_validate(c->log_driver, c->log_opts, e)) < 0)
        return berr_wrap(e, "failed to set log opts");
    if (c->metrics_addr && *c->metrics_addr) {
        const char *colon = strrchr(c->metrics_addr, ':');
        if (!colon || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1))
            return berr_set(e, -EINVAL, "invalid metrics-addr %s: expected host:port", c->metrics_addr);
    }
    if ((r = check_storage_opts(c, e)) < 0)
        return r;
    return check_seccomp(c, e);
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

int config_check_combined(berth_config *c, berr *e)
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
    return 0;
}
