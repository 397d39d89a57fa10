/* The instructions that only change the image's Config (ENV, LABEL, CMD,
 * ENTRYPOINT, EXPOSE, VOLUME, WORKDIR, USER, SHELL, STOPSIGNAL,
 * HEALTHCHECK, ONBUILD, MAINTAINER) and the word expansion every
 * instruction uses, as moby's classic dispatchers do.  Pure: unit-tested. */
#ifndef BERTH_RUNTIME_BUILD_INSTR_H
#define BERTH_RUNTIME_BUILD_INSTR_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/err.h"
#include "runtime/build/parser.h"

/* Expands one word with env ("K=V" array): quotes go, variables resolve. */
int bi_expand(const char *word, json_t *env, char **out, berr *e);

/* "K=V" pairs of ENV, LABEL (and the legacy "K V" form): an object of the
 * expanded keys and values, in order. */
int bi_pairs(const bf_instr *in, json_t *env, bool legacy_ok, json_t **out, berr *e);

/* The default shell or the config's Shell, plus cmd: what a shell-form
 * command runs. */
json_t *bi_shell_cmd(const json_t *config, const char *cmd);

/* Applies in to config.  cmd_set tracks whether this stage set CMD (an
 * ENTRYPOINT clears an inherited one). */
int bi_apply(json_t *config, const bf_instr *in, json_t *env, bool *cmd_set, berr *e);

/* Sets KEY=VALUE in an Env array, replacing an earlier KEY. */
void bi_env_set(json_t *env, const char *key, const char *value);

#endif
