/* One sample of a container's resource usage, with everything Docker's
 * stats JSON carries: the cgroup figures of runtime/linux/cgroup.h plus what only
 * the stats endpoint wants (memory.stat whole, per-device block I/O, CPU
 * throttling, per-CPU usage), and the host figures the CLI divides by
 * (system CPU time, online CPUs, memory size).
 *
 * Reading a sample touches a dozen small cgroup and /proc files: cheap
 * enough for the loop thread once a second per stream. */
#ifndef BERTH_RUNTIME_CONTAINER_STATS_H
#define BERTH_RUNTIME_CONTAINER_STATS_H

#include <jansson.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/timefmt.h"
#include "runtime/linux/cgroup.h"

typedef struct rt_stats_sample {
    char read[TIME_RFC3339_BUF];   /* when it was taken (RFC 3339, ns) */
    rt_cgroup_stats cg;
    uint64_t system_cpu_ns;        /* /proc/stat: every CPU's time since boot */
    uint32_t online_cpus;
    uint64_t host_memory;          /* MemTotal: the limit shown when unlimited */
    uint64_t memory_failcnt;       /* v1 memory.failcnt; v2 memory.events oom */
    uint64_t throttle_periods, throttled_periods, throttled_time_ns;
    json_t *percpu;                /* [ns, ...] (v1 cpuacct.usage_percpu) or NULL; owned */
    json_t *memory_stat;           /* memory.stat as {"key": n}; owned, never NULL */
    json_t *blkio_bytes;           /* [{"major","minor","op","value"}]; owned, never NULL */
    json_t *blkio_ios;             /* the same counting requests (v1 only); owned, never NULL */
} rt_stats_sample;

/* Reads the sample of container id.  The cgroup must exist (-ENOENT when
 * the container is not running). */
int rt_stats_read(const rt_cgroups *cg, const char *id, rt_stats_sample *s, berr *e);
void rt_stats_sample_free(rt_stats_sample *s);

/* ---- parsers (pure; exposed for the unit tests) ---- */

/* /proc/stat's "cpu" line: user..softirq (the first seven), in ns, as
 * dockerd's getSystemCPUUsage counts it.  -EINVAL if there is none. */
int rt_stats_parse_proc_stat(const char *text, long clk_tck, uint64_t *ns);
/* "key N" lines (memory.stat, cpu.stat) -> {"key": N}; lines that are not
 * that shape are skipped. */
json_t *rt_stats_parse_flat(const char *text);
/* v1 blkio "8:0 Read 4096" lines -> entries with the kernel's op names
 * (dockerd passes them on as they are); the "Total N" line is skipped. */
json_t *rt_stats_parse_blkio_v1(const char *text);
/* v2 io.stat "8:0 rbytes=N wbytes=N ..." -> a "read" and a "write" entry
 * per device, as dockerd reports cgroup v2. */
json_t *rt_stats_parse_io_stat(const char *text);
/* cpuacct.usage_percpu "N N N" -> [N, N, N]. */
json_t *rt_stats_parse_percpu(const char *text);

#endif
