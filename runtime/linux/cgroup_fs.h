/* The container's /sys/fs/cgroup as dockerd (through runc) shows it, worked
 * out in the daemon before the spawn; the child mounts it
 * (runtime/linux/spawn_cgroupfs.c).
 *
 * cgroup v2: one cgroup2 mount; in the container's private cgroup
 * namespace its root is the container's own cgroup.  cgroup v1: a tmpfs
 * with every v1 hierarchy mounted under the cgroup root bound in, each at
 * the container's own cgroup, so memory/memory.limit_in_bytes is the
 * container's limit whatever the cgroup namespace.  The cgroup2 hierarchy
 * of a hybrid host (unified/) is left out, as runc leaves it out. */
#ifndef BERTH_RUNTIME_CGROUP_FS_H
#define BERTH_RUNTIME_CGROUP_FS_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime/linux/cgroup.h"
#include "runtime/linux/spawn.h"

/* The view for container id.  In the hierarchies berth manages the
 * container's cgroup is <hierarchy>/berth/<id>; in the others (name=systemd,
 * net_cls, ...) it stays in the daemon's, whose path self_cgroup (the text
 * of /proc/self/cgroup; NULL reads it) gives.  Free with rt_cgroup_fs_free. */
rt_cgroup_fs *rt_cgroup_fs_new(const rt_cgroups *cg, const char *id, bool writable, const char *self_cgroup);
void rt_cgroup_fs_free(rt_cgroup_fs *fs);

/* The path of the v1 hierarchy named hier ("memory", "cpu,cpuacct",
 * "systemd" for name=systemd) in a /proc/<pid>/cgroup text, into out;
 * false if the text has no such hierarchy. */
bool rt_cgroup_fs_proc_path(const char *text, const char *hier, char *out, size_t cap);

#endif
