/* Layer storage: a base and a child layer in vfs and overlay2 under a
 * scratch data root, with the child's whiteouts and opaque directory. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/buf.h"
#include "lib/digest.h"
#include "lib/fsutil.h"
#include "runtime/layer/graphdriver.h"

typedef struct tent {
    const char *name;
    mode_t type;   /* 0: regular file */
    mode_t perm;
    const char *data;
    const char *link;
    const char *hardlink;
    dev_t rdev;
} tent;

static void write_tar(const char *path, const tent *ents, size_t n)
{
    struct archive *a = archive_write_new();
    assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        const tent *t = &ents[i];
        struct archive_entry *ae = archive_entry_new();
        archive_entry_set_pathname(ae, t->name);
        archive_entry_set_filetype(ae, t->type ? t->type : AE_IFREG);
        archive_entry_set_perm(ae, t->perm ? t->perm : 0644);
        archive_entry_set_mtime(ae, 1500000000, 0);
        if (t->link)
            archive_entry_set_symlink(ae, t->link);
        if (t->hardlink)
            archive_entry_set_hardlink(ae, t->hardlink);
        if (t->type == AE_IFCHR)
            archive_entry_set_rdev(ae, t->rdev);
        size_t len = t->data ? strlen(t->data) : 0;
        archive_entry_set_size(ae, (la_int64_t)len);
        assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
        if (len)
            assert_int_equal(archive_write_data(a, t->data, len), (la_ssize_t)len);
        archive_entry_free(ae);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const tent base_layer[] = {
    {.name = "etc/", .type = AE_IFDIR, .perm = 0755},
    {.name = "etc/passwd", .data = "root:x:0:0::/root:/bin/sh\n"},
    {.name = "bin/", .type = AE_IFDIR, .perm = 0755},
    {.name = "bin/busybox", .perm = 0755, .data = "ELF"},
    {.name = "bin/sh", .hardlink = "bin/busybox"},
    {.name = "usr/lib/", .type = AE_IFDIR, .perm = 0755},
    {.name = "lib", .type = AE_IFLNK, .link = "usr/lib"},
    {.name = "tmp/", .type = AE_IFDIR, .perm = 01777},
    {.name = "dev/null", .type = AE_IFCHR, .perm = 0666, .rdev = 0x103},
    {.name = "gone", .data = "bye"},
    {.name = "opq/a", .data = "a"},
    {.name = "opq/b", .data = "b"},
};

static const tent child_layer[] = {
    {.name = "etc/", .type = AE_IFDIR, .perm = 0755},
    {.name = "etc/hostname", .data = "berth\n"},
    {.name = ".wh.gone"},
    {.name = "opq/", .type = AE_IFDIR, .perm = 0700},
    {.name = "opq/.wh..wh..opq"},
    {.name = "opq/c", .data = "c"},
};

typedef struct fix {
    char root[64];        /* data root */
    char base_tar[128], child_tar[128];
    char base_id[DIGEST_BUF], child_id[DIGEST_BUF];
} fix;

static int setup(void **state)
{
    fix *f = calloc(1, sizeof *f);
    snprintf(f->root, sizeof f->root, "/tmp/berth-gd-XXXXXX");
    if (!mkdtemp(f->root))
        return -1;
    snprintf(f->base_tar, sizeof f->base_tar, "%s/base.tar", f->root);
    snprintf(f->child_tar, sizeof f->child_tar, "%s/child.tar", f->root);
    write_tar(f->base_tar, base_layer, N(base_layer));
    write_tar(f->child_tar, child_layer, N(child_layer));
    char diff1[DIGEST_BUF], diff2[DIGEST_BUF];
    digest_mem("base", 4, diff1);
    digest_mem("child", 5, diff2);
    digest_chain_id(NULL, diff1, f->base_id);
    digest_chain_id(f->base_id, diff2, f->child_id);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fix *f = *state;
    fs_rm_rf(f->root, NULL);
    free(f);
    return 0;
}

static bool exists_in(const char *dir, const char *rel)
{
    char p[2 * PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    struct stat st;
    return lstat(p, &st) == 0;
}

static void stat_in(const char *dir, const char *rel, struct stat *st)
{
    char p[2 * PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    assert_int_equal(lstat(p, st), 0);
}

/* No tmp-* directory left in the driver's root. */
static void assert_no_tmp(const rt_graphdriver *d)
{
    DIR *dir = opendir(d->root);
    assert_non_null(dir);
    for (struct dirent *de; (de = readdir(dir));)
        assert_true(strncmp(de->d_name, "tmp-", 4) != 0);
    closedir(dir);
}

static void create_both(const fix *f, const rt_graphdriver *d)
{
    berr e;
    long long size = -1;
    assert_int_equal(rt_driver_create_layer(d, f->base_id, NULL, f->base_tar, &size, &e), 0);
    assert_int_equal(size, 26 + 3 + 3 + 2);
    assert_true(rt_driver_layer_exists(d, f->base_id));
    assert_false(rt_driver_layer_exists(d, f->child_id));
    assert_int_equal(rt_driver_create_layer(d, f->child_id, f->base_id, f->child_tar, &size, &e), 0);
    assert_int_equal(size, 7);
    assert_true(rt_driver_layer_exists(d, f->child_id));
    assert_no_tmp(d);
}

static void test_vfs(void **state)
{
    fix *f = *state;
    if (geteuid() != 0)
        skip();   /* the base layer has a device node */
    rt_graphdriver d;
    berr e;
    assert_int_equal(rt_driver_init(&d, f->root, "vfs", &e), 0);
    assert_int_equal(d.kind, RT_DRIVER_VFS);
    assert_string_equal(rt_driver_name(&d), "vfs");

    /* A parent that is not there yet. */
    assert_int_equal(rt_driver_create_layer(&d, f->child_id, f->base_id, f->child_tar, NULL, &e),
                     -ENOENT);
    assert_non_null(strstr(e.msg, "does not exist"));

    berr_clear(&e);
    assert_int_equal(rt_driver_create_layer(&d, f->base_id, NULL, f->base_tar, NULL, &e), 0);
    char base[PATH_MAX], child[PATH_MAX], expect[PATH_MAX];
    rt_driver_layer_dir(&d, f->base_id, base);
    snprintf(expect, sizeof expect, "%s/vfs/dir/%s", f->root, digest_hex(f->base_id));
    assert_string_equal(base, expect);
    /* Metadata the copy must carry over, set after unpacking. */
    char p[2 * PATH_MAX];
    snprintf(p, sizeof p, "%s/etc", base);
    assert_int_equal(setxattr(p, "trusted.overlay.opaque", "y", 1, 0), 0);
    snprintf(p, sizeof p, "%s/etc/passwd", base);
    assert_int_equal(setxattr(p, "user.berth", "v", 1, 0), 0);
    assert_int_equal(chown(p, 123, 456), 0);

    assert_int_equal(rt_driver_create_layer(&d, f->child_id, f->base_id, f->child_tar, NULL, &e), 0);
    rt_driver_layer_dir(&d, f->child_id, child);
    assert_true(exists_in(child, "etc/passwd"));
    assert_true(exists_in(child, "etc/hostname"));
    assert_false(exists_in(child, "gone"));
    assert_false(exists_in(child, "opq/a"));
    assert_false(exists_in(child, "opq/b"));
    assert_true(exists_in(child, "opq/c"));
    /* The parent is untouched. */
    assert_true(exists_in(base, "gone"));
    assert_true(exists_in(base, "opq/a"));
    assert_false(exists_in(base, "etc/hostname"));

    struct stat a, b, c;
    stat_in(child, "bin/busybox", &a);
    stat_in(child, "bin/sh", &b);
    stat_in(base, "bin/busybox", &c);
    assert_int_equal(a.st_ino, b.st_ino);   /* still one file... */
    assert_int_not_equal(a.st_ino, c.st_ino);   /* ...but a copy */
    assert_int_equal(a.st_mode & 07777, 0755);
    stat_in(child, "etc/passwd", &a);
    assert_int_equal(a.st_mtime, 1500000000);
    assert_int_equal(a.st_uid, 123);
    assert_int_equal(a.st_gid, 456);
    char v[8] = {0};
    snprintf(p, sizeof p, "%s/etc/passwd", child);
    assert_int_equal(getxattr(p, "user.berth", v, sizeof v), 1);
    snprintf(p, sizeof p, "%s/etc", child);
    assert_int_equal(getxattr(p, "trusted.overlay.opaque", v, sizeof v), 1);
    stat_in(child, "tmp", &a);
    assert_int_equal(a.st_mode & 07777, 01777);
    stat_in(child, "opq", &a);
    assert_int_equal(a.st_mode & 07777, 0700);
    stat_in(child, "lib", &a);
    assert_true(S_ISLNK(a.st_mode));
    stat_in(child, "dev/null", &a);
    assert_true(S_ISCHR(a.st_mode));
    assert_int_equal(a.st_rdev, makedev(1, 3));
    stat_in(child, ".", &a);
    assert_int_equal(a.st_mode & 07777, 0755);

    /* Twice is a no-op; size comes from the disk then. */
    long long size = -1;
    assert_int_equal(rt_driver_create_layer(&d, f->child_id, f->base_id, f->child_tar, &size, &e), 0);
    assert_true(size >= 0);
    assert_no_tmp(&d);

    assert_int_equal(rt_driver_remove_layer(&d, f->child_id, &e), 0);
    assert_false(rt_driver_layer_exists(&d, f->child_id));
    assert_false(exists_in(child, ""));
    assert_int_equal(rt_driver_remove_layer(&d, f->child_id, &e), 0);
    assert_true(rt_driver_layer_exists(&d, f->base_id));
    assert_no_tmp(&d);
}

static void test_overlay2(void **state)
{
    fix *f = *state;
    rt_graphdriver d;
    berr e;
    int r = rt_driver_init(&d, f->root, "overlay2", &e);
    if (r == -ENOTSUP)
        skip();
    assert_int_equal(r, 0);
    assert_string_equal(rt_driver_name(&d), "overlay2");
    create_both(f, &d);

    char base[PATH_MAX], child[PATH_MAX], expect[PATH_MAX];
    rt_driver_layer_dir(&d, f->child_id, child);
    rt_driver_layer_dir(&d, f->base_id, base);
    snprintf(expect, sizeof expect, "%s/overlay2/%s/diff", f->root, digest_hex(f->child_id));
    assert_string_equal(child, expect);
    /* Only the child's own changes. */
    assert_true(exists_in(child, "etc/hostname"));
    assert_false(exists_in(child, "etc/passwd"));
    assert_false(exists_in(child, "opq/.wh..wh..opq"));
    struct stat st;
    stat_in(child, "gone", &st);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(st.st_rdev, makedev(0, 0));
    char p[2 * PATH_MAX], v[4] = {0};
    snprintf(p, sizeof p, "%s/opq", child);
    assert_int_equal(getxattr(p, "trusted.overlay.opaque", v, sizeof v), 1);
    assert_string_equal(v, "y");

    /* The parent file names the parent chain. */
    snprintf(p, sizeof p, "%s/overlay2/%s/parent", f->root, digest_hex(f->child_id));
    char *data = NULL;
    assert_int_equal(fs_read_file(p, &data, NULL, &e), 0);
    assert_string_equal(data, f->base_id);
    free(data);

    /* What a container would see: mount the two diffs. */
    char mnt[PATH_MAX], opts[3 * PATH_MAX];
    snprintf(mnt, sizeof mnt, "%s/mnt", f->root);
    assert_int_equal(mkdir(mnt, 0755), 0);
    snprintf(opts, sizeof opts, "lowerdir=%s:%s", child, base);
    assert_int_equal(mount("overlay", mnt, "overlay", MS_RDONLY, opts), 0);
    bool passwd = exists_in(mnt, "etc/passwd"), host = exists_in(mnt, "etc/hostname");
    bool gone = exists_in(mnt, "gone"), a = exists_in(mnt, "opq/a"), c = exists_in(mnt, "opq/c");
    umount(mnt);
    assert_true(passwd && host && c);
    assert_false(gone || a);

    long long size = -1;
    assert_int_equal(rt_driver_create_layer(&d, f->child_id, f->base_id, f->child_tar, &size, &e), 0);
    assert_int_equal(size, 7);
    assert_int_equal(rt_driver_remove_layer(&d, f->child_id, &e), 0);
    assert_false(rt_driver_layer_exists(&d, f->child_id));
    assert_true(rt_driver_layer_exists(&d, f->base_id));
    assert_no_tmp(&d);
}

static void test_init(void **state)
{
    fix *f = *state;
    rt_graphdriver d;
    berr e;
    assert_int_equal(rt_driver_init(&d, f->root, "aufs", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "aufs"));
    assert_int_equal(rt_driver_init(&d, f->root, NULL, &e), 0);
    if (geteuid() == 0)
        assert_int_equal(d.kind, RT_DRIVER_OVERLAY2);   /* works on the test machines */
    assert_int_equal(rt_driver_init(&d, f->root, "", &e), 0);
    /* The probe cleans up after itself. */
    DIR *dir = opendir(f->root);
    for (struct dirent *de; (de = readdir(dir));)
        assert_null(strstr(de->d_name, "overlay-check"));
    closedir(dir);

    /* Leftovers of a crash are swept at init. */
    char p[2 * PATH_MAX];
    snprintf(p, sizeof p, "%s/tmp-crashed/x", d.root);
    assert_int_equal(fs_mkdir_p(p, 0755, &e), 0);
    assert_int_equal(rt_driver_init(&d, f->root, NULL, &e), 0);
    assert_no_tmp(&d);
}

static void test_bad_input(void **state)
{
    fix *f = *state;
    rt_graphdriver d;
    berr e;
    assert_int_equal(rt_driver_init(&d, f->root, "vfs", &e), 0);
    assert_int_equal(rt_driver_create_layer(&d, "sha256:../../etc", NULL, f->base_tar, NULL, &e),
                     -EINVAL);
    assert_int_equal(rt_driver_remove_layer(&d, "../x", &e), -EINVAL);
    assert_false(rt_driver_layer_exists(&d, "sha256:nothex"));
    char out[PATH_MAX];
    rt_driver_layer_dir(&d, "../../x", out);
    assert_string_equal(out, "");

    /* A hostile layer leaves no layer and no temporary behind. */
    char evil[PATH_MAX];
    snprintf(evil, sizeof evil, "%s/evil.tar", f->root);
    tent t[] = {{.name = "ok", .data = "x"}, {.name = "../escape", .data = "x"}};
    write_tar(evil, t, N(t));
    assert_int_equal(rt_driver_create_layer(&d, f->base_id, NULL, evil, NULL, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "../escape"));
    assert_false(rt_driver_layer_exists(&d, f->base_id));
    assert_false(exists_in(f->root, "vfs/escape"));
    assert_no_tmp(&d);
}

int main(void)
{
    setlocale(LC_CTYPE, "C");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vfs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overlay2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
