/* Registry authentication as the distribution client does it: the
 * WWW-Authenticate challenge of GET /v2/, credentials from X-Registry-Auth
 * (decoded leniently, as dockerd does), and the Authorization headers they
 * turn into.  Pure functions; the token request itself is in session.c. */
#ifndef BERTH_RUNTIME_REGISTRY_AUTH_H
#define BERTH_RUNTIME_REGISTRY_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"

typedef struct reg_challenge {
    char scheme[16];          /* "bearer" or "basic" (lowercased); "" when none */
    char realm[1024];
    char service[256];
    char scope[512];
} reg_challenge;

/* Parses one WWW-Authenticate value ('Bearer realm="..",service=".."').
 * Returns 0, or -EINVAL when the value is not a challenge. */
int reg_challenge_parse(const char *value, reg_challenge *c);

/* Credentials for one registry; empty strings when not given. */
typedef struct reg_creds {
    char username[256];
    char password[512];
    char identitytoken[2048];   /* an OAuth refresh token */
    char registrytoken[2048];   /* a bearer token to use as it is */
    char serveraddress[512];
} reg_creds;

/* Decodes an X-Registry-Auth header (base64url JSON, padding optional; std
 * base64 accepted too).  Anything undecodable leaves c empty, as dockerd
 * ignores bad encodings.  An "auth" member ("user:pass" in base64) fills
 * username and password when they are not given. */
void reg_creds_from_header(const char *header, reg_creds *c);
/* From an X-Registry-Config header (the same encoding; a JSON object of
 * server address -> auth config, as the CLI sends every login it has to a
 * build): the entry whose server is the registry index ("docker.io",
 * "reg:5000"), or empty. */
void reg_creds_from_config_header(const char *header, const char *index, reg_creds *c);
/* Same from a JSON object text (the body of POST /auth). -EINVAL if not JSON. */
int reg_creds_from_json(const char *json, size_t len, reg_creds *c, berr *e);

bool reg_creds_empty(const reg_creds *c);

/* "Authorization: Basic <base64 user:pass>" into out. */
void reg_basic_header(const reg_creds *c, char *out, size_t n);

/* The token endpoint's URL for a Bearer challenge: realm?service=..&scope=..
 * (scope "repository:<repo>:<actions>", or none for a login).  Caller frees. */
char *reg_token_url(const reg_challenge *c, const char *repo, const char *actions);

/* The token from a token endpoint's JSON reply ("token" or "access_token"),
 * and the refresh token if any.  -EINVAL with a message if neither is there. */
int reg_token_parse(const char *json, size_t len, char **token, char **refresh, berr *e);

#endif
