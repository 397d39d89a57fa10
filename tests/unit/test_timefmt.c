/* Unit tests for lib/timefmt.c: RFC 3339, Go durations and filter times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/timefmt.h"

static void test_rfc3339(void **state)
{
    (void)state;
    assert_int_equal(time_parse_rfc3339("2024-01-01T00:00:00Z"), 1704067200);
    assert_int_equal(time_parse_rfc3339("2024-01-01T00:00:00.123456789Z"), 1704067200);
    assert_int_equal(time_parse_rfc3339("2024-01-01T01:00:00+01:00"), 1704067200);
    assert_int_equal(time_parse_rfc3339("2023-12-31T23:00:00-01:00"), 1704067200);
    assert_int_equal(time_parse_rfc3339("yesterday"), 0);
    assert_int_equal(time_parse_rfc3339("2024-01-01T00:00:00junk"), 0);
    assert_int_equal(time_parse_rfc3339(NULL), 0);
    char now[TIME_RFC3339_BUF];
    time_now_rfc3339(now);
    assert_int_equal(strlen(now), 30);
    assert_true(time_parse_rfc3339(now) > 1704067200);
}

static void test_duration(void **state)
{
    (void)state;
    long long ns;
    assert_int_equal(time_parse_duration("90s", &ns), 0);
    assert_true(ns == 90000000000LL);
    assert_int_equal(time_parse_duration("1h30m", &ns), 0);
    assert_true(ns == 5400000000000LL);
    assert_int_equal(time_parse_duration("1.5h", &ns), 0);
    assert_true(ns == 5400000000000LL);
    assert_int_equal(time_parse_duration("100ms", &ns), 0);
    assert_true(ns == 100000000LL);
    assert_int_equal(time_parse_duration("0", &ns), 0);
    assert_true(ns == 0);
    assert_int_equal(time_parse_duration("10", &ns), -EINVAL);
    assert_int_equal(time_parse_duration("h", &ns), -EINVAL);
    assert_int_equal(time_parse_duration("5x", &ns), -EINVAL);
    assert_int_equal(time_parse_duration("", &ns), -EINVAL);
    /* Found by fuzz_filters: more than int64 nanoseconds hold, and what
     * strtold takes but Go does not, are refused instead of overflowing. */
    assert_int_equal(time_parse_duration("2ms4333333333333333333333333333333m02s4m", &ns), -EINVAL);
    assert_int_equal(time_parse_duration("infh", &ns), -EINVAL);
    assert_int_equal(time_parse_duration("nanh", &ns), -EINVAL);
    long long t;
    assert_int_equal(time_parse_filter("1e300", 0, &t), -EINVAL);
}

static void test_filter_times(void **state)
{
    (void)state;
    long long t;
    assert_int_equal(time_parse_filter("10m", 1000000, &t), 0);
    assert_true(t == 1000000 - 600);
    assert_int_equal(time_parse_filter("1700000000", 0, &t), 0);
    assert_true(t == 1700000000);
    assert_int_equal(time_parse_filter("1700000000.5", 0, &t), 0);
    assert_true(t == 1700000000);
    assert_int_equal(time_parse_filter("2024-01-01T00:00:00Z", 0, &t), 0);
    assert_true(t == 1704067200);
    assert_int_equal(time_parse_filter("2024-01-01", 0, &t), 0);
    assert_true(t == 1704067200);
    assert_int_equal(time_parse_filter("0", 1000000, &t), 0);
    assert_true(t == 0);
    assert_int_equal(time_parse_filter("soon", 0, &t), -EINVAL);
    assert_int_equal(time_parse_filter("", 0, &t), -EINVAL);
}

static void test_format_ns(void **state)
{
    (void)state;
    char out[TIME_RFC3339_BUF];
    time_format_rfc3339(1700000000123456789LL, out);
    assert_string_equal(out, "2023-11-14T22:13:20.123456789Z");
    assert_int_equal(time_parse_rfc3339(out), 1700000000LL);
    time_format_rfc3339(5, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000000005Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_filter_times),
        cmocka_unit_test(test_format_ns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
