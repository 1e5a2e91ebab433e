/* The validated screening instruments as data, and scoring from the answers.
 *
 * Each instrument is one row of scr_instruments: item count, answer range,
 * reverse-scored items, the factor from the raw sum to the reporting scale,
 * bands on the raw sum with their risk, critical items that raise a flag
 * whatever the total, and the published source. Scoring, validation and the
 * GET /v1/screening/instruments listing are all generated from that table,
 * so one more instrument is one more row. docs/DOMAIN.md ("Screening
 * instruments") is the specification; the unit test holds a vector for every
 * band boundary from both sides.
 *
 * Not here: storage, alerts (alerts.h) and who may push (screenings.h). */
#ifndef SCREENING_INSTRUMENTS_H
#define SCREENING_INSTRUMENTS_H

#include <stdbool.h>

#include "dispatch.h"

#define SCR_MAX_ITEMS    16 /* items of one instrument */
#define SCR_MAX_BANDS    8  /* bands of one instrument */
#define SCR_MAX_CRITICAL 4  /* critical items of one instrument */

typedef enum { SCR_RISK_NONE, SCR_RISK_AT_RISK, SCR_RISK_HIGH } scr_risk_t;

/* A band over the raw sum, bounds inclusive. Bands are listed in ascending
 * order and cover the whole raw range without gaps. */
typedef struct scr_band {
    const char *key;
    int raw_min, raw_max;
    scr_risk_t risk;
} scr_band_t;

/* An item whose answer above `above` raises `flag` whatever the total: the
 * result counts as at risk, and as urgent when `urgent`. */
typedef struct scr_critical {
    int item; /* 1-based */
    int above;
    const char *flag;
    bool urgent;
} scr_critical_t;

typedef struct scr_instrument {
    const char *id;
    const char *name;
    int n_items;
    int answer_min, answer_max;
    int reversed[SCR_MAX_ITEMS];               /* 1-based item numbers, 0-terminated */
    int score_factor;                          /* reported score = raw sum x factor */
    const char *score_scale;                   /* "sum" or "percentage" */
    const char *at_risk_rule;                  /* the published rule, for readers */
    scr_band_t bands[SCR_MAX_BANDS];           /* key NULL ends the list */
    scr_critical_t critical[SCR_MAX_CRITICAL]; /* flag NULL ends the list */
    const char *source;
} scr_instrument_t;

extern const scr_instrument_t scr_instruments[];
extern const int scr_n_instruments;

/* The instrument with this id, or NULL. */
const scr_instrument_t *scr_instrument_find(const char *id, size_t n);
int scr_raw_min(const scr_instrument_t *ins);
int scr_raw_max(const scr_instrument_t *ins);
int scr_n_bands(const scr_instrument_t *ins);

typedef struct scr_result {
    int raw_score; /* after reversing reverse-scored items */
    int score;     /* on the reporting scale */
    const scr_band_t *band;
    bool at_risk;
    bool urgent;
    const char *flags[SCR_MAX_CRITICAL];
    int n_flags;
} scr_result_t;

/* Scores answers that scr_answers_read() accepted (n_items values, each
 * within the answer range). */
void scr_score(const scr_instrument_t *ins, const int *answers, scr_result_t *out);

/* Reads the answers array of a request into answers[] (n_items values).
 * Every missing, ill-typed or out-of-range answer is reported to rep with the
 * pointer <prefix>/answers/<index> (0-based, as JSON pointers are); false
 * when any was. arr may be NULL when the field is absent (already reported). */
bool scr_answers_read(const scr_instrument_t *ins, const msgpack_object *arr, wh_reply_t *rep,
                      const char *prefix, int *answers);

/* Packs one instrument as the listing shows it. */
void scr_instrument_pack(msgpack_packer *pk, const scr_instrument_t *ins);

/* GET /v1/screening/instruments */
void instruments_list(wh_ctx_t *c);

#endif
