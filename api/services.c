/* /services and /tasks: swarm services on the cluster store.  Writes are
 * proposals (the reply waits for the entry to apply); reads are local. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/handlers.h"
#include "api/swarm_api.h"
#include "lib/cleanup.h"
#include "lib/filters.h"
#include "lib/jsonutil.h"
#include "lib/timefmt.h"
#include "node/attachment_tasks.h"
#include "node/daemon.h"
#include "node/secrets.h"
#include "node/swarm.h"
#include "raft/cluster_store.h"
#include "scheduler/common.h"
#include "scheduler/update.h"
#include "api/service_spec.h"
#include "api/service_networks.h"

/* By full ID, exact name, then unique ID prefix, as swarmkit resolves. */
static int find_service(cluster_store *cs, const char *ref, json_t **out, berr *e)
{
    if (cs_get(cs, CS_SERVICE, ref, out, NULL) == 0)
        return 0;
    json_t *all = cs_list(cs, CS_SERVICE);
    json_t *hit = NULL;
    size_t i;
    json_t *s;
    json_array_foreach(all, i, s) if (!strcmp(json_str(json_object_get(s, "Spec"), "Name"), ref)) hit = s;
    int matches = 0;
    if (!hit)
        json_array_foreach(all, i, s) if (!strncmp(json_str(s, "ID"), ref, strlen(ref))) {
            hit = s;
            matches++;
        }
    if (hit && matches < 2)
        *out = json_incref(hit);
    json_decref(all);
    if (matches > 1)
        return berr_set(e, -EINVAL, "service %s is ambiguous (%d matches found)", ref, matches);
    if (!hit)
        return berr_set(e, -ENOENT, "service %s not found", ref);
    return 0;
}

/* Documents may carry a private "Berth" member the API never shows. */
static json_t *public_doc(json_t *doc)
{
    json_t *o = json_deep_copy(doc);
    json_object_del(o, "Berth");
    svc_doc_hide_auth(o);
    return o;
}

/* The same for a document of a fresh cs_list, which is the caller's own:
 * no copy (the copies were 13% of GET /services with 100 services). */
static json_t *public_listed(json_t *doc)
{
    json_object_del(doc, "Berth");
    svc_doc_hide_auth(doc);
    return json_incref(doc);
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * SCHED_NS_PER_SEC + ts.tv_nsec;
}

/* The service's Endpoint: its spec and the ports it publishes, ingress
 * ports given a published port from 30000-32767 when the spec leaves it
 * 0, and refused when another service has it, in swarmkit's words. */
static int endpoint_of(api_request *r, cluster_store *cs, json_t *spec, const char *self_id, json_t *old_endpoint,
                       json_t **out, berr *e)
{
    json_t *es = json_object_get(spec, "EndpointSpec");
    json_t *ports = json_array();
    json_t *others = cs_list(cs, CS_SERVICE);
    size_t i, k;
    json_t *p;
    json_array_foreach(json_object_get(es, "Ports"), i, p) {
        const char *mode = *json_str(p, "PublishMode") ? json_str(p, "PublishMode") : "ingress";
        const char *proto = *json_str(p, "Protocol") ? json_str(p, "Protocol") : "tcp";
        long long target = json_integer_value(json_object_get(p, "TargetPort"));
        long long pub = json_integer_value(json_object_get(p, "PublishedPort"));
        if (!strcmp(mode, "ingress") && pub == 0) {
            /* Keep the port the previous version got. */
            json_t *q;
            json_array_foreach(json_object_get(old_endpoint, "Ports"), k, q)
                if (json_integer_value(json_object_get(q, "TargetPort")) == target && !strcmp(json_str(q, "Protocol"), proto))
                    pub = json_integer_value(json_object_get(q, "PublishedPort"));
        }
        for (long long cand = pub ? pub : 30000; !strcmp(mode, "ingress") && cand <= (pub ? pub : 32767); cand++) {
            const char *user = NULL;
            size_t j;
            json_t *o;
            json_array_foreach(others, j, o) {
                if (!strcmp(json_str(o, "ID"), self_id))
                    continue;
                json_t *op;
                json_array_foreach(json_object_get(json_object_get(o, "Endpoint"), "Ports"), k, op)
                    if (json_integer_value(json_object_get(op, "PublishedPort")) == cand &&
                        !strcmp(json_str(op, "Protocol"), proto) && !strcmp(json_str(op, "PublishMode"), "ingress"))
                        user = json_str(o, "ID");
            }
            if (!user) {
                pub = cand;
                break;
            }
            if (pub) {
                json_t *o = NULL;
                cs_get(cs, CS_SERVICE, user, &o, NULL);
                berr_set(e, -EINVAL, "rpc error: code = InvalidArgument desc = port '%lld' is already in use by service '%s' (%s) as an ingress port",
                         pub, json_str(json_object_get(o, "Spec"), "Name"), user);
                json_decref(o);
                json_decref(others);
                json_decref(ports);
                return -EINVAL;
            }
        }
        json_array_append_new(ports, json_pack("{s:s, s:I, s:I, s:s}", "Protocol", proto, "TargetPort",
                                               (json_int_t)target, "PublishedPort", (json_int_t)pub, "PublishMode",
                                               mode));
    }
    json_decref(others);
    *out = json_pack("{s:o, s:o}", "Spec", es ? json_incref(es) : json_object(), "Ports", ports);
    if (json_array_size(ports) == 0)
        json_object_del(*out, "Ports");
    int rc = svc_networks_resolve(cs, &r->d->networks, spec, old_endpoint, *out, e);
    if (rc < 0) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- create / update / delete ------------------------------------------------ */

typedef struct write_req {
    api_request *r;
    char id[26];
    json_t *warnings;
    unsigned status;
} write_req;

static void write_done(void *arg, int status, uint64_t index, const berr *e)
{
    (void)index;
    write_req *w = arg;
    if (status == -EAGAIN) {
        /* SwarmKit's sequence conflict reaches clients as a 500. */
        api_reply_error(w->r, -EIO, API_SWARM_OUT_OF_SEQUENCE);
    } else if (status < 0) {
        api_reply_berr(w->r, e);
    } else if (w->status == 201) {
        json_t *o = json_pack("{s:s}", "ID", w->id);
        if (json_array_size(w->warnings))
            json_object_set(o, "Warnings", w->warnings);
        api_reply_json(w->r, 201, o);
    } else {
        api_reply_json(w->r, 200, json_pack("{s:O}", "Warnings", json_array_size(w->warnings) ? w->warnings : json_null()));
    }
    json_decref(w->warnings);
    free(w);
}

/* Proposes one write of a service (doc taken; NULL to delete) and
 * replies once it has applied, or at once if it cannot be proposed. */
static void propose_service(api_request *r, cluster_store *cs, const char *id, json_t *doc, int64_t if_version,
                            write_req *w)
{
    cs_op op = {.type = doc ? CS_PUT : CS_DEL, .kind = CS_SERVICE, .doc = doc, .if_version = if_version};
    snprintf(op.id, sizeof op.id, "%s", id);
    berr e = {0};
    w->r = r;
    if (cluster_store_propose(cs, &op, 1, write_done, w, &e) < 0) {
        json_decref(w->warnings);
        free(w);
        api_reply_berr(r, &e);
    }
    json_decref(doc);
}

void api_service_create(api_request *r)
{
    /* Parked while the store starts, replayed once it is ready. */
    cluster_store *cs = api_swarm_store(r, api_service_create);
    if (!cs)
        return;
    berr e = {0};
    json_t *spec = NULL;
    if (api_body_json(r, &spec, &e) < 0 || !json_is_object(spec)) {
        if (!e.code)
            berr_set(&e, -EINVAL, "service spec must be a JSON object");
        json_decref(spec);
        api_reply_berr(r, &e);
        return;
    }
    write_req *w = xcalloc(1, sizeof *w);
    w->warnings = json_array();
    w->status = 201;
    int rc = svc_spec_normalize(spec, r->d->images, w->warnings, &e);
    if (rc == 0)   /* secrets and configs it names exist, targets distinct */
        rc = secrets_check_refs(cs, spec, &e);
    json_t *same = NULL;
    if (rc == 0) {
        same = cs_list_where(cs, CS_SERVICE, "$.Spec.Name", json_str(spec, "Name"));
        if (json_array_size(same))
            rc = berr_set(&e, -EEXIST, "rpc error: code = AlreadyExists desc = name conflicts with an existing object: service %s already exists",
                          json_str(spec, "Name"));
        json_decref(same);
    }
    if (rc < 0) {
        json_decref(spec);
        json_decref(w->warnings);
        free(w);
        api_reply_berr(r, &e);
        return;
    }
    svc_spec_set_auth(spec, api_header(r, "X-Registry-Auth"), NULL);
    cs_new_id(w->id);
    json_t *endpoint = NULL;
    if ((rc = endpoint_of(r, cs, spec, w->id, NULL, &endpoint, &e)) < 0) {
        json_decref(spec);
        json_decref(w->warnings);
        free(w);
        api_reply_berr(r, &e);
        return;
    }
    char now[40];
    sched_time_format(now_ns(), now);
    json_t *mode = json_object_get(spec, "Mode");
    bool job = json_object_get(mode, "ReplicatedJob") || json_object_get(mode, "GlobalJob");
    json_t *doc = json_pack("{s:s, s:{s:i}, s:s, s:s, s:o, s:o}", "ID", w->id, "Version", "Index", 0, "CreatedAt",
                            now, "UpdatedAt", now, "Spec", spec, "Endpoint", endpoint);
    if (job)   /* as swarmkit: the iteration the job's tasks belong to */
        json_object_set_new(doc, "JobStatus", json_pack("{s:{s:i}, s:s}", "JobIteration", "Index", 0, "LastExecution", now));
    propose_service(r, cs, w->id, doc, 0, w);
}

void api_service_update(api_request *r)
{
    /* Parked while the store starts, replayed once it is ready. */
    cluster_store *cs = api_swarm_store(r, api_service_update);
    if (!cs)
        return;
    berr e = {0};
    json_t *svc = NULL, *spec = NULL;
    const char *ver = api_query(r, "version");
    char *end = NULL;
    long long version = ver ? strtoll(ver, &end, 10) : -1;
    if (!ver || !*ver || *end || version < 0) {
        api_reply_error(r, -EINVAL, "invalid service version");
        return;
    }
    if (find_service(cs, r->params[0], &svc, &e) < 0 || api_body_json(r, &spec, &e) < 0) {
        json_decref(svc);
        api_reply_berr(r, &e);
        return;
    }
    const char *rollback = api_query(r, "rollback");
    bool to_previous = rollback && !strcmp(rollback, "previous");
    write_req *w = xcalloc(1, sizeof *w);
    w->warnings = json_array();
    w->status = 200;
    json_t *doc = NULL;
    json_t *old = json_object_get(svc, "Spec");
    int rc = 0;
    if (to_previous) {
        /* swarmkit's manual rollback: Spec and PreviousSpec swap. */
        rc = update_service_rollback(svc, now_ns(), &doc, &e);
    } else {
        rc = json_is_object(spec) ? svc_spec_normalize(spec, r->d->images, w->warnings, &e)
                                  : berr_set(&e, -EINVAL, "service spec must be a JSON object");
        if (rc == 0)
            rc = secrets_check_refs(cs, spec, &e);
        if (rc == 0 && strcmp(json_str(spec, "Name"), json_str(old, "Name")))
            rc = berr_set(&e, -EINVAL, "rpc error: code = Unimplemented desc = renaming services is not supported");
        /* No new auth: the current spec's, or with registryAuthFrom=previous-spec
         * the previous one's, as dockerd. */
        const char *from = api_query(r, "registryAuthFrom");
        if (rc == 0)
            svc_spec_set_auth(spec, api_header(r, "X-Registry-Auth"),
                              from && !strcmp(from, "previous-spec") ? json_object_get(svc, "PreviousSpec") : old);
        if (rc == 0)
            doc = update_service_apply_spec(svc, spec, now_ns());
    }
    json_t *endpoint = NULL;
    if (rc == 0 && (rc = endpoint_of(r, cs, json_object_get(doc, "Spec"), json_str(svc, "ID"),
                                     json_object_get(svc, "Endpoint"), &endpoint, &e)) == 0)
        json_object_set_new(doc, "Endpoint", endpoint);
    else if (rc < 0 && doc) {
        json_decref(doc);
        doc = NULL;
    }
    json_decref(spec);
    if (rc < 0) {
        json_decref(svc);
        json_decref(w->warnings);
        free(w);
        api_reply_berr(r, &e);
        return;
    }
    char id[64];
    snprintf(id, sizeof id, "%s", json_str(svc, "ID"));
    json_decref(svc);
    propose_service(r, cs, id, doc, version, w);
}

void api_service_delete(api_request *r)
{
    /* Parked while the store starts, replayed once it is ready. */
    cluster_store *cs = api_swarm_store(r, api_service_delete);
    if (!cs)
        return;
    berr e = {0};
    json_t *svc = NULL;
    if (find_service(cs, r->params[0], &svc, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    write_req *w = xcalloc(1, sizeof *w);
    w->status = 200;
    char id[64];
    snprintf(id, sizeof id, "%s", json_str(svc, "ID"));
    json_decref(svc);
    propose_service(r, cs, id, NULL, -1, w);
}

/* ---- reads ----------------------------------------------------------------- */

static bool task_counts_running(json_t *t)
{
    return !strcmp(json_str(json_object_get(t, "Status"), "State"), "running");
}

/* ServiceStatus of `docker service ls` (status=true). */
static json_t *service_status(cluster_store *cs, json_t *svc)
{
    json_t *tasks = cs_list_where(cs, CS_TASK, "$.ServiceID", json_str(svc, "ID"));
    long running = 0, completed = 0, desired = 0;
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t) {
        const char *ds = json_str(t, "DesiredState");
        if (!strcmp(ds, "running") && task_counts_running(t))
            running++;
        if (!strcmp(json_str(json_object_get(t, "Status"), "State"), "complete"))
            completed++;
        if (!strcmp(ds, "running"))
            desired++;
    }
    json_t *mode = json_object_get(json_object_get(svc, "Spec"), "Mode");
    json_t *repl = json_object_get(mode, "Replicated");
    json_t *job = json_object_get(mode, "ReplicatedJob");
    if (repl)
        desired = (long)json_integer_value(json_object_get(repl, "Replicas"));
    else if (job)
        desired = (long)json_integer_value(json_object_get(job, "MaxConcurrent"));
    json_decref(tasks);
    json_t *o = json_pack("{s:i, s:i}", "RunningTasks", (int)running, "DesiredTasks", (int)desired);
    if (job || json_object_get(mode, "GlobalJob"))
        json_object_set_new(o, "CompletedTasks", json_integer(completed));
    return o;
}

static const char *service_mode(json_t *svc)
{
    json_t *mode = json_object_get(json_object_get(svc, "Spec"), "Mode");
    return json_object_get(mode, "Global")          ? "global"
           : json_object_get(mode, "ReplicatedJob") ? "replicated-job"
           : json_object_get(mode, "GlobalJob")     ? "global-job"
                                                    : "replicated";
}

static bool any_prefix(json_t *vals, const char *s, bool prefix)
{
    if (!json_array_size(vals))
        return true;
    size_t i;
    json_t *v;
    json_array_foreach(vals, i, v) {
        const char *w = json_string_value(v);
        if (prefix ? !strncmp(s, w, strlen(w)) : !strcmp(s, w))
            return true;
    }
    return false;
}

void api_services_list(api_request *r)
{
    /* Parked while the store starts, replayed once it is ready. */
    cluster_store *cs = api_swarm_store(r, api_services_list);
    if (!cs)
        return;
    static const char *const allowed[] = {"id", "label", "mode", "name", NULL};
    berr e = {0};
    json_t *f = NULL;
    if (filters_parse(api_query(r, "filters"), allowed, &f, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    bool status = api_query_bool(r, "status", false);
    json_t *all = cs_list(cs, CS_SERVICE), *out = json_array();
    size_t i;
    json_t *s;
    json_array_foreach(all, i, s) {
        json_t *spec = json_object_get(s, "Spec");
        if (!any_prefix(json_object_get(f, "id"), json_str(s, "ID"), true) ||
            !any_prefix(json_object_get(f, "name"), json_str(spec, "Name"), true) ||
            !any_prefix(json_object_get(f, "mode"), service_mode(s), false) ||
            !filters_match_labels(f, "label", json_object_get(spec, "Labels")))
            continue;
        json_t *o = public_listed(s);
        if (status)
            json_object_set_new(o, "ServiceStatus", service_status(cs, s));
        json_array_append_new(out, o);
    }
    json_decref(all);
    json_decref(f);
    api_reply_json(r, 200, out);
}

void api_service_inspect(api_request *r)
{
    /* Parked while the store starts, replayed once it is ready. */
    cluster_store *cs = api_swarm_store(r, api_service_inspect);
    if (!cs)
        return;
    berr e = {0};
    json_t *svc = NULL;
    if (find_service(cs, r->params[0], &svc, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    api_reply_json(r, 200, public_doc(svc));
    json_decref(svc);
}

/* A task is up to date when it runs the service's current task template:
 * what the CLI's progress display counts (the _up-to-date filter). */
static bool task_up_to_date(cluster_store *cs, json_t *t)
{
    json_t *svc = NULL;
    if (cs_get(cs, CS_SERVICE, json_str(t, "ServiceID"), &svc, NULL) < 0)
        return false;
    bool same = json_equal(json_object_get(t, "Spec"), json_object_get(json_object_get(svc, "Spec"), "TaskTemplate"));
    json_decref(svc);
    return same;
}

/* "<service name>.<slot>" or "<service name>.<node id>": what `docker
 * service ps` shows and the name filter matches. */
static void task_name(cluster_store *cs, json_t *t, char *out, size_t n)
{
    json_t *svc = NULL;
    const char *sname = "";
    if (cs_get(cs, CS_SERVICE, json_str(t, "ServiceID"), &svc, NULL) == 0)
        sname = json_str(json_object_get(svc, "Spec"), "Name");
    json_t *slot = json_object_get(t, "Slot");
    if (json_integer_value(slot) > 0)
        snprintf(out, n, "%s.%lld", sname, (long long)json_integer_value(slot));
    else
        snprintf(out, n, "%s.%s", sname, json_str(t, "NodeID"));
    json_decref(svc);
}

/* SwarmKit matches a task's label= filter against its service's labels
 * (ServiceAnnotations), not the task's own: `docker stack ps` finds a
 * stack's tasks by com.docker.stack.namespace that way. */
static bool task_labels_match(cluster_store *cs, json_t *f, json_t *t)
{
    if (!json_array_size(json_object_get(f, "label")))
        return true;
    json_t *svc = NULL;
    if (cs_get(cs, CS_SERVICE, json_str(t, "ServiceID"), &svc, NULL) < 0)
        return false;
    bool ok = filters_match_labels(f, "label", json_object_get(json_object_get(svc, "Spec"), "Labels"));
    json_decref(svc);
    return ok;
}

void api_tasks_list(api_request *r)
{
    /* Parked while the store starts, replayed once it is ready. */
    cluster_store *cs = api_swarm_store(r, api_tasks_list);
    if (!cs)
        return;
    static const char *const allowed[] = {"desired-state", "id", "label", "name", "node", "service", "_up-to-date",
                                          NULL};
    berr e = {0};
    json_t *f = NULL;
    if (filters_parse(api_query(r, "filters"), allowed, &f, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    /* service= takes names and ID prefixes: resolve them to IDs first. */
    json_t *service_ids = NULL;
    json_t *svals = json_object_get(f, "service");
    if (json_array_size(svals)) {
        service_ids = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(svals, i, v) {
            json_t *svc = NULL;
            if (find_service(cs, json_string_value(v), &svc, NULL) == 0)
                json_array_append_new(service_ids, json_string(json_str(svc, "ID")));
            json_decref(svc);
        }
    }
    bool up_to_date = filters_has(f, "_up-to-date");
    json_t *all = cs_list(cs, CS_TASK), *out = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(all, i, t) {
        char name[300];
        /* A plain container's network attachment is no service's task:
         * `docker node ps` would look for a service of ID "". */
        if (attachment_task(t))
            continue;
        task_name(cs, t, name, sizeof name);
        if (!any_prefix(json_object_get(f, "id"), json_str(t, "ID"), true) ||
            (service_ids && !any_prefix(service_ids, json_str(t, "ServiceID"), false)) ||
            !any_prefix(json_object_get(f, "node"), json_str(t, "NodeID"), true) ||
            !any_prefix(json_object_get(f, "desired-state"), json_str(t, "DesiredState"), false) ||
            !any_prefix(json_object_get(f, "name"), name, true) ||
            !task_labels_match(cs, f, t) ||
            (up_to_date && !task_up_to_date(cs, t)))
            continue;
        json_array_append_new(out, public_listed(t));
    }
    json_decref(all);
    json_decref(service_ids);
    json_decref(f);
    api_reply_json(r, 200, out);
}

void api_task_inspect(api_request *r)
{
    /* Parked while the store starts, replayed once it is ready. */
    cluster_store *cs = api_swarm_store(r, api_task_inspect);
    if (!cs)
        return;
    json_t *t = NULL;
    if (cs_get(cs, CS_TASK, r->params[0], &t, NULL) == 0) {
        api_reply_json(r, 200, public_doc(t));
        json_decref(t);
        return;
    }
    json_t *all = cs_list(cs, CS_TASK);
    size_t i, n = 0;
    json_t *v;
    json_array_foreach(all, i, v) if (!strncmp(json_str(v, "ID"), r->params[0], strlen(r->params[0]))) {
        t = v;
        n++;
    }
    if (n == 1)
        api_reply_json(r, 200, public_doc(t));
    else
        api_reply_error(r, n ? -EINVAL : -ENOENT, n ? "task is ambiguous" : "task not found");
    json_decref(all);
}
