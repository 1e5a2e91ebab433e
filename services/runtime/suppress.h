/* Complementary suppression of counts on a tree (docs/DOMAIN.md, "Anonymity"),
 * shared by survey results (a tree of org units) and screening statistics
 * (the organisation, its units or bands, and their cells).
 *
 * Each node is one cell: for surveys the organisation as a whole (the root)
 * or a unit, with n = respondents in the unit's subtree and own =
 * respondents who chose the unit itself rather than one of its children.
 * Shown figures are additive (counts, sums, sums of squares,
 * distributions), so every family gives an equation  parent = children +
 * own.  An observer knows every shown cell and can combine equations;
 * "own" is never shown, so it is one more unknown child (docs/DOMAIN.md:
 * respondents who chose the parent itself count as one more child).
 *
 * Rules, applied until none fires:
 *  1. Primary: a cell with n < k is suppressed.
 *  2. A suppressed unit whose children are all shown and whose own is empty
 *     equals the sum of its children: suppress its smallest shown child.
 *  3. Below a shown cell P, an observer learns P minus its shown members,
 *     i.e. the sum of its suppressed members and own; each suppressed member
 *     may also be replaced by its own suppressed members and own (by
 *     subtracting its shown children). Every sum reachable this way must be
 *     0 or at least k, and P must not have exactly one suppressed member with
 *     an empty own (that member would be derived outright). Otherwise the
 *     smallest shown child of P is suppressed; if P has none, the smallest
 *     shown cell under P's suppressed members.
 *
 * Rule 3 is stronger than "no single suppressed cell is derivable": it also
 * stops two small suppressed siblings (2 + 2 respondents with k = 5) from
 * being revealed together as one group of 4. The reachable sums are tracked
 * as bitsets over 0..k-1 plus "k or more", so the check is exact and costs
 * O(nodes x k^2 / 64) per pass. */
#ifndef WH_SUPPRESS_H
#define WH_SUPPRESS_H

#include <stdbool.h>
#include <stdint.h>

#define SUPPRESS_MAX_K     128 /* largest threshold the bitsets hold */
#define SUPPRESS_MAX_NODES 4096

typedef struct supp_node {
    int parent;  /* index of the parent; -1 for the root, which is node 0 */
    int64_t n;   /* respondents in the subtree */
    int64_t own; /* respondents who chose this node itself */
    bool hidden; /* in: already suppressed (by another table); out: suppressed */
} supp_node_t;

/* Runs the rules above with threshold k (1..SUPPRESS_MAX_K) on nodes, which
 * must list every parent before its children (parent < index). Returns 0,
 * or WH_EINVAL for a malformed tree, WH_ENOMEM. */
int supp_run(supp_node_t *nodes, int count, int k);

#endif
