/* The container's view of /sys/fs/cgroup (runtime/linux/cgroup_fs.c) from a
 * fake v1 tree laid out like a hybrid host, the /proc/self/cgroup parser
 * behind it, and dockerd's --device-cgroup-rule syntax. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/buf.h"
#include "runtime/container/spec.h"
#include "runtime/linux/cgroup_fs.h"

#define ID "0123456789abcdef"

static void touch(const char *root, const char *rel)
{
    char *path = xasprintf("%s/%s", root, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    free(path);
}

static void mkdir_in(const char *root, const char *rel)
{
    char *path = xasprintf("%s/%s", root, rel);
    assert_int_equal(mkdir(path, 0755), 0);
    free(path);
}

static void test_proc_path(void **state)
{
    (void)state;
    const char *text = "12:net_cls,net_prio:/a\n9:name=systemd:/user.slice/x:y\n4:memory:/process_api/1\n0::/\n";
    char out[64];
    assert_true(rt_cgroup_fs_proc_path(text, "systemd", out, sizeof out));
    assert_string_equal(out, "/user.slice/x:y");
    assert_true(rt_cgroup_fs_proc_path(text, "net_cls,net_prio", out, sizeof out));
    assert_string_equal(out, "/a");
    assert_true(rt_cgroup_fs_proc_path(text, "memory", out, sizeof out));
    assert_string_equal(out, "/process_api/1");
    /* a part of a co-mounted list is not the hierarchy, nor is v2's empty field */
    assert_false(rt_cgroup_fs_proc_path(text, "net_cls", out, sizeof out));
    assert_false(rt_cgroup_fs_proc_path(text, "", out, sizeof out));
    assert_false(rt_cgroup_fs_proc_path(text, "pids", out, sizeof out));
    assert_false(rt_cgroup_fs_proc_path(text, "memory", out, 5));   /* too long for out */
}

static void test_v1_view(void **state)
{
    (void)state;
    char root[] = "/tmp/berth-cgfs-XXXXXX";
    assert_non_null(mkdtemp(root));
    /* managed, co-mounted with symlinks, unmanaged, cgroup2 beside, junk */
    const char *dirs[] = {"memory", "cpu,cpuacct", "systemd", "net_cls", "unified", "notacgroup"};
    for (size_t i = 0; i < 6; i++)
        mkdir_in(root, dirs[i]);
    for (size_t i = 0; i < 5; i++) {
        char *f = xasprintf("%s/cgroup.procs", dirs[i]);
        touch(root, f);
        free(f);
    }
    touch(root, "unified/cgroup.controllers");
    char *l = xasprintf("%s/cpu", root);
    assert_int_equal(symlink("cpu,cpuacct", l), 0);
    free(l);
    l = xasprintf("%s/elsewhere", root);
    assert_int_equal(symlink("/etc", l), 0);
    free(l);

    rt_cgroups cg = {.version = RT_CGROUP_V1};
    snprintf(cg.root, sizeof cg.root, "%s", root);
    rt_cgroup_fs *fs = rt_cgroup_fs_new(&cg, ID, false, "9:name=systemd:/sys.slice\n3:net_prio:/\n");
    assert_false(fs->unified);
    assert_false(fs->writable);
    /* sorted: cpu (link), cpu,cpuacct, memory, systemd; net_cls is not in the
     * daemon's own list, unified is v2, the rest no hierarchy */
    assert_int_equal(fs->n_dirs, 4);
    assert_string_equal(fs->dirs[0].name, "cpu");
    assert_null(fs->dirs[0].source);
    assert_string_equal(fs->dirs[0].link, "cpu,cpuacct");
    char *want = xasprintf("%s/cpu,cpuacct/berth/" ID, root);
    assert_string_equal(fs->dirs[1].source, want);
    free(want);
    want = xasprintf("%s/memory/berth/" ID, root);
    assert_string_equal(fs->dirs[2].name, "memory");
    assert_string_equal(fs->dirs[2].source, want);
    free(want);
    want = xasprintf("%s/systemd/sys.slice", root);
    assert_string_equal(fs->dirs[3].source, want);
    free(want);
    rt_cgroup_fs_free(fs);

    cg.version = RT_CGROUP_V2;
    fs = rt_cgroup_fs_new(&cg, ID, true, "");
    assert_true(fs->unified && fs->writable);
    assert_int_equal(fs->n_dirs, 0);
    rt_cgroup_fs_free(fs);
    char *cmd = xasprintf("rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

static void test_device_rules(void **state)
{
    (void)state;
    const char *good[] = {"c 1:3 rwm", "b 8:* r", "a *:* rwm", "c 42:* mw", "c 1:3 rrr"};
    const char *bad[] = {"c 1:3 rwx", "c 1:3", "d 1:3 r", "c 1:3 rwmr", "c 1 r", "c :3 r", "c  1:3 r",
                         "c 1:3 r ", "", "c 1:3 "};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_true(rt_device_cgroup_rule_valid(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (rt_device_cgroup_rule_valid(bad[i]))
            fail_msg("accepted \"%s\"", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proc_path),
        cmocka_unit_test(test_v1_view),
        cmocka_unit_test(test_device_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
