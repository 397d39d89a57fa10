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

/* api/image_transfer.c */
void api_images_load(api_request *r);
void api_image_get(api_request *r);
void api_images_get(api_request *r);

/* api/containers.c */
void api_container_create(api_request *r);
void api_containers_list(api_request *r);
void api_container_inspect(api_request *r);
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
void api_containers_prune(api_request *r);
/* An entry of GET /containers/json (also for /system/df). */
json_t *api_container_summary(api_request *r, struct rt_container *c, bool size);

/* api/attach.c */
void api_container_attach(api_request *r);
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
void api_build_prune(api_request *r);

/* api/absent.c */
void api_plugin_absent(api_request *r);

/* api/events.c */
void api_events(api_request *r);

#endif
