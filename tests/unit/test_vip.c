/* netoverlay/vip.c: the nftables program that balances a service's VIP
 * over its running tasks inside a container's namespace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "netoverlay/ipam/ipam.h"
#include "netoverlay/vip.h"

static uint32_t A(const char *s)
{
    uint32_t a = 0;
    assert_int_equal(ipam_parse_addr(s, &a), 0);
    return a;
}

static void test_balanced_and_refused(void **state)
{
    (void)state;
    uint32_t web[] = {A("10.0.1.3"), A("10.0.1.4"), A("10.0.1.5")};
    net_vip vips[] = {{A("10.0.1.2"), web, 3}, {A("10.0.1.9"), NULL, 0}};
    buf out = BUF_INIT;
    net_vip_ruleset(vips, 2, &out);
    const char *want =
        "add table ip berth\n"
        "delete table ip berth\n"
        "table ip berth {\n"
        "\tchain output {\n"
        "\t\ttype nat hook output priority -100; policy accept;\n"
        "\t\tip daddr 10.0.1.2 dnat to numgen inc mod 3 map { 0 : 10.0.1.3, 1 : 10.0.1.4, 2 : 10.0.1.5 }\n"
        "\t}\n"
        "\tchain refuse {\n"
        "\t\ttype filter hook output priority 0; policy accept;\n"
        "\t\tip daddr 10.0.1.9 meta l4proto tcp reject with tcp reset\n"
        "\t\tip daddr 10.0.1.9 reject\n"
        "\t}\n"
        "}\n";
    assert_string_equal(out.data, want);
    buf_free(&out);
}

static void test_no_vips_removes_the_table(void **state)
{
    (void)state;
    buf out = BUF_INIT;
    net_vip_ruleset(NULL, 0, &out);
    assert_string_equal(out.data, "add table ip berth\ndelete table ip berth\n");
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_balanced_and_refused),
        cmocka_unit_test(test_no_vips_removes_the_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
