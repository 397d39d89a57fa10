/* User namespace remapping (`--userns-remap`), as dockerd does it: the
 * remapped user's ranges in /etc/subuid and /etc/subgid become a
 * container's uid_map and gid_map, so root inside is an unprivileged uid
 * of the host.  `default` is the `dockremap` user, created with its ranges
 * on first use.
 *
 * Image layers stay as they are on disk (owned by host root): a remapped
 * container's root is an overlay of idmapped layers (mount_setattr with
 * MOUNT_ATTR_IDMAP), where a file the layer holds as uid N shows as host
 * uid (root + N) and a file the container writes as host uid (root + N) is
 * stored as N.  So one image store serves remapped and host containers,
 * and commit, diff, save and push see the files as the image has them. */
#ifndef BERTH_RUNTIME_USERNS_H
#define BERTH_RUNTIME_USERNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"

#define RT_IDMAP_MAX 16          /* ranges per map; the kernel takes 340 lines */

typedef struct rt_idrange {
    uint32_t inside;             /* first id in the container */
    uint32_t host;               /* the host id it is */
    uint32_t count;
} rt_idrange;

typedef struct rt_idmap {
    char user[64];               /* the remapped user and group, as configured or resolved */
    char group[64];
    rt_idrange uids[RT_IDMAP_MAX];
    size_t n_uids;
    rt_idrange gids[RT_IDMAP_MAX];
    size_t n_gids;
    char uid_map[RT_IDMAP_MAX * 36];   /* "0 100000 65536\n..." as /proc/<pid>/uid_map takes it */
    char gid_map[RT_IDMAP_MAX * 36];
} rt_idmap;

/* The ranges of name (or of its numeric id, id_str, may be NULL) in a
 * subuid/subgid-format file, sorted by start.  0 with *n == 0 when there
 * are none; -errno if the file cannot be read; -EINVAL for a line of the
 * name that is not "name:start:count". */
int rt_subid_ranges(const char *path, const char *name, const char *id_str, rt_idrange *out, size_t cap, size_t *n,
                    berr *e);

/* The start of the first block of `count` ids from 100000 up that no line
 * of the subid file at path uses (dockerd's choice for dockremap). */
int rt_subid_next_free(const char *path, uint32_t count, uint32_t *start, berr *e);

/* Fills map's ranges and texts from subuid/subgid ranges (container ids
 * laid out from 0 in host order, as dockerd's createIDMap). */
void rt_idmap_build(rt_idmap *map, const rt_idrange *uids, size_t n_uids, const rt_idrange *gids, size_t n_gids);

/* The `userns-remap` value: "default" (creates the dockremap user and its
 * ranges when missing), "user", "user:group", numeric ids allowed as
 * dockerd does.  The user must exist on the host and have ranges in
 * /etc/subuid, the group in /etc/subgid; errors carry dockerd's wording. */
int rt_idmap_load(const char *spec, rt_idmap *map, berr *e);

/* The host id of container id `id`, -ERANGE when the map has none. */
int rt_idmap_uid(const rt_idmap *map, uint32_t id, uid_t *out);
int rt_idmap_gid(const rt_idmap *map, uint32_t id, gid_t *out);
/* The container id of host id `host`, -ERANGE outside the map. */
int rt_idmap_uid_inside(const rt_idmap *map, uint32_t host, uid_t *out);
int rt_idmap_gid_inside(const rt_idmap *map, uint32_t host, gid_t *out);

/* Writes the maps of a process that made a new user namespace (the parent
 * of a spawn does this: only it holds the privilege over the host ids). */
int rt_idmap_write(const rt_idmap *map, pid_t pid, berr *e);

/* A user namespace with map's mapping, owned by the caller (an O_RDONLY fd
 * of /proc/<pid>/ns/user of a short-lived child): what mount_setattr's
 * MOUNT_ATTR_IDMAP takes. */
int rt_idmap_userns_fd(const rt_idmap *map, berr *e);

/* A detached copy of the mount tree at path, idmapped through userns_fd
 * (owned by the caller; attach it with move_mount or name it as
 * /proc/self/fd/N). */
int rt_idmapped_tree(const char *path, int userns_fd, berr *e);

/* This thread acts on files as the remapped root (fsuid/fsgid), keeping
 * its capabilities: files it creates through an idmapped mount are then
 * stored as root.  Per thread: the daemon's other threads are untouched. */
typedef struct rt_fscreds {
    uid_t fsuid;
    gid_t fsgid;
    bool active;
} rt_fscreds;
int rt_fscreds_enter(const rt_idmap *map, rt_fscreds *saved, berr *e);
void rt_fscreds_leave(rt_fscreds *saved);

#endif
