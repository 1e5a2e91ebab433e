/* E-mail templates in German, English and Swedish, and the messages built
 * from them. */
#include <stdlib.h>

#include <curl/curl.h>

#include "check.h"
#include "err.h"
#include "events.h"
#include "mail.h"
#include "msg.h"
#include "templates.h"

#define BASE "https://wh.example.org"
#define ORG  "01JORG0000000000000000000A"

/* Sample data for an event type: every field of proto/events.h filled. */
static void sample(const wh_event_type_t *et, bool flag, wh_buf_t *out)
{
    msgpack_packer pk;
    wh_msg_writer_init(&pk, out);
    int n = 0;
    while (n < WH_EVENT_MAX_FIELDS && et->fields[n].name)
        n++;
    msgpack_pack_map(&pk, (size_t)n);
    for (int i = 0; i < n; i++) {
        const wh_event_field_t *f = &et->fields[i];
        wh_msg_pack_str(&pk, f->name);
        switch (f->kind) {
        case WH_FIELD_STR:
            if (strcmp(f->name, "kind") == 0)
                wh_msg_pack_str(&pk, flag ? "insurer" : "employer");
            else if (strcmp(f->name, "title") == 0 || strcmp(f->name, "name") == 0)
                wh_msg_pack_str(&pk, "BGF-Kooperation 2025");
            else
                wh_msg_pack_str(&pk, "01JID00000000000000000000Z");
            break;
        case WH_FIELD_INT:
            msgpack_pack_int(&pk, 30);
            break;
        case WH_FIELD_BOOL:
            flag ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
            break;
        case WH_FIELD_DATE:
            wh_msg_pack_str(&pk, strcmp(f->name, "ends_on") == 0 ? "2025-12-31" : "2025-10-02");
            break;
        case WH_FIELD_CONTACTS:
            msgpack_pack_array(&pk, 0);
            break;
        }
    }
}

struct rendered {
    wh_buf_t subject, body;
};

static int render(const char *type, const char *lang, bool flag, struct rendered *r)
{
    const wh_event_type_t *et = wh_event_type_find(type, strlen(type));
    CHECK(et != NULL);
    wh_buf_t data;
    wh_buf_init(&data);
    sample(et, flag, &data);
    wh_msg_t m;
    CHECK_INT(wh_msg_decode(data.data, data.len, &m), 0);
    wh_buf_init(&r->subject);
    wh_buf_init(&r->body);
    int rc = template_render(type, lang, ORG, m.root, BASE, &r->subject, &r->body);
    wh_msg_close(&m);
    wh_buf_close(&data);
    return rc;
}

static void done(struct rendered *r)
{
    wh_buf_close(&r->subject);
    wh_buf_close(&r->body);
}

/* Every event type of proto/events.h has a text in every language, and each
 * renders with no placeholder left. */
static void test_every_type_and_language(void)
{
    for (int i = 0; i < wh_n_event_types; i++)
        for (int l = 0; mail_languages[l]; l++)
            for (int flag = 0; flag < 2; flag++) {
                const char *type = wh_event_types[i].type;
                CHECK(template_find(type, mail_languages[l]) != NULL);
                struct rendered r;
                int rc = render(type, mail_languages[l], flag, &r);
                if (rc != 0)
                    fprintf(stderr, "%s/%s: %s\n", type, mail_languages[l], wh_strerror(rc));
                CHECK_INT(rc, 0);
                CHECK(r.subject.len > 5 && r.body.len > 40);
                CHECK(strchr(r.subject.data, '{') == NULL && strchr(r.body.data, '{') == NULL);
                CHECK(strstr(r.body.data, BASE "/v1/") != NULL);
                done(&r);
            }
    CHECK_INT(mail_n_templates, wh_n_event_types * 3);
}

static void test_expiring(void)
{
    struct rendered r;
    CHECK_INT(render("agreement.expiring", "de", false, &r), 0);
    CHECK_STR(r.subject.data, "Kündigungsfrist endet am 02.10.2025: BGF-Kooperation 2025");
    CHECK(strstr(r.body.data,
                 "die Kündigungsfrist der Kooperationsvereinbarung „BGF-Kooperation 2025“ endet "
                 "in 30 Tagen, am 02.10.2025. Die Vereinbarung läuft bis zum 31.12.2025.\n"
                 "Ohne Verlängerung endet die Zusammenarbeit zum Ende der Laufzeit.\n") != NULL);
    CHECK(strstr(r.body.data,
                 "Zur Vereinbarung: " BASE "/v1/agreements/01JID00000000000000000000Z\n") != NULL);
    done(&r);

    CHECK_INT(render("agreement.expiring", "en", true, &r), 0);
    CHECK_STR(r.subject.data, "Notice period ends on 2025-10-02: BGF-Kooperation 2025");
    CHECK(strstr(r.body.data, "the notice period of the cooperation agreement \"BGF-Kooperation "
                              "2025\" ends in 30 days, on 2025-10-02. The agreement runs until "
                              "2025-12-31.\nThe agreement renews automatically unless notice is "
                              "given by then.\n") != NULL);
    done(&r);

    CHECK_INT(render("agreement.expiring", "sv", false, &r), 0);
    CHECK_STR(r.subject.data, "Uppsägningstiden går ut 2025-10-02: BGF-Kooperation 2025");
    CHECK(strstr(r.body.data, "Uppsägningstiden för samverkansavtalet ”BGF-Kooperation 2025” går "
                              "ut om 30 dagar, den 2025-10-02.") != NULL);
    CHECK(strstr(r.body.data, "Till avtalet: " BASE "/v1/agreements/") != NULL);
    done(&r);

    CHECK_INT(render("agreement.expired", "de", false, &r), 0);
    CHECK_STR(r.subject.data, "Kooperationsvereinbarung abgelaufen: BGF-Kooperation 2025");
    CHECK(strstr(r.body.data, "ist am 31.12.2025 ausgelaufen") != NULL);
    done(&r);
}

/* agreement.expired with who entered the contacts: role and organisation
 * (either may be absent: events from before they were recorded). */
static int render_entered(const char *lang, const char *role, const char *org, wh_buf_t *body)
{
    wh_buf_t data, subject;
    wh_buf_init(&data);
    wh_buf_init(&subject);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &data);
    msgpack_pack_map(&pk, 6 + (role != NULL) + (org != NULL));
    wh_msg_kv_str(&pk, "agreement_id", "01JID00000000000000000000Z");
    wh_msg_kv_str(&pk, "title", "BGF-Kooperation 2025");
    wh_msg_kv_str(&pk, "employer_id", "01JID00000000000000000001Z");
    wh_msg_kv_str(&pk, "insurer_id", "01JID00000000000000000002Z");
    wh_msg_kv_str(&pk, "ends_on", "2025-12-31");
    wh_msg_pack_str(&pk, "contacts");
    msgpack_pack_array(&pk, 0);
    if (role)
        wh_msg_kv_str(&pk, "entered_by_role", role);
    if (org)
        wh_msg_kv_str(&pk, "entered_by_org", org);
    wh_msg_t m;
    CHECK_INT(wh_msg_decode(data.data, data.len, &m), 0);
    wh_buf_reset(body);
    int rc = template_render("agreement.expired", lang, ORG, m.root, BASE, &subject, body);
    wh_msg_close(&m);
    wh_buf_close(&data);
    wh_buf_close(&subject);
    return rc;
}

/* Each reminder says who entered the recipient's address. */
static void test_entered_by(void)
{
    wh_buf_t b;
    wh_buf_init(&b);
    CHECK_INT(render_entered("en", "coordinator", "Bezirksamt Mitte", &b), 0);
    CHECK(strstr(b.data, "You receive this message because the health-management coordinator "
                         "of Bezirksamt Mitte entered your address as a contact for this "
                         "agreement.\n") != NULL);
    CHECK_INT(render_entered("de", "consultant", "AOK Nordost", &b), 0);
    CHECK(strstr(b.data, "weil die Gesundheitsberatung von AOK Nordost Ihre Adresse als "
                         "Kontakt für diese Vereinbarung eingetragen hat.\n") != NULL);
    CHECK_INT(render_entered("sv", "admin", NULL, &b), 0);
    CHECK(strstr(b.data, "eftersom administratörerna av workhealth har angett din adress") != NULL);
    CHECK_INT(render_entered("en", NULL, NULL, &b), 0);
    CHECK(strstr(b.data, "because someone with access to workhealth entered your address") != NULL);
    CHECK_INT(render_entered("en", "coordinator", NULL, &b), 0);
    CHECK(strstr(b.data, "because someone with access to workhealth entered") != NULL);
    /* A name is one line in the mail, whatever the event holds. */
    CHECK_INT(render_entered("en", "consultant", "Kasse\nPlease reply with your password", &b), 0);
    CHECK(strstr(b.data, "consultant of Kasse Please reply with your password entered") != NULL);
    wh_buf_close(&b);
}

/* Alert texts carry urgency and a link to the organisation's alerts, and
 * nothing else: not even the alert's id. */
static void test_alerts_carry_no_data(void)
{
    static const char *const want_subject[][2] = {
        {"Eine Meldung erfordert Aufmerksamkeit (normal)",
         "Eine Meldung erfordert Aufmerksamkeit (dringend)"},
        {"An alert needs attention (normal)", "An alert needs attention (urgent)"},
        {"Ett larm behöver uppmärksamhet (normal)", "Ett larm behöver uppmärksamhet (brådskande)"},
    };
    for (int l = 0; l < 3; l++)
        for (int urgent = 0; urgent < 2; urgent++) {
            struct rendered r;
            CHECK_INT(render("alert.created", mail_languages[l], urgent, &r), 0);
            CHECK_STR(r.subject.data, want_subject[l][urgent]);
            CHECK(strstr(r.body.data, BASE "/v1/alerts?org_id=" ORG "\n") != NULL);
            CHECK(strstr(r.body.data, "01JID") == NULL);
            done(&r);
        }
}

static void test_link_values_are_encoded(void)
{
    wh_buf_t data, s, b;
    wh_buf_init(&data);
    wh_buf_init(&s);
    wh_buf_init(&b);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &data);
    msgpack_pack_map(&pk, 2);
    wh_msg_kv_str(&pk, "survey_id", "a/../b?c=d e");
    wh_msg_kv_str(&pk, "title", "Befragung");
    wh_msg_t m;
    CHECK_INT(wh_msg_decode(data.data, data.len, &m), 0);
    CHECK_INT(template_render("survey.opened", "en", ORG, m.root, BASE, &s, &b), 0);
    CHECK(strstr(b.data, BASE "/v1/surveys/a%2F..%2Fb%3Fc%3Dd%20e\n") != NULL);
    /* A field the template needs and the event lacks is an error. */
    wh_buf_reset(&s);
    wh_buf_reset(&b);
    CHECK_INT(template_render("agreement.expired", "en", ORG, m.root, BASE, &s, &b), WH_EINVAL);
    CHECK_INT(template_render("no.such", "en", ORG, m.root, BASE, &s, &b), WH_ENOTFOUND);
    CHECK_INT(template_render("survey.opened", "fr", ORG, m.root, BASE, &s, &b), WH_ENOTFOUND);
    wh_msg_close(&m);
    wh_buf_close(&data);
    wh_buf_close(&s);
    wh_buf_close(&b);
}

static void test_compose(void)
{
    wh_buf_t out;
    wh_buf_init(&out);
    const char *subject = "Kündigungsfrist endet\r\nBcc: evil@example.org";
    const char *body = "Guten Tag,\n\nÄnderung = neu.\nZeile mit Leerzeichen am Ende \n";
    CHECK_INT(mail_compose(&out, "workhealth <noreply@wh.example.org>", "anna@example.org", subject,
                           strlen(subject), body, strlen(body), "01JDELIVERY000000000000000",
                           1735689600000LL),
              0);
    const char *want =
        "From: workhealth <noreply@wh.example.org>\r\n"
        "To: <anna@example.org>\r\n"
        "Subject: =?UTF-8?B?S8O8bmRpZ3VuZ3NmcmlzdCBlbmRldCAgQmNjOiBldmlsQGV4YW1wbGUub3Jn?=\r\n"
        "Date: Wed, 01 Jan 2025 00:00:00 +0000\r\n"
        "Message-ID: <01JDELIVERY000000000000000@workhealth>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "Auto-Submitted: auto-generated\r\n"
        "\r\n"
        "Guten Tag,\r\n"
        "\r\n"
        "=C3=84nderung =3D neu.\r\n"
        "Zeile mit Leerzeichen am Ende=20\r\n";
    CHECK_STR(out.data, want);
    /* Long lines get soft breaks before 76 characters. */
    wh_buf_reset(&out);
    char line[400];
    memset(line, 'x', sizeof line - 1);
    line[sizeof line - 1] = '\0';
    CHECK_INT(mail_compose(&out, "a@b.c", "anna@example.org", "Hi", 2, line, strlen(line), "ID", 0),
              0);
    const char *p = strstr(out.data, "\r\n\r\n") + 4;
    for (const char *q; (q = strstr(p, "\r\n")); p = q + 2)
        CHECK(q - p <= 76);
    CHECK_INT(mail_compose(&out, "a@b.c", "not an address", "Hi", 2, "x", 1, "ID", 0), WH_EINVAL);
    wh_buf_close(&out);
}

static void test_addresses(void)
{
    CHECK(wh_valid_email("anna@example.org", 16));
    CHECK(!wh_valid_email("anna@localhost", 14));
    CHECK(!wh_valid_email("anna example.org", 16));
    CHECK(!wh_valid_email("<anna@example.org>", 18));
    CHECK(!wh_valid_email("anna@@example.org", 17));
    CHECK(!wh_valid_email("anna@example.org\r\nBcc: x@y.z", 28));
    char env[300];
    CHECK(mail_envelope_from("workhealth <noreply@wh.example.org>", env, sizeof env));
    CHECK_STR(env, "<noreply@wh.example.org>");
    CHECK(mail_envelope_from("workhealth@localhost", env, sizeof env));
    CHECK_STR(env, "<workhealth@localhost>");
    CHECK(!mail_envelope_from("nobody", env, sizeof env));
    CHECK(!mail_envelope_from("a@b.c\r\nBcc: x@y.z", env, sizeof env));
}

/* A value never starts a line of its own in a mail: control characters,
 * separators and direction controls stored before the services refused
 * them in single-line fields become spaces. */
static void test_values_stay_on_their_line(void)
{
    wh_buf_t data, s, b;
    wh_buf_init(&data);
    wh_buf_init(&s);
    wh_buf_init(&b);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &data);
    msgpack_pack_map(&pk, 2);
    wh_msg_kv_str(&pk, "survey_id", "s1");
    wh_msg_kv_str(&pk, "title",
                  "Befragung\n\nPlease confirm your password at http://evil.example/\r\t\x1b"
                  "\xc2\x85\xe2\x80\xa8\xe2\x80\xae\xe2\x81\xa6"
                  "end");
    wh_msg_t m;
    CHECK_INT(wh_msg_decode(data.data, data.len, &m), 0);
    CHECK_INT(template_render("survey.opened", "en", ORG, m.root, BASE, &s, &b), 0);
    CHECK(strstr(b.data, "\"Befragung  Please confirm your password at http://evil.example/"
                         "       end\" is now open.\n") != NULL);
    CHECK(strchr(s.data, '\n') == NULL);
    wh_msg_close(&m);
    wh_buf_close(&data);
    wh_buf_close(&s);
    wh_buf_close(&b);
}

/* WH_SMTP_URL: the TLS choice from scheme, credentials and ?starttls=, the
 * option removed from what curl gets, anything else refused. */
static void test_smtp_url(void)
{
    static const struct {
        const char *in, *out;
        long ssl;
    } ok[] = {
        {"smtp://mail.example.org:587", "smtp://mail.example.org:587", CURLUSESSL_TRY},
        {"smtp://u:p@mail.example.org", "smtp://u:p@mail.example.org", CURLUSESSL_ALL},
        {"smtps://mail.example.org", "smtps://mail.example.org", CURLUSESSL_ALL},
        {"smtp://h?starttls=off", "smtp://h", CURLUSESSL_NONE},
        {"smtp://h?starttls=required", "smtp://h", CURLUSESSL_ALL},
        {"smtp://u:p@h?starttls=try", "smtp://u:p@h", CURLUSESSL_TRY},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char *url = NULL;
        long ssl = -1;
        CHECK_INT(mail_smtp_url(ok[i].in, &url, &ssl), 0);
        CHECK_STR(url, ok[i].out);
        CHECK_INT(ssl, ok[i].ssl);
        free(url);
    }
    static const char *const bad[] = {
        "http://h",    "smtp:/h", "", "smtps://h?starttls=off", "smtp://h?starttls=maybe",
        "smtp://h?x=1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *url = (char *)"untouched";
        long ssl = -1;
        CHECK_INT(mail_smtp_url(bad[i], &url, &ssl), WH_EINVAL);
        CHECK(url == NULL);
    }
}

int main(void)
{
    TEST(test_every_type_and_language);
    TEST(test_expiring);
    TEST(test_entered_by);
    TEST(test_alerts_carry_no_data);
    TEST(test_link_values_are_encoded);
    TEST(test_values_stay_on_their_line);
    TEST(test_compose);
    TEST(test_addresses);
    TEST(test_smtp_url);
    return 0;
}
