/* Registry options (see registry_config.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/registry_config.h"

void registry_config_defaults(berth_config *c)
{
    c->max_concurrent_downloads = 3;
    c->max_concurrent_uploads = 5;
    c->max_download_attempts = 5;
}

int registry_config_validate(const berth_config *c, berr *e)
{
    for (size_t i = 0; i < c->n_registry_mirrors; i++)
        if (reg_mirror_valid(c->registry_mirrors[i], e) < 0)
            return -EINVAL;
    for (size_t i = 0; i < c->n_insecure_registries; i++)
        if (reg_insecure_entry_valid(c->insecure_registries[i], e) < 0)
            return -EINVAL;
    if (c->max_concurrent_downloads < 1)
        return berr_set(e, -EINVAL, "invalid max concurrent downloads: %ld", c->max_concurrent_downloads);
    if (c->max_concurrent_uploads < 1)
        return berr_set(e, -EINVAL, "invalid max concurrent uploads: %ld", c->max_concurrent_uploads);
    if (c->max_download_attempts < 1)
        return berr_set(e, -EINVAL, "invalid max download attempts: %ld", c->max_download_attempts);
    return 0;
}

static void list_free(char ***l, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free((*l)[i]);
    free(*l);
    *l = NULL;
    *n = 0;
}

static void list_take(char ***dst, size_t *dn, char ***src, size_t *sn)
{
    list_free(dst, dn);
    *dst = *src;
    *dn = *sn;
    *src = NULL;
    *sn = 0;
}

int registry_config_reload(berth_config *c, berth_config *scratch, json_t *root, berr *e)
{
    berth_config check = *c;
    if (json_object_get(root, "registry-mirrors")) {
        check.registry_mirrors = scratch->registry_mirrors;
        check.n_registry_mirrors = scratch->n_registry_mirrors;
    }
    if (json_object_get(root, "insecure-registries")) {
        check.insecure_registries = scratch->insecure_registries;
        check.n_insecure_registries = scratch->n_insecure_registries;
    }
    static const struct {
        const char *key;
        size_t off;
    } ints[] = {{"max-concurrent-downloads", offsetof(berth_config, max_concurrent_downloads)},
                {"max-concurrent-uploads", offsetof(berth_config, max_concurrent_uploads)},
                {"max-download-attempts", offsetof(berth_config, max_download_attempts)}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (json_object_get(root, ints[i].key))
            *(long *)((char *)&check + ints[i].off) = *(long *)((char *)scratch + ints[i].off);
    int r = registry_config_validate(&check, e);
    if (r < 0)
        return r;
    if (json_object_get(root, "registry-mirrors"))
        list_take(&c->registry_mirrors, &c->n_registry_mirrors, &scratch->registry_mirrors,
                  &scratch->n_registry_mirrors);
    if (json_object_get(root, "insecure-registries"))
        list_take(&c->insecure_registries, &c->n_insecure_registries, &scratch->insecure_registries,
                  &scratch->n_insecure_registries);
    c->max_concurrent_downloads = check.max_concurrent_downloads;
    c->max_concurrent_uploads = check.max_concurrent_uploads;
    c->max_download_attempts = check.max_download_attempts;
    return 0;
}

void registry_config_free(berth_config *c)
{
    list_free(&c->registry_mirrors, &c->n_registry_mirrors);
    list_free(&c->insecure_registries, &c->n_insecure_registries);
}

reg_options registry_config_options(const berth_config *c)
{
    return (reg_options){.mirrors = c->registry_mirrors,
                         .n_mirrors = c->n_registry_mirrors,
                         .insecure = c->insecure_registries,
                         .n_insecure = c->n_insecure_registries};
}

void registry_config_certs_dir(const berth_config *c, char *out, size_t n)
{
    const char *file = c->config_file ? c->config_file : BERTH_DEFAULT_CONFIG_FILE;
    const char *slash = strrchr(file, '/');
    if (!slash)
        snprintf(out, n, "certs.d");
    else
        snprintf(out, n, "%.*s/certs.d", (int)(slash - file), file);
}
