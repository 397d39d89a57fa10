/* JSON bodies of POST /containers/create, /services/create,
 * /networks/create and /secrets/create, through the checks that run on
 * them before anything is stored: HostConfig's restart policy, resources,
 * runtime, mounts, ports, capabilities and log driver; a ServiceSpec's
 * normalisation and placement constraints; a network's IPAM pools; a
 * secret's spec.  The first byte says which body it is. */
#include <jansson.h>

#include "api/service_spec.h"
#include "netoverlay/ipam/ipam.h"
#include "netoverlay/ports.h"
#include "node/secrets.h"
#include "runtime/container/mounts.h"
#include "runtime/container/spec.h"
#include "runtime/container/validate.h"
#include "runtime/logs/driver.h"
#include "scheduler/constraints.h"
#include "tests/fuzz/fuzz.h"

static void container_body(json_t *body)
{
    json_t *hc = json_object_get(body, "HostConfig");
    if (!json_is_object(hc))
        return;
    berr e = {0};
    json_t *warnings = json_array();
    (void)rt_container_validate_runtime(hc, &e);
    (void)rt_container_validate_restart(hc, &e);
    (void)rt_container_validate_resources(hc, false, warnings, &e);
    json_decref(warnings);
    rt_mount_req *m = NULL;
    size_t n = 0;
    if (rt_mounts_parse(hc, &m, &n, &e) == 0)
        rt_mounts_free(m, n);
    net_port_binding *b = NULL;
    if (net_ports_parse(json_object_get(hc, "PortBindings"), json_object_get(body, "ExposedPorts"),
                        json_is_true(json_object_get(hc, "PublishAllPorts")), "", &b, &n, &e) == 0)
        net_ports_free(b, n);
    uint64_t caps;
    (void)rt_spec_caps(hc, false, &caps, &e);
    json_t *lc = json_object_get(hc, "LogConfig");
    const char *driver = json_string_value(json_object_get(lc, "Type"));
    if (driver)
        (void)rt_logdriver_validate(driver, json_object_get(lc, "Config"), &e);
}

static void service_body(json_t *body)
{
    berr e = {0};
    json_t *warnings = json_array();
    (void)svc_spec_normalize(body, NULL, warnings, &e);
    json_decref(warnings);
    json_t *placement = json_object_get(json_object_get(body, "TaskTemplate"), "Placement");
    (void)sched_constraint_validate(json_object_get(placement, "Constraints"), &e);
}

static void network_body(json_t *body)
{
    size_t i;
    json_t *cfg;
    json_array_foreach(json_object_get(json_object_get(body, "IPAM"), "Config"), i, cfg) {
        ipam_pool p;
        berr e = {0};
        if (ipam_pool_init(&p, json_string_value(json_object_get(cfg, "Subnet")),
                           json_string_value(json_object_get(cfg, "IPRange")),
                           json_string_value(json_object_get(cfg, "Gateway")), &e) == 0)
            ipam_pool_free(&p);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    json_error_t je;
    json_t *body = json_loadb((const char *)data + 1, size - 1, 0, &je);
    if (!json_is_object(body)) {
        json_decref(body);
        return 0;
    }
    switch (data[0] % 4) {
    case 0: container_body(body); break;
    case 1: service_body(body); break;
    case 2: network_body(body); break;
    default: {
        berr e = {0};
        (void)secrets_check_spec(data[0] & 4 ? CS_CONFIG : CS_SECRET, body, &e);
    }
    }
    json_decref(body);
    return 0;
}
