/* --user resolution against a scratch rootfs holding passwd and group
 * files, including symlinked ones that must resolve inside the rootfs. */
#include <errno.h>
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

#include "lib/fsutil.h"
#include "runtime/linux/user.h"

static const char passwd_text[] =
    "root:x:0:0:root:/root:/bin/sh\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "\n"
    "alice:x:1000:1000:Alice:/home/alice:/bin/sh\r\n"
    "bob:x:1001:1001::/home/bob:/bin/sh\n"
    "short:x:1002\n"
    "alice:x:2000:2000:second alice:/nowhere:/bin/sh\n"
    "  1234:x:3000:3000::/home/numeric:/bin/sh";   /* a name that looks like a number; no final newline */

static const char group_text[] =
    "root:x:0:root\n"
    "wheel:x:10:root,alice\n"
    "users:x:100:bob,alice\n"
    "alice:x:1000:\n"
    "bob:x:1001:\n"
    "docker:x:999:carol\n"
    "555:x:4000:\n";

typedef struct fix {
    char root[64];
} fix;

static void write_at(const fix *f, const char *rel, const char *text)
{
    char path[256];
    berr e = {0};
    snprintf(path, sizeof path, "%s/%s", f->root, rel);
    if (fs_write_file_atomic(path, text, strlen(text), 0644, &e) < 0)
        fail_msg("%s", e.msg);
}

static int setup(void **state)
{
    fix *f = calloc(1, sizeof *f);
    char etc[128];
    snprintf(f->root, sizeof f->root, "/tmp/berth-user-XXXXXX");
    if (!mkdtemp(f->root))
        return -1;
    snprintf(etc, sizeof etc, "%s/etc", f->root);
    if (mkdir(etc, 0755) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fix *f = *state;
    berr e = {0};
    fs_rm_rf(f->root, &e);
    free(f);
    return 0;
}

static rt_user resolve_ok(const fix *f, const char *spec, const char *const *add, size_t n_add)
{
    rt_user u;
    berr e = {0};
    int rc = rt_user_resolve(f->root, spec, add, n_add, &u, &e);
    if (rc < 0)
        fail_msg("resolving \"%s\": %s", spec, e.msg);
    return u;
}

static void resolve_fails(const fix *f, const char *spec, const char *const *add, size_t n_add, const char *msg)
{
    rt_user u;
    berr e = {0};
    int rc = rt_user_resolve(f->root, spec, add, n_add, &u, &e);
    if (rc != -EINVAL)
        fail_msg("resolving \"%s\": expected -EINVAL, got %d", spec, rc);
    assert_string_equal(e.msg, msg);
    assert_null(u.groups);
}

static void assert_groups(const rt_user *u, const gid_t *want, size_t n)
{
    assert_int_equal(u->n_groups, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(u->groups[i], want[i]);
}

static void test_root_default(void **state)
{
    fix *f = *state;
    write_at(f, "etc/passwd", passwd_text);
    write_at(f, "etc/group", group_text);
    rt_user u = resolve_ok(f, "", NULL, 0);
    assert_int_equal(u.uid, 0);
    assert_int_equal(u.gid, 0);
    assert_string_equal(u.home, "/root");
    assert_groups(&u, (gid_t[]){0, 10}, 2);
    rt_user_free(&u);

    /* NULL is the same as "". */
    u = resolve_ok(f, NULL, NULL, 0);
    assert_int_equal(u.uid, 0);
    rt_user_free(&u);
}

static void test_by_name(void **state)
{
    fix *f = *state;
    write_at(f, "etc/passwd", passwd_text);
    write_at(f, "etc/group", group_text);

    /* First match wins; a CRLF line is still understood. */
    rt_user u = resolve_ok(f, "alice", NULL, 0);
    assert_int_equal(u.uid, 1000);
    assert_int_equal(u.gid, 1000);
    assert_string_equal(u.home, "/home/alice");
    assert_groups(&u, (gid_t[]){10, 100}, 2);
    rt_user_free(&u);

    u = resolve_ok(f, "daemon", NULL, 0);
    assert_int_equal(u.uid, 1);
    assert_int_equal(u.gid, 1);
    assert_string_equal(u.home, "/usr/sbin");
    assert_int_equal(u.n_groups, 0);
    rt_user_free(&u);

    /* A line too short for gid and home: what is missing defaults. */
    u = resolve_ok(f, "short", NULL, 0);
    assert_int_equal(u.uid, 1002);
    assert_int_equal(u.gid, 0);
    assert_string_equal(u.home, "/");
    rt_user_free(&u);

    resolve_fails(f, "nobody", NULL, 0, "unable to find user nobody: no matching entries in passwd file");
}

static void test_numeric(void **state)
{
    fix *f = *state;
    write_at(f, "etc/passwd", passwd_text);
    write_at(f, "etc/group", group_text);

    /* Known uid: everything from passwd. */
    rt_user u = resolve_ok(f, "1001", NULL, 0);
    assert_int_equal(u.uid, 1001);
    assert_int_equal(u.gid, 1001);
    assert_string_equal(u.home, "/home/bob");
    assert_groups(&u, (gid_t[]){100}, 1);
    rt_user_free(&u);

    /* Unknown uid: accepted, gid 0, home "/". */
    u = resolve_ok(f, "4242", NULL, 0);
    assert_int_equal(u.uid, 4242);
    assert_int_equal(u.gid, 0);
    assert_string_equal(u.home, "/");
    assert_int_equal(u.n_groups, 0);
    rt_user_free(&u);

    /* A number is always a uid, never the user named "1234". */
    u = resolve_ok(f, "1234", NULL, 0);
    assert_int_equal(u.uid, 1234);
    assert_int_equal(u.gid, 0);
    rt_user_free(&u);

    u = resolve_ok(f, "4242:4343", NULL, 0);
    assert_int_equal(u.uid, 4242);
    assert_int_equal(u.gid, 4343);
    rt_user_free(&u);

    resolve_fails(f, "-1", NULL, 0, "uids and gids must be in range 0-2147483647");
    resolve_fails(f, "2147483648", NULL, 0, "uids and gids must be in range 0-2147483647");
    resolve_fails(f, "0:-5", NULL, 0, "uids and gids must be in range 0-2147483647");
}

static void test_user_group(void **state)
{
    fix *f = *state;
    write_at(f, "etc/passwd", passwd_text);
    write_at(f, "etc/group", group_text);

    /* An explicit group replaces the gid and drops /etc/group memberships. */
    rt_user u = resolve_ok(f, "alice:users", NULL, 0);
    assert_int_equal(u.uid, 1000);
    assert_int_equal(u.gid, 100);
    assert_string_equal(u.home, "/home/alice");
    assert_int_equal(u.n_groups, 0);
    rt_user_free(&u);

    u = resolve_ok(f, "1000:10", NULL, 0);
    assert_int_equal(u.uid, 1000);
    assert_int_equal(u.gid, 10);
    rt_user_free(&u);

    /* A numeric group is a gid even when a group is named like it. */
    u = resolve_ok(f, "bob:555", NULL, 0);
    assert_int_equal(u.gid, 555);
    rt_user_free(&u);

    u = resolve_ok(f, "4242:docker", NULL, 0);
    assert_int_equal(u.uid, 4242);
    assert_int_equal(u.gid, 999);
    rt_user_free(&u);

    /* Extra fields after the group are ignored, as runc does. */
    u = resolve_ok(f, "bob:users:junk", NULL, 0);
    assert_int_equal(u.gid, 100);
    rt_user_free(&u);

    resolve_fails(f, "alice:nogroup", NULL, 0, "unable to find group nogroup: no matching entries in group file");
    resolve_fails(f, "nobody:users", NULL, 0, "unable to find user nobody: no matching entries in passwd file");
}

static void test_group_add(void **state)
{
    fix *f = *state;
    write_at(f, "etc/passwd", passwd_text);
    write_at(f, "etc/group", group_text);

    const char *add[] = {"docker", "4000", "77", "users", "docker"};
    rt_user u = resolve_ok(f, "alice", add, 5);
    /* memberships first, then additions, each gid once */
    assert_groups(&u, (gid_t[]){10, 100, 999, 4000, 77}, 5);
    rt_user_free(&u);

    /* A group named "555" is found by name. */
    const char *named[] = {"555"};
    u = resolve_ok(f, "alice:alice", named, 1);
    assert_groups(&u, (gid_t[]){4000}, 1);
    rt_user_free(&u);

    const char *bad[] = {"users", "ghosts"};
    resolve_fails(f, "alice", bad, 2, "unable to find group ghosts: no matching entries in group file");
    const char *neg[] = {"-3"};
    resolve_fails(f, "alice", neg, 1, "uids and gids must be in range 0-2147483647");
}

static void test_missing_files(void **state)
{
    fix *f = *state;

    /* No passwd, no group: numbers work, names do not. */
    rt_user u = resolve_ok(f, "", NULL, 0);
    assert_int_equal(u.uid, 0);
    assert_int_equal(u.gid, 0);
    assert_string_equal(u.home, "/");
    rt_user_free(&u);

    u = resolve_ok(f, "1000:1000", (const char *[]){"5"}, 1);
    assert_int_equal(u.uid, 1000);
    assert_int_equal(u.gid, 1000);
    assert_groups(&u, (gid_t[]){5}, 1);
    rt_user_free(&u);

    resolve_fails(f, "alice", NULL, 0, "unable to find user alice: no matching entries in passwd file");
    resolve_fails(f, "0:wheel", NULL, 0, "unable to find group wheel: no matching entries in group file");

    /* A rootfs without /etc at all. */
    char etc[128];
    snprintf(etc, sizeof etc, "%s/etc", f->root);
    assert_int_equal(rmdir(etc), 0);
    u = resolve_ok(f, "7", NULL, 0);
    assert_int_equal(u.uid, 7);
    rt_user_free(&u);

    /* A directory where passwd should be reads as no passwd. */
    assert_int_equal(mkdir(etc, 0755), 0);
    snprintf(etc, sizeof etc, "%s/etc/passwd", f->root);
    assert_int_equal(mkdir(etc, 0755), 0);
    resolve_fails(f, "root", NULL, 0, "unable to find user root: no matching entries in passwd file");

    berr e = {0};
    assert_int_equal(rt_user_resolve("/nonexistent-berth-root", "", NULL, 0, &u, &e), -ENOENT);
}

static void test_symlinks_stay_inside(void **state)
{
    fix *f = *state;
    char path[256];

    /* A relative symlink inside the rootfs is followed. */
    write_at(f, "etc/passwd.real", passwd_text);
    snprintf(path, sizeof path, "%s/etc/passwd", f->root);
    assert_int_equal(symlink("passwd.real", path), 0);
    /* An absolute one resolves against the rootfs, not the host. */
    write_at(f, "group.inside", "inside:x:321:alice\n");
    snprintf(path, sizeof path, "%s/etc/group", f->root);
    assert_int_equal(symlink("/group.inside", path), 0);

    rt_user u = resolve_ok(f, "alice", NULL, 0);
    assert_int_equal(u.uid, 1000);
    assert_groups(&u, (gid_t[]){321}, 1);
    rt_user_free(&u);

    /* Pointing at the host's files finds nothing: /etc/shadow (and
     * ../../../../etc/passwd) are looked up inside the rootfs. */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(symlink("/etc/shadow", path), 0);
    snprintf(path, sizeof path, "%s/etc/passwd", f->root);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(symlink("../../../../../../../etc/passwd", path), 0);
    /* The host has a root user and a root group; the rootfs now has neither. */
    resolve_fails(f, "root", NULL, 0, "unable to find user root: no matching entries in passwd file");
    resolve_fails(f, "0:root", NULL, 0, "unable to find group root: no matching entries in group file");

    /* A symlinked /etc directory resolves inside as well. */
    char etc[128], real[128];
    snprintf(etc, sizeof etc, "%s/etc", f->root);
    snprintf(real, sizeof real, "%s/etc.real", f->root);
    assert_int_equal(rename(etc, real), 0);
    assert_int_equal(symlink("/etc.real", etc), 0);
    unlink(strcat(real, "/passwd"));
    write_at(f, "etc.real/passwd", "carol:x:77:88::/c:/bin/sh\n");
    u = resolve_ok(f, "carol", NULL, 0);
    assert_int_equal(u.uid, 77);
    assert_int_equal(u.gid, 88);
    assert_string_equal(u.home, "/c");
    rt_user_free(&u);
}

static void test_fifo_not_read(void **state)
{
    fix *f = *state;
    char path[256];
    /* Opening a FIFO for reading would block forever. */
    snprintf(path, sizeof path, "%s/etc/passwd", f->root);
    assert_int_equal(mkfifo(path, 0644), 0);
    rt_user u = resolve_ok(f, "55", NULL, 0);
    assert_int_equal(u.uid, 55);
    rt_user_free(&u);
    resolve_fails(f, "root", NULL, 0, "unable to find user root: no matching entries in passwd file");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_root_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_by_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_numeric, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_add, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlinks_stay_inside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo_not_read, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
