/* tensor.h - an n-dimensional array in host memory, the unit every tool passes. */
#ifndef FE_TENSOR_H
#define FE_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#define FE_MAXDIM 8

typedef enum { FE_U8, FE_I32, FE_I64, FE_F32, FE_F64 } fe_dtype;

typedef struct {
    fe_dtype dtype;
    int ndim;                 /* 0 for a scalar */
    int64_t shape[FE_MAXDIM];
    void *data;               /* malloc'd, native (little-endian) order, C order */
} fe_tensor;

size_t fe_dtype_size(fe_dtype d);
const char *fe_dtype_name(fe_dtype d);  /* "uint8", "int32", ... */
int64_t fe_numel(const fe_tensor *t);
/* Checked size arithmetic, for products of dimensions from untrusted headers:
 * *r = a * b, or -1 (*r untouched) when it does not fit a size_t. */
int fe_mul_size(size_t a, size_t b, size_t *r);
/* The element count of shape[0..ndim) in *n: 0 when any dimension is 0 (however
 * large the others), or -1 when a dimension is negative or the count times esize
 * bytes does not fit both int64 and size_t. */
int fe_shape_numel(int ndim, const int64_t *shape, size_t esize, int64_t *n);
size_t fe_nbytes(const fe_tensor *t);
/* Allocate zeroed data for the given dtype/shape. Returns 0, or -1 on overflow/OOM. */
int fe_tensor_alloc(fe_tensor *t, fe_dtype d, int ndim, const int64_t *shape);
void fe_tensor_free(fe_tensor *t);
/* The shape as snapshot --list prints it, "[6,1,5,5]" ("[]" for a scalar), in buf
 * (cut short when it does not fit); returns buf. */
const char *fe_shape_str(const fe_tensor *t, char *buf, size_t len);
/* Convert any numeric tensor to a new float32 tensor (dst allocated). */
int fe_tensor_to_f32(const fe_tensor *src, fe_tensor *dst);

#endif
