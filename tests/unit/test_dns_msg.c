/* Unit tests for netoverlay/dns/dns_msg.c: parsing queries (compression,
 * loops, truncation) and replies compared byte for byte. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "netoverlay/dns/dns_msg.h"

#define HDR(id, flags, qd, an, ns, ar) \
    (id) >> 8, (id) & 0xFF, (flags) >> 8, (flags) & 0xFF, 0, qd, 0, an, 0, ns, 0, ar

/* web.mynet A IN, RD set */
static const uint8_t q_plain[] = {HDR(0x1234, 0x0100, 1, 0, 0, 0),
                                  3, 'w', 'e', 'b', 5, 'm', 'y', 'n', 'e', 't', 0, 0, 1, 0, 1};

static void test_parse_plain(void **state)
{
    (void)state;
    dns_question q;
    assert_int_equal(dns_parse_query(q_plain, sizeof q_plain, &q), 0);
    assert_int_equal(q.id, 0x1234);
    assert_string_equal(q.name, "web.mynet");
    assert_int_equal(q.qtype, DNS_TYPE_A);
    assert_int_equal(q.qclass, DNS_CLASS_IN);
    assert_int_equal(q.end, sizeof q_plain);
}

static void test_parse_upper_case_and_edns(void **state)
{
    (void)state;
    /* AAAA for WeB.MyNET, with an EDNS OPT record (udp size 1232) */
    static const uint8_t m[] = {HDR(7, 0x0100, 1, 0, 0, 1),
                                3, 'W', 'e', 'B', 5, 'M', 'y', 'N', 'E', 'T', 0, 0, 28, 0, 1,
                                0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0};
    dns_question q;
    assert_int_equal(dns_parse_query(m, sizeof m, &q), 0);
    assert_string_equal(q.name, "web.mynet");
    assert_int_equal(q.qtype, DNS_TYPE_AAAA);
    assert_int_equal(q.end, 12 + 11 + 4);
}

static void test_parse_root(void **state)
{
    (void)state;
    static const uint8_t m[] = {HDR(1, 0, 1, 0, 0, 0), 0, 0, 2, 0, 1};
    dns_question q;
    assert_int_equal(dns_parse_query(m, sizeof m, &q), 0);
    assert_string_equal(q.name, "");
    assert_int_equal(q.qtype, 2);
}

/* "web" then a pointer to "mynet" stored after the question */
static const uint8_t q_ptr[] = {HDR(0xBEEF, 0x0100, 1, 0, 0, 0),
                                3, 'w', 'e', 'b', 0xC0, 22, 0, 1, 0, 1,
                                5, 'm', 'y', 'N', 'e', 't', 0};

static void test_parse_compression(void **state)
{
    (void)state;
    dns_question q;
    assert_int_equal(dns_parse_query(q_ptr, sizeof q_ptr, &q), 0);
    assert_string_equal(q.name, "web.mynet");
    assert_int_equal(q.qtype, DNS_TYPE_A);
    assert_int_equal(q.end, 22);  /* past the pointer, not past the target */
}

static void test_parse_pointer_loops(void **state)
{
    (void)state;
    dns_question q;
    static const uint8_t self[] = {HDR(1, 0, 1, 0, 0, 0), 0xC0, 12, 0, 1, 0, 1};
    assert_int_equal(dns_parse_query(self, sizeof self, &q), -EINVAL);
    static const uint8_t two[] = {HDR(1, 0, 1, 0, 0, 0), 0xC0, 18, 0, 1, 0, 1, 0xC0, 12};
    assert_int_equal(dns_parse_query(two, sizeof two, &q), -EINVAL);
    /* a label, then back to itself: grows until the 255-byte limit */
    static const uint8_t grow[] = {HDR(1, 0, 1, 0, 0, 0), 1, 'a', 0xC0, 12, 0, 1, 0, 1};
    assert_int_equal(dns_parse_query(grow, sizeof grow, &q), -EINVAL);
    /* pointer out of the message */
    static const uint8_t out[] = {HDR(1, 0, 1, 0, 0, 0), 0xC0, 200, 0, 1, 0, 1};
    assert_int_equal(dns_parse_query(out, sizeof out, &q), -EINVAL);
}

static void test_parse_truncated(void **state)
{
    (void)state;
    dns_question q;
    for (size_t n = 0; n < sizeof q_plain; n++)
        assert_int_equal(dns_parse_query(q_plain, n, &q), -EINVAL);
    for (size_t n = 0; n < sizeof q_ptr; n++)
        assert_int_equal(dns_parse_query(q_ptr, n, &q), -EINVAL);
}

static void test_parse_rejects(void **state)
{
    (void)state;
    dns_question q;
    uint8_t m[sizeof q_plain];
    memcpy(m, q_plain, sizeof m);
    m[2] = 0x81;  /* QR: a response */
    assert_int_equal(dns_parse_query(m, sizeof m, &q), -EINVAL);
    memcpy(m, q_plain, sizeof m);
    m[2] = 0x28;  /* opcode 5 (UPDATE) */
    assert_int_equal(dns_parse_query(m, sizeof m, &q), -EINVAL);
    memcpy(m, q_plain, sizeof m);
    m[5] = 2;     /* two questions */
    assert_int_equal(dns_parse_query(m, sizeof m, &q), -EINVAL);
    m[5] = 0;
    assert_int_equal(dns_parse_query(m, sizeof m, &q), -EINVAL);
    memcpy(m, q_plain, sizeof m);
    m[12] = 0x43; /* extended label type */
    assert_int_equal(dns_parse_query(m, sizeof m, &q), -EINVAL);
    memcpy(m, q_plain, sizeof m);
    m[14] = '.';  /* a dot inside a label */
    assert_int_equal(dns_parse_query(m, sizeof m, &q), -EINVAL);

    /* five 63-byte labels: 321 bytes, over the 255 limit */
    uint8_t big[12 + 5 * 64 + 1 + 4] = {HDR(1, 0, 1, 0, 0, 0)};
    size_t o = 12;
    for (int i = 0; i < 5; i++) {
        big[o++] = 63;
        memset(big + o, 'a', 63);
        o += 63;
    }
    big[o++] = 0;
    big[o + 1] = 1;
    big[o + 3] = 1;
    assert_int_equal(dns_parse_query(big, sizeof big, &q), -EINVAL);
    /* three are fine (193 bytes) */
    uint8_t ok[12 + 3 * 64 + 1 + 4] = {HDR(1, 0, 1, 0, 0, 0)};
    memcpy(ok + 12, big + 12, 3 * 64);
    ok[12 + 3 * 64 + 2] = 1;
    ok[12 + 3 * 64 + 4] = 1;
    assert_int_equal(dns_parse_query(ok, sizeof ok, &q), 0);
    assert_int_equal(strlen(q.name), 3 * 63 + 2);
}

static void test_reply_a(void **state)
{
    (void)state;
    /* the query carries an OPT record: the reply must not */
    static const uint8_t query[] = {HDR(0x1234, 0x0100, 1, 0, 0, 1),
                                    3, 'W', 'e', 'b', 5, 'm', 'y', 'n', 'e', 't', 0, 0, 1, 0, 1,
                                    0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t want[] = {HDR(0x1234, 0x8180, 1, 2, 0, 0),
                                   3, 'W', 'e', 'b', 5, 'm', 'y', 'n', 'e', 't', 0, 0, 1, 0, 1,
                                   0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0x02, 0x58, 0, 4, 10, 0, 0, 2,
                                   0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0x02, 0x58, 0, 4, 10, 0, 0, 3};
    dns_question q;
    assert_int_equal(dns_parse_query(query, sizeof query, &q), 0);
    struct in_addr a[2];
    inet_pton(AF_INET, "10.0.0.2", &a[0]);
    inet_pton(AF_INET, "10.0.0.3", &a[1]);
    uint8_t out[512];
    size_t n = dns_reply_a(query, &q, a, 2, 600, out, sizeof out);
    assert_int_equal(n, sizeof want);
    assert_memory_equal(out, want, sizeof want);
    /* too small a buffer */
    for (size_t cap = 0; cap < sizeof want; cap++)
        assert_int_equal(dns_reply_a(query, &q, a, 2, 600, out, cap), 0);
}

static void test_reply_aaaa(void **state)
{
    (void)state;
    /* web.mynet AAAA IN, RD set */
    static const uint8_t query[] = {HDR(0x2345, 0x0100, 1, 0, 0, 0),
                                    3, 'w', 'e', 'b', 5, 'm', 'y', 'n', 'e', 't', 0, 0, 28, 0, 1};
    dns_question q;
    assert_int_equal(dns_parse_query(query, sizeof query, &q), 0);
    struct in6_addr a[2];
    assert_int_equal(inet_pton(AF_INET6, "fd00::2", &a[0]), 1);
    assert_int_equal(inet_pton(AF_INET6, "2001:db8:1:2:3:4:5:6", &a[1]), 1);
    uint8_t out[512];
    size_t n = dns_reply_aaaa(query, &q, a, 2, 600, out, sizeof out);
    assert_int_equal(n, sizeof query + 2 * 28);
    /* read it back */
    assert_memory_equal(out, "\x23\x45\x81\x80", 4);          /* id, QR RD RA, NOERROR */
    assert_memory_equal(out + 4, "\0\1\0\2\0\0\0\0", 8);  /* 1 question, 2 answers */
    assert_memory_equal(out + 12, query + 12, sizeof query - 12);
    size_t o = sizeof query;
    for (int i = 0; i < 2; i++, o += 28) {
        assert_int_equal(out[o] << 8 | out[o + 1], 0xC00C);      /* the question's name */
        assert_int_equal(out[o + 2] << 8 | out[o + 3], DNS_TYPE_AAAA);
        assert_int_equal(out[o + 4] << 8 | out[o + 5], DNS_CLASS_IN);
        assert_memory_equal(out + o + 6, "\0\0\x02\x58", 4);  /* TTL 600 */
        assert_int_equal(out[o + 10] << 8 | out[o + 11], 16);
        assert_memory_equal(out + o + 12, a[i].s6_addr, 16);
    }
    /* too small a buffer */
    for (size_t cap = 0; cap < n; cap++)
        assert_int_equal(dns_reply_aaaa(query, &q, a, 2, 600, out, cap), 0);
    /* one address fits where two do not */
    assert_int_equal(dns_reply_aaaa(query, &q, a, 1, 600, out, n - 1), sizeof query + 28);
    assert_int_equal(out[7], 1);
}

static void test_reply_rd_clear(void **state)
{
    (void)state;
    uint8_t query[sizeof q_plain];
    memcpy(query, q_plain, sizeof query);
    query[2] = 0;  /* RD off */
    dns_question q;
    assert_int_equal(dns_parse_query(query, sizeof query, &q), 0);
    uint8_t out[512];
    size_t n = dns_reply_rcode(query, &q, DNS_RCODE_NXDOMAIN, out, sizeof out);
    static const uint8_t want[] = {HDR(0x1234, 0x8083, 1, 0, 0, 0),
                                   3, 'w', 'e', 'b', 5, 'm', 'y', 'n', 'e', 't', 0, 0, 1, 0, 1};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(out, want, sizeof want);
}

static void test_reply_rcode(void **state)
{
    (void)state;
    dns_question q;
    assert_int_equal(dns_parse_query(q_plain, sizeof q_plain, &q), 0);
    uint8_t out[512];
    static const uint8_t want[] = {HDR(0x1234, 0x8185, 1, 0, 0, 0),
                                   3, 'w', 'e', 'b', 5, 'm', 'y', 'n', 'e', 't', 0, 0, 1, 0, 1};
    assert_int_equal(dns_reply_rcode(q_plain, &q, DNS_RCODE_REFUSED, out, sizeof out), sizeof want);
    assert_memory_equal(out, want, sizeof want);
    /* no question: header only */
    static const uint8_t hdr[] = {HDR(0x1234, 0x8181, 0, 0, 0, 0)};
    assert_int_equal(dns_reply_rcode(q_plain, NULL, DNS_RCODE_FORMERR, out, sizeof out), sizeof hdr);
    assert_memory_equal(out, hdr, sizeof hdr);
    assert_int_equal(dns_reply_rcode(q_plain, &q, DNS_RCODE_OK, out, 20), 0);
}

static void test_reply_compressed_question(void **state)
{
    (void)state;
    dns_question q;
    assert_int_equal(dns_parse_query(q_ptr, sizeof q_ptr, &q), 0);
    struct in_addr a;
    inet_pton(AF_INET, "172.18.0.5", &a);
    uint8_t out[512];
    /* the question is written out whole (lower case from q.name) */
    static const uint8_t want[] = {HDR(0xBEEF, 0x8180, 1, 1, 0, 0),
                                   3, 'w', 'e', 'b', 5, 'm', 'y', 'n', 'e', 't', 0, 0, 1, 0, 1,
                                   0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 172, 18, 0, 5};
    size_t n = dns_reply_a(q_ptr, &q, &a, 1, 30, out, sizeof out);
    assert_int_equal(n, sizeof want);
    assert_memory_equal(out, want, sizeof want);
}

static void test_reply_ptr(void **state)
{
    (void)state;
    static const uint8_t query[] = {HDR(0x0042, 0x0100, 1, 0, 0, 0),
                                    1, '2', 1, '0', 1, '0', 2, '1', '0', 7, 'i', 'n', '-', 'a', 'd', 'd', 'r',
                                    4, 'a', 'r', 'p', 'a', 0, 0, 12, 0, 1};
    static const uint8_t want[] = {HDR(0x0042, 0x8180, 1, 1, 0, 0),
                                   1, '2', 1, '0', 1, '0', 2, '1', '0', 7, 'i', 'n', '-', 'a', 'd', 'd', 'r',
                                   4, 'a', 'r', 'p', 'a', 0, 0, 12, 0, 1,
                                   0xC0, 0x0C, 0, 12, 0, 1, 0, 0, 0x02, 0x58, 0, 11,
                                   3, 'w', 'e', 'b', 5, 'm', 'y', 'n', 'e', 't', 0};
    dns_question q;
    assert_int_equal(dns_parse_query(query, sizeof query, &q), 0);
    assert_string_equal(q.name, "2.0.0.10.in-addr.arpa");
    uint8_t out[512];
    assert_int_equal(dns_reply_ptr(query, &q, "web.mynet", 600, out, sizeof out), sizeof want);
    assert_memory_equal(out, want, sizeof want);
    assert_int_equal(dns_reply_ptr(query, &q, "web.mynet.", 600, out, sizeof out), sizeof want);
    assert_memory_equal(out, want, sizeof want);
    assert_int_equal(dns_reply_ptr(query, &q, "web..mynet", 600, out, sizeof out), 0);
    assert_int_equal(dns_reply_ptr(query, &q, ".web", 600, out, sizeof out), 0);
    assert_int_equal(dns_reply_ptr(query, &q, "web.mynet", 600, out, sizeof want - 1), 0);
}

static void test_ptr_addr(void **state)
{
    (void)state;
    struct in_addr a;
    char s[INET_ADDRSTRLEN];
    assert_int_equal(dns_ptr_addr("2.0.0.10.in-addr.arpa", &a), 0);
    assert_string_equal(inet_ntop(AF_INET, &a, s, sizeof s), "10.0.0.2");
    assert_int_equal(dns_ptr_addr("4.3.2.1.IN-ADDR.ARPA.", &a), 0);
    assert_string_equal(inet_ntop(AF_INET, &a, s, sizeof s), "1.2.3.4");
    assert_int_equal(dns_ptr_addr("255.0.18.172.in-addr.arpa", &a), 0);
    assert_string_equal(inet_ntop(AF_INET, &a, s, sizeof s), "172.18.0.255");
    static const char *const bad[] = {"", "in-addr.arpa", "0.10.in-addr.arpa", "1.2.3.in-addr.arpa",
                                      "256.0.0.10.in-addr.arpa", "a.0.0.10.in-addr.arpa",
                                      "5.4.3.2.1.in-addr.arpa", "1.2.3.4.ip6.arpa", "1.2.3.4.in-addr.arpa.x",
                                      "1.2.3.4", "0001.2.3.4.in-addr.arpa", "-1.2.3.4.in-addr.arpa"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(dns_ptr_addr(bad[i], &a), -EINVAL);
}

/* The ip6.arpa name of addr: its 32 nibbles, last first. */
static void ip6_arpa(const char *addr, char *name)
{
    struct in6_addr a;
    assert_int_equal(inet_pton(AF_INET6, addr, &a), 1);
    for (int i = 15; i >= 0; i--)
        name += sprintf(name, "%x.%x.", a.s6_addr[i] & 0xF, a.s6_addr[i] >> 4);
    strcpy(name, "ip6.arpa");
}

static void test_ptr_addr6(void **state)
{
    (void)state;
    struct in6_addr a;
    char s[INET6_ADDRSTRLEN], name[128];
    /* RFC 3596's example */
    assert_int_equal(dns_ptr_addr6("b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa", &a), 0);
    assert_string_equal(inet_ntop(AF_INET6, &a, s, sizeof s), "4321:0:1:2:3:4:567:89ab");
    static const char *const round[] = {"fd00::2", "2001:db8::567:89ab", "::", "::1", "fe80::1:ff:fe23:4567",
                                        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"};
    for (size_t i = 0; i < sizeof round / sizeof *round; i++) {
        ip6_arpa(round[i], name);
        memset(&a, 0xAA, sizeof a);
        assert_int_equal(dns_ptr_addr6(name, &a), 0);
        assert_string_equal(inet_ntop(AF_INET6, &a, s, sizeof s), round[i]);
    }
    /* case does not matter (names arrive lower-cased anyway); one
     * trailing dot is allowed, as for in-addr.arpa */
    assert_int_equal(dns_ptr_addr6("B.A.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.IP6.ARPA.", &a), 0);
    assert_string_equal(inet_ntop(AF_INET6, &a, s, sizeof s), "4321:0:1:2:3:4:567:89ab");

    ip6_arpa("fd00::2", name);
    const char *ok = name;
    assert_string_equal(ok, "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa");
    char bad[16][128];
    int nb = 0;
    snprintf(bad[nb++], 128, "%s", ok + 2);                       /* 31 nibbles */
    snprintf(bad[nb++], 128, "0.%s", ok);                         /* 33 */
    snprintf(bad[nb++], 128, "10.%s", ok + 2);                    /* 32 labels, one of two digits */
    snprintf(bad[nb++], 128, "g.%s", ok + 2);                     /* not hex */
    snprintf(bad[nb++], 128, "-.%s", ok + 2);
    snprintf(bad[nb++], 128, ".%s", ok + 2);                      /* an empty label */
    snprintf(bad[nb++], 128, "%.64sin-addr.arpa", ok);            /* the wrong tree */
    snprintf(bad[nb++], 128, "%.64sip6.arpa.x", ok);
    snprintf(bad[nb++], 128, "%.64sip6.arpa..", ok);
    snprintf(bad[nb++], 128, "%.64sip6", ok);
    snprintf(bad[nb++], 128, "%.64s", ok);                        /* nibbles only */
    snprintf(bad[nb++], 128, "%.63s", ok);
    snprintf(bad[nb++], 128, "ip6.arpa");
    snprintf(bad[nb++], 128, "%s", "");
    snprintf(bad[nb++], 128, "2.0.0.10.in-addr.arpa");
    snprintf(bad[nb++], 128, "fd00::2");
    for (int i = 0; i < nb; i++) {
        memset(&a, 0xAA, sizeof a);
        assert_int_equal(dns_ptr_addr6(bad[i], &a), -EINVAL);
    }
    /* and an in-addr.arpa parser rejects ip6.arpa */
    struct in_addr a4;
    assert_int_equal(dns_ptr_addr(ok, &a4), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_plain),
        cmocka_unit_test(test_parse_upper_case_and_edns),
        cmocka_unit_test(test_parse_root),
        cmocka_unit_test(test_parse_compression),
        cmocka_unit_test(test_parse_pointer_loops),
        cmocka_unit_test(test_parse_truncated),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_reply_a),
        cmocka_unit_test(test_reply_aaaa),
        cmocka_unit_test(test_reply_rd_clear),
        cmocka_unit_test(test_reply_rcode),
        cmocka_unit_test(test_reply_compressed_question),
        cmocka_unit_test(test_reply_ptr),
        cmocka_unit_test(test_ptr_addr),
        cmocka_unit_test(test_ptr_addr6),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
