/* .dockerignore patterns as moby/patternmatcher matches them: one pattern a
 * line, `#` comments, surrounding blanks trimmed, paths cleaned and a
 * leading "/" dropped; Go's filepath.Match syntax per path element (`*`,
 * `?`, `[...]`, `\` escapes) plus `**` for any number of elements; `!`
 * re-includes; the last pattern that matches decides.  A pattern also
 * matches everything below a directory it matches. */
#ifndef BERTH_RUNTIME_BUILD_DOCKERIGNORE_H
#define BERTH_RUNTIME_BUILD_DOCKERIGNORE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct di_pattern {
    char *pattern;     /* cleaned, without the '!' */
    bool exclusion;    /* a '!' pattern */
} di_pattern;

typedef struct di_patterns {
    di_pattern *v;
    size_t n;
    bool has_exclusions;
} di_patterns;

/* Reads the file's text (len bytes). */
void di_parse(const char *text, size_t len, di_patterns *out);
void di_free(di_patterns *p);

/* Whether path (relative to the context, '/'-separated) is ignored. */
bool di_ignored(const di_patterns *p, const char *path);

/* Go's filepath.Match for one pattern against one name ('/' separated
 * elements are matched element by element, `**` spanning any number).
 * prefix_ok: also true when pattern matches a leading part of name (a
 * parent directory). */
bool di_match(const char *pattern, const char *name, bool prefix_ok);

/* Go's path.Clean on a relative or absolute '/' path (caller frees). */
char *di_clean_path(const char *p);

#endif
