/* test_zin.c - bounded inflate (zin.h) and the readers that use it: .npz members
 * and gzip IDX checked header first, never inflated past what they declare. */
#include "fe_test.h"

#include <zlib.h>

#include "idx.h"
#include "npy.h"
#include "zin.h"

/* head followed by `zeros` zero bytes, compressed: raw deflate, or gzip. */
static uint8_t *squeeze(const void *head, size_t hl, size_t zeros, int gzip, size_t *clen,
                        uint32_t *crc)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, gzip ? 16 + MAX_WBITS : -MAX_WBITS, 9,
                                  Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&zs, hl + zeros) + 64;
    uint8_t *out = malloc(cap);
    static const uint8_t zero[1 << 16];
    *crc = (uint32_t)crc32_z(0, head, hl);
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    zs.next_in = (Bytef *)(uintptr_t)head;
    zs.avail_in = (uInt)hl;
    assert_int_equal(deflate(&zs, Z_NO_FLUSH), Z_OK);
    for (size_t left = zeros; left;) {
        size_t k = left < sizeof zero ? left : sizeof zero;
        *crc = (uint32_t)crc32_z(*crc, zero, k);
        zs.next_in = (Bytef *)(uintptr_t)zero;
        zs.avail_in = (uInt)k;
        assert_int_equal(deflate(&zs, Z_NO_FLUSH), Z_OK);
        assert_int_equal(zs.avail_in, 0);
        left -= k;
    }
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *clen = zs.total_out;
    deflateEnd(&zs);
    return out;
}

static void w16(uint8_t *p, unsigned v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void w32(uint8_t *p, uint32_t v) { w16(p, v & 0xffff); w16(p + 2, v >> 16); }

/* A zip of one deflated member NAME with the given directory fields. */
static uint8_t *npz1(const char *name, const uint8_t *comp, size_t clen, uint32_t crc,
                     uint32_t usize, size_t *len)
{
    size_t nl = strlen(name), n = 30 + nl + clen + 46 + nl + 22;
    uint8_t *b = calloc(1, n), *p = b;
    w32(p, 0x04034b50u); w16(p + 4, 20); w16(p + 8, 8); w16(p + 12, 0x21);
    w32(p + 14, crc); w32(p + 18, (uint32_t)clen); w32(p + 22, usize); w16(p + 26, (unsigned)nl);
    memcpy(p + 30, name, nl);
    memcpy(p + 30 + nl, comp, clen);
    p += 30 + nl + clen;
    w32(p, 0x02014b50u); w16(p + 4, 20); w16(p + 6, 20); w16(p + 10, 8); w16(p + 14, 0x21);
    w32(p + 16, crc); w32(p + 20, (uint32_t)clen); w32(p + 24, usize); w16(p + 28, (unsigned)nl);
    memcpy(p + 46, name, nl);
    p += 46 + nl;
    w32(p, 0x06054b50u); w16(p + 8, 1); w16(p + 10, 1); w32(p + 12, (uint32_t)(46 + nl));
    w32(p + 16, (uint32_t)(30 + nl + clen));
    *len = n;
    return b;
}

/* A .npy header (version 1.0, 128 bytes) for a float32 array of this shape text. */
static size_t npy_head(uint8_t *h, const char *shape)
{
    memcpy(h, "\x93NUMPY\x01\x00\x76\x00", 10);
    int k = snprintf((char *)h + 10, 118, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }",
                     shape);
    memset(h + 10 + k, ' ', (size_t)(117 - k));
    h[127] = '\n';
    return 128;
}

static void expect_npz_bad(const uint8_t *b, size_t len, const char *sub)
{
    npz_t z;
    fe_err err;
    memset(&err, 0, sizeof err);
    if (npz_read_mem(b, len, &z, &err) != -1)
        fail_msg("accepted a bad member (expected \"%s\")", sub);
    assert_msg_contains(err.msg, sub);
}

static void test_bound(void **state)
{
    (void)state;
    assert_true(fe_zin_bound(0) == FE_ZIN_SLACK);
    assert_true(fe_zin_bound(1000) == 1000u * FE_ZIN_RATIO + FE_ZIN_SLACK);
    assert_true(fe_zin_bound(SIZE_MAX) == FE_ZIN_MAX);           /* no overflow */
    assert_true(fe_zin_bound((size_t)1 << 40) == FE_ZIN_MAX);
}

/* Good streams of several sizes, empty included, read back exactly; the CRC checked. */
static void test_good(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 100, 65536, (1u << 20) + 3, (3u << 20) + 7};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (int gz = 0; gz < 2; gz++) {
            size_t n = sizes[i], clen, got;
            uint32_t crc;
            uint8_t *c = squeeze("x", n ? 1 : 0, n ? n - 1 : 0, gz, &clen, &crc);
            fe_zin z;
            fe_err err;
            uint8_t *out;
            assert_int_equal(fe_zin_open(&z, gz ? FE_ZIN_GZIP : FE_ZIN_RAW, c, clen, n, 1, crc,
                                         &err), 0);
            if (fe_zin_read_alloc(&z, n, &out, &got, &err) != 0)
                fail_msg("%zu bytes: %s", n, err.msg);
            assert_int_equal(got, n);
            if (n)
                assert_int_equal(out[0], 'x');
            uint64_t extra;
            int more;
            if (fe_zin_end(&z, &extra, &more, &err) != 0)
                fail_msg("%zu bytes: %s", n, err.msg);
            assert_true(extra == 0 && more == 0 && z.out == n);
            fe_zin_close(&z);
            free(out);
            free(c);
        }
}

/* A stream that runs past what was declared is stopped at the limit, and the end
 * inflates at most FE_ZIN_PROBE bytes past it. */
static void test_past(void **state)
{
    (void)state;
    size_t clen, got;
    uint32_t crc;
    uint8_t *c = squeeze("", 0, (size_t)16 << 20, 0, &clen, &crc);   /* 16 MiB of zeros */
    fe_zin z;
    fe_err err;
    uint8_t *out;
    assert_int_equal(fe_zin_open(&z, FE_ZIN_RAW, c, clen, 1000, 1, crc, &err), 0);
    assert_int_equal(fe_zin_read_alloc(&z, 2000, &out, &got, &err), -1);
    assert_msg_contains(err.msg, "inflates to more than 1000 bytes");
    assert_true(z.out <= 1001);
    fe_zin_close(&z);
    assert_int_equal(fe_zin_open(&z, FE_ZIN_RAW, c, clen, 1000, 1, crc, &err), 0);
    assert_int_equal(fe_zin_read_alloc(&z, 1000, &out, &got, &err), 0);
    free(out);
    uint64_t extra;
    int more;
    assert_int_equal(fe_zin_end(&z, &extra, &more, &err), 0);
    assert_true(more == 1 && extra == FE_ZIN_PROBE && z.out == 1000 + FE_ZIN_PROBE);
    fe_zin_close(&z);
    /* a few bytes past: counted exactly */
    free(c);
    c = squeeze("", 0, 1010, 1, &clen, &crc);
    assert_int_equal(fe_zin_open(&z, FE_ZIN_GZIP, c, clen, FE_ZIN_MAX, 0, 0, &err), 0);
    assert_int_equal(fe_zin_read_alloc(&z, 1000, &out, &got, &err), 0);
    free(out);
    assert_int_equal(fe_zin_end(&z, &extra, &more, &err), 0);
    assert_true(more == 0 && extra == 10);
    fe_zin_close(&z);
    free(c);
}

/* CRC errors, truncations and corrupt data are errors. */
static void test_corrupt(void **state)
{
    (void)state;
    uint8_t text[3000];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (uint8_t)(i * 7 % 251);
    size_t clen, got;
    uint32_t crc;
    uint8_t *c = squeeze(text, sizeof text, 0, 0, &clen, &crc), *out;
    fe_zin z;
    fe_err err;
    uint64_t extra;
    int more;
    assert_int_equal(fe_zin_open(&z, FE_ZIN_RAW, c, clen, sizeof text, 1, crc ^ 1, &err), 0);
    assert_int_equal(fe_zin_read_alloc(&z, sizeof text, &out, &got, &err), 0);
    free(out);
    assert_int_equal(fe_zin_end(&z, &extra, &more, &err), -1);
    assert_msg_contains(err.msg, "CRC");
    fe_zin_close(&z);
    for (size_t n = 0; n < clen; n++) {          /* every truncation */
        assert_int_equal(fe_zin_open(&z, FE_ZIN_RAW, c, n, sizeof text, 1, crc, &err), 0);
        int rc = fe_zin_read_alloc(&z, sizeof text, &out, &got, &err);
        if (rc == 0) {
            free(out);
            rc = got == sizeof text ? fe_zin_end(&z, &extra, &more, &err) : -1;
        }
        if (rc != -1)
            fail_msg("truncated at %zu of %zu bytes: accepted", n, clen);
        fe_zin_close(&z);
    }
    c[clen / 2] ^= 0x55;                         /* corrupt: an error, whichever */
    assert_int_equal(fe_zin_open(&z, FE_ZIN_RAW, c, clen, sizeof text, 1, crc, &err), 0);
    int rc = fe_zin_read_alloc(&z, sizeof text, &out, &got, &err);
    if (rc == 0) {
        free(out);
        rc = fe_zin_end(&z, &extra, &more, &err);
    }
    assert_int_equal(rc, -1);
    fe_zin_close(&z);
    free(c);
}

/* .npz members: header first, sizes from the header and the directory agree. */
static void test_npz_members(void **state)
{
    (void)state;
    uint8_t h[128];
    size_t hl = npy_head(h, "(4,)"), clen, len;
    uint32_t crc;
    uint8_t *c = squeeze(h, hl, 16, 0, &clen, &crc), *b;
    npz_t z;
    fe_err err;
    b = npz1("a.npy", c, clen, crc, (uint32_t)(hl + 16), &len);     /* good */
    if (npz_read_mem(b, len, &z, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(z.n, 1);
    assert_int_equal(z.e[0].t.shape[0], 4);
    npz_free(&z);
    free(b);
    /* the directory declares more than the stream holds */
    b = npz1("a.npy", c, clen, crc, (uint32_t)(hl + 20), &len);
    expect_npz_bad(b, len, "uncompressed size 144 differs from the 148 declared");
    free(b);
    /* ... or less than the header's array needs: refused from the header */
    b = npz1("a.npy", c, clen, crc, (uint32_t)(hl + 12), &len);
    expect_npz_bad(b, len, "header says 16 bytes, more than the 12 the member can hold");
    free(b);
    /* a CRC that does not match */
    b = npz1("a.npy", c, clen, crc ^ 1, (uint32_t)(hl + 16), &len);
    expect_npz_bad(b, len, "CRC-32 mismatch");
    free(b);
    free(c);
    /* a header declaring a huge shape over a small member: refused before its data */
    hl = npy_head(h, "(1000000000, 1000)");
    c = squeeze(h, hl, 16, 0, &clen, &crc);
    b = npz1("big.npy", c, clen, crc, (uint32_t)(hl + 16), &len);
    expect_npz_bad(b, len, "header says 4000000000000 bytes, more than the 16 the member can hold");
    free(b);
    /* the same with the directory declaring all the stream's ratio allows */
    b = npz1("big.npy", c, clen, crc, (uint32_t)fe_zin_bound(clen), &len);
    expect_npz_bad(b, len, "more than the");
    free(b);
    /* an uncompressed size no deflate stream of this size can give */
    b = npz1("big.npy", c, clen, crc, (uint32_t)fe_zin_bound(clen) + 1, &len);
    expect_npz_bad(b, len, "implausible uncompressed size");
    free(b);
    /* a shape whose byte count overflows */
    free(c);
    hl = npy_head(h, "(4611686018427387903, 4611686018427387903)");
    c = squeeze(h, hl, 16, 0, &clen, &crc);
    b = npz1("ovf.npy", c, clen, crc, (uint32_t)(hl + 16), &len);
    expect_npz_bad(b, len, "overflows");
    free(b);
    free(c);
    /* a small array, its stream going on with 16 MiB of zeros the directory does not
     * declare: stopped at the declared size */
    hl = npy_head(h, "(4,)");
    c = squeeze(h, hl, (size_t)16 << 20, 0, &clen, &crc);
    b = npz1("bomb.npy", c, clen, crc, (uint32_t)(hl + 16), &len);
    expect_npz_bad(b, len, "more than 65536 bytes of trailing data after the array");
    free(b);
    /* ... and declaring it: stopped after FE_ZIN_PROBE bytes past the array */
    b = npz1("bomb.npy", c, clen, crc, (uint32_t)(hl + (16u << 20)), &len);
    expect_npz_bad(b, len, "more than 65536 bytes of trailing data after the array");
    free(b);
    free(c);
}

/* gzip IDX: the header checked before the data is inflated. */
static void test_idx_gzip(void **state)
{
    (void)state;
    fe_tensor t;
    fe_err err;
    size_t clen;
    uint32_t crc;
    /* 2 bytes declared, 16 MiB in the stream */
    uint8_t *c = squeeze("\0\0\x08\x01\0\0\0\x02", 8, (size_t)16 << 20, 1, &clen, &crc);
    assert_int_equal(idx_decode(c, clen, &t, &err), -1);
    assert_msg_contains(err.msg, "trailing data: more than 65536 bytes after the 2 bytes");
    free(c);
    /* a huge shape over a small stream */
    c = squeeze("\0\0\x08\x02\xff\xff\xff\xff\0\0\x10\0", 12, 100, 1, &clen, &crc);
    assert_int_equal(idx_decode(c, clen, &t, &err), -1);
    assert_msg_contains(err.msg, "header says 17592186040320 bytes, more than the");
    free(c);
    /* overflow of the declared size */
    c = squeeze("\0\0\x0e\x04\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
                20, 0, 1, &clen, &crc);
    assert_int_equal(idx_decode(c, clen, &t, &err), -1);
    assert_msg_contains(err.msg, "overflows");
    free(c);
    /* good: 3 MiB of image bytes */
    c = squeeze("\0\0\x08\x03\0\0\x0c\0\0\0\0\x20\0\0\0\x20", 16, (size_t)3 << 20, 1, &clen, &crc);
    if (idx_decode(c, clen, &t, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(t.shape[0], 3072);
    fe_tensor_free(&t);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bound),
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_past),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_npz_members),
        cmocka_unit_test(test_idx_gzip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
