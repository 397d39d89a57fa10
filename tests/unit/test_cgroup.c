/* Container cgroups: the v1 and v2 back ends against fake trees of plain
 * files under a scratch directory (each file holds the last value written),
 * then the real v1 hierarchy of the test machine when running as root:
 * limits, enter, stats, pause, an OOM kill and destroy. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/buf.h"
#include "lib/fsutil.h"
#include "runtime/linux/cgroup.h"
#include "runtime/linux/cgroup_internal.h"

#define MiB (1024LL * 1024)
#define ID "0123456789abcdef"

/* --- helpers ---------------------------------------------------------- */

static void mkfile(const char *dir, const char *name, const char *content)
{
    char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    assert_int_equal(fclose(f), 0);
    free(path);
}

static char *slurp(const char *dir, const char *name)
{
    char *path = xasprintf("%s/%s", dir, name);
    char *data = NULL;
    berr e;
    int r = fs_read_file(path, &data, NULL, &e);
    if (r < 0)
        fail_msg("%s", e.msg);
    free(path);
    return data;
}

#define assert_file(dir, name, expected)                 \
    do {                                                 \
        char *got_ = slurp((dir), (name));               \
        assert_string_equal(rt_cg_strip(got_), (expected)); \
        free(got_);                                      \
    } while (0)

static char *mkdirf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *mkdirf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf b = BUF_INIT;
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    berr e;
    if (fs_mkdir_p(b.data, 0755, &e) < 0)
        fail_msg("%s", e.msg);
    return buf_steal(&b);
}

static void touch_all(const char *dir, const char *const *files)
{
    for (; *files; files++)
        mkfile(dir, *files, "");
}

typedef struct fixture {
    char root[64];
} fixture;

static int setup(void **state)
{
    fixture *f = xcalloc(1, sizeof *f);
    snprintf(f->root, sizeof f->root, "/tmp/berth-cgtest-XXXXXX");
    if (!mkdtemp(f->root))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    berr e;
    fs_rm_rf(f->root, &e);
    free(f);
    return 0;
}

/* --- fake v2 tree ----------------------------------------------------- */

static const char *const v2_files[] = {
    "cgroup.procs", "cgroup.freeze", "cgroup.kill", "memory.max", "memory.swap.max",
    "memory.low", "cpu.max", "cpu.weight", "cpuset.cpus", "cpuset.mems", "pids.max",
    "io.weight", NULL,
};

/* Returns <root>/berth/<ID>, made as the kernel would make it. */
static char *fake_v2(const char *root)
{
    const char *ctrls = "cpuset cpu io memory hugetlb pids rdma misc\n";
    mkfile(root, "cgroup.controllers", ctrls);
    mkfile(root, "cgroup.subtree_control", "");
    char *parent = mkdirf("%s/berth", root);
    mkfile(parent, "cgroup.controllers", ctrls);
    mkfile(parent, "cgroup.subtree_control", "");
    free(parent);
    char *dir = mkdirf("%s/berth/" ID, root);
    touch_all(dir, v2_files);
    mkfile(dir, "cgroup.events", "populated 0\nfrozen 0\n");
    return dir;
}

static void v2_init(const char *root, rt_cgroups *cg)
{
    berr e;
    if (rt_cgroups_init(cg, root, &e) < 0)
        fail_msg("%s", e.msg);
    assert_int_equal(cg->version, RT_CGROUP_V2);
}

static void test_detect(void **state)
{
    fixture *f = *state;
    rt_cgroups cg;
    berr e;
    assert_int_equal(rt_cgroups_init(&cg, f->root, &e), -ENOTSUP);
    assert_non_null(strstr(e.msg, f->root));

    free(mkdirf("%s/v1/memory", f->root));
    char *v1 = xasprintf("%s/v1/", f->root);
    assert_int_equal(rt_cgroups_init(&cg, v1, &e), 0);
    assert_int_equal(cg.version, RT_CGROUP_V1);
    v1[strlen(v1) - 1] = 0;
    assert_string_equal(cg.root, v1);   /* trailing slash dropped */
    free(v1);

    char *v2 = mkdirf("%s/v2", f->root);
    mkfile(v2, "cgroup.controllers", "memory pids\n");
    assert_int_equal(rt_cgroups_init(&cg, v2, &e), 0);
    assert_int_equal(cg.version, RT_CGROUP_V2);
    free(v2);

    /* Names that would leave berth/ are refused before any file is touched. */
    static const char *const bad[] = {"", "..", "../x", "a/b", ".hidden", "a b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(rt_cgroup_destroy(&cg, bad[i], &e), -EINVAL);
}

static void test_v2_create(void **state)
{
    fixture *f = *state;
    char *dir = fake_v2(f->root);
    rt_cgroups cg;
    v2_init(f->root, &cg);
    rt_resources r = {
        .memory = 100 * MiB,
        .memory_reservation = 50 * MiB,
        .nano_cpus = 500000000,
        .cpu_shares = 1024,
        .pids_limit = 100,
        .blkio_weight = 500,
    };
    snprintf(r.cpuset_cpus, sizeof r.cpuset_cpus, "0-1");
    const char *rules[] = {"c 10:229 rwm"};
    berr e;
    if (rt_cgroup_create(&cg, ID, &r, false, rules, 1, &e) < 0)
        fail_msg("%s", e.msg);
    char *parent = xasprintf("%s/berth", f->root);
    assert_file(f->root, "cgroup.subtree_control", "+cpu +memory +pids +io +cpuset");
    assert_file(parent, "cgroup.subtree_control", "+cpu +memory +pids +io +cpuset");
    assert_file(dir, "memory.max", "104857600");
    assert_file(dir, "memory.swap.max", "104857600");   /* Docker: swap = memory by default */
    assert_file(dir, "memory.low", "52428800");
    assert_file(dir, "cpu.max", "50000 100000");
    assert_file(dir, "cpu.weight", "39");
    assert_file(dir, "cpuset.cpus", "0-1");
    assert_file(dir, "cpuset.mems", "");
    assert_file(dir, "pids.max", "100");
    assert_file(dir, "io.weight", "4950");   /* 1 + (500-10)*9999/990 */
    free(parent);

    /* Only the controllers the parent offers are enabled. */
    mkfile(f->root, "cgroup.controllers", "memory pids cpuset\n");
    assert_int_equal(rt_cgroup_create(&cg, ID, &(rt_resources){0}, false, NULL, 0, &e), 0);
    assert_file(f->root, "cgroup.subtree_control", "+memory +pids +cpuset");
    free(dir);
}

static void test_v2_values(void **state)
{
    fixture *f = *state;
    char *dir = fake_v2(f->root);
    rt_cgroups cg;
    v2_init(f->root, &cg);
    berr e;

    assert_int_equal(rt_cgv2_shares_to_weight(2), 1);
    assert_int_equal(rt_cgv2_shares_to_weight(1), 1);
    assert_int_equal(rt_cgv2_shares_to_weight(262144), 10000);
    assert_int_equal(rt_cgv2_shares_to_weight(0), 0);
    assert_int_equal(rt_cgv2_blkio_to_io_weight(10), 1);
    assert_int_equal(rt_cgv2_blkio_to_io_weight(1000), 10000);

    /* --memory-swap is memory+swap; memory.swap.max is swap alone. */
    rt_resources r = {.memory = 64 * MiB, .memory_swap = 192 * MiB};
    assert_int_equal(rt_cgroup_create(&cg, ID, &r, false, NULL, 0, &e), 0);
    assert_file(dir, "memory.swap.max", "134217728");
    r.memory_swap = 64 * MiB;
    assert_int_equal(rt_cgroup_update(&cg, ID, &r, &e), 0);
    assert_file(dir, "memory.swap.max", "0");
    r.memory_swap = -1;
    assert_int_equal(rt_cgroup_update(&cg, ID, &r, &e), 0);
    assert_file(dir, "memory.swap.max", "max");
    r.memory_swap = 32 * MiB;
    assert_int_equal(rt_cgroup_update(&cg, ID, &r, &e), -EINVAL);

    /* An update of memory alone leaves swap as it was. */
    mkfile(dir, "memory.swap.max", "untouched");
    assert_int_equal(rt_cgroup_update(&cg, ID, &(rt_resources){.memory = 80 * MiB}, &e), 0);
    assert_file(dir, "memory.max", "83886080");
    assert_file(dir, "memory.swap.max", "untouched");
    /* Swap alone is measured against the current memory.max. */
    assert_int_equal(
        rt_cgroup_update(&cg, ID, &(rt_resources){.memory_swap = 100 * MiB}, &e), 0);
    assert_file(dir, "memory.swap.max", "20971520");

    assert_int_equal(rt_cgroup_update(&cg, ID, &(rt_resources){.cpu_quota = -1}, &e), 0);
    assert_file(dir, "cpu.max", "max");
    assert_int_equal(rt_cgroup_update(&cg, ID, &(rt_resources){.cpu_quota = 20000}, &e), 0);
    assert_file(dir, "cpu.max", "20000");
    assert_int_equal(
        rt_cgroup_update(&cg, ID, &(rt_resources){.cpu_quota = 25000, .cpu_period = 50000}, &e),
        0);
    assert_file(dir, "cpu.max", "25000 50000");
    assert_int_equal(rt_cgroup_update(&cg, ID, &(rt_resources){.cpu_period = 50000}, &e), 0);
    assert_file(dir, "cpu.max", "max 50000");
    assert_int_equal(rt_cgroup_update(&cg, ID, &(rt_resources){.pids_limit = -1}, &e), 0);
    assert_file(dir, "pids.max", "max");

    /* A missing file is an error that names it. */
    char *mem = xasprintf("%s/memory.max", dir);
    assert_int_equal(unlink(mem), 0);
    assert_int_equal(rt_cgroup_update(&cg, ID, &(rt_resources){.memory = MiB}, &e), -ENOENT);
    char *want = xasprintf("write %s: No such file or directory", mem);
    assert_string_equal(e.msg, want);
    free(want);
    free(mem);
    free(dir);
}

static void test_v2_freeze_pids(void **state)
{
    fixture *f = *state;
    char *dir = fake_v2(f->root);
    rt_cgroups cg;
    v2_init(f->root, &cg);
    berr e;
    mkfile(dir, "cgroup.events", "populated 1\nfrozen 1\n");
    assert_int_equal(rt_cgroup_freeze(&cg, ID, true, &e), 0);
    assert_file(dir, "cgroup.freeze", "1");
    mkfile(dir, "cgroup.events", "populated 1\nfrozen 0\n");
    assert_int_equal(rt_cgroup_freeze(&cg, ID, false, &e), 0);
    assert_file(dir, "cgroup.freeze", "0");

    mkfile(dir, "cgroup.procs", "12\n345\n");
    pid_t *pids;
    size_t n;
    assert_int_equal(rt_cgroup_pids(&cg, ID, &pids, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(pids[0], 12);
    assert_int_equal(pids[1], 345);
    free(pids);

    assert_int_equal(rt_cgroup_pids(&cg, "nosuch", &pids, &n, &e), -ENOENT);
    assert_int_equal(rt_cgroup_destroy(&cg, "nosuch", &e), 0);
    uint64_t ooms;
    assert_int_equal(rt_cgroup_oom_kills(&cg, "nosuch", &ooms, &e), -ENOENT);
    free(dir);
}

static void test_v2_stats(void **state)
{
    fixture *f = *state;
    char *dir = fake_v2(f->root);
    rt_cgroups cg;
    v2_init(f->root, &cg);
    mkfile(dir, "cpu.stat",
           "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\nnr_periods 0\n");
    mkfile(dir, "memory.current", "1048576\n");
    mkfile(dir, "memory.peak", "2097152\n");
    mkfile(dir, "memory.max", "max\n");
    mkfile(dir, "memory.stat", "anon 1000\nfile 4096\nkernel 12\nfile_mapped 7\n");
    mkfile(dir, "memory.events", "low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\noom_group_kill 0\n");
    mkfile(dir, "pids.current", "3\n");
    mkfile(dir, "pids.max", "max\n");
    mkfile(dir, "io.stat",
           "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n"
           "8:16 rbytes=1 wbytes=2 rios=1 wios=1 dbytes=0 dios=0\n");
    rt_cgroup_stats st;
    berr e;
    assert_int_equal(rt_cgroup_stats_read(&cg, ID, &st, &e), 0);
    assert_int_equal(st.cpu_total_ns, 2500000);
    assert_int_equal(st.cpu_user_ns, 2000000);
    assert_int_equal(st.cpu_system_ns, 500000);
    assert_int_equal(st.memory_usage, 1048576);
    assert_int_equal(st.memory_max_usage, 2097152);
    assert_true(st.memory_limit == UINT64_MAX);
    assert_int_equal(st.memory_cache, 4096);
    assert_int_equal(st.oom_kills, 2);
    assert_int_equal(st.pids_current, 3);
    assert_int_equal(st.pids_limit, 0);
    assert_int_equal(st.blkio_read_bytes, 101);
    assert_int_equal(st.blkio_write_bytes, 202);
    uint64_t ooms;
    assert_int_equal(rt_cgroup_oom_kills(&cg, ID, &ooms, &e), 0);
    assert_int_equal(ooms, 2);
    assert_int_equal(rt_cgroup_stats_read(&cg, "nosuch", &st, &e), -ENOENT);
    free(dir);
}

/* --- fake v1 tree ----------------------------------------------------- */

static const char *const v1_common[] = {"cgroup.procs", NULL};
static const char *const v1_cpu[] = {"cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us", NULL};
static const char *const v1_cpuacct[] = {"cpuacct.usage", "cpuacct.stat", NULL};
static const char *const v1_cpuset[] = {"cpuset.cpus", "cpuset.mems", NULL};
static const char *const v1_memory[] = {
    "memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes",
    "memory.oom_control", "memory.usage_in_bytes", "memory.max_usage_in_bytes", "memory.stat",
    NULL,
};
static const char *const v1_devices[] = {"devices.allow", "devices.deny", NULL};
static const char *const v1_freezer[] = {"freezer.state", NULL};
static const char *const v1_blkio[] = {"blkio.weight", "blkio.throttle.io_service_bytes", NULL};
static const char *const v1_pids[] = {"pids.max", "pids.current", NULL};

enum cpu_mount { CPU_SEPARATE, CPU_COMOUNT_LINKS, CPU_COMOUNT_ONLY };

/* Lays out <root>/<controller>/berth/<ID> for every controller, as the
 * kernel would after mkdir: only the control files exist. */
static void fake_v1(const char *root, enum cpu_mount cm)
{
    struct {
        const char *name;
        const char *const *files;
    } ctrls[] = {
        {"cpuset", v1_cpuset}, {"memory", v1_memory}, {"devices", v1_devices},
        {"freezer", v1_freezer}, {"blkio", v1_blkio}, {"pids", v1_pids},
        {"cpu", v1_cpu}, {"cpuacct", v1_cpuacct},
    };
    size_t n = sizeof ctrls / sizeof ctrls[0];
    if (cm != CPU_SEPARATE) {
        n -= 2;
        char *dir = mkdirf("%s/cpu,cpuacct/berth/" ID, root);
        touch_all(dir, v1_cpu);
        touch_all(dir, v1_cpuacct);
        touch_all(dir, v1_common);
        free(dir);
        if (cm == CPU_COMOUNT_LINKS) {
            char *l1 = xasprintf("%s/cpu", root), *l2 = xasprintf("%s/cpuacct", root);
            assert_int_equal(symlink("cpu,cpuacct", l1), 0);
            assert_int_equal(symlink("cpu,cpuacct", l2), 0);
            free(l1);
            free(l2);
        }
    }
    for (size_t i = 0; i < n; i++) {
        char *dir = mkdirf("%s/%s/berth/" ID, root, ctrls[i].name);
        touch_all(dir, ctrls[i].files);
        touch_all(dir, v1_common);
        free(dir);
    }
    char *cs = xasprintf("%s/cpuset", root);
    mkfile(cs, "cpuset.cpus", "0-1\n");
    mkfile(cs, "cpuset.mems", "0\n");
    free(cs);
    cs = xasprintf("%s/cpuset/berth", root);
    touch_all(cs, v1_cpuset);
    free(cs);
}

static char *v1_dir(const char *root, const char *ctrl)
{
    return xasprintf("%s/%s/berth/" ID, root, ctrl);
}

static void v1_init(const char *root, rt_cgroups *cg)
{
    berr e;
    if (rt_cgroups_init(cg, root, &e) < 0)
        fail_msg("%s", e.msg);
    assert_int_equal(cg->version, RT_CGROUP_V1);
}

static void test_v1_create(void **state)
{
    fixture *f = *state;
    fake_v1(f->root, CPU_SEPARATE);
    rt_cgroups cg;
    v1_init(f->root, &cg);
    rt_resources r = {
        .memory = 100 * MiB,
        .memory_reservation = 50 * MiB,
        .nano_cpus = 1500000000,
        .cpu_shares = 512,
        .pids_limit = 10,
        .blkio_weight = 300,
        .oom_kill_disable = true,
    };
    const char *rules[] = {"c 10:229 rwm", "b 7:0 r"};
    berr e;
    if (rt_cgroup_create(&cg, ID, &r, false, rules, 2, &e) < 0)
        fail_msg("%s", e.msg);

    char *mem = v1_dir(f->root, "memory"), *cpu = v1_dir(f->root, "cpu");
    char *cpuset = v1_dir(f->root, "cpuset"), *pids = v1_dir(f->root, "pids");
    char *blkio = v1_dir(f->root, "blkio"), *dev = v1_dir(f->root, "devices");
    char *berth_cpuset = xasprintf("%s/cpuset/berth", f->root);
    assert_file(mem, "memory.limit_in_bytes", "104857600");
    assert_file(mem, "memory.memsw.limit_in_bytes", "209715200");   /* 2x by default */
    assert_file(mem, "memory.soft_limit_in_bytes", "52428800");
    assert_file(mem, "memory.oom_control", "1");
    assert_file(cpu, "cpu.shares", "512");
    assert_file(cpu, "cpu.cfs_period_us", "100000");
    assert_file(cpu, "cpu.cfs_quota_us", "150000");
    /* cpuset.cpus and mems come down from the root through berth/. */
    assert_file(berth_cpuset, "cpuset.cpus", "0-1");
    assert_file(berth_cpuset, "cpuset.mems", "0");
    assert_file(cpuset, "cpuset.cpus", "0-1");
    assert_file(cpuset, "cpuset.mems", "0");
    assert_file(pids, "pids.max", "10");
    assert_file(blkio, "blkio.weight", "300");
    assert_file(dev, "devices.deny", "a");
    assert_file(dev, "devices.allow", "b 7:0 r");   /* the last write */

    /* Privileged: everything allowed, nothing denied. */
    mkfile(dev, "devices.deny", "");
    rt_resources cs = {0};
    snprintf(cs.cpuset_cpus, sizeof cs.cpuset_cpus, "1");
    if (rt_cgroup_create(&cg, ID, &cs, true, rules, 2, &e) < 0)
        fail_msg("%s", e.msg);
    assert_file(dev, "devices.allow", "a");
    assert_file(dev, "devices.deny", "");
    assert_file(cpuset, "cpuset.cpus", "1");

    rt_cgroup_stats st;
    assert_int_equal(rt_cgroup_stats_read(&cg, ID, &st, &e), 0);
    free(mem), free(cpu), free(cpuset), free(pids), free(blkio), free(dev), free(berth_cpuset);
}

static void test_v1_devices_list(void **state)
{
    (void)state;
    const char *extra[] = {"c 10:229 rwm"};
    rt_cg_write_op ops[32];
    size_t n = rt_cgv1_device_ops(false, extra, 1, ops, 32);
    assert_int_equal(n, rt_cgv1_device_ops_count(1));
    static const char *const want[] = {
        "c *:* m",   "b *:* m",   "c 1:3 rwm", "c 1:5 rwm",   "c 1:7 rwm",    "c 1:8 rwm",
        "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm",
        "c 10:229 rwm",
    };
    assert_int_equal(n, 1 + sizeof want / sizeof want[0]);
    assert_string_equal(ops[0].file, "devices.deny");
    assert_string_equal(ops[0].value, "a");
    for (size_t i = 1; i < n; i++) {
        assert_string_equal(ops[i].file, "devices.allow");
        assert_string_equal(ops[i].value, want[i - 1]);
    }
    n = rt_cgv1_device_ops(true, extra, 1, ops, 32);
    assert_int_equal(n, 1);
    assert_string_equal(ops[0].file, "devices.allow");
    assert_string_equal(ops[0].value, "a");
    assert_int_equal(rt_cgv1_device_ops(false, extra, 1, ops, 3), 3);   /* cap respected */
}

static void test_v1_swap(void **state)
{
    fixture *f = *state;
    fake_v1(f->root, CPU_SEPARATE);
    rt_cgroups cg;
    v1_init(f->root, &cg);
    char *mem = v1_dir(f->root, "memory");
    berr e;

    rt_resources r = {.memory = 64 * MiB, .memory_swap = 64 * MiB};   /* no swap */
    assert_int_equal(rt_cgroup_create(&cg, ID, &r, false, NULL, 0, &e), 0);
    assert_file(mem, "memory.memsw.limit_in_bytes", "67108864");
    r.memory_swap = -1;
    assert_int_equal(rt_cgroup_update(&cg, ID, &r, &e), 0);
    assert_file(mem, "memory.memsw.limit_in_bytes", "-1");
    r.memory_swap = 32 * MiB;
    assert_int_equal(rt_cgroup_update(&cg, ID, &r, &e), -EINVAL);

    /* update --memory alone leaves memsw as it was */
    mkfile(mem, "memory.memsw.limit_in_bytes", "untouched");
    assert_int_equal(rt_cgroup_update(&cg, ID, &(rt_resources){.memory = 32 * MiB}, &e), 0);
    assert_file(mem, "memory.limit_in_bytes", "33554432");
    assert_file(mem, "memory.memsw.limit_in_bytes", "untouched");

    /* Without swap accounting the memory limit alone applies. */
    char *memsw = xasprintf("%s/memory.memsw.limit_in_bytes", mem);
    assert_int_equal(unlink(memsw), 0);
    assert_int_equal(rt_cgroup_update(&cg, ID, &(rt_resources){.memory = 16 * MiB}, &e), 0);
    assert_int_equal(rt_cgroup_create(&cg, ID, &(rt_resources){.memory = 16 * MiB}, false, NULL, 0,
                                      &e), 0);
    assert_file(mem, "memory.limit_in_bytes", "16777216");
    assert_int_equal(access(memsw, F_OK), -1);

    /* Errors name the file. */
    char *lim = xasprintf("%s/memory.limit_in_bytes", mem);
    assert_int_equal(unlink(lim), 0);
    assert_int_equal(rt_cgroup_update(&cg, ID, &(rt_resources){.memory = MiB}, &e), -ENOENT);
    char *want = xasprintf("write %s: No such file or directory", lim);
    assert_string_equal(e.msg, want);
    free(want);
    free(lim);
    free(memsw);
    free(mem);
}

static void check_comount(fixture *f, enum cpu_mount cm)
{
    fake_v1(f->root, cm);
    rt_cgroups cg;
    v1_init(f->root, &cg);
    berr e;
    rt_resources r = {.cpu_shares = 256, .cpu_period = 50000, .cpu_quota = 25000};
    if (rt_cgroup_create(&cg, ID, &r, false, NULL, 0, &e) < 0)
        fail_msg("%s", e.msg);
    char *dir = v1_dir(f->root, "cpu,cpuacct");
    assert_file(dir, "cpu.shares", "256");
    assert_file(dir, "cpu.cfs_period_us", "50000");
    assert_file(dir, "cpu.cfs_quota_us", "25000");
    mkfile(dir, "cpuacct.usage", "987654321\n");
    rt_cgroup_stats st;
    assert_int_equal(rt_cgroup_stats_read(&cg, ID, &st, &e), 0);
    assert_int_equal(st.cpu_total_ns, 987654321);
    /* The pid goes into the shared hierarchy (the fake file shows the
     * write; no pid here is ever killed: destroy is not called). */
    assert_int_equal(rt_cgroup_enter(&cg, ID, 99999, &e), 0);
    assert_file(dir, "cgroup.procs", "99999");
    char *m = v1_dir(f->root, "memory");
    assert_file(m, "cgroup.procs", "99999");
    free(m);
    free(dir);
}

static void test_v1_comount_links(void **state) { check_comount(*state, CPU_COMOUNT_LINKS); }
static void test_v1_comount_only(void **state) { check_comount(*state, CPU_COMOUNT_ONLY); }

static void test_v1_stats_freeze(void **state)
{
    fixture *f = *state;
    fake_v1(f->root, CPU_SEPARATE);
    rt_cgroups cg;
    v1_init(f->root, &cg);
    char *acct = v1_dir(f->root, "cpuacct"), *mem = v1_dir(f->root, "memory");
    char *pids = v1_dir(f->root, "pids"), *blkio = v1_dir(f->root, "blkio");
    char *frz = v1_dir(f->root, "freezer");
    mkfile(acct, "cpuacct.usage", "123456789\n");
    mkfile(acct, "cpuacct.stat", "user 150\nsystem 50\n");
    mkfile(mem, "memory.usage_in_bytes", "4194304\n");
    mkfile(mem, "memory.max_usage_in_bytes", "8388608\n");
    mkfile(mem, "memory.limit_in_bytes", "9223372036854771712\n");
    mkfile(mem, "memory.stat", "cache 12288\nrss 4096\ntotal_cache 99999\n");
    mkfile(mem, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
    mkfile(pids, "pids.current", "4\n");
    mkfile(pids, "pids.max", "max\n");
    mkfile(blkio, "blkio.throttle.io_service_bytes",
           "8:0 Read 100\n8:0 Write 200\n8:0 Sync 300\n8:0 Async 0\n8:0 Discard 0\n"
           "8:0 Total 300\n8:16 Read 1\n8:16 Write 2\nTotal 303\n");
    rt_cgroup_stats st;
    berr e;
    assert_int_equal(rt_cgroup_stats_read(&cg, ID, &st, &e), 0);
    long hz = sysconf(_SC_CLK_TCK);
    assert_int_equal(st.cpu_total_ns, 123456789);
    assert_int_equal(st.cpu_user_ns, 150 * (1000000000 / hz));
    assert_int_equal(st.cpu_system_ns, 50 * (1000000000 / hz));
    assert_int_equal(st.memory_usage, 4194304);
    assert_int_equal(st.memory_max_usage, 8388608);
    assert_true(st.memory_limit == 9223372036854771712ull);
    assert_int_equal(st.memory_cache, 12288);
    assert_int_equal(st.oom_kills, 3);
    assert_int_equal(st.pids_current, 4);
    assert_int_equal(st.pids_limit, 0);
    assert_int_equal(st.blkio_read_bytes, 101);
    assert_int_equal(st.blkio_write_bytes, 202);
    uint64_t n;
    assert_int_equal(rt_cgroup_oom_kills(&cg, ID, &n, &e), 0);
    assert_int_equal(n, 3);

    mkfile(mem, "cgroup.procs", "7\n8\n");
    pid_t *list;
    size_t count;
    assert_int_equal(rt_cgroup_pids(&cg, ID, &list, &count, &e), 0);
    assert_int_equal(count, 2);
    assert_int_equal(list[1], 8);
    free(list);

    assert_int_equal(rt_cgroup_freeze(&cg, ID, true, &e), 0);
    assert_file(frz, "freezer.state", "FROZEN");
    assert_int_equal(rt_cgroup_freeze(&cg, ID, false, &e), 0);
    assert_file(frz, "freezer.state", "THAWED");

    assert_int_equal(rt_cgroup_stats_read(&cg, "nosuch", &st, &e), -ENOENT);
    assert_int_equal(rt_cgroup_oom_kills(&cg, "nosuch", &n, &e), -ENOENT);
    assert_int_equal(rt_cgroup_destroy(&cg, "nosuch", &e), 0);
    free(acct), free(mem), free(pids), free(blkio), free(frz);
}

/* --- the real v1 hierarchy -------------------------------------------- */

#define REAL_ROOT "/sys/fs/cgroup"
static const char *const real_ctrls[] = {"cpu",     "cpuacct", "cpuset", "memory",
                                         "devices", "freezer", "blkio",  "pids"};

typedef struct real {
    rt_cgroups cg;
    char id[64];
    pid_t child;
} real;

static int real_setup(void **state)
{
    real *t = xcalloc(1, sizeof *t);
    *state = t;
    berr e;
    if (geteuid() != 0 || rt_cgroups_init(&t->cg, REAL_ROOT, &e) < 0 ||
        t->cg.version != RT_CGROUP_V1)
        return 0;   /* the test skips */
    unsigned rnd;
    FILE *u = fopen("/dev/urandom", "r");
    if (!u || fread(&rnd, sizeof rnd, 1, u) != 1)
        rnd = (unsigned)getpid();
    if (u)
        fclose(u);
    snprintf(t->id, sizeof t->id, "berth-unit-%d-%08x", (int)getpid(), rnd);
    /* Orphaned grandchildren come back to us to be reaped, not to init. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    return 0;
}

static int real_teardown(void **state)
{
    real *t = *state;
    if (t->child > 0) {
        kill(t->child, SIGKILL);
        waitpid(t->child, NULL, 0);
    }
    berr e;
    if (t->id[0] && rt_cgroup_destroy(&t->cg, t->id, &e) < 0)
        fprintf(stderr, "cleanup: %s\n", e.msg);
    free(t);
    return 0;
}

static real *real_or_skip(void **state)
{
    real *t = *state;
    if (!t->id[0])
        skip();
    return t;
}

/* A child that waits for "go" on in, touches `touch` bytes, starts `forks`
 * sleeping children of its own, reports on out and then sleeps (or exits if
 * exit_after). */
static pid_t spawn_child(int in[2], int out[2], size_t touch, int forks, bool exit_after)
{
    assert_int_equal(pipe2(in, O_CLOEXEC), 0);
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char c;
        if (read(in[0], &c, 1) != 1)
            _exit(2);
        if (touch) {
            /* mmap rather than malloc: the charge must land on this
             * cgroup page by page, whatever allocator the build uses. */
            char *p = mmap(NULL, touch, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED)
                _exit(3);
            for (size_t i = 0; i < touch; i += 4096)
                p[i] = 1;
        }
        for (int i = 0; i < forks; i++) {
            pid_t g = fork();
            if (g < 0)
                _exit(5);
            if (g == 0)
                for (;;)
                    pause();
        }
        if (write(out[1], "k", 1) != 1)
            _exit(4);
        if (exit_after)
            _exit(0);
        for (;;)
            pause();
    }
    close(in[0]);
    close(out[1]);
    return pid;
}

static bool in_cgroup(pid_t pid, const char *ctrl, const char *id)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
    char *text = NULL;
    berr e;
    if (fs_read_file(path, &text, NULL, &e) < 0)
        return false;
    char *want = xasprintf(":%s:/berth/%s\n", ctrl, id);
    bool ok = strstr(text, want) != NULL;
    free(want);
    free(text);
    return ok;
}

static void test_real_lifecycle(void **state)
{
    real *t = real_or_skip(state);
    berr e;
    rt_resources r = {.memory = 64 * MiB, .pids_limit = 10, .cpu_shares = 512};
    const char *rules[] = {"c 10:229 rwm"};
    if (rt_cgroup_create(&t->cg, t->id, &r, false, rules, 1, &e) < 0)
        fail_msg("%s", e.msg);
    char *mem = xasprintf(REAL_ROOT "/memory/berth/%s", t->id);
    char *devs = xasprintf(REAL_ROOT "/devices/berth/%s", t->id);
    char *frz = xasprintf(REAL_ROOT "/freezer/berth/%s", t->id);
    char *cpuset = xasprintf(REAL_ROOT "/cpuset/berth/%s", t->id);
    char *pids_dir = xasprintf(REAL_ROOT "/pids/berth/%s", t->id);
    assert_file(mem, "memory.limit_in_bytes", "67108864");
    if (rt_cg_exists(mem, "memory.memsw.limit_in_bytes"))
        assert_file(mem, "memory.memsw.limit_in_bytes", "134217728");
    assert_file(pids_dir, "pids.max", "10");
    char *cpus = slurp(cpuset, "cpuset.cpus");
    assert_true(strlen(rt_cg_strip(cpus)) > 0);
    free(cpus);
    char *list = slurp(devs, "devices.list");
    assert_non_null(strstr(list, "c 1:3 rwm"));
    assert_non_null(strstr(list, "c 10:229 rwm"));
    assert_null(strstr(list, "a *:* rwm"));
    free(list);

    /* The kernel takes the two limits in whichever order keeps
     * memory <= memory+swap: growing and shrinking both work. */
    rt_resources up = {.memory = 256 * MiB, .memory_swap = 512 * MiB};
    if (rt_cgroup_update(&t->cg, t->id, &up, &e) < 0)
        fail_msg("%s", e.msg);
    assert_file(mem, "memory.limit_in_bytes", "268435456");
    rt_resources down = {.memory = 64 * MiB, .memory_swap = 96 * MiB};
    if (rt_cgroup_update(&t->cg, t->id, &down, &e) < 0)
        fail_msg("%s", e.msg);
    assert_file(mem, "memory.limit_in_bytes", "67108864");
    if (rt_cg_exists(mem, "memory.memsw.limit_in_bytes"))
        assert_file(mem, "memory.memsw.limit_in_bytes", "100663296");

    /* The kernel's refusal comes back naming the file. */
    assert_int_equal(rt_cgroup_update(&t->cg, t->id, &(rt_resources){.cpu_quota = 10}, &e),
                     -EINVAL);
    char *want = xasprintf("write " REAL_ROOT "/cpu/berth/%s/cpu.cfs_quota_us: Invalid argument",
                           t->id);
    assert_string_equal(e.msg, want);
    free(want);

    int in[2], out[2];
    t->child = spawn_child(in, out, 4 * MiB, 2, false);
    if (rt_cgroup_enter(&t->cg, t->id, t->child, &e) < 0)
        fail_msg("%s", e.msg);
    assert_int_equal(write(in[1], "g", 1), 1);
    char c;
    assert_int_equal(read(out[0], &c, 1), 1);
    close(in[1]);
    close(out[0]);
    for (size_t i = 0; i < sizeof real_ctrls / sizeof real_ctrls[0]; i++)
        assert_true(in_cgroup(t->child, real_ctrls[i], t->id));

    pid_t *pids;
    size_t n;
    assert_int_equal(rt_cgroup_pids(&t->cg, t->id, &pids, &n, &e), 0);
    assert_int_equal(n, 3);   /* the child and its two */
    bool found = false;
    for (size_t i = 0; i < n; i++)
        found |= pids[i] == t->child;
    assert_true(found);
    free(pids);

    rt_cgroup_stats st;
    assert_int_equal(rt_cgroup_stats_read(&t->cg, t->id, &st, &e), 0);
    assert_true(st.memory_usage >= 4 * MiB);
    assert_true(st.memory_max_usage >= st.memory_usage);
    assert_int_equal(st.memory_limit, 64 * MiB);
    assert_int_equal(st.pids_current, 3);
    assert_int_equal(st.pids_limit, 10);
    assert_true(st.cpu_total_ns > 0);

    if (rt_cgroup_freeze(&t->cg, t->id, true, &e) < 0)
        fail_msg("%s", e.msg);
    assert_file(frz, "freezer.state", "FROZEN");
    if (rt_cgroup_freeze(&t->cg, t->id, false, &e) < 0)
        fail_msg("%s", e.msg);
    assert_file(frz, "freezer.state", "THAWED");

    /* Destroy while the processes still sleep: all are killed, then every
     * directory goes. */
    if (rt_cgroup_destroy(&t->cg, t->id, &e) < 0)
        fail_msg("%s", e.msg);
    int status;
    assert_int_equal(waitpid(t->child, &status, 0), t->child);
    t->child = 0;
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    int reaped = 0;
    while (waitpid(-1, &status, 0) > 0) {
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        reaped++;
    }
    assert_int_equal(reaped, 2);
    for (size_t i = 0; i < sizeof real_ctrls / sizeof real_ctrls[0]; i++) {
        char *dir = xasprintf(REAL_ROOT "/%s/berth/%s", real_ctrls[i], t->id);
        assert_int_equal(access(dir, F_OK), -1);
        assert_int_equal(errno, ENOENT);
        free(dir);
    }
    assert_int_equal(rt_cgroup_destroy(&t->cg, t->id, &e), 0);   /* again: nothing to do */
    free(mem), free(devs), free(frz), free(cpuset), free(pids_dir);
}

static void test_real_oom(void **state)
{
    real *t = real_or_skip(state);
    berr e;
    /* memsw == memory: no swap to hide in, the OOM killer must act. */
    rt_resources r = {.memory = 16 * MiB, .memory_swap = 16 * MiB};
    if (rt_cgroup_create(&t->cg, t->id, &r, false, NULL, 0, &e) < 0)
        fail_msg("%s", e.msg);
    uint64_t kills = 99;
    assert_int_equal(rt_cgroup_oom_kills(&t->cg, t->id, &kills, &e), 0);
    assert_int_equal(kills, 0);

    int in[2], out[2];
    t->child = spawn_child(in, out, 64 * MiB, 0, true);
    if (rt_cgroup_enter(&t->cg, t->id, t->child, &e) < 0)
        fail_msg("%s", e.msg);
    assert_int_equal(write(in[1], "g", 1), 1);
    close(in[1]);
    int status;
    assert_int_equal(waitpid(t->child, &status, 0), t->child);
    t->child = 0;
    close(out[0]);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    assert_int_equal(rt_cgroup_oom_kills(&t->cg, t->id, &kills, &e), 0);
    assert_true(kills >= 1);
    rt_cgroup_stats st;
    assert_int_equal(rt_cgroup_stats_read(&t->cg, t->id, &st, &e), 0);
    assert_int_equal(st.oom_kills, kills);

    if (rt_cgroup_destroy(&t->cg, t->id, &e) < 0)
        fail_msg("%s", e.msg);
    char *dir = xasprintf(REAL_ROOT "/memory/berth/%s", t->id);
    assert_int_equal(access(dir, F_OK), -1);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_detect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v2_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v2_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v2_freeze_pids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v2_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v1_create, setup, teardown),
        cmocka_unit_test(test_v1_devices_list),
        cmocka_unit_test_setup_teardown(test_v1_swap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v1_comount_links, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v1_comount_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v1_stats_freeze, setup, teardown),
        cmocka_unit_test_setup_teardown(test_real_lifecycle, real_setup, real_teardown),
        cmocka_unit_test_setup_teardown(test_real_oom, real_setup, real_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
