/* io.h - output files (atomic, or written through) and whole-input reading. */
#ifndef FE_IO_H
#define FE_IO_H

#include <stdio.h>
#include "fe.h"

/* An output file (featevo(7), OUTPUT FILES).
 * path NULL or "-" selects stdout, which is refused when it is a terminal
 * (binary output) unless allow_tty is set.  Otherwise symbolic links are
 * followed (at most 40; in a sticky world-writable directory only a link of
 * our own or of the directory's owner) to what they name:
 *   a character device, a FIFO, or one of our descriptors (/dev/stdout,
 *     /dev/stderr, /dev/fd/N, /proc/self/fd/N): written through, no temp, no
 *     rename (a terminal refused as for stdout);
 *   a regular file or a new name: written to a temp file in its directory,
 *     .featevo.tmp.PID.HOST.XXXXXX (at most 51 bytes whatever the output's
 *     name), renamed over it by fe_out_commit; a replaced file keeps its
 *     permission bits, never set-user-ID or set-group-ID; a new one gets
 *     0666 & ~umask; a symbolic link stays and its target is replaced;
 *   a directory, a socket, a block device: refused.
 * Opening a temp also removes stale temps of that naming in the directory
 * (fe_tmp_sweep) and, the first time, installs the cleanup below. */
typedef struct {
    FILE *f;
    char *path;      /* the name given; NULL for stdout */
    char *tmp;       /* temp name in the target's directory; NULL when written through */
    char *base;      /* the target's name in that directory (with tmp) */
    int dirfd;       /* that directory (with tmp), else -1 */
    int slot;        /* the temp's slot in the cleanup registry, else -1 */
    int own;         /* f is ours to close (not stdout) */
} fe_out;

int fe_out_open(fe_out *o, const char *path, int allow_tty, fe_err *err);
/* flush, fsync, close, rename into place. On failure the temp is removed and
 * any previous file of that name is left untouched.  Written through: flush and
 * close, reporting write errors (what was written stays written). */
int fe_out_commit(fe_out *o, fe_err *err);
void fe_out_abort(fe_out *o);  /* remove the temp file */

/* Temp files are removed when the process ends by exit(3) or by SIGINT,
 * SIGTERM, SIGHUP, SIGPIPE or SIGXFSZ: fe_out_open registers each temp in a
 * process-wide table of 64 slots (the library's one piece of global mutable
 * state, fe.h) and installs, once, an atexit function and handlers for those
 * signals whose action is still the default (the handler removes the temps,
 * restores the default action and raises the signal again).  Outputs are to be
 * opened from one thread; past 64 temps open at once, the further ones work but
 * are left to fe_tmp_sweep. */

/* Remove, from directory dir, temp files of fe_out_open's naming left by dead
 * processes: same host name in the temp name, no process of that pid, a
 * regular file owned by our effective user.  Returns how many it removed, or
 * -1 with err set when the directory cannot be read. */
int fe_tmp_sweep(const char *dir, fe_err *err);

/* Check, before any work, that the n outputs paths[] (NULL or "-" = stdout)
 * can be opened by fe_out_open and are distinct files (two names of one file:
 * the same name, a hard link, a symbolic link; character devices such as
 * /dev/null may repeat), their directories writable.  On failure sets *bad to
 * the index of the output at fault and returns -1 with err set. */
int fe_out_check(const char *const *paths, int n, int *bad, fe_err *err);

/* Read a whole file ("-" or NULL = stdin) into a malloc'd buffer, growing as
 * data arrives (never trusting a size from the content). max_bytes bounds it. */
int fe_read_all(const char *path, uint8_t **buf, size_t *len, size_t max_bytes, fe_err *err);

/* Open an input for binary reading: path NULL or "-" = stdin, refused when it is
 * a terminal.  fe_in_close does not close stdin. */
FILE *fe_in_open(const char *path, fe_err *err);
void fe_in_close(FILE *f);

/* Display name for messages: "<stdin>"/"<stdout>" for NULL or "-". */
const char *fe_name_in(const char *path);
const char *fe_name_out(const char *path);

#endif
