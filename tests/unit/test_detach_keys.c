/* Unit tests for api/detach_keys.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api/detach_keys.h"

static void test_parse(void **state)
{
    (void)state;
    detach_keys k;
    berr e = {0};
    assert_int_equal(detach_keys_parse(&k, "ctrl-p,ctrl-q", &e), 0);
    assert_int_equal(k.len, 2);
    assert_int_equal(k.seq[0], 16);
    assert_int_equal(k.seq[1], 17);
    assert_int_equal(detach_keys_parse(&k, "a,ctrl-@,ctrl-[,ctrl-_", &e), 0);
    assert_int_equal(k.len, 4);
    assert_memory_equal(k.seq, "a\0\x1b\x1f", 4);
    assert_int_equal(detach_keys_parse(&k, "", &e), 0);
    assert_int_equal(k.len, 0);
    assert_int_equal(detach_keys_parse(&k, "ctrl-1", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "Invalid detach keys (ctrl-1)"));
    assert_int_equal(detach_keys_parse(&k, "shift-a", &e), -EINVAL);
}

static void test_feed(void **state)
{
    (void)state;
    detach_keys k;
    detach_keys_parse(&k, "ctrl-p,ctrl-q", NULL);
    buf out = BUF_INIT;
    assert_false(detach_keys_feed(&k, "abc", 3, &out));
    assert_int_equal(out.len, 3);
    buf_reset(&out);
    /* a partial match is held back, then released when broken */
    assert_false(detach_keys_feed(&k, "x\x10", 2, &out));
    assert_int_equal(out.len, 1);
    assert_false(detach_keys_feed(&k, "y", 1, &out));
    assert_memory_equal(out.data, "x\x10y", 3);
    buf_reset(&out);
    /* the sequence split across two reads detaches; the rest is dropped */
    assert_false(detach_keys_feed(&k, "z\x10", 2, &out));
    assert_true(detach_keys_feed(&k, "\x11tail", 5, &out));
    assert_int_equal(out.len, 1);
    assert_memory_equal(out.data, "z", 1);
    buf_reset(&out);
    /* ctrl-p ctrl-p ctrl-q: the first is input, the pair detaches */
    assert_true(detach_keys_feed(&k, "\x10\x10\x11", 3, &out));
    assert_int_equal(out.len, 1);
    assert_int_equal((unsigned char)out.data[0], 16);
    buf_free(&out);
    /* no keys: everything passes */
    detach_keys_parse(&k, "", NULL);
    buf none = BUF_INIT;
    assert_false(detach_keys_feed(&k, "\x10\x11", 2, &none));
    assert_int_equal(none.len, 2);
    buf_free(&none);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_feed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
