/* The container cgroup interface: detection of the hierarchy layout,
 * dispatch to the v1 or v2 back end, and the small file helpers both share.
 *
 * cgroup files are not ordinary files: a value is taken or refused as a
 * whole by one write(2), and the kernel's refusal (EINVAL, EBUSY...) is the
 * only explanation there is, so every write error names the file. */
#include "runtime/linux/cgroup.h"

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "runtime/linux/cgroup_internal.h"

/* --- file helpers ----------------------------------------------------- */

static int join(char *out, size_t cap, const char *dir, const char *file, berr *e)
{
    if ((size_t)snprintf(out, cap, "%s/%s", dir, file) >= cap)
        return berr_set(e, -ENAMETOOLONG, "path too long: %s/%s", dir, file);
    return 0;
}

int rt_cg_write(const char *dir, const char *file, const char *value, berr *e)
{
    char path[PATH_MAX];
    int r = join(path, sizeof path, dir, file, e);
    if (r < 0)
        return r;
    /* O_TRUNC is meaningless to the kernel but lets a fake tree of plain
     * files (the unit tests) hold exactly the last value written. */
    cleanup_close int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0)
        return berr_sys(e, -errno, "write %s", path);
    size_t len = strlen(value);
    ssize_t n;
    do
        n = write(fd, value, len);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return berr_sys(e, -errno, "write %s", path);
    if ((size_t)n != len)
        return berr_set(e, -EIO, "write %s: short write", path);
    return 0;
}

int rt_cg_writef(const char *dir, const char *file, berr *e, const char *fmt, ...)
{
    char value[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(value, sizeof value, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof value)
        return berr_set(e, -EINVAL, "value for %s/%s too long", dir, file);
    return rt_cg_write(dir, file, value, e);
}

bool rt_cg_exists(const char *dir, const char *file)
{
    char path[PATH_MAX];
    if (join(path, sizeof path, dir, file, NULL) < 0)
        return false;
    return access(path, F_OK) == 0;
}

int rt_cg_read(const char *dir, const char *file, char **out, berr *e)
{
    char path[PATH_MAX];
    int r = join(path, sizeof path, dir, file, e);
    if (r < 0)
        return r;
    /* fs_read_file reads to EOF: cgroup files report a size of 0 or 4096
     * whatever they hold. */
    return fs_read_file(path, out, NULL, e);
}

char *rt_cg_strip(char *s)
{
    char *p = s;
    while (*p == ' ' || *p == '\t' || *p == '\n')
        p++;
    size_t n = strlen(p);
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\n'))
        n--;
    memmove(s, p, n);
    s[n] = 0;
    return s;
}

static bool parse_u64(const char *s, uint64_t *v)
{
    if (*s < '0' || *s > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || (*end && *end != ' ' && *end != '\n' && *end != '\t'))
        return false;
    *v = x;
    return true;
}

int rt_cg_read_u64(const char *dir, const char *file, uint64_t *v, berr *e)
{
    cleanup_free char *text = NULL;
    int r = rt_cg_read(dir, file, &text, e);
    if (r < 0)
        return r;
    rt_cg_strip(text);
    if (strcmp(text, "max") == 0) {
        *v = UINT64_MAX;
        return 0;
    }
    if (!parse_u64(text, v))
        return berr_set(e, -EINVAL, "read %s/%s: not a number: \"%.40s\"", dir, file, text);
    return 0;
}

bool rt_cg_keyed_u64(const char *text, const char *key, uint64_t *v)
{
    size_t klen = strlen(key);
    for (const char *line = text; line && *line;) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
            return parse_u64(line + klen + 1, v);
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return false;
}

int rt_cg_parse_pids(const char *text, pid_t **pids, size_t *n)
{
    size_t count = 0, cap = 0;
    pid_t *out = NULL;
    for (const char *p = text; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p) {
            p++;
            continue;
        }
        if (v > 0 && v <= INT_MAX) {
            if (count == cap) {
                cap = cap ? cap * 2 : 16;
                out = xrealloc(out, cap * sizeof *out);
            }
            out[count++] = (pid_t)v;
        }
        p = end;
    }
    *pids = out;
    *n = count;
    return 0;
}

int rt_cg_read_pids(const char *dir, pid_t **pids, size_t *n, berr *e)
{
    cleanup_free char *text = NULL;
    int r = rt_cg_read(dir, "cgroup.procs", &text, e);
    if (r < 0)
        return r;
    return rt_cg_parse_pids(text, pids, n);
}

int rt_cg_kill_procs(const char *const *dirs, size_t n_dirs, size_t *seen, berr *e)
{
    size_t total = 0;
    pid_t self = getpid();
    for (size_t i = 0; i < n_dirs; i++) {
        cleanup_free pid_t *pids = NULL;
        size_t n = 0;
        berr err;
        int r = rt_cg_read_pids(dirs[i], &pids, &n, &err);
        if (r == -ENOENT)
            continue;
        if (r < 0) {
            if (e)
                *e = err;
            return r;
        }
        for (size_t j = 0; j < n; j++) {
            /* The daemon never belongs in a container's cgroup; if it got
             * there by some bug, killing it would be the worse outcome. */
            if (pids[j] == self || pids[j] <= 1) {
                log_warn("cgroup %s lists pid %d; not killing it", dirs[i], (int)pids[j]);
                continue;
            }
            total++;
            if (kill(pids[j], SIGKILL) < 0 && errno != ESRCH)
                log_warn("kill %d in %s: %s", (int)pids[j], dirs[i], strerror(errno));
        }
    }
    *seen = total;
    return 0;
}

int rt_cg_kill_until_empty(const char *const *dirs, size_t n_dirs, berr *e)
{
    uint64_t deadline = rt_cg_now_ms() + RT_CG_KILL_TIMEOUT_MS;
    unsigned nap = 5;
    for (;;) {
        size_t seen = 0;
        int r = rt_cg_kill_procs(dirs, n_dirs, &seen, e);
        if (r < 0)
            return r;
        if (seen == 0)
            return 0;
        if (rt_cg_now_ms() > deadline)
            return berr_set(e, -EBUSY, "%zu processes still in cgroup %s after SIGKILL", seen,
                            n_dirs ? dirs[0] : "");
        rt_cg_sleep_ms(nap);
        if (nap < 100)
            nap *= 2;
    }
}

int rt_cg_rmdir(const char *path, berr *e)
{
    uint64_t deadline = rt_cg_now_ms() + RT_CG_RMDIR_TIMEOUT_MS;
    for (;;) {
        if (rmdir(path) == 0 || errno == ENOENT)
            return 0;
        if (errno != EBUSY || rt_cg_now_ms() > deadline)
            return berr_sys(e, -errno, "rmdir %s", path);
        rt_cg_sleep_ms(10);
    }
}

int rt_cg_mkdir(const char *path, berr *e)
{
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return berr_sys(e, -errno, "mkdir %s", path);
    return 0;
}

void rt_cg_sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

uint64_t rt_cg_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int64_t rt_cg_effective_swap(const rt_resources *r, bool creating)
{
    if (r->memory_swap != 0)
        return r->memory_swap;
    /* dockerd's default for `run --memory` without --memory-swap; `update`
     * leaves the existing swap limit alone instead. */
    if (creating && r->memory > 0)
        return r->memory * 2;
    return 0;
}

/* --- detection and dispatch ------------------------------------------- */

bool rt_cgroup_host_unified(const char *root)
{
    struct statfs sf;
    return statfs(root, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

int rt_cgroups_init(rt_cgroups *cg, const char *root, berr *e)
{
    memset(cg, 0, sizeof *cg);
    if (!root || !*root)
        root = "/sys/fs/cgroup";
    size_t len = strlen(root);
    while (len > 1 && root[len - 1] == '/')
        len--;
    if (len >= sizeof cg->root)
        return berr_set(e, -ENAMETOOLONG, "cgroup root too long: %s", root);
    memcpy(cg->root, root, len);
    cg->root[len] = 0;

    struct statfs sf;
    if (statfs(cg->root, &sf) < 0)
        return berr_sys(e, -errno, "statfs %s", cg->root);
    /* The filesystem type decides on a real host; the file checks after it
     * let tests point root at a plain directory laid out like either. */
    if (sf.f_type == CGROUP2_SUPER_MAGIC || rt_cg_exists(cg->root, "cgroup.controllers")) {
        cg->version = RT_CGROUP_V2;
        return 0;
    }
    if (rt_cgv1_detect(cg->root)) {
        cg->version = RT_CGROUP_V1;
        return 0;
    }
    return berr_set(e, -ENOTSUP,
                    "no cgroup hierarchy at %s: neither cgroup2 nor v1 controller directories",
                    cg->root);
}

/* The id becomes a directory name under every hierarchy. */
static int check_id(const rt_cgroups *cg, const char *id, berr *e)
{
    if (cg->version != RT_CGROUP_V1 && cg->version != RT_CGROUP_V2)
        return berr_set(e, -EINVAL, "cgroups not initialised");
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > 128 || id[0] == '.')
        return berr_set(e, -EINVAL, "invalid cgroup name \"%s\"", id ? id : "");
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return berr_set(e, -EINVAL, "invalid cgroup name \"%s\"", id);
    }
    return 0;
}

#define DISPATCH(fn, ...)                                                   \
    do {                                                                    \
        int r_ = check_id(cg, id, e);                                       \
        if (r_ < 0)                                                         \
            return r_;                                                      \
        return cg->version == RT_CGROUP_V2 ? rt_cgv2_##fn(cg, id, __VA_ARGS__) \
                                           : rt_cgv1_##fn(cg, id, __VA_ARGS__); \
    } while (0)

int rt_cgroup_create(const rt_cgroups *cg, const char *id, const rt_resources *r, bool privileged,
                     const char *const *device_rules, size_t n_rules, berr *e)
{
    DISPATCH(create, r, privileged, device_rules, n_rules, e);
}

int rt_cgroup_update(const rt_cgroups *cg, const char *id, const rt_resources *r, berr *e)
{
    DISPATCH(update, r, e);
}

int rt_cgroup_enter(const rt_cgroups *cg, const char *id, pid_t pid, berr *e)
{
    if (pid <= 0)
        return berr_set(e, -EINVAL, "invalid pid %d", (int)pid);
    DISPATCH(enter, pid, e);
}

int rt_cgroup_freeze(const rt_cgroups *cg, const char *id, bool frozen, berr *e)
{
    DISPATCH(freeze, frozen, e);
}

int rt_cgroup_destroy(const rt_cgroups *cg, const char *id, berr *e)
{
    DISPATCH(destroy, e);
}

int rt_cgroup_pids(const rt_cgroups *cg, const char *id, pid_t **pids, size_t *n, berr *e)
{
    *pids = NULL;
    *n = 0;
    DISPATCH(pids, pids, n, e);
}

int rt_cgroup_stats_read(const rt_cgroups *cg, const char *id, rt_cgroup_stats *st, berr *e)
{
    memset(st, 0, sizeof *st);
    DISPATCH(stats, st, e);
}

int rt_cgroup_oom_kills(const rt_cgroups *cg, const char *id, uint64_t *n, berr *e)
{
    *n = 0;
    DISPATCH(oom_kills, n, e);
}
