/* netoverlay/ports.c: PortBindings and -P read into bindings, clashes, and
 * holding host ports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "netoverlay/ports.h"

static void test_key(void **state)
{
    (void)state;
    uint16_t port;
    char proto[5];
    berr e = {0};
    assert_int_equal(net_port_key_parse("80/tcp", &port, proto, &e), 0);
    assert_int_equal(port, 80);
    assert_string_equal(proto, "tcp");
    assert_int_equal(net_port_key_parse("53/udp", &port, proto, &e), 0);
    assert_string_equal(proto, "udp");
    assert_int_equal(net_port_key_parse("8080", &port, proto, &e), 0);
    assert_string_equal(proto, "tcp");
    assert_int_equal(net_port_key_parse("70000/tcp", &port, proto, &e), -EINVAL);
    assert_int_equal(net_port_key_parse("80/icmp", &port, proto, &e), -EINVAL);
    assert_int_equal(net_port_key_parse("x/tcp", &port, proto, &e), -EINVAL);
}

static void test_parse(void **state)
{
    (void)state;
    berr e = {0};
    json_t *pb = json_loads("{\"80/tcp\": [{\"HostIp\": \"\", \"HostPort\": \"8080\"},"
                            "              {\"HostIp\": \"127.0.0.1\", \"HostPort\": \"\"}],"
                            " \"53/udp\": [{\"HostIp\": \"::\", \"HostPort\": \"53\"}],"
                            " \"90/tcp\": [{\"HostPort\": \"9000-9005\"}]}",
                            0, NULL);
    json_t *exposed = json_loads("{\"80/tcp\": {}, \"81/tcp\": {}}", 0, NULL);
    net_port_binding *b;
    size_t n;
    assert_int_equal(net_ports_parse(pb, exposed, true, "10.1.1.1", &b, &n, &e), 0);
    assert_int_equal(n, 5);   /* two for 80, the IPv6 one, the range, 81 from -P */
    assert_string_equal(b[0].host_ip, "10.1.1.1");
    assert_false(b[0].both_families);   /* --ip chose one address */
    assert_int_equal(b[0].host_port, 8080);
    assert_string_equal(b[1].host_ip, "127.0.0.1");
    assert_int_equal(b[1].host_port, 0);
    assert_string_equal(b[2].host_ip, "::");
    assert_int_equal(b[2].container_port, 53);
    assert_int_equal(b[3].host_port, 9000);
    assert_int_equal(b[3].host_port_end, 9005);
    assert_int_equal(b[4].container_port, 81);
    assert_int_equal(b[4].host_port, 0);
    assert_int_equal(b[0].fd, -1);
    net_ports_free(b, n);

    /* No HostIp and no --ip: 0.0.0.0, and :: too on an IPv6 endpoint;
     * IPv6 host addresses come back canonical. */
    json_t *both = json_loads("{\"80/tcp\": [{\"HostIp\": \"\", \"HostPort\": \"8080\"},"
                              "              {\"HostIp\": \"fd00:0:0::1\", \"HostPort\": \"8081\"}]}", 0, NULL);
    assert_int_equal(net_ports_parse(both, NULL, false, "", &b, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_string_equal(b[0].host_ip, "0.0.0.0");
    assert_true(b[0].both_families);
    assert_string_equal(b[1].host_ip, "fd00::1");
    assert_false(b[1].both_families);
    net_port_binding twin = net_port_twin6(&b[0]);
    assert_string_equal(twin.host_ip, "::");
    assert_int_equal(twin.host_port, 8080);
    assert_int_equal(twin.fd, -1);
    assert_false(twin.both_families);
    net_ports_free(b, n);
    json_decref(both);

    json_t *bad = json_loads("{\"80/tcp\": [{\"HostPort\": \"99999\"}]}", 0, NULL);
    assert_int_equal(net_ports_parse(bad, NULL, false, "", &b, &n, &e), -EINVAL);
    assert_null(b);
    json_decref(bad);
    bad = json_loads("{\"80/tcp\": [{\"HostIp\": \"nonsense\", \"HostPort\": \"1\"}]}", 0, NULL);
    assert_int_equal(net_ports_parse(bad, NULL, false, "", &b, &n, &e), -EINVAL);
    assert_string_equal(e.msg, "invalid IP address: nonsense");
    json_decref(bad);
    json_decref(pb);
    json_decref(exposed);
}

static void test_clash_and_hold(void **state)
{
    (void)state;
    net_port_binding any = {"tcp", 80, "0.0.0.0", 18555, 18555, -1, false};
    net_port_binding local = {"tcp", 81, "127.0.0.1", 18555, 18555, -1, false};
    net_port_binding udp = {"udp", 80, "0.0.0.0", 18555, 18555, -1, false};
    net_port_binding other = {"tcp", 80, "127.0.0.2", 18555, 18555, -1, false};
    assert_true(net_ports_clash(&any, &local));
    assert_false(net_ports_clash(&any, &udp));
    assert_false(net_ports_clash(&local, &other));

    berr e = {0};
    assert_int_equal(net_port_hold(&local, &e), 0);
    assert_true(local.fd >= 0);
    /* The port is held: a second holder on the same address fails. */
    net_port_binding again = {"tcp", 80, "127.0.0.1", 18555, 18555, -1, false};
    assert_int_equal(net_port_hold(&again, &e), -EADDRINUSE);
    assert_non_null(strstr(e.msg, "address already in use"));
    /* A range moves on to the next free port. */
    net_port_binding range = {"tcp", 80, "127.0.0.1", 18555, 18556, -1, false};
    assert_int_equal(net_port_hold(&range, &e), 0);
    assert_int_equal(range.host_port, 18556);
    /* Ephemeral: the kernel picks. */
    /* A wildcard covers its own family only. */
    net_port_binding any6 = {"tcp", 80, "::", 18555, 18555, -1, false};
    net_port_binding one6 = {"tcp", 80, "::1", 18555, 18555, -1, false};
    assert_false(net_ports_clash(&any, &any6));
    assert_false(net_ports_clash(&local, &one6));
    assert_true(net_ports_clash(&any6, &one6));
    /* [::]:port and 0.0.0.0:port are held side by side (V6ONLY). */
    net_port_binding v4 = {"tcp", 80, "0.0.0.0", 0, 0, -1, false};
    assert_int_equal(net_port_hold(&v4, &e), 0);
    net_port_binding v6 = net_port_twin6(&v4);
    assert_int_equal(net_port_hold(&v6, &e), 0);
    assert_int_equal(v6.host_port, v4.host_port);
    net_port_binding v6again = net_port_twin6(&v4);
    assert_int_equal(net_port_hold(&v6again, &e), -EADDRINUSE);
    net_port_release(&v6);
    net_port_release(&v4);
    net_port_binding eph = {"udp", 80, "127.0.0.1", 0, 0, -1, false};
    assert_int_equal(net_port_hold(&eph, &e), 0);
    assert_true(eph.host_port > 0);
    net_port_release(&local);
    net_port_release(&range);
    net_port_release(&eph);
    assert_int_equal(local.fd, -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_clash_and_hold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
