/* /secrets and /configs: the swarm's data objects on the cluster store.
 * One set of handlers serves both, as dockerd's are one pattern twice;
 * the differences are the kind, the size limit, and that a secret's data
 * never leaves the daemon (SwarmKit clears Spec.Data on every read). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/handlers.h"
#include "api/swarm_api.h"
#include "lib/filters.h"
#include "lib/jsonutil.h"
#include "node/daemon.h"
#include "node/secrets.h"
#include "node/swarm.h"
#include "raft/cluster_store.h"
#include "scheduler/common.h"

/* The document as the API shows it: no private member, no secret data. */
static json_t *public_doc(cs_kind kind, json_t *doc)
{
    json_t *o = json_deep_copy(doc);
    json_object_del(o, "Berth");
    if (kind == CS_SECRET)
        json_object_del(json_object_get(o, "Spec"), "Data");
    return o;
}

/* dockerd's getSecret/getConfig: full ID, then exact name, then a unique
 * ID prefix. */
static int find_obj(cluster_store *cs, cs_kind kind, const char *ref, json_t **out, berr *e)
{
    const char *what = secrets_what(kind);
    if (cs_get(cs, kind, ref, out, NULL) == 0)
        return 0;
    json_t *named = cs_list_where(cs, kind, "$.Spec.Name", ref);
    size_t n = json_array_size(named);
    if (n == 1)
        *out = json_incref(json_array_get(named, 0));
    json_decref(named);
    if (n > 1)
        return berr_set(e, -EINVAL, "%s %s is ambiguous (%zu matches found)", what, ref, n);
    if (n == 1)
        return 0;
    json_t *all = cs_list(cs, kind), *hit = NULL;
    size_t i;
    json_t *o;
    n = 0;
    json_array_foreach(all, i, o) if (*ref && !strncmp(json_str(o, "ID"), ref, strlen(ref))) {
        hit = o;
        n++;
    }
    if (n == 1)
        *out = json_incref(hit);
    json_decref(all);
    if (n > 1)
        return berr_set(e, -EINVAL, "%s %s is ambiguous (%zu matches found)", what, ref, n);
    if (n == 0)
        return berr_set(e, -ENOENT, "%s %s not found", what, ref);
    return 0;
}

static bool matches_any(json_t *vals, const char *s, bool prefix)
{
    size_t i;
    json_t *v;
    json_array_foreach(vals, i, v) {
        const char *w = json_string_value(v);
        if (prefix ? !strncmp(s, w, strlen(w)) : !strcmp(s, w))
            return true;
    }
    return false;
}

static void list_kind(api_request *r, cs_kind kind, cluster_store *cs)
{
    static const char *const allowed[] = {"id", "label", "name", "names", NULL};
    berr e = {0};
    json_t *f = NULL;
    if (filters_parse(api_query(r, "filters"), allowed, &f, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    /* SwarmKit's ListSecrets: names (exact), name (prefix) and id (prefix)
     * are alternatives (any of them matches), labels must all match. */
    json_t *names = json_object_get(f, "names"), *name = json_object_get(f, "name"), *id = json_object_get(f, "id");
    bool by = json_array_size(names) || json_array_size(name) || json_array_size(id);
    json_t *all = cs_list(cs, kind), *out = json_array();
    size_t i;
    json_t *o;
    json_array_foreach(all, i, o) {
        json_t *spec = json_object_get(o, "Spec");
        if (by && !matches_any(names, json_str(spec, "Name"), false) && !matches_any(name, json_str(spec, "Name"), true) &&
            !matches_any(id, json_str(o, "ID"), true))
            continue;
        if (!filters_match_labels(f, "label", json_object_get(spec, "Labels")))
            continue;
        json_array_append_new(out, public_doc(kind, o));
    }
    json_decref(all);
    json_decref(f);
    api_reply_json(r, 200, out);
}

void api_secrets_list(api_request *r)
{
    cluster_store *cs = api_swarm_store(r, api_secrets_list);
    if (cs)
        list_kind(r, CS_SECRET, cs);
}

void api_configs_list(api_request *r)
{
    cluster_store *cs = api_swarm_store(r, api_configs_list);
    if (cs)
        list_kind(r, CS_CONFIG, cs);
}

static void inspect_kind(api_request *r, cs_kind kind, cluster_store *cs)
{
    berr e = {0};
    json_t *o = NULL;
    if (find_obj(cs, kind, r->params[0], &o, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    api_reply_json(r, 200, public_doc(kind, o));
    json_decref(o);
}

void api_secret_inspect(api_request *r)
{
    cluster_store *cs = api_swarm_store(r, api_secret_inspect);
    if (cs)
        inspect_kind(r, CS_SECRET, cs);
}

void api_config_inspect(api_request *r)
{
    cluster_store *cs = api_swarm_store(r, api_config_inspect);
    if (cs)
        inspect_kind(r, CS_CONFIG, cs);
}

/* ---- writes ------------------------------------------------------------------ */

typedef struct write_req {
    api_request *r;
    cs_kind kind;
    char id[26];
    char name[80];
    unsigned status;   /* 201 create, 200 update, 204 remove */
} write_req;

static void write_done(void *arg, int status, uint64_t index, const berr *e)
{
    (void)index;
    write_req *w = arg;
    char msg[BERR_MSG_MAX + 80];
    if (status == -EAGAIN) {
        api_reply_error(w->r, -EIO, API_SWARM_OUT_OF_SEQUENCE);
    } else if (status == -EEXIST) {
        /* Two creates of one name raced: the store refused the second. */
        snprintf(msg, sizeof msg, "rpc error: code = AlreadyExists desc = %s %s already exists",
                 secrets_what(w->kind), w->name);
        api_reply_error(w->r, -EEXIST, msg);
    } else if (status == -ENOENT) {
        snprintf(msg, sizeof msg, "%s %s not found", secrets_what(w->kind), w->id);
        api_reply_error(w->r, -ENOENT, msg);
    } else if (status < 0) {
        api_reply_berr(w->r, e);
    } else if (w->status == 201) {
        api_reply_json(w->r, 201, json_pack("{s:s}", "ID", w->id));
    } else {
        api_reply_empty(w->r, w->status);
    }
    free(w);
}

static void propose(api_request *r, cluster_store *cs, write_req *w, json_t *doc, int64_t if_version)
{
    cs_op op = {.type = doc ? CS_PUT : CS_DEL, .kind = w->kind, .doc = doc, .if_version = if_version};
    snprintf(op.id, sizeof op.id, "%s", w->id);
    berr e = {0};
    w->r = r;
    if (cluster_store_propose(cs, &op, 1, write_done, w, &e) < 0) {
        free(w);
        api_reply_berr(r, &e);
    }
    json_decref(doc);
}

static void now_text(char out[40])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    sched_time_format((long long)ts.tv_sec * SCHED_NS_PER_SEC + ts.tv_nsec, out);
}

static void create_kind(api_request *r, cs_kind kind, cluster_store *cs)
{
    berr e = {0};
    json_t *spec = NULL;
    int rc = api_body_json(r, &spec, &e);
    if (rc == 0)
        rc = secrets_check_spec(kind, spec, &e);
    if (rc == 0) {
        json_t *same = cs_list_where(cs, kind, "$.Spec.Name", json_str(spec, "Name"));
        if (json_array_size(same))
            rc = berr_set(&e, -EEXIST, "rpc error: code = AlreadyExists desc = %s %s already exists",
                          secrets_what(kind), json_str(spec, "Name"));
        json_decref(same);
    }
    if (rc < 0) {
        json_decref(spec);
        api_reply_berr(r, &e);
        return;
    }
    write_req *w = calloc(1, sizeof *w);
    if (!w) {
        json_decref(spec);
        api_reply_error(r, -ENOMEM, "out of memory");
        return;
    }
    w->kind = kind;
    w->status = 201;
    snprintf(w->name, sizeof w->name, "%s", json_str(spec, "Name"));
    cs_new_id(w->id);
    char now[40];
    now_text(now);
    json_t *doc = json_pack("{s:s, s:{s:i}, s:s, s:s, s:o}", "ID", w->id, "Version", "Index", 0, "CreatedAt", now,
                            "UpdatedAt", now, "Spec", spec);
    propose(r, cs, w, doc, 0);
}

void api_secret_create(api_request *r)
{
    cluster_store *cs = api_swarm_store(r, api_secret_create);
    if (cs)
        create_kind(r, CS_SECRET, cs);
}

void api_config_create(api_request *r)
{
    cluster_store *cs = api_swarm_store(r, api_config_create);
    if (cs)
        create_kind(r, CS_CONFIG, cs);
}

/* SwarmKit's UpdateSecret/UpdateConfig: only the labels may change. */
static void update_kind(api_request *r, cs_kind kind, cluster_store *cs)
{
    berr e = {0};
    uint64_t version = 0;
    json_t *o = NULL, *spec = NULL;
    if (api_swarm_version(r, secrets_what(kind), &version, &e) < 0 || find_obj(cs, kind, r->params[0], &o, &e) < 0 ||
        api_body_json(r, &spec, &e) < 0) {
        json_decref(o);
        api_reply_berr(r, &e);
        return;
    }
    json_t *cur = json_object_get(o, "Spec");
    int rc = json_is_object(spec) ? 0 : berr_set(&e, -EINVAL, "%s spec must be a JSON object", secrets_what(kind));
    json_t *labels = json_object_get(spec, "Labels");
    if (rc == 0 && labels && !json_is_null(labels) && !json_is_object(labels))
        rc = berr_set(&e, -EINVAL, "Labels must be an object of strings");
    if (rc == 0) {
        json_t *data = json_object_get(spec, "Data");
        bool data_differs = false;
        if (data && !json_is_null(data) && json_string_length(data)) {
            /* Compared decoded (the same bytes may be encoded two ways),
             * without telling the client anything about the stored value. */
            unsigned char *a = NULL, *b = NULL;
            size_t la = 0, lb = 0;
            berr ignore = {0};
            if (secrets_decode_data(kind, data, &a, &la, &ignore) < 0 ||
                secrets_decode_data(kind, json_object_get(cur, "Data"), &b, &lb, &ignore) < 0 || la != lb ||
                sodium_memcmp(a, b, la) != 0)
                data_differs = true;
            if (a)
                sodium_memzero(a, la);
            if (b)
                sodium_memzero(b, lb);
            free(a);
            free(b);
        }
        if (strcmp(json_str(spec, "Name"), json_str(cur, "Name")) || data_differs)
            rc = berr_set(&e, -EINVAL, "rpc error: code = InvalidArgument desc = only updates to Labels are allowed");
    }
    if (rc == 0 && version == 0)
        rc = berr_set(&e, -EAGAIN, API_SWARM_OUT_OF_SEQUENCE);
    if (rc < 0) {
        json_decref(o);
        json_decref(spec);
        if (rc == -EAGAIN)
            api_reply_error(r, -EIO, API_SWARM_OUT_OF_SEQUENCE);
        else
            api_reply_berr(r, &e);
        return;
    }
    json_t *doc = json_deep_copy(o);
    json_t *dspec = json_object_get(doc, "Spec");
    if (json_is_object(labels))
        json_object_set(dspec, "Labels", labels);
    else
        json_object_set_new(dspec, "Labels", json_object());
    char now[40];
    now_text(now);
    json_object_set_new(doc, "UpdatedAt", json_string(now));
    write_req *w = calloc(1, sizeof *w);
    if (!w) {
        json_decref(doc);
        json_decref(o);
        json_decref(spec);
        api_reply_error(r, -ENOMEM, "out of memory");
        return;
    }
    w->kind = kind;
    w->status = 200;
    snprintf(w->id, sizeof w->id, "%s", json_str(o, "ID"));
    snprintf(w->name, sizeof w->name, "%s", json_str(cur, "Name"));
    json_decref(o);
    json_decref(spec);
    propose(r, cs, w, doc, (int64_t)version);
}

void api_secret_update(api_request *r)
{
    cluster_store *cs = api_swarm_store(r, api_secret_update);
    if (cs)
        update_kind(r, CS_SECRET, cs);
}

void api_config_update(api_request *r)
{
    cluster_store *cs = api_swarm_store(r, api_config_update);
    if (cs)
        update_kind(r, CS_CONFIG, cs);
}

static void remove_kind(api_request *r, cs_kind kind, cluster_store *cs)
{
    berr e = {0};
    json_t *o = NULL;
    if (find_obj(cs, kind, r->params[0], &o, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    json_t *users = secrets_users(cs, kind, json_str(o, "ID"));
    if (json_array_size(users)) {
        secrets_in_use_error(kind, json_str(json_object_get(o, "Spec"), "Name"), users, &e);
        json_decref(users);
        json_decref(o);
        api_reply_berr(r, &e);
        return;
    }
    json_decref(users);
    write_req *w = calloc(1, sizeof *w);
    if (!w) {
        json_decref(o);
        api_reply_error(r, -ENOMEM, "out of memory");
        return;
    }
    w->kind = kind;
    w->status = 204;
    snprintf(w->id, sizeof w->id, "%s", json_str(o, "ID"));
    snprintf(w->name, sizeof w->name, "%s", json_str(json_object_get(o, "Spec"), "Name"));
    json_decref(o);
    propose(r, cs, w, NULL, -1);
}

void api_secret_delete(api_request *r)
{
    cluster_store *cs = api_swarm_store(r, api_secret_delete);
    if (cs)
        remove_kind(r, CS_SECRET, cs);
}

void api_config_delete(api_request *r)
{
    cluster_store *cs = api_swarm_store(r, api_config_delete);
    if (cs)
        remove_kind(r, CS_CONFIG, cs);
}
