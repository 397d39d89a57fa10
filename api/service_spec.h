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

#endif
