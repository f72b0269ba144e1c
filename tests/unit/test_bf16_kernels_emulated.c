/* test_bf16_kernels_emulated.c - the AVX512_BF16 micro-kernels of the bf16
 * convolutions (tools/nn/bf16_kernels_avx512.h) run on every CPU.
 *
 * The kernels' own source is compiled here against SIMDe's emulation of the
 * AVX-512 intrinsics, with VDPBF16PS as Intel defines it (each lane: the odd
 * pair's product added, then the even one's; SIMDe 0.7.4 adds the even one
 * first, which rounds otherwise).  Their loops, offsets, broadcasts, loads and
 * stores then run on any CPU, and each result is compared bit for bit with the
 * portable kernels (bf16_kernels_for(1)), which test_conv_algos checks against
 * float32 convolutions.  The arguments take the shapes the convolutions pass
 * (conv2d_bf16_blocked.c, winograd2_bf16.c); every buffer is exactly as long as
 * the contract in bf16_blocked.h lets the kernel read, so that under
 * AddressSanitizer a read or write past it fails the test.
 *
 * Not checked here: the instruction on hardware (DAZ/FTZ, its rounding).
 * test_layers' test_conv_bf16_blocked_kernels compares the compiled kernels
 * with the portable ones on a CPU with AVX512_BF16. */
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>          /* built with -Wno-psabi: tests/tests.mk */

#include "fe_test.h"

#include <math.h>

#include "bf16_blocked.h"
#include "rng.h"

/* VDPBF16PS on 16 lanes, as Intel's pseudocode has it. */
static simde__m512 dpbf16_intel(simde__m512 src, simde__m512bh a, simde__m512bh b)
{
    float s[16];
    uint32_t x[16], y[16];
    memcpy(s, &src, sizeof s);
    memcpy(x, &a, sizeof x);
    memcpy(y, &b, sizeof y);
    for (int l = 0; l < 16; l++) {
        s[l] += bf16_float(x[l] >> 16) * bf16_float(y[l] >> 16);
        s[l] += bf16_float(x[l] & 0xffffu) * bf16_float(y[l] & 0xffffu);
    }
    memcpy(&src, s, sizeof s);
    return src;
}
#undef _mm512_dpbf16_ps
#define _mm512_dpbf16_ps(src, a, b) dpbf16_intel(src, a, b)

#define BF16_TARGET
#include "bf16_kernels_avx512.h"

/* n words, each two bf16 of N(0, 1) (never a denormal), in an allocation of
 * exactly n words. */
static uint32_t *bf16_pairs(fe_rng *r, size_t n)
{
    uint32_t *w = malloc(sizeof(uint32_t) * (n ? n : 1));
    assert_non_null(w);
    for (size_t i = 0; i < n; i++)
        w[i] = bf16_bits((float)fe_rng_normal(r)) | bf16_bits((float)fe_rng_normal(r)) << 16;
    return w;
}

/* The tile kernel: t[MR][NP][16] = the sums over ntaps taps of A[q][r] .
 * B[off[q] + j * pstep + l]; offsets shuffled, taps in any order. */
static void tile_case(int ntaps, int pstep, int gap)
{
    char name[96];
    snprintf(name, sizeof name, "tile ntaps %d pstep %d gap %d", ntaps, pstep, gap);
    fe_rng r;
    fe_rng_seed(&r, 26, name, 0);
    const int span = (NP - 1) * pstep + 16;     /* words one tap reads */
    int *off = malloc(sizeof(int) * (size_t)ntaps);
    assert_non_null(off);
    for (int q = 0; q < ntaps; q++)
        off[q] = q * (span + gap);
    for (int q = ntaps - 1; q > 0; q--) {       /* taps out of order */
        const int j = (int)fe_rng_below(&r, (uint64_t)q + 1), s = off[q];
        off[q] = off[j];
        off[j] = s;
    }
    uint32_t *a = bf16_pairs(&r, (size_t)ntaps * MR),
             *b = bf16_pairs(&r, (size_t)(ntaps - 1) * (span + gap) + span);
    float emu[MR * NP * 16], port[MR * NP * 16];
    tile_avx512(ntaps, a, off, b, pstep, emu);
    bf16_kernels_for(1).tile(ntaps, a, off, b, pstep, port);
    for (int i = 0; i < MR * NP * 16; i++)
        if (memcmp(&emu[i], &port[i], sizeof(float)))
            fail_msg("%s: output %d (row %d, pixel %d, lane %d): AVX512_BF16 kernel %.9g, "
                     "portable %.9g", name, i, i / (NP * 16), i / 16 % NP, i % 16,
                     (double)emu[i], (double)port[i]);
    double scale = 0;
    for (int i = 0; i < MR * NP * 16; i++)
        scale = fmax(scale, fabs(port[i]));
    assert_true(scale > 0);                     /* something was summed */
    free(off);
    free(a);
    free(b);
}

static void test_tile_kernel(void **state)
{
    (void)state;
    tile_case(1, 16, 0);
    tile_case(2, 16, 0);
    tile_case(5, 16, 16);
    tile_case(37, 16, 0);       /* odd, past any unrolling (taps: pairs of channels, times 9 in direct) */
    tile_case(9, 32, 0);        /* the stride-2 pixel classes' step */
    tile_case(64, 48, 32);
}

/* The weight-gradient kernel: acc[q][v] += the sums over nrows rows, npix
 * pixels and 8 pairs of x[off[q] + r*xrow + px*xpix + i] . d[r*drow + (px*8 +
 * i)*ldd + v], q < TQ, v < CV; d starts cg*CV into rows of ldd words, acc
 * cg*CV into rows of ldacc floats, as the convolutions call it. */
static void dw_case(int nrows, int npix, int xpix, int ldd, int cg, int xoff_max)
{
    char name[128];
    snprintf(name, sizeof name, "dw nrows %d npix %d xpix %d ldd %d cg %d", nrows, npix, xpix,
             ldd, cg);
    fe_rng r;
    fe_rng_seed(&r, 26, name, 0);
    const size_t xrow = (size_t)npix * xpix + 8, drow = (size_t)npix * 8 * ldd;
    int off[TQ];
    int top = 0;
    for (int q = 0; q < TQ; q++) {
        off[q] = (int)fe_rng_below(&r, (uint64_t)xoff_max + 1);
        top = off[q] > top ? off[q] : top;
    }
    const size_t nx = (size_t)top + (nrows - 1) * xrow + (size_t)(npix - 1) * xpix + 8,
                 nd = (size_t)cg * CV + (nrows - 1) * drow + (size_t)(npix * 8 - 1) * ldd + CV,
                 nacc = (size_t)cg * CV + (size_t)(TQ - 1) * ldd + CV;
    uint32_t *x = bf16_pairs(&r, nx), *d = bf16_pairs(&r, nd);
    float *acc[2];
    for (int k = 0; k < 2; k++) {
        acc[k] = malloc(sizeof(float) * nacc);
        assert_non_null(acc[k]);
    }
    for (size_t i = 0; i < nacc; i++)           /* the kernel adds to what is there */
        acc[0][i] = acc[1][i] = (float)fe_rng_normal(&r);
    dw_avx512(nrows, npix, x, off, xrow, xpix, d + (size_t)cg * CV, ldd, drow,
              acc[0] + (size_t)cg * CV, ldd);
    bf16_kernels_for(1).dw(nrows, npix, x, off, xrow, xpix, d + (size_t)cg * CV, ldd, drow,
                           acc[1] + (size_t)cg * CV, ldd);
    size_t changed = 0;
    for (size_t i = 0; i < nacc; i++) {
        if (memcmp(&acc[0][i], &acc[1][i], sizeof(float)))
            fail_msg("%s: acc[%zu]: AVX512_BF16 kernel %.9g, portable %.9g", name, i,
                     (double)acc[0][i], (double)acc[1][i]);
        changed += i >= (size_t)cg * CV && (i - (size_t)cg * CV) % ldd < CV;
    }
    assert_int_equal(changed, (size_t)TQ * CV);
    free(x);
    free(d);
    free(acc[0]);
    free(acc[1]);
}

static void test_dw_kernel(void **state)
{
    (void)state;
    dw_case(1, 1, 8, CV, 0, 0);
    dw_case(3, 4, 8, CV, 0, 40);        /* Winograd's: xpix 8, rows of tiles */
    dw_case(2, 7, 8, 2 * CV, 1, 300);   /* the second group of 64 output channels */
    dw_case(4, 5, 16, 3 * CV, 2, 500);  /* direct, stride 2: xpix 16 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tile_kernel),
        cmocka_unit_test(test_dw_kernel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
