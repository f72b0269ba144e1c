/* test_npz.c - .npz (zip of .npy) reading and writing: round trips, numpy's
 * savez / savez_compressed files, and corrupt archives. */
#include "fe_test.h"

#include "npy.h"
#include "tensor.h"

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Offsets of the end-of-central-directory record and the first central entry. */
static size_t eocd_of(const uint8_t *b, size_t len)
{
    for (size_t p = len - 22 + 1; p-- > 0;)
        if (rd32(b + p) == 0x06054b50u)
            return p;
    fail_msg("no EOCD");
    return 0;
}

static void three_entries(npz_entry *e)
{
    int64_t s1[] = {2, 3}, s2[] = {1, 2, 3, 4};
    e[0].name = "a";
    assert_int_equal(fe_tensor_alloc(&e[0].t, FE_U8, 2, s1), 0);
    for (int i = 0; i < 6; i++)
        ((uint8_t *)e[0].t.data)[i] = (uint8_t)i;
    e[1].name = "conv1.weight";
    assert_int_equal(fe_tensor_alloc(&e[1].t, FE_F32, 4, s2), 0);
    for (int i = 0; i < 24; i++)
        ((float *)e[1].t.data)[i] = (float)i * 0.5f - 3.0f;
    e[2].name = "num_batches_tracked";
    assert_int_equal(fe_tensor_alloc(&e[2].t, FE_I64, 0, NULL), 0);
    *(int64_t *)e[2].t.data = 7;
}

static void check_three(const npz_t *z)
{
    assert_int_equal(z->n, 3);
    const fe_tensor *a = npz_get(z, "a"), *w = npz_get(z, "conv1.weight"),
                    *nb = npz_get(z, "num_batches_tracked");
    assert_non_null(a);
    assert_non_null(w);
    assert_non_null(nb);
    assert_null(npz_get(z, "missing"));
    assert_int_equal(a->dtype, FE_U8);
    assert_int_equal(a->ndim, 2);
    assert_int_equal(a->shape[1], 3);
    for (int i = 0; i < 6; i++)
        assert_int_equal(((uint8_t *)a->data)[i], i);
    assert_int_equal(w->dtype, FE_F32);
    assert_int_equal(w->ndim, 4);
    for (int i = 0; i < 24; i++)
        assert_true(((float *)w->data)[i] == (float)i * 0.5f - 3.0f);
    assert_int_equal(nb->dtype, FE_I64);
    assert_int_equal(nb->ndim, 0);
    assert_int_equal(*(int64_t *)nb->data, 7);
}

/* A valid archive written by our writer, as bytes. */
static uint8_t *good_npz(size_t *len)
{
    char *dir = make_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/m.npz", dir);
    npz_entry e[3];
    three_entries(e);
    fe_err err;
    if (npz_save(path, e, 3, &err) != 0)
        fail_msg("%s", err.msg);
    for (int i = 0; i < 3; i++)
        fe_tensor_free(&e[i].t);
    uint8_t *b = slurp(path, len);
    remove_tmpdir(dir);
    return b;
}

static void test_roundtrip(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/m.npz", dir);
    npz_entry e[3];
    three_entries(e);
    fe_err err;
    assert_int_equal(npz_save(path, e, 3, &err), 0);
    assert_int_equal(count_entries(dir), 1);  /* no temp file left */
    npz_t z;
    if (npz_load(path, &z, &err) != 0)
        fail_msg("%s", err.msg);
    check_three(&z);
    npz_free(&z);
    /* deterministic: the same entries give the same bytes */
    size_t l1, l2;
    uint8_t *b1 = slurp(path, &l1);
    assert_int_equal(npz_save(path, e, 3, &err), 0);
    uint8_t *b2 = slurp(path, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(b1, b2, l1);
    free(b1);
    free(b2);
    /* an empty archive */
    assert_int_equal(npz_save(path, e, 0, &err), 0);
    assert_int_equal(npz_load(path, &z, &err), 0);
    assert_int_equal(z.n, 0);
    npz_free(&z);
    /* the writer refuses duplicate names and leaves the old file alone */
    e[1].name = "a";
    assert_int_equal(npz_save(path, e, 3, &err), -1);
    assert_msg_contains(err.msg, "duplicate");
    assert_int_equal(count_entries(dir), 1);
    for (int i = 0; i < 3; i++)
        fe_tensor_free(&e[i].t);
    remove_tmpdir(dir);
}

/* npz_load_one: that member alone; a bad CRC in it is caught, a missing name
 * gives nothing, and a broken directory entry of another member still fails. */
static void test_load_one(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/m.npz", dir);
    npz_entry e[3];
    three_entries(e);
    fe_err err;
    assert_int_equal(npz_save(path, e, 3, &err), 0);
    npz_t z;
    if (npz_load_one(path, "conv1.weight", &z, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(z.n, 1);
    const fe_tensor *w = npz_get(&z, "conv1.weight");
    assert_non_null(w);
    assert_memory_equal(w->data, e[1].t.data, 24 * sizeof(float));
    npz_free(&z);
    assert_int_equal(npz_load_one(path, "conv1", &z, &err), 0);       /* a prefix is not a name */
    assert_int_equal(z.n, 0);
    npz_free(&z);
    size_t len;
    uint8_t *b = slurp(path, &len);
    /* flip a byte of conv1.weight's data (the last bytes before member 3's header) */
    size_t off = 0;
    for (size_t p = 0; p + 4 <= len; p++)
        if (rd32(b + p) == 0x04034b50u && p + 30 + 19 <= len && !memcmp(b + p + 30, "num_batches", 11))
            off = p;
    assert_true(off > 8);
    b[off - 4] ^= 0x40;
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    fclose(f);
    assert_int_equal(npz_load_one(path, "conv1.weight", &z, &err), -1);
    assert_msg_contains(err.msg, "CRC");
    assert_int_equal(npz_load_one(path, "a", &z, &err), 0);           /* its CRC is not read */
    assert_int_equal(z.n, 1);
    npz_free(&z);
    b[off - 4] ^= 0x40;
    b[off] ^= 0xff;                    /* member 3's local header signature */
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    fclose(f);
    assert_int_equal(npz_load_one(path, "a", &z, &err), -1);
    assert_msg_contains(err.msg, "local header");
    free(b);
    for (int i = 0; i < 3; i++)
        fe_tensor_free(&e[i].t);
    remove_tmpdir(dir);
}

static void test_numpy_savez(void **state)
{
    (void)state;
    const char *names[] = {"savez.npz", "savez_compressed.npz"};
    for (int k = 0; k < 2; k++) {
        npz_t z;
        fe_err err;
        if (npz_load(fixture(names[k]), &z, &err) != 0)
            fail_msg("%s: %s", names[k], err.msg);
        check_three(&z);
        npz_free(&z);
    }
}

/* numpy writing to an unseekable stream: local headers without sizes, data descriptors. */
static void test_numpy_stream(void **state)
{
    (void)state;
    npz_t z;
    fe_err err;
    size_t len;
    uint8_t *b = slurp(fixture("savez_stream.npz"), &len);
    assert_true(b[6] & 0x08);  /* the fixture really uses a data descriptor */
    free(b);
    if (npz_load(fixture("savez_stream.npz"), &z, &err) != 0)
        fail_msg("%s", err.msg);
    check_three(&z);
    npz_free(&z);
}

static void expect_bad(const uint8_t *b, size_t len, const char *sub)
{
    npz_t z;
    fe_err err;
    memset(&err, 0, sizeof err);
    if (npz_read_mem(b, len, &z, &err) != -1)
        fail_msg("accepted a bad archive (expected \"%s\")", sub);
    assert_int_equal(z.n, 0);
    assert_null(z.e);
    assert_msg_contains(err.msg, sub);
}

static void test_truncated(void **state)
{
    (void)state;
    const char *names[] = {"savez.npz", "savez_compressed.npz"};
    for (int k = 0; k < 2; k++) {
        size_t len;
        uint8_t *b = slurp(fixture(names[k]), &len);
        for (size_t n = 0; n < len; n++) {
            uint8_t *c = malloc(n ? n : 1);
            memcpy(c, b, n);
            npz_t z;
            fe_err err;
            assert_int_equal(npz_read_mem(c, n, &z, &err), -1);
            free(c);
        }
        expect_bad(b, len - 22, "end of central directory");
        expect_bad(b, 10, "too short");
        free(b);
    }
}

static void test_corrupt(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = good_npz(&len);
    uint8_t *c = malloc(len);
    size_t eocd = eocd_of(b, len);
    size_t cd = rd32(b + eocd + 16);

    /* a flipped data byte: first member "a.npy" starts at 30 + 5 */
    memcpy(c, b, len);
    c[30 + 5 + 130] ^= 0x55;
    expect_bad(c, len, "CRC-32 mismatch");

    /* the central directory offset past the end */
    memcpy(c, b, len);
    wr32(c + eocd + 16, (uint32_t)len + 1000);
    expect_bad(c, len, "central directory out of bounds");
    /* its size larger than what is there */
    memcpy(c, b, len);
    wr32(c + eocd + 12, (uint32_t)len);
    expect_bad(c, len, "out of bounds");
    /* more entries than the directory can hold */
    memcpy(c, b, len);
    c[eocd + 8] = c[eocd + 10] = 200;
    expect_bad(c, len, "too small");
    /* a local header offset out of bounds */
    memcpy(c, b, len);
    wr32(c + cd + 42, 0x7fffffff);
    expect_bad(c, len, "local header out of bounds");
    /* a local header offset pointing at the wrong place */
    memcpy(c, b, len);
    wr32(c + cd + 42, 3);
    expect_bad(c, len, "bad local header signature");
    /* compressed size running into the directory */
    memcpy(c, b, len);
    wr32(c + cd + 20, (uint32_t)len);
    expect_bad(c, len, "data out of bounds");
    /* encrypted */
    memcpy(c, b, len);
    c[cd + 8] |= 1;
    expect_bad(c, len, "encrypted");
    /* unsupported compression */
    memcpy(c, b, len);
    c[cd + 10] = 12;
    expect_bad(c, len, "compression method 12");
    /* bad central signature */
    memcpy(c, b, len);
    c[cd] = 'X';
    expect_bad(c, len, "central directory entry signature");
    /* a member that is not .npy (name patched in local and central headers) */
    memcpy(c, b, len);
    for (size_t i = 0; i + 5 <= len; i++)
        if (memcmp(c + i, "a.npy", 5) == 0)
            memcpy(c + i, "a.txt", 5);
    expect_bad(c, len, "'a.txt' is not a .npy file");
    free(c);
    free(b);
}

/* Two members with the same name: write x and y, then rename y to x. */
static void test_duplicate_names(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b;
    char *dir = make_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/d.npz", dir);
    npz_entry e[2];
    int64_t s[] = {2};
    e[0].name = "x";
    e[1].name = "y";
    for (int i = 0; i < 2; i++)
        assert_int_equal(fe_tensor_alloc(&e[i].t, FE_U8, 1, s), 0);
    fe_err err;
    assert_int_equal(npz_save(path, e, 2, &err), 0);
    b = slurp(path, &len);
    for (size_t i = 0; i + 5 <= len; i++)
        if (memcmp(b + i, "y.npy", 5) == 0)
            memcpy(b + i, "x.npy", 5);
    expect_bad(b, len, "duplicate member 'x.npy'");
    free(b);
    for (int i = 0; i < 2; i++)
        fe_tensor_free(&e[i].t);
    remove_tmpdir(dir);
}

static void test_junk(void **state)
{
    (void)state;
    uint8_t junk[4096];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof junk; i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (uint8_t)(x >> 16);
    }
    expect_bad(junk, sizeof junk, "not a .npz");
    /* a lone EOCD record claiming entries that are not there */
    uint8_t e[22] = {0x50, 0x4b, 0x05, 0x06};
    e[8] = e[10] = 1;
    expect_bad(e, sizeof e, "too small");
    e[8] = e[10] = 0;
    npz_t z;
    fe_err err;
    assert_int_equal(npz_read_mem(e, sizeof e, &z, &err), 0);  /* an empty zip is fine */
    assert_int_equal(z.n, 0);
    npz_free(&z);
}

/* Flip every byte of a compressed numpy archive in turn: never crash. */
static void test_every_byte(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = slurp(fixture("savez_compressed.npz"), &len);
    uint8_t *c = malloc(len);
    for (size_t i = 0; i < len; i++) {
        memcpy(c, b, len);
        c[i] ^= 0xff;
        npz_t z;
        fe_err err;
        if (npz_read_mem(c, len, &z, &err) == 0)
            npz_free(&z);
    }
    free(c);
    free(b);
}

/* ---- a zip built by hand with every ZIP64 structure in use ---- */

typedef struct {
    uint8_t *b;
    size_t n, cap;
} bb_t;

static void put(bb_t *bb, const void *p, size_t n)
{
    if (bb->n + n > bb->cap) {
        bb->cap = (bb->n + n) * 2;
        bb->b = realloc(bb->b, bb->cap);
    }
    memcpy(bb->b + bb->n, p, n);
    bb->n += n;
}
static void put16(bb_t *bb, unsigned v)
{
    uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    put(bb, x, 2);
}
static void put32(bb_t *bb, uint32_t v)
{
    uint8_t x[4];
    wr32(x, v);
    put(bb, x, 4);
}
static void put64(bb_t *bb, uint64_t v)
{
    put32(bb, (uint32_t)v);
    put32(bb, (uint32_t)(v >> 32));
}

/* All sizes and offsets of the central directory in ZIP64 extra fields, a ZIP64
 * end record and locator, and 0xFFFF.. placeholders in the classic record. */
static uint8_t *zip64_npz(size_t *len, int bad_locator)
{
    npz_entry e[3];
    three_entries(e);
    bb_t bb = {0};
    uint8_t *mem[3];
    size_t ml[3], off[3];
    uint32_t crc[3];
    fe_err err;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(npy_write_mem(&e[i].t, &mem[i], &ml[i], &err), 0);
        crc[i] = 0;
        /* CRC-32 (bitwise; the reader uses zlib's) */
        uint32_t c = 0xffffffffu;
        for (size_t k = 0; k < ml[i]; k++) {
            c ^= mem[i][k];
            for (int j = 0; j < 8; j++)
                c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
        }
        crc[i] = ~c;
        off[i] = bb.n;
        size_t nl = strlen(e[i].name) + 4;
        put32(&bb, 0x04034b50u); put16(&bb, 45); put16(&bb, 0); put16(&bb, 0);
        put16(&bb, 0); put16(&bb, 0x21); put32(&bb, crc[i]);
        put32(&bb, 0xffffffffu); put32(&bb, 0xffffffffu);
        put16(&bb, (unsigned)nl); put16(&bb, 20);
        put(&bb, e[i].name, nl - 4); put(&bb, ".npy", 4);
        put16(&bb, 1); put16(&bb, 16); put64(&bb, ml[i]); put64(&bb, ml[i]);
        put(&bb, mem[i], ml[i]);
    }
    size_t cd = bb.n;
    for (int i = 0; i < 3; i++) {
        size_t nl = strlen(e[i].name) + 4;
        put32(&bb, 0x02014b50u); put16(&bb, 45); put16(&bb, 45); put16(&bb, 0);
        put16(&bb, 0); put16(&bb, 0); put16(&bb, 0x21); put32(&bb, crc[i]);
        put32(&bb, 0xffffffffu); put32(&bb, 0xffffffffu);
        put16(&bb, (unsigned)nl); put16(&bb, 4 + 24 + 4); put16(&bb, 0);
        put16(&bb, 0xffff); put16(&bb, 0); put32(&bb, 0); put32(&bb, 0xffffffffu);
        put(&bb, e[i].name, nl - 4); put(&bb, ".npy", 4);
        put16(&bb, 1); put16(&bb, 28);
        put64(&bb, ml[i]); put64(&bb, ml[i]); put64(&bb, off[i]); put32(&bb, 0);
        free(mem[i]);
        fe_tensor_free(&e[i].t);
    }
    size_t cdsize = bb.n - cd, rec = bb.n;
    put32(&bb, 0x06064b50u); put64(&bb, 44); put16(&bb, 45); put16(&bb, 45);
    put32(&bb, 0); put32(&bb, 0); put64(&bb, 3); put64(&bb, 3); put64(&bb, cdsize); put64(&bb, cd);
    put32(&bb, 0x07064b50u); put32(&bb, 0); put64(&bb, bad_locator ? bb.n + 1000 : rec); put32(&bb, 1);
    put32(&bb, 0x06054b50u); put16(&bb, 0); put16(&bb, 0); put16(&bb, 0xffff); put16(&bb, 0xffff);
    put32(&bb, 0xffffffffu); put32(&bb, 0xffffffffu); put16(&bb, 0);
    *len = bb.n;
    return bb.b;
}

static void test_zip64(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = zip64_npz(&len, 0);
    npz_t z;
    fe_err err;
    if (npz_read_mem(b, len, &z, &err) != 0)
        fail_msg("%s", err.msg);
    check_three(&z);
    npz_free(&z);
    free(b);
    b = zip64_npz(&len, 1);
    expect_bad(b, len, "ZIP64 end of central directory record out of bounds");
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_load_one),
        cmocka_unit_test(test_numpy_savez),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_duplicate_names),
        cmocka_unit_test(test_junk),
        cmocka_unit_test(test_every_byte),
        cmocka_unit_test(test_zip64),
        cmocka_unit_test(test_numpy_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
