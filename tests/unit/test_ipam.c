/* netoverlay/ipam/ipam.c: subnets, serial allocation, --ip reservations and the
 * choice of a free default subnet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "netoverlay/ipam/ipam.h"

static uint32_t A(const char *s)
{
    uint32_t a = 0;
    assert_int_equal(ipam_parse_addr(s, &a), 0);
    return a;
}

static void test_parse(void **state)
{
    (void)state;
    uint32_t a;
    int len;
    assert_int_equal(ipam_parse_cidr("172.17.0.1/16", &a, &len), 0);
    assert_int_equal(a, 0xac110001);
    assert_int_equal(len, 16);
    assert_int_equal(ipam_parse_cidr("172.17.0.1", &a, &len), -EINVAL);
    assert_int_equal(ipam_parse_cidr("172.17.0.1/33", &a, &len), -EINVAL);
    assert_int_equal(ipam_parse_cidr("300.1.1.1/8", &a, &len), -EINVAL);
    assert_int_equal(ipam_parse_cidr("1.1.1.1/", &a, &len), -EINVAL);
    char s[IPAM_CIDR_BUF];
    ipam_format_cidr(0x0a000000, 8, s);
    assert_string_equal(s, "10.0.0.0/8");
    assert_true(ipam_overlaps(A("10.0.0.0"), 8, A("10.1.0.0"), 16));
    assert_false(ipam_overlaps(A("10.0.0.0"), 16, A("10.1.0.0"), 16));
}

static void test_serial_alloc(void **state)
{
    (void)state;
    ipam_pool p;
    berr e = {0};
    assert_int_equal(ipam_pool_init(&p, "10.5.0.0/29", NULL, NULL, &e), 0);
    assert_int_equal(p.gateway, A("10.5.0.1"));
    uint32_t got[5];
    for (int i = 0; i < 5; i++)
        assert_int_equal(ipam_alloc(&p, &got[i], &e), 0);
    assert_int_equal(got[0], A("10.5.0.2"));
    assert_int_equal(got[4], A("10.5.0.6"));
    assert_int_equal(ipam_alloc(&p, &got[0], &e), -ENOSPC);
    /* A released address is handed out again only after the others. */
    ipam_release(&p, A("10.5.0.3"));
    ipam_release(&p, A("10.5.0.5"));
    uint32_t a;
    assert_int_equal(ipam_alloc(&p, &a, &e), 0);
    assert_int_equal(a, A("10.5.0.3"));
    assert_int_equal(ipam_alloc(&p, &a, &e), 0);
    assert_int_equal(a, A("10.5.0.5"));
    /* The gateway is never released. */
    ipam_release(&p, p.gateway);
    assert_true(ipam_in_use(&p, p.gateway));
    ipam_pool_free(&p);
}

static void test_range_gateway_reserve(void **state)
{
    (void)state;
    ipam_pool p;
    berr e = {0};
    assert_int_equal(ipam_pool_init(&p, "10.6.0.0/24", "10.6.0.128/25", "10.6.0.254", &e), 0);
    uint32_t a;
    assert_int_equal(ipam_alloc(&p, &a, &e), 0);
    assert_int_equal(a, A("10.6.0.128"));
    /* --ip may be anywhere in the subnet, not only the range. */
    assert_int_equal(ipam_reserve(&p, A("10.6.0.9"), &e), 0);
    assert_int_equal(ipam_reserve(&p, A("10.6.0.9"), &e), -EEXIST);
    assert_string_equal(e.msg, "Address already in use");
    assert_int_equal(ipam_reserve(&p, A("10.6.0.254"), &e), -EEXIST);
    assert_int_equal(ipam_reserve(&p, A("10.7.0.9"), &e), -EINVAL);
    assert_int_equal(ipam_reserve(&p, A("10.6.0.255"), &e), -EINVAL);
    ipam_pool_free(&p);

    assert_int_equal(ipam_pool_init(&p, "10.6.0.0/24", NULL, "10.7.0.1", &e), -EINVAL);
    ipam_pool_free(&p);
    assert_int_equal(ipam_pool_init(&p, "10.6.0.0/24", "10.8.0.0/25", NULL, &e), -EINVAL);
    ipam_pool_free(&p);
    assert_int_equal(ipam_pool_init(&p, "nonsense", NULL, NULL, &e), -EINVAL);
    assert_string_equal(e.msg, "invalid CIDR address: nonsense");
    ipam_pool_free(&p);
    /* Host bits in the subnet are dropped, as Docker does. */
    assert_int_equal(ipam_pool_init(&p, "10.9.3.7/16", NULL, NULL, &e), 0);
    assert_int_equal(p.subnet, A("10.9.0.0"));
    ipam_pool_free(&p);
}

static void test_pick(void **state)
{
    (void)state;
    berr e = {0};
    ipam_subnet out;
    assert_int_equal(ipam_pick_subnet(ipam_docker_pools, ipam_docker_pools_n, NULL, 0, &out, &e), 0);
    assert_int_equal(out.addr, A("172.17.0.0"));
    ipam_subnet taken[] = {{A("172.17.0.0"), 16}, {A("172.18.5.0"), 24}};
    assert_int_equal(ipam_pick_subnet(ipam_docker_pools, ipam_docker_pools_n, taken, 2, &out, &e), 0);
    assert_int_equal(out.addr, A("172.19.0.0"));
    assert_int_equal(out.prefix, 16);
    /* All of 172.16/12 taken: on to 192.168.0.0/20. */
    ipam_subnet big[] = {{A("172.16.0.0"), 12}, {A("192.168.0.0"), 20}};
    assert_int_equal(ipam_pick_subnet(ipam_docker_pools, ipam_docker_pools_n, big, 2, &out, &e), 0);
    assert_int_equal(out.addr, A("192.168.16.0"));
    assert_int_equal(out.prefix, 20);

    ipam_default_pool p;
    assert_int_equal(ipam_parse_default_pool("base=10.10.0.0/16,size=24", &p, &e), 0);
    assert_int_equal(p.base, A("10.10.0.0"));
    assert_int_equal(p.size, 24);
    ipam_subnet t2[] = {{A("10.10.0.0"), 24}};
    assert_int_equal(ipam_pick_subnet(&p, 1, t2, 1, &out, &e), 0);
    assert_int_equal(out.addr, A("10.10.1.0"));
    ipam_subnet all[] = {{A("10.10.0.0"), 16}};
    assert_int_equal(ipam_pick_subnet(&p, 1, all, 1, &out, &e), -ENOSPC);
    assert_int_equal(ipam_parse_default_pool("base=10.10.0.0/16", &p, &e), -EINVAL);
    assert_int_equal(ipam_parse_default_pool("base=10.10.0.0/16,size=8", &p, &e), -EINVAL);
    assert_int_equal(ipam_parse_default_pool("size=24,color=red", &p, &e), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_serial_alloc),
        cmocka_unit_test(test_range_gateway_reserve),
        cmocka_unit_test(test_pick),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
