/* Event types and their fields: the contract between producers (through
 * their outbox) and the notifications service. Every event is
 * {id, type, org_id, occurred_at, data}; data's fields per type are below.
 * A consumer rejects (422) an event of unknown type or without its required
 * fields; the producer keeps such an event as rejected and goes on.
 *
 * No event carries health data: alert events say that an alert needs
 * attention, its urgency and where to look, never a score, answer, band or
 * subject. proto/EVENTS.md is the readable version of this list. */
#ifndef WH_EVENTS_H
#define WH_EVENTS_H

/* Field kinds for validation. */
enum wh_field_kind {
    WH_FIELD_STR,
    WH_FIELD_INT,
    WH_FIELD_BOOL,
    WH_FIELD_DATE,     /* "YYYY-MM-DD" */
    WH_FIELD_CONTACTS, /* [{name, email, language: de|en|sv}] */
};

typedef struct wh_event_field {
    const char *name;
    enum wh_field_kind kind;
    int required;
} wh_event_field_t;

#define WH_EVENT_MAX_FIELDS 12

typedef struct wh_event_type {
    const char *type;
    const char *producer; /* service name */
    int to_contacts;      /* also mailed to data.contacts without a subscription */
    wh_event_field_t fields[WH_EVENT_MAX_FIELDS];
} wh_event_type_t;

extern const wh_event_type_t wh_event_types[];
extern const int wh_n_event_types;

/* The type's row, or NULL when unknown. */
const wh_event_type_t *wh_event_type_find(const char *type, unsigned long n);

#endif
