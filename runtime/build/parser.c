/* The Dockerfile parser (see parser.h). */
#include "runtime/build/parser.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/cleanup.h"

static const char *const known_cmds[] = {"add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from",
                                         "healthcheck", "label", "maintainer", "onbuild", "run", "shell",
                                         "stopsignal", "user", "volume", "workdir", NULL};

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static char *trim_dup(const char *s, size_t n)
{
    while (n && is_blank(*s))
        s++, n--;
    while (n && (is_blank(s[n - 1]) || s[n - 1] == '\n'))
        n--;
    return xstrndup(s, n);
}

size_t bf_split_words(const char *s, char escape, char ***out)
{
    size_t n = 0, cap = 4;
    char **w = xcalloc(cap + 1, sizeof *w);
    buf cur = BUF_INIT;
    bool in_word = false;
    char quote = 0;
    for (const char *p = s;; p++) {
        char c = *p;
        if (!c || (!quote && (is_blank(c) || c == '\n'))) {
            if (in_word) {
                if (n == cap) {
                    cap *= 2;
                    w = xrealloc(w, (cap + 1) * sizeof *w);
                }
                buf_puts(&cur, "");
                w[n++] = buf_steal(&cur);
                in_word = false;
            }
            if (!c)
                break;
            continue;
        }
        in_word = true;
        if (c == escape && quote != '\'' && p[1]) {
            buf_append(&cur, p, 2);
            p++;
            continue;
        }
        if (quote && c == quote)
            quote = 0;
        else if (!quote && (c == '\'' || c == '"'))
            quote = c;
        buf_append(&cur, &c, 1);
    }
    buf_free(&cur);
    w[n] = NULL;
    *out = w;
    return n;
}

void bf_words_free(char **w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(w[i]);
    free(w);
}

void bf_instr_clear(bf_instr *in)
{
    free(in->cmd);
    free(in->original);
    for (size_t i = 0; i < in->n_flags; i++) {
        free(in->flags[i].name);
        free(in->flags[i].value);
    }
    free(in->flags);
    free(in->rest);
    bf_words_free(in->args, in->n_args);
    memset(in, 0, sizeof *in);
}

void bf_file_clear(bf_file *f)
{
    for (size_t i = 0; i < f->n; i++)
        bf_instr_clear(&f->v[i]);
    free(f->v);
    bf_words_free(f->warnings, f->n_warnings);
    memset(f, 0, sizeof *f);
}

const char *bf_flag_get(const bf_instr *in, const char *name)
{
    const char *v = NULL;
    for (size_t i = 0; i < in->n_flags; i++)
        if (!strcmp(in->flags[i].name, name))
            v = in->flags[i].value ? in->flags[i].value : "";
    return v;
}

int bf_check_flags(const bf_instr *in, const char *const *allowed, berr *e)
{
    for (size_t i = 0; i < in->n_flags; i++) {
        bool ok = false;
        for (const char *const *a = allowed; a && *a; a++)
            ok |= !strcmp(*a, in->flags[i].name);
        if (!ok)
            return berr_set(e, -EINVAL, "Unknown flag: %s", in->flags[i].name);
    }
    return 0;
}

/* Instructions whose argument may be a JSON array. */
static bool has_json_form(const char *cmd)
{
    static const char *const j[] = {"add", "cmd", "copy", "entrypoint", "run", "shell", "volume", NULL};
    for (const char *const *p = j; *p; p++)
        if (!strcmp(*p, cmd))
            return true;
    return false;
}

static bool parse_json_array(const char *s, char ***out, size_t *n)
{
    json_error_t je;
    json_t *a = json_loads(s, JSON_DECODE_ANY, &je);
    if (!json_is_array(a)) {
        json_decref(a);
        return false;
    }
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) if (!json_is_string(v))
    {
        json_decref(a);
        return false;
    }
    char **w = xcalloc(json_array_size(a) + 1, sizeof *w);
    json_array_foreach(a, i, v) w[i] = xstrdup(json_string_value(v));
    *n = json_array_size(a);
    *out = w;
    json_decref(a);
    return true;
}

/* A heredoc marker as buildkit recognises it: <<EOF, <<-EOF, <<"EOF". */
static bool is_heredoc(const char *w)
{
    if (strncmp(w, "<<", 2) != 0)
        return false;
    w += 2;
    if (*w == '-')
        w++;
    return isalpha((unsigned char)*w) || *w == '_' || *w == '"' || *w == '\'';
}

static int parse_logical(const char *text, char escape, int line, bf_instr *in, berr *e)
{
    memset(in, 0, sizeof *in);
    in->line = line;
    in->original = trim_dup(text, strlen(text));
    const char *p = in->original;
    size_t n = 0;
    while (p[n] && !is_blank(p[n]))
        n++;
    in->cmd = xstrndup(p, n);
    for (char *c = in->cmd; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    bool known = false;
    for (const char *const *k = known_cmds; *k; k++)
        known |= !strcmp(*k, in->cmd);
    if (!known) {
        berr_set(e, -EINVAL, "dockerfile parse error on line %d: unknown instruction: %.*s", line, (int)n, p);
        bf_instr_clear(in);
        return -EINVAL;
    }
    p += n;
    while (is_blank(*p))
        p++;
    /* leading --flags (every instruction, as buildkit's extractBuilderFlags) */
    while (p[0] == '-' && p[1] == '-') {
        size_t m = 0;
        while (p[m] && !is_blank(p[m]))
            m++;
        cleanup_free char *tok = xstrndup(p + 2, m - 2);
        if (!*tok) {   /* a bare "--" ends the flags */
            p += m;
            while (is_blank(*p))
                p++;
            break;
        }
        in->flags = xrealloc(in->flags, (in->n_flags + 1) * sizeof *in->flags);
        char *eq = strchr(tok, '=');
        bf_flag *f = &in->flags[in->n_flags++];
        f->name = eq ? xstrndup(tok, (size_t)(eq - tok)) : xstrdup(tok);
        f->value = eq ? xstrdup(eq + 1) : NULL;
        p += m;
        while (is_blank(*p))
            p++;
    }
    in->rest = trim_dup(p, strlen(p));
    if (has_json_form(in->cmd) && in->rest[0] == '[' && parse_json_array(in->rest, &in->args, &in->n_args)) {
        in->json = true;
    } else {
        in->n_args = bf_split_words(in->rest, escape, &in->args);
    }
    if (!in->json && (!strcmp(in->cmd, "run") || !strcmp(in->cmd, "copy") || !strcmp(in->cmd, "add")))
        for (size_t i = 0; i < in->n_args; i++)
            if (is_heredoc(in->args[i])) {
                berr_set(e, -EINVAL,
                         "dockerfile parse error on line %d: the legacy builder does not support heredocs (%s); "
                         "use BuildKit (docker buildx) for them",
                         line, in->args[i]);
                bf_instr_clear(in);
                return -EINVAL;
            }
    return 0;
}

int bf_parse_line(const char *text, char escape, bf_instr *out, berr *e)
{
    return parse_logical(text, escape, 1, out, e);
}

/* "# name = value" at the top of the file. */
static bool directive(const char *line, size_t len, char **name, char **value)
{
    cleanup_free char *l = trim_dup(line, len);
    if (l[0] != '#')
        return false;
    char *p = l + 1;
    while (is_blank(*p))
        p++;
    char *k = p;
    while (isalnum((unsigned char)*p) || *p == '_')
        p++;
    if (p == k)
        return false;
    char *kend = p;
    while (is_blank(*p))
        p++;
    if (*p != '=')
        return false;
    p++;
    *kend = 0;
    *name = xstrdup(k);
    for (char *c = *name; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    *value = trim_dup(p, strlen(p));
    return true;
}

static void add_warning(bf_file *f, char *w)
{
    f->warnings = xrealloc(f->warnings, (f->n_warnings + 2) * sizeof *f->warnings);
    f->warnings[f->n_warnings++] = w;
    f->warnings[f->n_warnings] = NULL;
}

int bf_parse(const char *text, size_t len, bf_file *out, berr *e)
{
    memset(out, 0, sizeof *out);
    out->escape = '\\';
    const char *p = text, *end = text + len;
    int lineno = 0;
    bool directives = true;
    bool seen_escape = false;
    buf logical = BUF_INIT;
    int logical_line = 0;
    bool in_logical = false;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        const char *line = p;
        p = nl ? nl + 1 : end;
        lineno++;
        if (lineno == 1 && n >= 3 && !memcmp(line, "\xef\xbb\xbf", 3))   /* UTF-8 BOM */
            line += 3, n -= 3;
        if (directives) {
            char *name = NULL, *value = NULL;
            if (directive(line, n, &name, &value)) {
                if (!strcmp(name, "escape")) {
                    if (seen_escape || (strcmp(value, "\\") && strcmp(value, "`"))) {
                        berr_set(e, -EINVAL, "dockerfile parse error on line %d: invalid escape token '%s' does not "
                                 "match ` or \\", lineno, value);
                        free(name), free(value);
                        goto fail;
                    }
                    out->escape = value[0];
                    seen_escape = true;
                } else if (!strcmp(name, "syntax")) {
                    add_warning(out, xasprintf("[WARNING]: The syntax directive (%s) is ignored by the legacy "
                                               "builder", value));
                }
                free(name), free(value);
                continue;
            }
            directives = false;
        }
        cleanup_free char *t = trim_dup(line, n);
        if (!*t || t[0] == '#')
            continue;   /* blank lines and comments, also inside continued lines */
        bool continuation = in_logical;
        if (!in_logical)
            logical_line = lineno;
        in_logical = true;
        /* a continued line keeps its leading blanks, as buildkit joins them */
        const char *piece = t;
        cleanup_free char *kept = NULL;
        if (continuation) {
            size_t m = n;
            while (m && (is_blank(line[m - 1]) || line[m - 1] == '\n'))
                m--;
            kept = xstrndup(line, m);
            piece = kept;
        }
        size_t tl = strlen(piece);
        if (piece[tl - 1] == out->escape) {
            /* continued: the escape and the newline go */
            buf_append(&logical, piece, tl - 1);
            if (p >= end) {
                buf_puts(&logical, "");
                break;
            }
            continue;
        }
        buf_append(&logical, piece, tl);
        buf_puts(&logical, "");
        out->v = xrealloc(out->v, (out->n + 1) * sizeof *out->v);
        if (parse_logical(logical.data, out->escape, logical_line, &out->v[out->n], e) < 0)
            goto fail;
        out->n++;
        buf_reset(&logical);
        in_logical = false;
    }
    if (in_logical && logical.len) {
        buf_puts(&logical, "");
        out->v = xrealloc(out->v, (out->n + 1) * sizeof *out->v);
        if (parse_logical(logical.data, out->escape, logical_line, &out->v[out->n], e) < 0)
            goto fail;
        out->n++;
    }
    buf_free(&logical);
    return 0;
fail:
    buf_free(&logical);
    bf_file_clear(out);
    return -EINVAL;
}
