#include "templates.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "events.h"

const char *const mail_languages[] = {"de", "en", "sv", NULL};

#define FOOTER_DE "\n-- \nworkhealth – Betriebliches Gesundheitsmanagement\n"
#define FOOTER_EN "\n-- \nworkhealth – workplace health management\n"
#define FOOTER_SV "\n-- \nworkhealth – hälsofrämjande arbetsplatser\n"

/* The texts. Each event type has all three languages (the unit test checks
 * this against proto/events.h). */
const mail_template_t mail_templates[] = {
    /* organization.created */
    {"organization.created", "de", "Neue Organisation: {name}",
     "Guten Tag,\n\n"
     "in workhealth wurde die Organisation {name} ({kind}) angelegt.\n\n"
     "Zur Organisation: {link}\n" FOOTER_DE},
    {"organization.created", "en", "New organisation: {name}",
     "Hello,\n\n"
     "the organisation {name} ({kind}) has been added to workhealth.\n\n"
     "View it here: {link}\n" FOOTER_EN},
    {"organization.created", "sv", "Ny organisation: {name}",
     "Hej!\n\n"
     "Organisationen {name} ({kind}) har lagts till i workhealth.\n\n"
     "Se organisationen här: {link}\n" FOOTER_SV},
    /* organization.updated */
    {"organization.updated", "de", "Organisation geändert: {name}",
     "Guten Tag,\n\n"
     "die Angaben zur Organisation {name} ({kind}) wurden geändert.\n\n"
     "Zur Organisation: {link}\n" FOOTER_DE},
    {"organization.updated", "en", "Organisation updated: {name}",
     "Hello,\n\n"
     "the details of the organisation {name} ({kind}) have been updated.\n\n"
     "View it here: {link}\n" FOOTER_EN},
    {"organization.updated", "sv", "Organisation ändrad: {name}",
     "Hej!\n\n"
     "Uppgifterna om organisationen {name} ({kind}) har ändrats.\n\n"
     "Se organisationen här: {link}\n" FOOTER_SV},
    /* agreement.expiring: a reminder before the notice deadline */
    {"agreement.expiring", "de", "Kündigungsfrist endet am {notice_deadline}: {title}",
     "Guten Tag,\n\n"
     "die Kündigungsfrist der Kooperationsvereinbarung „{title}“ endet {days}, am "
     "{notice_deadline}. Die Vereinbarung läuft bis zum {ends_on}.\n"
     "{renewal}\n\n"
     "Bitte entscheiden Sie rechtzeitig, ob Sie die Zusammenarbeit fortsetzen möchten.\n\n"
     "Zur Vereinbarung: {link}\n\n"
     "Sie erhalten diese Erinnerung, weil {entered_by} Ihre Adresse als Kontakt für diese "
     "Vereinbarung eingetragen hat.\n" FOOTER_DE},
    {"agreement.expiring", "en", "Notice period ends on {notice_deadline}: {title}",
     "Hello,\n\n"
     "the notice period of the cooperation agreement \"{title}\" ends {days}, on "
     "{notice_deadline}. The agreement runs until {ends_on}.\n"
     "{renewal}\n\n"
     "Please decide in time whether you want to continue the cooperation.\n\n"
     "View the agreement: {link}\n\n"
     "You receive this reminder because {entered_by} entered your address as a contact for "
     "this agreement.\n" FOOTER_EN},
    {"agreement.expiring", "sv", "Uppsägningstiden går ut {notice_deadline}: {title}",
     "Hej!\n\n"
     "Uppsägningstiden för samverkansavtalet ”{title}” går ut {days}, den "
     "{notice_deadline}. Avtalet gäller till och med {ends_on}.\n"
     "{renewal}\n\n"
     "Bestäm i god tid om ni vill fortsätta samarbetet.\n\n"
     "Till avtalet: {link}\n\n"
     "Du får den här påminnelsen eftersom {entered_by} har angett din adress som kontakt för "
     "avtalet.\n" FOOTER_SV},
    /* agreement.expired */
    {"agreement.expired", "de", "Kooperationsvereinbarung abgelaufen: {title}",
     "Guten Tag,\n\n"
     "die Kooperationsvereinbarung „{title}“ ist am {ends_on} ausgelaufen, ohne verlängert "
     "oder gekündigt worden zu sein.\n\n"
     "Zur Vereinbarung: {link}\n\n"
     "Sie erhalten diese Nachricht, weil {entered_by} Ihre Adresse als Kontakt für diese "
     "Vereinbarung eingetragen hat.\n" FOOTER_DE},
    {"agreement.expired", "en", "Cooperation agreement expired: {title}",
     "Hello,\n\n"
     "the cooperation agreement \"{title}\" ended on {ends_on} without being renewed or "
     "terminated.\n\n"
     "View the agreement: {link}\n\n"
     "You receive this message because {entered_by} entered your address as a contact for "
     "this agreement.\n" FOOTER_EN},
    {"agreement.expired", "sv", "Samverkansavtalet har löpt ut: {title}",
     "Hej!\n\n"
     "Samverkansavtalet ”{title}” löpte ut den {ends_on} utan att ha förlängts eller sagts "
     "upp.\n\n"
     "Till avtalet: {link}\n\n"
     "Du får det här meddelandet eftersom {entered_by} har angett din adress som kontakt för "
     "avtalet.\n" FOOTER_SV},
    /* agreement.renewed */
    {"agreement.renewed", "de", "Kooperationsvereinbarung verlängert: {title}",
     "Guten Tag,\n\n"
     "die Kooperationsvereinbarung „{title}“ wurde verlängert. Die Folgevereinbarung läuft "
     "bis zum {ends_on}.\n\n"
     "Zur Folgevereinbarung: {link}\n" FOOTER_DE},
    {"agreement.renewed", "en", "Cooperation agreement renewed: {title}",
     "Hello,\n\n"
     "the cooperation agreement \"{title}\" has been renewed. The new agreement runs until "
     "{ends_on}.\n\n"
     "View the new agreement: {link}\n" FOOTER_EN},
    {"agreement.renewed", "sv", "Samverkansavtalet har förlängts: {title}",
     "Hej!\n\n"
     "Samverkansavtalet ”{title}” har förlängts. Det nya avtalet gäller till och med "
     "{ends_on}.\n\n"
     "Till det nya avtalet: {link}\n" FOOTER_SV},
    /* alert.created: no health data, only attention, urgency and a link */
    {"alert.created", "de", "Eine Meldung erfordert Aufmerksamkeit ({urgency})",
     "Guten Tag,\n\n"
     "in workhealth liegt eine neue Meldung vor, die Ihre Aufmerksamkeit erfordert.\n"
     "Dringlichkeit: {urgency}\n\n"
     "Bitte melden Sie sich an, um sie anzusehen: {link}\n\n"
     "Aus Gründen des Datenschutzes enthält diese Nachricht keine weiteren Angaben.\n" FOOTER_DE},
    {"alert.created", "en", "An alert needs attention ({urgency})",
     "Hello,\n\n"
     "there is a new alert in workhealth that needs your attention.\n"
     "Urgency: {urgency}\n\n"
     "Please sign in to view it: {link}\n\n"
     "To protect privacy, this message contains no further details.\n" FOOTER_EN},
    {"alert.created", "sv", "Ett larm behöver uppmärksamhet ({urgency})",
     "Hej!\n\n"
     "Det finns ett nytt larm i workhealth som behöver er uppmärksamhet.\n"
     "Angelägenhetsgrad: {urgency}\n\n"
     "Logga in för att se det: {link}\n\n"
     "Av integritetsskäl innehåller meddelandet inga ytterligare uppgifter.\n" FOOTER_SV},
    /* alert.escalated */
    {"alert.escalated", "de", "Eine Meldung ist noch unbearbeitet ({urgency})",
     "Guten Tag,\n\n"
     "eine Meldung in workhealth wurde innerhalb der vereinbarten Frist nicht bestätigt und "
     "erfordert weiterhin Aufmerksamkeit.\n"
     "Dringlichkeit: {urgency}\n\n"
     "Bitte melden Sie sich an, um sie anzusehen: {link}\n\n"
     "Aus Gründen des Datenschutzes enthält diese Nachricht keine weiteren Angaben.\n" FOOTER_DE},
    {"alert.escalated", "en", "An alert is still waiting ({urgency})",
     "Hello,\n\n"
     "an alert in workhealth has not been acknowledged within the agreed time and still "
     "needs attention.\n"
     "Urgency: {urgency}\n\n"
     "Please sign in to view it: {link}\n\n"
     "To protect privacy, this message contains no further details.\n" FOOTER_EN},
    {"alert.escalated", "sv", "Ett larm väntar fortfarande ({urgency})",
     "Hej!\n\n"
     "Ett larm i workhealth har inte kvitterats inom överenskommen tid och behöver "
     "fortfarande uppmärksamhet.\n"
     "Angelägenhetsgrad: {urgency}\n\n"
     "Logga in för att se det: {link}\n\n"
     "Av integritetsskäl innehåller meddelandet inga ytterligare uppgifter.\n" FOOTER_SV},
    /* survey.opened */
    {"survey.opened", "de", "Befragung geöffnet: {title}",
     "Guten Tag,\n\n"
     "die Beschäftigtenbefragung „{title}“ ist jetzt geöffnet.\n\n"
     "Zur Befragung: {link}\n" FOOTER_DE},
    {"survey.opened", "en", "Survey opened: {title}",
     "Hello,\n\n"
     "the employee survey \"{title}\" is now open.\n\n"
     "View the survey: {link}\n" FOOTER_EN},
    {"survey.opened", "sv", "Enkäten har öppnats: {title}",
     "Hej!\n\n"
     "Medarbetarenkäten ”{title}” är nu öppen.\n\n"
     "Till enkäten: {link}\n" FOOTER_SV},
    /* survey.closed */
    {"survey.closed", "de", "Befragung beendet: {title}",
     "Guten Tag,\n\n"
     "die Beschäftigtenbefragung „{title}“ ist beendet. Die Ergebnisse können jetzt "
     "ausgewertet werden.\n\n"
     "Zur Befragung: {link}\n" FOOTER_DE},
    {"survey.closed", "en", "Survey closed: {title}",
     "Hello,\n\n"
     "the employee survey \"{title}\" has closed. Its results are ready to be reviewed.\n\n"
     "View the survey: {link}\n" FOOTER_EN},
    {"survey.closed", "sv", "Enkäten har stängts: {title}",
     "Hej!\n\n"
     "Medarbetarenkäten ”{title}” har stängts. Resultaten kan nu granskas.\n\n"
     "Till enkäten: {link}\n" FOOTER_SV},
    /* network.benchmark_published */
    {"network.benchmark_published", "de", "Netzwerk-Vergleich {year} veröffentlicht",
     "Guten Tag,\n\n"
     "im Netzwerk Ihrer Organisation wurde der Vergleich der Befragungen von {year} "
     "veröffentlicht.\n\n"
     "Zum Vergleich: {link}\n" FOOTER_DE},
    {"network.benchmark_published", "en", "Network benchmark {year} published",
     "Hello,\n\n"
     "the benchmark of the {year} surveys in your organisation's network has been published.\n\n"
     "View the benchmark: {link}\n" FOOTER_EN},
    {"network.benchmark_published", "sv", "Nätverkets jämförelse {year} har publicerats",
     "Hej!\n\n"
     "Jämförelsen av enkäterna {year} i din organisations nätverk har publicerats.\n\n"
     "Till jämförelsen: {link}\n" FOOTER_SV},
};
const int mail_n_templates = sizeof mail_templates / sizeof mail_templates[0];

/* Where {link} points, per event type; {field} as in the texts. Alerts link
 * to the organisation's list of alerts, never to one subject's results. */
static const struct {
    const char *type_prefix;
    const char *path;
} links[] = {
    {"organization.", "/v1/organizations/{organization_id}"},
    {"agreement.renewed", "/v1/agreements/{successor_id}"},
    {"agreement.", "/v1/agreements/{agreement_id}"},
    {"alert.", "/v1/alerts?org_id={org_id}"},
    {"survey.", "/v1/surveys/{survey_id}"},
    {"network.", "/v1/networks/{network_id}/benchmarks/{year}?template_id={template_id}"},
};

/* Words that vary by language: index 0 de, 1 en, 2 sv. */
static const char *const kind_words[][3] = {
    {"Arbeitgeber", "employer", "arbetsgivare"},
    {"Krankenkasse", "insurer", "försäkringsgivare"},
};
static const char *const urgency_words[][3] = {
    {"normal", "normal", "normal"},
    {"dringend", "urgent", "brådskande"},
};
static const char *const renewal_words[][3] = {
    {"Ohne Verlängerung endet die Zusammenarbeit zum Ende der Laufzeit.",
     "Unless it is renewed, the cooperation ends with the term.",
     "Om avtalet inte förlängs upphör samarbetet när avtalsperioden slutar."},
    {"Die Vereinbarung verlängert sich automatisch, wenn sie nicht bis dahin gekündigt wird.",
     "The agreement renews automatically unless notice is given by then.",
     "Avtalet förlängs automatiskt om det inte sägs upp senast då."},
};

/* Who entered a contact's address: by the role of the token, with its
 * organisation's name where the event has it. */
static const char *const entered_by_words[][3] = {
    /* coordinator: the employer's */
    {"das Gesundheitsmanagement von ", "the health-management coordinator of ",
     "samordnaren för hälsoarbetet hos "},
    /* consultant: the insurer's */
    {"die Gesundheitsberatung von ", "the health-promotion consultant of ", "hälsokonsulten hos "},
    {"die Administration von workhealth", "the administrators of workhealth",
     "administratörerna av workhealth"},
    {"eine Person mit Zugang zu workhealth", "someone with access to workhealth",
     "någon med åtkomst till workhealth"},
};

static int lang_index(const char *lang)
{
    for (int i = 0; mail_languages[i]; i++)
        if (strcmp(mail_languages[i], lang) == 0)
            return i;
    return -1;
}

const mail_template_t *template_find(const char *type, const char *lang)
{
    for (int i = 0; i < mail_n_templates; i++)
        if (strcmp(mail_templates[i].type, type) == 0 && strcmp(mail_templates[i].lang, lang) == 0)
            return &mail_templates[i];
    return NULL;
}

struct render_ctx {
    const wh_event_type_t *et;
    int lang;
    const char *org_id;
    const msgpack_object *data;
    const char *base_url;
    bool in_url; /* values are percent-encoded inside a link */
};

static void put_url_encoded(wh_buf_t *out, const char *p, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            wh_buf_putc(out, (char)ch);
        } else {
            wh_buf_putc(out, '%');
            wh_buf_putc(out, hex[ch >> 4]);
            wh_buf_putc(out, hex[ch & 15]);
        }
    }
}

/* A value in the text stays on its line: control characters (C0, DEL,
 * C1), line and paragraph separators and direction controls become spaces,
 * so that nothing from an event can start a line of its own in a mail. The
 * services refuse them in single-line fields; this covers what was stored
 * before they did. */
static void put_line(wh_buf_t *out, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        unsigned char b1 = i + 1 < n ? (unsigned char)p[i + 1] : 0;
        unsigned char b2 = i + 2 < n ? (unsigned char)p[i + 2] : 0;
        if (ch < 0x20 || ch == 0x7f) {
            wh_buf_putc(out, ' ');
        } else if (ch == 0xc2 && b1 >= 0x80 && b1 <= 0x9f) {
            wh_buf_putc(out, ' ');
            i++;
        } else if (ch == 0xe2 && ((b1 == 0x80 && b2 >= 0xa8 && b2 <= 0xae) ||
                                  (b1 == 0x81 && b2 >= 0xa6 && b2 <= 0xa9))) {
            wh_buf_putc(out, ' ');
            i += 2;
        } else {
            wh_buf_putc(out, (char)ch);
        }
    }
}

static void put_value(struct render_ctx *r, wh_buf_t *out, const char *p, size_t n)
{
    if (r->in_url)
        put_url_encoded(out, p, n);
    else
        put_line(out, p, n);
}

static enum wh_field_kind field_kind(const wh_event_type_t *et, const char *name)
{
    for (int i = 0; et && i < WH_EVENT_MAX_FIELDS && et->fields[i].name; i++)
        if (strcmp(et->fields[i].name, name) == 0)
            return et->fields[i].kind;
    return WH_FIELD_STR;
}

/* A date "YYYY-MM-DD" as the language writes it: 31.12.2025 in German, ISO
 * 8601 in English and Swedish (the Swedish standard form). */
static void put_date(struct render_ctx *r, wh_buf_t *out, wh_str_t s)
{
    if (r->lang == 0 && s.n == 10 && s.p[4] == '-' && s.p[7] == '-')
        wh_buf_printf(out, "%.2s.%.2s.%.4s", s.p + 8, s.p + 5, s.p);
    else
        put_value(r, out, s.p, s.n);
}

static int render_text(struct render_ctx *r, const char *tmpl, wh_buf_t *out);

static int put_placeholder(struct render_ctx *r, const char *name, wh_buf_t *out)
{
    const msgpack_object *d = r->data;
    if (strcmp(name, "org_id") == 0) {
        if (!r->org_id)
            return WH_EINVAL;
        put_value(r, out, r->org_id, strlen(r->org_id));
        return 0;
    }
    if (strcmp(name, "link") == 0 && !r->in_url) {
        for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
            if (strncmp(r->et->type, links[i].type_prefix, strlen(links[i].type_prefix)) == 0) {
                wh_buf_puts(out, r->base_url);
                r->in_url = true;
                int rc = render_text(r, links[i].path, out);
                r->in_url = false;
                return rc;
            }
        return WH_EINVAL;
    }
    if (strcmp(name, "kind") == 0) {
        const msgpack_object *k = wh_msg_get(d, "kind");
        int i = wh_msg_str_eq(k, "insurer") ? 1 : wh_msg_str_eq(k, "employer") ? 0 : -1;
        if (i < 0)
            return WH_EINVAL;
        wh_buf_puts(out, kind_words[i][r->lang]);
        return 0;
    }
    if (strcmp(name, "urgency") == 0) {
        const msgpack_object *u = wh_msg_get(d, "urgent");
        if (!u || u->type != MSGPACK_OBJECT_BOOLEAN)
            return WH_EINVAL;
        wh_buf_puts(out, urgency_words[u->via.boolean][r->lang]);
        return 0;
    }
    if (strcmp(name, "renewal") == 0) {
        const msgpack_object *a = wh_msg_get(d, "auto_renew");
        if (!a || a->type != MSGPACK_OBJECT_BOOLEAN)
            return WH_EINVAL;
        wh_buf_puts(out, renewal_words[a->via.boolean][r->lang]);
        return 0;
    }
    if (strcmp(name, "entered_by") == 0) {
        const msgpack_object *role = wh_msg_get(d, "entered_by_role");
        wh_str_t org = wh_msg_str(wh_msg_get(d, "entered_by_org"));
        int i = wh_msg_str_eq(role, "coordinator")  ? 0
                : wh_msg_str_eq(role, "consultant") ? 1
                : wh_msg_str_eq(role, "admin")      ? 2
                                                    : 3;
        if (i < 2 && (!org.p || org.n == 0))
            i = 3;
        wh_buf_puts(out, entered_by_words[i][r->lang]);
        if (i < 2)
            put_value(r, out, org.p, org.n);
        return 0;
    }
    if (strcmp(name, "days") == 0) {
        int64_t n;
        if (!wh_msg_int(wh_msg_get(d, "days_before"), &n) || n < 0)
            return WH_EINVAL;
        static const char *const today[] = {"heute", "today", "i dag"};
        static const char *const one[] = {"morgen", "tomorrow", "i morgon"};
        static const char *const before[] = {"in ", "in ", "om "};
        static const char *const after[] = {" Tagen", " days", " dagar"};
        if (n == 0)
            wh_buf_puts(out, today[r->lang]);
        else if (n == 1)
            wh_buf_puts(out, one[r->lang]);
        else
            wh_buf_printf(out, "%s%lld%s", before[r->lang], (long long)n, after[r->lang]);
        return 0;
    }
    const msgpack_object *v = wh_msg_get(d, name);
    if (!v)
        return WH_EINVAL;
    if (v->type == MSGPACK_OBJECT_STR) {
        wh_str_t s = wh_msg_str(v);
        if (field_kind(r->et, name) == WH_FIELD_DATE)
            put_date(r, out, s);
        else
            put_value(r, out, s.p, s.n);
        return 0;
    }
    int64_t x;
    if (wh_msg_int(v, &x)) {
        wh_buf_printf(out, "%lld", (long long)x);
        return 0;
    }
    return WH_EINVAL;
}

#define PLACEHOLDER_MAX 40

static int render_text(struct render_ctx *r, const char *tmpl, wh_buf_t *out)
{
    const char *p = tmpl;
    while (*p) {
        const char *open = strchr(p, '{');
        if (!open) {
            wh_buf_puts(out, p);
            break;
        }
        wh_buf_append(out, p, (size_t)(open - p));
        const char *close = strchr(open, '}');
        if (!close || close - open - 1 > PLACEHOLDER_MAX || close == open + 1)
            return WH_EINVAL;
        char name[PLACEHOLDER_MAX + 1];
        memcpy(name, open + 1, (size_t)(close - open - 1));
        name[close - open - 1] = '\0';
        int rc = put_placeholder(r, name, out);
        if (rc != 0)
            return rc;
        p = close + 1;
    }
    return wh_buf_failed(out) ? WH_ENOMEM : 0;
}

int template_render(const char *type, const char *lang, const char *org_id,
                    const msgpack_object *data, const char *base_url, wh_buf_t *subject,
                    wh_buf_t *body)
{
    const mail_template_t *t = template_find(type, lang);
    const wh_event_type_t *et = wh_event_type_find(type, strlen(type));
    if (!t || !et)
        return WH_ENOTFOUND;
    struct render_ctx r = {et, lang_index(lang), org_id, data, base_url, false};
    int rc = render_text(&r, t->subject, subject);
    return rc ? rc : render_text(&r, t->body, body);
}
