/* The Dockerfile grammar as the classic builder reads it (moby's
 * buildkit/frontend/dockerfile/parser): parser directives (`# escape=`,
 * `# syntax=`), line continuations with the escape character, comment
 * lines (also inside continued lines), leading `--flag[=value]`s, and the
 * JSON form of the instructions that have one.  Nothing is expanded here:
 * words keep their quotes until the builder expands them per instruction. */
#ifndef BERTH_RUNTIME_BUILD_PARSER_H
#define BERTH_RUNTIME_BUILD_PARSER_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"

typedef struct bf_flag {
    char *name;        /* without the dashes */
    char *value;       /* NULL for a bare --name */
} bf_flag;

typedef struct bf_instr {
    char *cmd;         /* lower case: "run", "copy", ... */
    char *original;    /* the logical line, continuations joined ("RUN a && b") */
    int line;          /* its first physical line (1-based) */
    bf_flag *flags;
    size_t n_flags;
    char *rest;        /* what follows the instruction and its flags, trimmed */
    bool json;         /* rest was a JSON array of strings: args are its elements */
    char **args;       /* JSON elements, or rest split on blanks (quotes kept, so "a b" stays one word) */
    size_t n_args;
} bf_instr;

typedef struct bf_file {
    bf_instr *v;
    size_t n;
    char escape;       /* '\\' or '`' */
    char **warnings;   /* e.g. the ignored syntax directive */
    size_t n_warnings;
} bf_file;

/* Parses a whole Dockerfile.  Errors name the line:
 * "dockerfile parse error on line 3: unknown instruction: FOO". */
int bf_parse(const char *text, size_t len, bf_file *out, berr *e);
/* Parses one line (an ONBUILD trigger) with the given escape character. */
int bf_parse_line(const char *text, char escape, bf_instr *out, berr *e);
void bf_instr_clear(bf_instr *in);
void bf_file_clear(bf_file *f);

/* A flag's value: NULL when absent; "" for a bare flag. */
const char *bf_flag_get(const bf_instr *in, const char *name);
/* -EINVAL "Unknown flag: x" for a flag not in allowed (NULL-terminated). */
int bf_check_flags(const bf_instr *in, const char *const *allowed, berr *e);

/* Splits s on blanks outside quotes (escape char keeps the next char),
 * keeping quotes in the words.  Returns the count; *out is NULL-terminated. */
size_t bf_split_words(const char *s, char escape, char ***out);
void bf_words_free(char **w, size_t n);

#endif
