/* tensor.c - fe_tensor helpers (tensor.h). */
#include "tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t fe_dtype_size(fe_dtype d)
{
    switch (d) {
    case FE_U8:  return 1;
    case FE_I32: return 4;
    case FE_I64: return 8;
    case FE_F32: return 4;
    case FE_F64: return 8;
    }
    return 0;
}

const char *fe_dtype_name(fe_dtype d)
{
    switch (d) {
    case FE_U8:  return "uint8";
    case FE_I32: return "int32";
    case FE_I64: return "int64";
    case FE_F32: return "float32";
    case FE_F64: return "float64";
    }
    return "unknown";
}

int64_t fe_numel(const fe_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        if (t->shape[i] == 0)
            return 0;
    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}

int fe_mul_size(size_t a, size_t b, size_t *r)
{
    if (b != 0 && a > SIZE_MAX / b)
        return -1;
    *r = a * b;
    return 0;
}

int fe_shape_numel(int ndim, const int64_t *shape, size_t esize, int64_t *n)
{
    if (ndim < 0 || ndim > FE_MAXDIM || esize == 0)
        return -1;
    for (int i = 0; i < ndim; i++)      /* a zero anywhere: no product to overflow */
        if (shape[i] < 0)
            return -1;
    for (int i = 0; i < ndim; i++)
        if (shape[i] == 0) {
            *n = 0;
            return 0;
        }
    /* elements and bytes within int64 and size_t */
    const size_t limit = (SIZE_MAX < (uint64_t)INT64_MAX ? SIZE_MAX : (size_t)INT64_MAX) / esize;
    size_t c = 1;
    for (int i = 0; i < ndim; i++)
        if ((uint64_t)shape[i] > SIZE_MAX || fe_mul_size(c, (size_t)shape[i], &c) || c > limit)
            return -1;
    *n = (int64_t)c;
    return 0;
}

size_t fe_nbytes(const fe_tensor *t)
{
    return (size_t)fe_numel(t) * fe_dtype_size(t->dtype);
}

const char *fe_shape_str(const fe_tensor *t, char *buf, size_t len)
{
    if (!len)
        return buf;
    size_t u = (size_t)snprintf(buf, len, "[");
    for (int d = 0; d < t->ndim && u < len; d++)
        u += (size_t)snprintf(buf + u, len - u, "%s%lld", d ? "," : "", (long long)t->shape[d]);
    if (u < len)
        snprintf(buf + u, len - u, "]");
    return buf;
}

int fe_tensor_alloc(fe_tensor *t, fe_dtype d, int ndim, const int64_t *shape)
{
    const size_t esize = fe_dtype_size(d);
    int64_t n;
    /* element count and byte size within int64 and size_t */
    if (fe_shape_numel(ndim, shape, esize, &n))
        return -1;
    void *p = calloc(n ? (size_t)n : 1, esize);
    if (!p)
        return -1;
    memset(t, 0, sizeof *t);
    t->dtype = d;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        t->shape[i] = shape[i];
    t->data = p;
    return 0;
}

void fe_tensor_free(fe_tensor *t)
{
    if (!t)
        return;
    free(t->data);
    t->data = NULL;
}

int fe_tensor_to_f32(const fe_tensor *src, fe_tensor *dst)
{
    if (fe_tensor_alloc(dst, FE_F32, src->ndim, src->shape) != 0)
        return -1;
    int64_t n = fe_numel(src);
    float *o = dst->data;
    switch (src->dtype) {
    case FE_U8:  { const uint8_t *s = src->data; for (int64_t i = 0; i < n; i++) o[i] = (float)s[i]; break; }
    case FE_I32: { const int32_t *s = src->data; for (int64_t i = 0; i < n; i++) o[i] = (float)s[i]; break; }
    case FE_I64: { const int64_t *s = src->data; for (int64_t i = 0; i < n; i++) o[i] = (float)s[i]; break; }
    case FE_F32: memcpy(o, src->data, (size_t)n * sizeof(float)); break;
    case FE_F64: { const double *s = src->data; for (int64_t i = 0; i < n; i++) o[i] = (float)s[i]; break; }
    default:
        fe_tensor_free(dst);
        return -1;
    }
    return 0;
}
