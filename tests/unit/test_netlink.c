/* Unit tests for netoverlay/netlink.c and netoverlay/netns.c.
 *
 * main() moves the whole test into a network namespace of its own before
 * anything else (tests run as root), so bridges, veths and sysctls made
 * here never touch the host's.  The tests run in order and share state:
 * the bridge made first is where the veth goes later. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/buf.h"
#include "netoverlay/netlink.h"
#include "netoverlay/netns.h"

#define BR "brt0"
#define HOSTV "vethtest0"
#define PEER "vtpeer0"

static netlink *h;          /* the test's own namespace */
static netlink *hc;         /* the "container" namespace */
static int cns = -1;        /* its fd */
static int base_links, base_addrs, base_c_links;
static ino_t home_ino;      /* the namespace the thread must always be back in */

#define assert_has(s, needle) assert_non_null(strstr((s), (needle)))
#define assert_hasnt(s, needle) assert_null(strstr((s), (needle)))

static ino_t current_ns(void)
{
    struct stat st;
    assert_int_equal(stat("/proc/thread-self/ns/net", &st), 0);
    return st.st_ino;
}

static void assert_home(void)
{
    assert_true(current_ns() == home_ino);
}

/* Output of a shell command run in namespace ns (-1: ours).  popen forks
 * from this thread, so the child starts where the thread is. */
static char *run_in(int ns, const char *cmd)
{
    berr e = {0};
    int saved;
    assert_int_equal(netns_enter(ns, &saved, &e), 0);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    netns_leave(saved);
    assert_home();
    buf b = BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&b, chunk, n);
    pclose(f);
    buf_puts(&b, "");
    return buf_steal(&b);
}

static char *read_in(int ns, const char *path)
{
    berr e = {0};
    int saved;
    assert_int_equal(netns_enter(ns, &saved, &e), 0);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    netns_leave(saved);
    assert_true(fd >= 0);
    char *s = calloc(1, 64);
    assert_true(read(fd, s, 63) > 0);
    close(fd);
    return s;
}

static int setup(void **state)
{
    (void)state;
    berr e = {0};
    home_ino = current_ns();
    if (netlink_open(-1, &h, &e) < 0) {
        fprintf(stderr, "netlink_open: %s\n", e.msg);
        return -1;
    }
    base_links = netlink_count_links(h, "");
    base_addrs = netlink_count_addrs(h, "");
    return base_links >= 1 && base_addrs >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    netlink_close(hc);
    netlink_close(h);
    if (cns >= 0)
        close(cns);
    return 0;
}

static void test_open_bad_fd(void **state)
{
    (void)state;
    berr e = {0};
    netlink *x = NULL;
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(netlink_open(fd, &x, &e), -EINVAL);
    assert_null(x);
    assert_home();
    close(fd);
}

static void test_bridge_ensure(void **state)
{
    (void)state;
    berr e = {0};
    assert_false(netlink_link_exists(h, BR));
    assert_int_equal(netlink_link_index(h, BR, &e), -ENOENT);
    assert_int_equal(netlink_bridge_ensure(h, BR, 1400, &e), 0);
    assert_int_equal(netlink_bridge_ensure(h, BR, 1400, &e), 0);
    assert_true(netlink_link_exists(h, BR));
    assert_true(netlink_link_index(h, BR, &e) > 1);
    assert_int_equal(netlink_count_links(h, "brt"), 1);
    char *out = run_in(-1, "ip -o link show " BR);
    assert_has(out, "mtu 1400");
    assert_has(out, "<BROADCAST,MULTICAST,UP");
    free(out);

    /* Changing the mtu of the existing bridge. */
    assert_int_equal(netlink_bridge_ensure(h, BR, 1450, &e), 0);
    out = run_in(-1, "ip -o link show " BR);
    assert_has(out, "mtu 1450");
    free(out);

    /* A name taken by something that is not a bridge. */
    assert_int_equal(netlink_bridge_ensure(h, "lo", 0, &e), -EEXIST);
    assert_has(e.msg, "not a bridge");
    assert_int_equal(netlink_bridge_ensure(h, "a-name-far-too-long", 0, &e), -EINVAL);
    assert_home();
}

static void test_addr(void **state)
{
    (void)state;
    berr e = {0};
    assert_int_equal(netlink_addr_add(h, BR, "10.99.0.1/24", &e), 0);
    assert_int_equal(netlink_addr_add(h, BR, "10.99.0.1/24", &e), 0);
    assert_int_equal(netlink_count_addrs(h, BR), 1);
    assert_int_equal(netlink_count_addrs(h, ""), base_addrs + 1);
    char *out = run_in(-1, "ip -o -4 addr show dev " BR);
    assert_has(out, "inet 10.99.0.1/24");
    free(out);

    assert_int_equal(netlink_addr_del(h, BR, "10.99.0.1/24", &e), 0);
    assert_int_equal(netlink_addr_del(h, BR, "10.99.0.1/24", &e), 0);
    assert_int_equal(netlink_count_addrs(h, BR), 0);
    assert_int_equal(netlink_addr_del(h, "nosuchlink0", "10.99.0.1/24", &e), 0);

    assert_int_equal(netlink_addr_add(h, BR, "10.99.0.1", &e), -EINVAL);
    assert_int_equal(netlink_addr_add(h, BR, "garbage/24", &e), -EINVAL);
    assert_int_equal(netlink_addr_add(h, "nosuchlink0", "10.99.0.1/24", &e), -ENOENT);

    /* The gateway the container will use. */
    assert_int_equal(netlink_addr_add(h, BR, "10.99.0.1/24", &e), 0);
    assert_home();
}

static void test_netns_create(void **state)
{
    (void)state;
    berr e = {0};
    assert_int_equal(netns_create(&cns, &e), 0);
    assert_home();
    struct stat st;
    assert_int_equal(fstat(cns, &st), 0);
    assert_true(st.st_ino != home_ino);
    assert_int_equal(netlink_open(cns, &hc, &e), 0);
    assert_home();
    base_c_links = netlink_count_links(hc, "");
    assert_int_equal(base_c_links, 1);     /* lo only */
    assert_true(netlink_link_exists(hc, "lo"));
    assert_false(netlink_link_exists(hc, BR));
}

static void test_veth(void **state)
{
    (void)state;
    berr e = {0};
    const uint8_t mac[6] = {0x02, 0x42, 0x0a, 0x63, 0x00, 0x02};
    assert_int_equal(netlink_veth_create(h, HOSTV, BR, PEER, mac, 1450, cns, &e), 0);
    assert_home();
    assert_true(netlink_link_exists(h, HOSTV));
    assert_false(netlink_link_exists(h, PEER));
    assert_true(netlink_link_exists(hc, PEER));
    assert_int_equal(netlink_count_links(h, ""), base_links + 2);
    assert_int_equal(netlink_count_links(hc, ""), base_c_links + 1);

    char *out = run_in(-1, "ip -o link show " HOSTV);
    assert_has(out, "master " BR);
    assert_has(out, ",UP");
    assert_has(out, "mtu 1450");
    free(out);

    assert_int_equal(netlink_link_rename(hc, PEER, "eth0", &e), 0);
    assert_int_equal(netlink_link_rename(hc, PEER, "eth0", &e), 0);   /* done already */
    assert_false(netlink_link_exists(hc, PEER));
    assert_int_equal(netlink_link_rename(hc, "nosuch0", "nosuch1", &e), -ENOENT);
    out = run_in(cns, "ip -o link show eth0");
    assert_has(out, "link/ether 02:42:0a:63:00:02");
    assert_has(out, "mtu 1450");
    assert_hasnt(out, "UP");
    free(out);

    assert_int_equal(netlink_link_up(hc, "lo", &e), 0);
    assert_int_equal(netlink_link_up(hc, "eth0", &e), 0);
    assert_int_equal(netlink_link_up(hc, "eth0", &e), 0);
    assert_int_equal(netlink_addr_add(hc, "eth0", "10.99.0.2/24", &e), 0);
    assert_int_equal(netlink_route_default(hc, "eth0", "10.99.0.1", &e), 0);
    assert_int_equal(netlink_route_default(hc, "eth0", "10.99.0.1", &e), 0);   /* replaces */
    out = run_in(cns, "ip -4 route show default");
    assert_has(out, "default via 10.99.0.1 dev eth0");
    free(out);
    out = run_in(cns, "ip -4 route show default | wc -l");
    assert_string_equal(out, "1\n");
    free(out);
    /* A gateway that is not on any connected network: the kernel's own
     * errno comes back. */
    assert_int_equal(netlink_route_default(hc, "eth0", "192.0.2.1", &e), -ENETUNREACH);
    assert_int_equal(netlink_route_default(hc, "eth0", "10.99.0.1/24", &e), -EINVAL);
    assert_int_equal(netlink_count_addrs(hc, "eth"), 1);

    /* Packets cross: from here over the bridge and the veth to a socket
     * inside the container's namespace. */
    int in = -1;
    assert_int_equal(netns_bound_socket(cns, SOCK_DGRAM, "10.99.0.2", 9999, &in, &e), 0);
    int c = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(c >= 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9999)};
    inet_pton(AF_INET, "10.99.0.2", &to.sin_addr);
    assert_int_equal(sendto(c, "hi", 2, 0, (struct sockaddr *)&to, sizeof to), 2);
    char got[4] = {0};
    int n = -1;
    for (int i = 0; i < 300 && n < 0; i++) {
        n = (int)recv(in, got, sizeof got, 0);
        if (n < 0)
            usleep(10000);
    }
    assert_int_equal(n, 2);
    assert_memory_equal(got, "hi", 2);
    close(c);
    close(in);
    assert_home();
}

static void test_sysctl(void **state)
{
    (void)state;
    berr e = {0};
    char *v = read_in(cns, "/proc/sys/net/ipv4/ip_forward");
    assert_string_equal(v, "0\n");
    free(v);
    assert_int_equal(netns_sysctl(cns, "net.ipv4.ip_forward", "1", &e), 0);
    assert_home();
    v = read_in(cns, "/proc/sys/net/ipv4/ip_forward");
    assert_string_equal(v, "1\n");
    free(v);
    v = read_in(-1, "/proc/sys/net/ipv4/ip_forward");
    assert_string_equal(v, "0\n");    /* ours is untouched */
    free(v);

    assert_int_equal(netns_sysctl(-1, "net.ipv4.conf." BR ".route_localnet", "1", &e), 0);
    v = read_in(-1, "/proc/sys/net/ipv4/conf/" BR "/route_localnet");
    assert_string_equal(v, "1\n");
    free(v);
    /* A key with slashes is a path (interface names may hold dots). */
    assert_int_equal(netns_sysctl(cns, "net/ipv4/conf/eth0/route_localnet", "1", &e), 0);
    v = read_in(cns, "/proc/sys/net/ipv4/conf/eth0/route_localnet");
    assert_string_equal(v, "1\n");
    free(v);
    /* The bridge is not in the container's namespace. */
    assert_int_equal(netns_sysctl(cns, "net.ipv4.conf." BR ".route_localnet", "1", &e), -ENOENT);
    assert_int_equal(netns_sysctl(-1, "net.ipv4.../../x", "1", &e), -EINVAL);
    assert_int_equal(netns_sysctl(-1, "/etc/passwd", "1", &e), -EINVAL);
    assert_home();
}

static void test_bound_socket(void **state)
{
    (void)state;
    berr e = {0};
    int fd = -1;
    assert_int_equal(netns_bound_socket(cns, SOCK_DGRAM, "127.0.0.11", 53, &fd, &e), 0);
    assert_home();
    assert_true(fd >= 0);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    assert_int_equal(ntohs(sa.sin_port), 53);
    assert_int_equal(ntohl(sa.sin_addr.s_addr), 0x7f00000b);

    /* Reached from inside the container's namespace. */
    int saved;
    assert_int_equal(netns_enter(cns, &saved, &e), 0);
    int c = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    netns_leave(saved);
    assert_home();
    assert_true(c >= 0);
    assert_int_equal(sendto(c, "ping", 4, 0, (struct sockaddr *)&sa, sizeof sa), 4);
    char got[8] = {0};
    int n = -1;
    for (int i = 0; i < 100 && n < 0; i++) {
        n = (int)recv(fd, got, sizeof got, 0);
        if (n < 0)
            usleep(10000);
    }
    assert_int_equal(n, 4);
    assert_memory_equal(got, "ping", 4);
    close(c);
    close(fd);

    /* Our own namespace's lo is down: 127.0.0.11 does not exist here. */
    assert_int_equal(netns_bound_socket(-1, SOCK_DGRAM, "127.0.0.11", 53, &fd, &e), -EADDRNOTAVAIL);

    /* TCP listens. */
    assert_int_equal(netns_bound_socket(cns, SOCK_STREAM, "127.0.0.11", 5353, &fd, &e), 0);
    int acc;
    socklen_t alen = sizeof acc;
    assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &alen), 0);
    assert_int_equal(acc, 1);
    close(fd);
    assert_int_equal(netns_bound_socket(cns, SOCK_STREAM, "not-an-ip", 1, &fd, &e), -EINVAL);
    assert_home();
}

static void test_veth_failures(void **state)
{
    (void)state;
    berr e = {0};
    int links = netlink_count_links(h, ""), clinks = netlink_count_links(hc, "");
    int addrs = netlink_count_addrs(h, ""), caddrs = netlink_count_addrs(hc, "");

    assert_int_equal(netlink_veth_create(h, "vethfail0", "nobr0", "vtfail0", NULL, 0, cns, &e), -ENOENT);
    assert_has(e.msg, "nobr0");
    /* A master that refuses ports: the kernel undoes the pair. */
    e = (berr){0};
    assert_true(netlink_veth_create(h, "vethfail0", "lo", "vtfail0", NULL, 0, cns, &e) < 0);
    assert_true(e.msg[0] != 0);
    /* The peer's name is taken in the target namespace. */
    assert_int_equal(netlink_veth_create(h, "vethfail0", BR, "eth0", NULL, 0, cns, &e), -EEXIST);
    /* The host name is taken. */
    assert_int_equal(netlink_veth_create(h, HOSTV, BR, "vtfail0", NULL, 0, cns, &e), -EEXIST);
    assert_int_equal(netlink_veth_create(h, "vethfail0", BR, "vtfail0", NULL, -1, cns, &e), -EINVAL);

    assert_false(netlink_link_exists(h, "vethfail0"));
    assert_false(netlink_link_exists(hc, "vtfail0"));
    assert_false(netlink_link_exists(h, "vtfail0"));
    assert_int_equal(netlink_count_links(h, ""), links);
    assert_int_equal(netlink_count_links(hc, ""), clinks);
    assert_int_equal(netlink_count_addrs(h, ""), addrs);
    assert_int_equal(netlink_count_addrs(hc, ""), caddrs);
    assert_home();
}

static void test_veth_same_namespace(void **state)
{
    (void)state;
    berr e = {0};
    /* peer_ns_fd -1: both ends stay here. */
    assert_int_equal(netlink_veth_create(h, "vethsame0", BR, "vtsame0", NULL, 0, -1, &e), 0);
    assert_true(netlink_link_exists(h, "vtsame0"));
    assert_int_equal(netlink_link_delete(h, "vtsame0", &e), 0);
    assert_false(netlink_link_exists(h, "vethsame0"));
}

static int count_fds(void)
{
    char *out = run_in(-1, "true");   /* keeps popen's own fds out of the count */
    free(out);
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            n++;
    return n;
}

/* Every path gives back the descriptors it opened (the saved namespace,
 * the netlink socket, the socket that failed to bind). */
static void test_no_fd_leaks(void **state)
{
    (void)state;
    berr e = {0};
    int before = count_fds();
    for (int i = 0; i < 3; i++) {
        netlink *x = NULL;
        assert_int_equal(netlink_open(cns, &x, &e), 0);
        assert_true(netlink_link_exists(x, "lo"));
        netlink_close(x);
        int ns = -1;
        assert_int_equal(netns_create(&ns, &e), 0);
        close(ns);
        assert_int_equal(netns_sysctl(cns, "net.ipv4.ip_forward", "1", &e), 0);
        assert_int_equal(netns_sysctl(cns, "net.ipv4.nosuchkey", "1", &e), -ENOENT);
        int fd = -1;
        assert_int_equal(netns_bound_socket(-1, SOCK_DGRAM, "127.0.0.11", 53, &fd, &e), -EADDRNOTAVAIL);
        int saved;
        assert_int_equal(netns_enter(-1, &saved, &e), 0);
        assert_int_equal(saved, -1);
        netns_leave(saved);
        assert_int_equal(netns_enter(cns, &saved, &e), 0);
        assert_true(current_ns() != home_ino);
        netns_leave(saved);
    }
    assert_int_equal(count_fds(), before);
    assert_home();
}

static void test_cleanup_counts(void **state)
{
    (void)state;
    berr e = {0};
    assert_int_equal(netlink_link_delete(h, HOSTV, &e), 0);
    assert_int_equal(netlink_link_delete(h, HOSTV, &e), 0);
    assert_false(netlink_link_exists(hc, "eth0"));       /* the peer went with it */
    assert_int_equal(netlink_count_links(hc, ""), base_c_links);
    assert_int_equal(netlink_count_addrs(hc, "eth"), 0);
    assert_int_equal(netlink_addr_del(h, BR, "10.99.0.1/24", &e), 0);
    assert_int_equal(netlink_link_delete(h, BR, &e), 0);
    assert_int_equal(netlink_link_delete(h, BR, &e), 0);
    assert_int_equal(netlink_link_delete(h, "nosuchlink0", &e), 0);
    assert_int_equal(netlink_count_links(h, ""), base_links);
    assert_int_equal(netlink_count_addrs(h, ""), base_addrs);
    assert_int_equal(netlink_link_up(h, BR, &e), -ENOENT);
    assert_home();
}

int main(void)
{
    /* Everything below happens in a namespace of our own. */
    if (unshare(CLONE_NEWNET) < 0) {
        perror("unshare(CLONE_NEWNET)");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_bad_fd),
        cmocka_unit_test(test_bridge_ensure),
        cmocka_unit_test(test_addr),
        cmocka_unit_test(test_netns_create),
        cmocka_unit_test(test_veth),
        cmocka_unit_test(test_sysctl),
        cmocka_unit_test(test_bound_socket),
        cmocka_unit_test(test_veth_failures),
        cmocka_unit_test(test_veth_same_namespace),
        cmocka_unit_test(test_no_fd_leaks),
        cmocka_unit_test(test_cleanup_counts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
