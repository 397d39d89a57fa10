/* RFC 6455 framing (api/websocket.c): the handshake key from the RFC's
 * own example, frame lengths at each encoding boundary, and the decoder
 * on masked frames split across reads, control frames and bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/websocket.h"

static void test_accept_key(void **state)
{
    (void)state;
    char out[29];
    ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out);   /* RFC 6455 section 1.3 */
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void test_frame_lengths(void **state)
{
    (void)state;
    static const size_t lens[] = {0, 125, 126, 65535, 65536};
    static const size_t heads[] = {2, 2, 4, 4, 10};
    char *data = calloc(1, 65536);
    for (size_t i = 0; i < 5; i++) {
        buf b = BUF_INIT;
        ws_frame(&b, WS_BINARY, data, lens[i]);
        assert_int_equal(b.len, heads[i] + lens[i]);
        assert_int_equal((unsigned char)b.data[0], 0x82);
        assert_int_equal((unsigned char)b.data[1] & 0x80, 0);   /* never masked */
        buf_free(&b);
    }
    free(data);
}

/* A client frame: masked with mask. */
static void client_frame(buf *b, int opcode, const char *payload, size_t len)
{
    static const unsigned char mask[4] = {0x11, 0x22, 0x33, 0x44};
    unsigned char head[4] = {(unsigned char)(0x80 | opcode)};
    size_t n = 2;
    if (len < 126) {
        head[1] = (unsigned char)(0x80 | len);
    } else {
        head[1] = 0x80 | 126;
        head[2] = (unsigned char)(len >> 8);
        head[3] = (unsigned char)len;
        n = 4;
    }
    buf_append(b, head, n);
    buf_append(b, mask, 4);
    for (size_t i = 0; i < len; i++) {
        char c = (char)(payload[i] ^ mask[i % 4]);
        buf_append(b, &c, 1);
    }
}

typedef struct seen {
    int ops[8];
    buf data[8];
    int n;
} seen;

static void on_frame(void *ctx, int opcode, const char *data, size_t len)
{
    seen *s = ctx;
    s->ops[s->n] = opcode;
    buf_append(&s->data[s->n], data, len);
    s->n++;
}

static void test_decode(void **state)
{
    (void)state;
    char big[300];
    memset(big, 'x', sizeof big);
    buf in = BUF_INIT;
    client_frame(&in, WS_TEXT, "hello", 5);
    client_frame(&in, WS_BINARY, big, sizeof big);
    client_frame(&in, WS_PING, "p", 1);
    seen s = {0};
    ws_decoder d = {0};
    /* one byte at a time: frames complete only when whole */
    for (size_t i = 0; i < in.len; i++)
        assert_int_equal(ws_decode(&d, in.data + i, 1, 1 << 20, on_frame, &s), 0);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.ops[0], WS_TEXT);
    assert_int_equal(s.data[0].len, 5);
    assert_memory_equal(s.data[0].data, "hello", 5);
    assert_int_equal(s.data[1].len, sizeof big);
    assert_memory_equal(s.data[1].data, big, sizeof big);
    assert_int_equal(s.ops[2], WS_PING);
    assert_int_equal(d.in.len, 0);
    for (int i = 0; i < s.n; i++)
        buf_free(&s.data[i]);
    ws_decoder_free(&d);
    buf_free(&in);

    /* an unmasked frame, a reserved bit, an oversized control or data frame */
    static const unsigned char unmasked[] = {0x82, 0x01, 'x'};
    static const unsigned char rsv[] = {0xc2, 0x81, 0, 0, 0, 0, 'x'};
    ws_decoder bad = {0};
    assert_int_equal(ws_decode(&bad, (const char *)unmasked, sizeof unmasked, 1 << 20, on_frame, &s), -1);
    ws_decoder_free(&bad);
    assert_int_equal(ws_decode(&bad, (const char *)rsv, sizeof rsv, 1 << 20, on_frame, &s), -1);
    ws_decoder_free(&bad);
    buf ctl = BUF_INIT;
    client_frame(&ctl, WS_PING, big, 200);
    assert_int_equal(ws_decode(&bad, ctl.data, ctl.len, 1 << 20, on_frame, &s), -1);
    ws_decoder_free(&bad);
    assert_int_equal(ws_decode(&bad, in.data, 0, 1 << 20, on_frame, &s), 0);
    buf_free(&ctl);
    client_frame(&ctl, WS_BINARY, big, 300);
    assert_int_equal(ws_decode(&bad, ctl.data, ctl.len, 100, on_frame, &s), -1);
    ws_decoder_free(&bad);
    buf_free(&ctl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_key),
        cmocka_unit_test(test_frame_lengths),
        cmocka_unit_test(test_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
