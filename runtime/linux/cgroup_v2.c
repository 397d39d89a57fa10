/* cgroup v2: the unified hierarchy.  A container gets <root>/berth/<id>;
 * the controllers it needs are enabled in the subtree_control of the root
 * and of berth/ (a v2 controller only reaches a child once its parent hands
 * it down).
 *
 * Devices: v2 has no devices.allow; the device cgroup is an eBPF program
 * attached to the cgroup, which Berth does not build.  On v2 a container's
 * device access is limited only by what its /dev contains (and by the
 * capabilities it lacks, CAP_MKNOD included or not), so device_rules are
 * ignored here. */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "runtime/linux/cgroup.h"
#include "runtime/linux/cgroup_internal.h"

typedef struct v2_paths {
    char parent[PATH_MAX]; /* <root>/berth */
    char dir[PATH_MAX];    /* <root>/berth/<id> */
} v2_paths;

static void paths(const rt_cgroups *cg, const char *id, v2_paths *p)
{
    snprintf(p->parent, sizeof p->parent, "%s/" RT_CG_PARENT, cg->root);
    snprintf(p->dir, sizeof p->dir, "%s/%s", p->parent, id);
}

uint64_t rt_cgv2_shares_to_weight(int64_t shares)
{
    /* runc's linear map of shares [2, 262144] onto weight [1, 10000]:
     * the default 1024 shares become weight 39, not the v2 default 100. */
    if (shares <= 0)
        return 0;
    if (shares < 2)
        shares = 2;
    if (shares > 262144)
        shares = 262144;
    return 1 + ((uint64_t)(shares - 2) * 9999) / 262142;
}

uint64_t rt_cgv2_blkio_to_io_weight(uint16_t weight)
{
    /* blkio [10, 1000] onto io.weight [1, 10000], as runc does. */
    if (weight == 0)
        return 0;
    if (weight < 10)
        weight = 10;
    if (weight > 1000)
        weight = 1000;
    return 1 + ((uint64_t)(weight - 10) * 9999) / 990;
}

static bool has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)); p += n) {
        bool start = p == list || p[-1] == ' ' || p[-1] == '\n';
        bool end = p[n] == 0 || p[n] == ' ' || p[n] == '\n';
        if (start && end)
            return true;
    }
    return false;
}

/* Hands the controllers Berth uses, of those dir has, down to its
 * children.  Failure is only logged: a limit that needs a controller that
 * could not be enabled fails later, naming the file that is missing. */
static void enable_controllers(const char *dir)
{
    static const char *const wanted[] = {"cpu", "memory", "pids", "io", "cpuset"};
    cleanup_free char *avail = NULL;
    berr e;
    if (rt_cg_read(dir, "cgroup.controllers", &avail, &e) < 0) {
        log_warn("cgroup controllers not enabled: %s", e.msg);
        return;
    }
    cleanup_buf buf all = BUF_INIT;
    for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++)
        if (has_word(avail, wanted[i]))
            buf_printf(&all, "%s+%s", all.len ? " " : "", wanted[i]);
    if (!all.len || rt_cg_write(dir, "cgroup.subtree_control", all.data, &e) == 0)
        return;
    /* The kernel takes the list all or nothing; one by one, the ones that
     * can be enabled still are. */
    for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++) {
        if (!has_word(avail, wanted[i]))
            continue;
        if (rt_cg_writef(dir, "cgroup.subtree_control", &e, "+%s", wanted[i]) < 0)
            log_warn("cgroup controller %s not enabled: %s", wanted[i], e.msg);
    }
}

/* memory.swap.max counts swap alone where v1 and Docker's --memory-swap
 * count memory plus swap. */
static int apply_swap(const char *dir, const rt_resources *r, int64_t swap, berr *e)
{
    if (!rt_cg_exists(dir, "memory.swap.max")) {
        log_warn("cgroup %s: no swap accounting (memory.swap.max missing); "
                 "memory-swap limit discarded", dir);
        return 0;
    }
    if (swap == -1)
        return rt_cg_write(dir, "memory.swap.max", "max", e);
    uint64_t mem = r->memory > 0 ? (uint64_t)r->memory : UINT64_MAX;
    if (r->memory <= 0)   /* update of swap alone: against the current limit */
        rt_cg_read_u64(dir, "memory.max", &mem, NULL);
    if (mem == UINT64_MAX)
        return berr_set(e, -EINVAL, "a memory-swap limit needs a memory limit");
    if ((uint64_t)swap < mem)
        return berr_set(e, -EINVAL,
                        "Minimum memoryswap limit should be larger than memory limit, see usage");
    return rt_cg_writef(dir, "memory.swap.max", e, "%" PRIu64, (uint64_t)swap - mem);
}

static int apply(const char *dir, const rt_resources *r, bool creating, berr *e)
{
    int rc = 0;
    if (r->memory > 0 && (rc = rt_cg_writef(dir, "memory.max", e, "%" PRId64, r->memory)) < 0)
        return rc;
    int64_t swap = rt_cg_effective_swap(r, creating);
    if (swap != 0 && (rc = apply_swap(dir, r, swap, e)) < 0)
        return rc;
    if (r->memory_reservation > 0 &&
        (rc = rt_cg_writef(dir, "memory.low", e, "%" PRId64, r->memory_reservation)) < 0)
        return rc;
    if (r->oom_kill_disable)
        log_warn("cgroup %s: oom-kill-disable is not supported on cgroup v2; ignored", dir);

    if (r->cpu_shares > 0 &&
        (rc = rt_cg_writef(dir, "cpu.weight", e, "%" PRIu64,
                           rt_cgv2_shares_to_weight(r->cpu_shares))) < 0)
        return rc;
    int64_t period = r->cpu_period, quota = r->cpu_quota;
    if (r->nano_cpus > 0) {
        period = 100000;
        quota = r->nano_cpus * period / 1000000000;
    }
    if (quota != 0 || period > 0) {
        /* "max" or the quota, then the period if one is given: a lone
         * quota keeps the current period. */
        char value[64];
        int n = quota > 0 ? snprintf(value, sizeof value, "%" PRId64, quota)
                          : snprintf(value, sizeof value, "max");
        if (period > 0)
            snprintf(value + n, sizeof value - (size_t)n, " %" PRId64, period);
        if ((rc = rt_cg_write(dir, "cpu.max", value, e)) < 0)
            return rc;
    }
    if (r->cpuset_cpus[0] && (rc = rt_cg_write(dir, "cpuset.cpus", r->cpuset_cpus, e)) < 0)
        return rc;
    if (r->cpuset_mems[0] && (rc = rt_cg_write(dir, "cpuset.mems", r->cpuset_mems, e)) < 0)
        return rc;
    if (r->pids_limit > 0 &&
        (rc = rt_cg_writef(dir, "pids.max", e, "%" PRId64, r->pids_limit)) < 0)
        return rc;
    if (r->pids_limit == -1 && (rc = rt_cg_write(dir, "pids.max", "max", e)) < 0)
        return rc;
    if (r->blkio_weight > 0) {
        if (rt_cg_exists(dir, "io.weight"))
            rc = rt_cg_writef(dir, "io.weight", e, "%" PRIu64,
                              rt_cgv2_blkio_to_io_weight(r->blkio_weight));
        else if (rt_cg_exists(dir, "io.bfq.weight"))
            rc = rt_cg_writef(dir, "io.bfq.weight", e, "%u", (unsigned)r->blkio_weight);
        else
            log_warn("cgroup %s: no io weight support; blkio-weight discarded", dir);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int rt_cgv2_create(const rt_cgroups *cg, const char *id, const rt_resources *r, bool privileged,
                   const char *const *device_rules, size_t n_rules, berr *e)
{
    (void)privileged;
    (void)device_rules;
    v2_paths p;
    paths(cg, id, &p);
    if (n_rules)
        log_debug("cgroup v2: %zu device rule(s) for %s not enforced (no eBPF device filter); "
                  "access is limited by the container's /dev", n_rules, id);
    enable_controllers(cg->root);
    int rc = rt_cg_mkdir(p.parent, e);
    if (rc < 0)
        return rc;
    enable_controllers(p.parent);
    if ((rc = rt_cg_mkdir(p.dir, e)) < 0)
        return rc;
    if ((rc = apply(p.dir, r, true, e)) < 0) {
        berr ignored;
        rt_cg_rmdir(p.dir, &ignored);
    }
    return rc;
}

int rt_cgv2_update(const rt_cgroups *cg, const char *id, const rt_resources *r, berr *e)
{
    v2_paths p;
    paths(cg, id, &p);
    return apply(p.dir, r, false, e);
}

int rt_cgv2_enter(const rt_cgroups *cg, const char *id, pid_t pid, berr *e)
{
    v2_paths p;
    paths(cg, id, &p);
    return rt_cg_writef(p.dir, "cgroup.procs", e, "%d", (int)pid);
}

static int freeze_dir(const char *dir, bool frozen, berr *e)
{
    int rc = rt_cg_write(dir, "cgroup.freeze", frozen ? "1" : "0", e);
    if (rc < 0)
        return rc;
    /* The write only starts freezing; cgroup.events says when every task
     * has stopped. */
    uint64_t want = frozen, deadline = rt_cg_now_ms() + RT_CG_FREEZE_TIMEOUT_MS;
    unsigned nap = 1;
    for (;;) {
        cleanup_free char *events = NULL;
        if ((rc = rt_cg_read(dir, "cgroup.events", &events, e)) < 0)
            return rc;
        uint64_t state = 0;
        if (rt_cg_keyed_u64(events, "frozen", &state) && state == want)
            return 0;
        if (rt_cg_now_ms() > deadline) {
            if (frozen)
                rt_cg_write(dir, "cgroup.freeze", "0", NULL);
            return berr_set(e, -EBUSY, "%s: not %s after %d ms", dir,
                            frozen ? "frozen" : "thawed", RT_CG_FREEZE_TIMEOUT_MS);
        }
        rt_cg_sleep_ms(nap);
        if (nap < 100)
            nap *= 2;
    }
}

int rt_cgv2_freeze(const rt_cgroups *cg, const char *id, bool frozen, berr *e)
{
    v2_paths p;
    paths(cg, id, &p);
    return freeze_dir(p.dir, frozen, e);
}

int rt_cgv2_destroy(const rt_cgroups *cg, const char *id, berr *e)
{
    v2_paths p;
    paths(cg, id, &p);
    if (access(p.dir, F_OK) < 0)
        return 0;
    const char *dirs[] = {p.dir};
    berr ignored;
    /* cgroup.kill (5.14+) kills the whole subtree atomically, forks in
     * flight included; before it, freeze-kill-thaw does the same job. */
    if (!rt_cg_exists(p.dir, "cgroup.kill") ||
        rt_cg_write(p.dir, "cgroup.kill", "1", &ignored) < 0) {
        bool frozen = freeze_dir(p.dir, true, &ignored) == 0;
        size_t seen;
        rt_cg_kill_procs(dirs, 1, &seen, &ignored);
        if (frozen)
            freeze_dir(p.dir, false, &ignored);
    }
    int rc = rt_cg_kill_until_empty(dirs, 1, e);
    if (rc < 0)
        return rc;
    return rt_cg_rmdir(p.dir, e);
}

int rt_cgv2_pids(const rt_cgroups *cg, const char *id, pid_t **pids, size_t *n, berr *e)
{
    v2_paths p;
    paths(cg, id, &p);
    return rt_cg_read_pids(p.dir, pids, n, e);
}

/* io.stat: "8:0 rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N" per
 * device. */
static void parse_io_stat(const char *text, uint64_t *rd, uint64_t *wr)
{
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, " \n");
        uint64_t v;
        char *end;
        if (strncmp(p, "rbytes=", 7) == 0 && (v = strtoull(p + 7, &end, 10), end > p + 7))
            *rd += v;
        else if (strncmp(p, "wbytes=", 7) == 0 && (v = strtoull(p + 7, &end, 10), end > p + 7))
            *wr += v;
        p += len;
        if (*p)
            p++;
    }
}

int rt_cgv2_stats(const rt_cgroups *cg, const char *id, rt_cgroup_stats *st, berr *e)
{
    v2_paths p;
    paths(cg, id, &p);
    if (access(p.dir, F_OK) < 0)
        return berr_sys(e, -errno, "cgroup %s", p.dir);
    const char *dir = p.dir;
    /* Files of a controller not enabled here are absent: that figure
     * stays 0. */
    cleanup_free char *cpu = NULL;
    if (rt_cg_read(dir, "cpu.stat", &cpu, NULL) == 0) {
        uint64_t v;
        if (rt_cg_keyed_u64(cpu, "usage_usec", &v))
            st->cpu_total_ns = v * 1000;
        if (rt_cg_keyed_u64(cpu, "user_usec", &v))
            st->cpu_user_ns = v * 1000;
        if (rt_cg_keyed_u64(cpu, "system_usec", &v))
            st->cpu_system_ns = v * 1000;
    }
    rt_cg_read_u64(dir, "memory.current", &st->memory_usage, NULL);
    rt_cg_read_u64(dir, "memory.peak", &st->memory_max_usage, NULL);   /* 5.19+ */
    rt_cg_read_u64(dir, "memory.max", &st->memory_limit, NULL);        /* "max": UINT64_MAX */
    cleanup_free char *mstat = NULL;
    if (rt_cg_read(dir, "memory.stat", &mstat, NULL) == 0)
        rt_cg_keyed_u64(mstat, "file", &st->memory_cache);
    cleanup_free char *events = NULL;
    if (rt_cg_read(dir, "memory.events", &events, NULL) == 0)
        rt_cg_keyed_u64(events, "oom_kill", &st->oom_kills);
    rt_cg_read_u64(dir, "pids.current", &st->pids_current, NULL);
    if (rt_cg_read_u64(dir, "pids.max", &st->pids_limit, NULL) == 0 &&
        st->pids_limit == UINT64_MAX)
        st->pids_limit = 0;   /* Docker's figure for no limit */
    cleanup_free char *io = NULL;
    if (rt_cg_read(dir, "io.stat", &io, NULL) == 0)
        parse_io_stat(io, &st->blkio_read_bytes, &st->blkio_write_bytes);
    return 0;
}

int rt_cgv2_oom_kills(const rt_cgroups *cg, const char *id, uint64_t *n, berr *e)
{
    v2_paths p;
    paths(cg, id, &p);
    if (access(p.dir, F_OK) < 0)
        return berr_sys(e, -errno, "cgroup %s", p.dir);
    cleanup_free char *events = NULL;
    if (rt_cg_read(p.dir, "memory.events", &events, NULL) < 0)
        return 0;   /* memory controller not enabled: nothing was counted */
    rt_cg_keyed_u64(events, "oom_kill", n);
    return 0;
}
