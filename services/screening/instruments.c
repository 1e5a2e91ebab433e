#include "instruments.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Bands are on the raw sum so that every bound is an exact integer; the
 * listing shows them on the reporting scale too. WHO-5's percentage is the
 * raw sum times 4 (items start at 0): a published calculator that computes
 * (raw - 5) x 4 is wrong, and the vectors in the unit test would catch it. */
const scr_instrument_t scr_instruments[] = {
    {
        .id = "who5",
        .name = "WHO-5 Well-Being Index",
        .n_items = 5,
        .answer_min = 0,
        .answer_max = 5,
        .score_factor = 4,
        .score_scale = "percentage",
        .at_risk_rule = "percentage <= 50 (raw < 13); <= 28 likely depression",
        .bands = {{"likely_depression", 0, 7, SCR_RISK_HIGH},
                  {"poor_wellbeing", 8, 12, SCR_RISK_AT_RISK},
                  {"adequate", 13, 25, SCR_RISK_NONE}},
        .source = "WHO-5 Well-Being Index (Psychiatric Research Unit, Mental Health Centre "
                  "North Zealand); Topp, Østergaard, Søndergaard & Bech 2015",
    },
    {
        .id = "pss10",
        .name = "Perceived Stress Scale (10 items)",
        .n_items = 10,
        .answer_min = 0,
        .answer_max = 4,
        .reversed = {4, 5, 7, 8},
        .score_factor = 1,
        .score_scale = "sum",
        .at_risk_rule = "sum >= 27 (high); bands are conventional, the authors publish no "
                        "cut-off",
        .bands = {{"low", 0, 13, SCR_RISK_NONE},
                  {"moderate", 14, 26, SCR_RISK_NONE},
                  {"high", 27, 40, SCR_RISK_AT_RISK}},
        .source = "Cohen, Kamarck & Mermelstein 1983; Cohen's scoring page",
    },
    {
        .id = "keds",
        .name = "Karolinska Exhaustion Disorder Scale",
        .n_items = 9,
        .answer_min = 0,
        .answer_max = 6,
        .score_factor = 1,
        .score_scale = "sum",
        .at_risk_rule = "sum >= 19",
        .bands = {{"below_cutoff", 0, 18, SCR_RISK_NONE},
                  {"exhaustion_risk", 19, 54, SCR_RISK_AT_RISK}},
        .source = "Besèr, Sorjonen, Wahlberg, Peterson, Nygren & Åsberg 2014",
    },
    {
        .id = "phq9",
        .name = "Patient Health Questionnaire (9 items)",
        .n_items = 9,
        .answer_min = 0,
        .answer_max = 3,
        .score_factor = 1,
        .score_scale = "sum",
        .at_risk_rule = "sum >= 10; item 9 above 0 raises self_harm and an urgent alert "
                        "whatever the total",
        .bands = {{"minimal", 0, 4, SCR_RISK_NONE},
                  {"mild", 5, 9, SCR_RISK_NONE},
                  {"moderate", 10, 14, SCR_RISK_AT_RISK},
                  {"moderately_severe", 15, 19, SCR_RISK_AT_RISK},
                  {"severe", 20, 27, SCR_RISK_AT_RISK}},
        .critical = {{9, 0, "self_harm", true}},
        .source = "Kroenke, Spitzer & Williams 2001",
    },
    {
        .id = "gad7",
        .name = "Generalized Anxiety Disorder scale (7 items)",
        .n_items = 7,
        .answer_min = 0,
        .answer_max = 3,
        .score_factor = 1,
        .score_scale = "sum",
        .at_risk_rule = "sum >= 10",
        .bands = {{"minimal", 0, 4, SCR_RISK_NONE},
                  {"mild", 5, 9, SCR_RISK_NONE},
                  {"moderate", 10, 14, SCR_RISK_AT_RISK},
                  {"severe", 15, 21, SCR_RISK_AT_RISK}},
        .source = "Spitzer, Kroenke, Williams & Löwe 2006",
    },
};
const int scr_n_instruments = sizeof scr_instruments / sizeof scr_instruments[0];

const scr_instrument_t *scr_instrument_find(const char *id, size_t n)
{
    for (int i = 0; i < scr_n_instruments; i++)
        if (strlen(scr_instruments[i].id) == n && memcmp(scr_instruments[i].id, id, n) == 0)
            return &scr_instruments[i];
    return NULL;
}

int scr_raw_min(const scr_instrument_t *ins)
{
    return ins->n_items * ins->answer_min;
}

int scr_raw_max(const scr_instrument_t *ins)
{
    return ins->n_items * ins->answer_max;
}

int scr_n_bands(const scr_instrument_t *ins)
{
    int n = 0;
    while (n < SCR_MAX_BANDS && ins->bands[n].key)
        n++;
    return n;
}

static bool is_reversed(const scr_instrument_t *ins, int item)
{
    for (int i = 0; i < SCR_MAX_ITEMS && ins->reversed[i]; i++)
        if (ins->reversed[i] == item)
            return true;
    return false;
}

void scr_score(const scr_instrument_t *ins, const int *answers, scr_result_t *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < ins->n_items; i++) {
        int a = answers[i];
        if (is_reversed(ins, i + 1))
            a = ins->answer_min + ins->answer_max - a;
        out->raw_score += a;
    }
    out->score = out->raw_score * ins->score_factor;
    for (int b = 0; b < scr_n_bands(ins); b++)
        if (out->raw_score >= ins->bands[b].raw_min && out->raw_score <= ins->bands[b].raw_max)
            out->band = &ins->bands[b];
    out->at_risk = out->band && out->band->risk != SCR_RISK_NONE;
    for (int k = 0; k < SCR_MAX_CRITICAL && ins->critical[k].flag; k++) {
        const scr_critical_t *cr = &ins->critical[k];
        if (answers[cr->item - 1] > cr->above) {
            out->flags[out->n_flags++] = cr->flag;
            out->at_risk = true;
            out->urgent = out->urgent || cr->urgent;
        }
    }
}

/* The pointer of answer i, built only when there is something to report. */
static const char *answer_pointer(char *out, size_t cap, const char *prefix, uint32_t i)
{
    snprintf(out, cap, "%s/answers/%u", prefix, i);
    return out;
}

bool scr_answers_read(const scr_instrument_t *ins, const msgpack_object *arr, wh_reply_t *rep,
                      const char *prefix, int *answers)
{
    if (!arr || arr->type != MSGPACK_OBJECT_ARRAY)
        return false;
    bool ok = true;
    uint32_t n = arr->via.array.size;
    char ptr[160];
    for (int i = 0; i < ins->n_items; i++) {
        const msgpack_object *o = (uint32_t)i < n ? &arr->via.array.ptr[i] : NULL;
        int64_t a;
        if (o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT32_MAX) {
            a = (int64_t)o->via.u64; /* the common case, checked below */
        } else if (!o || o->type == MSGPACK_OBJECT_NIL) {
            wh_reply_field(rep, answer_pointer(ptr, sizeof ptr, prefix, (uint32_t)i),
                           "item %d is required: %s has %d items, all required", i + 1, ins->id,
                           ins->n_items);
            ok = false;
            continue;
        } else if (!wh_msg_int(o, &a)) {
            wh_reply_field(rep, answer_pointer(ptr, sizeof ptr, prefix, (uint32_t)i),
                           "item %d must be an integer", i + 1);
            ok = false;
            continue;
        }
        if (a < ins->answer_min || a > ins->answer_max) {
            wh_reply_field(rep, answer_pointer(ptr, sizeof ptr, prefix, (uint32_t)i),
                           "item %d must be between %d and %d", i + 1, ins->answer_min,
                           ins->answer_max);
            ok = false;
            continue;
        }
        answers[i] = (int)a;
    }
    for (uint32_t i = (uint32_t)ins->n_items; i < n; i++) {
        wh_reply_field(rep, answer_pointer(ptr, sizeof ptr, prefix, i), "%s has only %d items",
                       ins->id, ins->n_items);
        ok = false;
    }
    return ok;
}

static const char *risk_name(scr_risk_t r)
{
    return r == SCR_RISK_HIGH ? "high" : r == SCR_RISK_AT_RISK ? "at_risk" : "none";
}

void scr_instrument_pack(msgpack_packer *pk, const scr_instrument_t *ins)
{
    msgpack_pack_map(pk, 10);
    wh_msg_kv_str(pk, "id", ins->id);
    wh_msg_kv_str(pk, "name", ins->name);
    wh_msg_kv_int(pk, "items", ins->n_items);
    wh_msg_pack_str(pk, "answer_range");
    msgpack_pack_map(pk, 2);
    wh_msg_kv_int(pk, "min", ins->answer_min);
    wh_msg_kv_int(pk, "max", ins->answer_max);
    wh_msg_pack_str(pk, "reversed_items");
    int n_rev = 0;
    while (n_rev < SCR_MAX_ITEMS && ins->reversed[n_rev])
        n_rev++;
    msgpack_pack_array(pk, (size_t)n_rev);
    for (int i = 0; i < n_rev; i++)
        msgpack_pack_int(pk, ins->reversed[i]);
    wh_msg_pack_str(pk, "score");
    msgpack_pack_map(pk, 6);
    wh_msg_kv_str(pk, "scale", ins->score_scale);
    wh_msg_kv_int(pk, "factor", ins->score_factor);
    wh_msg_kv_int(pk, "min", scr_raw_min(ins) * ins->score_factor);
    wh_msg_kv_int(pk, "max", scr_raw_max(ins) * ins->score_factor);
    wh_msg_kv_int(pk, "raw_min", scr_raw_min(ins));
    wh_msg_kv_int(pk, "raw_max", scr_raw_max(ins));
    int nb = scr_n_bands(ins);
    wh_msg_pack_str(pk, "bands");
    msgpack_pack_array(pk, (size_t)nb);
    /* The at-risk range is the union of the at-risk bands, which the unit
     * test checks to be contiguous. */
    int risk_lo = -1, risk_hi = -1;
    for (int b = 0; b < nb; b++) {
        const scr_band_t *band = &ins->bands[b];
        msgpack_pack_map(pk, 7);
        wh_msg_kv_str(pk, "band", band->key);
        wh_msg_kv_int(pk, "min", band->raw_min * ins->score_factor);
        wh_msg_kv_int(pk, "max", band->raw_max * ins->score_factor);
        wh_msg_kv_int(pk, "raw_min", band->raw_min);
        wh_msg_kv_int(pk, "raw_max", band->raw_max);
        wh_msg_kv_bool(pk, "at_risk", band->risk != SCR_RISK_NONE);
        wh_msg_kv_str(pk, "risk", risk_name(band->risk));
        if (band->risk != SCR_RISK_NONE) {
            if (risk_lo < 0)
                risk_lo = band->raw_min;
            risk_hi = band->raw_max;
        }
    }
    wh_msg_pack_str(pk, "at_risk");
    msgpack_pack_map(pk, 5);
    wh_msg_kv_str(pk, "rule", ins->at_risk_rule);
    wh_msg_kv_int(pk, "min", risk_lo * ins->score_factor);
    wh_msg_kv_int(pk, "max", risk_hi * ins->score_factor);
    wh_msg_kv_int(pk, "raw_min", risk_lo);
    wh_msg_kv_int(pk, "raw_max", risk_hi);
    int nc = 0;
    while (nc < SCR_MAX_CRITICAL && ins->critical[nc].flag)
        nc++;
    wh_msg_pack_str(pk, "critical_items");
    msgpack_pack_array(pk, (size_t)nc);
    for (int k = 0; k < nc; k++) {
        msgpack_pack_map(pk, 4);
        wh_msg_kv_int(pk, "item", ins->critical[k].item);
        wh_msg_kv_int(pk, "above", ins->critical[k].above);
        wh_msg_kv_str(pk, "flag", ins->critical[k].flag);
        wh_msg_kv_bool(pk, "urgent", ins->critical[k].urgent);
    }
    wh_msg_kv_str(pk, "source", ins->source);
}

void instruments_list(wh_ctx_t *c)
{
    msgpack_packer *pk = wh_reply_ok(c->rep, 200);
    msgpack_pack_map(pk, 1);
    wh_msg_pack_str(pk, "items");
    msgpack_pack_array(pk, (size_t)scr_n_instruments);
    for (int i = 0; i < scr_n_instruments; i++)
        scr_instrument_pack(pk, &scr_instruments[i]);
}
