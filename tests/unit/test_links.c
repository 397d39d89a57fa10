/* Legacy links: dockerd's ParseLink forms and Link.ToEnv's variables
 * (runtime/container/links.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "runtime/container/links.h"

static void test_parse(void **state)
{
    (void)state;
    char n[64], a[64];
    berr e;
    assert_int_equal(rt_link_parse("db", n, sizeof n, a, sizeof a, &e), 0);
    assert_string_equal(n, "db");
    assert_string_equal(a, "db");
    assert_int_equal(rt_link_parse("db:my", n, sizeof n, a, sizeof a, &e), 0);
    assert_string_equal(a, "my");
    assert_int_equal(rt_link_parse("/db:/web/my", n, sizeof n, a, sizeof a, &e), 0);
    assert_string_equal(n, "db");
    assert_string_equal(a, "my");
    assert_int_equal(rt_link_parse("a:b:c", n, sizeof n, a, sizeof a, &e), -EINVAL);
    assert_string_equal(e.msg, "bad format for links: a:b:c");
    assert_int_equal(rt_link_parse("", n, sizeof n, a, sizeof a, &e), -EINVAL);
    assert_string_equal(e.msg, "empty string specified for links");
    assert_int_equal(rt_link_parse(":x", n, sizeof n, a, sizeof a, &e), -EINVAL);
}

static bool has(json_t *env, const char *want)
{
    size_t i;
    json_t *v;
    json_array_foreach(env, i, v) if (!strcmp(json_string_value(v), want)) return true;
    return false;
}

static void test_env(void **state)
{
    (void)state;
    json_t *ports = json_pack("{s:{}, s:{}, s:{}, s:{}, s:{}}", "82/tcp", "80/tcp", "81/tcp", "53/udp", "9000/tcp");
    json_t *cenv = json_pack("[s, s, s, s]", "PATH=/bin", "HOME=/root", "A=1=2", "noeq");
    json_t *out = json_array();
    rt_link_env("/web/my-db", "10.0.0.2", ports, cenv, out);
    /* the lowest port is the default; 80..82 a run; udp 53 sorts first */
    assert_string_equal(json_string_value(json_array_get(out, 0)), "MY_DB_PORT=udp://10.0.0.2:53");
    assert_true(has(out, "MY_DB_PORT_80_TCP_START=tcp://10.0.0.2:80"));
    assert_true(has(out, "MY_DB_PORT_80_TCP_END=tcp://10.0.0.2:82"));
    assert_true(has(out, "MY_DB_PORT_80_TCP_PORT_START=80"));
    assert_true(has(out, "MY_DB_PORT_80_TCP_PORT_END=82"));
    assert_false(has(out, "MY_DB_PORT_53_UDP_START=udp://10.0.0.2:53"));
    assert_true(has(out, "MY_DB_PORT_9000_TCP=tcp://10.0.0.2:9000"));
    assert_true(has(out, "MY_DB_PORT_53_UDP_PROTO=udp"));
    assert_true(has(out, "MY_DB_PORT_81_TCP_ADDR=10.0.0.2"));
    assert_true(has(out, "MY_DB_NAME=/web/my-db"));
    assert_true(has(out, "MY_DB_ENV_A=1=2"));
    assert_false(has(out, "MY_DB_ENV_PATH=/bin"));
    assert_false(has(out, "MY_DB_ENV_HOME=/root"));
    /* 5 ports x 4, one run x 6, the default, the name, one env */
    assert_int_equal(json_array_size(out), 20 + 6 + 1 + 1 + 1);
    json_decref(out);
    out = json_array();
    rt_link_env("/web/x", "10.0.0.3", NULL, NULL, out);
    assert_int_equal(json_array_size(out), 1);
    assert_string_equal(json_string_value(json_array_get(out, 0)), "X_NAME=/web/x");
    json_decref(out);
    json_decref(ports);
    json_decref(cenv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
