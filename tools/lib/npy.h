/* npy.h - NumPy .npy (format 1.0, 2.0; read 3.0 too) and .npz (zip of .npy).
 *
 * Readers never seek: a .npy is read header-first from a stream, so pipes work.
 * Readers bound every allocation by the bytes actually present, so a header
 * that claims a huge shape over a short file fails cleanly.  A deflated .npz
 * member is inflated header first through zin.h: its data grows with what the
 * stream holds, and a stream past the member's declared size is refused. */
#ifndef FE_NPY_H
#define FE_NPY_H

#include <stdio.h>
#include "fe.h"
#include "tensor.h"

/* Stream I/O. On error fill err (no file name in the message; callers add it). */
int npy_read(FILE *f, fe_tensor *t, fe_err *err);
int npy_read_mem(const uint8_t *buf, size_t len, fe_tensor *t, fe_err *err);
int npy_write(FILE *f, const fe_tensor *t, fe_err *err);
/* Serialise to a malloc'd buffer (used for .npz members). */
int npy_write_mem(const fe_tensor *t, uint8_t **buf, size_t *len, fe_err *err);

/* Path-level: path NULL or "-" means stdin/stdout. npy_save writes atomically
 * (temp + rename) and refuses to write binary to a terminal. */
int npy_load(const char *path, fe_tensor *t, fe_err *err);
int npy_save(const char *path, const fe_tensor *t, fe_err *err);

typedef struct {
    char *name;      /* member name without the ".npy" suffix */
    fe_tensor t;
} npz_entry;

typedef struct {
    npz_entry *e;
    int n;
} npz_t;

int npz_read_mem(const uint8_t *buf, size_t len, npz_t *z, fe_err *err);
int npz_load(const char *path, npz_t *z, fe_err *err);   /* "-" = stdin */
/* The same checks of the archive, but only the member NAME (without .npy) is
 * decoded: z holds it, or nothing when there is none (a 45 MB checkpoint's one
 * tensor without inflating and checking the CRC of all the others). */
int npz_load_one(const char *path, const char *name, npz_t *z, fe_err *err);
/* Write n entries as stored (uncompressed) zip members "NAME.npy", CRC-32 by zlib;
 * atomic; path "-" = stdout (refuses a terminal). */
int npz_save(const char *path, const npz_entry *e, int n, fe_err *err);
const fe_tensor *npz_get(const npz_t *z, const char *name);
void npz_free(npz_t *z);

#endif
