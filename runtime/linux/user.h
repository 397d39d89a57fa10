/* Resolving `--user` the way Docker does: "uid", "uid:gid", "name",
 * "name:group" (and mixes), looked up in the container's /etc/passwd and
 * /etc/group (never the host's), plus --group-add.  Reads files below the
 * rootfs without following symlinks out of it. */
#ifndef BERTH_RUNTIME_USER_H
#define BERTH_RUNTIME_USER_H

#include <stddef.h>
#include <sys/types.h>

#include "lib/err.h"

typedef struct rt_user {
    uid_t uid;
    gid_t gid;
    gid_t *groups;      /* supplementary groups: the user's groups in /etc/group, then --group-add; owned */
    size_t n_groups;
    char home[256];     /* from passwd, "/" if unknown; used for HOME when env lacks it */
} rt_user;

/* user: "" means root (0:0).  A name not in the container's passwd is
 * -EINVAL "unable to find user NAME: no matching entries in passwd file";
 * likewise for groups. */
int rt_user_resolve(const char *rootfs, const char *user, const char *const *group_add, size_t n_group_add,
                    rt_user *out, berr *e);
void rt_user_free(rt_user *u);

#endif
