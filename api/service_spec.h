/* A ServiceSpec as the API receives it, checked and completed as swarmkit
 * does before it is stored: a name (generated when empty), exactly one
 * mode (Replicated with one replica when none), an image. */
#ifndef BERTH_API_SERVICE_SPEC_H
#define BERTH_API_SERVICE_SPEC_H

#include <jansson.h>

#include "lib/err.h"

struct rt_image_store;

/* Completes spec in place; warnings (an array) gets dockerd's notes, such
 * as the image not being pinned by digest.  -EINVAL with swarmkit's
 * wording for a bad spec. */
int svc_spec_normalize(json_t *spec, struct rt_image_store *images, json_t *warnings, berr *e);

/* --with-registry-auth: the encoded X-Registry-Auth auth (as the header
 * came) kept as ContainerSpec.PullOptions.RegistryAuth, as swarmkit keeps
 * it, so every node's agent pulls the task's image with it.  Without auth
 * (NULL or ""), the one of from (an earlier spec; may be NULL) is kept,
 * as dockerd keeps it on an update. */
void svc_spec_set_auth(json_t *spec, const char *auth, const json_t *from);

/* Removes the credentials from a service or task document about to be
 * shown (dockerd never shows PullOptions). */
void svc_doc_hide_auth(json_t *doc);

#endif
