/* .dockerignore matching (see dockerignore.h). */
#include "runtime/build/dockerignore.h"

#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"

char *di_clean_path(const char *p)
{
    bool rooted = p[0] == '/';
    size_t n = strlen(p);
    char **parts = xcalloc(n / 2 + 2, sizeof *parts);
    size_t np = 0;
    char *copy = xstrdup(p);
    for (char *save = NULL, *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
        if (!strcmp(t, "."))
            continue;
        if (!strcmp(t, "..")) {
            if (np && strcmp(parts[np - 1], ".."))
                np--;
            else if (!rooted)
                parts[np++] = t;
            continue;
        }
        parts[np++] = t;
    }
    buf b = BUF_INIT;
    if (rooted)
        buf_puts(&b, "/");
    for (size_t i = 0; i < np; i++)
        buf_printf(&b, "%s%s", i ? "/" : "", parts[i]);
    if (!b.len)
        buf_puts(&b, ".");
    free(parts);
    free(copy);
    return buf_steal(&b);
}

void di_parse(const char *text, size_t len, di_patterns *out)
{
    memset(out, 0, sizeof *out);
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char *line = xstrndup(p, n);
        p = nl ? nl + 1 : end;
        char *s = line, *t = line + strlen(line);
        while (*s == ' ' || *s == '\t' || *s == '\r')
            s++;
        while (t > s && (t[-1] == ' ' || t[-1] == '\t' || t[-1] == '\r'))
            *--t = 0;
        if (!*s || *s == '#') {
            free(line);
            continue;
        }
        bool excl = false;
        if (*s == '!') {
            excl = true;
            s++;
            while (*s == ' ' || *s == '\t')
                s++;
        }
        char *clean = di_clean_path(s);
        if (clean[0] == '/' && clean[1]) {
            memmove(clean, clean + 1, strlen(clean));
        }
        out->v = xrealloc(out->v, (out->n + 1) * sizeof *out->v);
        out->v[out->n++] = (di_pattern){.pattern = clean, .exclusion = excl};
        out->has_exclusions |= excl;
        free(line);
    }
}

void di_free(di_patterns *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i].pattern);
    free(p->v);
    memset(p, 0, sizeof *p);
}

/* A character class at pattern p ('[' already consumed); *end receives the
 * character after ']'.  Returns whether c is in it, -1 for a malformed class. */
static int match_class(const char *p, char c, const char **end)
{
    bool neg = false, hit = false;
    if (*p == '^' || *p == '!') {
        neg = true;
        p++;
    }
    bool first = true;
    while (*p && (*p != ']' || first)) {
        first = false;
        char lo = *p++;
        if (lo == '\\' && *p)
            lo = *p++;
        char hi = lo;
        if (*p == '-' && p[1] && p[1] != ']') {
            p++;
            hi = *p++;
            if (hi == '\\' && *p)
                hi = *p++;
        }
        if (lo <= c && c <= hi)
            hit = true;
    }
    if (*p != ']')
        return -1;
    *end = p + 1;
    return hit != neg;
}

/* filepath.Match of one element (no '/' in either). */
static bool match_elem(const char *p, const char *pe, const char *s, const char *se)
{
    while (p < pe) {
        if (*p == '*') {
            while (p < pe && *p == '*')
                p++;
            if (p == pe)
                return true;
            for (const char *t = s; t <= se; t++)
                if (match_elem(p, pe, t, se))
                    return true;
            return false;
        }
        if (s == se)
            return false;
        if (*p == '?') {
            p++, s++;
        } else if (*p == '[') {
            const char *after;
            int r = match_class(p + 1, *s, &after);
            if (r <= 0 || after > pe)
                return false;
            p = after, s++;
        } else {
            if (*p == '\\' && p + 1 < pe)
                p++;
            if (*p != *s)
                return false;
            p++, s++;
        }
    }
    return s == se;
}

static const char *elem_end(const char *s)
{
    const char *e = strchr(s, '/');
    return e ? e : s + strlen(s);
}

/* Matches pattern elements against name elements; "**" spans any number. */
static bool match_elems(const char *p, const char *s, bool prefix_ok)
{
    if (!*p)
        return !*s || prefix_ok;
    const char *pe = elem_end(p);
    const char *pnext = *pe ? pe + 1 : pe;
    if (pe - p == 2 && p[0] == '*' && p[1] == '*') {
        if (!*pnext)
            return true;   /* trailing "**": everything below */
        for (const char *t = s;;) {
            if (match_elems(pnext, t, prefix_ok))
                return true;
            if (!*t)
                return false;
            const char *te = elem_end(t);
            t = *te ? te + 1 : te;
        }
    }
    if (!*s)
        return false;
    const char *se = elem_end(s);
    if (!match_elem(p, pe, s, se))
        return false;
    return match_elems(pnext, *se ? se + 1 : se, prefix_ok);
}

bool di_match(const char *pattern, const char *name, bool prefix_ok)
{
    return match_elems(pattern, name, prefix_ok);
}

bool di_ignored(const di_patterns *p, const char *path)
{
    bool ignored = false;
    for (size_t i = 0; i < p->n; i++) {
        /* an exclusion only re-includes; an exclude only excludes: skip
         * patterns that cannot change the current answer */
        if (p->v[i].exclusion != ignored)
            continue;
        if (di_match(p->v[i].pattern, path, true))
            ignored = !p->v[i].exclusion;
    }
    return ignored;
}
