/* Shared between the container manager's files; not for other modules. */
#ifndef BERTH_RUNTIME_CONTAINER_INTERNAL_H
#define BERTH_RUNTIME_CONTAINER_INTERNAL_H

#include <stddef.h>

#include "runtime/container/container.h"

void rt_container_free(rt_container *c);
int rt_container_delete_row(rt_containers *m, rt_container *c, berr *e);
void rt_containers_add(rt_containers *m, rt_container *c);
void rt_containers_forget(rt_containers *m, rt_container *c);
rt_container *rt_container_by_name(rt_containers *m, const char *name);
bool rt_containers_image_in_use(void *ctx, const char *image_id, char *who, size_t who_len, bool *running);
void rt_name_generate(rt_containers *m, char *out, size_t n);

/* After loading: containers recorded as running are not (the daemon was
 * down); mark them exited, clean their mounts and cgroups, and start those
 * whose restart policy says so. */
void rt_containers_recover(rt_containers *m);

/* Restart policy helpers (container_start.c). */
const char *rt_restart_policy(const rt_container *c, int *max_retries);
/* The next back-off delay after a run of ran_ms that followed a delay of
 * current_ms (0 for the first restart). */
uint64_t rt_restart_backoff_next(uint64_t current_ms, uint64_t ran_ms);
void rt_container_fire_waiters(rt_container *c, bool removed, const char *error);
/* The process exited with code (start.c): release the run, record, tell
 * waiters, apply the restart policy. */
void rt_container_exited(rt_containers *m, rt_container *c, int code);

/* Health checks (runtime/container/health.c). */
void rt_container_health_start(rt_containers *m, rt_container *c);
void rt_container_health_stop(rt_container *c);

#endif
