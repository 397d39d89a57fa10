/* DNS messages (RFC 1035) for the embedded resolver: the question of a
 * query in, A/AAAA/PTR/rcode replies out.  Every read is bounds-checked against
 * the message length because queries come from untrusted containers. */
#include "netoverlay/dns/dns_msg.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <strings.h>
#include <string.h>

enum { HDR_LEN = 12, NAME_WIRE_MAX = 255, LABEL_MAX = 63 };
/* A pointer chain longer than this is a loop (or an attack); real names
 * need one pointer, a name of 127 one-byte labels could need 127. */
enum { MAX_POINTER_HOPS = 128 };

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

static char ascii_lower(uint8_t c) { return (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c); }

/* Reads the name at off into text (lower case, dotted, no trailing dot).
 * Pointers may go anywhere inside the message; loops are caught by the hop
 * limit and the 255-byte limit on the expanded name.  *after is the offset
 * just past the name where it sits (past its first pointer, if any). */
static int read_name(const uint8_t *msg, size_t len, size_t off, char text[256], size_t *after)
{
    size_t pos = off, wire = 1, tlen = 0;  /* wire counts the final root byte */
    unsigned hops = 0;
    bool jumped = false;
    for (;;) {
        if (pos >= len)
            return -EINVAL;
        uint8_t c = msg[pos];
        if (c == 0) {
            if (!jumped)
                *after = pos + 1;
            break;
        }
        if ((c & 0xC0) == 0xC0) {
            if (pos + 1 >= len || ++hops > MAX_POINTER_HOPS)
                return -EINVAL;
            if (!jumped)
                *after = pos + 2;
            jumped = true;
            pos = (size_t)(c & 0x3F) << 8 | msg[pos + 1];
            continue;
        }
        if (c > LABEL_MAX)  /* 0x40 and 0x80: extended/reserved label types */
            return -EINVAL;
        if (pos + 1 + c > len)
            return -EINVAL;
        wire += 1 + (size_t)c;
        if (wire > NAME_WIRE_MAX)
            return -EINVAL;
        if (tlen)
            text[tlen++] = '.';
        for (size_t i = 0; i < c; i++) {
            uint8_t b = msg[pos + 1 + i];
            /* A dot or NUL inside a label cannot be told apart in text form. */
            if (b == '.' || b == 0)
                return -EINVAL;
            text[tlen++] = ascii_lower(b);
        }
        pos += 1 + c;
    }
    text[tlen] = 0;
    return 0;
}

int dns_parse_query(const uint8_t *msg, size_t len, dns_question *q)
{
    if (!msg || len < HDR_LEN)
        return -EINVAL;
    if (msg[2] & 0x80)                 /* QR: a response, not a query */
        return -EINVAL;
    if ((msg[2] >> 3 & 0x0F) != 0)    /* opcode QUERY only */
        return -EINVAL;
    if (get16(msg + 4) != 1)
        return -EINVAL;
    size_t after;
    int rc = read_name(msg, len, HDR_LEN, q->name, &after);
    if (rc < 0)
        return rc;
    if (after + 4 > len)
        return -EINVAL;
    q->id = get16(msg);
    q->qtype = get16(msg + after);
    q->qclass = get16(msg + after + 2);
    q->end = after + 4;
    /* Answer/authority/additional sections (an EDNS OPT record) are ignored:
     * replies are built from the header and question alone. */
    return 0;
}

/* Wire form of a dotted text name (one trailing dot allowed); 0 if it
 * does not fit cap or is not a valid name. */
static size_t encode_name(const char *name, uint8_t *out, size_t cap)
{
    size_t n = strlen(name);
    if (n && name[n - 1] == '.')
        n--;
    size_t o = 0;
    const char *p = name, *end = name + n;
    while (p < end) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        size_t l = (size_t)((dot ? dot : end) - p);
        if (l == 0 || l > LABEL_MAX || o + 1 + l + 1 > cap || o + 1 + l + 1 > NAME_WIRE_MAX)
            return 0;
        out[o++] = (uint8_t)l;
        memcpy(out + o, p, l);
        o += l;
        p += l + (dot ? 1 : 0);
        if (dot && p == end)  /* "a..": empty label after a dot */
            return 0;
    }
    if (o + 1 > cap)
        return 0;
    out[o++] = 0;
    return o;
}

/* Length of the question name at offset 12 of query if it is written out
 * without pointers inside [12, limit), else 0. */
static size_t plain_name_len(const uint8_t *query, size_t limit)
{
    size_t pos = HDR_LEN;
    while (pos < limit) {
        uint8_t c = query[pos];
        if (c == 0)
            return pos + 1 - HDR_LEN;
        if (c > LABEL_MAX)
            return 0;
        pos += 1 + (size_t)c;
    }
    return 0;
}

/* Header and question of a reply; the offset where answers go, 0 if cap
 * is too small.  The question keeps the query's spelling of the name
 * (resolvers doing 0x20 case randomisation compare it); a question that
 * used compression is written out from q->name instead. */
static size_t reply_head(const uint8_t *query, const dns_question *q, int rcode, uint16_t ancount, uint8_t *out,
                         size_t cap)
{
    if (cap < HDR_LEN)
        return 0;
    memcpy(out, query, 2);                             /* id */
    out[2] = (uint8_t)(0x80 | (query[2] & 0x01));      /* QR, opcode 0, RD kept */
    out[3] = (uint8_t)(0x80 | (rcode & 0x0F));         /* RA, rcode */
    put16(out + 4, q ? 1 : 0);
    put16(out + 6, ancount);
    put16(out + 8, 0);
    put16(out + 10, 0);
    if (!q)
        return HDR_LEN;
    size_t o = HDR_LEN;
    size_t nl = q->end >= HDR_LEN + 5 ? plain_name_len(query, q->end - 4) : 0;
    if (nl && nl + 4 == q->end - HDR_LEN) {
        if (o + nl > cap)
            return 0;
        memcpy(out + o, query + HDR_LEN, nl);
    } else {
        nl = encode_name(q->name, out + o, cap - o);
        if (!nl)
            return 0;
    }
    o += nl;
    if (o + 4 > cap)
        return 0;
    put16(out + o, q->qtype);
    put16(out + o + 2, q->qclass);
    return o + 4;
}

/* Start of an answer record named by a pointer to the question (offset 12). */
static void answer_head(uint8_t *p, uint16_t type, uint32_t ttl, uint16_t rdlen)
{
    put16(p, 0xC00C);
    put16(p + 2, type);
    put16(p + 4, DNS_CLASS_IN);
    put32(p + 6, ttl);
    put16(p + 10, rdlen);
}

/* n address records of type (4 or 16 bytes each, network order), as
 * many records of len bytes laid end to end in addrs. */
static size_t reply_addrs(const uint8_t *query, const dns_question *q, uint16_t type, const uint8_t *addrs,
                          uint16_t len, size_t n, uint32_t ttl, uint8_t *out, size_t cap)
{
    if (n > 0xFFFF)
        return 0;
    size_t o = reply_head(query, q, DNS_RCODE_OK, (uint16_t)n, out, cap);
    if (!o)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (o + 12 + len > cap)
            return 0;
        answer_head(out + o, type, ttl, len);
        memcpy(out + o + 12, addrs + i * len, len);
        o += 12 + len;
    }
    return o;
}

size_t dns_reply_a(const uint8_t *query, const dns_question *q, const struct in_addr *addrs, size_t n,
                   uint32_t ttl, uint8_t *out, size_t cap)
{
    _Static_assert(sizeof(struct in_addr) == 4, "in_addr is its 4 bytes");
    return reply_addrs(query, q, DNS_TYPE_A, (const uint8_t *)addrs, 4, n, ttl, out, cap);
}

size_t dns_reply_aaaa(const uint8_t *query, const dns_question *q, const struct in6_addr *addrs, size_t n,
                      uint32_t ttl, uint8_t *out, size_t cap)
{
    _Static_assert(sizeof(struct in6_addr) == 16, "in6_addr is its 16 bytes");
    return reply_addrs(query, q, DNS_TYPE_AAAA, (const uint8_t *)addrs, 16, n, ttl, out, cap);
}

size_t dns_reply_ptr(const uint8_t *query, const dns_question *q, const char *name, uint32_t ttl, uint8_t *out,
                     size_t cap)
{
    size_t o = reply_head(query, q, DNS_RCODE_OK, 1, out, cap);
    if (!o || o + 12 > cap)
        return 0;
    size_t nl = encode_name(name, out + o + 12, cap - o - 12);
    if (!nl)
        return 0;
    answer_head(out + o, DNS_TYPE_PTR, ttl, (uint16_t)nl);
    return o + 12 + nl;
}

/* q may be NULL for a query whose question could not be read: the reply
 * then has the header only (QDCOUNT 0), as for FORMERR. */
size_t dns_reply_rcode(const uint8_t *query, const dns_question *q, int rcode, uint8_t *out, size_t cap)
{
    return reply_head(query, q, rcode, 0, out, cap);
}

int dns_ptr_addr(const char *name, struct in_addr *out)
{
    static const char suffix[] = "in-addr.arpa";
    unsigned oct[4];
    const char *p = name;
    for (int i = 0; i < 4; i++) {
        unsigned v = 0, digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 4) {
            v = v * 10 + (unsigned)(*p++ - '0');
            digits++;
        }
        if (digits == 0 || digits > 3 || v > 255 || *p++ != '.')
            return -EINVAL;
        oct[i] = v;
    }
    size_t rest = strlen(p);
    if (rest && p[rest - 1] == '.')
        rest--;
    if (rest != sizeof suffix - 1 || strncasecmp(p, suffix, rest) != 0)
        return -EINVAL;
    /* The labels are the address reversed: d.c.b.a -> a.b.c.d */
    uint8_t b[4] = {(uint8_t)oct[3], (uint8_t)oct[2], (uint8_t)oct[1], (uint8_t)oct[0]};
    memcpy(&out->s_addr, b, 4);
    return 0;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = ascii_lower((uint8_t)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int dns_ptr_addr6(const char *name, struct in6_addr *out)
{
    static const char suffix[] = "ip6.arpa";
    uint8_t b[16];
    const char *p = name;
    /* Labels of exactly one digit: "10" or "" is not a nibble, and a name
     * with fewer or more than 32 is not an address (a zone above one). */
    for (int i = 0; i < 32; i++) {
        int v = hex_digit(*p);
        if (v < 0 || p[1] != '.')
            return -EINVAL;
        p += 2;
        /* The last nibble comes first: label i is byte 15 - i/2, low half
         * for even i. */
        if (i % 2 == 0)
            b[15 - i / 2] = (uint8_t)v;
        else
            b[15 - i / 2] |= (uint8_t)(v << 4);
    }
    size_t rest = strlen(p);
    if (rest && p[rest - 1] == '.')
        rest--;
    if (rest != sizeof suffix - 1 || strncasecmp(p, suffix, rest) != 0)
        return -EINVAL;
    memcpy(out->s6_addr, b, 16);
    return 0;
}
