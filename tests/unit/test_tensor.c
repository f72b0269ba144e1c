/* test_tensor.c - checked size arithmetic (tensor.h): fe_mul_size, fe_shape_numel
 * and fe_tensor_alloc on products that overflow and on zero beside huge dimensions. */
#include "fe_test.h"
#include "tensor.h"

static void test_mul_size(void **state)
{
    (void)state;
    size_t r = 7;
    assert_int_equal(fe_mul_size(0, SIZE_MAX, &r), 0);
    assert_int_equal(r, 0);
    assert_int_equal(fe_mul_size(SIZE_MAX, 0, &r), 0);
    assert_int_equal(r, 0);
    assert_int_equal(fe_mul_size(SIZE_MAX, 1, &r), 0);
    assert_true(r == SIZE_MAX);
    assert_int_equal(fe_mul_size((size_t)1 << 32, (size_t)1 << 31, &r), 0);
    assert_true(r == (size_t)1 << 63);
    r = 7;
    assert_int_equal(fe_mul_size((size_t)1 << 32, (size_t)1 << 32, &r), -1);
    assert_int_equal(r, 7);                     /* untouched on overflow */
    assert_int_equal(fe_mul_size(SIZE_MAX / 3 + 1, 3, &r), -1);
}

static void test_shape_numel(void **state)
{
    (void)state;
    int64_t n = -5;
    const int64_t big = (int64_t)1 << 62;
    const int64_t zero_first[] = {0, big, big}, zero_last[] = {big, big, 0};
    assert_int_equal(fe_shape_numel(3, zero_first, 4, &n), 0);   /* no overflow: empty */
    assert_int_equal(n, 0);
    n = -5;
    assert_int_equal(fe_shape_numel(3, zero_last, 4, &n), 0);    /* order does not matter */
    assert_int_equal(n, 0);
    const int64_t ok[] = {60000, 28, 28};
    assert_int_equal(fe_shape_numel(3, ok, 1, &n), 0);
    assert_int_equal(n, 60000 * 784);
    assert_int_equal(fe_shape_numel(0, ok, 4, &n), 0);           /* a scalar */
    assert_int_equal(n, 1);
    const int64_t over[] = {(int64_t)1 << 32, (int64_t)1 << 32};
    assert_int_equal(fe_shape_numel(2, over, 1, &n), -1);        /* 2^64 elements */
    const int64_t bytes[] = {(int64_t)1 << 60, 16};
    assert_int_equal(fe_shape_numel(2, bytes, 1, &n), -1);       /* 2^64 elements */
    const int64_t b8[] = {(int64_t)1 << 60, 8};
    assert_int_equal(fe_shape_numel(2, b8, 1, &n), -1);          /* 2^63 > INT64_MAX */
    const int64_t b4[] = {(int64_t)1 << 30, (int64_t)1 << 30};
    assert_int_equal(fe_shape_numel(2, b4, 4, &n), 0);           /* 2^60 elements, 2^62 bytes */
    assert_int_equal(n, (int64_t)1 << 60);
    assert_int_equal(fe_shape_numel(2, b4, 8, &n), -1);          /* 2^63 bytes > INT64_MAX */
    const int64_t b16[] = {(int64_t)1 << 31, (int64_t)1 << 30};
    assert_int_equal(fe_shape_numel(2, b16, 8, &n), -1);         /* 2^64 bytes */
    const int64_t neg[] = {0, -1};
    assert_int_equal(fe_shape_numel(2, neg, 4, &n), -1);         /* negative, even beside 0 */
    assert_int_equal(fe_shape_numel(FE_MAXDIM + 1, ok, 4, &n), -1);
    assert_int_equal(fe_shape_numel(2, ok, 0, &n), -1);
}

static void test_alloc(void **state)
{
    (void)state;
    fe_tensor t;
    const int64_t zh[] = {(int64_t)1 << 62, 0};
    assert_int_equal(fe_tensor_alloc(&t, FE_F32, 2, zh), 0);
    assert_int_equal(fe_numel(&t), 0);
    assert_int_equal(fe_nbytes(&t), 0);
    fe_tensor_free(&t);
    const int64_t over[] = {(int64_t)1 << 31, (int64_t)1 << 31, 4};
    assert_int_equal(fe_tensor_alloc(&t, FE_F32, 3, over), -1);
    const int64_t bytes[] = {(int64_t)1 << 61, 1};
    assert_int_equal(fe_tensor_alloc(&t, FE_F64, 2, bytes), -1);  /* 2^64 bytes */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mul_size),
        cmocka_unit_test(test_shape_numel),
        cmocka_unit_test(test_alloc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
