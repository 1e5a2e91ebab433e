/* The surveys service's store schema: numbered, forward-only migrations. */
#ifndef SURVEYS_SCHEMA_H
#define SURVEYS_SCHEMA_H

extern const char *const surveys_migrations[];
extern const int surveys_n_migrations;

#endif
