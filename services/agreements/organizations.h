/* Organisations: the employers and insurers that are parties to agreements.
 * Admins create them; every other role sees only the organisations its token
 * covers, and anything else is 404. */
#ifndef AGREEMENTS_ORGANIZATIONS_H
#define AGREEMENTS_ORGANIZATIONS_H

#include "dispatch.h"

#define ORG_MAX_NAME      200
#define ORG_MAX_REGION    100
#define ORG_MAX_SECTOR    100
#define ORG_MAX_EMPLOYEES 10000000

void org_create(wh_ctx_t *c);
void org_list(wh_ctx_t *c);
void org_get(wh_ctx_t *c);
void org_patch(wh_ctx_t *c);

#endif
