#include "participate.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "envelope.h"
#include "err.h"
#include "form.h"
#include "msg.h"
#include "ops.h"

/* ---- texts ------------------------------------------------------------------ */

enum { L_DE, L_EN, L_SV, N_LANGS };
static const char *const lang_code[N_LANGS] = {"de", "en", "sv"};
static const char *const lang_name[N_LANGS] = {"Deutsch", "English", "Svenska"};

typedef struct texts {
    const char *languages, *questionnaire, *intro, *answer_all, *scale, *unit_legend, *unit_hint,
        *unit_none, *submit, *error_prefix, *summary, *q_missing, *q_missing_n, *unit_invalid,
        *code_title, *code_intro, *code_label, *code_hint, *code_missing, *go, *invalid_title,
        *invalid_text, *closed_title, *closed_text, *not_open_title, *not_open_text,
        *not_found_title, *not_found_text, *thanks_title, *thanks_text, *bad_title, *bad_text,
        *too_large_text, *busy_title, *busy_text, *limited_title, *limited_text, *method_text,
        *page_of, *next, *back;
} texts_t;

static const texts_t T[N_LANGS] = {
    [L_DE] =
        {
            .languages = "Sprache",
            .questionnaire = "Fragebogen",
            .intro = "Ihre Antworten sind anonym: Sie werden ohne Verbindung zu Ihrem Code "
                     "gespeichert, und Ergebnisse werden nur für Gruppen ab einer Mindestgröße "
                     "gezeigt.",
            .answer_all = "Bitte beantworten Sie alle Fragen.",
            .scale = "Skala von %d (niedrigster Wert) bis %d (höchster Wert)",
            .unit_legend = "Ihr Arbeitsbereich",
            .unit_hint = "Freiwillig. Ergebnisse werden nur für Bereiche mit genügend Antworten "
                         "gezeigt.",
            .unit_none = "Keine Angabe",
            .submit = "Antworten absenden",
            .error_prefix = "Fehler: ",
            .summary = "Es gibt ein Problem",
            .q_missing = "Bitte wählen Sie eine Antwort.",
            .q_missing_n = "Frage %d: Bitte wählen Sie eine Antwort.",
            .unit_invalid = "Bitte wählen Sie einen Bereich aus der Liste.",
            .code_title = "Teilnahmecode eingeben",
            .code_intro = "Geben Sie den Code von Ihrem Zettel oder aus Ihrer E-Mail ein.",
            .code_label = "Teilnahmecode",
            .code_hint = "Zum Beispiel ABCDE-FGHJK-MNPQR-STVWX; Bindestriche und "
                         "Groß-/Kleinschreibung sind egal.",
            .code_missing = "Bitte geben Sie Ihren Teilnahmecode ein.",
            .go = "Weiter",
            .invalid_title = "Code unbekannt oder bereits verwendet",
            .invalid_text = "Dieser Teilnahmecode ist nicht bekannt oder wurde schon verwendet. "
                            "Jeder Code gilt für genau eine Teilnahme. Prüfen Sie den Code und "
                            "geben Sie ihn erneut ein.",
            .closed_title = "Befragung beendet",
            .closed_text = "Diese Befragung ist beendet; ihre Teilnahmecodes sind abgelaufen. "
                           "Vielen Dank für Ihr Interesse.",
            .not_open_title = "Befragung noch nicht geöffnet",
            .not_open_text = "Diese Befragung hat noch nicht begonnen. Ihr Code bleibt gültig; "
                             "öffnen Sie den Link später noch einmal.",
            .not_found_title = "Befragung nicht gefunden",
            .not_found_text = "Unter dieser Adresse gibt es keine Befragung. Prüfen Sie den Link.",
            .thanks_title = "Vielen Dank",
            .thanks_text = "Ihre Antworten wurden gespeichert, und Ihr Code ist damit verbraucht. "
                           "Sie können diese Seite jetzt schließen.",
            .bad_title = "Ungültige Anfrage",
            .bad_text = "Das Formular konnte nicht gelesen werden. Öffnen Sie den Link zur "
                        "Befragung bitte erneut.",
            .too_large_text = "Das Formular ist zu groß. Öffnen Sie den Link zur Befragung bitte "
                              "erneut.",
            .busy_title = "Vorübergehend nicht verfügbar",
            .busy_text = "Die Befragung ist gerade nicht erreichbar. Bitte versuchen Sie es in "
                         "einigen Minuten erneut; Ihr Code bleibt gültig.",
            .limited_title = "Zu viele Anfragen",
            .limited_text = "Von Ihrer Adresse kamen zu viele Anfragen. Bitte warten Sie einen "
                            "Moment und versuchen Sie es dann erneut.",
            .method_text = "Diese Adresse kann so nicht aufgerufen werden.",
            .page_of = "Seite %d von %d",
            .next = "Weiter",
            .back = "Zurück",
        },
    [L_EN] =
        {
            .languages = "Language",
            .questionnaire = "Questionnaire",
            .intro = "Your answers are anonymous: they are stored without any link to your "
                     "code, and results are shown only for groups above a minimum size.",
            .answer_all = "Please answer every question.",
            .scale = "Scale from %d (lowest) to %d (highest)",
            .unit_legend = "Your unit",
            .unit_hint = "Optional. Results are shown only for units with enough answers.",
            .unit_none = "Prefer not to say",
            .submit = "Submit answers",
            .error_prefix = "Error: ",
            .summary = "There is a problem",
            .q_missing = "Please choose an answer.",
            .q_missing_n = "Question %d: please choose an answer.",
            .unit_invalid = "Please choose a unit from the list.",
            .code_title = "Enter your participation code",
            .code_intro = "Type the code from your slip or your e-mail.",
            .code_label = "Participation code",
            .code_hint = "For example ABCDE-FGHJK-MNPQR-STVWX; dashes and upper or lower case "
                         "do not matter.",
            .code_missing = "Please enter your participation code.",
            .go = "Continue",
            .invalid_title = "Code unknown or already used",
            .invalid_text = "This participation code is not known or has already been used. "
                            "Each code is good for one participation. Check the code and enter "
                            "it again.",
            .closed_title = "Survey closed",
            .closed_text = "This survey has closed; its participation codes have expired. Thank "
                           "you for your interest.",
            .not_open_title = "Survey not open yet",
            .not_open_text = "This survey has not started yet. Your code stays valid; please "
                             "open the link again later.",
            .not_found_title = "Survey not found",
            .not_found_text = "There is no survey at this address. Please check the link.",
            .thanks_title = "Thank you",
            .thanks_text = "Your answers have been recorded and your code has now been used. "
                           "You can close this page.",
            .bad_title = "Invalid request",
            .bad_text = "The form could not be read. Please open the link to the survey again.",
            .too_large_text = "The form is too large. Please open the link to the survey again.",
            .busy_title = "Temporarily unavailable",
            .busy_text = "The survey cannot be reached just now. Please try again in a few "
                         "minutes; your code stays valid.",
            .limited_title = "Too many requests",
            .limited_text = "Too many requests came from your address. Please wait a moment and "
                            "try again.",
            .method_text = "This address cannot be used that way.",
            .page_of = "Page %d of %d",
            .next = "Next",
            .back = "Back",
        },
    [L_SV] =
        {
            .languages = "Språk",
            .questionnaire = "Enkät",
            .intro = "Dina svar är anonyma: de sparas utan koppling till din kod, och resultat "
                     "visas bara för grupper över en minsta storlek.",
            .answer_all = "Besvara alla frågor.",
            .scale = "Skala från %d (lägst) till %d (högst)",
            .unit_legend = "Din enhet",
            .unit_hint = "Frivilligt. Resultat visas bara för enheter med tillräckligt många svar.",
            .unit_none = "Vill inte ange",
            .submit = "Skicka svar",
            .error_prefix = "Fel: ",
            .summary = "Det finns ett problem",
            .q_missing = "Välj ett svar.",
            .q_missing_n = "Fråga %d: välj ett svar.",
            .unit_invalid = "Välj en enhet i listan.",
            .code_title = "Ange din deltagarkod",
            .code_intro = "Skriv koden från din lapp eller ditt e-postmeddelande.",
            .code_label = "Deltagarkod",
            .code_hint = "Till exempel ABCDE-FGHJK-MNPQR-STVWX; bindestreck och stora eller små "
                         "bokstäver spelar ingen roll.",
            .code_missing = "Ange din deltagarkod.",
            .go = "Fortsätt",
            .invalid_title = "Koden är okänd eller redan använd",
            .invalid_text = "Den här deltagarkoden är okänd eller har redan använts. Varje kod "
                            "gäller för ett deltagande. Kontrollera koden och ange den igen.",
            .closed_title = "Enkäten är stängd",
            .closed_text = "Den här enkäten är stängd; dess deltagarkoder har gått ut. Tack för "
                           "ditt intresse.",
            .not_open_title = "Enkäten har inte öppnat än",
            .not_open_text = "Den här enkäten har inte börjat än. Din kod gäller fortfarande; "
                             "öppna länken igen senare.",
            .not_found_title = "Enkäten hittades inte",
            .not_found_text = "Det finns ingen enkät på den här adressen. Kontrollera länken.",
            .thanks_title = "Tack",
            .thanks_text = "Dina svar har sparats och din kod är nu förbrukad. Du kan stänga den "
                           "här sidan.",
            .bad_title = "Ogiltig begäran",
            .bad_text = "Formuläret kunde inte läsas. Öppna länken till enkäten igen.",
            .too_large_text = "Formuläret är för stort. Öppna länken till enkäten igen.",
            .busy_title = "Tillfälligt otillgänglig",
            .busy_text = "Enkäten kan inte nås just nu. Försök igen om några minuter; din kod "
                         "gäller fortfarande.",
            .limited_title = "För många förfrågningar",
            .limited_text = "För många förfrågningar kom från din adress. Vänta en stund och "
                            "försök sedan igen.",
            .method_text = "Den här adressen kan inte användas så.",
            .page_of = "Sida %d av %d",
            .next = "Nästa",
            .back = "Tillbaka",
        },
};

static int lang_index(const char *s, size_t n)
{
    for (int i = 0; i < N_LANGS; i++)
        if (n == 2 && strncasecmp(s, lang_code[i], 2) == 0)
            return i;
    return -1;
}

/* ---- HTML ------------------------------------------------------------------- */

static void escz(wh_buf_t *b, const char *s)
{
    wh_buf_html(b, s, strlen(s));
}

/* A text of the table with its "%d" replaced by the numbers in order (the
 * texts are not printf formats, so that none can misuse an argument), into
 * a plain string; cut at size. */
static void text_ints(char *out, size_t size, const char *text, int x, int y)
{
    int args[2] = {x, y}, used = 0;
    size_t n = 0;
    for (const char *p = text; *p && n + 1 < size; p++) {
        if (p[0] == '%' && p[1] == 'd' && used < 2) {
            int w = snprintf(out + n, size - n, "%d", args[used++]);
            n = w < 0 ? n : n + (size_t)w < size ? n + (size_t)w : size - 1;
            p++;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
}

/* The same, HTML-escaped into b (the texts are short: a sentence). */
static void esc_ints(wh_buf_t *b, const char *text, int x, int y)
{
    char out[256];
    text_ints(out, sizeof out, text, x, y);
    escz(b, out);
}

static void escw(wh_buf_t *b, wh_str_t s)
{
    if (s.p)
        wh_buf_html(b, s.p, s.n);
}

/* For a query string value; the result needs no HTML escaping. */
static void urlenc(wh_buf_t *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~')
            wh_buf_putc(b, (char)c);
        else
            wh_buf_printf(b, "%%%02X", c);
    }
}

/* ---- one request ------------------------------------------------------------ */

typedef struct page {
    broker_t *broker;
    uint64_t timeout_ms;
    char rid[WH_ENV_MAX_ID + 1];
    participate_done_fn done;
    void *ud;
    int route;
    bool head;
    char id[PARTICIPATE_MAX_ID_BYTES + 1];
    char code[PARTICIPATE_MAX_CODE_BYTES + 1];
    bool has_code;
    int prefs[N_LANGS + 1]; /* preferred languages, best first */
    int n_prefs;
    int asked_lang; /* the lang of the survey being asked for, -1 for the default */
    form_t form;    /* the POST's fields */
    int answers[PARTICIPATE_MAX_QUESTIONS]; /* INT_MIN where none */
    bool q_error[PARTICIPATE_MAX_QUESTIONS];
    const char *unit; /* the unit chosen, or NULL */
    bool unit_error;
    int at;           /* the page of a paged questionnaire the form was on, from 0 */
    const char *nav;  /* the button that sent the form: "next", "back" or NULL */
    bool switch_lang; /* the form was sent to change its language */
    int lang;         /* the questionnaire's language, once known */
    wh_buf_t out;
} page_t;

static void page_free(page_t *pg)
{
    form_close(&pg->form);
    /* The body held a code and perhaps answers. */
    if (pg->out.data)
        explicit_bzero(pg->out.data, pg->out.len);
    wh_buf_close(&pg->out);
    explicit_bzero(pg->code, sizeof pg->code);
    free(pg);
}

/* The first preferred language among those in mask (bit per language), else
 * dflt. */
static int pick_lang(const page_t *pg, unsigned mask, int dflt)
{
    for (int i = 0; i < pg->n_prefs; i++)
        if (mask & (1u << pg->prefs[i]))
            return pg->prefs[i];
    return dflt;
}

static void add_pref(page_t *pg, int l)
{
    for (int i = 0; i < pg->n_prefs; i++)
        if (pg->prefs[i] == l)
            return;
    if (pg->n_prefs < N_LANGS)
        pg->prefs[pg->n_prefs++] = l;
}

/* Accept-Language: the three languages ordered by their best q, ties in
 * the order the header names them (a tag counts by its primary subtag:
 * de-AT is de); q=0 and other tags do not count. Linear in the header,
 * which the HTTP server bounds. */
static void accept_language(page_t *pg, const char *h)
{
    double q[N_LANGS] = {-1, -1, -1};
    int pos[N_LANGS] = {0}, at = 0;
    while (h && *h) {
        size_t n = strcspn(h, ",");
        const char *semi = memchr(h, ';', n);
        const char *tag = h;
        while (tag < h + n && *tag == ' ')
            tag++;
        size_t tn = strcspn(tag, "-;, ");
        double qv = 1;
        if (semi) {
            const char *qs = semi + 1;
            while (*qs == ' ')
                qs++;
            if (qs[0] == 'q' && qs[1] == '=')
                qv = strtod(qs + 2, NULL);
        }
        int l = lang_index(tag, tn);
        if (l >= 0 && qv > 0 && qv > q[l]) {
            q[l] = qv;
            pos[l] = at;
        }
        at++;
        h += n;
        if (*h == ',')
            h++;
    }
    for (int k = 0; k < N_LANGS; k++) {
        int best = -1;
        for (int l = 0; l < N_LANGS; l++)
            if (q[l] > 0 && (best < 0 || q[l] > q[best] || (q[l] == q[best] && pos[l] < pos[best])))
                best = l;
        if (best < 0)
            break;
        add_pref(pg, best);
        q[best] = -1;
    }
}

static void finish(page_t *pg, int status, const char *location, const char *allow,
                   const char *retry_after)
{
    page_reply_t r = {.status = status,
                      .location = location,
                      .allow = allow,
                      .retry_after = retry_after,
                      .body = wh_buf_failed(&pg->out) ? NULL : pg->out.data,
                      .len = wh_buf_failed(&pg->out) ? 0 : pg->out.len};
    if (wh_buf_failed(&pg->out))
        r.status = 503;
    pg->done(pg->ud, &r);
    page_free(pg);
}

/* The page up to its <main>: the title (prefixed when the page shows
 * errors) and the links to the languages in langs, a bit per language. */
static void page_head(page_t *pg, int lang, const char *title_state, wh_str_t title, bool error,
                      unsigned langs, bool with_code)
{
    wh_buf_t *b = &pg->out;
    const texts_t *t = &T[lang];
    wh_buf_printf(b,
                  "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                  "<meta name=\"referrer\" content=\"no-referrer\">\n"
                  "<link rel=\"icon\" href=\"data:,\">\n<title>",
                  lang_code[lang]);
    if (error)
        escz(b, t->error_prefix);
    escz(b, title_state);
    if (title.p) {
        wh_buf_puts(b, " – ");
        escw(b, title);
    }
    wh_buf_puts(b, "</title>\n<link rel=\"stylesheet\" href=\"/assets/participate.css\">\n"
                   "<script src=\"/assets/participate.js\" defer></script>\n</head>\n<body>\n");
    if (!langs) {
        wh_buf_puts(b, "<main id=\"main\">\n");
        return;
    }
    wh_buf_printf(b, "<header class=\"top\">\n<nav class=\"langs\" aria-label=\"%s\">\n<ul>\n",
                  t->languages);
    for (int l = 0; l < N_LANGS; l++) {
        if (!(langs & (1u << l)))
            continue;
        /* The thank-you page switches to itself; every other one to the
         * questionnaire, with the code when there is one. */
        wh_buf_printf(b, "<li><a href=\"/s/%s%s?", pg->id,
                      pg->route == PAGE_ROUTE_THANKS ? "/thanks" : "");
        if (with_code && pg->has_code) {
            wh_buf_puts(b, "c=");
            urlenc(b, pg->code);
            wh_buf_puts(b, "&amp;");
        }
        wh_buf_printf(b, "lang=%s\" lang=\"%s\" hreflang=\"%s\"%s>%s</a></li>\n", lang_code[l],
                      lang_code[l], lang_code[l], l == lang ? " aria-current=\"true\"" : "",
                      lang_name[l]);
    }
    wh_buf_puts(b, "</ul>\n</nav>\n</header>\n<main id=\"main\">\n");
}

static void page_tail(page_t *pg)
{
    wh_buf_puts(&pg->out, "</main>\n</body>\n</html>\n");
}

static const unsigned ALL_LANGS = (1u << N_LANGS) - 1;

/* A page with a heading and a paragraph, in the language the request
 * prefers among all three. */
static void message_page(page_t *pg, int status, size_t title_off, size_t text_off,
                         const char *allow, const char *retry_after)
{
    int lang = pick_lang(pg, ALL_LANGS, L_DE);
    const char *title = *(const char *const *)((const char *)&T[lang] + title_off);
    const char *text = *(const char *const *)((const char *)&T[lang] + text_off);
    page_head(pg, lang, title, (wh_str_t){0}, false, ALL_LANGS, true);
    wh_buf_puts(&pg->out, "<h1>");
    escz(&pg->out, title);
    wh_buf_puts(&pg->out, "</h1>\n<p>");
    escz(&pg->out, text);
    wh_buf_puts(&pg->out, "</p>\n");
    page_tail(pg);
    finish(pg, status, NULL, allow, retry_after);
}

/* message_page with two fields of texts_t by name. */
#define MESSAGE(pg, status, title, text, allow, retry)                                             \
    message_page((pg), (status), offsetof(texts_t, title), offsetof(texts_t, text), (allow),       \
                 (retry))

/* An error summary at the top: announced (role=alert) and focused on load
 * (autofocus; participate.js does the same where autofocus did not take),
 * each entry a link to the field it is about. Entries are appended by the
 * caller between summary_begin and summary_end. */
static void summary_begin(wh_buf_t *b, const texts_t *t)
{
    wh_buf_puts(b, "<div class=\"error-summary\" id=\"error-summary\" role=\"alert\" "
                   "tabindex=\"-1\" autofocus aria-labelledby=\"error-summary-title\">\n"
                   "<h2 id=\"error-summary-title\">");
    escz(b, t->summary);
    wh_buf_puts(b, "</h2>\n<ul>\n");
}

static void summary_end(wh_buf_t *b)
{
    wh_buf_puts(b, "</ul>\n</div>\n");
}

static void field_error(wh_buf_t *b, const texts_t *t, const char *id, const char *msg)
{
    wh_buf_printf(b, "<p class=\"error\" id=\"%s\"><span class=\"visually-hidden\">", id);
    escz(b, t->error_prefix);
    wh_buf_puts(b, "</span>");
    escz(b, msg);
    wh_buf_puts(b, "</p>\n");
}

enum code_state { CODE_ASK, CODE_MISSING, CODE_INVALID };

/* The form to type a code (printed slips, sealed envelopes): when the link
 * has none, when it was empty, and after an unknown or used one. */
static void code_page(page_t *pg, int status, enum code_state state)
{
    wh_buf_t *b = &pg->out;
    int lang = pick_lang(pg, ALL_LANGS, L_DE);
    const texts_t *t = &T[lang];
    const char *title = state == CODE_INVALID ? t->invalid_title : t->code_title;
    page_head(pg, lang, title, (wh_str_t){0}, state != CODE_ASK, ALL_LANGS, false);
    if (state == CODE_MISSING) {
        summary_begin(b, t);
        wh_buf_puts(b, "<li><a href=\"#code\">");
        escz(b, t->code_missing);
        wh_buf_puts(b, "</a></li>\n");
        summary_end(b);
    }
    wh_buf_puts(b, "<h1>");
    escz(b, title);
    wh_buf_puts(b, "</h1>\n<p>");
    escz(b, state == CODE_INVALID ? t->invalid_text : t->code_intro);
    wh_buf_printf(b,
                  "</p>\n<form class=\"code-form\" method=\"get\" action=\"/s/%s\">\n"
                  "<input type=\"hidden\" name=\"lang\" value=\"%s\">\n"
                  "<div class=\"field%s\">\n<label for=\"code\">",
                  pg->id, lang_code[lang], state != CODE_ASK ? " has-error" : "");
    escz(b, t->code_label);
    wh_buf_puts(b, "</label>\n<p class=\"hint\" id=\"code-hint\">");
    escz(b, t->code_hint);
    wh_buf_puts(b, "</p>\n");
    if (state != CODE_ASK)
        field_error(b, t, "code-error", state == CODE_INVALID ? t->invalid_title : t->code_missing);
    wh_buf_printf(b,
                  "<input id=\"code\" name=\"c\" type=\"text\" autocomplete=\"off\" "
                  "autocapitalize=\"characters\" spellcheck=\"false\" maxlength=\"%d\" "
                  "aria-describedby=\"code-hint%s\"%s value=\"",
                  PARTICIPATE_MAX_CODE_BYTES, state != CODE_ASK ? " code-error" : "",
                  state != CODE_ASK ? " aria-invalid=\"true\"" : "");
    if (state == CODE_INVALID)
        escz(b, pg->code);
    wh_buf_puts(b, "\">\n</div>\n<button type=\"submit\">");
    escz(b, t->go);
    wh_buf_puts(b, "</button>\n</form>\n");
    page_tail(pg);
    finish(pg, status, NULL, NULL, NULL);
}

static void thanks_page(page_t *pg)
{
    wh_buf_t *b = &pg->out;
    int lang = pick_lang(pg, ALL_LANGS, L_DE);
    const texts_t *t = &T[lang];
    page_head(pg, lang, t->thanks_title, (wh_str_t){0}, false, ALL_LANGS, false);
    wh_buf_puts(b, "<h1>");
    escz(b, t->thanks_title);
    wh_buf_puts(b, "</h1>\n<p>");
    escz(b, t->thanks_text);
    wh_buf_puts(b, "</p>\n");
    page_tail(pg);
    finish(pg, 200, NULL, NULL, NULL);
}

/* ---- the questionnaire -------------------------------------------------------- */

typedef struct survey_view {
    wh_str_t title;
    int lang;
    unsigned langs; /* a bit per language of the survey */
    const msgpack_object *questions;
    uint32_t n_questions;
    const msgpack_object *units;
    uint32_t n_units;
    /* Page p shows questions page_start[p] to page_start[p + 1] - 1. */
    uint32_t page_start[PARTICIPATE_MAX_QUESTIONS + 1];
    int n_pages;
} survey_view_t;

static int array_of(const msgpack_object *o, const msgpack_object **items, uint32_t max)
{
    if (!o || o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > max)
        return -1;
    *items = o->via.array.ptr;
    return (int)o->via.array.size;
}

/* A question's block (the service counts up where the dimension changes);
 * a question without one is a block of its own. */
static int64_t block_of(const survey_view_t *v, uint32_t i)
{
    int64_t b;
    return wh_msg_int(wh_msg_get(&v->questions[i], "block"), &b) ? b : -1 - (int64_t)i;
}

/* Pages of at most PARTICIPATE_PAGE_QUESTIONS questions: whole blocks while
 * they fit, a block longer than a page split over several. A questionnaire
 * that fits one page is not paged. */
static void paginate(survey_view_t *v)
{
    uint32_t n = v->n_questions, i = 0;
    v->n_pages = 0;
    do {
        v->page_start[v->n_pages++] = i;
        uint32_t end = i;
        while (end < n) {
            uint32_t block_end = end + 1;
            while (block_end < n && block_of(v, block_end) == block_of(v, end))
                block_end++;
            if (block_end - i <= PARTICIPATE_PAGE_QUESTIONS) {
                end = block_end;
            } else {
                if (end == i)
                    end = i + PARTICIPATE_PAGE_QUESTIONS;
                break;
            }
        }
        i = end;
    } while (i < n);
    v->page_start[v->n_pages] = n;
}

/* The service's questionnaire, checked for what the page relies on. */
static int view_survey(const msgpack_object *s, survey_view_t *v)
{
    memset(v, 0, sizeof *v);
    if (!s || s->type != MSGPACK_OBJECT_MAP)
        return WH_EPROTO;
    v->title = wh_msg_str(wh_msg_get(s, "title"));
    wh_str_t l = wh_msg_str(wh_msg_get(s, "language"));
    v->lang = l.p ? lang_index(l.p, l.n) : -1;
    const msgpack_object *langs = NULL;
    int nl = array_of(wh_msg_get(s, "languages"), &langs, 16);
    int nq = array_of(wh_msg_get(s, "questions"), &v->questions, PARTICIPATE_MAX_QUESTIONS);
    int nu = array_of(wh_msg_get(s, "units"), &v->units, PARTICIPATE_MAX_UNITS);
    if (!v->title.p || v->lang < 0 || nl < 1 || nq < 0 || nu < 0)
        return WH_EPROTO;
    for (int i = 0; i < nl; i++) {
        wh_str_t x = wh_msg_str(&langs[i]);
        int li = x.p ? lang_index(x.p, x.n) : -1;
        if (li >= 0)
            v->langs |= 1u << li;
    }
    v->n_questions = (uint32_t)nq;
    v->n_units = (uint32_t)nu;
    for (uint32_t i = 0; i < v->n_questions; i++) {
        const msgpack_object *q = &v->questions[i];
        const msgpack_object *sc = wh_msg_get(q, "scale");
        int64_t lo, hi;
        wh_str_t key = wh_msg_str(wh_msg_get(q, "key"));
        if (!key.p || key.n == 0 || key.n > FORM_MAX_NAME_BYTES - 2 ||
            !wh_msg_str(wh_msg_get(q, "text")).p || !wh_msg_int(wh_msg_get(sc, "min"), &lo) ||
            !wh_msg_int(wh_msg_get(sc, "max"), &hi) || lo > hi ||
            hi - lo >= PARTICIPATE_MAX_SCALE || lo <= INT_MIN || hi >= INT_MAX)
            return WH_EPROTO;
    }
    for (uint32_t i = 0; i < v->n_units; i++)
        if (!wh_msg_str(wh_msg_get(&v->units[i], "key")).p ||
            !wh_msg_str(wh_msg_get(&v->units[i], "name")).p)
            return WH_EPROTO;
    paginate(v);
    return 0;
}

static void question_field(const msgpack_object *q, char name[FORM_MAX_NAME_BYTES + 1])
{
    wh_str_t key = wh_msg_str(wh_msg_get(q, "key"));
    snprintf(name, FORM_MAX_NAME_BYTES + 1, "q.%.*s", (int)key.n, key.p);
}

static void scale_of(const msgpack_object *q, int *lo, int *hi)
{
    int64_t a = 0, b = 0;
    const msgpack_object *sc = wh_msg_get(q, "scale");
    wh_msg_int(wh_msg_get(sc, "min"), &a);
    wh_msg_int(wh_msg_get(sc, "max"), &b);
    *lo = (int)a;
    *hi = (int)b;
}

/* A unit's label: its name after those of its ancestors among the units
 * shown ("Amt A › Team A1"), so that two teams of the same name differ. */
static void unit_label(wh_buf_t *b, const survey_view_t *v, uint32_t u)
{
    uint32_t chain[PARTICIPATE_MAX_UNIT_DEPTH + 1];
    int n = 0;
    chain[n++] = u;
    while (n <= PARTICIPATE_MAX_UNIT_DEPTH) {
        wh_str_t parent = wh_msg_str(wh_msg_get(&v->units[chain[n - 1]], "parent"));
        uint32_t found = v->n_units;
        for (uint32_t i = 0; parent.p && i < v->n_units; i++) {
            wh_str_t k = wh_msg_str(wh_msg_get(&v->units[i], "key"));
            if (k.n == parent.n && memcmp(k.p, parent.p, k.n) == 0) {
                found = i;
                break;
            }
        }
        if (found == v->n_units)
            break;
        chain[n++] = found;
    }
    for (int i = n - 1; i >= 0; i--) {
        escw(b, wh_msg_str(wh_msg_get(&v->units[chain[i]], "name")));
        if (i)
            wh_buf_puts(b, " › ");
    }
}

static bool unit_offered(const survey_view_t *v, const char *key)
{
    size_t n = strlen(key);
    for (uint32_t i = 0; i < v->n_units; i++) {
        wh_str_t k = wh_msg_str(wh_msg_get(&v->units[i], "key"));
        if (k.n == n && memcmp(k.p, key, n) == 0)
            return true;
    }
    return false;
}

/* The survey asks for a unit where there is more than one to choose (a code
 * for a team without sub-teams already says where its answer counts). */
static bool asks_unit(const survey_view_t *v)
{
    return v->n_units > 1;
}

static void unit_fieldset(page_t *pg, const survey_view_t *v, const texts_t *t)
{
    wh_buf_t *b = &pg->out;
    wh_buf_printf(b,
                  "<fieldset class=\"question unit%s\" id=\"unit\" "
                  "aria-describedby=\"unit-hint%s\">\n<legend>",
                  pg->unit_error ? " has-error" : "", pg->unit_error ? " unit-error" : "");
    escz(b, t->unit_legend);
    wh_buf_puts(b, "</legend>\n<p class=\"hint\" id=\"unit-hint\">");
    escz(b, t->unit_hint);
    wh_buf_puts(b, "</p>\n");
    if (pg->unit_error)
        field_error(b, t, "unit-error", t->unit_invalid);
    wh_buf_puts(b, "<div class=\"choices\">\n");
    for (uint32_t i = 0; i <= v->n_units; i++) {
        bool none = i == v->n_units;
        wh_str_t key = none ? (wh_str_t){"", 0} : wh_msg_str(wh_msg_get(&v->units[i], "key"));
        bool checked = pg->unit && !pg->unit_error && strlen(pg->unit) == key.n &&
                       memcmp(pg->unit, key.p, key.n) == 0;
        wh_buf_printf(b,
                      "<div class=\"choice\"><input type=\"radio\" name=\"unit\" id=\"unit-%u\" "
                      "value=\"",
                      i);
        escw(b, key);
        wh_buf_printf(b, "\"%s><label for=\"unit-%u\">", checked ? " checked" : "", i);
        if (none)
            escz(b, t->unit_none);
        else
            unit_label(b, v, i);
        wh_buf_puts(b, "</label></div>\n");
    }
    wh_buf_puts(b, "</div>\n</fieldset>\n");
}

static void question_fieldset(page_t *pg, const survey_view_t *v, const texts_t *t, uint32_t i)
{
    wh_buf_t *b = &pg->out;
    const msgpack_object *q = &v->questions[i];
    char name[FORM_MAX_NAME_BYTES + 1];
    question_field(q, name);
    int lo, hi;
    scale_of(q, &lo, &hi);
    bool err = pg->q_error[i];
    wh_buf_printf(b, "<fieldset class=\"question%s\" id=\"q%u\" aria-describedby=\"q%u-hint",
                  err ? " has-error" : "", i + 1, i + 1);
    if (err)
        wh_buf_printf(b, " q%u-error", i + 1);
    wh_buf_printf(b, "\">\n<legend><span class=\"number\">%u.</span> ", i + 1);
    escw(b, wh_msg_str(wh_msg_get(q, "text")));
    wh_buf_printf(b, "</legend>\n<p class=\"hint\" id=\"q%u-hint\">", i + 1);
    esc_ints(b, t->scale, lo, hi);
    wh_buf_puts(b, "</p>\n");
    if (err) {
        char id[32];
        snprintf(id, sizeof id, "q%u-error", i + 1);
        field_error(b, t, id, t->q_missing);
    }
    wh_buf_puts(b, "<div class=\"scale\">\n");
    for (int x = lo; x <= hi; x++) {
        wh_buf_printf(b, "<div class=\"point\"><input type=\"radio\" id=\"q%u-%d\" name=\"", i + 1,
                      x);
        escz(b, name);
        wh_buf_printf(b, "\" value=\"%d\"%s><label for=\"q%u-%d\">%d</label></div>\n", x,
                      pg->answers[i] == x ? " checked" : "", i + 1, x, x);
    }
    wh_buf_puts(b, "</div>\n</fieldset>\n");
}

static void hidden_answer(wh_buf_t *b, const msgpack_object *q, int answer)
{
    char name[FORM_MAX_NAME_BYTES + 1];
    question_field(q, name);
    wh_buf_puts(b, "<input type=\"hidden\" name=\"");
    escz(b, name);
    wh_buf_printf(b, "\" value=\"%d\">\n", answer);
}

/* Page pg->at of the questionnaire. A paged one carries the answers of its
 * other pages as hidden fields; once its form has been sent, the language
 * is switched by buttons of the form (a link would lose the answers). */
static void questionnaire_page(page_t *pg, const survey_view_t *v, int status, bool errors)
{
    wh_buf_t *b = &pg->out;
    const texts_t *t = &T[v->lang];
    bool paged = v->n_pages > 1, last = pg->at == v->n_pages - 1;
    uint32_t first = v->page_start[pg->at], end = v->page_start[pg->at + 1];
    char progress[64], state[160];
    text_ints(progress, sizeof progress, t->page_of, pg->at + 1, v->n_pages);
    snprintf(state, sizeof state, "%s%s%s", t->questionnaire, paged ? " – " : "",
             paged ? progress : "");
    /* Once answers travel in the form, a language link would lose them. */
    bool buttons = paged && pg->route == PAGE_ROUTE_SUBMIT;
    page_head(pg, v->lang, state, v->title, errors, buttons ? 0 : v->langs, true);
    if (errors) {
        summary_begin(b, t);
        if (pg->unit_error && pg->at == 0) {
            wh_buf_puts(b, "<li><a href=\"#unit-0\">");
            escz(b, t->unit_invalid);
            wh_buf_puts(b, "</a></li>\n");
        }
        for (uint32_t i = first; i < end; i++) {
            if (!pg->q_error[i])
                continue;
            int lo, hi;
            scale_of(&v->questions[i], &lo, &hi);
            wh_buf_printf(b, "<li><a href=\"#q%u-%d\">", i + 1, lo);
            esc_ints(b, t->q_missing_n, (int)i + 1, 0);
            wh_buf_puts(b, "</a></li>\n");
        }
        summary_end(b);
    }
    wh_buf_puts(b, "<h1>");
    escw(b, v->title);
    if (paged) {
        wh_buf_puts(b, " <span class=\"progress\">");
        escz(b, progress);
        wh_buf_puts(b, "</span>");
    }
    wh_buf_puts(b, "</h1>\n");
    if (pg->at == 0) {
        wh_buf_puts(b, "<p class=\"intro\">");
        escz(b, t->intro);
        wh_buf_puts(b, "</p>\n");
    }
    wh_buf_puts(b, "<p>");
    escz(b, t->answer_all);
    wh_buf_printf(b,
                  "</p>\n<form class=\"survey\" method=\"post\" action=\"/s/%s\">\n"
                  "<input type=\"hidden\" name=\"c\" value=\"",
                  pg->id);
    escz(b, pg->code);
    wh_buf_printf(b, "\">\n<input type=\"hidden\" name=\"lang\" value=\"%s\">\n",
                  lang_code[v->lang]);
    if (paged) {
        wh_buf_printf(b, "<input type=\"hidden\" name=\"page\" value=\"%d\">\n", pg->at + 1);
        for (uint32_t i = 0; i < v->n_questions; i++)
            if ((i < first || i >= end) && pg->answers[i] != INT_MIN)
                hidden_answer(b, &v->questions[i], pg->answers[i]);
    }
    if (asks_unit(v) && pg->at == 0) {
        unit_fieldset(pg, v, t);
    } else if (asks_unit(v) && pg->unit && !pg->unit_error) {
        wh_buf_puts(b, "<input type=\"hidden\" name=\"unit\" value=\"");
        escz(b, pg->unit);
        wh_buf_puts(b, "\">\n");
    }
    for (uint32_t i = first; i < end; i++)
        question_fieldset(pg, v, t, i);
    /* The button that goes on comes first: Enter in a field presses it. */
    wh_buf_printf(b,
                  "<div class=\"buttons\">\n<button type=\"submit\" class=\"submit\" name=\"nav\" "
                  "value=\"%s\">",
                  last ? "submit" : "next");
    escz(b, last ? t->submit : t->next);
    wh_buf_puts(b, "</button>\n");
    if (pg->at > 0) {
        wh_buf_puts(b, "<button type=\"submit\" class=\"back\" name=\"nav\" value=\"back\">");
        escz(b, t->back);
        wh_buf_puts(b, "</button>\n");
    }
    wh_buf_puts(b, "</div>\n");
    if (buttons && (v->langs & (v->langs - 1))) {
        wh_buf_printf(b, "<div class=\"langs-switch\" role=\"group\" aria-label=\"%s\">\n",
                      t->languages);
        for (int l = 0; l < N_LANGS; l++)
            if (v->langs & (1u << l))
                wh_buf_printf(b,
                              "<button type=\"submit\" name=\"switch\" value=\"%s\" "
                              "lang=\"%s\"%s>%s</button>\n",
                              lang_code[l], lang_code[l],
                              l == v->lang ? " aria-current=\"true\"" : "", lang_name[l]);
        wh_buf_puts(b, "</div>\n");
    }
    wh_buf_puts(b, "</form>\n");
    page_tail(pg);
    finish(pg, status, NULL, NULL, NULL);
}

/* ---- the flow ----------------------------------------------------------------- */

static void on_survey(void *ud, int status, const char *reply, size_t len);
static void on_created(void *ud, int status, const char *reply, size_t len);

static void unavailable(page_t *pg, int status)
{
    MESSAGE(pg, status == BROKER_TIMEOUT ? 504 : 503, busy_title, busy_text, NULL, "5");
}

static void ask(page_t *pg, int op, const wh_param_t *params, size_t n_params, const wh_buf_t *body,
                broker_reply_fn fn)
{
    wh_buf_t env;
    wh_buf_init(&env);
    wh_request_pack(&env, &(wh_request_out_t){
                              .op = op,
                              .id = pg->rid,
                              .deadline_ms = (int64_t)pg->timeout_ms,
                              .params = params,
                              .n_params = n_params,
                              .body = body ? body->data : NULL,
                              .body_len = body ? body->len : 0,
                          });
    if (wh_buf_failed(&env)) {
        wh_buf_close(&env);
        unavailable(pg, BROKER_UNAVAILABLE);
        return;
    }
    broker_send(pg->broker, WH_SVC_SURVEYS, env.data, env.len, pg->timeout_ms, fn, pg);
    /* The envelope carries the code (and the answers). */
    explicit_bzero(env.data, env.len);
    wh_buf_close(&env);
}

/* The questionnaire for the page's code, in lang (or the survey's first
 * language for -1). */
static void ask_survey(page_t *pg, int lang)
{
    pg->asked_lang = lang;
    wh_param_t params[3] = {
        {"id", {pg->id, strlen(pg->id)}},
        {"code", {pg->code, strlen(pg->code)}},
    };
    size_t n = 2;
    if (lang >= 0)
        params[n++] = (wh_param_t){"lang", {lang_code[lang], 2}};
    ask(pg, WH_OP_PUBLIC_SURVEY_GET, params, n, NULL, on_survey);
}

/* A problem the service answered that the page explains: true when it did. */
static bool explain_problem(page_t *pg, const wh_reply_in_t *r)
{
    switch (r->status) {
    case 403:
        if (pg->has_code)
            code_page(pg, 403, CODE_INVALID);
        else
            code_page(pg, 200, CODE_ASK);
        return true;
    case 404:
        MESSAGE(pg, 404, not_found_title, not_found_text, NULL, NULL);
        return true;
    case 409:
        if (wh_str_eq(r->problem.type, "survey-closed"))
            MESSAGE(pg, 409, closed_title, closed_text, NULL, NULL);
        else
            MESSAGE(pg, 409, not_open_title, not_open_text, NULL, NULL);
        return true;
    }
    return false;
}

static bool parse_answer(const char *s, int lo, int hi, int *out)
{
    if (!s || !*s || strlen(s) > 8)
        return false;
    char *end;
    long x = strtol(s, &end, 10);
    if (*end != '\0' || x < lo || x > hi)
        return false;
    *out = (int)x;
    return true;
}

/* The answers the form carries, each kept where it is within its
 * question's scale; the unit, marked wrong when it is not one offered. */
static void take_answers(page_t *pg, const survey_view_t *v)
{
    for (uint32_t i = 0; i < v->n_questions; i++) {
        char name[FORM_MAX_NAME_BYTES + 1];
        int lo, hi;
        question_field(&v->questions[i], name);
        scale_of(&v->questions[i], &lo, &hi);
        if (!parse_answer(form_get(&pg->form, name), lo, hi, &pg->answers[i]))
            pg->answers[i] = INT_MIN;
    }
    const char *unit = form_get(&pg->form, "unit");
    if (unit && *unit && asks_unit(v)) {
        pg->unit = unit;
        pg->unit_error = !unit_offered(v, unit);
    }
}

/* Whether page p is complete: every question answered, the unit (on the
 * first page) valid; what is not is marked for the page to show. */
static bool check_page(page_t *pg, const survey_view_t *v, int p)
{
    bool ok = p != 0 || !pg->unit_error;
    for (uint32_t i = v->page_start[p]; i < v->page_start[p + 1]; i++) {
        pg->q_error[i] = pg->answers[i] == INT_MIN;
        ok = ok && !pg->q_error[i];
    }
    return ok;
}

static void submit(page_t *pg, const survey_view_t *v);

/* A POST of the form: a language switch or Back shows a page again as it
 * was; otherwise the page is checked, and the next one follows, or after
 * the last one the whole questionnaire is checked once more (the other
 * pages' answers came back as hidden fields) and submitted. */
static void answer_posted(page_t *pg, const survey_view_t *v)
{
    take_answers(pg, v);
    if (pg->at >= v->n_pages)
        pg->at = v->n_pages - 1;
    if (pg->switch_lang) {
        questionnaire_page(pg, v, 200, false);
        return;
    }
    if (pg->nav && strcmp(pg->nav, "back") == 0) {
        pg->at = pg->at > 0 ? pg->at - 1 : 0;
        questionnaire_page(pg, v, 200, false);
        return;
    }
    if (!check_page(pg, v, pg->at)) {
        questionnaire_page(pg, v, 422, true);
        return;
    }
    if (pg->at + 1 < v->n_pages) {
        pg->at++;
        questionnaire_page(pg, v, 200, false);
        return;
    }
    for (int p = 0; p < v->n_pages; p++) {
        if (!check_page(pg, v, p)) {
            pg->at = p;
            questionnaire_page(pg, v, 422, true);
            return;
        }
    }
    submit(pg, v);
}

static void submit(page_t *pg, const survey_view_t *v)
{
    wh_buf_t body;
    msgpack_packer pk;
    wh_buf_init(&body);
    wh_msg_writer_init(&pk, &body);
    msgpack_pack_map(&pk, pg->unit ? 4 : 3);
    wh_msg_kv_str(&pk, "code", pg->code);
    wh_msg_kv_str(&pk, "language", lang_code[v->lang]);
    if (pg->unit)
        wh_msg_kv_str(&pk, "unit", pg->unit);
    wh_msg_pack_str(&pk, "answers");
    msgpack_pack_map(&pk, v->n_questions);
    for (uint32_t i = 0; i < v->n_questions; i++) {
        wh_msg_pack_wstr(&pk, wh_msg_str(wh_msg_get(&v->questions[i], "key")));
        msgpack_pack_int(&pk, pg->answers[i]);
    }
    wh_param_t id = {"id", {pg->id, strlen(pg->id)}};
    if (wh_buf_failed(&body))
        unavailable(pg, BROKER_UNAVAILABLE);
    else
        ask(pg, WH_OP_PUBLIC_RESPONSES_CREATE, &id, 1, &body, on_created);
    if (body.data)
        explicit_bzero(body.data, body.len);
    wh_buf_close(&body);
}

/* The questionnaire as the service gave it; its strings point into the
 * reply, so it is read here and nowhere later. */
static void survey_reply(page_t *pg, const wh_reply_in_t *r)
{
    if (r->status == 422 && pg->asked_lang >= 0) {
        /* Not one of the survey's languages: its first one instead. */
        ask_survey(pg, -1);
        return;
    }
    if (r->status != 200) {
        if (!explain_problem(pg, r))
            MESSAGE(pg, 502, busy_title, busy_text, NULL, NULL);
        return;
    }
    survey_view_t v;
    if (view_survey(r->body, &v) != 0) {
        MESSAGE(pg, 502, busy_title, busy_text, NULL, NULL);
        return;
    }
    pg->lang = v.lang;
    if (pg->route == PAGE_ROUTE_SUBMIT) {
        answer_posted(pg, &v);
        return;
    }
    int want = pick_lang(pg, v.langs, v.lang);
    if (want != v.lang && pg->asked_lang < 0)
        ask_survey(pg, want);
    else
        questionnaire_page(pg, &v, 200, false);
}

static void on_survey(void *ud, int status, const char *reply, size_t len)
{
    page_t *pg = ud;
    wh_reply_in_t r;
    if (status != BROKER_OK)
        unavailable(pg, status);
    else if (wh_reply_env_decode(reply, len, &r) != 0)
        MESSAGE(pg, 502, busy_title, busy_text, NULL, NULL);
    else {
        survey_reply(pg, &r);
        wh_reply_env_close(&r);
    }
}

static void on_created(void *ud, int status, const char *reply, size_t len)
{
    page_t *pg = ud;
    if (status != BROKER_OK) {
        unavailable(pg, status);
        return;
    }
    wh_reply_in_t r;
    if (wh_reply_env_decode(reply, len, &r) != 0) {
        MESSAGE(pg, 502, busy_title, busy_text, NULL, NULL);
        return;
    }
    int st = r.status;
    if (st == 201) {
        /* Post/Redirect/Get: the thank-you page's address has no code. */
        char location[sizeof PARTICIPATE_PREFIX + PARTICIPATE_MAX_ID_BYTES + 32];
        snprintf(location, sizeof location, "/s/%s/thanks?lang=%s", pg->id, lang_code[pg->lang]);
        finish(pg, 303, location, NULL, NULL);
    } else if (!explain_problem(pg, &r)) {
        MESSAGE(pg, st == 422 ? 400 : 502, bad_title, bad_text, NULL, NULL);
    }
    wh_reply_env_close(&r);
}

/* ---- entry -------------------------------------------------------------------- */

bool participate_path(const char *path)
{
    return strncmp(path, PARTICIPATE_PREFIX, strlen(PARTICIPATE_PREFIX)) == 0;
}

int participate_route(const char *method, const char *path)
{
    const char *slash = strchr(path + strlen(PARTICIPATE_PREFIX), '/');
    if (slash && strcmp(slash, "/thanks") == 0)
        return PAGE_ROUTE_THANKS;
    return strcmp(method, "POST") == 0 ? PAGE_ROUTE_SUBMIT : PAGE_ROUTE_FORM;
}

/* The survey id of the path into pg->id, and whether the rest is a page. */
static bool parse_path(page_t *pg, const char *path)
{
    const char *p = path + strlen(PARTICIPATE_PREFIX);
    size_t n = strcspn(p, "/");
    const char *rest = p + n;
    if (n == 0 || n > PARTICIPATE_MAX_ID_BYTES || (*rest && strcmp(rest, "/thanks") != 0))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    memcpy(pg->id, p, n);
    pg->id[n] = '\0';
    return true;
}

static bool form_content_type(const char *ct)
{
    static const char FORM_TYPE[] = "application/x-www-form-urlencoded";
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    size_t n = strcspn(ct, "; ");
    return n == sizeof FORM_TYPE - 1 && strncasecmp(ct, FORM_TYPE, n) == 0;
}

/* Takes a code as typed; false when it is longer than any code. */
static bool take_code(page_t *pg, const char *c)
{
    size_t n = strlen(c);
    if (n > PARTICIPATE_MAX_CODE_BYTES)
        return false;
    memcpy(pg->code, c, n + 1);
    pg->has_code = strspn(c, " \t") < n;
    return true;
}

static page_t *page_new(const participate_req_t *r, participate_done_fn done, void *ud)
{
    page_t *pg = calloc(1, sizeof *pg);
    if (!pg) {
        page_reply_t rep = {.status = 503, .retry_after = "1", .body = "", .len = 0};
        done(ud, &rep);
        return NULL;
    }
    pg->broker = r->broker;
    pg->timeout_ms = r->timeout_ms;
    snprintf(pg->rid, sizeof pg->rid, "%s", r->request_id ? r->request_id : "");
    pg->done = done;
    pg->ud = ud;
    pg->asked_lang = -1;
    pg->route = participate_route(r->method, r->path);
    pg->head = strcmp(r->method, "HEAD") == 0;
    for (size_t i = 0; i < PARTICIPATE_MAX_QUESTIONS; i++)
        pg->answers[i] = INT_MIN;
    wh_buf_init(&pg->out);
    return pg;
}

/* The languages asked for, best first: `lang` of the form, then of the
 * query, then Accept-Language. */
static void prefer(page_t *pg, const char *lang)
{
    int l = lang ? lang_index(lang, strlen(lang)) : -1;
    if (l >= 0)
        add_pref(pg, l);
}

void participate_too_many(const participate_req_t *r, int wait_s, participate_done_fn done,
                          void *ud)
{
    page_t *pg = page_new(r, done, ud);
    if (!pg)
        return;
    parse_path(pg, r->path);
    accept_language(pg, r->accept_language);
    char ra[16];
    snprintf(ra, sizeof ra, "%d", wait_s);
    MESSAGE(pg, 429, limited_title, limited_text, NULL, ra);
}

void participate_handle(const participate_req_t *r, participate_done_fn done, void *ud)
{
    page_t *pg = page_new(r, done, ud);
    if (!pg)
        return;
    bool get = strcmp(r->method, "GET") == 0 || pg->head;
    bool post = strcmp(r->method, "POST") == 0;
    bool page = parse_path(pg, r->path);
    form_t q;
    int qrc = form_parse(r->query, strlen(r->query), &q);
    if (post && page && pg->route == PAGE_ROUTE_SUBMIT) {
        int frc = form_content_type(r->content_type)
                      ? form_parse(r->body ? r->body : "", r->body_len, &pg->form)
                      : WH_ETYPE;
        const char *sw = form_get(&pg->form, "switch");
        if (sw && lang_index(sw, strlen(sw)) >= 0) {
            prefer(pg, sw);
            pg->switch_lang = true;
        }
        prefer(pg, form_get(&pg->form, "lang"));
        pg->nav = form_get(&pg->form, "nav");
        const char *at = form_get(&pg->form, "page");
        int page_no;
        if (at && parse_answer(at, 1, PARTICIPATE_MAX_QUESTIONS, &page_no))
            pg->at = page_no - 1;
        if (qrc == 0)
            prefer(pg, form_get(&q, "lang"));
        accept_language(pg, r->accept_language);
        form_close(&q);
        if (frc == WH_ETYPE) {
            MESSAGE(pg, 415, bad_title, bad_text, NULL, NULL);
            return;
        }
        if (frc != 0) {
            if (frc == WH_ELIMIT)
                MESSAGE(pg, 413, bad_title, too_large_text, NULL, NULL);
            else
                MESSAGE(pg, 400, bad_title, bad_text, NULL, NULL);
            return;
        }
        const char *c = form_get(&pg->form, "c");
        if (!c || !take_code(pg, c) || !pg->has_code) {
            code_page(pg, 403, CODE_INVALID);
            return;
        }
        ask_survey(pg, pg->n_prefs ? pg->prefs[0] : -1);
        return;
    }
    if (qrc == 0)
        prefer(pg, form_get(&q, "lang"));
    accept_language(pg, r->accept_language);
    const char *c = qrc == 0 ? form_get(&q, "c") : NULL;
    bool with_c = c != NULL, code_ok = !c || take_code(pg, c);
    form_close(&q);
    if (!page) {
        MESSAGE(pg, 404, not_found_title, not_found_text, NULL, NULL);
    } else if (pg->route == PAGE_ROUTE_THANKS) {
        if (get)
            thanks_page(pg);
        else
            MESSAGE(pg, 405, bad_title, method_text, "GET, HEAD", NULL);
    } else if (!get) {
        MESSAGE(pg, 405, bad_title, method_text, "GET, HEAD, POST", NULL);
    } else if (qrc != 0) {
        MESSAGE(pg, qrc == WH_ELIMIT ? 413 : 400, bad_title, bad_text, NULL, NULL);
    } else if (!code_ok) {
        code_page(pg, 403, CODE_INVALID);
    } else if (with_c && !pg->has_code) {
        code_page(pg, 422, CODE_MISSING);
    } else {
        /* Without a code the service still says whether the survey exists
         * and is open; the code form follows from its 403. */
        ask_survey(pg, -1);
    }
}
