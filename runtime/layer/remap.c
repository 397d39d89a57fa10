/* Idmapped overlay roots for remapped containers (see remap.h).  Each
 * layer directory becomes a detached idmapped mount (open_tree +
 * mount_setattr) and overlay is given them as /proc/self/fd/N: overlay
 * takes a private reference to each at mount time, so the descriptors are
 * closed right after. */
#include "runtime/layer/remap.h"

#include <stdio.h>
#include <sys/mount.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "runtime/layer/rwlayer.h"

typedef struct {
    int userns_fd;
    int fds[130];                /* lowers (at most ~125 fit the options), the empty dir, upper+work */
    size_t n;
} idmapped_dirs;

static int name_idmapped(void *arg, const char *dir, char *out, berr *e)
{
    idmapped_dirs *m = arg;
    if (m->n == sizeof m->fds / sizeof m->fds[0])
        return berr_set(e, -E2BIG, "too many image layers to mount");
    int fd = rt_idmapped_tree(dir, m->userns_fd, e);
    if (fd < 0)
        return fd;
    m->fds[m->n++] = fd;
    snprintf(out, PATH_MAX, "/proc/self/fd/%d", fd);
    return 0;
}

int rt_remap_mount_root(const rt_graphdriver *d, const char *id, char *const *lowers, size_t n, char *merged,
                        const rt_idmap *map, int userns_fd, berr *e)
{
    rt_rwlayer_paths(d, id, NULL, merged, NULL);
    if (d->kind != RT_DRIVER_OVERLAY2)
        return berr_set(e, -ENOTSUP, "userns-remap needs the overlay2 storage driver");
    if (rt_rwlayer_mounted(merged))
        return 0;
    idmapped_dirs dirs = {.userns_fd = userns_fd};
    cleanup_buf buf opts = BUF_INIT;
    int r = rt_rwlayer_overlay_opts(d, id, lowers, n, name_idmapped, &dirs, &opts, e);
    if (r == 0) {
        /* overlay keeps the mounter's credentials for its work directory:
         * host root has no id in the idmapped layers, the remapped root has. */
        rt_fscreds saved;
        r = rt_fscreds_enter(map, &saved, e);
        if (r == 0) {
            if (mount("overlay", merged, "overlay", 0, opts.data) < 0)
                r = berr_sys(e, -errno, "mount overlay on %s", merged);
            rt_fscreds_leave(&saved);
        }
    }
    for (size_t i = 0; i < dirs.n; i++)
        close(dirs.fds[i]);
    return r;
}
