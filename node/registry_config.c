/* Registry options (see registry_config.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "node/registry_config.h"

int registry_config_validate(const berth_config *c, berr *e)
{
    size_t i;
    json_t *v;
    json_array_foreach(c->registry_mirrors_json, i, v) if (reg_mirror_valid(json_string_value(v), e) < 0)
        return -EINVAL;
    json_array_foreach(c->insecure_registries_json, i, v) if (reg_insecure_entry_valid(json_string_value(v), e) < 0)
        return -EINVAL;
    if (c->max_downloads < 1)
        return berr_set(e, -EINVAL, "invalid max concurrent downloads: %ld", c->max_downloads);
    if (c->max_uploads < 1)
        return berr_set(e, -EINVAL, "invalid max concurrent uploads: %ld", c->max_uploads);
    if (c->max_attempts < 1)
        return berr_set(e, -EINVAL, "invalid max download attempts: %ld", c->max_attempts);
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

static void list_from(char ***l, size_t *n, json_t *a)
{
    list_free(l, n);
    *l = xcalloc(json_array_size(a) + 1, sizeof **l);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) (*l)[(*n)++] = xstrdup(json_string_value(v));
}

void registry_config_sync(berth_config *c)
{
    list_from(&c->registry_mirrors, &c->n_registry_mirrors, c->registry_mirrors_json);
    list_from(&c->insecure_registries, &c->n_insecure_registries, c->insecure_registries_json);
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
