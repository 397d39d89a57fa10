#include "lib/filters.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/timefmt.h"

int filters_parse(const char *text, const char *const *allowed, json_t **out, berr *e)
{
    *out = NULL;
    json_error_t je;
    json_t *in = (text && *text) ? json_loads(text, 0, &je) : json_object();
    if (!json_is_object(in)) {
        json_decref(in);
        return berr_set(e, -EINVAL, "invalid filter: %s", in ? "expected a JSON object" : je.text);
    }
    *out = json_object();
    const char *name;
    json_t *v;
    json_object_foreach(in, name, v) {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, name) == 0;
        if (!ok) {
            berr_set(e, -EINVAL, "invalid filter '%s'", name);
            goto fail;
        }
        json_t *vals = json_array();
        json_object_set_new(*out, name, vals);
        if (json_is_array(v)) {
            size_t i;
            json_t *it;
            json_array_foreach(v, i, it) {
                if (!json_is_string(it)) {
                    berr_set(e, -EINVAL, "invalid filter '%s': values must be strings", name);
                    goto fail;
                }
                json_array_append(vals, it);
            }
        } else if (json_is_object(v)) {
            const char *k;
            json_t *b;
            json_object_foreach(v, k, b) {
                if (json_is_true(b))
                    json_array_append_new(vals, json_string(k));
            }
        } else {
            berr_set(e, -EINVAL, "invalid filter '%s': expected a list or a map of values", name);
            goto fail;
        }
    }
    json_decref(in);
    return 0;
fail:
    json_decref(in);
    json_decref(*out);
    *out = NULL;
    return e ? e->code : -EINVAL;
}

bool filters_has(json_t *f, const char *name) { return json_array_size(json_object_get(f, name)) > 0; }

int filters_bool(json_t *f, const char *name, bool *out, berr *e)
{
    json_t *vals = json_object_get(f, name);
    size_t i;
    json_t *it;
    json_array_foreach(vals, i, it) {
        const char *s = json_string_value(it);
        if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
            *out = true;
        else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
            *out = false;
        else
            return berr_set(e, -EINVAL, "invalid filter '%s=%s'", name, s);
    }
    return 0;
}

/* "key" or "key=value" against a labels object. */
static bool label_matches(const char *want, json_t *labels)
{
    const char *eq = strchr(want, '=');
    char key[512];
    snprintf(key, sizeof key, "%.*s", (int)(eq ? (size_t)(eq - want) : strlen(want)), want);
    json_t *have = json_object_get(labels, key);
    if (!have)
        return false;
    return !eq || (json_is_string(have) && strcmp(json_string_value(have), eq + 1) == 0);
}

bool filters_match_labels(json_t *f, const char *name, json_t *labels)
{
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(f, name), i, it) if (!label_matches(json_string_value(it), labels)) return false;
    return true;
}

bool filters_match_any_label(json_t *f, const char *name, json_t *labels)
{
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(f, name), i, it) if (label_matches(json_string_value(it), labels)) return true;
    return false;
}

int filters_until(json_t *f, long long *out, berr *e)
{
    json_t *v = json_array_get(json_object_get(f, "until"), 0);
    if (!v)
        return 0;
    if (time_parse_filter(json_string_value(v), (long long)time(NULL), out) < 0)
        return berr_set(e, -EINVAL, "invalid filter 'until=%s'", json_string_value(v));
    return 1;
}
