/* Sick-leave figures from the insurer (AU-Analyse; docs/DOMAIN.md,
 * "Sick-leave figures"): an insurer's consultant imports a CSV of figures
 * per employer, unit, period and ICD-10 chapter; the employer reads them
 * per unit or per chapter, beside its survey results.
 *
 * An import is all or nothing. The gateway has turned the CSV into a table
 * (proto/csvtab.h); every cell is checked and every bad one reported with
 * its pointer (/rows/17/days) in one 422: all counted in its detail up to
 * SL_MAX_ERRORS_SCAN, where checking stops, the first WH_REPLY_MAX_ERRORS
 * listed;
 * then every organisation and period of the file is checked against what
 * is stored (409 when it overlaps: a month inside an imported quarter would
 * let a reader subtract one from the other), and the rows are inserted in
 * the request's transaction.
 *
 * A row with an empty icd_chapter is a unit's total for the period; rows
 * with a chapter break its cases and days down and carry the same insured
 * count (the group is the unit's insured people). Each unit needs its
 * total row. The organisation as a whole is the sum of its units.
 *
 * Reading: groups under SL_MIN_INSURED insured people show no figures, and
 * further units are suppressed where a hidden one could be derived from
 * the organisation's total and the other units (the survey rule,
 * services/runtime/suppress.h, on the tree organisation -> units with n =
 * insured). One suppression decides both views, by unit and by chapter, so
 * that neither shows what the other hides. The sector figure is taken over
 * the employers of the same sector in the same import and period, and
 * shown from SL_MIN_SECTOR_ORGS employers on: an import never changes, so
 * the figure cannot be read before and after one more employer arrived. */
#ifndef SURVEYS_SICKLEAVE_H
#define SURVEYS_SICKLEAVE_H

#include <msgpack.h>

#include "dispatch.h"

#define SL_MIN_INSURED     50      /* insured people in a group with figures shown */
#define SL_MIN_SECTOR_ORGS 10      /* employers in a sector figure */
#define SL_MAX_UNIT        100     /* characters of a unit's name */
#define SL_MAX_SECTOR      100     /* characters of a sector */
#define SL_MAX_UNITS       500     /* units of one organisation in one period */
#define SL_MAX_INSURED     1000000 /* insured people in one row */
#define SL_MAX_PERIODS     10000   /* organisation and period pairs in one import */
#define SL_MAX_ERRORS_SCAN 1000    /* bad cells after which checking stops */
#define SL_CHAPTERS        22      /* ICD-10 chapters I-XXII */

void sickleave_import(wh_ctx_t *c);
void sickleave_get(wh_ctx_t *c);

/* For survey results beside sick leave: the figures of one organisation and
 * period, suppressed as GET /v1/sick-leave shows them. */
typedef struct sl_table sl_table_t;
/* Loads them; 0, WH_ENOTFOUND when there are none, WH_EINVAL for a period
 * that is not one, WH_ESTORE, WH_ENOMEM. */
int sl_table_load(wh_store_t *store, wh_str_t org, wh_str_t period, sl_table_t **out);
void sl_table_destroy(sl_table_t **t_p);
/* Packs {unit, icd_chapter: null, period, insured, cases, days, rate,
 * suppressed} for the unit of that name (the organisation as a whole for
 * {NULL, 0}); nil when the unit has no figures. */
void sl_table_pack_unit(msgpack_packer *pk, const sl_table_t *t, wh_str_t unit);

#endif
