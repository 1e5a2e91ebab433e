/* The agreements service's store schema: numbered, forward-only migrations. */
#ifndef AGREEMENTS_SCHEMA_H
#define AGREEMENTS_SCHEMA_H

extern const char *const agreements_migrations[];
extern const int agreements_n_migrations;

#endif
