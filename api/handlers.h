/* Every route handler, grouped by the file that holds it. */
#ifndef BERTH_API_HANDLERS_H
#define BERTH_API_HANDLERS_H

#include "api/api.h"

struct rt_container;

/* api/system.c */
void api_ping(api_request *r);
void api_version(api_request *r);
void api_info(api_request *r);

/* api/images.c */
void api_images_list(api_request *r);
void api_image_inspect(api_request *r);
void api_image_history(api_request *r);
void api_image_tag(api_request *r);
void api_image_delete(api_request *r);
void api_images_prune(api_request *r);
void api_image_create(api_request *r);

/* api/image_pull.c, api/image_push.c, api/auth.c, api/distribution.c */
void api_image_pull(api_request *r);
void api_image_push(api_request *r);
void api_auth(api_request *r);
void api_distribution_inspect(api_request *r);

/* api/image_transfer.c */
void api_images_load(api_request *r);
void api_image_get(api_request *r);
void api_images_get(api_request *r);

/* api/containers.c */
void api_container_create(api_request *r);
void api_containers_list(api_request *r);
void api_container_inspect(api_request *r);
void api_containers_prune(api_request *r);
/* Resolves the route's {id}; replies 404 and returns NULL when there is none. */
struct rt_container *api_container_target(api_request *r);
/* An entry of GET /containers/json (also for /system/df). */
/* links: rt_links_names_index's, made once for a listing (NULL: looked up
 * for this container alone). */
json_t *api_container_summary(api_request *r, struct rt_container *c, bool size, json_t *links);

/* api/container_lifecycle.c */
void api_container_start(api_request *r);
void api_container_stop(api_request *r);
void api_container_restart(api_request *r);
void api_container_kill(api_request *r);
void api_container_pause(api_request *r);
void api_container_unpause(api_request *r);
void api_container_delete(api_request *r);
void api_container_rename(api_request *r);
void api_container_resize(api_request *r);
void api_container_wait(api_request *r);

/* api/attach.c */
void api_container_attach(api_request *r);
void api_container_attach_ws(api_request *r);
void api_container_logs(api_request *r);

/* api/exec.c */
void api_exec_create(api_request *r);
void api_exec_start(api_request *r);
void api_exec_inspect(api_request *r);
void api_exec_resize(api_request *r);

/* api/stats.c */
void api_container_top(api_request *r);
void api_container_stats(api_request *r);
void api_container_update(api_request *r);

/* api/container_fs.c */
void api_container_archive_head(api_request *r);
void api_container_archive_get(api_request *r);
void api_container_archive_put(api_request *r);
void api_container_export(api_request *r);
void api_container_changes(api_request *r);
void api_commit(api_request *r);

/* api/networks.c */
void api_networks_list(api_request *r);
void api_network_inspect(api_request *r);
void api_network_create(api_request *r);
void api_network_delete(api_request *r);
void api_networks_prune(api_request *r);
void api_network_connect(api_request *r);
void api_network_disconnect(api_request *r);

/* api/volumes.c */
void api_volumes_list(api_request *r);
void api_volume_create(api_request *r);
void api_volume_inspect(api_request *r);
void api_volume_delete(api_request *r);
void api_volumes_prune(api_request *r);

/* api/system_df.c */
void api_system_df(api_request *r);
/* api/build.c */
void api_build(api_request *r);
void api_build_prune(api_request *r);
void api_build_cancel(api_request *r);

/* api/services.c */
void api_services_list(api_request *r);
void api_service_create(api_request *r);
void api_service_inspect(api_request *r);
void api_service_update(api_request *r);
void api_service_delete(api_request *r);
void api_tasks_list(api_request *r);
void api_task_inspect(api_request *r);

/* api/service_logs.c */
void api_service_logs(api_request *r);
void api_task_logs(api_request *r);

/* api/absent.c */
void api_plugin_absent(api_request *r);

/* api/events.c */
void api_events(api_request *r);

/* api/swarm.c, api/swarm_init.c */
void api_swarm_inspect(api_request *r);
void api_swarm_init(api_request *r);
void api_swarm_join(api_request *r);
void api_swarm_leave(api_request *r);
void api_swarm_update(api_request *r);
void api_swarm_unlockkey(api_request *r);
void api_swarm_unlock(api_request *r);
/* For handlers that need the cluster store: while it is starting, r is
 * parked and again(r) is called once it is ready (at most 20 s later), and
 * these return false / NULL.  api_swarm_store also returns NULL, having
 * replied 503, when the store is unavailable. */
bool api_swarm_settled(api_request *r, void (*again)(api_request *r));
struct cluster_store *api_swarm_store(api_request *r, void (*again)(api_request *r));
/* The "Swarm" header of /_ping ("active/manager") and the Swarm section of
 * /info (a new object). */
const char *api_swarm_status(api_request *r);
json_t *api_swarm_info(api_request *r);

/* api/nodes.c */
void api_nodes_list(api_request *r);
void api_node_inspect(api_request *r);
void api_node_update(api_request *r);
void api_node_delete(api_request *r);

/* api/secrets.c: /secrets and /configs */
void api_secrets_list(api_request *r);
void api_secret_create(api_request *r);
void api_secret_inspect(api_request *r);
void api_secret_update(api_request *r);
void api_secret_delete(api_request *r);
void api_configs_list(api_request *r);
void api_config_create(api_request *r);
void api_config_inspect(api_request *r);
void api_config_update(api_request *r);
void api_config_delete(api_request *r);

#endif
