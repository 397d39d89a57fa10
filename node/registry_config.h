/* The registry options of berth_config (registry-mirrors,
 * insecure-registries, max-concurrent-downloads/-uploads,
 * max-download-attempts): defaults, dockerd's checks, SIGHUP take-over and
 * the view the registry client reads.  Declared in node/config_opts.c's
 * table; kept here so node/config.c stays about options in general. */
#ifndef BERTH_NODE_REGISTRY_CONFIG_H
#define BERTH_NODE_REGISTRY_CONFIG_H

#include <jansson.h>

#include "node/config.h"
#include "runtime/registry/endpoint.h"

/* dockerd's checks of the registry keys (run with the other per-option
 * checks, on load and on SIGHUP). */
int registry_config_validate(const berth_config *c, berr *e);
/* Rebuilds the C arrays from the table's JSON arrays (after load and
 * reload); free releases them. */
void registry_config_sync(berth_config *c);
void registry_config_free(berth_config *c);
/* A view of the options (pointing into c) for one pull or push. */
reg_options registry_config_options(const berth_config *c);

/* Per-registry certificates: certs.d beside the configuration file, which
 * by default is dockerd's /etc/docker/certs.d. */
void registry_config_certs_dir(const berth_config *c, char *out, size_t n);

#endif
