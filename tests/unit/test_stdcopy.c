/* Unit tests for api/stdcopy.c: framing and incremental decoding. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/stdcopy.h"

/* What the decoder delivered: all payloads concatenated per stream, and
 * the stream of each frame in order. */
typedef struct got {
    buf out[4];
    int streams[64];
    size_t nframes;
} got;

static void on_frame(void *ctx, int stream, const char *data, size_t len)
{
    got *g = ctx;
    assert_true(stream >= 0 && stream <= 3);
    buf_append(&g->out[stream], data, len);
    if (g->nframes < 64)
        g->streams[g->nframes] = stream;
    g->nframes++;
}

static void got_free(got *g)
{
    for (int i = 0; i < 4; i++)
        buf_free(&g->out[i]);
}

static void test_frame_header(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    stdcopy_frame(&b, 1, "hello\n", 6);
    stdcopy_frame(&b, 2, "", 0);
    const unsigned char want[] = {1, 0, 0, 0, 0, 0, 0, 6, 'h', 'e', 'l', 'l', 'o', '\n',
                                  2, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    buf_free(&b);

    /* the size is big endian across all four bytes */
    size_t n = 0x010203;
    char *big = calloc(1, n);
    stdcopy_frame(&b, 2, big, n);
    const unsigned char h[] = {2, 0, 0, 0, 0x00, 0x01, 0x02, 0x03};
    assert_memory_equal(b.data, h, 8);
    assert_int_equal(b.len, n + 8);
    free(big);
    buf_free(&b);
}

static void test_decode_whole_and_multiple(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    stdcopy_frame(&b, 1, "out1\n", 5);
    stdcopy_frame(&b, 2, "err1\n", 5);
    stdcopy_frame(&b, 1, "out2\n", 5);
    stdcopy_frame(&b, 0, "in", 2);
    stdcopy_frame(&b, 3, "sys", 3);
    stdcopy_decoder d = {BUF_INIT};
    got g = {0};
    assert_int_equal(stdcopy_decode(&d, b.data, b.len, on_frame, &g), 0);
    assert_int_equal(g.nframes, 5);
    assert_string_equal(g.out[1].data, "out1\nout2\n");
    assert_string_equal(g.out[2].data, "err1\n");
    assert_string_equal(g.out[0].data, "in");
    assert_string_equal(g.out[3].data, "sys");
    int want[] = {1, 2, 1, 0, 3};
    assert_memory_equal(g.streams, want, sizeof want);
    assert_int_equal(d.pending.len, 0);
    stdcopy_decoder_free(&d);
    got_free(&g);
    buf_free(&b);
}

/* Every way of cutting the stream into feeds gives the same frames. */
static void test_decode_split_everywhere(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    stdcopy_frame(&b, 1, "first line\n", 11);
    stdcopy_frame(&b, 2, "", 0);
    stdcopy_frame(&b, 2, "second\n", 7);
    stdcopy_frame(&b, 1, "x", 1);
    for (size_t step = 1; step <= b.len; step++) {
        stdcopy_decoder d = {BUF_INIT};
        got g = {0};
        for (size_t off = 0; off < b.len; off += step) {
            size_t n = b.len - off < step ? b.len - off : step;
            assert_int_equal(stdcopy_decode(&d, b.data + off, n, on_frame, &g), 0);
        }
        assert_int_equal(g.nframes, 4);
        assert_string_equal(g.out[1].data, "first line\nx");
        assert_string_equal(g.out[2].data, "second\n");
        assert_int_equal(d.pending.len, 0);
        stdcopy_decoder_free(&d);
        got_free(&g);
    }
    /* and a cut at two arbitrary points */
    for (size_t i = 0; i <= b.len; i++) {
        for (size_t j = i; j <= b.len; j++) {
            stdcopy_decoder d = {BUF_INIT};
            got g = {0};
            assert_int_equal(stdcopy_decode(&d, b.data, i, on_frame, &g), 0);
            assert_int_equal(stdcopy_decode(&d, b.data + i, j - i, on_frame, &g), 0);
            assert_int_equal(stdcopy_decode(&d, b.data + j, b.len - j, on_frame, &g), 0);
            assert_int_equal(g.nframes, 4);
            assert_string_equal(g.out[1].data, "first line\nx");
            stdcopy_decoder_free(&d);
            got_free(&g);
        }
    }
    buf_free(&b);
}

static void test_decode_bad_stream(void **state)
{
    (void)state;
    stdcopy_decoder d = {BUF_INIT};
    got g = {0};
    const unsigned char bad[] = {4, 0, 0, 0, 0, 0, 0, 1, 'x'};
    assert_int_equal(stdcopy_decode(&d, bad, sizeof bad, on_frame, &g), -EINVAL);
    assert_int_equal(g.nframes, 0);
    /* the decoder stays failed */
    buf b = BUF_INIT;
    stdcopy_frame(&b, 1, "ok", 2);
    assert_int_equal(stdcopy_decode(&d, b.data, b.len, on_frame, &g), -EINVAL);
    assert_int_equal(g.nframes, 0);
    stdcopy_decoder_free(&d);

    /* frames before the bad header are delivered; a header split across
     * feeds is checked once complete */
    stdcopy_decoder d2 = {BUF_INIT};
    buf_append(&b, bad, sizeof bad);
    assert_int_equal(stdcopy_decode(&d2, b.data, b.len, on_frame, &g), -EINVAL);
    assert_int_equal(g.nframes, 1);
    stdcopy_decoder_free(&d2);

    stdcopy_decoder d3 = {BUF_INIT};
    const unsigned char tty[] = "root@host:/# ";
    assert_int_equal(stdcopy_decode(&d3, tty, 3, on_frame, &g), 0);
    assert_int_equal(stdcopy_decode(&d3, tty + 3, 5, on_frame, &g), -EINVAL);
    stdcopy_decoder_free(&d3);
    got_free(&g);
    buf_free(&b);
}

static void test_decode_large(void **state)
{
    (void)state;
    size_t n = 1024 * 1024;
    char *payload = malloc(n);
    for (size_t i = 0; i < n; i++)
        payload[i] = (char)('a' + i % 26);
    buf b = BUF_INIT;
    stdcopy_frame(&b, 1, payload, n);
    stdcopy_frame(&b, 2, payload, 100);
    stdcopy_frame(&b, 1, payload, n);
    const unsigned char h[] = {1, 0, 0, 0, 0x00, 0x10, 0x00, 0x00};
    assert_memory_equal(b.data, h, 8);

    /* in one feed */
    stdcopy_decoder d = {BUF_INIT};
    got g = {0};
    assert_int_equal(stdcopy_decode(&d, b.data, b.len, on_frame, &g), 0);
    assert_int_equal(g.nframes, 3);
    assert_int_equal(g.out[1].len, 2 * n);
    assert_memory_equal(g.out[1].data, payload, n);
    assert_memory_equal(g.out[1].data + n, payload, n);
    assert_int_equal(g.out[2].len, 100);
    stdcopy_decoder_free(&d);
    got_free(&g);

    /* in 4 KiB reads, as from a socket */
    stdcopy_decoder d2 = {BUF_INIT};
    got g2 = {0};
    for (size_t off = 0; off < b.len; off += 4096) {
        size_t k = b.len - off < 4096 ? b.len - off : 4096;
        assert_int_equal(stdcopy_decode(&d2, b.data + off, k, on_frame, &g2), 0);
    }
    assert_int_equal(g2.nframes, 3);
    assert_int_equal(g2.out[1].len, 2 * n);
    assert_memory_equal(g2.out[1].data + n, payload, n);
    stdcopy_decoder_free(&d2);
    got_free(&g2);
    buf_free(&b);
    free(payload);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_header),
        cmocka_unit_test(test_decode_whole_and_multiple),
        cmocka_unit_test(test_decode_split_everywhere),
        cmocka_unit_test(test_decode_bad_stream),
        cmocka_unit_test(test_decode_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
