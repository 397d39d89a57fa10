/* Paths inside a container root (runtime/layer/archive.c): the path grammar
 * dockerd uses for `docker cp`, Go file modes, the stat header JSON,
 * symlink resolution confined to the root, and stat/get/extract/export
 * against a scratch root full of hostile symlinks. */
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
#include <unistd.h>

#include <cmocka.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "runtime/layer/archive.h"

/* ---- path grammar ---------------------------------------------------------- */

static void check_path(const char *in, const char *abs, const char *dir, const char *base, const char *name,
                       bool follow)
{
    rt_cpath p;
    berr e = {0};
    assert_int_equal(rt_cpath_parse(in, &p, &e), 0);
    assert_string_equal(p.abs, abs);
    assert_string_equal(p.dir, dir);
    assert_string_equal(p.base, base);
    assert_string_equal(p.name, name);
    assert_int_equal(p.follow, follow);
    rt_cpath_free(&p);
}

static void test_cpath(void **state)
{
    (void)state;
    check_path("etc/hosts", "/etc/hosts", "/etc", "hosts", "hosts", false);
    check_path("/etc/hosts", "/etc/hosts", "/etc", "hosts", "hosts", false);
    check_path("/etc/", "/etc/", "/etc", "", "etc", true);
    check_path("/etc/.", "/etc/.", "/etc", "", ".", true);
    check_path("/etc/./", "/etc/./", "/etc", "", ".", true);
    check_path("/", "/", "/", "", "/", true);
    check_path(".", "/.", "/", "", ".", true);
    check_path("/a/../b//c", "/b/c", "/b", "c", "c", false);
    check_path("../../x", "/x", "/", "x", "x", false);
    check_path("/x/..", "/", "/", "", "/", true);

    rt_cpath p;
    berr e = {0};
    assert_int_equal(rt_cpath_parse("", &p, &e), -EINVAL);
    assert_string_equal(e.msg, "path is required");
}

static void test_go_filemode(void **state)
{
    (void)state;
    assert_int_equal(rt_go_filemode(S_IFREG | 0644), 0644);
    assert_int_equal(rt_go_filemode(S_IFDIR | 0755), (1u << 31) | 0755);
    assert_int_equal(rt_go_filemode(S_IFLNK | 0777), 134218239u);
    assert_int_equal(rt_go_filemode(S_IFCHR | 0666), (1u << 26) | (1u << 21) | 0666);
    assert_int_equal(rt_go_filemode(S_IFBLK | 0660), (1u << 26) | 0660);
    assert_int_equal(rt_go_filemode(S_IFIFO | 0600), (1u << 25) | 0600);
    assert_int_equal(rt_go_filemode(S_IFSOCK | 0755), (1u << 24) | 0755);
    assert_int_equal(rt_go_filemode(S_IFREG | 04755), (1u << 23) | 0755);
    assert_int_equal(rt_go_filemode(S_IFREG | 02755), (1u << 22) | 0755);
    assert_int_equal(rt_go_filemode(S_IFDIR | 01777), (1u << 31) | (1u << 20) | 0777);
}

static void test_stat_json(void **state)
{
    (void)state;
    rt_path_stat st = {.name = "hosts", .size = 174, .mode = 0644, .link_target = ""};
    st.mtime = (struct timespec){1704067200, 123000000};
    json_t *j = rt_path_stat_json(&st);
    cleanup_free char *text = json_dumps(j, JSON_COMPACT);
    assert_string_equal(text, "{\"name\":\"hosts\",\"size\":174,\"mode\":420,\"mtime\":\"2024-01-01T00:00:00.123Z\","
                              "\"linkTarget\":\"\"}");
    json_decref(j);
    st.mtime.tv_nsec = 0;
    j = rt_path_stat_json(&st);
    assert_string_equal(json_string_value(json_object_get(j, "mtime")), "2024-01-01T00:00:00Z");
    json_decref(j);
}

/* ---- a scratch root ------------------------------------------------------------ */

typedef struct fix {
    char base[64];   /* scratch dir; the root is base/root, host-side files in base */
    char root[96];
    int rootfd;
} fix;

static void put(const fix *f, const char *rel, const char *content)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", f->root, rel);
    berr e;
    assert_int_equal(fs_write_file_atomic(p, content, strlen(content), 0644, &e), 0);
}

static void link_at(const fix *f, const char *target, const char *rel)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", f->root, rel);
    assert_int_equal(symlink(target, p), 0);
}

static void dir_at(const fix *f, const char *rel)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", f->root, rel);
    berr e;
    assert_int_equal(fs_mkdir_p(p, 0755, &e), 0);
}

static int setup(void **state)
{
    fix *f = calloc(1, sizeof *f);
    snprintf(f->base, sizeof f->base, "/tmp/berth-archive-XXXXXX");
    if (!mkdtemp(f->base))
        return -1;
    snprintf(f->root, sizeof f->root, "%s/root", f->base);
    mkdir(f->root, 0755);
    dir_at(f, "etc");
    dir_at(f, "dir/sub");
    put(f, "etc/hosts", "h");
    put(f, "dir/sub/f", "ff");
    link_at(f, "/etc/hosts", "etc/link");
    link_at(f, "../../../etc", "rel");        /* climbs above the root: stays at "/" */
    link_at(f, "/../../..", "escape");
    link_at(f, "/dir", "absdir");
    link_at(f, "/nonexistent/x", "dangling");
    link_at(f, "loop2", "loop1");
    link_at(f, "loop1", "loop2");
    f->rootfd = open(f->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    *state = f;
    return f->rootfd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    fix *f = *state;
    close(f->rootfd);
    fs_rm_rf(f->base, NULL);
    free(f);
    return 0;
}

static void check_resolve(const fix *f, const char *in, const char *want)
{
    char *out = NULL;
    berr e = {0};
    assert_int_equal(rt_archive_resolve(f->rootfd, in, &out, &e), 0);
    assert_string_equal(out, want);
    free(out);
}

static void test_resolve(void **state)
{
    fix *f = *state;
    check_resolve(f, "/etc/link", "/etc/hosts");
    check_resolve(f, "/rel/hosts", "/etc/hosts");
    check_resolve(f, "/escape/etc/passwd", "/etc/passwd");
    check_resolve(f, "/dangling", "/nonexistent/x");
    check_resolve(f, "/absdir/sub/f", "/dir/sub/f");
    check_resolve(f, "/dir/../../../etc/./hosts", "/etc/hosts");
    check_resolve(f, "/", "/");
    char *out = NULL;
    berr e = {0};
    assert_int_equal(rt_archive_resolve(f->rootfd, "/loop1", &out, &e), -ELOOP);
}

static void test_stat(void **state)
{
    fix *f = *state;
    rt_path_stat st;
    berr e = {0};
    assert_int_equal(rt_archive_stat(f->rootfd, "/etc/link", NULL, 0, &st, &e), 0);
    assert_string_equal(st.name, "link");
    assert_int_equal(st.mode, (1u << 27) | 0777);
    assert_string_equal(st.link_target, "/etc/hosts");
    rt_path_stat_free(&st);

    /* symlinks before the last component resolve inside the root */
    assert_int_equal(rt_archive_stat(f->rootfd, "/rel/hosts", NULL, 0, &st, &e), 0);
    assert_int_equal(st.size, 1);
    assert_int_equal(st.mode, 0644);
    assert_string_equal(st.link_target, "");
    rt_path_stat_free(&st);

    /* the host's /etc/passwd is not the container's */
    assert_int_equal(rt_archive_stat(f->rootfd, "/escape/etc/passwd", NULL, 0, &st, &e), -ENOENT);
    assert_int_equal(rt_archive_stat(f->rootfd, "/nonexistent", NULL, 0, &st, &e), -ENOENT);

    /* a trailing slash follows the last link too */
    assert_int_equal(rt_archive_stat(f->rootfd, "/absdir/", NULL, 0, &st, &e), 0);
    assert_string_equal(st.name, "absdir");
    assert_int_equal(st.mode, (1u << 31) | 0755);
    rt_path_stat_free(&st);
    assert_int_equal(rt_archive_stat(f->rootfd, "/etc/hosts/", NULL, 0, &st, &e), -ENOTDIR);
}

/* ---- tars ---------------------------------------------------------------------- */

/* The entry names of the tar in fd, "|"-joined; "name=content" for regular files. */
static char *tar_names(int fd)
{
    lseek(fd, 0, SEEK_SET);
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_fd(a, fd, 4096), ARCHIVE_OK);
    buf b = BUF_INIT;
    buf_puts(&b, "");
    struct archive_entry *ent;
    while (archive_read_next_header(a, &ent) == ARCHIVE_OK) {
        buf_printf(&b, "%s%s", b.len ? "|" : "", archive_entry_pathname(ent));
        if (archive_entry_filetype(ent) == AE_IFREG) {
            char data[64] = "";
            la_ssize_t n = archive_read_data(a, data, sizeof data - 1);
            data[n > 0 ? n : 0] = 0;
            buf_printf(&b, "=%s", data);
        }
    }
    archive_read_free(a);
    return buf_steal(&b);
}

static char *get(const fix *f, const char *path, const rt_archive_bind *binds, size_t n)
{
    int fd = open("/tmp", O_TMPFILE | O_RDWR, 0600);
    assert_true(fd >= 0);
    rt_path_stat st;
    berr e = {0};
    int r = rt_archive_get(f->rootfd, path, binds, n, fd, &st, NULL, &e);
    if (r < 0) {
        close(fd);
        return xasprintf("error %d", r);
    }
    rt_path_stat_free(&st);
    char *names = tar_names(fd);
    close(fd);
    return names;
}

static void check_get(const fix *f, const char *path, const char *want)
{
    cleanup_free char *got = get(f, path, NULL, 0);
    assert_string_equal(got, want);
}

static void test_get(void **state)
{
    fix *f = *state;
    check_get(f, "/etc/hosts", "hosts=h");
    check_get(f, "/dir", "dir/|dir/sub/|dir/sub/f=ff");
    check_get(f, "/dir/.", "./|./sub/|./sub/f=ff");
    check_get(f, "/absdir/", "absdir/|absdir/sub/|absdir/sub/f=ff");
    check_get(f, "/absdir", "absdir");   /* the link itself */
    check_get(f, "/rel/hosts", "hosts=h");
    cleanup_free char *missing = get(f, "/escape/etc/passwd", NULL, 0);
    assert_string_equal(missing, "error -2");

    /* the root: every name starts with "/" and cleans to a relative one */
    cleanup_free char *root = get(f, "/", NULL, 0);
    assert_non_null(strstr(root, "/./|"));
    assert_non_null(strstr(root, "|/./etc/hosts=h"));

    /* a bind-mounted file reads from its host source */
    char host[128];
    snprintf(host, sizeof host, "%s/hosts", f->base);
    berr e;
    assert_int_equal(fs_write_file_atomic(host, "bound", 5, 0644, &e), 0);
    rt_archive_bind b = {"/etc/hosts", host};
    cleanup_free char *bound = get(f, "/rel/hosts", &b, 1);
    assert_string_equal(bound, "hosts=bound");
    rt_path_stat st;
    assert_int_equal(rt_archive_stat(f->rootfd, "/etc/hosts", &b, 1, &st, &e), 0);
    assert_int_equal(st.size, 5);
    rt_path_stat_free(&st);
}

static void test_export(void **state)
{
    fix *f = *state;
    int fd = open("/tmp", O_TMPFILE | O_RDWR, 0600);
    assert_true(fd >= 0);
    berr e = {0};
    assert_int_equal(rt_archive_export(f->rootfd, fd, NULL, &e), 0);
    cleanup_free char *names = tar_names(fd);
    close(fd);
    assert_true(strncmp(names, "absdir|dangling|dir/|dir/sub/|dir/sub/f=ff|escape|etc/", 52) == 0);
}

/* ---- extraction ---------------------------------------------------------------- */

typedef struct tent {
    const char *name;
    const char *content;   /* NULL for a directory */
} tent;

static void write_tar(const char *path, const tent *ents, size_t n)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *ent = archive_entry_new();
        archive_entry_set_pathname(ent, ents[i].name);
        archive_entry_set_filetype(ent, ents[i].content ? AE_IFREG : AE_IFDIR);
        archive_entry_set_perm(ent, ents[i].content ? 0644 : 0755);
        archive_entry_set_size(ent, ents[i].content ? (la_int64_t)strlen(ents[i].content) : 0);
        archive_entry_set_uid(ent, 0);
        archive_entry_set_gid(ent, 0);
        archive_write_header(a, ent);
        if (ents[i].content)
            archive_write_data(a, ents[i].content, strlen(ents[i].content));
        archive_entry_free(ent);
    }
    archive_write_close(a);
    archive_write_free(a);
}

static bool exists(const fix *f, const char *rel)
{
    char p[256];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", f->root, rel);
    return lstat(p, &st) == 0;
}

static void test_extract(void **state)
{
    fix *f = *state;
    char tar[128];
    snprintf(tar, sizeof tar, "%s/in.tar", f->base);
    tent ents[] = {{"new/", NULL}, {"new/file", "x"}, {"top", "t"}};
    write_tar(tar, ents, 3);
    berr e = {0};
    rt_extract_opts o = {.no_overwrite_dir_nondir = true};

    assert_int_equal(rt_archive_extract(f->rootfd, "/dir", tar, &o, &e), 0);
    assert_true(exists(f, "dir/new/file") && exists(f, "dir/top"));
    /* into a symlink to a directory: into the directory, inside the root */
    assert_int_equal(rt_archive_extract(f->rootfd, "/absdir/sub", tar, &o, &e), 0);
    assert_true(exists(f, "dir/sub/new/file"));
    assert_int_equal(rt_archive_extract(f->rootfd, "/escape", tar, &o, &e), 0);
    assert_true(exists(f, "top") && exists(f, "new/file"));

    assert_int_equal(rt_archive_extract(f->rootfd, "/etc/hosts", tar, &o, &e), -EINVAL);
    assert_string_equal(e.msg, "extraction point is not a directory");
    assert_int_equal(rt_archive_extract(f->rootfd, "/missing", tar, &o, &e), -ENOENT);
    rt_extract_opts ro = {.readonly_root = true};
    assert_int_equal(rt_archive_extract(f->rootfd, "/dir", tar, &ro, &e), -EINVAL);
    assert_string_equal(e.msg, "container rootfs is marked read-only");

    /* a file over a directory, and a directory over a file */
    tent clash1[] = {{"sub", "file now"}};
    write_tar(tar, clash1, 1);
    assert_int_equal(rt_archive_extract(f->rootfd, "/dir", tar, &o, &e), -EISDIR);
    assert_string_equal(e.msg, "cannot overwrite directory \"/dir/sub\" with non-directory \"/dir\"");
    tent clash2[] = {{"./top/", NULL}};
    write_tar(tar, clash2, 1);
    assert_int_equal(rt_archive_extract(f->rootfd, "/dir", tar, &o, &e), -ENOTDIR);
    /* allowed without the option */
    rt_extract_opts plain = {0};
    assert_int_equal(rt_archive_extract(f->rootfd, "/dir", tar, &plain, &e), 0);
    struct stat st;
    char p[256];
    snprintf(p, sizeof p, "%s/dir/top", f->root);
    assert_int_equal(stat(p, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
}

static void test_extract_chown(void **state)
{
    fix *f = *state;
    if (geteuid() != 0)
        skip();
    put(f, "etc/passwd", "app:x:1234:4321::/:/bin/sh\n");
    put(f, "etc/group", "app:x:4321:\n");
    char tar[128];
    snprintf(tar, sizeof tar, "%s/in.tar", f->base);
    tent ents[] = {{"owned/", NULL}, {"owned/f", "x"}};
    write_tar(tar, ents, 2);
    berr e = {0};
    rt_extract_opts o = {.chown_user = "app"};
    assert_int_equal(rt_archive_extract(f->rootfd, "/", tar, &o, &e), 0);
    struct stat st;
    char p[256];
    snprintf(p, sizeof p, "%s/owned/f", f->root);
    assert_int_equal(lstat(p, &st), 0);
    assert_int_equal(st.st_uid, 1234);
    assert_int_equal(st.st_gid, 4321);
    o.chown_user = "nosuchuser";
    assert_int_equal(rt_archive_extract(f->rootfd, "/", tar, &o, &e), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpath),
        cmocka_unit_test(test_go_filemode),
        cmocka_unit_test(test_stat_json),
        cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export, setup, teardown),
        cmocka_unit_test_setup_teardown(test_extract, setup, teardown),
        cmocka_unit_test_setup_teardown(test_extract_chown, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
