/* Turning a container's Config and HostConfig into an rt_spawn_spec and
 * cgroup resources.  Everything the spec points to lives in the
 * rt_spec_storage, freed with rt_spec_free after the spawn. */
#ifndef BERTH_RUNTIME_CONTAINER_SPEC_H
#define BERTH_RUNTIME_CONTAINER_SPEC_H

#include <jansson.h>

#include "runtime/linux/cgroup.h"
#include "runtime/linux/cgroup_fs.h"
#include "runtime/container/container.h"
#include "runtime/linux/spawn.h"
#include "runtime/linux/user.h"

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
    rt_cgroup_fs *cgroup_fs;    /* what /sys/fs/cgroup shows */
    json_t *link_env;           /* legacy links: ALIAS_* variables, */
    char *link_hosts;           /* and their /etc/hosts lines */
} rt_spec_storage;

/* Builds the spec for c with its root at rootfs (mounted).  Files for
 * /etc/hostname, /etc/hosts and /etc/resolv.conf are written to the
 * container's directory and bind-mounted.  -EINVAL for bad options. */
int rt_spec_build(rt_containers *m, rt_container *c, const char *rootfs, rt_spec_storage *st, berr *e);
void rt_spec_free(rt_spec_storage *st);

/* Environments as "K=V" string lists (NULL-terminated, *n entries):
 * rt_env_put replaces K or appends (strings without '=' are ignored). */
bool rt_env_has(char **env, const char *key);
void rt_env_put(char ***env, size_t *n, const char *kv);
void rt_env_put_all(char ***env, size_t *n, json_t *list);

/* The capabilities HostConfig gives (all when privileged, else Docker's
 * default set with CapAdd/CapDrop applied). */
int rt_spec_caps(json_t *host_config, bool privileged, uint64_t *caps, berr *e);
/* The seccomp program SecurityOpt asks for (NULL when unconfined or
 * privileged) and whether no-new-privileges is set.  *prog is either the
 * manager's cached default (borrowed) or *owned (freed by the caller). */
int rt_spec_seccomp(rt_containers *m, json_t *host_config, bool privileged, uint64_t caps, bool *no_new_privs,
                    const struct sock_fprog **prog, struct sock_fprog **owned, berr *e);

/* A --device-cgroup-rule as dockerd accepts it:
 * ^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$ */
bool rt_device_cgroup_rule_valid(const char *rule);

/* HostConfig -> cgroup limits (also for docker update). */
void rt_spec_resources(json_t *host_config, rt_resources *r);

#endif
