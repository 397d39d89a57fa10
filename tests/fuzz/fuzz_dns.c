/* The embedded DNS server's input: any datagram a container sends to
 * 127.0.0.11.  A query that parses is answered in every form the resolver
 * uses, and no answer is longer than its buffer. */
#include <assert.h>

#include "netoverlay/dns/dns_msg.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dns_question q;
    if (dns_parse_query(data, size, &q) != 0)
        return 0;
    assert(q.end <= size);
    uint8_t out[1024];
    struct in_addr addrs[3] = {{htonl(0x0a000002)}, {htonl(0x0a000003)}, {htonl(0x0a000004)}};
    size_t n = dns_reply_a(data, &q, addrs, 3, 600, out, sizeof out);
    assert(n <= sizeof out);
    struct in6_addr addrs6[2] = {{.s6_addr = {0xfd, [15] = 2}}, {.s6_addr = {0xfd, [15] = 3}}};
    n = dns_reply_aaaa(data, &q, addrs6, 2, 600, out, sizeof out);
    assert(n <= sizeof out);
    n = dns_reply_ptr(data, &q, "web.mynet", 600, out, sizeof out);
    assert(n <= sizeof out);
    n = dns_reply_rcode(data, &q, DNS_RCODE_NXDOMAIN, out, sizeof out);
    assert(n <= sizeof out);
    n = dns_reply_a(data, &q, addrs, 3, 600, out, 20);   /* too small: 0 or within */
    assert(n <= 20);
    n = dns_reply_aaaa(data, &q, addrs6, 2, 600, out, 40);
    assert(n <= 40);
    struct in_addr a;
    (void)dns_ptr_addr(q.name, &a);
    struct in6_addr a6;
    (void)dns_ptr_addr6(q.name, &a6);
    return 0;
}
