/* io.c - atomic output files and whole-input reading (io.h). */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define TTY_OUT_MSG "refusing to write binary data to a terminal; use -o FILE or a pipe"
#define TTY_IN_MSG  "refusing to read binary data from a terminal; give a FILE or use a pipe"

static int is_std(const char *path)
{
    return path == NULL || strcmp(path, "-") == 0;
}

const char *fe_name_in(const char *path)
{
    return is_std(path) ? "<stdin>" : path;
}

const char *fe_name_out(const char *path)
{
    return is_std(path) ? "<stdout>" : path;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = fe_xmalloc(n);
    memcpy(p, s, n);
    return p;
}

/* The process umask, without changing it (umask(2) can only be read by setting it). */
static mode_t current_umask(void)
{
    mode_t m = 022;
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f)) {
            unsigned int v;
            if (sscanf(line, "Umask: %o", &v) == 1) {
                m = (mode_t)v;
                break;
            }
        }
        fclose(f);
    }
    return m & 0777;
}

int fe_out_open(fe_out *o, const char *path, int allow_tty, fe_err *err)
{
    memset(o, 0, sizeof *o);
    if (is_std(path)) {
        if (!allow_tty && isatty(STDOUT_FILENO))
            return fe_fail(err, TTY_OUT_MSG);
        o->f = stdout;
        return 0;
    }
    size_t plen = strlen(path);
    if (plen == 0)
        return fe_fail(err, "empty output file name");
    if (path[plen - 1] == '/')
        return fe_fail(err, "output name is a directory");
    struct stat st;
    mode_t mode = 0666 & ~current_umask();
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return fe_fail(err, "output name is a directory");
        if (S_ISREG(st.st_mode))
            mode = st.st_mode & 07777;  /* keep the permissions of the file we replace */
    }
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) + 1 : 0;  /* including the '/' */
    const char *base = slash ? slash + 1 : path;
    char pid[32];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    size_t tlen = dlen + 1 + strlen(base) + 5 + strlen(pid) + 8 + 1;
    char *tmp = fe_xmalloc(tlen);
    snprintf(tmp, tlen, "%.*s.%s.tmp.%s.XXXXXX", (int)dlen, path, base, pid);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return fe_fail(err, "cannot create a temporary file next to it: %s", strerror(e));
    }
    if (fchmod(fd, mode) != 0) {
        /* not fatal: the file stays 0600 */
    }
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        int e = errno;
        close(fd);
        unlink(tmp);
        free(tmp);
        return fe_fail(err, "cannot open temporary file: %s", strerror(e));
    }
    o->f = f;
    o->path = xstrdup(path);
    o->tmp = tmp;
    return 0;
}

static void out_clear(fe_out *o)
{
    free(o->path);
    free(o->tmp);
    o->f = NULL;
    o->path = NULL;
    o->tmp = NULL;
}

int fe_out_commit(fe_out *o, fe_err *err)
{
    if (!o->f)
        return fe_fail(err, "output is not open");
    if (!o->tmp) {
        /* stdout: flush, report write errors (EPIPE, ENOSPC, ...). */
        int bad = ferror(o->f);
        errno = 0;
        if (fflush(o->f) != 0 || bad) {
            int e = errno;
            out_clear(o);
            return fe_fail(err, "write error: %s", e ? strerror(e) : "I/O error");
        }
        out_clear(o);
        return 0;
    }
    int e = 0;
    const char *what = "write error";
    if (ferror(o->f)) {
        e = EIO;
    } else if (fflush(o->f) != 0) {
        e = errno;
    } else if (fsync(fileno(o->f)) != 0) {
        e = errno;
        what = "fsync failed";
    }
    if (fclose(o->f) != 0 && e == 0)
        e = errno;
    o->f = NULL;
    if (e == 0 && rename(o->tmp, o->path) != 0) {
        e = errno;
        what = "cannot rename the temporary file into place";
    }
    if (e != 0) {
        unlink(o->tmp);
        out_clear(o);
        return fe_fail(err, "%s: %s (nothing written)", what, strerror(e));
    }
    /* Make the rename durable: fsync the directory (best effort). */
    const char *slash = strrchr(o->path, '/');
    char *dir = slash ? strndup(o->path, (size_t)(slash - o->path) + 1) : NULL;
    int dfd = open(dir ? dir : ".", O_RDONLY);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    free(dir);
    out_clear(o);
    return 0;
}

void fe_out_abort(fe_out *o)
{
    if (o->tmp) {
        if (o->f)
            fclose(o->f);
        unlink(o->tmp);
    } else if (o->f) {
        fflush(o->f);
    }
    out_clear(o);
}

FILE *fe_in_open(const char *path, fe_err *err)
{
    if (is_std(path)) {
        if (isatty(STDIN_FILENO)) {
            fe_fail(err, TTY_IN_MSG);
            return NULL;
        }
        return stdin;
    }
    FILE *f = fopen(path, "rb");
    if (!f)
        fe_fail(err, "%s", strerror(errno));
    return f;
}

void fe_in_close(FILE *f)
{
    if (f && f != stdin)
        fclose(f);
}

int fe_read_all(const char *path, uint8_t **buf, size_t *len, size_t max_bytes, fe_err *err)
{
    *buf = NULL;
    *len = 0;
    int fd;
    if (is_std(path)) {
        if (isatty(STDIN_FILENO))
            return fe_fail(err, TTY_IN_MSG);
        fd = STDIN_FILENO;
    } else {
        fd = open(path, O_RDONLY);
        if (fd < 0)
            return fe_fail(err, "%s", strerror(errno));
    }
    size_t hard = max_bytes < SIZE_MAX ? max_bytes + 1 : SIZE_MAX;  /* one more to detect "too big" */
    size_t cap = 64 * 1024;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (fd != STDIN_FILENO)
            close(fd);
        return fe_fail(err, "is a directory");
    }
    /* The size of a regular file is only a hint for the first allocation; growth
     * still follows the bytes that actually arrive. */
    if (S_ISREG(st.st_mode) && st.st_size > 0 && (uint64_t)st.st_size < (uint64_t)hard)
        cap = (size_t)st.st_size + 1;
    if (cap > hard)
        cap = hard;
    uint8_t *b = malloc(cap);
    size_t n = 0;
    int rc = 0;
    if (!b) {
        rc = fe_fail(err, "out of memory reading input");
        goto done;
    }
    for (;;) {
        if (n == cap) {
            if (cap >= hard) {
                rc = fe_fail(err, "input is larger than the limit of %zu bytes", max_bytes);
                goto done;
            }
            size_t ncap = cap > hard / 2 ? hard : cap * 2;
            uint8_t *nb = realloc(b, ncap);
            if (!nb) {
                rc = fe_fail(err, "out of memory reading input (%zu bytes)", ncap);
                goto done;
            }
            b = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, b + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = fe_fail(err, "read error: %s", strerror(errno));
            goto done;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n > max_bytes) {
        rc = fe_fail(err, "input is larger than the limit of %zu bytes", max_bytes);
        goto done;
    }
done:
    if (fd != STDIN_FILENO)
        close(fd);
    if (rc != 0) {
        free(b);
        return rc;
    }
    *buf = b;
    *len = n;
    return 0;
}
