/* Copying image content into a fresh volume (runtime/volume/copy.h).
 *
 * Every step works on directory fds from the two roots down, never on
 * path strings, so nothing in the image can redirect a write. */
#include "runtime/volume/copy.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"

typedef struct seen_link {
    dev_t dev;
    ino_t ino;
    char *rel;                   /* path of the first copy, below the destination */
} seen_link;

typedef struct copy_ctx {
    int dst_root;
    seen_link *links;
    size_t n_links;
    berr *e;
} copy_ctx;

bool rt_volume_dir_empty(const char *dir)
{
    cleanup_closedir DIR *d = opendir(dir);
    if (!d)
        return true;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            return false;
    return true;
}

/* Extended attributes the destination refuses (an unknown namespace, a
 * filesystem without them) are skipped, as dockerd does. */
static void copy_xattrs(int src, int dst)
{
    ssize_t len = flistxattr(src, NULL, 0);
    if (len <= 0)
        return;
    cleanup_free char *names = xmalloc((size_t)len);
    len = flistxattr(src, names, (size_t)len);
    for (ssize_t off = 0; len > 0 && off < len; off += (ssize_t)strlen(names + off) + 1) {
        const char *name = names + off;
        ssize_t vlen = fgetxattr(src, name, NULL, 0);
        if (vlen < 0)
            continue;
        cleanup_free char *val = xmalloc((size_t)vlen + 1);
        vlen = fgetxattr(src, name, val, (size_t)vlen);
        if (vlen >= 0)
            fsetxattr(dst, name, val, (size_t)vlen, 0);
    }
}

/* Owner, then mode (a chown clears set-id bits), then times. */
static int copy_meta_fd(copy_ctx *cx, int fd, const struct stat *st, const char *rel)
{
    struct timespec times[2] = {st->st_atim, st->st_mtim};
    if (fchown(fd, st->st_uid, st->st_gid) < 0 || fchmod(fd, st->st_mode & 07777) < 0 || futimens(fd, times) < 0)
        return berr_sys(cx->e, -errno, "copying attributes of %s", rel);
    return 0;
}

static int copy_data(int in, int out)
{
    bool fallback = false;
    for (;;) {
        ssize_t n;
        if (!fallback) {
            n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
            if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
                fallback = true;
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return n < 0 ? -errno : 0;
            continue;
        }
        char block[1 << 16];
        n = read(in, block, sizeof block);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : 0;
        for (ssize_t w = 0; w < n;) {
            ssize_t k = write(out, block + w, (size_t)(n - w));
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0)
                return -errno;
            w += k;
        }
    }
}

static int copy_file(copy_ctx *cx, int sdir, int ddir, const char *name, const struct stat *st, const char *rel)
{
    if (st->st_nlink > 1) {
        for (size_t i = 0; i < cx->n_links; i++)
            if (cx->links[i].dev == st->st_dev && cx->links[i].ino == st->st_ino) {
                if (linkat(cx->dst_root, cx->links[i].rel, ddir, name, 0) < 0)
                    return berr_sys(cx->e, -errno, "linking %s", rel);
                return 0;
            }
        cx->links = xrealloc(cx->links, (cx->n_links + 1) * sizeof *cx->links);
        cx->links[cx->n_links++] = (seen_link){st->st_dev, st->st_ino, xstrdup(rel)};
    }
    cleanup_close int in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0)
        return berr_sys(cx->e, -errno, "opening %s", rel);
    cleanup_close int out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
        return berr_sys(cx->e, -errno, "creating %s", rel);
    int r = copy_data(in, out);
    if (r < 0)
        return berr_sys(cx->e, r, "copying %s", rel);
    copy_xattrs(in, out);
    return copy_meta_fd(cx, out, st, rel);
}

static int copy_special(copy_ctx *cx, int sdir, int ddir, const char *name, const struct stat *st, const char *rel)
{
    struct timespec times[2] = {st->st_atim, st->st_mtim};
    if (S_ISLNK(st->st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlinkat(sdir, name, target, sizeof target - 1);
        if (n < 0)
            return berr_sys(cx->e, -errno, "reading link %s", rel);
        target[n] = 0;
        if (symlinkat(target, ddir, name) < 0)
            return berr_sys(cx->e, -errno, "creating link %s", rel);
    } else if (mknodat(ddir, name, st->st_mode, st->st_rdev) < 0) {
        return berr_sys(cx->e, -errno, "creating %s", rel);
    }
    if (fchownat(ddir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
        (!S_ISLNK(st->st_mode) && fchmodat(ddir, name, st->st_mode & 07777, 0) < 0) ||
        utimensat(ddir, name, times, AT_SYMLINK_NOFOLLOW) < 0)
        return berr_sys(cx->e, -errno, "copying attributes of %s", rel);
    return 0;
}

static int copy_dir(copy_ctx *cx, int sdir, int ddir, const char *rel)
{
    int dup_fd = dup(sdir);
    if (dup_fd < 0)
        return berr_sys(cx->e, -errno, "reading %s", rel);
    cleanup_closedir DIR *d = fdopendir(dup_fd);
    if (!d) {
        close(dup_fd);
        return berr_sys(cx->e, -errno, "reading %s", rel);
    }
    struct dirent *de;
    int r = 0;
    while (r == 0 && (de = readdir(d))) {
        const char *name = de->d_name;
        if (!strcmp(name, ".") || !strcmp(name, ".."))
            continue;
        cleanup_free char *child = *rel ? xasprintf("%s/%s", rel, name) : xstrdup(name);
        struct stat st;
        if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            return berr_sys(cx->e, -errno, "stat %s", child);
        if (S_ISDIR(st.st_mode)) {
            if (mkdirat(ddir, name, 0700) < 0)
                return berr_sys(cx->e, -errno, "creating %s", child);
            cleanup_close int s2 = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            cleanup_close int d2 = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (s2 < 0 || d2 < 0)
                return berr_sys(cx->e, -errno, "opening %s", child);
            r = copy_dir(cx, s2, d2, child);
            if (r == 0) {
                copy_xattrs(s2, d2);
                r = copy_meta_fd(cx, d2, &st, child);
            }
        } else if (S_ISREG(st.st_mode)) {
            r = copy_file(cx, sdir, ddir, name, &st, child);
        } else if (S_ISLNK(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
            r = copy_special(cx, sdir, ddir, name, &st, child);
        }
        /* sockets belong to a process, not to the image: skipped */
    }
    return r;
}

int rt_volume_copy_in(const char *rootfs, const char *path, const char *dst, berr *e)
{
    cleanup_close int root = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return berr_sys(e, -errno, "open %s", rootfs);
    struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
    cleanup_close int src = (int)syscall(SYS_openat2, root, path, &how, sizeof how);
    if (src < 0) {
        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
            return 0;
        return berr_sys(e, -errno, "open %s in the container", path);
    }
    cleanup_close int out = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (out < 0)
        return berr_sys(e, -errno, "open %s", dst);
    if (!rt_volume_dir_empty(dst))
        return 0;
    struct stat st;
    if (fstat(src, &st) < 0)
        return berr_sys(e, -errno, "stat %s in the container", path);
    copy_ctx cx = {out, NULL, 0, e};
    int r = copy_dir(&cx, src, out, "");
    if (r == 0) {
        copy_xattrs(src, out);
        r = copy_meta_fd(&cx, out, &st, path);
    }
    for (size_t i = 0; i < cx.n_links; i++)
        free(cx.links[i].rel);
    free(cx.links);
    if (r < 0)
        berr_wrap(e, "copying the image's %s into the volume", path);
    return r;
}
