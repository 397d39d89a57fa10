/* A raft entry as the state machine reads it: on a multi-node cluster the
 * bytes come from the leader.  A command that decodes re-encodes to one
 * that decodes to the same ops. */
#include <assert.h>
#include <raft.h>

#include "raft/fsm.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cs_op *ops = NULL;
    size_t n = 0;
    berr e = {0};
    if (cs_command_decode(data, size, &ops, &n, &e) != 0)
        return 0;
    bool valid = true;
    for (size_t i = 0; i < n; i++) {
        berr ev = {0};
        if (cs_op_validate(&ops[i], &ev) != 0)
            valid = false;
    }
    if (valid) {
        struct raft_buffer buf;
        berr ee = {0};
        if (cs_command_encode(ops, n, &buf, &ee) == 0) {
            cs_op *again = NULL;
            size_t m = 0;
            berr ed = {0};
            assert(cs_command_decode(buf.base, buf.len, &again, &m, &ed) == 0);
            assert(m == n);
            cs_ops_free(again, m);
            raft_free(buf.base);
        }
    }
    cs_ops_free(ops, n);
    return 0;
}
