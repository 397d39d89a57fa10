/* Where a repository lives: an image name (familiar, as lib/reference keeps
 * it) split into its registry host and repository path, the host's scheme
 * (https, or for insecure registries https without verification falling
 * back to http), the mirrors to try for Docker Hub, and the URLs of the
 * distribution API.  Pure functions. */
#ifndef BERTH_RUNTIME_REGISTRY_ENDPOINT_H
#define BERTH_RUNTIME_REGISTRY_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"

#define REG_HOST_MAX 256
#define REG_REPO_MAX 256

#define REG_DOCKER_HUB_INDEX "docker.io"
#define REG_DOCKER_HUB_HOST "registry-1.docker.io"

typedef struct reg_name {
    char index[REG_HOST_MAX];   /* "docker.io", "127.0.0.1:5000": what the user calls the registry */
    char host[REG_HOST_MAX];    /* where the API is: "registry-1.docker.io", "127.0.0.1:5000" */
    char repo[REG_REPO_MAX];    /* "library/busybox", "team/app" */
    bool hub;                   /* a Docker Hub name (mirrors apply) */
} reg_name;

/* Splits a familiar repository name ("busybox", "team/app", "reg:5000/x"). */
int reg_name_split(const char *familiar, reg_name *n, berr *e);

/* The registry a login's serveraddress names ("", "https://index.docker.io/v1/",
 * "reg:5000", "http://reg:5000/") as index and host (no scheme, no path). */
void reg_server_split(const char *server, char index[REG_HOST_MAX], char host[REG_HOST_MAX]);

/* The registry options of the daemon (registry-mirrors, insecure-registries). */
typedef struct reg_options {
    char **mirrors;             /* "https://mirror.example:5000" (scheme optional) */
    size_t n_mirrors;
    char **insecure;            /* CIDRs ("10.0.0.0/8") and hosts ("reg:5000", "reg") */
    size_t n_insecure;
} reg_options;

/* True when host ("h", "h:port", "[v6]:port") may be reached without TLS
 * verification: loopback always, else listed as itself, as its name without
 * port, or (a literal address) inside a listed CIDR. */
bool reg_host_insecure(const reg_options *o, const char *host);

/* Checks one insecure-registries entry as dockerd does; -EINVAL with its words. */
int reg_insecure_entry_valid(const char *entry, berr *e);
/* Checks one registry-mirrors entry (an http(s) URL without path); -EINVAL else. */
int reg_mirror_valid(const char *mirror, berr *e);

/* "<scheme>://<host>/v2/<repo>/<kind>/<ref>" (kind "manifests", "blobs"),
 * or "<scheme>://<host>/v2/" when repo is NULL.  Caller frees. */
char *reg_url(const char *scheme, const char *host, const char *repo, const char *kind, const char *ref);

#endif
