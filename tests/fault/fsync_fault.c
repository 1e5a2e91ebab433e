/* A test-only LD_PRELOAD library: fsync and fdatasync fail with EIO while
 * the file named by WH_FAULT_FSYNC_FILE exists; while the file named by
 * WH_FAULT_FSYNC_SLOW_FILE exists they wait (a disk that takes seconds to
 * sync), for at most SLOW_MAX_MS; otherwise they pass through to libc.
 * tests/fault/test_store_faults.py preloads it into a service to make
 * SQLite's commit fail or stall where it syncs the write-ahead log. It is
 * built beside the tests and is never linked into a service. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define SLOW_MAX_MS 30000

typedef int (*sync_fn)(int);

static int failing(void)
{
    const char *p = getenv("WH_FAULT_FSYNC_FILE");
    return p && access(p, F_OK) == 0;
}

static void wait_while_slow(void)
{
    const char *p = getenv("WH_FAULT_FSYNC_SLOW_FILE");
    struct timespec tick = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
    for (int ms = 0; p && access(p, F_OK) == 0 && ms < SLOW_MAX_MS; ms += 10)
        nanosleep(&tick, NULL);
}

static int pass(const char *name, int fd)
{
    wait_while_slow();
    sync_fn real = (sync_fn)dlsym(RTLD_NEXT, name);
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    return real(fd);
}

int fsync(int fd)
{
    if (failing()) {
        errno = EIO;
        return -1;
    }
    return pass("fsync", fd);
}

int fdatasync(int fd)
{
    if (failing()) {
        errno = EIO;
        return -1;
    }
    return pass("fdatasync", fd);
}
