/* Image configuration helpers (the OCI/Docker image config JSON). */
#ifndef BERTH_RUNTIME_IMAGE_CONFIG_H
#define BERTH_RUNTIME_IMAGE_CONFIG_H

#include <jansson.h>
#include <stddef.h>

#include "lib/err.h"

/* Applies Dockerfile-style change lines to the "config" object of an image
 * config, as `docker import --change` and `docker commit --change` do.
 * Accepted instructions (case-insensitive): CMD, ENTRYPOINT (JSON array or
 * shell form -> ["/bin/sh","-c",...]), ENV (k=v pairs or "k v"), EXPOSE
 * (adds "80/tcp" to ExposedPorts), LABEL, ONBUILD, USER, VOLUME (JSON array
 * or words), WORKDIR, STOPSIGNAL, HEALTHCHECK (NONE or CMD ... with
 * --interval/--timeout/--start-period/--retries).  Anything else is -EINVAL
 * with dockerd's message "<instr> is not a valid change command". */
int image_config_apply_changes(json_t *config, const char *const *changes, size_t n, berr *e);

#endif
