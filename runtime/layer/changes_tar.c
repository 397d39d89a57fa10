/* Tar streams out of a container's filesystem: the layer of `docker commit`
 * (rt_changes_write_tar) and the archives of `docker export` and `docker cp`
 * (rt_tar_path).  Entries look like dockerd's (pkg/archive): PAX format,
 * mtime truncated to the second, no atime/ctime, directories named with a
 * trailing "/", sockets left out, hard links within one archive kept as
 * links.  Without sub-second times and access times, the same content gives
 * the same bytes, hence the same diff ID.
 *
 * The tree may belong to a running container, which can swap a directory
 * for a symlink at any moment, so every file is reached from a directory fd
 * without following symlinks (openat2 RESOLVE_NO_SYMLINKS, O_NOFOLLOW) and a
 * file that vanished meanwhile is left out rather than failing the whole
 * archive. */
#include "runtime/layer/changes.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/log.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
#define OVERLAY_XATTR_PREFIX "trusted.overlay."
#define OVERLAY_OPAQUE_XATTR "trusted.overlay.opaque"
#define COPY_BLOCK (64 * 1024)

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* ---- the writer ------------------------------------------------------------ */

typedef struct tarw {
    struct archive *a;
    struct archive_entry_linkresolver *links;
    int out_fd;
    int werr;          /* errno of a failed write to out_fd, 0 if none */
    digest_ctx dg;
    long long size;
    char *copybuf;     /* owned, COPY_BLOCK bytes */
    const rt_idmap *idmap;   /* files seen through a remapped root: owners as the container has them */
} tarw;

/* Every byte of the archive passes here: hashed, counted, written. */
static la_ssize_t tarw_write(struct archive *a, void *ud, const void *data, size_t len)
{
    tarw *t = ud;
    for (const char *p = data, *end = p + len; p < end;) {
        ssize_t n = write(t->out_fd, p, (size_t)(end - p));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            t->werr = n < 0 ? errno : EIO;
            archive_set_error(a, t->werr, "write: %s", strerror(t->werr));
            return -1;
        }
        p += n;
    }
    digest_update(&t->dg, data, len);
    t->size += (long long)len;
    return (la_ssize_t)len;
}

static int tarw_fail(tarw *t, berr *e, const char *what)
{
    if (t->werr)
        return berr_sys(e, -t->werr, "writing the archive");
    int err = archive_errno(t->a);
    return berr_set(e, err > 0 ? -err : -EIO, "%s: %s", what, archive_error_string(t->a));
}

static void tarw_free(tarw *t)
{
    if (t->a)
        archive_write_free(t->a);
    if (t->links)
        archive_entry_linkresolver_free(t->links);
    free(t->copybuf);
}

static int tarw_open(tarw *t, int out_fd, berr *e)
{
    *t = (tarw){.out_fd = out_fd, .copybuf = xmalloc(COPY_BLOCK)};
    digest_init(&t->dg);
    t->a = archive_write_new();
    t->links = archive_entry_linkresolver_new();
    if (!t->a || !t->links)
        return berr_set(e, -ENOMEM, "cannot allocate an archive writer");
    /* No padding of the last block to 10 KiB: the archive ends with its two
     * zero blocks, as Go's archive/tar writes it. */
    if (archive_write_set_format_pax_restricted(t->a) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(t->a, 1) != ARCHIVE_OK ||
        archive_write_open2(t->a, t, NULL, tarw_write, NULL, NULL) != ARCHIVE_OK)
        return tarw_fail(t, e, "open archive");
    archive_entry_linkresolver_set_strategy(t->links, archive_format(t->a));
    return 0;
}

static int tarw_close(tarw *t, berr *e)
{
    if (archive_write_close(t->a) != ARCHIVE_OK)
        return tarw_fail(t, e, "finish archive");
    return 0;
}

/* ---- one entry ------------------------------------------------------------- */

/* Copies the extended attributes of name in directory dfd into ent.  The
 * path through /proc names dfd's directory itself, so the lookup of name is
 * the only one and its final symlink is not followed (l*xattr).
 * trusted.overlay.* is overlayfs's bookkeeping, never content. */
static void add_xattrs(struct archive_entry *ent, int dfd, const char *name)
{
    char p[64 + NAME_MAX];
    snprintf(p, sizeof p, "/proc/self/fd/%d/%s", dfd, name);
    ssize_t n = llistxattr(p, NULL, 0);
    if (n <= 0)
        return;
    cleanup_free char *list = xmalloc((size_t)n);
    n = llistxattr(p, list, (size_t)n);   /* may fail (ERANGE) if one was just added */
    for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t)strlen(list + off) + 1) {
        const char *k = list + off;
        if (strncmp(k, OVERLAY_XATTR_PREFIX, strlen(OVERLAY_XATTR_PREFIX)) == 0)
            continue;
        ssize_t vn = lgetxattr(p, k, NULL, 0);
        if (vn < 0)
            continue;
        cleanup_free char *v = xmalloc((size_t)vn + 1);
        vn = lgetxattr(p, k, v, (size_t)vn);
        if (vn >= 0)
            archive_entry_xattr_add_entry(ent, k, v, (size_t)vn);
    }
}

/* The metadata dockerd puts in a header (see the top of the file). */
static struct archive_entry *new_entry(const tarw *t, const struct stat *st, const char *arcname)
{
    struct archive_entry *ent = archive_entry_new();
    if (!ent)
        abort();   /* as xmalloc: nothing useful to do without memory */
    archive_entry_copy_stat(ent, st);
    uid_t uid;
    gid_t gid;
    /* An id outside the map (the kernel's overflow id) is written as seen. */
    if (t->idmap && rt_idmap_uid_inside(t->idmap, st->st_uid, &uid) == 0)
        archive_entry_set_uid(ent, uid);
    if (t->idmap && rt_idmap_gid_inside(t->idmap, st->st_gid, &gid) == 0)
        archive_entry_set_gid(ent, gid);
    archive_entry_unset_atime(ent);
    archive_entry_unset_ctime(ent);
    archive_entry_unset_birthtime(ent);
    archive_entry_set_mtime(ent, st->st_mtim.tv_sec, 0);
    if (!S_ISREG(st->st_mode))
        archive_entry_set_size(ent, 0);
    size_t len = strlen(arcname);
    if (S_ISDIR(st->st_mode) && (len == 0 || arcname[len - 1] != '/')) {
        cleanup_free char *d = xasprintf("%s/", arcname);
        archive_entry_set_pathname(ent, d);
    } else {
        archive_entry_set_pathname(ent, arcname);
    }
    return ent;
}

/* Writes a header, tolerating a refused entry (ARCHIVE_FAILED: e.g. a name
 * the format cannot hold) with a warning.  Returns 1 when the entry is in
 * the archive, 0 when it was skipped, or -errno. */
static int write_header(tarw *t, struct archive_entry *ent, berr *e)
{
    int ar = archive_write_header(t->a, ent);
    if (ar >= ARCHIVE_WARN)
        return 1;
    if (ar == ARCHIVE_FAILED) {
        log_warn("leaving %s out of the archive: %s", archive_entry_pathname(ent),
                 archive_error_string(t->a));
        return 0;
    }
    return tarw_fail(t, e, archive_entry_pathname(ent));
}

/* Streams up to `size` bytes of fd.  A file that shrank meanwhile ends
 * early and libarchive pads the entry with zeros; one that grew is cut at
 * the size the header announced. */
static int write_content(tarw *t, int fd, long long size, const char *arcname, berr *e)
{
    while (size > 0) {
        ssize_t n = read(fd, t->copybuf, size < COPY_BLOCK ? (size_t)size : COPY_BLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return berr_sys(e, -errno, "read %s", arcname);
        if (n == 0)
            break;
        if (archive_write_data(t->a, t->copybuf, (size_t)n) != n)
            return tarw_fail(t, e, arcname);
        size -= n;
    }
    return 0;
}

/* Adds name (in directory dfd) as arcname.  *st is its lstat and is updated
 * from the opened file for regular files.  Returns 0 (written or skipped
 * because it vanished or is a socket) or -errno. */
static int add_entry(tarw *t, int dfd, const char *name, struct stat *st, const char *arcname, berr *e)
{
    if (S_ISSOCK(st->st_mode))
        return 0;   /* meaningless without its server; dockerd skips them too */
    cleanup_close int fd = -1;
    if (S_ISREG(st->st_mode)) {
        /* O_NONBLOCK: if a fifo replaced the file, do not hang on it. */
        fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0 && (errno == ENOENT || errno == ELOOP))
            return 0;
        if (fd < 0)
            return berr_sys(e, -errno, "open %s", arcname);
        if (fstat(fd, st) < 0)
            return berr_sys(e, -errno, "stat %s", arcname);
        if (!S_ISREG(st->st_mode))
            return 0;
    }
    struct archive_entry *ent = new_entry(t, st, arcname);
    if (S_ISLNK(st->st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlinkat(dfd, name, target, sizeof target - 1);
        if (n < 0) {
            archive_entry_free(ent);
            return errno == ENOENT || errno == EINVAL ? 0 : berr_sys(e, -errno, "readlink %s", arcname);
        }
        target[n] = 0;
        archive_entry_set_symlink(ent, target);
    }
    add_xattrs(ent, dfd, name);
    if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
        struct archive_entry *spare = NULL;
        archive_entry_linkify(t->links, &ent, &spare);
        archive_entry_free(spare);   /* only the cpio strategies defer */
    }
    int r = write_header(t, ent, e);
    bool body = r == 1 && S_ISREG(st->st_mode) && !archive_entry_hardlink(ent);
    archive_entry_free(ent);
    if (r < 0 || !body)
        return r < 0 ? r : 0;
    return write_content(t, fd, st->st_size, arcname, e);
}

/* An empty regular file: whiteouts and opaque markers. */
static int add_marker(tarw *t, const char *arcname, mode_t perm, uid_t uid, gid_t gid, time_t mtime, berr *e)
{
    struct stat st = {.st_mode = S_IFREG | (perm & 07777), .st_uid = uid, .st_gid = gid, .st_nlink = 1};
    st.st_mtim.tv_sec = mtime;
    struct archive_entry *ent = new_entry(t, &st, arcname);
    int r = write_header(t, ent, e);
    archive_entry_free(ent);
    return r < 0 ? r : 0;
}

/* ---- layer tar of a change list ------------------------------------------- */

/* The directory rel (relative, "" for the root) beneath root, reached
 * without following any symlink.  Returns an O_PATH fd or -errno. */
static int open_beneath(int root, const char *rel)
{
    struct open_how how = {
        .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    for (int tries = 0; tries < 32; tries++) {
        long fd = syscall(SYS_openat2, root, *rel ? rel : ".", &how, sizeof how);
        if (fd >= 0)
            return (int)fd;
        if (errno != EAGAIN && errno != EINTR)
            return -errno;
    }
    return -EAGAIN;
}

static bool is_whiteout(const struct stat *st)
{
    return S_ISCHR(st->st_mode) && major(st->st_rdev) == 0 && minor(st->st_rdev) == 0;
}

static bool is_opaque(int dfd, const char *name)
{
    char p[64 + NAME_MAX], v[2];
    snprintf(p, sizeof p, "/proc/self/fd/%d/%s", dfd, name);
    return lgetxattr(p, OVERLAY_OPAQUE_XATTR, v, sizeof v) == 1 && v[0] == 'y';
}

/* ".wh.<base>" next to the deleted path.  Its owner and time come from the
 * overlay whiteout device when there is one (as dockerd's overlay
 * converter), else from the parent directory: the deletion is what last
 * changed it, and a fixed source keeps the bytes reproducible. */
static int add_deletion(tarw *t, int parent, const char *dir, const char *base, berr *e)
{
    struct stat st;
    uid_t uid = 0;
    gid_t gid = 0;
    time_t mtime = 0;
    if (parent >= 0 && fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && is_whiteout(&st)) {
        uid = st.st_uid, gid = st.st_gid, mtime = st.st_mtim.tv_sec;
    } else if (parent >= 0 && fstat(parent, &st) == 0) {
        mtime = st.st_mtim.tv_sec;
    }
    cleanup_free char *name = xasprintf("%s%s" WH_PREFIX "%s", dir, *dir ? "/" : "", base);
    return add_marker(t, name, 0600, uid, gid, mtime, e);
}

static int add_change(tarw *t, int root, const rt_change *c, berr *e)
{
    const char *rel = c->path;
    while (*rel == '/')
        rel++;
    if (!*rel)
        return 0;   /* the root's own metadata is not part of a layer */
    const char *slash = strrchr(rel, '/');
    cleanup_free char *dir = slash ? xstrndup(rel, (size_t)(slash - rel)) : xstrdup("");
    const char *base = slash ? slash + 1 : rel;

    cleanup_close int parent = open_beneath(root, dir);
    if (c->kind == RT_CHANGE_DELETED)
        return add_deletion(t, parent, dir, base, e);
    if (parent == -ENOENT || parent == -ENOTDIR || parent == -ELOOP || parent == -EXDEV)
        return 0;   /* gone (or made a symlink) since the changes were listed */
    if (parent < 0)
        return berr_sys(e, parent, "open %s", dir);
    struct stat st;
    if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : berr_sys(e, -errno, "stat %s", rel);
    int r = add_entry(t, parent, base, &st, rel, e);
    if (r == 0 && S_ISDIR(st.st_mode) && is_opaque(parent, base)) {
        /* What dockerd's overlay converter adds: the marker inherits the
         * directory's owner and permissions. */
        cleanup_free char *opq = xasprintf("%s/" WH_OPAQUE, rel);
        r = add_marker(t, opq, st.st_mode & 0777, st.st_uid, st.st_gid, st.st_mtim.tv_sec, e);
    }
    return r;
}

int rt_changes_write_tar(const char *root, const rt_change *c, size_t n, int out_fd, char diff_id[DIGEST_BUF],
                         long long *size, berr *e)
{
    cleanup_close int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0)
        return berr_sys(e, -errno, "open %s", root);
    tarw t;
    int r = tarw_open(&t, out_fd, e);
    for (size_t i = 0; r == 0 && i < n; i++)
        r = add_change(&t, rfd, &c[i], e);
    if (r == 0)
        r = tarw_close(&t, e);
    if (r == 0) {
        digest_final(&t.dg, diff_id);
        if (size)
            *size = t.size;
    }
    tarw_free(&t);
    return r;
}

/* ---- a tree -------------------------------------------------------------- */

static int strp_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Kernel filesystems whose files are views of the kernel, not content
 * (/proc/kcore alone would be 128 TiB). */
static bool special_fs(int fd)
{
    struct statfs sf;
    if (fstatfs(fd, &sf) < 0)
        return false;
    switch ((unsigned long)sf.f_type) {
    case PROC_SUPER_MAGIC:
    case SYSFS_MAGIC:
    case CGROUP_SUPER_MAGIC:
    case CGROUP2_SUPER_MAGIC:
    case DEVPTS_SUPER_MAGIC:
    case SECURITYFS_MAGIC:
    case DEBUGFS_MAGIC:
    case TRACEFS_MAGIC:
    case BPF_FS_MAGIC:
        return true;
    default:
        return false;
    }
}

/* Adds the content of directory fd (device dev) with names under prefix
 * ("" for none), in name order as Go's filepath.Walk gives it. */
static int add_tree(tarw *t, int fd, dev_t dev, const char *prefix, berr *e)
{
    int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dfd < 0)
        return berr_sys(e, -errno, "read directory %s", prefix);
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return berr_sys(e, -errno, "read directory %s", prefix);
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *de; (de = readdir(d));) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            names = xrealloc(names, cap * sizeof *names);
        }
        names[n++] = xstrdup(de->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, strp_cmp);

    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        cleanup_free char *arc = *prefix ? xasprintf("%s/%s", prefix, names[i]) : xstrdup(names[i]);
        struct stat st;
        if (fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT)
                r = berr_sys(e, -errno, "stat %s", arc);
            continue;
        }
        if ((r = add_entry(t, fd, names[i], &st, arc, e)) < 0 || !S_ISDIR(st.st_mode))
            continue;
        cleanup_close int sub = openat(fd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
            continue;   /* replaced since the stat: its entry is already written */
        if (st.st_dev != dev && special_fs(sub))
            continue;
        r = add_tree(t, sub, st.st_dev, arc, e);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return r;
}

int rt_tar_path(const char *path, const char *name_prefix, int out_fd, berr *e)
{
    return rt_tar_path_mapped(path, name_prefix, NULL, out_fd, e);
}

int rt_tar_path_mapped(const char *path, const char *name_prefix, const rt_idmap *idmap, int out_fd, berr *e)
{
    /* Split into parent and last component; "/" and trailing slashes mean
     * the directory itself. */
    cleanup_free char *p = xstrdup(path);
    size_t len = strlen(p);
    while (len > 1 && p[len - 1] == '/')
        p[--len] = 0;
    char *slash = strrchr(p, '/');
    const char *dir = ".", *base = p;
    if (slash == p && !p[1]) {
        dir = "/", base = ".";
    } else if (slash) {
        *slash = 0;
        dir = slash == p ? "/" : p;
        base = slash + 1;
    }
    cleanup_close int parent = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (parent < 0)
        return berr_sys(e, -errno, "open %s", dir);
    struct stat st;
    if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return berr_sys(e, -errno, "stat %s", path);

    tarw t;
    int r = tarw_open(&t, out_fd, e);
    t.idmap = idmap;
    cleanup_free char *pre = xstrdup(name_prefix ? name_prefix : "");
    for (size_t l = strlen(pre); l > 0 && pre[l - 1] == '/';)
        pre[--l] = 0;
    const char *top = *pre ? pre : NULL;
    if (r == 0 && !S_ISDIR(st.st_mode)) {
        r = add_entry(&t, parent, base, &st, top ? top : base, e);
    } else if (r == 0) {
        /* Export lists the content without an entry for the root itself. */
        if (top)
            r = add_entry(&t, parent, base, &st, top, e);
        cleanup_close int fd = openat(parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (r == 0 && fd < 0)
            r = berr_sys(e, -errno, "open %s", path);
        if (r == 0)
            r = add_tree(&t, fd, st.st_dev, top ? top : "", e);
    }
    if (r == 0)
        r = tarw_close(&t, e);
    tarw_free(&t);
    return r;
}
