/* runtime/logs/remote_format.c and driver.c: tag templates, the wire
 * formats of syslog, GELF, fluentd and journald, option validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <msgpack.h>
#include <zlib.h>

#include "runtime/logs/driver.h"
#include "runtime/logs/remote.h"

static const rt_log_info info = {
    .id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    .name = "web",
    .image_id = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210",
    .image_name = "busybox",
    .hostname = "host1",
    .daemon_name = "docker",
};

/* 2026-01-02T03:04:05.123456789Z */
#define T0 (1767323045LL * 1000000000LL + 123456789LL)

static void test_tag(void **state)
{
    (void)state;
    berr e = {0};
    char *t = rt_log_tag(NULL, "{{.ID}}", &info, &e);
    assert_string_equal(t, "0123456789ab");
    free(t);
    t = rt_log_tag("app/{{.Name}}/{{ .ImageName }}/{{.ImageID}}/{{.DaemonName}}", "x", &info, &e);
    assert_string_equal(t, "app/web/busybox/fedcba987654/docker");
    free(t);
    t = rt_log_tag("{{.Bogus}}", "x", &info, &e);
    assert_null(t);
    assert_non_null(strstr(e.msg, "can't evaluate field Bogus"));
}

static void test_syslog_formats(void **state)
{
    (void)state;
    rt_log_msg m = {.stream = RT_LOG_STDOUT, .line = "hello", .len = 5, .time_ns = T0};
    buf b = BUF_INIT;
    rt_syslog_encode(&b, SYSLOG_RFC5424, 3, "host1", "tag", 42, &m);
    assert_string_equal(b.data, "<30>1 2026-01-02T03:04:05Z host1 tag 42 tag - hello");
    buf_free(&b);
    rt_syslog_encode(&b, SYSLOG_RFC5424MICRO, 3, "host1", "tag", 42, &m);
    assert_string_equal(b.data, "<30>1 2026-01-02T03:04:05.123456Z host1 tag 42 tag - hello");
    buf_free(&b);
    m.stream = RT_LOG_STDERR;
    rt_syslog_encode(&b, SYSLOG_RFC3164, 16, "host1", "tag", 42, &m);
    assert_string_equal(b.data, "<131>Jan  2 03:04:05 host1 tag[42]: hello");
    buf_free(&b);
    rt_syslog_encode(&b, SYSLOG_UNIX, 3, "host1", "tag", 42, &m);
    assert_string_equal(b.data, "<27>Jan  2 03:04:05 tag[42]: hello");
    buf_free(&b);
}

static void test_gelf_message(void **state)
{
    (void)state;
    rt_log_msg m = {.stream = RT_LOG_STDERR, .line = "boom", .len = 4, .time_ns = T0};
    json_t *extra = json_pack("{s:s, s:s}", "team", "blue", "id", "dropped");
    char *s = rt_gelf_encode(&info, "t", extra, &m);
    json_t *o = json_loads(s, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(o, "version")), "1.1");
    assert_string_equal(json_string_value(json_object_get(o, "short_message")), "boom");
    assert_int_equal(json_integer_value(json_object_get(o, "level")), 3);
    assert_string_equal(json_string_value(json_object_get(o, "_team")), "blue");
    assert_null(json_object_get(o, "_id"));
    assert_true(json_real_value(json_object_get(o, "timestamp")) > 1767323045.0);
    json_decref(o);
    json_decref(extra);
    free(s);
}

static int n_chunks;
static unsigned char chunk_seen[4][16];
static int on_chunk(void *arg, const unsigned char *d, size_t n)
{
    (void)arg;
    assert_true(n <= 12 + 100);
    memcpy(chunk_seen[n_chunks++ % 4], d, 12);
    return 0;
}

static void test_gelf_chunks(void **state)
{
    (void)state;
    unsigned char data[250], id[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    memset(data, 'x', sizeof data);
    n_chunks = 0;
    assert_int_equal(rt_gelf_chunks(data, sizeof data, 100, id, on_chunk, NULL), 0);
    assert_int_equal(n_chunks, 3);
    assert_int_equal(chunk_seen[0][0], 0x1e);
    assert_int_equal(chunk_seen[0][1], 0x0f);
    assert_memory_equal(chunk_seen[2] + 2, id, 8);
    assert_int_equal(chunk_seen[2][10], 2);
    assert_int_equal(chunk_seen[2][11], 3);
    /* more than 128 chunks is refused */
    unsigned char *big = calloc(1, 200 * 10);
    assert_int_equal(rt_gelf_chunks(big, 200 * 10, 10, id, on_chunk, NULL), -EMSGSIZE);
    free(big);
}

static void test_compress_roundtrip(void **state)
{
    (void)state;
    const char *text = "{\"short_message\":\"hello hello hello\"}";
    for (int zl = 0; zl < 2; zl++) {
        buf b = BUF_INIT;
        assert_int_equal(rt_log_compress(text, strlen(text), zl, 1, &b), 0);
        if (zl)
            assert_int_equal((unsigned char)b.data[0], 0x78);
        else
            assert_int_equal((unsigned char)b.data[0], 0x1f);
        z_stream z = {0};
        inflateInit2(&z, 15 + 32);
        char out[256];
        z.next_in = (unsigned char *)b.data;
        z.avail_in = (uInt)b.len;
        z.next_out = (unsigned char *)out;
        z.avail_out = sizeof out;
        assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
        assert_int_equal(z.total_out, strlen(text));
        assert_memory_equal(out, text, strlen(text));
        inflateEnd(&z);
        buf_free(&b);
    }
}

static void test_fluentd_message(void **state)
{
    (void)state;
    rt_log_msg m = {.stream = RT_LOG_STDOUT, .line = "hi", .len = 2, .time_ns = T0, .partial = true};
    buf b = BUF_INIT;
    rt_fluentd_encode(&b, "docker.web", &info, NULL, true, &m);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&u, b.data, b.len, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, b.len);
    msgpack_object o = u.data;
    assert_int_equal(o.type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(o.via.array.size, 3);
    assert_memory_equal(o.via.array.ptr[0].via.str.ptr, "docker.web", 10);
    msgpack_object t = o.via.array.ptr[1];
    assert_int_equal(t.type, MSGPACK_OBJECT_EXT);
    assert_int_equal(t.via.ext.type, 0);
    assert_int_equal(t.via.ext.size, 8);
    const unsigned char *p = (const unsigned char *)t.via.ext.ptr;
    assert_int_equal(((uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]), 1767323045u);
    assert_int_equal(((uint32_t)p[4] << 24 | p[5] << 16 | p[6] << 8 | p[7]), 123456789u);
    msgpack_object rec = o.via.array.ptr[2];
    assert_int_equal(rec.via.map.size, 5); /* id, name, source, log, partial_message */
    bool saw_log = false;
    for (uint32_t i = 0; i < rec.via.map.size; i++) {
        msgpack_object k = rec.via.map.ptr[i].key, v = rec.via.map.ptr[i].val;
        if (k.via.str.size == 3 && !memcmp(k.via.str.ptr, "log", 3)) {
            assert_int_equal(v.via.str.size, 2);
            saw_log = true;
        }
    }
    assert_true(saw_log);
    msgpack_unpacked_destroy(&u);
    buf_free(&b);
}

static void test_journald_fields(void **state)
{
    (void)state;
    rt_log_msg m = {.stream = RT_LOG_STDERR, .line = "a\nb", .len = 3, .time_ns = T0};
    json_t *extra = json_pack("{s:s}", "com.example-x", "v");
    buf b = BUF_INIT;
    rt_journald_encode(&b, &info, "tag", extra, &m);
    /* MESSAGE holds a newline: the binary form */
    assert_memory_equal(b.data, "MESSAGE\n\x03\0\0\0\0\0\0\0a\nb\n", 20);
    assert_non_null(strstr(b.data + 20, "CONTAINER_NAME=web\n"));
    assert_non_null(strstr(b.data + 20, "PRIORITY=3\n"));
    assert_non_null(strstr(b.data + 20, "CONTAINER_ID=0123456789ab\n"));
    assert_non_null(strstr(b.data + 20, "COM_EXAMPLE_X=v\n"));
    json_decref(extra);
    buf_free(&b);
}

static void test_extra_attrs(void **state)
{
    (void)state;
    rt_log_info i = info;
    i.labels = json_pack("{s:s, s:s, s:s}", "team", "blue", "tier", "web", "other", "x");
    i.env = json_pack("[s, s]", "REGION=eu", "SECRET=s");
    json_t *opts = json_pack("{s:s, s:s, s:s}", "labels", "team", "labels-regex", "^ti", "env", "REGION");
    json_t *a = rt_log_extra_attrs(opts, &i);
    assert_int_equal(json_object_size(a), 3);
    assert_string_equal(json_string_value(json_object_get(a, "tier")), "web");
    assert_string_equal(json_string_value(json_object_get(a, "REGION")), "eu");
    json_decref(a);
    json_decref(opts);
    json_decref(i.labels);
    json_decref(i.env);
}

static void test_validate(void **state)
{
    (void)state;
    static const struct { const char *driver, *opts, *msg; } cases[] = {
        {"json-file", "{\"max-size\": \"1m\", \"mode\": \"non-blocking\", \"max-buffer-size\": \"4m\"}", NULL},
        {"json-file", "{\"syslog-address\": \"udp://x:1\"}", "unknown log opt 'syslog-address' for json-file log driver"},
        {"syslog", "{\"syslog-address\": \"udp://1.2.3.4:514\", \"syslog-facility\": \"local7\"}", NULL},
        {"syslog", "{\"syslog-facility\": \"nope\"}", "invalid syslog facility"},
        {"gelf", "{}", "gelf-address is a required parameter"},
        {"gelf", "{\"gelf-address\": \"http://x:1\"}", "gelf: endpoint needs to be TCP or UDP"},
        {"gelf", "{\"gelf-address\": \"udp://x:1\", \"gelf-compression-type\": \"lz4\"}", "Unknown gelf compression type"},
        {"gelf", "{\"gelf-address\": \"udp://x:1\", \"gelf-compression-level\": \"12\"}", "between -1 and 9"},
        {"fluentd", "{\"fluentd-address\": \"localhost:24224\", \"fluentd-async\": \"true\"}", NULL},
        {"journald", "{\"tag\": \"x\", \"cache-disabled\": \"true\"}", NULL},
        {"none", "{\"whatever\": \"1\"}", NULL},
        {"awslogs", "{}", "logger: no log driver named 'awslogs' is registered"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        berr e = {0};
        json_t *o = json_loads(cases[i].opts, 0, NULL);
        int r = rt_logdriver_validate(cases[i].driver, o, &e);
        json_decref(o);
        if (!cases[i].msg) {
            if (r != 0)
                fail_msg("%s %s: %s", cases[i].driver, cases[i].opts, e.msg);
        } else {
            assert_int_equal(r, -EINVAL);
            if (!strstr(e.msg, cases[i].msg))
                fail_msg("\"%s\" lacks \"%s\"", e.msg, cases[i].msg);
        }
    }
    assert_true(rt_logdriver_readable("json-file"));
    assert_true(rt_logdriver_readable("local"));
    assert_false(rt_logdriver_readable("gelf"));
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tag),          cmocka_unit_test(test_syslog_formats),
        cmocka_unit_test(test_gelf_message), cmocka_unit_test(test_gelf_chunks),
        cmocka_unit_test(test_compress_roundtrip), cmocka_unit_test(test_fluentd_message),
        cmocka_unit_test(test_journald_fields), cmocka_unit_test(test_extra_attrs),
        cmocka_unit_test(test_validate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
