/* Safe tar extraction (see tarsafe.h for the threat model).
 *
 * libarchive only parses; every file is created by us relative to a
 * directory fd that was itself opened with openat2(RESOLVE_BENEATH) from the
 * target directory, and only ever on a single basename.  So whatever symlinks
 * earlier entries planted, resolution of a later entry cannot leave the
 * target: the kernel refuses (EXDEV) instead of following.  Lexical checks on
 * names come first so that a refused entry writes nothing at all. */
#include "runtime/layer/tarsafe.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/strhash.h"
#include "lib/cleanup.h"
#include "lib/log.h"

#define WH_PREFIX ".wh."
#define WH_META_PREFIX ".wh..wh."   /* aufs bookkeeping, never content */
#define WH_OPAQUE ".wh..wh..opq"
#define OVERLAY_OPAQUE_XATTR "trusted.overlay.opaque"

/* ---- set of paths created by this archive ------------------------------ */

/* Normalized relative paths this archive created (explicitly or as missing
 * parents), each with the index of its deferred directory metadata (-1 for
 * none).  An opaque whiteout in APPLY mode keeps exactly these.  Open
 * addressing with linear probing; the set owns its keys. */
typedef struct pslot {
    char *key;
    int dir;
} pslot;

typedef struct pathset {
    pslot *slots;
    size_t cap, n;   /* cap is 0 or a power of two */
} pathset;

/* The slot holding key, or the empty slot where it would go. */
static pslot *ps_slot(const pathset *s, const char *key)
{
    size_t i = str_hash(key) & (s->cap - 1);
    while (s->slots[i].key && strcmp(s->slots[i].key, key) != 0)
        i = (i + 1) & (s->cap - 1);
    return &s->slots[i];
}

static void ps_grow(pathset *s)
{
    pathset n = {.cap = s->cap ? s->cap * 2 : 256, .n = s->n};
    n.slots = xcalloc(n.cap, sizeof *n.slots);
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i].key)
            *ps_slot(&n, s->slots[i].key) = s->slots[i];
    free(s->slots);
    *s = n;
}

/* Returns key's slot, inserting key (with dir = -1) if new.  The pointer is
 * valid until the next insertion. */
static pslot *ps_add(pathset *s, const char *key)
{
    if ((s->n + 1) * 2 > s->cap)
        ps_grow(s);
    pslot *p = ps_slot(s, key);
    if (!p->key) {
        p->key = xstrdup(key);
        p->dir = -1;
        s->n++;
    }
    return p;
}

static bool ps_has(const pathset *s, const char *key)
{
    return s->cap && ps_slot(s, key)->key;
}

static void ps_free(pathset *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->slots[i].key);
    free(s->slots);
}

/* ---- extraction state --------------------------------------------------- */

/* Directory metadata applied only after the last entry: writing into a
 * directory changes its mtime, and a read-only mode would block later
 * entries when we run without CAP_DAC_OVERRIDE. */
typedef struct dirmeta {
    char *path;   /* owned, normalized */
    mode_t mode;
    uid_t uid;
    gid_t gid;
    struct timespec times[2];
} dirmeta;

typedef struct xstate {
    int root;                /* O_PATH fd of the target directory */
    tar_extract_opts o;
    const char *raw;         /* current entry name as archived (libarchive owns it) */
    long long size;
    pathset created;
    dirmeta *dirs;           /* owned array of ndirs */
    size_t ndirs, capdirs;
} xstate;

static void xstate_free(xstate *x)
{
    if (x->root >= 0)
        close(x->root);
    ps_free(&x->created);
    for (size_t i = 0; i < x->ndirs; i++)
        free(x->dirs[i].path);
    free(x->dirs);
}

/* openat2 beneath dirfd ("" means dirfd itself).  Magic links (/proc/self/fd)
 * are never followed; extra adds RESOLVE_* flags.  EAGAIN is the kernel
 * asking for a retry after a concurrent rename.  Returns an fd or -errno. */
static int beneath(int dirfd, const char *path, int flags, mode_t mode, uint64_t extra)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .mode = (flags & O_CREAT) ? mode : 0,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | extra,
    };
    for (int tries = 0; tries < 32; tries++) {
        long fd = syscall(SYS_openat2, dirfd, *path ? path : ".", &how, sizeof how);
        if (fd >= 0)
            return (int)fd;
        if (errno != EAGAIN && errno != EINTR)
            return -errno;
    }
    return -EAGAIN;
}

static int refuse(const xstate *x, berr *e, const char *why)
{
    return berr_set(e, -EINVAL, "refusing to extract \"%s\": %s", x->raw, why);
}

/* Reports a failed operation on the current entry.  EXDEV from openat2 means
 * the path would leave the target (through ".." or an absolute symlink that
 * an earlier entry planted): that is a refusal, not an I/O error. */
static int entry_err(const xstate *x, int r, const char *what, berr *e)
{
    if (r == -EXDEV)
        return refuse(x, e, "a symlink on its path leads outside the layer");
    return berr_sys(e, r, "extracting \"%s\": %s", x->raw, what);
}

/* libarchive reports format problems as EILSEQ (its ARCHIVE_ERRNO_FILE_FORMAT
 * on Linux), EINVAL or -1 (ARCHIVE_ERRNO_MISC, e.g. bad gzip data): all bad
 * input.  Anything else is the errno of a failed read. */
static int archive_code(struct archive *a)
{
    int err = archive_errno(a);
    if (err <= 0 || err == EILSEQ || err == EINVAL)
        return -EINVAL;
    return -err;
}

/* ---- names -------------------------------------------------------------- */

/* Cleans an archive name into a relative path with no "." or empty
 * components ("./a//b/" -> "a/b", "./" -> "").  Returns NULL for absolute
 * names and any ".." component: no legitimate layer needs them, and refusing
 * is simpler to reason about than resolving them.  Caller frees. */
static char *norm_path(const char *in)
{
    if (in[0] == '/')
        return NULL;
    buf b = BUF_INIT;
    for (const char *p = in; *p;) {
        const char *end = strchrnul(p, '/');
        size_t n = (size_t)(end - p);
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            buf_free(&b);
            return NULL;
        }
        if (n && !(n == 1 && p[0] == '.')) {
            if (b.len)
                buf_append(&b, "/", 1);
            buf_append(&b, p, n);
        }
        p = *end ? end + 1 : end;
    }
    return buf_steal(&b);
}

/* dockerd's breakout rule for relative symlinks: the target, taken from the
 * link's directory, must not climb above the root at any point (once above,
 * a lexical clean can never bring it back).  Absolute targets are fine: they
 * resolve inside the container's root at run time. */
static bool symlink_escapes(const char *dir, const char *target)
{
    if (target[0] == '/')
        return false;
    int depth = *dir ? 1 : 0;
    for (const char *p = dir; *p; p++)
        depth += *p == '/';
    for (const char *p = target; *p;) {
        const char *end = strchrnul(p, '/');
        size_t n = (size_t)(end - p);
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (--depth < 0)
                return true;
        } else if (n && !(n == 1 && p[0] == '.')) {
            depth++;
        }
        p = *end ? end + 1 : end;
    }
    return false;
}

/* Splits a normalized path: *dir gets a copy of everything before the last
 * '/' ("" at top level; caller frees), the return value points into path. */
static const char *split_path(const char *path, char **dir)
{
    const char *slash = strrchr(path, '/');
    *dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup("");
    return slash ? slash + 1 : path;
}

/* ---- filesystem helpers ------------------------------------------------- */

/* rm -rf of name inside directory `at`.  Only directories opened with
 * O_NOFOLLOW are descended into, so a symlink in the layer never redirects
 * the removal elsewhere. */
static int rm_rf_at(int at, const char *name)
{
    struct stat st;
    if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISDIR(st.st_mode))
        return unlinkat(at, name, 0) < 0 && errno != ENOENT ? -errno : 0;
    int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        int r = -errno;
        close(fd);
        return r;
    }
    int r = 0;
    struct dirent *de;
    while (r == 0 && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            r = rm_rf_at(dirfd(d), de->d_name);
    }
    closedir(d);
    if (r == 0 && unlinkat(at, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        r = -errno;
    return r;
}

/* Frees name in parent for a new entry.  An existing directory stays when
 * the new entry is a directory too (its metadata is replaced later); anything
 * else goes.  Returns 1 if a directory was kept, 0 if the name is free. */
static int make_room(int parent, const char *base, bool new_is_dir)
{
    struct stat st;
    if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (S_ISDIR(st.st_mode))
        return new_is_dir ? 1 : rm_rf_at(parent, base);
    return unlinkat(parent, base, 0) < 0 ? -errno : 0;
}

/* Opens (O_PATH) directory rel beneath the root.  With create, missing
 * components are made with mode 0755 like `mkdir -p`, each relative to its
 * parent's fd (itself resolved beneath the root), and remembered as created
 * by this archive.  Returns an fd (caller closes) or -errno. */
static int open_dir(xstate *x, const char *rel, bool create)
{
    int fd = beneath(x->root, rel, O_PATH | O_DIRECTORY, 0, 0);
    if (fd != -ENOENT || !create)
        return fd;
    cleanup_free char *p = xstrdup(rel);
    int cur = beneath(x->root, "", O_PATH | O_DIRECTORY, 0, 0);
    for (char *comp = p; cur >= 0;) {
        char *slash = strchr(comp, '/');
        if (slash)
            *slash = 0;
        int next = beneath(x->root, p, O_PATH | O_DIRECTORY, 0, 0);
        if (next == -ENOENT) {
            /* Explicit chmod: the daemon's umask must not decide image modes. */
            if (mkdirat(cur, comp, 0755) == 0 && fchmodat(cur, comp, 0755, 0) == 0)
                ps_add(&x->created, p);
            next = beneath(x->root, p, O_PATH | O_DIRECTORY, 0, 0);
        }
        close(cur);
        cur = next;
        if (!slash)
            break;
        *slash = '/';
        comp = slash + 1;
    }
    return cur;
}

/* chown unless unprivileged; name "" means `at` itself.  EPERM and EINVAL
 * (an ID not mapped in our user namespace) leave the file ours, as docker's
 * rootless mode does. */
/* The host owner of an entry: its own ids, or with an idmap their host ids
 * (-ERANGE outside the map). */
static int entry_owner(const xstate *x, struct archive_entry *ent, uid_t *uid, gid_t *gid)
{
    *uid = (uid_t)archive_entry_uid(ent);
    *gid = (gid_t)archive_entry_gid(ent);
    if (!x->o.idmap)
        return 0;
    if (rt_idmap_uid(x->o.idmap, *uid, uid) < 0 || rt_idmap_gid(x->o.idmap, *gid, gid) < 0)
        return -ERANGE;
    return 0;
}

static int chown_at(const xstate *x, int at, const char *name, struct archive_entry *ent)
{
    if (x->o.unprivileged)
        return 0;
    int flags = AT_SYMLINK_NOFOLLOW | (*name ? 0 : AT_EMPTY_PATH);
    uid_t uid;
    gid_t gid;
    if (entry_owner(x, ent, &uid, &gid) < 0)
        return -ERANGE;
    if (fchownat(at, name, uid, gid, flags) == 0)
        return 0;
    return errno == EPERM || errno == EINVAL ? 0 : -errno;
}

static void entry_times(struct archive_entry *ent, struct timespec ts[2])
{
    ts[1] = (struct timespec){archive_entry_mtime(ent), archive_entry_mtime_nsec(ent)};
    ts[0] = ts[1];
    if (archive_entry_atime_is_set(ent))
        ts[0] = (struct timespec){archive_entry_atime(ent), archive_entry_atime_nsec(ent)};
}

/* Sets the entry's extended attributes on fd.  overlayfs's trusted.overlay.*
 * are never taken from an image: they would let a layer forge redirects or
 * metacopy into other layers.  Like dockerd, ENOTSUP (no xattrs here) and
 * EPERM (trusted.* or security.* without privilege) are skipped. */
static int set_xattrs(int fd, struct archive_entry *ent)
{
    const char *name;
    const void *val;
    size_t len;
    archive_entry_xattr_reset(ent);
    while (archive_entry_xattr_next(ent, &name, &val, &len) == ARCHIVE_OK) {
        if (strncmp(name, "trusted.overlay.", 16) == 0)
            continue;
        if (fsetxattr(fd, name, val, len, 0) < 0 && errno != ENOTSUP && errno != EPERM)
            return -errno;
    }
    return 0;
}

/* ---- entry kinds -------------------------------------------------------- */

/* Copies the entry's data to fd at the offsets libarchive reports, so sparse
 * entries keep their holes; ftruncate covers a trailing hole. */
static int write_data(const xstate *x, struct archive *a, int fd, struct archive_entry *ent, berr *e)
{
    for (;;) {
        const void *blk;
        size_t len;
        la_int64_t off;
        int ar = archive_read_data_block(a, &blk, &len, &off);
        if (ar == ARCHIVE_EOF)
            break;
        if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN)
            return berr_set(e, archive_code(a), "reading \"%s\" from the archive: %s", x->raw,
                            archive_error_string(a));
        for (const char *p = blk; len;) {
            ssize_t n = pwrite(fd, p, len, off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return entry_err(x, -errno, "write", e);
            p += n;
            off += n;
            len -= (size_t)n;
        }
    }
    if (ftruncate(fd, archive_entry_size(ent)) < 0)
        return entry_err(x, -errno, "truncate", e);
    return 0;
}

static int x_regular(xstate *x, struct archive *a, struct archive_entry *ent, int parent,
                     const char *base, berr *e)
{
    /* O_EXCL|O_NOFOLLOW: make_room freed the name, so we never write through
     * a link left there. */
    cleanup_close int fd = beneath(parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600,
                                   RESOLVE_NO_SYMLINKS);
    if (fd < 0)
        return entry_err(x, fd, "create", e);
    int r = write_data(x, a, fd, ent, e);
    if (r < 0)
        return r;
    struct timespec ts[2];
    entry_times(ent, ts);
    /* Owner before mode: chown clears the set-id bits. Times last. */
    if ((r = chown_at(x, fd, "", ent)) < 0)
        return entry_err(x, r, "chown", e);
    if (fchmod(fd, archive_entry_perm(ent) & 07777) < 0)
        return entry_err(x, -errno, "chmod", e);
    if ((r = set_xattrs(fd, ent)) < 0)
        return entry_err(x, r, "set xattrs", e);
    if (futimens(fd, ts) < 0)
        return entry_err(x, -errno, "set times", e);
    x->size += archive_entry_size(ent);
    return 0;
}

/* Creates (unless kept) the directory and queues its metadata; a directory
 * named twice takes the later entry's metadata. */
static int x_dir(xstate *x, struct archive_entry *ent, const char *name, int parent,
                 const char *base, bool kept, berr *e)
{
    if (!kept && mkdirat(parent, base, 0700) < 0)
        return entry_err(x, -errno, "mkdir", e);
    cleanup_close int fd = beneath(parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0,
                                   RESOLVE_NO_SYMLINKS);
    if (fd < 0)
        return entry_err(x, fd, "open directory", e);
    int r = set_xattrs(fd, ent);
    if (r < 0)
        return entry_err(x, r, "set xattrs", e);
    pslot *s = ps_add(&x->created, name);
    if (s->dir < 0) {
        if (x->ndirs == x->capdirs) {
            x->capdirs = x->capdirs ? x->capdirs * 2 : 64;
            x->dirs = xrealloc(x->dirs, x->capdirs * sizeof *x->dirs);
        }
        s->dir = (int)x->ndirs++;
        x->dirs[s->dir].path = xstrdup(name);
    }
    dirmeta *m = &x->dirs[s->dir];
    m->mode = archive_entry_perm(ent) & 07777;
    if (entry_owner(x, ent, &m->uid, &m->gid) < 0)
        return entry_err(x, -ERANGE, "chown", e);
    entry_times(ent, m->times);
    return 0;
}

/* Owner, mode (unless a symlink) and times of a non-regular entry by name:
 * symlinks, device nodes and fifos cannot (or must not) be opened. */
static int finish_at(const xstate *x, int parent, const char *base, struct archive_entry *ent,
                     bool symlink, berr *e)
{
    int r = chown_at(x, parent, base, ent);
    if (r < 0)
        return entry_err(x, r, "chown", e);
    /* fchmodat follows a final symlink, but this is the node we just made. */
    if (!symlink && fchmodat(parent, base, archive_entry_perm(ent) & 07777, 0) < 0)
        return entry_err(x, -errno, "chmod", e);
    struct timespec ts[2];
    entry_times(ent, ts);
    if (utimensat(parent, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
        return entry_err(x, -errno, "set times", e);
    return 0;
}

/* Hard link to target (normalized, checked): both sides are resolved as
 * parent fd + basename beneath the root, and linkat without
 * AT_SYMLINK_FOLLOW links a symlink itself, never what it points to. */
static int x_hardlink(xstate *x, const char *target, int parent, const char *base, berr *e)
{
    cleanup_free char *tdir = NULL;
    const char *tbase = split_path(target, &tdir);
    cleanup_close int tparent = open_dir(x, tdir, false);
    if (tparent < 0)
        return entry_err(x, tparent, "open hard link target's directory", e);
    if (linkat(tparent, tbase, parent, base, 0) < 0)
        return entry_err(x, -errno, "hard link", e);
    return 0;
}

/* ---- whiteouts ---------------------------------------------------------- */

/* Removes from directory fd (at rel) everything this archive did not
 * create, descending into directories it did create so that older content
 * below them goes too (as dockerd's walk over its unpacked paths). */
static int opaque_clear(xstate *x, int fd, const char *rel)
{
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -errno;
    }
    /* Collect the names first: we delete while walking. */
    buf names = BUF_INIT;
    for (struct dirent *de; (de = readdir(d));)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            buf_append(&names, de->d_name, strlen(de->d_name) + 1);
    int r = 0;
    for (size_t off = 0; r == 0 && off < names.len; off += strlen(names.data + off) + 1) {
        const char *name = names.data + off;
        cleanup_free char *child = *rel ? xasprintf("%s/%s", rel, name) : xstrdup(name);
        struct stat st;
        if (!ps_has(&x->created, child))
            r = rm_rf_at(dirfd(d), name);
        else if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
            int cfd = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            r = cfd < 0 ? -errno : opaque_clear(x, cfd, child);
        }
    }
    buf_free(&names);
    closedir(d);
    return r;
}

/* ".wh..wh..opq" in directory dir (created if missing). */
static int x_opaque(xstate *x, const char *dir, berr *e)
{
    cleanup_close int pfd = open_dir(x, dir, true);
    if (pfd < 0)
        return entry_err(x, pfd, "open directory", e);
    int fd = beneath(pfd, "", O_RDONLY | O_DIRECTORY, 0, 0);
    if (fd < 0)
        return entry_err(x, fd, "open directory", e);
    if (x->o.whiteouts == TAR_WHITEOUT_APPLY) {
        int r = opaque_clear(x, fd, dir);   /* takes fd */
        return r < 0 ? entry_err(x, r, "clear opaque directory", e) : 0;
    }
    /* Without the xattr the lower layers would show through: fatal. */
    int r = fsetxattr(fd, OVERLAY_OPAQUE_XATTR, "y", 1, 0) < 0 ? -errno : 0;
    close(fd);
    return r < 0 ? entry_err(x, r, "set " OVERLAY_OPAQUE_XATTR, e) : 0;
}

static int x_whiteout(xstate *x, struct archive_entry *ent, const char *dir, const char *base,
                      berr *e)
{
    if (strcmp(base, WH_OPAQUE) == 0)
        return x_opaque(x, dir, e);
    if (strncmp(base, WH_META_PREFIX, strlen(WH_META_PREFIX)) == 0)
        return 0;
    const char *victim = base + strlen(WH_PREFIX);
    /* ".wh..." would otherwise whiteout "..": the parent of the directory. */
    if (!*victim || !strcmp(victim, ".") || !strcmp(victim, ".."))
        return refuse(x, e, "invalid whiteout name");
    cleanup_close int parent = open_dir(x, dir, x->o.whiteouts == TAR_WHITEOUT_OVERLAY);
    if (x->o.whiteouts == TAR_WHITEOUT_APPLY) {
        if (parent == -ENOENT || parent == -ENOTDIR)
            return 0;   /* the parent layer never had it */
        int r = parent < 0 ? parent : rm_rf_at(parent, victim);
        return r < 0 ? entry_err(x, r, "apply whiteout", e) : 0;
    }
    if (parent < 0)
        return entry_err(x, parent, "open parent directory", e);
    int r = make_room(parent, victim, false);
    if (r < 0)
        return entry_err(x, r, "replace existing file", e);
    /* overlayfs's whiteout: a 0:0 character device, owned as the entry. */
    if (mknodat(parent, victim, S_IFCHR, makedev(0, 0)) < 0)
        return entry_err(x, -errno, "create whiteout device", e);
    r = chown_at(x, parent, victim, ent);
    return r < 0 ? entry_err(x, r, "chown", e) : 0;
}

/* ---- one entry ---------------------------------------------------------- */

/* The refusals that do not depend on what is on disk, made before anything
 * is written.  *target gets the normalized hard link target (caller frees). */
static int check_entry(const xstate *x, struct archive_entry *ent, const char *dir,
                       char **target, berr *e)
{
    const char *hl = archive_entry_hardlink(ent);
    if (hl) {
        *target = norm_path(hl);
        if (!*target || !**target)
            return berr_set(e, -EINVAL, "refusing to extract \"%s\": hard link target \"%s\" "
                            "escapes the layer", x->raw, hl);
        return 0;
    }
    switch (archive_entry_filetype(ent)) {
    case AE_IFLNK: {
        const char *t = archive_entry_symlink(ent);
        if (!t)
            return refuse(x, e, "symlink without a target");
        if (!x->o.any_symlink_target && symlink_escapes(dir, t))
            return berr_set(e, -EINVAL, "refusing to extract \"%s\": symlink target \"%s\" "
                            "escapes the layer", x->raw, t);
        return 0;
    }
    case AE_IFCHR:
    case AE_IFBLK:
        return x->o.unprivileged ? refuse(x, e, "device nodes are not allowed here") : 0;
    case AE_IFREG:
    case AE_IFDIR:
    case AE_IFIFO:
    case AE_IFSOCK:
        return 0;
    default:
        return refuse(x, e, "unsupported entry type");
    }
}

static int x_entry(xstate *x, struct archive *a, struct archive_entry *ent, berr *e)
{
    x->raw = archive_entry_pathname(ent);
    if (!x->raw)
        x->raw = archive_entry_pathname_utf8(ent);
    if (!x->raw)
        return berr_set(e, -EINVAL, "invalid tar entry without a usable name");
    cleanup_free char *name = norm_path(x->raw);
    if (!name)
        return refuse(x, e, x->raw[0] == '/' ? "absolute path" : "path escapes the layer");
    if (!*name)
        return 0;   /* the target itself: its metadata is the caller's */
    cleanup_free char *dir = NULL;
    const char *base = split_path(name, &dir);

    if (x->o.whiteouts != TAR_WHITEOUT_NONE && strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) == 0)
        return x_whiteout(x, ent, dir, base, e);

    cleanup_free char *target = NULL;
    int r = check_entry(x, ent, dir, &target, e);
    if (r < 0)
        return r;
    mode_t type = archive_entry_filetype(ent);
    if (!target && type == AE_IFSOCK)
        return 0;   /* a socket is meaningless once its server is gone */
    if (target && strcmp(target, name) == 0)
        return 0;   /* a link to itself: removing the name first would lose it */

    cleanup_close int parent = open_dir(x, dir, true);
    if (parent < 0)
        return entry_err(x, parent, "open parent directory", e);
    bool is_dir = !target && type == AE_IFDIR;
    r = make_room(parent, base, is_dir);
    if (r < 0)
        return entry_err(x, r, "replace existing file", e);
    if (is_dir)
        return x_dir(x, ent, name, parent, base, r == 1, e);

    if (target) {
        r = x_hardlink(x, target, parent, base, e);
    } else if (type == AE_IFREG) {
        r = x_regular(x, a, ent, parent, base, e);
    } else if (type == AE_IFLNK) {
        if (symlinkat(archive_entry_symlink(ent), parent, base) < 0)
            return entry_err(x, -errno, "symlink", e);
        r = finish_at(x, parent, base, ent, true, e);
    } else {
        /* Char/block devices (checked above) and fifos. */
        if (mknodat(parent, base, type | 0600, archive_entry_rdev(ent)) < 0)
            return entry_err(x, -errno, "mknod", e);
        r = finish_at(x, parent, base, ent, false, e);
    }
    if (r == 0)
        ps_add(&x->created, name);
    return r;
}

/* Applies the queued directory metadata, children before parents so that a
 * read-only parent does not block its children when unprivileged.  A
 * directory a later entry removed or replaced is skipped, and so is one now
 * reached through a symlink (RESOLVE_NO_SYMLINKS). */
static int finish_dirs(xstate *x, berr *e)
{
    for (size_t i = x->ndirs; i-- > 0;) {
        dirmeta *m = &x->dirs[i];
        cleanup_close int fd = beneath(x->root, m->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0,
                                       RESOLVE_NO_SYMLINKS);
        if (fd == -ENOENT || fd == -ENOTDIR || fd == -ELOOP)
            continue;
        if (fd < 0)
            return berr_sys(e, fd, "open directory \"%s\"", m->path);
        if (!x->o.unprivileged && fchown(fd, m->uid, m->gid) < 0 && errno != EPERM && errno != EINVAL)
            return berr_sys(e, -errno, "chown directory \"%s\"", m->path);
        if (fchmod(fd, m->mode) < 0)
            return berr_sys(e, -errno, "chmod directory \"%s\"", m->path);
        if (futimens(fd, m->times) < 0)
            return berr_sys(e, -errno, "set times of directory \"%s\"", m->path);
    }
    return 0;
}

static int extract_all(xstate *x, struct archive *a, const char *tar_path, berr *e)
{
    for (;;) {
        struct archive_entry *ent;
        int ar = archive_read_next_header(a, &ent);
        if (ar == ARCHIVE_EOF)
            return finish_dirs(x, e);
        if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN)
            return berr_set(e, archive_code(a), "invalid tar header in %s: %s", tar_path,
                            archive_error_string(a));
        if (ar == ARCHIVE_WARN)
            log_debug("%s: %s", tar_path, archive_error_string(a));
        int r = x_entry(x, a, ent, e);
        if (r < 0)
            return r;
    }
}

int tar_extract(const char *tar_path, const char *dir, const tar_extract_opts *o,
                long long *size, berr *e)
{
    xstate x = {.root = -1};
    x.o = o ? *o : (tar_extract_opts){.whiteouts = TAR_WHITEOUT_NONE};
    x.root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (x.root < 0)
        return berr_sys(e, -errno, "open %s", dir);

    struct archive *a = archive_read_new();
    if (!a) {
        xstate_free(&x);
        return berr_set(e, -ENOMEM, "archive_read_new failed");
    }
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);   /* ustar, pax and GNU tar */
    int r;
    /* Opening already reads the first header to recognize the format. */
    if (archive_read_open_filename(a, tar_path, 1 << 16) != ARCHIVE_OK) {
        r = archive_code(a);
        berr_set(e, r, r == -EINVAL ? "invalid tar header in %s: %s" : "open %s: %s", tar_path,
                 archive_error_string(a));
    } else
        r = extract_all(&x, a, tar_path, e);
    archive_read_free(a);
    if (r == 0 && size)
        *size = x.size;
    xstate_free(&x);
    return r;
}
