/* The notifications service's store schema: numbered, forward-only
 * migrations. */
#ifndef NOTIFICATIONS_SCHEMA_H
#define NOTIFICATIONS_SCHEMA_H

extern const char *const notifications_migrations[];
extern const int notifications_n_migrations;

#endif
