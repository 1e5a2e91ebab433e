#include "results.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codes.h"
#include "err.h"
#include "log.h"
#include "scoring.h"
#include "sickleave.h"
#include "suppress.h"
#include "survey.h"

static const char SQL_RESPONSES[] =
    "SELECT unit, answers FROM survey_responses WHERE survey_id = ?1";
static const char SQL_ISSUED_BY_UNIT[] =
    "SELECT unit, issued FROM survey_code_counts WHERE survey_id = ?1";

/* The computed results of one survey. Node 0 is the organisation as a
 * whole; node i > 0 is unit unit_order[i - 1], so parents precede
 * children. Cells are [node * n_dims + dimension]. */
typedef struct res {
    survey_t s;
    int n_nodes, n_dims;
    int *unit_node; /* unit index -> node */
    int *node_unit; /* node -> unit index, -1 for the root */
    int *parent;    /* node -> parent node, -1 for the root */
    int64_t *count, *own, *issued;
    score_cell_t *cells, *own_cells;
    bool *count_hidden, *cell_hidden;
} res_t;

static void res_close(res_t *r)
{
    free(r->unit_node);
    free(r->node_unit);
    free(r->parent);
    free(r->count);
    free(r->own);
    free(r->issued);
    free(r->cells);
    free(r->own_cells);
    free(r->count_hidden);
    free(r->cell_hidden);
    survey_close(&r->s);
}

static int res_alloc(res_t *r)
{
    size_t n = (size_t)r->n_nodes, nc = n * (size_t)r->n_dims;
    r->unit_node = calloc(n, sizeof *r->unit_node);
    r->node_unit = calloc(n, sizeof *r->node_unit);
    r->parent = calloc(n, sizeof *r->parent);
    r->count = calloc(n, sizeof *r->count);
    r->own = calloc(n, sizeof *r->own);
    r->issued = calloc(n, sizeof *r->issued);
    r->cells = calloc(nc, sizeof *r->cells);
    r->own_cells = calloc(nc, sizeof *r->own_cells);
    r->count_hidden = calloc(n, sizeof *r->count_hidden);
    r->cell_hidden = calloc(nc, sizeof *r->cell_hidden);
    return r->unit_node && r->node_unit && r->parent && r->count && r->own && r->issued &&
                   r->cells && r->own_cells && r->count_hidden && r->cell_hidden
               ? 0
               : WH_ENOMEM;
}

/* Scores every response into its own cells: one sequential read of the
 * survey's rows, one byte per answer. */
static int scan_responses(wh_store_t *store, res_t *r)
{
    const survey_def_t *d = &r->s.def;
    sqlite3_stmt *st = wh_store_stmt(store, SQL_RESPONSES);
    if (!st)
        return WH_ESTORE;
    wh_stmt_bind_text(st, 1, r->s.id);
    /* Item scores by question and answer, computed once. */
    double *item = malloc(sizeof(double) * (size_t)d->n_questions * (DEF_SCALE_MAX + 1));
    if (!item)
        return WH_ENOMEM;
    for (int q = 0; q < d->n_questions; q++)
        for (int a = d->questions[q].min; a <= d->questions[q].max; a++)
            item[q * (DEF_SCALE_MAX + 1) + a] =
                score_item(a, d->questions[q].min, d->questions[q].max, d->questions[q].reverse);
    double sum[DEF_MAX_DIMENSIONS];
    int cnt[DEF_MAX_DIMENSIONS];
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int unit = sqlite3_column_int(st, 0);
        const unsigned char *ans = sqlite3_column_blob(st, 1);
        if (sqlite3_column_bytes(st, 1) != d->n_questions || unit < -1 || unit >= d->n_units)
            continue; /* not written by this definition; cannot happen */
        int node = unit < 0 ? 0 : r->unit_node[unit];
        r->own[node]++;
        memset(cnt, 0, sizeof(int) * (size_t)d->n_dims);
        memset(sum, 0, sizeof(double) * (size_t)d->n_dims);
        for (int q = 0; q < d->n_questions; q++) {
            int a = ans[q];
            if (a == DEF_SKIPPED || a < d->questions[q].min || a > d->questions[q].max)
                continue;
            int dim = d->questions[q].dim;
            sum[dim] += item[q * (DEF_SCALE_MAX + 1) + a];
            cnt[dim]++;
        }
        score_cell_t *oc = &r->own_cells[(size_t)node * (size_t)r->n_dims];
        for (int dim = 0; dim < d->n_dims; dim++)
            if (cnt[dim])
                score_cell_add(&oc[dim], sum[dim] / cnt[dim]);
    }
    free(item);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : WH_ESTORE;
}

static int read_issued(wh_store_t *store, res_t *r)
{
    sqlite3_stmt *st = wh_store_stmt(store, SQL_ISSUED_BY_UNIT);
    if (!st)
        return WH_ESTORE;
    wh_stmt_bind_text(st, 1, r->s.id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        wh_str_t key = wh_stmt_col_str(st, 0);
        int u = key.n ? def_find_unit(&r->s.def, key) : -1;
        int node = u < 0 ? 0 : r->unit_node[u];
        r->issued[node] += sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    return 0;
}

static int suppress_all(res_t *r)
{
    int k = r->s.threshold, rc;
    supp_node_t *nd = calloc((size_t)r->n_nodes, sizeof *nd);
    if (!nd)
        return WH_ENOMEM;
    for (int v = 0; v < r->n_nodes; v++)
        nd[v] = (supp_node_t){.parent = r->parent[v], .n = r->count[v], .own = r->own[v]};
    if ((rc = supp_run(nd, r->n_nodes, k)) != 0)
        goto done;
    for (int v = 0; v < r->n_nodes; v++)
        r->count_hidden[v] = nd[v].hidden;
    for (int dim = 0; dim < r->n_dims; dim++) {
        for (int v = 0; v < r->n_nodes; v++) {
            size_t i = (size_t)v * (size_t)r->n_dims + (size_t)dim;
            nd[v] = (supp_node_t){.parent = r->parent[v],
                                  .n = r->cells[i].n,
                                  .own = r->own_cells[i].n,
                                  .hidden = r->count_hidden[v]};
        }
        if ((rc = supp_run(nd, r->n_nodes, k)) != 0)
            goto done;
        for (int v = 0; v < r->n_nodes; v++)
            r->cell_hidden[(size_t)v * (size_t)r->n_dims + (size_t)dim] = nd[v].hidden;
    }
done:
    free(nd);
    return rc;
}

/* Loads survey id and computes its results. */
static int res_compute(wh_store_t *store, wh_str_t id, res_t *r)
{
    memset(r, 0, sizeof *r);
    int rc = survey_load(store, id, &r->s);
    if (rc != 0)
        return rc;
    const survey_def_t *d = &r->s.def;
    r->n_nodes = d->n_units + 1;
    r->n_dims = d->n_dims;
    if ((rc = res_alloc(r)) != 0)
        return rc;
    r->node_unit[0] = -1;
    r->parent[0] = -1;
    for (int i = 0; i < d->n_units; i++) {
        int u = d->unit_order[i];
        r->unit_node[u] = i + 1;
        r->node_unit[i + 1] = u;
    }
    for (int v = 1; v < r->n_nodes; v++) {
        int p = d->units[r->node_unit[v]].parent;
        r->parent[v] = p < 0 ? 0 : r->unit_node[p];
    }
    if ((rc = scan_responses(store, r)) != 0 || (rc = read_issued(store, r)) != 0)
        return rc;
    /* Subtree sums, children before parents. */
    size_t nd = (size_t)r->n_dims;
    memcpy(r->cells, r->own_cells, sizeof *r->cells * nd * (size_t)r->n_nodes);
    memcpy(r->count, r->own, sizeof *r->count * (size_t)r->n_nodes);
    for (int v = r->n_nodes - 1; v > 0; v--) {
        int p = r->parent[v];
        r->count[p] += r->count[v];
        r->issued[p] += r->issued[v];
        for (size_t dim = 0; dim < nd; dim++)
            score_cell_merge(&r->cells[(size_t)p * nd + dim], &r->cells[(size_t)v * nd + dim]);
    }
    return suppress_all(r);
}

static double round_to(double x, double scale)
{
    return floor(x * scale + 0.5) / scale;
}

static bool cell_shown(const res_t *r, int node, int dim)
{
    return !r->cell_hidden[(size_t)node * (size_t)r->n_dims + (size_t)dim];
}

static const score_cell_t *cell(const res_t *r, int node, int dim)
{
    return &r->cells[(size_t)node * (size_t)r->n_dims + (size_t)dim];
}

/* The response rate of a node, or a negative value when it has none. */
static double rate(const res_t *r, int node)
{
    if (r->count_hidden[node] || r->issued[node] <= 0)
        return -1;
    double x = (double)r->count[node] / (double)r->issued[node];
    return round_to(x > 1.0 ? 1.0 : x, 1000.0);
}

/* An earlier wave matched to this one: node and dimension maps. */
typedef struct cmp {
    res_t prev;
    int *node_map; /* this node -> previous node, or -1 */
    int dim_map[DEF_MAX_DIMENSIONS];
    bool on;
} cmp_t;

static void cmp_close(cmp_t *c)
{
    if (!c->on)
        return;
    free(c->node_map);
    res_close(&c->prev);
}

/* The change of a cell's mean against the earlier wave, when both show it. */
static bool change_of(const res_t *r, const cmp_t *cmp, int node, int dim, double *out)
{
    if (!cmp->on || !cell_shown(r, node, dim))
        return false;
    int pn = cmp->node_map[node], pd = cmp->dim_map[dim];
    if (pn < 0 || pd < 0 || !cell_shown(&cmp->prev, pn, pd))
        return false;
    *out = round_to(score_cell_mean(cell(r, node, dim)) - score_cell_mean(cell(&cmp->prev, pn, pd)),
                    10.0);
    return true;
}

/* Four-eyes: whoever received codes in clear could subtract the answers
 * they gave with some of them (docs/DOMAIN.md, "Statistics that cannot be
 * differenced"). */
static void reply_issuer(wh_ctx_t *c)
{
    wh_reply_problem(c->rep, 403, "codes-issuer-cannot-read-results",
                     "this token received participation codes of the survey in clear or in "
                     "print; results are for another person");
}

/* Reads ?compare_to= into cmp; false after a 403/422/500 reply. */
static bool load_compare(wh_ctx_t *c, const res_t *r, cmp_t *cmp)
{
    memset(cmp, 0, sizeof *cmp);
    wh_str_t id = wh_request_param(c->req, "compare_to");
    if (!id.p)
        return true;
    int rc = res_compute(c->store, id, &cmp->prev);
    if (rc == WH_ENOTFOUND || (rc == 0 && strcmp(cmp->prev.s.org_id, r->s.org_id) != 0)) {
        wh_reply_param(c->rep, "compare_to", "is not a survey of the same organisation");
    } else if (rc != 0) {
        wh_reply_problem(c->rep, 500, "internal", "the earlier survey could not be read");
    } else if (codes_issuer(c->store, cmp->prev.s.id, c->req->principal.token_id)) {
        reply_issuer(c); /* the change against that wave would give its figures away */
    } else if (cmp->prev.s.state != SURVEY_CLOSED) {
        wh_reply_param(c->rep, "compare_to", "has no results: it is not closed");
    } else if (strcmp(cmp->prev.s.opened_at, r->s.opened_at) >= 0) {
        wh_reply_param(c->rep, "compare_to", "must be a survey that opened earlier");
    } else {
        cmp->node_map = malloc(sizeof(int) * (size_t)r->n_nodes);
        if (cmp->node_map) {
            cmp->on = true;
            cmp->node_map[0] = 0;
            for (int v = 1; v < r->n_nodes; v++) {
                int pu = def_find_unit(&cmp->prev.s.def, r->s.def.units[r->node_unit[v]].key);
                cmp->node_map[v] = pu < 0 ? -1 : cmp->prev.unit_node[pu];
            }
            for (int dim = 0; dim < r->n_dims; dim++)
                cmp->dim_map[dim] = def_find_dim(&cmp->prev.s.def, r->s.def.dims[dim].key);
            return true;
        }
        wh_reply_problem(c->rep, 500, "internal", "out of memory");
    }
    res_close(&cmp->prev); /* also after a failed res_compute: it frees what it made */
    memset(cmp, 0, sizeof *cmp);
    return false;
}

/* The survey of the path, its results and the comparison; false after a
 * reply. */
static bool prepare(wh_ctx_t *c, res_t *r, cmp_t *cmp)
{
    survey_t s;
    if (!survey_load_scoped(c, &s))
        return false;
    enum survey_state state = s.state;
    bool issuer = codes_issuer(c->store, s.id, c->req->principal.token_id);
    survey_close(&s);
    if (issuer) {
        reply_issuer(c);
        return false;
    }
    wh_str_t by = wh_request_param(c->req, "by");
    if (by.p && !wh_str_eq(by, "unit")) {
        wh_reply_param(c->rep, "by", "must be unit");
        return false;
    }
    if (state != SURVEY_CLOSED) {
        wh_reply_problem(c->rep, 409, "results-not-available",
                         "results are available once the survey has closed");
        return false;
    }
    int rc = res_compute(c->store, wh_request_param(c->req, "id"), r);
    if (rc != 0) {
        wh_log_error("results: %s", wh_strerror(rc));
        wh_reply_problem(c->rep, 500, "internal", "the results could not be computed");
        res_close(r);
        return false;
    }
    if (!load_compare(c, r, cmp)) {
        res_close(r);
        return false;
    }
    return true;
}

/* ---- JSON ----------------------------------------------------------------- */

static void pack_double_or_nil(msgpack_packer *pk, const char *key, bool shown, double x)
{
    wh_msg_pack_str(pk, key);
    if (shown)
        msgpack_pack_double(pk, x);
    else
        msgpack_pack_nil(pk);
}

static void pack_dimensions(msgpack_packer *pk, const res_t *r, const cmp_t *cmp, int node)
{
    const survey_def_t *d = &r->s.def;
    wh_msg_pack_str(pk, "dimensions");
    msgpack_pack_array(pk, (size_t)r->n_dims);
    for (int dim = 0; dim < r->n_dims; dim++) {
        bool shown = cell_shown(r, node, dim);
        const score_cell_t *ce = cell(r, node, dim);
        double mean = score_cell_mean(ce);
        msgpack_pack_map(pk, 7 + cmp->on);
        wh_msg_pack_str(pk, "dimension");
        wh_msg_pack_wstr(pk, d->dims[dim].key);
        wh_msg_pack_str(pk, "n");
        if (shown)
            msgpack_pack_int64(pk, ce->n);
        else
            msgpack_pack_nil(pk);
        pack_double_or_nil(pk, "mean", shown, round_to(mean, 10.0));
        pack_double_or_nil(pk, "sd", shown, round_to(score_cell_sd(ce), 10.0));
        wh_msg_pack_str(pk, "distribution");
        if (shown) {
            msgpack_pack_array(pk, SCORE_BINS);
            for (int b = 0; b < SCORE_BINS; b++)
                msgpack_pack_int64(pk, ce->bins[b]);
        } else {
            msgpack_pack_nil(pk);
        }
        wh_msg_kv_str(pk, "band",
                      shown ? score_band_name(score_band(mean, d->dims[dim].higher_is_better))
                            : NULL);
        wh_msg_kv_bool(pk, "suppressed", !shown);
        if (cmp->on) {
            double ch = 0;
            bool has = change_of(r, cmp, node, dim, &ch);
            pack_double_or_nil(pk, "change", has, ch);
        }
    }
}

static void pack_counts(msgpack_packer *pk, const res_t *r, int node)
{
    bool shown = !r->count_hidden[node];
    wh_msg_pack_str(pk, "n");
    if (shown)
        msgpack_pack_int64(pk, r->count[node]);
    else
        msgpack_pack_nil(pk);
    wh_msg_kv_bool(pk, "suppressed", !shown);
    double rr = rate(r, node);
    pack_double_or_nil(pk, "response_rate", rr >= 0, rr);
}

typedef struct highlight {
    int node, dim;
    double favourable;
} highlight_t;

static int by_favourable(const void *a, const void *b)
{
    const highlight_t *x = a, *y = b;
    if (x->favourable != y->favourable)
        return x->favourable < y->favourable ? -1 : 1;
    return x->node != y->node ? x->node - y->node : x->dim - y->dim;
}

/* Hot spots (worst first) and resources (best first) among shown cells. */
static void pack_highlights(msgpack_packer *pk, const res_t *r)
{
    const survey_def_t *d = &r->s.def;
    size_t total = (size_t)r->n_nodes * (size_t)r->n_dims, n = 0;
    highlight_t *h = malloc(sizeof *h * (total ? total : 1));
    for (int v = 0; h && v < r->n_nodes; v++)
        for (int dim = 0; dim < r->n_dims; dim++)
            if (cell_shown(r, v, dim))
                h[n++] = (highlight_t){v, dim,
                                       score_favourable(score_cell_mean(cell(r, v, dim)),
                                                        d->dims[dim].higher_is_better)};
    if (h)
        qsort(h, n, sizeof *h, by_favourable);
    for (int pass = 0; pass < 2; pass++) {
        /* pass 0: hot spots from the worst; pass 1: resources from the best */
        int picked[RESULTS_MAX_HIGHLIGHTS], np = 0;
        for (size_t i = 0; i < n && np < RESULTS_MAX_HIGHLIGHTS; i++) {
            size_t j = pass == 0 ? i : n - 1 - i;
            enum score_band b = score_band(score_cell_mean(cell(r, h[j].node, h[j].dim)),
                                           d->dims[h[j].dim].higher_is_better);
            if (pass == 0 ? b != SCORE_GREEN : b == SCORE_GREEN)
                picked[np++] = (int)j;
        }
        wh_msg_pack_str(pk, pass == 0 ? "hotspots" : "resources");
        msgpack_pack_array(pk, (size_t)np);
        for (int i = 0; i < np; i++) {
            const highlight_t *x = &h[picked[i]];
            double mean = score_cell_mean(cell(r, x->node, x->dim));
            msgpack_pack_map(pk, 4);
            wh_msg_pack_str(pk, "unit");
            if (x->node == 0)
                msgpack_pack_nil(pk);
            else
                wh_msg_pack_wstr(pk, d->units[r->node_unit[x->node]].key);
            wh_msg_pack_str(pk, "dimension");
            wh_msg_pack_wstr(pk, d->dims[x->dim].key);
            wh_msg_pack_str(pk, "mean");
            msgpack_pack_double(pk, round_to(mean, 10.0));
            wh_msg_kv_str(pk, "band",
                          score_band_name(score_band(mean, d->dims[x->dim].higher_is_better)));
        }
    }
    free(h);
}

/* ?sick_leave_period=: the organisation's sick-leave figures for that
 * period (sickleave.h), as GET /v1/sick-leave shows them, so that each unit's
 * rate stands beside its hot spots; *t stays NULL when the parameter is
 * absent or there are no figures. False after a reply. */
static bool load_sick_leave(wh_ctx_t *c, const res_t *r, bool *on, sl_table_t **t)
{
    wh_str_t period = wh_request_param(c->req, "sick_leave_period");
    *on = period.p != NULL;
    *t = NULL;
    if (!*on)
        return true;
    int rc = sl_table_load(c->store, wh_cstr(r->s.org_id), period, t);
    if (rc == WH_EINVAL) {
        wh_reply_param(c->rep, "sick_leave_period", "must be YYYY, YYYY-MM or YYYY-Qn");
        wh_reply_invalid(c->rep);
        return false;
    }
    if (rc != 0 && rc != WH_ENOTFOUND) {
        wh_log_error("results: sick-leave figures: %s", wh_strerror(rc));
        wh_reply_problem(c->rep, 500, "internal", "the sick-leave figures could not be read");
        return false;
    }
    return true;
}

static void pack_sick_leave(msgpack_packer *pk, const sl_table_t *t, wh_str_t unit)
{
    wh_msg_pack_str(pk, "sick_leave");
    if (t)
        sl_table_pack_unit(pk, t, unit);
    else
        msgpack_pack_nil(pk);
}

void results_get(wh_ctx_t *c)
{
    res_t r;
    cmp_t cmp;
    if (!prepare(c, &r, &cmp))
        return;
    bool sl_on;
    sl_table_t *sl;
    if (!load_sick_leave(c, &r, &sl_on, &sl)) {
        cmp_close(&cmp);
        res_close(&r);
        return;
    }
    const survey_def_t *d = &r.s.def;
    msgpack_packer *pk = wh_reply_ok(c->rep, 200);
    msgpack_pack_map(pk, 9 + sl_on);
    if (sl_on) {
        wh_str_t period = wh_request_param(c->req, "sick_leave_period");
        wh_msg_kv_strn(pk, "sick_leave_period", period.p, period.n);
    }
    wh_msg_kv_str(pk, "survey_id", r.s.id);
    wh_msg_kv_str(pk, "title", r.s.title);
    wh_msg_kv_int(pk, "anonymity_threshold", r.s.threshold);
    wh_msg_kv_str(pk, "compare_to", cmp.on ? cmp.prev.s.id : NULL);
    wh_msg_pack_str(pk, "bands");
    msgpack_pack_map(pk, 2);
    wh_msg_pack_str(pk, "green_min");
    msgpack_pack_double(pk, SCORE_BAND_GREEN_MIN);
    wh_msg_pack_str(pk, "red_below");
    msgpack_pack_double(pk, SCORE_BAND_RED_BELOW);
    wh_msg_pack_str(pk, "total");
    msgpack_pack_map(pk, 4 + sl_on);
    pack_counts(pk, &r, 0);
    pack_dimensions(pk, &r, &cmp, 0);
    if (sl_on)
        pack_sick_leave(pk, sl, (wh_str_t){0});
    wh_msg_pack_str(pk, "units");
    msgpack_pack_array(pk, (size_t)d->n_units);
    for (int u = 0; u < d->n_units; u++) {
        int v = r.unit_node[u];
        msgpack_pack_map(pk, 8 + sl_on);
        def_kv_unit(pk, d, u, "unit");
        wh_msg_kv_int(pk, "level", d->units[u].depth);
        pack_counts(pk, &r, v);
        pack_dimensions(pk, &r, &cmp, v);
        if (sl_on)
            pack_sick_leave(pk, sl, d->units[u].key);
    }
    pack_highlights(pk, &r);
    sl_table_destroy(&sl);
    cmp_close(&cmp);
    res_close(&r);
}

/* ---- CSV ------------------------------------------------------------------ */

/* One text field: quoted when it holds a separator, quote or line break
 * (RFC 4180), and with a leading apostrophe when a spreadsheet would take
 * it for a formula (=, +, -, @). */
static void csv_text(wh_buf_t *b, const char *s, size_t n)
{
    bool quote = memchr(s, ',', n) || memchr(s, '"', n) || memchr(s, '\n', n) || memchr(s, '\r', n);
    bool formula = n > 0 && strchr("=+-@\t", s[0]);
    if (quote)
        wh_buf_putc(b, '"');
    if (formula)
        wh_buf_putc(b, '\'');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            wh_buf_putc(b, '"');
        wh_buf_putc(b, s[i]);
    }
    if (quote)
        wh_buf_putc(b, '"');
}

static void csv_wstr(wh_buf_t *b, wh_str_t s)
{
    if (s.p)
        csv_text(b, s.p, s.n);
}

static void csv_node_head(wh_buf_t *b, const res_t *r, int node)
{
    const survey_def_t *d = &r->s.def;
    if (node == 0) {
        wh_buf_puts(b, ",,,0,");
        return;
    }
    const def_unit_t *u = &d->units[r->node_unit[node]];
    csv_wstr(b, u->key);
    wh_buf_putc(b, ',');
    csv_wstr(b, u->name);
    wh_buf_putc(b, ',');
    if (u->parent >= 0)
        csv_wstr(b, d->units[u->parent].key);
    wh_buf_printf(b, ",%d,", u->depth);
}

#define CSV_HEADER                                                                                 \
    "unit,unit_name,parent,level,dimension,n,mean,sd,band,suppressed,response_rate,"               \
    "dist_0_20,dist_20_40,dist_40_60,dist_60_80,dist_80_100,change\r\n"

/* One summary row per unit (dimension empty: respondents and response
 * rate), then one row per dimension; the organisation first, with an empty
 * unit. */
static void csv_node(wh_buf_t *b, const res_t *r, const cmp_t *cmp, int node)
{
    const survey_def_t *d = &r->s.def;
    bool shown = !r->count_hidden[node];
    double rr = rate(r, node);
    csv_node_head(b, r, node);
    if (shown)
        wh_buf_printf(b, ",%lld,,,,false,", (long long)r->count[node]);
    else
        wh_buf_puts(b, ",,,,,true,");
    if (rr >= 0)
        wh_buf_printf(b, "%.3f", rr);
    wh_buf_puts(b, ",,,,,,\r\n");
    for (int dim = 0; dim < r->n_dims; dim++) {
        csv_node_head(b, r, node);
        csv_wstr(b, d->dims[dim].key);
        if (!cell_shown(r, node, dim)) {
            wh_buf_puts(b, ",,,,,true,,,,,,,\r\n");
            continue;
        }
        const score_cell_t *ce = cell(r, node, dim);
        double mean = score_cell_mean(ce);
        wh_buf_printf(b, ",%lld,%.1f,%.1f,%s,false,", (long long)ce->n, round_to(mean, 10.0),
                      round_to(score_cell_sd(ce), 10.0),
                      score_band_name(score_band(mean, d->dims[dim].higher_is_better)));
        for (int bin = 0; bin < SCORE_BINS; bin++)
            wh_buf_printf(b, ",%lld", (long long)ce->bins[bin]);
        double ch;
        if (change_of(r, cmp, node, dim, &ch))
            wh_buf_printf(b, ",%.1f", ch);
        else
            wh_buf_putc(b, ',');
        wh_buf_puts(b, "\r\n");
    }
}

void results_csv(wh_ctx_t *c)
{
    res_t r;
    cmp_t cmp;
    if (!prepare(c, &r, &cmp))
        return;
    wh_buf_t b;
    wh_buf_init(&b);
    wh_buf_puts(&b, CSV_HEADER);
    csv_node(&b, &r, &cmp, 0);
    for (int u = 0; u < r.s.def.n_units; u++)
        csv_node(&b, &r, &cmp, r.unit_node[u]);
    if (wh_buf_failed(&b))
        wh_reply_problem(c->rep, 500, "internal", "out of memory");
    else
        wh_reply_raw(c->rep, 200, "text/csv; charset=utf-8", b.data, b.len);
    wh_buf_close(&b);
    cmp_close(&cmp);
    res_close(&r);
}
