/* Parsing and building manifests (see manifest.h). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/platform.h"
#include "runtime/registry/manifest.h"

static bool is_schema1(const char *mt)
{
    return mt && (strcmp(mt, "application/vnd.docker.distribution.manifest.v1+json") == 0 ||
                  strcmp(mt, "application/vnd.docker.distribution.manifest.v1+prettyjws") == 0);
}

/* The media type without parameters ("; charset=utf-8"). */
static void bare_type(const char *ct, char *out, size_t n)
{
    size_t len = ct ? strcspn(ct, "; ") : 0;
    snprintf(out, n, "%.*s", (int)len, ct ? ct : "");
}

static void normalize_arch(char *arch, char *variant, size_t vn)
{
    if (strcmp(arch, "x86_64") == 0 || strcmp(arch, "x86-64") == 0)
        snprintf(arch, 32, "amd64");
    else if (strcmp(arch, "aarch64") == 0)
        snprintf(arch, 32, "arm64");
    if (strcmp(arch, "arm64") == 0 && strcmp(variant, "v8") == 0)
        variant[0] = 0;
    (void)vn;
}

static int parse_descriptor(json_t *o, reg_descriptor *d, const char *what, berr *e)
{
    memset(d, 0, sizeof *d);
    const char *mt = json_string_value(json_object_get(o, "mediaType"));
    const char *dg = json_string_value(json_object_get(o, "digest"));
    json_t *size = json_object_get(o, "size");
    if (!json_is_object(o) || !dg || !json_is_integer(size) || json_integer_value(size) < 0)
        return berr_set(e, -EINVAL, "invalid manifest: malformed %s descriptor", what);
    if (!digest_valid(dg))
        return berr_set(e, -EINVAL, "invalid manifest: unsupported digest %s in %s descriptor", dg, what);
    snprintf(d->media_type, sizeof d->media_type, "%s", mt ? mt : "");
    snprintf(d->digest, sizeof d->digest, "%s", dg);
    d->size = json_integer_value(size);
    json_t *pl = json_object_get(o, "platform");
    if (json_is_object(pl)) {
        const char *os = json_string_value(json_object_get(pl, "os"));
        const char *arch = json_string_value(json_object_get(pl, "architecture"));
        const char *var = json_string_value(json_object_get(pl, "variant"));
        snprintf(d->platform.os, sizeof d->platform.os, "%s", os ? os : "");
        snprintf(d->platform.arch, sizeof d->platform.arch, "%s", arch ? arch : "");
        snprintf(d->platform.variant, sizeof d->platform.variant, "%s", var ? var : "");
        normalize_arch(d->platform.arch, d->platform.variant, sizeof d->platform.variant);
    }
    return 0;
}

static int parse_list(json_t *arr, reg_descriptor **out, size_t *n, const char *what, berr *e)
{
    if (!json_is_array(arr))
        return berr_set(e, -EINVAL, "invalid manifest: %s is not a list", what);
    *n = 0;
    *out = xcalloc(json_array_size(arr) + 1, sizeof **out);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        int r = parse_descriptor(v, &(*out)[i], what, e);
        if (r < 0)
            return r;
        (*n)++;
    }
    return 0;
}

int reg_manifest_parse(const char *content_type, const char *body, size_t len, const char *ref, reg_manifest *m,
                       berr *e)
{
    memset(m, 0, sizeof *m);
    char ct[128];
    bare_type(content_type, ct, sizeof ct);
    json_error_t je;
    json_t *o = json_loadb(body, len, 0, &je);
    if (!json_is_object(o)) {
        json_decref(o);
        return berr_set(e, -EINVAL, "invalid manifest: %s", je.text);
    }
    const char *doc_mt = json_string_value(json_object_get(o, "mediaType"));
    json_t *sv = json_object_get(o, "schemaVersion");
    /* The document's own type wins over a generic Content-Type. */
    const char *mt = doc_mt && *doc_mt ? doc_mt : ct;
    if (is_schema1(ct) || is_schema1(mt) || (json_is_integer(sv) && json_integer_value(sv) == 1)) {
        json_decref(o);
        return berr_set(e, -EINVAL,
                        "[DEPRECATION NOTICE] Docker Image Format v1 and Docker Image manifest version 2, schema 1 "
                        "support has been removed. Suggest the author of %s to upgrade the image to the OCI "
                        "Format or Docker Image manifest v2, schema 2. More information at "
                        "https://docs.docker.com/go/deprecated-image-specs/",
                        ref);
    }
    int r = 0;
    bool has_manifests = json_is_array(json_object_get(o, "manifests"));
    if (strcmp(mt, REG_MT_DOCKER_LIST) == 0 || strcmp(mt, REG_MT_OCI_INDEX) == 0 ||
        (!*mt && has_manifests)) {
        m->is_index = true;
        r = parse_list(json_object_get(o, "manifests"), &m->manifests, &m->n_manifests, "manifest", e);
    } else if (strcmp(mt, REG_MT_DOCKER_MANIFEST) == 0 || strcmp(mt, REG_MT_OCI_MANIFEST) == 0 || !*mt) {
        r = parse_descriptor(json_object_get(o, "config"), &m->config, "config", e);
        if (r == 0)
            r = parse_list(json_object_get(o, "layers"), &m->layers, &m->n_layers, "layer", e);
    } else {
        r = berr_set(e, -EINVAL, "unsupported manifest media type and no default available: %s", mt);
    }
    snprintf(m->media_type, sizeof m->media_type, "%s", *mt ? mt : REG_MT_OCI_MANIFEST);
    json_decref(o);
    if (r < 0)
        reg_manifest_free(m);
    return r;
}

void reg_manifest_free(reg_manifest *m)
{
    free(m->layers);
    free(m->manifests);
    m->layers = m->manifests = NULL;
    m->n_layers = m->n_manifests = 0;
}

void reg_platform_host(reg_platform *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->os, sizeof p->os, "linux");
    snprintf(p->arch, sizeof p->arch, "%s", platform_goarch());
}

int reg_platform_parse(const char *text, reg_platform *p, berr *e)
{
    reg_platform_host(p);
    if (!text || !*text)
        return 0;
    char parts[3][32] = {{0}};
    size_t n = 0;
    const char *s = text;
    while (n < 3) {
        size_t len = strcspn(s, "/");
        if (len == 0 || len >= 32)
            return berr_set(e, -EINVAL, "\"%s\": unknown operating system or architecture: invalid argument", text);
        for (size_t i = 0; i < len; i++)
            parts[n][i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
        n++;
        s += len;
        if (!*s)
            break;
        s++;
    }
    if (*s)
        return berr_set(e, -EINVAL, "\"%s\": unknown operating system or architecture: invalid argument", text);
    memset(p, 0, sizeof *p);
    snprintf(p->os, sizeof p->os, "%s", parts[0]);
    snprintf(p->arch, sizeof p->arch, "%s", n > 1 ? parts[1] : platform_goarch());
    snprintf(p->variant, sizeof p->variant, "%s", n > 2 ? parts[2] : "");
    normalize_arch(p->arch, p->variant, sizeof p->variant);
    return 0;
}

int reg_manifest_select(const reg_manifest *list, const reg_platform *p, size_t *idx, berr *e)
{
    ssize_t best = -1;
    for (size_t i = 0; i < list->n_manifests; i++) {
        const reg_platform *q = &list->manifests[i].platform;
        if (strcmp(q->os, p->os) != 0 || strcmp(q->arch, p->arch) != 0)
            continue;
        if (p->variant[0] && strcmp(q->variant, p->variant) != 0)
            continue;
        /* Without a variant asked for, the first entry of the architecture wins. */
        best = (ssize_t)i;
        break;
    }
    if (best < 0) {
        char want[100];
        snprintf(want, sizeof want, "%s/%s%s%s", p->os, p->arch, p->variant[0] ? "/" : "", p->variant);
        return berr_set(e, -ENOENT, "no matching manifest for %s in the manifest list entries", want);
    }
    *idx = (size_t)best;
    return 0;
}

char *reg_manifest_build(const reg_descriptor *config, const reg_descriptor *layers, size_t n)
{
    json_t *ls = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(ls, json_pack("{s:s, s:I, s:s}", "mediaType", layers[i].media_type, "size",
                                            (json_int_t)layers[i].size, "digest", layers[i].digest));
    json_t *o = json_pack("{s:i, s:s, s:{s:s, s:I, s:s}, s:o}", "schemaVersion", 2, "mediaType",
                          REG_MT_DOCKER_MANIFEST, "config", "mediaType", config->media_type, "size",
                          (json_int_t)config->size, "digest", config->digest, "layers", ls);
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return text;
}
