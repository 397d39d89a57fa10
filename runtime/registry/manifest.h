/* Image manifests of the distribution API: Docker schema 2 manifests and
 * manifest lists, OCI image manifests and indexes (schema 1 refused with
 * Docker's deprecation notice), the platform chosen from a list, and the
 * manifest written for a push.  Pure functions. */
#ifndef BERTH_RUNTIME_REGISTRY_MANIFEST_H
#define BERTH_RUNTIME_REGISTRY_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/digest.h"
#include "lib/err.h"

#define REG_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define REG_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define REG_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define REG_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define REG_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define REG_MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define REG_MT_DOCKER_LAYER_TAR "application/vnd.docker.image.rootfs.diff.tar"

/* Every manifest type a pull accepts, as one Accept header. */
#define REG_MANIFEST_ACCEPT                                                                          \
    "Accept: " REG_MT_DOCKER_MANIFEST ", " REG_MT_DOCKER_LIST ", " REG_MT_OCI_MANIFEST ", " REG_MT_OCI_INDEX

/* The largest manifest a pull reads (as dockerd's 4 MiB). */
#define REG_MANIFEST_MAX (4u << 20)

typedef struct reg_platform {
    char os[32];
    char arch[32];
    char variant[32];
} reg_platform;

typedef struct reg_descriptor {
    char media_type[128];
    char digest[DIGEST_BUF];
    long long size;
    reg_platform platform;      /* entries of a list or index */
} reg_descriptor;

typedef struct reg_manifest {
    bool is_index;              /* a manifest list or OCI index */
    char media_type[128];
    reg_descriptor config;      /* image manifests */
    reg_descriptor *layers;
    size_t n_layers;
    reg_descriptor *manifests;  /* lists and indexes */
    size_t n_manifests;
} reg_manifest;

/* Parses a manifest; content_type (the reply's, may be NULL) or the
 * document's mediaType says what it is.  ref names it in errors. */
int reg_manifest_parse(const char *content_type, const char *body, size_t len, const char *ref, reg_manifest *m,
                       berr *e);
void reg_manifest_free(reg_manifest *m);

/* "os[/arch[/variant]]" as --platform takes it; "" gives the host's. */
int reg_platform_parse(const char *text, reg_platform *p, berr *e);
void reg_platform_host(reg_platform *p);

/* Index of the best entry of a list for platform p; -ENOENT with dockerd's
 * "no matching manifest for linux/arm64 in the manifest list entries". */
int reg_manifest_select(const reg_manifest *list, const reg_platform *p, size_t *idx, berr *e);

/* The Docker schema 2 manifest for a push: compact JSON, caller frees. */
char *reg_manifest_build(const reg_descriptor *config, const reg_descriptor *layers, size_t n);

#endif
