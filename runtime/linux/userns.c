/* --userns-remap: subordinate id ranges, the dockremap user, uid/gid maps,
 * idmapped mount trees and per-thread file credentials (see userns.h). */
#include "runtime/linux/userns.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <linux/sched.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"

#define SUBUID_FILE "/etc/subuid"
#define SUBGID_FILE "/etc/subgid"
#define DEFAULT_USER "dockremap"
#define RANGE_START 100000u
#define RANGE_SIZE 65536u

extern char **environ;

static int cmp_range(const void *a, const void *b)
{
    const rt_idrange *x = a, *y = b;
    return x->host < y->host ? -1 : x->host > y->host;
}

/* "name:start:count" -> the three fields; false for anything else. */
static bool parse_line(char *line, char **name, uint32_t *start, uint32_t *count)
{
    char *c1 = strchr(line, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c1 || !c2 || strchr(c2 + 1, ':'))
        return false;
    *c1 = *c2 = 0;
    char *end;
    errno = 0;
    unsigned long s = strtoul(c1 + 1, &end, 10);
    if (errno || end == c1 + 1 || *end || s > UINT32_MAX)
        return false;
    unsigned long n = strtoul(c2 + 1, &end, 10);
    if (errno || end == c2 + 1 || *end || n == 0 || n > UINT32_MAX || s + n - 1 > UINT32_MAX)
        return false;
    *name = line;
    *start = (uint32_t)s;
    *count = (uint32_t)n;
    return true;
}

/* Calls fn for every well-formed line of path; a malformed line of `want`
 * (NULL: any) is an error, others are skipped as shadow's tools do. */
static int each_line(const char *path, const char *want, const char *want_id,
                     int (*fn)(void *, const char *, uint32_t, uint32_t), void *arg, berr *e)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return errno == ENOENT ? 0 : berr_sys(e, -errno, "open %s", path);
    char line[512];
    int r = 0;
    while (r == 0 && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '#')
            continue;
        char copy[512];
        snprintf(copy, sizeof copy, "%s", p);
        char *name;
        uint32_t start, count;
        if (!parse_line(p, &name, &start, &count)) {
            char *colon = strchr(copy, ':');
            if (colon)
                *colon = 0;
            if (!want || !strcmp(copy, want) || (want_id && !strcmp(copy, want_id)))
                r = berr_set(e, -EINVAL, "invalid line in %s: %s", path, line);
            continue;
        }
        r = fn(arg, name, start, count);
    }
    fclose(f);
    return r;
}

typedef struct {
    const char *name, *id;
    rt_idrange *out;
    size_t cap, n;
} collect;

static int collect_one(void *arg, const char *name, uint32_t start, uint32_t count)
{
    collect *c = arg;
    if (strcmp(name, c->name) && (!c->id || strcmp(name, c->id)))
        return 0;
    if (c->n == c->cap)
        return -E2BIG;
    c->out[c->n++] = (rt_idrange){0, start, count};
    return 0;
}

int rt_subid_ranges(const char *path, const char *name, const char *id_str, rt_idrange *out, size_t cap, size_t *n,
                    berr *e)
{
    collect c = {name, id_str, out, cap, 0};
    int r = each_line(path, name, id_str, collect_one, &c, e);
    if (r == -E2BIG)
        return berr_set(e, r, "more than %zu ranges for %s in %s", cap, name, path);
    if (r < 0)
        return r;
    qsort(out, c.n, sizeof *out, cmp_range);
    *n = c.n;
    return 0;
}

typedef struct {
    rt_idrange all[512];
    size_t n;
} all_ranges;

static int collect_all(void *arg, const char *name, uint32_t start, uint32_t count)
{
    (void)name;
    all_ranges *a = arg;
    if (a->n == sizeof a->all / sizeof a->all[0])
        return -E2BIG;
    a->all[a->n++] = (rt_idrange){0, start, count};
    return 0;
}

int rt_subid_next_free(const char *path, uint32_t count, uint32_t *start, berr *e)
{
    all_ranges *a = xcalloc(1, sizeof *a);
    int r = each_line(path, NULL, NULL, collect_all, a, e);
    if (r == -E2BIG)
        r = berr_set(e, r, "too many ranges in %s", path);
    if (r == 0) {
        qsort(a->all, a->n, sizeof a->all[0], cmp_range);
        uint64_t s = RANGE_START;
        for (size_t i = 0; i < a->n; i++) {
            uint64_t lo = a->all[i].host, hi = lo + a->all[i].count;
            if (s < hi && s + count > lo)   /* overlaps: continue after it */
                s = hi;
        }
        if (s + count - 1 > UINT32_MAX)
            r = berr_set(e, -ERANGE, "no free range of %u ids in %s", count, path);
        else
            *start = (uint32_t)s;
    }
    free(a);
    return r;
}

static void format_map(char *out, size_t cap, const rt_idrange *r, size_t n)
{
    size_t len = 0;
    out[0] = 0;
    for (size_t i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%u %u %u\n", r[i].inside, r[i].host, r[i].count);
}

static size_t layout(rt_idrange *dst, const rt_idrange *src, size_t n)
{
    uint64_t inside = 0;
    size_t k = 0;
    for (size_t i = 0; i < n && k < RT_IDMAP_MAX && inside <= UINT32_MAX; i++) {
        dst[k] = src[i];
        dst[k].inside = (uint32_t)inside;
        if (inside + dst[k].count - 1 > UINT32_MAX)
            dst[k].count = (uint32_t)(UINT32_MAX - inside + 1);
        inside += dst[k].count;
        k++;
    }
    qsort(dst, k, sizeof *dst, cmp_range);
    /* Container ids follow the host order: lay them out again sorted. */
    inside = 0;
    for (size_t i = 0; i < k; i++) {
        dst[i].inside = (uint32_t)inside;
        inside += dst[i].count;
    }
    return k;
}

void rt_idmap_build(rt_idmap *map, const rt_idrange *uids, size_t n_uids, const rt_idrange *gids, size_t n_gids)
{
    map->n_uids = layout(map->uids, uids, n_uids);
    map->n_gids = layout(map->gids, gids, n_gids);
    format_map(map->uid_map, sizeof map->uid_map, map->uids, map->n_uids);
    format_map(map->gid_map, sizeof map->gid_map, map->gids, map->n_gids);
}

static int to_host(const rt_idrange *r, size_t n, uint32_t id, uint32_t *out)
{
    for (size_t i = 0; i < n; i++)
        if (id >= r[i].inside && id - r[i].inside < r[i].count) {
            *out = r[i].host + (id - r[i].inside);
            return 0;
        }
    return -ERANGE;
}

static int to_inside(const rt_idrange *r, size_t n, uint32_t host, uint32_t *out)
{
    for (size_t i = 0; i < n; i++)
        if (host >= r[i].host && host - r[i].host < r[i].count) {
            *out = r[i].inside + (host - r[i].host);
            return 0;
        }
    return -ERANGE;
}

int rt_idmap_uid(const rt_idmap *map, uint32_t id, uid_t *out) { return to_host(map->uids, map->n_uids, id, out); }
int rt_idmap_gid(const rt_idmap *map, uint32_t id, gid_t *out) { return to_host(map->gids, map->n_gids, id, out); }
int rt_idmap_uid_inside(const rt_idmap *map, uint32_t host, uid_t *out)
{
    return to_inside(map->uids, map->n_uids, host, out);
}
int rt_idmap_gid_inside(const rt_idmap *map, uint32_t host, gid_t *out)
{
    return to_inside(map->gids, map->n_gids, host, out);
}

/* Runs argv (a shadow tool) and waits; its output goes to the daemon's. */
static int run_tool(char *const argv[], berr *e)
{
    pid_t pid;
    int r = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
    if (r != 0)
        return berr_sys(e, -r, "run %s", argv[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return berr_sys(e, -errno, "wait for %s", argv[0]);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return berr_set(e, -EIO, "%s %s failed (status %d)", argv[0], argv[1], WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return 0;
}

/* dockerd's AddNamespaceRangesUser: the system user, then a free block of
 * 65536 subordinate uids and gids for it when it has none. */
static int ensure_default_user(berr *e)
{
    struct passwd pw, *res = NULL;
    char buf[4096];
    if (getpwnam_r(DEFAULT_USER, &pw, buf, sizeof buf, &res) != 0 || !res) {
        char *argv[] = {"useradd", "-r", "-s", "/bin/false", DEFAULT_USER, NULL};
        int r = run_tool(argv, e);
        if (r < 0)
            return berr_wrap(e, "error adding user \"%s\"", DEFAULT_USER);
    }
    static const struct { const char *file, *flag; } kinds[] = {{SUBUID_FILE, "-v"}, {SUBGID_FILE, "-w"}};
    for (size_t k = 0; k < 2; k++) {
        rt_idrange have[RT_IDMAP_MAX];
        size_t n = 0;
        int r = rt_subid_ranges(kinds[k].file, DEFAULT_USER, NULL, have, RT_IDMAP_MAX, &n, e);
        if (r < 0)
            return r;
        if (n)
            continue;
        uint32_t start;
        if ((r = rt_subid_next_free(kinds[k].file, RANGE_SIZE, &start, e)) < 0)
            return berr_wrap(e, "couldn't create subordinate ID ranges");
        char range[32];
        snprintf(range, sizeof range, "%u-%u", start, start + RANGE_SIZE - 1);
        char *argv[] = {"usermod", (char *)kinds[k].flag, range, DEFAULT_USER, NULL};
        if ((r = run_tool(argv, e)) < 0)
            return berr_wrap(e, "couldn't create subordinate ID ranges");
    }
    return 0;
}

/* A numeric id as dockerd accepts one in place of a name. */
static bool all_digits(const char *s)
{
    return *s && strspn(s, "0123456789") == strlen(s);
}

int rt_idmap_load(const char *spec, rt_idmap *map, berr *e)
{
    memset(map, 0, sizeof *map);
    char user[64], group[64];
    const char *colon = strchr(spec, ':');
    size_t ulen = colon ? (size_t)(colon - spec) : strlen(spec);
    if (ulen == 0 || ulen >= sizeof user || (colon && (!colon[1] || strlen(colon + 1) >= sizeof group)))
        return berr_set(e, -EINVAL, "Can't create ID mappings: invalid userns-remap value \"%s\"", spec);
    memcpy(user, spec, ulen);
    user[ulen] = 0;
    group[0] = 0;
    if (colon)
        snprintf(group, sizeof group, "%s", colon + 1);

    if (!strcmp(spec, "default")) {
        int r = ensure_default_user(e);
        if (r < 0)
            return berr_wrap(e, "Can't create ID mappings");
        snprintf(user, sizeof user, "%s", DEFAULT_USER);
        snprintf(group, sizeof group, "%s", DEFAULT_USER);
    }

    /* The user by name or uid (dockerd looks either up in the host's passwd). */
    struct passwd pw, *pres = NULL;
    char pbuf[4096];
    int rc = all_digits(user) ? getpwuid_r((uid_t)strtoul(user, NULL, 10), &pw, pbuf, sizeof pbuf, &pres)
                              : getpwnam_r(user, &pw, pbuf, sizeof pbuf, &pres);
    if (rc != 0 || !pres)
        return berr_set(e, -EINVAL, "Can't create ID mappings: Error during uid lookup for \"%s\": no such user", user);
    char uname[64], uid_str[16];
    snprintf(uname, sizeof uname, "%s", pw.pw_name);
    snprintf(uid_str, sizeof uid_str, "%u", (unsigned)pw.pw_uid);
    /* No group given: the user's name stands for it, as with dockerd. */
    if (!group[0])
        snprintf(group, sizeof group, "%s", uname);
    char gname[64], gid_str[16];
    struct group gr, *gres = NULL;
    char gbuf[4096];
    rc = all_digits(group) ? getgrgid_r((gid_t)strtoul(group, NULL, 10), &gr, gbuf, sizeof gbuf, &gres)
                           : getgrnam_r(group, &gr, gbuf, sizeof gbuf, &gres);
    if (rc != 0 || !gres) {
        if (!all_digits(group) && colon)
            return berr_set(e, -EINVAL, "Can't create ID mappings: Error during gid lookup for \"%s\": no such group",
                            group);
        snprintf(gname, sizeof gname, "%s", group);
        snprintf(gid_str, sizeof gid_str, "%s", all_digits(group) ? group : "");
    } else {
        snprintf(gname, sizeof gname, "%s", gr.gr_name);
        snprintf(gid_str, sizeof gid_str, "%u", (unsigned)gr.gr_gid);
    }

    rt_idrange uids[RT_IDMAP_MAX], gids[RT_IDMAP_MAX];
    size_t nu = 0, ng = 0;
    int r = rt_subid_ranges(SUBUID_FILE, uname, uid_str, uids, RT_IDMAP_MAX, &nu, e);
    if (r == 0)
        r = rt_subid_ranges(SUBGID_FILE, gname, gid_str[0] ? gid_str : NULL, gids, RT_IDMAP_MAX, &ng, e);
    if (r < 0)
        return berr_wrap(e, "Can't create ID mappings");
    if (nu == 0)
        return berr_set(e, -EINVAL, "Can't create ID mappings: No subuid ranges found for user \"%s\"", uname);
    if (ng == 0)
        return berr_set(e, -EINVAL, "Can't create ID mappings: No subgid ranges found for group \"%s\"", gname);
    snprintf(map->user, sizeof map->user, "%s", uname);
    snprintf(map->group, sizeof map->group, "%s", gname);
    rt_idmap_build(map, uids, nu, gids, ng);
    return 0;
}

static int write_proc(pid_t pid, const char *file, const char *text, berr *e)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return berr_sys(e, -errno, "open %s", path);
    size_t len = strlen(text);
    if (write(fd, text, len) != (ssize_t)len)
        return berr_sys(e, -errno, "write %s", path);
    return 0;
}

int rt_idmap_write(const rt_idmap *map, pid_t pid, berr *e)
{
    int r = write_proc(pid, "uid_map", map->uid_map, e);
    return r < 0 ? r : write_proc(pid, "gid_map", map->gid_map, e);
}

int rt_idmap_userns_fd(const rt_idmap *map, berr *e)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return berr_sys(e, -errno, "pipe");
    cleanup_close int rd = p[0], wr = p[1];
    /* A child born in a new user namespace that only waits for EOF: the
     * namespace outlives it through the fd we open. */
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_NEWUSER;
    args.exit_signal = SIGCHLD;
    pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) {
        close(wr);
        char b;
        while (read(rd, &b, 1) < 0 && errno == EINTR)
            ;
        _exit(0);
    }
    if (pid < 0)
        return berr_sys(e, -errno, "clone a user namespace");
    int fd = -1;
    int r = rt_idmap_write(map, pid, e);
    if (r == 0) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            r = berr_sys(e, -errno, "open %s", path);
    }
    close(steal_fd(&wr));
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    return r < 0 ? r : fd;
}

int rt_idmapped_tree(const char *path, int userns_fd, berr *e)
{
    int fd = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (fd < 0)
        return berr_sys(e, -errno, "open_tree %s", path);
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns_fd};
    if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) {
        int r = berr_sys(e, -errno, "idmap %s", path);
        close(fd);
        return r;
    }
    return fd;
}

/* setfsuid leaves the capabilities of the permitted set out of the
 * effective one; put them back, as the mount and chown calls need them. */
static int raise_caps(berr *e)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &hdr, data) < 0)
        return berr_sys(e, -errno, "capget");
    data[0].effective = data[0].permitted;
    data[1].effective = data[1].permitted;
    if (syscall(SYS_capset, &hdr, data) < 0)
        return berr_sys(e, -errno, "capset");
    return 0;
}

int rt_fscreds_enter(const rt_idmap *map, rt_fscreds *saved, berr *e)
{
    saved->active = false;
    uid_t uid;
    gid_t gid;
    if (rt_idmap_uid(map, 0, &uid) < 0 || rt_idmap_gid(map, 0, &gid) < 0)
        return berr_set(e, -ERANGE, "the remapped root has no host id");
    /* The raw calls change this thread only (glibc's would too, but say so). */
    saved->fsgid = (gid_t)syscall(SYS_setfsgid, gid);
    saved->fsuid = (uid_t)syscall(SYS_setfsuid, uid);
    saved->active = true;
    int r = raise_caps(e);
    if (r < 0)
        rt_fscreds_leave(saved);
    return r;
}

void rt_fscreds_leave(rt_fscreds *saved)
{
    if (!saved->active)
        return;
    syscall(SYS_setfsuid, saved->fsuid);
    syscall(SYS_setfsgid, saved->fsgid);
    saved->active = false;
    raise_caps(NULL);
}
