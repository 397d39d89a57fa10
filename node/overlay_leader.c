#include "node/overlay_leader.h"

#include <stdio.h>
#include <string.h>

#include "lib/jsonutil.h"
#include "lib/log.h"

json_t *overlay_ingress_doc(const json_t *cluster, const json_t *networks, const char *now)
{
    if (!json_is_true(json_object_get(json_object_get(cluster, "Berth"), "Initialized")))
        return NULL;
    size_t i;
    json_t *n;
    json_array_foreach(networks, i, n) if (json_is_true(json_object_get(json_object_get(n, "Spec"), "Ingress"))) return NULL;
    /* Docker's ingress: 10.0.0.0/24 when the pool is the default one,
     * else the pool's first subnet; the first VNI. */
    ipam_subnet s;
    uint32_t vni;
    if (ovl_pick_subnet(cluster, networks, &s, NULL) < 0 || ovl_pick_vni(networks, &vni, NULL) < 0)
        return NULL;
    char subnet[IPAM_CIDR_BUF], gw[IPAM_ADDR_BUF];
    ipam_format_cidr(s.addr, s.prefix, subnet);
    ipam_format_addr(s.addr + 1, gw);
    /* The cluster ID reversed: a stable ID of the same alphabet and length. */
    const char *cid = json_str(cluster, "ID");
    size_t len = strlen(cid);
    char id[65];
    if (!len || len >= sizeof id)
        return NULL;
    for (size_t k = 0; k < len; k++)
        id[k] = cid[len - 1 - k];
    id[len] = 0;
    return json_pack("{s:s, s:{s:i}, s:s, s:s, s:{s:s, s:{s:s}, s:{s:s, s:{}}, s:{s:{s:s}, s:[{s:s, s:s}]}, s:b, s:b, "
                     "s:b}, s:{s:s, s:{s:o}}, s:{s:{s:s}, s:[{s:s, s:s}]}}",
                     "ID", id, "Version", "Index", 0, "CreatedAt", now, "UpdatedAt", now, "Spec", "Name",
                     OVL_INGRESS_NAME, "Labels", "com.docker.swarm.internal", "true", "DriverConfiguration", "Name",
                     "overlay", "Options", "IPAMOptions", "Driver", "Name", "default", "Configs", "Subnet", subnet,
                     "Gateway", gw, "Internal", 0, "Attachable", 0, "Ingress", 1, "DriverState", "Name", "overlay",
                     "Options", OVL_VNI_OPTION, json_sprintf("%u", vni), "IPAM", "Driver", "Name", "default",
                     "Configs", "Subnet", subnet, "Gateway", gw);
}

bool overlay_service_ingress(const json_t *service)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(json_object_get(service, "Endpoint"), "Ports"), i, p)
        if (strcmp(json_str(p, "PublishMode"), "host"))
            return true;
    return false;
}

bool overlay_task_allocate(ovl_alloc *a, json_t *task, const json_t *services)
{
    const json_t *svc = NULL;
    size_t i;
    json_t *s;
    json_array_foreach(services, i, s) if (!strcmp(json_str(s, "ID"), json_str(task, "ServiceID"))) svc = s;
    berr e = {0};
    if (ovl_alloc_task(a, task, svc && overlay_service_ingress(svc), &e) == 0)
        return true;
    log_warn("allocator: task %s: %s", json_str(task, "ID"), e.msg);
    return false;
}
