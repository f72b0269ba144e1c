/* fe_test.h - small helpers shared by the cmocka unit tests (header only). */
#ifndef FE_TEST_H
#define FE_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A fixture's path: $FE_ROOT/tests/fixtures/NAME (FE_ROOT defaults to "."). */
static inline const char *fixture(const char *name)
{
    static char buf[4096];
    const char *root = getenv("FE_ROOT");
    snprintf(buf, sizeof buf, "%s/tests/fixtures/%s", root && *root ? root : ".", name);
    return buf;
}

/* Whole file into a malloc'd buffer; fails the test if it cannot. */
static inline uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    size_t cap = 4096, n = 0;
    uint8_t *b = malloc(cap);
    size_t r;
    while ((r = fread(b + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap)
            b = realloc(b, cap *= 2);
    }
    fclose(f);
    *len = n;
    return b;
}

static inline void spit(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* A fresh private directory under $TMPDIR (or /tmp). */
static inline char *make_tmpdir(void)
{
    const char *t = getenv("TMPDIR");
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/fe-test.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(p))
        fail_msg("mkdtemp failed");
    return p;
}

/* Number of entries in a directory, not counting . and .. */
static inline int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* Remove a test directory and the plain files in it. */
static inline void remove_tmpdir(char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[8192];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
                unlink(p);
            }
        closedir(d);
    }
    rmdir(dir);
    free(dir);
}

#define assert_msg_contains(msg, sub)                                              \
    do {                                                                           \
        if (!strstr((msg), (sub)))                                                 \
            fail_msg("message \"%s\" does not contain \"%s\"", (msg), (sub));       \
    } while (0)

#endif
