/* The screening service's store schema: numbered, forward-only migrations. */
#ifndef SCREENING_SCHEMA_H
#define SCREENING_SCHEMA_H

extern const char *const screening_migrations[];
extern const int screening_n_migrations;

#endif
