/* Layer storage on disk (see graphdriver.h for the layout).
 *
 * Every layer is built in <root>/tmp-XXXXXX and renamed into place in one
 * step, so a layer directory under its real name is always complete; the
 * tmp-* leftovers of a crash are swept by rt_driver_init.  vfs layers hold a
 * full copy of their parent, made here by a copier that keeps everything
 * tar_extract would have set (owner, mode, times, xattrs, devices, hard
 * links), so the copy is indistinguishable from an unpacked chain. */
#include "runtime/layer/graphdriver.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/digest.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "runtime/layer/tarsafe.h"

const char *rt_driver_name(const rt_graphdriver *d)
{
    return d->kind == RT_DRIVER_OVERLAY2 ? "overlay2" : "vfs";
}

/* ---- paths -------------------------------------------------------------- */

/* The directory renamed into place as a whole: overlay2 <root>/<hex>, vfs
 * <root>/dir/<hex>.  Chain IDs come from image metadata, so anything but 64
 * hex digits is refused before it can become a path.  Returns 0 or -EINVAL. */
static int layer_top(const rt_graphdriver *d, const char *chain_id, char out[PATH_MAX])
{
    const char *hex = chain_id ? digest_hex(chain_id) : "";
    if (!digest_hex_valid(hex))
        return -EINVAL;
    snprintf(out, PATH_MAX, d->kind == RT_DRIVER_OVERLAY2 ? "%s/%s" : "%s/dir/%s", d->root, hex);
    return 0;
}

void rt_driver_layer_dir(const rt_graphdriver *d, const char *chain_id, char *out)
{
    char top[PATH_MAX];
    if (layer_top(d, chain_id, top) < 0)
        out[0] = 0;
    else if (d->kind == RT_DRIVER_OVERLAY2)
        snprintf(out, PATH_MAX, "%.*s/diff", PATH_MAX - 6, top);
    else
        snprintf(out, PATH_MAX, "%s", top);
}

static bool is_dir(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool rt_driver_layer_exists(const rt_graphdriver *d, const char *chain_id)
{
    char top[PATH_MAX];
    return layer_top(d, chain_id, top) == 0 && is_dir(top);
}

/* ---- driver selection --------------------------------------------------- */

/* Mounts an overlay of dir/lower and dir/upper (which holds a whiteout
 * device, as every layer will) on dir/merged and unmounts it again. */
static int overlay_try(const char *dir, berr *e)
{
    static const char *const subs[] = {"lower", "upper", "work", "merged"};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        cleanup_free char *p = xasprintf("%s/%s", dir, subs[i]);
        if (mkdir(p, 0755) < 0)
            return berr_sys(e, -errno, "mkdir %s", p);
    }
    cleanup_free char *wh = xasprintf("%s/upper/whiteout", dir);
    if (mknod(wh, S_IFCHR, makedev(0, 0)) < 0)
        return berr_sys(e, -errno, "mknod whiteout device");
    cleanup_free char *merged = xasprintf("%s/merged", dir);
    cleanup_free char *opts =
        xasprintf("lowerdir=%s/lower,upperdir=%s/upper,workdir=%s/work", dir, dir, dir);
    if (mount("overlay", merged, "overlay", 0, opts) < 0)
        return berr_sys(e, -errno, "mount overlay");
    if (umount2(merged, 0) < 0 && umount2(merged, MNT_DETACH) < 0)
        return berr_sys(e, -errno, "umount %s", merged);
    return 0;
}

/* Support depends on the kernel, the backing filesystem (no overlay on
 * overlay, d_type needed) and our privileges; trying it is the only test
 * that covers them all. */
static int overlay_probe(const char *data_root, berr *e)
{
    cleanup_free char *tmp = xasprintf("%s/tmp-overlay-check-XXXXXX", data_root);
    if (!mkdtemp(tmp))
        return berr_sys(e, -errno, "mkdtemp under %s", data_root);
    int r = overlay_try(tmp, e);
    berr ignored;
    fs_rm_rf(tmp, &ignored);
    return r;
}

/* Removes <root>/tmp-*: half-built layers and half-removed ones left by a
 * crash.  Only one daemon owns a data root, so none is in use at init. */
static void sweep_tmp(const char *root)
{
    cleanup_closedir DIR *d = opendir(root);
    if (!d)
        return;
    for (struct dirent *de; (de = readdir(d));) {
        if (strncmp(de->d_name, "tmp-", 4) != 0)
            continue;
        cleanup_free char *p = xasprintf("%s/%s", root, de->d_name);
        berr e;
        if (fs_rm_rf(p, &e) < 0)
            log_warn("removing leftover %s: %s", p, e.msg);
    }
}

int rt_driver_init(rt_graphdriver *d, const char *data_root, const char *forced, berr *e)
{
    bool automatic = !forced || !*forced;
    if (!automatic && strcmp(forced, "overlay2") != 0 && strcmp(forced, "vfs") != 0)
        return berr_set(e, -EINVAL, "unknown storage driver \"%s\" (supported: overlay2, vfs)",
                        forced);
    int r = fs_mkdir_p(data_root, 0711, e);
    if (r < 0)
        return r;

    d->kind = RT_DRIVER_VFS;
    if (automatic || strcmp(forced, "overlay2") == 0) {
        berr pe;
        berr_clear(&pe);
        if (overlay_probe(data_root, &pe) == 0)
            d->kind = RT_DRIVER_OVERLAY2;
        else if (!automatic)
            return berr_set(e, -ENOTSUP, "overlay2 does not work under %s: %s", data_root, pe.msg);
        else
            log_info("overlay2 not usable under %s (%s), using vfs", data_root, pe.msg);
    }
    if (snprintf(d->root, sizeof d->root, "%s/%s", data_root, rt_driver_name(d)) >=
        (int)sizeof d->root - 80)   /* room for "/dir/<64 hex>/diff" */
        return berr_set(e, -ENAMETOOLONG, "data root too long: %s", data_root);
    cleanup_free char *layers =
        xasprintf(d->kind == RT_DRIVER_VFS ? "%s/dir" : "%s", d->root);
    if ((r = fs_mkdir_p(layers, 0700, e)) < 0)
        return r;
    sweep_tmp(d->root);
    return 0;
}

/* ---- tree copy for vfs -------------------------------------------------- */

/* Copy state: inodes with several links already copied, so later names of
 * the same inode become hard links in the copy too. */
typedef struct copier {
    int dst_root;   /* borrowed fd of the destination's top directory */
    struct linked {
        dev_t dev;
        ino_t ino;
        char *rel;  /* owned path of the first copy, relative to dst_root */
    } *links;       /* owned */
    size_t nlinks, caplinks;
} copier;

/* The first copy of st's inode, or NULL after remembering rel as it.  A
 * linear scan: only multiply-linked files are listed, a few hundred at most. */
static const char *link_seen(copier *c, const struct stat *st, const char *rel)
{
    for (size_t i = 0; i < c->nlinks; i++)
        if (c->links[i].ino == st->st_ino && c->links[i].dev == st->st_dev)
            return c->links[i].rel;
    if (c->nlinks == c->caplinks) {
        c->caplinks = c->caplinks ? c->caplinks * 2 : 64;
        c->links = xrealloc(c->links, c->caplinks * sizeof *c->links);
    }
    c->links[c->nlinks++] = (struct linked){st->st_dev, st->st_ino, xstrdup(rel)};
    return NULL;
}

/* All xattrs, trusted.overlay.* included (a vfs tree must be a faithful
 * copy).  ENOTSUP and EPERM are skipped, as when unpacking. */
static int copy_xattrs(int src, int dst)
{
    ssize_t n = flistxattr(src, NULL, 0);
    if (n <= 0)
        return n < 0 && errno != ENOTSUP ? -errno : 0;
    cleanup_free char *names = xmalloc((size_t)n);
    if ((n = flistxattr(src, names, (size_t)n)) < 0)
        return -errno;
    for (char *name = names; name < names + n; name += strlen(name) + 1) {
        ssize_t len = fgetxattr(src, name, NULL, 0);
        if (len < 0)
            return -errno;
        cleanup_free char *val = xmalloc((size_t)len + 1);
        if ((len = fgetxattr(src, name, val, (size_t)len)) < 0)
            return -errno;
        if (fsetxattr(dst, name, val, (size_t)len, 0) < 0 && errno != ENOTSUP && errno != EPERM)
            return -errno;
    }
    return 0;
}

/* Owner, then mode (chown clears set-id bits), xattrs, times (last: the
 * others do not touch mtime, but writing into a directory does). */
static int copy_meta_fd(int src, int dst, const struct stat *st)
{
    if (fchown(dst, st->st_uid, st->st_gid) < 0 && errno != EPERM)
        return -errno;
    if (fchmod(dst, st->st_mode & 07777) < 0)
        return -errno;
    int r = copy_xattrs(src, dst);
    if (r < 0)
        return r;
    struct timespec ts[2] = {st->st_atim, st->st_mtim};
    return futimens(dst, ts) < 0 ? -errno : 0;
}

/* The same for nodes that are not opened (symlinks, devices, fifos): their
 * xattrs are not copied (images practically never carry any there). */
static int copy_meta_at(int dir, const char *name, const struct stat *st)
{
    if (fchownat(dir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EPERM)
        return -errno;
    if (!S_ISLNK(st->st_mode) && fchmodat(dir, name, st->st_mode & 07777, 0) < 0)
        return -errno;
    struct timespec ts[2] = {st->st_atim, st->st_mtim};
    return utimensat(dir, name, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

/* copy_file_range lets the filesystem share extents where it can; plain
 * read/write covers the filesystems that refuse it. */
static int copy_data(int in, int out)
{
    for (;;) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
        if (n == 0)
            return 0;
        if (n > 0 || errno == EINTR)
            continue;
        if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
            return -errno;
        break;   /* the file offsets show how far we got */
    }
    /* On the heap: a static __thread buffer would cost every thread. */
    const size_t cap = 1 << 16;
    cleanup_free char *block = xmalloc(cap);
    for (;;) {
        ssize_t n = read(in, block, cap);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : 0;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, block + off, (size_t)(n - off));
            if (w < 0 && errno != EINTR)
                return -errno;
            off += w > 0 ? w : 0;
        }
    }
}

static int copy_reg(int sdir, int ddir, const char *name, const struct stat *st)
{
    cleanup_close int in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0)
        return -errno;
    cleanup_close int out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
        return -errno;
    int r = copy_data(in, out);
    return r < 0 ? r : copy_meta_fd(in, out, st);
}

static int copy_symlink(int sdir, int ddir, const char *name, const struct stat *st)
{
    size_t cap = st->st_size > 0 ? (size_t)st->st_size + 1 : PATH_MAX;
    cleanup_free char *target = xmalloc(cap);
    ssize_t n = readlinkat(sdir, name, target, cap);
    if (n < 0)
        return -errno;
    if ((size_t)n >= cap)
        return -ENAMETOOLONG;   /* changed under us */
    target[n] = 0;
    if (symlinkat(target, ddir, name) < 0)
        return -errno;
    return copy_meta_at(ddir, name, st);
}

static int copy_entries(copier *c, int sdir, int ddir, const char *rel, berr *e);

static int copy_subdir(copier *c, int sdir, int ddir, const char *name, const char *rel,
                       const struct stat *st, berr *e)
{
    if (mkdirat(ddir, name, 0700) < 0)
        return berr_sys(e, -errno, "mkdir %s", rel);
    cleanup_close int s = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    cleanup_close int d = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s < 0 || d < 0)
        return berr_sys(e, -errno, "open %s", rel);
    int r = copy_entries(c, s, d, rel, e);
    if (r < 0)
        return r;
    /* After the children: their creation would change mtime, and a
     * read-only mode would block them when unprivileged. */
    r = copy_meta_fd(s, d, st);
    return r < 0 ? berr_sys(e, r, "copy metadata of %s", rel) : 0;
}

static int copy_entry(copier *c, int sdir, int ddir, const char *rel, const char *name, berr *e)
{
    cleanup_free char *crel = *rel ? xasprintf("%s/%s", rel, name) : xstrdup(name);
    struct stat st;
    if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return berr_sys(e, -errno, "stat %s", crel);
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
        /* The first copy's path has only real directories (the walk never
         * follows symlinks), so linkat from the top cannot be redirected. */
        const char *first = link_seen(c, &st, crel);
        if (first && linkat(c->dst_root, first, ddir, name, 0) < 0)
            return berr_sys(e, -errno, "link %s to %s", crel, first);
        if (first)
            return 0;
    }
    int r = 0;
    switch (st.st_mode & S_IFMT) {
    case S_IFDIR:
        return copy_subdir(c, sdir, ddir, name, crel, &st, e);
    case S_IFREG:
        r = copy_reg(sdir, ddir, name, &st);
        break;
    case S_IFLNK:
        r = copy_symlink(sdir, ddir, name, &st);
        break;
    case S_IFCHR:
    case S_IFBLK:
    case S_IFIFO:
        if (mknodat(ddir, name, (st.st_mode & S_IFMT) | 0600, st.st_rdev) < 0)
            r = -errno;
        else
            r = copy_meta_at(ddir, name, &st);
        break;
    default:
        break;   /* sockets: tar_extract never makes them */
    }
    return r < 0 ? berr_sys(e, r, "copy %s", crel) : 0;
}

/* Copies the entries of directory sdir (at rel) into ddir. */
static int copy_entries(copier *c, int sdir, int ddir, const char *rel, berr *e)
{
    int fd = openat(sdir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cleanup_closedir DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (!d) {
        int r = -errno;
        if (fd >= 0)
            close(fd);
        return berr_sys(e, r, "read directory %s", *rel ? rel : "/");
    }
    for (struct dirent *de; (de = readdir(d));) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        int r = copy_entry(c, sdir, ddir, rel, de->d_name, e);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Copies the tree at src into the existing empty directory dst, dst itself
 * taking src's metadata. */
int rt_driver_copy_tree(const char *src, const char *dst, berr *e)
{
    cleanup_close int s = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s < 0)
        return berr_sys(e, -errno, "open %s", src);
    cleanup_close int d = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0)
        return berr_sys(e, -errno, "open %s", dst);
    struct stat st;
    if (fstat(s, &st) < 0)
        return berr_sys(e, -errno, "stat %s", src);
    copier c = {.dst_root = d};
    int r = copy_entries(&c, s, d, "", e);
    if (r == 0 && (r = copy_meta_fd(s, d, &st)) < 0)
        berr_sys(e, r, "copy metadata of %s", src);
    for (size_t i = 0; i < c.nlinks; i++)
        free(c.links[i].rel);
    free(c.links);
    return r < 0 ? berr_wrap(e, "copy %s", src) : 0;
}

/* ---- layers ------------------------------------------------------------- */

static int unpack_overlay(const char *tmp, const char *parent_chain, const char *tar_path,
                          long long *size, berr *e)
{
    cleanup_free char *diff = xasprintf("%s/diff", tmp);
    if (mkdir(diff, 0755) < 0 || chmod(diff, 0755) < 0)
        return berr_sys(e, -errno, "mkdir %s", diff);
    tar_extract_opts o = {.whiteouts = TAR_WHITEOUT_OVERLAY, .unprivileged = geteuid() != 0};
    int r = tar_extract(tar_path, diff, &o, size, e);
    if (r < 0 || !parent_chain)
        return r;
    /* Not needed to mount (the caller knows the chain), but it makes the
     * store self-describing for checks and cleanup. */
    cleanup_free char *pf = xasprintf("%s/parent", tmp);
    return fs_write_file_atomic(pf, parent_chain, strlen(parent_chain), 0600, e);
}

static int unpack_vfs(const char *tmp, const char *parent_dir, const char *tar_path,
                      long long *size, berr *e)
{
    if (*parent_dir) {
        int r = rt_driver_copy_tree(parent_dir, tmp, e);
        if (r < 0)
            return r;
    } else if (chmod(tmp, 0755) < 0) {   /* it becomes the container's "/" */
        return berr_sys(e, -errno, "chmod %s", tmp);
    }
    tar_extract_opts o = {.whiteouts = TAR_WHITEOUT_APPLY, .unprivileged = geteuid() != 0};
    return tar_extract(tar_path, tmp, &o, size, e);
}

/* Makes the unpacked layer visible under its real name.  syncfs first, so
 * that after a power loss the name never refers to content that was still
 * in the page cache.  RENAME_NOREPLACE keeps a copy that a concurrent load
 * already put there (a plain rename would even replace an empty vfs layer
 * someone may be using).  Returns 0, 1 when another load won, or -errno. */
static int commit_layer(const char *tmp, const char *top, berr *e)
{
    int fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || syncfs(fd) < 0) {
        int r = -errno;
        if (fd >= 0)
            close(fd);
        return berr_sys(e, r, "sync %s", tmp);
    }
    close(fd);
    int r = renameat2(AT_FDCWD, tmp, AT_FDCWD, top, RENAME_NOREPLACE);
    if (r < 0 && errno == EINVAL)   /* filesystem without NOREPLACE */
        r = rename(tmp, top);
    if (r == 0)
        return 0;
    if (errno == EEXIST || errno == ENOTEMPTY)
        return 1;
    return berr_sys(e, -errno, "rename %s to %s", tmp, top);
}

/* For a layer that is already there: what it adds, from the disk.  Exact
 * for overlay2 (the diff is the layer); for vfs the difference of the full
 * trees, an approximation. */
static long long existing_size(const rt_graphdriver *d, const char *chain_id,
                               const char *parent_chain)
{
    char dir[PATH_MAX], pdir[PATH_MAX] = "";
    rt_driver_layer_dir(d, chain_id, dir);
    long long n = fs_du(dir);
    if (d->kind == RT_DRIVER_OVERLAY2 || !parent_chain)
        return n;
    rt_driver_layer_dir(d, parent_chain, pdir);
    n -= *pdir ? fs_du(pdir) : 0;
    return n > 0 ? n : 0;
}

int rt_driver_create_layer(const rt_graphdriver *d, const char *chain_id,
                           const char *parent_chain, const char *tar_path,
                           long long *size, berr *e)
{
    char top[PATH_MAX], ptop[PATH_MAX], parent_dir[PATH_MAX] = "";
    if (layer_top(d, chain_id, top) < 0)
        return berr_set(e, -EINVAL, "invalid layer chain ID \"%s\"", chain_id ? chain_id : "");
    if (parent_chain && layer_top(d, parent_chain, ptop) < 0)
        return berr_set(e, -EINVAL, "invalid parent chain ID \"%s\"", parent_chain);
    if (is_dir(top)) {
        if (size)
            *size = existing_size(d, chain_id, parent_chain);
        return 0;
    }
    if (parent_chain) {
        if (!is_dir(ptop))
            return berr_set(e, -ENOENT, "parent layer %s does not exist", parent_chain);
        rt_driver_layer_dir(d, parent_chain, parent_dir);
    }

    cleanup_free char *tmp = xasprintf("%s/tmp-XXXXXX", d->root);
    if (!mkdtemp(tmp))
        return berr_sys(e, -errno, "mkdtemp %s", tmp);
    long long sz = 0;
    int r = d->kind == RT_DRIVER_OVERLAY2 ? unpack_overlay(tmp, parent_chain, tar_path, &sz, e)
                                          : unpack_vfs(tmp, parent_dir, tar_path, &sz, e);
    if (r == 0)
        r = commit_layer(tmp, top, e);
    if (r != 0) {
        berr ignored;
        fs_rm_rf(tmp, &ignored);
    }
    if (r < 0)
        return berr_wrap(e, "layer %s", chain_id);
    if (size)
        *size = sz;
    return 0;
}

int rt_driver_remove_layer(const rt_graphdriver *d, const char *chain_id, berr *e)
{
    char top[PATH_MAX];
    if (layer_top(d, chain_id, top) < 0)
        return berr_set(e, -EINVAL, "invalid layer chain ID \"%s\"", chain_id ? chain_id : "");
    /* Renaming onto a fresh empty directory is atomic, so the real name
     * disappears at once and a crash mid-removal leaves only tmp-rm-*. */
    cleanup_free char *tmp = xasprintf("%s/tmp-rm-XXXXXX", d->root);
    if (!mkdtemp(tmp))
        return berr_sys(e, -errno, "mkdtemp %s", tmp);
    if (rename(top, tmp) < 0) {
        int r = -errno;
        rmdir(tmp);
        return r == -ENOENT ? 0 : berr_sys(e, r, "rename %s", top);
    }
    return fs_rm_rf(tmp, e);
}
