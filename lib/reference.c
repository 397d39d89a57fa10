/* Image references, following the grammar and normalization of
 * github.com/distribution/reference (ParseNormalizedNamed + Familiar):
 *
 *   reference := name [":" tag] ["@" digest]
 *   name      := [domain "/"] path-component ["/" path-component]*
 *   domain    := host [":" port], host = domain-name | "[" ipv6 "]"
 *   path-component := [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
 *
 * Rather than a regex engine, the string is split the way Docker's
 * splitDockerDomain does and each part is checked by hand; the error text is
 * Docker's, because clients (and their users) match on it. */
#include "lib/reference.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/cleanup.h"

#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DOMAIN "index.docker.io"
#define OFFICIAL_PREFIX "library/"
#define NAME_TOTAL_MAX 255

static bool is_lalnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
static bool is_alnum(char c) { return isascii((unsigned char)c) && isalnum((unsigned char)c); }
static bool is_word(char c) { return is_alnum(c) || c == '_'; }
static bool is_xdigit(char c) { return isascii((unsigned char)c) && isxdigit((unsigned char)c); }

/* [a-z0-9]+ separated by ".", "_", "__" or any run of "-". */
static bool path_component_valid(const char *s, size_t n)
{
    size_t i = 0;
    for (;;) {
        size_t start = i;
        while (i < n && is_lalnum(s[i]))
            i++;
        if (i == start)
            return false;
        if (i == n)
            return true;
        if (s[i] == '.')
            i++;
        else if (s[i] == '_')
            i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
        else if (s[i] == '-')
            while (i < n && s[i] == '-')
                i++;
        else
            return false;
    }
}

static bool path_valid(const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '/') {
            if (!path_component_valid(s + start, i - start))
                return false;
            start = i + 1;
        }
    }
    return true;
}

/* ([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]) */
static bool domain_component_valid(const char *s, size_t n)
{
    if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(s[i]) && s[i] != '-')
            return false;
    return true;
}

static bool domain_valid(const char *s, size_t n)
{
    size_t hostlen = n;
    if (n > 0 && s[0] == '[') {
        /* IPv6 literal; zone identifiers are deliberately not allowed */
        const char *close = memchr(s, ']', n);
        if (!close || close == s + 1)
            return false;
        for (const char *p = s + 1; p < close; p++)
            if (!is_xdigit(*p) && *p != ':')
                return false;
        hostlen = (size_t)(close - s) + 1;
        if (hostlen < n && s[hostlen] != ':')
            return false;
    } else {
        const char *colon = memchr(s, ':', n);
        if (colon)
            hostlen = (size_t)(colon - s);
        size_t start = 0;
        for (size_t i = 0; i <= hostlen; i++) {
            if (i == hostlen || s[i] == '.') {
                if (!domain_component_valid(s + start, i - start))
                    return false;
                start = i + 1;
            }
        }
    }
    if (hostlen < n) {   /* ":" port */
        if (hostlen + 1 == n)
            return false;
        for (size_t i = hostlen + 1; i < n; i++)
            if (s[i] < '0' || s[i] > '9')
                return false;
    }
    return true;
}

static bool tag_valid_n(const char *s, size_t n)
{
    if (n == 0 || n > REF_TAG_MAX || !is_word(s[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!is_word(s[i]) && s[i] != '.' && s[i] != '-')
            return false;
    return true;
}

bool ref_tag_valid(const char *tag)
{
    return tag && tag_valid_n(tag, strlen(tag));
}

/* The digest grammar of the reference package, then go-digest's validation
 * (only sha256 is stored by this daemon). */
static int digest_check(const char *s, berr *e)
{
    const char *colon = strchr(s, ':');
    if (!colon || colon == s)
        return berr_set(e, -EINVAL, "invalid reference format");
    /* algorithm: [A-Za-z][A-Za-z0-9]* joined by [-_+.] */
    bool want_alpha = true;
    for (const char *p = s; p < colon; p++) {
        if (want_alpha) {
            if (!isascii((unsigned char)*p) || !isalpha((unsigned char)*p))
                return berr_set(e, -EINVAL, "invalid reference format");
            want_alpha = false;
        } else if (*p == '-' || *p == '_' || *p == '+' || *p == '.') {
            want_alpha = true;
        } else if (!is_alnum(*p)) {
            return berr_set(e, -EINVAL, "invalid reference format");
        }
    }
    size_t hexlen = strlen(colon + 1);
    if (want_alpha || hexlen < 32)
        return berr_set(e, -EINVAL, "invalid reference format");
    for (const char *p = colon + 1; *p; p++)
        if (!is_xdigit(*p))
            return berr_set(e, -EINVAL, "invalid reference format");
    if ((size_t)(colon - s) != 6 || strncmp(s, "sha256", 6) != 0)
        return berr_set(e, -EINVAL, "unsupported digest algorithm");
    if (hexlen != DIGEST_HEX_LEN)
        return berr_set(e, -EINVAL, "invalid checksum digest length");
    if (!digest_valid(s))   /* uppercase hex */
        return berr_set(e, -EINVAL, "invalid checksum digest format");
    return 0;
}

static bool has_upper(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 'A' && s[i] <= 'Z')
            return true;
    return false;
}

/* Whether a first name element is read as a registry host. */
static bool reads_as_domain(const char *s, size_t n)
{
    /* uppercase is never valid in a path, so it can only be a host */
    return (n == 9 && strncmp(s, "localhost", 9) == 0) || memchr(s, '.', n) || memchr(s, ':', n) ||
           has_upper(s, n);
}

/* splitDockerDomain: *domain (length *dlen) and a freshly allocated remainder
 * (path plus any ":tag@digest"), with "library/" added for official images. */
static char *split_domain(const char *s, const char **domain, size_t *dlen)
{
    const char *slash = strchr(s, '/');
    if (!slash) {
        /* a single element is always a Docker Hub name, even "localhost" */
        *domain = DEFAULT_DOMAIN;
        *dlen = strlen(DEFAULT_DOMAIN);
        return xasprintf(OFFICIAL_PREFIX "%s", s);
    }
    size_t n = (size_t)(slash - s);
    const char *rest = slash + 1;
    if (n == strlen(LEGACY_DOMAIN) && strncmp(s, LEGACY_DOMAIN, n) == 0) {
        *domain = DEFAULT_DOMAIN;
        *dlen = strlen(DEFAULT_DOMAIN);
    } else if (reads_as_domain(s, n)) {
        *domain = s;
        *dlen = n;
    } else {
        *domain = DEFAULT_DOMAIN;
        *dlen = strlen(DEFAULT_DOMAIN);
        rest = s;
    }
    if (*dlen == strlen(DEFAULT_DOMAIN) && strncmp(*domain, DEFAULT_DOMAIN, *dlen) == 0 &&
        !strchr(rest, '/'))
        return xasprintf(OFFICIAL_PREFIX "%s", rest);
    return xstrdup(rest);
}

static bool is_identifier(const char *s)
{
    return digest_hex_valid(s);
}

int ref_parse(const char *s, image_ref *r, berr *e)
{
    memset(r, 0, sizeof *r);
    if (!s || !*s)
        return berr_set(e, -EINVAL, "invalid reference format");
    if (is_identifier(s))
        return berr_set(e, -EINVAL,
                        "invalid repository name (%s), cannot specify 64-byte hexadecimal strings", s);

    const char *domain;
    size_t dlen;
    cleanup_free char *rem = split_domain(s, &domain, &dlen);

    /* Docker checks case on everything before the first ':' of the
     * normalized remainder, so the message names "library/Busybox". */
    size_t remote_len = strcspn(rem, ":");
    if (has_upper(rem, remote_len))
        return berr_set(e, -EINVAL,
                        "invalid reference format: repository name (%.*s) must be lowercase",
                        (int)remote_len, rem);

    char *at = strchr(rem, '@');
    if (at) {
        *at = 0;
        int rc = digest_check(at + 1, e);
        if (rc < 0)
            return rc;
    }
    char *colon = strchr(rem, ':');
    if (colon) {
        *colon = 0;
        if (!tag_valid_n(colon + 1, strlen(colon + 1)))
            return berr_set(e, -EINVAL, "invalid reference format");
    }
    size_t plen = strlen(rem);
    if (!path_valid(rem, plen))
        return berr_set(e, -EINVAL, "invalid reference format");
    /* A first element that is no valid host but a valid path component (say
     * "a_b.c/x") still matches the reference grammar as a domain-less path. */
    if (!domain_valid(domain, dlen) && !path_component_valid(domain, dlen))
        return berr_set(e, -EINVAL, "invalid reference format");
    if (plen > NAME_TOTAL_MAX)
        return berr_set(e, -EINVAL, "repository name must not be more than %d characters",
                        NAME_TOTAL_MAX);

    const char *path = rem;
    bool hub = dlen == strlen(DEFAULT_DOMAIN) && strncmp(domain, DEFAULT_DOMAIN, dlen) == 0;
    int n;
    if (hub) {
        const char *p = path;
        if (strncmp(p, OFFICIAL_PREFIX, strlen(OFFICIAL_PREFIX)) == 0 &&
            !strchr(p + strlen(OFFICIAL_PREFIX), '/'))
            p += strlen(OFFICIAL_PREFIX);
        /* "docker.io/a.b/c" keeps its domain: as "a.b/c" it would name the
         * registry a.b (found by fuzz_reference). */
        const char *slash = strchr(p, '/');
        if (slash && reads_as_domain(p, (size_t)(slash - p)))
            n = snprintf(r->name, sizeof r->name, DEFAULT_DOMAIN "/%s", p);
        else
            n = snprintf(r->name, sizeof r->name, "%s", p);
    } else {
        n = snprintf(r->name, sizeof r->name, "%.*s/%s", (int)dlen, domain, path);
    }
    if (n < 0 || (size_t)n >= sizeof r->name) {
        /* only a long registry host can get here; the struct cannot hold it */
        memset(r, 0, sizeof *r);
        return berr_set(e, -EINVAL, "repository name must not be more than %d characters",
                        NAME_TOTAL_MAX);
    }
    if (colon)
        snprintf(r->tag, sizeof r->tag, "%s", colon + 1);
    if (at)
        snprintf(r->digest, sizeof r->digest, "%s", at + 1);
    return 0;
}

int ref_parse_name(const char *s, image_ref *r, berr *e)
{
    int rc = ref_parse(s, r, e);
    if (rc < 0)
        return rc;
    if (r->tag[0] || r->digest[0]) {
        memset(r, 0, sizeof *r);
        return berr_set(e, -EINVAL, "invalid reference format");
    }
    return 0;
}

void ref_default_tag(image_ref *r)
{
    if (!r->tag[0] && !r->digest[0])
        snprintf(r->tag, sizeof r->tag, "latest");
}

static void format_with(const char *domain, size_t dlen, const char *path, const image_ref *r,
                        char *out, size_t n)
{
    if (!n)
        return;
    cleanup_buf buf b = BUF_INIT;
    if (domain)
        buf_printf(&b, "%.*s/", (int)dlen, domain);
    buf_puts(&b, path);
    if (r->tag[0])
        buf_printf(&b, ":%s", r->tag);
    if (r->digest[0])
        buf_printf(&b, "@%s", r->digest);
    snprintf(out, n, "%s", b.data ? b.data : "");
}

void ref_format(const image_ref *r, char *out, size_t n)
{
    format_with(NULL, 0, r->name, r, out, n);
}

void ref_format_full(const image_ref *r, char *out, size_t n)
{
    /* the familiar name normalizes back the same way user input does */
    const char *domain;
    size_t dlen;
    cleanup_free char *path = split_domain(r->name, &domain, &dlen);
    format_with(domain, dlen, path, r, out, n);
}
