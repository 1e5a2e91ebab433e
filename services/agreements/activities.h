/* Activities under an agreement (health days, workshops, courses, surveys,
 * sick-leave analyses, steering-group meetings...): kind, title, focus
 * area, planned date, status and participants. Done activities and their
 * participants are what the insurer's prevention report counts. An
 * activity is visible to whoever sees its agreement. */
#ifndef AGREEMENTS_ACTIVITIES_H
#define AGREEMENTS_ACTIVITIES_H

#include "dispatch.h"

#define ACT_MAX_PARTICIPANTS 1000000
#define ACT_N_KINDS          9
extern const char *const act_kind_names[]; /* NULL-terminated */

void act_create(wh_ctx_t *c);
void act_list(wh_ctx_t *c);
void act_get(wh_ctx_t *c);
void act_patch(wh_ctx_t *c);

#endif
