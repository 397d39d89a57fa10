/* Unit tests for runtime/container/update.c: the request checks and
 * dockerd's merge into HostConfig (no daemon, no cgroup). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/container/update.h"

static json_t *parse(const char *text)
{
    json_error_t err;
    json_t *v = json_loads(text, 0, &err);
    assert_non_null(v);
    return v;
}

static int check(const char *req_text, berr *e)
{
    json_t *req = parse(req_text);
    json_t *warnings = json_array();
    int r = rt_container_update_check(req, warnings, e);
    json_decref(req);
    json_decref(warnings);
    return r;
}

static void test_check(void **state)
{
    (void)state;
    berr e = {0};
    /* what `docker update --memory 64m --cpus 0.5 --pids-limit 20` sends */
    assert_int_equal(check("{\"Memory\": 67108864, \"MemorySwap\": 0, \"NanoCpus\": 500000000, \"CpuShares\": 0,"
                           " \"CpusetCpus\": \"\", \"PidsLimit\": 20, \"BlkioWeight\": 0,"
                           " \"RestartPolicy\": {\"Name\": \"\", \"MaximumRetryCount\": 0}}",
                           &e),
                     0);
    assert_int_equal(check("{}", &e), 0);
    /* update may set the swap limit alone (create may not) */
    assert_int_equal(check("{\"MemorySwap\": 134217728}", &e), 0);

    assert_int_equal(check("{\"Memory\": 1048576}", &e), -EINVAL);
    assert_string_equal(e.msg, "Minimum memory limit allowed is 6MB");
    assert_int_equal(check("{\"Memory\": 67108864, \"MemorySwap\": 33554432}", &e), -EINVAL);
    assert_string_equal(e.msg, "Minimum memoryswap limit should be larger than memory limit, see usage");
    assert_int_equal(check("{\"MemoryReservation\": 1024}", &e), -EINVAL);
    assert_string_equal(e.msg, "Minimum memory reservation allowed is 6MB");
    assert_int_equal(check("{\"Memory\": 10485760, \"MemoryReservation\": 20971520}", &e), -EINVAL);
    assert_string_equal(e.msg, "Minimum memory limit can not be less than memory reservation limit, see usage");
    assert_int_equal(check("{\"NanoCpus\": 500000000, \"CpuPeriod\": 100000}", &e), -EINVAL);
    assert_int_equal(check("{\"NanoCpus\": 500000000, \"CpuQuota\": 50000}", &e), -EINVAL);
    assert_int_equal(check("{\"NanoCpus\": 1000000000000000}", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "Range of CPUs is from 0.01"));
    assert_int_equal(check("{\"CpuPeriod\": 500}", &e), -EINVAL);
    assert_int_equal(check("{\"CpuQuota\": 500}", &e), -EINVAL);
    assert_string_equal(e.msg, "CPU cfs quota can not be less than 1ms (i.e. 1000)");
    assert_int_equal(check("{\"CpuQuota\": -1}", &e), 0);
    assert_int_equal(check("{\"BlkioWeight\": 5}", &e), -EINVAL);
    assert_string_equal(e.msg, "Range of blkio weight is from 10 to 1000");
    assert_int_equal(check("{\"CpuShares\": -2}", &e), -EINVAL);
    assert_int_equal(check("{\"CpusetCpus\": \"0-4096\"}", &e), -EINVAL);
    assert_int_equal(check("{\"Memory\": \"64m\"}", &e), -EINVAL);
    assert_int_equal(check("{\"RestartPolicy\": {\"Name\": \"sometimes\"}}", &e), -EINVAL);
    assert_int_equal(check("{\"RestartPolicy\": {\"Name\": \"always\", \"MaximumRetryCount\": 3}}", &e), -EINVAL);
    assert_int_equal(check("{\"RestartPolicy\": {\"Name\": \"on-failure\", \"MaximumRetryCount\": 3}}", &e), 0);
}

static int merge(json_t *hc, const char *req_text, rt_resources *live, berr *e)
{
    json_t *req = parse(req_text);
    int r = rt_container_update_merge(hc, req, live, e);
    json_decref(req);
    return r;
}

static int64_t hc_int(json_t *hc, const char *key) { return json_integer_value(json_object_get(hc, key)); }

static void test_merge_limits(void **state)
{
    (void)state;
    json_t *hc = parse("{\"NetworkMode\": \"none\", \"Memory\": 0, \"MemorySwap\": 0, \"CpuShares\": 512,"
                       " \"RestartPolicy\": {\"Name\": \"no\", \"MaximumRetryCount\": 0}}");
    rt_resources live;
    berr e = {0};
    assert_int_equal(merge(hc, "{\"Memory\": 67108864, \"NanoCpus\": 500000000, \"PidsLimit\": 20, \"CpuShares\": 0,"
                               " \"RestartPolicy\": {\"Name\": \"\"}}",
                           &live, &e),
                     0);
    assert_int_equal(hc_int(hc, "Memory"), 67108864);
    assert_int_equal(hc_int(hc, "NanoCpus"), 500000000);
    assert_int_equal(hc_int(hc, "PidsLimit"), 20);
    assert_int_equal(hc_int(hc, "CpuShares"), 512);      /* 0 leaves it alone */
    assert_int_equal(hc_int(hc, "MemorySwap"), 0);       /* the start computes 2x */
    assert_string_equal(json_string_value(json_object_get(json_object_get(hc, "RestartPolicy"), "Name")), "no");
    assert_true(live.memory == 67108864);
    assert_true(live.memory_swap == 2 * 67108864);       /* as `run --memory` would give */
    assert_true(live.nano_cpus == 500000000);
    assert_true(live.pids_limit == 20);
    assert_true(live.cpu_shares == 0);

    /* above the swap limit the container has: dockerd's conflict */
    assert_int_equal(merge(hc, "{\"Memory\": 268435456}", &live, &e), -EBUSY);
    assert_string_equal(e.msg, "Memory limit should be smaller than already set memoryswap limit, update the "
                               "memoryswap at the same time");
    /* below it: allowed, and the swap limit in force is written down */
    assert_int_equal(merge(hc, "{\"Memory\": 100663296}", &live, &e), 0);
    assert_int_equal(hc_int(hc, "MemorySwap"), 134217728);
    assert_true(live.memory_swap == 0);
    /* both together */
    assert_int_equal(merge(hc, "{\"Memory\": 268435456, \"MemorySwap\": -1}", &live, &e), 0);
    assert_int_equal(hc_int(hc, "MemorySwap"), -1);
    assert_true(live.memory_swap == -1);
    assert_int_equal(merge(hc, "{\"Memory\": 536870912}", &live, &e), 0);   /* unlimited swap: no conflict */

    /* NanoCpus against period/quota, both ways */
    assert_int_equal(merge(hc, "{\"CpuPeriod\": 50000}", &live, &e), -EBUSY);
    assert_string_equal(e.msg, "Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set");
    assert_int_equal(merge(hc, "{\"CpuQuota\": 50000}", &live, &e), -EBUSY);
    json_t *hc2 = parse("{\"CpuQuota\": 50000}");
    assert_int_equal(merge(hc2, "{\"NanoCpus\": 1000000000}", &live, &e), -EBUSY);
    assert_string_equal(e.msg, "Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set");
    json_decref(hc2);

    /* PidsLimit: 0 and negatives mean unlimited; null leaves it */
    assert_int_equal(merge(hc, "{\"PidsLimit\": -1}", &live, &e), 0);
    assert_int_equal(hc_int(hc, "PidsLimit"), 0);
    assert_true(live.pids_limit == -1);
    assert_int_equal(merge(hc, "{\"PidsLimit\": 30}", &live, &e), 0);
    assert_int_equal(merge(hc, "{\"PidsLimit\": null}", &live, &e), 0);
    assert_int_equal(hc_int(hc, "PidsLimit"), 30);
    assert_true(live.pids_limit == 0);

    assert_int_equal(merge(hc, "{\"CpusetCpus\": \"0\", \"BlkioWeight\": 300}", &live, &e), 0);
    assert_string_equal(json_string_value(json_object_get(hc, "CpusetCpus")), "0");
    assert_string_equal(live.cpuset_cpus, "0");
    assert_int_equal(live.blkio_weight, 300);
    json_decref(hc);
}

static void test_merge_restart_policy(void **state)
{
    (void)state;
    json_t *hc = parse("{\"RestartPolicy\": {\"Name\": \"no\", \"MaximumRetryCount\": 0}}");
    rt_resources live;
    berr e = {0};
    assert_int_equal(merge(hc, "{\"RestartPolicy\": {\"Name\": \"on-failure\", \"MaximumRetryCount\": 2}}", &live, &e),
                     0);
    json_t *rp = json_object_get(hc, "RestartPolicy");
    assert_string_equal(json_string_value(json_object_get(rp, "Name")), "on-failure");
    assert_int_equal(json_integer_value(json_object_get(rp, "MaximumRetryCount")), 2);
    json_decref(hc);

    hc = parse("{\"AutoRemove\": true, \"RestartPolicy\": {\"Name\": \"no\"}}");
    assert_int_equal(merge(hc, "{\"RestartPolicy\": {\"Name\": \"always\"}}", &live, &e), -EBUSY);
    assert_string_equal(e.msg, "Restart policy cannot be updated because AutoRemove is enabled for the container");
    assert_int_equal(merge(hc, "{\"RestartPolicy\": {\"Name\": \"no\"}}", &live, &e), 0);
    json_decref(hc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_merge_limits),
        cmocka_unit_test(test_merge_restart_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
