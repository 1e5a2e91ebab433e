#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "instruments.h"
#include "privacy.h"
#include "settings.h"
#include "suppress.h"

/* Latest result per person in the period, counted by unit and band. */
static const char SQL_STATS[] = "SELECT unit, band, count(*) FROM ("
                                " SELECT unit, band, row_number() OVER"
                                "  (PARTITION BY subject ORDER BY taken_ms DESC, id DESC) AS rn"
                                " FROM screenings WHERE org_id = ?1 AND instrument = ?2"
                                "  AND taken_ms >= ?3 AND taken_ms < ?4"
                                "  AND created_ms < scr_stats_cutoff(taken_ms))"
                                " WHERE rn = 1 GROUP BY unit, band ORDER BY unit";
static const char SQL_ANY_RESULT[] = "SELECT 1 FROM screenings"
                                     " WHERE org_id = ?1 AND taken_ms >= ?2 AND taken_ms < ?3"
                                     "  AND created_ms < scr_stats_cutoff(taken_ms) LIMIT 1";
static const char SQL_PERIOD_GET[] =
    "SELECT threshold, frozen_ms FROM stats_periods WHERE org_id = ?1 AND period = ?2";
static const char SQL_PERIOD_PUT[] =
    "INSERT INTO stats_periods(org_id, period, threshold, frozen_ms) VALUES (?1, ?2, ?3, ?4)";
static const char SQL_FIGURE_PUT[] =
    "INSERT INTO stats_figures(org_id, period, instrument, row_no, col_no, unit, n)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char SQL_FIGURES[] = "SELECT row_no, col_no, unit, n FROM stats_figures"
                                  " WHERE org_id = ?1 AND period = ?2 AND instrument = ?3"
                                  " ORDER BY row_no, col_no";

/* ---- suppression ---------------------------------------------------------- */

void scr_table_totals(scr_table_t *t)
{
    t->total.n = 0;
    for (int c = 0; c < t->n_cols; c++)
        t->cols[c].n = 0;
    for (int r = 0; r < t->n_rows; r++) {
        t->rows[r].n = 0;
        for (int c = 0; c < t->n_cols; c++) {
            int64_t n = t->cells[r * t->n_cols + c].n;
            t->rows[r].n += n;
            t->cols[c].n += n;
            t->total.n += n;
        }
    }
}

static int n_hidden(const scr_table_t *t)
{
    int h = t->total.suppressed;
    for (int r = 0; r < t->n_rows; r++)
        h += t->rows[r].suppressed;
    for (int c = 0; c < t->n_cols; c++)
        h += t->cols[c].suppressed;
    for (int i = 0; i < t->n_rows * t->n_cols; i++)
        h += t->cells[i].suppressed;
    return h;
}

/* The survey rule on one of the table's two trees: the organisation, then
 * its units (by_rows) or its bands, then their cells. */
static int run_tree(scr_table_t *t, int k, bool by_rows, supp_node_t *nd)
{
    int R = t->n_rows, C = t->n_cols;
    int outer = by_rows ? R : C, inner = by_rows ? C : R;
    nd[0] = (supp_node_t){.parent = -1, .n = t->total.n, .hidden = t->total.suppressed};
    for (int i = 0; i < outer; i++) {
        const scr_cell_t *m = by_rows ? &t->rows[i] : &t->cols[i];
        nd[1 + i] = (supp_node_t){.parent = 0, .n = m->n, .hidden = m->suppressed};
        for (int j = 0; j < inner; j++) {
            const scr_cell_t *x = by_rows ? &t->cells[i * C + j] : &t->cells[j * C + i];
            nd[1 + outer + i * inner + j] =
                (supp_node_t){.parent = 1 + i, .n = x->n, .own = x->n, .hidden = x->suppressed};
        }
    }
    int rc = supp_run(nd, 1 + outer + outer * inner, k);
    if (rc != 0)
        return rc;
    t->total.suppressed = nd[0].hidden;
    for (int i = 0; i < outer; i++) {
        (by_rows ? &t->rows[i] : &t->cols[i])->suppressed = nd[1 + i].hidden;
        for (int j = 0; j < inner; j++)
            (by_rows ? &t->cells[i * C + j] : &t->cells[j * C + i])->suppressed =
                nd[1 + outer + i * inner + j].hidden;
    }
    return 0;
}

/* The relations of a table that neither tree sees. An observer holds one
 * equation per shown total: the sum of a unit's hidden cells, of a band's
 * hidden cells, of all hidden cells. Any combination of them with
 * coefficients a (per shown unit), b (per shown band) and t (the grand
 * total, 0 when it is hidden) gives every hidden cell (r, c) the weight
 * a_r + b_c + t; where all weights are 0 or 1, the observer has isolated
 * the group of cells weighted 1. With beta_c = b_c + t (= t for a hidden
 * band), such a group is: in a shown unit whose hidden cells have two
 * values of beta, m and m + 1, those at m + 1 (a_r = -m); in a shown unit
 * with one value, all or none of its hidden cells (that group is the unit
 * tree's, checked by the survey rule); in a hidden unit (a_r = 0) the cells
 * with beta_c = 1, and no other value may occur.
 *
 * Every integer beta is a sum of layers [beta >= j] (j >= 1) and
 * -[beta < j] (j <= 0), each of which keeps the constraints above and
 * isolates its own part of the group, so that a group of 1 to k - 1 people,
 * or a single cell, shows in one layer: it suffices to try beta in {0, 1}
 * per band, either as it is (layers j >= 1: hidden units take the cells at
 * 1) or shifted down by one (layers j <= 0: hidden units must have every
 * hidden cell at 1 and take none). Hidden bands share one value, which is
 * 0 (shifted: 1) when the grand total is hidden.
 *
 * Returns true when a group is isolated, with *hide the figure to hide
 * next: the smallest shown cell that would join the group (in a band at 1,
 * of a unit with hidden cells at 0 or of a hidden unit taking cells), else
 * the smallest shown total of such a band, else NULL (any figure).
 *
 * Several rules below index bits of an unsigned mask by band: C is at most
 * SCR_MAX_BANDS. */
static bool cross_leak(const scr_table_t *t, int64_t k, scr_cell_t **hide)
{
    int R = t->n_rows, C = t->n_cols;
    *hide = NULL;
    for (int shifted = 0; shifted <= 1; shifted++) {
        for (unsigned mask = 0; mask < (1u << C); mask++) {
            bool ok = true;
            int hidden_band_bit = -1;
            for (int c = 0; c < C && ok; c++) {
                if (!t->cols[c].suppressed)
                    continue;
                int bit = (int)((mask >> c) & 1u);
                if (hidden_band_bit < 0)
                    hidden_band_bit = bit;
                ok = bit == hidden_band_bit;
            }
            if (ok && hidden_band_bit >= 0 && t->total.suppressed)
                ok = hidden_band_bit == shifted;
            int64_t sum = 0;
            int cells = 0;
            for (int r = 0; r < R && ok; r++) {
                bool at0 = false, at1 = false;
                for (int c = 0; c < C; c++) {
                    if (!t->cells[r * C + c].suppressed)
                        continue;
                    if ((mask >> c) & 1u)
                        at1 = true;
                    else
                        at0 = true;
                }
                if (t->rows[r].suppressed && shifted && at0)
                    ok = false;
                bool takes = t->rows[r].suppressed ? !shifted : at0 && at1;
                for (int c = 0; ok && takes && c < C; c++)
                    if (t->cells[r * C + c].suppressed && ((mask >> c) & 1u)) {
                        sum += t->cells[r * C + c].n;
                        cells++;
                    }
            }
            if (!ok || cells == 0 || (cells > 1 && (sum == 0 || sum >= k)))
                continue;
            scr_cell_t *best = NULL;
            for (int r = 0; r < R; r++) {
                bool at0 = false;
                for (int c = 0; c < C; c++)
                    at0 |= t->cells[r * C + c].suppressed && !((mask >> c) & 1u);
                if (t->rows[r].suppressed ? shifted : !at0)
                    continue;
                for (int c = 0; c < C; c++) {
                    scr_cell_t *x = &t->cells[r * C + c];
                    if (!x->suppressed && ((mask >> c) & 1u) && (!best || x->n < best->n))
                        best = x;
                }
            }
            for (int c = 0; !best && c < C; c++)
                if (!t->cols[c].suppressed && ((mask >> c) & 1u) &&
                    (!best || t->cols[c].n < best->n))
                    best = &t->cols[c];
            *hide = best;
            return true;
        }
    }
    return false;
}

/* Hides the smallest shown figure of the table: the last resort that always
 * makes progress. */
static void hide_something(scr_table_t *t)
{
    scr_cell_t *best = NULL;
    for (int i = 0; i < t->n_rows * t->n_cols; i++)
        if (!t->cells[i].suppressed && (!best || t->cells[i].n < best->n))
            best = &t->cells[i];
    for (int r = 0; !best && r < t->n_rows; r++)
        if (!t->rows[r].suppressed)
            best = &t->rows[r];
    for (int c = 0; !best && c < t->n_cols; c++)
        if (!t->cols[c].suppressed)
            best = &t->cols[c];
    if (!best)
        best = &t->total;
    best->suppressed = true;
}

/* Marks every cell, row and column total and the grand total hidden. */
static void table_hide_all(scr_table_t *t, int rows, int cols)
{
    for (int i = 0; i < rows * cols; i++)
        t->cells[i].suppressed = true;
    for (int r = 0; r < rows; r++)
        t->rows[r].suppressed = true;
    for (int c = 0; c < cols; c++)
        t->cols[c].suppressed = true;
    t->total.suppressed = true;
}

int scr_table_suppress(scr_table_t *t, int64_t k)
{
    int R = t->n_rows, C = t->n_cols;
    if (k > SUPPRESS_MAX_K && k <= SCR_STATS_K_LEGACY_MAX) {
        /* A threshold stored before the bound existed: beyond what the
         * sums the rule tracks can hold, so only the grand total shows. */
        bool total = t->total.suppressed || t->total.n < k;
        table_hide_all(t, R, C);
        t->total.suppressed = total;
        return 0;
    }
    if (k < 1 || k > SUPPRESS_MAX_K || R < 0 || C < 0 || C > SCR_MAX_BANDS ||
        (int64_t)R * (C + 1) + 1 > SUPPRESS_MAX_NODES ||
        (int64_t)C * (R + 1) + 1 > SUPPRESS_MAX_NODES)
        return WH_EINVAL;
    int width = R > C ? R : C;
    supp_node_t *nd = malloc(sizeof *nd * (size_t)(1 + width + R * C));
    if (!nd)
        return WH_ENOMEM;
    int rc = 0;
    /* Every round hides at least one more figure or ends. */
    for (;;) {
        int before = n_hidden(t);
        if ((rc = run_tree(t, (int)k, true, nd)) != 0 || (rc = run_tree(t, (int)k, false, nd)) != 0)
            break;
        scr_cell_t *hide;
        if (cross_leak(t, k, &hide)) {
            if (hide)
                hide->suppressed = true;
            else
                hide_something(t);
        }
        if (n_hidden(t) == before)
            break;
    }
    free(nd);
    return rc;
}

/* ---- periods -------------------------------------------------------------- */

int scr_period_parse(const char *s, size_t n, scr_period_t *out)
{
    if (!s || n >= SCR_PERIOD_LEN || wh_period_parse(s, n, &out->first_day, &out->end_day) != 0)
        return WH_EINVAL;
    memcpy(out->key, s, n);
    out->key[n] = '\0';
    return 0;
}

/* The first instant whose calendar date (in TZ) is day or later. */
static int64_t day_start_ms(int32_t day)
{
    int64_t lo = (int64_t)day * 86400000LL - 2 * 86400000LL;
    int64_t hi = (int64_t)day * 86400000LL + 2 * 86400000LL;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (wh_date_of_ms(mid) >= day)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

int64_t scr_period_closes_ms(const scr_period_t *p)
{
    return day_start_ms(p->end_day + SCR_STATS_GRACE_DAYS);
}

int64_t scr_stats_cutoff_ms(int64_t taken_ms)
{
    int y, m, d;
    wh_date_civil(wh_date_of_ms(taken_ms), &y, &m, &d);
    int32_t next = m == 12 ? wh_date_from_civil(y + 1, 1, 1) : wh_date_from_civil(y, m + 1, 1);
    return day_start_ms(next + SCR_STATS_GRACE_DAYS);
}

static void sql_cutoff(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) != SQLITE_INTEGER) {
        sqlite3_result_null(ctx);
        return;
    }
    sqlite3_result_int64(ctx, scr_stats_cutoff_ms(sqlite3_value_int64(argv[0])));
}

int stats_register(sqlite3 *db)
{
    return sqlite3_create_function(db, "scr_stats_cutoff", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                   NULL, sql_cutoff, NULL, NULL) == SQLITE_OK
               ? 0
               : WH_ESTORE;
}

/* ---- one instrument's table ----------------------------------------------- */

/* A unit's name (p NULL for results without one). */
typedef struct unit_name {
    char *p;
    size_t n;
} unit_name_t;

typedef struct itable {
    scr_table_t t;
    unit_name_t *units;
} itable_t;

static void itable_free(itable_t *it)
{
    for (int r = 0; it->units && r < it->t.n_rows; r++)
        free(it->units[r].p);
    free(it->units);
    free(it->t.cells);
    free(it->t.rows);
    free(it->t.cols);
    memset(it, 0, sizeof *it);
}

static int itable_alloc(itable_t *it, int n_rows, int n_cols)
{
    memset(it, 0, sizeof *it);
    it->t.n_rows = n_rows;
    it->t.n_cols = n_cols;
    it->t.cells = calloc((size_t)(n_rows * n_cols + 1), sizeof *it->t.cells);
    it->t.rows = calloc((size_t)n_rows + 1, sizeof *it->t.rows);
    it->t.cols = calloc((size_t)n_cols + 1, sizeof *it->t.cols);
    it->units = calloc((size_t)n_rows + 1, sizeof *it->units);
    if (!it->t.cells || !it->t.rows || !it->t.cols || !it->units) {
        itable_free(it);
        return WH_ENOMEM;
    }
    return 0;
}

static int set_unit(unit_name_t *u, wh_str_t name)
{
    *u = (unit_name_t){NULL, 0};
    if (!name.p)
        return 0;
    u->p = malloc(name.n + 1);
    if (!u->p)
        return WH_ENOMEM;
    memcpy(u->p, name.p, name.n);
    u->p[name.n] = '\0';
    u->n = name.n;
    return 0;
}

static bool same_unit(const unit_name_t *u, wh_str_t name)
{
    if (!u->p || !name.p)
        return !u->p && !name.p;
    return u->n == name.n && memcmp(u->p, name.p, name.n) == 0;
}

/* Counts one instrument's results of [from_ms, to_ms) into a table. The
 * query yields each unit's rows together (ORDER BY unit). WH_ELIMIT when
 * there are more than SCR_STATS_MAX_UNITS units. */
static int itable_count(wh_store_t *store, const scr_instrument_t *ins, wh_str_t org,
                        int64_t from_ms, int64_t to_ms, itable_t *out)
{
    int nb = scr_n_bands(ins);
    int rc = itable_alloc(out, SCR_STATS_MAX_UNITS, nb);
    if (rc != 0)
        return rc;
    out->t.n_rows = 0;
    sqlite3_stmt *st = wh_store_stmt(store, SQL_STATS);
    if (!st) {
        out->t.n_rows = SCR_STATS_MAX_UNITS;
        itable_free(out);
        return WH_ESTORE;
    }
    wh_stmt_bind_str(st, 1, org);
    wh_stmt_bind_text(st, 2, ins->id);
    sqlite3_bind_int64(st, 3, from_ms);
    sqlite3_bind_int64(st, 4, to_ms);
    int step;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        wh_str_t unit = wh_stmt_col_str(st, 0);
        wh_str_t band = wh_stmt_col_str(st, 1);
        int r = out->t.n_rows - 1;
        if (r < 0 || !same_unit(&out->units[r], unit)) {
            if (out->t.n_rows == SCR_STATS_MAX_UNITS) {
                rc = WH_ELIMIT;
                break;
            }
            r = out->t.n_rows++;
            rc = set_unit(&out->units[r], unit);
        }
        for (int b = 0; rc == 0 && b < nb; b++)
            if (wh_str_eq(band, ins->bands[b].key))
                out->t.cells[r * nb + b].n += sqlite3_column_int64(st, 2);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = WH_ESTORE;
    sqlite3_reset(st);
    if (rc != 0) {
        itable_free(out);
        return rc;
    }
    scr_table_totals(&out->t);
    return 0;
}

/* ---- the frozen record ---------------------------------------------------- */

static int put_figure(wh_store_t *store, wh_str_t org, const char *period, const char *ins, int row,
                      int col, const unit_name_t *unit, const scr_cell_t *cell)
{
    sqlite3_stmt *st = wh_store_stmt(store, SQL_FIGURE_PUT);
    if (!st)
        return WH_ESTORE;
    wh_stmt_bind_str(st, 1, org);
    wh_stmt_bind_text(st, 2, period);
    wh_stmt_bind_text(st, 3, ins);
    sqlite3_bind_int(st, 4, row);
    sqlite3_bind_int(st, 5, col);
    if (unit && unit->p)
        sqlite3_bind_text(st, 6, unit->p, (int)unit->n, SQLITE_STATIC);
    if (!cell->suppressed)
        sqlite3_bind_int64(st, 7, cell->n);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : WH_ESTORE;
    sqlite3_reset(st);
    return rc;
}

/* Stores one instrument's suppressed table: row -1 is the organisation,
 * column -1 a row's total; a suppressed figure is stored as NULL, so that
 * nothing below the threshold is kept. An instrument without results
 * stores nothing and reads back as the empty table. */
static int itable_store(wh_store_t *store, wh_str_t org, const char *period, const char *ins,
                        const itable_t *it)
{
    const scr_table_t *t = &it->t;
    if (t->n_rows == 0)
        return 0;
    int rc = put_figure(store, org, period, ins, -1, -1, NULL, &t->total);
    for (int c = 0; rc == 0 && c < t->n_cols; c++)
        rc = put_figure(store, org, period, ins, -1, c, NULL, &t->cols[c]);
    for (int r = 0; rc == 0 && r < t->n_rows; r++) {
        rc = put_figure(store, org, period, ins, r, -1, &it->units[r], &t->rows[r]);
        for (int c = 0; rc == 0 && c < t->n_cols; c++)
            rc = put_figure(store, org, period, ins, r, c, NULL, &t->cells[r * t->n_cols + c]);
    }
    return rc;
}

static void load_cell(sqlite3_stmt *st, scr_cell_t *cell)
{
    cell->suppressed = sqlite3_column_type(st, 3) == SQLITE_NULL;
    cell->n = cell->suppressed ? 0 : sqlite3_column_int64(st, 3);
}

/* Reads one instrument's stored table; figures not stored are suppressed. */
static int itable_load(wh_store_t *store, wh_str_t org, const char *period,
                       const scr_instrument_t *ins, itable_t *out)
{
    int nb = scr_n_bands(ins);
    int rc = itable_alloc(out, SCR_STATS_MAX_UNITS, nb);
    if (rc != 0)
        return rc;
    scr_table_t *t = &out->t;
    table_hide_all(t, SCR_STATS_MAX_UNITS, nb);
    t->n_rows = 0;
    sqlite3_stmt *st = wh_store_stmt(store, SQL_FIGURES);
    if (!st)
        rc = WH_ESTORE;
    if (st) {
        wh_stmt_bind_str(st, 1, org);
        wh_stmt_bind_text(st, 2, period);
        wh_stmt_bind_text(st, 3, ins->id);
    }
    int step = SQLITE_DONE;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        int row = sqlite3_column_int(st, 0), col = sqlite3_column_int(st, 1);
        if (row < -1 || row >= SCR_STATS_MAX_UNITS || col < -1 || col >= nb)
            continue; /* not written by this version; cannot happen */
        if (row < 0) {
            load_cell(st, col < 0 ? &t->total : &t->cols[col]);
            continue;
        }
        if (row >= t->n_rows)
            t->n_rows = row + 1;
        if (col < 0) {
            load_cell(st, &t->rows[row]);
            rc = set_unit(&out->units[row], wh_stmt_col_str(st, 2));
        } else {
            load_cell(st, &t->cells[row * nb + col]);
        }
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = WH_ESTORE;
    if (st)
        sqlite3_reset(st);
    if (rc != 0) {
        t->n_rows = SCR_STATS_MAX_UNITS;
        itable_free(out);
    }
    return rc;
}

/* Looks the period's record up: 1 and its threshold and time when it is
 * stored, 0 when not, or WH_ESTORE. */
static int period_get(wh_store_t *store, wh_str_t org, const char *period, int64_t *k,
                      int64_t *frozen_ms)
{
    sqlite3_stmt *st = wh_store_stmt(store, SQL_PERIOD_GET);
    if (!st)
        return WH_ESTORE;
    wh_stmt_bind_str(st, 1, org);
    wh_stmt_bind_text(st, 2, period);
    int step = sqlite3_step(st), rc = 0;
    if (step == SQLITE_ROW) {
        *k = sqlite3_column_int64(st, 0);
        *frozen_ms = sqlite3_column_int64(st, 1);
        rc = 1;
    } else if (step != SQLITE_DONE) {
        rc = WH_ESTORE;
    }
    sqlite3_reset(st);
    return rc;
}

/* Computes, suppresses and stores every instrument's table of the period,
 * unless it has no counted result. */
static int freeze(wh_store_t *store, wh_str_t org, const scr_period_t *p, int64_t k, int64_t now_ms)
{
    int64_t from_ms = day_start_ms(p->first_day), to_ms = day_start_ms(p->end_day);
    sqlite3_stmt *st = wh_store_stmt(store, SQL_ANY_RESULT);
    if (!st)
        return WH_ESTORE;
    wh_stmt_bind_str(st, 1, org);
    sqlite3_bind_int64(st, 2, from_ms);
    sqlite3_bind_int64(st, 3, to_ms);
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    if (step != SQLITE_ROW)
        return step == SQLITE_DONE ? 0 : WH_ESTORE;
    /* Every table is computed before any is stored, so that a period over
     * a limit stores nothing. */
    itable_t *tables = calloc((size_t)scr_n_instruments, sizeof *tables);
    if (!tables)
        return WH_ENOMEM;
    int rc = 0, n = 0;
    for (; rc == 0 && n < scr_n_instruments; n++) {
        if ((rc = itable_count(store, &scr_instruments[n], org, from_ms, to_ms, &tables[n])) != 0)
            break;
        rc = scr_table_suppress(&tables[n].t, k);
    }
    for (int i = 0; rc == 0 && i < scr_n_instruments; i++)
        rc = itable_store(store, org, p->key, scr_instruments[i].id, &tables[i]);
    for (int i = 0; i < n && i < scr_n_instruments; i++)
        itable_free(&tables[i]);
    free(tables);
    st = rc == 0 ? wh_store_stmt(store, SQL_PERIOD_PUT) : NULL;
    if (rc == 0 && !st)
        rc = WH_ESTORE;
    if (st) {
        wh_stmt_bind_str(st, 1, org);
        wh_stmt_bind_text(st, 2, p->key);
        sqlite3_bind_int64(st, 3, k);
        sqlite3_bind_int64(st, 4, now_ms);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : WH_ESTORE;
        sqlite3_reset(st);
    }
    return rc;
}

/* Freezes p, then every other closed period of its year that overlaps it
 * and is not stored yet, from the same results at the same moment. One of
 * those over SCR_STATS_MAX_UNITS is left for its own request to refuse. */
static int freeze_with_overlaps(wh_store_t *store, wh_str_t org, const scr_period_t *p, int64_t k,
                                int64_t now_ms)
{
    int rc = freeze(store, org, p, k, now_ms);
    static const char *const suffixes[] = {"",    "-Q1", "-Q2", "-Q3", "-Q4", "-01",
                                           "-02", "-03", "-04", "-05", "-06", "-07",
                                           "-08", "-09", "-10", "-11", "-12"};
    for (size_t i = 0; rc == 0 && i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char key[SCR_PERIOD_LEN];
        int n = snprintf(key, sizeof key, "%.4s%s", p->key, suffixes[i]);
        scr_period_t q;
        if (n < 0 || scr_period_parse(key, (size_t)n, &q) != 0)
            return WH_EINVAL; /* cannot happen: p's year is valid */
        if (strcmp(q.key, p->key) == 0 || q.first_day >= p->end_day || p->first_day >= q.end_day ||
            scr_period_closes_ms(&q) > now_ms)
            continue;
        int64_t qk, qms;
        rc = period_get(store, org, q.key, &qk, &qms);
        if (rc == 0)
            rc = freeze(store, org, &q, k, now_ms);
        if (rc == WH_ELIMIT || rc == 1)
            rc = 0;
    }
    return rc;
}

/* ---- the reply ------------------------------------------------------------ */

static void pack_count(msgpack_packer *pk, const scr_cell_t *cell)
{
    if (cell->suppressed)
        wh_msg_kv_nil(pk, "n");
    else
        wh_msg_kv_int(pk, "n", cell->n);
    wh_msg_kv_bool(pk, "suppressed", cell->suppressed);
}

static void pack_bands(msgpack_packer *pk, const scr_instrument_t *ins, const scr_cell_t *cells)
{
    int nb = scr_n_bands(ins);
    wh_msg_pack_str(pk, "bands");
    msgpack_pack_array(pk, (size_t)nb);
    for (int b = 0; b < nb; b++) {
        msgpack_pack_map(pk, 3);
        wh_msg_kv_str(pk, "band", ins->bands[b].key);
        pack_count(pk, &cells[b]);
    }
}

static void pack_instrument(msgpack_packer *pk, const scr_instrument_t *ins, const itable_t *it,
                            bool by_unit)
{
    const scr_table_t *t = &it->t;
    msgpack_pack_map(pk, 4 + by_unit);
    wh_msg_kv_str(pk, "instrument", ins->id);
    pack_count(pk, &t->total);
    pack_bands(pk, ins, t->cols);
    if (!by_unit)
        return;
    wh_msg_pack_str(pk, "units");
    msgpack_pack_array(pk, (size_t)t->n_rows);
    for (int r = 0; r < t->n_rows; r++) {
        msgpack_pack_map(pk, 4);
        wh_msg_pack_str(pk, "unit");
        if (it->units[r].p)
            wh_msg_pack_strn(pk, it->units[r].p, it->units[r].n);
        else
            msgpack_pack_nil(pk);
        pack_count(pk, &t->rows[r]);
        pack_bands(pk, ins, &t->cells[r * t->n_cols]);
    }
}

void stats_get(wh_ctx_t *c)
{
    wh_str_t period = wh_request_param(c->req, "period");
    wh_str_t instrument = wh_request_param(c->req, "instrument");
    static const char *const windows[] = {"from", "to"};
    for (size_t i = 0; i < sizeof windows / sizeof windows[0]; i++)
        if (wh_request_param(c->req, windows[i]).p)
            wh_reply_param(c->rep, windows[i],
                           "is not served: statistics exist only for a closed period");
    scr_period_t p = {0};
    if (!period.p)
        wh_reply_param(c->rep, "period", "is required: YYYY-MM, YYYY-Qn or YYYY");
    else if (scr_period_parse(period.p, period.n, &p) != 0)
        wh_reply_param(c->rep, "period",
                       "must be a month YYYY-MM, a quarter YYYY-Qn (n 1-4) "
                       "or a year YYYY, from 1970");
    static const char *const by_values[] = {"unit", NULL};
    int by;
    wh_param_enum(c->req, c->rep, "by", by_values, "must be unit", &by);
    const scr_instrument_t *only = NULL;
    if (instrument.p && !(only = scr_instrument_find(instrument.p, instrument.n)))
        wh_reply_param(c->rep, "instrument", "is not a known instrument");
    wh_str_t org;
    if (!scr_org_param(c, &org))
        return;
    int64_t now = wh_clock_now_ms();
    if (now < scr_period_closes_ms(&p)) {
        char from[WH_DATE_LEN];
        wh_date_format(p.end_day + SCR_STATS_GRACE_DAYS, from);
        wh_reply_problem(c->rep, 409, "period-open",
                         "period %s is not closed; its statistics exist from %s", p.key, from);
        return;
    }

    /* The stored record, or the first computation of a closed period. */
    int64_t k = 0, frozen_ms = 0;
    int found = period_get(c->store, org, p.key, &k, &frozen_ms);
    if (found == 0) {
        scr_settings_t set;
        if (settings_load(c->store, org, &set) != 0)
            goto fail;
        k = set.stats_threshold < SCR_STATS_THRESHOLD_MIN ? SCR_STATS_THRESHOLD_MIN
                                                          : set.stats_threshold;
        int rc = freeze_with_overlaps(c->store, org, &p, k, now);
        if (rc == WH_ELIMIT) {
            wh_reply_problem(c->rep, 409, "too-many-units",
                             "period %s has results from more than %d units; its statistics "
                             "cannot be computed",
                             p.key, SCR_STATS_MAX_UNITS);
            return;
        }
        if (rc != 0)
            goto fail;
        /* 0 when the period has no result: nothing stored, nothing shown. */
        found = period_get(c->store, org, p.key, &k, &frozen_ms);
    }
    if (found < 0)
        goto fail;
    bool frozen = found == 1;

    /* Load every table first: a failure must not leave half a reply. */
    itable_t *tables = calloc((size_t)scr_n_instruments, sizeof *tables);
    int n_tables = 0;
    for (int i = 0; tables && i < scr_n_instruments; i++) {
        if (only && only != &scr_instruments[i])
            continue;
        if (itable_load(c->store, org, p.key, &scr_instruments[i], &tables[n_tables]) != 0) {
            for (int j = 0; j < n_tables; j++)
                itable_free(&tables[j]);
            free(tables);
            tables = NULL;
        }
        n_tables++;
    }
    if (!tables)
        goto fail;
    char first[WH_DATE_LEN], last[WH_DATE_LEN], at[WH_RFC3339_LEN];
    wh_date_format(p.first_day, first);
    wh_date_format(p.end_day - 1, last);
    msgpack_packer *pk = wh_reply_ok(c->rep, 200);
    msgpack_pack_map(pk, 8);
    wh_msg_kv_strn(pk, "org_id", org.p, org.n);
    wh_msg_kv_str(pk, "period", p.key);
    wh_msg_kv_str(pk, "from", first);
    wh_msg_kv_str(pk, "to", last);
    wh_msg_pack_str(pk, "frozen_at");
    if (frozen) {
        wh_clock_format_rfc3339(frozen_ms, at);
        wh_msg_pack_str(pk, at);
    } else {
        msgpack_pack_nil(pk);
    }
    wh_msg_kv_int(pk, "threshold", k);
    wh_msg_kv_str(pk, "by", wh_param_value(by_values, by));
    wh_msg_pack_str(pk, "instruments");
    msgpack_pack_array(pk, (size_t)n_tables);
    for (int i = 0, j = 0; i < scr_n_instruments && j < n_tables; i++) {
        if (only && only != &scr_instruments[i])
            continue;
        pack_instrument(pk, &scr_instruments[i], &tables[j], by >= 0);
        itable_free(&tables[j++]);
    }
    free(tables);
    return;
fail:
    wh_reply_problem(c->rep, 500, "internal", "the statistics could not be computed");
}
