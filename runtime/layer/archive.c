/* Paths inside a container's root for `docker cp` and `docker export` (see
 * archive.h).  The root is only ever reached through an fd: lookups that
 * follow symlinks use RESOLVE_IN_ROOT (the kernel keeps them inside, as a
 * chroot would), lookups that must not follow any use RESOLVE_BENEATH with
 * RESOLVE_NO_SYMLINKS.  Paths handed to the tar helpers go through
 * /proc/self/fd/N of an already resolved directory, so the container cannot
 * redirect them between our lookup and theirs. */
#include "runtime/layer/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "runtime/layer/changes.h"
#include "runtime/layer/tarsafe.h"
#include "runtime/linux/user.h"

#define MAX_SYMLINKS 255

/* ---- path grammar ------------------------------------------------------ */

/* Go's filepath.Clean for an absolute path: no empty or "." components,
 * ".." applied lexically and never above "/".  Caller frees. */
static char *clean_abs(const char *path)
{
    buf b = BUF_INIT;
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        const char *end = strchrnul(p, '/');
        size_t n = (size_t)(end - p);
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            while (b.len && b.data[b.len - 1] != '/')
                b.len--;
            if (b.len)
                b.len--;   /* the '/' before the removed component */
            if (b.data)
                b.data[b.len] = 0;
        } else if (n && !(n == 1 && p[0] == '.')) {
            buf_append(&b, "/", 1);
            buf_append(&b, p, n);
        }
        p = end;
    }
    if (!b.len)
        buf_puts(&b, "/");
    return buf_steal(&b);
}

/* Go's filepath.Base: trailing slashes ignored, "/" for a path of slashes. */
static char *go_base(const char *path)
{
    size_t len = strlen(path);
    while (len > 0 && path[len - 1] == '/')
        len--;
    if (len == 0)
        return xstrdup(*path ? "/" : ".");
    size_t start = len;
    while (start > 0 && path[start - 1] != '/')
        start--;
    return xstrndup(path + start, len - start);
}

static bool specifies_current_dir(const char *path)
{
    cleanup_free char *b = go_base(path);
    return strcmp(b, ".") == 0;
}

int rt_cpath_parse(const char *path, rt_cpath *out, berr *e)
{
    *out = (rt_cpath){0};
    if (!path || !*path)
        return berr_set(e, -EINVAL, "path is required");
    /* archive.PreserveTrailingDotOrSeparator(filepath.Join("/", path), path) */
    cleanup_free char *joined = xasprintf("/%s", path);
    buf abs = BUF_INIT;
    char *cleaned = clean_abs(joined);
    buf_puts(&abs, cleaned);
    free(cleaned);
    if (specifies_current_dir(path)) {
        if (abs.data[abs.len - 1] != '/')
            buf_puts(&abs, "/");
        buf_puts(&abs, ".");
    }
    if (abs.data[abs.len - 1] != '/' && path[strlen(path) - 1] == '/')
        buf_puts(&abs, "/");
    out->abs = buf_steal(&abs);
    out->clean = clean_abs(out->abs);
    out->name = go_base(out->abs);

    /* filepath.Split: everything up to the last '/' is resolved; the rest
     * is looked at without following unless it is "" or ".". */
    const char *slash = strrchr(out->abs, '/');
    const char *base = slash + 1;
    out->follow = !*base || strcmp(base, ".") == 0;
    if (out->follow) {
        out->dir = xstrdup(out->clean);
        out->base = xstrdup("");
    } else {
        cleanup_free char *dir = xstrndup(out->abs, (size_t)(base - out->abs));
        out->dir = clean_abs(dir);
        out->base = xstrdup(base);
    }
    return 0;
}

void rt_cpath_free(rt_cpath *p)
{
    free(p->abs);
    free(p->clean);
    free(p->dir);
    free(p->base);
    free(p->name);
    *p = (rt_cpath){0};
}

uint32_t rt_go_filemode(mode_t m)
{
    uint32_t r = m & 0777;
    if (m & S_ISUID)
        r |= 1u << 23;
    if (m & S_ISGID)
        r |= 1u << 22;
    if (m & S_ISVTX)
        r |= 1u << 20;
    switch (m & S_IFMT) {
    case S_IFDIR:
        r |= 1u << 31;
        break;
    case S_IFLNK:
        r |= 1u << 27;
        break;
    case S_IFBLK:
        r |= 1u << 26;
        break;
    case S_IFCHR:
        r |= (1u << 26) | (1u << 21);
        break;
    case S_IFIFO:
        r |= 1u << 25;
        break;
    case S_IFSOCK:
        r |= 1u << 24;
        break;
    default:
        break;
    }
    return r;
}

void rt_path_stat_free(rt_path_stat *st)
{
    free(st->name);
    free(st->link_target);
    *st = (rt_path_stat){0};
}

json_t *rt_path_stat_json(const rt_path_stat *st)
{
    /* Go's RFC3339Nano: the fraction without trailing zeros, none if zero. */
    struct tm tm;
    time_t secs = st->mtime.tv_sec;
    gmtime_r(&secs, &tm);
    char when[64], frac[16] = "";
    if (st->mtime.tv_nsec) {
        snprintf(frac, sizeof frac, ".%09ld", st->mtime.tv_nsec);
        for (size_t l = strlen(frac); frac[l - 1] == '0';)
            frac[--l] = 0;
    }
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    return json_pack("{s:s, s:I, s:I, s:s, s:s}", "name", st->name ? st->name : "", "size", (json_int_t)st->size,
                     "mode", (json_int_t)st->mode, "mtime", when, "linkTarget",
                     st->link_target ? st->link_target : "");
}

/* ---- lookups ------------------------------------------------------------- */

static int open_how(int dirfd, const char *path, int flags, uint64_t resolve)
{
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .resolve = resolve | RESOLVE_NO_MAGICLINKS};
    for (int tries = 0; tries < 32; tries++) {
        long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
        if (fd >= 0)
            return (int)fd;
        if (errno != EAGAIN && errno != EINTR)
            return -errno;
    }
    return -EAGAIN;
}

/* path (absolute in the container) with every symlink followed inside the root. */
static int open_in_root(int rootfd, const char *path, int flags)
{
    return open_how(rootfd, path, flags, RESOLVE_IN_ROOT);
}

/* rel (relative, "" for the root itself) without following any symlink. */
static int open_nofollow(int dirfd, const char *rel, int flags)
{
    return open_how(dirfd, *rel ? rel : ".", flags, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
}

/* lstat of path (absolute, clean) when no component before the last is a
 * symlink; *parent_out (if given) receives the parent's O_PATH fd. */
static int lstat_plain(int rootfd, const char *path, struct stat *st, int *parent_out)
{
    const char *slash = strrchr(path, '/');
    cleanup_free char *dir = xstrndup(path + 1, (size_t)(slash - path) - (slash > path ? 1 : 0));
    int parent = open_nofollow(rootfd, dir, O_PATH | O_DIRECTORY);
    if (parent < 0)
        return parent;
    if (fstatat(parent, slash + 1, st, AT_SYMLINK_NOFOLLOW) < 0) {
        int r = -errno;
        close(parent);
        return r;
    }
    if (parent_out)
        *parent_out = parent;
    else
        close(parent);
    return 0;
}

int rt_archive_resolve(int rootfd, const char *path, char **out, berr *e)
{
    /* cur: the resolved prefix, clean, free of symlinks (or missing).
     * rest: what is left to walk, symlink targets pushed in front of it. */
    buf cur = BUF_INIT;
    buf_puts(&cur, "/");
    cleanup_free char *rest = xstrdup(path);
    int links = 0, r = 0;
    for (const char *p = rest; r == 0;) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *end = strchrnul(p, '/');
        size_t n = (size_t)(end - p);
        if (n == 1 && p[0] == '.') {
            p = end;
            continue;
        }
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            while (cur.len > 1 && cur.data[cur.len - 1] != '/')
                cur.len--;
            if (cur.len > 1)
                cur.len--;
            cur.data[cur.len] = 0;
            p = end;
            continue;
        }
        size_t keep = cur.len;
        if (cur.len > 1)
            buf_puts(&cur, "/");
        buf_append(&cur, p, n);
        struct stat st;
        cleanup_close int parent = -1;
        r = lstat_plain(rootfd, cur.data, &st, &parent);
        if (r == -ENOENT || r == -ENOTDIR) {
            r = 0;   /* FollowSymlinkInScope keeps a missing remainder as it is */
            p = end;
            continue;
        }
        if (r < 0) {
            r = berr_sys(e, r, "resolve %s", path);
            break;
        }
        if (!S_ISLNK(st.st_mode)) {
            p = end;
            continue;
        }
        if (++links > MAX_SYMLINKS) {
            r = berr_set(e, -ELOOP, "too many links in %s", path);
            break;
        }
        char target[PATH_MAX];
        ssize_t tl = readlinkat(parent, strrchr(cur.data, '/') + 1, target, sizeof target - 1);
        if (tl < 0) {
            r = berr_sys(e, -errno, "readlink %s", cur.data);
            break;
        }
        target[tl] = 0;
        cur.len = target[0] == '/' ? 1 : keep;
        cur.data[cur.len] = 0;
        char *next = xasprintf("%s/%s", target, end);
        free(rest);
        rest = next;
        p = rest;
    }
    if (r < 0) {
        buf_free(&cur);
        return r;
    }
    *out = buf_steal(&cur);
    return 0;
}

/* Where a path of the API is: directory fd plus the name in it ("." for
 * the followed target itself), or a bind-mounted host file instead. */
typedef struct located {
    int dirfd;                /* O_PATH, owned */
    const char *base;         /* into the rt_cpath */
    const char *host_file;    /* a bind's source, or NULL */
    struct stat st;
} located;

static void located_close(located *l)
{
    if (l->dirfd >= 0)
        close(l->dirfd);
    l->dirfd = -1;
}

static const char *bind_for(int rootfd, const rt_cpath *p, const rt_archive_bind *binds, size_t n)
{
    if (!n)
        return NULL;
    cleanup_free char *dir = NULL;
    if (rt_archive_resolve(rootfd, p->dir, &dir, NULL) < 0)
        return NULL;
    cleanup_free char *full = xasprintf("%s%s%s", dir, strcmp(dir, "/") ? "/" : "", p->base);
    for (size_t i = 0; i < n; i++)
        if (strcmp(binds[i].container_path, full) == 0 && access(binds[i].host_path, F_OK) == 0)
            return binds[i].host_path;
    return NULL;
}

static int locate(int rootfd, const rt_cpath *p, const rt_archive_bind *binds, size_t n_binds, located *l,
                  berr *e)
{
    *l = (located){.dirfd = -1};
    l->dirfd = open_in_root(rootfd, p->dir, O_PATH | O_DIRECTORY);
    l->base = p->follow ? "." : p->base;
    if (l->dirfd < 0)
        return berr_sys(e, l->dirfd, "lstat %s", p->abs);
    if (fstatat(l->dirfd, l->base, &l->st, AT_SYMLINK_NOFOLLOW) < 0) {
        int r = berr_sys(e, -errno, "lstat %s", p->abs);
        located_close(l);
        return r;
    }
    if (!p->follow && !S_ISDIR(l->st.st_mode)) {
        l->host_file = bind_for(rootfd, p, binds, n_binds);
        if (l->host_file && lstat(l->host_file, &l->st) < 0)
            l->host_file = NULL;
    }
    return 0;
}

static int fill_stat(int rootfd, const rt_cpath *p, const located *l, rt_path_stat *st, berr *e)
{
    *st = (rt_path_stat){0};
    st->name = xstrdup(p->name);
    st->size = l->st.st_size;
    st->mode = rt_go_filemode(l->st.st_mode);
    st->mtime = l->st.st_mtim;
    st->link_target = xstrdup("");
    if (S_ISLNK(l->st.st_mode)) {
        free(st->link_target);
        st->link_target = NULL;
        int r = rt_archive_resolve(rootfd, p->clean, &st->link_target, e);
        if (r < 0) {
            rt_path_stat_free(st);
            return r;
        }
    }
    return 0;
}

int rt_archive_stat(int rootfd, const char *path, const rt_archive_bind *binds, size_t n_binds,
                    rt_path_stat *st, berr *e)
{
    rt_cpath p;
    int r = rt_cpath_parse(path, &p, e);
    if (r < 0)
        return r;
    located l;
    r = locate(rootfd, &p, binds, n_binds, &l, e);
    if (r == 0)
        r = fill_stat(rootfd, &p, &l, st, e);
    located_close(&l);
    rt_cpath_free(&p);
    return r;
}

int rt_archive_get(int rootfd, const char *path, const rt_archive_bind *binds, size_t n_binds, int out_fd,
                   rt_path_stat *st, const rt_idmap *idmap, berr *e)
{
    rt_cpath p;
    int r = rt_cpath_parse(path, &p, e);
    if (r < 0)
        return r;
    located l;
    r = locate(rootfd, &p, binds, n_binds, &l, e);
    if (r == 0)
        r = fill_stat(rootfd, &p, &l, st, e);
    if (r == 0) {
        /* dockerd names the root's entries "/..." (an empty rebase name);
         * rt_tar_path drops a lone "/", and "/." cleans to the same. */
        const char *name = strcmp(p.name, "/") == 0 ? "/." : p.name;
        cleanup_free char *src = l.host_file ? xstrdup(l.host_file) : xasprintf("/proc/self/fd/%d/%s", l.dirfd, l.base);
        r = rt_tar_path_mapped(src, name, idmap, out_fd, e);
        if (r < 0)
            rt_path_stat_free(st);
    }
    located_close(&l);
    rt_cpath_free(&p);
    return r;
}

int rt_archive_export(int rootfd, int out_fd, const rt_idmap *idmap, berr *e)
{
    cleanup_free char *src = xasprintf("/proc/self/fd/%d/.", rootfd);
    return rt_tar_path_mapped(src, "", idmap, out_fd, e);
}

/* ---- extraction ------------------------------------------------------------ */

/* An archive name as a clean relative path ("./a//b/" -> "a/b"); NULL for
 * the top directory itself and for names tar_extract will refuse anyway. */
static char *entry_rel(const char *name)
{
    cleanup_free char *abs = xasprintf("/%s", name);
    for (const char *s = name; *s;) {
        const char *end = strchrnul(s, '/');
        if (end - s == 2 && s[0] == '.' && s[1] == '.')
            return NULL;
        s = *end ? end + 1 : end;
    }
    char *c = clean_abs(abs);
    if (strcmp(c, "/") == 0) {
        free(c);
        return NULL;
    }
    memmove(c, c + 1, strlen(c));
    return c;
}

typedef struct names {
    char **v;
    size_t n;
} names;

static void names_free(names *ns)
{
    for (size_t i = 0; i < ns->n; i++)
        free(ns->v[i]);
    free(ns->v);
}

/* Reads the archive's entry names; with check, refuses (as dockerd's
 * NoOverwriteDirNonDir) entries that would replace a directory of the
 * destination by a non-directory or the reverse. */
static int scan_archive(int dest, const char *dest_name, const char *tar_path, bool check, names *out, berr *e)
{
    struct archive *a = archive_read_new();
    if (!a)
        return berr_set(e, -ENOMEM, "archive_read_new failed");
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    int r = 0;
    if (archive_read_open_filename(a, tar_path, 1 << 16) != ARCHIVE_OK) {
        r = berr_set(e, -EINVAL, "invalid tar archive: %s", archive_error_string(a));
        archive_read_free(a);
        return r;
    }
    struct archive_entry *ent;
    int ar;
    while (r == 0 && (ar = archive_read_next_header(a, &ent)) == ARCHIVE_OK) {
        char *rel = entry_rel(archive_entry_pathname(ent) ? archive_entry_pathname(ent) : "");
        if (!rel)
            continue;
        if (check) {
            bool is_dir = archive_entry_filetype(ent) == AE_IFDIR && !archive_entry_hardlink(ent);
            cleanup_free char *abs = xasprintf("/%s", rel);
            struct stat st;
            if (lstat_plain(dest, abs, &st, NULL) == 0) {
                const char *sep = strcmp(dest_name, "/") ? "/" : "";
                if (S_ISDIR(st.st_mode) && !is_dir)
                    r = berr_set(e, -EISDIR, "cannot overwrite directory \"%s%s%s\" with non-directory \"%s\"",
                                 dest_name, sep, rel, dest_name);
                else if (!S_ISDIR(st.st_mode) && is_dir)
                    r = berr_set(e, -ENOTDIR, "cannot overwrite non-directory \"%s%s%s\" with directory \"%s\"",
                                 dest_name, sep, rel, dest_name);
            }
        }
        out->v = xrealloc(out->v, (out->n + 1) * sizeof *out->v);
        out->v[out->n++] = rel;
    }
    if (r == 0 && ar != ARCHIVE_EOF)
        r = berr_set(e, -EINVAL, "invalid tar archive: %s", archive_error_string(a));
    archive_read_free(a);
    return r;
}

/* copyUIDGID: the archive's entries take the container user's uid and gid. */
static int chown_entries(int dest, uid_t uid, gid_t gid, const names *ns, berr *e)
{
    for (size_t i = 0; i < ns->n; i++) {
        const char *slash = strrchr(ns->v[i], '/');
        cleanup_free char *dir = slash ? xstrndup(ns->v[i], (size_t)(slash - ns->v[i])) : xstrdup("");
        cleanup_close int parent = open_nofollow(dest, dir, O_PATH | O_DIRECTORY);
        if (parent < 0)
            continue;   /* replaced meanwhile: nothing of ours to own */
        if (fchownat(parent, slash ? slash + 1 : ns->v[i], uid, gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != ENOENT)
            return berr_sys(e, -errno, "chown %s", ns->v[i]);
    }
    return 0;
}

int rt_archive_extract(int rootfd, const char *path, const char *tar_path, const rt_extract_opts *o, berr *e)
{
    rt_cpath p;
    int r = rt_cpath_parse(path, &p, e);
    if (r < 0)
        return r;
    /* The destination is followed to the end: extracting "into" a symlink
     * to a directory extracts into the directory. */
    cleanup_close int dest = open_in_root(rootfd, p.clean, O_PATH);
    struct stat st;
    if (dest < 0)
        r = berr_sys(e, dest, "lstat %s", p.abs);
    else if (fstat(dest, &st) < 0)
        r = berr_sys(e, -errno, "lstat %s", p.abs);
    else if (!S_ISDIR(st.st_mode))
        r = berr_set(e, -EINVAL, "extraction point is not a directory");
    else if (o && o->readonly_root)
        r = berr_set(e, -EINVAL, "container rootfs is marked read-only");
    bool chown = o && o->chown_user && *o->chown_user;
    rt_user u = {0};
    if (r == 0 && chown) {
        char root[64];
        snprintf(root, sizeof root, "/proc/self/fd/%d", rootfd);
        r = rt_user_resolve(root, o->chown_user, NULL, 0, &u, e);
    }
    names ns = {0};
    if (r == 0 && ((o && o->no_overwrite_dir_nondir) || chown))
        r = scan_archive(dest, p.clean, tar_path, o && o->no_overwrite_dir_nondir, &ns, e);
    if (r == 0) {
        char dir[64];
        snprintf(dir, sizeof dir, "/proc/self/fd/%d", dest);
        tar_extract_opts xo = {.whiteouts = TAR_WHITEOUT_NONE, .unprivileged = false, .idmap = o ? o->idmap : NULL};
        r = tar_extract(tar_path, dir, &xo, NULL, e);
    }
    if (r == 0 && chown && o->idmap &&
        (rt_idmap_uid(o->idmap, u.uid, &u.uid) < 0 || rt_idmap_gid(o->idmap, u.gid, &u.gid) < 0))
        r = berr_set(e, -EINVAL, "Container ID %u cannot be mapped to a host ID", (unsigned)u.uid);
    if (r == 0 && chown)
        r = chown_entries(dest, u.uid, u.gid, &ns, e);
    rt_user_free(&u);
    names_free(&ns);
    rt_cpath_free(&p);
    return r;
}
