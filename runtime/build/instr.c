/* Config instructions and word expansion (see instr.h). */
#include "runtime/build/instr.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/timefmt.h"
#include "runtime/build/dockerignore.h"
#include "runtime/image/shell_words.h"

int bi_expand(const char *word, json_t *env, char **out, berr *e)
{
    json_t *empty = NULL;
    if (!env)
        env = empty = json_array();
    int r = shell_expand_word(word, env, out, e);
    json_decref(empty);
    return r;
}

void bi_env_set(json_t *env, const char *key, const char *value)
{
    size_t kl = strlen(key), i;
    json_t *v;
    cleanup_free char *kv = xasprintf("%s=%s", key, value);
    json_array_foreach(env, i, v) {
        const char *s = json_string_value(v);
        if (s && !strncmp(s, key, kl) && s[kl] == '=') {
            json_array_set_new(env, i, json_string(kv));
            return;
        }
    }
    json_array_append_new(env, json_string(kv));
}

int bi_pairs(const bf_instr *in, json_t *env, bool legacy_ok, json_t **out, berr *e)
{
    json_t *o = json_object();
    if (in->n_args == 0) {
        json_decref(o);
        return berr_set(e, -EINVAL, "%s requires at least one argument", in->cmd);
    }
    if (!strchr(in->args[0], '=')) {
        if (!legacy_ok || in->n_args < 2) {
            json_decref(o);
            return berr_set(e, -EINVAL, "%s must have two arguments", !strcmp(in->cmd, "env") ? "ENV" : "LABEL");
        }
        /* legacy "ENV KEY value with spaces": the rest of the line */
        const char *rest = in->rest + strlen(in->args[0]);
        while (*rest == ' ' || *rest == '\t')
            rest++;
        cleanup_free char *v = NULL;
        int r = bi_expand(rest, env, &v, e);
        if (r < 0) {
            json_decref(o);
            return r;
        }
        json_object_set_new(o, in->args[0], json_string(v));
        *out = o;
        return 0;
    }
    for (size_t i = 0; i < in->n_args; i++) {
        cleanup_free char *w = NULL;
        if (!strchr(in->args[i], '=')) {
            json_decref(o);
            return berr_set(e, -EINVAL, "Syntax error - can't find = in \"%s\". Must be of the form: name=value",
                            in->args[i]);
        }
        int r = bi_expand(in->args[i], env, &w, e);
        if (r < 0) {
            json_decref(o);
            return r;
        }
        char *eq = strchr(w, '=');
        if (!eq || eq == w) {
            json_decref(o);
            return berr_set(e, -EINVAL, "%s names can not be blank", !strcmp(in->cmd, "env") ? "ENV" : "LABEL");
        }
        *eq = 0;
        json_object_set_new(o, w, json_string(eq + 1));
    }
    *out = o;
    return 0;
}

json_t *bi_shell_cmd(const json_t *config, const char *cmd)
{
    json_t *shell = json_object_get(config, "Shell");
    json_t *a = json_array_size(shell) ? json_deep_copy(shell) : json_pack("[s,s]", "/bin/sh", "-c");
    json_array_append_new(a, json_string(cmd));
    return a;
}

static json_t *command(const json_t *config, const bf_instr *in)
{
    if (in->json) {
        json_t *a = json_array();
        for (size_t i = 0; i < in->n_args; i++)
            json_array_append_new(a, json_string(in->args[i]));
        return a;
    }
    return bi_shell_cmd(config, in->rest);
}

static json_t *obj(json_t *config, const char *key)
{
    json_t *o = json_object_get(config, key);
    if (!json_is_object(o)) {
        o = json_object();
        json_object_set_new(config, key, o);
    }
    return o;
}

static int expose(json_t *config, const bf_instr *in, json_t *env, berr *e)
{
    if (in->n_args == 0)
        return berr_set(e, -EINVAL, "EXPOSE requires at least one argument");
    json_t *ports = obj(config, "ExposedPorts");
    for (size_t i = 0; i < in->n_args; i++) {
        cleanup_free char *w = NULL;
        int r = bi_expand(in->args[i], env, &w, e);
        if (r < 0)
            return r;
        char *proto = strchr(w, '/');
        if (proto)
            *proto++ = 0;
        if (proto && strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
            return berr_set(e, -EINVAL, "invalid proto: %s", proto);
        char *end;
        long lo = strtol(w, &end, 10), hi = lo;
        if (*end == '-')
            hi = strtol(end + 1, &end, 10);
        if (*end || end == w || lo < 1 || hi > 65535 || hi < lo)
            return berr_set(e, -EINVAL, "invalid containerPort: %s", w);
        for (long p = lo; p <= hi; p++) {
            char key[32];
            snprintf(key, sizeof key, "%ld/%s", p, proto ? proto : "tcp");
            json_object_set_new(ports, key, json_object());
        }
    }
    return 0;
}

static int healthcheck(json_t *config, const bf_instr *in, berr *e)
{
    static const char *const flags[] = {"interval", "timeout", "start-period", "start-interval", "retries", NULL};
    int r = bf_check_flags(in, flags, e);
    if (r < 0)
        return r;
    if (in->n_args == 0)
        return berr_set(e, -EINVAL, "HEALTHCHECK requires an argument");
    const char *rest = in->rest;
    if (!strcasecmp(in->args[0], "NONE")) {
        if (in->n_args > 1 || in->n_flags)
            return berr_set(e, -EINVAL, "HEALTHCHECK NONE takes no arguments");
        json_object_set_new(config, "Healthcheck", json_pack("{s:[s]}", "Test", "NONE"));
        return 0;
    }
    if (strcasecmp(in->args[0], "CMD"))
        return berr_set(e, -EINVAL, "Unknown type \"%s\" in HEALTHCHECK (try CMD)", in->args[0]);
    rest += 3;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    if (!*rest)
        return berr_set(e, -EINVAL, "Missing command after HEALTHCHECK CMD");
    json_t *test = json_array();
    json_t *ja = *rest == '[' ? json_loads(rest, 0, NULL) : NULL;
    size_t k;
    json_t *el;
    json_array_foreach(ja, k, el) if (!json_is_string(el))
    {
        json_decref(ja);
        ja = NULL;   /* not a JSON string array: shell form, as the parser decides */
        break;
    }
    if (json_is_array(ja)) {
        json_array_append_new(test, json_string("CMD"));
        json_array_extend(test, ja);
    } else {
        json_array_append_new(test, json_string("CMD-SHELL"));
        json_array_append_new(test, json_string(rest));
    }
    json_decref(ja);
    json_t *hc = json_pack("{s:o}", "Test", test);
    static const char *const dur[][2] = {{"interval", "Interval"}, {"timeout", "Timeout"},
                                         {"start-period", "StartPeriod"}, {"start-interval", "StartInterval"}};
    for (size_t i = 0; i < 4; i++) {
        const char *v = bf_flag_get(in, dur[i][0]);
        if (!v)
            continue;
        long long ns;
        if (time_parse_duration(v, &ns) < 0 || ns < 0) {
            json_decref(hc);
            return berr_set(e, -EINVAL, "time: invalid duration \"%s\"", v);
        }
        if (ns && ns < 1000000) {
            json_decref(hc);
            return berr_set(e, -EINVAL, "Interval \"%s\" cannot be less than 1ms", dur[i][0]);
        }
        json_object_set_new(hc, dur[i][1], json_integer(ns));
    }
    const char *rv = bf_flag_get(in, "retries");
    if (rv) {
        char *end;
        long n = strtol(rv, &end, 10);
        if (*end || end == rv || n < 0) {
            json_decref(hc);
            return berr_set(e, -EINVAL, "--retries must be a non-negative integer, got \"%s\"", rv);
        }
        json_object_set_new(hc, "Retries", json_integer(n));
    }
    json_object_set_new(config, "Healthcheck", hc);
    return 0;
}

int bi_apply(json_t *config, const bf_instr *in, json_t *env, bool *cmd_set, berr *e)
{
    const char *c = in->cmd;
    if (strcmp(c, "healthcheck") && in->n_flags)
        return berr_set(e, -EINVAL, "Unknown flag: %s", in->flags[0].name);
    if (!strcmp(c, "env") || !strcmp(c, "label")) {
        json_t *pairs;
        int r = bi_pairs(in, env, true, &pairs, e);
        if (r < 0)
            return r;
        const char *k;
        json_t *v;
        if (!strcmp(c, "env")) {
            json_t *list = json_object_get(config, "Env");
            if (!json_is_array(list)) {
                list = json_array();
                json_object_set_new(config, "Env", list);
            }
            json_object_foreach(pairs, k, v) {
                bi_env_set(list, k, json_string_value(v));
                if (env && env != list)
                    bi_env_set(env, k, json_string_value(v));   /* later words of this step see it */
            }
        } else {
            json_t *labels = obj(config, "Labels");
            json_object_foreach(pairs, k, v) json_object_set(labels, k, v);
        }
        json_decref(pairs);
        return 0;
    }
    if (!strcmp(c, "cmd") || !strcmp(c, "entrypoint")) {
        json_t *cmd = command(config, in);
        if (!in->json && !*in->rest && !strcmp(c, "entrypoint")) {
            json_decref(cmd);
            cmd = json_null();
        }
        json_object_set_new(config, !strcmp(c, "cmd") ? "Cmd" : "Entrypoint", cmd);
        if (!strcmp(c, "cmd"))
            *cmd_set = true;
        else if (!*cmd_set)
            json_object_set_new(config, "Cmd", json_null());
        return 0;
    }
    if (!strcmp(c, "expose"))
        return expose(config, in, env, e);
    if (!strcmp(c, "volume")) {
        if (in->n_args == 0)
            return berr_set(e, -EINVAL, "VOLUME requires at least one argument");
        json_t *vols = obj(config, "Volumes");
        for (size_t i = 0; i < in->n_args; i++) {
            cleanup_free char *w = NULL;
            int r = in->json ? (w = xstrdup(in->args[i]), 0) : bi_expand(in->args[i], env, &w, e);
            if (r < 0)
                return r;
            if (!*w)
                return berr_set(e, -EINVAL, "VOLUME specified can not be an empty string");
            json_object_set_new(vols, w, json_object());
        }
        return 0;
    }
    if (!strcmp(c, "workdir") || !strcmp(c, "user") || !strcmp(c, "stopsignal")) {
        if (in->n_args == 0)
            return berr_set(e, -EINVAL, "%s requires exactly one argument", !strcmp(c, "user") ? "USER"
                            : !strcmp(c, "workdir") ? "WORKDIR" : "STOPSIGNAL");
        cleanup_free char *w = NULL;
        int r = bi_expand(in->rest, env, &w, e);
        if (r < 0)
            return r;
        if (!strcmp(c, "workdir")) {
            const char *cur = json_string_value(json_object_get(config, "WorkingDir"));
            cleanup_free char *joined = w[0] == '/' ? xstrdup(w) : xasprintf("%s/%s", cur && *cur ? cur : "/", w);
            char *clean = di_clean_path(joined);
            json_object_set_new(config, "WorkingDir", json_string(clean));
            free(clean);
        } else {
            json_object_set_new(config, !strcmp(c, "user") ? "User" : "StopSignal", json_string(w));
        }
        return 0;
    }
    if (!strcmp(c, "shell")) {
        if (!in->json)
            return berr_set(e, -EINVAL, "SHELL requires the arguments to be in JSON form");
        if (in->n_args == 0)
            return berr_set(e, -EINVAL, "SHELL requires at least one argument");
        json_object_set_new(config, "Shell", command(config, in));
        return 0;
    }
    if (!strcmp(c, "healthcheck"))
        return healthcheck(config, in, e);
    if (!strcmp(c, "onbuild")) {
        bf_instr t;
        int r = bf_parse_line(in->rest, '\\', &t, e);
        if (r < 0)
            return r;
        if (!strcmp(t.cmd, "onbuild") || !strcmp(t.cmd, "from") || !strcmp(t.cmd, "maintainer")) {
            r = berr_set(e, -EINVAL, "%s isn't allowed as an ONBUILD trigger",
                         !strcmp(t.cmd, "onbuild") ? "Chaining ONBUILD via `ONBUILD ONBUILD`" : t.cmd);
            bf_instr_clear(&t);
            return r;
        }
        bf_instr_clear(&t);
        json_t *ob = json_object_get(config, "OnBuild");
        if (!json_is_array(ob)) {
            ob = json_array();
            json_object_set_new(config, "OnBuild", ob);
        }
        json_array_append_new(ob, json_string(in->rest));
        return 0;
    }
    if (!strcmp(c, "maintainer"))
        return 0;   /* the author: the builder keeps it per stage (steps.c) */
    return berr_set(e, -EINVAL, "unknown instruction: %s", c);
}
