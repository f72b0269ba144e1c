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
/* Same, but a gzip-compressed buffer (detected by its bytes 1f 8b) is inflated
 * header first: the header is checked, then exactly the bytes it declares are
 * inflated into a buffer that grows with the stream (at most FE_ZIN_MAX, 4 GiB,
 * and what the input can expand to; zin.h); a stream that runs past them is
 * refused within FE_ZIN_PROBE bytes. */
int idx_decode(const uint8_t *buf, size_t len, fe_tensor *t, fe_err *err);
/* Read a file or stdin ("-"/NULL), gzip-compressed or not (detected by the bytes). */
int idx_load(const char *path, fe_tensor *t, fe_err *err);

#endif
