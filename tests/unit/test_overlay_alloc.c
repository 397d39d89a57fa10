/* netoverlay/overlay_alloc.c: VNIs, subnets from the swarm's address
 * pool, task addresses and service VIPs from store documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/jsonutil.h"
#include "netoverlay/overlay_alloc.h"

static json_t *net(const char *id, const char *name, const char *vni, const char *subnet, const char *gw, bool ingress)
{
    return json_pack("{s:s, s:{s:s, s:b, s:{s:s}}, s:{s:s, s:{s:s}}, s:{s:[{s:s, s:s}]}}", "ID", id, "Spec", "Name", name,
                     "Ingress", ingress, "DriverConfiguration", "Name", "overlay", "DriverState", "Name", "overlay",
                     "Options", OVL_VNI_OPTION, vni, "IPAM", "Configs", "Subnet", subnet, "Gateway", gw);
}

static void test_vni(void **state)
{
    (void)state;
    berr e = {0};
    uint32_t v;
    json_t *nets = json_array();
    assert_int_equal(ovl_pick_vni(nets, &v, &e), 0);
    assert_int_equal(v, 4096);
    json_array_append_new(nets, net("a", "ingress", "4096", "10.0.0.0/24", "10.0.0.1", true));
    json_array_append_new(nets, net("b", "two", "4098", "10.0.2.0/24", "10.0.2.1", false));
    assert_int_equal(ovl_network_vni(json_array_get(nets, 1)), 4098);
    assert_int_equal(ovl_pick_vni(nets, &v, &e), 0);
    assert_int_equal(v, 4097);   /* the lowest free one */
    json_t *bad = net("c", "bad", "x12", "10.0.3.0/24", "10.0.3.1", false);
    assert_int_equal(ovl_network_vni(bad), 0);
    json_decref(bad);
    json_decref(nets);
}

static void test_subnet(void **state)
{
    (void)state;
    berr e = {0};
    ipam_subnet s;
    char text[IPAM_CIDR_BUF];
    json_t *cluster = json_pack("{s:[s], s:i}", "DefaultAddrPool", "10.0.0.0/8", "SubnetSize", 24);
    json_t *nets = json_array();
    assert_int_equal(ovl_pick_subnet(cluster, nets, &s, &e), 0);
    ipam_format_cidr(s.addr, s.prefix, text);
    assert_string_equal(text, "10.0.0.0/24");
    json_array_append_new(nets, net("a", "ingress", "4096", "10.0.0.0/24", "10.0.0.1", true));
    json_array_append_new(nets, net("b", "user", "4097", "10.0.1.0/25", "10.0.1.1", false));
    assert_int_equal(ovl_pick_subnet(cluster, nets, &s, &e), 0);
    ipam_format_cidr(s.addr, s.prefix, text);
    assert_string_equal(text, "10.0.2.0/24");   /* 10.0.1.0/24 overlaps the /25 */
    json_decref(cluster);
    /* A pool of its own, and one that is full. */
    cluster = json_pack("{s:[s], s:i}", "DefaultAddrPool", "10.20.0.0/23", "SubnetSize", 24);
    assert_int_equal(ovl_pick_subnet(cluster, nets, &s, &e), 0);
    ipam_format_cidr(s.addr, s.prefix, text);
    assert_string_equal(text, "10.20.0.0/24");
    json_array_append_new(nets, net("c", "c", "4098", "10.20.0.0/23", "10.20.0.1", false));
    assert_int_equal(ovl_pick_subnet(cluster, nets, &s, &e), -ENOSPC);
    json_decref(cluster);
    json_decref(nets);
}

static json_t *task(const char *id, const char *state, const char *net_id)
{
    return json_pack("{s:s, s:{s:s}, s:{s:[{s:s}]}}", "ID", id, "Status", "State", state, "Spec", "Networks", "Target",
                     net_id);
}

static const char *addr0(json_t *t, size_t k)
{
    return json_string_value(json_array_get(json_object_get(json_array_get(json_object_get(t, "NetworksAttachments"), k),
                                                            "Addresses"),
                                            0));
}

static void test_tasks_and_vips(void **state)
{
    (void)state;
    berr e = {0};
    json_t *nets = json_array();
    json_array_append_new(nets, net("ing", "ingress", "4096", "10.0.0.0/24", "10.0.0.1", true));
    json_array_append_new(nets, net("n1", "front", "4097", "10.0.1.0/24", "10.0.1.1", false));
    json_t *services = json_pack("[{s:s, s:{s:[{s:s, s:s}]}}]", "ID", "s1", "Endpoint", "VirtualIPs", "NetworkID", "n1",
                                 "Addr", "10.0.1.2/24");
    json_t *tasks = json_array();
    json_array_append_new(tasks, task("t-running", "running", "n1"));
    json_object_set_new(json_array_get(tasks, 0), "NetworksAttachments",
                        json_pack("[{s:{s:s}, s:[s]}]", "Network", "ID", "n1", "Addresses", "10.0.1.3/24"));
    json_array_append_new(tasks, task("t-over", "shutdown", "n1"));
    json_object_set_new(json_array_get(tasks, 1), "NetworksAttachments",
                        json_pack("[{s:{s:s}, s:[s]}]", "Network", "ID", "n1", "Addresses", "10.0.1.4/24"));
    ovl_alloc *a = ovl_alloc_new(nets, services, tasks);
    /* The gateway, the VIP and the running task's address are taken; the
     * ended task's address is free again. */
    json_t *t = task("t-new", "new", "n1");
    assert_int_equal(ovl_alloc_task(a, t, false, &e), 0);
    assert_string_equal(addr0(t, 0), "10.0.1.4/24");
    assert_string_equal(json_str(json_object_get(json_array_get(json_object_get(t, "NetworksAttachments"), 0), "Network"), "ID"), "n1");
    /* Already attached: left alone. */
    assert_int_equal(ovl_alloc_task(a, t, false, &e), 0);
    assert_int_equal(json_array_size(json_object_get(t, "NetworksAttachments")), 1);
    /* With ingress ports: the ingress network first. */
    json_t *t2 = task("t-ing", "new", "front");
    assert_int_equal(ovl_alloc_task(a, t2, true, &e), 0);
    assert_string_equal(addr0(t2, 0), "10.0.0.2/24");
    assert_string_equal(addr0(t2, 1), "10.0.1.5/24");
    json_t *t3 = task("t-gone", "new", "nope");
    assert_int_equal(ovl_alloc_task(a, t3, false, &e), -ENOENT);
    assert_null(json_object_get(t3, "NetworksAttachments"));

    /* VIPs: one per network, the old one kept, none under dnsrr but ingress. */
    json_t *spec = json_pack("{s:{s:[{s:s}]}, s:{s:s}}", "TaskTemplate", "Networks", "Target", "n1", "EndpointSpec",
                             "Mode", "vip");
    json_t *vips = NULL;
    assert_int_equal(ovl_alloc_vips(a, spec, NULL, true, &vips, &e), 0);
    assert_int_equal(json_array_size(vips), 2);
    assert_string_equal(json_str(json_array_get(vips, 0), "NetworkID"), "ing");
    assert_string_equal(json_str(json_array_get(vips, 1), "Addr"), "10.0.1.6/24");
    json_t *again = NULL;
    assert_int_equal(ovl_alloc_vips(a, spec, vips, false, &again, &e), 0);
    assert_int_equal(json_array_size(again), 1);
    assert_string_equal(json_str(json_array_get(again, 0), "Addr"), "10.0.1.6/24");
    json_decref(again);
    json_object_set_new(json_object_get(spec, "EndpointSpec"), "Mode", json_string("dnsrr"));
    assert_int_equal(ovl_alloc_vips(a, spec, NULL, false, &again, &e), 0);
    assert_int_equal(json_array_size(again), 0);
    json_decref(again);

    json_decref(vips);
    json_decref(spec);
    json_decref(t);
    json_decref(t2);
    json_decref(t3);
    ovl_alloc_free(a);
    json_decref(tasks);
    json_decref(services);
    json_decref(nets);
}

static void test_full_subnet(void **state)
{
    (void)state;
    berr e = {0};
    json_t *nets = json_pack("[o]", net("n1", "tiny", "4097", "10.0.9.0/30", "10.0.9.1", false));
    json_t *none = json_array();
    ovl_alloc *a = ovl_alloc_new(nets, none, none);
    json_t *t1 = task("t1", "new", "n1"), *t2 = task("t2", "new", "n1");
    assert_int_equal(ovl_alloc_task(a, t1, false, &e), 0);
    assert_string_equal(addr0(t1, 0), "10.0.9.2/30");
    assert_int_equal(ovl_alloc_task(a, t2, false, &e), -ENOSPC);
    assert_non_null(strstr(e.msg, "could not find an available IP"));
    json_decref(t1);
    json_decref(t2);
    ovl_alloc_free(a);
    json_decref(none);
    json_decref(nets);
}

static void test_mesh_node_addresses(void **state)
{
    (void)state;
    berr e = {0};
    json_t *ing = net("ing", "ingress", "4096", "10.0.0.0/24", "10.0.0.1", true);
    uint32_t a;
    char text[IPAM_ADDR_BUF];
    assert_int_equal(ovl_ingress_node_addr(ing, 0, &a), 0);
    ipam_format_addr(a, text);
    assert_string_equal(text, "10.0.0.254");
    assert_int_equal(ovl_ingress_node_addr(ing, 2, &a), 0);
    ipam_format_addr(a, text);
    assert_string_equal(text, "10.0.0.252");
    assert_int_equal(ovl_ingress_node_addr(ing, 200, &a), -ENOSPC);
    /* Reserved for the nodes: a task never gets one of them. */
    json_t *tiny = net("ing2", "ingress", "4096", "10.9.0.0/29", "10.9.0.1", true);
    json_t *nets = json_pack("[o]", tiny), *none = json_array();
    ovl_alloc *al = ovl_alloc_new(nets, none, none);
    ovl_alloc_reserve_nodes(al, 2);   /* .6 and .5 */
    json_t *spec = json_pack("{s:{s:[]}}", "TaskTemplate", "Networks");
    json_t *vips = NULL;
    for (int k = 2; k <= 4; k++) {
        char want[IPAM_CIDR_BUF];
        snprintf(want, sizeof want, "10.9.0.%d/29", k);
        assert_int_equal(ovl_alloc_vips(al, spec, NULL, true, &vips, &e), 0);
        assert_string_equal(json_str(json_array_get(vips, 0), "Addr"), want);
        json_decref(vips);
    }
    assert_int_equal(ovl_alloc_vips(al, spec, NULL, true, &vips, &e), -ENOSPC);
    json_decref(ing);
    json_decref(spec);
    ovl_alloc_free(al);
    json_decref(none);
    json_decref(nets);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vni),
        cmocka_unit_test(test_subnet),
        cmocka_unit_test(test_tasks_and_vips),
        cmocka_unit_test(test_full_subnet),
        cmocka_unit_test(test_mesh_node_addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
