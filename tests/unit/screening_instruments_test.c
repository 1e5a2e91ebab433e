/* services/screening/instruments.c: the instrument table is well-formed, and
 * every instrument scores as docs/DOMAIN.md specifies. Vectors sit on each band
 * boundary from both sides, cover the reverse-scored items of PSS-10, the
 * WHO-5 percentage (raw x 4, not (raw - 5) x 4), and PHQ-9's item 9; invalid
 * answers are reported with a pointer per item. Also the checks of the
 * subject pseudonym and language tag. */
#include <string.h>

#include "check.h"
#include "instruments.h"
#include "screenings.h"

typedef struct vector {
    const char *instrument;
    int answers[SCR_MAX_ITEMS];
    int raw, score;
    const char *band;
    bool at_risk, urgent;
    const char *flag; /* NULL: no flag */
} vector_t;

static const vector_t vectors[] = {
    /* WHO-5: percentage = raw x 4; <= 28 likely depression, <= 50 poor. */
    {"who5", {0, 0, 0, 0, 0}, 0, 0, "likely_depression", true, false, NULL},
    {"who5", {2, 2, 1, 1, 1}, 7, 28, "likely_depression", true, false, NULL},
    {"who5", {2, 2, 2, 1, 1}, 8, 32, "poor_wellbeing", true, false, NULL},
    {"who5", {3, 3, 2, 2, 2}, 12, 48, "poor_wellbeing", true, false, NULL},
    {"who5", {3, 3, 3, 2, 2}, 13, 52, "adequate", false, false, NULL},
    /* (15 - 5) x 4 would be 40, poor well-being: the published trap. */
    {"who5", {3, 3, 3, 3, 3}, 15, 60, "adequate", false, false, NULL},
    {"who5", {5, 5, 5, 5, 5}, 25, 100, "adequate", false, false, NULL},
    /* PSS-10: items 4, 5, 7 and 8 count as 4 - answer. */
    {"pss10", {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 16, 16, "moderate", false, false, NULL},
    {"pss10", {4, 4, 4, 4, 4, 4, 4, 4, 4, 4}, 24, 24, "moderate", false, false, NULL},
    {"pss10", {0, 0, 0, 4, 4, 0, 4, 4, 0, 0}, 0, 0, "low", false, false, NULL},
    {"pss10", {3, 3, 3, 4, 4, 2, 4, 4, 2, 0}, 13, 13, "low", false, false, NULL},
    {"pss10", {3, 3, 3, 4, 4, 2, 4, 4, 2, 1}, 14, 14, "moderate", false, false, NULL},
    {"pss10", {4, 4, 4, 2, 4, 4, 4, 4, 4, 4}, 26, 26, "moderate", false, false, NULL},
    {"pss10", {4, 4, 4, 1, 4, 4, 4, 4, 4, 4}, 27, 27, "high", true, false, NULL},
    {"pss10", {4, 4, 4, 0, 0, 4, 0, 0, 4, 4}, 40, 40, "high", true, false, NULL},
    /* KEDS: at risk from 19. */
    {"keds", {0, 0, 0, 0, 0, 0, 0, 0, 0}, 0, 0, "below_cutoff", false, false, NULL},
    {"keds", {2, 2, 2, 2, 2, 2, 2, 2, 2}, 18, 18, "below_cutoff", false, false, NULL},
    {"keds", {3, 2, 2, 2, 2, 2, 2, 2, 2}, 19, 19, "exhaustion_risk", true, false, NULL},
    {"keds", {6, 6, 6, 6, 6, 6, 6, 6, 6}, 54, 54, "exhaustion_risk", true, false, NULL},
    /* PHQ-9: at risk from 10; item 9 above 0 is self_harm and urgent. */
    {"phq9", {0, 0, 0, 0, 0, 0, 0, 0, 0}, 0, 0, "minimal", false, false, NULL},
    {"phq9", {1, 1, 1, 1, 0, 0, 0, 0, 0}, 4, 4, "minimal", false, false, NULL},
    {"phq9", {1, 1, 1, 1, 1, 0, 0, 0, 0}, 5, 5, "mild", false, false, NULL},
    {"phq9", {2, 1, 1, 1, 1, 1, 1, 1, 0}, 9, 9, "mild", false, false, NULL},
    {"phq9", {2, 2, 1, 1, 1, 1, 1, 1, 0}, 10, 10, "moderate", true, false, NULL},
    {"phq9", {2, 2, 2, 2, 2, 1, 1, 2, 0}, 14, 14, "moderate", true, false, NULL},
    {"phq9", {2, 2, 2, 2, 2, 2, 1, 2, 0}, 15, 15, "moderately_severe", true, false, NULL},
    {"phq9", {3, 3, 3, 2, 2, 2, 2, 2, 0}, 19, 19, "moderately_severe", true, false, NULL},
    {"phq9", {3, 3, 3, 3, 2, 2, 2, 2, 0}, 20, 20, "severe", true, false, NULL},
    {"phq9", {3, 3, 3, 3, 3, 3, 3, 3, 0}, 24, 24, "severe", true, false, NULL},
    {"phq9", {3, 3, 3, 3, 3, 3, 3, 3, 3}, 27, 27, "severe", true, true, "self_harm"},
    /* Item 9 alone: minimal total, still at risk and urgent. */
    {"phq9", {0, 0, 0, 0, 0, 0, 0, 0, 1}, 1, 1, "minimal", true, true, "self_harm"},
    {"phq9", {1, 1, 1, 1, 1, 1, 1, 0, 2}, 9, 9, "mild", true, true, "self_harm"},
    /* GAD-7: at risk from 10. */
    {"gad7", {0, 0, 0, 0, 0, 0, 0}, 0, 0, "minimal", false, false, NULL},
    {"gad7", {1, 1, 1, 1, 0, 0, 0}, 4, 4, "minimal", false, false, NULL},
    {"gad7", {1, 1, 1, 1, 1, 0, 0}, 5, 5, "mild", false, false, NULL},
    {"gad7", {2, 2, 1, 1, 1, 1, 1}, 9, 9, "mild", false, false, NULL},
    {"gad7", {2, 2, 2, 1, 1, 1, 1}, 10, 10, "moderate", true, false, NULL},
    {"gad7", {2, 2, 2, 2, 2, 2, 2}, 14, 14, "moderate", true, false, NULL},
    {"gad7", {3, 2, 2, 2, 2, 2, 2}, 15, 15, "severe", true, false, NULL},
    {"gad7", {3, 3, 3, 3, 3, 3, 3}, 21, 21, "severe", true, false, NULL},
};

static const scr_instrument_t *find(const char *id)
{
    const scr_instrument_t *ins = scr_instrument_find(id, strlen(id));
    CHECK(ins != NULL);
    return ins;
}

static void test_vectors(void)
{
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        const vector_t *v = &vectors[i];
        const scr_instrument_t *ins = find(v->instrument);
        scr_result_t r;
        scr_score(ins, v->answers, &r);
        if (r.raw_score != v->raw || r.score != v->score || strcmp(r.band->key, v->band) != 0)
            fprintf(stderr, "vector %zu (%s)\n", i, v->instrument);
        CHECK_INT(r.raw_score, v->raw);
        CHECK_INT(r.score, v->score);
        CHECK_STR(r.band->key, v->band);
        CHECK_INT(r.at_risk, v->at_risk);
        CHECK_INT(r.urgent, v->urgent);
        CHECK_INT(r.n_flags, v->flag ? 1 : 0);
        if (v->flag)
            CHECK_STR(r.flags[0], v->flag);
    }
}

/* Every instrument of docs/DOMAIN.md, each band boundary present in the vectors
 * from both sides. */
static void test_every_boundary_has_vectors(void)
{
    CHECK_INT(scr_n_instruments, 5);
    for (int i = 0; i < scr_n_instruments; i++) {
        const scr_instrument_t *ins = &scr_instruments[i];
        for (int b = 0; b < scr_n_bands(ins); b++) {
            int lo = ins->bands[b].raw_min, hi = ins->bands[b].raw_max;
            bool has_lo = false, has_hi = false;
            for (size_t k = 0; k < sizeof vectors / sizeof vectors[0]; k++) {
                if (strcmp(vectors[k].instrument, ins->id) != 0)
                    continue;
                has_lo = has_lo || vectors[k].raw == lo;
                has_hi = has_hi || vectors[k].raw == hi;
            }
            if (!has_lo || !has_hi)
                fprintf(stderr, "%s band %s lacks a vector\n", ins->id, ins->bands[b].key);
            CHECK(has_lo && has_hi);
        }
    }
}

static void test_table_well_formed(void)
{
    static const struct {
        const char *id;
        int items, min, max;
    } spec[] = {{"who5", 5, 0, 5},
                {"pss10", 10, 0, 4},
                {"keds", 9, 0, 6},
                {"phq9", 9, 0, 3},
                {"gad7", 7, 0, 3}};
    for (size_t i = 0; i < sizeof spec / sizeof spec[0]; i++) {
        const scr_instrument_t *ins = find(spec[i].id);
        CHECK_INT(ins->n_items, spec[i].items);
        CHECK_INT(ins->answer_min, spec[i].min);
        CHECK_INT(ins->answer_max, spec[i].max);
        CHECK(ins->n_items <= SCR_MAX_ITEMS);
        CHECK(ins->source && ins->source[0]);
        /* Bands ascend without gaps over the whole raw range; the at-risk
         * bands form one contiguous range. */
        int nb = scr_n_bands(ins);
        CHECK(nb >= 2);
        CHECK_INT(ins->bands[0].raw_min, scr_raw_min(ins));
        CHECK_INT(ins->bands[nb - 1].raw_max, scr_raw_max(ins));
        int risk_runs = 0;
        for (int b = 0; b < nb; b++) {
            CHECK(ins->bands[b].raw_min <= ins->bands[b].raw_max);
            if (b > 0)
                CHECK_INT(ins->bands[b].raw_min, ins->bands[b - 1].raw_max + 1);
            bool risk = ins->bands[b].risk != SCR_RISK_NONE;
            bool prev = b > 0 && ins->bands[b - 1].risk != SCR_RISK_NONE;
            risk_runs += risk && !prev;
        }
        CHECK_INT(risk_runs, 1);
        for (int k = 0; k < SCR_MAX_ITEMS && ins->reversed[k]; k++)
            CHECK(ins->reversed[k] >= 1 && ins->reversed[k] <= ins->n_items);
        for (int k = 0; k < SCR_MAX_CRITICAL && ins->critical[k].flag; k++)
            CHECK(ins->critical[k].item >= 1 && ins->critical[k].item <= ins->n_items);
    }
    int pss_rev[] = {4, 5, 7, 8, 0};
    CHECK(memcmp(find("pss10")->reversed, pss_rev, sizeof pss_rev) == 0);
    CHECK_INT(find("who5")->score_factor, 4);
    CHECK_INT(find("phq9")->critical[0].item, 9);
    CHECK_STR(find("phq9")->critical[0].flag, "self_harm");
    CHECK(find("phq9")->critical[0].urgent);
    CHECK(scr_instrument_find("PHQ9", 4) == NULL);
    CHECK(scr_instrument_find("phq", 3) == NULL);
}

/* The errors a reply collected, as pointer/detail pairs. */
typedef struct field_errors {
    int n;
    char pointer[16][64];
    char detail[16][128];
} field_errors_t;

static void collect(const wh_reply_t *rep, field_errors_t *fe)
{
    memset(fe, 0, sizeof *fe);
    wh_buf_t b;
    wh_buf_init(&b);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &b);
    msgpack_pack_array(&pk, (size_t)rep->n_errors);
    wh_buf_append(&b, rep->errors.data, rep->errors.len);
    wh_msg_t m;
    CHECK_INT(wh_msg_decode(b.data, b.len, &m), 0);
    fe->n = (int)m.root->via.array.size;
    for (int i = 0; i < fe->n && i < 16; i++) {
        const msgpack_object *e = &m.root->via.array.ptr[i];
        CHECK_INT(wh_msg_copy_str(wh_msg_get(e, "pointer"), fe->pointer[i], 64), 0);
        CHECK_INT(wh_msg_copy_str(wh_msg_get(e, "detail"), fe->detail[i], 128), 0);
    }
    wh_msg_close(&m);
    wh_buf_close(&b);
}

/* Packs a JSON-like answers array: 'n' nil, 's' a string, 'f' 1.5, else
 * the integer. */
static void pack_answers(wh_buf_t *b, const int *vals, const char *kinds, int n)
{
    msgpack_packer pk;
    wh_msg_writer_init(&pk, b);
    msgpack_pack_array(&pk, (size_t)n);
    for (int i = 0; i < n; i++) {
        char k = kinds ? kinds[i] : 'i';
        if (k == 'n')
            msgpack_pack_nil(&pk);
        else if (k == 's')
            wh_msg_pack_str(&pk, "3");
        else if (k == 'f')
            msgpack_pack_double(&pk, 1.5);
        else
            msgpack_pack_int(&pk, vals[i]);
    }
}

static bool read_answers(const char *id, const int *vals, const char *kinds, int n,
                         const char *prefix, field_errors_t *fe, int *out)
{
    wh_buf_t b;
    wh_buf_init(&b);
    pack_answers(&b, vals, kinds, n);
    wh_msg_t m;
    CHECK_INT(wh_msg_decode(b.data, b.len, &m), 0);
    wh_reply_t rep;
    wh_reply_init(&rep);
    bool ok = scr_answers_read(find(id), m.root, &rep, prefix, out);
    collect(&rep, fe);
    wh_reply_close(&rep);
    wh_msg_close(&m);
    wh_buf_close(&b);
    return ok;
}

static void test_invalid_answers(void)
{
    int out[SCR_MAX_ITEMS];
    field_errors_t fe;
    /* Valid. */
    int ok5[] = {0, 5, 3, 2, 1};
    CHECK(read_answers("who5", ok5, NULL, 5, "", &fe, out));
    CHECK_INT(fe.n, 0);
    CHECK_INT(out[1], 5);
    /* Out of range on both sides, and a missing last item. */
    int bad[] = {0, 6, 0, -1};
    CHECK(!read_answers("who5", bad, NULL, 4, "", &fe, out));
    CHECK_INT(fe.n, 3);
    CHECK_STR(fe.pointer[0], "/answers/1");
    CHECK_STR(fe.detail[0], "item 2 must be between 0 and 5");
    CHECK_STR(fe.pointer[1], "/answers/3");
    CHECK_STR(fe.pointer[2], "/answers/4");
    CHECK(strstr(fe.detail[2], "item 5 is required") == fe.detail[2]);
    /* Too many items. */
    int six[] = {1, 1, 1, 1, 1, 1};
    CHECK(!read_answers("who5", six, NULL, 6, "", &fe, out));
    CHECK_INT(fe.n, 1);
    CHECK_STR(fe.pointer[0], "/answers/5");
    CHECK_STR(fe.detail[0], "who5 has only 5 items");
    /* null, a string and a fraction, inside a batch item. */
    int any[] = {0, 0, 0, 0, 0, 0, 0};
    CHECK(!read_answers("gad7", any, "insfiii", 7, "/items/3", &fe, out));
    CHECK_INT(fe.n, 3);
    CHECK_STR(fe.pointer[0], "/items/3/answers/1");
    CHECK_STR(fe.pointer[1], "/items/3/answers/2");
    CHECK_STR(fe.detail[1], "item 3 must be an integer");
    CHECK_STR(fe.pointer[2], "/items/3/answers/3");
    /* PHQ-9's item 9 is required like any other. */
    int eight[] = {0, 0, 0, 0, 0, 0, 0, 0};
    CHECK(!read_answers("phq9", eight, NULL, 8, "", &fe, out));
    CHECK_INT(fe.n, 1);
    CHECK_STR(fe.pointer[0], "/answers/8");
    /* PSS-10's range is 0-4. */
    int pss[] = {0, 0, 0, 5, 0, 0, 0, 0, 0, 0};
    CHECK(!read_answers("pss10", pss, NULL, 10, "", &fe, out));
    CHECK_INT(fe.n, 1);
    CHECK_STR(fe.pointer[0], "/answers/3");
    CHECK_STR(fe.detail[0], "item 4 must be between 0 and 4");
    /* An empty array: every item reported. */
    CHECK(!read_answers("keds", NULL, NULL, 0, "", &fe, out));
    CHECK_INT(fe.n, 9);
    CHECK_STR(fe.pointer[8], "/answers/8");
}

/* The listing is generated from the table, on both scales. */
static void test_listing(void)
{
    wh_buf_t b;
    wh_buf_init(&b);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &b);
    scr_instrument_pack(&pk, find("who5"));
    wh_msg_t m;
    CHECK_INT(wh_msg_decode(b.data, b.len, &m), 0);
    int64_t x;
    CHECK(wh_msg_int(wh_msg_get(m.root, "items"), &x) && x == 5);
    const msgpack_object *bands = wh_msg_get(m.root, "bands");
    CHECK(bands && bands->via.array.size == 3);
    static const int64_t bounds[3][2] = {{0, 28}, {32, 48}, {52, 100}};
    for (int i = 0; i < 3; i++) {
        CHECK(wh_msg_int(wh_msg_get(&bands->via.array.ptr[i], "min"), &x) && x == bounds[i][0]);
        CHECK(wh_msg_int(wh_msg_get(&bands->via.array.ptr[i], "max"), &x) && x == bounds[i][1]);
    }
    const msgpack_object *risk = wh_msg_get(m.root, "at_risk");
    CHECK(wh_msg_int(wh_msg_get(risk, "max"), &x) && x == 48);
    CHECK(wh_msg_int(wh_msg_get(risk, "raw_max"), &x) && x == 12);
    CHECK(wh_msg_int(wh_msg_get(wh_msg_get(m.root, "score"), "max"), &x) && x == 100);
    wh_msg_close(&m);
    wh_buf_reset(&b);
    wh_msg_writer_init(&pk, &b);
    scr_instrument_pack(&pk, find("pss10"));
    CHECK_INT(wh_msg_decode(b.data, b.len, &m), 0);
    const msgpack_object *rev = wh_msg_get(m.root, "reversed_items");
    CHECK(rev && rev->via.array.size == 4);
    CHECK(wh_msg_int(&rev->via.array.ptr[3], &x) && x == 8);
    wh_msg_close(&m);
    wh_buf_reset(&b);
    wh_msg_writer_init(&pk, &b);
    scr_instrument_pack(&pk, find("phq9"));
    CHECK_INT(wh_msg_decode(b.data, b.len, &m), 0);
    const msgpack_object *crit = wh_msg_get(m.root, "critical_items");
    CHECK(crit && crit->via.array.size == 1);
    CHECK(wh_msg_str_eq(wh_msg_get(&crit->via.array.ptr[0], "flag"), "self_harm"));
    wh_msg_close(&m);
    wh_buf_close(&b);
}

static bool subject_ok(const char *s)
{
    const char *why = NULL;
    bool ok = scr_subject_ok((wh_str_t){s, strlen(s)}, &why);
    CHECK(ok || why != NULL);
    return ok;
}

static void test_subject_and_language(void)
{
    CHECK(subject_ok("p-123"));
    CHECK(subject_ok("01JD0000000000000000000000"));
    CHECK(subject_ok("a1b2.c3_d4:e5+f6~g7"));
    CHECK(!subject_ok("max.mustermann@example.org"));
    CHECK(!subject_ok("anna@bezirksamt"));
    CHECK(!subject_ok("@"));
    CHECK(!subject_ok("Max Mustermann"));
    CHECK(!subject_ok("p/1"));
    CHECK(!subject_ok("M\xc3\xbcller"));
    const char *why = NULL;
    scr_subject_ok(WH_STR("x@y.de"), &why);
    CHECK(strstr(why, "e-mail") != NULL);
    CHECK(strstr(why, "x@y") == NULL); /* the value is never echoed */

    static const char *const good[] = {"de", "en", "sv", "pt-BR", "zh-Hant", "gsw"};
    static const char *const bad[] = {"", "d", "DE", "english", "de-", "de_DE", "de-x", "1e"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECK(scr_language_ok((wh_str_t){good[i], strlen(good[i])}));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(!scr_language_ok((wh_str_t){bad[i], strlen(bad[i])}));
}

int main(void)
{
    TEST(test_table_well_formed);
    TEST(test_vectors);
    TEST(test_every_boundary_has_vectors);
    TEST(test_invalid_answers);
    TEST(test_listing);
    TEST(test_subject_and_language);
    return 0;
}
