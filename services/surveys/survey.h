/* Surveys: creating, reading and changing them, and their life cycle
 * draft -> open -> closed (by request, or at opens_at / closes_at by the
 * service's timer). Coordinators manage the surveys of their organisations,
 * consultants read them, admins do everything; a survey of another
 * organisation is 404.
 *
 * Rules that protect respondents: the anonymity threshold is at least
 * SURVEY_MIN_THRESHOLD and, once the survey is open, may be raised but never
 * lowered; languages, dimensions, questions and units are frozen once it is
 * open; after it closes nothing but the title changes, so results, which
 * exist only for closed surveys, are computed from one fixed data set with
 * one fixed threshold (two releases with different suppression patterns
 * could be combined to undo it). */
#ifndef SURVEYS_SURVEY_H
#define SURVEYS_SURVEY_H

#include "definition.h"
#include "dispatch.h"
#include "id.h"
#include "service.h"

#define SURVEY_MAX_TITLE         200
#define SURVEY_MIN_THRESHOLD     5
#define SURVEY_MAX_THRESHOLD     100
#define SURVEY_DEFAULT_THRESHOLD 5
#define SURVEY_TICK_MS           1000 /* how often opens_at / closes_at are checked */
#define SURVEY_MAX_DUE_PER_TICK  100  /* transitions per tick; the rest wait one tick */

enum survey_state { SURVEY_DRAFT, SURVEY_OPEN, SURVEY_CLOSED };
extern const char *const survey_states[]; /* "draft", "open", "closed", NULL */

typedef struct survey {
    char id[WH_ID_LEN + 1];
    char org_id[WH_ID_LEN + 1];
    char template_id[WH_ID_LEN + 1]; /* "" unless made from a network template */
    char title[4 * SURVEY_MAX_TITLE + 1];
    enum survey_state state;
    int threshold;
    int64_t opens_at_ms, closes_at_ms;                                 /* -1 when not set */
    char opened_at[32], closed_at[32], created_at[32], updated_at[32]; /* "" when not set */
    int64_t version;
    survey_def_t def;
} survey_t;

/* Loads a survey; WH_ENOTFOUND, or WH_EPROTO for a stored definition that
 * does not parse. Close with survey_close. */
int survey_load(wh_store_t *store, wh_str_t id, survey_t *s);
void survey_close(survey_t *s);
/* Loads the survey named by the path's {id} for a staff principal: false
 * (and a 404) when it does not exist or belongs to another organisation. */
bool survey_load_scoped(wh_ctx_t *c, survey_t *s);
/* True while responses are accepted: open and before closes_at. */
bool survey_accepting(const survey_t *s, int64_t now_ms);

/* Moves the survey to open or closed in the current transaction, with its
 * event (survey.opened / survey.closed). Closing deletes every unused code. */
int survey_transition(wh_store_t *store, survey_t *s, enum survey_state to);
/* Registers the schedule as a job of the service: every SURVEY_TICK_MS,
 * what is due at opens_at / closes_at on the service clock (WH_NOW
 * honoured) is opened and closed, in one transaction. */
int survey_every(wh_service_t *s);

void survey_create(wh_ctx_t *c);
void survey_list(wh_ctx_t *c);
void survey_get(wh_ctx_t *c);
void survey_patch(wh_ctx_t *c);
void survey_open(wh_ctx_t *c);
void survey_close_op(wh_ctx_t *c);

#endif
