/* A test-only LD_PRELOAD library: fsync and fdatasync fail with EIO while
 * the file named by WH_FAULT_FSYNC_FILE exists, and pass through to libc
 * otherwise. tests/fault/test_store_faults.py preloads it into a service to
 * make SQLite's commit fail where it syncs the write-ahead log. It is built
 * beside the tests and is never linked into a service. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

typedef int (*sync_fn)(int);

static int failing(void)
{
    const char *p = getenv("WH_FAULT_FSYNC_FILE");
    return p && access(p, F_OK) == 0;
}

static int pass(const char *name, int fd)
{
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
