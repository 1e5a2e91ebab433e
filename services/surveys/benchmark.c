#include "benchmark.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "log.h"
#include "networks.h"
#include "outbox.h"
#include "scoring.h"
#include "survey.h"

static const char *const publish_fields[] = {"template_id", "year", NULL};

static const char SQL_TEMPLATE_OF[] =
    "SELECT definition FROM network_templates WHERE id = ?1 AND network_id = ?2";
static const char SQL_BENCH_EXISTS[] =
    "SELECT 1 FROM network_benchmarks WHERE template_id = ?1 AND year = ?2";
static const char SQL_MEMBERS[] =
    "SELECT org_id FROM network_members WHERE network_id = ?1 ORDER BY org_id LIMIT ?2";
/* An organisation's closed surveys from the template, latest first. */
static const char SQL_SURVEYS_OF[] =
    "SELECT id, closed_at FROM surveys WHERE template_id = ?1 AND org_id = ?2"
    " AND state = 'closed' AND closed_at IS NOT NULL ORDER BY closed_at DESC, id DESC";
static const char SQL_ANSWERS[] = "SELECT answers FROM survey_responses WHERE survey_id = ?1";
static const char SQL_BENCH_INSERT[] =
    "INSERT INTO network_benchmarks(template_id, year, network_id, members, contributors,"
    " published_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char SQL_BENCH_MEMBER_INSERT[] =
    "INSERT INTO network_benchmark_members(template_id, year, org_id, survey_id)"
    " VALUES (?1, ?2, ?3, ?4)";
static const char SQL_BENCH_DIM_INSERT[] =
    "INSERT INTO network_benchmark_dims(template_id, year, idx, dimension, orgs, mean, p25,"
    " median, p75) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char SQL_BENCH_OWN_INSERT[] =
    "INSERT INTO network_benchmark_own(template_id, year, idx, org_id, mean)"
    " VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_BENCH_GET[] =
    "SELECT network_id, members, contributors, published_at FROM network_benchmarks"
    " WHERE template_id = ?1 AND year = ?2";
static const char SQL_BENCH_DIM_COUNT[] =
    "SELECT count(*) FROM network_benchmark_dims WHERE template_id = ?1 AND year = ?2";
static const char SQL_BENCH_DIMS[] =
    "SELECT idx, dimension, orgs, mean, p25, median, p75 FROM network_benchmark_dims"
    " WHERE template_id = ?1 AND year = ?2 ORDER BY idx";
/* ?4 is the principal's organisations as a JSON array; admins are not an
 * organisation and are never asked here. */
static const char SQL_BENCH_OWN[] =
    "SELECT org_id, mean FROM network_benchmark_own"
    " WHERE template_id = ?1 AND year = ?2 AND idx = ?3"
    "   AND org_id IN (SELECT value FROM json_each(?4)) ORDER BY org_id LIMIT ?5";

static double round1(double x)
{
    return floor(x * 10.0 + 0.5) / 10.0;
}

bool bench_quartiles(const double *sorted, int n, double q[3])
{
    int groups = n / BENCH_GROUP_MIN;
    if (groups < 2)
        return false;
    double *agg = malloc(sizeof(double) * (size_t)n);
    if (!agg)
        return false;
    /* Group g holds sorted[g * n / groups .. (g + 1) * n / groups): sizes
     * differ by at most one and none is below BENCH_GROUP_MIN. */
    for (int g = 0; g < groups; g++) {
        int lo = (int)((long)g * n / groups), hi = (int)((long)(g + 1) * n / groups);
        double sum = 0;
        for (int i = lo; i < hi; i++)
            sum += sorted[i];
        for (int i = lo; i < hi; i++)
            agg[i] = sum / (hi - lo);
    }
    static const double p[3] = {0.25, 0.5, 0.75};
    for (int k = 0; k < 3; k++) {
        double pos = p[k] * (n - 1);
        int i = (int)floor(pos);
        double frac = pos - i;
        q[k] = i + 1 < n ? agg[i] + frac * (agg[i + 1] - agg[i]) : agg[i];
    }
    free(agg);
    return true;
}

int bench_quarter(double value, const double q[3])
{
    return value <= q[0] ? 1 : value <= q[1] ? 2 : value <= q[2] ? 3 : 4;
}

/* One member organisation at publication: the survey it contributes (""
 * for none) and, per template dimension, its respondents and the sum of
 * their scores. */
typedef struct contrib {
    char org[WH_ID_LEN + 1];
    char survey[WH_ID_LEN + 1];
    int threshold;
    int64_t n[DEF_MAX_DIMENSIONS];
    double sum[DEF_MAX_DIMENSIONS];
} contrib_t;

static int year_of(const char *instant)
{
    int64_t ms;
    int y, m, d;
    if (wh_clock_parse_rfc3339(instant, strlen(instant), &ms) != 0)
        return 0;
    wh_date_civil(wh_date_of_ms(ms), &y, &m, &d);
    return y;
}

/* The organisation's last survey from the template closed in year. */
static int find_survey(wh_store_t *store, const char *template_id, int year, contrib_t *ct)
{
    sqlite3_stmt *st = wh_store_stmt(store, SQL_SURVEYS_OF);
    if (!st)
        return WH_ESTORE;
    wh_stmt_bind_text(st, 1, template_id);
    wh_stmt_bind_text(st, 2, ct->org);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char closed[WH_RFC3339_LEN + 8];
        wh_stmt_col_copy(st, 1, closed, sizeof closed);
        int y = year_of(closed);
        if (y == year) {
            wh_stmt_col_copy(st, 0, ct->survey, sizeof ct->survey);
            break;
        }
        if (y < year)
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : WH_ESTORE;
}

/* Scores the survey's respondents per template dimension, as the survey's
 * own results do (scoring.h): a respondent's dimension score is the mean
 * of their answered items of it; the organisation's figure is the mean of
 * those over the whole organisation. The survey was made from the template,
 * so its dimensions are the template's; they are matched by key all the
 * same. */
static int score_survey(wh_store_t *store, const survey_def_t *tdef, contrib_t *ct)
{
    survey_t s;
    int rc = survey_load(store, wh_cstr(ct->survey), &s);
    if (rc != 0)
        return rc;
    const survey_def_t *d = &s.def;
    ct->threshold = s.threshold;
    int map[DEF_MAX_DIMENSIONS];
    for (int i = 0; i < d->n_dims; i++)
        map[i] = def_find_dim(tdef, d->dims[i].key);
    sqlite3_stmt *st = wh_store_stmt(store, SQL_ANSWERS);
    if (!st) {
        survey_close(&s);
        return WH_ESTORE;
    }
    wh_stmt_bind_text(st, 1, s.id);
    double sum[DEF_MAX_DIMENSIONS];
    int cnt[DEF_MAX_DIMENSIONS];
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *ans = sqlite3_column_blob(st, 0);
        if (sqlite3_column_bytes(st, 0) != d->n_questions)
            continue; /* not written by this definition; cannot happen */
        memset(sum, 0, sizeof sum);
        memset(cnt, 0, sizeof cnt);
        for (int q = 0; q < d->n_questions; q++) {
            const def_question_t *dq = &d->questions[q];
            if (ans[q] == DEF_SKIPPED || ans[q] < dq->min || ans[q] > dq->max)
                continue;
            sum[dq->dim] += score_item(ans[q], dq->min, dq->max, dq->reverse);
            cnt[dq->dim]++;
        }
        for (int i = 0; i < d->n_dims; i++)
            if (cnt[i] && map[i] >= 0) {
                ct->n[map[i]]++;
                ct->sum[map[i]] += sum[i] / cnt[i];
            }
    }
    sqlite3_reset(st);
    survey_close(&s);
    return rc == SQLITE_DONE ? 0 : WH_ESTORE;
}

typedef struct org_value {
    double mean;
    const char *org;
} org_value_t;

static int by_mean(const void *a, const void *b)
{
    double x = ((const org_value_t *)a)->mean, y = ((const org_value_t *)b)->mean;
    return x < y ? -1 : x > y;
}

static void bind_nullable(sqlite3_stmt *st, int idx, bool set, double v)
{
    if (set)
        sqlite3_bind_double(st, idx, v);
    else
        sqlite3_bind_null(st, idx);
}

/* Computes and stores dimension idx of the benchmark; a dimension with
 * fewer than BENCH_MIN_ORGS organisations over their threshold is not
 * stored at all. */
static int store_dimension(wh_store_t *store, const char *template_id, int year,
                           const survey_def_t *tdef, int idx, const contrib_t *cts, int n_cts,
                           int *shown)
{
    org_value_t vals[NET_MAX_MEMBERS];
    int n = 0;
    for (int i = 0; i < n_cts; i++)
        if (cts[i].survey[0] && cts[i].n[idx] > 0 && cts[i].n[idx] >= cts[i].threshold)
            vals[n++] = (org_value_t){cts[i].sum[idx] / (double)cts[i].n[idx], cts[i].org};
    if (n < BENCH_MIN_ORGS)
        return 0;
    qsort(vals, (size_t)n, sizeof vals[0], by_mean);
    double sorted[NET_MAX_MEMBERS], total = 0, q[3];
    for (int i = 0; i < n; i++) {
        sorted[i] = vals[i].mean;
        total += vals[i].mean;
    }
    bool quartiles = bench_quartiles(sorted, n, q);
    sqlite3_stmt *st = wh_store_stmt(store, SQL_BENCH_DIM_INSERT);
    if (!st)
        return WH_ESTORE;
    wh_stmt_bind_text(st, 1, template_id);
    sqlite3_bind_int(st, 2, year);
    sqlite3_bind_int(st, 3, idx);
    wh_stmt_bind_str(st, 4, tdef->dims[idx].key);
    sqlite3_bind_int(st, 5, n);
    sqlite3_bind_double(st, 6, round1(total / n));
    for (int k = 0; k < 3; k++)
        bind_nullable(st, 7 + k, quartiles, quartiles ? round1(q[k]) : 0);
    if (sqlite3_step(st) != SQLITE_DONE)
        return WH_ESTORE;
    st = wh_store_stmt(store, SQL_BENCH_OWN_INSERT);
    if (!st)
        return WH_ESTORE;
    for (int i = 0; i < n; i++) {
        wh_stmt_bind_text(st, 1, template_id);
        sqlite3_bind_int(st, 2, year);
        sqlite3_bind_int(st, 3, idx);
        wh_stmt_bind_text(st, 4, vals[i].org);
        sqlite3_bind_double(st, 5, round1(vals[i].mean));
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return WH_ESTORE;
    }
    (*shown)++;
    return 0;
}

static int store_benchmark(wh_store_t *store, const char *network_id, const char *template_id,
                           int year, const contrib_t *cts, int n_cts)
{
    int contributors = 0;
    for (int i = 0; i < n_cts; i++)
        contributors += cts[i].survey[0] != '\0';
    char now[WH_RFC3339_LEN];
    wh_clock_format_rfc3339(wh_clock_now_ms(), now);
    sqlite3_stmt *st = wh_store_stmt(store, SQL_BENCH_INSERT);
    if (!st)
        return WH_ESTORE;
    wh_stmt_bind_text(st, 1, template_id);
    sqlite3_bind_int(st, 2, year);
    wh_stmt_bind_text(st, 3, network_id);
    sqlite3_bind_int(st, 4, n_cts);
    sqlite3_bind_int(st, 5, contributors);
    wh_stmt_bind_text(st, 6, now);
    if (sqlite3_step(st) != SQLITE_DONE)
        return WH_ESTORE;
    st = wh_store_stmt(store, SQL_BENCH_MEMBER_INSERT);
    if (!st)
        return WH_ESTORE;
    for (int i = 0; i < n_cts; i++) {
        wh_stmt_bind_text(st, 1, template_id);
        sqlite3_bind_int(st, 2, year);
        wh_stmt_bind_text(st, 3, cts[i].org);
        wh_stmt_bind_text(st, 4, cts[i].survey[0] ? cts[i].survey : NULL);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return WH_ESTORE;
    }
    /* One event per member organisation, so that each member's
     * subscriptions hear of it; ids and the year only, never a figure. */
    for (int i = 0; i < n_cts; i++) {
        wh_event_t ev;
        msgpack_packer *pk = wh_event_start(&ev, 3);
        wh_msg_kv_str(pk, "network_id", network_id);
        wh_msg_kv_str(pk, "template_id", template_id);
        wh_msg_kv_int(pk, "year", year);
        int rc = wh_event_emit(&ev, store, "network.benchmark_published", cts[i].org);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Reads the frozen members and scores the survey each contributes. */
static int gather(wh_store_t *store, const char *network_id, const char *template_id, int year,
                  const survey_def_t *tdef, contrib_t *cts, int *n_cts)
{
    sqlite3_stmt *st = wh_store_stmt(store, SQL_MEMBERS);
    if (!st)
        return WH_ESTORE;
    wh_stmt_bind_text(st, 1, network_id);
    sqlite3_bind_int(st, 2, NET_MAX_MEMBERS);
    int n = 0, rc;
    while (n < NET_MAX_MEMBERS && (rc = sqlite3_step(st)) == SQLITE_ROW)
        wh_stmt_col_copy(st, 0, cts[n++].org, sizeof cts[0].org);
    sqlite3_reset(st);
    *n_cts = n;
    for (int i = 0; i < n; i++) {
        if ((rc = find_survey(store, template_id, year, &cts[i])) != 0)
            return rc;
        if (cts[i].survey[0] && (rc = score_survey(store, tdef, &cts[i])) != 0)
            return rc;
    }
    return 0;
}

static void reply_benchmark(wh_ctx_t *c, const char *network_id, wh_str_t template_id, int year,
                            int status);

void benchmark_publish(wh_ctx_t *c)
{
    char network_id[WH_ID_LEN + 1];
    if (!network_load_scoped(c, network_id))
        return;
    wh_valid_t v;
    if (!wh_ctx_body(c, &v, publish_fields))
        return;
    wh_str_t template_id = {0};
    int64_t year = 0;
    wh_valid_str(&v, "template_id", WH_V_REQUIRED, 1, WH_ID_LEN, &template_id);
    wh_valid_int(&v, "year", WH_V_REQUIRED, BENCH_MIN_YEAR, BENCH_MAX_YEAR, &year);
    if (wh_reply_invalid(c->rep))
        return;
    survey_def_t tdef = {0};
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_TEMPLATE_OF);
    if (!st) {
        wh_reply_problem(c->rep, 500, "internal", "the template could not be read");
        return;
    }
    wh_stmt_bind_str(st, 1, template_id);
    wh_stmt_bind_text(st, 2, network_id);
    bool found =
        sqlite3_step(st) == SQLITE_ROW &&
        def_load(&tdef, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0)) == 0;
    sqlite3_reset(st);
    if (!found) {
        wh_reply_field(c->rep, "/template_id", "is not a template of this network");
        wh_reply_invalid(c->rep);
        return;
    }
    int y, m, d;
    wh_date_civil(wh_clock_today(), &y, &m, &d);
    contrib_t *cts = NULL;
    st = wh_store_stmt(c->store, SQL_BENCH_EXISTS);
    wh_stmt_bind_str(st, 1, template_id);
    sqlite3_bind_int64(st, 2, year);
    bool exists = st && sqlite3_step(st) == SQLITE_ROW;
    if (st)
        sqlite3_reset(st);
    if (exists) {
        wh_reply_problem(c->rep, 409, "published",
                         "the benchmark of %lld for this template is published already; it "
                         "never changes",
                         (long long)year);
        goto done;
    }
    if (year >= y) {
        wh_reply_problem(c->rep, 409, "year-not-ended",
                         "a benchmark covers a year that has ended; %lld has not", (long long)year);
        goto done;
    }
    cts = calloc(NET_MAX_MEMBERS, sizeof *cts);
    int n_cts = 0, shown = 0, rc = cts ? 0 : WH_ENOMEM;
    char tid[WH_ID_LEN + 1];
    snprintf(tid, sizeof tid, "%.*s", (int)template_id.n, template_id.p);
    if (rc == 0)
        rc = gather(c->store, network_id, tid, (int)year, &tdef, cts, &n_cts);
    for (int i = 0; rc == 0 && i < tdef.n_dims; i++)
        rc = store_dimension(c->store, tid, (int)year, &tdef, i, cts, n_cts, &shown);
    if (rc == 0 && shown == 0) {
        /* Nothing is stored (the request's savepoint is undone): a
         * benchmark without a single dimension would only use up the year. */
        wh_reply_problem(c->rep, 409, "too-few-organisations",
                         "no dimension has %d organisations with enough respondents in %lld; "
                         "nothing was published",
                         BENCH_MIN_ORGS, (long long)year);
        goto done;
    }
    if (rc == 0)
        rc = store_benchmark(c->store, network_id, tid, (int)year, cts, n_cts);
    if (rc != 0) {
        wh_log_error("benchmark of template %s for %lld: %s", tid, (long long)year,
                     wh_strerror(rc));
        wh_reply_problem(c->rep, 500, "internal", "the benchmark could not be computed");
        goto done;
    }
    reply_benchmark(c, network_id, template_id, (int)year, 201);
done:
    free(cts);
    def_close(&tdef);
}

static void kv_double_or_nil(msgpack_packer *pk, const char *key, sqlite3_stmt *st, int col)
{
    wh_msg_pack_str(pk, key);
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        msgpack_pack_nil(pk);
    else
        msgpack_pack_double(pk, sqlite3_column_double(st, col));
}

/* own: [{org_id, mean, quarter}] for the caller's organisations that
 * count in dimension idx; empty for admins, who are no organisation. */
static void pack_own(msgpack_packer *pk, wh_ctx_t *c, const char *template_id, int year, int idx,
                     bool quartiles, const double q[3])
{
    struct {
        char org[WH_ID_LEN + 1];
        double mean;
    } own[NET_MAX_MEMBERS];
    int n = 0;
    sqlite3_stmt *st =
        c->req->principal.role == WH_ROLE_ADMIN ? NULL : wh_store_stmt(c->store, SQL_BENCH_OWN);
    if (st) {
        wh_stmt_bind_text(st, 1, template_id);
        sqlite3_bind_int(st, 2, year);
        sqlite3_bind_int(st, 3, idx);
        wh_request_bind_scope(st, 4, c->req);
        sqlite3_bind_int(st, 5, NET_MAX_MEMBERS);
        while (n < NET_MAX_MEMBERS && sqlite3_step(st) == SQLITE_ROW) {
            wh_stmt_col_copy(st, 0, own[n].org, sizeof own[n].org);
            own[n++].mean = sqlite3_column_double(st, 1);
        }
        sqlite3_reset(st);
    }
    wh_msg_pack_str(pk, "own");
    msgpack_pack_array(pk, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        msgpack_pack_map(pk, 3);
        wh_msg_kv_str(pk, "org_id", own[i].org);
        wh_msg_pack_str(pk, "mean");
        msgpack_pack_double(pk, own[i].mean);
        wh_msg_pack_str(pk, "quartile");
        if (quartiles)
            msgpack_pack_int(pk, bench_quarter(own[i].mean, q));
        else
            msgpack_pack_nil(pk);
    }
}

static void reply_benchmark(wh_ctx_t *c, const char *network_id, wh_str_t template_id, int year,
                            int status)
{
    char tid[WH_ID_LEN + 1];
    snprintf(tid, sizeof tid, "%.*s", (int)template_id.n, template_id.p);
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_BENCH_GET);
    if (!st) {
        wh_reply_problem(c->rep, 500, "internal", "the benchmark could not be read");
        return;
    }
    wh_stmt_bind_text(st, 1, tid);
    sqlite3_bind_int(st, 2, year);
    if (sqlite3_step(st) != SQLITE_ROW || !wh_str_eq(wh_stmt_col_str(st, 0), network_id)) {
        sqlite3_reset(st);
        wh_reply_problem(c->rep, 404, "not-found",
                         "no benchmark of this template for %d has been published", year);
        return;
    }
    int64_t members = sqlite3_column_int64(st, 1), contributors = sqlite3_column_int64(st, 2);
    char published[WH_RFC3339_LEN + 8];
    wh_stmt_col_copy(st, 3, published, sizeof published);
    sqlite3_reset(st);
    st = wh_store_stmt(c->store, SQL_BENCH_DIM_COUNT);
    wh_stmt_bind_text(st, 1, tid);
    sqlite3_bind_int(st, 2, year);
    int64_t n_dims = st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    if (st)
        sqlite3_reset(st);
    msgpack_packer *pk = wh_reply_ok(c->rep, status);
    msgpack_pack_map(pk, 8);
    wh_msg_kv_str(pk, "network_id", network_id);
    wh_msg_kv_str(pk, "template_id", tid);
    wh_msg_kv_int(pk, "year", year);
    wh_msg_kv_str(pk, "published_at", published);
    wh_msg_kv_int(pk, "members", members);
    wh_msg_kv_int(pk, "contributors", contributors);
    wh_msg_kv_int(pk, "min_orgs", BENCH_MIN_ORGS);
    wh_msg_pack_str(pk, "dimensions");
    msgpack_pack_array(pk, (uint32_t)n_dims);
    st = wh_store_stmt(c->store, SQL_BENCH_DIMS);
    wh_stmt_bind_text(st, 1, tid);
    sqlite3_bind_int(st, 2, year);
    for (int64_t i = 0; i < n_dims; i++) {
        if (!st || sqlite3_step(st) != SQLITE_ROW) {
            wh_reply_problem(c->rep, 500, "internal", "the benchmark could not be read");
            break;
        }
        bool quartiles = sqlite3_column_type(st, 4) != SQLITE_NULL;
        double q[3] = {sqlite3_column_double(st, 4), sqlite3_column_double(st, 5),
                       sqlite3_column_double(st, 6)};
        msgpack_pack_map(pk, 7);
        wh_stmt_kv_text(pk, "dimension", st, 1);
        wh_stmt_kv_int(pk, "orgs", st, 2);
        kv_double_or_nil(pk, "mean", st, 3);
        kv_double_or_nil(pk, "p25", st, 4);
        kv_double_or_nil(pk, "median", st, 5);
        kv_double_or_nil(pk, "p75", st, 6);
        pack_own(pk, c, tid, year, sqlite3_column_int(st, 0), quartiles, q);
    }
    if (st)
        sqlite3_reset(st);
}

void benchmark_get(wh_ctx_t *c)
{
    char network_id[WH_ID_LEN + 1];
    if (!network_load_scoped(c, network_id))
        return;
    int64_t year = 0;
    wh_str_t template_id;
    bool ok = wh_param_int(c->req, c->rep, "year", BENCH_MIN_YEAR, BENCH_MAX_YEAR, &year);
    ok = wh_param_id(c->req, c->rep, "template_id", "must be a template id", &template_id) && ok;
    if (ok && !template_id.p) {
        wh_reply_param(c->rep, "template_id", "is required");
        ok = false;
    }
    if (!ok) {
        wh_reply_invalid(c->rep);
        return;
    }
    reply_benchmark(c, network_id, template_id, (int)year, 200);
}
