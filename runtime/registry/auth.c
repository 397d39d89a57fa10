/* Challenges, credentials and tokens (see auth.h). */
#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "runtime/registry/auth.h"
#include "runtime/registry/endpoint.h"

/* Reads a token or quoted-string starting at *p into out; advances *p. */
static void read_value(const char **p, char *out, size_t n)
{
    const char *s = *p;
    size_t o = 0;
    if (*s == '"') {
        s++;
        while (*s && *s != '"') {
            if (*s == '\\' && s[1])
                s++;
            if (o + 1 < n)
                out[o++] = *s;
            s++;
        }
        if (*s == '"')
            s++;
    } else {
        while (*s && *s != ',' && !isspace((unsigned char)*s)) {
            if (o + 1 < n)
                out[o++] = *s;
            s++;
        }
    }
    out[o] = 0;
    *p = s;
}

int reg_challenge_parse(const char *value, reg_challenge *c)
{
    memset(c, 0, sizeof *c);
    if (!value)
        return -EINVAL;
    const char *p = value;
    while (isspace((unsigned char)*p))
        p++;
    size_t n = 0;
    while (p[n] && !isspace((unsigned char)p[n]) && p[n] != ',')
        n++;
    if (n == 0 || n >= sizeof c->scheme || memchr(p, '=', n))
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        c->scheme[i] = (char)tolower((unsigned char)p[i]);
    p += n;
    while (*p) {
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        char key[32];
        size_t k = 0;
        while (*p && *p != '=' && *p != ',' && !isspace((unsigned char)*p)) {
            if (k + 1 < sizeof key)
                key[k++] = (char)tolower((unsigned char)*p);
            p++;
        }
        key[k] = 0;
        while (isspace((unsigned char)*p))
            p++;
        if (*p != '=')
            continue;
        p++;
        while (isspace((unsigned char)*p))
            p++;
        char tmp[1024];
        read_value(&p, tmp, sizeof tmp);
        if (strcmp(key, "realm") == 0)
            snprintf(c->realm, sizeof c->realm, "%s", tmp);
        else if (strcmp(key, "service") == 0)
            snprintf(c->service, sizeof c->service, "%s", tmp);
        else if (strcmp(key, "scope") == 0)
            snprintf(c->scope, sizeof c->scope, "%s", tmp);
    }
    return 0;
}

static void copy_member(json_t *o, const char *key, char *out, size_t n)
{
    json_t *v = json_object_get(o, key);
    if (json_is_string(v))
        snprintf(out, n, "%s", json_string_value(v));
}

/* Decodes base64 in any of its four common spellings; NULL if none fits. */
static char *b64_decode(const char *in, size_t *out_len)
{
    static const int variants[] = {sodium_base64_VARIANT_URLSAFE, sodium_base64_VARIANT_URLSAFE_NO_PADDING,
                                   sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING};
    size_t len = strlen(in);
    char *out = xmalloc(len + 1);
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        size_t got;
        if (sodium_base642bin((unsigned char *)out, len, in, len, "\r\n ", &got, NULL, variants[i]) == 0) {
            out[got] = 0;
            *out_len = got;
            return out;
        }
    }
    free(out);
    return NULL;
}

static void creds_from_object(json_t *o, reg_creds *c)
{
    copy_member(o, "username", c->username, sizeof c->username);
    copy_member(o, "password", c->password, sizeof c->password);
    copy_member(o, "identitytoken", c->identitytoken, sizeof c->identitytoken);
    copy_member(o, "registrytoken", c->registrytoken, sizeof c->registrytoken);
    copy_member(o, "serveraddress", c->serveraddress, sizeof c->serveraddress);
    json_t *auth = json_object_get(o, "auth");
    if (!c->username[0] && json_is_string(auth) && json_string_length(auth)) {
        size_t n;
        cleanup_free char *plain = b64_decode(json_string_value(auth), &n);
        char *colon = plain ? strchr(plain, ':') : NULL;
        if (colon) {
            *colon = 0;
            snprintf(c->username, sizeof c->username, "%s", plain);
            snprintf(c->password, sizeof c->password, "%s", colon + 1);
        }
    }
}

void reg_creds_from_header(const char *header, reg_creds *c)
{
    memset(c, 0, sizeof *c);
    if (!header || !*header)
        return;
    size_t n;
    cleanup_free char *text = b64_decode(header, &n);
    if (!text)
        return;
    json_t *o = json_loadb(text, n, 0, NULL);
    if (json_is_object(o))
        creds_from_object(o, c);
    json_decref(o);
}

void reg_creds_from_config_header(const char *header, const char *index, reg_creds *c)
{
    memset(c, 0, sizeof *c);
    if (!header || !*header)
        return;
    size_t n;
    cleanup_free char *text = b64_decode(header, &n);
    json_t *o = text ? json_loadb(text, n, 0, NULL) : NULL;
    const char *server;
    json_t *v;
    json_object_foreach(json_is_object(o) ? o : NULL, server, v) {
        char idx[REG_HOST_MAX], host[REG_HOST_MAX];
        reg_server_split(server, idx, host);
        if (json_is_object(v) && !strcmp(idx, index)) {
            creds_from_object(v, c);
            break;
        }
    }
    json_decref(o);
}

int reg_creds_from_json(const char *json, size_t len, reg_creds *c, berr *e)
{
    memset(c, 0, sizeof *c);
    json_error_t je;
    json_t *o = json_loadb(json ? json : "", len, 0, &je);
    if (!json_is_object(o)) {
        json_decref(o);
        return berr_set(e, -EINVAL, "invalid JSON: %s", je.text);
    }
    creds_from_object(o, c);
    json_decref(o);
    return 0;
}

bool reg_creds_empty(const reg_creds *c)
{
    return !c->username[0] && !c->password[0] && !c->identitytoken[0] && !c->registrytoken[0];
}

void reg_basic_header(const reg_creds *c, char *out, size_t n)
{
    cleanup_free char *plain = xasprintf("%s:%s", c->username, c->password);
    size_t len = strlen(plain), blen = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    cleanup_free char *b64 = xmalloc(blen);
    sodium_bin2base64(b64, blen, (const unsigned char *)plain, len, sodium_base64_VARIANT_ORIGINAL);
    snprintf(out, n, "Authorization: Basic %s", b64);
}

static void append_param(buf *b, const char *key, const char *val)
{
    char *esc = curl_easy_escape(NULL, val, 0);
    buf_printf(b, "%s%s=%s", strchr(b->data, '?') ? "&" : "?", key, esc ? esc : "");
    curl_free(esc);
}

char *reg_token_url(const reg_challenge *c, const char *repo, const char *actions)
{
    buf b = BUF_INIT;
    buf_puts(&b, c->realm);
    if (c->service[0])
        append_param(&b, "service", c->service);
    if (repo && repo[0]) {
        cleanup_free char *scope = xasprintf("repository:%s:%s", repo, actions);
        append_param(&b, "scope", scope);
    }
    return buf_steal(&b);
}

int reg_token_parse(const char *json, size_t len, char **token, char **refresh, berr *e)
{
    *token = NULL;
    *refresh = NULL;
    json_t *o = json_loadb(json, len, 0, NULL);
    const char *t = json_string_value(json_object_get(o, "token"));
    if (!t || !*t)
        t = json_string_value(json_object_get(o, "access_token"));
    if (!t || !*t) {
        json_decref(o);
        return berr_set(e, -EINVAL, "authorization server did not include a token in the response");
    }
    *token = xstrdup(t);
    const char *r = json_string_value(json_object_get(o, "refresh_token"));
    if (r && *r)
        *refresh = xstrdup(r);
    json_decref(o);
    return 0;
}
