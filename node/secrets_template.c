#include "node/secrets_template.h"

#include <ctype.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"

/* A quoted Go string literal (no escapes but \" and \\). */
static int parse_string(const char **p, const char *end, char *out, size_t n)
{
    const char *s = *p;
    if (s >= end || *s != '"')
        return -1;
    size_t k = 0;
    for (s++; s < end && *s != '"'; s++) {
        if (*s == '\\' && s + 1 < end)
            s++;
        if (k + 1 >= n)
            return -1;
        out[k++] = *s;
    }
    if (s >= end)
        return -1;
    out[k] = 0;
    *p = s + 1;
    return 0;
}

static void skip_space(const char **p, const char *end)
{
    while (*p < end && isspace((unsigned char)**p))
        (*p)++;
}

/* .A.B.C in fields. */
static json_t *lookup_path(json_t *fields, const char **p, const char *end)
{
    json_t *cur = fields;
    while (*p < end && **p == '.') {
        (*p)++;
        char name[64];
        size_t k = 0;
        while (*p < end && (isalnum((unsigned char)**p) || **p == '_') && k + 1 < sizeof name)
            name[k++] = *(*p)++;
        name[k] = 0;
        if (!k)
            return NULL;
        cur = json_object_get(cur, name);
    }
    return cur;
}

static int emit_value(buf *out, json_t *v)
{
    char num[32];
    if (json_is_string(v)) {
        buf_append(out, json_string_value(v), json_string_length(v));
    } else if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        buf_append(out, num, strlen(num));
    } else if (!v || json_is_null(v)) {
        /* Go prints a missing map key as "<no value>" */
        buf_append(out, "<no value>", 10);
    } else {
        return -1;
    }
    return 0;
}

static int action(const char *a, const char *end, const tmpl_ctx *ctx, buf *out, berr *e)
{
    const char *p = a;
    skip_space(&p, end);
    if (end - p >= 2 && p[0] == '/' && p[1] == '*')
        return 0;   /* a comment */
    char word[16], arg[256];
    if (p < end && *p == '.') {
        json_t *v = lookup_path(ctx->fields, &p, end);
        skip_space(&p, end);
        if (p != end || emit_value(out, v) < 0)
            return berr_set(e, -EINVAL, "unsupported action");
        return 0;
    }
    size_t k = 0;
    while (p < end && isalpha((unsigned char)*p) && k + 1 < sizeof word)
        word[k++] = *p++;
    word[k] = 0;
    skip_space(&p, end);
    if (!strcmp(word, "index")) {
        json_t *m = lookup_path(ctx->fields, &p, end);
        skip_space(&p, end);
        if (!json_is_object(m) && m)
            return berr_set(e, -EINVAL, "index of a non-map");
        if (parse_string(&p, end, arg, sizeof arg) < 0)
            return berr_set(e, -EINVAL, "unsupported action");
        skip_space(&p, end);
        if (p != end)
            return berr_set(e, -EINVAL, "unsupported action");
        json_t *v = json_object_get(m, arg);
        return emit_value(out, v) < 0 ? berr_set(e, -EINVAL, "index: a value that is not text") : 0;
    }
    bool is_env = !strcmp(word, "env"), is_secret = !strcmp(word, "secret"), is_config = !strcmp(word, "config");
    if (!(is_env || is_secret || is_config) || parse_string(&p, end, arg, sizeof arg) < 0)
        return berr_set(e, -EINVAL, "unsupported action");
    skip_space(&p, end);
    if (p != end)
        return berr_set(e, -EINVAL, "unsupported action");
    if (is_env) {
        const char *v = json_string_value(json_object_get(ctx->env, arg));
        if (v)
            buf_append(out, v, strlen(v));
        return 0;
    }
    unsigned char *data = NULL;
    size_t len = 0;
    int r = ctx->lookup ? ctx->lookup(ctx->arg, is_secret ? "secret" : "config", arg, &data, &len, e) : -ENOENT;
    if (r == -ENOENT)
        /* SwarmKit's words from its template dependency getters */
        return berr_set(e, -EINVAL, "%s target %s not found", is_secret ? "secret" : "config", arg);
    if (r < 0)
        return r;
    buf_append(out, data, len);
    sodium_memzero(data, len);
    free(data);
    return 0;
}

int tmpl_render(const char *tmpl, size_t len, const tmpl_ctx *ctx, unsigned char **out, size_t *out_len, berr *e)
{
    buf b = {0};
    const char *p = tmpl, *end = tmpl + len;
    int r = 0;
    while (p < end && r == 0) {
        const char *open = memmem(p, (size_t)(end - p), "{{", 2);
        if (!open) {
            buf_append(&b, p, (size_t)(end - p));
            break;
        }
        const char *text_end = open;
        const char *a = open + 2;
        if (a + 1 < end && a[0] == '-' && isspace((unsigned char)a[1])) {
            a += 2;
            while (text_end > p && isspace((unsigned char)text_end[-1]))
                text_end--;
        }
        buf_append(&b, p, (size_t)(text_end - p));
        const char *close = memmem(a, (size_t)(end - a), "}}", 2);
        if (!close) {
            r = berr_set(e, -EINVAL, "unclosed action");
            break;
        }
        const char *a_end = close;
        p = close + 2;
        if (a_end - a >= 2 && a_end[-1] == '-' && isspace((unsigned char)a_end[-2])) {
            a_end -= 2;
            while (p < end && isspace((unsigned char)*p))
                p++;
        }
        r = action(a, a_end, ctx, &b, e);
    }
    if (r < 0) {
        /* Where, not what: the template may be a secret's own text. */
        unsigned line = 1;
        for (const char *q = tmpl; q < p && q < end; q++)
            line += *q == '\n';
        berr_wrap(e, "template: line %u", line);
    }
    if (r < 0) {
        if (b.data)
            sodium_memzero(b.data, b.len);
        buf_free(&b);
        return r;
    }
    *out_len = b.len;
    *out = (unsigned char *)buf_steal(&b);
    if (!*out)
        *out = calloc(1, 1);
    return 0;
}
