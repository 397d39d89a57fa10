/* Shell-style word processing for Dockerfile instructions, as buildkit's
 * shell.Lex does it for the subset a config change can use: quotes,
 * backslash escapes, $VAR, ${VAR}, ${VAR:-w}, ${VAR:+w}, ${VAR-w}, ${VAR+w},
 * with variables taken from an image config's Env ("KEY=value" strings). */
#ifndef BERTH_RUNTIME_SHELL_WORDS_H
#define BERTH_RUNTIME_SHELL_WORDS_H

#include <jansson.h>

#include "lib/err.h"

/* Expands one word: quotes removed, escapes and variables resolved.  *out
 * is the caller's to free.  -EINVAL for unterminated quotes or unsupported
 * expansion forms. */
int shell_expand_word(const char *s, json_t *env, char **out, berr *e);

#endif
