/* Secrets and configs as cluster store documents: validation in SwarmKit's
 * words, who uses them, and the references services make to them. */
#include "node/secrets.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jsonutil.h"

#define INVALID "rpc error: code = InvalidArgument desc = "

const char *secrets_what(cs_kind kind)
{
    return kind == CS_SECRET ? "secret" : "config";
}

static bool alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int secrets_validate_name(const char *name, berr *e)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0)
        return berr_set(e, -EINVAL, INVALID "name must be provided");
    bool ok = n <= 64 && alnum(name[0]) && alnum(name[n - 1]);
    for (size_t i = 0; ok && i < n; i++)
        ok = alnum(name[i]) || name[i] == '-' || name[i] == '_' || name[i] == '.';
    if (!ok)
        return berr_set(e, -EINVAL, INVALID "invalid name, only 64 [a-zA-Z0-9-_.] characters allowed, and the start "
                                            "and end character must be [a-zA-Z0-9]");
    return 0;
}

int secrets_decode_data(cs_kind kind, json_t *data, unsigned char **out, size_t *len, berr *e)
{
    *out = NULL;
    *len = 0;
    size_t max = kind == CS_SECRET ? SECRETS_MAX_SECRET_SIZE : SECRETS_MAX_CONFIG_SIZE;
    const char *b64 = json_string_value(data);
    if (data && !json_is_null(data) && !b64)
        return berr_set(e, -EINVAL, "Spec.Data must be a base64 string");
    size_t blen = b64 ? strlen(b64) : 0;
    /* Anything whose decoding reaches the limit is refused unread. */
    if (blen / 4 * 3 > max + 3)
        return berr_set(e, -EINVAL, INVALID "%s data must be larger than 0 and less than %zu bytes", secrets_what(kind),
                        max);
    unsigned char *buf = malloc(blen + 1);
    if (!buf)
        return berr_set(e, -ENOMEM, "out of memory");
    size_t n = 0;
    const char *end = NULL;
    /* Go's encoding/json decodes []byte with StdEncoding, ignoring \r\n. */
    if (blen && (sodium_base642bin(buf, blen + 1, b64, blen, "\r\n", &n, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
                 (end && *end))) {
        free(buf);
        return berr_set(e, -EINVAL, "Spec.Data is not valid base64");
    }
    if (n >= max || n < 1) {
        sodium_memzero(buf, blen + 1);
        free(buf);
        return berr_set(e, -EINVAL, INVALID "%s data must be larger than 0 and less than %zu bytes", secrets_what(kind),
                        max);
    }
    *out = buf;
    *len = n;
    return 0;
}

int secrets_check_spec(cs_kind kind, json_t *spec, berr *e)
{
    if (!json_is_object(spec))
        return berr_set(e, -EINVAL, "%s spec must be a JSON object", secrets_what(kind));
    int r = secrets_validate_name(json_str(spec, "Name"), e);
    if (r < 0)
        return r;
    json_t *labels = json_object_get(spec, "Labels");
    if (labels && !json_is_null(labels) && !json_is_object(labels))
        return berr_set(e, -EINVAL, "Labels must be an object of strings");
    const char *k;
    json_t *v;
    json_object_foreach(json_is_object(labels) ? labels : NULL, k, v) if (!json_is_string(v))
        return berr_set(e, -EINVAL, "Labels must be an object of strings");
    json_t *driver = json_object_get(spec, "Driver");
    if (json_is_object(driver) && *json_str(driver, "Name"))
        return berr_set(e, -ENOSYS, "%s drivers are not supported by berthd: the data must be given in Spec.Data",
                        secrets_what(kind));
    if (json_is_object(driver))
        return berr_set(e, -EINVAL, INVALID "driver name: if driver is specified name is required");
    json_t *tmpl = json_object_get(spec, "Templating");
    if (tmpl && !json_is_null(tmpl) && !json_is_object(tmpl))
        return berr_set(e, -EINVAL, "Templating must be an object");
    const char *driver_name = json_is_object(tmpl) ? json_str(tmpl, "Name") : "";
    if (*driver_name && strcmp(driver_name, "golang"))
        return berr_set(e, -ENOSYS, "template driver %s is not supported by berthd: only golang", driver_name);
    unsigned char *data = NULL;
    size_t len = 0;
    if ((r = secrets_decode_data(kind, json_object_get(spec, "Data"), &data, &len, e)) < 0)
        return r;
    sodium_memzero(data, len);
    free(data);
    /* What the store keeps: the fields Docker's SecretSpec/ConfigSpec has. */
    const char *key;
    void *tmp;
    json_object_foreach_safe(spec, tmp, key, v) if (strcmp(key, "Name") && strcmp(key, "Labels") && strcmp(key, "Data") &&
                                                    (strcmp(key, "Templating") || !*driver_name))
        json_object_del(spec, key);
    if (!labels)
        json_object_set_new(spec, "Labels", json_object());
    return 0;
}

static json_t *refs_of(json_t *service_spec, cs_kind kind)
{
    json_t *cspec = json_object_get(json_object_get(service_spec, "TaskTemplate"), "ContainerSpec");
    return json_object_get(cspec, kind == CS_SECRET ? "Secrets" : "Configs");
}

json_t *secrets_users(cluster_store *cs, cs_kind kind, const char *id)
{
    json_t *all = cs_list(cs, CS_SERVICE), *out = json_array();
    const char *idkey = kind == CS_SECRET ? "SecretID" : "ConfigID";
    size_t i, k;
    json_t *svc, *ref;
    json_array_foreach(all, i, svc) {
        json_t *spec = json_object_get(svc, "Spec");
        json_array_foreach(refs_of(spec, kind), k, ref) if (!strcmp(json_str(ref, idkey), id)) {
            json_array_append_new(out, json_string(json_str(spec, "Name")));
            break;
        }
    }
    json_decref(all);
    return out;
}

int secrets_in_use_error(cs_kind kind, const char *name, json_t *users, berr *e)
{
    char list[BERR_MSG_MAX] = "";
    size_t i, off = 0;
    json_t *u;
    json_array_foreach(users, i, u) {
        int w = snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "", json_string_value(u));
        if (w < 0 || (size_t)w >= sizeof list - off)
            break;
        off += (size_t)w;
    }
    return berr_set(e, -EINVAL, INVALID "%s '%s' is in use by the following %s: %s", secrets_what(kind), name,
                    json_array_size(users) == 1 ? "service" : "services", list);
}

unsigned secrets_ref_mode(json_t *ref)
{
    json_t *mode = json_object_get(json_object_get(ref, "File"), "Mode");
    return json_is_integer(mode) ? (unsigned)json_integer_value(mode) & 07777 : 0444;
}

static int check_kind_refs(cluster_store *cs, json_t *refs, cs_kind kind, berr *e)
{
    const char *what = secrets_what(kind);
    const char *idkey = kind == CS_SECRET ? "SecretID" : "ConfigID";
    const char *namekey = kind == CS_SECRET ? "SecretName" : "ConfigName";
    if (refs && !json_is_null(refs) && !json_is_array(refs))
        return berr_set(e, -EINVAL, "ContainerSpec.%ss must be an array", kind == CS_SECRET ? "Secret" : "Config");
    size_t i, k;
    json_t *ref, *prev;
    json_array_foreach(refs, i, ref) {
        if (!json_is_object(ref) || !*json_str(ref, idkey) || !*json_str(ref, namekey))
            return berr_set(e, -EINVAL, INVALID "malformed %s reference", what);
        json_t *file = json_object_get(ref, "File");
        if (!json_is_object(file))
            return berr_set(e, -EINVAL, INVALID "malformed %s reference, no target provided", what);
        const char *target = json_str(file, "Name");
        if (!*target)
            return berr_set(e, -EINVAL, INVALID "malformed file %s reference, invalid target file name provided", what);
        /* berthd writes the file itself: nothing may climb out of its tmpfs. */
        if (!strcmp(target, "..") || !strncmp(target, "../", 3) || strstr(target, "/../") ||
            (strlen(target) >= 3 && !strcmp(target + strlen(target) - 3, "/..")))
            return berr_set(e, -EINVAL, INVALID "malformed file %s reference, invalid target file name provided", what);
        json_array_foreach(refs, k, prev) {
            if (k >= i)
                break;
            if (!strcmp(json_str(json_object_get(prev, "File"), "Name"), target))
                return berr_set(e, -EINVAL, INVALID "%s references '%s' and '%s' have a conflicting target: '%s'",
                                what, json_str(prev, namekey), json_str(ref, namekey), target);
        }
    }
    /* Then existence, every missing one named at once. */
    char missing[BERR_MSG_MAX] = "";
    size_t off = 0, n = 0;
    json_array_foreach(refs, i, ref) {
        json_t *doc = NULL;
        bool ok = cs_get(cs, kind, json_str(ref, idkey), &doc, NULL) == 0 &&
                  !strcmp(json_str(json_object_get(doc, "Spec"), "Name"), json_str(ref, namekey));
        json_decref(doc);
        if (ok)
            continue;
        int w = snprintf(missing + off, sizeof missing - off, "%s%s", n ? ", " : "", json_str(ref, namekey));
        if (w > 0 && (size_t)w < sizeof missing - off)
            off += (size_t)w;
        n++;
    }
    if (n)
        return berr_set(e, -EINVAL, INVALID "%s%s not found: %s", what, n == 1 ? "" : "s", missing);
    return 0;
}

int secrets_check_refs(cluster_store *cs, json_t *service_spec, berr *e)
{
    int r = check_kind_refs(cs, refs_of(service_spec, CS_SECRET), CS_SECRET, e);
    return r < 0 ? r : check_kind_refs(cs, refs_of(service_spec, CS_CONFIG), CS_CONFIG, e);
}
