/* --userns-remap for containers (see userns.h). */
#include "runtime/container/userns.h"

#include <string.h>
#include <unistd.h>

#include "lib/jsonutil.h"

void rt_containers_set_remap(rt_containers *m, const rt_idmap *map, int userns_fd)
{
    if (m->remap && m->remap_userns_fd >= 0)
        close(m->remap_userns_fd);
    m->remap = map;
    m->remap_userns_fd = map ? userns_fd : -1;
}

static bool host_userns(json_t *hc)
{
    return !strcmp(json_str(hc, "UsernsMode"), "host");
}

const rt_idmap *rt_container_userns(const rt_containers *m, const rt_container *c)
{
    return m->remap && !host_userns(c->host_config) ? m->remap : NULL;
}

int rt_container_userns_validate(const rt_containers *m, json_t *hc, berr *e)
{
    const char *mode = json_str(hc, "UsernsMode");
    if (*mode && strcmp(mode, "host"))
        return berr_set(e, -EINVAL, "invalid USER mode: %s", mode);
    if (!m->remap || host_userns(hc))
        return 0;
    /* dockerd's verifyPlatformContainerSettings, in its order. */
    if (json_is_true(json_object_get(hc, "Privileged")))
        return berr_set(e, -EINVAL, "privileged mode is incompatible with user namespaces.  You must run the "
                                    "container in the host namespace when running privileged mode");
    if (!strcmp(json_str(hc, "NetworkMode"), "host"))
        return berr_set(e, -EINVAL, "cannot share the host's network namespace when user namespaces are enabled");
    if (!strcmp(json_str(hc, "PidMode"), "host"))
        return berr_set(e, -EINVAL, "cannot share the host PID namespace when user namespaces are enabled");
    return 0;
}

void rt_container_root_ids(const rt_containers *m, const rt_container *c, uid_t *uid, gid_t *gid)
{
    const rt_idmap *map = rt_container_userns(m, c);
    *uid = 0;
    *gid = 0;
    if (map) {
        rt_idmap_uid(map, 0, uid);
        rt_idmap_gid(map, 0, gid);
    }
}
