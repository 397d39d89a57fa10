/* lib/json_write.c: the same bytes as json_dumps(JSON_COMPACT |
 * JSON_ENCODE_ANY) for every kind of value, and the same refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/json_write.h"

static void same_as_jansson(json_t *v)
{
    char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_non_null(want);
    buf b = BUF_INIT;
    buf_append(&b, "x", 1); /* appends after what is there */
    assert_true(json_write_compact(&b, v));
    assert_string_equal(b.data + 1, want);
    assert_int_equal(b.len, strlen(want) + 1);
    free(want);
    buf_free(&b);
    json_decref(v);
}

static void test_scalars(void **state)
{
    (void)state;
    same_as_jansson(json_null());
    same_as_jansson(json_true());
    same_as_jansson(json_false());
    same_as_jansson(json_integer(0));
    same_as_jansson(json_integer(-9223372036854775807LL - 1));
    same_as_jansson(json_integer(9223372036854775807LL));
    same_as_jansson(json_real(0.1));
    same_as_jansson(json_real(1e300));
    same_as_jansson(json_real(3.0));
    same_as_jansson(json_string(""));
}

static void test_strings(void **state)
{
    (void)state;
    same_as_jansson(json_string("plain ascii / slash"));
    same_as_jansson(json_string("quote \" backslash \\ end"));
    same_as_jansson(json_string("\b\f\n\r\t\x01\x1f\x7f"));
    same_as_jansson(json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3 \xe2\x80\xa8"));
    same_as_jansson(json_stringn("nul\0inside", 10));
    same_as_jansson(json_string("<tag>&amp;"));
}

static void test_containers(void **state)
{
    (void)state;
    same_as_jansson(json_object());
    same_as_jansson(json_array());
    same_as_jansson(json_pack("{s:[i,s,n,{}], s:{s:{s:[]}}, s:b, s:s}", "a", 1, "x", "b", "c", "d", "e", 1, "g",
                              "\"k"));
    /* insertion order, as json_dumps without JSON_SORT_KEYS */
    json_t *o = json_object();
    json_object_set_new(o, "zeta", json_integer(1));
    json_object_set_new(o, "alpha", json_integer(2));
    json_object_set_new(o, "mid\nkey", json_string("v"));
    same_as_jansson(o);
}

static void test_refusals(void **state)
{
    (void)state;
    static const char *const bad[] = {"\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "ok\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *v = json_pack("{s:[o]}", "k", json_stringn_nocheck(bad[i], strlen(bad[i])));
        assert_null(json_dumps(v, JSON_COMPACT));
        buf b = BUF_INIT;
        buf_append(&b, "kept", 4);
        assert_false(json_write_compact(&b, v));
        assert_string_equal(b.data, "kept"); /* left as it was */
        buf_free(&b);
        json_decref(v);
    }
    buf b = BUF_INIT;
    assert_false(json_write_compact(&b, NULL));
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_containers),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
