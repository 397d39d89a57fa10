/* dockerd's checks on a HostConfig that both create and update make
 * (runtime/container/create.c). */
#ifndef BERTH_RUNTIME_CONTAINER_VALIDATE_H
#define BERTH_RUNTIME_CONTAINER_VALIDATE_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/err.h"

/* RestartPolicy: a known name, a retry count only with on-failure, and not
 * with AutoRemove.  -EINVAL with dockerd's wording. */
int rt_container_validate_restart(json_t *hc, berr *e);

/* Memory, swap, CPU and cpuset limits.  update: the checks of `docker
 * update`, which may set MemorySwap without Memory. */
int rt_container_validate_resources(json_t *hc, bool update, json_t *warnings, berr *e);

/* The one runtime berth has is its own, and it answers to the name dockerd
 * gives its default: "runc".  Docker reports it as HostConfig.Runtime and
 * in `docker info`. */
#define RT_RUNTIME_NAME "runc"

/* HostConfig.Runtime: empty becomes RT_RUNTIME_NAME; any other name is
 * -EINVAL with dockerd's "unknown or invalid runtime name". */
int rt_container_validate_runtime(json_t *hc, berr *e);

#endif
