#include "suppress.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

#define SET_WORDS ((SUPPRESS_MAX_K + 63) / 64)

/* Sums an observer can reach: bit v for a sum v < k, big for any sum >= k. */
typedef struct sumset {
    uint64_t w[SET_WORDS];
    bool big;
} sumset_t;

typedef struct tree {
    supp_node_t *nodes;
    int count, k;
    int *first_child, *next_sibling;
    sumset_t *sets;
} tree_t;

static void set_one(sumset_t *s, int64_t v, int k)
{
    memset(s, 0, sizeof *s);
    if (v >= k)
        s->big = true;
    else
        s->w[v / 64] |= 1ull << (v % 64);
}

static bool set_has(const sumset_t *s, int v)
{
    return (s->w[v / 64] >> (v % 64)) & 1u;
}

static bool set_empty(const sumset_t *s)
{
    for (int i = 0; i < SET_WORDS; i++)
        if (s->w[i])
            return false;
    return !s->big;
}

/* *a = every x + y with x in *a and y in *b (saturating at k). */
static void set_add(sumset_t *a, const sumset_t *b, int k)
{
    sumset_t r;
    memset(&r, 0, sizeof r);
    r.big = (a->big && !set_empty(b)) || (b->big && !set_empty(a));
    for (int x = 0; x < k; x++) {
        if (!set_has(a, x))
            continue;
        for (int y = 0; y < k; y++) {
            if (!set_has(b, y))
                continue;
            if (x + y >= k)
                r.big = true;
            else
                r.w[(x + y) / 64] |= 1ull << ((x + y) % 64);
        }
    }
    *a = r;
}

static void set_union(sumset_t *a, const sumset_t *b)
{
    for (int i = 0; i < SET_WORDS; i++)
        a->w[i] |= b->w[i];
    a->big = a->big || b->big;
}

/* True when a sum between 1 and k - 1 can be reached. */
static bool set_small(const sumset_t *s, int k)
{
    for (int v = 1; v < k; v++)
        if (set_has(s, v))
            return true;
    return false;
}

static int smallest_shown_child(const tree_t *t, int v)
{
    int best = -1;
    for (int c = t->first_child[v]; c >= 0; c = t->next_sibling[c])
        if (!t->nodes[c].hidden && (best < 0 || t->nodes[c].n < t->nodes[best].n))
            best = c;
    return best;
}

/* The smallest shown cell reachable from v through suppressed cells only:
 * the one whose figures an observer subtracts when expanding them. */
static int smallest_shown_below(const tree_t *t, int v)
{
    int best = -1;
    for (int c = t->first_child[v]; c >= 0; c = t->next_sibling[c]) {
        int x = c;
        if (t->nodes[c].hidden)
            x = smallest_shown_below(t, c);
        if (x >= 0 && (best < 0 || t->nodes[x].n < t->nodes[best].n))
            best = x;
    }
    return best;
}

/* The sums an observer reaches for "v's suppressed members plus own". */
static void members_set(const tree_t *t, int v, sumset_t *out, int *n_hidden)
{
    set_one(out, t->nodes[v].own, t->k);
    *n_hidden = 0;
    for (int c = t->first_child[v]; c >= 0; c = t->next_sibling[c])
        if (t->nodes[c].hidden) {
            set_add(out, &t->sets[c], t->k);
            (*n_hidden)++;
        }
}

/* One pass; returns true when it suppressed a further cell. */
static bool pass(tree_t *t)
{
    supp_node_t *nd = t->nodes;
    /* Rule 2: a suppressed parent must not equal the sum of shown cells. */
    for (int v = 0; v < t->count; v++) {
        if (!nd[v].hidden || t->first_child[v] < 0 || nd[v].own != 0)
            continue;
        bool any_hidden = false;
        for (int c = t->first_child[v]; c >= 0 && !any_hidden; c = t->next_sibling[c])
            any_hidden = nd[c].hidden;
        if (!any_hidden) {
            nd[smallest_shown_child(t, v)].hidden = true;
            return true;
        }
    }
    /* What each suppressed cell can be replaced by, children first. */
    for (int v = t->count - 1; v >= 0; v--) {
        if (!nd[v].hidden)
            continue;
        set_one(&t->sets[v], nd[v].n, t->k);
        if (t->first_child[v] >= 0) {
            sumset_t e;
            int h;
            members_set(t, v, &e, &h);
            set_union(&t->sets[v], &e);
        }
    }
    /* Rule 3 below every shown cell. */
    for (int v = 0; v < t->count; v++) {
        if (nd[v].hidden || t->first_child[v] < 0)
            continue;
        sumset_t e;
        int h;
        members_set(t, v, &e, &h);
        if (!((h == 1 && nd[v].own == 0) || set_small(&e, t->k)))
            continue;
        int x = smallest_shown_child(t, v);
        if (x < 0)
            x = smallest_shown_below(t, v);
        if (x < 0)
            x = v; /* everything below is suppressed: only v itself is left */
        nd[x].hidden = true;
        return true;
    }
    return false;
}

int supp_run(supp_node_t *nodes, int count, int k)
{
    if (count < 1 || count > SUPPRESS_MAX_NODES || k < 1 || k > SUPPRESS_MAX_K ||
        nodes[0].parent != -1)
        return WH_EINVAL;
    for (int i = 1; i < count; i++)
        if (nodes[i].parent < 0 || nodes[i].parent >= i || nodes[i].n < 0 || nodes[i].own < 0)
            return WH_EINVAL;
    tree_t t = {.nodes = nodes, .count = count, .k = k};
    t.first_child = malloc(sizeof(int) * (size_t)count);
    t.next_sibling = malloc(sizeof(int) * (size_t)count);
    t.sets = malloc(sizeof(sumset_t) * (size_t)count);
    int *last = malloc(sizeof(int) * (size_t)count);
    int rc = WH_ENOMEM;
    if (!t.first_child || !t.next_sibling || !t.sets || !last)
        goto done;
    for (int i = 0; i < count; i++) {
        t.first_child[i] = t.next_sibling[i] = last[i] = -1;
        if (nodes[i].n < k)
            nodes[i].hidden = true;
    }
    for (int i = 1; i < count; i++) {
        int p = nodes[i].parent;
        if (last[p] < 0)
            t.first_child[p] = i;
        else
            t.next_sibling[last[p]] = i;
        last[p] = i;
    }
    /* Each pass suppresses one more cell or ends, so count passes suffice. */
    for (int i = 0; i <= count && pass(&t); i++)
        ;
    rc = 0;
done:
    free(last);
    free(t.sets);
    free(t.next_sibling);
    free(t.first_child);
    return rc;
}
