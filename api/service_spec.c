#include "api/service_spec.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/jsonutil.h"
#include "runtime/container/container.h"
#include "scheduler/constraints.h"

/* Go's JSON decoding matches member names without regard to case, and
 * clients rely on it (docker-py sends {"replicated": {"Replicas": 3}}):
 * rename the members of o that match one of names to its spelling. */
static void canonical_keys(json_t *o, const char *const *names, size_t n)
{
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(o, tmp, key, v) {
        for (size_t i = 0; i < n; i++)
            if (strcmp(key, names[i]) && !strcasecmp(key, names[i])) {
                json_object_set(o, names[i], v);
                json_object_del(o, key);
                break;
            }
    }
}

static int check_mode(json_t *spec, berr *e)
{
    static const char *const top[] = {"Name", "Labels", "TaskTemplate", "Mode", "UpdateConfig", "RollbackConfig",
                                      "EndpointSpec"};
    canonical_keys(spec, top, sizeof top / sizeof top[0]);
    json_t *mode = json_object_get(spec, "Mode");
    static const char *const mode_keys[] = {"Replicated", "Global", "ReplicatedJob", "GlobalJob"};
    if (json_is_object(mode))
        canonical_keys(mode, mode_keys, 4);
    static const char *const repl_keys[] = {"Replicas", "MaxConcurrent", "TotalCompletions"};
    json_t *sub;
    const char *k;
    json_object_foreach(json_is_object(mode) ? mode : NULL, k, sub) if (json_is_object(sub)) canonical_keys(sub, repl_keys, 3);
    if (!json_is_object(mode) || json_object_size(mode) == 0) {
        json_object_set_new(spec, "Mode", json_pack("{s:{s:i}}", "Replicated", "Replicas", 1));
        return 0;
    }
    static const char *const modes[] = {"Replicated", "Global", "ReplicatedJob", "GlobalJob"};
    int n = 0;
    for (size_t i = 0; i < 4; i++)
        n += json_object_get(mode, modes[i]) != NULL;
    if (n != 1)
        return berr_set(e, -EINVAL, "rpc error: code = InvalidArgument desc = service mode must be one of replicated, global, replicated-job or global-job");
    json_t *repl = json_object_get(mode, "Replicated");
    if (repl) {
        json_t *n_rep = json_object_get(repl, "Replicas");
        if (!n_rep)
            json_object_set_new(repl, "Replicas", json_integer(1));
        else if (!json_is_integer(n_rep) || json_integer_value(n_rep) < 0)
            return berr_set(e, -EINVAL, "rpc error: code = InvalidArgument desc = replicas must be a non-negative number");
    }
    json_t *job = json_object_get(mode, "ReplicatedJob");
    if (job) {
        if (!json_object_get(job, "TotalCompletions"))
            json_object_set_new(job, "TotalCompletions", json_integer(1));
        if (!json_object_get(job, "MaxConcurrent"))
            json_object_set(job, "MaxConcurrent", json_object_get(job, "TotalCompletions"));
    }
    return 0;
}

int svc_spec_normalize(json_t *spec, struct rt_image_store *images, json_t *warnings, berr *e)
{
    (void)images;
    int r = check_mode(spec, e);
    if (r < 0)
        return r;
    if (!*json_str(spec, "Name")) {
        char name[128];
        rt_name_random(name, sizeof name, false);
        json_object_set_new(spec, "Name", json_string(name));
    }
    if (strlen(json_str(spec, "Name")) > 63)
        return berr_set(e, -EINVAL, "rpc error: code = InvalidArgument desc = name must be 63 characters or fewer");
    json_t *tt = json_object_get(spec, "TaskTemplate");
    json_t *cspec = json_object_get(tt, "ContainerSpec");
    const char *image = json_str(cspec, "Image");
    if (!*image)
        return berr_set(e, -EINVAL, "rpc error: code = InvalidArgument desc = ContainerSpec: image reference must be provided");
    json_t *constraints = json_object_get(json_object_get(tt, "Placement"), "Constraints");
    if (constraints && (r = sched_constraint_validate(constraints, e)) < 0)
        return r;
    if (!json_object_get(spec, "Labels"))
        json_object_set_new(spec, "Labels", json_object());
    if (!json_object_get(tt, "ForceUpdate"))
        json_object_set_new(tt, "ForceUpdate", json_integer(0));
    if (!json_object_get(tt, "Runtime"))
        json_object_set_new(tt, "Runtime", json_string("container"));
    /* Registry credentials come only from X-Registry-Auth (svc_spec_set_auth):
     * the API's ContainerSpec has no such member, so one a client sent is
     * not taken. */
    json_object_del(cspec, "PullOptions");
    /* The image is pinned by digest by the CLI (GET /distribution), which
     * warns itself when it cannot be. */
    (void)warnings;
    return 0;
}

static json_t *container_spec(json_t *spec) { return json_object_get(json_object_get(spec, "TaskTemplate"), "ContainerSpec"); }

void svc_spec_set_auth(json_t *spec, const char *auth, const json_t *from)
{
    json_t *cspec = container_spec(spec);
    if (!json_is_object(cspec))
        return;
    if (auth && *auth) {
        json_object_set_new(cspec, "PullOptions", json_pack("{s:s}", "RegistryAuth", auth));
        return;
    }
    json_t *prev = json_object_get(container_spec((json_t *)from), "PullOptions");
    if (json_is_object(prev))
        json_object_set_new(cspec, "PullOptions", json_deep_copy(prev));
}

void svc_doc_hide_auth(json_t *doc)
{
    json_object_del(container_spec(json_object_get(doc, "Spec")), "PullOptions");
    json_object_del(container_spec(json_object_get(doc, "PreviousSpec")), "PullOptions");
    /* a task's Spec is the TaskTemplate itself */
    json_object_del(json_object_get(json_object_get(doc, "Spec"), "ContainerSpec"), "PullOptions");
}
