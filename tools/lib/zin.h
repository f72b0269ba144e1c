/* zin.h - bounded streaming inflate of untrusted compressed input (zlib).
 *
 * Used by the .npz member reader (raw deflate, CRC-32 from the zip directory)
 * and the gzip IDX reader.  The caller inflates the first bytes, checks the
 * header they hold and what size it declares, then inflates the rest into a
 * buffer that grows with the bytes actually produced.  No call ever produces
 * more than the limit given at open: a stream that runs past it is refused as
 * soon as it does (fe_zin_end inflates at most FE_ZIN_PROBE bytes past the end),
 * so a small file cannot make a reader allocate or inflate gigabytes.
 *
 * The limit is the smallest of: what the caller declares (the zip's uncompressed
 * size; for gzip, what the IDX header declares), FE_ZIN_MAX, and the input's size
 * times FE_ZIN_RATIO (deflate cannot expand more than about 1032:1). */
#ifndef FE_ZIN_H
#define FE_ZIN_H

#include <stdint.h>
#include <zlib.h>
#include "fe.h"

#define FE_ZIN_MAX    ((uint64_t)4 << 30)  /* 4 GiB: most bytes any stream may inflate to */
#define FE_ZIN_RATIO  1032u                /* deflate's largest expansion, plus slack below */
#define FE_ZIN_SLACK  1024u
#define FE_ZIN_PROBE  ((size_t)64 << 10)   /* inflated past the end to prove it ended */

typedef enum { FE_ZIN_RAW, FE_ZIN_GZIP } fe_zin_kind;

typedef struct {
    z_stream zs;
    fe_zin_kind kind;
    const uint8_t *in;
    size_t inlen, ipos;       /* input fed to zs: in[0, ipos) */
    uint64_t out, limit;      /* bytes produced; most allowed */
    uint32_t crc, want_crc;   /* raw: CRC-32 of the output, and what it must be */
    int check_crc, ended, inited;
} fe_zin;

/* The most bytes inlen compressed bytes can inflate to (ratio bound and FE_ZIN_MAX). */
uint64_t fe_zin_bound(size_t inlen);

/* Start inflating in[0, inlen): raw deflate (checked against crc when check_crc)
 * or gzip (concatenated members allowed; zlib checks each member's CRC and
 * length).  limit: most bytes the stream may inflate to (further capped by
 * fe_zin_bound).  fe_zin_close must follow, whatever the result. */
int fe_zin_open(fe_zin *z, fe_zin_kind kind, const uint8_t *in, size_t inlen, uint64_t limit,
                int check_crc, uint32_t crc, fe_err *err);
/* Inflate up to n bytes into dst; *got < n only when the stream ended.  Fails on
 * corrupt or truncated data and when the output would pass the limit. */
int fe_zin_read(fe_zin *z, void *dst, size_t n, size_t *got, fe_err *err);
/* The same into a new malloc'd buffer that grows with the output (from 1 MiB,
 * doubling), never to more than n bytes: a header that declares n bytes over
 * a stream that holds fewer costs only what the stream holds. */
int fe_zin_read_alloc(fe_zin *z, size_t n, uint8_t **out, size_t *got, fe_err *err);
/* Finish the stream: inflate what is left, at most FE_ZIN_PROBE bytes (whatever
 * the limit), into a sink.  *extra: the bytes found past the point read to;
 * *more: 1 if the stream still had not ended after FE_ZIN_PROBE of them.  Fails
 * on corrupt or truncated data, trailing garbage after the compressed data and,
 * when *extra is 0, a wrong CRC.  The caller treats *extra or *more as an error
 * of its own ("trailing data"). */
int fe_zin_end(fe_zin *z, uint64_t *extra, int *more, fe_err *err);
void fe_zin_close(fe_zin *z);

#endif
