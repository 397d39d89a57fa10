/* Templated secrets and configs (Templating: {"Name": "golang"}): the
 * subset of Go's text/template that SwarmKit's template context offers,
 * rendered on the node for each task (node/secrets_template.c).
 *
 * Supported actions: {{.Service.ID}}, {{.Service.Name}},
 * {{index .Service.Labels "k"}}, {{.Node.ID}}, {{.Node.Hostname}},
 * {{.Node.Platform.OS}}, {{.Node.Platform.Architecture}}, {{.Task.ID}},
 * {{.Task.Name}}, {{.Task.Slot}}, {{env "NAME"}} (the task's
 * environment), {{secret "target"}} and {{config "target"}} (the task's
 * own references, by target), comments, and the {{- -}} trim markers.
 * Anything else (if, range, pipelines, variables) is refused with a clear
 * error ("template: line N: unsupported action": where, never the text,
 * which may be a secret's), so a template never renders wrong silently. */
#ifndef BERTH_NODE_SECRETS_TEMPLATE_H
#define BERTH_NODE_SECRETS_TEMPLATE_H

#include <jansson.h>
#include <stddef.h>

#include "lib/err.h"

typedef struct tmpl_ctx {
    json_t *fields;   /* {"Service": {...}, "Node": {...}, "Task": {...}} */
    json_t *env;      /* {"NAME": "value"} */
    /* The payload of the task's secret or config with that target (a new
     * buffer), -ENOENT when it has none. */
    int (*lookup)(void *arg, const char *kind, const char *target, unsigned char **data, size_t *len, berr *e);
    void *arg;
} tmpl_ctx;

/* Renders tmpl into *out (a new buffer of *out_len bytes). */
int tmpl_render(const char *tmpl, size_t len, const tmpl_ctx *ctx, unsigned char **out, size_t *out_len, berr *e);

#endif
