/* RFC 6455 framing (see websocket.h). */
#include "api/websocket.h"

#include <gnutls/crypto.h>
#include <sodium.h>
#include <string.h>

void ws_accept_key(const char *key, char out[29])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    buf text = BUF_INIT;
    buf_puts(&text, key);
    buf_puts(&text, guid);
    unsigned char sha[20];
    gnutls_hash_fast(GNUTLS_DIG_SHA1, text.data, text.len, sha);
    buf_free(&text);
    sodium_bin2base64(out, 29, sha, sizeof sha, sodium_base64_VARIANT_ORIGINAL);
}

void ws_frame(buf *out, int opcode, const void *data, size_t len)
{
    unsigned char head[10];
    size_t n = 0;
    head[n++] = (unsigned char)(0x80 | (opcode & 0x0f));
    if (len < 126) {
        head[n++] = (unsigned char)len;
    } else if (len <= 0xffff) {
        head[n++] = 126;
        head[n++] = (unsigned char)(len >> 8);
        head[n++] = (unsigned char)len;
    } else {
        head[n++] = 127;
        for (int i = 7; i >= 0; i--)
            head[n++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    buf_append(out, head, n);
    buf_append(out, data, len);
}

int ws_decode(ws_decoder *d, const char *data, size_t len, size_t max_len, ws_frame_cb cb, void *ctx)
{
    buf_append(&d->in, data, len);
    size_t off = 0;
    int rc = 0;
    for (;;) {
        const unsigned char *p = (const unsigned char *)d->in.data + off;
        size_t avail = d->in.len - off;
        if (avail < 2)
            break;
        int opcode = p[0] & 0x0f;
        bool masked = p[1] & 0x80;
        if ((p[0] & 0x70) || !masked) {
            rc = -1;
            break;
        }
        uint64_t plen = p[1] & 0x7f;
        size_t hlen = 2;
        if (plen == 126) {
            if (avail < 4)
                break;
            plen = (uint64_t)p[2] << 8 | p[3];
            hlen = 4;
        } else if (plen == 127) {
            if (avail < 10)
                break;
            plen = 0;
            for (int i = 0; i < 8; i++)
                plen = plen << 8 | p[2 + i];
            hlen = 10;
        }
        if ((opcode & 0x08 && plen > 125) || plen > max_len) {
            rc = -1;
            break;
        }
        if (avail < hlen + 4 + plen)
            break;
        const unsigned char *mask = p + hlen;
        char *payload = (char *)d->in.data + off + hlen + 4;
        for (uint64_t i = 0; i < plen; i++)
            payload[i] = (char)(payload[i] ^ mask[i % 4]);
        cb(ctx, opcode, payload, (size_t)plen);
        off += hlen + 4 + (size_t)plen;
    }
    if (off) {
        memmove(d->in.data, d->in.data + off, d->in.len - off);
        d->in.len -= off;
    }
    return rc;
}

void ws_decoder_free(ws_decoder *d) { buf_free(&d->in); }
