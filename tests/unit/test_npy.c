/* test_npy.c - .npy reading and writing: round trips, numpy's own files, and
 * every class of bad input. */
#include "fe_test.h"

#include <inttypes.h>

#include "npy.h"
#include "tensor.h"

static const fe_dtype DTYPES[] = {FE_U8, FE_I32, FE_I64, FE_F32, FE_F64};

/* Fill element i with a value that fits every dtype and differs per element. */
static void fill(fe_tensor *t)
{
    int64_t n = fe_numel(t);
    for (int64_t i = 0; i < n; i++) {
        switch (t->dtype) {
        case FE_U8:  ((uint8_t *)t->data)[i] = (uint8_t)(i * 7 + 1); break;
        case FE_I32: ((int32_t *)t->data)[i] = (int32_t)(i * 1000003 - 5000000); break;
        case FE_I64: ((int64_t *)t->data)[i] = i * 1000000000007LL - 3; break;
        case FE_F32: ((float *)t->data)[i] = (float)i * 0.25f - 1.5f; break;
        case FE_F64: ((double *)t->data)[i] = (double)i * 1e-3 - 1e10; break;
        }
    }
}

static void assert_same(const fe_tensor *a, const fe_tensor *b)
{
    assert_int_equal(a->dtype, b->dtype);
    assert_int_equal(a->ndim, b->ndim);
    for (int i = 0; i < a->ndim; i++)
        assert_int_equal(a->shape[i], b->shape[i]);
    assert_int_equal(fe_nbytes(a), fe_nbytes(b));
    if (fe_nbytes(a))
        assert_memory_equal(a->data, b->data, fe_nbytes(a));
}

static void make(fe_tensor *t, fe_dtype d, int ndim)
{
    static const int64_t dims[] = {2, 3, 1, 4, 2, 2, 2, 2};
    assert_int_equal(fe_tensor_alloc(t, d, ndim, dims), 0);
    fill(t);
}

/* Write into a pipe and read back from it: proves neither side seeks. */
static void roundtrip_pipe(const fe_tensor *t)
{
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    FILE *w = fdopen(fd[1], "wb"), *r = fdopen(fd[0], "rb");
    fe_err err;
    assert_int_equal(npy_write(w, t, &err), 0);
    assert_int_equal(fclose(w), 0);
    fe_tensor back;
    if (npy_read(r, &back, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(fgetc(r), EOF);
    fclose(r);
    assert_same(t, &back);
    fe_tensor_free(&back);
}

static void test_roundtrip_all(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof DTYPES / sizeof DTYPES[0]; k++)
        for (int nd = 0; nd <= 4; nd++) {
            fe_tensor t, back;
            fe_err err;
            make(&t, DTYPES[k], nd);
            roundtrip_pipe(&t);
            uint8_t *buf;
            size_t len;
            assert_int_equal(npy_write_mem(&t, &buf, &len, &err), 0);
            /* header: aligned to 64, ends with '\n', as numpy writes it */
            size_t hl = buf[8] | (size_t)buf[9] << 8;
            assert_int_equal(buf[6], 1);
            assert_int_equal((10 + hl) % 64, 0);
            assert_int_equal(buf[10 + hl - 1], '\n');
            assert_int_equal(len, 10 + hl + fe_nbytes(&t));
            if (npy_read_mem(buf, len, &back, &err) != 0)
                fail_msg("%s", err.msg);
            assert_same(&t, &back);
            fe_tensor_free(&back);
            free(buf);
            fe_tensor_free(&t);
        }
}

static void test_empty_and_8d(void **state)
{
    (void)state;
    fe_tensor t;
    int64_t s0[] = {0, 3};
    assert_int_equal(fe_tensor_alloc(&t, FE_F32, 2, s0), 0);
    roundtrip_pipe(&t);
    fe_tensor_free(&t);
    make(&t, FE_F64, 8);
    roundtrip_pipe(&t);
    fe_tensor_free(&t);
}

static void test_save_load_path(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/x.npy", dir);
    fe_tensor t, back;
    fe_err err;
    make(&t, FE_F32, 3);
    assert_int_equal(npy_save(path, &t, &err), 0);
    assert_int_equal(count_entries(dir), 1);
    assert_int_equal(npy_load(path, &back, &err), 0);
    assert_same(&t, &back);
    fe_tensor_free(&back);
    /* a trailing byte after the data is an error when loading a whole file */
    FILE *f = fopen(path, "ab");
    fputc(0, f);
    fclose(f);
    assert_int_equal(npy_load(path, &back, &err), -1);
    assert_msg_contains(err.msg, "trailing");
    snprintf(path, sizeof path, "%s/missing.npy", dir);
    assert_int_equal(npy_load(path, &back, &err), -1);
    assert_msg_contains(err.msg, "No such file");
    fe_tensor_free(&t);
    remove_tmpdir(dir);
}

/* numpy's files: read them, and our writer reproduces them byte for byte. */
static void check_fixture(const char *name, fe_dtype d, int ndim, const int64_t *shape)
{
    size_t len;
    uint8_t *b = slurp(fixture(name), &len);
    fe_tensor t;
    fe_err err;
    if (npy_read_mem(b, len, &t, &err) != 0)
        fail_msg("%s: %s", name, err.msg);
    assert_int_equal(t.dtype, d);
    assert_int_equal(t.ndim, ndim);
    for (int i = 0; i < ndim; i++)
        assert_int_equal(t.shape[i], shape[i]);
    uint8_t *mine;
    size_t mlen;
    assert_int_equal(npy_write_mem(&t, &mine, &mlen, &err), 0);
    if (strcmp(name, "v2.npy") != 0) {
        assert_int_equal(mlen, len);
        assert_memory_equal(mine, b, len);
    }
    free(mine);
    int64_t n = fe_numel(&t);
    for (int64_t i = 0; i < n; i++) {
        switch (d) {
        case FE_U8:  assert_int_equal(((uint8_t *)t.data)[i], i); break;
        case FE_I32: assert_int_equal(((int32_t *)t.data)[i], i - 12); break;
        case FE_I64: assert_true(((int64_t *)t.data)[i] == i * 1000000000000LL); break;
        case FE_F32:
            if (strcmp(name, "v2.npy") == 0)
                assert_true(((float *)t.data)[i] == (float)i);
            else
                assert_true(((float *)t.data)[i] == (float)i * 0.5f - 3.0f);
            break;
        case FE_F64: assert_true(((double *)t.data)[i] == 3.25); break;
        }
    }
    fe_tensor_free(&t);
    free(b);
}

static void test_numpy_fixtures(void **state)
{
    (void)state;
    check_fixture("u1.npy", FE_U8, 2, (int64_t[]){2, 3});
    check_fixture("i4.npy", FE_I32, 3, (int64_t[]){2, 3, 4});
    check_fixture("i8.npy", FE_I64, 1, (int64_t[]){5});
    check_fixture("f4.npy", FE_F32, 4, (int64_t[]){1, 2, 3, 4});
    check_fixture("f8.npy", FE_F64, 0, NULL);
    check_fixture("empty.npy", FE_F32, 2, (int64_t[]){0, 3});
    check_fixture("v2.npy", FE_F32, 2, (int64_t[]){3, 2});
    size_t len;
    uint8_t *b = slurp(fixture("v2.npy"), &len);
    assert_int_equal(b[6], 2);
    free(b);
}

/* Build a .npy with an arbitrary header dict and data. */
static uint8_t *build(int major, const char *dict, const void *data, size_t dlen, size_t *len)
{
    size_t pre = major == 1 ? 10 : 12, hl = strlen(dict) + 1;
    size_t pad = (64 - (pre + hl) % 64) % 64;
    size_t total = pre + hl + pad + dlen;
    uint8_t *b = malloc(total);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (uint8_t)major;
    b[7] = 0;
    uint32_t h = (uint32_t)(hl + pad);
    b[8] = h & 0xff;
    b[9] = h >> 8 & 0xff;
    if (pre == 12) {
        b[10] = h >> 16 & 0xff;
        b[11] = h >> 24 & 0xff;
    }
    memcpy(b + pre, dict, hl - 1);
    memset(b + pre + hl - 1, ' ', pad);
    b[pre + hl + pad - 1] = '\n';
    if (dlen)
        memcpy(b + pre + hl + pad, data, dlen);
    *len = total;
    return b;
}

static void expect_ok(int major, const char *dict, size_t dlen, fe_dtype d, int ndim)
{
    uint8_t data[64] = {0};
    size_t len;
    uint8_t *b = build(major, dict, data, dlen, &len);
    fe_tensor t;
    fe_err err;
    if (npy_read_mem(b, len, &t, &err) != 0)
        fail_msg("%s: %s", dict, err.msg);
    assert_int_equal(t.dtype, d);
    assert_int_equal(t.ndim, ndim);
    fe_tensor_free(&t);
    free(b);
}

/* Fails from memory and from a pipe, with a message containing `sub`. */
static void expect_bad_bytes(const uint8_t *b, size_t len, const char *sub)
{
    fe_tensor t;
    fe_err err;
    memset(&err, 0, sizeof err);
    if (npy_read_mem(b, len, &t, &err) != -1)
        fail_msg("accepted bad input (expected \"%s\")", sub);
    assert_msg_contains(err.msg, sub);
    if (len < 60000) {  /* fits in a pipe buffer */
        int fd[2];
        assert_int_equal(pipe(fd), 0);
        assert_int_equal(write(fd[1], b, len), (ssize_t)len);
        close(fd[1]);
        FILE *r = fdopen(fd[0], "rb");
        memset(&err, 0, sizeof err);
        int rc = npy_read(r, &t, &err);
        fclose(r);
        if (strstr(sub, "trailing")) {  /* a stream reader stops after one array */
            if (rc == 0)
                fe_tensor_free(&t);
            return;
        }
        assert_int_equal(rc, -1);
        assert_msg_contains(err.msg, sub);
    }
}

static void expect_bad(int major, const char *dict, size_t dlen, const char *sub)
{
    uint8_t data[64] = {0};
    size_t len;
    uint8_t *b = build(major, dict, data, dlen, &len);
    expect_bad_bytes(b, len, sub);
    free(b);
}

static void test_header_parser_accepts(void **state)
{
    (void)state;
    expect_ok(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 12, FE_F32, 1);
    expect_ok(1, "{'shape': (2, 3), 'fortran_order': False, 'descr': '|u1'}", 6, FE_U8, 2);
    expect_ok(1, "{ \"descr\" : \"<i8\" , \"fortran_order\":False,\"shape\":( 2 , ) , }", 16, FE_I64, 1);
    expect_ok(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", 8, FE_F64, 0);
    expect_ok(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2L, 1L), }", 8, FE_I32, 2);
    expect_ok(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1), }", 4, FE_F32, 4);
    expect_ok(3, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 4, FE_F32, 1);
    expect_ok(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }", 0, FE_F32, 2);
}

static void test_bad_headers(void **state)
{
    (void)state;
    const char *ok_tail = "'fortran_order': False, 'shape': (2,), }";
    char d[256];
    expect_bad(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16, "Fortran");
    expect_bad(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8, "big-endian");
    expect_bad(1, "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", 16, "object");
    expect_bad(1, "{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }", 4, "unsupported dtype '<f2'");
    expect_bad(1, "{'descr': '<u1', 'fortran_order': False, 'shape': (2,), }", 2, "unsupported dtype '<u1'");
    expect_bad(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 16, "unsupported dtype");
    expect_bad(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8, "structured");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", 8, "negative");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", 8, "not a tuple");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': [2], }", 8, "not a tuple");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2 2), }", 8, "malformed");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (,), }", 8, "malformed");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", 4, "too many dimensions");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }", 4, "absurd");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }", 4, "absurd");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", 8, "unexpected key");
    expect_bad(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", 8, "duplicate");
    expect_bad(1, "{'descr': '<f4', 'shape': (2,), }", 8, "missing key 'fortran_order'");
    expect_bad(1, "{'fortran_order': False, 'shape': (2,), }", 8, "missing key 'descr'");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, }", 8, "missing key 'shape'");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", 8, "fortran_order");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), ", 8, "malformed");
    expect_bad(1, "'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8, "malformed");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } junk", 8, "after the dict");
    expect_bad(1, "{'descr: '<f4', 'fortran_order': False, 'shape': (2,), }", 8, "malformed");
    expect_bad(1, "{'de\\x63r': '<f4', 'fortran_order': False, 'shape': (2,), }", 8, "escape");
    expect_bad(1, "{descr: '<f4', 'fortran_order': False, 'shape': (2,), }", 8, "malformed");
    expect_bad(1, "", 8, "malformed");
    snprintf(d, sizeof d, "{'descr': '%s', %s", "<f4", ok_tail);
    expect_bad(1, d, 7, "truncated data: header says 8 bytes, file has 7");
    expect_bad(1, d, 9, "trailing");
}

static void test_bad_prefix(void **state)
{
    (void)state;
    expect_bad_bytes((const uint8_t *)"", 0, "empty");
    expect_bad_bytes((const uint8_t *)"\x93NUMP", 5, "bad magic");
    expect_bad_bytes((const uint8_t *)"PK\x03\x04xxxxxxxxxxxx", 16, "bad magic");
    expect_bad_bytes((const uint8_t *)"\x93NUMPY\x01", 7, "truncated header");
    expect_bad_bytes((const uint8_t *)"\x93NUMPY\x01\x00\x10", 9, "truncated header");
    expect_bad_bytes((const uint8_t *)"\x93NUMPY\x01\x00\x40\x00{'descr'", 17, "truncated header");
    expect_bad_bytes((const uint8_t *)"\x93NUMPY\x04\x00\x10\x00", 10, "version 4.0");
    expect_bad_bytes((const uint8_t *)"\x93NUMPY\x01\x01\x10\x00", 10, "version 1.1");
    expect_bad_bytes((const uint8_t *)"\x93NUMPY\x02\x00\xff\xff\xff\x7f", 12, "too large");
    /* numpy's own rejects */
    size_t len;
    uint8_t *b = slurp(fixture("fortran.npy"), &len);
    expect_bad_bytes(b, len, "Fortran");
    free(b);
    b = slurp(fixture("bigendian.npy"), &len);
    expect_bad_bytes(b, len, "big-endian dtype '>f4'");
    free(b);
}

/* A header claiming a terabyte over a few bytes must fail without allocating it. */
static void test_absurd_shape_short_data(void **state)
{
    (void)state;
    expect_bad(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }", 16,
               "truncated data: header says 8000000000000 bytes, file has 16");
    expect_bad(2, "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }", 3,
               "truncated data: header says 8000000000000 bytes, file has 3");
}

/* Every prefix of a valid file fails cleanly (never crashes, never succeeds). */
static void test_all_truncations(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = slurp(fixture("i4.npy"), &len);
    for (size_t n = 0; n < len; n++) {
        fe_tensor t;
        fe_err err;
        uint8_t *c = malloc(n ? n : 1);
        memcpy(c, b, n);
        assert_int_equal(npy_read_mem(c, n, &t, &err), -1);
        free(c);
    }
    free(b);
}

static void test_write_rejects(void **state)
{
    (void)state;
    fe_tensor t;
    fe_err err;
    uint8_t *buf;
    size_t len;
    make(&t, FE_F32, 2);
    t.shape[0] = -1;
    assert_int_equal(npy_write_mem(&t, &buf, &len, &err), -1);
    assert_msg_contains(err.msg, "negative");
    t.shape[0] = 2;
    t.ndim = 9;
    assert_int_equal(npy_write_mem(&t, &buf, &len, &err), -1);
    t.ndim = 2;
    t.dtype = (fe_dtype)42;
    assert_int_equal(npy_write_mem(&t, &buf, &len, &err), -1);
    assert_msg_contains(err.msg, "dtype");
    t.dtype = FE_F32;
    fe_tensor_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_all),
        cmocka_unit_test(test_empty_and_8d),
        cmocka_unit_test(test_save_load_path),
        cmocka_unit_test(test_numpy_fixtures),
        cmocka_unit_test(test_header_parser_accepts),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_bad_prefix),
        cmocka_unit_test(test_absurd_shape_short_data),
        cmocka_unit_test(test_all_truncations),
        cmocka_unit_test(test_write_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
