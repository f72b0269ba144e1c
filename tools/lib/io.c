/* io.c - output files (atomic, or written through), temp-file cleanup on
 * signals, and whole-input reading (io.h).
 *
 * The one piece of process-wide mutable state in the library is here: the
 * registry of temp files (tmp_reg below), so that a signal handler can remove
 * them.  See fe.h. */
#include "io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define TTY_OUT_MSG "refusing to write binary data to a terminal; use -o FILE or a pipe"
#define TTY_IN_MSG  "refusing to read binary data from a terminal; give a FILE or use a pipe"

#define TMP_PREFIX  ".featevo.tmp."
#define TMP_HOSTMAX 20      /* characters of the host name kept in a temp name */
#define MAX_HOPS    40      /* symbolic links followed, as the kernel's ELOOP limit */
#define PATHMAX     4096
#ifndef S_ISVTX
#define S_ISVTX     01000   /* the sticky bit (XSI; not in plain POSIX) */
#endif

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

/* ---- the temp-file registry (process-wide; async-signal-safe reads) ----
 * A slot is filled (dirfd, name) and only then marked used; the handlers and
 * the atexit function read used slots only, with unlinkat(2) alone. */
enum { TMP_SLOTS = 64 };
static struct {
    volatile sig_atomic_t used;
    int dirfd;
    char name[64];
} tmp_reg[TMP_SLOTS];
static volatile sig_atomic_t tmp_hooks;  /* handlers and atexit installed */

static void tmp_remove_all(void)
{
    for (int i = 0; i < TMP_SLOTS; i++)
        if (tmp_reg[i].used)
            (void)unlinkat(tmp_reg[i].dirfd, tmp_reg[i].name, 0);
}

static void tmp_on_signal(int sig)
{
    int e = errno;
    tmp_remove_all();
    /* SA_RESETHAND restored the default action; the signal is blocked until
     * this returns, then ends the process as it would have without us. */
    (void)raise(sig);
    errno = e;
}

static void tmp_install_hooks(void)
{
    if (tmp_hooks)
        return;
    tmp_hooks = 1;
    atexit(tmp_remove_all);
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGXFSZ};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction old, sa;
        if (sigaction(sigs[i], NULL, &old) != 0 || old.sa_handler != SIG_DFL ||
            (old.sa_flags & SA_SIGINFO))
            continue;  /* ignored or handled by the program: leave it alone */
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = tmp_on_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESETHAND;
        (void)sigaction(sigs[i], &sa, NULL);
    }
}

static int tmp_register(int dirfd, const char *name)
{
    for (int i = 0; i < TMP_SLOTS; i++)
        if (!tmp_reg[i].used) {
            tmp_reg[i].dirfd = dirfd;
            snprintf(tmp_reg[i].name, sizeof tmp_reg[i].name, "%s", name);
            tmp_reg[i].used = 1;
            return i;
        }
    return -1;
}

static void tmp_unregister(int slot)
{
    if (slot >= 0 && slot < TMP_SLOTS)
        tmp_reg[slot].used = 0;
}

/* This host's name as it appears in temp names: [A-Za-z0-9_-] only, at most
 * TMP_HOSTMAX characters; a longer name is cut to 11 and followed by '-' and 8
 * hex digits of a hash of the whole name, so that cluster nodes whose names
 * differ only at the end stay apart. */
static void host_tag(char *buf, size_t cap)
{
    char h[256] = "";
    if (gethostname(h, sizeof h - 1) != 0 || !h[0])
        snprintf(h, sizeof h, "localhost");
    h[sizeof h - 1] = '\0';
    uint32_t hash = 2166136261u;  /* FNV-1a */
    size_t len = 0;
    for (char *p = h; *p; p++, len++) {
        hash = (hash ^ (uint8_t)*p) * 16777619u;
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_';
        if (!ok)
            *p = '_';
    }
    if (len > TMP_HOSTMAX)
        snprintf(buf, cap, "%.11s-%08lx", h, (unsigned long)hash);
    else
        snprintf(buf, cap, "%s", h);
}

/* Parse ".featevo.tmp.PID.HOST.XXXXXX": 1 and *pid, host into host_out, or 0. */
static int tmp_parse(const char *name, long *pid, char *host_out, size_t cap)
{
    size_t pl = strlen(TMP_PREFIX);
    if (strncmp(name, TMP_PREFIX, pl) != 0)
        return 0;
    const char *p = name + pl;
    char *end;
    errno = 0;
    long v = strtol(p, &end, 10);
    if (end == p || *end != '.' || errno || v <= 0)
        return 0;
    const char *h = end + 1;
    const char *dot = strchr(h, '.');
    if (!dot || (size_t)(dot - h) >= cap || strlen(dot + 1) != 6 || strchr(dot + 1, '.'))
        return 0;
    memcpy(host_out, h, (size_t)(dot - h));
    host_out[dot - h] = '\0';
    *pid = v;
    return 1;
}

/* Remove stale temps in the directory open at dfd (not consumed). */
static int sweep_fd(int dfd)
{
    int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    char me[TMP_HOSTMAX + 1];
    host_tag(me, sizeof me);
    const long self = (long)getpid();
    const uid_t uid = geteuid();
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long pid;
        char host[64];
        if (!tmp_parse(e->d_name, &pid, host, sizeof host) || strcmp(host, me) != 0 ||
            pid == self || (pid_t)pid != pid)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;  /* alive (or not ours to ask): keep */
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
            st.st_uid != uid)
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) == 0)
            removed++;
    }
    closedir(d);
    return removed;
}

int fe_tmp_sweep(const char *dir, fe_err *err)
{
    int dfd = open(dir && *dir ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return fe_fail(err, "%s", strerror(errno));
    int n = sweep_fd(dfd);
    int e = errno;
    close(dfd);
    if (n < 0)
        return fe_fail(err, "cannot read the directory: %s", strerror(e));
    return n;
}

/* ---- what an output name stands for ---- */

/* "/dev/stdout", "/dev/stderr", "/dev/fd/N", "/proc/self/fd/N", "/proc/PID/fd/N"
 * with PID ours: the descriptor number, else -1. */
static int std_fd(const char *p)
{
    if (!strcmp(p, "/dev/stdout"))
        return STDOUT_FILENO;
    if (!strcmp(p, "/dev/stderr"))
        return STDERR_FILENO;
    if (!strcmp(p, "/dev/stdin"))
        return STDIN_FILENO;
    const char *n = NULL;
    if (!strncmp(p, "/dev/fd/", 8))
        n = p + 8;
    else if (!strncmp(p, "/proc/self/fd/", 14))
        n = p + 14;
    else if (!strncmp(p, "/proc/", 6)) {
        char *end;
        long pid = strtol(p + 6, &end, 10);
        if (end != p + 6 && pid == (long)getpid() && !strncmp(end, "/fd/", 4))
            n = end + 4;
    }
    if (!n || *n < '0' || *n > '9')
        return -1;
    char *end;
    long v = strtol(n, &end, 10);
    if (*end || v < 0 || v > INT_MAX)
        return -1;
    return (int)v;
}

typedef struct {
    char path[PATHMAX];   /* the name finally written: symlinks followed */
    int fd;               /* >= 0: a descriptor of ours it names (std_fd) */
    int exists;
    struct stat st;       /* lstat of path when exists */
} target;

static int dir_len(const char *p)  /* length of the directory part, '/' excluded; -1: none */
{
    const char *s = strrchr(p, '/');
    return s ? (int)(s - p) : -1;
}

/* Follow symlinks from path to what will be written. */
static int resolve(const char *path, target *t, fe_err *err)
{
    memset(t, 0, sizeof *t);
    t->fd = -1;
    if (strlen(path) >= PATHMAX)
        return fe_fail(err, "%s", strerror(ENAMETOOLONG));
    snprintf(t->path, sizeof t->path, "%s", path);
    for (int hop = 0;; hop++) {
        int fd = std_fd(t->path);
        if (fd >= 0) {
            t->fd = fd;
            return 0;
        }
        if (lstat(t->path, &t->st) != 0) {
            if (errno == ENOENT) {
                /* a new file; its directory must exist */
                int dl = dir_len(t->path);
                char dir[PATHMAX];
                snprintf(dir, sizeof dir, "%.*s", dl < 0 ? 1 : (dl == 0 ? 1 : dl),
                         dl < 0 ? "." : t->path);
                struct stat ds;
                if (stat(dir, &ds) != 0)
                    return fe_fail(err, "%s", strerror(errno));
                if (!S_ISDIR(ds.st_mode))
                    return fe_fail(err, "%s", strerror(ENOTDIR));
                return 0;
            }
            return fe_fail(err, "%s", strerror(errno));
        }
        if (!S_ISLNK(t->st.st_mode)) {
            t->exists = 1;
            return 0;
        }
        if (hop == MAX_HOPS)
            return fe_fail(err, "%s", strerror(ELOOP));
        /* In a sticky world-writable directory (/tmp) follow only a link of our
         * own or of the directory's owner, as the kernel's protected_symlinks. */
        int dl = dir_len(t->path);
        char dir[PATHMAX];
        snprintf(dir, sizeof dir, "%.*s", dl < 0 ? 1 : (dl == 0 ? 1 : dl), dl < 0 ? "." : t->path);
        struct stat ds;
        if (stat(dir, &ds) == 0 && (ds.st_mode & S_ISVTX) && (ds.st_mode & S_IWOTH) &&
            t->st.st_uid != geteuid() && t->st.st_uid != ds.st_uid)
            return fe_fail(err, "refusing to follow a symbolic link owned by another user in a "
                           "sticky world-writable directory");
        char link[PATHMAX];
        ssize_t n = readlink(t->path, link, sizeof link - 1);
        if (n < 0)
            return fe_fail(err, "%s", strerror(errno));
        link[n] = '\0';
        char next[PATHMAX];
        int w;
        if (link[0] == '/' || dl < 0)
            w = snprintf(next, sizeof next, "%s", link);
        else
            w = snprintf(next, sizeof next, "%.*s/%s", dl, t->path, link);
        if (w < 0 || (size_t)w >= sizeof next)
            return fe_fail(err, "%s", strerror(ENAMETOOLONG));
        memcpy(t->path, next, (size_t)w + 1);
    }
}

static int check_type(const target *t, fe_err *err)
{
    if (t->fd >= 0 || !t->exists)
        return 0;
    mode_t m = t->st.st_mode;
    if (S_ISDIR(m))
        return fe_fail(err, "output name is a directory");
    if (S_ISSOCK(m))
        return fe_fail(err, "output name is a socket; refusing to write to it");
    if (S_ISBLK(m))
        return fe_fail(err, "output name is a block device; refusing to write to it");
    if (!S_ISREG(m) && !S_ISCHR(m) && !S_ISFIFO(m))
        return fe_fail(err, "output name is not a regular file, character device or FIFO");
    return 0;
}

/* A FILE written straight to descriptor fd (ours), tty refused unless allowed. */
static int open_through(fe_out *o, int fd, const char *path, int allow_tty, fe_err *err)
{
    if (!allow_tty && isatty(fd)) {
        close(fd);
        return fe_fail(err, TTY_OUT_MSG);
    }
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        int e = errno;
        close(fd);
        return fe_fail(err, "%s", strerror(e));
    }
    o->f = f;
    o->path = xstrdup(path);
    o->own = 1;
    return 0;
}

int fe_out_open(fe_out *o, const char *path, int allow_tty, fe_err *err)
{
    memset(o, 0, sizeof *o);
    o->slot = -1;
    o->dirfd = -1;
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
    target *t = fe_xmalloc(sizeof *t);
    if (resolve(path, t, err) != 0 || check_type(t, err) != 0) {
        free(t);
        return -1;
    }
    if (t->fd >= 0) {
        /* one of our descriptors (/dev/stdout, >(cmd)): write to a copy of it, so
         * that `>>` appends and a pipe's reader gets the bytes */
        const int sfd = t->fd;
        int fl = fcntl(sfd, F_GETFL);
        if (fl < 0 || ((fl & O_ACCMODE) != O_WRONLY && (fl & O_ACCMODE) != O_RDWR)) {
            free(t);
            return fe_fail(err, "descriptor %d is not open for writing", sfd);
        }
        int fd = fcntl(sfd, F_DUPFD_CLOEXEC, 3);
        free(t);
        if (fd < 0)
            return fe_fail(err, "%s", strerror(errno));
        return open_through(o, fd, path, allow_tty, err);
    }
    if (t->exists && (S_ISCHR(t->st.st_mode) || S_ISFIFO(t->st.st_mode))) {
        /* a device or a FIFO: write through it, never rename over it */
        int fd = open(t->path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
        free(t);
        if (fd < 0)
            return fe_fail(err, "%s", strerror(errno));
        return open_through(o, fd, path, allow_tty, err);
    }
    /* a regular file, new or replaced: a temp file in its directory, renamed */
    mode_t mode = 0666 & ~current_umask();
    if (t->exists)
        mode = t->st.st_mode & 0777;  /* the old file's permissions, never set-id bits */
    int dl = dir_len(t->path);
    char *dir = fe_xmalloc(PATHMAX);
    snprintf(dir, PATHMAX, "%.*s", dl < 0 ? 1 : (dl == 0 ? 1 : dl), dl < 0 ? "." : t->path);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        int e = errno;
        free(dir);
        free(t);
        return fe_fail(err, "cannot open its directory: %s", strerror(e));
    }
    (void)sweep_fd(dfd);  /* stale temps of dead processes of ours: best effort */
    char host[TMP_HOSTMAX + 1];
    host_tag(host, sizeof host);
    char name[64];
    int fd = -1, e = EEXIST;
    for (int tries = 0; tries < 100 && fd < 0 && e == EEXIST; tries++) {
        static const char abc[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t r = (uint64_t)ts.tv_nsec * 6364136223846793005u + (uint64_t)ts.tv_sec +
                     (uint64_t)(uintptr_t)o + (uint64_t)tries * 1442695040888963407u;
        char sfx[7];
        for (int i = 0; i < 6; i++) {
            r ^= r >> 29;
            r *= 0xbf58476d1ce4e5b9u;
            sfx[i] = abc[(r >> 32) % 62];
        }
        sfx[6] = '\0';
        snprintf(name, sizeof name, TMP_PREFIX "%ld.%s.%s", (long)getpid(), host, sfx);
        fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        e = fd < 0 ? errno : 0;
    }
    if (fd < 0) {
        close(dfd);
        free(dir);
        free(t);
        return fe_fail(err, "cannot create a temporary file next to it: %s", strerror(e));
    }
    tmp_install_hooks();
    o->slot = tmp_register(dfd, name);
    (void)fchmod(fd, mode);  /* not fatal: the file stays 0600 */
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        e = errno;
        close(fd);
        unlinkat(dfd, name, 0);
        tmp_unregister(o->slot);
        close(dfd);
        free(dir);
        free(t);
        return fe_fail(err, "cannot open temporary file: %s", strerror(e));
    }
    size_t tl = strlen(dir) + 1 + strlen(name) + 1;
    o->tmp = fe_xmalloc(tl);
    snprintf(o->tmp, tl, "%s/%s", dir, name);
    const char *base = dl < 0 ? t->path : t->path + dl + 1;
    o->base = xstrdup(base);
    o->path = xstrdup(path);
    o->f = f;
    o->own = 1;
    o->dirfd = dfd;
    free(dir);
    free(t);
    return 0;
}

static void out_clear(fe_out *o)
{
    tmp_unregister(o->slot);
    if (o->dirfd >= 0)
        close(o->dirfd);
    free(o->path);
    free(o->tmp);
    free(o->base);
    memset(o, 0, sizeof *o);
    o->slot = -1;
    o->dirfd = -1;
}

int fe_out_commit(fe_out *o, fe_err *err)
{
    if (!o->f)
        return fe_fail(err, "output is not open");
    if (!o->tmp) {
        /* stdout or written through: flush (and close our copy), report write
         * errors (EPIPE, ENOSPC, ...) */
        int bad = ferror(o->f);
        errno = 0;
        int e = 0;
        if (fflush(o->f) != 0 || bad)
            e = errno ? errno : EIO;
        if (o->own && fclose(o->f) != 0 && e == 0)
            e = errno ? errno : EIO;
        out_clear(o);
        if (e)
            return fe_fail(err, "write error: %s", strerror(e));
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
    const char *name = strrchr(o->tmp, '/') + 1;
    if (e == 0 && renameat(o->dirfd, name, o->dirfd, o->base) != 0) {
        e = errno;
        what = "cannot rename the temporary file into place";
    }
    if (e != 0) {
        unlinkat(o->dirfd, name, 0);
        out_clear(o);
        return fe_fail(err, "%s: %s (nothing written)", what, strerror(e));
    }
    tmp_unregister(o->slot);
    o->slot = -1;
    (void)fsync(o->dirfd);  /* make the rename durable (best effort) */
    out_clear(o);
    return 0;
}

void fe_out_abort(fe_out *o)
{
    if (o->tmp) {
        if (o->f)
            fclose(o->f);
        unlinkat(o->dirfd, strrchr(o->tmp, '/') + 1, 0);
    } else if (o->f) {
        fflush(o->f);
        if (o->own)
            fclose(o->f);
    }
    out_clear(o);
}

/* ---- outputs checked before the work ---- */

int fe_out_check(const char *const *paths, int n, int *bad, fe_err *err)
{
    struct id { dev_t dev; ino_t ino; int kind; char base[256]; } *ids;
    /* kind: 0 an existing file (dev, ino), 1 a new name (dev, ino of its
     * directory + base), 2 a device written through (may repeat) */
    ids = fe_xcalloc((size_t)(n > 0 ? n : 1), sizeof *ids);
    target *t = fe_xmalloc(sizeof *t);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        *bad = i;
        const char *p = paths[i];
        struct stat st;
        int fd = STDOUT_FILENO;
        if (!is_std(p)) {
            if (resolve(p, t, err) != 0) {
                rc = -1;
                break;
            }
            fd = t->fd;
        }
        if (fd >= 0) {
            if (fstat(fd, &st) != 0) {
                rc = fe_fail(err, "descriptor %d is not open", fd);
                break;
            }
            ids[i] = (struct id){st.st_dev, st.st_ino, S_ISCHR(st.st_mode) ? 2 : 0, ""};
        } else {
            if (check_type(t, err) != 0) {
                rc = -1;
                break;
            }
            int dl = dir_len(t->path);
            char dir[PATHMAX];
            snprintf(dir, sizeof dir, "%.*s", dl < 0 ? 1 : (dl == 0 ? 1 : dl),
                     dl < 0 ? "." : t->path);
            if (t->exists && (S_ISCHR(t->st.st_mode) || S_ISFIFO(t->st.st_mode))) {
                if (faccessat(AT_FDCWD, t->path, W_OK, AT_EACCESS) != 0) {
                    rc = fe_fail(err, "%s", strerror(errno));
                    break;
                }
                ids[i] = (struct id){t->st.st_dev, t->st.st_ino,
                                     S_ISCHR(t->st.st_mode) ? 2 : 0, ""};
            } else {
                if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) != 0) {
                    rc = fe_fail(err, "cannot write in its directory %s: %s", dir,
                                 strerror(errno));
                    break;
                }
                if (t->exists) {
                    ids[i] = (struct id){t->st.st_dev, t->st.st_ino, 0, ""};
                } else {
                    if (stat(dir, &st) != 0) {
                        rc = fe_fail(err, "%s", strerror(errno));
                        break;
                    }
                    ids[i] = (struct id){st.st_dev, st.st_ino, 1, ""};
                    snprintf(ids[i].base, sizeof ids[i].base, "%.255s",
                             dl < 0 ? t->path : t->path + dl + 1);
                }
            }
        }
        for (int j = 0; j < i; j++)
            if (ids[j].kind == ids[i].kind && ids[i].kind != 2 && ids[j].dev == ids[i].dev &&
                ids[j].ino == ids[i].ino && !strcmp(ids[j].base, ids[i].base)) {
                rc = fe_fail(err, "the same file as output %s", fe_name_out(paths[j]));
                break;
            }
    }
    free(t);
    free(ids);
    return rc;
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
