#include "lib/metrics.h"

#include <math.h>
#include <string.h>

void metrics_family(buf *out, const char *name, const char *type, const char *help)
{
    buf_printf(out, "# HELP %s ", name);
    for (const char *p = help; *p; p++) {
        if (*p == '\\')
            buf_puts(out, "\\\\");
        else if (*p == '\n')
            buf_puts(out, "\\n");
        else
            buf_append(out, p, 1);
    }
    buf_printf(out, "\n# TYPE %s %s\n", name, type);
}

void metrics_sample(buf *out, const char *name, const char *const *labels, double value)
{
    buf_puts(out, name);
    if (labels && labels[0]) {
        buf_puts(out, "{");
        for (size_t i = 0; labels[i] && labels[i + 1]; i += 2) {
            buf_printf(out, "%s%s=\"", i ? "," : "", labels[i]);
            for (const char *p = labels[i + 1]; *p; p++) {
                if (*p == '\\' || *p == '"')
                    buf_printf(out, "\\%c", *p);
                else if (*p == '\n')
                    buf_puts(out, "\\n");
                else
                    buf_append(out, p, 1);
            }
            buf_puts(out, "\"");
        }
        buf_puts(out, "}");
    }
    if (isnan(value))
        buf_puts(out, " NaN\n");
    else if (value == floor(value) && fabs(value) < 1e15)
        buf_printf(out, " %.0f\n", value);
    else
        buf_printf(out, " %.9g\n", value);
}
