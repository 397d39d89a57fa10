/* The image store as a registry pull's destination: the reg_pull_store
 * (runtime/registry/pull.h) whose callbacks are the store's pulled-image
 * functions (runtime/image/pulled.c), for every caller that pulls (the
 * API's docker pull, the agent's pull before a task). */
#ifndef BERTH_RUNTIME_IMAGE_PULLED_H
#define BERTH_RUNTIME_IMAGE_PULLED_H

#include "runtime/image/store.h"
#include "runtime/registry/pull.h"

/* s must outlive the pull; bracket the pull with rt_images_hold/release. */
reg_pull_store rt_images_pull_store(rt_image_store *s);

#endif
