/* Unit tests for runtime/container/netstats.c: the /proc/net/dev parser
 * behind the "networks" member of the stats JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/container/netstats.h"

static long long field(json_t *o, const char *ifname, const char *key)
{
    json_t *v = json_object_get(json_object_get(o, ifname), key);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static void test_parse(void **state)
{
    (void)state;
    const char *text =
        "Inter-|   Receive                                                |  Transmit\n"
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls "
        "carrier compressed\n"
        "    lo:     140       2    0    0    0     0          0         0      140       2    0    0    0     0  "
        "     0          0\n"
        "  eth0:    5338      36    1    2    0     0          0         0      648       8    3    4    0     0  "
        "     0          0\n"
        " tunl0:       0       0    0    0    0     0          0         0        0       0    0    0    0     0  "
        "     0          0\n"
        "eth1:18446744073709551615 26 0 0 0 0 0 0 690 9 0 0 0 0 0 0\n";
    json_t *o = rt_netstats_parse(text);
    assert_int_equal(json_object_size(o), 2);   /* lo and tunl0 left out */
    assert_null(json_object_get(o, "lo"));
    assert_int_equal(field(o, "eth0", "rx_bytes"), 5338);
    assert_int_equal(field(o, "eth0", "rx_packets"), 36);
    assert_int_equal(field(o, "eth0", "rx_errors"), 1);
    assert_int_equal(field(o, "eth0", "rx_dropped"), 2);
    assert_int_equal(field(o, "eth0", "tx_bytes"), 648);
    assert_int_equal(field(o, "eth0", "tx_packets"), 8);
    assert_int_equal(field(o, "eth0", "tx_errors"), 3);
    assert_int_equal(field(o, "eth0", "tx_dropped"), 4);
    assert_int_equal(json_object_size(json_object_get(o, "eth0")), 8);
    /* a counter glued to the name is still read */
    assert_int_equal(field(o, "eth1", "rx_packets"), 26);
    assert_int_equal(field(o, "eth1", "tx_bytes"), 690);
    json_decref(o);
}

static void test_bad_lines(void **state)
{
    (void)state;
    /* too few fields, a non-number, no colon, a name too long for an
     * interface, empty name: none of them becomes an entry */
    const char *text = "eth0: 1 2 3\n"
                       "eth1: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 x\n"
                       "eth2 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
                       "averyveryverylongname: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
                       ": 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
                       "eth3: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16";   /* no final newline: fine */
    json_t *o = rt_netstats_parse(text);
    assert_int_equal(json_object_size(o), 1);
    assert_int_equal(field(o, "eth3", "tx_bytes"), 9);
    assert_int_equal(field(o, "eth3", "tx_dropped"), 12);
    json_decref(o);
    o = rt_netstats_parse("");
    assert_int_equal(json_object_size(o), 0);
    json_decref(o);
    o = rt_netstats_parse(NULL);
    assert_int_equal(json_object_size(o), 0);
    json_decref(o);
}

static void test_read_self(void **state)
{
    (void)state;
    json_t *o = NULL;
    assert_int_equal(rt_netstats_read(getpid(), &o, NULL), 0);
    assert_non_null(o);
    assert_null(json_object_get(o, "lo"));
    json_decref(o);
    /* no such process */
    assert_int_equal(rt_netstats_read(0x7ffffff0, &o, NULL), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_read_self),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
