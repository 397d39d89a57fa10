/* Spreading a group of tasks: the placement-preference tree and the walk
 * over a leaf's nodes, as swarmkit's nodeset.tree, scheduleNTasksOnSubtree
 * and scheduleNTasksOnNodes.
 *
 * Each Spread preference is one level of the tree, keyed by the node's
 * value for the descriptor (a node without the label sits under "").  The
 * tasks are shared out so that the branches end up as even as they can in
 * tasks of this service, then within a leaf each task goes to the best
 * node, moving on once the next node is better than the one just used. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "scheduler/placement_internal.h"

typedef struct dtree {
    int tasks;              /* tasks of the service already under this branch */
    char **keys;            /* children, sorted by key */
    struct dtree **next;
    size_t nnext;
    nodeinfo **nodes;       /* leaf: the nodes that pass the filters */
    size_t nnodes;
} dtree;

static void tree_free(dtree *t)
{
    for (size_t i = 0; i < t->nnext; i++) {
        tree_free(t->next[i]);
        free(t->next[i]);
        free(t->keys[i]);
    }
    free(t->keys);
    free(t->next);
    free(t->nodes);
}

static dtree *tree_child(dtree *t, const char *key)
{
    size_t i = 0;
    while (i < t->nnext && strcmp(t->keys[i], key) < 0)
        i++;
    if (i < t->nnext && strcmp(t->keys[i], key) == 0)
        return t->next[i];
    t->keys = xrealloc(t->keys, (t->nnext + 1) * sizeof *t->keys);
    t->next = xrealloc(t->next, (t->nnext + 1) * sizeof *t->next);
    memmove(t->keys + i + 1, t->keys + i, (t->nnext - i) * sizeof *t->keys);
    memmove(t->next + i + 1, t->next + i, (t->nnext - i) * sizeof *t->next);
    t->keys[i] = xstrdup(key);
    t->next[i] = xcalloc(1, sizeof(dtree));
    t->nnext++;
    return t->next[i];
}

/* The node's value for a spread descriptor; NULL when swarmkit ignores the
 * descriptor (only node.labels.* and engine.labels.* spread). */
static const char *spread_value(const char *desc, const json_t *node)
{
    static const char nl[] = "node.labels.", el[] = "engine.labels.";
    const char *label;
    json_t *labels;
    if (strlen(desc) > sizeof nl - 1 && strncasecmp(desc, nl, sizeof nl - 1) == 0) {
        labels = sched_get(node, "Spec.Labels");
        label = desc + sizeof nl - 1;
    } else if (strlen(desc) > sizeof el - 1 && strncasecmp(desc, el, sizeof el - 1) == 0) {
        labels = sched_get(node, "Description.Engine.Labels");
        label = desc + sizeof el - 1;
    } else {
        return NULL;
    }
    const char *v = json_string_value(json_object_get(labels, label));
    return v ? v : "";
}

static void tree_build(place_ctx *pc, dtree *root, const json_t *prefs)
{
    const char *sid = pc->p.service_id;
    for (size_t k = 0; k < pc->n; k++) {
        nodeinfo *ni = &pc->nodes[k];
        int count = sched_place_node_count(ni, sid);
        dtree *t = root;
        size_t i;
        json_t *pref;
        json_array_foreach(prefs, i, pref) {
            const char *desc = sched_str(pref, "Spread.SpreadDescriptor");
            const char *v = spread_value(desc, ni->node);
            if (!v)
                continue;
            t->tasks += count;
            t = tree_child(t, v);
        }
        t->tasks += count;
        if (sched_place_process(&pc->p, ni)) {
            t->nodes = xrealloc(t->nodes, (t->nnodes + 1) * sizeof *t->nodes);
            t->nodes[t->nnodes++] = ni;
        }
    }
}

static int less_cmp(const void *a, const void *b, void *arg)
{
    const place_ctx *pc = arg;
    const nodeinfo *x = *(nodeinfo *const *)a, *y = *(nodeinfo *const *)b;
    if (sched_place_node_less(pc, x, y))
        return -1;
    if (sched_place_node_less(pc, y, x))
        return 1;
    return 0;
}

static size_t on_nodes(place_ctx *pc, size_t n, task_group *g, dtree *leaf, sched_changes *out)
{
    /* the nodes may have taken tasks since the tree was built: filter and
     * order them again, as swarmkit's orderedNodes */
    nodeinfo **nodes = xcalloc(leaf->nnodes, sizeof *nodes);
    size_t count = 0;
    for (size_t i = 0; i < leaf->nnodes; i++)
        if (sched_place_process(&pc->p, leaf->nodes[i]))
            nodes[count++] = leaf->nodes[i];
    size_t scheduled = 0;
    if (count == 0)
        goto done;
    qsort_r(nodes, count, sizeof *nodes, less_cmp, pc);

    bool *failed = xcalloc(count, sizeof *failed);
    size_t iter = 0;
    for (size_t i = 0; i < g->n; i++) {
        if (g->done[i])
            continue;
        nodeinfo *ni = nodes[iter % count];
        sched_place_assign(pc, g->tasks[i], ni, "scheduler assigned task to node", out);
        g->done[i] = true;
        if (++scheduled == n)
            break;
        /* first pass: fill nodes until they hold as many tasks of the
         * service as the next; later passes: one task per node in turn */
        if (iter + 1 < count) {
            if (sched_place_node_less(pc, nodes[(iter + 1) % count], ni))
                iter++;
        } else {
            iter++;
        }
        size_t orig = iter;
        bool none = false;
        while (failed[iter % count] || !sched_place_process(&pc->p, nodes[iter % count])) {
            failed[iter % count] = true;
            if (++iter - orig == count) {
                none = true;
                break;
            }
        }
        if (none)
            break;
    }
    free(failed);
done:
    free(nodes);
    return scheduled;
}

static size_t on_subtree(place_ctx *pc, size_t n, task_group *g, dtree *t, sched_changes *out)
{
    if (t->nnext == 0)
        return on_nodes(pc, n, g, t, out);

    /* Even the branches out: each gets its share of (tasks already under
     * the usable branches + tasks to place); a branch that cannot take
     * its share drops out and the rest is shared again. */
    size_t scheduled = 0, noroom_n = 0;
    long usable = t->tasks;
    bool *noroom = xcalloc(t->nnext, sizeof *noroom);
    bool converging = true;
    while (scheduled != n && noroom_n != t->nnext && converging) {
        long live = (long)(t->nnext - noroom_n);
        long total = usable + (long)(n - scheduled);
        long desired = total / live, rem = total % live;
        converging = false;
        for (size_t i = 0; i < t->nnext; i++) {
            if (noroom[i])
                continue;
            long have = t->next[i]->tasks;
            if (have < desired || (have == desired && rem > 0)) {
                converging = true;
                long want = desired - have + (rem > 0 ? 1 : 0);
                size_t res = on_subtree(pc, (size_t)want, g, t->next[i], out);
                if ((long)res < want) {
                    noroom[i] = true;
                    noroom_n++;
                    usable -= have;
                } else if (rem > 0) {
                    rem--;
                }
                scheduled += res;
            }
        }
    }
    free(noroom);
    return scheduled;
}

void sched_place_spread(place_ctx *pc, task_group *g, const json_t *preferences, sched_changes *out)
{
    dtree root = {0};
    tree_build(pc, &root, preferences);
    on_subtree(pc, g->n, g, &root, out);
    tree_free(&root);
}
