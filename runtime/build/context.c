/* The build context (see context.h). */
#include "runtime/build/context.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "runtime/build/dockerignore.h"

/* Drops what the patterns ignore below rel. */
static void prune(bc_tree *t, const char *rel, const di_patterns *p)
{
    const bc_node *dir = bc_tree_lookup(t, rel);
    if (!dir)
        return;
    const char **names;
    size_t n = bc_node_list(dir, &names);
    for (size_t i = 0; i < n; i++) {
        cleanup_free char *crel = *rel ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
        const bc_node *c = bc_tree_lookup(t, crel);
        struct stat st;
        bc_node_stat(c, &st);
        if (di_ignored(p, crel)) {
            /* with exclusions a child may be re-included: look inside first */
            if (S_ISDIR(st.st_mode) && p->has_exclusions) {
                prune(t, crel, p);
                if (bc_node_empty(c))
                    bc_tree_remove(t, crel);
                continue;
            }
            bc_tree_remove(t, crel);
            continue;
        }
        if (S_ISDIR(st.st_mode))
            prune(t, crel, p);
    }
    free(names);
}

/* What the body is, from its first block: a compressed archive, a tar, or,
 * as `docker build - < Dockerfile` sends it, a bare Dockerfile.  An empty
 * or unreadable body counts as a tar (its reading reports it). */
typedef enum { BODY_TAR, BODY_COMPRESSED, BODY_DOCKERFILE } body_kind;

static body_kind sniff(const char *path)
{
    unsigned char h[512];
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return BODY_TAR;
    ssize_t n = read(fd, h, sizeof h);
    if (n < 6)
        return n <= 0 ? BODY_TAR : BODY_DOCKERFILE;
    if ((h[0] == 0x1f && h[1] == 0x8b) || !memcmp(h, "BZh", 3) || !memcmp(h, "\xfd" "7zXZ", 6) ||
        (h[0] == 0x28 && h[1] == 0xb5 && h[2] == 0x2f && h[3] == 0xfd))
        return BODY_COMPRESSED;
    return n == 512 && !memcmp(h + 257, "ustar", 5) ? BODY_TAR : BODY_DOCKERFILE;
}

/* A gzip, bzip2, xz or zstd body written out as the plain tar it holds. */
static int decompress(const char *path, const char *out, berr *e)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_raw(a);
    struct archive_entry *en;
    int rc = 0;
    cleanup_close int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = berr_sys(e, -errno, "create %s", out);
    } else if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK ||
               archive_read_next_header(a, &en) != ARCHIVE_OK) {
        rc = berr_set(e, -EINVAL, "%s", archive_error_string(a));
    } else {
        char b[65536];
        la_ssize_t n;
        while (rc == 0 && (n = archive_read_data(a, b, sizeof b)) > 0)
            for (la_ssize_t w = 0; rc == 0 && w < n;) {
                ssize_t k = write(fd, b + w, (size_t)(n - w));
                if (k < 0 && errno != EINTR)
                    rc = berr_sys(e, -errno, "write %s", out);
                w += k > 0 ? k : 0;
            }
        if (rc == 0 && n < 0)
            rc = berr_set(e, -EINVAL, "%s", archive_error_string(a));
    }
    archive_read_free(a);
    return rc;
}

int bc_context_prepare(const char *body_path, const char *dir, const char *dockerfile, bc_tree **tree,
                       char **text, size_t *len, berr *e)
{
    *tree = NULL;
    struct stat st;
    int r = 0;
    body_kind kind = sniff(body_path);
    if (kind == BODY_DOCKERFILE) {
        r = bc_tree_open_single(body_path, "Dockerfile", tree, e);
        dockerfile = NULL;
    } else if (kind == BODY_COMPRESSED) {
        char plain[PATH_MAX];
        snprintf(plain, sizeof plain, "%s/context.tar", dir);
        r = decompress(body_path, plain, e);
        if (r == 0)
            r = bc_tree_open(plain, tree, e);
    } else {
        r = bc_tree_open(body_path, tree, e);   /* an empty body is an empty context */
    }
    if (r < 0)
        return berr_wrap(e, "the build context is not a valid tar archive");
    cleanup_free char *name = di_clean_path(dockerfile && *dockerfile ? dockerfile : "Dockerfile");
    const char *rel = name;
    while (*rel == '/')
        rel++;
    if (!strncmp(rel, "../", 3) || !strcmp(rel, "..")) {
        r = berr_set(e, -EINVAL, "Cannot locate specified Dockerfile: %s", dockerfile);
        goto fail;
    }
    const bc_node *df = bc_tree_lookup(*tree, rel);
    if (df)
        bc_node_stat(df, &st);
    if (!df || !S_ISREG(st.st_mode)) {
        /* dockerd also tries the lower-case name for the default */
        if (!dockerfile || !*dockerfile || !strcmp(dockerfile, "Dockerfile")) {
            df = bc_tree_lookup(*tree, "dockerfile");
            if (df && (bc_node_stat(df, &st), S_ISREG(st.st_mode)))
                goto found;
        }
        r = berr_set(e, -EINVAL, "Cannot locate specified Dockerfile: %s",
                     dockerfile && *dockerfile ? dockerfile : "Dockerfile");
        goto fail;
    }
found:;
    size_t n;
    const char *data = bc_node_data(*tree, df, &n);
    *text = xmalloc(n + 1);
    memcpy(*text, data, n);
    (*text)[n] = 0;
    *len = n;
    const bc_node *ign = bc_tree_lookup(*tree, ".dockerignore");
    if (ign && (bc_node_stat(ign, &st), S_ISREG(st.st_mode))) {
        size_t ilen;
        const char *itext = bc_node_data(*tree, ign, &ilen);
        di_patterns p;
        di_parse(itext, ilen, &p);
        /* read already: an ignored Dockerfile or .dockerignore goes too, as moby removes them */
        prune(*tree, "", &p);
        di_free(&p);
    }
    return 0;
fail:
    bc_tree_free(*tree);
    *tree = NULL;
    return r;
}
