/* netoverlay/networks.c and sandbox.c against the kernel, inside a network
 * namespace of the test's own (main() unshares before anything runs):
 * the default bridge, user networks (subnets picked and checked, lookups,
 * removal), and a sandbox with an endpoint, a published port and DNS. */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "netoverlay/netlink.h"
#include "netoverlay/networks.h"
#include "netoverlay/sandbox.h"
#include "node/localstore.h"

static char dir[] = "/tmp/berth-test-networks-XXXXXX";

static int open_manager(net_manager *nm, uv_loop_t *loop, sqlite3 **db)
{
    char path[256];
    snprintf(path, sizeof path, "%s/local.db", dir);
    berr e = {0};
    assert_int_equal(localstore_open(path, db, &e), 0);
    net_config cfg = {.bridge = "", .bip = "", .fixed_cidr = "", .icc = true, .ip_masq = true, .iptables = true,
                      .ip_forward = true, .default_ip = "0.0.0.0"};
    int r = net_manager_open(nm, loop, *db, &cfg, (rt_event_sink){0}, &e);
    if (r < 0)
        fprintf(stderr, "net_manager_open: %s\n", e.msg);
    return r;
}

static void test_networks(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    net_manager nm;
    sqlite3 *db;
    assert_int_equal(open_manager(&nm, &loop, &db), 0);
    berr e = {0};
    net_network *n;
    assert_int_equal(net_network_find(&nm, "bridge", &n, &e), 0);
    assert_string_equal(n->subnet, "172.17.0.0/16");
    assert_string_equal(n->gateway, "172.17.0.1");
    assert_true(netlink_link_exists(nm.nl, "docker0"));
    assert_int_equal(net_network_find(&nm, "host", &n, &e), 0);
    assert_int_equal(net_network_find(&nm, "none", &n, &e), 0);
    assert_int_equal(net_network_remove(&nm, n, &e), -EPERM);

    /* A network without --subnet gets the next free default pool. */
    char id[65];
    json_t *req = json_pack("{s:s}", "Name", "front");
    assert_int_equal(net_network_create(&nm, req, id, &e), 0);
    json_decref(req);
    assert_int_equal(net_network_find(&nm, id, &n, &e), 0);
    assert_string_equal(n->subnet, "172.18.0.0/16");
    char prefix[8];
    snprintf(prefix, sizeof prefix, "%.6s", id);
    net_network *same;
    assert_int_equal(net_network_find(&nm, prefix, &same, &e), 0);
    assert_ptr_equal(same, n);
    req = json_pack("{s:s}", "Name", "front");
    assert_int_equal(net_network_create(&nm, req, id, &e), -EEXIST);
    json_decref(req);
    req = json_pack("{s:s, s:{s:[{s:s}]}}", "Name", "clash", "IPAM", "Config", "Subnet", "172.18.5.0/24");
    assert_int_equal(net_network_create(&nm, req, id, &e), -EPERM);
    json_decref(req);

    /* A sandbox on it: address, published port, embedded DNS. */
    json_t *nets = json_pack("{s:{s:[s]}}", "front", "Aliases", "web");
    json_t *pb = json_pack("{s:[{s:s, s:s}]}", "80/tcp", "HostIp", "127.0.0.1", "HostPort", "18555");
    net_sandbox_req sreq = {.container_id = "0123456789abcdef", .name = "c1", .networks = nets, .port_bindings = pb};
    net_sandbox *sb = NULL;
    int r = net_sandbox_open(&nm, &sreq, &sb, &e);
    if (r < 0)
        fprintf(stderr, "net_sandbox_open: %s\n", e.msg);
    assert_int_equal(r, 0);
    json_t *ep = json_object_get(nets, "front");
    assert_string_equal(json_string_value(json_object_get(ep, "IPAddress")), "172.18.0.2");
    assert_string_equal(json_string_value(json_object_get(ep, "MacAddress")), "02:42:ac:12:00:02");
    assert_true(net_sandbox_embedded_dns(sb));
    assert_true(net_network_in_use(n));
    assert_int_equal(net_network_remove(&nm, n, &e), -EBUSY);
    json_t *ports = net_sandbox_ports_json(sb, NULL);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(ports, "80/tcp"), 0), "HostPort")),
                        "18555");
    json_decref(ports);
    assert_ptr_equal(net_sandbox_of(&nm, "0123456789abcdef"), sb);
    /* The same port again: dockerd's words. */
    net_sandbox_req sreq2 = {.container_id = "fedcba9876543210", .name = "c2", .networks = json_pack("{s:{}}", "front"),
                             .port_bindings = pb};
    net_sandbox *sb2 = NULL;
    assert_int_equal(net_sandbox_open(&nm, &sreq2, &sb2, &e), -EADDRINUSE);
    assert_non_null(strstr(e.msg, "port is already allocated"));
    json_decref(sreq2.networks);
    net_sandbox_close(sb);
    assert_false(net_network_in_use(n));
    assert_int_equal(net_network_remove(&nm, n, &e), 0);
    json_decref(nets);
    json_decref(pb);

    net_manager_close(&nm);
    sqlite3_close(db);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    if (unshare(CLONE_NEWNET) < 0) {
        perror("unshare(CLONE_NEWNET)");
        return 1;
    }
    if (!mkdtemp(dir))
        return 1;
    netlink *nl;
    berr e = {0};
    if (netlink_open(-1, &nl, &e) < 0 || netlink_link_up(nl, "lo", &e) < 0) {
        fprintf(stderr, "lo: %s\n", e.msg);
        return 1;
    }
    netlink_close(nl);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_networks),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        r = 1;
    return r;
}
