/* io.h - atomic output files and whole-input reading. */
#ifndef FE_IO_H
#define FE_IO_H

#include <stdio.h>
#include "fe.h"

/* An output that becomes visible under its final name only when complete.
 * path NULL or "-" selects stdout, which is refused when it is a terminal
 * (binary output) unless allow_tty is set. */
typedef struct {
    FILE *f;
    char *path;      /* final name, NULL for stdout */
    char *tmp;       /* temp name in the same directory */
} fe_out;

int fe_out_open(fe_out *o, const char *path, int allow_tty, fe_err *err);
/* flush, fsync, close, rename into place. On failure the temp is removed and
 * any previous file of that name is left untouched. */
int fe_out_commit(fe_out *o, fe_err *err);
void fe_out_abort(fe_out *o);  /* remove the temp file */

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
