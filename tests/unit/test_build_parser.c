/* The Dockerfile parser and .dockerignore matching, against what moby's
 * parser and patternmatcher give for the same input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/build/dockerignore.h"
#include "runtime/build/parser.h"

static void parse_ok(const char *text, bf_file *f)
{
    berr e = {0};
    int rc = bf_parse(text, strlen(text), f, &e);
    if (rc != 0)
        fail_msg("parse failed: %s", e.msg);
}

static void test_continuations_and_comments(void **state)
{
    (void)state;
    bf_file f;
    parse_ok("FROM busybox\n\n# a comment\nRUN echo a \\\n  # inside\n  && echo b\nCMD [\"sh\", \"-c\", \"x\"]\n", &f);
    assert_int_equal(f.n, 3);
    assert_string_equal(f.v[0].cmd, "from");
    assert_int_equal(f.v[1].line, 4);
    assert_string_equal(f.v[1].original, "RUN echo a   && echo b");
    assert_string_equal(f.v[1].rest, "echo a   && echo b");
    assert_false(f.v[1].json);
    assert_true(f.v[2].json);
    assert_int_equal(f.v[2].n_args, 3);
    assert_string_equal(f.v[2].args[2], "x");
    bf_file_clear(&f);
}

static void test_escape_directive(void **state)
{
    (void)state;
    bf_file f;
    parse_ok("# escape=`\nFROM busybox\nRUN echo c:\\dir `\n  more\n", &f);
    assert_int_equal(f.escape, '`');
    assert_int_equal(f.n, 2);
    assert_string_equal(f.v[1].rest, "echo c:\\dir   more");
    bf_file_clear(&f);

    /* a directive after an instruction is a comment */
    parse_ok("FROM busybox\n# escape=`\nRUN a \\\n b\n", &f);
    assert_int_equal(f.escape, '\\');
    assert_string_equal(f.v[1].rest, "a  b");
    bf_file_clear(&f);

    parse_ok("# syntax=docker/dockerfile:1\nFROM x\n", &f);
    assert_int_equal(f.n_warnings, 1);
    bf_file_clear(&f);
}

static void test_flags_and_words(void **state)
{
    (void)state;
    bf_file f;
    parse_ok("FROM busybox AS b\nCOPY --from=b --chown=1:2 \"a b\" c /d/\nENV A=\"x y\" B=z\n", &f);
    assert_int_equal(f.v[1].n_flags, 2);
    assert_string_equal(bf_flag_get(&f.v[1], "from"), "b");
    assert_string_equal(bf_flag_get(&f.v[1], "chown"), "1:2");
    assert_null(bf_flag_get(&f.v[1], "chmod"));
    assert_int_equal(f.v[1].n_args, 3);
    assert_string_equal(f.v[1].args[0], "\"a b\"");
    assert_int_equal(f.v[2].n_args, 2);
    assert_string_equal(f.v[2].args[0], "A=\"x y\"");
    const char *const allowed[] = {"from", NULL};
    berr e = {0};
    assert_int_equal(bf_check_flags(&f.v[1], allowed, &e), -EINVAL);
    assert_string_equal(e.msg, "Unknown flag: chown");
    bf_file_clear(&f);
}

static void test_errors(void **state)
{
    (void)state;
    bf_file f;
    berr e = {0};
    const char *t = "FROM x\n\nFOO bar\n";
    assert_int_equal(bf_parse(t, strlen(t), &f, &e), -EINVAL);
    assert_string_equal(e.msg, "dockerfile parse error on line 3: unknown instruction: FOO");
    t = "FROM x\nRUN <<EOF\necho\nEOF\n";
    assert_int_equal(bf_parse(t, strlen(t), &f, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "heredoc"));
    /* a JSON-looking argument that is not JSON is shell form */
    parse_ok("CMD [\"a\", b]\n", &f);
    assert_false(f.v[0].json);
    bf_file_clear(&f);
}

/* Odd input: no crash, and either a parse or a clear error. */
static void test_odd_input(void **state)
{
    (void)state;
    const char *inputs[] = {"\\", "RUN \\\n", "FROM", "\xef\xbb\xbf" "FROM x\n", "CMD [\"a\", 1]\n", "# escape=\n",
                            "#escape=x\nFROM y\n", "RUN a \\\n\n\n# c\n", "\n\n\n", "ENV \"\n", "COPY --=x a b\n",
                            "ONBUILD\n", "HEALTHCHECK --interval\n"};
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
        bf_file f;
        berr e = {0};
        if (bf_parse(inputs[i], strlen(inputs[i]), &f, &e) == 0)
            bf_file_clear(&f);
        else
            assert_true(e.msg[0] != 0);
    }
    bf_file f;
    berr e = {0};
    const char *bom = "\xef\xbb\xbf" "FROM x\n";
    assert_int_equal(bf_parse(bom, strlen(bom), &f, &e), 0);
    assert_string_equal(f.v[0].cmd, "from");
    bf_file_clear(&f);
    const char *bad_escape = "# escape=x\nFROM y\n";
    assert_int_equal(bf_parse(bad_escape, strlen(bad_escape), &f, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "invalid escape token"));
}

static void test_ignore_patterns(void **state)
{
    (void)state;
    const char *text = "# comment\n*.log\n/build\n!keep.log\ndocs/**/*.md\n  tmp/  \n";
    di_patterns p;
    di_parse(text, strlen(text), &p);
    assert_int_equal(p.n, 5);
    assert_string_equal(p.v[1].pattern, "build");
    assert_true(p.v[2].exclusion);
    assert_string_equal(p.v[4].pattern, "tmp");
    assert_true(di_ignored(&p, "a.log"));
    assert_false(di_ignored(&p, "keep.log"));
    assert_false(di_ignored(&p, "sub/a.log"));   /* '*' does not cross '/' */
    assert_true(di_ignored(&p, "build"));
    assert_true(di_ignored(&p, "build/x/y"));
    assert_true(di_ignored(&p, "docs/a.md"));
    assert_true(di_ignored(&p, "docs/x/y/a.md"));
    assert_false(di_ignored(&p, "docs/a.txt"));
    assert_true(di_ignored(&p, "tmp/z"));
    assert_false(di_ignored(&p, "src/main.c"));
    di_free(&p);

    assert_true(di_match("a?c", "abc", false));
    assert_false(di_match("a?c", "a/c", false));
    assert_true(di_match("[a-c]x", "bx", false));
    assert_false(di_match("[^a-c]x", "bx", false));
    assert_true(di_match("\\*", "*", false));
    assert_true(di_match("**", "any/depth/here", false));
    assert_true(di_match("**/x", "x", false));
    assert_false(di_match("a", "ab", true));

    /* the last match wins */
    text = "*\n!src\nsrc/gen\n";
    di_parse(text, strlen(text), &p);
    assert_true(di_ignored(&p, "README"));
    assert_false(di_ignored(&p, "src/main.c"));
    assert_true(di_ignored(&p, "src/gen/x.c"));
    di_free(&p);
}

static void test_clean_path(void **state)
{
    (void)state;
    const char *cases[][2] = {{"a/./b/../c", "a/c"}, {"/../x", "/x"}, {"../a", "../a"}, {"", "."}, {"a//b/", "a/b"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *c = di_clean_path(cases[i][0]);
        assert_string_equal(c, cases[i][1]);
        free(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_continuations_and_comments),
        cmocka_unit_test(test_escape_directive),
        cmocka_unit_test(test_flags_and_words),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_odd_input),
        cmocka_unit_test(test_ignore_patterns),
        cmocka_unit_test(test_clean_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
