/* Shared by runtime/linux/cgroup.c (dispatch and file helpers) and the two
 * hierarchy back ends, runtime/linux/cgroup_v1.c and runtime/linux/cgroup_v2.c.  Not for
 * other modules: they use runtime/linux/cgroup.h. */
#ifndef BERTH_RUNTIME_CGROUP_INTERNAL_H
#define BERTH_RUNTIME_CGROUP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"
#include "runtime/linux/cgroup.h"

/* The directory below the hierarchy root that holds every container's
 * cgroup, as Docker's cgroupfs driver uses "docker". */
#define RT_CG_PARENT "berth"

/* How long pause, kill and rmdir wait for the kernel before giving up. */
#define RT_CG_FREEZE_TIMEOUT_MS 5000
#define RT_CG_KILL_TIMEOUT_MS 10000
#define RT_CG_RMDIR_TIMEOUT_MS 2000

/* --- file helpers (runtime/linux/cgroup.c) ---------------------------------- */

/* Writes value to dir/file in one write(2), as cgroup files want it; the
 * file must exist (the kernel creates a cgroup's files with its directory).
 * On failure the message is "write <dir>/<file>: <strerror>". */
int rt_cg_write(const char *dir, const char *file, const char *value, berr *e);
int rt_cg_writef(const char *dir, const char *file, berr *e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
bool rt_cg_exists(const char *dir, const char *file);
/* Reads dir/file whole; *out NUL-terminated, caller frees. */
int rt_cg_read(const char *dir, const char *file, char **out, berr *e);
/* Reads a file holding one number; "max" (v2) reads as UINT64_MAX. */
int rt_cg_read_u64(const char *dir, const char *file, uint64_t *v, berr *e);
/* Value of the "key N" line in a flat-keyed file's text; false if absent. */
bool rt_cg_keyed_u64(const char *text, const char *key, uint64_t *v);
/* Leading and trailing whitespace removed in place; returns s. */
char *rt_cg_strip(char *s);

/* Parses a cgroup.procs file's text.  *pids owned by the caller. */
int rt_cg_parse_pids(const char *text, pid_t **pids, size_t *n);
/* Pids listed in dir/cgroup.procs.  *pids owned by the caller. */
int rt_cg_read_pids(const char *dir, pid_t **pids, size_t *n, berr *e);
/* SIGKILLs every pid listed in the cgroup.procs of each of dirs (a missing
 * directory counts as empty); *seen is how many pids were found. */
int rt_cg_kill_procs(const char *const *dirs, size_t n_dirs, size_t *seen, berr *e);
/* Kills until every dirs[i]/cgroup.procs is empty, RT_CG_KILL_TIMEOUT_MS at
 * most: a process forking as fast as we kill it still ends up gone. */
int rt_cg_kill_until_empty(const char *const *dirs, size_t n_dirs, berr *e);
/* rmdir that treats a missing directory as done and retries EBUSY (the
 * kernel drops a cgroup's last task shortly after it exits). */
int rt_cg_rmdir(const char *path, berr *e);
/* mkdir that treats an existing directory as done. */
int rt_cg_mkdir(const char *path, berr *e);
void rt_cg_sleep_ms(unsigned ms);
/* Milliseconds on the monotonic clock. */
uint64_t rt_cg_now_ms(void);

/* Docker's --memory-swap on create: unset (0) with a memory limit means
 * twice the memory.  Returns the effective memory+swap (0 = leave alone). */
int64_t rt_cg_effective_swap(const rt_resources *r, bool creating);

/* --- v1 (runtime/linux/cgroup_v1.c) ----------------------------------------- */

typedef struct rt_cg_write_op {
    const char *file;
    const char *value;
} rt_cg_write_op;

/* The devices-controller writes, in order, for a new container: deny all,
 * Docker's default allow-list, then extra (not copied: ops point into it);
 * privileged allows everything instead.  Returns how many ops it filled
 * (at most cap). */
size_t rt_cgv1_device_ops(bool privileged, const char *const *extra, size_t n_extra,
                          rt_cg_write_op *ops, size_t cap);
size_t rt_cgv1_device_ops_count(size_t n_extra);

int rt_cgv1_create(const rt_cgroups *cg, const char *id, const rt_resources *r, bool privileged,
                   const char *const *device_rules, size_t n_rules, berr *e);
int rt_cgv1_update(const rt_cgroups *cg, const char *id, const rt_resources *r, berr *e);
int rt_cgv1_enter(const rt_cgroups *cg, const char *id, pid_t pid, berr *e);
int rt_cgv1_freeze(const rt_cgroups *cg, const char *id, bool frozen, berr *e);
int rt_cgv1_destroy(const rt_cgroups *cg, const char *id, berr *e);
int rt_cgv1_pids(const rt_cgroups *cg, const char *id, pid_t **pids, size_t *n, berr *e);
int rt_cgv1_stats(const rt_cgroups *cg, const char *id, rt_cgroup_stats *st, berr *e);
int rt_cgv1_oom_kills(const rt_cgroups *cg, const char *id, uint64_t *n, berr *e);
/* True if the hierarchy named so ("memory", "cpu,cpuacct") holds one of
 * the controllers berth makes <hierarchy>/berth/<id> in. */
bool rt_cgv1_manages(const char *hierarchy);
/* True if root holds at least one v1 controller directory. */
bool rt_cgv1_detect(const char *root);

/* --- v2 (runtime/linux/cgroup_v2.c) ----------------------------------------- */

/* runc's conversions from v1 units. */
uint64_t rt_cgv2_shares_to_weight(int64_t shares);
uint64_t rt_cgv2_blkio_to_io_weight(uint16_t weight);

int rt_cgv2_create(const rt_cgroups *cg, const char *id, const rt_resources *r, bool privileged,
                   const char *const *device_rules, size_t n_rules, berr *e);
int rt_cgv2_update(const rt_cgroups *cg, const char *id, const rt_resources *r, berr *e);
int rt_cgv2_enter(const rt_cgroups *cg, const char *id, pid_t pid, berr *e);
int rt_cgv2_freeze(const rt_cgroups *cg, const char *id, bool frozen, berr *e);
int rt_cgv2_destroy(const rt_cgroups *cg, const char *id, berr *e);
int rt_cgv2_pids(const rt_cgroups *cg, const char *id, pid_t **pids, size_t *n, berr *e);
int rt_cgv2_stats(const rt_cgroups *cg, const char *id, rt_cgroup_stats *st, berr *e);
int rt_cgv2_oom_kills(const rt_cgroups *cg, const char *id, uint64_t *n, berr *e);

#endif
