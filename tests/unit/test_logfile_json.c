/* Unit tests for runtime/logs/logfile_json.c, the json-file record codec, on
 * random input (the exact bytes are checked in test_logfile.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/logs/logfile_json.h"

#define T0 (1767323045LL * 1000000000LL)   /* 2026-01-02T03:04:05Z */

static uint32_t rnd_state = 12345;
static uint32_t rnd(void)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return rnd_state >> 8;
}

/* Valid UTF-8 survives encode+decode byte for byte; arbitrary bytes and
 * damaged records never upset the decoder. */
static void test_codec_random(void **state)
{
    (void)state;
    static const char *const pieces[] = {"a", "Z", " ", "\"", "\\", "<", ">", "&", "\t", "\r",
                                         "\n", "\x01", "\x7f", "\xc3\xa9", "\xe2\x80\xa8",
                                         "\xef\xbf\xbd", "\xf0\x9f\x9a\x80", "/", "\\u"};
    rt_logrec rec = {0};
    char in[1024];
    char out[RT_LOGREC_MAX(1024)];
    for (int iter = 0; iter < 3000; iter++) {
        size_t n = 0;
        bool valid = iter % 2 == 0;
        size_t want = rnd() % 200;
        while (n < want) {
            if (valid) {
                const char *p = pieces[rnd() % (sizeof pieces / sizeof pieces[0])];
                memcpy(in + n, p, strlen(p));
                n += strlen(p);
            } else {
                in[n++] = (char)(rnd() & 0xff);
            }
        }
        int64_t t = T0 + (int64_t)(rnd() % 1000000) * 1000 + rnd() % 1000;
        rt_log_stream st = rnd() % 2 ? RT_LOG_STDOUT : RT_LOG_STDERR;
        size_t len = rt_logrec_encode(out, st, in, n, t);
        assert_true(len <= RT_LOGREC_MAX(n));
        assert_true(out[len - 1] == '\n');
        assert_null(memchr(out, '\n', len - 1));
        assert_int_equal(rt_logrec_decode(out, len, &rec), 0);
        assert_int_equal(rec.stream, st);
        assert_true(rec.time_ns == t);
        if (valid) {
            assert_int_equal(rec.text.len, n);
            assert_memory_equal(rec.text.data, in, n);
        }
        /* damage: truncation and byte flips must fail cleanly or decode */
        for (int k = 0; k < 8; k++) {
            size_t bl = rnd() % (len + 1);
            char *bad = malloc(bl ? bl : 1);   /* exact size, so ASan sees overreads */
            memcpy(bad, out, bl);
            if (bl && k % 2)
                bad[rnd() % bl] = (char)(rnd() & 0xff);
            (void)rt_logrec_decode(bad, bl, &rec);
            free(bad);
        }
    }
    rt_logrec_free(&rec);
}

static void test_parse_time(void **state)
{
    (void)state;
    struct { const char *s; int64_t ns; } ok[] = {
        {"2026-01-02T03:04:05Z", T0},
        {"2026-01-02T03:04:05.5Z", T0 + 500000000},
        {"2026-01-02T03:04:05.123456789Z", T0 + 123456789},
        {"2026-01-02T03:04:05.1234567891Z", T0 + 123456789},
        {"2026-01-02T05:04:05+02:00", T0},
        {"2026-01-02T02:34:05.000000001-00:30", T0 + 1},
        {"1970-01-01T00:00:00Z", 0},
        {"1969-12-31T23:59:59.5Z", -500000000},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t ns = 0;
        if (rt_logrec_parse_time(ok[i].s, strlen(ok[i].s), &ns) != 0 || ns != ok[i].ns)
            fail_msg("%s: %lld", ok[i].s, (long long)ns);
        char back[40];
        if (i < 3) {
            rt_logrec_format_time(back, ns);
            assert_string_equal(back, ok[i].s);
        }
    }
    const char *bad[] = {"", "2026-01-02", "2026-01-02T03:04:05", "2026-01-02T03:04:05.Z",
                         "2026-13-02T03:04:05Z", "2026-01-02 03:04:05Z", "2026-01-02T03:04:05Zx",
                         "2026-01-02T03:04:05+0200"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ns;
        if (rt_logrec_parse_time(bad[i], strlen(bad[i]), &ns) == 0)
            fail_msg("accepted %s", bad[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_random),
        cmocka_unit_test(test_parse_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
