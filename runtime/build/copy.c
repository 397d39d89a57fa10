/* COPY and ADD file work (see copy.h). */
#include "runtime/build/copy.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "runtime/build/dockerignore.h"

typedef struct copy_ctx {
    bc_copy *c;
    struct archive *a;       /* NULL: hash only */
    digest_ctx h;
    char **made;             /* directories already emitted */
    size_t n_made;
    berr *e;
} copy_ctx;

static bool is_whiteout(const struct stat *st)
{
    return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

int bc_view_lstat(const bc_view *v, const char *rel, char real[PATH_MAX])
{
    struct stat st;
    for (size_t i = 0; i < v->n; i++) {
        snprintf(real, PATH_MAX, "%s/%s", v->dirs[i], rel);
        if (lstat(real, &st) == 0)
            return is_whiteout(&st) ? -ENOENT : 0;
    }
    return -ENOENT;
}

/* lstat of rel in the sources: the context's node, or the file in the
 * layers.  real gets what names it (the relative path for the context). */
static int src_lstat(const bc_view *v, const char *rel, struct stat *st, char real[PATH_MAX])
{
    if (v->tree) {
        const bc_node *n = bc_tree_lookup(v->tree, rel);
        if (!n)
            return -ENOENT;
        bc_node_stat(n, st);
        snprintf(real, PATH_MAX, "%s", rel);
        return 0;
    }
    if (bc_view_lstat(v, rel, real) < 0 || lstat(real, st) < 0)
        return -ENOENT;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The union of rel's entries over the layers, sorted, whiteouts applied. */
static size_t view_list(const bc_view *v, const char *rel, char ***out)
{
    if (v->tree) {
        const bc_node *d = bc_tree_lookup(v->tree, rel);
        struct stat st;
        *out = NULL;
        if (!d || (bc_node_stat(d, &st), !S_ISDIR(st.st_mode)))
            return 0;
        const char **names;
        size_t k = bc_node_list(d, &names);
        *out = xcalloc(k ? k : 1, sizeof **out);
        for (size_t i = 0; i < k; i++)
            (*out)[i] = xstrdup(names[i]);
        free(names);
        return k;
    }
    size_t n = 0;
    char **names = NULL;
    char **hidden = NULL;
    size_t n_hidden = 0;
    for (size_t i = 0; i < v->n; i++) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s/%s", v->dirs[i], rel);
        cleanup_closedir DIR *d = opendir(dir);
        if (!d)
            continue;
        struct dirent *de;
        while ((de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            bool seen = false;
            for (size_t k = 0; k < n && !seen; k++)
                seen = !strcmp(names[k], de->d_name);
            for (size_t k = 0; k < n_hidden && !seen; k++)
                seen = !strcmp(hidden[k], de->d_name);
            if (seen)
                continue;
            struct stat st;
            if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && is_whiteout(&st)) {
                hidden = xrealloc(hidden, (n_hidden + 1) * sizeof *hidden);
                hidden[n_hidden++] = xstrdup(de->d_name);
                continue;
            }
            names = xrealloc(names, (n + 1) * sizeof *names);
            names[n++] = xstrdup(de->d_name);
        }
    }
    for (size_t k = 0; k < n_hidden; k++)
        free(hidden[k]);
    free(hidden);
    if (n)
        qsort(names, n, sizeof *names, cmp_str);
    *out = names;
    return n;
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void hash_str(copy_ctx *x, const char *s)
{
    digest_update(&x->h, s, strlen(s) + 1);
}

static void owner(copy_ctx *x, const struct stat *st, long *uid, long *gid)
{
    *uid = x->c->uid >= 0 ? x->c->uid : (x->c->src_is_context ? 0 : (long)st->st_uid);
    *gid = x->c->gid >= 0 ? x->c->gid : (x->c->src_is_context ? 0 : (long)st->st_gid);
}

static int write_header(copy_ctx *x, const char *name, mode_t mode, long uid, long gid, long long size,
                        time_t mtime, const char *link)
{
    char meta[128];
    snprintf(meta, sizeof meta, "%o:%ld:%ld:%lld", (unsigned)mode, uid, gid, size);
    hash_str(x, name);
    hash_str(x, meta);
    if (link)
        hash_str(x, link);
    if (!x->a)
        return 0;
    struct archive_entry *en = archive_entry_new();
    archive_entry_set_pathname(en, name);
    archive_entry_set_mode(en, mode);
    archive_entry_set_uid(en, uid);
    archive_entry_set_gid(en, gid);
    archive_entry_set_size(en, S_ISREG(mode) ? size : 0);
    archive_entry_set_mtime(en, mtime, 0);
    if (link)
        archive_entry_set_symlink(en, link);
    int r = archive_write_header(x->a, en);
    archive_entry_free(en);
    if (r != ARCHIVE_OK)
        return berr_set(x->e, -EIO, "write layer: %s", archive_error_string(x->a));
    return 0;
}

/* The directories above name (relative, no leading '/') that the layer
 * must carry, created 0755 with the copy's owner. */
static int emit_parents(copy_ctx *x, const char *name)
{
    cleanup_free char *p = xstrdup(name);
    for (char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
        *s = 0;
        bool made = false;
        for (size_t i = 0; i < x->n_made && !made; i++)
            made = !strcmp(x->made[i], p);
        if (!made) {
            char real[PATH_MAX];
            struct stat st;
            mode_t mode = 040755;
            long uid = x->c->uid >= 0 ? x->c->uid : 0, gid = x->c->gid >= 0 ? x->c->gid : 0;
            time_t mtime = time(NULL);
            /* an existing directory keeps its metadata in the new layer */
            if (bc_view_lstat(&x->c->dst, p, real) == 0 && lstat(real, &st) == 0 && S_ISDIR(st.st_mode)) {
                mode = st.st_mode;
                uid = st.st_uid, gid = st.st_gid;
                mtime = st.st_mtime;
            }
            /* hashed apart from the content: an existing dir is not the sources' business */
            struct archive *a = x->a;
            if (a) {
                struct archive_entry *en = archive_entry_new();
                archive_entry_set_pathname(en, p);
                archive_entry_set_mode(en, mode);
                archive_entry_set_uid(en, uid);
                archive_entry_set_gid(en, gid);
                archive_entry_set_mtime(en, mtime, 0);
                int r = archive_write_header(a, en);
                archive_entry_free(en);
                if (r != ARCHIVE_OK)
                    return berr_set(x->e, -EIO, "write layer: %s", archive_error_string(a));
            }
            x->made = xrealloc(x->made, (x->n_made + 1) * sizeof *x->made);
            x->made[x->n_made++] = xstrdup(p);
        }
        *s = '/';
    }
    return 0;
}

/* A context file's bytes, from the tree's mapping, into fh (and the layer). */
static int node_data(copy_ctx *x, const char *rel, digest_ctx *fh)
{
    const bc_tree *tree = x->c->src.tree;
    const bc_node *n = bc_tree_lookup(tree, rel);
    size_t len = 0;
    const char *p = n ? bc_node_data(tree, n, &len) : NULL;
    if (!p)
        return berr_set(x->e, -ENOENT, "open %s: file does not exist", rel);
    digest_update(fh, p, len);
    for (size_t off = 0; x->a && off < len;) {
        size_t chunk = len - off < (1u << 20) ? len - off : (1u << 20);
        if (archive_write_data(x->a, p + off, chunk) != (la_ssize_t)chunk)
            return berr_set(x->e, -EIO, "write layer: %s", archive_error_string(x->a));
        off += chunk;
    }
    return 0;
}

/* A layer's file, read, into fh (and the layer). */
static int file_data(copy_ctx *x, const char *real, digest_ctx *fh)
{
    cleanup_close int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return berr_sys(x->e, -errno, "open %s", real);
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0)
            return berr_sys(x->e, -errno, "read %s", real);
        if (n == 0)
            return 0;
        digest_update(fh, buf, (size_t)n);
        if (x->a && archive_write_data(x->a, buf, (size_t)n) != n)
            return berr_set(x->e, -EIO, "write layer: %s", archive_error_string(x->a));
    }
}

static int copy_data(copy_ctx *x, const char *real)
{
    char d[DIGEST_BUF];
    bc_filehash *known = x->c->src_is_context ? x->c->hashes : NULL;
    /* Hashing only, and this build has read the file before. */
    if (!x->a && known && bc_filehash_get(known, real, d)) {
        hash_str(x, d);
        return 0;
    }
    digest_ctx fh;
    digest_init(&fh);
    int r = x->c->src.tree ? node_data(x, real, &fh) : file_data(x, real, &fh);
    if (r < 0)
        return r;
    digest_final(&fh, d);
    hash_str(x, d);
    if (known)
        bc_filehash_put(known, real, d);
    return 0;
}

/* One path of the source (file, link or directory, recursively) as name. */
static int emit_tree(copy_ctx *x, const char *rel, const char *name)
{
    char real[PATH_MAX];
    struct stat st;
    if (src_lstat(&x->c->src, rel, &st, real) < 0)
        return berr_set(x->e, -ENOENT, "file not found in build context or excluded by .dockerignore: stat %s: "
                        "file does not exist", rel);
    long uid, gid;
    owner(x, &st, &uid, &gid);
    int r = emit_parents(x, name);
    if (r < 0)
        return r;
    if (S_ISDIR(st.st_mode)) {
        if (*name) {
            r = write_header(x, name, st.st_mode, uid, gid, 0, st.st_mtime, NULL);
            if (r < 0)
                return r;
            x->made = xrealloc(x->made, (x->n_made + 1) * sizeof *x->made);
            x->made[x->n_made++] = xstrdup(name);
        }
        char **names;
        size_t n = view_list(&x->c->src, rel, &names);
        for (size_t i = 0; i < n && r == 0; i++) {
            bool top = !*rel || !strcmp(rel, ".");
            cleanup_free char *crel = top ? xstrdup(names[i]) : xasprintf("%s/%s", rel, names[i]);
            cleanup_free char *cname = *name ? xasprintf("%s/%s", name, names[i]) : xstrdup(names[i]);
            r = emit_tree(x, crel, cname);
        }
        free_names(names, n);
        return r;
    }
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        if (x->c->src.tree) {
            snprintf(target, sizeof target, "%s", bc_node_link(bc_tree_lookup(x->c->src.tree, rel)));
        } else {
            ssize_t n = readlink(real, target, sizeof target - 1);
            if (n < 0)
                return berr_sys(x->e, -errno, "readlink %s", rel);
            target[n] = 0;
        }
        return write_header(x, name, st.st_mode, uid, gid, 0, st.st_mtime, target);
    }
    if (!S_ISREG(st.st_mode))
        return 0;   /* devices, sockets, fifos: not copied */
    r = write_header(x, name, st.st_mode, uid, gid, st.st_size, st.st_mtime, NULL);
    return r < 0 ? r : copy_data(x, real);
}

/* ADD of a local archive: its entries below dest.  Returns 1 when real is
 * not an archive (then copied as a file). */
static int emit_archive(copy_ctx *x, const char *real, const char *dest)
{
    struct archive *in = archive_read_new();
    archive_read_support_filter_all(in);
    archive_read_support_format_tar(in);
    const bc_tree *tree = x->c->src.tree;
    const bc_node *node = tree ? bc_tree_lookup(tree, real) : NULL;
    size_t len = 0;
    const void *data = node ? bc_node_data(tree, node, &len) : NULL;
    if ((tree ? archive_read_open_memory(in, data, len) : archive_read_open_filename(in, real, 65536)) !=
        ARCHIVE_OK) {
        archive_read_free(in);
        return 1;
    }
    struct archive_entry *en;
    int r = archive_read_next_header(in, &en);
    if (r != ARCHIVE_OK) {
        archive_read_free(in);
        return 1;
    }
    hash_str(x, "archive");
    int rc = 0;
    for (; r == ARCHIVE_OK && rc == 0; r = archive_read_next_header(in, &en)) {
        cleanup_free char *clean = di_clean_path(archive_entry_pathname(en));
        const char *p = clean;
        while (*p == '/')
            p++;
        if (!strcmp(p, ".") || !*p)
            continue;
        if (!strncmp(p, "../", 3) || !strcmp(p, "..")) {
            rc = berr_set(x->e, -EINVAL, "ADD %s: entry %s would land outside the destination", real,
                          archive_entry_pathname(en));
            break;
        }
        cleanup_free char *name = *dest ? xasprintf("%s/%s", dest, p) : xstrdup(p);
        rc = emit_parents(x, name);
        if (rc < 0)
            break;
        const char *hl = archive_entry_hardlink(en);
        if (hl) {
            cleanup_free char *hclean = di_clean_path(hl);
            const char *hp = hclean;
            while (*hp == '/')
                hp++;
            cleanup_free char *hname = *dest ? xasprintf("%s/%s", dest, hp) : xstrdup(hp);
            archive_entry_set_hardlink(en, hname);
        }
        archive_entry_set_pathname(en, name);
        const char *link = archive_entry_symlink(en);
        char meta[128];
        snprintf(meta, sizeof meta, "%o:%ld:%ld:%lld", (unsigned)archive_entry_mode(en),
                 (long)archive_entry_uid(en), (long)archive_entry_gid(en), (long long)archive_entry_size(en));
        hash_str(x, name);
        hash_str(x, meta);
        if (link)
            hash_str(x, link);
        if (x->a && archive_write_header(x->a, en) != ARCHIVE_OK) {
            rc = berr_set(x->e, -EIO, "write layer: %s", archive_error_string(x->a));
            break;
        }
        const void *blk;
        size_t blen;
        la_int64_t off;
        int dr;
        while ((dr = archive_read_data_block(in, &blk, &blen, &off)) == ARCHIVE_OK) {
            digest_update(&x->h, blk, blen);
            if (x->a && archive_write_data(x->a, blk, blen) < 0) {
                rc = berr_set(x->e, -EIO, "write layer: %s", archive_error_string(x->a));
                break;
            }
        }
        if (rc == 0 && dr != ARCHIVE_EOF)
            rc = berr_set(x->e, -EINVAL, "ADD %s: %s", real, archive_error_string(in));
    }
    if (rc == 0 && r != ARCHIVE_EOF)
        rc = berr_set(x->e, -EINVAL, "ADD %s: %s", real, archive_error_string(in));
    archive_read_free(in);
    return rc;
}

static bool has_glob(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

/* Expands a source pattern (cleaned, relative) to matching paths. */
static void expand(const bc_view *v, const char *prefix, const char *pattern, char ***out, size_t *n)
{
    const char *slash = strchr(pattern, '/');
    cleanup_free char *elem = slash ? xstrndup(pattern, (size_t)(slash - pattern)) : xstrdup(pattern);
    const char *rest = slash ? slash + 1 : NULL;
    char **names = NULL;
    size_t nn = 0;
    if (has_glob(elem)) {
        nn = view_list(v, *prefix ? prefix : ".", &names);
    } else {
        names = xcalloc(1, sizeof *names);
        names[0] = xstrdup(elem);
        nn = 1;
    }
    for (size_t i = 0; i < nn; i++) {
        if (has_glob(elem) && !di_match(elem, names[i], false))
            continue;
        cleanup_free char *path = *prefix ? xasprintf("%s/%s", prefix, names[i]) : xstrdup(names[i]);
        char real[PATH_MAX];
        struct stat st;
        if (src_lstat(v, path, &st, real) < 0)
            continue;
        if (rest && *rest) {
            expand(v, path, rest, out, n);
        } else {
            *out = xrealloc(*out, (*n + 1) * sizeof **out);
            (*out)[(*n)++] = steal_ptr(&path);
        }
    }
    free_names(names, nn);
}

/* Refuses sources that leave the root, also through a symlinked directory. */
static int check_inside(const bc_view *src, const char *clean, const char *orig, berr *e)
{
    if (!strcmp(clean, "..") || !strncmp(clean, "../", 3))
        return berr_set(e, -EINVAL, "forbidden path outside the build context: %s ()", orig);
    cleanup_free char *p = xstrdup(clean);
    for (char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
        *s = 0;
        char real[PATH_MAX];
        struct stat st;
        if (src_lstat(src, p, &st, real) == 0 && S_ISLNK(st.st_mode))
            return berr_set(e, -EINVAL, "%s: the path goes through the symbolic link %s, which berth's builder does "
                            "not follow", orig, p);
        *s = '/';
    }
    return 0;
}

/* Where source i is: its own directory when fetched, else the copy's source. */
static const bc_view *source_view(const bc_copy *c, size_t i)
{
    return c->fetched && c->fetched[i].n ? &c->fetched[i] : &c->src;
}

int bc_copy_run(bc_copy *c, const char *tar_path, berr *e)
{
    copy_ctx x = {.c = c, .e = e};
    digest_init(&x.h);
    cleanup_free char *dclean = di_clean_path(c->dest);
    int rc = 0;
    cleanup_close int fd = -1;
    if (tar_path) {
        fd = open(tar_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
            return berr_sys(e, -errno, "create %s", tar_path);
        x.a = archive_write_new();
        archive_write_set_format_pax_restricted(x.a);
        if (archive_write_open_fd(x.a, fd) != ARCHIVE_OK) {
            rc = berr_set(e, -EIO, "write layer: %s", archive_error_string(x.a));
            goto out;
        }
    }
    /* the matches of every source */
    char **matches = NULL;
    size_t n_matches = 0, *match_src = NULL;   /* the source each match came from */
    for (size_t i = 0; i < c->n_sources && rc == 0; i++) {
        cleanup_free char *clean = di_clean_path(c->sources[i]);
        char *rel = clean;
        while (*rel == '/')
            rel++;
        if (!*rel)
            rel = ".";
        const bc_view *v = source_view(c, i);
        rc = check_inside(v, rel, c->sources[i], e);
        if (rc < 0)
            break;
        size_t before = n_matches;
        if (!strcmp(rel, ".")) {
            matches = xrealloc(matches, (n_matches + 1) * sizeof *matches);
            matches[n_matches++] = xstrdup("");
        } else {
            expand(v, "", rel, &matches, &n_matches);
        }
        match_src = xrealloc(match_src, (n_matches ? n_matches : 1) * sizeof *match_src);
        for (size_t k = before; k < n_matches; k++)
            match_src[k] = i;
        if (n_matches == before)
            rc = berr_set(e, -ENOENT, has_glob(rel) ? "COPY failed: no source files were specified"
                          : "COPY failed: file not found in build context or excluded by .dockerignore: "
                            "stat %s: file does not exist", rel);
    }
    if (rc < 0)
        goto done_matches;
    bool dest_dir_syntax = c->dest[strlen(c->dest) - 1] == '/' || !strcmp(c->dest, "/");
    const char *dest = dclean;
    while (*dest == '/')
        dest++;
    if (!strcmp(dest, "."))
        dest = "";
    if (n_matches > 1 && !dest_dir_syntax) {
        rc = berr_set(e, -EINVAL, "When using COPY with more than one source file, the destination must be a "
                      "directory and end with a /");
        goto done_matches;
    }
    char dreal[PATH_MAX];
    struct stat dst;
    bool dest_is_dir = dest_dir_syntax || !*dest ||
                       (bc_view_lstat(&c->dst, dest, dreal) == 0 && stat(dreal, &dst) == 0 && S_ISDIR(dst.st_mode));
    snprintf(c->kind, sizeof c->kind, "%s", n_matches > 1 ? "multi" : "file");
    bc_view src = c->src;
    for (size_t i = 0; i < n_matches && rc == 0; i++) {
        char real[PATH_MAX];
        struct stat st;
        c->src = c->fetched && c->fetched[match_src[i]].n ? c->fetched[match_src[i]] : src;   /* emit_tree reads c->src */
        if (src_lstat(&c->src, *matches[i] ? matches[i] : ".", &st, real) < 0) {
            rc = berr_set(e, -ENOENT, "stat %s: file does not exist", matches[i]);
            break;
        }
        hash_str(&x, "source");
        if (S_ISDIR(st.st_mode)) {
            if (n_matches == 1)
                snprintf(c->kind, sizeof c->kind, "dir");
            /* a directory's contents go into dest */
            if (*dest) {
                cleanup_free char *slashed = xasprintf("%s/", dest);
                rc = emit_parents(&x, slashed);
            }
            if (rc == 0)
                rc = emit_tree(&x, *matches[i] ? matches[i] : ".", dest);
            continue;
        }
        const char *base = strrchr(matches[i], '/');
        base = base ? base + 1 : matches[i];
        if (c->add && S_ISREG(st.st_mode) && !(c->fetched && c->fetched[match_src[i]].n)) {
            rc = emit_archive(&x, real, dest);
            if (rc <= 0)
                continue;
            rc = 0;
        }
        cleanup_free char *name = dest_is_dir ? (*dest ? xasprintf("%s/%s", dest, base) : xstrdup(base))
                                              : xstrdup(dest);
        rc = emit_tree(&x, matches[i], name);
    }
    c->src = src;
done_matches:
    free_names(matches, n_matches);
    free(match_src);
    if (rc == 0 && x.a && archive_write_close(x.a) != ARCHIVE_OK)
        rc = berr_set(e, -EIO, "write layer: %s", archive_error_string(x.a));
    if (rc == 0)
        digest_final(&x.h, c->hash);
out:
    if (x.a)
        archive_write_free(x.a);
    free_names(x.made, x.n_made);
    return rc;
}

int bc_workdir_layer(const bc_view *dst, const char *path, const char *tar_path, bool *made, berr *e)
{
    *made = false;
    cleanup_free char *clean = di_clean_path(path);
    const char *rel = clean;
    while (*rel == '/')
        rel++;
    char real[PATH_MAX];
    struct stat st;
    if (!*rel || !strcmp(rel, ".") ||
        (bc_view_lstat(dst, rel, real) == 0 && stat(real, &st) == 0 && S_ISDIR(st.st_mode)))
        return 0;
    bc_copy c = {.dst = *dst, .uid = -1, .gid = -1};
    copy_ctx x = {.c = &c, .e = e};
    digest_init(&x.h);
    cleanup_close int fd = open(tar_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return berr_sys(e, -errno, "create %s", tar_path);
    x.a = archive_write_new();
    archive_write_set_format_pax_restricted(x.a);
    int rc = archive_write_open_fd(x.a, fd) == ARCHIVE_OK ? 0 : berr_set(e, -EIO, "write layer: %s",
                                                                          archive_error_string(x.a));
    cleanup_free char *slashed = xasprintf("%s/", rel);
    if (rc == 0)
        rc = emit_parents(&x, slashed);
    if (rc == 0 && archive_write_close(x.a) != ARCHIVE_OK)
        rc = berr_set(e, -EIO, "write layer: %s", archive_error_string(x.a));
    archive_write_free(x.a);
    free_names(x.made, x.n_made);
    *made = rc == 0;
    return rc;
}
