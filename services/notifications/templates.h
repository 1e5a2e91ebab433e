/* E-mail texts: a subject and a plain-text body per event type and language
 * (de, en, sv), kept as data in templates.c, and their rendering.
 *
 * Placeholders are {name}: a field of the event's data (dates shown the way
 * the language writes them), or one of the computed values {link} (the
 * page about the event under WH_PUBLIC_URL), {kind} (the organisation's
 * kind in words), {days} ("in 30 days", "today"), {renewal} (what happens
 * at the end of the term) and {urgency}. A placeholder that the event does
 * not fill is an error, so a broken template is caught by the unit test
 * that renders every one.
 *
 * Alert texts say only that an alert needs attention, how urgent it is and
 * where to look: alert events carry nothing more, and the templates use
 * nothing more. */
#ifndef NOTIFICATIONS_TEMPLATES_H
#define NOTIFICATIONS_TEMPLATES_H

#include "buf.h"
#include "msg.h"

typedef struct mail_template {
    const char *type;
    const char *lang;
    const char *subject;
    const char *body;
} mail_template_t;

extern const mail_template_t mail_templates[];
extern const int mail_n_templates;
extern const char *const mail_languages[]; /* NULL-terminated */

const mail_template_t *template_find(const char *type, const char *lang);
/* Renders the subject and body of event type in lang into the two buffers
 * (appending). base_url has no trailing slash. WH_ENOTFOUND without a
 * template, WH_EINVAL for a placeholder the event does not fill. */
int template_render(const char *type, const char *lang, const char *org_id,
                    const msgpack_object *data, const char *base_url, wh_buf_t *subject,
                    wh_buf_t *body);

#endif
