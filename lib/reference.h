/* Docker image references ("busybox", "busybox:1.36", "reg:5000/a/b@sha256:..")
 * parsed and normalized the way docker/distribution's reference package does,
 * and kept in their familiar form: the "docker.io/" domain and the
 * "library/" path of official images are dropped, so "docker.io/library/busybox"
 * and "busybox" are the same name, as `docker images` shows them. */
#ifndef BERTH_LIB_REFERENCE_H
#define BERTH_LIB_REFERENCE_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/digest.h"
#include "lib/err.h"

#define REF_NAME_MAX 256
#define REF_TAG_MAX 128

typedef struct image_ref {
    char name[REF_NAME_MAX];     /* familiar repository name, e.g. "busybox", "myorg/app", "reg:5000/x" */
    char tag[REF_TAG_MAX + 1];   /* "" when the reference has no tag */
    char digest[DIGEST_BUF];     /* "" when the reference has no digest */
} image_ref;

/* Parses s.  Errors (-EINVAL) use Docker's wording, e.g.
 * "invalid reference format", "invalid reference format: repository name
 * (library/Busybox) must be lowercase", and a 64-hex name is refused as
 * "invalid repository name (<hex>), cannot specify 64-byte hexadecimal strings". */
int ref_parse(const char *s, image_ref *r, berr *e);

/* Parses a repository name alone (no tag, no digest), as for the `repo`
 * parameter of POST /images/{name}/tag; the error wording is Docker's. */
int ref_parse_name(const char *s, image_ref *r, berr *e);

/* True if tag matches Docker's tag grammar [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}. */
bool ref_tag_valid(const char *tag);

/* Sets tag "latest" when r has neither tag nor digest. */
void ref_default_tag(image_ref *r);

/* "name:tag", "name@digest", "name:tag@digest" or "name" into out. */
void ref_format(const image_ref *r, char *out, size_t n);

/* The fully qualified form, as OCI archives annotate them:
 * "docker.io/library/busybox:latest". */
void ref_format_full(const image_ref *r, char *out, size_t n);

#endif
