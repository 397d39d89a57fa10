/* Capability arithmetic: Docker's default set, "all", and --cap-add /
 * --cap-drop with moby's TweakCapabilities semantics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/linux/spawn.h"

#define BIT(n) (UINT64_C(1) << (n))
enum { CHOWN = 0, DAC_OVERRIDE = 1, NET_BIND_SERVICE = 10, NET_ADMIN = 12, NET_RAW = 13, SYS_ADMIN = 21,
       SYS_PTRACE = 19, MKNOD = 27, CHECKPOINT_RESTORE = 40 };

static int last_cap(void)
{
    int v = 40;
    FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
    if (f) {
        if (fscanf(f, "%d", &v) != 1)
            v = 40;
        fclose(f);
    }
    return v;
}

static void test_default_is_dockers(void **state)
{
    (void)state;
    /* What `docker run busybox grep CapEff /proc/self/status` shows. */
    assert_int_equal(rt_caps_default(), UINT64_C(0x00000000a80425fb));
    const char **names = rt_caps_names(rt_caps_default());
    size_t n = 0;
    while (names[n])
        n++;
    assert_int_equal(n, 14);
    assert_string_equal(names[0], "CAP_CHOWN");
    assert_string_equal(names[n - 1], "CAP_SETFCAP");
    free(names);
}

static void test_all_matches_kernel(void **state)
{
    (void)state;
    int last = last_cap();
    uint64_t all = rt_caps_all();
    assert_true(all & BIT(last));
    if (last < 63)
        assert_int_equal(all >> (last + 1), 0);
    assert_int_equal(all & rt_caps_default(), rt_caps_default());
}

static void test_names(void **state)
{
    (void)state;
    const char **v = rt_caps_names(BIT(NET_ADMIN) | BIT(CHECKPOINT_RESTORE) | BIT(CHOWN));
    assert_string_equal(v[0], "CAP_CHOWN");
    assert_string_equal(v[1], "CAP_NET_ADMIN");
    assert_string_equal(v[2], "CAP_CHECKPOINT_RESTORE");
    assert_null(v[3]);
    free(v);
    v = rt_caps_names(0);
    assert_null(v[0]);
    free(v);
}

static void test_add_drop_spellings(void **state)
{
    (void)state;
    berr e = {0};
    uint64_t out;
    const char *add[] = {"net_admin", "CAP_SYS_ADMIN", "Cap_Sys_Ptrace"};
    const char *drop[] = {"MKNOD", "cap_net_raw"};
    assert_int_equal(rt_caps_adjust(rt_caps_default(), add, 3, drop, 2, &out, &e), 0);
    assert_int_equal(out, (rt_caps_default() & ~(BIT(MKNOD) | BIT(NET_RAW))) | BIT(NET_ADMIN) | BIT(SYS_ADMIN) |
                              BIT(SYS_PTRACE));

    /* Drop first, then add: a capability in both lists ends up present. */
    const char *both[] = {"NET_ADMIN"};
    assert_int_equal(rt_caps_adjust(0, both, 1, both, 1, &out, &e), 0);
    assert_int_equal(out, BIT(NET_ADMIN));

    assert_int_equal(rt_caps_adjust(rt_caps_default(), NULL, 0, NULL, 0, &out, &e), 0);
    assert_int_equal(out, rt_caps_default());
}

static void test_all(void **state)
{
    (void)state;
    berr e = {0};
    uint64_t out;
    const char *all[] = {"ALL"};
    const char *lower_all[] = {"all"};
    const char *admin[] = {"NET_ADMIN"};
    const char *chown_[] = {"CHOWN"};

    /* --cap-drop ALL --cap-add NET_ADMIN: only what was added. */
    assert_int_equal(rt_caps_adjust(rt_caps_default(), admin, 1, all, 1, &out, &e), 0);
    assert_int_equal(out, BIT(NET_ADMIN));
    assert_int_equal(rt_caps_adjust(rt_caps_default(), NULL, 0, lower_all, 1, &out, &e), 0);
    assert_int_equal(out, 0);

    /* --cap-add ALL --cap-drop CHOWN: everything but the drops. */
    assert_int_equal(rt_caps_adjust(rt_caps_default(), all, 1, chown_, 1, &out, &e), 0);
    assert_int_equal(out, rt_caps_all() & ~BIT(CHOWN));
    /* ALL in both: add wins, as in TweakCapabilities. */
    assert_int_equal(rt_caps_adjust(0, lower_all, 1, all, 1, &out, &e), 0);
    assert_int_equal(out, rt_caps_all());
}

static void test_unknown(void **state)
{
    (void)state;
    berr e = {0};
    uint64_t out = 7;
    const char *bad[] = {"NET_ADMIN", "foo"};
    assert_int_equal(rt_caps_adjust(0, bad, 2, NULL, 0, &out, &e), -EINVAL);
    assert_string_equal(e.msg, "unknown capability: \"CAP_FOO\"");
    assert_int_equal(out, 7);
    berr_clear(&e);
    const char *bad2[] = {"CAP_"};
    assert_int_equal(rt_caps_adjust(0, NULL, 0, bad2, 1, &out, &e), -EINVAL);
    assert_string_equal(e.msg, "unknown capability: \"CAP_\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_is_dockers), cmocka_unit_test(test_all_matches_kernel),
        cmocka_unit_test(test_names),             cmocka_unit_test(test_add_drop_spellings),
        cmocka_unit_test(test_all),               cmocka_unit_test(test_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
