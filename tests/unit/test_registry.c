/* The registry client's pure parts: names to hosts and URLs, insecure
 * registries, WWW-Authenticate challenges, X-Registry-Auth, token replies,
 * manifests of the four media types and the platform chosen from a list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "lib/platform.h"
#include "runtime/registry/auth.h"
#include "runtime/registry/endpoint.h"
#include "runtime/registry/fetch.h"
#include "runtime/build/gitctx.h"
#include "runtime/registry/manifest.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static void test_name_split(void **state)
{
    (void)state;
    static const struct {
        const char *in, *index, *host, *repo;
        bool hub;
    } cases[] = {
        {"busybox", "docker.io", "registry-1.docker.io", "library/busybox", true},
        {"team/app", "docker.io", "registry-1.docker.io", "team/app", true},
        {"127.0.0.1:5000/busybox", "127.0.0.1:5000", "127.0.0.1:5000", "busybox", false},
        {"localhost/a/b", "localhost", "localhost", "a/b", false},
        {"reg.example.com/x", "reg.example.com", "reg.example.com", "x", false},
        {"docker.io/a.b/c", "docker.io", "registry-1.docker.io", "a.b/c", true},
        {"[::1]:5000/x", "[::1]:5000", "[::1]:5000", "x", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        reg_name n;
        assert_int_equal(reg_name_split(cases[i].in, &n, NULL), 0);
        assert_string_equal(n.index, cases[i].index);
        assert_string_equal(n.host, cases[i].host);
        assert_string_equal(n.repo, cases[i].repo);
        assert_int_equal(n.hub, cases[i].hub);
    }
    reg_name n;
    berr e = {0};
    assert_int_equal(reg_name_split("", &n, &e), -EINVAL);
}

static void test_urls(void **state)
{
    (void)state;
    char *u = reg_url("https", "127.0.0.1:5000", "library/busybox", "manifests", "latest");
    assert_string_equal(u, "https://127.0.0.1:5000/v2/library/busybox/manifests/latest");
    free(u);
    u = reg_url("http", "h:1", NULL, NULL, NULL);
    assert_string_equal(u, "http://h:1/v2/");
    free(u);
    char index[REG_HOST_MAX], host[REG_HOST_MAX];
    reg_server_split("https://index.docker.io/v1/", index, host);
    assert_string_equal(index, "docker.io");
    assert_string_equal(host, "registry-1.docker.io");
    reg_server_split("", index, host);
    assert_string_equal(host, "registry-1.docker.io");
    reg_server_split("http://127.0.0.1:5001/", index, host);
    assert_string_equal(host, "127.0.0.1:5001");
    reg_server_split("reg:5000", index, host);
    assert_string_equal(index, "reg:5000");
}

/* ADD <url> names its download as moby does; only http(s) is a URL. */
static void test_fetch_names(void **state)
{
    (void)state;
    struct {
        const char *url, *name;
    } cases[] = {
        {"http://h/a/b/file.tar.gz", "file.tar.gz"},
        {"https://h:8080/x?y=/z#frag", "x"},
        {"http://h/dir/", "dir"},
        {"http://h/", NULL},
        {"http://h", NULL},
        {"http://h?q=1", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *n = reg_url_file_name(cases[i].url);
        if (cases[i].name)
            assert_string_equal(n, cases[i].name);
        else
            assert_null(n);
        free(n);
    }
    assert_true(reg_is_url("http://x"));
    assert_true(reg_is_url("https://x"));
    assert_false(reg_is_url("git://x/y.git"));
    assert_false(reg_is_url("x.tar"));
    /* moby's IsGitURL */
    assert_true(bc_is_git_url("git://h/r"));
    assert_true(bc_is_git_url("git@github.com:a/b"));
    assert_true(bc_is_git_url("github.com/a/b"));
    assert_true(bc_is_git_url("https://h/a/b.git#main:dir"));
    assert_false(bc_is_git_url("https://h/a/b.tar"));
    assert_false(bc_is_git_url("https://h/a/b.git.tar"));
}

static void test_insecure(void **state)
{
    (void)state;
    char *list[] = {"10.1.0.0/16", "myreg:5000", "plain", "fd00::/8"};
    reg_options o = {.insecure = list, .n_insecure = 4};
    assert_true(reg_host_insecure(NULL, "127.0.0.1:5000"));
    assert_true(reg_host_insecure(NULL, "127.8.9.1"));
    assert_true(reg_host_insecure(NULL, "localhost:5000"));
    assert_true(reg_host_insecure(NULL, "[::1]:5000"));
    assert_false(reg_host_insecure(NULL, "10.1.2.3:5000"));
    assert_true(reg_host_insecure(&o, "10.1.2.3:5000"));
    assert_false(reg_host_insecure(&o, "10.2.0.1:5000"));
    assert_true(reg_host_insecure(&o, "myreg:5000"));
    assert_false(reg_host_insecure(&o, "myreg:5001"));
    assert_true(reg_host_insecure(&o, "plain:443"));
    assert_true(reg_host_insecure(&o, "[fd12::1]:5000"));
    assert_false(reg_host_insecure(&o, "registry-1.docker.io"));
    berr e = {0};
    assert_int_equal(reg_insecure_entry_valid("10.0.0.0/8", &e), 0);
    assert_int_equal(reg_insecure_entry_valid("reg:5000", &e), 0);
    assert_int_equal(reg_insecure_entry_valid("http://reg:5000", &e), -EINVAL);
    assert_string_equal(e.msg, "insecure registry http://reg:5000 should not contain '://'");
    assert_int_equal(reg_insecure_entry_valid("10.0.0.0/99", &e), -EINVAL);
    assert_int_equal(reg_mirror_valid("https://mirror:5000", &e), 0);
    assert_int_equal(reg_mirror_valid("http://mirror/", &e), 0);
    assert_int_equal(reg_mirror_valid("ftp://mirror", &e), -EINVAL);
    assert_string_equal(e.msg, "invalid mirror: unsupported scheme \"ftp\" in \"ftp://mirror\"");
    assert_int_equal(reg_mirror_valid("https://mirror/path", &e), -EINVAL);
}

static void test_challenge(void **state)
{
    (void)state;
    reg_challenge c;
    assert_int_equal(reg_challenge_parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                                         "scope=\"repository:library/busybox:pull\"",
                                         &c),
                     0);
    assert_string_equal(c.scheme, "bearer");
    assert_string_equal(c.realm, "https://auth.docker.io/token");
    assert_string_equal(c.service, "registry.docker.io");
    assert_string_equal(c.scope, "repository:library/busybox:pull");
    assert_int_equal(reg_challenge_parse("Basic realm=\"Registry Realm\"", &c), 0);
    assert_string_equal(c.scheme, "basic");
    assert_string_equal(c.realm, "Registry Realm");
    /* unquoted values, odd spacing, escapes, unknown keys */
    assert_int_equal(reg_challenge_parse("  bearer  realm = http://t/x , error=\"in\\\"valid\", service=s", &c), 0);
    assert_string_equal(c.realm, "http://t/x");
    assert_string_equal(c.service, "s");
    assert_int_equal(reg_challenge_parse("", &c), -EINVAL);
    assert_int_equal(reg_challenge_parse(NULL, &c), -EINVAL);
    assert_int_equal(reg_challenge_parse("realm=x", &c), -EINVAL);
    /* an unterminated quote ends the value */
    assert_int_equal(reg_challenge_parse("Bearer realm=\"abc", &c), 0);
    assert_string_equal(c.realm, "abc");

    reg_challenge t = {.scheme = "bearer", .realm = "http://t/token", .service = "reg x"};
    char *u = reg_token_url(&t, "library/busybox", "pull,push");
    assert_string_equal(u, "http://t/token?service=reg%20x&scope=repository%3Alibrary%2Fbusybox%3Apull%2Cpush");
    free(u);
    u = reg_token_url(&t, NULL, "pull");
    assert_string_equal(u, "http://t/token?service=reg%20x");
    free(u);
}

static char *b64(const char *s, int variant)
{
    size_t n = sodium_base64_ENCODED_LEN(strlen(s), variant);
    char *out = malloc(n);
    sodium_bin2base64(out, n, (const unsigned char *)s, strlen(s), variant);
    return out;
}

static void test_creds(void **state)
{
    (void)state;
    reg_creds c;
    /* "?>" makes the URL-safe and standard alphabets differ. */
    const char *json = "{\"username\":\"alice\",\"password\":\"s3?>cret\",\"serveraddress\":\"127.0.0.1:5000\"}";
    int variants[] = {sodium_base64_VARIANT_URLSAFE, sodium_base64_VARIANT_URLSAFE_NO_PADDING,
                      sodium_base64_VARIANT_ORIGINAL};
    for (size_t i = 0; i < 3; i++) {
        char *h = b64(json, variants[i]);
        reg_creds_from_header(h, &c);
        assert_string_equal(c.username, "alice");
        assert_string_equal(c.password, "s3?>cret");
        assert_string_equal(c.serveraddress, "127.0.0.1:5000");
        free(h);
    }
    /* "auth" carries user:pass when username is absent */
    char *inner = b64("bob:pw:with:colons", sodium_base64_VARIANT_ORIGINAL);
    char json2[256];
    snprintf(json2, sizeof json2, "{\"auth\":\"%s\"}", inner);
    char *h = b64(json2, sodium_base64_VARIANT_URLSAFE);
    reg_creds_from_header(h, &c);
    assert_string_equal(c.username, "bob");
    assert_string_equal(c.password, "pw:with:colons");
    free(h);
    free(inner);
    /* garbage and "{}" give empty credentials, never an error */
    reg_creds_from_header("!!not base64!!", &c);
    assert_true(reg_creds_empty(&c));
    h = b64("not json", sodium_base64_VARIANT_URLSAFE);
    reg_creds_from_header(h, &c);
    assert_true(reg_creds_empty(&c));
    free(h);
    reg_creds_from_header(NULL, &c);
    assert_true(reg_creds_empty(&c));
    berr e = {0};
    assert_int_equal(reg_creds_from_json("[1]", 3, &c, &e), -EINVAL);
    assert_int_equal(reg_creds_from_json("{\"identitytoken\":\"tok\"}", 23, &c, &e), 0);
    assert_false(reg_creds_empty(&c));
    char hdr[256];
    reg_creds basic = {.username = "alice", .password = "s3cret"};
    reg_basic_header(&basic, hdr, sizeof hdr);
    assert_string_equal(hdr, "Authorization: Basic YWxpY2U6czNjcmV0");
}

/* X-Registry-Config: every login the CLI has, by server; a build's pull
 * takes the one of its registry (Docker Hub's under its v1 address). */
static void test_config_creds(void **state)
{
    (void)state;
    const char *json = "{\"https://index.docker.io/v1/\":{\"username\":\"hub\",\"password\":\"h\"},"
                       "\"127.0.0.1:5000\":{\"username\":\"local\",\"password\":\"l\"},"
                       "\"http://reg.example:5001/\":{\"auth\":\"Ym9iOnB3\"}}";
    char *h = b64(json, sodium_base64_VARIANT_URLSAFE);
    reg_creds c;
    reg_creds_from_config_header(h, "docker.io", &c);
    assert_string_equal(c.username, "hub");
    reg_creds_from_config_header(h, "127.0.0.1:5000", &c);
    assert_string_equal(c.username, "local");
    assert_string_equal(c.password, "l");
    reg_creds_from_config_header(h, "reg.example:5001", &c);
    assert_string_equal(c.username, "bob");
    assert_string_equal(c.password, "pw");
    reg_creds_from_config_header(h, "other:5000", &c);
    assert_true(reg_creds_empty(&c));
    free(h);
    reg_creds_from_config_header("!!", "docker.io", &c);
    assert_true(reg_creds_empty(&c));
    reg_creds_from_config_header(NULL, "docker.io", &c);
    assert_true(reg_creds_empty(&c));
}

static void test_token_reply(void **state)
{
    (void)state;
    char *tok, *ref;
    berr e = {0};
    const char *a = "{\"token\":\"abc\",\"expires_in\":300}";
    assert_int_equal(reg_token_parse(a, strlen(a), &tok, &ref, &e), 0);
    assert_string_equal(tok, "abc");
    assert_null(ref);
    free(tok);
    const char *b = "{\"access_token\":\"xyz\",\"refresh_token\":\"r1\"}";
    assert_int_equal(reg_token_parse(b, strlen(b), &tok, &ref, &e), 0);
    assert_string_equal(tok, "xyz");
    assert_string_equal(ref, "r1");
    free(tok);
    free(ref);
    assert_int_equal(reg_token_parse("{}", 2, &tok, &ref, &e), -EINVAL);
    assert_int_equal(reg_token_parse("junk", 4, &tok, &ref, &e), -EINVAL);
}

static void test_manifest_image(void **state)
{
    (void)state;
    const char *docker = "{\"schemaVersion\":2,\"mediaType\":\"" REG_MT_DOCKER_MANIFEST "\","
                         "\"config\":{\"mediaType\":\"" REG_MT_DOCKER_CONFIG "\",\"size\":7,\"digest\":\"" D1 "\"},"
                         "\"layers\":[{\"mediaType\":\"" REG_MT_DOCKER_LAYER_GZIP "\",\"size\":100,\"digest\":\"" D2 "\"},"
                         "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\",\"size\":5,\"digest\":\"" D3 "\"}]}";
    reg_manifest m;
    berr e = {0};
    assert_int_equal(reg_manifest_parse(REG_MT_DOCKER_MANIFEST, docker, strlen(docker), "x", &m, &e), 0);
    assert_false(m.is_index);
    assert_string_equal(m.config.digest, D1);
    assert_int_equal(m.config.size, 7);
    assert_int_equal(m.n_layers, 2);
    assert_string_equal(m.layers[1].digest, D3);
    assert_int_equal(m.layers[0].size, 100);
    reg_manifest_free(&m);
    /* OCI manifest, Content-Type generic: the document's mediaType decides */
    const char *oci = "{\"schemaVersion\":2,\"mediaType\":\"" REG_MT_OCI_MANIFEST "\","
                      "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"size\":7,\"digest\":\"" D1 "\"},"
                      "\"layers\":[]}";
    assert_int_equal(reg_manifest_parse("application/json; charset=utf-8", oci, strlen(oci), "x", &m, &e), 0);
    assert_string_equal(m.media_type, REG_MT_OCI_MANIFEST);
    assert_int_equal(m.n_layers, 0);
    reg_manifest_free(&m);
    /* OCI without mediaType at all */
    const char *bare = "{\"schemaVersion\":2,\"config\":{\"size\":1,\"digest\":\"" D1 "\"},\"layers\":[]}";
    assert_int_equal(reg_manifest_parse(NULL, bare, strlen(bare), "x", &m, &e), 0);
    reg_manifest_free(&m);
    /* schema 1 is refused with the deprecation notice */
    const char *s1 = "{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[]}";
    assert_int_equal(reg_manifest_parse("application/vnd.docker.distribution.manifest.v1+prettyjws", s1, strlen(s1),
                                        "docker.io/library/old:1", &m, &e),
                     -EINVAL);
    assert_non_null(strstr(e.msg, "[DEPRECATION NOTICE]"));
    assert_non_null(strstr(e.msg, "docker.io/library/old:1"));
    /* malformed documents */
    const char *bad[] = {
        "not json",
        "{\"schemaVersion\":2,\"mediaType\":\"" REG_MT_DOCKER_MANIFEST "\",\"layers\":[]}",
        "{\"schemaVersion\":2,\"mediaType\":\"" REG_MT_DOCKER_MANIFEST "\",\"config\":{\"size\":1,\"digest\":\"md5:x\"},\"layers\":[]}",
        "{\"schemaVersion\":2,\"mediaType\":\"" REG_MT_DOCKER_MANIFEST "\",\"config\":{\"size\":-1,\"digest\":\"" D1 "\"},\"layers\":[]}",
        "{\"schemaVersion\":2,\"mediaType\":\"" REG_MT_DOCKER_MANIFEST "\",\"config\":{\"size\":1,\"digest\":\"" D1 "\"},\"layers\":{}}",
        "{\"schemaVersion\":2,\"mediaType\":\"" REG_MT_DOCKER_MANIFEST "\",\"config\":{\"size\":1,\"digest\":\"" D1 "\"},\"layers\":[7]}",
        "{\"schemaVersion\":2,\"mediaType\":\"text/html\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(reg_manifest_parse(NULL, bad[i], strlen(bad[i]), "x", &m, &e), -EINVAL);
}

static void test_manifest_index(void **state)
{
    (void)state;
    const char *idx = "{\"schemaVersion\":2,\"mediaType\":\"" REG_MT_OCI_INDEX "\",\"manifests\":["
                      "{\"mediaType\":\"" REG_MT_OCI_MANIFEST "\",\"size\":10,\"digest\":\"" D1 "\","
                      "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"
                      "{\"mediaType\":\"" REG_MT_OCI_MANIFEST "\",\"size\":11,\"digest\":\"" D2 "\","
                      "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
                      "{\"mediaType\":\"" REG_MT_OCI_MANIFEST "\",\"size\":12,\"digest\":\"" D3 "\","
                      "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";
    reg_manifest m;
    berr e = {0};
    assert_int_equal(reg_manifest_parse(REG_MT_OCI_INDEX, idx, strlen(idx), "x", &m, &e), 0);
    assert_true(m.is_index);
    assert_int_equal(m.n_manifests, 3);
    reg_platform p;
    size_t i;
    assert_int_equal(reg_platform_parse("linux/arm64", &p, &e), 0);
    assert_int_equal(reg_manifest_select(&m, &p, &i, &e), 0);
    assert_string_equal(m.manifests[i].digest, D2);
    assert_int_equal(reg_platform_parse("linux/arm64/v8", &p, &e), 0);
    assert_int_equal(reg_manifest_select(&m, &p, &i, &e), 0);
    assert_int_equal(i, 1);
    assert_int_equal(reg_platform_parse("Linux/ARM/v7", &p, &e), 0);
    assert_int_equal(reg_manifest_select(&m, &p, &i, &e), 0);
    assert_int_equal(i, 0);
    assert_int_equal(reg_platform_parse("linux/x86_64", &p, &e), 0);
    assert_int_equal(reg_manifest_select(&m, &p, &i, &e), 0);
    assert_int_equal(i, 2);
    assert_int_equal(reg_platform_parse("linux/arm/v6", &p, &e), 0);
    assert_int_equal(reg_manifest_select(&m, &p, &i, &e), -ENOENT);
    assert_string_equal(e.msg, "no matching manifest for linux/arm/v6 in the manifest list entries");
    assert_int_equal(reg_platform_parse("windows/amd64", &p, &e), 0);
    assert_int_equal(reg_manifest_select(&m, &p, &i, &e), -ENOENT);
    reg_manifest_free(&m);
    /* the host's platform by default */
    assert_int_equal(reg_platform_parse("", &p, &e), 0);
    assert_string_equal(p.os, "linux");
    assert_string_equal(p.arch, platform_goarch());
    assert_int_equal(reg_platform_parse("linux//x", &p, &e), -EINVAL);
    assert_int_equal(reg_platform_parse("a/b/c/d", &p, &e), -EINVAL);
}

static void test_manifest_build(void **state)
{
    (void)state;
    reg_descriptor cfg = {.media_type = REG_MT_DOCKER_CONFIG, .digest = D1, .size = 7};
    reg_descriptor ls[] = {{.media_type = REG_MT_DOCKER_LAYER_TAR, .digest = D2, .size = 1024}};
    char *text = reg_manifest_build(&cfg, ls, 1);
    reg_manifest m;
    berr e = {0};
    assert_int_equal(reg_manifest_parse(NULL, text, strlen(text), "x", &m, &e), 0);
    assert_string_equal(m.media_type, REG_MT_DOCKER_MANIFEST);
    assert_string_equal(m.config.digest, D1);
    assert_int_equal(m.n_layers, 1);
    assert_int_equal(m.layers[0].size, 1024);
    assert_string_equal(m.layers[0].media_type, REG_MT_DOCKER_LAYER_TAR);
    assert_non_null(strstr(text, "{\"schemaVersion\":2,\"mediaType\":"));
    reg_manifest_free(&m);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_split),     cmocka_unit_test(test_urls),
        cmocka_unit_test(test_insecure),       cmocka_unit_test(test_challenge),
        cmocka_unit_test(test_creds),          cmocka_unit_test(test_token_reply),
        cmocka_unit_test(test_config_creds),   cmocka_unit_test(test_fetch_names),
        cmocka_unit_test(test_manifest_image), cmocka_unit_test(test_manifest_index),
        cmocka_unit_test(test_manifest_build),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
