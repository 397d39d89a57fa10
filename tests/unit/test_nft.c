/* Unit tests for netoverlay/nft.c: the generated script (both tables, ip
 * and ip6) for several models, then the real thing inside a private network namespace (tests
 * run as root; the host's own rules are never touched). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/buf.h"
#include "netoverlay/nft.h"

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

#define assert_has(s, needle) assert_non_null(strstr((s), (needle)))
#define assert_hasnt(s, needle) assert_null(strstr((s), (needle)))

/* The text of one chain: from "chain NAME {" to its closing brace. */
static char *chain_text(const char *script, const char *name)
{
    char head[64];
    snprintf(head, sizeof head, "\tchain %s {\n", name);
    const char *p = strstr(script, head);
    assert_non_null(p);
    const char *end = strstr(p, "\n\t}\n");
    assert_non_null(end);
    return strndup(p, (size_t)(end - p) + 1);
}

static void test_empty_model(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    nft_model m = {0};
    nft_ruleset(&m, &b);
    const char *s = b.data;
    /* Both tables deleted first; the ip6 one is not made again (!ip6). */
    static const char head[] = "add table ip berth\ndelete table ip berth\n"
                               "add table ip6 berth\ndelete table ip6 berth\n"
                               "table ip berth {\n";
    assert_int_equal(strncmp(s, head, strlen(head)), 0);
    assert_int_equal(count(s, "table ip berth"), 3);
    assert_int_equal(count(s, "table ip6 berth"), 2);
    assert_int_equal(count(s, "table "), 5);
    assert_has(s, "type nat hook prerouting priority dstnat; policy accept;\n\t\tfib daddr type local jump publish\n");
    assert_has(s, "type nat hook output priority -100; policy accept;\n\t\tfib daddr type local jump publish\n");
    assert_has(s, "type nat hook postrouting priority srcnat; policy accept;\n");
    assert_has(s, "type filter hook forward priority filter; policy accept;\n"
                  "\t\tct state established,related accept\n"
                  "\t\tct status dnat accept\n");
    assert_hasnt(s, "dnat to");
    assert_hasnt(s, "masquerade");
    assert_hasnt(s, "drop");
    /* NULL is the empty model too */
    buf b2 = BUF_INIT;
    nft_ruleset(NULL, &b2);
    assert_string_equal(b.data, b2.data);
    buf_free(&b);
    buf_free(&b2);
}

static const nft_net nets3[] = {
    {.bridge = "docker0", .subnet = "172.17.0.0/16", .internal = false, .icc = true, .masquerade = true},
    {.bridge = "br-aaaaaaaaaaaa", .subnet = "172.18.0.0/16", .internal = true, .icc = true, .masquerade = true},
    {.bridge = "br-bbbbbbbbbbbb", .subnet = "172.19.0.0/16", .internal = false, .icc = false, .masquerade = false},
};

static const nft_port ports3[] = {
    {.proto = "tcp", .host_ip = "", .host_port = 8080, .bridge = "docker0", .container_ip = "172.17.0.2", .container_port = 80},
    {.proto = "udp", .host_ip = "0.0.0.0", .host_port = 5353, .bridge = "docker0", .container_ip = "172.17.0.2", .container_port = 53},
    {.proto = "tcp", .host_ip = "127.0.0.1", .host_port = 9000, .bridge = "br-bbbbbbbbbbbb", .container_ip = "172.19.0.5", .container_port = 9001},
    {.proto = "sctp", .host_ip = "::", .host_port = 7000, .bridge = "docker0", .container_ip = "fd00:17::3", .container_port = 7000},
};

static void test_single_network(void **state)
{
    (void)state;
    nft_model m = {.nets = nets3, .n_nets = 1, .ports = ports3, .n_ports = 1};
    buf b = BUF_INIT;
    nft_ruleset(&m, &b);
    char *pub = chain_text(b.data, "publish");
    assert_has(pub, "\t\ttcp dport 8080 dnat to 172.17.0.2:80\n");
    assert_hasnt(pub, "ip daddr");
    free(pub);
    char *post = chain_text(b.data, "postrouting");
    assert_has(post, "\t\tip saddr 172.17.0.0/16 oifname != \"docker0\" masquerade\n");
    assert_has(post, "\t\toifname \"docker0\" ip saddr 127.0.0.0/8 masquerade\n");
    assert_has(post, "\t\tip saddr 172.17.0.2 ip daddr 172.17.0.2 tcp dport 80 masquerade\n");
    free(post);
    char *fwd = chain_text(b.data, "forward");
    assert_has(fwd, "\t\tiifname \"docker0\" oifname \"docker0\" accept\n");
    assert_hasnt(fwd, "{ ");     /* no isolation set with one network */
    assert_hasnt(fwd, "drop");
    free(fwd);
    buf_free(&b);
}

static void test_three_networks(void **state)
{
    (void)state;
    nft_model m = {.nets = nets3, .n_nets = 3, .ports = ports3, .n_ports = 4};
    buf b = BUF_INIT;
    nft_ruleset(&m, &b);

    char *pub = chain_text(b.data, "publish");
    assert_has(pub, "\t\ttcp dport 8080 dnat to 172.17.0.2:80\n");
    assert_has(pub, "\t\tudp dport 5353 dnat to 172.17.0.2:53\n");
    assert_has(pub, "\t\tip daddr 127.0.0.1 tcp dport 9000 dnat to 172.19.0.5:9001\n");
    assert_hasnt(pub, "7000");   /* an IPv6 port has no rule in table ip */
    assert_int_equal(count(pub, "dnat to"), 3);
    free(pub);

    char *post = chain_text(b.data, "postrouting");
    assert_has(post, "ip saddr 172.17.0.0/16 oifname != \"docker0\" masquerade\n");
    assert_hasnt(post, "172.18.0.0/16");   /* internal */
    assert_hasnt(post, "172.19.0.0/16");   /* masquerade off */
    assert_has(post, "\t\toifname \"docker0\" ip saddr 127.0.0.0/8 masquerade\n");
    assert_has(post, "\t\toifname \"br-aaaaaaaaaaaa\" ip saddr 127.0.0.0/8 masquerade\n");
    assert_has(post, "\t\toifname \"br-bbbbbbbbbbbb\" ip saddr 127.0.0.0/8 masquerade\n");
    assert_has(post, "\t\tip saddr 172.17.0.2 ip daddr 172.17.0.2 udp dport 53 masquerade\n");
    assert_has(post, "\t\tip saddr 172.19.0.5 ip daddr 172.19.0.5 tcp dport 9001 masquerade\n");
    free(post);

    char *fwd = chain_text(b.data, "forward");
    const char *est = strstr(fwd, "ct state established,related accept");
    const char *dnat = strstr(fwd, "ct status dnat accept");
    const char *in1 = strstr(fwd, "\t\tiifname \"br-aaaaaaaaaaaa\" oifname != \"br-aaaaaaaaaaaa\" drop\n");
    const char *in2 = strstr(fwd, "\t\toifname \"br-aaaaaaaaaaaa\" iifname != \"br-aaaaaaaaaaaa\" drop\n");
    const char *icc = strstr(fwd, "\t\tiifname \"br-bbbbbbbbbbbb\" oifname \"br-bbbbbbbbbbbb\" drop\n");
    const char *iso = strstr(fwd, "\t\tiifname { \"docker0\", \"br-aaaaaaaaaaaa\", \"br-bbbbbbbbbbbb\" } "
                                  "oifname { \"docker0\", \"br-aaaaaaaaaaaa\", \"br-bbbbbbbbbbbb\" } drop\n");
    assert_non_null(est);
    assert_non_null(dnat);
    assert_non_null(in1);
    assert_non_null(in2);
    assert_non_null(icc);
    assert_non_null(iso);
    assert_true(est < dnat && dnat < in1 && in1 < icc && icc < iso);
    assert_has(fwd, "\t\tiifname \"docker0\" oifname \"docker0\" accept\n");
    assert_has(fwd, "\t\tiifname \"br-aaaaaaaaaaaa\" oifname \"br-aaaaaaaaaaaa\" accept\n");
    assert_hasnt(fwd, "\"docker0\" oifname != ");   /* docker0 is not internal */
    assert_int_equal(count(fwd, "{ "), 2);
    free(fwd);
    buf_free(&b);
}

static void test_service_ingress(void **state)
{
    (void)state;
    static const nft_net nets[] = {{"docker0", "172.17.0.0/16", false, true, true, NULL}};
    static const char *const three[] = {"172.17.0.2", "172.17.0.3", "172.17.0.4"};
    const nft_lb lbs[] = {{"tcp", 8080, 80, three, 3, NULL, NULL}, {"udp", 5353, 53, three, 1, NULL, NULL},
                          {"tcp", 9000, 90, NULL, 0, NULL, NULL}};
    nft_model m = {.nets = nets, .n_nets = 1, .lbs = lbs, .n_lbs = 3};
    berr e = {0};
    assert_int_equal(nft_model_check(&m, &e), 0);
    buf out = BUF_INIT;
    nft_ruleset(&m, &out);
    char *pub = chain_text(out.data, "publish");
    assert_has(pub, "tcp dport 8080 dnat to numgen inc mod 3 map { 0 : 172.17.0.2, 1 : 172.17.0.3, 2 : 172.17.0.4 } : 80\n");
    assert_has(pub, "udp dport 5353 dnat to numgen inc mod 1 map { 0 : 172.17.0.2 } : 53\n");
    assert_hasnt(pub, "9000");   /* no backend: no rule */
    free(pub);
    char *post = chain_text(out.data, "postrouting");
    assert_has(post, "ct status dnat ip daddr 172.17.0.3 tcp dport 80 ip saddr != 127.0.0.0/8 masquerade");
    free(post);
    buf_free(&out);
    static const char *const bad[] = {"172.17.0.2; flush ruleset"};
    const nft_lb badlb[] = {{"tcp", 8080, 80, bad, 1, NULL, NULL}};
    nft_model mb = {.lbs = badlb, .n_lbs = 1};
    assert_int_equal(nft_model_check(&mb, &e), -EINVAL);
}

/* The routing mesh: tasks on any node behind the ingress overlay, reached
 * with this node's mesh address as the source (first in postrouting, so
 * no masquerade below takes it), never masqueraded. */
static void test_routing_mesh(void **state)
{
    (void)state;
    static const nft_net nets[] = {{"ov-4096", "10.0.0.0/24", false, true, false, NULL}};
    static const char *const two[] = {"10.0.0.3", "10.0.0.4"};
    const nft_lb lbs[] = {{"tcp", 8080, 80, two, 2, "ov-4096", "10.0.0.254"}};
    nft_model m = {.nets = nets, .n_nets = 1, .lbs = lbs, .n_lbs = 1};
    berr e = {0};
    assert_int_equal(nft_model_check(&m, &e), 0);
    buf out = BUF_INIT;
    nft_ruleset(&m, &out);
    char *post = chain_text(out.data, "postrouting");
    assert_has(post, "srcnat; policy accept;\n\t\tct status dnat oifname \"ov-4096\" tcp dport 80 snat to 10.0.0.254\n");
    assert_hasnt(post, "ip daddr 10.0.0.3");
    free(post);
    buf_free(&out);
    const nft_lb bad[] = {{"tcp", 8080, 80, two, 2, "ov-4096", "10.0.0.254 ; flush"}};
    nft_model mb = {.lbs = bad, .n_lbs = 1};
    assert_int_equal(nft_model_check(&mb, &e), -EINVAL);
}

static void test_duplicate_bridge_in_set(void **state)
{
    (void)state;
    nft_net nets[] = {
        {.bridge = "br-x", .subnet = "10.1.0.0/24", .icc = true, .masquerade = true},
        {.bridge = "br-x", .subnet = "10.2.0.0/24", .icc = true, .masquerade = true},
    };
    nft_model m = {.nets = nets, .n_nets = 2};
    buf b = BUF_INIT;
    nft_ruleset(&m, &b);
    assert_hasnt(b.data, "{ \"br-x\", \"br-x\" }");
    assert_hasnt(b.data, "iifname {");  /* one distinct bridge: no isolation */
    buf_free(&b);
}

/* The text of one table, "table FAMILY berth {" to its closing brace, so
 * chain_text finds that table's chain and not the other's. */
static char *table_text(const char *script, const char *family)
{
    char head[64];
    snprintf(head, sizeof head, "table %s berth {\n", family);
    const char *p = strstr(script, head);
    assert_non_null(p);
    const char *end = strstr(p, "\n}\n");
    assert_non_null(end);
    return strndup(p, (size_t)(end - p) + 3);
}

/* Dual stack: docker0 and an internal network with IPv6, one without. */
static const nft_net nets6[] = {
    {.bridge = "docker0", .subnet = "172.17.0.0/16", .icc = true, .masquerade = true, .subnet6 = "fd00:17::/64"},
    {.bridge = "br-aaaaaaaaaaaa", .subnet = "172.18.0.0/16", .internal = true, .icc = true, .masquerade = true,
     .subnet6 = "fd00:18::/64"},
    {.bridge = "br-bbbbbbbbbbbb", .subnet = "172.19.0.0/16", .icc = false, .masquerade = true, .subnet6 = ""},
};

static const nft_port ports6[] = {
    {.proto = "tcp", .host_ip = "", .host_port = 8080, .bridge = "docker0", .container_ip = "172.17.0.2", .container_port = 80},
    {.proto = "tcp", .host_ip = "::", .host_port = 8080, .bridge = "docker0", .container_ip = "fd00::2", .container_port = 80},
    {.proto = "tcp", .host_ip = "fd00:17::1", .host_port = 8443, .bridge = "docker0", .container_ip = "fd00::2", .container_port = 443},
    {.proto = "udp", .host_ip = "0::0", .host_port = 5353, .bridge = "docker0", .container_ip = "fd00::2", .container_port = 53},
};

static void test_dual_stack_network(void **state)
{
    (void)state;
    nft_model m = {.nets = nets6, .n_nets = 3, .ip6 = true};
    berr e = {0};
    assert_int_equal(nft_model_check(&m, &e), 0);
    buf b = BUF_INIT;
    nft_ruleset(&m, &b);
    assert_int_equal(count(b.data, "table ip6 berth {\n"), 1);
    /* ip first, then ip6, each once */
    assert_true(strstr(b.data, "table ip berth {\n") < strstr(b.data, "table ip6 berth {\n"));
    char *t4 = table_text(b.data, "ip"), *t6 = table_text(b.data, "ip6");
    assert_hasnt(t4, "fd00");
    assert_hasnt(t4, "ip6 ");

    char *post = chain_text(t6, "postrouting");
    assert_has(post, "\t\tip6 saddr fd00:17::/64 oifname != \"docker0\" masquerade\n");
    assert_hasnt(post, "fd00:18::/64");   /* internal */
    assert_hasnt(post, "br-bbbbbbbbbbbb");   /* no IPv6 subnet */
    assert_hasnt(post, "127.0.0.0/8");   /* no loopback rule in ip6 */
    assert_hasnt(post, "ip saddr");
    assert_int_equal(count(post, "masquerade"), 1);
    free(post);
    char *pre = chain_text(t6, "prerouting");
    assert_has(pre, "type nat hook prerouting priority dstnat; policy accept;\n\t\tfib daddr type local jump publish\n");
    free(pre);
    char *outc = chain_text(t6, "output");
    assert_has(outc, "type nat hook output priority -100; policy accept;\n\t\tfib daddr type local jump publish\n");
    free(outc);

    /* The same isolation in both tables, every network included. */
    char *f4 = chain_text(t4, "forward"), *f6 = chain_text(t6, "forward");
    assert_string_equal(f4, f6);
    assert_has(f6, "\t\tct state established,related accept\n\t\tct status dnat accept\n");
    assert_has(f6, "\t\tiifname \"br-aaaaaaaaaaaa\" oifname != \"br-aaaaaaaaaaaa\" drop\n");
    assert_has(f6, "\t\tiifname \"br-bbbbbbbbbbbb\" oifname \"br-bbbbbbbbbbbb\" drop\n");
    assert_has(f6, "\t\tiifname { \"docker0\", \"br-aaaaaaaaaaaa\", \"br-bbbbbbbbbbbb\" } ");
    free(f4);
    free(f6);
    free(t4);
    free(t6);
    buf_free(&b);
}

static void test_v6_ports(void **state)
{
    (void)state;
    static const char *const backends[] = {"172.17.0.5"};
    const nft_lb lbs[] = {{"tcp", 9000, 90, backends, 1, NULL, NULL}};
    nft_model m = {.nets = nets6, .n_nets = 1, .ports = ports6, .n_ports = 4, .lbs = lbs, .n_lbs = 1, .ip6 = true};
    berr e = {0};
    assert_int_equal(nft_model_check(&m, &e), 0);
    buf b = BUF_INIT;
    nft_ruleset(&m, &b);
    char *t4 = table_text(b.data, "ip"), *t6 = table_text(b.data, "ip6");

    char *pub = chain_text(t6, "publish");
    assert_has(pub, "\t\ttcp dport 8080 dnat to [fd00::2]:80\n");   /* "::": every address */
    assert_has(pub, "\t\tip6 daddr fd00:17::1 tcp dport 8443 dnat to [fd00::2]:443\n");
    assert_has(pub, "\t\tudp dport 5353 dnat to [fd00::2]:53\n");   /* "0::0" is "::" too */
    assert_int_equal(count(pub, "dnat to"), 3);
    assert_hasnt(pub, "172.17.0.2");   /* the IPv4 port */
    assert_hasnt(pub, "numgen");       /* services are IPv4 only */
    free(pub);
    char *post = chain_text(t6, "postrouting");
    assert_has(post, "\t\tip6 saddr fd00::2 ip6 daddr fd00::2 tcp dport 80 masquerade\n");
    assert_has(post, "\t\tip6 saddr fd00::2 ip6 daddr fd00::2 tcp dport 443 masquerade\n");
    assert_has(post, "\t\tip6 saddr fd00::2 ip6 daddr fd00::2 udp dport 53 masquerade\n");
    assert_hasnt(post, "172.17.0.5");
    free(post);

    pub = chain_text(t4, "publish");
    assert_has(pub, "\t\ttcp dport 8080 dnat to 172.17.0.2:80\n");
    assert_has(pub, "numgen inc mod 1 map { 0 : 172.17.0.5 } : 90\n");
    assert_hasnt(pub, "fd00");
    free(pub);
    free(t4);
    free(t6);
    buf_free(&b);
}

/* --ip6tables off: the ip6 table is deleted and not made again, its
 * ports and subnets nowhere. */
static void test_no_ip6(void **state)
{
    (void)state;
    nft_model m = {.nets = nets6, .n_nets = 3, .ports = ports6, .n_ports = 4, .ip6 = false};
    berr e = {0};
    assert_int_equal(nft_model_check(&m, &e), 0);
    buf b = BUF_INIT;
    nft_ruleset(&m, &b);
    assert_has(b.data, "add table ip6 berth\ndelete table ip6 berth\n");
    assert_hasnt(b.data, "table ip6 berth {");
    assert_hasnt(b.data, "fd00");
    assert_hasnt(b.data, "ip6 saddr");
    assert_hasnt(b.data, "ip6 daddr");
    assert_has(b.data, "\t\ttcp dport 8080 dnat to 172.17.0.2:80\n");
    buf_free(&b);
}

static void test_check_rejects_bad_ip6(void **state)
{
    (void)state;
    berr e = {0};
    static const char *const bad_subnets[] = {"fd00::/129", "fd00::", "fd00::/", "fd00::/-1", "fd00::/ 64",
                                              "172.17.0.0/16", "fd00::/64; flush ruleset", "fd00::1%eth0/64",
                                              "fd00:::/64"};
    for (size_t i = 0; i < sizeof bad_subnets / sizeof *bad_subnets; i++) {
        nft_net n[] = {{.bridge = "br-x", .subnet = "10.1.0.0/24", .subnet6 = bad_subnets[i]}};
        nft_model m = {.nets = n, .n_nets = 1, .ip6 = true};
        e = (berr){0};
        assert_int_equal(nft_model_check(&m, &e), -EINVAL);
        assert_has(e.msg, "IPv6 subnet");
    }
    /* NULL and "": no IPv6; a /0 and a /128 are subnets too */
    static const char *const good_subnets[] = {NULL, "", "::/0", "fd00::1/128", "2001:db8:1::/48"};
    for (size_t i = 0; i < sizeof good_subnets / sizeof *good_subnets; i++) {
        nft_net n[] = {{.bridge = "br-x", .subnet = "10.1.0.0/24", .subnet6 = good_subnets[i]}};
        nft_model m = {.nets = n, .n_nets = 1, .ip6 = true};
        assert_int_equal(nft_model_check(&m, &e), 0);
    }

    struct {
        const char *host, *container, *msg;
    } bad[] = {
        {"::", "172.17.0.2", "host address :: is IPv6 but container address 172.17.0.2 is IPv4"},
        {"::1", "172.17.0.2", "host address ::1 is IPv6"},
        {"1.2.3.4", "fd00::2", "host address 1.2.3.4 is IPv4 but container address fd00::2 is IPv6"},
        {"0.0.0.0", "fd00::2", "host address 0.0.0.0 is IPv4"},
        {"", "fd00::2", "no host address for IPv6 container address fd00::2"},
        {NULL, "fd00::2", "no host address"},
        {"fd00::1; flush ruleset", "fd00::2", "invalid host address \"fd00::1; flush ruleset\""},
        {"::", "fd00::2; flush ruleset", "invalid container address \"fd00::2; flush ruleset\""},
        {"::", "fd00::/64", "invalid container address"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        nft_port p[] = {{.proto = "tcp", .host_ip = bad[i].host, .host_port = 1, .container_ip = bad[i].container,
                         .container_port = 1}};
        nft_model m = {.ports = p, .n_ports = 1, .ip6 = true};
        e = (berr){0};
        assert_int_equal(nft_apply(&m, &e), -EINVAL);
        if (!strstr(e.msg, bad[i].msg))
            fail_msg("\"%s\" -> \"%s\": %s", bad[i].host ? bad[i].host : "(null)", bad[i].container, e.msg);
    }
}

static void test_apply_rejects_bad_model(void **state)
{
    (void)state;
    berr e = {0};
    nft_model good = {.nets = nets3, .n_nets = 3, .ports = ports3, .n_ports = 4};
    assert_int_equal(nft_model_check(&good, &e), 0);
    assert_int_equal(nft_model_check(NULL, &e), 0);

    nft_net bad_name[] = {{.bridge = "br\" accept", .subnet = "10.1.0.0/24"}};
    nft_model m = {.nets = bad_name, .n_nets = 1};
    assert_int_equal(nft_apply(&m, &e), -EINVAL);
    assert_has(e.msg, "bridge name");

    nft_net bad_subnet[] = {{.bridge = "br-x", .subnet = "10.1.0.0"}};
    m = (nft_model){.nets = bad_subnet, .n_nets = 1};
    assert_int_equal(nft_apply(&m, &e), -EINVAL);

    nft_port bad_proto[] = {{.proto = "icmp", .host_ip = "", .host_port = 1, .container_ip = "10.0.0.2", .container_port = 1}};
    m = (nft_model){.ports = bad_proto, .n_ports = 1};
    assert_int_equal(nft_apply(&m, &e), -EINVAL);

    nft_port bad_ip[] = {{.proto = "tcp", .host_ip = "1.2.3.4; flush ruleset", .host_port = 1, .container_ip = "10.0.0.2", .container_port = 1}};
    m = (nft_model){.ports = bad_ip, .n_ports = 1};
    assert_int_equal(nft_apply(&m, &e), -EINVAL);
    assert_int_equal(nft_model_check(&m, &e), -EINVAL);
    assert_has(e.msg, "host address");
}

/* `nft list table FAMILY berth` run in this process's (private) namespace. */
static char *list_family(const char *family, int *status)
{
    char cmd[64];
    snprintf(cmd, sizeof cmd, "nft list table %s berth 2>&1", family);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    buf b = BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&b, chunk, n);
    *status = pclose(f);
    buf_puts(&b, "");
    return buf_steal(&b);
}

static char *list_table(int *status)
{
    return list_family("ip", status);
}

static void test_kernel_apply_replace_remove(void **state)
{
    (void)state;
    berr e = {0};
    int st;

    nft_model a = {.nets = nets3, .n_nets = 3, .ports = ports3, .n_ports = 4};
    assert_int_equal(nft_apply(&a, &e), 0);
    char *out = list_table(&st);
    assert_int_equal(st, 0);
    assert_has(out, "dnat to 172.17.0.2:80");
    assert_has(out, "ip daddr 127.0.0.1 tcp dport 9000 dnat to 172.19.0.5:9001");
    assert_has(out, "fib daddr type local jump publish");
    assert_has(out, "masquerade");
    assert_has(out, "ct status dnat accept");
    free(out);

    /* Applying again replaces, it does not add a second copy. */
    nft_model b = {.nets = nets3, .n_nets = 1, .ports = ports3 + 2, .n_ports = 1};
    assert_int_equal(nft_apply(&b, &e), 0);
    assert_int_equal(nft_apply(&b, &e), 0);
    out = list_table(&st);
    assert_int_equal(st, 0);
    assert_hasnt(out, "172.17.0.2:80");
    assert_hasnt(out, "br-aaaaaaaaaaaa");
    assert_int_equal(count(out, "dnat to 172.19.0.5:9001"), 1);
    assert_int_equal(count(out, "chain forward"), 1);
    free(out);

    /* A batch that fails leaves the table as it was. */
    e = (berr){0};
    assert_int_equal(nft_run("add table ip berth\ndelete table ip berth\n"
                             "table ip berth {\n\tchain forward {\n\t\tnosuchkeyword\n\t}\n}\n", &e),
                     -EIO);
    assert_has(e.msg, "nft:");
    out = list_table(&st);
    assert_int_equal(st, 0);
    assert_int_equal(count(out, "dnat to 172.19.0.5:9001"), 1);
    free(out);
    /* The daemon's one context: a failure tells its own error only, not
     * the ones before it. */
    char first[BERR_MSG_MAX];
    snprintf(first, sizeof first, "%s", e.msg);
    e = (berr){0};
    assert_int_equal(nft_run("add table ip berth\ndelete table ip berth\n"
                             "table ip berth {\n\tchain forward {\n\t\tnosuchkeyword\n\t}\n}\n", &e),
                     -EIO);
    assert_string_equal(e.msg, first);

    /* sctp is NATed like the others. */
    nft_port sctp[] = {{.proto = "sctp", .host_ip = "", .host_port = 7000, .bridge = "docker0",
                        .container_ip = "172.17.0.3", .container_port = 7001}};
    nft_model c = {.nets = nets3, .n_nets = 1, .ports = sctp, .n_ports = 1};
    assert_int_equal(nft_apply(&c, &e), 0);
    out = list_table(&st);
    assert_int_equal(st, 0);
    assert_has(out, "sctp dport 7000 dnat to 172.17.0.3:7001");
    free(out);

    /* The empty model is a valid table. */
    assert_int_equal(nft_apply(NULL, &e), 0);
    out = list_table(&st);
    assert_int_equal(st, 0);
    assert_has(out, "chain postrouting");
    assert_hasnt(out, "dnat to");
    free(out);

    /* Dual stack: the ip6 table comes and goes with model.ip6, in the
     * same batch as the ip one. */
    nft_model d = {.nets = nets6, .n_nets = 3, .ports = ports6, .n_ports = 4, .ip6 = true};
    assert_int_equal(nft_apply(&d, &e), 0);
    out = list_family("ip6", &st);
    assert_int_equal(st, 0);
    assert_has(out, "tcp dport 8080 dnat to [fd00::2]:80");
    assert_has(out, "ip6 daddr fd00:17::1 tcp dport 8443 dnat to [fd00::2]:443");
    assert_has(out, "fib daddr type local jump publish");
    assert_has(out, "ip6 saddr fd00:17::/64 oifname != \"docker0\" masquerade");
    assert_has(out, "ip6 saddr fd00::2 ip6 daddr fd00::2 tcp dport 80 masquerade");
    assert_has(out, "ct status dnat accept");
    assert_has(out, "iifname \"br-aaaaaaaaaaaa\" oifname != \"br-aaaaaaaaaaaa\" drop");
    free(out);
    out = list_table(&st);
    assert_int_equal(st, 0);
    assert_has(out, "tcp dport 8080 dnat to 172.17.0.2:80");
    assert_hasnt(out, "fd00");
    free(out);
    d.ip6 = false;
    assert_int_equal(nft_apply(&d, &e), 0);
    out = list_family("ip6", &st);
    assert_int_not_equal(st, 0);   /* gone */
    free(out);
    out = list_table(&st);
    assert_int_equal(st, 0);
    assert_has(out, "tcp dport 8080 dnat to 172.17.0.2:80");
    free(out);
    d.ip6 = true;
    assert_int_equal(nft_apply(&d, &e), 0);
    assert_int_equal(nft_apply(&d, &e), 0);
    out = list_family("ip6", &st);
    assert_int_equal(st, 0);
    assert_int_equal(count(out, "dnat to [fd00::2]:80"), 1);
    free(out);

    assert_int_equal(nft_remove(&e), 0);
    assert_int_equal(nft_remove(&e), 0);
    out = list_table(&st);
    assert_int_not_equal(st, 0);
    free(out);
    out = list_family("ip6", &st);
    assert_int_not_equal(st, 0);
    free(out);
}

/* A daemon with ~500 containers holds more than FD_SETSIZE descriptors;
 * libnftables select()s on its socket, which glibc aborts past 1023.  The
 * context opened first (as the daemon does at start) keeps a low one. */
static void test_kernel_many_descriptors(void **state)
{
    (void)state;
    berr e = {0};
    assert_int_equal(nft_open(&e), 0);
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_max < 1200) {
        skip();
        return;
    }
    struct rlimit raised = {.rlim_cur = 1200, .rlim_max = rl.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &raised), 0);
    int fds[1100], n = 0;
    while (n < 1100 && (fds[n] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
        n++;
    assert_int_equal(n, 1100);
    assert_true(fds[n - 1] >= FD_SETSIZE);
    assert_int_equal(nft_apply(NULL, &e), 0);
    assert_int_equal(nft_remove(&e), 0);
    /* A context made for one run takes the descriptor kept low for it. */
    assert_int_equal(nft_run_here("add table ip low\ndelete table ip low\n", &e), 0);
    while (n > 0)
        close(fds[--n]);
    setrlimit(RLIMIT_NOFILE, &rl);
}

/* A context speaks to the namespace it was made in: nft_run_here in
 * another namespace (a container's) changes that one, not the daemon's. */
static void test_kernel_run_here_in_another_namespace(void **state)
{
    (void)state;
    berr e = {0};
    assert_int_equal(nft_open(&e), 0);
    int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    assert_true(home >= 0);
    assert_int_equal(unshare(CLONE_NEWNET), 0);
    assert_int_equal(nft_run_here("add table ip inside\n", &e), 0);
    assert_int_equal(nft_run_here("list table ip inside\n", &e), 0);
    /* The daemon's context still speaks to the namespace it came from. */
    e = (berr){0};
    assert_int_equal(nft_run("list table ip inside\n", &e), -EIO);
    assert_int_equal(setns(home, CLONE_NEWNET), 0);
    close(home);
    e = (berr){0};
    assert_int_equal(nft_run_here("list table ip inside\n", &e), -EIO);
}

int main(void)
{
    /* Everything below happens in a namespace of our own. */
    if (unshare(CLONE_NEWNET) < 0) {
        perror("unshare(CLONE_NEWNET)");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_model),
        cmocka_unit_test(test_single_network),
        cmocka_unit_test(test_three_networks),
        cmocka_unit_test(test_service_ingress),
        cmocka_unit_test(test_routing_mesh),
        cmocka_unit_test(test_duplicate_bridge_in_set),
        cmocka_unit_test(test_dual_stack_network),
        cmocka_unit_test(test_v6_ports),
        cmocka_unit_test(test_no_ip6),
        cmocka_unit_test(test_check_rejects_bad_ip6),
        cmocka_unit_test(test_apply_rejects_bad_model),
        cmocka_unit_test(test_kernel_apply_replace_remove),
        cmocka_unit_test(test_kernel_many_descriptors),
        cmocka_unit_test(test_kernel_run_here_in_another_namespace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
