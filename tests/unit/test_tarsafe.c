/* tar_extract against hostile and ordinary archives built on the fly with
 * libarchive's writer.  Each test gets a fresh scratch directory:
 *   <base>/root    the extraction target
 *   <base>/t.tar   the archive
 * so "nothing outside" can be checked by listing <base>. */
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
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/buf.h"
#include "lib/fsutil.h"
#include "runtime/layer/tarsafe.h"

/* One archive member; type 0 means a regular file. */
typedef struct tent {
    const char *name;
    mode_t type;
    mode_t perm;
    const char *data;       /* regular file content */
    const char *link;       /* symlink target */
    const char *hardlink;   /* hard link target */
    dev_t rdev;
    time_t mtime;
} tent;

typedef struct fix {
    char base[64];
    char root[128];
    char tar[128];
} fix;

/* Names are written as UTF-8 (the writer needs a UTF-8 locale for that);
 * extraction then runs in the "C" locale, as the daemon does. */
static void write_tar(const char *path, const tent *ents, size_t n, bool gzip)
{
    setlocale(LC_CTYPE, "C.UTF-8");
    struct archive *a = archive_write_new();
    assert_non_null(a);
    assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
    if (gzip)
        assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        const tent *t = &ents[i];
        struct archive_entry *ae = archive_entry_new();
        archive_entry_set_pathname(ae, t->name);
        archive_entry_set_filetype(ae, t->type ? t->type : AE_IFREG);
        archive_entry_set_perm(ae, t->perm ? t->perm : 0644);
        archive_entry_set_mtime(ae, t->mtime ? t->mtime : 1500000000, 0);
        archive_entry_set_uid(ae, 0);
        archive_entry_set_gid(ae, 0);
        if (t->link)
            archive_entry_set_symlink(ae, t->link);
        if (t->hardlink)
            archive_entry_set_hardlink(ae, t->hardlink);
        if (t->type == AE_IFCHR || t->type == AE_IFBLK)
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
    setlocale(LC_CTYPE, "C");
}

static int setup(void **state)
{
    fix *f = calloc(1, sizeof *f);
    snprintf(f->base, sizeof f->base, "/tmp/berth-tarsafe-XXXXXX");
    if (!mkdtemp(f->base))
        return -1;
    snprintf(f->root, sizeof f->root, "%s/root", f->base);
    snprintf(f->tar, sizeof f->tar, "%s/t.tar", f->base);
    if (mkdir(f->root, 0755) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fix *f = *state;
    fs_rm_rf(f->base, NULL);
    free(f);
    return 0;
}

/* Builds the archive from ents and extracts it with the given options. */
static int run(fix *f, const tent *ents, size_t n, tar_whiteout_mode wh, bool unpriv, berr *e)
{
    write_tar(f->tar, ents, n, false);
    tar_extract_opts o = {.whiteouts = wh, .unprivileged = unpriv};
    berr_clear(e);
    return tar_extract(f->tar, f->root, &o, NULL, e);
}

static char *at(const fix *f, const char *rel)
{
    static __thread char p[512];
    snprintf(p, sizeof p, "%s/%s", f->root, rel);
    return p;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* The scratch base holds only root and the archive: nothing escaped. */
static void assert_nothing_outside(const fix *f)
{
    DIR *d = opendir(f->base);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *de; (de = readdir(d));) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        assert_true(!strcmp(de->d_name, "root") || !strcmp(de->d_name, "t.tar"));
        n++;
    }
    closedir(d);
    assert_int_equal(n, 2);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_dotdot_refused(void **state)
{
    fix *f = *state;
    tent t[] = {{.name = "ok", .data = "x"}, {.name = "../x", .data = "evil"}};
    berr e;
    assert_int_equal(run(f, t, N(t), TAR_WHITEOUT_NONE, false, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "\"../x\""));
    assert_non_null(strstr(e.msg, "escapes the layer"));
    assert_nothing_outside(f);

    tent t2[] = {{.name = "a/../../y", .data = "evil"}};
    assert_int_equal(run(f, t2, N(t2), TAR_WHITEOUT_NONE, false, &e), -EINVAL);
    assert_false(exists(at(f, "a")));   /* refused before any parent was made */
    assert_nothing_outside(f);
}

static void test_absolute_refused(void **state)
{
    fix *f = *state;
    char name[64];
    snprintf(name, sizeof name, "/tmp/berth-abs-%d", getpid());
    tent t[] = {{.name = name, .data = "evil"}};
    berr e;
    assert_int_equal(run(f, t, N(t), TAR_WHITEOUT_NONE, false, &e), -EINVAL);
    assert_non_null(strstr(e.msg, name));
    assert_false(exists(name));
}

static void test_hardlink_escape_refused(void **state)
{
    fix *f = *state;
    tent t[] = {{.name = "passwd", .hardlink = "../../etc/passwd"}};
    berr e;
    assert_int_equal(run(f, t, N(t), TAR_WHITEOUT_NONE, false, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "\"passwd\""));
    assert_false(exists(at(f, "passwd")));

    tent t2[] = {{.name = "shadow", .hardlink = "/etc/shadow"}};
    assert_int_equal(run(f, t2, N(t2), TAR_WHITEOUT_NONE, false, &e), -EINVAL);
    assert_false(exists(at(f, "shadow")));

    /* A target reached through an absolute symlink: the kernel refuses. */
    tent t3[] = {{.name = "s", .type = AE_IFLNK, .link = "/"},
                 {.name = "x", .hardlink = "s/etc/passwd"}};
    assert_int_equal(run(f, t3, N(t3), TAR_WHITEOUT_NONE, false, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "\"x\""));
    assert_false(exists(at(f, "x")));
}

static void test_relative_symlink_escape_refused(void **state)
{
    fix *f = *state;
    berr e;
    tent t[] = {{.name = "a", .type = AE_IFLNK, .link = "../../.."}};
    assert_int_equal(run(f, t, N(t), TAR_WHITEOUT_NONE, false, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "\"a\""));
    assert_false(exists(at(f, "a")));

    tent t2[] = {{.name = "d", .type = AE_IFLNK, .link = "../outside"}};
    assert_int_equal(run(f, t2, N(t2), TAR_WHITEOUT_NONE, false, &e), -EINVAL);

    /* Climbing out and back in is still out (as a lexical clean says). */
    tent t3[] = {{.name = "d/e", .type = AE_IFLNK, .link = "../../root/x"}};
    assert_int_equal(run(f, t3, N(t3), TAR_WHITEOUT_NONE, false, &e), -EINVAL);

    /* Inside the root is fine, however deep. */
    tent t4[] = {{.name = "d/e/f", .type = AE_IFLNK, .link = "../../x"},
                 {.name = "lib", .type = AE_IFLNK, .link = "./usr/../usr/lib"}};
    assert_int_equal(run(f, t4, N(t4), TAR_WHITEOUT_NONE, false, &e), 0);
    char buf[64] = {0};
    assert_int_equal(readlink(at(f, "d/e/f"), buf, sizeof buf - 1), 7);
    assert_string_equal(buf, "../../x");
    assert_nothing_outside(f);
}

static void test_absolute_symlink_does_not_reach_host(void **state)
{
    fix *f = *state;
    char file[64], host[96];
    snprintf(file, sizeof file, "berth-test-%d", getpid());
    snprintf(host, sizeof host, "/etc/%s", file);
    char through[96];
    snprintf(through, sizeof through, "a/%s", file);
    tent t[] = {{.name = "a", .type = AE_IFLNK, .link = "/etc"},
                {.name = through, .data = "pwned"}};
    berr e;
    int r = run(f, t, N(t), TAR_WHITEOUT_NONE, false, &e);
    /* Either refused or landed inside; never on the host. */
    assert_false(exists(host));
    assert_int_equal(r, -EINVAL);
    assert_non_null(strstr(e.msg, through));
    char buf[16] = {0};
    assert_int_equal(readlink(at(f, "a"), buf, sizeof buf - 1), 4);
    assert_string_equal(buf, "/etc");

    /* "d" -> "/" then "d/tmp/pwned-N". */
    char pwn[64], pwn_host[96];
    snprintf(pwn, sizeof pwn, "d/tmp/berth-pwned-%d", getpid());
    snprintf(pwn_host, sizeof pwn_host, "/tmp/berth-pwned-%d", getpid());
    tent t2[] = {{.name = "d", .type = AE_IFLNK, .link = "/"}, {.name = pwn, .data = "pwned"}};
    assert_int_equal(run(f, t2, N(t2), TAR_WHITEOUT_NONE, false, &e), -EINVAL);
    assert_false(exists(pwn_host));

    /* A regular file over an existing symlink replaces the link instead of
     * writing through it. */
    tent t3[] = {{.name = "l", .type = AE_IFLNK, .link = host}, {.name = "l", .data = "mine"}};
    assert_int_equal(run(f, t3, N(t3), TAR_WHITEOUT_NONE, false, &e), 0);
    assert_false(exists(host));
    struct stat st;
    assert_int_equal(lstat(at(f, "l"), &st), 0);
    assert_true(S_ISREG(st.st_mode));
}

static void test_devices(void **state)
{
    fix *f = *state;
    berr e;
    tent t[] = {{.name = "dev/null", .type = AE_IFCHR, .perm = 0666, .rdev = makedev(1, 3)},
                {.name = "dev/fifo", .type = AE_IFIFO, .perm = 0600}};
    assert_int_equal(run(f, t, N(t), TAR_WHITEOUT_NONE, true, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "\"dev/null\""));
    assert_false(exists(at(f, "dev/null")));

    /* A fifo alone is fine unprivileged. */
    assert_int_equal(run(f, t + 1, 1, TAR_WHITEOUT_NONE, true, &e), 0);
    struct stat st;
    assert_int_equal(lstat(at(f, "dev/fifo"), &st), 0);
    assert_true(S_ISFIFO(st.st_mode));

    if (geteuid() != 0)
        return;   /* mknod of a device needs CAP_MKNOD */
    assert_int_equal(run(f, t, N(t), TAR_WHITEOUT_NONE, false, &e), 0);
    assert_int_equal(lstat(at(f, "dev/null"), &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(st.st_rdev, makedev(1, 3));
    assert_int_equal(st.st_mode & 07777, 0666);
}

static void test_gzip(void **state)
{
    fix *f = *state;
    tent t[] = {{.name = "./etc/", .type = AE_IFDIR, .perm = 0755},
                {.name = "./etc/hostname", .data = "berth\n"},
                {.name = "etc//motd", .data = "hello"}};
    write_tar(f->tar, t, N(t), true);
    tar_extract_opts o = {.whiteouts = TAR_WHITEOUT_NONE};
    long long size = -1;
    berr e;
    assert_int_equal(tar_extract(f->tar, f->root, &o, &size, &e), 0);
    assert_int_equal(size, 11);
    char *data = NULL;
    assert_int_equal(fs_read_file(at(f, "etc/hostname"), &data, NULL, &e), 0);
    assert_string_equal(data, "berth\n");
    free(data);
    assert_true(exists(at(f, "etc/motd")));
}

static void test_corrupt(void **state)
{
    fix *f = *state;
    FILE *fp = fopen(f->tar, "w");
    assert_non_null(fp);
    for (int i = 0; i < 2048; i++)
        fputc((i * 7919) & 0xff, fp);
    fclose(fp);
    berr e;
    assert_int_equal(tar_extract(f->tar, f->root, NULL, NULL, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "invalid tar header"));

    /* A valid archive cut in the middle of a member's data. */
    char big[4096];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    tent t[] = {{.name = "big", .data = big}};
    write_tar(f->tar, t, 1, false);
    assert_int_equal(truncate(f->tar, 2048), 0);
    assert_true(tar_extract(f->tar, f->root, NULL, NULL, &e) < 0);
    assert_true(e.msg[0] != 0);

    assert_int_equal(tar_extract("/nonexistent.tar", f->root, NULL, NULL, &e), -ENOENT);
}

static bool trusted_xattrs_work(const char *dir)
{
    if (setxattr(dir, "trusted.berth-probe", "y", 1, 0) < 0)
        return false;
    removexattr(dir, "trusted.berth-probe");
    return true;
}

static void test_overlay_whiteouts(void **state)
{
    fix *f = *state;
    if (geteuid() != 0)
        skip();
    tent t[] = {{.name = "etc/", .type = AE_IFDIR},
                {.name = "etc/.wh.passwd"},
                {.name = ".wh.gone"},
                {.name = "var/.wh..wh..opq"},
                {.name = ".wh..wh.plnk", .type = AE_IFDIR}};
    berr e;
    bool xattrs = trusted_xattrs_work(f->root);
    int r = run(f, t, xattrs ? N(t) : 3, TAR_WHITEOUT_OVERLAY, false, &e);
    assert_int_equal(r, 0);
    struct stat st;
    assert_int_equal(lstat(at(f, "etc/passwd"), &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(st.st_rdev, makedev(0, 0));
    assert_int_equal(lstat(at(f, "gone"), &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    assert_false(exists(at(f, "etc/.wh.passwd")));
    if (!xattrs)
        return;   /* the test filesystem has no trusted.* xattrs */
    char v[4] = {0};
    assert_int_equal(getxattr(at(f, "var"), "trusted.overlay.opaque", v, sizeof v), 1);
    assert_string_equal(v, "y");
    assert_false(exists(at(f, ".wh..wh.plnk")));
}

static void test_invalid_whiteout(void **state)
{
    fix *f = *state;
    tent t[] = {{.name = "a/.wh..."}};
    berr e;
    assert_int_equal(run(f, t, N(t), TAR_WHITEOUT_APPLY, false, &e), -EINVAL);
    assert_int_equal(run(f, t, N(t), TAR_WHITEOUT_OVERLAY, false, &e), -EINVAL);
    assert_nothing_outside(f);
}

static void test_apply_whiteouts(void **state)
{
    fix *f = *state;
    /* The "parent layer" already in the directory. */
    tent base[] = {{.name = "keep", .data = "k"},
                   {.name = "gone", .data = "g"},
                   {.name = "gonedir/sub/file", .data = "g"},
                   {.name = "old/a", .data = "a"},
                   {.name = "old/b", .data = "b"},
                   {.name = "old/sub/c", .data = "c"}};
    berr e;
    assert_int_equal(run(f, base, N(base), TAR_WHITEOUT_NONE, false, &e), 0);

    tent layer[] = {{.name = "old/", .type = AE_IFDIR},
                    {.name = "old/sub/", .type = AE_IFDIR},
                    {.name = "old/sub/new", .data = "n"},
                    {.name = "old/.wh..wh..opq"},
                    {.name = "old/new2", .data = "n2"},
                    {.name = ".wh.gone"},
                    {.name = ".wh.gonedir"},
                    {.name = "nothere/.wh.x"}};
    assert_int_equal(run(f, layer, N(layer), TAR_WHITEOUT_APPLY, false, &e), 0);
    assert_true(exists(at(f, "keep")));
    assert_false(exists(at(f, "gone")));
    assert_false(exists(at(f, "gonedir")));
    assert_false(exists(at(f, "old/a")));
    assert_false(exists(at(f, "old/b")));
    assert_false(exists(at(f, "old/sub/c")));   /* below a dir this layer re-created */
    assert_true(exists(at(f, "old/sub/new")));
    assert_true(exists(at(f, "old/new2")));
    assert_false(exists(at(f, "old/.wh..wh..opq")));
    assert_false(exists(at(f, "nothere")));

    /* Without whiteout handling the names are ordinary files. */
    tent plain[] = {{.name = ".wh.keep", .data = "w"}};
    assert_int_equal(run(f, plain, N(plain), TAR_WHITEOUT_NONE, false, &e), 0);
    assert_true(exists(at(f, "keep")));
    assert_true(exists(at(f, ".wh.keep")));
}

static void test_modes_and_times(void **state)
{
    fix *f = *state;
    tent t[] = {{.name = "d/", .type = AE_IFDIR, .perm = 0750, .mtime = 1234567890},
                {.name = "d/f", .perm = 0640, .data = "x", .mtime = 1000000000},
                {.name = "d/suid", .perm = 04755, .data = "x"},
                {.name = "ro/", .type = AE_IFDIR, .perm = 0555, .mtime = 1111111111},
                {.name = "ro/inner", .data = "x"},
                {.name = "d/l", .type = AE_IFLNK, .link = "f", .mtime = 1200000000},
                {.name = "implicit/deep/file", .data = "x"}};
    umask(077);   /* must not leak into implied directories */
    berr e;
    assert_int_equal(run(f, t, N(t), TAR_WHITEOUT_NONE, false, &e), 0);
    umask(022);
    struct stat st;
    assert_int_equal(stat(at(f, "d"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0750);
    assert_int_equal(st.st_mtime, 1234567890);
    assert_int_equal(stat(at(f, "d/f"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(st.st_mtime, 1000000000);
    assert_int_equal(stat(at(f, "d/suid"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 04755);
    assert_int_equal(stat(at(f, "ro"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0555);
    assert_int_equal(st.st_mtime, 1111111111);
    assert_int_equal(lstat(at(f, "d/l"), &st), 0);
    assert_int_equal(st.st_mtime, 1200000000);
    assert_int_equal(stat(at(f, "implicit/deep"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
}

static void test_hardlink_inside(void **state)
{
    fix *f = *state;
    tent t[] = {{.name = "bin/busybox", .perm = 0755, .data = "ELF..."},
                {.name = "bin/sh", .hardlink = "bin/busybox"},
                {.name = "./usr/bin/ls", .hardlink = "./bin//busybox"},
                {.name = "self", .data = "s"},
                {.name = "self", .hardlink = "self"}};
    write_tar(f->tar, t, N(t), false);
    long long size = 0;
    berr e;
    assert_int_equal(tar_extract(f->tar, f->root, NULL, &size, &e), 0);
    assert_int_equal(size, 7);   /* links add no bytes */
    struct stat a, b, c;
    assert_int_equal(lstat(at(f, "bin/busybox"), &a), 0);
    assert_int_equal(lstat(at(f, "bin/sh"), &b), 0);
    assert_int_equal(lstat(at(f, "usr/bin/ls"), &c), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_int_equal(a.st_ino, c.st_ino);
    assert_int_equal(a.st_nlink, 3);
    assert_true(exists(at(f, "self")));

    tent missing[] = {{.name = "x", .hardlink = "nope"}};
    assert_int_equal(run(f, missing, 1, TAR_WHITEOUT_NONE, false, &e), -ENOENT);
}

static void test_replace_types(void **state)
{
    fix *f = *state;
    tent t[] = {{.name = "a", .data = "file"},
                {.name = "a/", .type = AE_IFDIR},
                {.name = "a/x", .data = "x"},
                {.name = "b/c/d", .data = "deep"},
                {.name = "b", .data = "now a file"}};
    berr e;
    assert_int_equal(run(f, t, N(t), TAR_WHITEOUT_NONE, false, &e), 0);
    struct stat st;
    assert_int_equal(lstat(at(f, "a"), &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_true(exists(at(f, "a/x")));
    assert_int_equal(lstat(at(f, "b"), &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_size, 10);
}

/* A relative symlink inside the layer is an ordinary path component. */
static void test_symlink_inside_followed(void **state)
{
    fix *f = *state;
    tent t[] = {{.name = "usr/lib/", .type = AE_IFDIR},
                {.name = "lib", .type = AE_IFLNK, .link = "usr/lib"},
                {.name = "lib/libc.so", .data = "x"},
                {.name = "d/", .type = AE_IFDIR},
                {.name = "d/x", .hardlink = "lib/libc.so"}};
    berr e;
    assert_int_equal(run(f, t, N(t), TAR_WHITEOUT_NONE, false, &e), 0);
    struct stat a, b;
    assert_int_equal(lstat(at(f, "usr/lib/libc.so"), &a), 0);
    assert_int_equal(lstat(at(f, "d/x"), &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_nothing_outside(f);
}

static void test_utf8_name(void **state)
{
    fix *f = *state;
    tent t[] = {{.name = "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac", .data = "x"}};
    berr e;
    assert_int_equal(run(f, t, N(t), TAR_WHITEOUT_NONE, false, &e), 0);
    assert_true(exists(at(f, "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dotdot_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absolute_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hardlink_escape_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relative_symlink_escape_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absolute_symlink_does_not_reach_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_devices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overlay_whiteouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_whiteout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apply_whiteouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_modes_and_times, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hardlink_inside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_inside_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_utf8_name, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
