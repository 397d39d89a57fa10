/* A build context as a client sends it, indexed (runtime/build/ctxtree.c
 * reads its tar headers in place): whatever the bytes, the index either
 * refuses them or holds nodes whose data lies inside the mapping, every
 * listed name can be looked up, and nothing crashes (ASan, UBSan). */
#include <assert.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/build/ctxtree.h"
#include "tests/fuzz/fuzz.h"

static char path[64];

/* Every node below rel, each looked up by its name and its data read. */
static void walk(const bc_tree *t, const char *rel, int depth)
{
    const bc_node *n = bc_tree_lookup(t, rel);
    assert(n);
    struct stat st;
    bc_node_stat(n, &st);
    size_t len;
    const unsigned char *p = bc_node_data(t, n, &len);
    unsigned sum = 0;
    for (size_t i = 0; i < len; i++)
        sum += p[i];   /* touches every byte: ASan sees a range past the map */
    (void)sum;
    (void)strlen(bc_node_link(n));
    if (!S_ISDIR(st.st_mode) || depth > 64)
        return;
    const char **names;
    size_t k = bc_node_list(n, &names);
    for (size_t i = 0; i < k; i++) {
        char child[8192];
        snprintf(child, sizeof child, "%s%s%s", rel, *rel ? "/" : "", names[i]);
        walk(t, child, depth + 1);
    }
    free(names);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/berth-fuzz-ctx-%d.tar", (int)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size)
        abort();
    close(fd);
    bc_tree *t = NULL;
    berr e = {0};
    if (bc_tree_open(path, &t, &e) == 0) {
        walk(t, "", 0);
        bc_tree_free(t);
    }
    return 0;
}
