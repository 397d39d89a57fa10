/* Docker's stdcopy framing: see api/stdcopy.h. */
#include "api/stdcopy.h"

#include <errno.h>
#include <string.h>

static void put_header(unsigned char h[STDCOPY_HEADER], int stream, uint32_t len)
{
    h[0] = (unsigned char)stream;
    h[1] = h[2] = h[3] = 0;
    h[4] = (unsigned char)(len >> 24);
    h[5] = (unsigned char)(len >> 16);
    h[6] = (unsigned char)(len >> 8);
    h[7] = (unsigned char)len;
}

void stdcopy_frame(buf *out, int stream, const void *data, size_t len)
{
    const char *p = data;
    /* The size field is 32 bits; anything bigger goes out as several frames,
     * which every stdcopy reader joins back. */
    do {
        size_t n = len > UINT32_MAX ? UINT32_MAX : len;
        unsigned char h[STDCOPY_HEADER];
        put_header(h, stream, (uint32_t)n);
        buf_append(out, h, sizeof h);
        buf_append(out, p, n);
        p += n;
        len -= n;
    } while (len > 0);
}

/* Decodes as many whole frames as data holds; *used receives the bytes
 * consumed (up to a bad header, if any).  -EINVAL on a bad header. */
static int decode_frames(const unsigned char *data, size_t len, size_t *used_out,
                         void (*fn)(void *, int, const char *, size_t), void *ctx)
{
    size_t used = 0;
    *used_out = 0;
    while (len - used >= STDCOPY_HEADER) {
        const unsigned char *h = data + used;
        /* Like docker's StdCopy: the stream byte is checked, the three
         * padding bytes are not. */
        if (h[0] > 3)
            return -EINVAL;
        size_t n = (size_t)h[4] << 24 | (size_t)h[5] << 16 | (size_t)h[6] << 8 | h[7];
        if (len - used - STDCOPY_HEADER < n)
            break;
        fn(ctx, h[0], (const char *)h + STDCOPY_HEADER, n);
        used += STDCOPY_HEADER + n;
        *used_out = used;
    }
    return 0;
}

int stdcopy_decode(stdcopy_decoder *d, const void *data, size_t len,
                   void (*fn)(void *ctx, int stream, const char *data, size_t len), void *ctx)
{
    const unsigned char *p = data;
    if (d->pending.len > 0) {
        /* Complete the frame that started in an earlier feed, copying only
         * what it still needs so a large feed is not copied whole. */
        const unsigned char *h = (const unsigned char *)d->pending.data;
        if (d->pending.len < STDCOPY_HEADER) {
            size_t n = STDCOPY_HEADER - d->pending.len;
            if (n > len)
                n = len;
            buf_append(&d->pending, p, n);
            p += n;
            len -= n;
            if (d->pending.len < STDCOPY_HEADER)
                return 0;
            h = (const unsigned char *)d->pending.data;
        }
        if (h[0] > 3)
            return -EINVAL;
        size_t need = STDCOPY_HEADER + ((size_t)h[4] << 24 | (size_t)h[5] << 16 | (size_t)h[6] << 8 | h[7]);
        size_t n = need - d->pending.len;
        if (n > len)
            n = len;
        buf_append(&d->pending, p, n);
        p += n;
        len -= n;
        if (d->pending.len < need)
            return 0;
        h = (const unsigned char *)d->pending.data;
        fn(ctx, h[0], d->pending.data + STDCOPY_HEADER, need - STDCOPY_HEADER);
        buf_reset(&d->pending);
    }
    size_t used;
    int r = decode_frames(p, len, &used, fn, ctx);
    /* The rest waits for the next feed; a bad header stays too, so later
     * feeds fail as well. */
    buf_append(&d->pending, p + used, len - used);
    return r;
}

void stdcopy_decoder_free(stdcopy_decoder *d)
{
    buf_free(&d->pending);
}
