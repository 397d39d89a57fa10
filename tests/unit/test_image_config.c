/* --change lines applied to an image's "config" object, compared with what
 * dockerd's BuildFromConfig produces for the same lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/image/config.h"

/* Applies the changes to the config given as JSON text and compares the
 * result with want (JSON text), key order ignored. */
#define APPLY_OK(cfg_text, want_text, ...)                                              \
    do {                                                                                \
        const char *const ch_[] = {__VA_ARGS__};                                        \
        apply_ok(cfg_text, want_text, ch_, sizeof ch_ / sizeof *ch_, __LINE__);         \
    } while (0)

#define APPLY_ERR(cfg_text, msg, ...)                                                   \
    do {                                                                                \
        const char *const ch_[] = {__VA_ARGS__};                                        \
        apply_err(cfg_text, msg, ch_, sizeof ch_ / sizeof *ch_, __LINE__);              \
    } while (0)

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    if (!j)
        fail_msg("bad test JSON %s: %s", text, je.text);
    return j;
}

static void apply_ok(const char *cfg_text, const char *want_text, const char *const *ch, size_t n,
                     int line)
{
    json_t *cfg = parse(cfg_text);
    json_t *want = parse(want_text);
    berr e = {0};
    int rc = image_config_apply_changes(cfg, ch, n, &e);
    if (rc != 0)
        fail_msg("line %d: unexpected error %d: %s", line, rc, e.msg);
    if (!json_equal(cfg, want)) {
        char *got = json_dumps(cfg, JSON_SORT_KEYS);
        char *exp = json_dumps(want, JSON_SORT_KEYS);
        print_error("line %d:\n got  %s\n want %s\n", line, got, exp);
        free(got);
        free(exp);
        json_decref(cfg);
        json_decref(want);
        fail();
    }
    json_decref(cfg);
    json_decref(want);
}

static void apply_err(const char *cfg_text, const char *msg, const char *const *ch, size_t n,
                      int line)
{
    json_t *cfg = parse(cfg_text);
    json_t *orig = json_deep_copy(cfg);
    berr e = {0};
    int rc = image_config_apply_changes(cfg, ch, n, &e);
    if (rc != -EINVAL || strcmp(e.msg, msg) != 0)
        fail_msg("line %d: want -EINVAL \"%s\", got %d \"%s\"", line, msg, rc, e.msg);
    /* a refused batch changes nothing */
    if (!json_equal(cfg, orig))
        fail_msg("line %d: config changed by a failed batch", line);
    json_decref(cfg);
    json_decref(orig);
}

static void test_cmd_entrypoint(void **state)
{
    (void)state;
    APPLY_OK("{}", "{\"Cmd\":[\"/bin/sh\",\"-c\",\"echo hi there\"]}", "CMD echo hi there");
    APPLY_OK("{}", "{\"Cmd\":[\"echo\",\"hi\"]}", "CMD [\"echo\", \"hi\"]");
    APPLY_OK("{}", "{\"Cmd\":[]}", "CMD []");
    /* not a string array: shell form, as the Dockerfile parser falls back */
    APPLY_OK("{}", "{\"Cmd\":[\"/bin/sh\",\"-c\",\"[1, 2]\"]}", "CMD [1, 2]");
    APPLY_OK("{\"Shell\":[\"/bin/bash\",\"-xc\"]}",
             "{\"Shell\":[\"/bin/bash\",\"-xc\"],\"Cmd\":[\"/bin/bash\",\"-xc\",\"ls $HOME\"]}",
             "cmd ls $HOME");
    /* ENTRYPOINT drops the inherited CMD... */
    APPLY_OK("{\"Cmd\":[\"sh\"]}", "{\"Entrypoint\":[\"/app\"],\"Cmd\":null}",
             "ENTRYPOINT [\"/app\"]");
    APPLY_OK("{}", "{\"Entrypoint\":[\"/bin/sh\",\"-c\",\"exec app\"],\"Cmd\":null}",
             "ENTRYPOINT exec app");
    /* ...but not one set earlier in the same changes, and a later one wins */
    APPLY_OK("{\"Cmd\":[\"sh\"]}", "{\"Entrypoint\":[\"/app\"],\"Cmd\":[\"-v\"]}",
             "CMD [\"-v\"]", "ENTRYPOINT [\"/app\"]");
    APPLY_OK("{\"Cmd\":[\"sh\"]}", "{\"Entrypoint\":[\"/app\"],\"Cmd\":[\"-v\"]}",
             "ENTRYPOINT [\"/app\"]", "CMD [\"-v\"]");
}

static void test_env(void **state)
{
    (void)state;
    APPLY_OK("{}", "{\"Env\":[\"A=1\",\"B=two words\"]}", "ENV A=1 B=\"two words\"");
    APPLY_OK("{\"Env\":[\"PATH=/bin\",\"X=old\"]}", "{\"Env\":[\"PATH=/bin:/opt/bin\",\"X=new\"]}",
             "ENV PATH=$PATH:/opt/bin", "env X=new");
    /* legacy "ENV key value": the rest of the line is the value */
    APPLY_OK("{}", "{\"Env\":[\"GREETING=hello big world\"]}", "ENV GREETING hello big world");
    /* one ENV expands against the Env from before it, as dockerd does */
    APPLY_OK("{\"Env\":[\"A=old\"]}", "{\"Env\":[\"A=new\",\"B=old\",\"C=new\"]}",
             "ENV A=new B=$A", "ENV C=${A}");
    APPLY_OK("{}",
             "{\"Env\":[\"D=fallback\",\"E=\",\"F=lit$X\",\"G=a\\\\b\"]}",
             "ENV D=${NOPE:-fallback} E=${NOPE:+alt} F='lit$X' G=\"a\\\\b\"");
    APPLY_ERR("{}", "ENV requires at least one argument", "ENV");
    APPLY_ERR("{}", "ENV must have two arguments", "ENV ONLYKEY");
    APPLY_ERR("{}",
              "Syntax error - can't find = in \"b\". Must be of the form: name=value",
              "ENV a=1 b");
    APPLY_ERR("{}", "unexpected end of statement while looking for matching double-quote",
              "ENV a=\"open");
}

static void test_expose(void **state)
{
    (void)state;
    APPLY_OK("{\"ExposedPorts\":{\"22/tcp\":{}}}",
             "{\"ExposedPorts\":{\"22/tcp\":{},\"80/tcp\":{},\"53/udp\":{},\"8000/tcp\":{},"
             "\"8001/tcp\":{},\"8002/tcp\":{},\"9/sctp\":{}}}",
             "EXPOSE 80 53/udp 8000-8002/tcp", "expose 9/SCTP");
    APPLY_OK("{\"Env\":[\"PORTS=1 2\"]}",
             "{\"Env\":[\"PORTS=1 2\"],\"ExposedPorts\":{\"1/tcp\":{},\"2/tcp\":{}}}",
             "EXPOSE $PORTS");
    APPLY_ERR("{}", "invalid proto: foo", "EXPOSE 80/foo");
    APPLY_ERR("{}", "invalid containerPort: http", "EXPOSE http");
    APPLY_ERR("{}", "invalid containerPort: 70000", "EXPOSE 70000");
    APPLY_ERR("{}", "EXPOSE requires at least one argument", "EXPOSE");
}

static void test_label_user_volume_workdir(void **state)
{
    (void)state;
    APPLY_OK("{\"Labels\":{\"keep\":\"1\"}}",
             "{\"Labels\":{\"keep\":\"1\",\"a\":\"b\",\"c d\":\"e f\",\"legacy\":\"x y\"}}",
             "LABEL a=b \"c d\"=\"e f\"", "LABEL legacy x y");
    APPLY_OK("{}", "{\"User\":\"nobody:nogroup\"}", "USER nobody:nogroup");
    APPLY_OK("{}", "{\"Volumes\":{\"/data\":{},\"/a\":{},\"/b c\":{}}}", "VOLUME /data",
             "VOLUME [\"/a\", \"/b c\"]");
    APPLY_ERR("{}", "VOLUME specified can not be an empty string", "VOLUME [\"\"]");
    APPLY_OK("{}", "{\"WorkingDir\":\"/app/sub\"}", "WORKDIR /app", "WORKDIR sub/./");
    APPLY_OK("{\"WorkingDir\":\"/srv\"}", "{\"WorkingDir\":\"/b\"}", "WORKDIR /a/../b//");
    APPLY_OK("{}", "{\"WorkingDir\":\"/rel\"}", "WORKDIR rel");
    APPLY_OK("{\"Env\":[\"D=/opt\"]}", "{\"Env\":[\"D=/opt\"],\"WorkingDir\":\"/opt/x\"}",
             "WORKDIR $D/x");
    APPLY_ERR("{}", "WORKDIR requires exactly one argument", "WORKDIR");
}

static void test_stopsignal_onbuild(void **state)
{
    (void)state;
    APPLY_OK("{}", "{\"StopSignal\":\"SIGKILL\"}", "STOPSIGNAL SIGKILL");
    APPLY_OK("{}", "{\"StopSignal\":\"term\"}", "STOPSIGNAL term");
    APPLY_OK("{}", "{\"StopSignal\":\"9\"}", "STOPSIGNAL 9");
    APPLY_OK("{}", "{\"StopSignal\":\"SIGRTMIN+3\"}", "STOPSIGNAL SIGRTMIN+3");
    APPLY_ERR("{}", "Invalid signal: SIGFOO", "STOPSIGNAL SIGFOO");
    APPLY_ERR("{}", "Invalid signal: 0", "STOPSIGNAL 0");
    APPLY_OK("{\"OnBuild\":[\"RUN a\"]}", "{\"OnBuild\":[\"RUN a\",\"RUN echo $HOME\"]}",
             "ONBUILD RUN echo $HOME");
    APPLY_ERR("{}", "FROM isn't allowed as an ONBUILD trigger", "ONBUILD from x");
    APPLY_ERR("{}", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed", "ONBUILD ONBUILD RUN x");
}

static void test_healthcheck(void **state)
{
    (void)state;
    APPLY_OK("{}",
             "{\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"curl -f http://localhost/\"],"
             "\"Interval\":5000000000,\"Timeout\":3000000000,\"Retries\":3}}",
             "HEALTHCHECK --interval=5s --timeout=3s --retries=3 CMD curl -f http://localhost/");
    APPLY_OK("{}",
             "{\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"],\"Interval\":5400000000000,"
             "\"StartPeriod\":500000000,\"StartInterval\":1500000000}}",
             "HEALTHCHECK --start-period=500ms --interval=1h30m --start-interval=1.5s CMD [\"true\"]");
    APPLY_OK("{\"Healthcheck\":{\"Test\":[\"CMD\",\"x\"],\"Retries\":2}}",
             "{\"Healthcheck\":{\"Test\":[\"NONE\"]}}", "healthcheck none");
    APPLY_OK("{}", "{\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"x\"]}}",
             "HEALTHCHECK --interval=0 --retries=0 CMD x");
    APPLY_ERR("{}", "Interval \"interval\" cannot be less than 1ms",
              "HEALTHCHECK --interval=10us CMD x");
    APPLY_ERR("{}", "time: invalid duration \"abc\"", "HEALTHCHECK --timeout=abc CMD x");
    APPLY_ERR("{}", "time: missing unit in duration \"10\"", "HEALTHCHECK --timeout=10 CMD x");
    APPLY_ERR("{}", "--retries cannot be negative (-1)", "HEALTHCHECK --retries=-1 CMD x");
    APPLY_ERR("{}", "Unknown flag: bogus", "HEALTHCHECK --bogus=1 CMD x");
    APPLY_ERR("{}", "Unknown type \"RUN\" in HEALTHCHECK (try CMD)", "HEALTHCHECK RUN x");
    APPLY_ERR("{}", "Missing command after HEALTHCHECK CMD", "HEALTHCHECK CMD");
    APPLY_ERR("{}", "HEALTHCHECK NONE takes no arguments", "HEALTHCHECK NONE x");
}

static void test_invalid_and_atomic(void **state)
{
    (void)state;
    /* the instruction as the user wrote it, like dockerd */
    APPLY_ERR("{}", "FROM is not a valid change command", "FROM busybox");
    APPLY_ERR("{}", "run is not a valid change command", "run echo hi");
    APPLY_ERR("{}", "MAINTAINER is not a valid change command", "MAINTAINER me");
    /* a bad line anywhere refuses the whole batch */
    APPLY_ERR("{\"Env\":[\"A=0\"]}", "COPY is not a valid change command", "ENV A=1",
              "COPY a b");
    APPLY_ERR("{\"Env\":[\"A=0\"]}", "invalid proto: foo", "ENV A=1", "EXPOSE 80/foo");

    /* several instructions in one string, continuations and comments */
    APPLY_OK("{}", "{\"Env\":[\"A=1\"],\"User\":\"me\",\"Cmd\":[\"/bin/sh\",\"-c\",\"a  b\"]}",
             "ENV A=1\n# comment\n\nUSER me  ", "CMD a \\\n  \n# c\n b");
    /* no changes at all */
    json_t *cfg = json_pack("{s[s]}", "Cmd", "sh");
    assert_int_equal(image_config_apply_changes(cfg, NULL, 0, NULL), 0);
    json_decref(cfg);

    berr e = {0};
    json_t *arr = json_array();
    const char *const ch[] = {"USER x"};
    assert_int_equal(image_config_apply_changes(arr, ch, 1, &e), -EINVAL);
    json_decref(arr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmd_entrypoint),
        cmocka_unit_test(test_env),
        cmocka_unit_test(test_expose),
        cmocka_unit_test(test_label_user_volume_workdir),
        cmocka_unit_test(test_stopsignal_onbuild),
        cmocka_unit_test(test_healthcheck),
        cmocka_unit_test(test_invalid_and_atomic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
