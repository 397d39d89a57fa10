/* docker update: dockerd's verifyContainerSettings (update flavour), its
 * Container.UpdateContainer merge, and the live cgroup update. */
#include "runtime/container/update.h"

#include <stdio.h>
#include <string.h>

#include "lib/jsonutil.h"
#include "lib/log.h"
#include "runtime/container/validate.h"

static const char *const int_keys[] = {"Memory",   "MemorySwap", "MemoryReservation", "NanoCpus", "CpuShares",
                                       "CpuPeriod", "CpuQuota",  "PidsLimit",         "BlkioWeight", NULL};
static const char *const str_keys[] = {"CpusetCpus", "CpusetMems", NULL};

static int64_t int_of(json_t *o, const char *key) { return json_integer_value(json_object_get(o, key)); }
#define MIN_MEMORY (6 * 1024 * 1024)

int rt_container_update_check(json_t *req, json_t *warnings, berr *e)
{
    if (!json_is_object(req))
        return berr_set(e, -EINVAL, "invalid update request: the body must be a JSON object");
    for (const char *const *k = int_keys; *k; k++) {
        json_t *v = json_object_get(req, *k);
        if (v && !json_is_null(v) && !json_is_integer(v))
            return berr_set(e, -EINVAL, "json: cannot unmarshal %s into Go struct field UpdateConfig.%s of type int64",
                            json_is_string(v) ? "string" : "value", *k);
    }
    for (const char *const *k = str_keys; *k; k++) {
        json_t *v = json_object_get(req, *k);
        if (v && !json_is_null(v) && !json_is_string(v))
            return berr_set(e, -EINVAL, "json: cannot unmarshal value into Go struct field UpdateConfig.%s of type string",
                            *k);
        if (strlen(json_str(req, *k)) >= sizeof ((rt_resources *)0)->cpuset_cpus)
            return berr_set(e, -EINVAL, "invalid value for %s: too long", *k);
    }
    json_t *rp = json_object_get(req, "RestartPolicy");
    if (rp && !json_is_null(rp) && !json_is_object(rp))
        return berr_set(e, -EINVAL, "json: cannot unmarshal value into Go struct field UpdateConfig.RestartPolicy");

    int r = rt_container_validate_restart(req, e);
    if (r == 0)
        r = rt_container_validate_resources(req, true, warnings, e);
    if (r < 0)
        return r;
    /* The rest of dockerd's verifyPlatformContainerResources. */
    int64_t mem = int_of(req, "Memory"), resv = int_of(req, "MemoryReservation");
    if (resv > 0 && resv < MIN_MEMORY)
        return berr_set(e, -EINVAL, "Minimum memory reservation allowed is 6MB");
    if (mem > 0 && resv > 0 && mem < resv)
        return berr_set(e, -EINVAL, "Minimum memory limit can not be less than memory reservation limit, see usage");
    if (int_of(req, "NanoCpus") && int_of(req, "CpuQuota"))
        return berr_set(e, -EINVAL, "Conflicting options: Nano CPUs and CPU Quota cannot both be set");
    int64_t period = int_of(req, "CpuPeriod"), quota = int_of(req, "CpuQuota");
    if (period != 0 && (period < 1000 || period > 1000000))
        return berr_set(e, -EINVAL, "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
    if (quota > 0 && quota < 1000)
        return berr_set(e, -EINVAL, "CPU cfs quota can not be less than 1ms (i.e. 1000)");
    int64_t weight = int_of(req, "BlkioWeight");
    if (weight != 0 && (weight < 10 || weight > 1000))
        return berr_set(e, -EINVAL, "Range of blkio weight is from 10 to 1000");
    return 0;
}

/* Sets hc[key] to v when v is not zero (dockerd's "0 leaves it alone"). */
static void take_int(json_t *hc, const char *key, int64_t v)
{
    if (v != 0)
        json_object_set_new(hc, key, json_integer(v));
}

int rt_container_update_merge(json_t *hc, json_t *req, rt_resources *live, berr *e)
{
    memset(live, 0, sizeof *live);
    int64_t nano = int_of(req, "NanoCpus"), period = int_of(req, "CpuPeriod"), quota = int_of(req, "CpuQuota");
    /* NanoCpus is itself a period and quota: once one way is set, the
     * other cannot be (dockerd's conflictingUpdateOptions). */
    if (nano > 0 && int_of(hc, "CpuPeriod") > 0)
        return berr_set(e, -EBUSY, "Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set");
    if (nano > 0 && int_of(hc, "CpuQuota") > 0)
        return berr_set(e, -EBUSY, "Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set");
    if (period > 0 && int_of(hc, "NanoCpus") > 0)
        return berr_set(e, -EBUSY, "Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set");
    if (quota > 0 && int_of(hc, "NanoCpus") > 0)
        return berr_set(e, -EBUSY, "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set");

    int64_t mem = int_of(req, "Memory"), swap = int_of(req, "MemorySwap");
    int64_t had_mem = int_of(hc, "Memory"), had_swap = int_of(hc, "MemorySwap");
    /* What the cgroup holds now: create leaves MemorySwap 0 and the start
     * gives the container twice its memory (dockerd stores that figure). */
    int64_t cur_swap = had_swap ? had_swap : had_mem > 0 ? 2 * had_mem : 0;
    int64_t live_swap = swap;
    if (mem != 0 && swap == 0) {
        if (cur_swap > 0 && mem > cur_swap)
            return berr_set(e, -EBUSY, "Memory limit should be smaller than already set memoryswap limit, update the "
                                       "memoryswap at the same time");
        if (had_swap == 0 && had_mem > 0) {
            /* keep the swap limit the container has, not a new default */
            json_object_set_new(hc, "MemorySwap", json_integer(cur_swap));
        } else if (cur_swap == 0) {
            /* No limit before: dockerd refuses this ("...smaller than
             * already set memoryswap limit", moby#47874); Berth treats it
             * as `run --memory` would and gives twice the memory, which is
             * also what the next start computes from MemorySwap 0. */
            live_swap = 2 * mem;
        }
    }

    json_t *rp = json_object_get(req, "RestartPolicy");
    const char *policy = json_str(rp, "Name");
    if (*policy) {
        if (json_is_true(json_object_get(hc, "AutoRemove")) && strcmp(policy, "no") != 0)
            return berr_set(e, -EBUSY, "Restart policy cannot be updated because AutoRemove is enabled for the container");
        json_object_set_new(hc, "RestartPolicy", json_pack("{s:s, s:I}", "Name", policy, "MaximumRetryCount",
                                                           (json_int_t)int_of(rp, "MaximumRetryCount")));
    }

    take_int(hc, "BlkioWeight", int_of(req, "BlkioWeight"));
    take_int(hc, "CpuShares", int_of(req, "CpuShares"));
    take_int(hc, "NanoCpus", nano);
    take_int(hc, "CpuPeriod", period);
    take_int(hc, "CpuQuota", quota);
    if (*json_str(req, "CpusetCpus"))
        json_object_set_new(hc, "CpusetCpus", json_string(json_str(req, "CpusetCpus")));
    if (*json_str(req, "CpusetMems"))
        json_object_set_new(hc, "CpusetMems", json_string(json_str(req, "CpusetMems")));
    take_int(hc, "Memory", mem);
    take_int(hc, "MemorySwap", swap);
    take_int(hc, "MemoryReservation", int_of(req, "MemoryReservation"));
    json_t *pids = json_object_get(req, "PidsLimit");
    if (json_is_integer(pids)) {
        /* 0 and -1 (any negative, historically) both mean unlimited; the
         * API stores it as 0. */
        int64_t p = json_integer_value(pids);
        json_object_set_new(hc, "PidsLimit", json_integer(p > 0 ? p : 0));
        live->pids_limit = p > 0 ? p : -1;
    }

    live->memory = mem;
    live->memory_swap = live_swap;
    live->memory_reservation = int_of(req, "MemoryReservation");
    live->nano_cpus = nano;
    live->cpu_shares = int_of(req, "CpuShares");
    live->cpu_period = period;
    live->cpu_quota = quota;
    snprintf(live->cpuset_cpus, sizeof live->cpuset_cpus, "%s", json_str(req, "CpusetCpus"));
    snprintf(live->cpuset_mems, sizeof live->cpuset_mems, "%s", json_str(req, "CpusetMems"));
    live->blkio_weight = (uint16_t)int_of(req, "BlkioWeight");
    return 0;
}

int rt_container_update(rt_containers *m, rt_container *c, json_t *req, json_t *warnings, berr *e)
{
    int r = rt_container_update_check(req, warnings, e);
    if (r < 0)
        return r;
    if (c->removing || c->state == RT_STATE_REMOVING || c->state == RT_STATE_DEAD)
        return berr_set(e, -EIO, "Cannot update container %s: container is marked for removal and cannot be \"update\"",
                        c->id);
    json_t *hc = json_deep_copy(c->host_config);
    rt_resources live;
    if ((r = rt_container_update_merge(hc, req, &live, e)) < 0) {
        json_decref(hc);
        return berr_wrap(e, "Cannot update container %s", c->id);
    }
    /* A stopped container takes the new HostConfig at its next start; a
     * restarting one has no cgroup to change until then either. */
    if (rt_container_running(c) && c->state != RT_STATE_RESTARTING) {
        berr ce = {0};
        if ((r = rt_cgroup_update(&m->cgroups, c->id, &live, &ce)) < 0) {
            json_decref(hc);
            /* whatever the kernel refused, it is a server error in
             * dockerd's book (errdefs.System) */
            return berr_set(e, -EIO, "Cannot update container %s: %s", c->id, ce.msg);
        }
    }
    json_t *old = c->host_config;
    c->host_config = hc;
    if ((r = rt_container_save(m, c, e)) < 0) {
        c->host_config = old;
        return berr_wrap(e, "Cannot update container %s", c->id);
    }
    json_decref(old);
    rt_container_emit(m, c, "update", NULL);
    return 0;
}
