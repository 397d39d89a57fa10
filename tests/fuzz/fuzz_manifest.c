/* Registry manifests (runtime/registry/manifest.c): what a registry sends
 * for a pull.  The first byte picks the Content-Type the reply claims (or
 * none, so the document's mediaType decides); a list also goes through the
 * platform choice. */
#include "runtime/registry/manifest.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[] = {NULL, REG_MT_DOCKER_MANIFEST, REG_MT_DOCKER_LIST, REG_MT_OCI_MANIFEST,
                                        REG_MT_OCI_INDEX, "application/vnd.docker.distribution.manifest.v1+prettyjws",
                                        "text/plain"};
    if (size == 0)
        return 0;
    const char *ct = types[data[0] % (sizeof types / sizeof types[0])];
    reg_manifest m;
    berr e = {0};
    if (reg_manifest_parse(ct, (const char *)data + 1, size - 1, "fuzz/image:tag", &m, &e) == 0) {
        if (m.is_index) {
            reg_platform p;
            reg_platform_host(&p);
            size_t idx;
            berr e2 = {0};
            if (reg_manifest_select(&m, &p, &idx, &e2) == 0 && idx >= m.n_manifests)
                abort();   /* the chosen entry must exist */
        } else {
            char *again = reg_manifest_build(&m.config, m.layers, m.n_layers);
            reg_manifest m2;
            berr e3 = {0};
            /* what we would push parses back to the same layers */
            if (reg_manifest_parse(REG_MT_DOCKER_MANIFEST, again, strlen(again), "fuzz", &m2, &e3) != 0 ||
                m2.n_layers != m.n_layers)
                abort();
            reg_manifest_free(&m2);
            free(again);
        }
        reg_manifest_free(&m);
    }
    /* --platform values, from the same bytes */
    char *s = fuzz_cstr(data + 1, size - 1 > 100 ? 100 : size - 1);
    reg_platform p;
    berr e4 = {0};
    (void)reg_platform_parse(s, &p, &e4);
    free(s);
    return 0;
}
