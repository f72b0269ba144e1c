/* idx.c - the IDX format of the MNIST files (idx.h).
 *
 * Layout: bytes 0,0 then a type code then the number of dimensions, then each
 * dimension as a big-endian uint32, then the data, big-endian, C order.  The
 * data must fill the rest of the input exactly. */
#include "idx.h"
#include "io.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define IDX_MAX_FILE   ((size_t)8 << 30)   /* 8 GiB, compressed or not */
#define GZ_MAX_RATIO   1032u               /* deflate cannot expand more than ~1032:1 */

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

int idx_read_mem(const uint8_t *buf, size_t len, fe_tensor *t, fe_err *err)
{
    memset(t, 0, sizeof *t);
    if (len == 0)
        return fe_fail(err, "empty input (expected an IDX file)");
    if (len < 4)
        return fe_fail(err, "truncated header (%zu bytes)", len);
    if (buf[0] != 0 || buf[1] != 0)
        return fe_fail(err, "not an IDX file (bad magic %02x %02x %02x %02x)",
                       buf[0], buf[1], buf[2], buf[3]);
    const idx_type *ty = NULL;
    for (size_t i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++)
        if (TYPES[i].code == buf[2])
            ty = &TYPES[i];
    if (!ty)
        return fe_fail(err, "not an IDX file: unknown data type code 0x%02x", buf[2]);
    int ndim = buf[3];
    if (ndim < 1 || ndim > FE_MAXDIM)
        return fe_fail(err, "unsupported number of dimensions %d (must be 1..%d)", ndim, FE_MAXDIM);
    size_t hdr = 4 + 4 * (size_t)ndim;
    if (len < hdr)
        return fe_fail(err, "truncated header: %d dimensions need %zu bytes, file has %zu",
                       ndim, hdr, len);
    int64_t shape[FE_MAXDIM];
    uint64_t n = 1, limit = (uint64_t)(SIZE_MAX < INT64_MAX ? SIZE_MAX : INT64_MAX) / 8;
    for (int i = 0; i < ndim; i++) {
        uint32_t d = be32(buf + 4 + 4 * (size_t)i);
        shape[i] = d;
        if (d != 0 && n > limit / d)
            return fe_fail(err, "absurd dimensions: the element count overflows");
        n *= d;
    }
    uint64_t want = n * ty->insize, have = len - hdr;
    if (want > have)
        return fe_fail(err, "truncated data: header says %" PRIu64 " bytes, file has %" PRIu64,
                       want, have);
    if (want < have)
        return fe_fail(err, "trailing data: %" PRIu64 " bytes after the %" PRIu64
                            " bytes the header describes", have - want, want);
    if (fe_tensor_alloc(t, ty->dtype, ndim, shape) != 0)
        return fe_fail(err, "out of memory for %" PRIu64 " elements", n);
    const uint8_t *p = buf + hdr;
    size_t cnt = (size_t)n;
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

int fe_gunzip_mem(const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen,
                  size_t max_out, fe_err *err)
{
    *out = NULL;
    *outlen = 0;
    /* Growth bounded by the input: deflate expands at most ~1032:1. */
    uint64_t bound = (uint64_t)inlen * GZ_MAX_RATIO + 1024;
    if (bound > max_out)
        bound = max_out;
    size_t cap = inlen * 4 + 1024;
    if (cap > bound)
        cap = (size_t)bound;
    uint8_t *b = malloc(cap ? cap : 1);
    if (!b)
        return fe_fail(err, "out of memory");
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
        free(b);
        return fe_fail(err, "zlib initialisation failed");
    }
    size_t ipos = 0, n = 0;
    int rc = 0;
    for (;;) {
        if (zs.avail_in == 0 && ipos < inlen) {
            size_t k = inlen - ipos < (1u << 30) ? inlen - ipos : (1u << 30);
            zs.next_in = (Bytef *)(uintptr_t)(in + ipos);
            zs.avail_in = (uInt)k;
            ipos += k;
        }
        if (n == cap) {
            if (cap >= bound) {
                rc = fe_fail(err, "decompressed data exceeds %" PRIu64 " bytes", bound);
                break;
            }
            size_t ncap = cap > bound / 2 ? (size_t)bound : cap * 2;
            uint8_t *nb = realloc(b, ncap);
            if (!nb) {
                rc = fe_fail(err, "out of memory (%zu bytes)", ncap);
                break;
            }
            b = nb;
            cap = ncap;
        }
        size_t room = cap - n < (1u << 30) ? cap - n : (1u << 30);
        zs.next_out = b + n;
        zs.avail_out = (uInt)room;
        int r = inflate(&zs, Z_NO_FLUSH);
        n += room - zs.avail_out;
        if (r == Z_STREAM_END) {
            size_t left = zs.avail_in + (inlen - ipos);
            if (left == 0)
                break;
            /* concatenated gzip members (as gzip -dc accepts) */
            const uint8_t *rest = zs.next_in;
            if (left >= 2 && rest[0] == 0x1f && rest[1] == 0x8b) {
                inflateReset(&zs);
                continue;
            }
            rc = fe_fail(err, "%zu bytes of trailing garbage after the gzip data", left);
            break;
        }
        if (r == Z_BUF_ERROR && zs.avail_out != 0) {
            rc = fe_fail(err, "truncated gzip data");
            break;
        }
        if (r != Z_OK && r != Z_BUF_ERROR) {
            rc = fe_fail(err, "corrupt gzip data (%s)", zs.msg ? zs.msg : "zlib error");
            break;
        }
    }
    inflateEnd(&zs);
    if (rc != 0) {
        free(b);
        return rc;
    }
    *out = b;
    *outlen = n;
    return 0;
}

int idx_decode(const uint8_t *buf, size_t len, fe_tensor *t, fe_err *err)
{
    if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) {
        uint8_t *raw;
        size_t rawlen;
        fe_err e2;
        if (fe_gunzip_mem(buf, len, &raw, &rawlen, IDX_MAX_FILE, &e2) != 0) {
            memset(t, 0, sizeof *t);
            return fe_fail(err, "%s", e2.msg);
        }
        int rc = idx_read_mem(raw, rawlen, t, err);
        free(raw);
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
