/* cgroup v1: one hierarchy per controller, each mounted under the root
 * (/sys/fs/cgroup/memory, /sys/fs/cgroup/cpu, ...).  A container gets
 * <root>/<controller>/berth/<id> in every hierarchy that is mounted, and
 * its processes are written into each.
 *
 * cpu and cpuacct are often co-mounted as "cpu,cpuacct" with "cpu" and
 * "cpuacct" as symlinks to it (or without the symlinks): a controller is
 * found by its own name or inside a comma-joined one, and hierarchies
 * reached twice are visited once. */
#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "runtime/linux/cgroup.h"
#include "runtime/linux/cgroup_internal.h"

enum { C_CPU, C_CPUACCT, C_CPUSET, C_MEMORY, C_DEVICES, C_FREEZER, C_BLKIO, C_PIDS, C_N };

static const char *const ctrl_names[C_N] = {
    "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
};

typedef struct v1_ctrl {
    bool present;
    bool alias;            /* the hierarchy of an earlier entry (cpu,cpuacct) */
    char mount[PATH_MAX];  /* <root>/<hierarchy dir> */
    char parent[PATH_MAX]; /* <mount>/berth */
    char dir[PATH_MAX];    /* <mount>/berth/<id> */
} v1_ctrl;

typedef struct v1_layout {
    v1_ctrl c[C_N];
    const char *unique[C_N];   /* dir of each hierarchy once */
    size_t n_unique;
} v1_layout;

/* The hierarchy directory holding controller name: <root>/<name> itself or a
 * comma-joined directory listing it. */
static bool find_mount(const char *root, const char *name, char *out, size_t cap)
{
    struct stat st;
    if ((size_t)snprintf(out, cap, "%s/%s", root, name) < cap && stat(out, &st) == 0 &&
        S_ISDIR(st.st_mode))
        return true;
    cleanup_closedir DIR *d = opendir(root);
    if (!d)
        return false;
    struct dirent *de;
    size_t nlen = strlen(name);
    while ((de = readdir(d))) {
        if (!strchr(de->d_name, ','))
            continue;
        for (const char *p = de->d_name; p;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            if (len == nlen && strncmp(p, name, len) == 0) {
                if ((size_t)snprintf(out, cap, "%s/%s", root, de->d_name) < cap &&
                    stat(out, &st) == 0 && S_ISDIR(st.st_mode))
                    return true;
                break;
            }
            p = comma ? comma + 1 : NULL;
        }
    }
    return false;
}

/* Heap-allocated: eight PATH_MAX triples are too much for a worker's stack.
 * id may be NULL when only the mounts matter.  Caller frees. */
static v1_layout *layout_new(const char *root, const char *id)
{
    v1_layout *l = xcalloc(1, sizeof *l);
    dev_t devs[C_N];
    ino_t inos[C_N];
    for (int i = 0; i < C_N; i++) {
        v1_ctrl *c = &l->c[i];
        struct stat st;
        char mount[PATH_MAX];
        if (!find_mount(root, ctrl_names[i], mount, sizeof mount) || stat(mount, &st) < 0)
            continue;
        c->present = true;
        devs[i] = st.st_dev;
        inos[i] = st.st_ino;
        for (int j = 0; j < i; j++)
            if (l->c[j].present && devs[j] == st.st_dev && inos[j] == st.st_ino)
                c->alias = true;
        snprintf(c->mount, sizeof c->mount, "%s", mount);
        snprintf(c->parent, sizeof c->parent, "%s/" RT_CG_PARENT, mount);
        if (id)
            snprintf(c->dir, sizeof c->dir, "%s/" RT_CG_PARENT "/%s", mount, id);
        if (!c->alias)
            l->unique[l->n_unique++] = c->dir;
    }
    return l;
}

static void cleanup_layoutp(v1_layout **l) { free(*l); }
#define cleanup_layout __attribute__((cleanup(cleanup_layoutp)))

bool rt_cgv1_detect(const char *root)
{
    cleanup_layout v1_layout *l = layout_new(root, NULL);
    return l->n_unique > 0;
}

bool rt_cgv1_manages(const char *hierarchy)
{
    for (const char *p = hierarchy; p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        for (int i = 0; i < C_N; i++)
            if (strlen(ctrl_names[i]) == len && !strncmp(p, ctrl_names[i], len))
                return true;
        p = comma ? comma + 1 : NULL;
    }
    return false;
}

static int need(const v1_layout *l, int ctrl, const char *what, berr *e)
{
    if (l->c[ctrl].present)
        return 0;
    return berr_set(e, -ENOTSUP, "%s needs the %s cgroup controller, which is not mounted", what,
                    ctrl_names[ctrl]);
}

/* A new cpuset cgroup starts with empty cpus and mems, and the kernel
 * refuses tasks until both are set: copy them down from the parent. */
static int cpuset_inherit(const char *parent, const char *child, berr *e)
{
    static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
    for (size_t i = 0; i < 2; i++) {
        cleanup_free char *cur = NULL;
        cleanup_free char *up = NULL;
        int r = rt_cg_read(child, files[i], &cur, e);
        if (r < 0)
            return r;
        if (*rt_cg_strip(cur))
            continue;
        r = rt_cg_read(parent, files[i], &up, e);
        if (r < 0)
            return r;
        if (!*rt_cg_strip(up))
            continue;
        r = rt_cg_write(child, files[i], up, e);
        if (r < 0)
            return r;
    }
    return 0;
}

/* --- devices ---------------------------------------------------------- */

/* Docker's default device cgroup: mknod of anything, plus read/write of the
 * devices every container gets in /dev. */
static const char *const default_allow[] = {
    "c *:* m",     "b *:* m",
    "c 1:3 rwm",   /* null */
    "c 1:5 rwm",   /* zero */
    "c 1:7 rwm",   /* full */
    "c 1:8 rwm",   /* random */
    "c 1:9 rwm",   /* urandom */
    "c 5:0 rwm",   /* tty */
    "c 5:1 rwm",   /* console */
    "c 5:2 rwm",   /* ptmx */
    "c 136:* rwm", /* pts */
    "c 10:200 rwm" /* net/tun */
};
#define N_DEFAULT_ALLOW (sizeof default_allow / sizeof default_allow[0])

size_t rt_cgv1_device_ops_count(size_t n_extra) { return 1 + N_DEFAULT_ALLOW + n_extra; }

size_t rt_cgv1_device_ops(bool privileged, const char *const *extra, size_t n_extra,
                          rt_cg_write_op *ops, size_t cap)
{
    size_t n = 0;
#define PUSH(f, v)                                   \
    do {                                             \
        if (n < cap)                                 \
            ops[n++] = (rt_cg_write_op){(f), (v)};   \
    } while (0)
    if (privileged) {
        PUSH("devices.allow", "a");
        return n;
    }
    PUSH("devices.deny", "a");
    for (size_t i = 0; i < N_DEFAULT_ALLOW; i++)
        PUSH("devices.allow", default_allow[i]);
    for (size_t i = 0; i < n_extra; i++)
        PUSH("devices.allow", extra[i]);
#undef PUSH
    return n;
}

static int apply_devices(const char *dir, bool privileged, const char *const *extra, size_t n_extra,
                         berr *e)
{
    size_t cap = rt_cgv1_device_ops_count(n_extra);
    cleanup_free rt_cg_write_op *ops = xcalloc(cap, sizeof *ops);
    size_t n = rt_cgv1_device_ops(privileged, extra, n_extra, ops, cap);
    for (size_t i = 0; i < n; i++) {
        int r = rt_cg_write(dir, ops[i].file, ops[i].value, e);
        if (r < 0)
            return berr_wrap(e, "device rule \"%s\"", ops[i].value);
    }
    return 0;
}

/* --- resources -------------------------------------------------------- */

static int apply_memory(const v1_layout *l, const rt_resources *r, bool creating, berr *e)
{
    int64_t swap = rt_cg_effective_swap(r, creating);
    if (r->memory <= 0 && swap == 0 && r->memory_reservation <= 0 && !r->oom_kill_disable)
        return 0;
    int rc = need(l, C_MEMORY, "a memory limit", e);
    if (rc < 0)
        return rc;
    const char *dir = l->c[C_MEMORY].dir;

    if (swap != 0 && !rt_cg_exists(dir, "memory.memsw.limit_in_bytes")) {
        /* dockerd only warns too: the kernel was booted without swap
         * accounting, and the memory limit alone still holds. */
        log_warn("cgroup %s: no swap accounting (memory.memsw.limit_in_bytes missing); "
                 "memory-swap limit discarded", dir);
        swap = 0;
    }
    if (swap > 0 && r->memory > 0 && swap < r->memory)
        return berr_set(e, -EINVAL,
                        "Minimum memoryswap limit should be larger than memory limit, see usage");

    if (swap != 0) {
        /* The kernel keeps memory <= memory+swap at every step, so which
         * file goes first depends on whether the limits grow or shrink
         * (runc's order: swap first when it rises above the current
         * memory limit). */
        uint64_t cur = UINT64_MAX;
        rt_cg_read_u64(dir, "memory.limit_in_bytes", &cur, NULL);
        bool swap_first = swap == -1 || cur < (uint64_t)swap;
        if (swap_first && (rc = rt_cg_writef(dir, "memory.memsw.limit_in_bytes", e, "%" PRId64,
                                             swap)) < 0)
            return rc;
        if (r->memory > 0 &&
            (rc = rt_cg_writef(dir, "memory.limit_in_bytes", e, "%" PRId64, r->memory)) < 0)
            return rc;
        if (!swap_first && (rc = rt_cg_writef(dir, "memory.memsw.limit_in_bytes", e, "%" PRId64,
                                              swap)) < 0)
            return rc;
    } else if (r->memory > 0) {
        rc = rt_cg_writef(dir, "memory.limit_in_bytes", e, "%" PRId64, r->memory);
        if (rc < 0)
            return rc;
    }
    if (r->memory_reservation > 0) {
        rc = rt_cg_writef(dir, "memory.soft_limit_in_bytes", e, "%" PRId64, r->memory_reservation);
        if (rc < 0)
            return rc;
    }
    if (r->oom_kill_disable && (rc = rt_cg_write(dir, "memory.oom_control", "1", e)) < 0)
        return rc;
    return 0;
}

static int apply_cpu(const v1_layout *l, const rt_resources *r, berr *e)
{
    int64_t period = r->cpu_period, quota = r->cpu_quota;
    if (r->nano_cpus > 0) {
        period = 100000;
        quota = r->nano_cpus * period / 1000000000;
    }
    if (r->cpu_shares <= 0 && period <= 0 && quota == 0)
        return 0;
    int rc = need(l, C_CPU, "a CPU limit", e);
    if (rc < 0)
        return rc;
    const char *dir = l->c[C_CPU].dir;
    if (r->cpu_shares > 0 &&
        (rc = rt_cg_writef(dir, "cpu.shares", e, "%" PRId64, r->cpu_shares)) < 0)
        return rc;
    if (period > 0) {
        berr first;
        rc = rt_cg_writef(dir, "cpu.cfs_period_us", &first, "%" PRId64, period);
        if (rc == -EINVAL && quota != 0) {
            /* The kernel checks the period against the current quota; a
             * new quota may be what makes it acceptable (runc retries the
             * same way). */
            if ((rc = rt_cg_writef(dir, "cpu.cfs_quota_us", e, "%" PRId64, quota)) < 0)
                return rc;
            return rt_cg_writef(dir, "cpu.cfs_period_us", e, "%" PRId64, period);
        }
        if (rc < 0) {
            if (e)
                *e = first;
            return rc;
        }
    }
    if (quota != 0 && (rc = rt_cg_writef(dir, "cpu.cfs_quota_us", e, "%" PRId64, quota)) < 0)
        return rc;
    return 0;
}

static int apply(const v1_layout *l, const rt_resources *r, bool creating, berr *e)
{
    int rc = apply_memory(l, r, creating, e);
    if (rc < 0)
        return rc;
    if ((rc = apply_cpu(l, r, e)) < 0)
        return rc;
    if (r->cpuset_cpus[0] || r->cpuset_mems[0]) {
        if ((rc = need(l, C_CPUSET, "a cpuset", e)) < 0)
            return rc;
        if (r->cpuset_cpus[0] &&
            (rc = rt_cg_write(l->c[C_CPUSET].dir, "cpuset.cpus", r->cpuset_cpus, e)) < 0)
            return rc;
        if (r->cpuset_mems[0] &&
            (rc = rt_cg_write(l->c[C_CPUSET].dir, "cpuset.mems", r->cpuset_mems, e)) < 0)
            return rc;
    }
    if (r->pids_limit > 0 || r->pids_limit == -1) {
        if ((rc = need(l, C_PIDS, "a pids limit", e)) < 0)
            return rc;
        rc = r->pids_limit == -1 ? rt_cg_write(l->c[C_PIDS].dir, "pids.max", "max", e)
                                 : rt_cg_writef(l->c[C_PIDS].dir, "pids.max", e, "%" PRId64,
                                                r->pids_limit);
        if (rc < 0)
            return rc;
    }
    if (r->blkio_weight > 0) {
        const char *dir = l->c[C_BLKIO].dir;
        /* CFQ's blkio.weight is gone from current kernels; BFQ offers
         * blkio.bfq.weight with the same range. */
        const char *file = !l->c[C_BLKIO].present                      ? NULL
                           : rt_cg_exists(dir, "blkio.weight")         ? "blkio.weight"
                           : rt_cg_exists(dir, "blkio.bfq.weight")     ? "blkio.bfq.weight"
                                                                       : NULL;
        if (!file)
            log_warn("cgroup %s: no blkio weight support; blkio-weight discarded", dir);
        else if ((rc = rt_cg_writef(dir, file, e, "%u", (unsigned)r->blkio_weight)) < 0)
            return rc;
    }
    return 0;
}

/* --- operations ------------------------------------------------------- */

static void remove_dirs(const v1_layout *l)
{
    for (size_t i = 0; i < l->n_unique; i++) {
        berr ignored;
        rt_cg_rmdir(l->unique[i], &ignored);
    }
}

int rt_cgv1_create(const rt_cgroups *cg, const char *id, const rt_resources *r, bool privileged,
                   const char *const *device_rules, size_t n_rules, berr *e)
{
    cleanup_layout v1_layout *l = layout_new(cg->root, id);
    if (l->n_unique == 0)
        return berr_set(e, -ENOTSUP, "no cgroup v1 controllers under %s", cg->root);
    int rc = 0;
    for (int i = 0; i < C_N && rc == 0; i++) {
        const v1_ctrl *c = &l->c[i];
        if (!c->present || c->alias)
            continue;
        rc = rt_cg_mkdir(c->parent, e);
        if (rc == 0 && i == C_CPUSET)
            rc = cpuset_inherit(c->mount, c->parent, e);
        if (rc == 0)
            rc = rt_cg_mkdir(c->dir, e);
        if (rc == 0 && i == C_CPUSET)
            rc = cpuset_inherit(c->parent, c->dir, e);
    }
    if (rc == 0)
        rc = apply(l, r, true, e);
    if (rc == 0 && l->c[C_DEVICES].present)
        rc = apply_devices(l->c[C_DEVICES].dir, privileged, device_rules, n_rules, e);
    else if (rc == 0 && !privileged)
        log_warn("no devices cgroup under %s: container %s gets no device restrictions", cg->root,
                 id);
    if (rc < 0)
        remove_dirs(l);
    return rc;
}

int rt_cgv1_update(const rt_cgroups *cg, const char *id, const rt_resources *r, berr *e)
{
    cleanup_layout v1_layout *l = layout_new(cg->root, id);
    return apply(l, r, false, e);
}

int rt_cgv1_enter(const rt_cgroups *cg, const char *id, pid_t pid, berr *e)
{
    cleanup_layout v1_layout *l = layout_new(cg->root, id);
    if (l->n_unique == 0)
        return berr_set(e, -ENOTSUP, "no cgroup v1 controllers under %s", cg->root);
    for (size_t i = 0; i < l->n_unique; i++) {
        int rc = rt_cg_writef(l->unique[i], "cgroup.procs", e, "%d", (int)pid);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int freeze_dir(const char *dir, bool frozen, berr *e)
{
    const char *want = frozen ? "FROZEN" : "THAWED";
    uint64_t deadline = rt_cg_now_ms() + RT_CG_FREEZE_TIMEOUT_MS;
    unsigned nap = 1;
    for (;;) {
        /* Writing FROZEN again retries the tasks that were not yet frozen
         * (busy in the kernel) when the previous attempt ran. */
        int rc = rt_cg_write(dir, "freezer.state", want, e);
        if (rc < 0)
            return rc;
        cleanup_free char *state = NULL;
        if ((rc = rt_cg_read(dir, "freezer.state", &state, e)) < 0)
            return rc;
        if (strcmp(rt_cg_strip(state), want) == 0)
            return 0;
        if (rt_cg_now_ms() > deadline) {
            if (frozen)
                rt_cg_write(dir, "freezer.state", "THAWED", NULL);
            return berr_set(e, -EBUSY, "%s/freezer.state: still %s after %d ms, wanted %s", dir,
                            state, RT_CG_FREEZE_TIMEOUT_MS, want);
        }
        rt_cg_sleep_ms(nap);
        if (nap < 100)
            nap *= 2;
    }
}

int rt_cgv1_freeze(const rt_cgroups *cg, const char *id, bool frozen, berr *e)
{
    cleanup_layout v1_layout *l = layout_new(cg->root, id);
    int rc = need(l, C_FREEZER, frozen ? "pause" : "unpause", e);
    if (rc < 0)
        return rc;
    return freeze_dir(l->c[C_FREEZER].dir, frozen, e);
}

int rt_cgv1_destroy(const rt_cgroups *cg, const char *id, berr *e)
{
    cleanup_layout v1_layout *l = layout_new(cg->root, id);
    const char *dirs[C_N];
    size_t n = 0;
    for (size_t i = 0; i < l->n_unique; i++)
        if (access(l->unique[i], F_OK) == 0)
            dirs[n++] = l->unique[i];
    if (n == 0)
        return 0;

    /* Freezing first means nothing forks between reading cgroup.procs and
     * the kill; the frozen tasks die as soon as they are thawed. */
    const char *fdir = l->c[C_FREEZER].present ? l->c[C_FREEZER].dir : NULL;
    if (fdir && access(fdir, F_OK) == 0) {
        berr ignored;
        bool frozen = freeze_dir(fdir, true, &ignored) == 0;
        size_t seen;
        rt_cg_kill_procs(dirs, n, &seen, &ignored);
        if (frozen)
            freeze_dir(fdir, false, &ignored);
    }
    int rc = rt_cg_kill_until_empty(dirs, n, e);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        if ((rc = rt_cg_rmdir(dirs[i], e)) < 0)
            return rc;
    return 0;
}

/* The hierarchy whose cgroup.procs speaks for the container. */
static const char *procs_dir(const v1_layout *l)
{
    if (l->c[C_MEMORY].present)
        return l->c[C_MEMORY].dir;
    if (l->c[C_PIDS].present)
        return l->c[C_PIDS].dir;
    return l->n_unique ? l->unique[0] : NULL;
}

int rt_cgv1_pids(const rt_cgroups *cg, const char *id, pid_t **pids, size_t *n, berr *e)
{
    cleanup_layout v1_layout *l = layout_new(cg->root, id);
    const char *dir = procs_dir(l);
    if (!dir)
        return berr_set(e, -ENOTSUP, "no cgroup v1 controllers under %s", cg->root);
    return rt_cg_read_pids(dir, pids, n, e);
}

/* blkio.throttle.io_service_bytes: "8:0 Read 4096" lines per device, then
 * "Total N". */
static void parse_blkio(const char *text, uint64_t *rd, uint64_t *wr)
{
    for (const char *line = text; line && *line;) {
        char dev[64], op[16];
        unsigned long long v;
        if (sscanf(line, "%63s %15s %llu", dev, op, &v) == 3) {
            if (strcmp(op, "Read") == 0)
                *rd += v;
            else if (strcmp(op, "Write") == 0)
                *wr += v;
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
}

int rt_cgv1_stats(const rt_cgroups *cg, const char *id, rt_cgroup_stats *st, berr *e)
{
    cleanup_layout v1_layout *l = layout_new(cg->root, id);
    const char *pdir = procs_dir(l);
    if (!pdir)
        return berr_set(e, -ENOTSUP, "no cgroup v1 controllers under %s", cg->root);
    if (access(pdir, F_OK) < 0)
        return berr_sys(e, -errno, "cgroup %s", pdir);

    /* Every file is optional: a missing controller or an older kernel's
     * missing file leaves that figure at 0, as docker stats shows it. */
    if (l->c[C_CPUACCT].present) {
        const char *dir = l->c[C_CPUACCT].dir;
        rt_cg_read_u64(dir, "cpuacct.usage", &st->cpu_total_ns, NULL);
        cleanup_free char *text = NULL;
        if (rt_cg_read(dir, "cpuacct.stat", &text, NULL) == 0) {
            long hz = sysconf(_SC_CLK_TCK);
            uint64_t ns_per_tick = 1000000000ull / (uint64_t)(hz > 0 ? hz : 100);
            uint64_t v;
            if (rt_cg_keyed_u64(text, "user", &v))
                st->cpu_user_ns = v * ns_per_tick;
            if (rt_cg_keyed_u64(text, "system", &v))
                st->cpu_system_ns = v * ns_per_tick;
        }
    }
    if (l->c[C_MEMORY].present) {
        const char *dir = l->c[C_MEMORY].dir;
        rt_cg_read_u64(dir, "memory.usage_in_bytes", &st->memory_usage, NULL);
        rt_cg_read_u64(dir, "memory.max_usage_in_bytes", &st->memory_max_usage, NULL);
        rt_cg_read_u64(dir, "memory.limit_in_bytes", &st->memory_limit, NULL);
        cleanup_free char *text = NULL;
        if (rt_cg_read(dir, "memory.stat", &text, NULL) == 0 &&
            !rt_cg_keyed_u64(text, "cache", &st->memory_cache))
            rt_cg_keyed_u64(text, "total_cache", &st->memory_cache);
        cleanup_free char *oom = NULL;
        if (rt_cg_read(dir, "memory.oom_control", &oom, NULL) == 0)
            rt_cg_keyed_u64(oom, "oom_kill", &st->oom_kills);
    }
    if (l->c[C_PIDS].present) {
        const char *dir = l->c[C_PIDS].dir;
        rt_cg_read_u64(dir, "pids.current", &st->pids_current, NULL);
        /* "max" reads as 0, Docker's figure for no limit. */
        if (rt_cg_read_u64(dir, "pids.max", &st->pids_limit, NULL) == 0 &&
            st->pids_limit == UINT64_MAX)
            st->pids_limit = 0;
    }
    if (l->c[C_BLKIO].present) {
        cleanup_free char *text = NULL;
        if (rt_cg_read(l->c[C_BLKIO].dir, "blkio.throttle.io_service_bytes", &text, NULL) == 0)
            parse_blkio(text, &st->blkio_read_bytes, &st->blkio_write_bytes);
    }
    return 0;
}

int rt_cgv1_oom_kills(const rt_cgroups *cg, const char *id, uint64_t *n, berr *e)
{
    cleanup_layout v1_layout *l = layout_new(cg->root, id);
    if (!l->c[C_MEMORY].present)
        return 0;
    cleanup_free char *text = NULL;
    int rc = rt_cg_read(l->c[C_MEMORY].dir, "memory.oom_control", &text, e);
    if (rc < 0)
        return rc;
    /* "oom_kill N" appeared in kernel 4.13; older kernels cannot tell. */
    if (!rt_cg_keyed_u64(text, "oom_kill", n))
        log_debug("%s/memory.oom_control has no oom_kill count", l->c[C_MEMORY].dir);
    return 0;
}
