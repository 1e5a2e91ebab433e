#include "schema.h"

const char *const notifications_migrations[] = {
    /* 1: (superseded placeholder kept so that version numbers never move) */
    "CREATE TABLE service_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    /* 2: events received from the producers' outboxes. */
    "CREATE TABLE events ("
    " id TEXT PRIMARY KEY,"
    " type TEXT NOT NULL,"
    " org_id TEXT,"
    " occurred_at TEXT NOT NULL,"
    " data BLOB NOT NULL,"
    " received_at TEXT NOT NULL);"
    "CREATE INDEX events_type ON events(type, id);",
    /* 3: subscriptions, the deliveries made from events and every attempt.
     * subscription_events is the fan-out index: one row per (org, type)
     * a subscription listens to. A delivery copies channel, target and host
     * so that it can still be listed after its subscription is deleted;
     * `host` is the concurrency key (a webhook's host:port, "smtp" for
     * e-mail). next_ms is when a pending delivery is due; round counts the
     * attempts of the current retry schedule (a manual retry starts a new
     * one), attempts all of them. */
    "CREATE TABLE subscriptions ("
    " id TEXT PRIMARY KEY,"
    " org_id TEXT NOT NULL,"
    " events TEXT NOT NULL," /* JSON array of event types */
    " channel TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),"
    " target TEXT NOT NULL,"
    " host TEXT NOT NULL,"
    " language TEXT NOT NULL CHECK (language IN ('de', 'en', 'sv')),"
    " secret TEXT,"
    " alerts INTEGER NOT NULL DEFAULT 0," /* listens to alert.* events */
    " created_at TEXT NOT NULL);"
    "CREATE INDEX subscriptions_org ON subscriptions(org_id, id);"
    "CREATE TABLE subscription_events ("
    " org_id TEXT NOT NULL,"
    " type TEXT NOT NULL,"
    " subscription_id TEXT NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,"
    " PRIMARY KEY (org_id, type, subscription_id)) WITHOUT ROWID;"
    "CREATE INDEX subscription_events_sub ON subscription_events(subscription_id);"
    "CREATE TABLE deliveries ("
    " seq INTEGER PRIMARY KEY,"
    " id TEXT NOT NULL UNIQUE,"
    " event_id TEXT NOT NULL REFERENCES events(id),"
    " event_type TEXT NOT NULL,"
    " org_id TEXT,"
    " subscription_id TEXT,"
    " channel TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),"
    " target TEXT NOT NULL,"
    " host TEXT NOT NULL,"
    " language TEXT NOT NULL,"
    " status TEXT NOT NULL DEFAULT 'pending'"
    "  CHECK (status IN ('pending', 'delivered', 'failed')),"
    " next_ms INTEGER NOT NULL,"
    " round INTEGER NOT NULL DEFAULT 0,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL);"
    /* The engine's scan: due pending deliveries in time order, covering. */
    "CREATE INDEX deliveries_due ON deliveries(next_ms, host, channel)"
    " WHERE status = 'pending';"
    "CREATE INDEX deliveries_org ON deliveries(org_id, id);"
    "CREATE INDEX deliveries_sub ON deliveries(subscription_id, status);"
    /* One e-mail per address and event: a contact who also subscribed gets
     * the message once, in the contact's language. */
    "CREATE UNIQUE INDEX deliveries_one_mail ON deliveries(event_id, target)"
    " WHERE channel = 'email';"
    "CREATE TABLE delivery_attempts ("
    " delivery_seq INTEGER NOT NULL REFERENCES deliveries(seq),"
    " n INTEGER NOT NULL,"
    " at TEXT NOT NULL,"
    " outcome TEXT NOT NULL,"
    " http_status INTEGER,"
    " smtp_status INTEGER,"
    " PRIMARY KEY (delivery_seq, n)) WITHOUT ROWID;",
    /* 4: the request that emitted an event, where one did, so that the log
     * lines of its deliveries name it. */
    "ALTER TABLE events ADD COLUMN request_id TEXT;",
};
const int notifications_n_migrations =
    sizeof notifications_migrations / sizeof notifications_migrations[0];
