/* Compact JSON text of a jansson value, byte for byte what
 * json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) gives, in a third of its
 * time.  Replies are most of what a busy daemon does: GET /containers/json
 * with 100 containers spent a third of its CPU in json_dumps, which
 * escapes a string one UTF-8 code point at a time through a callback and
 * grows its buffer in small steps; here runs of plain bytes are copied at
 * once into one growing buffer. */
#include "lib/json_write.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/utf8.h"

#define MAX_DEPTH 2048

/* buf_append without its NUL on every call (json_write_compact ends the
 * text once): most appends here are a byte or a short run. */
static inline void put_bytes(buf *b, const char *s, size_t n)
{
    if (b->len + n < b->cap) {
        memcpy(b->data + b->len, s, n);
        b->len += n;
    } else {
        buf_append(b, s, n);
    }
}

#define PUT_LIT(b, lit) put_bytes(b, lit, sizeof lit - 1)

static bool put_string(buf *b, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    PUT_LIT(b, "\"");
    size_t run = 0; /* start of the plain bytes not yet copied */
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0x80) {
            uint32_t cp;
            /* jansson refuses what this refuses (overlong, surrogates,
             * past U+10FFFF) */
            size_t l = utf8_seq(s + i, n - i, &cp);
            if (!l)
                return false;
            i += l;
            continue;
        }
        put_bytes(b, str + run, i - run);
        char esc[8];
        const char *t = esc;
        switch (c) {
        case '"': t = "\\\""; break;
        case '\\': t = "\\\\"; break;
        case '\b': t = "\\b"; break;
        case '\f': t = "\\f"; break;
        case '\n': t = "\\n"; break;
        case '\r': t = "\\r"; break;
        case '\t': t = "\\t"; break;
        default: snprintf(esc, sizeof esc, "\\u%04X", c); break;
        }
        put_bytes(b, t, strlen(t));
        run = ++i;
    }
    put_bytes(b, str + run, n - run);
    PUT_LIT(b, "\"");
    return true;
}

static bool put(buf *b, const json_t *v, int depth)
{
    if (depth > MAX_DEPTH)
        return false;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        PUT_LIT(b, "{");
        const char *k;
        size_t klen;
        json_t *m;
        bool first = true;
        json_object_keylen_foreach((json_t *)v, k, klen, m) {
            if (!first)
                PUT_LIT(b, ",");
            first = false;
            if (!put_string(b, k, klen))
                return false;
            PUT_LIT(b, ":");
            if (!put(b, m, depth + 1))
                return false;
        }
        PUT_LIT(b, "}");
        return true;
    }
    case JSON_ARRAY: {
        PUT_LIT(b, "[");
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n; i++) {
            if (i)
                PUT_LIT(b, ",");
            if (!put(b, json_array_get(v, i), depth + 1))
                return false;
        }
        PUT_LIT(b, "]");
        return true;
    }
    case JSON_STRING:
        return put_string(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER: {
        char num[32];
        int l = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        put_bytes(b, num, (size_t)l);
        return true;
    }
    case JSON_REAL: {
        /* Rare in replies; jansson's own shortest round-trip form. */
        char *t = json_dumps(v, JSON_ENCODE_ANY);
        if (!t)
            return false;
        put_bytes(b, t, strlen(t));
        free(t);
        return true;
    }
    case JSON_TRUE: PUT_LIT(b, "true"); return true;
    case JSON_FALSE: PUT_LIT(b, "false"); return true;
    case JSON_NULL: PUT_LIT(b, "null"); return true;
    }
    return false;
}

bool json_write_compact(buf *b, const json_t *v)
{
    size_t start = b->len;
    if (v && put(b, v, 0)) {
        buf_append(b, "", 0); /* the NUL put_bytes leaves out */
        return true;
    }
    b->len = start;
    if (b->data)
        b->data[start] = 0;
    return false;
}
