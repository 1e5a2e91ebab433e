/* A test's temporary directory of plain files (a store and its WAL, keys):
 * removed with everything in it, each step checked. */
#ifndef WH_TEST_TMPDIR_H
#define WH_TEST_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

static inline void test_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        CHECK_INT(unlink(p), 0);
    }
    closedir(d);
    CHECK_INT(rmdir(dir), 0);
}

#endif
