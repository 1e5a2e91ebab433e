/* Networks of organisations: an admin forms a network and names its member
 * organisations; members share survey templates (languages, dimensions and
 * questions, as in a survey) and create their surveys from them, so that
 * their dimensions compare in the network's benchmark (benchmark.h).
 *
 * Who sees what: admins see every network; coordinators and consultants see
 * the networks that one of their organisations belongs to, and nothing of
 * any other (404, as for another tenant's survey). Admins form networks and
 * change their members; admins and the coordinators of members add
 * templates. Membership is not checked against the organisations of the
 * agreements service: the surveys service does not hold them, and a member
 * id that names no organisation only ever adds a member without surveys.
 *
 * A survey made from a template keeps the template's languages, dimensions
 * and questions for good (a change would make it incomparable); only its
 * own units, title, threshold and times are its own. Only an organisation
 * that is a member when the survey is created may use the template. */
#ifndef SURVEYS_NETWORKS_H
#define SURVEYS_NETWORKS_H

#include <stdbool.h>

#include "definition.h"
#include "dispatch.h"
#include "id.h"

#define NET_MAX_NAME        200  /* characters of a network's name */
#define NET_MAX_DESCRIPTION 2000 /* characters of its description */
#define NET_MAX_MEMBERS     100  /* member organisations of one network */
#define NET_MAX_TEMPLATES   20   /* templates of one network */
#define NET_MAX_TITLE       200  /* characters of a template's title */

/* True when the principal may see the network: an admin, or a token with
 * one of the network's members among its organisations. */
bool network_visible(wh_store_t *store, const wh_request_t *req, const char *network_id);
/* Loads the network named by the path's {id} into id_out when the
 * principal may see it; otherwise replies 404 (500 on a store error) and
 * returns false. */
bool network_load_scoped(wh_ctx_t *c, char id_out[WH_ID_LEN + 1]);
/* True when org is a member of the network now. */
bool network_has_member(wh_store_t *store, const char *network_id, wh_str_t org);

/* For POST /v1/surveys {template_id, ...}: the template's definition as the
 * survey's, with the body's units. Reports to c->rep (422 with pointers)
 * when the template is unknown, the organisation is not a member of its
 * network, or the body also gives languages, dimensions or questions;
 * returns false then. On success def, whose strings point into the loaded
 * template tdef, must be closed with def_close before tdef. */
bool network_template_def(wh_ctx_t *c, wh_str_t template_id, wh_str_t org, survey_def_t *tdef,
                          survey_def_t *def);

void network_create(wh_ctx_t *c);
void network_list(wh_ctx_t *c);
void network_get(wh_ctx_t *c);
void network_member_add(wh_ctx_t *c);
void network_member_remove(wh_ctx_t *c);
void network_template_create(wh_ctx_t *c);
void network_template_list(wh_ctx_t *c);

#endif
