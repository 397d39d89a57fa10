/* Unit tests for the pure parts of the container manager: restart
 * back-off, signal names. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/container/internal.h"
#include "runtime/container/validate.h"
#include "runtime/linux/signals.h"

static void test_backoff(void **state)
{
    (void)state;
    assert_int_equal(rt_restart_backoff_next(0, 0), 100);
    assert_int_equal(rt_restart_backoff_next(100, 50), 200);
    assert_int_equal(rt_restart_backoff_next(200, 50), 400);
    assert_int_equal(rt_restart_backoff_next(40000, 50), 60000);
    assert_int_equal(rt_restart_backoff_next(60000, 50), 60000);
    /* a run of 10 s resets it */
    assert_int_equal(rt_restart_backoff_next(60000, 10000), 100);
}

static void test_signals(void **state)
{
    (void)state;
    assert_int_equal(rt_signal_parse("SIGTERM"), SIGTERM);
    assert_int_equal(rt_signal_parse("term"), SIGTERM);
    assert_int_equal(rt_signal_parse("9"), 9);
    assert_int_equal(rt_signal_parse("USR1"), SIGUSR1);
    assert_int_equal(rt_signal_parse("SIGRTMIN+3"), SIGRTMIN + 3);
    assert_int_equal(rt_signal_parse("RTMAX"), SIGRTMAX);
    assert_int_equal(rt_signal_parse("SIGNOPE"), -EINVAL);
    assert_int_equal(rt_signal_parse("0"), -EINVAL);
    assert_int_equal(rt_signal_parse("100"), -EINVAL);
    assert_int_equal(rt_signal_parse(""), -EINVAL);
    assert_string_equal(rt_signal_name(SIGKILL), "SIGKILL");
    assert_string_equal(rt_signal_name(1000), "");
}

static void test_runtime_name(void **state)
{
    (void)state;
    berr e = {0};
    json_t *hc = json_object();
    /* unset: the default, recorded so inspect shows it */
    assert_int_equal(rt_container_validate_runtime(hc, &e), 0);
    assert_string_equal(json_string_value(json_object_get(hc, "Runtime")), "runc");
    json_object_set_new(hc, "Runtime", json_string(""));
    assert_int_equal(rt_container_validate_runtime(hc, &e), 0);
    assert_string_equal(json_string_value(json_object_get(hc, "Runtime")), "runc");
    assert_int_equal(rt_container_validate_runtime(hc, &e), 0);
    json_object_set_new(hc, "Runtime", json_string("nvidia"));
    assert_int_equal(rt_container_validate_runtime(hc, &e), -EINVAL);
    assert_string_equal(e.msg, "unknown or invalid runtime name: nvidia");
    json_object_set_new(hc, "Runtime", json_integer(1));
    assert_int_equal(rt_container_validate_runtime(hc, &e), -EINVAL);
    json_decref(hc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_signals),
        cmocka_unit_test(test_runtime_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
