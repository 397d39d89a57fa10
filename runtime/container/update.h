/* docker update: new limits and restart policy for an existing container,
 * checked as dockerd checks them, kept in its HostConfig and, while it
 * runs, applied to its cgroup at once. */
#ifndef BERTH_RUNTIME_CONTAINER_UPDATE_H
#define BERTH_RUNTIME_CONTAINER_UPDATE_H

#include <jansson.h>

#include "lib/err.h"
#include "runtime/linux/cgroup.h"
#include "runtime/container/container.h"

/* The request (Memory, MemorySwap, MemoryReservation, NanoCpus, CpuShares,
 * CpuPeriod, CpuQuota, CpusetCpus, CpusetMems, PidsLimit, BlkioWeight,
 * RestartPolicy; zero or absent leaves a value alone) on its own: types
 * and ranges.  -EINVAL with dockerd's wording. */
int rt_container_update_check(json_t *req, json_t *warnings, berr *e);

/* dockerd's UpdateContainer: merges req into hc (changed in place) and
 * fills *live with what the running cgroup must be told.  -EBUSY for
 * requests that conflict with what hc already holds (NanoCpus against a
 * CPU period or quota, a memory limit above the swap limit, a restart
 * policy on an AutoRemove container).  Pure: no files touched. */
int rt_container_update_merge(json_t *hc, json_t *req, rt_resources *live, berr *e);

/* The whole update: check, merge, apply to the cgroup if c runs (a
 * kernel refusal, e.g. a memory limit below what the container uses, is
 * reported and leaves HostConfig as it was), persist, emit "update".
 * Errors after the check carry dockerd's "Cannot update container <id>: ". */
int rt_container_update(rt_containers *m, rt_container *c, json_t *req, json_t *warnings, berr *e);

#endif
