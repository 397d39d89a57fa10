/* What a container changed, found the way dockerd finds it so that `docker
 * diff` reads the same.
 *
 * overlay2 follows dockerd's native overlay diff (archive.OverlayChanges):
 * every entry of the upper directory is a change, except a directory whose
 * size, mode and mtime equal the lower one's (it is only there because
 * overlayfs copied it up for a child).  Such a directory is still reported
 * as modified once one of its children is added or deleted.  Two
 * differences, both deliberate: an opaque directory is reported as modified
 * (or added) rather than deleted, and lower layers are looked up as
 * overlayfs would (whiteouts and opaque directories in lower layers hide what
 * is below them) instead of with a plain stat in each layer.
 *
 * vfs follows dockerd's naive diff (archive.ChangesDirs): the two trees are
 * compared by lstat fields; a deleted directory is reported once, not its
 * content; a directory with any change below it is reported as modified.
 *
 * Walks go through directory fds opened with O_NOFOLLOW: a running
 * container can plant symlinks in its tree, and none may lead us outside. */
#include "runtime/layer/changes.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"

#define OVERLAY_OPAQUE_XATTR "trusted.overlay.opaque"
#define CAPABILITY_XATTR "security.capability"

/* ---- the growing list ----------------------------------------------------- */

typedef struct clist {
    rt_change *v;   /* owned */
    size_t n, cap;
} clist;

static void clist_add(clist *l, const char *path, rt_change_kind kind)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = (rt_change){.path = xstrdup(path), .kind = kind};
}

/* Tree order: a directory comes right before its content ("/a", "/a/b",
 * "/a-b"), which a byte-wise strcmp would not give since '-' < '/'.  The tar
 * writer relies on it: parents before children. */
static int path_cmp(const char *a, const char *b)
{
    for (; *a && *a == *b; a++, b++)
        ;
    /* End of string first, then the separator, then every other byte. */
    int ca = !*a ? 0 : *a == '/' ? 1 : (unsigned char)*a + 1;
    int cb = !*b ? 0 : *b == '/' ? 1 : (unsigned char)*b + 1;
    return ca - cb;
}

static int change_cmp(const void *a, const void *b)
{
    return path_cmp(((const rt_change *)a)->path, ((const rt_change *)b)->path);
}

static void clist_finish(clist *l, rt_change **out, size_t *n)
{
    if (l->n)
        qsort(l->v, l->n, sizeof *l->v, change_cmp);
    *out = l->v;
    *n = l->n;
    l->v = NULL;
    l->n = l->cap = 0;
}

void rt_changes_free(rt_change *c, size_t n)
{
    for (size_t i = 0; c && i < n; i++)
        free(c[i].path);
    free(c);
}

/* ---- small helpers ---------------------------------------------------------- */

static bool is_whiteout(const struct stat *st)
{
    return S_ISCHR(st->st_mode) && major(st->st_rdev) == 0 && minor(st->st_rdev) == 0;
}

static bool fd_is_opaque(int fd)
{
    char v[2];
    return fgetxattr(fd, OVERLAY_OPAQUE_XATTR, v, sizeof v) == 1 && v[0] == 'y';
}

static bool path_is_opaque(const char *path)
{
    char v[2];
    return lgetxattr(path, OVERLAY_OPAQUE_XATTR, v, sizeof v) == 1 && v[0] == 'y';
}

/* "/" + rel, or rel joined to a parent path ("/" joins without doubling). */
static char *join(const char *parent, const char *name)
{
    return xasprintf("%s%s%s", parent, parent[strlen(parent) - 1] == '/' ? "" : "/", name);
}

/* The names in directory fd (without "." and ".."), unsorted; *out is an
 * owned array of owned strings (free_names).  Takes no ownership of fd. */
static int list_dir(int fd, char ***out, size_t *n)
{
    int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dfd < 0)
        return -errno;
    DIR *d = fdopendir(dfd);
    if (!d) {
        int r = -errno;
        close(dfd);
        return r;
    }
    char **v = NULL;
    size_t cnt = 0, cap = 0;
    errno = 0;
    for (struct dirent *de; (de = readdir(d)); errno = 0) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (cnt == cap) {
            cap = cap ? cap * 2 : 16;
            v = xrealloc(v, cap * sizeof *v);
        }
        v[cnt++] = xstrdup(de->d_name);
    }
    int r = -errno;
    closedir(d);
    if (r < 0) {
        for (size_t i = 0; i < cnt; i++)
            free(v[i]);
        free(v);
        return r;
    }
    *out = v;
    *n = cnt;
    return 0;
}

static int strp_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int open_subdir(int dfd, const char *name)
{
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

/* dockerd's sameFsTime: equal, or equal seconds when either side lost its
 * nanoseconds (a copy through a filesystem or tool without them). */
static bool same_time(struct timespec a, struct timespec b)
{
    return a.tv_sec == b.tv_sec && (a.tv_nsec == b.tv_nsec || a.tv_nsec == 0 || b.tv_nsec == 0);
}

/* ---- overlay2 ------------------------------------------------------------- */

typedef struct owalk {
    const char *upper;
    const char *const *lowers;
    size_t n_lowers;
    clist out;
} owalk;

/* Whether rel ("/a/b") exists in the union of the lower layers, as overlayfs
 * would show it; *st receives the entry from the layer that provides it.
 * Ancestors are checked before the path so that no lstat ever runs through a
 * symlink inside a layer. */
static bool lower_lookup(const owalk *w, const char *rel, struct stat *st)
{
    for (size_t i = 0; i < w->n_lowers; i++) {
        cleanup_free char *p = xasprintf("%s%s", w->lowers[i], rel);
        size_t base = strlen(w->lowers[i]);
        bool hidden_below = false, present = true;
        /* Each '/' after the first one ends an ancestor of rel. */
        for (char *s = p + base + 1; (s = strchr(s, '/')); s++) {
            *s = 0;
            struct stat a;
            bool ok = lstat(p, &a) == 0;
            bool opaque = ok && S_ISDIR(a.st_mode) && path_is_opaque(p);
            *s = '/';
            if (!ok) {
                present = false;
                break;
            }
            if (!S_ISDIR(a.st_mode))
                return false;   /* a file or whiteout shadows the whole subtree */
            hidden_below |= opaque;
        }
        if (present && lstat(p, st) == 0)
            return !is_whiteout(st);
        if (hidden_below)
            return false;
    }
    return false;
}

/* Walks directory fd (upper path rel).  lower_gone: nothing below rel can
 * be in the lower layers (rel was added, or is opaque).  *self_recorded says
 * whether rel itself is already in the list; the first added or deleted
 * child records it as modified, as dockerd's changedDirs does. */
static int owalk_dir(owalk *w, int fd, const char *rel, bool lower_gone, bool *self_recorded, berr *e)
{
    char **names;
    size_t n;
    int r = list_dir(fd, &names, &n);
    if (r < 0)
        return berr_sys(e, r, "read directory %s%s", w->upper, rel);
    for (size_t i = 0; i < n && r == 0; i++) {
        cleanup_free char *path = join(rel, names[i]);
        struct stat st, lst;
        if (fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT)
                continue;   /* removed while we walk a running container */
            r = berr_sys(e, -errno, "stat %s%s", w->upper, path);
            break;
        }
        cleanup_close int cfd = -1;
        bool opaque = false;
        if (S_ISDIR(st.st_mode)) {
            cfd = open_subdir(fd, names[i]);
            if (cfd == -ENOENT || cfd == -ENOTDIR)
                continue;
            if (cfd < 0) {
                r = berr_sys(e, cfd, "open %s%s", w->upper, path);
                break;
            }
            opaque = fd_is_opaque(cfd);
        }

        rt_change_kind kind;
        bool record = true;
        bool in_lower = !lower_gone && !is_whiteout(&st) && lower_lookup(w, path, &lst);
        if (is_whiteout(&st)) {
            kind = RT_CHANGE_DELETED;
        } else if (!in_lower) {
            kind = RT_CHANGE_ADDED;
        } else {
            kind = RT_CHANGE_MODIFIED;
            if (S_ISDIR(st.st_mode) && S_ISDIR(lst.st_mode) && !opaque && st.st_size == lst.st_size &&
                st.st_mode == lst.st_mode && same_time(st.st_mtim, lst.st_mtim))
                record = false;   /* copied up only because of a child */
        }
        if (kind != RT_CHANGE_MODIFIED && !*self_recorded && strcmp(rel, "/") != 0) {
            clist_add(&w->out, rel, RT_CHANGE_MODIFIED);
            *self_recorded = true;
        }
        if (record)
            clist_add(&w->out, path, kind);
        if (cfd >= 0)
            r = owalk_dir(w, cfd, path, !in_lower || opaque, &record, e);
    }
    free_names(names, n);
    return r;
}

int rt_changes_overlay(const char *upper, const char *const *lowers, size_t n_lowers, rt_change **out, size_t *n,
                       berr *e)
{
    owalk w = {.upper = upper, .lowers = lowers, .n_lowers = n_lowers};
    cleanup_close int fd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return berr_sys(e, -errno, "open %s", upper);
    bool root_recorded = true;   /* "/" is never reported */
    int r = owalk_dir(&w, fd, "/", false, &root_recorded, e);
    if (r < 0) {
        rt_changes_free(w.out.v, w.out.n);
        return r;
    }
    clist_finish(&w.out, out, n);
    return 0;
}

/* ---- vfs ---------------------------------------------------------------- */

typedef struct vwalk {
    const char *ctree, *itree;
    clist out;
} vwalk;

/* security.capability of name in directory fd, read through /proc so the
 * final component is not followed; *len 0 when absent. */
static void read_cap(int dfd, const char *name, char *v, size_t cap, ssize_t *len)
{
    char p[64 + NAME_MAX];
    snprintf(p, sizeof p, "/proc/self/fd/%d/%s", dfd, name);
    *len = lgetxattr(p, CAPABILITY_XATTR, v, cap);
    if (*len < 0)
        *len = 0;
}

/* dockerd's statDifferent plus the capability xattr (setcap changes only
 * ctime) and symlink targets (a retargeted link of the same length keeps
 * its size). */
static bool entry_differs(int cfd, int ifd, const char *name, const struct stat *c, const struct stat *i)
{
    if (c->st_mode != i->st_mode || c->st_uid != i->st_uid || c->st_gid != i->st_gid || c->st_rdev != i->st_rdev)
        return true;
    if (!S_ISDIR(c->st_mode) && (!same_time(c->st_mtim, i->st_mtim) || c->st_size != i->st_size))
        return true;
    if (S_ISLNK(c->st_mode)) {
        char a[PATH_MAX], b[PATH_MAX];
        ssize_t la = readlinkat(cfd, name, a, sizeof a), lb = readlinkat(ifd, name, b, sizeof b);
        return la != lb || (la > 0 && memcmp(a, b, (size_t)la) != 0);
    }
    char ca[256], cb[256];
    ssize_t la, lb;
    read_cap(cfd, name, ca, sizeof ca, &la);
    read_cap(ifd, name, cb, sizeof cb, &lb);
    return la != lb || (la > 0 && memcmp(ca, cb, (size_t)la) != 0);
}

/* Every entry below container dir fd as added. */
static int vwalk_added(vwalk *w, int fd, const char *rel, berr *e)
{
    char **names;
    size_t n;
    int r = list_dir(fd, &names, &n);
    if (r < 0)
        return berr_sys(e, r, "read directory %s%s", w->ctree, rel);
    for (size_t i = 0; i < n && r == 0; i++) {
        cleanup_free char *path = join(rel, names[i]);
        clist_add(&w->out, path, RT_CHANGE_ADDED);
        cleanup_close int cfd = open_subdir(fd, names[i]);
        if (cfd >= 0)
            r = vwalk_added(w, cfd, path, e);
    }
    free_names(names, n);
    return r;
}

/* Compares directory cfd (container) with ifd (image) at rel.  *self_recorded
 * as in owalk_dir: a directory with any change below it is modified. */
static int vwalk_dir(vwalk *w, int cfd, int ifd, const char *rel, bool *self_recorded, berr *e)
{
    char **cn, **in;
    size_t nc, ni;
    int r = list_dir(cfd, &cn, &nc);
    if (r < 0)
        return berr_sys(e, r, "read directory %s%s", w->ctree, rel);
    if ((r = list_dir(ifd, &in, &ni)) < 0) {
        free_names(cn, nc);
        return berr_sys(e, r, "read directory %s%s", w->itree, rel);
    }
    qsort(cn, nc, sizeof *cn, strp_cmp);
    qsort(in, ni, sizeof *in, strp_cmp);
    size_t before = w->out.n;
    for (size_t a = 0, b = 0; r == 0 && (a < nc || b < ni);) {
        int c = a == nc ? 1 : b == ni ? -1 : strcmp(cn[a], in[b]);
        const char *name = c <= 0 ? cn[a] : in[b];
        cleanup_free char *path = join(rel, name);
        if (c > 0) {
            clist_add(&w->out, path, RT_CHANGE_DELETED);
            b++;
            continue;
        }
        a++;
        struct stat cst, ist;
        if (fstatat(cfd, name, &cst, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT)
                r = berr_sys(e, -errno, "stat %s%s", w->ctree, path);
            b += c == 0;
            continue;
        }
        bool in_image = c == 0 && fstatat(ifd, name, &ist, AT_SYMLINK_NOFOLLOW) == 0;
        b += c == 0;
        bool recorded = true;
        if (!in_image)
            clist_add(&w->out, path, RT_CHANGE_ADDED);
        else if (entry_differs(cfd, ifd, name, &cst, &ist))
            clist_add(&w->out, path, RT_CHANGE_MODIFIED);
        else
            recorded = false;
        if (!S_ISDIR(cst.st_mode))
            continue;
        cleanup_close int csub = open_subdir(cfd, name);
        if (csub < 0)
            continue;
        cleanup_close int isub = in_image && S_ISDIR(ist.st_mode) ? open_subdir(ifd, name) : -1;
        r = isub >= 0 ? vwalk_dir(w, csub, isub, path, &recorded, e) : vwalk_added(w, csub, path, e);
    }
    free_names(cn, nc);
    free_names(in, ni);
    if (r == 0 && w->out.n > before && !*self_recorded && strcmp(rel, "/") != 0) {
        clist_add(&w->out, rel, RT_CHANGE_MODIFIED);
        *self_recorded = true;
    }
    return r;
}

int rt_changes_vfs(const char *container_tree, const char *image_tree, rt_change **out, size_t *n, berr *e)
{
    vwalk w = {.ctree = container_tree, .itree = image_tree};
    cleanup_close int cfd = open(container_tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cfd < 0)
        return berr_sys(e, -errno, "open %s", container_tree);
    cleanup_close int ifd = open(image_tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (ifd < 0)
        return berr_sys(e, -errno, "open %s", image_tree);
    bool root_recorded = true;
    int r = vwalk_dir(&w, cfd, ifd, "/", &root_recorded, e);
    if (r < 0) {
        rt_changes_free(w.out.v, w.out.n);
        return r;
    }
    clist_finish(&w.out, out, n);
    return 0;
}
