/* Container filesystem changes (overlay upper dirs and vfs tree compares),
 * the layer tar written from them, and rt_tar_path.  Fixtures are built in
 * a fresh scratch directory per test: overlay whiteouts are real 0:0
 * character devices and opaque directories carry trusted.overlay.opaque, so
 * these tests need root (they skip without it). */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/digest.h"
#include "lib/fsutil.h"
#include "runtime/layer/changes.h"
#include "runtime/layer/tarsafe.h"

typedef struct fix {
    char base[64];
} fix;

static int setup(void **state)
{
    fix *f = calloc(1, sizeof *f);
    snprintf(f->base, sizeof f->base, "/tmp/berth-changes-XXXXXX");
    if (!mkdtemp(f->base))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fix *f = *state;
    berr e;
    fs_rm_rf(f->base, &e);
    free(f);
    return 0;
}

static void need_root(void)
{
    if (geteuid() != 0)
        skip();
}

/* ---- fixture builders (paths are relative to f->base) --------------------- */

static char *P(const fix *f, const char *rel)
{
    return xasprintf("%s/%s", f->base, rel);
}

static void mkdirs(const fix *f, const char *rel)
{
    cleanup_free char *p = P(f, rel);
    berr e;
    assert_int_equal(fs_mkdir_p(p, 0755, &e), 0);
}

/* Creates the file (and missing parents) with content. */
static void mkfile(const fix *f, const char *rel, const char *content)
{
    cleanup_free char *p = P(f, rel);
    char *slash = strrchr(p, '/');
    *slash = 0;
    berr e;
    assert_int_equal(fs_mkdir_p(p, 0755, &e), 0);
    *slash = '/';
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs(content, fp);
    fclose(fp);
}

static void mkwhiteout(const fix *f, const char *rel)
{
    cleanup_free char *p = P(f, rel);
    assert_int_equal(mknod(p, S_IFCHR | 0600, makedev(0, 0)), 0);
}

static void mkopaque(const fix *f, const char *rel)
{
    cleanup_free char *p = P(f, rel);
    assert_int_equal(setxattr(p, "trusted.overlay.opaque", "y", 1, 0), 0);
}

static void mklink(const fix *f, const char *target, const char *rel)
{
    cleanup_free char *p = P(f, rel);
    assert_int_equal(symlink(target, p), 0);
}

/* Gives directory `to` the mode and times of `from`, as overlayfs's copy-up
 * does for a directory copied up only because of a child. */
static void same_meta(const fix *f, const char *from, const char *to)
{
    cleanup_free char *a = P(f, from);
    cleanup_free char *b = P(f, to);
    struct stat st;
    assert_int_equal(lstat(a, &st), 0);
    if (!S_ISLNK(st.st_mode))   /* chmod would follow the link */
        assert_int_equal(chmod(b, st.st_mode & 07777), 0);
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    assert_int_equal(utimensat(AT_FDCWD, b, ts, AT_SYMLINK_NOFOLLOW), 0);
}

/* "K /path\n" per change, for one readable comparison. */
static char *render(const rt_change *c, size_t n)
{
    buf b = BUF_INIT;
    buf_puts(&b, "");
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%c %s\n", "CAD"[c[i].kind], c[i].path);
    return buf_steal(&b);
}

/* ---- overlay ------------------------------------------------------------- */

/* Two image layers (l1 on top of l2) and a container's upper dir covering
 * every case of the diff. */
static void build_overlay(const fix *f)
{
    mkfile(f, "l2/etc/passwd", "root:x:0:0\n");
    mkfile(f, "l2/etc/group", "root:x:0:\n");
    mkfile(f, "l2/usr/tool", "v1\n");
    mkfile(f, "l2/var/lib/x", "x\n");
    mkfile(f, "l2/opt/old/file", "old\n");
    mkfile(f, "l2/gone/a", "a\n");
    mklink(f, "/etc", "l2/link");

    mkdirs(f, "l1/var/lib");
    mkwhiteout(f, "l1/var/lib/x");      /* deleted by the top image layer */
    mkdirs(f, "l1/gone");
    mkopaque(f, "l1/gone");             /* emptied by the top image layer */

    mkfile(f, "up/etc/newfile", "new\n");
    mkfile(f, "up/etc/passwd", "root:x:0:0\nme:x:1000:1000\n");
    mkwhiteout(f, "up/etc/group");
    mkfile(f, "up/usr/tool", "v2\n");
    mkfile(f, "up/var/lib/x", "back\n");
    mkfile(f, "up/gone/a", "a again\n");
    mkfile(f, "up/opt/old/n", "n\n");
    mkopaque(f, "up/opt/old");
    mkfile(f, "up/new/f", "f\n");
    cleanup_free char *nf = P(f, "up/new/f");
    cleanup_free char *ng = P(f, "up/new/g");
    assert_int_equal(link(nf, ng), 0);
    mkwhiteout(f, "up/link");
    cleanup_free char *xf = P(f, "up/etc/newfile");
    assert_int_equal(setxattr(xf, "user.berth", "yes", 3, 0), 0);

    /* Copied-up directories look like their lower originals. */
    same_meta(f, "l2/etc", "up/etc");
    same_meta(f, "l2/usr", "up/usr");
    same_meta(f, "l1/var/lib", "up/var/lib");
    same_meta(f, "l1/var", "up/var");
    same_meta(f, "l1/gone", "up/gone");
    same_meta(f, "l2/opt", "up/opt");
}

static const char overlay_expected[] =
    "C /etc\n"
    "D /etc/group\n"
    "A /etc/newfile\n"
    "C /etc/passwd\n"
    "C /gone\n"
    "A /gone/a\n"
    "D /link\n"
    "A /new\n"
    "A /new/f\n"
    "A /new/g\n"
    "C /opt/old\n"
    "A /opt/old/n\n"
    "C /usr/tool\n"
    "C /var/lib\n"
    "A /var/lib/x\n";

static void get_overlay_changes(const fix *f, rt_change **c, size_t *n)
{
    cleanup_free char *up = P(f, "up");
    cleanup_free char *l1 = P(f, "l1");
    cleanup_free char *l2 = P(f, "l2");
    const char *lowers[] = {l1, l2};
    berr e = {0};
    int r = rt_changes_overlay(up, lowers, 2, c, n, &e);
    if (r)
        fail_msg("rt_changes_overlay: %s", e.msg);
}

static void test_overlay_changes(void **state)
{
    need_root();
    fix *f = *state;
    build_overlay(f);
    rt_change *c;
    size_t n;
    get_overlay_changes(f, &c, &n);
    cleanup_free char *got = render(c, n);
    assert_string_equal(got, overlay_expected);
    rt_changes_free(c, n);
}

/* A directory copied up for a modified child is not reported, while its
 * own change of mode is. */
static void test_overlay_copied_up_dir(void **state)
{
    need_root();
    fix *f = *state;
    mkfile(f, "l/a/f", "1\n");
    mkfile(f, "l/b/f", "1\n");
    mkfile(f, "up/a/f", "2\n");
    mkfile(f, "up/b/f", "2\n");
    same_meta(f, "l/a", "up/a");
    same_meta(f, "l/b", "up/b");
    cleanup_free char *b = P(f, "up/b");
    assert_int_equal(chmod(b, 0700), 0);
    cleanup_free char *up = P(f, "up");
    cleanup_free char *l = P(f, "l");
    const char *lowers[] = {l};
    rt_change *c;
    size_t n;
    berr e;
    assert_int_equal(rt_changes_overlay(up, lowers, 1, &c, &n, &e), 0);
    cleanup_free char *got = render(c, n);
    assert_string_equal(got, "C /a/f\nC /b\nC /b/f\n");
    rt_changes_free(c, n);

    /* No lowers at all: everything is added. */
    assert_int_equal(rt_changes_overlay(up, lowers, 0, &c, &n, &e), 0);
    cleanup_free char *all = render(c, n);
    assert_string_equal(all, "A /a\nA /a/f\nA /b\nA /b/f\n");
    rt_changes_free(c, n);

    assert_int_equal(rt_changes_overlay("/nonexistent-berth", lowers, 1, &c, &n, &e), -ENOENT);
}

/* ---- vfs ------------------------------------------------------------------- */

static void test_vfs_changes(void **state)
{
    need_root();
    fix *f = *state;
    mkfile(f, "img/etc/passwd", "root:x:0:0\n");
    mkfile(f, "img/etc/group", "root:x:0:\n");
    mkfile(f, "img/usr/tool", "v1\n");
    mkfile(f, "img/var/lib/x", "x\n");
    mkfile(f, "img/opt/old/file", "old\n");
    mkfile(f, "img/opt/old/sub/deep", "deep\n");
    mkfile(f, "img/opt/keep", "keep\n");
    mklink(f, "/etc", "img/link");
    mkdirs(f, "ctr");
    /* cp -a keeps nanosecond times, as the vfs driver's copy does. */
    cleanup_free char *cmd = xasprintf("cp -a %s/img/. %s/ctr/", f->base, f->base);
    assert_int_equal(system(cmd), 0);

    mkfile(f, "ctr/etc/newfile", "new\n");
    mkfile(f, "ctr/etc/passwd", "root:x:0:0\nme:x:1000:1000\n");
    cleanup_free char *grp = P(f, "ctr/etc/group");
    assert_int_equal(unlink(grp), 0);
    cleanup_free char *old = P(f, "ctr/opt/old");
    berr e;
    assert_int_equal(fs_rm_rf(old, &e), 0);
    same_meta(f, "img/opt", "ctr/opt");   /* only the content below changed */
    mkfile(f, "ctr/new/f", "f\n");
    mkfile(f, "ctr/a/b", "b\n");
    mkfile(f, "ctr/a-b", "ab\n");
    /* A link retargeted to a path of the same length, same time. */
    cleanup_free char *ln = P(f, "ctr/link");
    assert_int_equal(unlink(ln), 0);
    mklink(f, "/usr", "ctr/link");
    same_meta(f, "img/link", "ctr/link");
    cleanup_free char *tool = P(f, "ctr/usr/tool");
    assert_int_equal(chmod(tool, 0700), 0);
    same_meta(f, "img/usr", "ctr/usr");

    cleanup_free char *ctr = P(f, "ctr");
    cleanup_free char *img = P(f, "img");
    rt_change *c;
    size_t n;
    int r = rt_changes_vfs(ctr, img, &c, &n, &e);
    if (r)
        fail_msg("rt_changes_vfs: %s", e.msg);
    cleanup_free char *got = render(c, n);
    assert_string_equal(got,
                        "A /a\n"
                        "A /a/b\n"
                        "A /a-b\n"
                        "C /etc\n"
                        "D /etc/group\n"
                        "A /etc/newfile\n"
                        "C /etc/passwd\n"
                        "C /link\n"
                        "A /new\n"
                        "A /new/f\n"
                        "C /opt\n"
                        "D /opt/old\n"
                        "C /usr\n"
                        "C /usr/tool\n");

    /* The layer tar applied on a copy of the image gives the container's
     * tree back: no difference left. */
    cleanup_free char *tar = P(f, "layer.tar");
    int fd = open(tar, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char diff_id[DIGEST_BUF];
    assert_int_equal(rt_changes_write_tar(ctr, c, n, fd, diff_id, NULL, &e), 0);
    close(fd);
    rt_changes_free(c, n);
    mkdirs(f, "applied");
    cleanup_free char *cp2 = xasprintf("cp -a %s/img/. %s/applied/", f->base, f->base);
    assert_int_equal(system(cp2), 0);
    cleanup_free char *applied = P(f, "applied");
    tar_extract_opts o = {.whiteouts = TAR_WHITEOUT_APPLY};
    r = tar_extract(tar, applied, &o, NULL, &e);
    if (r)
        fail_msg("tar_extract: %s", e.msg);
    assert_int_equal(rt_changes_vfs(ctr, applied, &c, &n, &e), 0);
    cleanup_free char *left = render(c, n);
    assert_string_equal(left, "");
    rt_changes_free(c, n);

    /* Identical trees: nothing. */
    assert_int_equal(rt_changes_vfs(img, img, &c, &n, &e), 0);
    assert_int_equal(n, 0);
    rt_changes_free(c, n);
}

/* ---- reading archives back --------------------------------------------- */

typedef struct tentry {
    char name[256];
    mode_t type;
    mode_t perm;
    long long size;
    char data[64];
    char link[256];       /* symlink target */
    char hardlink[256];
    int n_xattr;
    bool overlay_xattr;
    char user_xattr[16];  /* value of user.berth */
    time_t mtime;
    long mtime_nsec;
    bool atime_set;
} tentry;

/* Reads the tar at path into at most max entries; returns the count. */
static size_t read_tar(const char *path, tentry *out, size_t max)
{
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_filename(a, path, 10240), ARCHIVE_OK);
    size_t n = 0;
    struct archive_entry *ent;
    while (archive_read_next_header(a, &ent) == ARCHIVE_OK) {
        assert_true(n < max);
        tentry *t = &out[n++];
        memset(t, 0, sizeof *t);
        snprintf(t->name, sizeof t->name, "%s", archive_entry_pathname(ent));
        t->type = archive_entry_filetype(ent);
        t->perm = archive_entry_perm(ent);
        t->size = archive_entry_size(ent);
        t->mtime = archive_entry_mtime(ent);
        t->mtime_nsec = archive_entry_mtime_nsec(ent);
        t->atime_set = archive_entry_atime_is_set(ent);
        if (archive_entry_symlink(ent))
            snprintf(t->link, sizeof t->link, "%s", archive_entry_symlink(ent));
        if (archive_entry_hardlink(ent))
            snprintf(t->hardlink, sizeof t->hardlink, "%s", archive_entry_hardlink(ent));
        archive_read_data(a, t->data, sizeof t->data - 1);
        const char *k;
        const void *v;
        size_t vl;
        archive_entry_xattr_reset(ent);
        while (archive_entry_xattr_next(ent, &k, &v, &vl) == ARCHIVE_OK) {
            t->n_xattr++;
            if (!strncmp(k, "trusted.overlay.", 16))
                t->overlay_xattr = true;
            if (!strcmp(k, "user.berth"))
                snprintf(t->user_xattr, sizeof t->user_xattr, "%.*s", (int)vl, (const char *)v);
        }
    }
    archive_read_free(a);
    return n;
}

static char *names_of(const tentry *t, size_t n)
{
    buf b = BUF_INIT;
    buf_puts(&b, "");
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s\n", t[i].name);
    return buf_steal(&b);
}

static const tentry *find(const tentry *t, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(t[i].name, name))
            return &t[i];
    fail_msg("no entry %s", name);
    return NULL;
}

static void test_write_tar_overlay(void **state)
{
    need_root();
    fix *f = *state;
    build_overlay(f);
    rt_change *c;
    size_t n;
    get_overlay_changes(f, &c, &n);

    cleanup_free char *tar = P(f, "layer.tar");
    cleanup_free char *up = P(f, "up");
    int fd = open(tar, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    char diff_id[DIGEST_BUF];
    long long size = -1;
    berr e = {0};
    int r = rt_changes_write_tar(up, c, n, fd, diff_id, &size, &e);
    close(fd);
    if (r)
        fail_msg("rt_changes_write_tar: %s", e.msg);

    /* diff_id and size describe exactly the bytes written. */
    char want[DIGEST_BUF];
    long long fsize;
    assert_int_equal(digest_file(tar, want, &fsize, &e), 0);
    assert_string_equal(diff_id, want);
    assert_int_equal(size, fsize);
    assert_int_equal(fsize % 512, 0);

    tentry t[64];
    size_t nt = read_tar(tar, t, 64);
    cleanup_free char *names = names_of(t, nt);
    assert_string_equal(names,
                        "etc/\n"
                        "etc/.wh.group\n"
                        "etc/newfile\n"
                        "etc/passwd\n"
                        "gone/\n"
                        "gone/a\n"
                        ".wh.link\n"
                        "new/\n"
                        "new/f\n"
                        "new/g\n"
                        "opt/old/\n"
                        "opt/old/.wh..wh..opq\n"
                        "opt/old/n\n"
                        "usr/tool\n"
                        "var/lib/\n"
                        "var/lib/x\n");
    const tentry *wh = find(t, nt, "etc/.wh.group");
    assert_int_equal(wh->type, AE_IFREG);
    assert_int_equal(wh->size, 0);
    assert_int_equal(find(t, nt, ".wh.link")->type, AE_IFREG);
    const tentry *opq = find(t, nt, "opt/old/");
    assert_int_equal(opq->type, AE_IFDIR);
    assert_false(opq->overlay_xattr);
    assert_int_equal(find(t, nt, "opt/old/.wh..wh..opq")->type, AE_IFREG);
    const tentry *nf = find(t, nt, "etc/newfile");
    assert_string_equal(nf->data, "new\n");
    assert_string_equal(nf->user_xattr, "yes");
    assert_int_equal(nf->perm, 0644);
    assert_int_equal(nf->mtime_nsec, 0);
    assert_false(nf->atime_set);
    assert_string_equal(find(t, nt, "etc/passwd")->data, "root:x:0:0\nme:x:1000:1000\n");
    assert_string_equal(find(t, nt, "new/f")->data, "f\n");
    assert_string_equal(find(t, nt, "new/g")->hardlink, "new/f");

    /* Same tree, same bytes: the diff ID is reproducible. */
    cleanup_free char *tar2 = P(f, "layer2.tar");
    fd = open(tar2, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char again[DIGEST_BUF];
    assert_int_equal(rt_changes_write_tar(up, c, n, fd, again, NULL, &e), 0);
    close(fd);
    assert_string_equal(again, diff_id);
    rt_changes_free(c, n);

    /* Unpacked as an overlay2 layer, the markers become overlayfs's again. */
    mkdirs(f, "diff");
    cleanup_free char *diff = P(f, "diff");
    tar_extract_opts o = {.whiteouts = TAR_WHITEOUT_OVERLAY};
    r = tar_extract(tar, diff, &o, NULL, &e);
    if (r)
        fail_msg("tar_extract: %s", e.msg);
    struct stat st;
    cleanup_free char *grp = P(f, "diff/etc/group");
    assert_int_equal(lstat(grp, &st), 0);
    assert_true(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
    cleanup_free char *ln = P(f, "diff/link");
    assert_int_equal(lstat(ln, &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    cleanup_free char *old = P(f, "diff/opt/old");
    char v[2];
    assert_int_equal(getxattr(old, "trusted.overlay.opaque", v, sizeof v), 1);
    cleanup_free char *on = P(f, "diff/opt/old/n");
    assert_int_equal(lstat(on, &st), 0);
}

/* vfs: a deletion has no whiteout device to copy, a deleted directory is
 * one whiteout, and big files stream whole. */
static void test_write_tar_vfs(void **state)
{
    need_root();
    fix *f = *state;
    mkfile(f, "img/d/sub/x", "x\n");
    mkfile(f, "img/keep", "k\n");
    mkdirs(f, "ctr");
    cleanup_free char *cmd = xasprintf("cp -a %s/img/. %s/ctr/", f->base, f->base);
    assert_int_equal(system(cmd), 0);
    cleanup_free char *d = P(f, "ctr/d");
    berr e = {0};
    assert_int_equal(fs_rm_rf(d, &e), 0);
    cleanup_free char *big = P(f, "ctr/big");
    int fd = open(big, O_WRONLY | O_CREAT, 0644);
    char block[4096];
    for (int i = 0; i < 100; i++) {
        memset(block, 'a' + i % 26, sizeof block);
        assert_int_equal(write(fd, block, sizeof block), (ssize_t)sizeof block);
    }
    close(fd);

    cleanup_free char *ctr = P(f, "ctr");
    cleanup_free char *img = P(f, "img");
    rt_change *c;
    size_t n;
    assert_int_equal(rt_changes_vfs(ctr, img, &c, &n, &e), 0);
    cleanup_free char *got = render(c, n);
    assert_string_equal(got, "A /big\nD /d\n");

    cleanup_free char *tar = P(f, "layer.tar");
    fd = open(tar, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char diff_id[DIGEST_BUF];
    long long size;
    assert_int_equal(rt_changes_write_tar(ctr, c, n, fd, diff_id, &size, &e), 0);
    close(fd);
    rt_changes_free(c, n);
    tentry t[8];
    size_t nt = read_tar(tar, t, 8);
    cleanup_free char *names = names_of(t, nt);
    assert_string_equal(names, "big\n.wh.d\n");
    assert_int_equal(t[0].size, 409600);
    assert_true(size > 409600);

    /* The whole content made it, block by block. */
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_filename(a, tar, 10240), ARCHIVE_OK);
    struct archive_entry *ent;
    assert_int_equal(archive_read_next_header(a, &ent), ARCHIVE_OK);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(archive_read_data(a, block, sizeof block), (ssize_t)sizeof block);
        assert_int_equal(block[0], 'a' + i % 26);
        assert_int_equal(block[4095], 'a' + i % 26);
    }
    archive_read_free(a);
}

/* ---- rt_tar_path -------------------------------------------------------- */

static size_t tar_path(const fix *f, const char *rel, const char *prefix, tentry *t, size_t max)
{
    cleanup_free char *src = P(f, rel);
    cleanup_free char *tar = P(f, "out.tar");
    int fd = open(tar, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    berr e = {0};
    int r = rt_tar_path(src, prefix, fd, &e);
    close(fd);
    if (r)
        fail_msg("rt_tar_path %s: %s", rel, e.msg);
    return read_tar(tar, t, max);
}

static void test_tar_path(void **state)
{
    fix *f = *state;
    mkfile(f, "root/etc/hosts", "127.0.0.1 localhost\n");
    mkfile(f, "root/data/x", "x\n");
    mkfile(f, "root/data/sub/y", "y\n");
    mklink(f, "../etc/hosts", "root/data/l");
    cleanup_free char *x = P(f, "root/data/x");
    cleanup_free char *x2 = P(f, "root/data/sub/x2");
    assert_int_equal(link(x, x2), 0);

    tentry t[16];
    size_t n = tar_path(f, "root/etc/hosts", "hosts", t, 16);
    assert_int_equal(n, 1);
    assert_string_equal(t[0].name, "hosts");
    assert_string_equal(t[0].data, "127.0.0.1 localhost\n");

    n = tar_path(f, "root/data", "data", t, 16);
    cleanup_free char *names = names_of(t, n);
    assert_string_equal(names, "data/\ndata/l\ndata/sub/\ndata/sub/x2\ndata/sub/y\ndata/x\n");
    assert_string_equal(find(t, n, "data/l")->link, "../etc/hosts");
    assert_int_equal(find(t, n, "data/l")->type, AE_IFLNK);
    assert_string_equal(find(t, n, "data/sub/x2")->data, "x\n");
    assert_string_equal(find(t, n, "data/x")->hardlink, "data/sub/x2");

    /* A trailing slash on either side changes nothing. */
    n = tar_path(f, "root/data/", "data/", t, 16);
    cleanup_free char *names2 = names_of(t, n);
    assert_string_equal(names2, names);

    /* Export: the content of the root, without "./" and without the root. */
    n = tar_path(f, "root", "", t, 16);
    cleanup_free char *exp = names_of(t, n);
    assert_string_equal(exp, "data/\ndata/l\ndata/sub/\ndata/sub/x2\ndata/sub/y\ndata/x\netc/\netc/hosts\n");

    /* A symlink is archived as itself, never followed. */
    n = tar_path(f, "root/data/l", "l", t, 16);
    assert_int_equal(n, 1);
    assert_string_equal(t[0].name, "l");
    assert_int_equal(t[0].type, AE_IFLNK);
    assert_string_equal(t[0].link, "../etc/hosts");

    cleanup_free char *missing = P(f, "root/nope");
    berr e;
    assert_int_equal(rt_tar_path(missing, "nope", STDOUT_FILENO, &e), -ENOENT);
}

/* A write error (the client went away) is an error, not a short archive. */
static void test_tar_path_write_error(void **state)
{
    fix *f = *state;
    mkfile(f, "root/f", "content\n");
    cleanup_free char *src = P(f, "root");
    int fd = open("/dev/full", O_WRONLY);
    if (fd < 0)
        skip();
    berr e = {0};
    assert_int_equal(rt_tar_path(src, "", fd, &e), -ENOSPC);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_overlay_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overlay_copied_up_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vfs_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_tar_overlay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_tar_vfs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tar_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tar_path_write_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
