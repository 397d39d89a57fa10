/* DNS messages (RFC 1035, AAAA from RFC 3596) as far as the embedded
 * resolver needs them: read the question of a query, write answers of
 * type A, AAAA and PTR, and error replies.  Pure functions on byte
 * buffers, no I/O. */
#ifndef BERTH_NETOVERLAY_DNS_MSG_H
#define BERTH_NETOVERLAY_DNS_MSG_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

enum { DNS_TYPE_A = 1, DNS_TYPE_PTR = 12, DNS_TYPE_AAAA = 28, DNS_CLASS_IN = 1 };
enum { DNS_RCODE_OK = 0, DNS_RCODE_FORMERR = 1, DNS_RCODE_SERVFAIL = 2, DNS_RCODE_NXDOMAIN = 3,
       DNS_RCODE_NOTIMP = 4, DNS_RCODE_REFUSED = 5 };

typedef struct dns_question {
    uint16_t id;
    char name[256];          /* lower case, no trailing dot: "web.mynet" */
    uint16_t qtype, qclass;
    size_t end;              /* offset just past the question in the query */
} dns_question;

/* Reads a standard query with exactly one question.  -EINVAL for a
 * response, a truncated or malformed message, or compression loops. */
int dns_parse_query(const uint8_t *msg, size_t len, dns_question *q);

/* Replies to query (its header and question copied, QR and RA set, RD
 * kept).  Each returns the reply's length, 0 if cap is too small. */
size_t dns_reply_a(const uint8_t *query, const dns_question *q, const struct in_addr *addrs, size_t n,
                   uint32_t ttl, uint8_t *out, size_t cap);
size_t dns_reply_aaaa(const uint8_t *query, const dns_question *q, const struct in6_addr *addrs, size_t n,
                      uint32_t ttl, uint8_t *out, size_t cap);
size_t dns_reply_ptr(const uint8_t *query, const dns_question *q, const char *name, uint32_t ttl, uint8_t *out,
                     size_t cap);
/* No answers, with rcode (DNS_RCODE_OK for "name exists, no such type").
 * q NULL: header only (QDCOUNT 0), for a query whose question is unreadable. */
size_t dns_reply_rcode(const uint8_t *query, const dns_question *q, int rcode, uint8_t *out, size_t cap);

/* "10.0.0.2" for "2.0.0.10.in-addr.arpa"; -EINVAL if name is not one. */
int dns_ptr_addr(const char *name, struct in_addr *out);
/* "fd00::2" for "2.0.0.0. ... .0.0.d.f.ip6.arpa": exactly 32 one-digit hex
 * labels, the address's last nibble first (RFC 3596 2.5); -EINVAL if name
 * is not one. */
int dns_ptr_addr6(const char *name, struct in6_addr *out);

#endif
