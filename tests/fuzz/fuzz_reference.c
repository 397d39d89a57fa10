/* Image references (`docker pull NAME`, `docker run IMAGE`, tags): any
 * reference that parses formats to a string that parses again to the same
 * reference. */
#include <assert.h>

#include "lib/reference.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    image_ref r, again;
    berr e = {0};
    if (ref_parse(s, &r, &e) == 0) {
        char out[1024], out2[1024];
        ref_format_full(&r, out, sizeof out);
        berr e2 = {0};
        assert(ref_parse(out, &again, &e2) == 0);
        ref_format_full(&again, out2, sizeof out2);
        assert(strcmp(out, out2) == 0);
    }
    berr e3 = {0};
    (void)ref_parse_name(s, &r, &e3);
    (void)ref_tag_valid(s);
    free(s);
    return 0;
}
