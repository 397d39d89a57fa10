/* The `filters` query parameter of every list and prune endpoint. */
#include "lib/filters.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const allowed[] = {"label", "name", "until", "dangling", "id", NULL};
    char *s = fuzz_cstr(data, size);
    json_t *f = NULL;
    berr e = {0};
    if (filters_parse(s, allowed, &f, &e) == 0) {
        bool b;
        long long until;
        berr e2 = {0};
        (void)filters_bool(f, "dangling", &b, &e2);
        berr e3 = {0};
        (void)filters_until(f, &until, &e3);
        json_t *labels = json_pack("{ss}", "a", "b");
        (void)filters_match_labels(f, "label", labels);
        (void)filters_match_any_label(f, "label", labels);
        json_decref(labels);
        json_decref(f);
    }
    free(s);
    return 0;
}
