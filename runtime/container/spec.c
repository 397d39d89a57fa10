#include "runtime/container/spec.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/jsonutil.h"
#include "lib/log.h"
#include "netoverlay/sandbox.h"
#include "runtime/container/links.h"
#include "runtime/container/mounts.h"
#include "runtime/container/userns.h"
#include "runtime/linux/seccomp.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Strings the spec points to are kept alive by st->keep. */
static const char *keep(rt_spec_storage *st, char *owned)
{
    json_t *s = json_string(owned);
    free(owned);
    json_array_append_new(st->keep, s);
    return json_string_value(s);
}

static void push_str(char ***list, size_t *n, const char *s)
{
    *list = xrealloc(*list, (*n + 2) * sizeof **list);
    (*list)[(*n)++] = xstrdup(s);
    (*list)[*n] = NULL;
}

static void free_strv(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

/* ---- command and environment -------------------------------------------- */

static int build_argv(rt_containers *m, rt_container *c, rt_spec_storage *st, berr *e)
{
    size_t n = 0;
    if (json_is_true(json_object_get(c->host_config, "Init"))) {
        if (!m->init_path[0])
            return berr_set(e, -ENOENT, "--init: the berth-init binary was not found next to berthd or in PATH");
        push_str(&st->argv, &n, "/sbin/docker-init");
        push_str(&st->argv, &n, "--");
    }
    json_t *ep = json_object_get(c->config, "Entrypoint"), *cmd = json_object_get(c->config, "Cmd");
    bool ep_reset = json_array_size(ep) == 1 && json_is_string(json_array_get(ep, 0)) &&
                    !*json_string_value(json_array_get(ep, 0));
    json_t *parts[2] = {ep_reset ? NULL : ep, cmd};
    size_t before = n;
    for (int p = 0; p < 2; p++) {
        size_t i;
        json_t *v;
        json_array_foreach(parts[p], i, v) if (json_is_string(v)) push_str(&st->argv, &n, json_string_value(v));
    }
    if (n == before)
        return berr_set(e, -EINVAL, "no command specified");
    return 0;
}

bool rt_env_has(char **env, const char *key)
{
    size_t k = strlen(key);
    for (char **p = env; p && *p; p++)
        if (strncmp(*p, key, k) == 0 && (*p)[k] == '=')
            return true;
    return false;
}

void rt_env_put(char ***env, size_t *n, const char *kv)
{
    if (!kv || !strchr(kv, '='))
        return;
    size_t klen = strcspn(kv, "=");
    for (size_t j = 0; j < *n; j++)
        if (strncmp((*env)[j], kv, klen) == 0 && (*env)[j][klen] == '=') {
            free((*env)[j]);
            (*env)[j] = xstrdup(kv);
            return;
        }
    push_str(env, n, kv);
}

void rt_env_put_all(char ***env, size_t *n, json_t *list)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) rt_env_put(env, n, json_string_value(v));
}

static void build_env(rt_container *c, rt_spec_storage *st)
{
    size_t n = 0;
    push_str(&st->env, &n, DEFAULT_PATH);
    /* Docker puts HOSTNAME first; the image and user Env follow and win. */
    cleanup_free char *host = xasprintf("HOSTNAME=%s", json_str(c->config, "Hostname"));
    push_str(&st->env, &n, host);
    if (json_is_true(json_object_get(c->config, "Tty")))
        push_str(&st->env, &n, "TERM=xterm");
    rt_env_put_all(&st->env, &n, st->link_env);
    rt_env_put_all(&st->env, &n, json_object_get(c->config, "Env"));
    if (!rt_env_has(st->env, "HOME")) {
        cleanup_free char *home = xasprintf("HOME=%s", st->user.home[0] ? st->user.home : "/");
        push_str(&st->env, &n, home);
    }
}

/* ---- /etc files ------------------------------------------------------------ */

/* Rewritten at every start: no need to wait for the disk. */
static int write_file(const char *path, const char *text, berr *e)
{
    return fs_write_file_replace(path, text, strlen(text), 0644, e);
}

static void resolv_conf_embedded(json_t *search, json_t *opts, buf *out)
{
    buf_puts(out, "nameserver 127.0.0.11\n");
    cleanup_free char *host = NULL;
    if (!json_array_size(search) && fs_read_file("/etc/resolv.conf", &host, NULL, NULL) == 0) {
        for (char *save = NULL, *line = strtok_r(host, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
            if (!strncmp(line, "search", 6) || !strncmp(line, "domain", 6))
                buf_printf(out, "%s\n", line);
    }
    size_t i;
    json_t *v;
    if (json_array_size(search)) {
        buf_puts(out, "search");
        json_array_foreach(search, i, v) buf_printf(out, " %s", json_string_value(v));
        buf_puts(out, "\n");
    }
    /* ndots:0 as dockerd writes it: names with no dot go to the resolver as they are. */
    buf_puts(out, "options ndots:0");
    json_array_foreach(opts, i, v) if (strncmp(json_string_value(v), "ndots:", 6)) buf_printf(out, " %s", json_string_value(v));
    json_array_foreach(opts, i, v) if (!strncmp(json_string_value(v), "ndots:", 6)) buf_printf(out, " %s", json_string_value(v));
    buf_puts(out, "\n");
}

/* On a user-defined network the container asks berth's resolver at
 * 127.0.0.11, which forwards what it does not know to --dns or the host's
 * servers; elsewhere it gets those servers itself. */
static void resolv_conf(rt_container *c, bool host_net, buf *out)
{
    json_t *hc = c->host_config;
    json_t *dns = json_object_get(hc, "Dns"), *search = json_object_get(hc, "DnsSearch"),
           *opts = json_object_get(hc, "DnsOptions");
    if (c->sandbox && net_sandbox_embedded_dns(c->sandbox)) {
        resolv_conf_embedded(search, opts, out);
        return;
    }
    cleanup_free char *host = NULL;
    fs_read_file("/etc/resolv.conf", &host, NULL, NULL);
    int servers = 0;
    if (json_array_size(dns)) {
        size_t i;
        json_t *v;
        json_array_foreach(dns, i, v) buf_printf(out, "nameserver %s\n", json_string_value(v));
        servers = 1;
    }
    if (host) {
        for (char *line = strtok(host, "\n"); line; line = strtok(NULL, "\n")) {
            bool ns = strncmp(line, "nameserver", 10) == 0;
            if (ns && (servers || (!host_net && (strstr(line, " 127.") || strstr(line, " ::1")))))
                continue;   /* the host's loopback resolvers are not reachable from the container */
            if ((strncmp(line, "search", 6) == 0 && json_array_size(search)) ||
                (strncmp(line, "options", 7) == 0 && json_array_size(opts)))
                continue;
            if (ns)
                servers++;
            buf_printf(out, "%s\n", line);
        }
    }
    if (!servers)
        buf_puts(out, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
    if (json_array_size(search)) {
        buf_puts(out, "search");
        size_t i;
        json_t *v;
        json_array_foreach(search, i, v) buf_printf(out, " %s", json_string_value(v));
        buf_puts(out, "\n");
    }
    if (json_array_size(opts)) {
        buf_puts(out, "options");
        size_t i;
        json_t *v;
        json_array_foreach(opts, i, v) buf_printf(out, " %s", json_string_value(v));
        buf_puts(out, "\n");
    }
}

static void hosts_file(rt_container *c, bool host_net, const char *hostname, const char *links, buf *out)
{
    cleanup_free char *host = NULL;
    if (host_net && fs_read_file("/etc/hosts", &host, NULL, NULL) == 0) {
        buf_puts(out, host);
    } else {
        buf_puts(out, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                      "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n");
    }
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(c->host_config, "ExtraHosts"), i, v) {
        const char *eh = json_string_value(v);
        const char *sep = eh ? strchr(eh, ':') : NULL;
        if (!sep)
            continue;
        /* host-gateway: the address the host has on the container's network. */
        const char *addr = sep + 1;
        if (!strcmp(addr, "host-gateway") && c->sandbox)
            addr = net_sandbox_gateway(c->sandbox);
        buf_printf(out, "%s\t%.*s\n", addr, (int)(sep - eh), eh);
    }
    if (links)
        buf_puts(out, links);
    if (c->sandbox)
        net_sandbox_hosts(c->sandbox, hostname, out);
}

static void add_mount(rt_spec_storage *st, const char *src, const char *dst, const char *type, unsigned long flags,
                      const char *data)
{
    st->mounts = xrealloc(st->mounts, (st->n_mounts + 1) * sizeof *st->mounts);
    st->mounts[st->n_mounts++] = (rt_mount){keep(st, xstrdup(src)), keep(st, xstrdup(dst)), keep(st, xstrdup(type)),
                                            flags, data ? keep(st, xstrdup(data)) : NULL, 0};
}

static int etc_files(rt_containers *m, rt_container *c, rt_spec_storage *st, berr *e)
{
    char dir[PATH_MAX];
    rt_container_dir(m, c, dir);
    bool host_net = strcmp(json_str(c->host_config, "NetworkMode"), "host") == 0;
    cleanup_buf buf text = BUF_INIT;
    cleanup_free char *hostname_path = xasprintf("%s/hostname", dir);
    cleanup_free char *hosts_path = xasprintf("%s/hosts", dir);
    cleanup_free char *resolv_path = xasprintf("%s/resolv.conf", dir);
    char hostname[300];
    if (strcmp(json_str(c->host_config, "UTSMode"), "host") == 0)
        gethostname(hostname, sizeof hostname - 2);
    else
        snprintf(hostname, sizeof hostname, "%s", json_str(c->config, "Hostname"));
    buf_printf(&text, "%s\n", hostname);
    int r = write_file(hostname_path, text.data, e);
    buf_reset(&text);
    hosts_file(c, host_net, hostname, st->link_hosts, &text);
    if (r == 0)
        r = write_file(hosts_path, text.data, e);
    buf_reset(&text);
    resolv_conf(c, host_net, &text);
    if (r == 0)
        r = write_file(resolv_path, text.data, e);
    /* A remapped root edits them as dockerd's can: they are its own. */
    uid_t uid;
    gid_t gid;
    rt_container_root_ids(m, c, &uid, &gid);
    const char *const files[] = {hostname_path, hosts_path, resolv_path};
    for (size_t i = 0; i < 3 && r == 0 && (uid || gid); i++)
        if (chown(files[i], uid, gid) < 0)
            r = berr_sys(e, -errno, "chown %s", files[i]);
    if (r < 0)
        return r;
    add_mount(st, hostname_path, "/etc/hostname", "bind", MS_BIND, NULL);
    add_mount(st, hosts_path, "/etc/hosts", "bind", MS_BIND, NULL);
    add_mount(st, resolv_path, "/etc/resolv.conf", "bind", MS_BIND, NULL);
    return 0;
}

/* ---- mounts, devices, limits -------------------------------------------- */

/* "rw,noexec,nosuid,size=64m,mode=1777" -> flags and data, as Docker's
 * tmpfs defaults (nosuid,nodev,noexec) then the user's options. */
static void tmpfs_options(const char *opts, unsigned long *flags, buf *data)
{
    *flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    cleanup_free char *copy = xstrdup(opts ? opts : "");
    for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ",")) {
        static const struct { const char *name; unsigned long set, clear; } fl[] = {
            {"ro", MS_RDONLY, 0}, {"rw", 0, MS_RDONLY}, {"exec", 0, MS_NOEXEC}, {"noexec", MS_NOEXEC, 0},
            {"suid", 0, MS_NOSUID}, {"nosuid", MS_NOSUID, 0}, {"dev", 0, MS_NODEV}, {"nodev", MS_NODEV, 0},
        };
        bool known = false;
        for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++)
            if (strcmp(tok, fl[i].name) == 0) {
                *flags = (*flags | fl[i].set) & ~fl[i].clear;
                known = true;
            }
        if (!known)
            buf_printf(data, "%s%s", data->len ? "," : "", tok);
    }
}

/* -v, --mount, --volumes-from and image volumes: binds (a missing -v
 * source directory is created, as dockerd does), volumes (mounted and
 * filled from the image first) and tmpfs. */
static int user_mounts(rt_containers *mgr, rt_container *c, const char *rootfs, rt_spec_storage *st, berr *e)
{
    rt_mount_req *m = NULL;
    size_t n = 0;
    int r = rt_mounts_setup(mgr, c, rootfs, e);
    if (r == 0)
        r = rt_mounts_list(mgr, c, &m, &n, e);
    for (size_t i = 0; i < n && r == 0; i++) {
        if (m[i].tmpfs) {
            add_mount(st, "tmpfs", m[i].target, "tmpfs", MS_NOSUID | MS_NODEV | (m[i].readonly ? MS_RDONLY : 0),
                      m[i].tmpfs_data);
            continue;
        }
        if (m[i].create_source && access(m[i].source, F_OK) < 0 && (r = fs_mkdir_p(m[i].source, 0755, e)) < 0)
            break;
        add_mount(st, m[i].source, m[i].target, "bind", MS_BIND | MS_REC | (m[i].readonly ? MS_RDONLY : 0), NULL);
        st->mounts[st->n_mounts - 1].propagation = m[i].propagation;
    }
    rt_mounts_free(m, n);
    return r;
}

static int mount_depth(const rt_mount *m)
{
    int d = 0;
    for (const char *p = m->destination; *p; p++)
        d += *p == '/' && p[1] && p[1] != '/';
    return d;
}

/* Parents before children, as dockerd's sortMounts: a volume on /etc must
 * go under /etc/hosts, not over it.  Stable, so a user's mount on
 * /etc/hosts still comes after (and wins over) the generated one. */
static void sort_mounts(rt_spec_storage *st)
{
    for (size_t i = 1; i < st->n_mounts; i++) {
        rt_mount t = st->mounts[i];
        size_t j = i;
        for (; j > 0 && mount_depth(&st->mounts[j - 1]) > mount_depth(&t); j--)
            st->mounts[j] = st->mounts[j - 1];
        st->mounts[j] = t;
    }
}

static int tmpfs_mounts(rt_container *c, rt_spec_storage *st, berr *e)
{
    const char *path;
    json_t *v;
    json_object_foreach(json_object_get(c->host_config, "Tmpfs"), path, v) {
        if (path[0] != '/')
            return berr_set(e, -EINVAL, "invalid tmpfs mount point %s: must be absolute", path);
        unsigned long flags;
        cleanup_buf buf data = BUF_INIT;
        tmpfs_options(json_string_value(v), &flags, &data);
        add_mount(st, "tmpfs", path, "tmpfs", flags, data.len ? data.data : NULL);
    }
    return 0;
}

/* A device number of the rule: digits or "*"; advances *p. */
static bool rule_number(const char **p)
{
    if (**p == '*') {
        (*p)++;
        return true;
    }
    const char *start = *p;
    while (**p >= '0' && **p <= '9')
        (*p)++;
    return *p > start;
}

bool rt_device_cgroup_rule_valid(const char *rule)
{
    const char *p = rule;
    if (!strchr("acb", *p) || !*p || p[1] != ' ')
        return false;
    p += 2;
    if (!rule_number(&p) || *p++ != ':' || !rule_number(&p) || *p++ != ' ')
        return false;
    size_t n = 0;
    while (*p && strchr("rwm", *p))
        p++, n++;
    return !*p && n >= 1 && n <= 3;
}

static int devices(rt_container *c, rt_spec_storage *st, berr *e)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(c->host_config, "Devices"), i, v) {
        const char *host = json_str(v, "PathOnHost"), *in = json_str(v, "PathInContainer"),
                   *perm = json_str(v, "CgroupPermissions");
        struct stat sb;
        if (stat(host, &sb) < 0)
            return berr_sys(e, -errno, "error gathering device information while adding custom device \"%s\"", host);
        if (!S_ISCHR(sb.st_mode) && !S_ISBLK(sb.st_mode))
            return berr_set(e, -EINVAL, "error gathering device information while adding custom device \"%s\": not a device node", host);
        st->devices = xrealloc(st->devices, (st->n_devices + 1) * sizeof *st->devices);
        st->devices[st->n_devices++] = (rt_device){keep(st, xstrdup(*in ? in : host)), S_ISCHR(sb.st_mode) ? 'c' : 'b',
                                                   major(sb.st_rdev), minor(sb.st_rdev), sb.st_mode & 07777,
                                                   sb.st_uid, sb.st_gid};
        st->device_rules = xrealloc(st->device_rules, (st->n_device_rules + 1) * sizeof *st->device_rules);
        st->device_rules[st->n_device_rules++] = xasprintf("%c %u:%u %s", S_ISCHR(sb.st_mode) ? 'c' : 'b',
                                                           major(sb.st_rdev), minor(sb.st_rdev), *perm ? perm : "rwm");
    }
    /* --device-cgroup-rule, checked as dockerd checks it when the spec is made. */
    json_array_foreach(json_object_get(c->host_config, "DeviceCgroupRules"), i, v) {
        const char *rule = json_string_value(v);
        if (!rule || !rt_device_cgroup_rule_valid(rule))
            return berr_set(e, -EINVAL, "invalid device cgroup rule format: '%s'", rule ? rule : "");
        st->device_rules = xrealloc(st->device_rules, (st->n_device_rules + 1) * sizeof *st->device_rules);
        st->device_rules[st->n_device_rules++] = xstrdup(rule);
    }
    return 0;
}

static int ulimits(rt_container *c, rt_spec_storage *st, berr *e)
{
    static const struct { const char *name; int res; } names[] = {
        {"core", RLIMIT_CORE}, {"cpu", RLIMIT_CPU}, {"data", RLIMIT_DATA}, {"fsize", RLIMIT_FSIZE},
        {"locks", RLIMIT_LOCKS}, {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE},
        {"nice", RLIMIT_NICE}, {"nofile", RLIMIT_NOFILE}, {"nproc", RLIMIT_NPROC}, {"rss", RLIMIT_RSS},
        {"rtprio", RLIMIT_RTPRIO}, {"rttime", RLIMIT_RTTIME}, {"sigpending", RLIMIT_SIGPENDING},
        {"stack", RLIMIT_STACK}, {"as", RLIMIT_AS},
    };
    json_t *list = json_object_get(c->host_config, "Ulimits");
    st->rlimits = xcalloc(json_array_size(list) + 1, sizeof *st->rlimits);
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        const char *name = json_str(v, "Name");
        int res = -1;
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
            if (strcmp(name, names[k].name) == 0)
                res = names[k].res;
        if (res < 0)
            return berr_set(e, -EINVAL, "invalid ulimit type: %s", name);
        int64_t soft = json_integer_value(json_object_get(v, "Soft")), hard = json_integer_value(json_object_get(v, "Hard"));
        if (soft > hard)
            return berr_set(e, -EINVAL, "ulimit soft limit must be less than or equal to hard limit: %lld > %lld",
                            (long long)soft, (long long)hard);
        st->rlimits[st->spec.n_rlimits++] = (rt_rlimit){res, (uint64_t)soft, (uint64_t)hard};
    }
    st->spec.rlimits = st->rlimits;
    return 0;
}

static int sysctls(rt_container *c, bool remapped, rt_spec_storage *st, berr *e)
{
    json_t *obj = json_object_get(c->host_config, "Sysctls");
    st->sysctls = xcalloc(json_object_size(obj) + 2, sizeof *st->sysctls);
    bool host_net = strcmp(json_str(c->host_config, "NetworkMode"), "host") == 0;
    bool host_ipc = strcmp(json_str(c->host_config, "IpcMode"), "host") == 0;
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        bool ipc = !strncmp(k, "kernel.msg", 10) || !strcmp(k, "kernel.sem") || !strncmp(k, "kernel.shm", 10) ||
                   !strncmp(k, "fs.mqueue.", 10);
        bool net = !strncmp(k, "net.", 4);
        if (!ipc && !net)
            return berr_set(e, -EINVAL, "sysctl '%s' is not allowed", k);
        if ((net && host_net) || (ipc && host_ipc))
            return berr_set(e, -EINVAL, "sysctl '%s' is not allowed in host %s namespace", k, net ? "network" : "IPC");
        st->sysctls[st->spec.n_sysctls++] = (rt_sysctl){keep(st, xstrdup(k)), keep(st, xstrdup(json_string_value(v) ? json_string_value(v) : ""))};
    }
    /* A remapped root holds no capability over the network namespace (the
     * host's user namespace owns it), so CAP_NET_BIND_SERVICE cannot let it
     * bind below 1024: open those ports as dockerd does for every container
     * with a network namespace of its own. */
    if (remapped && !host_net && !json_object_get(obj, "net.ipv4.ip_unprivileged_port_start"))
        st->sysctls[st->spec.n_sysctls++] = (rt_sysctl){"net.ipv4.ip_unprivileged_port_start", "0"};
    st->spec.sysctls = st->sysctls;
    return 0;
}

/* --ipc shareable: /dev/shm is a tmpfs on the host, so that containers
 * joining this one's IPC namespace can bind the same one. */
static int shareable_shm(rt_containers *m, rt_container *c, rt_spec_storage *st, berr *e)
{
    char dir[PATH_MAX];
    rt_container_dir(m, c, dir);
    cleanup_free char *shm = xasprintf("%s/shm", dir);
    if (mkdir(shm, 0755) < 0 && errno != EEXIST)
        return berr_sys(e, -errno, "mkdir %s", shm);
    int64_t size = json_integer_value(json_object_get(c->host_config, "ShmSize"));
    cleanup_free char *opts = xasprintf("mode=1777,size=%lld", (long long)(size > 0 ? size : 64 << 20));
    if (mount("shm", shm, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0)
        return berr_sys(e, -errno, "mount shm on %s", shm);
    add_mount(st, shm, "/dev/shm", "bind", MS_BIND, NULL);
    return 0;
}

/* ---- namespaces ------------------------------------------------------------- */

static int join(rt_containers *m, rt_spec_storage *st, const char *mode, int nstype, const char *nsname, berr *e)
{
    rt_container *other;
    int r = rt_container_find(m, mode + 10, &other, e);
    if (r < 0)
        return r;
    if (!rt_container_running(other) || other->pid <= 0)
        return berr_set(e, -EBUSY, "cannot join namespace of a non running container: %s is not running", other->id);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/%s", other->pid, nsname);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return berr_sys(e, -errno, "open %s", path);
    size_t i = st->spec.n_joins++;
    st->join_fds[i] = fd;
    st->joins[i] = (rt_ns_join){nstype, fd};
    st->spec.joins = st->joins;
    return 0;
}

/* Joins a namespace the daemon holds open (a network sandbox's). */
static int join_fd(rt_spec_storage *st, int ns_fd, int nstype, berr *e)
{
    int fd = fcntl(ns_fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return berr_sys(e, -errno, "dup namespace fd");
    size_t i = st->spec.n_joins++;
    st->join_fds[i] = fd;
    st->joins[i] = (rt_ns_join){nstype, fd};
    st->spec.joins = st->joins;
    return 0;
}

static int namespaces(rt_containers *m, rt_container *c, rt_spec_storage *st, berr *e)
{
    json_t *hc = c->host_config;
    /* --cgroupns: only "host" shares the daemon's; a container from before
     * the daemon default was recorded (empty) keeps the private one it had. */
    int flags = CLONE_NEWNS | (strcmp(json_str(hc, "CgroupnsMode"), "host") ? CLONE_NEWCGROUP : 0);
    const char *net = json_str(hc, "NetworkMode"), *pid = json_str(hc, "PidMode"), *ipc = json_str(hc, "IpcMode"),
               *uts = json_str(hc, "UTSMode");
    int r = 0;
    if (!strncmp(net, "container:", 10))
        r = join(m, st, net, CLONE_NEWNET, "net", e);
    else if (c->sandbox)
        r = join_fd(st, net_sandbox_ns_fd(c->sandbox), CLONE_NEWNET, e);
    else if (strcmp(net, "host"))
        flags |= CLONE_NEWNET;
    if (r == 0 && !strncmp(pid, "container:", 10))
        r = join(m, st, pid, CLONE_NEWPID, "pid", e);
    else if (strcmp(pid, "host"))
        flags |= CLONE_NEWPID;
    if (r == 0 && !strncmp(ipc, "container:", 10)) {
        r = join(m, st, ipc, CLONE_NEWIPC, "ipc", e);
        /* POSIX shared memory lives in /dev/shm: share the donor's, which
         * must have made it shareable (a host tmpfs), as with dockerd. */
        rt_container *other;
        if (r == 0 && rt_container_find(m, ipc + 10, &other, NULL) == 0) {
            if (strcmp(json_str(other->host_config, "IpcMode"), "shareable") != 0)
                return berr_set(e, -EINVAL, "cannot join IPC of a non-shareable container %.12s (hint: use --ipc shareable for the donor container)",
                                other->id);
            char dir[PATH_MAX];
            rt_container_dir(m, other, dir);
            cleanup_free char *shm = xasprintf("%s/shm", dir);
            add_mount(st, shm, "/dev/shm", "bind", MS_BIND, NULL);
        }
    } else if (strcmp(ipc, "host"))
        flags |= CLONE_NEWIPC;
    if (strcmp(uts, "host"))
        flags |= CLONE_NEWUTS;
    st->spec.clone_flags = flags;
    st->spec.userns = rt_container_userns(m, c);
    return r;
}

/* ---- privileges ------------------------------------------------------------- */

int rt_spec_caps(json_t *hc, bool privileged, uint64_t *caps, berr *e)
{
    *caps = privileged ? rt_caps_all() : rt_caps_default();
    if (privileged)
        return 0;
    json_t *lists[2] = {json_object_get(hc, "CapAdd"), json_object_get(hc, "CapDrop")};
    const char **names[2];
    size_t counts[2] = {0, 0};
    for (int l = 0; l < 2; l++) {
        names[l] = xcalloc(json_array_size(lists[l]) + 1, sizeof *names[l]);
        size_t i;
        json_t *v;
        json_array_foreach(lists[l], i, v) if (json_is_string(v)) names[l][counts[l]++] = json_string_value(v);
    }
    int r = rt_caps_adjust(*caps, names[0], counts[0], names[1], counts[1], caps, e);
    free(names[0]);
    free(names[1]);
    return r;
}

int rt_spec_seccomp(rt_containers *m, json_t *hc, bool privileged, uint64_t caps, bool *no_new_privs,
                    const struct sock_fprog **prog, struct sock_fprog **owned, berr *e)
{
    *prog = NULL;
    *owned = NULL;
    const char *profile = privileged ? NULL : rt_seccomp_default_profile();
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(hc, "SecurityOpt"), i, v) {
        const char *opt = json_string_value(v);
        if (!opt)
            continue;
        if (!strcmp(opt, "no-new-privileges") || !strcmp(opt, "no-new-privileges=true") ||
            !strcmp(opt, "no-new-privileges:true"))
            *no_new_privs = true;
        else if (!strcmp(opt, "seccomp=unconfined") || !strcmp(opt, "seccomp:unconfined"))
            profile = NULL;
        else if (!strncmp(opt, "seccomp=", 8) || !strncmp(opt, "seccomp:", 8))
            profile = opt + 8;
    }
    int r = 0;
    if (profile == rt_seccomp_default_profile())
        r = rt_containers_default_seccomp(m, caps, prog, e);
    else if (profile && (r = rt_seccomp_compile(profile, caps, owned, e)) == 0)
        *prog = *owned;
    return r < 0 ? berr_wrap(e, "seccomp profile") : 0;
}

static int security(rt_containers *m, rt_container *c, rt_spec_storage *st, berr *e)
{
    json_t *hc = c->host_config;
    st->spec.privileged = json_is_true(json_object_get(hc, "Privileged"));
    int r = rt_spec_caps(hc, st->spec.privileged, &st->spec.caps, e);
    if (r == 0)
        r = rt_spec_seccomp(m, hc, st->spec.privileged, st->spec.caps, &st->spec.no_new_privs, &st->spec.seccomp,
                            &st->seccomp, e);
    return r;
}

void rt_spec_resources(json_t *hc, rt_resources *r)
{
    memset(r, 0, sizeof *r);
    r->memory = json_integer_value(json_object_get(hc, "Memory"));
    r->memory_swap = json_integer_value(json_object_get(hc, "MemorySwap"));
    r->memory_reservation = json_integer_value(json_object_get(hc, "MemoryReservation"));
    r->nano_cpus = json_integer_value(json_object_get(hc, "NanoCpus"));
    r->cpu_shares = json_integer_value(json_object_get(hc, "CpuShares"));
    r->cpu_period = json_integer_value(json_object_get(hc, "CpuPeriod"));
    r->cpu_quota = json_integer_value(json_object_get(hc, "CpuQuota"));
    snprintf(r->cpuset_cpus, sizeof r->cpuset_cpus, "%s", json_str(hc, "CpusetCpus"));
    snprintf(r->cpuset_mems, sizeof r->cpuset_mems, "%s", json_str(hc, "CpusetMems"));
    json_t *pids = json_object_get(hc, "PidsLimit");
    r->pids_limit = json_is_integer(pids) ? json_integer_value(pids) : 0;
    r->blkio_weight = (uint16_t)json_integer_value(json_object_get(hc, "BlkioWeight"));
    r->oom_kill_disable = json_is_true(json_object_get(hc, "OomKillDisable"));
}

int rt_spec_build(rt_containers *m, rt_container *c, const char *rootfs, rt_spec_storage *st, berr *e)
{
    memset(st, 0, sizeof *st);
    st->keep = json_array();
    for (int i = 0; i < 4; i++)
        st->join_fds[i] = -1;
    st->spec.pid_ns_fd = -1;
    json_t *cfg = c->config, *hc = c->host_config;
    const char *const *group_add = NULL;
    size_t n_group_add = json_array_size(json_object_get(hc, "GroupAdd"));
    const char **ga = xcalloc(n_group_add + 1, sizeof *ga);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(hc, "GroupAdd"), i, v) ga[i] = json_string_value(v);
    group_add = ga;
    int r = rt_user_resolve(rootfs, json_str(cfg, "User"), group_add, n_group_add, &st->user, e);
    free(ga);
    if (r == 0)
        r = build_argv(m, c, st, e);
    if (r < 0)
        return r;
    if ((r = rt_links_for_start(m, c, &st->link_env, &st->link_hosts, e)) < 0)
        return r;
    build_env(c, st);
    if ((r = etc_files(m, c, st, e)) < 0 || (r = tmpfs_mounts(c, st, e)) < 0 || (r = user_mounts(m, c, rootfs, st, e)) < 0 || (r = devices(c, st, e)) < 0 ||
        (r = ulimits(c, st, e)) < 0 || (r = sysctls(c, rt_container_userns(m, c) != NULL, st, e)) < 0 || (r = namespaces(m, c, st, e)) < 0 ||
        (r = security(m, c, st, e)) < 0)
        return r;
    if (json_is_true(json_object_get(hc, "Init")))
        add_mount(st, m->init_path, "/sbin/docker-init", "bind", MS_BIND | MS_RDONLY, NULL);
    if (!strcmp(json_str(hc, "IpcMode"), "shareable") && (r = shareable_shm(m, c, st, e)) < 0)
        return r;
    sort_mounts(st);

    rt_spawn_spec *s = &st->spec;
    s->argv = st->argv;
    s->env = st->env;
    const char *wd = json_str(cfg, "WorkingDir");
    s->cwd = *wd ? wd : "/";
    s->rootfs = rootfs;
    s->readonly_rootfs = json_is_true(json_object_get(hc, "ReadonlyRootfs"));
    s->mounts = st->mounts;
    s->n_mounts = st->n_mounts;
    s->devices = st->devices;
    s->n_devices = st->n_devices;
    s->shm_size = (uint64_t)json_integer_value(json_object_get(hc, "ShmSize"));
    /* dockerd clears "ro" on the cgroup mount for --privileged and with
     * userns-remap (the remapped root owns none of the files anyway). */
    st->cgroup_fs = rt_cgroup_fs_new(&m->cgroups, c->id, s->privileged || rt_container_userns(m, c), NULL);
    s->cgroup_fs = st->cgroup_fs;
    s->hostname = (s->clone_flags & CLONE_NEWUTS) ? json_str(cfg, "Hostname") : NULL;
    s->domainname = (s->clone_flags & CLONE_NEWUTS) && *json_str(cfg, "Domainname") ? json_str(cfg, "Domainname") : NULL;
    s->uid = st->user.uid;
    s->gid = st->user.gid;
    s->groups = st->user.groups;
    s->n_groups = st->user.n_groups;
    json_t *adj = json_object_get(hc, "OomScoreAdj");
    s->oom_score_adj = (int)json_integer_value(adj);
    s->tty = json_is_true(json_object_get(cfg, "Tty"));
    rt_spec_resources(hc, &st->resources);
    return 0;
}

void rt_spec_free(rt_spec_storage *st)
{
    free_strv(st->argv);
    free_strv(st->env);
    free(st->mounts);
    free(st->devices);
    for (size_t i = 0; i < st->n_device_rules; i++)
        free(st->device_rules[i]);
    free(st->device_rules);
    free(st->sysctls);
    free(st->rlimits);
    for (int i = 0; i < 4; i++)
        if (st->join_fds[i] >= 0)
            close(st->join_fds[i]);
    rt_user_free(&st->user);
    if (st->seccomp)
        rt_seccomp_free(st->seccomp);
    rt_cgroup_fs_free(st->cgroup_fs);
    json_decref(st->link_env);
    free(st->link_hosts);
    json_decref(st->keep);
    memset(st, 0, sizeof *st);
}
