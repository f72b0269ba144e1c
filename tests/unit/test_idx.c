/* test_idx.c - the IDX reader: every type, gzip, and every class of bad input. */
#include "fe_test.h"

#include <zlib.h>

#include "idx.h"
#include "tensor.h"

static void load_fixture(const char *name, fe_tensor *t)
{
    size_t len;
    uint8_t *b = slurp(fixture(name), &len);
    fe_err err;
    if (idx_read_mem(b, len, t, &err) != 0)
        fail_msg("%s: %s", name, err.msg);
    free(b);
}

static void test_types(void **state)
{
    (void)state;
    fe_tensor t;
    load_fixture("u8.idx", &t);
    assert_int_equal(t.dtype, FE_U8);
    assert_int_equal(t.ndim, 1);
    assert_int_equal(t.shape[0], 5);
    const uint8_t lab[] = {7, 2, 1, 0, 4};
    assert_memory_equal(t.data, lab, 5);
    fe_tensor_free(&t);

    load_fixture("img.idx", &t);
    assert_int_equal(t.ndim, 3);
    assert_int_equal(t.shape[0], 2);
    assert_int_equal(t.shape[1], 3);
    assert_int_equal(t.shape[2], 4);
    for (int i = 0; i < 24; i++)
        assert_int_equal(((uint8_t *)t.data)[i], i);
    fe_tensor_free(&t);

    load_fixture("i8.idx", &t);
    assert_int_equal(t.dtype, FE_I32);
    const int32_t i8[] = {-128, -1, 0, 1, 127};
    assert_memory_equal(t.data, i8, sizeof i8);
    fe_tensor_free(&t);

    load_fixture("i16.idx", &t);
    assert_int_equal(t.dtype, FE_I32);
    assert_int_equal(t.ndim, 2);
    const int32_t i16[] = {-32768, -1, 0, 32767};
    assert_memory_equal(t.data, i16, sizeof i16);
    fe_tensor_free(&t);

    load_fixture("i32.idx", &t);
    assert_int_equal(t.dtype, FE_I32);
    const int32_t i32[] = {INT32_MIN, -1, 0, INT32_MAX};
    assert_memory_equal(t.data, i32, sizeof i32);
    fe_tensor_free(&t);

    load_fixture("f32.idx", &t);
    assert_int_equal(t.dtype, FE_F32);
    assert_int_equal(t.ndim, 2);
    assert_int_equal(t.shape[1], 3);
    const float f32[] = {1.5f, -2.25f, 0.0f};
    assert_memory_equal(t.data, f32, sizeof f32);
    fe_tensor_free(&t);

    load_fixture("f64.idx", &t);
    assert_int_equal(t.dtype, FE_F64);
    const double f64[] = {1.5, -2.25, 1e300};
    assert_memory_equal(t.data, f64, sizeof f64);
    fe_tensor_free(&t);
}

/* gzip-compress with zlib (one member). */
static uint8_t *gz(const uint8_t *in, size_t n, size_t *outlen)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&zs, (uLong)n) + 64;
    uint8_t *o = malloc(cap);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = o;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *outlen = zs.total_out;
    deflateEnd(&zs);
    return o;
}

static void test_gzip(void **state)
{
    (void)state;
    fe_tensor t, ref;
    fe_err err;
    load_fixture("img.idx", &ref);
    /* from a file (python's gzip) */
    if (idx_load(fixture("img.idx.gz"), &t, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(t.ndim, 3);
    assert_memory_equal(t.data, ref.data, 24);
    fe_tensor_free(&t);
    /* uncompressed through idx_load too */
    assert_int_equal(idx_load(fixture("img.idx"), &t, &err), 0);
    fe_tensor_free(&t);
    /* two concatenated gzip members, as `cat a.gz b.gz` gives */
    size_t len, l1, l2;
    uint8_t *raw = slurp(fixture("img.idx"), &len);
    uint8_t *g1 = gz(raw, 10, &l1), *g2 = gz(raw + 10, len - 10, &l2);
    uint8_t *cat = malloc(l1 + l2 + 8);
    memcpy(cat, g1, l1);
    memcpy(cat + l1, g2, l2);
    if (idx_decode(cat, l1 + l2, &t, &err) != 0)
        fail_msg("%s", err.msg);
    assert_memory_equal(t.data, ref.data, 24);
    fe_tensor_free(&t);
    /* trailing garbage after the gzip data */
    memcpy(cat + l1 + l2, "garbage!", 8);
    assert_int_equal(idx_decode(cat, l1 + l2 + 8, &t, &err), -1);
    assert_msg_contains(err.msg, "trailing garbage");
    /* every truncation of the gzip stream fails */
    for (size_t n = 2; n < l1 + l2; n++) {
        if (n == l1)
            continue;  /* the first member alone is a valid gzip file (of a short IDX) */
        assert_int_equal(idx_decode(cat, n, &t, &err), -1);
    }
    assert_int_equal(idx_decode(cat, l1 + l2 - 3, &t, &err), -1);
    assert_msg_contains(err.msg, "truncated gzip");
    /* corrupt deflate data */
    size_t lg;
    uint8_t *g = gz(raw, len, &lg);
    g[12] ^= 0xff;
    g[13] ^= 0xff;
    assert_int_equal(idx_decode(g, lg, &t, &err), -1);
    free(g);
    free(g1);
    free(g2);
    free(cat);
    free(raw);
    fe_tensor_free(&ref);
}

/* gsub: what the gzip-compressed input's message says instead (NULL: the same) */
static void expect_bad2(const void *b, size_t len, const char *sub, const char *gsub)
{
    fe_tensor t;
    fe_err err;
    memset(&err, 0, sizeof err);
    if (idx_read_mem(b, len, &t, &err) != -1)
        fail_msg("accepted bad input (expected \"%s\")", sub);
    assert_msg_contains(err.msg, sub);
    /* and the same gzip-compressed */
    size_t gl;
    uint8_t *g = gz(b, len, &gl);
    memset(&err, 0, sizeof err);
    assert_int_equal(idx_decode(g, gl, &t, &err), -1);
    assert_msg_contains(err.msg, gsub ? gsub : sub);
    free(g);
}

static void expect_bad(const void *b, size_t len, const char *sub)
{
    expect_bad2(b, len, sub, NULL);
}

static void test_bad(void **state)
{
    (void)state;
    expect_bad("", 0, "empty");
    expect_bad("\0\0\x08", 3, "truncated header");
    expect_bad("\x01\0\x08\x01\0\0\0\x01x", 9, "bad magic");
    expect_bad("\0\x01\x08\x01\0\0\0\x01x", 9, "bad magic");
    expect_bad("\0\0\x0a\x01\0\0\0\x01x", 9, "unknown data type code 0x0a");
    expect_bad("\0\0\x08\x00x", 5, "number of dimensions 0");
    expect_bad("\0\0\x08\x09", 4, "number of dimensions 9");
    expect_bad("\0\0\x08\xff", 4, "number of dimensions 255");
    expect_bad("\0\0\x08\x03\0\0\0\x02\0\0\0\x02", 12, "truncated header");
    expect_bad("\0\0\x08\x01\0\0\0\x05\1\2\3\4", 12, "truncated data: header says 5 bytes, file has 4");
    expect_bad("\0\0\x0c\x01\0\0\0\x02\0\0\0\1\0\0\0", 15, "truncated data: header says 8 bytes, file has 7");
    expect_bad("\0\0\x08\x01\0\0\0\x02\1\2\3", 11, "trailing data: 1 bytes after the 2 bytes");
    expect_bad("\0\0\x08\x04\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 20,
               "overflows");
    /* absurd but representable: must fail without allocating the claimed size;
     * compressed, from the header alone (before inflating the data) */
    expect_bad2("\0\0\x0e\x02\x80\0\0\0\x00\x10\0\0x", 13,
                "truncated data: header says 18014398509481984 bytes, file has 1",
                "truncated data: header says 18014398509481984 bytes, more than the");
}

static void test_zero_dims(void **state)
{
    (void)state;
    fe_tensor t;
    fe_err err;
    assert_int_equal(idx_read_mem((const uint8_t *)"\0\0\x08\x02\0\0\0\0\0\0\0\x1c", 12, &t, &err), 0);
    assert_int_equal(t.ndim, 2);
    assert_int_equal(t.shape[0], 0);
    assert_int_equal(t.shape[1], 28);
    fe_tensor_free(&t);
}

static void test_load_errors(void **state)
{
    (void)state;
    fe_tensor t;
    fe_err err;
    assert_int_equal(idx_load("/nonexistent/x.idx", &t, &err), -1);
    assert_msg_contains(err.msg, "No such file");
    assert_int_equal(idx_load("/", &t, &err), -1);
    assert_msg_contains(err.msg, "directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_gzip),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_zero_dims),
        cmocka_unit_test(test_load_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
