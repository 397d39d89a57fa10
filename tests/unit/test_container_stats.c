/* Unit tests for runtime/container/stats.c: the parsers of /proc/stat and
 * of the cgroup files only the stats endpoint reads, and a sample taken
 * from a fake v1 tree. */
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
#include "runtime/container/stats.h"

static void test_proc_stat(void **state)
{
    (void)state;
    const char *text = "cpu  46777 0 17475 487708 2896 0 239 1084 0 0\n"
                       "cpu0 16500 0 6862 253758 319 0 33 541 0 0\n"
                       "intr 1 2 3\n";
    uint64_t ns = 0;
    assert_int_equal(rt_stats_parse_proc_stat(text, 100, &ns), 0);
    /* user..softirq, steal (1084) left out as dockerd does */
    assert_true(ns == (46777ull + 17475 + 487708 + 2896 + 239) * 10000000ull);
    assert_int_equal(rt_stats_parse_proc_stat("cpu0 1 2 3 4 5 6 7\n", 100, &ns), -EINVAL);
    assert_int_equal(rt_stats_parse_proc_stat("cpu  1 2 3\n", 100, &ns), -EINVAL);
    assert_int_equal(rt_stats_parse_proc_stat("", 100, &ns), -EINVAL);
    /* no overflow for a host with a lot of CPU time */
    assert_int_equal(rt_stats_parse_proc_stat("cpu  100000000000 0 0 0 0 0 0\n", 100, &ns), 0);
    assert_true(ns == 1000000000000000000ull);
}

static void test_flat(void **state)
{
    (void)state;
    json_t *o = rt_stats_parse_flat("cache 4096\nrss 8192\ntotal_inactive_file 12\nbad line here\nnokey\n"
                                    "hierarchical_memory_limit 9223372036854771712\n");
    assert_int_equal(json_object_size(o), 4);
    assert_int_equal(json_integer_value(json_object_get(o, "cache")), 4096);
    assert_int_equal(json_integer_value(json_object_get(o, "total_inactive_file")), 12);
    assert_true(json_integer_value(json_object_get(o, "hierarchical_memory_limit")) == 9223372036854771712LL);
    json_decref(o);
    o = rt_stats_parse_flat("");
    assert_int_equal(json_object_size(o), 0);
    json_decref(o);
}

static void check_entry(json_t *e, unsigned major, unsigned minor, const char *op, long long v)
{
    assert_int_equal(json_integer_value(json_object_get(e, "major")), major);
    assert_int_equal(json_integer_value(json_object_get(e, "minor")), minor);
    assert_string_equal(json_string_value(json_object_get(e, "op")), op);
    assert_true(json_integer_value(json_object_get(e, "value")) == v);
}

static void test_blkio(void **state)
{
    (void)state;
    json_t *a = rt_stats_parse_blkio_v1("8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 12288\n"
                                        "8:0 Discard 0\n8:0 Total 12288\nTotal 12288\n");
    assert_int_equal(json_array_size(a), 6);
    check_entry(json_array_get(a, 0), 8, 0, "Read", 4096);
    check_entry(json_array_get(a, 1), 8, 0, "Write", 8192);
    check_entry(json_array_get(a, 5), 8, 0, "Total", 12288);
    json_decref(a);
    a = rt_stats_parse_blkio_v1("Total 0\n");
    assert_int_equal(json_array_size(a), 0);
    json_decref(a);

    a = rt_stats_parse_io_stat("8:0 rbytes=1024 wbytes=2048 rios=1 wios=2 dbytes=0 dios=0\n"
                               "253:1 rbytes=5 wbytes=0 rios=1 wios=0\n");
    assert_int_equal(json_array_size(a), 4);
    check_entry(json_array_get(a, 0), 8, 0, "read", 1024);
    check_entry(json_array_get(a, 1), 8, 0, "write", 2048);
    check_entry(json_array_get(a, 2), 253, 1, "read", 5);
    check_entry(json_array_get(a, 3), 253, 1, "write", 0);
    json_decref(a);

    a = rt_stats_parse_percpu("0 33834374 \n");
    assert_int_equal(json_array_size(a), 2);
    assert_int_equal(json_integer_value(json_array_get(a, 1)), 33834374);
    json_decref(a);
}

static void put(const char *dir, const char *file, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    assert_int_equal(fs_write_file_atomic(path, text, strlen(text), 0644, NULL), 0);
}

/* A v1 layout of plain files, as test_cgroup builds them. */
static void test_sample_from_fake_v1(void **state)
{
    (void)state;
    char root[] = "/tmp/berth-stats-XXXXXX";
    assert_non_null(mkdtemp(root));
    const char *id = "c0ffee";
    const char *ctrls[] = {"cpu", "cpuacct", "memory", "pids", "blkio"};
    char dirs[5][4096];
    for (int i = 0; i < 5; i++) {
        snprintf(dirs[i], sizeof dirs[i], "%s/%s/berth/%s", root, ctrls[i], id);
        assert_int_equal(fs_mkdir_p(dirs[i], 0755, NULL), 0);
        put(dirs[i], "cgroup.procs", "42\n");
    }
    put(dirs[0], "cpu.stat", "nr_periods 10\nnr_throttled 3\nthrottled_time 5000\n");
    put(dirs[1], "cpuacct.usage", "2000000000\n");
    put(dirs[1], "cpuacct.stat", "user 100\nsystem 50\n");
    put(dirs[1], "cpuacct.usage_percpu", "1500000000 500000000 \n");
    put(dirs[2], "memory.usage_in_bytes", "10485760\n");
    put(dirs[2], "memory.max_usage_in_bytes", "20971520\n");
    put(dirs[2], "memory.limit_in_bytes", "67108864\n");
    put(dirs[2], "memory.failcnt", "7\n");
    put(dirs[2], "memory.stat", "cache 4096\ntotal_inactive_file 1048576\n");
    put(dirs[3], "pids.current", "3\n");
    put(dirs[3], "pids.max", "max\n");
    put(dirs[4], "blkio.throttle.io_service_bytes_recursive", "8:0 Read 4096\n8:0 Write 0\nTotal 4096\n");
    put(dirs[4], "blkio.throttle.io_serviced_recursive", "8:0 Read 1\n8:0 Write 0\nTotal 1\n");

    rt_cgroups cg;
    assert_int_equal(rt_cgroups_init(&cg, root, NULL), 0);
    assert_int_equal(cg.version, RT_CGROUP_V1);
    rt_stats_sample s;
    berr e = {0};
    assert_int_equal(rt_stats_read(&cg, id, &s, &e), 0);
    assert_true(s.cg.cpu_total_ns == 2000000000ull);
    assert_true(s.cg.memory_usage == 10485760);
    assert_true(s.cg.memory_limit == 67108864);
    assert_true(s.cg.pids_current == 3);
    assert_true(s.cg.pids_limit == 0);
    assert_true(s.throttle_periods == 10 && s.throttled_periods == 3 && s.throttled_time_ns == 5000);
    assert_true(s.memory_failcnt == 7);
    assert_int_equal(json_array_size(s.percpu), 2);
    assert_int_equal(json_integer_value(json_object_get(s.memory_stat, "total_inactive_file")), 1048576);
    assert_int_equal(json_array_size(s.blkio_bytes), 2);
    check_entry(json_array_get(s.blkio_bytes, 0), 8, 0, "Read", 4096);
    assert_int_equal(json_array_size(s.blkio_ios), 2);
    assert_true(s.system_cpu_ns > 0);
    assert_true(s.online_cpus >= 1);
    assert_true(s.host_memory > 0);
    assert_int_equal(strlen(s.read), 30);
    rt_stats_sample_free(&s);

    /* a container without a cgroup (not running) has no sample */
    assert_true(rt_stats_read(&cg, "gone", &s, &e) < 0);
    assert_null(s.memory_stat);
    fs_rm_rf(root, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proc_stat),
        cmocka_unit_test(test_flat),
        cmocka_unit_test(test_blkio),
        cmocka_unit_test(test_sample_from_fake_v1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
