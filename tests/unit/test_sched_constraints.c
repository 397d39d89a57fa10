/* scheduler/constraints.c: swarmkit's constraint syntax, its error texts
 * and matching against Node documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scheduler/constraints.h"
#include "test_sched_fixtures.h"

static int parse_err(const char *expr, char *msg)
{
    json_t *list = json_pack("[s]", expr);
    sched_constraints c;
    berr e = {0};
    int r = sched_constraint_parse(list, &c, &e);
    sched_constraint_free(&c);
    json_decref(list);
    strcpy(msg, e.msg);
    return r;
}

static void test_parse_errors(void **state)
{
    (void)state;
    char msg[BERR_MSG_MAX];
    assert_int_equal(parse_err("node.role=manager", msg), -EINVAL);
    assert_string_equal(msg, "constraint expected one operator from ==, !=");
    assert_int_equal(parse_err("", msg), -EINVAL);
    assert_string_equal(msg, "constraint expected one operator from ==, !=");
    /* shell quotes left in by a compose file */
    assert_int_equal(parse_err("'node.role==manager'", msg), -EINVAL);
    assert_string_equal(msg, "key ''node.role' is invalid");
    assert_int_equal(parse_err("a==b", msg), -EINVAL);
    assert_string_equal(msg, "key 'a' is invalid");
    assert_int_equal(parse_err("node.labels.zone==east=1", msg), -EINVAL);
    assert_string_equal(msg, "value 'east=1' is invalid");
    assert_int_equal(parse_err("node.labels.zone==", msg), -EINVAL);
    assert_string_equal(msg, "value '' is invalid");
    assert_int_equal(parse_err("node.labels.zone<east", msg), -EINVAL);
    assert_string_equal(msg, "constraint expected one operator from ==, !=");
    /* "==" is looked for first: "a!=b==c" has key "a!=b" */
    assert_int_equal(parse_err("node.id!=b==c", msg), -EINVAL);
    assert_string_equal(msg, "key 'node.id!=b' is invalid");
}

static void test_parse_ok(void **state)
{
    (void)state;
    json_t *list = json_pack("[s,s,s,s]", "node.role == manager", "node.labels.rack!=r1",
                             "engine.labels.os==Ubuntu 22.04", "node.hostname==web-*.corp/(a|b)");
    sched_constraints c;
    berr e = {0};
    assert_int_equal(sched_constraint_parse(list, &c, &e), 0);
    assert_int_equal(c.n, 4);
    assert_string_equal(c.v[0].key, "node.role");
    assert_string_equal(c.v[0].value, "manager");
    assert_true(c.v[0].eq);
    assert_false(c.v[1].eq);
    assert_string_equal(c.v[2].value, "Ubuntu 22.04");
    sched_constraint_free(&c);
    json_decref(list);

    assert_int_equal(sched_constraint_parse(NULL, &c, &e), 0);
    assert_int_equal(c.n, 0);
    sched_constraint_free(&c);
}

static void test_validate_message(void **state)
{
    (void)state;
    json_t *bad = json_pack("[s]", "node.labels.type=queue");
    berr e = {0};
    assert_int_equal(sched_constraint_validate(bad, &e), -EINVAL);
    assert_string_equal(e.msg, "rpc error: code = Unknown desc = constraint expected one operator from ==, !=");
    json_decref(bad);
    json_t *good = json_pack("[s]", "node.labels.type==queue");
    assert_int_equal(sched_constraint_validate(good, &e), 0);
    json_decref(good);
    assert_int_equal(sched_constraint_validate(NULL, &e), 0);
}

static bool m(const char *expr, const json_t *node)
{
    json_t *list = json_pack("[s]", expr);
    bool r = sched_constraint_match_list(list, node);
    json_decref(list);
    return r;
}

static void test_match_node(void **state)
{
    (void)state;
    json_t *n = fx_node("n1abc", "manager", "active", "ready", "{\"zone\": \"East\", \"Rack\": \"r1\"}");
    assert_true(m("node.id==n1abc", n));
    assert_true(m("NODE.ID==N1ABC", n)); /* keys and values ignore case */
    assert_false(m("node.id!=n1abc", n));
    assert_true(m("node.hostname==host-n1abc", n));
    assert_true(m("node.hostname!=node-2", n));
    assert_true(m("node.role==manager", n));
    assert_false(m("node.role==worker", n));
    assert_true(m("node.platform.os==linux", n));
    assert_true(m("node.platform.arch==x86_64", n));
    assert_false(m("node.platform.arch==aarch64", n));
    assert_true(m("node.labels.zone==east", n));
    assert_false(m("node.labels.rack==r1", n)); /* label names are case-sensitive */
    assert_true(m("node.labels.Rack==r1", n));
    assert_true(m("node.labels.missing!=x", n)); /* absent compares as "" */
    assert_false(m("node.labels.missing==x", n));
    assert_true(m("engine.labels.storage==ssd", n));
    assert_false(m("engine.labels.storage!=ssd", n));
    assert_false(m("node.unknown==x", n)); /* parses, matches nothing */
    assert_false(m("node.unknown!=x", n));
    json_decref(n);
}

static void test_match_ip(void **state)
{
    (void)state;
    json_t *n = fx_ready("n1");
    json_object_set_new(json_object_get(n, "Status"), "Addr", json_string("192.168.5.20"));
    assert_true(m("node.ip==192.168.5.20", n));
    assert_false(m("node.ip!=192.168.5.20", n));
    assert_true(m("node.ip==192.168.5.0/24", n));
    assert_true(m("node.ip!=10.0.0.0/8", n));
    assert_false(m("node.ip==10.0.0.0/8", n));
    assert_false(m("node.ip==notanaddress", n)); /* malformed: never matches */
    assert_false(m("node.ip!=notanaddress", n));
    json_decref(n);
}

static void test_match_all(void **state)
{
    (void)state;
    json_t *n = fx_node("n2", "worker", "active", "ready", "{\"zone\": \"west\"}");
    json_t *list = json_pack("[s,s]", "node.role==worker", "node.labels.zone==west");
    sched_constraints c;
    assert_int_equal(sched_constraint_parse(list, &c, NULL), 0);
    assert_true(sched_constraint_match(&c, n));
    sched_constraint_free(&c);
    json_decref(list);
    list = json_pack("[s,s]", "node.role==worker", "node.labels.zone==east");
    assert_false(sched_constraint_match_list(list, n));
    json_decref(list);
    /* a node without a description (not reported yet) */
    json_t *bare = J("{\"ID\": \"n3\", \"Spec\": {\"Role\": \"worker\"}}");
    assert_true(m("node.hostname!=x", bare));
    assert_false(m("node.platform.os==linux", bare));
    assert_true(m("engine.labels.x!=y", bare));
    json_decref(bare);
    json_decref(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_errors),    cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_validate_message), cmocka_unit_test(test_match_node),
        cmocka_unit_test(test_match_ip),        cmocka_unit_test(test_match_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
