/* lib/filters.c: the `filters` query parameter in its array and map forms,
 * boolean filters and label matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/filters.h"

static const char *const allowed[] = {"dangling", "label", "label!", "reference", "until", NULL};

static void assert_values(json_t *f, const char *name, const char *const *want, size_t n)
{
    json_t *vals = json_object_get(f, name);
    assert_non_null(vals);
    assert_true(json_is_array(vals));
    assert_int_equal(json_array_size(vals), n);
    for (size_t i = 0; i < n; i++) {
        json_t *it = json_array_get(vals, i);
        assert_true(json_is_string(it));
        assert_string_equal(json_string_value(it), want[i]);
    }
}

static void test_empty(void **state)
{
    (void)state;
    json_t *f = NULL;
    berr e = {0};
    assert_int_equal(filters_parse(NULL, allowed, &f, &e), 0);
    assert_true(json_is_object(f));
    assert_int_equal(json_object_size(f), 0);
    assert_false(filters_has(f, "dangling"));
    json_decref(f);

    f = NULL;
    assert_int_equal(filters_parse("", allowed, &f, &e), 0);
    assert_true(json_is_object(f));
    assert_int_equal(json_object_size(f), 0);
    json_decref(f);

    f = NULL;
    assert_int_equal(filters_parse("{}", allowed, &f, &e), 0);
    assert_int_equal(json_object_size(f), 0);
    json_decref(f);
    assert_int_equal(e.code, 0);
}

static void test_array_form(void **state)
{
    (void)state;
    json_t *f = NULL;
    berr e = {0};
    assert_int_equal(filters_parse("{\"label\":[\"a\",\"b=c\"],\"reference\":[\"busybox:*\"]}", allowed, &f, &e), 0);
    static const char *const labels[] = {"a", "b=c"};
    static const char *const refs[] = {"busybox:*"};
    assert_values(f, "label", labels, 2);
    assert_values(f, "reference", refs, 1);
    assert_true(filters_has(f, "label"));
    assert_false(filters_has(f, "dangling"));
    json_decref(f);

    /* an empty list is kept but counts as absent for filters_has */
    f = NULL;
    assert_int_equal(filters_parse("{\"label\":[]}", allowed, &f, &e), 0);
    assert_values(f, "label", NULL, 0);
    assert_false(filters_has(f, "label"));
    json_decref(f);
}

static void test_map_form(void **state)
{
    (void)state;
    json_t *f = NULL;
    berr e = {0};
    assert_int_equal(filters_parse("{\"dangling\":{\"true\":true}}", allowed, &f, &e), 0);
    static const char *const dangling[] = {"true"};
    assert_values(f, "dangling", dangling, 1);
    assert_true(filters_has(f, "dangling"));
    bool b = false;
    assert_int_equal(filters_bool(f, "dangling", &b, &e), 0);
    assert_true(b);
    json_decref(f);

    f = NULL;
    assert_int_equal(filters_parse("{\"label\":{\"a\":true,\"b=c\":true}}", allowed, &f, &e), 0);
    static const char *const labels[] = {"a", "b=c"};
    assert_values(f, "label", labels, 2);
    json_decref(f);

    /* both forms in one query */
    f = NULL;
    assert_int_equal(filters_parse("{\"label\":[\"x\"],\"dangling\":{\"false\":true}}", allowed, &f, &e), 0);
    static const char *const x[] = {"x"};
    static const char *const no[] = {"false"};
    assert_values(f, "label", x, 1);
    assert_values(f, "dangling", no, 1);
    json_decref(f);
}

static void test_unknown_name(void **state)
{
    (void)state;
    json_t *f = NULL;
    berr e = {0};
    assert_int_equal(filters_parse("{\"x\":[\"1\"]}", allowed, &f, &e), -EINVAL);
    assert_int_equal(e.code, -EINVAL);
    assert_string_equal(e.msg, "invalid filter 'x'");
    assert_null(f);

    berr_clear(&e);
    assert_int_equal(filters_parse("{\"label\":[\"a\"],\"since\":[\"1\"]}", allowed, &f, &e), -EINVAL);
    assert_string_equal(e.msg, "invalid filter 'since'");
    assert_null(f);

    /* an empty allow list refuses everything */
    static const char *const none[] = {NULL};
    berr_clear(&e);
    assert_int_equal(filters_parse("{\"label\":[\"a\"]}", none, &f, &e), -EINVAL);
    assert_string_equal(e.msg, "invalid filter 'label'");
    assert_null(f);
}

static void test_not_an_object(void **state)
{
    (void)state;
    static const char *const bad[] = {"[]", "[\"dangling\"]", "\"dangling\"", "42", "null", "{", "dangling=true",
                                      "{\"label\":"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *f = NULL;
        berr e = {0};
        assert_int_equal(filters_parse(bad[i], allowed, &f, &e), -EINVAL);
        assert_int_equal(e.code, -EINVAL);
        assert_non_null(strstr(e.msg, "invalid filter"));
        /* nothing is handed back on failure (callers do not free it) */
        assert_null(f);
    }
    json_t *f = NULL;
    berr e = {0};
    assert_int_equal(filters_parse("[]", allowed, &f, &e), -EINVAL);
    assert_string_equal(e.msg, "invalid filter: expected a JSON object");
    assert_null(f);
}

static void test_bad_values(void **state)
{
    (void)state;
    json_t *f = NULL;
    berr e = {0};
    assert_int_equal(filters_parse("{\"label\":[\"a\",1]}", allowed, &f, &e), -EINVAL);
    assert_string_equal(e.msg, "invalid filter 'label': values must be strings");
    assert_null(f);

    berr_clear(&e);
    assert_int_equal(filters_parse("{\"label\":\"a\"}", allowed, &f, &e), -EINVAL);
    assert_string_equal(e.msg, "invalid filter 'label': expected a list or a map of values");
    assert_null(f);

    berr_clear(&e);
    assert_int_equal(filters_parse("{\"dangling\":true}", allowed, &f, &e), -EINVAL);
    assert_null(f);
}

static json_t *parse_ok(const char *text)
{
    json_t *f = NULL;
    berr e = {0};
    assert_int_equal(filters_parse(text, allowed, &f, &e), 0);
    return f;
}

static void test_bool(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        bool want;
    } ok[] = {
        {"{\"dangling\":[\"true\"]}", true},
        {"{\"dangling\":[\"1\"]}", true},
        {"{\"dangling\":[\"false\"]}", false},
        {"{\"dangling\":[\"0\"]}", false},
        {"{\"dangling\":{\"1\":true}}", true},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        json_t *f = parse_ok(ok[i].text);
        berr e = {0};
        bool b = !ok[i].want;
        assert_int_equal(filters_bool(f, "dangling", &b, &e), 0);
        assert_int_equal(b, ok[i].want);
        json_decref(f);
    }
}

static void test_bool_invalid_and_absent(void **state)
{
    (void)state;
    json_t *f = parse_ok("{\"dangling\":[\"maybe\"]}");
    berr e = {0};
    bool b = true;
    assert_int_equal(filters_bool(f, "dangling", &b, &e), -EINVAL);
    assert_int_equal(e.code, -EINVAL);
    assert_string_equal(e.msg, "invalid filter 'dangling=maybe'");
    json_decref(f);

    /* dockerd spells booleans only as true/false/1/0 here */
    f = parse_ok("{\"dangling\":[\"True\"]}");
    berr_clear(&e);
    assert_int_equal(filters_bool(f, "dangling", &b, &e), -EINVAL);
    assert_string_equal(e.msg, "invalid filter 'dangling=True'");
    json_decref(f);

    /* absent: *out untouched */
    f = parse_ok("{\"label\":[\"a\"]}");
    berr_clear(&e);
    b = true;
    assert_int_equal(filters_bool(f, "dangling", &b, &e), 0);
    assert_true(b);
    b = false;
    assert_int_equal(filters_bool(f, "dangling", &b, &e), 0);
    assert_false(b);
    assert_int_equal(e.code, 0);
    json_decref(f);
}

static void test_match_labels(void **state)
{
    (void)state;
    json_t *labels = json_pack("{s:s, s:s, s:s, s:i}", "a", "1", "b", "2", "empty", "", "num", 3);
    assert_non_null(labels);
    static const struct {
        const char *filter;
        bool want;
    } cases[] = {
        {"{\"label\":[\"a\"]}", true},
        {"{\"label\":[\"a=1\"]}", true},
        {"{\"label\":[\"a=2\"]}", false},
        {"{\"label\":[\"a=\"]}", false},
        {"{\"label\":[\"c\"]}", false},
        {"{\"label\":[\"c=1\"]}", false},
        {"{\"label\":[\"a\",\"b=2\"]}", true},
        {"{\"label\":[\"a\",\"b=3\"]}", false},
        {"{\"label\":[\"empty\"]}", true},
        {"{\"label\":[\"empty=\"]}", true},
        {"{\"label\":[\"num\"]}", true},
        {"{\"label\":[\"num=3\"]}", false}, /* label values are strings */
        {"{\"label\":{\"a=1\":true,\"b\":true}}", true},
        {"{\"label\":[]}", true},
        {"{}", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *f = parse_ok(cases[i].filter);
        if (filters_match_labels(f, "label", labels) != cases[i].want)
            fail_msg("filter %s: expected %s", cases[i].filter, cases[i].want ? "match" : "no match");
        json_decref(f);
    }

    /* an image without labels matches only an empty label filter */
    json_t *f = parse_ok("{\"label\":[\"a\"]}");
    assert_false(filters_match_labels(f, "label", NULL));
    json_t *none = json_object();
    assert_false(filters_match_labels(f, "label", none));
    json_decref(f);
    f = parse_ok("{}");
    assert_true(filters_match_labels(f, "label", none));
    json_decref(f);
    json_decref(none);

    /* label! excludes when any of its values matches */
    f = parse_ok("{\"label!\":[\"zzz\",\"a=1\"]}");
    assert_true(filters_match_any_label(f, "label!", labels));
    json_decref(f);
    f = parse_ok("{\"label!\":[\"a=2\",\"zzz\"]}");
    assert_false(filters_match_any_label(f, "label!", labels));
    json_decref(f);
    f = parse_ok("{}");
    assert_false(filters_match_any_label(f, "label!", labels));
    json_decref(f);
    json_decref(labels);
}

static void test_until(void **state)
{
    (void)state;
    berr e = {0};
    json_t *f = NULL;
    long long until = 0;
    static const char *const allowed_until[] = {"until", NULL};
    assert_int_equal(filters_parse("{\"until\":[\"1700000000\"]}", allowed_until, &f, &e), 0);
    assert_int_equal(filters_until(f, &until, &e), 1);
    assert_int_equal(until, 1700000000LL);
    json_decref(f);
    assert_int_equal(filters_parse("{\"until\":[\"yesterday\"]}", allowed_until, &f, &e), 0);
    assert_int_equal(filters_until(f, &until, &e), -EINVAL);
    assert_string_equal(e.msg, "invalid filter 'until=yesterday'");
    json_decref(f);
    assert_int_equal(filters_parse(NULL, allowed_until, &f, &e), 0);
    assert_int_equal(filters_until(f, &until, &e), 0);
    json_decref(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_array_form),
        cmocka_unit_test(test_map_form),
        cmocka_unit_test(test_unknown_name),
        cmocka_unit_test(test_not_an_object),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_bool),
        cmocka_unit_test(test_bool_invalid_and_absent),
        cmocka_unit_test(test_match_labels),
        cmocka_unit_test(test_until),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
