/* idx.c - the IDX format of the MNIST files (idx.h).
 *
 * Layout: bytes 0,0 then a type code then the number of dimensions, then each
 * dimension as a big-endian uint32, then the data, big-endian, C order.  The
 * data must fill the rest of the input exactly. */
#include "idx.h"
#include "io.h"
#include "zin.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define IDX_MAX_FILE   ((size_t)8 << 30)   /* 8 GiB, compressed or not */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

typedef struct {
    uint8_t code;
    size_t insize;      /* bytes per element in the file */
    fe_dtype dtype;     /* what we store it as */
    const char *name;
} idx_type;

static const idx_type TYPES[] = {
    {0x08, 1, FE_U8,  "unsigned byte"},
    {0x09, 1, FE_I32, "signed byte"},
    {0x0B, 2, FE_I32, "short"},
    {0x0C, 4, FE_I32, "int"},
    {0x0D, 4, FE_F32, "float"},
    {0x0E, 8, FE_F64, "double"},
};

/* The first four bytes: magic, type, number of dimensions. */
static int head4(const uint8_t *buf, size_t len, const idx_type **ty, int *ndim, fe_err *err)
{
    if (len == 0)
        return fe_fail(err, "empty input (expected an IDX file)");
    if (len < 4)
        return fe_fail(err, "truncated header (%zu bytes)", len);
    if (buf[0] != 0 || buf[1] != 0)
        return fe_fail(err, "not an IDX file (bad magic %02x %02x %02x %02x)",
                       buf[0], buf[1], buf[2], buf[3]);
    *ty = NULL;
    for (size_t i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++)
        if (TYPES[i].code == buf[2])
            *ty = &TYPES[i];
    if (!*ty)
        return fe_fail(err, "not an IDX file: unknown data type code 0x%02x", buf[2]);
    *ndim = buf[3];
    if (*ndim < 1 || *ndim > FE_MAXDIM)
        return fe_fail(err, "unsupported number of dimensions %d (must be 1..%d)", *ndim,
                       FE_MAXDIM);
    return 0;
}

/* The dimensions after the first four bytes (len: bytes of the whole header there
 * are); *want: the data's byte size, overflow-checked. */
static int dims(const uint8_t *buf, size_t len, const idx_type *ty, int ndim, int64_t *shape,
                uint64_t *want, fe_err *err)
{
    size_t hdr = 4 + 4 * (size_t)ndim;
    if (len < hdr)
        return fe_fail(err, "truncated header: %d dimensions need %zu bytes, file has %zu",
                       ndim, hdr, len);
    uint64_t n = 1, limit = (uint64_t)(SIZE_MAX < INT64_MAX ? SIZE_MAX : INT64_MAX) / 8;
    for (int i = 0; i < ndim; i++) {
        uint32_t d = be32(buf + 4 + 4 * (size_t)i);
        shape[i] = d;
        if (d != 0 && n > limit / d)
            return fe_fail(err, "absurd dimensions: the element count overflows");
        n *= d;
    }
    *want = n * ty->insize;
    return 0;
}

/* Big-endian file data p of `ty` into t (allocated here). */
static int convert(const idx_type *ty, int ndim, const int64_t *shape, const uint8_t *p,
                   fe_tensor *t, fe_err *err)
{
    if (fe_tensor_alloc(t, ty->dtype, ndim, shape) != 0)
        return fe_fail(err, "out of memory");
    size_t cnt = (size_t)fe_numel(t);
    switch (ty->code) {
    case 0x08:
        if (cnt)
            memcpy(t->data, p, cnt);
        break;
    case 0x09: {
        int32_t *o = t->data;
        for (size_t i = 0; i < cnt; i++)
            o[i] = (int8_t)p[i];
        break;
    }
    case 0x0B: {
        int32_t *o = t->data;
        for (size_t i = 0; i < cnt; i++)
            o[i] = (int16_t)(uint16_t)(p[2 * i] << 8 | p[2 * i + 1]);
        break;
    }
    case 0x0C: {
        int32_t *o = t->data;
        for (size_t i = 0; i < cnt; i++)
            o[i] = (int32_t)be32(p + 4 * i);
        break;
    }
    case 0x0D: {
        float *o = t->data;
        for (size_t i = 0; i < cnt; i++) {
            uint32_t u = be32(p + 4 * i);
            memcpy(&o[i], &u, 4);
        }
        break;
    }
    case 0x0E: {
        double *o = t->data;
        for (size_t i = 0; i < cnt; i++) {
            uint64_t u = (uint64_t)be32(p + 8 * i) << 32 | be32(p + 8 * i + 4);
            memcpy(&o[i], &u, 8);
        }
        break;
    }
    }
    return 0;
}

int idx_read_mem(const uint8_t *buf, size_t len, fe_tensor *t, fe_err *err)
{
    memset(t, 0, sizeof *t);
    const idx_type *ty;
    int ndim;
    int64_t shape[FE_MAXDIM];
    uint64_t want;
    if (head4(buf, len, &ty, &ndim, err) != 0 || dims(buf, len, ty, ndim, shape, &want, err) != 0)
        return -1;
    size_t hdr = 4 + 4 * (size_t)ndim;
    uint64_t have = len - hdr;
    if (want > have)
        return fe_fail(err, "truncated data: header says %" PRIu64 " bytes, file has %" PRIu64,
                       want, have);
    if (want < have)
        return fe_fail(err, "trailing data: %" PRIu64 " bytes after the %" PRIu64
                            " bytes the header describes", have - want, want);
    return convert(ty, ndim, shape, buf + hdr, t, err);
}

/* gzip: inflate the header first and check it, then inflate exactly the data it
 * declares into a buffer that grows with what the stream holds (zin.h). */
static int idx_gunzip(fe_zin *z, fe_tensor *t, fe_err *err)
{
    uint8_t h[4 + 4 * FE_MAXDIM];
    size_t got, more;
    const idx_type *ty;
    int ndim;
    int64_t shape[FE_MAXDIM];
    uint64_t want;
    if (fe_zin_read(z, h, 4, &got, err) != 0 || head4(h, got, &ty, &ndim, err) != 0)
        return -1;
    size_t hdr = 4 + 4 * (size_t)ndim;
    if (fe_zin_read(z, h + 4, hdr - 4, &more, err) != 0 ||
        dims(h, 4 + more, ty, ndim, shape, &want, err) != 0)
        return -1;
    if (want > z->limit - hdr)
        return fe_fail(err, "truncated data: header says %" PRIu64 " bytes, more than the %zu "
                            "bytes of gzip data can hold (at most %" PRIu64 ")",
                       want, z->inlen, z->limit - hdr);
    z->limit = hdr + want;        /* a stream that runs past the header's size stops there */
    uint8_t *raw;
    if (fe_zin_read_alloc(z, (size_t)want, &raw, &got, err) != 0)
        return -1;
    if (got < want) {
        free(raw);
        return fe_fail(err, "truncated data: header says %" PRIu64 " bytes, file has %zu",
                       want, got);
    }
    uint64_t extra;
    int beyond;
    if (fe_zin_end(z, &extra, &beyond, err) != 0) {
        free(raw);
        return -1;
    }
    if (extra || beyond) {
        free(raw);
        return fe_fail(err, "trailing data: %s%" PRIu64 " bytes after the %" PRIu64
                            " bytes the header describes", beyond ? "more than " : "", extra, want);
    }
    int rc = convert(ty, ndim, shape, raw, t, err);
    free(raw);
    return rc;
}

int idx_decode(const uint8_t *buf, size_t len, fe_tensor *t, fe_err *err)
{
    memset(t, 0, sizeof *t);
    if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) {
        fe_zin z;
        int rc = fe_zin_open(&z, FE_ZIN_GZIP, buf, len, FE_ZIN_MAX, 0, 0, err);
        if (rc == 0)
            rc = idx_gunzip(&z, t, err);
        fe_zin_close(&z);
        return rc;
    }
    return idx_read_mem(buf, len, t, err);
}

int idx_load(const char *path, fe_tensor *t, fe_err *err)
{
    memset(t, 0, sizeof *t);
    uint8_t *buf;
    size_t len;
    if (fe_read_all(path, &buf, &len, IDX_MAX_FILE, err) != 0)
        return -1;
    int rc = idx_decode(buf, len, t, err);
    free(buf);
    return rc;
}
