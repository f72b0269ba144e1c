/* zin.c - bounded streaming inflate of untrusted compressed input (zin.h). */
#include "zin.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define ZIN_FEED   ((size_t)1 << 30)   /* zlib counts in uInt: at most 1 GiB per call */

uint64_t fe_zin_bound(size_t inlen)
{
    if ((uint64_t)inlen > (FE_ZIN_MAX - FE_ZIN_SLACK) / FE_ZIN_RATIO)
        return FE_ZIN_MAX;
    return (uint64_t)inlen * FE_ZIN_RATIO + FE_ZIN_SLACK;
}

static const char *kind_name(const fe_zin *z)
{
    return z->kind == FE_ZIN_GZIP ? "gzip" : "deflate";
}

int fe_zin_open(fe_zin *z, fe_zin_kind kind, const uint8_t *in, size_t inlen, uint64_t limit,
                int check_crc, uint32_t crc, fe_err *err)
{
    memset(z, 0, sizeof *z);
    z->kind = kind;
    z->in = in;
    z->inlen = inlen;
    uint64_t bound = fe_zin_bound(inlen);
    z->limit = limit < bound ? limit : bound;
    z->check_crc = check_crc && kind == FE_ZIN_RAW;
    z->want_crc = crc;
    z->crc = (uint32_t)crc32_z(0, Z_NULL, 0);
    if (inflateInit2(&z->zs, kind == FE_ZIN_GZIP ? 16 + MAX_WBITS : -MAX_WBITS) != Z_OK)
        return fe_fail(err, "zlib initialisation failed");
    z->inited = 1;
    return 0;
}

void fe_zin_close(fe_zin *z)
{
    if (z->inited)
        inflateEnd(&z->zs);
    z->inited = 0;
}

/* Inflate into buf[0, len), 1 <= len <= ZIN_FEED, until some output or the end
 * of the stream (z->ended).  Handles concatenated gzip members. */
static int step(fe_zin *z, uint8_t *buf, size_t len, size_t *produced, fe_err *err)
{
    *produced = 0;
    while (*produced == 0 && !z->ended) {
        if (z->zs.avail_in == 0 && z->ipos < z->inlen) {
            size_t k = z->inlen - z->ipos < ZIN_FEED ? z->inlen - z->ipos : ZIN_FEED;
            z->zs.next_in = (Bytef *)(uintptr_t)(z->in + z->ipos);
            z->zs.avail_in = (uInt)k;
            z->ipos += k;
        }
        z->zs.next_out = buf;
        z->zs.avail_out = (uInt)len;
        int r = inflate(&z->zs, Z_NO_FLUSH);
        size_t k = len - z->zs.avail_out;
        if (k && z->check_crc)
            z->crc = (uint32_t)crc32_z(z->crc, buf, k);
        z->out += k;
        *produced = k;
        if (r == Z_STREAM_END) {
            size_t pos = z->ipos - z->zs.avail_in, left = z->inlen - pos;
            if (left == 0) {
                z->ended = 1;
            } else if (z->kind == FE_ZIN_GZIP && left >= 2 && z->in[pos] == 0x1f &&
                       z->in[pos + 1] == 0x8b) {
                if (inflateReset(&z->zs) != Z_OK)   /* the next member, as gzip -dc reads it */
                    return fe_fail(err, "zlib error");
            } else {
                return fe_fail(err, "%zu bytes of trailing garbage after the %s data", left,
                               kind_name(z));
            }
        } else if (r == Z_BUF_ERROR || (r == Z_OK && k == 0)) {
            if (z->zs.avail_in == 0 && z->ipos == z->inlen && k == 0)
                return fe_fail(err, "truncated %s data", kind_name(z));
        } else if (r != Z_OK) {
            return fe_fail(err, "corrupt %s data (%s)", kind_name(z),
                           z->zs.msg ? z->zs.msg : "zlib error");
        }
    }
    return 0;
}

int fe_zin_read(fe_zin *z, void *dst, size_t n, size_t *got, fe_err *err)
{
    uint8_t *p = dst;
    size_t done = 0;
    *got = 0;
    while (done < n && !z->ended) {
        size_t len = n - done < ZIN_FEED ? n - done : ZIN_FEED;
        if (z->out >= z->limit) {
            uint8_t probe;
            size_t k;
            if (step(z, &probe, 1, &k, err) != 0)
                return -1;
            if (k)
                return fe_fail(err, "the %s data inflates to more than %" PRIu64 " bytes%s",
                               kind_name(z), z->limit,
                               z->limit == FE_ZIN_MAX ? " (the 4 GiB limit)" : "");
            continue;
        }
        if (len > z->limit - z->out)
            len = (size_t)(z->limit - z->out);
        size_t k;
        if (step(z, p + done, len, &k, err) != 0)
            return -1;
        done += k;
    }
    *got = done;
    return 0;
}

static int zin_rd(void *z, void *dst, size_t n, size_t *got, fe_err *err)
{
    return fe_zin_read(z, dst, n, got, err);   /* short only once the stream ended */
}

int fe_zin_read_alloc(fe_zin *z, size_t n, uint8_t **out, size_t *got, fe_err *err)
{
    return fe_read_grow(zin_rd, z, n, out, got, err);
}

int fe_zin_end(fe_zin *z, uint64_t *extra, int *more, fe_err *err)
{
    *extra = 0;
    *more = 0;
    uint8_t sink[4096];
    while (!z->ended && *extra < FE_ZIN_PROBE) {
        size_t k, len = FE_ZIN_PROBE - *extra < sizeof sink ? FE_ZIN_PROBE - *extra : sizeof sink;
        if (step(z, sink, len, &k, err) != 0)
            return -1;
        *extra += k;
    }
    if (!z->ended) {            /* still going after FE_ZIN_PROBE bytes: stop here */
        *more = 1;
        return 0;
    }
    if (z->check_crc && !*extra && z->crc != z->want_crc)
        return fe_fail(err, "CRC-32 mismatch (corrupt file)");
    return 0;
}
