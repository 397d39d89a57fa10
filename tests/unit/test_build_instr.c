/* The builder's config instructions, word expansion and cache key, against
 * what moby's classic dispatchers produce. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/build/builder.h"
#include "runtime/build/instr.h"

static json_t *apply(const char *cfg_text, const char *line, int want_rc, const char *want_msg)
{
    json_t *cfg = json_loads(cfg_text, 0, NULL);
    assert_non_null(cfg);
    json_t *env = json_array();
    json_array_extend(env, json_object_get(cfg, "Env"));
    bf_instr in;
    berr e = {0};
    assert_int_equal(bf_parse_line(line, '\\', &in, &e), 0);
    bool cmd_set = false;
    int rc = bi_apply(cfg, &in, env, &cmd_set, &e);
    if (rc != want_rc)
        fail_msg("%s: rc %d (%s)", line, rc, e.msg);
    if (want_msg)
        assert_string_equal(e.msg, want_msg);
    bf_instr_clear(&in);
    json_decref(env);
    return cfg;
}

static void expect(json_t *cfg, const char *key, const char *want_json)
{
    json_t *want = json_loads(want_json, JSON_DECODE_ANY, NULL);
    json_t *got = json_object_get(cfg, key);
    if (!json_equal(want, got)) {
        char *g = json_dumps(got, JSON_ENCODE_ANY | JSON_SORT_KEYS);
        fail_msg("%s: got %s, want %s", key, g ? g : "(null)", want_json);
    }
    json_decref(want);
    json_decref(cfg);
}

static void test_env_label(void **state)
{
    (void)state;
    expect(apply("{\"Env\":[\"PATH=/bin\"]}", "ENV A=1 PATH=/x:$PATH B=\"two words\"", 0, NULL), "Env",
           "[\"PATH=/x:/bin\",\"A=1\",\"B=two words\"]");
    expect(apply("{}", "ENV LEGACY value with  spaces", 0, NULL), "Env", "[\"LEGACY=value with  spaces\"]");
    expect(apply("{\"Env\":[\"V=1.0\"]}", "LABEL version=$V \"k y\"=z", 0, NULL), "Labels",
           "{\"version\":\"1.0\",\"k y\":\"z\"}");
    json_decref(apply("{}", "ENV", -EINVAL, "env requires at least one argument"));
    json_decref(apply("{}", "LABEL novalue", -EINVAL, "LABEL must have two arguments"));
    expect(apply("{}", "LABEL legacy some value", 0, NULL), "Labels", "{\"legacy\":\"some value\"}");
}

static void test_expansion_modifiers(void **state)
{
    (void)state;
    json_t *env = json_pack("[s,s]", "SET=yes", "EMPTY=");
    const char *cases[][2] = {{"${SET:-d}", "yes"}, {"${NOPE:-d}", "d"}, {"${EMPTY:-d}", "d"}, {"${EMPTY-d}", ""},
                              {"${SET:+alt}", "alt"}, {"${NOPE:+alt}", ""}, {"'$SET'", "$SET"},
                              {"\"$SET\"", "yes"}, {"\\$SET", "$SET"}, {"a${SET}b", "ayesb"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *out = NULL;
        berr e = {0};
        assert_int_equal(bi_expand(cases[i][0], env, &out, &e), 0);
        assert_string_equal(out, cases[i][1]);
        free(out);
    }
    json_decref(env);
}

static void test_commands(void **state)
{
    (void)state;
    expect(apply("{}", "CMD echo hi", 0, NULL), "Cmd", "[\"/bin/sh\",\"-c\",\"echo hi\"]");
    expect(apply("{\"Shell\":[\"/bin/bash\",\"-xc\"]}", "CMD echo hi", 0, NULL), "Cmd",
           "[\"/bin/bash\",\"-xc\",\"echo hi\"]");
    expect(apply("{}", "ENTRYPOINT [\"/e\", \"x\"]", 0, NULL), "Entrypoint", "[\"/e\",\"x\"]");
    /* an ENTRYPOINT drops the base's CMD unless this stage set one */
    expect(apply("{\"Cmd\":[\"old\"]}", "ENTRYPOINT [\"/e\"]", 0, NULL), "Cmd", "null");
    json_decref(apply("{}", "SHELL /bin/bash", -EINVAL, "SHELL requires the arguments to be in JSON form"));
}

static void test_other_config(void **state)
{
    (void)state;
    expect(apply("{}", "EXPOSE 80 53/udp 7000-7001", 0, NULL), "ExposedPorts",
           "{\"80/tcp\":{},\"53/udp\":{},\"7000/tcp\":{},\"7001/tcp\":{}}");
    json_decref(apply("{}", "EXPOSE 80/bogus", -EINVAL, "invalid proto: bogus"));
    expect(apply("{\"WorkingDir\":\"/a\"}", "WORKDIR b/../c", 0, NULL), "WorkingDir", "\"/a/c\"");
    expect(apply("{}", "VOLUME [\"/v1\", \"/v2\"]", 0, NULL), "Volumes", "{\"/v1\":{},\"/v2\":{}}");
    expect(apply("{}", "HEALTHCHECK --interval=1m30s --timeout=3s --retries=4 CMD [\"curl\", \"-f\", \"x\"]", 0,
                 NULL), "Healthcheck",
           "{\"Test\":[\"CMD\",\"curl\",\"-f\",\"x\"],\"Interval\":90000000000,\"Timeout\":3000000000,\"Retries\":4}");
    expect(apply("{}", "HEALTHCHECK NONE", 0, NULL), "Healthcheck", "{\"Test\":[\"NONE\"]}");
    json_decref(apply("{}", "HEALTHCHECK --bogus=1 CMD x", -EINVAL, "Unknown flag: bogus"));
    expect(apply("{}", "ONBUILD RUN echo x", 0, NULL), "OnBuild", "[\"RUN echo x\"]");
    json_decref(apply("{}", "ONBUILD FROM x", -EINVAL, "from isn't allowed as an ONBUILD trigger"));
    expect(apply("{}", "USER app:grp", 0, NULL), "User", "\"app:grp\"");
    expect(apply("{}", "STOPSIGNAL SIGKILL", 0, NULL), "StopSignal", "\"SIGKILL\"");
}

static void test_cache_key(void **state)
{
    (void)state;
    char a[DIGEST_BUF], b[DIGEST_BUF], c[DIGEST_BUF];
    json_t *p1 = json_loads("{\"Cmd\":[\"x\"],\"Env\":[\"A=1\"]}", 0, NULL);
    json_t *p2 = json_loads("{\"Env\":[\"A=1\"],\"Cmd\":[\"x\"]}", 0, NULL);   /* key order does not matter */
    json_t *p3 = json_loads("{\"Env\":[\"A=2\"],\"Cmd\":[\"x\"]}", 0, NULL);
    rt_build_cache_key("sha256:aa", p1, a);
    rt_build_cache_key("sha256:aa", p2, b);
    assert_string_equal(a, b);
    rt_build_cache_key("sha256:aa", p3, c);
    assert_string_not_equal(a, c);
    rt_build_cache_key("sha256:bb", p1, c);   /* another parent, another key */
    assert_string_not_equal(a, c);
    json_decref(p1);
    json_decref(p2);
    json_decref(p3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_label),     cmocka_unit_test(test_expansion_modifiers),
        cmocka_unit_test(test_commands),      cmocka_unit_test(test_other_config),
        cmocka_unit_test(test_cache_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
