/* runlock.c - see runlock.h. */
#define _DEFAULT_SOURCE         /* flock */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "runlock.h"

/* The pid holding a FLOCK on (dev, ino), from /proc/locks, or -1.  Its lines
 * read "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" (major and minor in hex). */
static long lock_holder(dev_t dev, ino_t ino)
{
    FILE *f = fopen("/proc/locks", "r");
    if (!f)
        return -1;
    char line[256], kind[16];
    long pid = -1;
    while (pid < 0 && fgets(line, sizeof line, f)) {
        unsigned maj, min;
        unsigned long long in;
        long p;
        const char *s = strchr(line, ':');
        if (s && sscanf(s + 1, " %15s %*s %*s %ld %x:%x:%llu", kind, &p, &maj, &min, &in) == 5 &&
            !strcmp(kind, "FLOCK") && maj == major(dev) && min == minor(dev) && in == (unsigned long long)ino)
            pid = p;
    }
    fclose(f);
    return pid;
}

int fe_run_lock(const char *dir, fe_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return fe_fail(err, "cannot open the directory to lock it: %s", strerror(errno));
    if (!flock(fd, LOCK_EX | LOCK_NB))
        return fd;
    int e = errno;
    struct stat st;
    long pid = (e == EWOULDBLOCK && !fstat(fd, &st)) ? lock_holder(st.st_dev, st.st_ino) : -1;
    close(fd);
    if (e != EWOULDBLOCK)
        return fe_fail(err, "cannot lock the directory: %s", strerror(e));
    if (pid > 0)
        return fe_fail(err, "in use by another process (pid %ld); wait for it to end or choose "
                       "another directory", pid);
    return fe_fail(err, "in use by another process (pid unknown); wait for it to end or choose "
                   "another directory");
}
