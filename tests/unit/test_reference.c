/* Reference parsing against the behaviour of Docker's reference package
 * (ParseNormalizedNamed + FamiliarString), case by case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/reference.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEX32 "0123456789abcdef0123456789abcdef"

typedef struct valid_case {
    const char *in;
    const char *name;
    const char *tag;
    const char *digest;
    const char *full;   /* ref_format_full */
} valid_case;

static const valid_case valid[] = {
    {"busybox", "busybox", "", "", "docker.io/library/busybox"},
    {"busybox:1.36", "busybox", "1.36", "", "docker.io/library/busybox:1.36"},
    {"docker.io/library/busybox:1.36", "busybox", "1.36", "", "docker.io/library/busybox:1.36"},
    {"docker.io/busybox", "busybox", "", "", "docker.io/library/busybox"},
    {"library/busybox", "busybox", "", "", "docker.io/library/busybox"},
    {"index.docker.io/library/x", "x", "", "", "docker.io/library/x"},
    {"index.docker.io/myorg/x:1", "myorg/x", "1", "", "docker.io/myorg/x:1"},
    {"myorg/app", "myorg/app", "", "", "docker.io/myorg/app"},
    {"docker.io/myorg/app", "myorg/app", "", "", "docker.io/myorg/app"},
    {"library/foo/bar", "library/foo/bar", "", "", "docker.io/library/foo/bar"},
    {"localhost:5000/foo/bar:tag", "localhost:5000/foo/bar", "tag", "",
     "localhost:5000/foo/bar:tag"},
    {"localhost/foo", "localhost/foo", "", "", "localhost/foo"},
    {"localhost", "localhost", "", "", "docker.io/library/localhost"},
    /* a Hub path whose first element reads as a host keeps docker.io
     * (fuzz_reference found "docker.io/docker.io/x/y" losing it) */
    {"docker.io/lr.io/doc", "docker.io/lr.io/doc", "", "", "docker.io/lr.io/doc"},
    {"docker.io/docker.io/lr.io/doc", "docker.io/docker.io/lr.io/doc", "", "", "docker.io/docker.io/lr.io/doc"},
    {"docker.io/localhost/x", "docker.io/localhost/x", "", "", "docker.io/localhost/x"},
    {"foo:5000", "foo", "5000", "", "docker.io/library/foo:5000"},
    {"foo/bar@sha256:" HEX64, "foo/bar", "", "sha256:" HEX64,
     "docker.io/foo/bar@sha256:" HEX64},
    {"busybox:latest@sha256:" HEX64, "busybox", "latest", "sha256:" HEX64,
     "docker.io/library/busybox:latest@sha256:" HEX64},
    {"reg.example.com/a/b/c:v1.0-rc_1", "reg.example.com/a/b/c", "v1.0-rc_1", "",
     "reg.example.com/a/b/c:v1.0-rc_1"},
    {"127.0.0.1:5000/x", "127.0.0.1:5000/x", "", "", "127.0.0.1:5000/x"},
    {"[::1]:5000/foo:tag", "[::1]:5000/foo", "tag", "", "[::1]:5000/foo:tag"},
    {"[fe80::1]/foo", "[fe80::1]/foo", "", "", "[fe80::1]/foo"},
    {"a__b/c-d.e---f_g", "a__b/c-d.e---f_g", "", "", "docker.io/a__b/c-d.e---f_g"},
    {"Foo/bar", "Foo/bar", "", "", "Foo/bar"},   /* an uppercase first element is a host */
    {"sub.Example.COM/x", "sub.Example.COM/x", "", "", "sub.Example.COM/x"},
    {"busybox:A_tag", "busybox", "A_tag", "", "docker.io/library/busybox:A_tag"},
};

typedef struct invalid_case {
    const char *in;
    const char *msg;
} invalid_case;

static const invalid_case invalid[] = {
    {"", "invalid reference format"},
    {"Busybox", "invalid reference format: repository name (library/Busybox) must be lowercase"},
    {"myorg/App:1", "invalid reference format: repository name (myorg/App) must be lowercase"},
    {"localhost:5000/Foo",
     "invalid reference format: repository name (Foo) must be lowercase"},
    {"a:b:c", "invalid reference format"},
    {":tag", "invalid reference format"},
    {"busybox:", "invalid reference format"},
    {"busybox@", "invalid reference format"},
    {"busybox:-x", "invalid reference format"},
    {"busybox:.x", "invalid reference format"},
    {"busybox:a/b", "invalid reference format"},
    {"foo_/bar", "invalid reference format"},
    {"-foo", "invalid reference format"},
    {"foo..bar", "invalid reference format"},
    {"foo___bar", "invalid reference format"},
    {"foo/", "invalid reference format"},
    {"/foo", "invalid reference format"},
    {"foo//bar", "invalid reference format"},
    {"foo bar", "invalid reference format"},
    {"localhost:abc/foo", "invalid reference format"},
    {"localhost:/foo", "invalid reference format"},
    {"-host.io/foo", "invalid reference format"},
    {"[zz::1]/foo", "invalid reference format"},
    {"busybox@sha256:abc", "invalid reference format"},
    {"busybox@sha256:" HEX32, "invalid checksum digest length"},
    {"busybox@md5:" HEX32, "unsupported digest algorithm"},
    {"busybox@sha256:ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789",
     "invalid checksum digest format"},
    {"busybox@sha256:" HEX64 ":x", "invalid reference format"},
    {HEX64, "invalid repository name (" HEX64 "), cannot specify 64-byte hexadecimal strings"},
};

static void test_valid_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof valid / sizeof *valid; i++) {
        const valid_case *c = &valid[i];
        image_ref r;
        berr e = {0};
        int rc = ref_parse(c->in, &r, &e);
        if (rc != 0)
            fail_msg("%s: unexpected error %s", c->in, e.msg);
        assert_string_equal(r.name, c->name);
        assert_string_equal(r.tag, c->tag);
        assert_string_equal(r.digest, c->digest);
        char full[600];
        ref_format_full(&r, full, sizeof full);
        assert_string_equal(full, c->full);
        /* the familiar form parses back to the same reference */
        char fam[600];
        image_ref again;
        ref_format(&r, fam, sizeof fam);
        assert_int_equal(ref_parse(fam, &again, NULL), 0);
        assert_memory_equal(&again, &r, sizeof r);
    }
}

static void test_invalid_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++) {
        image_ref r;
        berr e = {0};
        int rc = ref_parse(invalid[i].in, &r, &e);
        if (rc != -EINVAL)
            fail_msg("%s: expected -EINVAL, got %d (name %s)", invalid[i].in, rc, r.name);
        assert_string_equal(e.msg, invalid[i].msg);
    }
    assert_int_equal(ref_parse(NULL, &(image_ref){0}, NULL), -EINVAL);
}

static void test_length_limits(void **state)
{
    (void)state;
    char s[600];
    image_ref r;
    berr e = {0};
    /* the limit applies to the path, "library/" included, as in Docker */
    memset(s, 'a', 247);
    s[247] = 0;
    assert_int_equal(ref_parse(s, &r, &e), 0);
    assert_int_equal(strlen(r.name), 247);
    memset(s, 'a', 248);
    s[248] = 0;
    assert_int_equal(ref_parse(s, &r, &e), -EINVAL);
    assert_string_equal(e.msg, "repository name must not be more than 255 characters");
    memset(s, 'a', 255);
    memcpy(s, "myorg/", 6);
    s[255] = 0;
    assert_int_equal(ref_parse(s, &r, &e), 0);
    s[255] = 'a';
    s[256] = 0;
    assert_int_equal(ref_parse(s, &r, &e), -EINVAL);
    assert_string_equal(e.msg, "repository name must not be more than 255 characters");
    /* a registry host pushing the familiar name over the limit */
    snprintf(s, sizeof s, "reg.example.com/");
    memset(s + 16, 'b', 250);
    s[266] = 0;
    assert_int_equal(ref_parse(s, &r, &e), -EINVAL);

    /* tags: 128 characters at most */
    char tag[140];
    memset(tag, 'x', 128);
    tag[128] = 0;
    snprintf(s, sizeof s, "busybox:%s", tag);
    assert_int_equal(ref_parse(s, &r, &e), 0);
    assert_string_equal(r.tag, tag);
    snprintf(s, sizeof s, "busybox:%sx", tag);
    assert_int_equal(ref_parse(s, &r, &e), -EINVAL);
    assert_string_equal(e.msg, "invalid reference format");
}

static void test_parse_name(void **state)
{
    (void)state;
    image_ref r;
    berr e = {0};
    assert_int_equal(ref_parse_name("busybox", &r, &e), 0);
    assert_string_equal(r.name, "busybox");
    assert_int_equal(ref_parse_name("docker.io/myorg/app", &r, &e), 0);
    assert_string_equal(r.name, "myorg/app");
    assert_int_equal(ref_parse_name("busybox:1", &r, &e), -EINVAL);
    assert_string_equal(e.msg, "invalid reference format");
    assert_int_equal(ref_parse_name("busybox@sha256:" HEX64, &r, &e), -EINVAL);
    assert_string_equal(e.msg, "invalid reference format");
    assert_int_equal(ref_parse_name("Busybox", &r, &e), -EINVAL);
    assert_string_equal(e.msg,
                        "invalid reference format: repository name (library/Busybox) must be lowercase");
}

static void test_tag_valid(void **state)
{
    (void)state;
    assert_true(ref_tag_valid("latest"));
    assert_true(ref_tag_valid("A_b.c-d"));
    assert_true(ref_tag_valid("_x"));
    assert_true(ref_tag_valid("1"));
    assert_false(ref_tag_valid(""));
    assert_false(ref_tag_valid(NULL));
    assert_false(ref_tag_valid("-x"));
    assert_false(ref_tag_valid(".x"));
    assert_false(ref_tag_valid("a:b"));
    assert_false(ref_tag_valid("a/b"));
    char t[131];
    memset(t, 'a', 128);
    t[128] = 0;
    assert_true(ref_tag_valid(t));
    t[128] = 'a';
    t[129] = 0;
    assert_false(ref_tag_valid(t));
}

static void test_format_and_default_tag(void **state)
{
    (void)state;
    image_ref r;
    char out[600];
    assert_int_equal(ref_parse("busybox", &r, NULL), 0);
    ref_default_tag(&r);
    assert_string_equal(r.tag, "latest");
    ref_format(&r, out, sizeof out);
    assert_string_equal(out, "busybox:latest");
    ref_format_full(&r, out, sizeof out);
    assert_string_equal(out, "docker.io/library/busybox:latest");

    /* a digest reference gets no default tag */
    assert_int_equal(ref_parse("foo/bar@sha256:" HEX64, &r, NULL), 0);
    ref_default_tag(&r);
    assert_string_equal(r.tag, "");
    ref_format(&r, out, sizeof out);
    assert_string_equal(out, "foo/bar@sha256:" HEX64);

    assert_int_equal(ref_parse("reg:5000/x:1@sha256:" HEX64, &r, NULL), 0);
    ref_format(&r, out, sizeof out);
    assert_string_equal(out, "reg:5000/x:1@sha256:" HEX64);

    /* truncation is safe */
    assert_int_equal(ref_parse("busybox:latest", &r, NULL), 0);
    ref_format_full(&r, out, 10);
    assert_string_equal(out, "docker.io");
    ref_format(&r, out, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_table),
        cmocka_unit_test(test_invalid_table),
        cmocka_unit_test(test_length_limits),
        cmocka_unit_test(test_parse_name),
        cmocka_unit_test(test_tag_valid),
        cmocka_unit_test(test_format_and_default_tag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
