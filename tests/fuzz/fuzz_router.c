/* The API's first contact with a request: the version prefix and the
 * route table.  Input: "METHOD PATH" (the first space splits them). */
#include "api/router.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    char *sp = strchr(s, ' ');
    const char *method = "GET", *raw = s;
    if (sp) {
        *sp = '\0';
        method = s;
        raw = sp + 1;
    }
    int minor;
    const char *rest;
    berr e = {0};
    if (api_version_split(raw, &minor, &rest, &e) == 0) {
        const api_route *route;
        char *params[API_MAX_PARAMS] = {0};
        (void)api_route_match(method, rest, &route, params);
        for (int i = 0; i < API_MAX_PARAMS; i++)
            free(params[i]);
    }
    free(s);
    return 0;
}
