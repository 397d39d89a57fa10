/* node/attachment_tasks.c: which networks a plain container may be
 * attached to, the leader's allocation of an attachment task, the
 * addresses such a task keeps, and a repeated request answered from the
 * store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/jsonutil.h"
#include "node/attachment_tasks.h"

#define CID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define NODE "w1aaaaaaaaaaaaaaaaaaaaaaa"

static json_t *net(const char *id, const char *name, const char *driver, bool attachable, bool ingress,
                   const char *subnet)
{
    return json_pack("{s:s, s:{s:s, s:b, s:b, s:{s:s}}, s:{s:s, s:{s:s}}, s:{s:[{s:s}]}}", "ID", id, "Spec", "Name",
                     name, "Attachable", attachable, "Ingress", ingress, "DriverConfiguration", "Name", driver,
                     "DriverState", "Name", driver, "Options", OVL_VNI_OPTION, "4097", "IPAM", "Configs", "Subnet",
                     subnet);
}

static json_t *networks(void)
{
    return json_pack("[o, o, o, o]", net("abc111", "app", "overlay", true, false, "10.30.0.0/30"),
                     net("abc222", "closed", "overlay", false, false, "10.31.0.0/24"),
                     net("zzz333", "ingress", "overlay", true, true, "10.0.0.0/24"),
                     net("yyy444", "local", "bridge", true, false, "10.32.0.0/24"));
}

static json_t *attachment(const char *id, const char *net_id, const char *state)
{
    return json_pack("{s:s, s:{s:i}, s:{s:{s:s}, s:[{s:s}]}, s:s, s:s, s:s, s:{s:s}}", "ID", id, "Version", "Index",
                     3, "Spec", "NetworkAttachmentSpec", "ContainerID", CID, "Networks", "Target", net_id,
                     "ServiceID", "", "NodeID", NODE, "DesiredState", "running", "Status", "State", state);
}

static void test_resolve(void **state)
{
    (void)state;
    json_t *nets = networks();
    berr e = {0};
    const json_t *n = attachment_network_resolve(nets, "app", &e);
    assert_non_null(n);
    assert_string_equal(json_str(n, "ID"), "abc111");
    assert_ptr_equal(attachment_network_resolve(nets, "abc111", &e), n);
    assert_ptr_equal(attachment_network_resolve(nets, "abc1", &e), n);   /* a unique prefix */
    assert_null(attachment_network_resolve(nets, "abc", &e));            /* two networks start so */
    assert_int_equal(e.code, -ENOENT);
    assert_string_equal(e.msg, "network abc not found");
    assert_null(attachment_network_resolve(nets, "nosuch", &e));
    assert_int_equal(e.code, -ENOENT);
    /* Docker's words for a network a container may not join by hand. */
    assert_null(attachment_network_resolve(nets, "closed", &e));
    assert_int_equal(e.code, -EPERM);
    assert_string_equal(e.msg, "Could not attach to network closed: rpc error: code = PermissionDenied desc = "
                               "network closed not manually attachable");
    assert_null(attachment_network_resolve(nets, "ingress", &e));
    assert_int_equal(e.code, -EPERM);
    assert_null(attachment_network_resolve(nets, "local", &e));
    assert_int_equal(e.code, -EPERM);
    json_decref(nets);
}

static void test_allocate_and_hold(void **state)
{
    (void)state;
    json_t *nets = networks(), *none = json_array();
    ovl_alloc *a = ovl_alloc_new(nets, none, none);
    /* A /30: the gateway takes .1, two tasks get .2 and ... none is left. */
    json_t *t1 = attachment("t1", "abc111", "new"), *t2 = attachment("t2", "abc111", "new");
    attachment_task_allocate(a, t1, 1000000000LL);
    assert_string_equal(json_str(json_object_get(t1, "Status"), "State"), "assigned");
    const char *addr = json_string_value(
        json_array_get(json_object_get(json_array_get(json_object_get(t1, "NetworksAttachments"), 0), "Addresses"), 0));
    assert_string_equal(addr, "10.30.0.2/30");
    attachment_task_allocate(a, t2, 1000000000LL);
    assert_string_equal(json_str(json_object_get(t2, "Status"), "State"), "rejected");
    assert_true(strlen(json_str(json_object_get(t2, "Status"), "Err")) > 0);
    assert_false(ovl_task_holds_addresses(t2));
    ovl_alloc_free(a);

    /* A stopped container's attachment keeps its address: a new
     * allocator built from the store does not give it away. */
    json_object_set_new(json_object_get(t1, "Status"), "State", json_string("complete"));
    assert_true(ovl_task_holds_addresses(t1));
    json_t *tasks = json_pack("[O]", t1);
    a = ovl_alloc_new(nets, none, tasks);
    json_t *t3 = attachment("t3", "abc111", "new");
    attachment_task_allocate(a, t3, 1000000000LL);
    assert_string_equal(json_str(json_object_get(t3, "Status"), "State"), "rejected");
    ovl_alloc_free(a);
    assert_true(attachment_task(t1));
    assert_string_equal(attachment_task_network(t1), "abc111");
    json_t *svc_task = json_pack("{s:s, s:s}", "ID", "s1", "ServiceID", "svc");
    assert_false(attachment_task(svc_task));
    json_decref(svc_task);
    json_decref(t1);
    json_decref(t2);
    json_decref(t3);
    json_decref(tasks);
    json_decref(none);
    json_decref(nets);
}

static int answers;
static char answered[32];
static void on_done(void *arg, int status, const berr *e, const json_t *task)
{
    (void)arg;
    (void)e;
    answers++;
    snprintf(answered, sizeof answered, "%s", status == 0 ? json_str(task, "ID") : "");
}

static int released;
static void on_released(void *arg, int status, uint64_t index, const berr *e)
{
    (void)arg;
    (void)index;
    (void)e;
    released += status == 0;
}

/* A start after a stop asks again: the task the store has is the answer,
 * with no second one proposed (the mirror refuses every proposal). */
static void test_request_again_is_answered_from_the_store(void **state)
{
    (void)state;
    cluster_store *cs = NULL;
    berr e = {0};
    assert_int_equal(cluster_mirror_new(NODE, "c1", &cs, &e), 0);
    json_t *docs = json_pack("{s:o, s:[o]}", "network", networks(), "task", attachment("t1", "abc111", "complete"));
    assert_int_equal(cluster_mirror_load(cs, docs, &e), 0);
    json_decref(docs);
    json_t *req = json_pack("{s:s, s:s, s:s}", "container", CID, "name", "c1", "network", "app");
    assert_int_equal(attachment_request(cs, NODE, req, on_done, NULL, &e), 0);
    assert_int_equal(answers, 1);
    assert_string_equal(answered, "t1");
    /* Bad requests and refused networks fail before anything is asked. */
    json_object_set_new(req, "network", json_string("closed"));
    assert_int_equal(attachment_request(cs, NODE, req, on_done, NULL, &e), -EPERM);
    json_object_set_new(req, "container", json_string("short"));
    assert_int_equal(attachment_request(cs, NODE, req, on_done, NULL, &e), -EINVAL);
    json_object_set_new(req, "container", json_string(CID));
    json_object_set_new(req, "network", json_string("app"));
    json_object_set_new(req, "aliases", json_pack("[i]", 3));
    assert_int_equal(attachment_request(cs, NODE, req, on_done, NULL, &e), -EINVAL);
    assert_int_equal(answers, 1);
    /* Nothing of another container to release: done at once. */
    assert_int_equal(attachment_release(cs, NODE, "ffff", NULL, on_released, NULL, &e), 0);
    assert_int_equal(released, 1);
    json_decref(req);
    cluster_mirror_free(cs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_allocate_and_hold),
        cmocka_unit_test(test_request_again_is_answered_from_the_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
