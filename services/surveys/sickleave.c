#include "sickleave.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "csvtab.h"
#include "err.h"
#include "id.h"
#include "log.h"
#include "suppress.h"

static const char SQL_IMPORT_INSERT[] =
    "INSERT INTO sickleave_imports(id, insurer_id, rows, created_at) VALUES (?1, ?2, ?3, ?4)";
static const char SQL_PERIOD_OVERLAP[] =
    "SELECT period FROM sickleave_periods WHERE org_id = ?1 AND first_day <= ?3"
    " AND last_day >= ?2 LIMIT 1";
static const char SQL_PERIOD_INSERT[] =
    "INSERT INTO sickleave_periods(org_id, period, first_day, last_day, import_id, insurer_id,"
    " sector) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char SQL_FIGURE_INSERT[] =
    "INSERT INTO sickleave_figures(org_id, period, unit, chapter, insured, cases, days)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char SQL_PERIOD_GET[] =
    "SELECT import_id, insurer_id, sector, first_day, last_day FROM sickleave_periods"
    " WHERE org_id = ?1 AND period = ?2";
static const char SQL_FIGURES[] =
    "SELECT unit, chapter, insured, cases, days FROM sickleave_figures"
    " WHERE org_id = ?1 AND period = ?2 ORDER BY unit, chapter";
/* The sector: employers of the same import, period and sector. */
static const char SQL_SECTOR[] =
    "SELECT count(DISTINCT p.org_id), sum(f.days), sum(f.insured) FROM sickleave_periods p"
    " JOIN sickleave_figures f ON f.org_id = p.org_id AND f.period = p.period AND f.chapter = 0"
    " WHERE p.import_id = ?1 AND p.period = ?2 AND p.sector = ?3";

static const char *const COLUMNS[] = {"org_id", "unit", "period",      "insured",
                                      "cases",  "days", "icd_chapter", "sector"};
enum { C_ORG, C_UNIT, C_PERIOD, C_INSURED, C_CASES, C_DAYS, C_CHAPTER, C_SECTOR, N_COLUMNS };

static const char *const CHAPTERS[SL_CHAPTERS + 1] = {
    "",    "I",    "II",  "III", "IV",  "V",    "VI",    "VII", "VIII", "IX",  "X",   "XI",
    "XII", "XIII", "XIV", "XV",  "XVI", "XVII", "XVIII", "XIX", "XX",   "XXI", "XXII"};

/* ---- periods ----------------------------------------------------------------- */

typedef struct period {
    int32_t first, last; /* calendar days, inclusive */
} period_t;

/* YYYY, YYYY-MM or YYYY-Qn. */
static bool period_parse(wh_str_t s, period_t *p)
{
    int32_t end;
    if (wh_period_parse(s.p, s.n, &p->first, &end) != 0)
        return false;
    p->last = end - 1;
    return true;
}

/* A count: decimal digits only, at most max. */
static bool count_parse(wh_str_t s, int64_t max, int64_t *out)
{
    if (s.n == 0 || s.n > 12)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
        v = v * 10 + (s.p[i] - '0');
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

/* 0 for the empty chapter (all), 1..22, or -1. */
static int chapter_parse(wh_str_t s)
{
    for (int i = 0; i <= SL_CHAPTERS; i++)
        if (wh_str_eq(s, CHAPTERS[i]))
            return i;
    return -1;
}

/* Characters (code points) of UTF-8 text; the codec has checked it. */
static size_t chars(wh_str_t s)
{
    size_t n = 0;
    for (size_t i = 0; i < s.n; i++)
        n += ((unsigned char)s.p[i] & 0xc0) != 0x80;
    return n;
}

/* ---- import ------------------------------------------------------------------ */

typedef struct row {
    uint32_t org, period, unit, sector; /* dictionary codes: their order is byte order */
    int chapter;
    int idx;
    int64_t insured, cases, days;
} row_t;

static int row_cmp(const void *a, const void *b)
{
    const row_t *x = a, *y = b;
    if (x->org != y->org)
        return x->org < y->org ? -1 : 1;
    if (x->period != y->period)
        return x->period < y->period ? -1 : 1;
    if (x->unit != y->unit)
        return x->unit < y->unit ? -1 : 1;
    if (x->chapter != y->chapter)
        return x->chapter - y->chapter;
    return x->idx - y->idx;
}

/* One organisation and period of the file, at its first row. */
typedef struct pair {
    uint32_t org, period, sector;
    int idx;
    period_t p;
} pair_t;

static int pair_cmp(const void *a, const void *b)
{
    const pair_t *x = a, *y = b;
    if (x->org != y->org)
        return x->org < y->org ? -1 : 1;
    if (x->p.first != y->p.first)
        return x->p.first < y->p.first ? -1 : 1;
    return x->idx - y->idx;
}

typedef struct import {
    wh_ctx_t *c;
    csvtab_t t;
    bool has_sector;
    row_t *rows;
    pair_t *pairs;
    int n_pairs;
    period_t *periods; /* per period dictionary entry */
    bool *period_ok;
    bool *org_ok; /* per org_id dictionary entry: on the caller's token */
    int errors;
    bool stopped; /* checking stopped at SL_MAX_ERRORS_SCAN with rows left */
} import_t;

__attribute__((format(printf, 4, 5))) static void bad(import_t *im, int row, int col,
                                                      const char *fmt, ...)
{
    /* Every bad cell up to the scan limit is counted in the problem's
     * detail; the reply lists the first WH_REPLY_MAX_ERRORS. */
    if (im->errors++ >= SL_MAX_ERRORS_SCAN)
        return;
    char pointer[64], detail[256];
    if (col < 0)
        snprintf(pointer, sizeof pointer, "/rows/%d", row);
    else
        snprintf(pointer, sizeof pointer, "/rows/%d/%s", row, COLUMNS[col]);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    wh_reply_field(im->c->rep, pointer, "%s", detail);
}

static wh_str_t cell(const import_t *im, int row, int col)
{
    return csvtab_cell(&im->t, row, col);
}

static bool check_header(import_t *im)
{
    const csvtab_t *t = &im->t;
    bool ok = t->n_cols == N_COLUMNS - 1 || t->n_cols == N_COLUMNS;
    for (int i = 0; ok && i < t->n_cols; i++)
        ok = wh_str_eq(t->names[i], COLUMNS[i]);
    if (!ok) {
        wh_reply_field(im->c->rep, "/header",
                       "the header must be org_id,unit,period,insured,cases,days,icd_chapter "
                       "and optionally sector");
        return false;
    }
    im->has_sector = t->n_cols == N_COLUMNS;
    if (t->n_rows == 0) {
        wh_reply_field(im->c->rep, "/rows", "the file has no rows");
        return false;
    }
    return true;
}

/* Every cell on its own. */
static void check_cells(import_t *im)
{
    const csvtab_t *t = &im->t;
    int32_t today = wh_clock_today();
    /* Periods are few and repeat: parse each dictionary entry once. */
    uint32_t np = t->n_dict[C_PERIOD];
    for (uint32_t i = 0; i < np; i++)
        im->period_ok[i] = period_parse(t->dict[C_PERIOD][i], &im->periods[i]);
    /* An insurer's consultant imports only for the organisations on its
     * token (the insurer and the employers it serves), so that no insurer
     * can put figures into another's employer or block its period. */
    for (uint32_t i = 0; i < t->n_dict[C_ORG]; i++)
        im->org_ok[i] = wh_request_has_org(im->c->req, t->dict[C_ORG][i]);
    int r;
    for (r = 0; r < t->n_rows && im->errors < SL_MAX_ERRORS_SCAN; r++) {
        row_t *w = &im->rows[r];
        *w = (row_t){.idx = r,
                     .org = t->codes[C_ORG][r],
                     .period = t->codes[C_PERIOD][r],
                     .unit = t->codes[C_UNIT][r],
                     .sector = im->has_sector ? t->codes[C_SECTOR][r] : 0};
        wh_str_t org = cell(im, r, C_ORG);
        if (!wh_id_valid(org.p, org.n))
            bad(im, r, C_ORG, "must be an organisation id");
        else if (!im->org_ok[w->org])
            bad(im, r, C_ORG, "must be an organisation this token may import for");
        wh_str_t unit = cell(im, r, C_UNIT);
        if (unit.n == 0 || chars(unit) > SL_MAX_UNIT || memchr(unit.p, '\t', unit.n))
            bad(im, r, C_UNIT, "must be 1 to %d characters on one line", SL_MAX_UNIT);
        const period_t *p = &im->periods[w->period];
        bool period_ok = im->period_ok[w->period];
        if (!period_ok)
            bad(im, r, C_PERIOD, "must be YYYY, YYYY-MM or YYYY-Qn");
        else if (p->last >= today)
            bad(im, r, C_PERIOD, "has not ended yet: figures are imported for past periods");
        bool counts = true;
        if (!count_parse(cell(im, r, C_INSURED), SL_MAX_INSURED, &w->insured) || w->insured < 1) {
            bad(im, r, C_INSURED, "must be a whole number from 1 to %d", SL_MAX_INSURED);
            counts = false;
        }
        int64_t max_days = period_ok && counts ? w->insured * (p->last - p->first + 1) : 0;
        if (!count_parse(cell(im, r, C_DAYS), INT64_MAX / 2, &w->days)) {
            bad(im, r, C_DAYS, "must be a whole number from 0");
            counts = false;
        } else if (period_ok && counts && w->days > max_days) {
            bad(im, r, C_DAYS, "is more than insured x calendar days of the period (%lld)",
                (long long)max_days);
        }
        if (!count_parse(cell(im, r, C_CASES), INT64_MAX / 2, &w->cases))
            bad(im, r, C_CASES, "must be a whole number from 0");
        else if (counts && w->cases > w->days)
            bad(im, r, C_CASES, "is more than days: every case has at least one day");
        else if (counts && w->days > 0 && w->cases == 0)
            bad(im, r, C_CASES, "is 0 while days are not");
        w->chapter = chapter_parse(cell(im, r, C_CHAPTER));
        if (w->chapter < 0)
            bad(im, r, C_CHAPTER, "must be an ICD-10 chapter I to XXII, or empty for all");
        if (im->has_sector && chars(cell(im, r, C_SECTOR)) > SL_MAX_SECTOR)
            bad(im, r, C_SECTOR, "must be at most %d characters", SL_MAX_SECTOR);
    }
    im->stopped = r < t->n_rows;
}

/* Rows against each other: each unit's chapters against its total, units
 * per period, and periods of one organisation against each other. */
static void check_rows(import_t *im)
{
    int n = im->t.n_rows;
    row_t *rows = im->rows;
    qsort(rows, (size_t)n, sizeof *rows, row_cmp);
    int total = -1, units = 0;
    int i;
    for (i = 0; i < n && im->errors < SL_MAX_ERRORS_SCAN; i++) {
        const row_t *w = &rows[i], *prev = i ? &rows[i - 1] : NULL;
        bool new_pair = !prev || prev->org != w->org || prev->period != w->period;
        bool new_unit = new_pair || prev->unit != w->unit;
        if (new_pair) {
            units = 0;
            if (im->n_pairs == SL_MAX_PERIODS) {
                bad(im, w->idx, C_PERIOD,
                    "more than %d organisation and period pairs in one import", SL_MAX_PERIODS);
                return;
            }
            im->pairs[im->n_pairs++] = (pair_t){.org = w->org,
                                                .period = w->period,
                                                .sector = w->sector,
                                                .idx = w->idx,
                                                .p = im->periods[w->period]};
        } else if (im->has_sector && w->sector != prev->sector) {
            bad(im, w->idx, C_SECTOR, "differs from row %d of the same organisation", prev->idx);
        }
        if (new_unit) {
            if (++units > SL_MAX_UNITS)
                bad(im, w->idx, C_UNIT, "more than %d units of one organisation in one period",
                    SL_MAX_UNITS);
            total = w->chapter == 0 ? i : -1;
            if (w->chapter != 0)
                bad(im, w->idx, C_CHAPTER,
                    "the unit has no total row for the period (one with an empty icd_chapter)");
            continue;
        }
        if (w->chapter == prev->chapter) {
            bad(im, w->idx, -1, "repeats row %d: the same org_id, unit, period and icd_chapter",
                prev->idx);
            continue;
        }
        if (total < 0)
            continue;
        const row_t *tot = &rows[total];
        if (w->insured != tot->insured)
            bad(im, w->idx, C_INSURED, "differs from the unit's total row %d (%lld)", tot->idx,
                (long long)tot->insured);
        if (w->days > tot->days)
            bad(im, w->idx, C_DAYS, "is more than the unit's total row %d (%lld)", tot->idx,
                (long long)tot->days);
        if (w->cases > tot->cases)
            bad(im, w->idx, C_CASES, "is more than the unit's total row %d (%lld)", tot->idx,
                (long long)tot->cases);
    }
    if (i < n) {
        im->stopped = true;
        return;
    }
    /* Sectors of one organisation across its periods, and overlapping
     * periods of one organisation within the file. */
    qsort(im->pairs, (size_t)im->n_pairs, sizeof *im->pairs, pair_cmp);
    for (int k = 1; k < im->n_pairs; k++) {
        const pair_t *a = &im->pairs[k - 1], *b = &im->pairs[k];
        if (a->org != b->org)
            continue;
        if (a->p.last >= b->p.first)
            bad(im, b->idx, C_PERIOD, "overlaps %.*s in row %d of the same organisation",
                (int)cell(im, a->idx, C_PERIOD).n, cell(im, a->idx, C_PERIOD).p, a->idx);
        else if (im->has_sector && a->sector != b->sector)
            bad(im, b->idx, C_SECTOR, "differs from row %d of the same organisation", a->idx);
    }
}

/* Against what is stored: false after a 409. */
static bool check_stored(import_t *im)
{
    sqlite3_stmt *st = wh_store_stmt(im->c->store, SQL_PERIOD_OVERLAP);
    if (!st) {
        wh_reply_problem(im->c->rep, 500, "internal", "the stored figures could not be read");
        return false;
    }
    for (int i = 0; i < im->n_pairs; i++) {
        const pair_t *p = &im->pairs[i];
        wh_str_t org = cell(im, p->idx, C_ORG);
        wh_stmt_bind_str(st, 1, org);
        sqlite3_bind_int(st, 2, p->p.first);
        sqlite3_bind_int(st, 3, p->p.last);
        if (sqlite3_step(st) == SQLITE_ROW) {
            wh_str_t stored = wh_stmt_col_str(st, 0);
            wh_str_t period = cell(im, p->idx, C_PERIOD);
            wh_reply_problem(im->c->rep, 409, "conflict",
                             "row %d: organisation %.*s already has figures for %.*s, which "
                             "covers days of %.*s; the figures of a period are imported once",
                             p->idx, (int)org.n, org.p, (int)stored.n, stored.p, (int)period.n,
                             period.p);
            sqlite3_reset(st);
            return false;
        }
        sqlite3_reset(st);
    }
    return true;
}

static bool store_rows(import_t *im, const char *id, wh_str_t insurer)
{
    wh_store_t *store = im->c->store;
    char now[WH_RFC3339_LEN];
    wh_clock_format_rfc3339(wh_clock_now_ms(), now);
    sqlite3_stmt *st = wh_store_stmt(store, SQL_IMPORT_INSERT);
    if (!st)
        return false;
    wh_stmt_bind_text(st, 1, id);
    wh_stmt_bind_str(st, 2, insurer);
    sqlite3_bind_int(st, 3, im->t.n_rows);
    wh_stmt_bind_text(st, 4, now);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE || !(st = wh_store_stmt(store, SQL_PERIOD_INSERT)))
        return false;
    for (int i = 0; i < im->n_pairs; i++) {
        const pair_t *p = &im->pairs[i];
        wh_str_t sector = im->has_sector ? cell(im, p->idx, C_SECTOR) : (wh_str_t){0};
        wh_stmt_bind_str(st, 1, cell(im, p->idx, C_ORG));
        wh_stmt_bind_str(st, 2, cell(im, p->idx, C_PERIOD));
        sqlite3_bind_int(st, 3, p->p.first);
        sqlite3_bind_int(st, 4, p->p.last);
        wh_stmt_bind_text(st, 5, id);
        wh_stmt_bind_str(st, 6, insurer);
        if (sector.n)
            wh_stmt_bind_str(st, 7, sector);
        else
            sqlite3_bind_null(st, 7);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return false;
    }
    if (!(st = wh_store_stmt(store, SQL_FIGURE_INSERT)))
        return false;
    for (int i = 0; i < im->t.n_rows; i++) {
        const row_t *w = &im->rows[i];
        wh_stmt_bind_str(st, 1, cell(im, w->idx, C_ORG));
        wh_stmt_bind_str(st, 2, cell(im, w->idx, C_PERIOD));
        wh_stmt_bind_str(st, 3, cell(im, w->idx, C_UNIT));
        sqlite3_bind_int(st, 4, w->chapter);
        sqlite3_bind_int64(st, 5, w->insured);
        sqlite3_bind_int64(st, 6, w->cases);
        sqlite3_bind_int64(st, 7, w->days);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return false;
    }
    return true;
}

void sickleave_import(wh_ctx_t *c)
{
    wh_str_t insurer = wh_request_param(c->req, "insurer_id");
    if (!insurer.p || !wh_id_valid(insurer.p, insurer.n)) {
        wh_reply_param(c->rep, "insurer_id",
                       "must be the id of the insurer whose figures these are");
        wh_reply_invalid(c->rep);
        return;
    }
    if (!wh_request_has_org(c->req, insurer)) {
        wh_ctx_not_found(c, "insurer");
        return;
    }
    import_t im = {.c = c};
    int rc = csvtab_decode(c->req->body, &im.t);
    if (rc != 0) {
        wh_reply_problem(c->rep, 400, "malformed-table", "the body is not a CSV table");
        return;
    }
    size_t n = (size_t)im.t.n_rows ? (size_t)im.t.n_rows : 1;
    size_t np = im.t.n_dict[C_PERIOD < im.t.n_cols ? C_PERIOD : 0] + 1;
    im.rows = malloc(n * sizeof *im.rows);
    im.pairs = malloc((n < SL_MAX_PERIODS ? n : SL_MAX_PERIODS) * sizeof *im.pairs);
    im.periods = malloc(np * sizeof *im.periods);
    im.period_ok = malloc(np * sizeof *im.period_ok);
    im.org_ok = malloc((im.t.n_dict[C_ORG] + 1) * sizeof *im.org_ok);
    if (!im.rows || !im.pairs || !im.periods || !im.period_ok || !im.org_ok) {
        wh_reply_problem(c->rep, 503, "unavailable", "out of memory");
        goto done;
    }
    if (!check_header(&im)) {
        wh_reply_invalid(c->rep);
        goto done;
    }
    check_cells(&im);
    if (!im.errors)
        check_rows(&im);
    if (im.stopped)
        wh_reply_problem(c->rep, 422, "validation",
                         "%d invalid fields or more: checking stopped there (the first %d listed)",
                         SL_MAX_ERRORS_SCAN, WH_REPLY_MAX_ERRORS);
    if (wh_reply_invalid(c->rep) || !check_stored(&im))
        goto done;
    char id[WH_ID_LEN + 1];
    wh_id_new(id);
    if (!store_rows(&im, id, insurer)) {
        wh_reply_problem(c->rep, 500, "internal", "the figures could not be stored");
        goto done;
    }
    /* Figures per unit are health data of the employer's staff: the log
     * names the import and its size only. */
    wh_log_info("sick-leave import %s: %d rows, %d organisation periods", id, im.t.n_rows,
                im.n_pairs);
    msgpack_packer *pk = wh_reply_ok(c->rep, 201);
    msgpack_pack_map(pk, 4);
    wh_msg_kv_str(pk, "id", id);
    wh_msg_kv_strn(pk, "insurer_id", insurer.p, insurer.n);
    wh_msg_kv_int(pk, "rows", im.t.n_rows);
    wh_msg_kv_int(pk, "periods", im.n_pairs);
done:
    free(im.rows);
    free(im.pairs);
    free(im.periods);
    free(im.period_ok);
    free(im.org_ok);
    csvtab_close(&im.t);
}

/* ---- reading ---------------------------------------------------------------- */

/* One group: a unit, or the organisation as a whole. Index 0 of the chapter
 * arrays is the total. */
typedef struct sl_group {
    char *name; /* NULL for the organisation */
    int64_t insured;
    int64_t cases[SL_CHAPTERS + 1], days[SL_CHAPTERS + 1];
    bool has[SL_CHAPTERS + 1];
    bool hidden;
} sl_group_t;

struct sl_table {
    char period[8];
    int ndays;
    char import_id[WH_ID_LEN + 1];
    char insurer_id[WH_ID_LEN + 1];
    char sector[4 * SL_MAX_SECTOR + 1]; /* "" none */
    int n;                              /* groups[0] is the organisation, then the units by name */
    sl_group_t *groups;
};

void sl_table_destroy(sl_table_t **t_p)
{
    sl_table_t *t = *t_p;
    if (!t)
        return;
    for (int i = 0; i < t->n; i++)
        free(t->groups[i].name);
    free(t->groups);
    free(t);
    *t_p = NULL;
}

static int load_groups(wh_store_t *store, wh_str_t org, sl_table_t *t)
{
    sqlite3_stmt *st = wh_store_stmt(store, SQL_FIGURES);
    if (!st)
        return WH_ESTORE;
    wh_stmt_bind_str(st, 1, org);
    wh_stmt_bind_text(st, 2, t->period);
    /* The import allowed SL_MAX_UNITS units; more cannot be stored. */
    t->groups = calloc(SL_MAX_UNITS + 1, sizeof *t->groups);
    if (!t->groups) {
        sqlite3_reset(st);
        return WH_ENOMEM;
    }
    t->n = 1;
    sl_group_t *org_g = &t->groups[0];
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        wh_str_t unit = wh_stmt_col_str(st, 0);
        int ch = sqlite3_column_int(st, 1);
        if (ch < 0 || ch > SL_CHAPTERS)
            continue;
        sl_group_t *g = &t->groups[t->n - 1];
        if (t->n == 1 || strlen(g->name) != unit.n || memcmp(g->name, unit.p, unit.n) != 0) {
            if (t->n == SL_MAX_UNITS + 1)
                break;
            g = &t->groups[t->n++];
            g->name = malloc(unit.n + 1);
            if (!g->name) {
                sqlite3_reset(st);
                return WH_ENOMEM;
            }
            memcpy(g->name, unit.p, unit.n);
            g->name[unit.n] = '\0';
        }
        int64_t insured = sqlite3_column_int64(st, 2);
        if (ch == 0) {
            g->insured = insured;
            org_g->insured += insured;
        }
        g->cases[ch] = sqlite3_column_int64(st, 3);
        g->days[ch] = sqlite3_column_int64(st, 4);
        g->has[ch] = true;
        org_g->cases[ch] += g->cases[ch];
        org_g->days[ch] += g->days[ch];
        org_g->has[ch] = true;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : WH_ESTORE;
}

/* The survey rule on the tree organisation -> units, n = insured people:
 * the units are the children, and nobody belongs to the organisation
 * without a unit (own = 0). */
static int suppress_groups(sl_table_t *t)
{
    supp_node_t *nodes = calloc((size_t)t->n, sizeof *nodes);
    if (!nodes)
        return WH_ENOMEM;
    for (int i = 0; i < t->n; i++)
        nodes[i] = (supp_node_t){.parent = i ? 0 : -1, .n = t->groups[i].insured};
    int rc = supp_run(nodes, t->n, SL_MIN_INSURED);
    for (int i = 0; i < t->n; i++)
        t->groups[i].hidden = nodes[i].hidden || rc != 0;
    free(nodes);
    return rc;
}

int sl_table_load(wh_store_t *store, wh_str_t org, wh_str_t period, sl_table_t **out)
{
    *out = NULL;
    period_t p;
    if (!period_parse(period, &p))
        return WH_EINVAL;
    sl_table_t *t = calloc(1, sizeof *t);
    if (!t)
        return WH_ENOMEM;
    snprintf(t->period, sizeof t->period, "%.*s", (int)period.n, period.p);
    t->ndays = p.last - p.first + 1;
    sqlite3_stmt *st = wh_store_stmt(store, SQL_PERIOD_GET);
    int rc = WH_ESTORE;
    if (st) {
        wh_stmt_bind_str(st, 1, org);
        wh_stmt_bind_str(st, 2, period);
        rc = sqlite3_step(st) == SQLITE_ROW ? 0 : WH_ENOTFOUND;
        if (rc == 0) {
            wh_stmt_col_copy(st, 0, t->import_id, sizeof t->import_id);
            wh_stmt_col_copy(st, 1, t->insurer_id, sizeof t->insurer_id);
            wh_stmt_col_copy(st, 2, t->sector, sizeof t->sector);
        }
        sqlite3_reset(st);
    }
    if (rc == 0)
        rc = load_groups(store, org, t);
    if (rc == 0)
        rc = suppress_groups(t);
    if (rc != 0) {
        sl_table_destroy(&t);
        return rc;
    }
    *out = t;
    return 0;
}

static double rate_of(int64_t days, int64_t insured, int ndays)
{
    if (insured <= 0 || ndays <= 0)
        return 0;
    return round((double)days / ((double)insured * ndays) * 100.0 * 100.0) / 100.0;
}

static void pack_item(msgpack_packer *pk, const sl_table_t *t, const sl_group_t *g, int ch)
{
    msgpack_pack_map(pk, 8);
    wh_msg_kv_str(pk, "unit", g->name);
    wh_msg_kv_str(pk, "icd_chapter", ch ? CHAPTERS[ch] : NULL);
    wh_msg_kv_str(pk, "period", t->period);
    if (g->hidden) {
        wh_msg_kv_nil(pk, "insured");
        wh_msg_kv_nil(pk, "cases");
        wh_msg_kv_nil(pk, "days");
        wh_msg_kv_nil(pk, "rate");
    } else {
        wh_msg_kv_int(pk, "insured", g->insured);
        wh_msg_kv_int(pk, "cases", g->cases[ch]);
        wh_msg_kv_int(pk, "days", g->days[ch]);
        wh_msg_pack_str(pk, "rate");
        msgpack_pack_double(pk, rate_of(g->days[ch], g->insured, t->ndays));
    }
    wh_msg_kv_bool(pk, "suppressed", g->hidden);
}

void sl_table_pack_unit(msgpack_packer *pk, const sl_table_t *t, wh_str_t unit)
{
    for (int i = 0; i < t->n; i++) {
        const sl_group_t *g = &t->groups[i];
        bool match =
            unit.p ? g->name && strlen(g->name) == unit.n && memcmp(g->name, unit.p, unit.n) == 0
                   : i == 0;
        if (match) {
            pack_item(pk, t, g, 0);
            return;
        }
    }
    msgpack_pack_nil(pk);
}

/* Who may read an organisation's figures: admins, its own coordinators and
 * consultants, and the consultants of the insurer that imported them. */
static bool visible(const wh_ctx_t *c, wh_str_t org, const sl_table_t *t)
{
    return wh_request_has_org(c->req, org) || wh_request_has_org(c->req, wh_cstr(t->insurer_id));
}

static void pack_sector(wh_ctx_t *c, msgpack_packer *pk, const sl_table_t *t)
{
    wh_msg_pack_str(pk, "sector");
    sqlite3_stmt *st = t->sector[0] ? wh_store_stmt(c->store, SQL_SECTOR) : NULL;
    if (!st) {
        msgpack_pack_nil(pk);
        return;
    }
    wh_stmt_bind_text(st, 1, t->import_id);
    wh_stmt_bind_text(st, 2, t->period);
    wh_stmt_bind_text(st, 3, t->sector);
    int64_t orgs = 0, days = 0, insured = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        orgs = sqlite3_column_int64(st, 0);
        days = sqlite3_column_int64(st, 1);
        insured = sqlite3_column_int64(st, 2);
    }
    sqlite3_reset(st);
    msgpack_pack_map(pk, 3);
    wh_msg_kv_str(pk, "name", t->sector);
    wh_msg_kv_int(pk, "orgs", orgs);
    wh_msg_pack_str(pk, "rate");
    if (orgs >= SL_MIN_SECTOR_ORGS)
        msgpack_pack_double(pk, rate_of(days, insured, t->ndays));
    else
        msgpack_pack_nil(pk);
}

/* Whether group i has an item in chapter ch's list. A hidden unit is listed
 * under every chapter the organisation has, whether or not it has a row
 * there: its presence would tell which hidden unit the organisation's
 * chapter figure minus the units shown belongs to. */
static bool listed(const sl_table_t *t, int i, int ch)
{
    const sl_group_t *g = &t->groups[i];
    return g->hidden && i > 0 ? t->groups[0].has[ch] : g->has[ch];
}

void sickleave_get(wh_ctx_t *c)
{
    wh_str_t org = wh_request_param(c->req, "org_id");
    wh_str_t period = wh_request_param(c->req, "period");
    wh_str_t by = wh_request_param(c->req, "by");
    period_t p;
    if (!org.p || !wh_id_valid(org.p, org.n))
        wh_reply_param(c->rep, "org_id", "must be an organisation id");
    if (!period.p || !period_parse(period, &p))
        wh_reply_param(c->rep, "period", "must be YYYY, YYYY-MM or YYYY-Qn");
    bool by_chapter = by.p && wh_str_eq(by, "icd_chapter");
    if (by.p && !by_chapter && !wh_str_eq(by, "unit"))
        wh_reply_param(c->rep, "by", "must be unit or icd_chapter");
    if (wh_reply_invalid(c->rep))
        return;
    sl_table_t *t;
    int rc = sl_table_load(c->store, org, period, &t);
    if (rc == WH_ENOTFOUND || (rc == 0 && !visible(c, org, t))) {
        sl_table_destroy(&t);
        wh_ctx_not_found(c, "sick-leave figures for this organisation and period");
        return;
    }
    if (rc != 0) {
        wh_log_error("sick-leave figures: %s", wh_strerror(rc));
        wh_reply_problem(c->rep, 500, "internal", "the figures could not be read");
        return;
    }
    msgpack_packer *pk = wh_reply_ok(c->rep, 200);
    msgpack_pack_map(pk, 5);
    wh_msg_kv_strn(pk, "org_id", org.p, org.n);
    wh_msg_kv_str(pk, "period", t->period);
    wh_msg_kv_str(pk, "by", by_chapter ? "icd_chapter" : "unit");
    wh_msg_pack_str(pk, "items");
    if (!by_chapter) {
        msgpack_pack_array(pk, (size_t)t->n);
        for (int i = 0; i < t->n; i++)
            pack_item(pk, t, &t->groups[i], 0);
    } else {
        /* Chapter by chapter: the organisation, then each unit that has it. */
        size_t n = 0;
        for (int ch = 1; ch <= SL_CHAPTERS; ch++)
            for (int i = 0; i < t->n; i++)
                n += listed(t, i, ch);
        msgpack_pack_array(pk, n);
        for (int ch = 1; ch <= SL_CHAPTERS; ch++)
            for (int i = 0; i < t->n; i++)
                if (listed(t, i, ch))
                    pack_item(pk, t, &t->groups[i], ch);
    }
    pack_sector(c, pk, t);
    sl_table_destroy(&t);
}
