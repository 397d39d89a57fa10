/* Small readers for the JSON documents the API and the stores pass around. */
#ifndef BERTH_LIB_JSONUTIL_H
#define BERTH_LIB_JSONUTIL_H

#include <jansson.h>

/* The string member key of o, "" when absent or not a string (o may be
 * NULL): Docker's documents leave out what is empty. */
static inline const char *json_str(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "";
}

/* A new JSON array of the n strings (copied). */
static inline json_t *json_strings(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

#endif
