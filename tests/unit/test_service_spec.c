/* api/service_spec.c: a ServiceSpec checked and completed before it is
 * stored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
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

static void test_registry_auth(void **state)
{
    (void)state;
    berr e = {0};
    /* A client's own PullOptions is not taken: only X-Registry-Auth is. */
    json_t *spec;
    assert_int_equal(normalize("{\"TaskTemplate\": {\"ContainerSpec\": {\"Image\": \"x\", "
                               "\"PullOptions\": {\"RegistryAuth\": \"forged\"}}}}", &spec, &e), 0);
    json_t *cs = json_object_get(json_object_get(spec, "TaskTemplate"), "ContainerSpec");
    assert_null(json_object_get(cs, "PullOptions"));
    svc_spec_set_auth(spec, "e30K", NULL);
    assert_string_equal(json_string_value(json_object_get(json_object_get(cs, "PullOptions"), "RegistryAuth")), "e30K");
    /* An update without auth keeps the earlier spec's. */
    json_t *next = json_loads("{\"TaskTemplate\": {\"ContainerSpec\": {\"Image\": \"y\"}}}", 0, NULL);
    svc_spec_set_auth(next, "", spec);
    json_t *ncs = json_object_get(json_object_get(next, "TaskTemplate"), "ContainerSpec");
    assert_string_equal(json_string_value(json_object_get(json_object_get(ncs, "PullOptions"), "RegistryAuth")), "e30K");
    /* Never shown: a service's Spec and PreviousSpec, a task's Spec. */
    json_t *svc = json_pack("{s:O, s:O}", "Spec", spec, "PreviousSpec", next);
    json_t *task = json_pack("{s:O}", "Spec", json_object_get(next, "TaskTemplate"));
    json_t *svc_view = json_deep_copy(svc), *task_view = json_deep_copy(task);
    svc_doc_hide_auth(svc_view);
    svc_doc_hide_auth(task_view);
    char *text = json_dumps(svc_view, 0), *ttext = json_dumps(task_view, 0);
    assert_null(strstr(text, "e30K"));
    assert_null(strstr(ttext, "e30K"));
    free(text);
    free(ttext);
    json_decref(svc_view);
    json_decref(task_view);
    json_decref(svc);
    json_decref(task);
    json_decref(spec);
    json_decref(next);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_case_insensitive_mode),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_registry_auth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
