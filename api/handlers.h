/* Every route handler, grouped by the file that holds it. */
#ifndef BERTH_API_HANDLERS_H
#define BERTH_API_HANDLERS_H

#include "api/api.h"

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

#endif
