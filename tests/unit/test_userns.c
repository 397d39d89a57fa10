/* --userns-remap's logic (runtime/linux/userns.c): subid files as shadow
 * writes them, dockerd's choice of a free range, the maps laid out from
 * container id 0, translation both ways, and a user namespace and idmapped
 * tree made for real. */
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

#include "runtime/linux/userns.h"

static char *write_tmp(const char *text)
{
    char *path = strdup("/tmp/berth-userns-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_subid_ranges(void **state)
{
    (void)state;
    char *p = write_tmp("# comment\nalice:300000:65536\nbob:100000:65536\n1001:500000:10\n\nalice:200000:1000\n"
                        "carol:broken\n");
    rt_idrange r[4];
    size_t n = 99;
    berr e = {0};
    assert_int_equal(rt_subid_ranges(p, "alice", NULL, r, 4, &n, &e), 0);
    assert_int_equal(n, 2);
    /* sorted by host start */
    assert_int_equal(r[0].host, 200000);
    assert_int_equal(r[0].count, 1000);
    assert_int_equal(r[1].host, 300000);
    /* by numeric id too */
    assert_int_equal(rt_subid_ranges(p, "dave", "1001", r, 4, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(r[0].host, 500000);
    assert_int_equal(rt_subid_ranges(p, "nobody", NULL, r, 4, &n, &e), 0);
    assert_int_equal(n, 0);
    /* the malformed line of the asked name is an error, others' are skipped */
    assert_int_equal(rt_subid_ranges(p, "carol", NULL, r, 4, &n, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "invalid line"));
    assert_int_equal(rt_subid_ranges(p, "alice", NULL, r, 1, &n, &e), -E2BIG);
    /* a missing file has no ranges */
    assert_int_equal(rt_subid_ranges("/nonexistent/subuid", "alice", NULL, r, 4, &n, &e), 0);
    assert_int_equal(n, 0);
    unlink(p);
    free(p);
}

static void test_next_free(void **state)
{
    (void)state;
    berr e = {0};
    uint32_t s;
    char *p = write_tmp("");
    assert_int_equal(rt_subid_next_free(p, 65536, &s, &e), 0);
    assert_int_equal(s, 100000);
    unlink(p);
    free(p);
    /* after the ranges that overlap, in start order, gaps too small skipped */
    p = write_tmp("b:165536:1000\na:100000:65536\nc:300000:65536\n");
    assert_int_equal(rt_subid_next_free(p, 65536, &s, &e), 0);
    assert_int_equal(s, 166536);
    unlink(p);
    free(p);
    p = write_tmp("a:500000:65536\n");
    assert_int_equal(rt_subid_next_free(p, 65536, &s, &e), 0);
    assert_int_equal(s, 100000);
    unlink(p);
    free(p);
    p = write_tmp("a:100000:4294860000\n");
    assert_int_equal(rt_subid_next_free(p, 65536, &s, &e), -ERANGE);
    unlink(p);
    free(p);
}

static void test_build_and_translate(void **state)
{
    (void)state;
    rt_idmap m;
    memset(&m, 0, sizeof m);
    rt_idrange u[2] = {{0, 300000, 10}, {0, 100000, 65536}};
    rt_idrange g[1] = {{0, 200000, 65536}};
    rt_idmap_build(&m, u, 2, g, 1);
    assert_string_equal(m.uid_map, "0 100000 65536\n65536 300000 10\n");
    assert_string_equal(m.gid_map, "0 200000 65536\n");
    uid_t uid;
    gid_t gid;
    assert_int_equal(rt_idmap_uid(&m, 0, &uid), 0);
    assert_int_equal(uid, 100000);
    assert_int_equal(rt_idmap_uid(&m, 65537, &uid), 0);
    assert_int_equal(uid, 300001);
    assert_int_equal(rt_idmap_uid(&m, 65546, &uid), -ERANGE);
    assert_int_equal(rt_idmap_gid(&m, 5, &gid), 0);
    assert_int_equal(gid, 200005);
    assert_int_equal(rt_idmap_uid_inside(&m, 100123, &uid), 0);
    assert_int_equal(uid, 123);
    assert_int_equal(rt_idmap_uid_inside(&m, 0, &uid), -ERANGE);
    assert_int_equal(rt_idmap_gid_inside(&m, 265535, &gid), 0);
    assert_int_equal(gid, 65535);
    assert_int_equal(rt_idmap_gid_inside(&m, 265536, &gid), -ERANGE);
}

static void test_load_errors(void **state)
{
    (void)state;
    rt_idmap m;
    berr e = {0};
    assert_int_equal(rt_idmap_load("no-such-user-berth", &m, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "Can't create ID mappings: Error during uid lookup for \"no-such-user-berth\""));
    assert_int_equal(rt_idmap_load("", &m, &e), -EINVAL);
    assert_int_equal(rt_idmap_load("root:", &m, &e), -EINVAL);
    assert_int_equal(rt_idmap_load("root:no-such-group-berth", &m, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "Error during gid lookup"));
}

/* A user namespace with the mapping, and a tree idmapped through it: a
 * file stored as uid 7 shows as host uid (root + 7). */
static void test_userns_and_idmapped_tree(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    rt_idmap m;
    memset(&m, 0, sizeof m);
    rt_idrange u[1] = {{0, 1100000, 65536}};
    rt_idmap_build(&m, u, 1, u, 1);
    berr e = {0};
    int ns = rt_idmap_userns_fd(&m, &e);
    assert_true(ns >= 0);
    char dir[] = "/tmp/berth-idmap-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char file[64];
    snprintf(file, sizeof file, "%s/f", dir);
    int fd = open(file, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    assert_int_equal(fchown(fd, 7, 8), 0);
    close(fd);
    int tree = rt_idmapped_tree(dir, ns, &e);
    assert_true(tree >= 0);
    struct stat st;
    assert_int_equal(fstatat(tree, "f", &st, 0), 0);
    assert_int_equal(st.st_uid, 1100007);
    assert_int_equal(st.st_gid, 1100008);
    /* as the remapped root this thread creates files stored as root */
    rt_fscreds saved;
    assert_int_equal(rt_fscreds_enter(&m, &saved, &e), 0);
    int nf = openat(tree, "new", O_CREAT | O_WRONLY, 0644);
    rt_fscreds_leave(&saved);
    assert_true(nf >= 0);
    close(nf);
    snprintf(file, sizeof file, "%s/new", dir);
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_uid, 0);
    assert_int_equal(geteuid(), 0);
    close(tree);
    close(ns);
    unlink(file);
    snprintf(file, sizeof file, "%s/f", dir);
    unlink(file);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subid_ranges),
        cmocka_unit_test(test_next_free),
        cmocka_unit_test(test_build_and_translate),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_userns_and_idmapped_tree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
