/* The registry keys of the configuration: flags and daemon.json, defaults,
 * dockerd's checks, SIGHUP take-over, the certs.d location. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>

#include <cmocka.h>

#include "node/config.h"
#include "node/registry_config.h"

static char dir[] = "/tmp/berth-test-regcfg-XXXXXX";
static char file[PATH_MAX];

static void write_text(const char *text)
{
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int load(berth_config *c, berr *e, const char *json, const char *flag)
{
    write_text(json);
    memset(c, 0, sizeof *c);
    berr_clear(e);
    char *args[] = {"berthd", "--config-file", file, (char *)flag, NULL};
    return config_load(c, flag ? 4 : 3, args, e);
}

static void test_defaults_and_keys(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(load(&c, &e, "{}", NULL), 0);
    assert_int_equal(c.max_downloads, 3);
    assert_int_equal(c.max_uploads, 5);
    assert_int_equal(c.max_attempts, 5);
    assert_int_equal(c.n_registry_mirrors, 0);
    char certs[PATH_MAX];
    registry_config_certs_dir(&c, certs, sizeof certs);
    char want[PATH_MAX + 16];
    snprintf(want, sizeof want, "%s/certs.d", dir);
    assert_string_equal(certs, want);
    config_free(&c);

    assert_int_equal(load(&c, &e,
                          "{\"registry-mirrors\": [\"https://m1:5000\", \"http://m2\"],"
                          " \"insecure-registries\": [\"10.0.0.0/8\", \"reg:5000\"], \"max-concurrent-downloads\": 7}",
                          "--max-concurrent-uploads=2"),
                     0);
    assert_int_equal(c.n_registry_mirrors, 2);
    assert_string_equal(c.registry_mirrors[1], "http://m2");
    assert_int_equal(c.n_insecure_registries, 2);
    assert_int_equal(c.max_downloads, 7);
    assert_int_equal(c.max_uploads, 2);
    reg_options o = registry_config_options(&c);
    assert_true(reg_host_insecure(&o, "10.3.4.5:5000"));
    assert_true(reg_host_insecure(&o, "reg:5000"));
    assert_false(reg_host_insecure(&o, "reg:5001"));
    config_free(&c);
}

static void test_bad_values(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(load(&c, &e, "{\"registry-mirrors\": [\"ftp://m\"]}", NULL), -EINVAL);
    assert_string_equal(e.msg, "invalid mirror: unsupported scheme \"ftp\" in \"ftp://m\"");
    config_free(&c);
    assert_int_equal(load(&c, &e, "{\"insecure-registries\": [\"http://r:5000\"]}", NULL), -EINVAL);
    assert_string_equal(e.msg, "insecure registry http://r:5000 should not contain '://'");
    config_free(&c);
    assert_int_equal(load(&c, &e, "{\"max-concurrent-downloads\": 0}", NULL), -EINVAL);
    assert_string_equal(e.msg, "invalid max concurrent downloads: 0");
    config_free(&c);
    assert_int_equal(load(&c, &e, "{\"registry-mirrors\": \"https://m\"}", NULL), -EINVAL);
    config_free(&c);
}

static void test_reload(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(load(&c, &e, "{\"insecure-registries\": [\"a:1\"], \"max-download-attempts\": 2}", NULL), 0);
    /* Keys the file holds are taken; max-download-attempts, which it no
     * longer holds, goes back to its default as in dockerd's reload. */
    write_text("{\"registry-mirrors\": [\"https://m\"], \"insecure-registries\": [\"b:2\", \"c:3\"]}");
    assert_int_equal(config_reload(&c, NULL, &e), 0);
    assert_int_equal(c.n_registry_mirrors, 1);
    assert_int_equal(c.n_insecure_registries, 2);
    assert_string_equal(c.insecure_registries[0], "b:2");
    assert_int_equal(c.max_attempts, 5);
    /* A bad file changes nothing. */
    write_text("{\"registry-mirrors\": [\"nope\"], \"insecure-registries\": []}");
    assert_int_equal(config_reload(&c, NULL, &e), -EINVAL);
    assert_int_equal(c.n_registry_mirrors, 1);
    assert_int_equal(c.n_insecure_registries, 2);
    config_free(&c);
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    snprintf(file, sizeof file, "%s/daemon.json", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(file);
    return rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_keys),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_reload),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
