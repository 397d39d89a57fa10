/* api/router.c: the API version prefix, segment patterns with greedy
 * parameters, and the route table lookup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/handlers.h"
#include "api/router.h"

static void params_free(char *params[API_MAX_PARAMS])
{
    for (int i = 0; i < API_MAX_PARAMS; i++) {
        free(params[i]);
        params[i] = NULL;
    }
}

/* ---- api_version_split -------------------------------------------------- */

static void test_version_split_ok(void **state)
{
    (void)state;
    int minor = -1;
    const char *rest = NULL;
    berr e = {0};
    const char *raw = "/v1.47/images/json";
    assert_int_equal(api_version_split(raw, &minor, &rest, &e), 0);
    assert_int_equal(minor, 47);
    assert_string_equal(rest, "/images/json");
    assert_ptr_equal(rest, raw + 6);

    assert_int_equal(api_version_split("/v1.24/_ping", &minor, &rest, &e), 0);
    assert_int_equal(minor, 24);
    assert_string_equal(rest, "/_ping");

    assert_int_equal(api_version_split("/v1.41/containers/abc/json", &minor, &rest, &e), 0);
    assert_int_equal(minor, 41);
    assert_string_equal(rest, "/containers/abc/json");

    /* the prefix alone leaves the root */
    assert_int_equal(api_version_split("/v1.47", &minor, &rest, &e), 0);
    assert_int_equal(minor, 47);
    assert_string_equal(rest, "/");
    assert_int_equal(e.code, 0);
}

static void test_version_split_unversioned(void **state)
{
    (void)state;
    int minor = -1;
    const char *rest = NULL;
    berr e = {0};
    const char *raw = "/images/json";
    assert_int_equal(api_version_split(raw, &minor, &rest, &e), 0);
    assert_int_equal(minor, API_VERSION_MAX_MINOR);
    assert_int_equal(minor, 47);
    assert_ptr_equal(rest, raw);

    /* paths starting with "/v" that are not a version prefix pass through */
    static const char *const through[] = {"/vfoo", "/version", "/volumes", "/v", "/v1.x/images/json",
                                          "/v1.47x/info", "/"};
    for (size_t i = 0; i < sizeof through / sizeof through[0]; i++) {
        minor = -1;
        rest = NULL;
        assert_int_equal(api_version_split(through[i], &minor, &rest, &e), 0);
        assert_int_equal(minor, API_VERSION_MAX_MINOR);
        assert_ptr_equal(rest, through[i]);
    }
    assert_int_equal(e.code, 0);
}

static void test_version_split_too_new(void **state)
{
    (void)state;
    int minor;
    const char *rest;
    berr e = {0};
    assert_int_equal(api_version_split("/v1.48/x", &minor, &rest, &e), -EINVAL);
    assert_int_equal(e.code, -EINVAL);
    assert_string_equal(e.msg, "client version 1.48 is too new. Maximum supported API version is 1.47");

    berr_clear(&e);
    assert_int_equal(api_version_split("/v2.0/x", &minor, &rest, &e), -EINVAL);
    assert_string_equal(e.msg, "client version 2.0 is too new. Maximum supported API version is 1.47");

    berr_clear(&e);
    assert_int_equal(api_version_split("/v1.100/_ping", &minor, &rest, &e), -EINVAL);
    assert_string_equal(e.msg, "client version 1.100 is too new. Maximum supported API version is 1.47");
}

static void test_version_split_too_old(void **state)
{
    (void)state;
    int minor;
    const char *rest;
    berr e = {0};
    assert_int_equal(api_version_split("/v1.23/x", &minor, &rest, &e), -EINVAL);
    assert_int_equal(e.code, -EINVAL);
    assert_string_equal(e.msg, "client version 1.23 is too old. Minimum supported API version is 1.24, "
                               "please upgrade your client to a newer version");

    berr_clear(&e);
    assert_int_equal(api_version_split("/v0.99/x", &minor, &rest, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "client version 0.99 is too old"));
}

static void test_version_split_malformed(void **state)
{
    (void)state;
    int minor;
    const char *rest;
    berr e = {0};
    /* digits and dots that do not form MAJOR.MINOR: a malformed prefix */
    static const char *const bad[] = {"/v1/x", "/v1./x", "/v1.47.1/x", "/v1..2/x", "/v1.2.", "/v12"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        berr_clear(&e);
        assert_int_equal(api_version_split(bad[i], &minor, &rest, &e), -ENOENT);
        assert_int_equal(e.code, -ENOENT);
        assert_string_equal(e.msg, "page not found");
    }
}

/* ---- api_pattern_match ---------------------------------------------------- */

static void test_pattern_static(void **state)
{
    (void)state;
    char *p[API_MAX_PARAMS] = {NULL};
    assert_true(api_pattern_match("/images/json", "/images/json", p));
    assert_null(p[0]);
    assert_true(api_pattern_match("/_ping", "/_ping", p));
    assert_null(p[0]);
    assert_false(api_pattern_match("/images/json", "/images/jsonx", p));
    assert_false(api_pattern_match("/images/json", "/images", p));
    assert_false(api_pattern_match("/images/json", "/images/json/x", p));
    assert_false(api_pattern_match("/images/json", "/images/json/", p));
    assert_null(p[0]);
}

static void test_pattern_param(void **state)
{
    (void)state;
    char *p[API_MAX_PARAMS] = {NULL};
    assert_true(api_pattern_match("/containers/{id}/json", "/containers/abc123/json", p));
    assert_string_equal(p[0], "abc123");
    assert_null(p[1]);
    params_free(p);

    assert_true(api_pattern_match("/containers/{id}", "/containers/x", p));
    assert_string_equal(p[0], "x");
    params_free(p);

    /* one segment only */
    assert_false(api_pattern_match("/containers/{id}/json", "/containers/a/b/json", p));
    assert_false(api_pattern_match("/containers/{id}", "/containers/a/b", p));
    assert_false(api_pattern_match("/containers/{id}/json", "/containers/json", p));
    assert_null(p[0]);
}

static void test_pattern_greedy(void **state)
{
    (void)state;
    char *p[API_MAX_PARAMS] = {NULL};
    assert_true(api_pattern_match("/images/{name*}/json", "/images/busybox/json", p));
    assert_string_equal(p[0], "busybox");
    assert_null(p[1]);
    params_free(p);

    assert_true(api_pattern_match("/images/{name*}/json", "/images/myorg/app:1.0/json", p));
    assert_string_equal(p[0], "myorg/app:1.0");
    params_free(p);

    assert_true(api_pattern_match("/images/{name*}/json", "/images/reg:5000/a/b:tag/json", p));
    assert_string_equal(p[0], "reg:5000/a/b:tag");
    params_free(p);

    /* a name that itself ends in "json" is still taken up to the last segment */
    assert_true(api_pattern_match("/images/{name*}/json", "/images/json/json", p));
    assert_string_equal(p[0], "json");
    params_free(p);

    /* greedy at the end */
    assert_true(api_pattern_match("/images/{name*}", "/images/myorg/app:1.0", p));
    assert_string_equal(p[0], "myorg/app:1.0");
    params_free(p);

    /* the literal after the greedy parameter must match */
    assert_false(api_pattern_match("/images/{name*}/json", "/images/busybox/history", p));
    assert_null(p[0]);
}

static void test_pattern_refusals(void **state)
{
    (void)state;
    char *p[API_MAX_PARAMS] = {NULL};
    /* trailing slash: 404 as in dockerd */
    assert_false(api_pattern_match("/images/{name*}/json", "/images/busybox/json/", p));
    assert_false(api_pattern_match("/images/{name*}", "/images/busybox/", p));
    assert_false(api_pattern_match("/containers/{id}", "/containers/x/", p));
    /* a greedy parameter needs at least one segment */
    assert_false(api_pattern_match("/images/{name*}/json", "/images/json", p));
    assert_false(api_pattern_match("/images/{name*}/json", "/images//json", p));
    assert_false(api_pattern_match("/images/{name*}", "/images", p));
    assert_false(api_pattern_match("/images/{name*}", "/images/", p));
    for (int i = 0; i < API_MAX_PARAMS; i++)
        assert_null(p[i]);
}

static void test_pattern_long_path(void **state)
{
    (void)state;
    char *p[API_MAX_PARAMS] = {NULL};
    /* more segments than the matcher handles: refused, not overrun */
    char path[1024] = "/images";
    for (int i = 0; i < 100; i++)
        strcat(path, "/a");
    strcat(path, "/json");
    assert_false(api_pattern_match("/images/{name*}/json", path, p));
    assert_null(p[0]);

    /* longer than the scratch buffer */
    size_t n = 5000;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'a', n);
    big[0] = '/';
    big[n] = 0;
    assert_false(api_pattern_match("/{id}", big, p));
    assert_null(p[0]);
    free(big);
}

/* ---- api_route_match ------------------------------------------------------- */

static void test_route_images_list_not_inspect(void **state)
{
    (void)state;
    char *p[API_MAX_PARAMS] = {NULL};
    const api_route *rt = NULL;
    assert_int_equal(api_route_match("GET", "/images/json", &rt, p), API_MATCH_OK);
    assert_non_null(rt);
    assert_string_equal(rt->pattern, "/images/json");
    assert_string_equal(rt->method, "GET");
    assert_ptr_equal(rt->handler, api_images_list);
    assert_null(p[0]);
}

static void test_route_image_inspect(void **state)
{
    (void)state;
    char *p[API_MAX_PARAMS] = {NULL};
    const api_route *rt = NULL;
    assert_int_equal(api_route_match("GET", "/images/busybox/json", &rt, p), API_MATCH_OK);
    assert_string_equal(rt->pattern, "/images/{name*}/json");
    assert_ptr_equal(rt->handler, api_image_inspect);
    assert_string_equal(p[0], "busybox");
    params_free(p);

    assert_int_equal(api_route_match("GET", "/images/reg:5000/a/b:tag/json", &rt, p), API_MATCH_OK);
    assert_string_equal(rt->pattern, "/images/{name*}/json");
    assert_string_equal(p[0], "reg:5000/a/b:tag");
    params_free(p);
}

static void test_route_image_delete_and_tag(void **state)
{
    (void)state;
    char *p[API_MAX_PARAMS] = {NULL};
    const api_route *rt = NULL;
    assert_int_equal(api_route_match("DELETE", "/images/a/b", &rt, p), API_MATCH_OK);
    assert_string_equal(rt->method, "DELETE");
    assert_string_equal(rt->pattern, "/images/{name*}");
    assert_ptr_equal(rt->handler, api_image_delete);
    assert_string_equal(p[0], "a/b");
    params_free(p);

    assert_int_equal(api_route_match("POST", "/images/myorg/app:1.0/tag", &rt, p), API_MATCH_OK);
    assert_string_equal(rt->pattern, "/images/{name*}/tag");
    assert_ptr_equal(rt->handler, api_image_tag);
    assert_string_equal(p[0], "myorg/app:1.0");
    params_free(p);

    /* static image routes win over the greedy ones */
    assert_int_equal(api_route_match("GET", "/images/get", &rt, p), API_MATCH_OK);
    assert_string_equal(rt->pattern, "/images/get");
    assert_null(p[0]);
    assert_int_equal(api_route_match("POST", "/images/create", &rt, p), API_MATCH_OK);
    assert_string_equal(rt->pattern, "/images/create");
    assert_int_equal(rt->body, API_BODY_STREAM);
    assert_null(p[0]);
}

static void test_route_ping(void **state)
{
    (void)state;
    char *p[API_MAX_PARAMS] = {NULL};
    const api_route *rt = NULL;
    assert_int_equal(api_route_match("GET", "/_ping", &rt, p), API_MATCH_OK);
    assert_ptr_equal(rt->handler, api_ping);
    rt = NULL;
    assert_int_equal(api_route_match("HEAD", "/_ping", &rt, p), API_MATCH_OK);
    assert_string_equal(rt->method, "HEAD");
    assert_ptr_equal(rt->handler, api_ping);

    rt = NULL;
    assert_int_equal(api_route_match("POST", "/_ping", &rt, p), API_MATCH_BAD_METHOD);
    assert_null(rt);
    assert_int_equal(api_route_match("PUT", "/images/json", &rt, p), API_MATCH_BAD_METHOD);
    assert_null(rt);
    assert_null(p[0]);
}

static void test_route_none(void **state)
{
    (void)state;
    char *p[API_MAX_PARAMS] = {NULL};
    const api_route *rt = NULL;
    assert_int_equal(api_route_match("GET", "/nope", &rt, p), API_MATCH_NO_ROUTE);
    assert_int_equal(api_route_match("GET", "/images/json/", &rt, p), API_MATCH_NO_ROUTE);
    assert_int_equal(api_route_match("GET", "/containers/a/b/c/d", &rt, p), API_MATCH_NO_ROUTE);
    assert_null(rt);
    for (int i = 0; i < API_MAX_PARAMS; i++)
        assert_null(p[i]);
}

static void test_route_not_built(void **state)
{
    (void)state;
    char *p[API_MAX_PARAMS] = {NULL};
    const api_route *rt = NULL;
    /* routes of the spec not built yet have no handler (they answer 501) */
    assert_int_equal(api_route_match("GET", "/plugins", &rt, p), API_MATCH_OK);
    assert_non_null(rt);
    assert_string_equal(rt->pattern, "/plugins");
    assert_null(rt->handler);
    assert_null(p[0]);

    /* a link's name (/parent/alias) is taken whole by DELETE's catch-all */
    assert_int_equal(api_route_match("DELETE", "/containers/web/db", &rt, p), API_MATCH_OK);
    assert_string_equal(rt->pattern, "/containers/{id*}");
    params_free(p);
    assert_int_equal(api_route_match("PUT", "/volumes/abc", &rt, p), API_MATCH_OK);
    assert_string_equal(rt->pattern, "/volumes/{name}");
    assert_null(rt->handler);
    params_free(p);
    assert_int_equal(api_route_match("POST", "/secrets/create", &rt, p), API_MATCH_OK);
    assert_non_null(rt->handler);

    assert_int_equal(api_route_match("POST", "/containers/abc/start", &rt, p), API_MATCH_OK);
    assert_string_equal(rt->pattern, "/containers/{id}/start");
    assert_non_null(rt->handler);
    assert_string_equal(p[0], "abc");
    params_free(p);

    assert_int_equal(api_route_match("POST", "/containers/create", &rt, p), API_MATCH_OK);
    assert_string_equal(rt->pattern, "/containers/create");
    assert_int_equal(rt->body, API_BODY_JSON);
    assert_null(p[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_split_ok),
        cmocka_unit_test(test_version_split_unversioned),
        cmocka_unit_test(test_version_split_too_new),
        cmocka_unit_test(test_version_split_too_old),
        cmocka_unit_test(test_version_split_malformed),
        cmocka_unit_test(test_pattern_static),
        cmocka_unit_test(test_pattern_param),
        cmocka_unit_test(test_pattern_greedy),
        cmocka_unit_test(test_pattern_refusals),
        cmocka_unit_test(test_pattern_long_path),
        cmocka_unit_test(test_route_images_list_not_inspect),
        cmocka_unit_test(test_route_image_inspect),
        cmocka_unit_test(test_route_image_delete_and_tag),
        cmocka_unit_test(test_route_ping),
        cmocka_unit_test(test_route_none),
        cmocka_unit_test(test_route_not_built),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
