/* Replies and request accessors shared by every handler. */
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/server.h"
#include "lib/buf.h"
#include "lib/json_write.h"

unsigned api_status_for(int code)
{
    switch (-code) {
    case EINVAL:
    case ERANGE:
    case ENAMETOOLONG:
        return 400;
    case EPERM:
    case EACCES:
        return 403;
    case ENOENT:
        return 404;
    case EEXIST:
    case EBUSY:
    case ENOTEMPTY:
        return 409;
    case ENOSYS:
        return 501;
    case ENOTCONN:
    case EAGAIN:
        return 503;
    default:
        return 500;
    }
}

void api_add_common_headers(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "Api-Version", API_VERSION);
    MHD_add_response_header(resp, "Docker-Experimental", "false");
    MHD_add_response_header(resp, "Ostype", "linux");
    MHD_add_response_header(resp, "Server", "Berth/" BERTH_VERSION " (linux)");
}

void api_reply_response(api_request *r, unsigned status, struct MHD_Response *resp)
{
    if (r->replied) {
        /* A second reply is a bug in a handler; keep the first. */
        MHD_destroy_response(resp);
        return;
    }
    r->replied = true;
    api_add_common_headers(resp);
    r->pending = resp;
    r->pending_status = status;
    api_server_reply_ready(r);
}

void api_reply_text(api_request *r, unsigned status, const char *content_type, char *data, size_t len)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (content_type)
        MHD_add_response_header(resp, "Content-Type", content_type);
    api_reply_response(r, status, resp);
}

void api_reply_json(api_request *r, unsigned status, json_t *body)
{
    buf b = BUF_INIT;
    bool ok = json_write_compact(&b, body);
    json_decref(body);
    if (!ok) {
        buf_free(&b);
        api_reply_error(r, -ENOMEM, "could not encode the response");
        return;
    }
    /* dockerd ends JSON bodies with a newline; some clients split on it. */
    buf_append(&b, "\n", 1);
    size_t len = b.len;
    api_reply_text(r, status, "application/json", buf_steal(&b), len);
}

void api_reply_empty(api_request *r, unsigned status)
{
    api_reply_response(r, status, MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT));
}

void api_reply_error(api_request *r, int code, const char *msg)
{
    json_t *o = json_pack("{s:s}", "message", msg ? msg : "");
    api_reply_json(r, api_status_for(code), o);
}

void api_reply_berr(api_request *r, const berr *e)
{
    api_reply_error(r, e->code ? e->code : -EIO, e->msg[0] ? e->msg : "internal error");
}

void api_reply_fd(api_request *r, unsigned status, const char *content_type, int fd, long long len)
{
    struct MHD_Response *resp = MHD_create_response_from_fd64((uint64_t)len, fd);
    if (!resp) {
        close(fd);
        api_reply_error(r, -EIO, "could not send the response");
        return;
    }
    MHD_add_response_header(resp, "Content-Type", content_type);
    api_reply_response(r, status, resp);
}

const char *api_query(api_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

bool api_query_bool(api_request *r, const char *name, bool dflt)
{
    const char *v = api_query(r, name);
    if (!v) {
        /* "?quiet" with no value is present but empty in dockerd: false,
         * unless the key is absent altogether. */
        return MHD_lookup_connection_value_n(r->conn, MHD_GET_ARGUMENT_KIND, name, strlen(name), NULL, NULL) == MHD_YES ? false : dflt;
    }
    return strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0;
}

typedef struct collect {
    const char *name;
    const char **vals;
    size_t n;
} collect;

static enum MHD_Result collect_one(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    collect *c = cls;
    if (value && strcmp(key, c->name) == 0) {
        c->vals = xrealloc(c->vals, (c->n + 1) * sizeof *c->vals);
        c->vals[c->n++] = value;
    }
    return MHD_YES;
}

const char **api_query_all(api_request *r, const char *name, size_t *n)
{
    collect c = {name, NULL, 0};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_one, &c);
    *n = c.n;
    return c.vals;
}

const char *api_header(api_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

int api_body_json(api_request *r, json_t **out, berr *e)
{
    *out = NULL;
    size_t i = 0;
    while (i < r->body.len && strchr(" \t\r\n", r->body.data[i]))
        i++;
    if (i == r->body.len)
        return 0;
    json_error_t je;
    json_t *j = json_loadb(r->body.data, r->body.len, 0, &je);
    if (!j)
        return berr_set(e, -EINVAL, "invalid JSON: %s (at line %d, column %d)", je.text, je.line, je.column);
    *out = j;
    return 0;
}
