/* Progress messages as dockerd streams them (see progress.h). */
#include <stdio.h>
#include <string.h>

#include "api/progress.h"

static void start(api_progress *p)
{
    if (!p->s)
        p->s = api_reply_stream(p->r, 200, "application/json", p->on_gone, p->ctx);
}

/* Docker's units.HumanSize: decimal units, three significant digits. */
static void human(long long n, char *out, size_t len)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
    double v = (double)n;
    size_t u = 0;
    while (v >= 1000 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1000;
        u++;
    }
    snprintf(out, len, "%.3g%s", v, units[u]);
}

void api_progress_format(const char *id, const char *status, long long current, long long total, json_t **out)
{
    json_t *o = json_pack("{s:s}", "status", status);
    if (total > 0) {
        json_object_set_new(o, "progressDetail",
                            json_pack("{s:I, s:I}", "current", (json_int_t)current, "total", (json_int_t)total));
        char bar[51], a[16], b[16];
        int filled = (int)(50.0 * (double)current / (double)total);
        if (filled > 50)
            filled = 50;
        for (int i = 0; i < 50; i++)
            bar[i] = i < filled ? '=' : ' ';
        if (filled > 0 && filled < 50)
            bar[filled - 1] = '>';
        bar[50] = 0;
        human(current, a, sizeof a);
        human(total, b, sizeof b);
        char text[100];
        snprintf(text, sizeof text, "[%s]  %s/%s", bar, a, b);
        json_object_set_new(o, "progress", json_string(text));
    } else if (total == 0 && id && *id) {
        json_object_set_new(o, "progressDetail", json_object());
    }
    if (id && *id)
        json_object_set_new(o, "id", json_string(id));
    *out = o;
}

void api_progress_msg(api_progress *p, const char *id, const char *status, long long current, long long total)
{
    json_t *o;
    api_progress_format(id, status, current, total, &o);
    api_progress_json(p, o);
}

void api_progress_json(api_progress *p, json_t *msg)
{
    start(p);
    api_stream_json(p->s, msg);
}

void api_progress_end(api_progress *p, int status, const berr *e)
{
    if (status < 0 && !p->s) {
        api_reply_berr(p->r, e);
        return;
    }
    if (status < 0) {
        const char *m = e && e->msg[0] ? e->msg : "internal error";
        api_stream_json(p->s, json_pack("{s:{s:s}, s:s}", "errorDetail", "message", m, "error", m));
    }
    start(p);
    api_stream_end(p->s);
    p->s = NULL;
}
