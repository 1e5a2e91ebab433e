/* A survey's definition: its languages, dimensions, questions and org-unit
 * tree. One parser serves both directions: it validates the fields of a
 * request (reporting each invalid one with its JSON pointer) and it reads
 * the definition back from the store, where it is kept as the msgpack map
 * {languages, dimensions, questions, units} exactly as the API shows it.
 * Strings in a parsed definition are slices of the msgpack they came from.
 *
 * Once a survey is open its definition is frozen, so question i is always
 * byte i of a stored response and unit i always unit index i. */
#ifndef SURVEYS_DEFINITION_H
#define SURVEYS_DEFINITION_H

#include <stdbool.h>

#include "msg.h"
#include "reply.h"

#define DEF_N_LANGS        3 /* de, en, sv */
#define DEF_MAX_KEY        64
#define DEF_MAX_TEXT       2000
#define DEF_MAX_NAME       200
#define DEF_MAX_DIMENSIONS 50
#define DEF_MAX_QUESTIONS  200
#define DEF_MAX_UNITS      500
#define DEF_MAX_UNIT_DEPTH 8 /* levels below the organisation */
#define DEF_SCALE_MIN      0
#define DEF_SCALE_MAX      100 /* a stored answer is one byte; 255 means skipped */
#define DEF_SKIPPED        255

extern const char *const def_languages[DEF_N_LANGS + 1]; /* "de", "en", "sv", NULL */

typedef struct def_text {
    wh_str_t t[DEF_N_LANGS]; /* by language index; p NULL where not given */
} def_text_t;

typedef struct def_dimension {
    wh_str_t key;
    def_text_t title;
    bool higher_is_better;
} def_dimension_t;

typedef struct def_question {
    wh_str_t key;
    int dim;
    def_text_t text;
    int min, max;
    bool reverse;
} def_question_t;

typedef struct def_unit {
    wh_str_t key, name;
    int parent; /* unit index, -1 under the organisation */
    int depth;  /* 1 for a unit directly under the organisation */
} def_unit_t;

typedef struct survey_def {
    int n_langs;
    int langs[DEF_N_LANGS]; /* language indexes in the order given */
    int n_dims, n_questions, n_units;
    def_dimension_t *dims;
    def_question_t *questions;
    def_unit_t *units;
    int *unit_order; /* unit indexes with every parent before its children */
    /* Set by def_load: the stored bytes the slices point into. */
    char *blob;
    wh_msg_t *msg; /* its root is the stored map */
} survey_def_t;

/* Validates and parses the four fields (units may be NULL for none);
 * reports invalid fields to rep and returns false if there were any. On
 * success d must be closed with def_close; on failure it needs nothing. */
bool def_parse(survey_def_t *d, const msgpack_object *languages, const msgpack_object *dimensions,
               const msgpack_object *questions, const msgpack_object *units, wh_reply_t *rep);
/* Writes the stored form: a map of the four fields. */
void def_pack(const survey_def_t *d, msgpack_packer *pk);
/* Reads a stored definition (copying blob); WH_EPROTO if it does not parse. */
int def_load(survey_def_t *d, const void *blob, size_t len);
void def_close(survey_def_t *d);

/* The language index of code ("de"...), or -1. */
int def_lang_index(wh_str_t code);
bool def_has_lang(const survey_def_t *d, int lang);
int def_find_question(const survey_def_t *d, wh_str_t key);
int def_find_unit(const survey_def_t *d, wh_str_t key);
/* Unit u's key (under key_name), name and parent's key (null at the root):
 * three entries of a map. */
void def_kv_unit(msgpack_packer *pk, const survey_def_t *d, int u, const char *key_name);
int def_find_dim(const survey_def_t *d, wh_str_t key);
/* True when unit u is a or lies under a. */
bool def_unit_within(const survey_def_t *d, int u, int a);

#endif
