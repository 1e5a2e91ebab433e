#include "stats.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "instruments.h"
#include "privacy.h"
#include "settings.h"

/* Latest result per person in the period, counted by unit and band. */
static const char SQL_STATS[] = "SELECT unit, band, count(*) FROM ("
                                " SELECT unit, band, row_number() OVER"
                                "  (PARTITION BY subject ORDER BY taken_ms DESC, id DESC) AS rn"
                                " FROM screenings WHERE org_id = ?1 AND instrument = ?2"
                                "  AND taken_ms >= ?3 AND taken_ms < ?4)"
                                " WHERE rn = 1 GROUP BY unit, band ORDER BY unit";

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

/* One additive relation parent = sum(children). Returns true when it had
 * to suppress one more figure. */
static bool protect(scr_cell_t *parent, scr_cell_t **ch, int n)
{
    int hidden = parent->suppressed;
    int64_t shown = 0;
    for (int i = 0; i < n; i++) {
        if (ch[i]->suppressed)
            hidden++;
        else
            shown += ch[i]->n;
    }
    if (hidden == 0)
        return false;
    /* One hidden member is the difference of the others; several hidden
     * parts of a shown total that sum to zero are each zero. */
    bool derivable = hidden == 1 || (!parent->suppressed && parent->n - shown == 0);
    if (!derivable)
        return false;
    scr_cell_t *smallest = NULL;
    for (int i = 0; i < n; i++)
        if (!ch[i]->suppressed && (!smallest || ch[i]->n < smallest->n))
            smallest = ch[i];
    if (smallest) {
        smallest->suppressed = true;
        return true;
    }
    if (!parent->suppressed) {
        parent->suppressed = true;
        return true;
    }
    return false;
}

int scr_table_suppress(scr_table_t *t, int64_t k)
{
    int width = t->n_rows > t->n_cols ? t->n_rows : t->n_cols;
    scr_cell_t **ch = malloc((size_t)(width > 0 ? width : 1) * sizeof *ch);
    if (!ch)
        return WH_ENOMEM;
    for (int i = 0; i < t->n_rows * t->n_cols; i++)
        t->cells[i].suppressed = t->cells[i].n < k;
    for (int r = 0; r < t->n_rows; r++)
        t->rows[r].suppressed = t->rows[r].n < k;
    for (int c = 0; c < t->n_cols; c++)
        t->cols[c].suppressed = t->cols[c].n < k;
    t->total.suppressed = t->total.n < k;
    /* Every pass either suppresses one more figure or ends, so this stops
     * after at most as many passes as there are figures. */
    bool changed = true;
    while (changed) {
        changed = false;
        for (int r = 0; r < t->n_rows; r++) {
            for (int c = 0; c < t->n_cols; c++)
                ch[c] = &t->cells[r * t->n_cols + c];
            changed |= protect(&t->rows[r], ch, t->n_cols);
        }
        for (int c = 0; c < t->n_cols; c++) {
            for (int r = 0; r < t->n_rows; r++)
                ch[r] = &t->cells[r * t->n_cols + c];
            changed |= protect(&t->cols[c], ch, t->n_rows);
        }
        for (int r = 0; r < t->n_rows; r++)
            ch[r] = &t->rows[r];
        changed |= protect(&t->total, ch, t->n_rows);
        for (int c = 0; c < t->n_cols; c++)
            ch[c] = &t->cols[c];
        changed |= protect(&t->total, ch, t->n_cols);
    }
    free(ch);
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

static void pack_cell(msgpack_packer *pk, const char *key, const char *name, size_t name_len,
                      const scr_cell_t *cell)
{
    msgpack_pack_map(pk, 3);
    wh_msg_pack_str(pk, key);
    if (name)
        wh_msg_pack_strn(pk, name, name_len);
    else
        msgpack_pack_nil(pk);
    if (cell->suppressed)
        wh_msg_kv_nil(pk, "n");
    else
        wh_msg_kv_int(pk, "n", cell->n);
    wh_msg_kv_bool(pk, "suppressed", cell->suppressed);
}

/* A unit's name as read from the store (NULL for results without one). */
typedef struct unit_name {
    char *p;
    size_t n;
} unit_name_t;

/* Builds, suppresses and packs one instrument's table. */
static int pack_instrument(wh_ctx_t *c, msgpack_packer *pk, const scr_instrument_t *ins,
                           wh_str_t org, int64_t from_ms, int64_t to_ms, int64_t k, bool by_unit)
{
    int nb = scr_n_bands(ins);
    int cap = 16, n_rows = 0;
    unit_name_t *units = calloc((size_t)cap, sizeof *units);
    int64_t *counts = calloc((size_t)cap * (size_t)nb, sizeof *counts);
    int rc = units && counts ? 0 : WH_ENOMEM;
    sqlite3_stmt *st = rc == 0 ? wh_store_stmt(c->store, SQL_STATS) : NULL;
    if (rc == 0 && !st)
        rc = WH_ESTORE;
    if (st) {
        wh_stmt_bind_str(st, 1, org);
        wh_stmt_bind_text(st, 2, ins->id);
        sqlite3_bind_int64(st, 3, from_ms);
        sqlite3_bind_int64(st, 4, to_ms);
    }
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        wh_str_t unit = wh_stmt_col_str(st, 0);
        wh_str_t band = wh_stmt_col_str(st, 1);
        bool same = n_rows > 0 && (units[n_rows - 1].p == NULL) == (unit.p == NULL) &&
                    (!unit.p || (units[n_rows - 1].n == unit.n &&
                                 memcmp(units[n_rows - 1].p, unit.p, unit.n) == 0));
        if (!same) {
            if (n_rows == cap) {
                cap *= 2;
                unit_name_t *u = realloc(units, (size_t)cap * sizeof *u);
                int64_t *cn = u ? realloc(counts, (size_t)cap * (size_t)nb * sizeof *cn) : NULL;
                if (u)
                    units = u;
                if (cn)
                    counts = cn;
                if (!u || !cn) {
                    rc = WH_ENOMEM;
                    break;
                }
            }
            units[n_rows] = (unit_name_t){NULL, 0};
            if (unit.p) {
                units[n_rows].p = malloc(unit.n + 1);
                if (!units[n_rows].p) {
                    rc = WH_ENOMEM;
                    break;
                }
                memcpy(units[n_rows].p, unit.p, unit.n);
                units[n_rows].n = unit.n;
            }
            memset(&counts[(size_t)n_rows * (size_t)nb], 0, (size_t)nb * sizeof *counts);
            n_rows++;
        }
        for (int b = 0; b < nb; b++)
            if (wh_str_eq(band, ins->bands[b].key))
                counts[(size_t)(n_rows - 1) * (size_t)nb + (size_t)b] +=
                    sqlite3_column_int64(st, 2);
    }
    if (st)
        sqlite3_reset(st);
    scr_table_t t = {.n_rows = n_rows, .n_cols = nb};
    if (rc == 0) {
        t.cells = calloc((size_t)(n_rows * nb + 1), sizeof *t.cells);
        t.rows = calloc((size_t)n_rows + 1, sizeof *t.rows);
        t.cols = calloc((size_t)nb, sizeof *t.cols);
        if (!t.cells || !t.rows || !t.cols)
            rc = WH_ENOMEM;
    }
    if (rc == 0) {
        for (int i = 0; i < n_rows * nb; i++)
            t.cells[i].n = counts[i];
        scr_table_totals(&t);
        rc = scr_table_suppress(&t, k);
    }
    if (rc == 0) {
        msgpack_pack_map(pk, 4 + by_unit);
        wh_msg_kv_str(pk, "instrument", ins->id);
        if (t.total.suppressed)
            wh_msg_kv_nil(pk, "n");
        else
            wh_msg_kv_int(pk, "n", t.total.n);
        wh_msg_kv_bool(pk, "suppressed", t.total.suppressed);
        wh_msg_pack_str(pk, "bands");
        msgpack_pack_array(pk, (size_t)nb);
        for (int b = 0; b < nb; b++)
            pack_cell(pk, "band", ins->bands[b].key, strlen(ins->bands[b].key), &t.cols[b]);
        if (by_unit) {
            wh_msg_pack_str(pk, "units");
            msgpack_pack_array(pk, (size_t)n_rows);
            for (int r = 0; r < n_rows; r++) {
                msgpack_pack_map(pk, 4);
                wh_msg_pack_str(pk, "unit");
                if (units[r].p)
                    wh_msg_pack_strn(pk, units[r].p, units[r].n);
                else
                    msgpack_pack_nil(pk);
                if (t.rows[r].suppressed)
                    wh_msg_kv_nil(pk, "n");
                else
                    wh_msg_kv_int(pk, "n", t.rows[r].n);
                wh_msg_kv_bool(pk, "suppressed", t.rows[r].suppressed);
                wh_msg_pack_str(pk, "bands");
                msgpack_pack_array(pk, (size_t)nb);
                for (int b = 0; b < nb; b++)
                    pack_cell(pk, "band", ins->bands[b].key, strlen(ins->bands[b].key),
                              &t.cells[r * nb + b]);
            }
        }
    }
    free(t.cells);
    free(t.rows);
    free(t.cols);
    for (int r = 0; units && r < n_rows; r++)
        free(units[r].p);
    free(units);
    free(counts);
    return rc;
}

void stats_get(wh_ctx_t *c)
{
    bool ok = true;
    wh_str_t from = wh_request_param(c->req, "from"), to = wh_request_param(c->req, "to");
    wh_str_t by = wh_request_param(c->req, "by");
    wh_str_t instrument = wh_request_param(c->req, "instrument");
    int32_t from_day = 0, to_day = 0;
    if (from.p && wh_date_parse(from.p, from.n, &from_day) != 0) {
        wh_reply_param(c->rep, "from", "must be a date YYYY-MM-DD");
        ok = false;
    }
    if (to.p && wh_date_parse(to.p, to.n, &to_day) != 0) {
        wh_reply_param(c->rep, "to", "must be a date YYYY-MM-DD");
        ok = false;
    }
    if (ok && from.p && to.p && to_day < from_day) {
        wh_reply_param(c->rep, "to", "must not be before from");
        ok = false;
    }
    if (by.p && !wh_str_eq(by, "unit")) {
        wh_reply_param(c->rep, "by", "must be unit");
        ok = false;
    }
    const scr_instrument_t *only = NULL;
    if (instrument.p && !(only = scr_instrument_find(instrument.p, instrument.n))) {
        wh_reply_param(c->rep, "instrument", "is not a known instrument");
        ok = false;
    }
    if (!ok) {
        wh_reply_invalid(c->rep);
        return;
    }
    wh_str_t org;
    if (!scr_org_param(c, &org))
        return;
    scr_settings_t set;
    if (settings_load(c->store, org, &set) != 0) {
        wh_reply_problem(c->rep, 500, "internal", "the settings could not be read");
        return;
    }
    int64_t k = set.stats_threshold < SCR_STATS_THRESHOLD_MIN ? SCR_STATS_THRESHOLD_MIN
                                                              : set.stats_threshold;
    int64_t from_ms = from.p ? day_start_ms(from_day) : INT64_MIN;
    int64_t to_ms = to.p ? day_start_ms(to_day + 1) : INT64_MAX;
    msgpack_packer *pk = wh_reply_ok(c->rep, 200);
    msgpack_pack_map(pk, 6);
    wh_msg_kv_strn(pk, "org_id", org.p, org.n);
    wh_msg_pack_str(pk, "from");
    wh_msg_pack_wstr(pk, from);
    wh_msg_pack_str(pk, "to");
    wh_msg_pack_wstr(pk, to);
    wh_msg_kv_int(pk, "threshold", k);
    wh_msg_pack_str(pk, "by");
    wh_msg_pack_wstr(pk, by);
    wh_msg_pack_str(pk, "instruments");
    msgpack_pack_array(pk, only ? 1 : (size_t)scr_n_instruments);
    for (int i = 0; i < scr_n_instruments; i++) {
        if (only && only != &scr_instruments[i])
            continue;
        if (pack_instrument(c, pk, &scr_instruments[i], org, from_ms, to_ms, k, by.p != NULL) !=
            0) {
            wh_reply_problem(c->rep, 500, "internal", "the statistics could not be computed");
            return;
        }
    }
}
