/* api/service_spec.c: a ServiceSpec checked and completed before it is
 * stored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api/service_spec.h"

static int normalize(const char *text, json_t **spec, berr *e)
{
    *spec = json_loads(text, 0, NULL);
    assert_non_null(*spec);
    json_t *warnings = json_array();
    int r = svc_spec_normalize(*spec, NULL, warnings, e);
    json_decref(warnings);
    return r;
}

static void test_defaults(void **state)
{
    (void)state;
    berr e = {0};
    json_t *s;
    assert_int_equal(normalize("{\"TaskTemplate\": {\"ContainerSpec\": {\"Image\": \"busybox\"}}}", &s, &e), 0);
    assert_true(strlen(json_string_value(json_object_get(s, "Name"))) > 3);   /* generated */
    assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(s, "Mode"), "Replicated"),
                                                        "Replicas")),
                     1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(s, "TaskTemplate"), "Runtime")), "container");
    json_decref(s);
}

static void test_case_insensitive_mode(void **state)
{
    (void)state;
    berr e = {0};
    json_t *s;
    /* docker-py's ServiceMode spells the key in lower case. */
    assert_int_equal(normalize("{\"Name\": \"w\", \"TaskTemplate\": {\"ContainerSpec\": {\"Image\": \"b\"}},"
                               " \"mode\": {\"replicated\": {\"replicas\": 3}}}",
                               &s, &e),
                     0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(s, "Mode"), "Replicated"),
                                                        "Replicas")),
                     3);
    json_decref(s);
    assert_int_equal(normalize("{\"Name\": \"j\", \"TaskTemplate\": {\"ContainerSpec\": {\"Image\": \"b\"}},"
                               " \"Mode\": {\"ReplicatedJob\": {\"TotalCompletions\": 4}}}",
                               &s, &e),
                     0);
    json_t *job = json_object_get(json_object_get(s, "Mode"), "ReplicatedJob");
    assert_int_equal(json_integer_value(json_object_get(job, "MaxConcurrent")), 4);
    json_decref(s);
}

static void test_errors(void **state)
{
    (void)state;
    berr e = {0};
    json_t *s;
    assert_int_equal(normalize("{\"Name\": \"x\", \"TaskTemplate\": {}}", &s, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "image reference must be provided"));
    json_decref(s);
    assert_int_equal(normalize("{\"Name\": \"x\", \"TaskTemplate\": {\"ContainerSpec\": {\"Image\": \"b\"}},"
                               " \"Mode\": {\"Replicated\": {}, \"Global\": {}}}",
                               &s, &e),
                     -EINVAL);
    json_decref(s);
    assert_int_equal(normalize("{\"Name\": \"x\", \"TaskTemplate\": {\"ContainerSpec\": {\"Image\": \"b\"},"
                               " \"Placement\": {\"Constraints\": [\"node.role=manager\"]}}}",
                               &s, &e),
                     -EINVAL);
    assert_non_null(strstr(e.msg, "constraint expected one operator"));
    json_decref(s);
    /* Ports in either mode pass: the API gives them their Endpoint. */
    assert_int_equal(normalize("{\"Name\": \"x\", \"TaskTemplate\": {\"ContainerSpec\": {\"Image\": \"b\"}},"
                               " \"EndpointSpec\": {\"Ports\": [{\"TargetPort\": 80, \"PublishedPort\": 8080}]}}",
                               &s, &e),
                     0);
    json_decref(s);
    assert_int_equal(normalize("{\"Name\": \"x\", \"TaskTemplate\": {\"ContainerSpec\": {\"Image\": \"b\"}},"
                               " \"EndpointSpec\": {\"Ports\": [{\"TargetPort\": 80, \"PublishedPort\": 8080,"
                               " \"PublishMode\": \"host\"}]}}",
                               &s, &e),
                     0);
    json_decref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_case_insensitive_mode),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
