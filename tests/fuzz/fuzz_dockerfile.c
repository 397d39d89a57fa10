/* The Dockerfile parser (runtime/build/parser.c) and the builder's config
 * instructions and word expansion (runtime/build/instr.c): a build context
 * is the client's. */
#include <jansson.h>

#include "runtime/build/instr.h"
#include "runtime/build/parser.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bf_file f;
    berr e = {0};
    if (bf_parse((const char *)data, size, &f, &e) != 0)
        return 0;
    json_t *config = json_object();
    json_t *env = json_array();
    json_array_append_new(env, json_string("HOME=/root"));
    static const char *const flags[] = {"from", "chown", "chmod", "link", NULL};
    for (size_t i = 0; i < f.n; i++) {
        const bf_instr *in = &f.v[i];
        berr e2 = {0};
        (void)bf_check_flags(in, flags, &e2);
        for (size_t a = 0; a < in->n_args && a < 8; a++) {
            char *out = NULL;
            berr e3 = {0};
            if (bi_expand(in->args[a], env, &out, &e3) == 0)
                free(out);
        }
        bool cmd_set = false;
        berr e4 = {0};
        (void)bi_apply(config, in, env, &cmd_set, &e4);
        /* ONBUILD triggers are parsed again when the image is used */
        if (!strcmp(in->cmd, "onbuild") && in->rest) {
            bf_instr trig;
            berr e5 = {0};
            if (bf_parse_line(in->rest, f.escape, &trig, &e5) == 0)
                bf_instr_clear(&trig);
        }
    }
    json_decref(env);
    json_decref(config);
    bf_file_clear(&f);
    return 0;
}
