/* netoverlay/ipam/ipam6.c: IPv6 text and numbers, pools over 2^64 addresses
 * (serial allocation, --ip6 reservations), the ULA default pool derived
 * from the host ID and the choice of a free default subnet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "netoverlay/ipam/ipam6.h"

static ipam6_addr A(const char *s)
{
    ipam6_addr a = 0;
    assert_int_equal(ipam6_parse_addr(s, &a), 0);
    return a;
}

/* cmocka's integer asserts are 64 bits wide: compare addresses as text,
 * which also makes a failure readable. */
static void assert_addr(ipam6_addr a, const char *want)
{
    char s[IPAM6_ADDR_BUF];
    ipam6_format_addr(a, s);
    assert_string_equal(s, want);
}

/* Allocates n addresses, expecting want's in order, then -ENOSPC when full.
 * WANT("a", "b") passes the list and its length. */
#define WANT(...) (const char *const[]){__VA_ARGS__}, sizeof (const char *const[]){__VA_ARGS__} / sizeof(char *)
static void expect_allocs(ipam6_pool *p, const char *const *want, size_t n, bool full)
{
    ipam6_addr a;
    berr e = {0};
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ipam6_alloc(p, &a, &e), 0);
        assert_addr(a, want[i]);
    }
    if (full) {
        assert_int_equal(ipam6_alloc(p, &a, &e), -ENOSPC);
        assert_string_equal(e.msg, "no available IPv6 addresses on this network's address pools");
    }
}

static void test_parse_format(void **state)
{
    (void)state;
    /* The last: whatever inet_pton takes, as a v4-mapped address. */
    const char *rt[][2] = {{"fd00:0:0:0::2", "fd00::2"}, {"FD00:0000::0002", "fd00::2"},
                           {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"}, {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},
                           {"::", "::"}, {"::1", "::1"}, {"::ffff:192.0.2.1", "::ffff:192.0.2.1"},
                           {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}};
    for (size_t i = 0; i < sizeof rt / sizeof rt[0]; i++)
        assert_addr(A(rt[i][0]), rt[i][1]);
    ipam6_addr a;
    const char *bad_addr[] = {"192.0.2.1", "", "fd00::g", "fd00:::1", "fe80::1%eth0", "fd00::/64", NULL};
    for (const char **s = bad_addr; *s; s++)
        assert_int_equal(ipam6_parse_addr(*s, &a), -EINVAL);
    assert_int_equal(ipam6_parse_addr(NULL, &a), -EINVAL);
    /* The first bit of the address is the number's bit 127. */
    assert_true(A("8000::") == (ipam6_addr)1 << 127);
    assert_true(A("::1") == 1);
    uint8_t b[16];
    ipam6_to_bytes(A("fd00:1234::2"), b);
    const uint8_t want[16] = {0xfd, 0x00, 0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};
    assert_memory_equal(b, want, 16);
    assert_addr(ipam6_from_bytes(want), "fd00:1234::2");

    int len;
    assert_int_equal(ipam6_parse_cidr("fd00::1/64", &a, &len), 0);
    assert_addr(a, "fd00::1");   /* as written: the host bits stay */
    assert_int_equal(len, 64);
    assert_true(ipam6_parse_cidr("::/0", &a, &len) == 0 && len == 0);
    assert_true(ipam6_parse_cidr("fd00::1/128", &a, &len) == 0 && len == 128);
    const char *bad[] = {"fd00::/129", "fd00::", "fd00::/", "fd00::/+64", "fd00::/064", "fd00::/ 64",
                         "fd00::/64x", "10.0.0.0/8", "/64", "fd00::/-1", NULL};
    for (const char **s = bad; *s; s++)
        assert_int_equal(ipam6_parse_cidr(*s, &a, &len), -EINVAL);
    assert_int_equal(ipam6_parse_cidr(NULL, &a, &len), -EINVAL);

    char c[IPAM6_CIDR_BUF];
    ipam6_format_cidr(A("fd00::"), 64, c);
    assert_string_equal(c, "fd00::/64");
    ipam6_format_cidr(~(ipam6_addr)0, 128, c);
    assert_string_equal(c, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");

    assert_true(ipam6_is_v6_text("fd00::/64") && ipam6_is_v6_text("::1"));
    assert_false(ipam6_is_v6_text("10.0.0.0/8") || ipam6_is_v6_text("") || ipam6_is_v6_text(NULL));
}

static void test_mask_overlaps(void **state)
{
    (void)state;
    assert_addr(ipam6_mask(0), "::");
    assert_addr(ipam6_mask(-1), "::");
    assert_addr(ipam6_mask(1), "8000::");
    assert_addr(ipam6_mask(64), "ffff:ffff:ffff:ffff::");
    assert_addr(ipam6_mask(127), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe");
    assert_addr(ipam6_mask(128), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    assert_addr(ipam6_mask(129), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");

    assert_true(ipam6_overlaps(A("fd00::"), 48, A("fd00:0:0:5::"), 64));
    assert_true(ipam6_overlaps(A("fd00:0:0:5::"), 64, A("fd00::"), 48));
    assert_false(ipam6_overlaps(A("fd00::"), 64, A("fd00:0:0:1::"), 64));
    assert_true(ipam6_overlaps(A("::"), 0, A("2001:db8::"), 32));
    assert_true(ipam6_overlaps(A("fd00::7"), 128, A("fd00::7"), 128));
    assert_false(ipam6_overlaps(A("fd00::7"), 128, A("fd00::6"), 128));
}

static void expect_init_error(const char *subnet, const char *range, const char *gw, const char *msg)
{
    ipam6_pool p;
    berr e = {0};
    assert_int_equal(ipam6_pool_init(&p, subnet, range, gw, &e), -EINVAL);
    assert_string_equal(e.msg, msg);
    ipam6_pool_free(&p);
}

static void test_pool_init(void **state)
{
    (void)state;
    expect_init_error("nonsense", NULL, NULL, "invalid CIDR address: nonsense");
    expect_init_error(NULL, NULL, NULL, "invalid CIDR address: ");
    expect_init_error("10.0.0.0/24", NULL, NULL, "invalid CIDR address: 10.0.0.0/24");
    expect_init_error("fd00::/127", NULL, NULL, "invalid subnet fd00::/127: the prefix length must be between 1 and 126");
    expect_init_error("::/0", NULL, NULL, "invalid subnet ::/0: the prefix length must be between 1 and 126");
    expect_init_error("fd00::/64", "junk", NULL, "invalid CIDR address: junk");
    expect_init_error("fd00::/64", "fd01::/80", NULL, "Invalid Address: fd01::/80 is not in fd00::/64");
    expect_init_error("fd00::/64", "fd00::/48", NULL, "Invalid Address: fd00::/48 is not in fd00::/64");
    expect_init_error("fd00::/64", NULL, "fd00::zz", "invalid gateway address fd00::zz");
    expect_init_error("fd00::/64", NULL, "10.0.0.1", "invalid gateway address 10.0.0.1");
    expect_init_error("fd00::/64", NULL, "fd01::1", "no matching subnet for gateway fd01::1");
    expect_init_error("fd00::/64", NULL, "fd00::", "no matching subnet for gateway fd00::");
    ipam6_pool p;
    assert_int_equal(ipam6_pool_init(&p, "x", NULL, NULL, NULL), -EINVAL);   /* e may be NULL */

    /* Host bits in the subnet are dropped, as Docker does. */
    berr e = {0};
    assert_int_equal(ipam6_pool_init(&p, "fd00::5/64", "", "", &e), 0);
    assert_addr(p.subnet, "fd00::");
    assert_int_equal(p.prefix, 64);
    assert_addr(p.gateway, "fd00::1");
    assert_addr(p.range_first, "fd00::1");
    assert_addr(p.range_last, "fd00::ffff:ffff:ffff:ffff");
    assert_true(ipam6_in_use(&p, p.gateway));
    ipam6_pool_free(&p);
    ipam6_pool_free(&p);   /* twice is fine */
    ipam6_pool z = {0};
    ipam6_pool_free(&z);

    /* No broadcast in IPv6: the subnet's last address may be the gateway. */
    assert_int_equal(ipam6_pool_init(&p, "fd00::/64", NULL, "fd00::ffff:ffff:ffff:ffff", &e), 0);
    ipam6_pool_free(&p);
}

static void test_serial_alloc(void **state)
{
    (void)state;
    ipam6_pool p;
    berr e = {0};
    ipam6_addr a;
    /* fd00::/126: network ::0, gateway ::1, then ::2 and ::3, the last. */
    assert_int_equal(ipam6_pool_init(&p, "fd00::/126", NULL, NULL, &e), 0);
    expect_allocs(&p, WANT("fd00::2", "fd00::3"), true);
    ipam6_release(&p, A("fd00::2"));
    expect_allocs(&p, WANT("fd00::2"), true);   /* wraps round */
    /* The gateway is never released; an unknown address is a no-op. */
    ipam6_release(&p, p.gateway);
    assert_true(ipam6_in_use(&p, A("fd00::1")));
    ipam6_release(&p, A("fd00::9"));
    ipam6_release(&p, A("fd01::2"));
    assert_int_equal(p.n_used, 3);
    ipam6_pool_free(&p);

    /* A released address is handed out again only after the others. */
    assert_int_equal(ipam6_pool_init(&p, "fd00:1::/64", NULL, NULL, &e), 0);
    expect_allocs(&p, WANT("fd00:1::2", "fd00:1::3", "fd00:1::4"), false);
    ipam6_release(&p, A("fd00:1::3"));
    assert_false(ipam6_in_use(&p, A("fd00:1::3")));
    expect_allocs(&p, WANT("fd00:1::5"), false);
    ipam6_pool_free(&p);

    /* A gateway inside the range is skipped. */
    assert_int_equal(ipam6_pool_init(&p, "fd00::/125", NULL, "fd00::4", &e), 0);
    expect_allocs(&p, WANT("fd00::1", "fd00::2", "fd00::3", "fd00::5", "fd00::6", "fd00::7"), true);
    /* Free only before the last one handed out: found by wrapping round. */
    ipam6_release(&p, A("fd00::2"));
    expect_allocs(&p, WANT("fd00::2"), true);
    ipam6_release(&p, A("fd00::1"));
    expect_allocs(&p, WANT("fd00::1"), true);
    ipam6_pool_free(&p);

    /* At the very top of the address space nothing may overflow. */
    assert_int_equal(ipam6_pool_init(&p, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffc/126", NULL, NULL, &e), 0);
    expect_allocs(&p, WANT("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), true);
    ipam6_release(&p, A("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"));
    assert_int_equal(ipam6_alloc(&p, &a, &e), 0);
    assert_addr(a, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe");
    ipam6_pool_free(&p);
}

static void test_range(void **state)
{
    (void)state;
    ipam6_pool p;
    berr e = {0};
    /* A small --ip-range, the gateway outside it. */
    assert_int_equal(ipam6_pool_init(&p, "fd00::/64", "fd00::8/126", NULL, &e), 0);
    expect_allocs(&p, WANT("fd00::8", "fd00::9", "fd00::a", "fd00::b"), true);
    ipam6_pool_free(&p);
    /* A range at the subnet's start keeps the network address out... */
    assert_int_equal(ipam6_pool_init(&p, "fd00::/64", "fd00::/126", NULL, &e), 0);
    expect_allocs(&p, WANT("fd00::2", "fd00::3"), true);
    ipam6_pool_free(&p);
    /* ... and a /128 on it leaves nothing to hand out. */
    assert_int_equal(ipam6_pool_init(&p, "fd00::/64", "fd00::/128", NULL, &e), 0);
    expect_allocs(&p, NULL, 0, true);
    ipam6_pool_free(&p);
}

static void test_reserve(void **state)
{
    (void)state;
    ipam6_pool p;
    berr e = {0};
    assert_int_equal(ipam6_pool_init(&p, "fd00::/64", "fd00::100/120", NULL, &e), 0);
    /* --ip6 may be anywhere in the subnet, not only the range. */
    assert_int_equal(ipam6_reserve(&p, A("fd00::5"), &e), 0);
    assert_true(ipam6_in_use(&p, A("fd00::5")));
    assert_int_equal(ipam6_reserve(&p, A("fd00::5"), &e), -EEXIST);
    assert_string_equal(e.msg, "Address already in use");
    assert_int_equal(ipam6_reserve(&p, A("fd00::1"), &e), -EEXIST);   /* the gateway */
    assert_int_equal(ipam6_reserve(&p, A("fd01::5"), &e), -EINVAL);
    assert_string_equal(e.msg, "no configured subnet or ip-range contain the IP address fd01::5 (subnet fd00::/64)");
    assert_false(ipam6_in_use(&p, A("fd01::5")));
    assert_int_equal(ipam6_reserve(&p, A("fd00::"), &e), -EINVAL);
    assert_string_equal(e.msg, "no configured subnet or ip-range contain the IP address fd00:: (subnet fd00::/64)");
    assert_int_equal(ipam6_reserve(&p, A("fd00::ffff:ffff:ffff:ffff"), &e), 0);
    /* Allocation steps over reserved addresses. */
    assert_int_equal(ipam6_reserve(&p, A("fd00::100"), &e), 0);
    assert_int_equal(ipam6_reserve(&p, A("fd00::102"), &e), 0);
    expect_allocs(&p, WANT("fd00::101", "fd00::103"), false);
    ipam6_pool_free(&p);
}

static void assert_sorted(const ipam6_pool *p)
{
    for (size_t i = 1; i < p->n_used; i++)
        assert_true(p->used[i - 1] < p->used[i]);
}

static void test_many(void **state)
{
    (void)state;
    ipam6_pool p;
    berr e = {0};
    ipam6_addr a, base = A("fd00::2");
    assert_int_equal(ipam6_pool_init(&p, "fd00::/64", NULL, NULL, &e), 0);
    for (unsigned i = 0; i < 5000; i++) {
        assert_int_equal(ipam6_alloc(&p, &a, &e), 0);
        assert_true(a == base + i);
    }
    assert_int_equal(p.n_used, 5001);
    for (unsigned i = 0; i < 5000; i += 2)
        ipam6_release(&p, base + i);
    assert_int_equal(p.n_used, 2501);
    assert_sorted(&p);
    for (unsigned i = 0; i < 5000; i++)
        assert_int_equal(ipam6_in_use(&p, base + i), i % 2 == 1);
    /* Serial: the next one is past the last, not a freed one. */
    assert_int_equal(ipam6_alloc(&p, &a, &e), 0);
    assert_true(a == base + 5000);
    for (unsigned i = 0; i < 5000; i += 2)
        assert_int_equal(ipam6_reserve(&p, base + i, &e), 0);
    for (unsigned i = 0; i < 5000; i += 7)
        assert_int_equal(ipam6_reserve(&p, base + i, &e), -EEXIST);
    assert_int_equal(p.n_used, 5002);
    assert_sorted(&p);
    ipam6_pool_free(&p);

    /* A full range of 4096, 100 freed: handed back from the range's start,
     * in order, once the allocator wraps. */
    assert_int_equal(ipam6_pool_init(&p, "fd00::/64", "fd00::1000/116", NULL, &e), 0);
    for (unsigned i = 0; i < 4096; i++)
        assert_int_equal(ipam6_alloc(&p, &a, &e), 0);
    assert_int_equal(ipam6_alloc(&p, &a, &e), -ENOSPC);
    for (unsigned i = 0; i < 100; i++)
        ipam6_release(&p, A("fd00::1000") + 40 * i + 3);
    for (unsigned i = 0; i < 100; i++) {
        assert_int_equal(ipam6_alloc(&p, &a, &e), 0);
        assert_true(a == A("fd00::1000") + 40 * i + 3);
    }
    assert_int_equal(ipam6_alloc(&p, &a, &e), -ENOSPC);
    assert_sorted(&p);
    ipam6_pool_free(&p);
}

static void test_ula(void **state)
{
    (void)state;
    /* Computed apart from the code under test, as moby's
     * deriveULABaseNetwork does it, with
     *   python3 -c 'import hashlib, ipaddress; s = hashlib.sha256(b"berth-test-host").digest();
     *     g = int.from_bytes(s[:8], "big") & (2**40 - 1);
     *     print(ipaddress.IPv6Network((int(ipaddress.IPv6Address("fd00::")) + (g << 80), 48)))'
     * sha256 = da11dc98c19c611f..., so the global ID is 98c19c611f. */
    ipam6_default_pool u = ipam6_ula_pool("berth-test-host");
    assert_addr(u.base, "fd98:c19c:611f::");
    assert_int_equal(u.base_prefix, 48);
    assert_int_equal(u.size, 64);
    /* The same for sha256("") = e3b0c44298fc1c14... */
    assert_addr(ipam6_ula_pool("").base, "fd42:98fc:1c14::");

    ipam6_subnet out;
    berr e = {0};
    assert_int_equal(ipam6_pick_subnet(&u, 1, NULL, 0, &out, &e), 0);
    assert_addr(out.addr, "fd98:c19c:611f::");
    assert_int_equal(out.prefix, 64);
}

static void expect_pick(const ipam6_default_pool *pools, size_t n, const ipam6_subnet *taken, size_t n_taken,
                        const char *want, int prefix)
{
    ipam6_subnet out;
    berr e = {0};
    assert_int_equal(ipam6_pick_subnet(pools, n, taken, n_taken, &out, &e), 0);
    assert_addr(out.addr, want);
    assert_int_equal(out.prefix, prefix);
}

static void test_pick(void **state)
{
    (void)state;
    ipam6_default_pool pools[] = {{A("fd00:1::"), 48, 64}, {A("fd00:2::"), 48, 64}};
    expect_pick(pools, 2, NULL, 0, "fd00:1::", 64);
    /* Taken in any order. */
    ipam6_subnet t1[] = {{A("fd00:1:0:1::"), 64}, {A("fd00:1::"), 64}};
    expect_pick(pools, 2, t1, 2, "fd00:1:0:2::", 64);
    /* A taken subnet smaller than size still takes the /64 it is in. */
    ipam6_subnet t2[] = {{A("fd00:1::5:0:0:0"), 80}};
    expect_pick(pools, 2, t2, 1, "fd00:1:0:1::", 64);
    /* ... one bigger than size is skipped past as a whole. */
    ipam6_subnet t3[] = {{A("fd00:1::"), 56}, {A("fd00:1:0:100::"), 64}};
    expect_pick(pools, 2, t3, 2, "fd00:1:0:101::", 64);
    /* A /48 covering the first pool: on to the next one. */
    ipam6_subnet t4[] = {{A("fd00:1::"), 48}, {A("fd00:2::"), 64}};
    expect_pick(pools, 2, t4, 2, "fd00:2:0:1::", 64);
    ipam6_subnet out;
    berr e = {0};
    ipam6_subnet all[] = {{A("fd00::"), 16}};
    assert_int_equal(ipam6_pick_subnet(pools, 2, all, 1, &out, &e), -ENOSPC);
    assert_string_equal(e.msg, "could not find an available, non-overlapping IPv6 address pool among the defaults to "
                               "assign to the network");
    assert_int_equal(ipam6_pick_subnet(pools, 0, NULL, 0, &out, NULL), -ENOSPC);

    /* 2^120 and 2^128 candidates: the skips make it instant. */
    ipam6_default_pool huge[] = {{A("ff00::"), 8, 64}, {A("fd00::"), 8, 128}, {A("::"), 0, 128}};
    ipam6_subnet t5[] = {{A("ff00::"), 8}, {A("fd00::"), 9}};
    expect_pick(huge, 3, t5, 2, "fd80::", 128);
    ipam6_subnet t6[] = {{A("ff00::"), 8}, {A("fd00::"), 8}, {A("::"), 1}};
    expect_pick(huge, 3, t6, 3, "8000::", 128);
    ipam6_subnet t7[] = {{A("::"), 0}};
    assert_int_equal(ipam6_pick_subnet(huge, 3, t7, 1, &out, &e), -ENOSPC);
}

static void expect_pool_error(const char *spec, const char *msg)
{
    ipam6_default_pool p;
    berr e = {0};
    assert_int_equal(ipam6_parse_default_pool(spec, &p, &e), -EINVAL);
    assert_string_equal(e.msg, msg);
}

static void test_parse_default_pool(void **state)
{
    (void)state;
    ipam6_default_pool p;
    berr e = {0};
    assert_int_equal(ipam6_parse_default_pool("base=fd00:1::/48,size=64", &p, &e), 0);
    assert_addr(p.base, "fd00:1::");
    assert_int_equal(p.base_prefix, 48);
    assert_int_equal(p.size, 64);
    assert_int_equal(ipam6_parse_default_pool("size=80,base=fd00:1::5/48", &p, &e), 0);
    assert_addr(p.base, "fd00:1::");   /* host bits dropped */
    assert_int_equal(p.size, 80);
    assert_int_equal(ipam6_parse_default_pool("base=fd00::/120,size=128", &p, &e), 0);
    assert_int_equal(ipam6_parse_default_pool("base=fd00::/48,size=48", &p, &e), 0);

    expect_pool_error("base=fd00:1::/48", "invalid default address pool base=fd00:1::/48: base and size are both required");
    expect_pool_error("", "invalid default address pool : base and size are both required");
    expect_pool_error(NULL, "invalid default address pool : base and size are both required");
    expect_pool_error("base=fd00::/48,size=40", "invalid default address pool base=fd00::/48,size=40: size 40 is larger than the base's /48");
    expect_pool_error("base=fd00::/48,size=129", "invalid default address pool base=fd00::/48,size=129: invalid size 129");
    expect_pool_error("base=fd00::/48,size=0", "invalid default address pool base=fd00::/48,size=0: invalid size 0");
    expect_pool_error("base=fd00::/48,size=", "invalid default address pool base=fd00::/48,size=: invalid size ");
    expect_pool_error("base=10.0.0.0/8,size=24", "invalid default address pool base=10.0.0.0/8,size=24: invalid CIDR address: 10.0.0.0/8");
    expect_pool_error("size=64,color=red", "invalid default address pool size=64,color=red: unexpected field color=red");
    assert_int_equal(ipam6_parse_default_pool("size=64", &p, NULL), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_format),
        cmocka_unit_test(test_mask_overlaps),
        cmocka_unit_test(test_pool_init),
        cmocka_unit_test(test_serial_alloc),
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_reserve),
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_ula),
        cmocka_unit_test(test_pick),
        cmocka_unit_test(test_parse_default_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
