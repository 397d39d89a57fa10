/* node/config.c: dockerd's flags and daemon.json keys, their conflicts,
 * validation and SIGHUP reload.
 *
 * config_load reads /etc/docker/daemon.json when --config-file is absent, so
 * every load here passes --config-file pointing into a private temp dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ftw.h>
#include <limits.h>

#include <cmocka.h>

#include "lib/buf.h"
#include "node/config.h"

static char tmpdir[] = "/tmp/berth-test-config-XXXXXX";
static char empty_json[PATH_MAX];   /* an empty daemon.json */
static char cfg_json[PATH_MAX];     /* rewritten by the tests that need a file */

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int group_setup(void **state)
{
    (void)state;
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(empty_json, sizeof empty_json, "%s/empty.json", tmpdir);
    snprintf(cfg_json, sizeof cfg_json, "%s/daemon.json", tmpdir);
    FILE *f = fopen(empty_json, "w");
    if (!f)
        return -1;
    fclose(f);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    return nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Loads with argv = {"berthd", args...}.  c is zeroed first. */
static int do_load(berth_config *c, berr *e, const char **args)
{
    int n = 0;
    while (args[n])
        n++;
    memset(c, 0, sizeof *c);
    berr_clear(e);
    return config_load(c, n, (char **)args, e);
}
#define LOAD(c, e, ...) do_load((c), (e), (const char *[]){"berthd", __VA_ARGS__, NULL})

/* Loads with a daemon.json holding json (plus extra flags). */
#define LOAD_FILE(c, e, json, ...) \
    (write_text(cfg_json, (json)), LOAD((c), (e), "--config-file", cfg_json, ##__VA_ARGS__))

#define assert_msg_has(e, needle)                                                  \
    do {                                                                           \
        if (!strstr((e).msg, (needle)))                                            \
            fail_msg("message \"%s\" lacks \"%s\"", (e).msg, (needle));            \
    } while (0)

/* ---- defaults ---------------------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json), 0);
    assert_int_equal(c.n_hosts, 1);
    assert_string_equal(c.hosts[0], BERTH_DEFAULT_HOST);
    assert_string_equal(c.hosts[0], "unix:///var/run/docker.sock");
    assert_null(c.hosts[1]);
    assert_string_equal(c.data_root, "/var/lib/berth");
    assert_string_equal(c.exec_root, "/run/berth");
    assert_string_equal(c.pidfile, "/run/berth/berthd.pid");
    assert_string_equal(c.group, "docker");
    assert_string_equal(c.storage_driver, "");
    assert_string_equal(c.config_file, empty_json);
    assert_int_equal(c.level, LOG_INFO);
    assert_false(c.debug);
    assert_false(c.tls);
    assert_false(c.tlsverify);
    assert_false(c.validate);
    assert_int_equal(config_log_level(&c), LOG_INFO);
    config_free(&c);
    assert_null(c.hosts);
    assert_null(c.data_root);
}

static void test_pidfile_follows_exec_root(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "--exec-root", "/tmp/x"), 0);
    assert_string_equal(c.exec_root, "/tmp/x");
    assert_string_equal(c.pidfile, "/tmp/x/berthd.pid");
    config_free(&c);

    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "--exec-root=/tmp/y", "-p", "/tmp/p.pid"), 0);
    assert_string_equal(c.pidfile, "/tmp/p.pid");
    config_free(&c);
}

/* ---- flags ------------------------------------------------------------- */

static void test_host_repeatable(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "-H", "unix:///tmp/a.sock", "-H", "fd://",
                          "--host=unix:///tmp/b.sock", "--host", "unix:///tmp/c.sock", "-Hunix:///tmp/d.sock"),
                     0);
    assert_int_equal(c.n_hosts, 5);
    assert_string_equal(c.hosts[0], "unix:///tmp/a.sock");
    assert_string_equal(c.hosts[1], "fd://");
    assert_string_equal(c.hosts[2], "unix:///tmp/b.sock");
    assert_string_equal(c.hosts[3], "unix:///tmp/c.sock");
    assert_string_equal(c.hosts[4], "unix:///tmp/d.sock");
    assert_null(c.hosts[5]);
    config_free(&c);
}

static void test_data_root(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "--data-root", "/srv/berth"), 0);
    assert_string_equal(c.data_root, "/srv/berth");
    config_free(&c);
    /* the last one wins, and the "=" form works */
    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "--data-root", "/srv/a", "--data-root=/srv/b"), 0);
    assert_string_equal(c.data_root, "/srv/b");
    config_free(&c);
}

static void test_tls_false_allows_tcp(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "-H", "tcp://127.0.0.1:2375", "--tls=false"), 0);
    assert_false(c.tls);
    assert_true(c.tls_given);
    assert_int_equal(c.n_hosts, 1);
    assert_string_equal(c.hosts[0], "tcp://127.0.0.1:2375");
    config_free(&c);
}

static void test_debug_flag(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "-D"), 0);
    assert_true(c.debug);
    assert_int_equal(c.level, LOG_INFO);
    assert_int_equal(config_log_level(&c), LOG_DEBUG);
    config_free(&c);

    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "--debug=false"), 0);
    assert_false(c.debug);
    config_free(&c);
}

static void test_log_level_flag(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "-l", "debug"), 0);
    assert_int_equal(c.level, LOG_DEBUG);
    assert_false(c.debug);
    assert_int_equal(config_log_level(&c), LOG_DEBUG);
    config_free(&c);

    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "--log-level=warn"), 0);
    assert_int_equal(c.level, LOG_WARN);
    config_free(&c);

    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "-lerror"), 0);
    assert_int_equal(c.level, LOG_ERROR);
    config_free(&c);

    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "--log-level", "fatal"), 0);
    assert_int_equal(c.level, LOG_FATAL);
    config_free(&c);
}

static void test_log_level_flag_invalid(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "--log-level", "verbose"), -EINVAL);
    assert_int_equal(e.code, -EINVAL);
    assert_msg_has(e, "invalid argument \"verbose\" for \"--log-level\" flag");
    assert_msg_has(e, "unable to parse logging level: verbose");
    config_free(&c);

    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "-l", "loud"), -EINVAL);
    assert_msg_has(e, "invalid argument \"loud\"");
    assert_msg_has(e, "unable to parse logging level: loud");
    config_free(&c);
}

static void test_unknown_flag(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "--foo"), -EINVAL);
    assert_string_equal(e.msg, "unknown flag: --foo");
    config_free(&c);

    assert_int_equal(LOAD(&c, &e, "--foo=bar", "--config-file", empty_json), -EINVAL);
    assert_string_equal(e.msg, "unknown flag: --foo");
    config_free(&c);

    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "-x"), -EINVAL);
    assert_string_equal(e.msg, "unknown shorthand flag: 'x' in -x");
    config_free(&c);
}

static void test_missing_argument(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "--data-root"), -EINVAL);
    assert_string_equal(e.msg, "flag needs an argument: --data-root");
    config_free(&c);

    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "-H"), -EINVAL);
    assert_msg_has(e, "flag needs an argument");
    config_free(&c);
}

static void test_positional_refused(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "run"), -EINVAL);
    assert_string_equal(e.msg, "\"berthd\" accepts no arguments: got \"run\"");
    config_free(&c);

    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "-"), -EINVAL);
    assert_msg_has(e, "accepts no arguments");
    config_free(&c);
}

static void test_bool_flag_bad_value(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "--tls=maybe"), -EINVAL);
    assert_string_equal(e.msg, "invalid argument \"maybe\" for \"--tls\" flag: parse error");
    config_free(&c);
}

static void test_help_and_version(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    /* no --config-file needed: these return before the file is read */
    assert_int_equal(LOAD(&c, &e, "--help"), 0);
    assert_true(c.show_help);
    assert_null(c.config_file);
    config_free(&c);

    assert_int_equal(LOAD(&c, &e, "-v"), 0);
    assert_true(c.show_version);
    config_free(&c);

    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "--validate"), 0);
    assert_true(c.validate);
    config_free(&c);
}

/* ---- daemon.json --------------------------------------------------------- */

static void test_file_keys_applied(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD_FILE(&c, &e,
                               "{\"data-root\": \"/srv/x\", \"exec-root\": \"/run/x\","
                               " \"hosts\": [\"unix:///tmp/s.sock\", \"fd://\"],"
                               " \"debug\": true, \"log-level\": \"warn\", \"storage-driver\": \"vfs\","
                               " \"group\": \"staff\", \"pidfile\": \"/run/x/p.pid\"}"),
                     0);
    assert_string_equal(c.config_file, cfg_json);
    assert_string_equal(c.data_root, "/srv/x");
    assert_string_equal(c.exec_root, "/run/x");
    assert_string_equal(c.pidfile, "/run/x/p.pid");
    assert_int_equal(c.n_hosts, 2);
    assert_string_equal(c.hosts[0], "unix:///tmp/s.sock");
    assert_string_equal(c.hosts[1], "fd://");
    assert_true(c.debug);
    assert_int_equal(c.level, LOG_WARN);
    assert_int_equal(config_log_level(&c), LOG_DEBUG);
    assert_string_equal(c.storage_driver, "vfs");
    assert_string_equal(c.group, "staff");
    config_free(&c);
}

static void test_file_and_flags_combine(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    /* different options from the flags and the file are both honoured */
    assert_int_equal(LOAD_FILE(&c, &e, "{\"log-level\": \"error\"}", "--data-root", "/srv/y"), 0);
    assert_int_equal(c.level, LOG_ERROR);
    assert_string_equal(c.data_root, "/srv/y");
    config_free(&c);
}

static void test_file_unknown_key(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD_FILE(&c, &e, "{\"foo\": 1}"), -EINVAL);
    assert_int_equal(e.code, -EINVAL);
    assert_msg_has(e, "don't match any configuration option: foo");
    assert_msg_has(e, cfg_json);
    config_free(&c);

    /* every unknown key is reported at once */
    assert_int_equal(LOAD_FILE(&c, &e, "{\"foo\": 1, \"debug\": true, \"bar\": \"x\"}"), -EINVAL);
    assert_msg_has(e, "don't match any configuration option: ");
    assert_msg_has(e, "foo");
    assert_msg_has(e, "bar");
    assert_null(strstr(e.msg, "debug"));
    config_free(&c);

    /* flag-only options have no daemon.json key */
    assert_int_equal(LOAD_FILE(&c, &e, "{\"config-file\": \"/x.json\"}"), -EINVAL);
    assert_msg_has(e, "don't match any configuration option: config-file");
    config_free(&c);
}

static void test_file_conflict_with_flag(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD_FILE(&c, &e, "{\"data-root\": \"/srv/file\"}", "--data-root", "/srv/flag"), -EINVAL);
    assert_msg_has(e, "specified both as a flag and in the configuration file");
    assert_msg_has(e, "data-root");
    assert_msg_has(e, "from flag: /srv/flag");
    assert_msg_has(e, "from file: \"/srv/file\"");
    config_free(&c);

    assert_int_equal(LOAD_FILE(&c, &e, "{\"hosts\": [\"fd://\"]}", "-H", "unix:///tmp/z.sock"), -EINVAL);
    assert_msg_has(e, "specified both as a flag and in the configuration file");
    assert_msg_has(e, "hosts");
    config_free(&c);

    /* a shorthand counts as the flag too, even with the same value */
    assert_int_equal(LOAD_FILE(&c, &e, "{\"debug\": true}", "-D"), -EINVAL);
    assert_msg_has(e, "specified both as a flag and in the configuration file");
    assert_msg_has(e, "debug");
    config_free(&c);
}

static void test_file_wrong_type(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD_FILE(&c, &e, "{\"debug\": \"yes\"}"), -EINVAL);
    assert_msg_has(e, "\"debug\"");
    assert_msg_has(e, "a boolean");
    config_free(&c);

    assert_int_equal(LOAD_FILE(&c, &e, "{\"hosts\": \"unix:///tmp/a.sock\"}"), -EINVAL);
    assert_msg_has(e, "\"hosts\"");
    assert_msg_has(e, "an array of strings");
    config_free(&c);

    assert_int_equal(LOAD_FILE(&c, &e, "{\"hosts\": [\"fd://\", 7]}"), -EINVAL);
    assert_msg_has(e, "\"hosts\"");
    config_free(&c);

    assert_int_equal(LOAD_FILE(&c, &e, "{\"data-root\": 5}"), -EINVAL);
    assert_msg_has(e, "\"data-root\"");
    assert_msg_has(e, "a string");
    config_free(&c);

    assert_int_equal(LOAD_FILE(&c, &e, "{\"log-level\": 1}"), -EINVAL);
    assert_msg_has(e, "\"log-level\"");
    config_free(&c);
}

static void test_file_invalid_log_level(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD_FILE(&c, &e, "{\"log-level\": \"verbose\"}"), -EINVAL);
    assert_msg_has(e, "invalid log-level \"verbose\"");
    assert_msg_has(e, cfg_json);
    config_free(&c);

    assert_int_equal(LOAD_FILE(&c, &e, "{\"log-level\": \"warning\"}"), 0);
    assert_int_equal(c.level, LOG_WARN);
    config_free(&c);
}

static void test_file_empty_ok(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD_FILE(&c, &e, ""), 0);
    assert_string_equal(c.data_root, BERTH_DEFAULT_DATA_ROOT);
    config_free(&c);

    assert_int_equal(LOAD_FILE(&c, &e, " \n\t\r\n"), 0);
    config_free(&c);

    assert_int_equal(LOAD_FILE(&c, &e, "{}"), 0);
    config_free(&c);
}

static void test_file_missing(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    char missing[PATH_MAX];
    snprintf(missing, sizeof missing, "%s/does-not-exist.json", tmpdir);
    assert_int_equal(LOAD(&c, &e, "--config-file", missing), -EINVAL);
    assert_int_equal(e.code, -EINVAL);
    assert_msg_has(e, missing);
    assert_msg_has(e, "no such file or directory");
    config_free(&c);
}

static void test_file_malformed(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD_FILE(&c, &e, "{\"debug\": true"), -EINVAL);
    assert_msg_has(e, cfg_json);
    config_free(&c);

    assert_int_equal(LOAD_FILE(&c, &e, "[\"debug\"]"), -EINVAL);
    assert_msg_has(e, "must hold a JSON object");
    config_free(&c);

    /* duplicate keys are refused rather than one silently winning */
    assert_int_equal(LOAD_FILE(&c, &e, "{\"debug\": true, \"debug\": false}"), -EINVAL);
    config_free(&c);
}

static void test_file_tls_false_allows_tcp(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD_FILE(&c, &e, "{\"hosts\": [\"tcp://0.0.0.0:2375\"], \"tls\": false}"), 0);
    assert_false(c.tls);
    assert_true(c.tls_given);
    config_free(&c);

    assert_int_equal(LOAD_FILE(&c, &e, "{\"hosts\": [\"tcp://0.0.0.0:2375\"]}"), -EINVAL);
    assert_msg_has(e, "refusing to listen on TCP without TLS");
    config_free(&c);
}

/* ---- validation ------------------------------------------------------------ */

static void test_tcp_without_tls_refused(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "-H", "tcp://0.0.0.0:2375"), -EINVAL);
    assert_msg_has(e, "refusing to listen on TCP without TLS");
    assert_msg_has(e, "--tls=false");
    config_free(&c);

    /* a unix socket alongside does not help */
    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "-H", "unix:///tmp/a.sock", "-H", "tcp://:2375"),
                     -EINVAL);
    assert_msg_has(e, "refusing to listen on TCP without TLS");
    config_free(&c);
}

static void test_tls_needs_cert_and_key(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "--tls"), -EINVAL);
    assert_msg_has(e, "TLS needs a certificate and key");
    config_free(&c);

    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "--tls", "--tlscert", "/c.pem", "--tlskey", "/k.pem",
                          "-H", "tcp://127.0.0.1:2376"),
                     0);
    assert_true(c.tls);
    assert_false(c.tlsverify);
    config_free(&c);
}

static void test_tlsverify_needs_cacert(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "--tlsverify", "--tlscert", "/c.pem", "--tlskey",
                          "/k.pem"),
                     -EINVAL);
    assert_msg_has(e, "--tlsverify needs --tlscacert");
    config_free(&c);

    /* complete: tlsverify implies tls, and tcp is then allowed */
    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "--tlsverify", "--tlscacert", "/ca.pem", "--tlscert",
                          "/c.pem", "--tlskey", "/k.pem", "-H", "tcp://0.0.0.0:2376"),
                     0);
    assert_true(c.tlsverify);
    assert_true(c.tls);
    assert_true(c.tls_given);
    assert_string_equal(c.tlscacert, "/ca.pem");
    assert_string_equal(c.tlscert, "/c.pem");
    assert_string_equal(c.tlskey, "/k.pem");
    config_free(&c);
}

static void test_bad_hosts_refused(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "-H", "http://example.com:80"), -EINVAL);
    assert_msg_has(e, "invalid host \"http://example.com:80\"");
    assert_msg_has(e, "unsupported protocol");
    config_free(&c);

    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "-H", "/var/run/docker.sock"), -EINVAL);
    assert_msg_has(e, "invalid host");
    config_free(&c);

    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "-H", "unix://"), -EINVAL);
    assert_msg_has(e, "unix socket path is empty");
    config_free(&c);

    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "-H", "tcp://localhost", "--tls=false"), -EINVAL);
    assert_msg_has(e, "expected tcp://ADDRESS:PORT");
    config_free(&c);

    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "-H", "tcp://localhost:80x", "--tls=false"), -EINVAL);
    assert_msg_has(e, "expected tcp://ADDRESS:PORT");
    config_free(&c);
}

static void test_relative_roots_refused(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "--data-root", "rel/dir"), -EINVAL);
    assert_string_equal(e.msg, "data-root must be an absolute path: rel/dir");
    config_free(&c);

    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "--exec-root", "run"), -EINVAL);
    assert_string_equal(e.msg, "exec-root must be an absolute path: run");
    config_free(&c);

    assert_int_equal(LOAD_FILE(&c, &e, "{\"data-root\": \"\"}"), -EINVAL);
    assert_msg_has(e, "data-root must be an absolute path");
    config_free(&c);
}

static void test_storage_driver(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "-s", "btrfs"), -EINVAL);
    assert_string_equal(e.msg, "error initializing graphdriver: driver not supported: btrfs");
    config_free(&c);

    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "--storage-driver", "overlay2"), 0);
    assert_string_equal(c.storage_driver, "overlay2");
    config_free(&c);

    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "-s", "vfs"), 0);
    assert_string_equal(c.storage_driver, "vfs");
    config_free(&c);
}

/* ---- reload ------------------------------------------------------------------ */

static void test_reload_applies(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD_FILE(&c, &e, "{\"log-level\": \"info\", \"data-root\": \"/srv/r\"}"), 0);
    assert_int_equal(c.level, LOG_INFO);
    assert_false(c.debug);

    write_text(cfg_json, "{\"log-level\": \"error\", \"data-root\": \"/srv/other\"}");
    berr_clear(&e);
    assert_int_equal(config_reload(&c, NULL, &e), 0);
    assert_int_equal(c.level, LOG_ERROR);
    assert_false(c.debug);
    assert_int_equal(config_log_level(&c), LOG_ERROR);
    /* data-root is not reloadable */
    assert_string_equal(c.data_root, "/srv/r");

    write_text(cfg_json, "{\"log-level\": \"error\", \"debug\": true}");
    assert_int_equal(config_reload(&c, NULL, &e), 0);
    assert_int_equal(c.level, LOG_ERROR);
    assert_true(c.debug);
    assert_int_equal(config_log_level(&c), LOG_DEBUG);

    write_text(cfg_json, "{\"log-level\": \"warn\", \"debug\": false}");
    assert_int_equal(config_reload(&c, NULL, &e), 0);
    assert_int_equal(c.level, LOG_WARN);
    assert_false(c.debug);
    config_free(&c);
}

/* Keys missing from the file keep their values (a -D flag survives a
 * reload), and a key also given as a flag is refused as at start. */
static void test_reload_keeps_flags(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD_FILE(&c, &e, "{}", "-D", "-l", "error"), 0);
    write_text(cfg_json, "{}");
    assert_int_equal(config_reload(&c, NULL, &e), 0);
    assert_true(c.debug);
    assert_int_equal(c.level, LOG_ERROR);
    write_text(cfg_json, "{\"log-level\": \"warn\"}");
    berr_clear(&e);
    assert_int_equal(config_reload(&c, NULL, &e), -EINVAL);
    assert_msg_has(e, "specified both as a flag and in the configuration file: log-level");
    assert_int_equal(c.level, LOG_ERROR);
    /* non-reloadable keys are still type-checked */
    write_text(cfg_json, "{\"data-root\": 5}");
    berr_clear(&e);
    assert_int_equal(config_reload(&c, NULL, &e), -EINVAL);
    assert_msg_has(e, "data-root");
    config_free(&c);
}

/* As dockerd, the transfer limits go back to their defaults when the
 * reloaded file no longer names them; a flag's value stays. */
static void test_reload_resets_transfer_limits(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD_FILE(&c, &e, "{\"max-concurrent-downloads\": 9, \"max-download-attempts\": 2}",
                               "--max-concurrent-uploads", "8"), 0);
    assert_int_equal(c.max_downloads, 9);
    assert_int_equal(c.max_attempts, 2);
    write_text(cfg_json, "{\"debug\": true}");
    berr_clear(&e);
    assert_int_equal(config_reload(&c, NULL, &e), 0);
    assert_int_equal(c.max_downloads, 3);
    assert_int_equal(c.max_attempts, 5);
    assert_int_equal(c.max_uploads, 8);
    write_text(cfg_json, "{\"max-concurrent-downloads\": 4}");
    assert_int_equal(config_reload(&c, NULL, &e), 0);
    assert_int_equal(c.max_downloads, 4);
    config_free(&c);
}

static void test_reload_bad_file_changes_nothing(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD_FILE(&c, &e, "{\"log-level\": \"warn\"}"), 0);
    assert_int_equal(c.level, LOG_WARN);
    assert_false(c.debug);

    static const char *const bad[] = {
        "{\"debug\": true, \"log-level\": \"nope\"}", /* a good key before the bad one */
        "{\"debug\": true, \"foo\": 1}",              /* unknown key */
        "{\"debug\": \"yes\"}",                       /* wrong type */
        "{\"debug\": true",                           /* malformed */
        "[]",                                          /* not an object */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_text(cfg_json, bad[i]);
        berr_clear(&e);
        assert_int_equal(config_reload(&c, NULL, &e), -EINVAL);
        assert_int_equal(e.code, -EINVAL);
        assert_true(e.msg[0] != 0);
        assert_int_equal(c.level, LOG_WARN);
        assert_false(c.debug);
    }

    /* the file vanished */
    assert_int_equal(unlink(cfg_json), 0);
    berr_clear(&e);
    assert_int_equal(config_reload(&c, NULL, &e), -EINVAL);
    assert_msg_has(e, "no such file or directory");
    assert_int_equal(c.level, LOG_WARN);
    assert_false(c.debug);
    config_free(&c);
}

static void test_reload_without_file(void **state)
{
    (void)state;
    berth_config c = {.level = LOG_ERROR, .debug = true};
    berr e = {0};
    assert_int_equal(config_reload(&c, NULL, &e), 0);
    assert_int_equal(c.level, LOG_ERROR);
    assert_true(c.debug);
}

/* ---- networking options ------------------------------------------------ */

static void test_network_options(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json), 0);
    assert_true(c.icc && c.ip_masq && c.iptables && c.ip_forward && c.userland_proxy);
    assert_string_equal(c.ip, "0.0.0.0");
    assert_string_equal(c.bip, "");
    assert_int_equal(c.mtu, 0);
    assert_int_equal(c.n_address_pools, 0);
    config_free(&c);

    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "--bip", "10.9.0.1/24", "--icc=false", "--mtu", "1400",
                          "--default-address-pool", "base=10.20.0.0/16,size=24", "-b", "br9"),
                     0);
    assert_string_equal(c.bip, "10.9.0.1/24");
    assert_false(c.icc);
    assert_int_equal(c.mtu, 1400);
    assert_int_equal(c.n_address_pools, 1);
    assert_string_equal(c.address_pools[0], "base=10.20.0.0/16,size=24");
    assert_string_equal(c.bridge, "br9");
    config_free(&c);

    assert_int_equal(LOAD_FILE(&c, &e, "{\"default-address-pools\": [{\"base\": \"10.30.0.0/16\", \"size\": 20}],"
                                       " \"ip-masq\": false, \"mtu\": 9000, \"userland-proxy\": false}"),
                     0);
    assert_int_equal(c.n_address_pools, 1);
    assert_string_equal(c.address_pools[0], "base=10.30.0.0/16,size=20");
    assert_false(c.ip_masq);
    assert_int_equal(c.mtu, 9000);
    config_free(&c);

    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "--default-address-pool", "base=10.20.0.0/16"), -EINVAL);
    assert_msg_has(e, "base and size are both required");
    config_free(&c);
    assert_int_equal(LOAD_FILE(&c, &e, "{\"default-address-pools\": [\"10.0.0.0/8\"]}"), -EINVAL);
    assert_msg_has(e, "default-address-pools");
    config_free(&c);
    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "--mtu", "big"), -EINVAL);
    config_free(&c);
}

static void test_config_log_level(void **state)
{
    (void)state;
    berth_config c = {0};
    for (int l = LOG_DEBUG; l <= LOG_FATAL; l++) {
        c.level = (log_level)l;
        c.debug = false;
        assert_int_equal(config_log_level(&c), l);
        c.debug = true;
        assert_int_equal(config_log_level(&c), LOG_DEBUG);
    }
}

/* ---- dockerd's full option set ---------------------------------------- */

static void test_new_defaults(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json), 0);
    assert_string_equal(c.log_driver, "json-file");
    assert_string_equal(c.log_format, "text");
    assert_int_equal(c.shm_size, 64L * 1024 * 1024);
    assert_int_equal(c.shutdown_timeout, 15);
    assert_int_equal(c.max_downloads, 3);
    assert_int_equal(c.max_uploads, 5);
    assert_int_equal(c.max_attempts, 5);
    assert_string_equal(c.ipc_mode, "private");
    assert_string_equal(c.default_runtime, "berth");
    assert_string_equal(c.seccomp_profile, "builtin");
    assert_null(c.labels);
    config_free(&c);
}

static void test_structured_values(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD_FILE(&c, &e,
                               "{\"labels\": [\"a=b\"], \"log-opts\": {\"max-size\": \"1m\"}, "
                               "\"default-ulimits\": {\"nofile\": {\"Hard\": 20, \"Soft\": 10}}, "
                               "\"default-shm-size\": \"1g\", \"features\": {\"buildkit\": false}, "
                               "\"proxies\": {\"http-proxy\": \"http://p:1\"}}"),
                     0);
    assert_int_equal(json_array_size(c.labels), 1);
    assert_string_equal(json_string_value(json_object_get(c.log_opts, "max-size")), "1m");
    json_t *u = json_object_get(c.default_ulimits, "nofile");
    assert_string_equal(json_string_value(json_object_get(u, "Name")), "nofile"); /* filled from the key */
    assert_int_equal(json_integer_value(json_object_get(u, "Soft")), 10);
    assert_int_equal(c.shm_size, 1024L * 1024 * 1024);
    assert_true(json_is_false(json_object_get(c.features, "buildkit")));
    assert_string_equal(c.http_proxy, "http://p:1");
    config_free(&c);

    /* the same through repeatable flags */
    assert_int_equal(LOAD(&c, &e, "--config-file", empty_json, "--label", "a=b", "--label=c=d", "--log-opt",
                          "max-file=2", "--default-ulimit", "nproc=5:6", "--feature", "x", "--default-shm-size", "2m"),
                     0);
    assert_int_equal(json_array_size(c.labels), 2);
    assert_string_equal(json_string_value(json_object_get(c.log_opts, "max-file")), "2");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(c.default_ulimits, "nproc"), "Hard")), 6);
    assert_true(json_is_true(json_object_get(c.features, "x")));
    assert_int_equal(c.shm_size, 2L * 1024 * 1024);
    config_free(&c);
}

static void collect(void *arg, const char *key, const char *why)
{
    assert_non_null(why);
    buf_printf(arg, "%s;", key);
}

static void test_ignored_options_warned(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD_FILE(&c, &e,
                               "{\"containerd\": \"/run/c.sock\", \"live-restore\": true, \"selinux-enabled\": false, "
                               "\"runtimes\": {\"crun\": {\"path\": \"/usr/bin/crun\"}}, \"labels\": [\"a=b\"]}",
                               "--userns-remap", "default"),
                     0);
    buf b = BUF_INIT;
    config_each_ignored(&c, collect, &b);
    /* false says nothing is asked for: no warning; labels are implemented */
    assert_string_equal(b.data, "live-restore;userns-remap;runtimes;containerd;");
    buf_free(&b);
    config_free(&c);
}

static void test_reloadable_set(void **state)
{
    (void)state;
    static const char *const yes[] = {"debug", "log-level", "labels", "live-restore", "max-concurrent-downloads",
                                      "max-concurrent-uploads", "max-download-attempts", "default-shm-size",
                                      "features", "shutdown-timeout", "default-ulimits", NULL};
    static const char *const no[] = {"dns", "log-driver", "data-root", "hosts", "default-runtime", "bip", NULL};
    for (const char *const *k = yes; *k; k++)
        assert_true(config_is_reloadable(*k));
    for (const char *const *k = no; *k; k++)
        assert_false(config_is_reloadable(*k));
}

static void test_reload_structured(void **state)
{
    (void)state;
    berth_config c;
    berr e;
    assert_int_equal(LOAD_FILE(&c, &e, "{\"labels\": [\"a=1\"], \"dns\": [\"192.0.2.1\"]}"), 0);
    write_text(cfg_json, "{\"labels\": [\"a=2\"], \"dns\": [\"192.0.2.2\"], \"default-shm-size\": \"1m\"}");
    json_t *now = NULL;
    assert_int_equal(config_reload(&c, &now, &e), 0);
    assert_string_equal(json_string_value(json_array_get(c.labels, 0)), "a=2");
    assert_string_equal(json_string_value(json_array_get(c.dns, 0)), "192.0.2.1"); /* not reloadable */
    assert_int_equal(c.shm_size, 1024 * 1024);
    assert_int_equal(json_integer_value(json_object_get(now, "default-shm-size")), 1024 * 1024);
    assert_null(json_object_get(now, "dns"));
    json_decref(now);
    /* a bad value refuses the whole file */
    write_text(cfg_json, "{\"labels\": [\"a=3\"], \"max-concurrent-uploads\": -1}");
    assert_int_equal(config_reload(&c, &now, &e), -EINVAL);
    assert_msg_has(e, "invalid max concurrent uploads: -1");
    assert_null(now);
    assert_string_equal(json_string_value(json_array_get(c.labels, 0)), "a=2");
    config_free(&c);
}

static void test_value_messages(void **state)
{
    (void)state;
    static const struct { const char *json, *msg; } cases[] = {
        {"{\"labels\": [\"x\"]}", "bad attribute format: x"},
        {"{\"labels\": [\"=x\"]}", "invalid label '=x': empty name"},
        {"{\"dns\": [\"1.2.3\"]}", "1.2.3 is not an ip address"},
        {"{\"exec-opts\": [\"isolation=hyperv\"]}", "only supported on windows"},
        {"{\"exec-opts\": [\"native.cgroupdriver=foo\"]}", "native.cgroupdriver option foo not supported"},
        {"{\"default-ipc-mode\": \"weird\"}", "default IPC mode setting (weird) is invalid"},
        {"{\"mtu\": -5}", "invalid default MTU: -5"},
        {"{\"network-diagnostic-port\": 70000}", "invalid network-diagnostic-port (70000)"},
        {"{\"log-opts\": {\"mode\": \"fast\"}}", "logger: logging mode not supported: fast"},
        {"{\"log-opts\": {\"max-buffer-size\": \"1m\"}}", "only supported with 'mode=non-blocking'"},
        {"{\"log-driver\": \"syslog\", \"log-opts\": {\"syslog-address\": \"ftp://x\"}}", "unsupported scheme: 'ftp'"},
        {"{\"log-driver\": \"syslog\", \"log-opts\": {\"syslog-format\": \"rfc9999\"}}", "Invalid syslog format: rfc9999"},
        {"{\"log-driver\": \"local\", \"log-opts\": {\"tag\": \"x\"}}", "unknown log opt 'tag' for log driver local"},
        {"{\"storage-opts\": [\"overlay2.bogus=1\"]}", "overlay2: unknown option overlay2.bogus"},
        {"{\"node-generic-resources\": [\"gpu\"]}", "could not parse GenericResource"},
        {"{\"metrics-addr\": \"localhost\"}", "invalid metrics-addr localhost"},
        {"{\"features\": {\"x\": \"yes\"}}", "invalid value for feature x"},
        {"{\"proxies\": {\"ftp-proxy\": \"x\"}}", "invalid proxies entry \"ftp-proxy\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        berth_config c;
        berr e;
        assert_int_equal(LOAD_FILE(&c, &e, cases[i].json), -EINVAL);
        assert_msg_has(e, cases[i].msg);
        config_free(&c);
    }
}

static void test_mask_credentials(void **state)
{
    (void)state;
    char *m = config_mask_credentials("http://u:p@host:3128/x");
    assert_string_equal(m, "http://xxxxx:xxxxx@host:3128/x");
    free(m);
    m = config_mask_credentials("http://host:3128");
    assert_string_equal(m, "http://host:3128");
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_pidfile_follows_exec_root),
        cmocka_unit_test(test_host_repeatable),
        cmocka_unit_test(test_data_root),
        cmocka_unit_test(test_tls_false_allows_tcp),
        cmocka_unit_test(test_debug_flag),
        cmocka_unit_test(test_log_level_flag),
        cmocka_unit_test(test_log_level_flag_invalid),
        cmocka_unit_test(test_unknown_flag),
        cmocka_unit_test(test_missing_argument),
        cmocka_unit_test(test_positional_refused),
        cmocka_unit_test(test_bool_flag_bad_value),
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_file_keys_applied),
        cmocka_unit_test(test_file_and_flags_combine),
        cmocka_unit_test(test_file_unknown_key),
        cmocka_unit_test(test_file_conflict_with_flag),
        cmocka_unit_test(test_file_wrong_type),
        cmocka_unit_test(test_file_invalid_log_level),
        cmocka_unit_test(test_file_empty_ok),
        cmocka_unit_test(test_file_missing),
        cmocka_unit_test(test_file_malformed),
        cmocka_unit_test(test_file_tls_false_allows_tcp),
        cmocka_unit_test(test_tcp_without_tls_refused),
        cmocka_unit_test(test_tls_needs_cert_and_key),
        cmocka_unit_test(test_tlsverify_needs_cacert),
        cmocka_unit_test(test_bad_hosts_refused),
        cmocka_unit_test(test_relative_roots_refused),
        cmocka_unit_test(test_storage_driver),
        cmocka_unit_test(test_reload_keeps_flags),
        cmocka_unit_test(test_reload_resets_transfer_limits),
        cmocka_unit_test(test_reload_applies),
        cmocka_unit_test(test_reload_bad_file_changes_nothing),
        cmocka_unit_test(test_reload_without_file),
        cmocka_unit_test(test_network_options),
        cmocka_unit_test(test_config_log_level),
        cmocka_unit_test(test_new_defaults),
        cmocka_unit_test(test_structured_values),
        cmocka_unit_test(test_ignored_options_warned),
        cmocka_unit_test(test_reloadable_set),
        cmocka_unit_test(test_reload_structured),
        cmocka_unit_test(test_value_messages),
        cmocka_unit_test(test_mask_credentials),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
