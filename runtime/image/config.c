/* `--change` lines for docker commit / docker import, applied the way
 * dockerd's BuildFromConfig does: the lines are joined and read as a
 * Dockerfile, every instruction is checked against the commit whitelist
 * before any is applied, and each one then changes the config exactly as the
 * classic builder's dispatcher would (including its variable expansion from
 * the config's own Env).  All lines are applied to a copy, so a bad line
 * leaves the caller's config untouched. */
#include "runtime/image/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "runtime/image/shell_words.h"

typedef struct strv {
    char **v;
    size_t n;
} strv;

static void strv_push(strv *s, char *owned)
{
    s->v = xrealloc(s->v, (s->n + 1) * sizeof *s->v);
    s->v[s->n++] = owned;
}

static void strv_free(strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}
#define cleanup_strv __attribute__((cleanup(strv_free)))

static const char *skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    return s;
}

/* Whitespace-separated words, quotes and escapes kept (the parser's
 * parseWords: expansion happens later, word by word). */
static void split_words_quoted(const char *s, strv *out)
{
    s = skip_ws(s);
    while (*s) {
        const char *start = s;
        char quote = 0;
        for (; *s; s++) {
            if (quote) {
                if (*s == '\\' && quote == '"' && s[1])
                    s++;
                else if (*s == quote)
                    quote = 0;
            } else if (*s == '\\' && s[1]) {
                s++;
            } else if (*s == '"' || *s == '\'') {
                quote = *s;
            } else if (isspace((unsigned char)*s)) {
                break;
            }
        }
        strv_push(out, xstrndup(start, (size_t)(s - start)));
        s = skip_ws(s);
    }
}

static void split_ws(const char *s, strv *out)
{
    s = skip_ws(s);
    while (*s) {
        size_t n = strcspn(s, " \t\r\n");
        strv_push(out, xstrndup(s, n));
        s = skip_ws(s + n);
    }
}

/* JSON exec form: an array of strings, nothing else (parseJSON). */
static json_t *parse_json_strings(const char *s)
{
    s = skip_ws(s);
    if (*s != '[')
        return NULL;
    json_t *a = json_loads(s, 0, NULL);
    if (!json_is_array(a)) {
        json_decref(a);
        return NULL;
    }
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        if (!json_is_string(v)) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* CMD/ENTRYPOINT: exec form as given, shell form through the config's
 * Shell (default /bin/sh -c). */
static json_t *command_line(json_t *cfg, const char *rest)
{
    json_t *a = parse_json_strings(rest);
    if (a)
        return a;
    json_t *shell = json_object_get(cfg, "Shell");
    if (json_is_array(shell) && json_array_size(shell) > 0)
        a = json_deep_copy(shell);
    else
        a = json_pack("[ss]", "/bin/sh", "-c");
    json_array_append_new(a, json_string(rest));
    return a;
}

/* ---- per-instruction handlers; cfg is the working copy ---- */

typedef struct change_state {
    json_t *cfg;
    bool cmd_set;   /* a CMD earlier in this batch survives ENTRYPOINT */
} change_state;

static json_t *env_of(json_t *cfg)
{
    json_t *env = json_object_get(cfg, "Env");
    return json_is_array(env) ? env : NULL;
}

static json_t *object_field(json_t *cfg, const char *key)
{
    json_t *o = json_object_get(cfg, key);
    if (!json_is_object(o)) {
        o = json_object();
        json_object_set_new(cfg, key, o);
    }
    return o;
}

static void env_set(json_t *cfg, const char *key, const char *val)
{
    json_t *env = json_object_get(cfg, "Env");
    if (!json_is_array(env)) {
        env = json_array();
        json_object_set_new(cfg, "Env", env);
    }
    cleanup_free char *kv = xasprintf("%s=%s", key, val);
    size_t i, klen = strlen(key);
    json_t *v;
    json_array_foreach(env, i, v) {
        const char *s = json_string_value(v);
        if (s && strncmp(s, key, klen) == 0 && (s[klen] == '=' || !s[klen])) {
            json_array_set_new(env, i, json_string(kv));
            return;
        }
    }
    json_array_append_new(env, json_string(kv));
}

/* ENV and LABEL share the parser's parseNameVal: either "key value..."
 * (legacy, value is the rest of the line) or key=value words. */
static int name_vals(change_state *st, const char *instr, const char *rest, bool is_env, berr *e)
{
    cleanup_strv strv words = {0};
    split_words_quoted(rest, &words);
    if (words.n == 0)
        return berr_set(e, -EINVAL, "%s requires at least one argument", instr);
    cleanup_strv strv keys = {0};
    cleanup_strv strv vals = {0};
    if (!strchr(words.v[0], '=')) {
        const char *r = skip_ws(rest);
        size_t n = strcspn(r, " \t");
        const char *v = skip_ws(r + n);
        if (!*v)
            return berr_set(e, -EINVAL, "%s must have two arguments", instr);
        strv_push(&keys, xstrndup(r, n));
        strv_push(&vals, xstrdup(v));
    } else {
        for (size_t i = 0; i < words.n; i++) {
            char *eq = strchr(words.v[i], '=');
            if (!eq)
                return berr_set(e, -EINVAL,
                                "Syntax error - can't find = in \"%s\". Must be of the form: name=value",
                                words.v[i]);
            strv_push(&keys, xstrndup(words.v[i], (size_t)(eq - words.v[i])));
            strv_push(&vals, xstrdup(eq + 1));
        }
    }
    /* every pair expands against the Env from before this instruction:
     * "ENV a=1 b=$a" gives b the old a, as dockerd does */
    cleanup_strv strv pk = {0};
    cleanup_strv strv pv = {0};
    for (size_t i = 0; i < keys.n; i++) {
        char *k = NULL, *v = NULL;
        int rc = shell_expand_word(keys.v[i], env_of(st->cfg), &k, e);
        if (rc < 0)
            return rc;
        strv_push(&pk, k);
        if ((rc = shell_expand_word(vals.v[i], env_of(st->cfg), &v, e)) < 0)
            return rc;
        strv_push(&pv, v);
        if (!*k)
            return berr_set(e, -EINVAL, "%s names can not be blank", instr);
    }
    for (size_t i = 0; i < pk.n; i++) {
        if (is_env)
            env_set(st->cfg, pk.v[i], pv.v[i]);
        else
            json_object_set_new(object_field(st->cfg, "Labels"), pk.v[i], json_string(pv.v[i]));
    }
    return 0;
}

static int parse_port(const char *s, unsigned *out)
{
    if (!*s || strlen(s) > 5)
        return -1;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p))
            return -1;
    unsigned long v = strtoul(s, NULL, 10);
    if (v > 65535)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* [ip:][hostPort:]port[-end][/proto]; only the container side matters here */
static int expose_one(json_t *ports, const char *spec, berr *e)
{
    const char *cport = strrchr(spec, ':');
    cport = cport ? cport + 1 : spec;
    cleanup_free char *port = xstrdup(cport);
    char *slash = strchr(port, '/');
    const char *proto = "tcp";
    if (slash) {
        *slash = 0;
        if (slash[1])
            proto = slash + 1;
    }
    if (!*port)
        return berr_set(e, -EINVAL, "no port specified: %s<empty>", spec);
    char lproto[8];
    size_t pl = strlen(proto);
    if (pl >= sizeof lproto)
        return berr_set(e, -EINVAL, "invalid proto: %s", proto);
    for (size_t i = 0; i <= pl; i++)
        lproto[i] = (char)tolower((unsigned char)proto[i]);
    if (strcmp(lproto, "tcp") && strcmp(lproto, "udp") && strcmp(lproto, "sctp"))
        return berr_set(e, -EINVAL, "invalid proto: %s", lproto);
    unsigned start, end;
    char *dash = strchr(port, '-');
    if (dash)
        *dash = 0;
    if (parse_port(port, &start) < 0 || (dash && parse_port(dash + 1, &end) < 0) ||
        (dash && end < start)) {
        if (dash)
            *dash = '-';
        return berr_set(e, -EINVAL, "invalid containerPort: %s", port);
    }
    if (!dash)
        end = start;
    for (unsigned p = start; p <= end; p++) {
        char key[32];
        snprintf(key, sizeof key, "%u/%s", p, lproto);
        json_object_set_new(ports, key, json_object());
    }
    return 0;
}

static int do_expose(change_state *st, const char *rest, berr *e)
{
    cleanup_strv strv words = {0};
    split_ws(rest, &words);
    if (words.n == 0)
        return berr_set(e, -EINVAL, "EXPOSE requires at least one argument");
    json_t *ports = object_field(st->cfg, "ExposedPorts");
    for (size_t i = 0; i < words.n; i++) {
        cleanup_free char *w = NULL;
        int rc = shell_expand_word(words.v[i], env_of(st->cfg), &w, e);
        if (rc < 0)
            return rc;
        /* EXPOSE alone splits expanded values: FOO="80 443" is two ports */
        cleanup_strv strv parts = {0};
        split_ws(w, &parts);
        for (size_t j = 0; j < parts.n; j++)
            if ((rc = expose_one(ports, parts.v[j], e)) < 0)
                return rc;
    }
    return 0;
}

static int do_volume(change_state *st, const char *rest, berr *e)
{
    cleanup_strv strv vols = {0};
    json_t *a = parse_json_strings(rest);
    if (a) {
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v)
            strv_push(&vols, xstrdup(json_string_value(v)));
        json_decref(a);
    } else {
        split_ws(rest, &vols);
    }
    if (vols.n == 0)
        return berr_set(e, -EINVAL, "VOLUME requires at least one argument");
    json_t *obj = object_field(st->cfg, "Volumes");
    for (size_t i = 0; i < vols.n; i++) {
        cleanup_free char *v = NULL;
        int rc = shell_expand_word(vols.v[i], env_of(st->cfg), &v, e);
        if (rc < 0)
            return rc;
        if (!*v)
            return berr_set(e, -EINVAL, "VOLUME specified can not be an empty string");
        json_object_set_new(obj, v, json_object());
    }
    return 0;
}

/* filepath.Clean for absolute paths */
static char *clean_abs(const char *p)
{
    cleanup_strv strv parts = {0};
    const char *s = p;
    while (*s) {
        while (*s == '/')
            s++;
        size_t n = strcspn(s, "/");
        if (n == 0)
            break;
        if (n == 1 && s[0] == '.') {
        } else if (n == 2 && s[0] == '.' && s[1] == '.') {
            if (parts.n)
                free(parts.v[--parts.n]);
        } else {
            strv_push(&parts, xstrndup(s, n));
        }
        s += n;
    }
    cleanup_buf buf b = BUF_INIT;
    for (size_t i = 0; i < parts.n; i++)
        buf_printf(&b, "/%s", parts.v[i]);
    if (!parts.n)
        buf_puts(&b, "/");
    return buf_steal(&b);
}

static int do_workdir(change_state *st, const char *rest, berr *e)
{
    if (!*rest)
        return berr_set(e, -EINVAL, "WORKDIR requires exactly one argument");
    cleanup_free char *w = NULL;
    int rc = shell_expand_word(rest, env_of(st->cfg), &w, e);
    if (rc < 0)
        return rc;
    if (!*w)
        return berr_set(e, -EINVAL, "cannot normalize nothing");
    cleanup_free char *joined = NULL;
    if (w[0] != '/') {
        const char *cur = json_string_value(json_object_get(st->cfg, "WorkingDir"));
        joined = xasprintf("/%s/%s", cur ? cur : "", w);
    }
    char *clean = clean_abs(joined ? joined : w);
    json_object_set_new(st->cfg, "WorkingDir", json_string(clean));
    free(clean);
    return 0;
}

static bool signal_valid(const char *s)
{
    static const char *const names[] = {
        "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO",
        "IOT", "KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP",
        "SYS", "TERM", "TRAP", "TSTP", "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM",
        "WINCH", "XCPU", "XFSZ", "RTMIN", "RTMAX",
    };
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (*s && !*end)
        return errno == 0 && n > 0 && n <= 64;
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcasecmp(s, names[i]) == 0)
            return true;
    /* RTMIN+1..RTMIN+15, RTMAX-1..RTMAX-14 */
    if ((strncasecmp(s, "RTMIN+", 6) == 0 || strncasecmp(s, "RTMAX-", 6) == 0) &&
        isdigit((unsigned char)s[6])) {
        n = strtol(s + 6, &end, 10);
        return !*end && n >= 1 && n <= (s[5] == '+' ? 15 : 14);
    }
    return false;
}

/* time.ParseDuration */
static int parse_duration(const char *s, long long *out, berr *e)
{
    static const struct { const char *u; double ns; } units[] = {
        {"ns", 1}, {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3},
        {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9},
    };
    const char *p = s;
    bool neg = false;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    if (strcmp(p, "0") == 0) {
        *out = 0;
        return 0;
    }
    if (!*p)
        return berr_set(e, -EINVAL, "time: invalid duration \"%s\"", s);
    double total = 0;
    while (*p) {
        char *end;
        if (!isdigit((unsigned char)*p) && *p != '.')
            return berr_set(e, -EINVAL, "time: invalid duration \"%s\"", s);
        double v = strtod(p, &end);
        if (end == p)
            return berr_set(e, -EINVAL, "time: invalid duration \"%s\"", s);
        p = end;
        size_t ul = 0;
        while (p[ul] && !isdigit((unsigned char)p[ul]) && p[ul] != '.')
            ul++;
        if (ul == 0)
            return berr_set(e, -EINVAL, "time: missing unit in duration \"%s\"", s);
        size_t i;
        for (i = 0; i < sizeof units / sizeof *units; i++)
            if (strlen(units[i].u) == ul && strncmp(p, units[i].u, ul) == 0)
                break;
        if (i == sizeof units / sizeof *units)
            return berr_set(e, -EINVAL, "time: unknown unit \"%.*s\" in duration \"%s\"", (int)ul,
                            p, s);
        total += v * units[i].ns;
        p += ul;
    }
    if (total > (double)INT64_MAX)
        return berr_set(e, -EINVAL, "time: invalid duration \"%s\"", s);
    *out = neg ? -(long long)total : (long long)total;
    return 0;
}

static int do_healthcheck(change_state *st, const char *rest, berr *e)
{
    /* in the order dockerd serializes HealthConfig */
    static const char *const flags[] = {"interval", "timeout", "start-period", "start-interval"};
    static const char *const keys[] = {"Interval", "Timeout", "StartPeriod", "StartInterval"};
    long long durs[4] = {0};
    long long retries = 0;
    const char *p = skip_ws(rest);
    /* leading --name=value flags, as the Dockerfile parser takes them */
    while (strncmp(p, "--", 2) == 0) {
        size_t n = strcspn(p, " \t");
        cleanup_free char *flag = xstrndup(p + 2, n - 2);
        p = skip_ws(p + n);
        char *eq = strchr(flag, '=');
        if (!eq)
            return berr_set(e, -EINVAL, "Missing a value on flag: %s", flag);
        *eq = 0;
        const char *val = eq + 1;
        size_t i;
        for (i = 0; i < 4; i++)
            if (strcmp(flag, flags[i]) == 0)
                break;
        if (i < 4) {
            int rc = *val ? parse_duration(val, &durs[i], e) : 0;
            if (rc < 0)
                return rc;
            if (durs[i] != 0 && durs[i] < 1000000)
                return berr_set(e, -EINVAL, "Interval \"%s\" cannot be less than 1ms", flag);
        } else if (strcmp(flag, "retries") == 0) {
            char *end;
            errno = 0;
            retries = strtoll(val, &end, 10);
            if (!*val || *end || errno || retries > INT32_MAX || retries < INT32_MIN)
                return berr_set(e, -EINVAL, "strconv.ParseInt: parsing \"%s\": invalid syntax", val);
            if (retries < 0)
                return berr_set(e, -EINVAL, "--retries cannot be negative (%lld)", retries);
        } else {
            return berr_set(e, -EINVAL, "Unknown flag: %s", flag);
        }
    }
    size_t tl = strcspn(p, " \t");
    if (tl == 0)
        return berr_set(e, -EINVAL, "HEALTHCHECK requires at least one argument");
    const char *args = skip_ws(p + tl);
    if (tl == 4 && strncasecmp(p, "NONE", 4) == 0) {
        if (*args)
            return berr_set(e, -EINVAL, "HEALTHCHECK NONE takes no arguments");
        json_object_set_new(st->cfg, "Healthcheck", json_pack("{s[s]}", "Test", "NONE"));
        return 0;
    }
    if (tl != 3 || strncasecmp(p, "CMD", 3) != 0)
        return berr_set(e, -EINVAL, "Unknown type \"%.*s\" in HEALTHCHECK (try CMD)", (int)tl, p);
    json_t *test = parse_json_strings(args);
    if (test) {
        json_array_insert_new(test, 0, json_string("CMD"));
    } else if (*args) {
        test = json_pack("[ss]", "CMD-SHELL", args);
    }
    if (!test || json_array_size(test) < 2) {
        json_decref(test);
        return berr_set(e, -EINVAL, "Missing command after HEALTHCHECK CMD");
    }
    json_t *hc = json_pack("{so}", "Test", test);
    for (size_t i = 0; i < 4; i++)
        if (durs[i])
            json_object_set_new(hc, keys[i], json_integer(durs[i]));
    if (retries)
        json_object_set_new(hc, "Retries", json_integer(retries));
    json_object_set_new(st->cfg, "Healthcheck", hc);
    return 0;
}

static int do_onbuild(change_state *st, const char *rest, berr *e)
{
    rest = skip_ws(rest);
    size_t tl = strcspn(rest, " \t");
    if (tl == 0)
        return berr_set(e, -EINVAL, "ONBUILD requires at least one argument");
    if (tl == 7 && strncasecmp(rest, "ONBUILD", 7) == 0)
        return berr_set(e, -EINVAL, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    if ((tl == 4 && strncasecmp(rest, "FROM", 4) == 0) ||
        (tl == 10 && strncasecmp(rest, "MAINTAINER", 10) == 0)) {
        char up[11];
        for (size_t i = 0; i < tl; i++)
            up[i] = (char)toupper((unsigned char)rest[i]);
        up[tl] = 0;
        return berr_set(e, -EINVAL, "%s isn't allowed as an ONBUILD trigger", up);
    }
    json_t *ob = json_object_get(st->cfg, "OnBuild");
    if (!json_is_array(ob)) {
        ob = json_array();
        json_object_set_new(st->cfg, "OnBuild", ob);
    }
    json_array_append_new(ob, json_string(rest));
    return 0;
}

static int string_field(change_state *st, const char *key, const char *instr, const char *rest,
                        berr *e)
{
    cleanup_free char *v = NULL;
    int rc = shell_expand_word(rest, env_of(st->cfg), &v, e);
    if (rc < 0)
        return rc;
    if (!*v)
        return berr_set(e, -EINVAL, "%s requires exactly one argument", instr);
    if (strcmp(key, "StopSignal") == 0 && !signal_valid(v))
        return berr_set(e, -EINVAL, "Invalid signal: %s", v);
    json_object_set_new(st->cfg, key, json_string(v));
    return 0;
}

enum instr { I_CMD, I_ENTRYPOINT, I_ENV, I_EXPOSE, I_HEALTHCHECK, I_LABEL, I_ONBUILD,
             I_STOPSIGNAL, I_USER, I_VOLUME, I_WORKDIR, I_INVALID };

static enum instr instr_of(const char *word, size_t n)
{
    static const char *const names[] = {"CMD", "ENTRYPOINT", "ENV", "EXPOSE", "HEALTHCHECK",
                                        "LABEL", "ONBUILD", "STOPSIGNAL", "USER", "VOLUME",
                                        "WORKDIR"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strlen(names[i]) == n && strncasecmp(word, names[i], n) == 0)
            return (enum instr)i;
    return I_INVALID;
}

static int dispatch(change_state *st, enum instr in, const char *rest, berr *e)
{
    switch (in) {
    case I_CMD:
    {
        json_t *cmd = command_line(st->cfg, rest);
        if (json_array_size(cmd) > 0)   /* "CMD []" does not count as set */
            st->cmd_set = true;
        json_object_set_new(st->cfg, "Cmd", cmd);
        return 0;
    }
    case I_ENTRYPOINT:
        json_object_set_new(st->cfg, "Entrypoint", command_line(st->cfg, rest));
        /* dockerd drops an inherited CMD, which was meant for the old
         * entrypoint; a CMD given earlier in the same changes stays */
        if (!st->cmd_set)
            json_object_set_new(st->cfg, "Cmd", json_null());
        return 0;
    case I_ENV: return name_vals(st, "ENV", rest, true, e);
    case I_LABEL: return name_vals(st, "LABEL", rest, false, e);
    case I_EXPOSE: return do_expose(st, rest, e);
    case I_HEALTHCHECK: return do_healthcheck(st, rest, e);
    case I_ONBUILD: return do_onbuild(st, rest, e);
    case I_STOPSIGNAL: return string_field(st, "StopSignal", "STOPSIGNAL", rest, e);
    case I_USER: return string_field(st, "User", "USER", rest, e);
    case I_VOLUME: return do_volume(st, rest, e);
    case I_WORKDIR: return do_workdir(st, rest, e);
    case I_INVALID: break;
    }
    return berr_set(e, -EINVAL, "invalid change command");
}

/* Joins the changes into Dockerfile lines: backslash continuations folded,
 * blank and comment lines dropped. */
static void logical_lines(const char *const *changes, size_t n, strv *out)
{
    cleanup_buf buf all = BUF_INIT;
    for (size_t i = 0; i < n; i++)
        buf_printf(&all, "%s\n", changes[i] ? changes[i] : "");
    cleanup_buf buf cur = BUF_INIT;
    char *save = NULL;
    for (char *line = strtok_r(all.data ? all.data : (char[]){0}, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        const char *t = skip_ws(line);
        if (*t == '#' || !*t)   /* also inside a continuation, as buildkit does */
            continue;
        size_t len = strlen(line);
        while (len && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
            len--;
        if (len && line[len - 1] == '\\') {
            buf_append(&cur, line, len - 1);
            continue;
        }
        buf_append(&cur, line, len);
        const char *s = skip_ws(cur.data ? cur.data : "");
        if (*s)
            strv_push(out, xstrdup(s));
        buf_reset(&cur);
        buf_puts(&cur, "");
    }
    if (cur.len && *skip_ws(cur.data))
        strv_push(out, xstrdup(skip_ws(cur.data)));
}

int image_config_apply_changes(json_t *config, const char *const *changes, size_t n, berr *e)
{
    if (!json_is_object(config))
        return berr_set(e, -EINVAL, "invalid image config: not a JSON object");
    cleanup_strv strv lines = {0};
    logical_lines(changes, n, &lines);

    /* like dockerd, refuse the whole batch before applying any of it */
    for (size_t i = 0; i < lines.n; i++) {
        size_t wl = strcspn(lines.v[i], " \t");
        if (instr_of(lines.v[i], wl) == I_INVALID)
            return berr_set(e, -EINVAL, "%.*s is not a valid change command", (int)wl, lines.v[i]);
    }

    change_state st = {.cfg = json_deep_copy(config), .cmd_set = false};
    for (size_t i = 0; i < lines.n; i++) {
        size_t wl = strcspn(lines.v[i], " \t");
        const char *rest = skip_ws(lines.v[i] + wl);
        int rc = dispatch(&st, instr_of(lines.v[i], wl), rest, e);
        if (rc < 0) {
            json_decref(st.cfg);
            return rc;
        }
    }
    json_object_clear(config);
    json_object_update(config, st.cfg);
    json_decref(st.cfg);
    return 0;
}
