/* Replays a fuzz target's seed corpus without libFuzzer, so that every input
 * that once mattered runs as an ordinary test under the sanitizer build.
 * Each file is read into a buffer of exactly its size, so an overread in the
 * target shows up under AddressSanitizer as it would while fuzzing. Files run
 * in name order to make a failure reproducible. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads path whole into a fresh allocation of exactly its size (one byte for
 * an empty file, so that malloc(0) need not be special). */
static int read_file(const char *path, uint8_t **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0) {
        fclose(f);
        return -1;
    }
    size_t n = (size_t)st.st_size;
    uint8_t *p = malloc(n ? n : 1);
    if (!p || fread(p, 1, n, f) != n) {
        free(p);
        fclose(f);
        return -1;
    }
    fclose(f);
    *data = p;
    *size = n;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "%s: %s\n", dir, strerror(errno));
        return 1;
    }

    char **names = NULL;
    size_t count = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
            continue;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 64;
            char **grown = realloc(names, cap * sizeof *names);
            if (!grown) {
                fprintf(stderr, "out of memory\n");
                return 1;
            }
            names = grown;
        }
        if (!(names[count] = strdup(e->d_name))) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
        count++;
    }
    closedir(d);
    if (count == 0) {
        fprintf(stderr, "%s: no inputs\n", dir);
        return 1;
    }
    qsort(names, count, sizeof *names, by_name);

    for (size_t i = 0; i < count; i++) {
        char path[4096];
        uint8_t *data;
        size_t size;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (read_file(path, &data, &size) != 0) {
            fprintf(stderr, "%s: cannot read: %s\n", path, strerror(errno));
            return 1;
        }
        LLVMFuzzerTestOneInput(data, size);
        free(data);
        free(names[i]);
    }
    free(names);
    printf("replayed %zu inputs from %s\n", count, dir);
    return 0;
}
