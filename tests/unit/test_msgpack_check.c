/* lib/msgpack_check: honest objects pass with their end, lying counts and
 * lengths fail before msgpack-c would allocate for them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/msgpack_check.h"

#define OK(bytes, want_end)                                                   \
    do {                                                                      \
        static const unsigned char b[] = bytes;                               \
        size_t end = 0;                                                       \
        assert_true(mp_well_formed(b, sizeof b - 1, &end));                   \
        assert_int_equal(end, want_end);                                      \
    } while (0)
#define BAD(bytes)                                                            \
    do {                                                                      \
        static const unsigned char b[] = bytes;                               \
        assert_false(mp_well_formed(b, sizeof b - 1, NULL));                  \
    } while (0)

static void test_honest(void **state)
{
    (void)state;
    OK("\x01", 1);
    OK("\xc0", 1);
    OK("\xa3" "abc", 4);
    OK("\x82\xa1v\x01\xa3ops\x91\x80", 10);             /* {"v":1,"ops":[{}]} */
    OK("\xdc\x00\x02\xcc\xff\xd3\x00\x00\x00\x00\x00\x00\x00\x01", 14);
    OK("\xd9\x02hi\x00\x00", 4);                          /* padding after the object */
    OK("\xc7\x01\x05x", 4);                               /* ext8, type 5, one byte */
    OK("\xd4\x01\x02", 3);                                /* fixext1 */
}

static void test_lies(void **state)
{
    (void)state;
    BAD("");
    BAD("\xdd\xff\xff\xff\xff\x01");                      /* array32 of 4 billion */
    BAD("\xdf\x00\x01\x00\x00\x01\x02");                  /* map32 of 65536 pairs */
    BAD("\xdb\x7f\xff\xff\xff" "abc");                     /* str32 longer than the input */
    BAD("\x92\x01");                                      /* array of 2 with one element */
    BAD("\x81\x01");                                      /* map pair without a value */
    BAD("\xc1");                                          /* never used */
    BAD("\xcb\x00\x00");                                  /* truncated float64 */
    BAD("\xdc\x00");                                      /* truncated array16 header */
}

static void test_depth(void **state)
{
    (void)state;
    unsigned char deep[80];
    for (size_t i = 0; i < sizeof deep - 1; i++)
        deep[i] = 0x91;                                   /* [[[[...]]]] */
    deep[sizeof deep - 1] = 0x01;
    assert_false(mp_well_formed(deep, sizeof deep, NULL));
    assert_true(mp_well_formed(deep + sizeof deep - 40, 40, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_honest),
        cmocka_unit_test(test_lies),
        cmocka_unit_test(test_depth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
