/* The registry options of berth_config (registry-mirrors,
 * insecure-registries, max-concurrent-downloads/-uploads,
 * max-download-attempts): defaults, dockerd's checks, SIGHUP take-over and
 * the view the registry client reads.  Declared in node/config.c's table;
 * kept here so that file stays about options in general. */
#ifndef BERTH_NODE_REGISTRY_CONFIG_H
#define BERTH_NODE_REGISTRY_CONFIG_H

#include <jansson.h>

#include "node/config.h"
#include "runtime/registry/endpoint.h"

void registry_config_defaults(berth_config *c);
int registry_config_validate(const berth_config *c, berr *e);
/* On reload: from the checked scratch copy, takes the registry keys the
 * file (root) holds. */
int registry_config_reload(berth_config *c, berth_config *scratch, json_t *root, berr *e);
void registry_config_free(berth_config *c);
/* A view of the options (pointing into c) for one pull or push. */
reg_options registry_config_options(const berth_config *c);

/* Per-registry certificates: certs.d beside the configuration file, which
 * by default is dockerd's /etc/docker/certs.d. */
void registry_config_certs_dir(const berth_config *c, char *out, size_t n);

#endif
