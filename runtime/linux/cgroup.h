/* Container cgroups on cgroup v1 (one hierarchy per controller, as on this
 * project's hybrid hosts) and v2 (the unified hierarchy), behind one
 * interface.  Each container gets <root>/<controller>/berth/<id> (v1) or
 * <root>/berth/<id> (v2).
 *
 * The root is a parameter so tests can point it at a fake tree. */
#ifndef BERTH_RUNTIME_CGROUP_H
#define BERTH_RUNTIME_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"

typedef enum rt_cgroup_version { RT_CGROUP_V1 = 1, RT_CGROUP_V2 = 2 } rt_cgroup_version;

/* Resource limits; 0 (or -1 where noted) means "not set". */
typedef struct rt_resources {
    int64_t memory;              /* bytes; --memory */
    int64_t memory_swap;         /* bytes of memory+swap; -1 = unlimited; --memory-swap */
    int64_t memory_reservation;  /* bytes; soft limit */
    int64_t nano_cpus;           /* --cpus * 1e9 -> quota/period */
    int64_t cpu_shares;          /* --cpu-shares (v2: converted to cpu.weight) */
    int64_t cpu_period;          /* us */
    int64_t cpu_quota;           /* us */
    char cpuset_cpus[128];       /* "0-1" */
    char cpuset_mems[128];
    int64_t pids_limit;          /* > 0 limit; -1 unlimited */
    uint16_t blkio_weight;
    bool oom_kill_disable;
} rt_resources;

typedef struct rt_cgroups {
    rt_cgroup_version version;
    char root[256];              /* "/sys/fs/cgroup" */
} rt_cgroups;

/* True if root ("/sys/fs/cgroup") is the cgroup v2 hierarchy itself (not
 * v1, nor hybrid with v2 beside it at unified/). */
bool rt_cgroup_host_unified(const char *root);

/* Detects the layout under root ("/sys/fs/cgroup"). */
int rt_cgroups_init(rt_cgroups *cg, const char *root, berr *e);

/* Creates the container's cgroup(s) and applies r.  On v1 the devices
 * controller is set to Docker's default allow-list unless privileged
 * (extra --device entries are allowed as given: "c 10:229 rwm"). */
int rt_cgroup_create(const rt_cgroups *cg, const char *id, const rt_resources *r, bool privileged,
                     const char *const *device_rules, size_t n_rules, berr *e);
/* Applies new limits to an existing cgroup (docker update). */
int rt_cgroup_update(const rt_cgroups *cg, const char *id, const rt_resources *r, berr *e);
/* Moves pid into the container's cgroup(s). */
int rt_cgroup_enter(const rt_cgroups *cg, const char *id, pid_t pid, berr *e);
/* Freezes or thaws every process of the container (pause/unpause). */
int rt_cgroup_freeze(const rt_cgroups *cg, const char *id, bool frozen, berr *e);
/* Kills what is left in the cgroup (SIGKILL to every pid) and removes the
 * cgroup directories; missing is success. */
int rt_cgroup_destroy(const rt_cgroups *cg, const char *id, berr *e);
/* Pids in the container's cgroup. *pids owned by the caller. */
int rt_cgroup_pids(const rt_cgroups *cg, const char *id, pid_t **pids, size_t *n, berr *e);

typedef struct rt_cgroup_stats {
    uint64_t cpu_total_ns;       /* cpuacct.usage / cpu.stat usage_usec*1000 */
    uint64_t cpu_user_ns, cpu_system_ns;
    uint64_t memory_usage, memory_limit, memory_max_usage;
    uint64_t memory_cache;       /* v1 "cache" / v2 "file" */
    uint64_t pids_current, pids_limit;
    uint64_t blkio_read_bytes, blkio_write_bytes;
    uint64_t oom_kills;          /* v2 memory.events oom_kill; v1 memory.oom_control oom_kill */
} rt_cgroup_stats;

int rt_cgroup_stats_read(const rt_cgroups *cg, const char *id, rt_cgroup_stats *st, berr *e);

/* Number of OOM kills so far (to tell, after an exit, whether the kernel's
 * OOM killer ended the container: inspect's OOMKilled). */
int rt_cgroup_oom_kills(const rt_cgroups *cg, const char *id, uint64_t *n, berr *e);

#endif
