/* docker commit's pure parts (runtime/image/commit.c): dockerd's config merge and
 * the new image config; and the hiding of the runtime's bind-mount targets
 * from change lists (runtime/container/fs.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "runtime/image/commit.h"
#include "runtime/container/fs.h"

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
    assert_non_null(j);
    return j;
}

static void assert_json(const json_t *got, const char *want_text)
{
    json_t *want = parse(want_text);
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        fail_msg("got %s, want %s", g, want_text);
    }
    json_decref(want);
}

static void test_merge_fills_empty(void **state)
{
    (void)state;
    json_t *container = parse("{\"User\":\"app\",\"Env\":[\"A=1\",\"B=2\"],\"Cmd\":[\"sh\"],"
                              "\"Entrypoint\":[\"/init\"],\"WorkingDir\":\"/w\",\"StopSignal\":\"SIGINT\","
                              "\"ExposedPorts\":{\"80/tcp\":{}},\"Labels\":{\"x\":\"1\",\"y\":\"2\"},"
                              "\"Volumes\":{\"/data\":{}},\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"],\"Retries\":3}}");
    json_t *user = parse("{\"Env\":[\"B=3\",\"C=4\"],\"Labels\":{\"y\":\"mine\"},\"ExposedPorts\":{\"443/tcp\":{}},"
                         "\"Healthcheck\":{\"Interval\":5}}");
    rt_commit_merge_config(user, container);
    assert_json(json_object_get(user, "User"), "\"app\"");
    assert_json(json_object_get(user, "Env"), "[\"B=3\",\"C=4\",\"A=1\"]");
    assert_json(json_object_get(user, "Labels"), "{\"x\":\"1\",\"y\":\"mine\"}");
    assert_json(json_object_get(user, "ExposedPorts"), "{\"80/tcp\":{},\"443/tcp\":{}}");
    assert_json(json_object_get(user, "Cmd"), "[\"sh\"]");
    assert_json(json_object_get(user, "Entrypoint"), "[\"/init\"]");
    assert_json(json_object_get(user, "WorkingDir"), "\"/w\"");
    assert_json(json_object_get(user, "StopSignal"), "\"SIGINT\"");
    assert_json(json_object_get(user, "Volumes"), "{\"/data\":{}}");
    assert_json(json_object_get(user, "Healthcheck"), "{\"Test\":[\"CMD\",\"true\"],\"Retries\":3,\"Interval\":5}");
    json_decref(user);
    json_decref(container);
}

static void test_merge_entrypoint_rules(void **state)
{
    (void)state;
    json_t *container = parse("{\"Cmd\":[\"sh\"],\"Entrypoint\":[\"/init\"]}");
    /* an own Entrypoint keeps the (possibly empty) Cmd it has */
    json_t *user = parse("{\"Entrypoint\":[\"/mine\"],\"Cmd\":null}");
    rt_commit_merge_config(user, container);
    assert_json(json_object_get(user, "Cmd"), "null");
    assert_json(json_object_get(user, "Entrypoint"), "[\"/mine\"]");
    json_decref(user);
    /* an own Cmd keeps the container's Entrypoint */
    user = parse("{\"Cmd\":[\"cat\",\"/hello\"]}");
    rt_commit_merge_config(user, container);
    assert_json(json_object_get(user, "Cmd"), "[\"cat\",\"/hello\"]");
    assert_json(json_object_get(user, "Entrypoint"), "[\"/init\"]");
    json_decref(user);
    /* [] clears the Entrypoint for good */
    user = parse("{\"Entrypoint\":[]}");
    rt_commit_merge_config(user, container);
    assert_json(json_object_get(user, "Entrypoint"), "[]");
    assert_json(json_object_get(user, "Cmd"), "[\"sh\"]");
    /* Labels is always an object */
    assert_json(json_object_get(user, "Labels"), "{}");
    json_decref(user);
    json_decref(container);
}

static void test_image_config(void **state)
{
    (void)state;
    json_t *parent = parse("{\"architecture\":\"arm64\",\"variant\":\"v8\",\"os\":\"linux\","
                           "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:aa\"]},"
                           "\"history\":[{\"created\":\"2024-01-01T00:00:00Z\",\"created_by\":\"ADD\"}]}");
    json_t *cc = parse("{\"Cmd\":[\"sh\",\"-c\",\"echo hi\"]}");
    rt_commit_image ci = {.parent = parent,
                          .parent_id = "sha256:pp",
                          .config = parse("{\"Cmd\":[\"cat\"]}"),
                          .container_config = cc,
                          .container_id = "cid",
                          .author = "me",
                          .comment = "msg",
                          .created = "2026-01-01T00:00:00Z",
                          .diff_id = "sha256:bb"};
    json_t *img = rt_commit_image_config(&ci);
    assert_json(json_object_get(img, "config"), "{\"Cmd\":[\"cat\"]}");
    assert_json(json_object_get(img, "architecture"), "\"arm64\"");
    assert_json(json_object_get(img, "variant"), "\"v8\"");
    assert_json(json_object_get(img, "parent"), "\"sha256:pp\"");
    assert_json(json_object_get(img, "author"), "\"me\"");
    assert_json(json_object_get(img, "rootfs"), "{\"type\":\"layers\",\"diff_ids\":[\"sha256:aa\",\"sha256:bb\"]}");
    assert_json(json_object_get(img, "history"),
                "[{\"created\":\"2024-01-01T00:00:00Z\",\"created_by\":\"ADD\"},"
                "{\"created\":\"2026-01-01T00:00:00Z\",\"author\":\"me\",\"created_by\":\"sh -c echo hi\","
                "\"comment\":\"msg\"}]");
    assert_null(json_object_get(img, "comment"));
    json_decref(img);

    /* nothing changed: no layer, an empty_layer history entry */
    ci.config = parse("{}");
    ci.diff_id = NULL;
    ci.author = "";
    ci.comment = "";
    img = rt_commit_image_config(&ci);
    assert_json(json_object_get(json_object_get(img, "rootfs"), "diff_ids"), "[\"sha256:aa\"]");
    assert_json(json_array_get(json_object_get(img, "history"), 1),
                "{\"created\":\"2026-01-01T00:00:00Z\",\"created_by\":\"sh -c echo hi\",\"empty_layer\":true}");
    assert_null(json_object_get(img, "author"));
    /* the parent's history is copied, not moved */
    assert_int_equal(json_array_size(json_object_get(parent, "history")), 1);
    json_decref(img);
    json_decref(parent);
    json_decref(cc);
}

/* ---- bind-mount targets in change lists ---------------------------------- */

static rt_change *changes(const char *spec, size_t *n)
{
    /* "A /etc|C /tmp" */
    rt_change *v = NULL;
    *n = 0;
    cleanup_free char *s = xstrdup(spec);
    for (char *save, *tok = strtok_r(s, "|", &save); tok; tok = strtok_r(NULL, "|", &save)) {
        v = xrealloc(v, (*n + 1) * sizeof *v);
        rt_change_kind k = tok[0] == 'A' ? RT_CHANGE_ADDED : tok[0] == 'D' ? RT_CHANGE_DELETED : RT_CHANGE_MODIFIED;
        v[(*n)++] = (rt_change){xstrdup(tok + 2), k};
    }
    return v;
}

static void check_hide(const char *in, const char *want)
{
    size_t n;
    rt_change *c = changes(in, &n);
    rt_changes_hide_bind_targets(c, &n);
    buf b = BUF_INIT;
    buf_puts(&b, "");
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s%c %s", i ? "|" : "", "CAD"[c[i].kind], c[i].path);
    assert_string_equal(b.data, want);
    buf_free(&b);
    rt_changes_free(c, n);
}

static void test_hide_bind_targets(void **state)
{
    (void)state;
    check_hide("C /etc|A /etc/hostname|A /etc/hosts|A /etc/resolv.conf", "");
    check_hide("A /etc|A /etc/hostname|A /etc/hosts|A /etc/resolv.conf|A /x", "A /x");
    check_hide("C /etc|A /etc/hostname|A /etc/hosts|A /etc/resolv.conf|A /etc/x", "C /etc|A /etc/x");
    check_hide("C /etc|D /etc/group|A /etc/hosts", "C /etc|D /etc/group");
    /* only added targets are the runtime's; nothing hidden leaves /etc be */
    check_hide("C /etc|C /etc/hosts", "C /etc|C /etc/hosts");
    check_hide("C /etc", "C /etc");
    check_hide("C /etc|A /etc/hosts|A /etc2", "A /etc2");
    check_hide("", "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_fills_empty),
        cmocka_unit_test(test_merge_entrypoint_rules),
        cmocka_unit_test(test_image_config),
        cmocka_unit_test(test_hide_bind_targets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
