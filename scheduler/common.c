#include "scheduler/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/buf.h"

static const struct {
    const char *name;
    int rank;
} states[] = {
    {"new", SCHED_ST_NEW},           {"pending", SCHED_ST_PENDING},
    {"allocated", SCHED_ST_ALLOCATED}, {"assigned", SCHED_ST_ASSIGNED},
    {"accepted", SCHED_ST_ACCEPTED}, {"preparing", SCHED_ST_PREPARING},
    {"ready", SCHED_ST_READY},       {"starting", SCHED_ST_STARTING},
    {"running", SCHED_ST_RUNNING},   {"complete", SCHED_ST_COMPLETE},
    {"shutdown", SCHED_ST_SHUTDOWN}, {"failed", SCHED_ST_FAILED},
    {"rejected", SCHED_ST_REJECTED}, {"remove", SCHED_ST_REMOVE},
    {"orphaned", SCHED_ST_ORPHANED},
};

int sched_state_rank(const char *name)
{
    if (!name)
        return SCHED_ST_NEW;
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
        if (strcmp(states[i].name, name) == 0)
            return states[i].rank;
    return SCHED_ST_NEW;
}

int sched_task_state(const json_t *task)
{
    return sched_state_rank(sched_str(task, "Status.State"));
}

int sched_task_desired(const json_t *task)
{
    return sched_state_rank(sched_str(task, "DesiredState"));
}

long long sched_time_parse(const char *s)
{
    if (!s || !*s)
        return 0;
    struct tm tm = {0};
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        return 0;
    long long ns = (long long)timegm(&tm) * SCHED_NS_PER_SEC;
    if (*rest == '.') {
        long long frac = 0, scale = 100000000LL;
        for (rest++; *rest >= '0' && *rest <= '9'; rest++) {
            frac += (*rest - '0') * scale;
            scale /= 10;
        }
        ns += frac;
    }
    int hh, mm;
    if ((*rest == '+' || *rest == '-') && sscanf(rest + 1, "%d:%d", &hh, &mm) == 2)
        ns += (*rest == '+' ? -1 : 1) * (hh * 3600LL + mm * 60LL) * SCHED_NS_PER_SEC;
    return ns;
}

void sched_time_format(long long ns, char out[40])
{
    time_t sec = (time_t)(ns / SCHED_NS_PER_SEC);
    long frac = (long)(ns % SCHED_NS_PER_SEC);
    if (frac < 0) {
        frac += SCHED_NS_PER_SEC;
        sec--;
    }
    struct tm tm;
    gmtime_r(&sec, &tm);
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 40 - n, ".%09ldZ", frac);
}

json_t *sched_time_json(long long ns)
{
    char b[40];
    sched_time_format(ns, b);
    return json_string(b);
}

json_t *sched_get(const json_t *doc, const char *path)
{
    const json_t *cur = doc;
    const char *p = path;
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (!json_is_object(cur))
            return NULL;
        char key[128];
        if (len >= sizeof key)
            return NULL;
        memcpy(key, p, len);
        key[len] = 0;
        cur = json_object_get(cur, key);
        p += len;
        if (*p == '.')
            p++;
    }
    return (json_t *)cur;
}

const char *sched_str(const json_t *doc, const char *path)
{
    const char *s = json_string_value(sched_get(doc, path));
    return s ? s : "";
}

long long sched_int(const json_t *doc, const char *path, long long dflt)
{
    json_t *v = sched_get(doc, path);
    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_real(v))
        return (long long)json_real_value(v);
    return dflt;
}

bool sched_has(const json_t *doc, const char *path)
{
    json_t *v = sched_get(doc, path);
    return v && !json_is_null(v);
}

bool sched_node_invalid(const json_t *node)
{
    return !node || strcmp(sched_str(node, "Status.State"), "down") == 0 ||
           strcmp(sched_str(node, "Spec.Availability"), "drain") == 0;
}

const json_t *sched_find_node(const json_t *nodes, const char *id)
{
    size_t i;
    json_t *n;
    if (!id || !*id)
        return NULL;
    json_array_foreach(nodes, i, n)
        if (strcmp(sched_str(n, "ID"), id) == 0)
            return n;
    return NULL;
}

void sched_changes_init(sched_changes *c)
{
    c->created = json_array();
    c->updated = json_object();
    c->deleted = json_array();
    c->service = NULL;
    c->wake_ns = 0;
}

void sched_changes_free(sched_changes *c)
{
    json_decref(c->created);
    json_decref(c->updated);
    json_decref(c->deleted);
    json_decref(c->service);
    memset(c, 0, sizeof *c);
}

bool sched_changes_empty(const sched_changes *c)
{
    return json_array_size(c->created) == 0 && json_object_size(c->updated) == 0 &&
           json_array_size(c->deleted) == 0 && !c->service;
}

void sched_changes_wake(sched_changes *c, long long ns)
{
    if (ns > 0 && (c->wake_ns == 0 || ns < c->wake_ns))
        c->wake_ns = ns;
}

void sched_changes_update(sched_changes *c, json_t *task)
{
    json_object_set(c->updated, sched_str(task, "ID"), task);
}

void sched_changes_delete(sched_changes *c, const char *task_id)
{
    size_t i;
    json_t *v;
    json_array_foreach(c->deleted, i, v)
        if (strcmp(json_string_value(v), task_id) == 0)
            return;
    json_array_append_new(c->deleted, json_string(task_id));
    json_object_del(c->updated, task_id);
}

static void put_op(cs_op *op, cs_op_type type, cs_kind kind, const char *id, json_t *doc, int64_t ifv)
{
    memset(op, 0, sizeof *op);
    op->type = type;
    op->kind = kind;
    snprintf(op->id, sizeof op->id, "%s", id);
    op->doc = doc;
    op->if_version = ifv;
}

static int64_t read_version(const json_t *doc)
{
    long long v = sched_int(doc, "Version.Index", 0);
    return v > 0 ? v : -1;
}

void sched_changes_ops(const sched_changes *c, cs_op **ops, size_t *n)
{
    size_t cap = json_array_size(c->created) + json_object_size(c->updated) +
                 json_array_size(c->deleted) + 1;
    cs_op *out = xcalloc(cap, sizeof *out);
    size_t k = 0, i;
    const char *key;
    json_t *v;
    if (c->service)
        put_op(&out[k++], CS_PUT, CS_SERVICE, sched_str(c->service, "ID"), c->service,
               read_version(c->service));
    json_array_foreach(c->created, i, v)
        put_op(&out[k++], CS_PUT, CS_TASK, sched_str(v, "ID"), v, 0);
    json_object_foreach(c->updated, key, v)
        put_op(&out[k++], CS_PUT, CS_TASK, key, v, read_version(v));
    json_array_foreach(c->deleted, i, v)
        put_op(&out[k++], CS_DEL, CS_TASK, json_string_value(v), NULL, -1);
    *ops = out;
    *n = k;
}
