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

/* Events travel in batches: one EVENTS_INGEST message {events: [...]}
 * carries at most WH_EVENTS_BATCH_MAX events (the consumer refuses more with
 * 422) and, as the producer packs it, at most WH_EVENTS_BATCH_BYTES of them
 * (a single larger event goes alone). The reply {results: [status, ...],
 * credit} holds one status per event in order (200 stored or a repeat, 422
 * rejected) and the credit: how many further events the consumer takes now.
 * A producer has one batch in flight and sends at most the credit; at 0 it
 * asks again (an empty batch) every WH_EVENTS_CREDIT_POLL_MS. */
#define WH_EVENTS_BATCH_MAX      256
#define WH_EVENTS_BATCH_BYTES    (1024 * 1024)
#define WH_EVENTS_CREDIT_POLL_MS 50

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
