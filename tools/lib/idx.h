/* idx.h - the IDX format of MNIST (LeCun): magic 0 0 TYPE NDIM, big-endian dims, data. */
#ifndef FE_IDX_H
#define FE_IDX_H

#include "fe.h"
#include "tensor.h"

/* Parse an (already decompressed) IDX buffer.  Type codes and what they become:
 *   0x08 unsigned byte -> FE_U8
 *   0x09 signed byte   -> FE_I32 (sign-extended)
 *   0x0B int16         -> FE_I32 (sign-extended)
 *   0x0C int32         -> FE_I32
 *   0x0D float32       -> FE_F32
 *   0x0E float64       -> FE_F64
 * Big-endian data is converted to native order.  NDIM must be 1..FE_MAXDIM and
 * the data must fill the buffer exactly (trailing bytes are an error). */
int idx_read_mem(const uint8_t *buf, size_t len, fe_tensor *t, fe_err *err);
/* Same, but a gzip-compressed buffer (detected by its bytes 1f 8b) is inflated first. */
int idx_decode(const uint8_t *buf, size_t len, fe_tensor *t, fe_err *err);
/* Read a file or stdin ("-"/NULL), gzip-compressed or not (detected by the bytes). */
int idx_load(const char *path, fe_tensor *t, fe_err *err);

/* Inflate a gzip buffer (concatenated members allowed) into a malloc'd buffer that
 * grows as output arrives, at most max_out bytes and at most what the input can
 * expand to. */
int fe_gunzip_mem(const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen,
                  size_t max_out, fe_err *err);

#endif
