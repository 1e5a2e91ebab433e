/* GET /v1/reports/prevention?insurer_id=&year=: the insurer's yearly
 * figures for its prevention report.
 *
 * An agreement counts as active in the year when it was in force on at
 * least one day of it (signed, terminated or renewed, its term from
 * starts_on to ends_on, or to the termination's effective date, touching
 * the year); drafts never count. New: active and starting in the year, and
 * not the successor of a renewal. Organisations: distinct employers of the
 * active agreements. Employees covered: per employer the largest
 * employees_covered among its active agreements (a renewal in the year does
 * not count its staff twice), summed. Activities: those with status done,
 * planned_on in the year, under an active agreement; by kind and by focus
 * area (activities without one count only in the totals); agreements per
 * focus area count the active agreements naming it.
 *
 * JSON by default; CSV (RFC 4180, one measure per row) when the Accept
 * header asks for text/csv. */
#ifndef AGREEMENTS_REPORT_H
#define AGREEMENTS_REPORT_H

#include "dispatch.h"

#define REPORT_MIN_YEAR 1900
#define REPORT_MAX_YEAR 9999

void report_prevention(wh_ctx_t *c);

#endif
