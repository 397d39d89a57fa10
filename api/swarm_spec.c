/* The cluster spec between the Engine API and the store: how a request's
 * SwarmSpec is merged (init) or taken whole (update), validated, and shown.
 *
 * The store keeps the spec with every field present, zeros included, as
 * SwarmKit's ClusterSpec does; what `docker swarm inspect` shows follows
 * the Go types' omitempty rules (SnapshotInterval 0 is left out,
 * KeepOldSnapshots 0 is not) and dockerd's conversion, which never carries
 * TaskDefaults (always {}) nor the signing CA's certificate and key. */
#include <stdio.h>
#include <string.h>

#include "api/swarm_api.h"

/* SwarmKit's ca.MinNodeCertExpiration. */
#define MIN_NODE_CERT_EXPIRY_NS (3600LL * 1000000000LL)

static const char *json_kind(json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    default:
        return "null";
    }
}

static int type_error(json_t *v, const char *field, const char *type, berr *e)
{
    return berr_set(e, -EINVAL, "json: cannot unmarshal %s into Go struct field %s of type %s", json_kind(v), field,
                    type);
}

/* A section of the request ("Raft", ...): NULL when absent or null. */
static int section(json_t *req, const char *name, json_t **out, berr *e)
{
    json_t *v = json_object_get(req, name);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v)) {
        char field[64];
        snprintf(field, sizeof field, "Spec.%s", name);
        return type_error(v, field, "object", e);
    }
    *out = v;
    return 0;
}

/* An integer field: *present false when absent or null.  Unsigned fields
 * refuse negative numbers as Go's decoder does. */
static int number(json_t *sec, const char *sect, const char *key, bool is_unsigned, bool *present, json_int_t *out,
                  berr *e)
{
    json_t *v = json_object_get(sec, key);
    *present = false;
    *out = 0;
    if (!v || json_is_null(v))
        return 0;
    char field[96];
    snprintf(field, sizeof field, "Spec.%s.%s", sect, key);
    if (!json_is_integer(v))
        return type_error(v, field, is_unsigned ? "uint64" : "int64", e);
    if (is_unsigned && json_integer_value(v) < 0)
        return berr_set(e, -EINVAL, "json: cannot unmarshal number %lld into Go struct field %s of type uint64",
                        (long long)json_integer_value(v), field);
    *present = true;
    *out = json_integer_value(v);
    return 0;
}

static json_t *ensure_object(json_t *parent, const char *key)
{
    json_t *o = json_object_get(parent, key);
    if (!json_is_object(o)) {
        o = json_object();
        json_object_set_new(parent, key, o);
    }
    return o;
}

/* One numeric field of a section: full takes the request's value or 0;
 * merge takes it when non-zero (or, for pointer fields, when present). */
static int apply_number(json_t *dst, json_t *sec, const char *sect, const char *key, bool is_unsigned, bool pointer,
                        bool full, berr *e)
{
    bool present;
    json_int_t v;
    int r = number(sec, sect, key, is_unsigned, &present, &v, e);
    if (r < 0)
        return r;
    if (full || (pointer ? present : v != 0))
        json_object_set_new(dst, key, json_integer(v));
    else if (!json_object_get(dst, key))
        json_object_set_new(dst, key, json_integer(0));
    return 0;
}

static int apply_labels(json_t *spec, json_t *req, bool full, berr *e)
{
    json_t *labels = json_object_get(req, "Labels");
    if (labels && !json_is_null(labels)) {
        if (!json_is_object(labels))
            return type_error(labels, "Spec.Labels", "map[string]string", e);
        const char *k;
        json_t *v;
        json_object_foreach(labels, k, v) if (!json_is_string(v)) return type_error(v, "Spec.Labels", "string", e);
    }
    size_t n = json_is_object(labels) ? json_object_size(labels) : 0;
    if (n > 0)
        json_object_set_new(spec, "Labels", json_deep_copy(labels));
    else if (full || !json_is_object(json_object_get(spec, "Labels")))
        json_object_set_new(spec, "Labels", json_object());
    return 0;
}

static int apply_name(json_t *spec, json_t *req, bool full, berr *e)
{
    json_t *name = json_object_get(req, "Name");
    if (name && !json_is_null(name) && !json_is_string(name))
        return type_error(name, "Spec.Name", "string", e);
    const char *n = json_string_value(name);
    if (n && *n && strcmp(n, "default") != 0)
        return berr_set(e, -EINVAL, "swarm spec must be named \"default\"");
    (void)full;
    json_object_set_new(spec, "Name", json_string("default"));
    return 0;
}

static int apply_ca(json_t *spec, json_t *req, bool full, berr *e)
{
    json_t *sec;
    int r = section(req, "CAConfig", &sec, e);
    if (r < 0)
        return r;
    json_t *ca = ensure_object(spec, "CAConfig");
    r = apply_number(ca, sec, "CAConfig", "NodeCertExpiry", false, false, full, e);
    if (r < 0)
        return r;
    json_t *ext = json_object_get(sec, "ExternalCAs");
    if (json_array_size(ext) > 0)
        return berr_set(e, -ENOSYS, "berthd signs with the swarm's own root CA: external CAs are not supported");
    const char *cert = json_string_value(json_object_get(sec, "SigningCACert"));
    const char *key = json_string_value(json_object_get(sec, "SigningCAKey"));
    if ((cert && *cert) || (key && *key))
        return berr_set(e, -ENOSYS, "berthd cannot replace the swarm's root CA yet: a signing CA certificate or key "
                                    "is not supported");
    /* dockerd copies ForceRotate whatever its value, in init as in update;
     * a new value asks for a root CA rotation (`docker swarm ca --rotate`),
     * which berthd does not do: saying so beats storing a request that
     * nothing carries out. */
    json_int_t before = json_integer_value(json_object_get(ca, "ForceRotate"));
    r = apply_number(ca, sec, "CAConfig", "ForceRotate", true, false, true, e);
    if (r == 0 && json_integer_value(json_object_get(ca, "ForceRotate")) != before) {
        json_object_set_new(ca, "ForceRotate", json_integer(before));
        return berr_set(e, -ENOSYS, "berthd cannot rotate the swarm's root CA yet");
    }
    return r;
}

static int apply_encryption(json_t *spec, json_t *req, berr *e)
{
    json_t *sec;
    int r = section(req, "EncryptionConfig", &sec, e);
    if (r < 0)
        return r;
    json_t *v = json_object_get(sec, "AutoLockManagers");
    if (v && !json_is_null(v) && !json_is_boolean(v))
        return type_error(v, "Spec.EncryptionConfig.AutoLockManagers", "bool", e);
    json_object_set_new(ensure_object(spec, "EncryptionConfig"), "AutoLockManagers", json_boolean(json_is_true(v)));
    return 0;
}

int api_swarm_spec_apply(json_t *spec, json_t *req, bool full, berr *e)
{
    if (req && !json_is_null(req) && !json_is_object(req))
        return type_error(req, "Spec", "swarm.Spec", e);
    int r = apply_name(spec, req, full, e);
    if (r == 0)
        r = apply_labels(spec, req, full, e);
    json_t *sec = NULL;
    if (r == 0)
        r = section(req, "Orchestration", &sec, e);
    if (r == 0)
        r = apply_number(ensure_object(spec, "Orchestration"), sec, "Orchestration", "TaskHistoryRetentionLimit", false,
                         true, full, e);
    if (r == 0)
        r = section(req, "Raft", &sec, e);
    if (r == 0) {
        json_t *raft = ensure_object(spec, "Raft");
        static const struct { const char *key; bool is_unsigned, pointer; } f[] = {
            {"SnapshotInterval", true, false}, {"KeepOldSnapshots", true, true},
            {"LogEntriesForSlowFollowers", true, false}, {"ElectionTick", false, false},
            {"HeartbeatTick", false, false},
        };
        for (size_t i = 0; i < sizeof f / sizeof f[0] && r == 0; i++)
            r = apply_number(raft, sec, "Raft", f[i].key, f[i].is_unsigned, f[i].pointer, full, e);
    }
    if (r == 0)
        r = section(req, "Dispatcher", &sec, e);
    if (r == 0)
        r = apply_number(ensure_object(spec, "Dispatcher"), sec, "Dispatcher", "HeartbeatPeriod", false, false, full,
                         e);
    if (r == 0)
        r = apply_ca(spec, req, full, e);
    if (r == 0)
        r = apply_encryption(spec, req, e);
    if (r < 0)
        return r;
    json_object_set_new(spec, "TaskDefaults", json_object());

    /* SwarmKit's validateClusterSpec. */
    json_int_t expiry = json_integer_value(json_object_get(json_object_get(spec, "CAConfig"), "NodeCertExpiry"));
    if (expiry != 0 && expiry < MIN_NODE_CERT_EXPIRY_NS)
        return berr_set(e, -EINVAL, "rpc error: code = InvalidArgument desc = minimum certificate expiry time is: 1h0m0s");
    json_int_t hb = json_integer_value(json_object_get(json_object_get(spec, "Dispatcher"), "HeartbeatPeriod"));
    if (hb < 0)
        return berr_set(e, -EINVAL,
                        "rpc error: code = InvalidArgument desc = heartbeat time period cannot be a negative duration");
    return 0;
}

static json_int_t get_num(json_t *spec, const char *sect, const char *key)
{
    return json_integer_value(json_object_get(json_object_get(spec, sect), key));
}

static void put_nonzero(json_t *o, const char *key, json_int_t v)
{
    if (v != 0)
        json_object_set_new(o, key, json_integer(v));
}

json_t *api_swarm_spec_json(json_t *spec)
{
    json_t *o = json_object();
    const char *name = json_string_value(json_object_get(spec, "Name"));
    if (name && *name)
        json_object_set_new(o, "Name", json_string(name));
    json_t *labels = json_object_get(spec, "Labels");
    json_object_set_new(o, "Labels", json_is_object(labels) ? json_deep_copy(labels) : json_object());
    json_object_set_new(o, "Orchestration", json_pack("{s:I}", "TaskHistoryRetentionLimit",
                                                      get_num(spec, "Orchestration", "TaskHistoryRetentionLimit")));
    json_t *raft = json_object();
    put_nonzero(raft, "SnapshotInterval", get_num(spec, "Raft", "SnapshotInterval"));
    json_object_set_new(raft, "KeepOldSnapshots", json_integer(get_num(spec, "Raft", "KeepOldSnapshots")));
    put_nonzero(raft, "LogEntriesForSlowFollowers", get_num(spec, "Raft", "LogEntriesForSlowFollowers"));
    json_object_set_new(raft, "ElectionTick", json_integer(get_num(spec, "Raft", "ElectionTick")));
    json_object_set_new(raft, "HeartbeatTick", json_integer(get_num(spec, "Raft", "HeartbeatTick")));
    json_object_set_new(o, "Raft", raft);
    json_t *disp = json_object();
    put_nonzero(disp, "HeartbeatPeriod", get_num(spec, "Dispatcher", "HeartbeatPeriod"));
    json_object_set_new(o, "Dispatcher", disp);
    json_t *ca = json_object();
    put_nonzero(ca, "NodeCertExpiry", get_num(spec, "CAConfig", "NodeCertExpiry"));
    put_nonzero(ca, "ForceRotate", get_num(spec, "CAConfig", "ForceRotate"));
    json_object_set_new(o, "CAConfig", ca);
    json_object_set_new(o, "TaskDefaults", json_object());
    json_object_set_new(o, "EncryptionConfig",
                        json_pack("{s:b}", "AutoLockManagers",
                                  json_is_true(json_object_get(json_object_get(spec, "EncryptionConfig"),
                                                               "AutoLockManagers"))));
    return o;
}

/* TLSInfo's fields are omitempty in Docker's types: an empty one is {}. */
static json_t *tls_info_json(json_t *tls)
{
    json_t *o = json_object();
    static const char *const keys[] = {"TrustRoot", "CertIssuerSubject", "CertIssuerPublicKey"};
    for (size_t i = 0; i < 3; i++) {
        const char *v = json_string_value(json_object_get(tls, keys[i]));
        if (v && *v)
            json_object_set_new(o, keys[i], json_string(v));
    }
    return o;
}

json_t *api_swarm_cluster_json(json_t *c, bool with_tokens)
{
    json_t *o = json_object();
    json_object_set_new(o, "ID", json_string(json_string_value(json_object_get(c, "ID")) ?: ""));
    json_t *ver = json_object();
    put_nonzero(ver, "Index", (json_int_t)api_swarm_doc_version(c));
    json_object_set_new(o, "Version", ver);
    json_object_set_new(o, "CreatedAt", json_string(json_string_value(json_object_get(c, "CreatedAt")) ?: ""));
    json_object_set_new(o, "UpdatedAt", json_string(json_string_value(json_object_get(c, "UpdatedAt")) ?: ""));
    json_object_set_new(o, "Spec", api_swarm_spec_json(json_object_get(c, "Spec")));
    json_object_set_new(o, "TLSInfo", tls_info_json(json_object_get(c, "TLSInfo")));
    json_object_set_new(o, "RootRotationInProgress", json_boolean(json_is_true(json_object_get(c, "RootRotationInProgress"))));
    json_t *pool = json_object_get(c, "DefaultAddrPool");
    json_object_set_new(o, "DefaultAddrPool", json_is_array(pool) ? json_deep_copy(pool) : json_null());
    json_object_set_new(o, "SubnetSize", json_integer(json_integer_value(json_object_get(c, "SubnetSize"))));
    json_object_set_new(o, "DataPathPort", json_integer(json_integer_value(json_object_get(c, "DataPathPort"))));
    if (with_tokens) {
        json_t *t = json_object_get(c, "JoinTokens");
        json_object_set_new(o, "JoinTokens",
                            json_pack("{s:s, s:s}", "Worker", json_string_value(json_object_get(t, "Worker")) ?: "",
                                      "Manager", json_string_value(json_object_get(t, "Manager")) ?: ""));
    }
    return o;
}
