#include "runtime/layer/rwlayer.h"

#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/digest.h"
#include "lib/fsutil.h"
#include "lib/log.h"

void rt_rwlayer_paths(const rt_graphdriver *d, const char *id, char *upper, char *merged, char *work)
{
    if (d->kind == RT_DRIVER_OVERLAY2) {
        if (upper)
            snprintf(upper, PATH_MAX, "%s/%s/diff", d->root, id);
        if (merged)
            snprintf(merged, PATH_MAX, "%s/%s/merged", d->root, id);
        if (work)
            snprintf(work, PATH_MAX, "%s/%s/work", d->root, id);
    } else {
        if (upper)
            snprintf(upper, PATH_MAX, "%s/dir/%s", d->root, id);
        if (merged)
            snprintf(merged, PATH_MAX, "%s/dir/%s", d->root, id);
        if (work)
            work[0] = 0;
    }
}

int rt_rwlayer_create(const rt_graphdriver *d, const char *id, const char *top_chain, berr *e)
{
    if (!digest_hex_valid(id))
        return berr_set(e, -EINVAL, "invalid container id %s", id);
    char upper[PATH_MAX], merged[PATH_MAX], work[PATH_MAX];
    rt_rwlayer_paths(d, id, upper, merged, work);
    if (d->kind == RT_DRIVER_OVERLAY2) {
        cleanup_free char *top = xasprintf("%s/%s", d->root, id);
        int r = fs_mkdir_p(top, 0710, e);
        if (r == 0 && (mkdir(upper, 0755) < 0 || mkdir(work, 0700) < 0 || mkdir(merged, 0755) < 0) && errno != EEXIST)
            r = berr_sys(e, -errno, "create writable layer %s", top);
        return r;
    }
    if (mkdir(upper, 0755) < 0)
        return berr_sys(e, -errno, "create writable layer %s", upper);
    if (!top_chain || !*top_chain)
        return 0;
    char image_tree[PATH_MAX];
    rt_driver_layer_dir(d, top_chain, image_tree);
    int r = rt_driver_copy_tree(image_tree, upper, e);
    if (r < 0)
        fs_rm_rf(upper, NULL);
    return r;
}

static bool is_mountpoint(const char *path)
{
    struct stat a, b;
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s/..", path);
    return stat(path, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

int rt_rwlayer_overlay_opts(const rt_graphdriver *d, const char *id, char *const *lowers, size_t n,
                            rt_rwlayer_dir_fn name, void *arg, buf *opts, berr *e)
{
    char shown[PATH_MAX];
    buf_puts(opts, "lowerdir=");
    if (n == 0) {
        /* overlay needs a lower layer: an empty directory stands in. */
        cleanup_free char *empty = xasprintf("%s/%s/empty", d->root, id);
        mkdir(empty, 0755);
        int r = name ? name(arg, empty, shown, e) : (snprintf(shown, sizeof shown, "%s", empty), 0);
        if (r < 0)
            return r;
        buf_puts(opts, shown);
    }
    for (size_t i = 0; i < n; i++) {
        char dir[PATH_MAX];
        rt_driver_layer_dir(d, lowers[i], dir);
        int r = name ? name(arg, dir, shown, e) : (snprintf(shown, sizeof shown, "%s", dir), 0);
        if (r < 0)
            return r;
        buf_printf(opts, "%s%s", i ? ":" : "", shown);
    }
    /* upper and work through one name: overlay wants them on one mount. */
    cleanup_free char *top = xasprintf("%s/%s", d->root, id);
    int r = name ? name(arg, top, shown, e) : (snprintf(shown, sizeof shown, "%s", top), 0);
    if (r < 0)
        return r;
    buf_printf(opts, ",upperdir=%s/diff,workdir=%s/work", shown, shown);
    if (opts->len >= 4000)
        return berr_set(e, -E2BIG, "too many image layers to mount (%zu)", n);
    return 0;
}

int rt_rwlayer_mount(const rt_graphdriver *d, const char *id, char *const *lowers, size_t n, char *merged,
                     berr *e)
{
    rt_rwlayer_paths(d, id, NULL, merged, NULL);
    if (d->kind != RT_DRIVER_OVERLAY2 || is_mountpoint(merged))
        return 0;
    cleanup_buf buf opts = BUF_INIT;
    int r = rt_rwlayer_overlay_opts(d, id, lowers, n, NULL, NULL, &opts, e);
    if (r < 0)
        return r;
    if (mount("overlay", merged, "overlay", 0, opts.data) < 0)
        return berr_sys(e, -errno, "mount overlay on %s", merged);
    return 0;
}

bool rt_rwlayer_mounted(const char *merged)
{
    return is_mountpoint(merged);
}

int rt_rwlayer_unmount(const rt_graphdriver *d, const char *id, berr *e)
{
    if (d->kind != RT_DRIVER_OVERLAY2)
        return 0;
    char merged[PATH_MAX];
    rt_rwlayer_paths(d, id, NULL, merged, NULL);
    while (is_mountpoint(merged)) {
        if (umount2(merged, MNT_DETACH) < 0)
            return berr_sys(e, -errno, "unmount %s", merged);
    }
    return 0;
}

int rt_rwlayer_remove(const rt_graphdriver *d, const char *id, berr *e)
{
    int r = rt_rwlayer_unmount(d, id, e);
    if (r < 0)
        return r;
    cleanup_free char *top = d->kind == RT_DRIVER_OVERLAY2 ? xasprintf("%s/%s", d->root, id)
                                                            : xasprintf("%s/dir/%s", d->root, id);
    return fs_rm_rf(top, e);
}
