/* Unit tests for runtime/container/mounts.c: -v and --mount parsing of binds
 * and tmpfs (volumes: tests/unit/test_volumes.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mount.h>

#include <cmocka.h>

#include "runtime/container/mounts.h"

static int parse(const char *hc_json, rt_mount_req **m, size_t *n, berr *e)
{
    json_t *hc = json_loads(hc_json, 0, NULL);
    assert_non_null(hc);
    int r = rt_mounts_parse(hc, m, n, e);
    json_decref(hc);
    return r;
}

static void test_binds(void **state)
{
    (void)state;
    rt_mount_req *m;
    size_t n;
    berr e = {0};
    assert_int_equal(parse("{\"Binds\":[\"/h:/c\",\"/h2:/c2:ro,rslave\",\"/h3:/c3:rw,z\"]}", &m, &n, &e), 0);
    assert_int_equal(n, 3);
    assert_string_equal(m[0].source, "/h");
    assert_string_equal(m[0].target, "/c");
    assert_false(m[0].readonly);
    assert_true(m[0].create_source);
    assert_string_equal(m[0].propagation_name, "rprivate");
    assert_true(m[1].readonly);
    assert_int_equal(m[1].propagation, MS_SLAVE | MS_REC);
    assert_false(m[2].readonly);
    rt_mounts_free(m, n);
}

static void test_bind_errors(void **state)
{
    (void)state;
    rt_mount_req *m;
    size_t n;
    berr e = {0};
    assert_int_equal(parse("{\"Binds\":[\"named:c\"]}", &m, &n, &e), -EINVAL);
    assert_int_equal(parse("{\"Binds\":[\"/h:relative\"]}", &m, &n, &e), -EINVAL);
    assert_int_equal(parse("{\"Binds\":[\"/h:/\"]}", &m, &n, &e), -EINVAL);
    assert_int_equal(parse("{\"Binds\":[\"/h:/c:bogus\"]}", &m, &n, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "invalid mode: bogus"));
    assert_int_equal(parse("{\"Binds\":[\"/h:/c\",\"/g:/c\"]}", &m, &n, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "Duplicate mount point: /c"));
    assert_int_equal(parse("{\"VolumesFrom\":[\"x:rslave\"]}", &m, &n, &e), -EINVAL);
    assert_null(m);
}

static void test_mounts(void **state)
{
    (void)state;
    rt_mount_req *m;
    size_t n;
    berr e = {0};
    assert_int_equal(parse("{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/tmp\",\"Target\":\"/t\",\"ReadOnly\":true,"
                           "\"BindOptions\":{\"Propagation\":\"shared\"}},"
                           "{\"Type\":\"tmpfs\",\"Target\":\"/s\",\"TmpfsOptions\":{\"SizeBytes\":1048576,\"Mode\":448}}]}",
                           &m, &n, &e),
                     0);
    assert_int_equal(n, 2);
    assert_true(m[0].readonly);
    assert_false(m[0].create_source);
    assert_int_equal(m[0].propagation, MS_SHARED);
    assert_true(m[1].tmpfs);
    assert_string_equal(m[1].tmpfs_data, "size=1048576,mode=700");
    rt_mounts_free(m, n);
    assert_int_equal(parse("{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/no/such\",\"Target\":\"/t\"}]}", &m, &n, &e),
                     -EINVAL);
    assert_non_null(strstr(e.msg, "bind source path does not exist"));
    assert_int_equal(parse("{\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"v\",\"Target\":\"/t\","
                           "\"BindOptions\":{}}]}", &m, &n, &e),
                     -EINVAL);
    assert_int_equal(parse("{\"Mounts\":[{\"Type\":\"weird\",\"Target\":\"/t\"}]}", &m, &n, &e), -EINVAL);
}

static void test_inspect(void **state)
{
    (void)state;
    json_t *hc = json_loads("{\"Binds\":[\"/h:/c:ro\"]}", 0, NULL);
    json_t *out = rt_mounts_inspect(hc);
    assert_int_equal(json_array_size(out), 1);
    json_t *m = json_array_get(out, 0);
    assert_string_equal(json_string_value(json_object_get(m, "Mode")), "ro");
    assert_true(json_is_false(json_object_get(m, "RW")));
    json_decref(out);
    json_decref(hc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binds),
        cmocka_unit_test(test_bind_errors),
        cmocka_unit_test(test_mounts),
        cmocka_unit_test(test_inspect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
