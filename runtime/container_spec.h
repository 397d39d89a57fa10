/* Turning a container's Config and HostConfig into an rt_spawn_spec and
 * cgroup resources.  Everything the spec points to lives in the
 * rt_spec_storage, freed with rt_spec_free after the spawn. */
#ifndef BERTH_RUNTIME_CONTAINER_SPEC_H
#define BERTH_RUNTIME_CONTAINER_SPEC_H

#include <jansson.h>

#include "runtime/cgroup.h"
#include "runtime/container.h"
#include "runtime/spawn.h"
#include "runtime/user.h"

typedef struct rt_spec_storage {
    rt_spawn_spec spec;
    char **argv;
    char **env;
    rt_mount *mounts;
    size_t n_mounts;
    rt_device *devices;
    size_t n_devices;
    char **device_rules;        /* cgroup v1 "c 10:229 rwm" */
    size_t n_device_rules;
    rt_sysctl *sysctls;
    rt_rlimit *rlimits;
    rt_ns_join joins[4];
    int join_fds[4];
    rt_user user;
    struct sock_fprog *seccomp;
    json_t *keep;               /* owns strings the spec points into */
    rt_resources resources;
} rt_spec_storage;

/* Builds the spec for c with its root at rootfs (mounted).  Files for
 * /etc/hostname, /etc/hosts and /etc/resolv.conf are written to the
 * container's directory and bind-mounted.  -EINVAL for bad options. */
int rt_spec_build(rt_containers *m, rt_container *c, const char *rootfs, rt_spec_storage *st, berr *e);
void rt_spec_free(rt_spec_storage *st);

/* HostConfig -> cgroup limits (also for docker update). */
void rt_spec_resources(json_t *host_config, rt_resources *r);

#endif
