#include "runtime/image/shell_words.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/cleanup.h"

/* ---- shell-style word processing (buildkit's shell.Lex, the subset a
 * config change can use: quotes, backslash, $VAR, ${VAR}, ${VAR:-w},
 * ${VAR:+w}, ${VAR-w}, ${VAR+w}) ---- */

static const char *env_lookup(json_t *env, const char *name, size_t n)
{
    size_t i;
    json_t *v;
    json_array_foreach(env, i, v) {
        const char *kv = json_string_value(v);
        if (kv && strncmp(kv, name, n) == 0 && kv[n] == '=')
            return kv + n + 1;
    }
    return NULL;
}

static int process_word_into(const char *s, json_t *env, buf *out, berr *e);

/* s points after '$'; appends the expansion, returns chars consumed */
static int expand_var(const char *s, json_t *env, buf *out, size_t *used, berr *e)
{
    if (*s != '{') {
        size_t n = 0;
        while (isalnum((unsigned char)s[n]) || s[n] == '_')
            n++;
        if (n == 0) {
            buf_puts(out, "$");
        } else {
            const char *v = env_lookup(env, s, n);
            if (v)
                buf_puts(out, v);
        }
        *used = n;
        return 0;
    }
    size_t n = 0;
    const char *name = s + 1;
    while (isalnum((unsigned char)name[n]) || name[n] == '_')
        n++;
    const char *p = name + n;
    const char *v = n ? env_lookup(env, name, n) : NULL;
    if (*p == '}') {
        if (v)
            buf_puts(out, v);
        *used = (size_t)(p + 1 - s);
        return 0;
    }
    bool colon = *p == ':';
    if (colon)
        p++;
    char op = *p;
    if (n == 0 || (op != '-' && op != '+'))
        return berr_set(e, -EINVAL, "failed to process \"${%.*s\": unsupported modifier",
                        (int)(p - name), name);
    /* the word runs to the matching '}' (nesting counted) */
    const char *w = ++p;
    int depth = 1;
    for (; *p; p++) {
        if (*p == '{')
            depth++;
        else if (*p == '}' && --depth == 0)
            break;
    }
    if (!*p)
        return berr_set(e, -EINVAL, "missing '}'");
    bool set = v && (!colon || *v);
    cleanup_free char *word = xstrndup(w, (size_t)(p - w));
    if (op == '-') {
        if (set)
            buf_puts(out, v);
        else if (process_word_into(word, env, out, e) < 0)
            return e ? e->code : -EINVAL;
    } else if (set && process_word_into(word, env, out, e) < 0) {
        return e ? e->code : -EINVAL;
    }
    *used = (size_t)(p + 1 - s);
    return 0;
}

static int process_word_into(const char *s, json_t *env, buf *out, berr *e)
{
    buf_puts(out, "");   /* an empty word is "", not NULL */
    for (const char *p = s; *p;) {
        if (*p == '\'') {
            const char *end = strchr(p + 1, '\'');
            if (!end)
                return berr_set(e, -EINVAL,
                                "unexpected end of statement while looking for matching single-quote");
            buf_append(out, p + 1, (size_t)(end - p - 1));
            p = end + 1;
        } else if (*p == '"') {
            for (p++; *p != '"'; p++) {
                if (!*p)
                    return berr_set(e, -EINVAL,
                                    "unexpected end of statement while looking for matching double-quote");
                if (*p == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == '$')) {
                    buf_append(out, ++p, 1);
                } else if (*p == '$') {
                    size_t used;
                    int rc = expand_var(p + 1, env, out, &used, e);
                    if (rc < 0)
                        return rc;
                    p += used;
                } else {
                    buf_append(out, p, 1);
                }
            }
            p++;
        } else if (*p == '\\') {
            if (p[1])
                p++;
            buf_append(out, p++, 1);
        } else if (*p == '$') {
            size_t used;
            int rc = expand_var(p + 1, env, out, &used, e);
            if (rc < 0)
                return rc;
            p += used + 1;
        } else {
            buf_append(out, p++, 1);
        }
    }
    return 0;
}

int shell_expand_word(const char *s, json_t *env, char **out, berr *e)
{
    cleanup_buf buf b = BUF_INIT;
    int rc = process_word_into(s, env, &b, e);
    if (rc < 0)
        return rc;
    *out = buf_steal(&b);
    return 0;
}

