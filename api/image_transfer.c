/* POST /images/load and GET /images/{name}/get, /images/get. */
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "node/daemon.h"
#include "runtime/image/store.h"

static void load_done(void *arg, int status, const berr *e, char **messages, size_t n)
{
    api_request *r = arg;
    if (status < 0) {
        api_reply_berr(r, e);
        return;
    }
    /* dockerd streams JSON messages; with quiet they carry no progress, which
     * is all we ever send: the work is done before the reply starts. */
    buf out = BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        json_t *line = json_pack("{s:s+}", "stream", messages[i], "\n");
        char *text = json_dumps(line, JSON_COMPACT);
        buf_printf(&out, "%s\r\n", text);
        free(text);
        json_decref(line);
    }
    size_t len = out.len;
    api_reply_text(r, 200, "application/json", buf_steal(&out), len);
}

void api_images_load(api_request *r)
{
    if (r->body_len == 0) {
        api_reply_error(r, -EINVAL, "unexpected EOF: the request carried no image archive");
        return;
    }
    rt_images_load(r->d->images, r->body_path, load_done, r);
}

typedef struct save_ctx {
    api_request *r;
    rt_save_item *items;
    size_t n;
} save_ctx;

static void save_ctx_free(save_ctx *c)
{
    for (size_t i = 0; i < c->n; i++) {
        rt_image_free(c->items[i].img);
        for (size_t t = 0; t < c->items[i].n_tags; t++)
            free(c->items[i].tags[t]);
        free(c->items[i].tags);
    }
    free(c->items);
    free(c);
}

static void save_done(void *arg, int status, const berr *e, int fd, long long len)
{
    save_ctx *c = arg;
    if (status < 0)
        api_reply_berr(c->r, e);
    else
        api_reply_fd(c->r, 200, "application/x-tar", fd, len);
    save_ctx_free(c);
}

/* Adds name to the save: images named twice are written once, with every
 * tag the names asked for. */
static int save_add(api_request *r, save_ctx *c, const char *name, berr *e)
{
    rt_image *img;
    int rc = rt_image_resolve(r->d->images, name, &img, e);
    if (rc < 0)
        return rc;
    const char *tag = rt_image_named_tag(img, name);
    rt_save_item *it = NULL;
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->items[i].img->id, img->id) == 0)
            it = &c->items[i];
    if (!it) {
        c->items = xrealloc(c->items, (c->n + 1) * sizeof *c->items);
        it = &c->items[c->n++];
        *it = (rt_save_item){img, NULL, 0};
    }
    if (tag) {
        for (size_t t = 0; t < it->n_tags; t++)
            if (strcmp(it->tags[t], tag) == 0)
                tag = NULL;
        if (tag) {
            it->tags = xrealloc(it->tags, (it->n_tags + 1) * sizeof *it->tags);
            it->tags[it->n_tags++] = xstrdup(tag);
        }
    }
    if (it->img != img)
        rt_image_free(img);
    return 0;
}

static void save_names(api_request *r, const char **names, size_t n)
{
    save_ctx *c = xcalloc(1, sizeof *c);
    c->r = r;
    berr e = {0};
    if (n == 0) {
        save_ctx_free(c);
        api_reply_error(r, -EINVAL, "no image names given");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (save_add(r, c, names[i], &e) < 0) {
            save_ctx_free(c);
            api_reply_berr(r, &e);
            return;
        }
    }
    rt_images_save(r->d->images, c->items, c->n, save_done, c);
}

void api_image_get(api_request *r)
{
    const char *names[] = {r->params[0]};
    save_names(r, names, 1);
}

void api_images_get(api_request *r)
{
    size_t n;
    const char **names = api_query_all(r, "names", &n);
    save_names(r, names, n);
    free(names);
}
