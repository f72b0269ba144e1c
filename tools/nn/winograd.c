/* winograd.c - 3x3, stride-1, pad-1 convolution by Winograd's F(4x4, 3x3).
 *
 * Each 4x4 output tile comes from a 6x6 input tile (Lavin & Gray 2016):
 *     Y = A^T [ U (.) V ] A,   U = G g G^T (per filter),   V = B^T d B (per tile),
 * so the 9*16 = 144 multiplies of direct convolution per tile become 36: in
 * the transformed domain, each of the 36 positions xi is one GEMM
 *     M[xi] (cout x T) = U[xi] (cout x cin) * V[xi] (cin x T)     (T = tiles).
 * The backward pass is the exact transpose of this linear map (no second
 * algorithm, no flipped kernels): with dM = A dY A^T per tile,
 *     dU[xi] = dM[xi] * V[xi]^T,   dg = G^T dU G,
 *     dV[xi] = U[xi]^T * dM[xi],   dd = B dV B^T  (added into the overlapping
 *                                                  6x6 input tiles).
 * The interpolation points are 0, +-1, +-2 (the usual ones):
 *   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0;
 *          0 4 0 -5 0 1],
 *   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1],
 *   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
 * Their rounding is larger than direct convolution's (a few units in 1e-6 of
 * the output's scale; tests/unit/test_layers.c bounds it against the
 * double-precision definition, tests/torch checks whole training runs).
 *
 * The 36 products of a chunk run side by side, one thread each, handed out one
 * at a time as threads come free (on a 2-core Zen 3 ResNet-18 trained about 10%
 * faster than with 18 fixed ones per thread; each product writes only its own
 * output, so the bits do not depend on which thread runs it), by our own GEMM
 * (sgemm.h: AVX-512 where the CPU has it, 1.2-1.8x OpenBLAS's Haswell kernels at
 * these shapes on the 2-core Zen 5; AVX2 elsewhere, 0.6-1.05x OpenBLAS's Zen
 * kernels on a 2-core Zen 3 (`bench_train --gemms 1`); its sums are sequential
 * fused multiply-adds, so the result does not depend on the thread count or the
 * vector width).
 *
 * Layouts: x [cin][N][H][W], y [cout][N][H][W], plain or blocked (layers.h; x
 * and y alike), w [cout][cin][3][3] (PyTorch's).
 * Filters: u and du [36][cout][cin]; per chunk of nc images, with T = nc*TH*TW
 * tiles (TH = ceil(H/4)) numbered (block of 16 images, tile, image), two buffers
 * in col: [36][cin][T] (V, then dV) and [36][cout][T] (M or dM). */
#include <string.h>
#include <immintrin.h>
#include "clones.h"
#include "layers.h"
#include "sgemm.h"
#include "threads.h"

#define WINO_MAXW 32                    /* the stack planes below are sized for it */

int wino_applies(const conv_geom *g)
{
    return g->k == 3 && g->stride == 1 && g->pad == 1 && g->cin >= 16 && g->h <= WINO_MAXW &&
           g->w <= WINO_MAXW;
}

static size_t tiles(const conv_geom *g) { return (size_t)((g->h + 3) / 4) * ((g->w + 3) / 4); }

static size_t u_plane(const conv_geom *g) { return (size_t)g->cout * g->cin; }

size_t wino_u_floats(const conv_geom *g) { return 36 * u_plane(g); }

/* du, then a block of op(B) for each of the 36 weight-gradient products */
size_t wino_scratch_floats(const conv_geom *g)
{
    return wino_u_floats(g) + (size_t)36 * FE_SGEMM_PACK_FLOATS;
}

size_t wino_col_floats(const conv_geom *g, int chunk)
{
    return (size_t)36 * tiles(g) * (size_t)(g->cin + g->cout) * (size_t)chunk;
}

/* Whole blocks of 16 images (the blocked layout needs them; in the plain one
 * they keep the two layouts' sums alike, bit for bit). */
static int wino_chunk(const conv_geom *g, size_t col_cap)
{
    size_t per = wino_col_floats(g, 1), c = col_cap / per;
    c = c < 1 ? 1 : (c > 1 << 20 ? 1 << 20 : c);
    return (int)(c >= FE_NB ? c & ~(size_t)(FE_NB - 1) : c);
}

/* The three 1-D transforms and their transposes, on 6 (or 4, 3) values.
 * Written out so that no product with a zero coefficient is ever formed. */
#define BT6(o, x)  do {                                                        \
        o##0 = 4.0f * x##0 - 5.0f * x##2 + x##4;                               \
        o##1 = x##3 + x##4 - 4.0f * (x##1 + x##2);                             \
        o##2 = x##4 - x##3 + 4.0f * (x##1 - x##2);                             \
        o##3 = x##4 - x##2 + 2.0f * (x##3 - x##1);                             \
        o##4 = x##4 - x##2 + 2.0f * (x##1 - x##3);                             \
        o##5 = 4.0f * x##1 - 5.0f * x##3 + x##5;                               \
    } while (0)
#define B6(o, x)  do {                                                         \
        o##0 = 4.0f * x##0;                                                    \
        o##1 = 4.0f * (x##2 - x##1 + x##5) + 2.0f * (x##4 - x##3);             \
        o##2 = -5.0f * x##0 - 4.0f * (x##1 + x##2) - x##3 - x##4;              \
        o##3 = x##1 - x##2 + 2.0f * (x##3 - x##4) - 5.0f * x##5;               \
        o##4 = x##0 + x##1 + x##2 + x##3 + x##4;                               \
        o##5 = x##5;                                                           \
    } while (0)
#define AT6(o, x)  do {                                                        \
        o##0 = x##0 + x##1 + x##2 + x##3 + x##4;                               \
        o##1 = x##1 - x##2 + 2.0f * (x##3 - x##4);                             \
        o##2 = x##1 + x##2 + 4.0f * (x##3 + x##4);                             \
        o##3 = x##1 - x##2 + 8.0f * (x##3 - x##4) + x##5;                      \
    } while (0)
#define A4(o, x)  do {                                                         \
        o##0 = x##0;                                                           \
        o##1 = x##0 + x##1 + x##2 + x##3;                                      \
        o##2 = x##0 - x##1 + x##2 - x##3;                                      \
        o##3 = x##0 + 2.0f * x##1 + 4.0f * x##2 + 8.0f * x##3;                 \
        o##4 = x##0 - 2.0f * x##1 + 4.0f * x##2 - 8.0f * x##3;                 \
        o##5 = x##3;                                                           \
    } while (0)
#define R6  (1.0f / 6.0f)
#define R12 (1.0f / 12.0f)
#define R24 (1.0f / 24.0f)
#define G3(o, x)  do {                                                         \
        o##0 = 0.25f * x##0;                                                   \
        o##1 = -R6 * (x##0 + x##1 + x##2);                                     \
        o##2 = -R6 * (x##0 - x##1 + x##2);                                     \
        o##3 = R24 * x##0 + R12 * x##1 + R6 * x##2;                            \
        o##4 = R24 * x##0 - R12 * x##1 + R6 * x##2;                            \
        o##5 = x##2;                                                           \
    } while (0)
#define GT6(o, x)  do {                                                        \
        o##0 = 0.25f * x##0 - R6 * (x##1 + x##2) + R24 * (x##3 + x##4);        \
        o##1 = R6 * (x##2 - x##1) + R12 * (x##3 - x##4);                       \
        o##2 = R6 * (x##3 + x##4 - x##1 - x##2) + x##5;                        \
    } while (0)

/* The filter transforms run on WL = 16 input channels of one filter at once,
 * one channel per vector lane: w's 16 consecutive 3x3 kernels are transposed
 * into k[9][WL] on the stack, and each of the 36 transformed values of the 16
 * channels is one contiguous store into u (or load from du).  The same
 * arithmetic per lane as one channel at a time: the results do not depend on
 * the vector width. */
#define WL 16

/* U = G g G^T for filter co (w points at its kernels), input channels
 * [c0, c0+nl): value xi of channel c0 + l into u[xi * pl + l]. */
FE_CLONES
static void filter_block(const float *w, int c0, int nl, size_t pl, float *u)
{
    float k[9][WL] = {{0}}, t[6][3][WL], o[36][WL];
    for (int l = 0; l < nl; l++)
        for (int i = 0; i < 9; i++)
            k[i][l] = w[(size_t)(c0 + l) * 9 + i];
    for (int c = 0; c < 3; c++)          /* G g: along the kernel's rows */
        for (int l = 0; l < WL; l++) {
            const float x0 = k[c][l], x1 = k[3 + c][l], x2 = k[6 + c][l];
            float o0, o1, o2, o3, o4, o5;
            G3(o, x);
            t[0][c][l] = o0; t[1][c][l] = o1; t[2][c][l] = o2;
            t[3][c][l] = o3; t[4][c][l] = o4; t[5][c][l] = o5;
        }
    for (int r = 0; r < 6; r++)          /* (G g) G^T: along its columns */
        for (int l = 0; l < WL; l++) {
            const float x0 = t[r][0][l], x1 = t[r][1][l], x2 = t[r][2][l];
            float y0, y1, y2, y3, y4, y5;
            G3(y, x);
            o[r * 6 + 0][l] = y0; o[r * 6 + 1][l] = y1; o[r * 6 + 2][l] = y2;
            o[r * 6 + 3][l] = y3; o[r * 6 + 4][l] = y4; o[r * 6 + 5][l] = y5;
        }
    for (int xi = 0; xi < 36; xi++)         /* a whole vector when nl == WL */
        if (nl == WL)
            for (int l = 0; l < WL; l++)
                u[xi * pl + l] = o[xi][l];
        else
            for (int l = 0; l < nl; l++)
                u[xi * pl + l] = o[xi][l];
}

/* dw = G^T dU G (the transpose of filter_block) for filter co, input channels
 * [c0, c0+nl); du points at du[0][co][0]. */
FE_CLONES
static void filter_grad_block(const float *du, int c0, int nl, size_t pl, float *dw)
{
    float in[36][WL] = {{0}}, t[3][6][WL], k[9][WL];
    for (int xi = 0; xi < 36; xi++)
        if (nl == WL)
            for (int l = 0; l < WL; l++)
                in[xi][l] = du[xi * pl + c0 + l];
        else
            for (int l = 0; l < nl; l++)
                in[xi][l] = du[xi * pl + c0 + l];
    for (int c = 0; c < 6; c++)          /* G^T X: rows */
        for (int l = 0; l < WL; l++) {
            const float x0 = in[c][l], x1 = in[6 + c][l], x2 = in[12 + c][l];
            const float x3 = in[18 + c][l], x4 = in[24 + c][l], x5 = in[30 + c][l];
            float o0, o1, o2;
            GT6(o, x);
            t[0][c][l] = o0; t[1][c][l] = o1; t[2][c][l] = o2;
        }
    for (int r = 0; r < 3; r++)          /* (G^T X) G: columns */
        for (int l = 0; l < WL; l++) {
            const float x0 = t[r][0][l], x1 = t[r][1][l], x2 = t[r][2][l], x3 = t[r][3][l];
            const float x4 = t[r][4][l], x5 = t[r][5][l];
            float o0, o1, o2;
            GT6(o, x);
            k[r * 3 + 0][l] = o0; k[r * 3 + 1][l] = o1; k[r * 3 + 2][l] = o2;
        }
    for (int l = 0; l < nl; l++)
        for (int i = 0; i < 9; i++)
            dw[(size_t)(c0 + l) * 9 + i] = k[i][l];
}

void wino_filters(const conv_geom *g, const float *w, float *u)
{
    const int co_n = g->cout, ci_n = g->cin, nb = (ci_n + WL - 1) / WL;
    const size_t pl = u_plane(g);
    #pragma omp parallel for collapse(2) schedule(static)
    for (int co = 0; co < co_n; co++)
        for (int b = 0; b < nb; b++) {
            const int c0 = b * WL, nl = ci_n - c0 < WL ? ci_n - c0 : WL;
            filter_block(w + (size_t)co * ci_n * 9, c0, nl, pl, u + (size_t)co * ci_n + c0);
        }
}

static void weight_grad_transform(const conv_geom *g, const float *du, float *dw)
{
    const int co_n = g->cout, ci_n = g->cin, nb = (ci_n + WL - 1) / WL;
    const size_t pl = u_plane(g);
    #pragma omp parallel for collapse(2) schedule(static)
    for (int co = 0; co < co_n; co++)
        for (int b = 0; b < nb; b++) {
            const int c0 = b * WL, nl = ci_n - c0 < WL ? ci_n - c0 : WL;
            filter_grad_block(du + (size_t)co * ci_n, c0, nl, pl, dw + (size_t)co * ci_n * 9);
        }
}

/* The transforms run on L = 16 images of one channel at once, one image per
 * vector lane: the tiles of a block of images j0 .. j0+jb-1 are numbered
 * t = j0 * tiles + (tile row * TW + tile column) * jb + (image - j0), so the
 * block's values of one tile position are adjacent in V and M and its tiles
 * follow one another.  (On
 * ResNet-18's 7x7 and 4x4 maps a row holds only 2 or 1 tiles: vectorising over
 * tiles would leave the lanes empty.)  Each block of images is first copied,
 * transposed, into a zero-padded [row][column][lane] plane on the stack; in
 * the blocked layout (layers.h) a block is already [row][column][lane], and
 * the copy moves whole vectors.  The block functions exist in several copies
 * (clones.h). */
#define L 16

/* A block of jb <= 16 images of one channel: the images' planes (p[l], the
 * plain layout), or the block's [H][W][jb] floats (b, the blocked layout). */
typedef struct {
    const float *p[L];
    const float *b;
} blk16;
#define PMAX (WINO_MAXW + 6)            /* padded plane side: 4 * ceil(32/4) + 2 */

/* n <= L floats; a whole vector in one go when n == L (no call to memcpy). */
#define COPY_LANES(dst, src, n) do {                                           \
        float *restrict d_ = (dst);                                            \
        const float *restrict s_ = (src);                                      \
        if ((n) == L)                                                          \
            for (int l_ = 0; l_ < L; l_++)                                     \
                d_[l_] = s_[l_];                                               \
        else                                                                   \
            for (int l_ = 0; l_ < (n); l_++)                                   \
                d_[l_] = s_[l_];                                               \
    } while (0)

/* Moving a block of 16 images between [image][row][column] planes and the
 * [row][column][lane] planes of the transforms is a 16 x 16 transpose per 16
 * columns: with AVX-512 in registers (unpacks and shuffles), else one float at
 * a time.  Data movement only: the same bits either way. */
static int have_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

__attribute__((target("avx512f")))
static inline void transpose16(__m512 r[16])
{
    __m512 t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xee);
        r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xee);
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[4 + i], 0x88);
        t[4 + i] = _mm512_shuffle_f32x4(r[i], r[4 + i], 0xdd);
        t[8 + i] = _mm512_shuffle_f32x4(r[8 + i], r[12 + i], 0x88);
        t[12 + i] = _mm512_shuffle_f32x4(r[8 + i], r[12 + i], 0xdd);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
        r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xdd);
        r[4 + i] = _mm512_shuffle_f32x4(t[4 + i], t[12 + i], 0x88);
        r[12 + i] = _mm512_shuffle_f32x4(t[4 + i], t[12 + i], 0xdd);
    }
}

/* E[r - r0 + dr][q + dq][l] = src[l][r * W + q] for r0 <= r < r1, q < W, l < 16. */
__attribute__((target("avx512f"), noinline))
static void gather16(int r0, int r1, int W, const float *const *src, int dr, int dq,
                     float (*E)[PMAX][L])
{
    for (int r = r0; r < r1; r++)
        for (int q0 = 0; q0 < W; q0 += 16) {
            const int nq = W - q0 < 16 ? W - q0 : 16;
            const __mmask16 k = (__mmask16)((1u << nq) - 1);
            __m512 v[16];
            for (int l = 0; l < 16; l++)
                v[l] = _mm512_maskz_loadu_ps(k, src[l] + (size_t)r * W + q0);
            transpose16(v);
            for (int j = 0; j < nq; j++)
                _mm512_storeu_ps(E[r - r0 + dr][q0 + j + dq], v[j]);
        }
}

/* dst[l][r * W + q] = A[r - r0 + dr][q + dq][l] (+ dst[l][r * W + q] when add)
 * for r0 <= r < r1, q < W, then 0 where mask[l][r * W + q] <= 0 when mask is
 * set: gin_block's and out_block's last loops. */
__attribute__((target("avx512f"), noinline))
static void scatter16(int r0, int r1, int W, float (*A)[PMAX][L], int dr, int dq,
                      float *const *dst, int add, const float *const *mask)
{
    const __m512 zero = _mm512_setzero_ps();
    for (int r = r0; r < r1; r++)
        for (int q0 = 0; q0 < W; q0 += 16) {
            const int nq = W - q0 < 16 ? W - q0 : 16;
            const __mmask16 k = (__mmask16)((1u << nq) - 1);
            __m512 v[16];
            for (int j = 0; j < 16; j++)
                v[j] = j < nq ? _mm512_loadu_ps(A[r - r0 + dr][q0 + j + dq]) : zero;
            transpose16(v);
            for (int l = 0; l < 16; l++) {
                float *row = dst[l] + (size_t)r * W + q0;
                __m512 x = add ? _mm512_add_ps(v[l], _mm512_maskz_loadu_ps(k, row)) : v[l];
                if (mask) {
                    const __m512 m = _mm512_maskz_loadu_ps(k, mask[l] + (size_t)r * W + q0);
                    x = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(m, zero, _CMP_GT_OQ), x);
                }
                _mm512_mask_storeu_ps(row, k, x);
            }
        }
}

/* E[r - r0 + dr][q + dq][l] = image l's (r, q) for r0 <= r < r1, q < W, l < jb. */
static inline void get_rows(int r0, int r1, int W, const blk16 *src, int jb, int dr, int dq,
                            float (*E)[PMAX][L])
{
    if (src->b) {
        for (int r = r0; r < r1; r++)
            for (int q = 0; q < W; q++)
                COPY_LANES(E[r - r0 + dr][q + dq], src->b + ((size_t)r * W + q) * jb, jb);
        return;
    }
    if (jb == L && have_avx512()) {
        gather16(r0, r1, W, src->p, dr, dq, E);
        return;
    }
    for (int l = 0; l < jb; l++)
        for (int r = r0; r < r1; r++)
            for (int q = 0; q < W; q++)
                E[r - r0 + dr][q + dq][l] = src->p[l][(size_t)r * W + q];
}

/* put_rows for a whole block of 16 images in the blocked layout: one vector a pixel. */
__attribute__((target("avx512f"), noinline))
static void put16_blocked(int r0, int r1, int W, float (*A)[PMAX][L], int dr, int dq, float *d,
                          int add, const float *mask)
{
    const __m512 zero = _mm512_setzero_ps();
    for (int r = r0; r < r1; r++)
        for (int q = 0; q < W; q++) {
            const size_t o = ((size_t)r * W + q) * L;
            __m512 v = _mm512_loadu_ps(A[r - r0 + dr][q + dq]);
            if (add)
                v = _mm512_add_ps(v, _mm512_loadu_ps(d + o));
            if (mask)
                v = _mm512_maskz_mov_ps(
                    _mm512_cmp_ps_mask(_mm512_loadu_ps(mask + o), zero, _CMP_GT_OQ), v);
            _mm512_storeu_ps(d + o, v);
        }
}

/* The same with AVX2, two vectors a pixel: on a CPU without AVX-512 the
 * scalar loop below (built for baseline x86-64, as put_rows is not cloned) took
 * 16% of layer1's input-gradient pass on a 2-core Zen 3 (perf).  Where the
 * mask is not > 0, the and with the comparison gives +0, as the others do. */
__attribute__((target("avx2"), noinline))
static void put16_blocked_avx2(int r0, int r1, int W, float (*A)[PMAX][L], int dr, int dq,
                               float *d, int add, const float *mask)
{
    const __m256 zero = _mm256_setzero_ps();
    for (int r = r0; r < r1; r++)
        for (int q = 0; q < W; q++)
            for (int h = 0; h < L; h += 8) {
                const size_t o = ((size_t)r * W + q) * L + h;
                __m256 v = _mm256_loadu_ps(A[r - r0 + dr][q + dq] + h);
                if (add)
                    v = _mm256_add_ps(v, _mm256_loadu_ps(d + o));
                if (mask)
                    v = _mm256_and_ps(v, _mm256_cmp_ps(_mm256_loadu_ps(mask + o), zero,
                                                       _CMP_GT_OQ));
                _mm256_storeu_ps(d + o, v);
            }
}

static int have_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}

/* image l's (r, q) = A[r - r0 + dr][q + dq][l] (+ its value when add) for r0 <= r < r1,
 * q < W, l < jb, then 0 where mask's (r, q) <= 0 when mask is set. */
static inline void put_rows(int r0, int r1, int W, float (*A)[PMAX][L], int dr, int dq,
                            const blk16 *dst, int jb, int add, const blk16 *mask)
{
    if (dst->b && jb == L && have_avx512()) {
        put16_blocked(r0, r1, W, A, dr, dq, (float *)dst->b, add, mask ? mask->b : NULL);
        return;
    }
    if (dst->b && jb == L && have_avx2()) {
        put16_blocked_avx2(r0, r1, W, A, dr, dq, (float *)dst->b, add, mask ? mask->b : NULL);
        return;
    }
    if (dst->b) {
        float *d = (float *)dst->b;
        for (int r = r0; r < r1; r++)
            for (int q = 0; q < W; q++) {
                const size_t o = ((size_t)r * W + q) * jb;
                const float *a = A[r - r0 + dr][q + dq];
                const float *mk = mask ? mask->b + o : NULL;
                for (int l = 0; l < jb; l++) {
                    const float v = add ? a[l] + d[o + l] : a[l];
                    d[o + l] = mk && !(mk[l] > 0.0f) ? 0.0f : v;
                }
            }
        return;
    }
    if (jb == L && have_avx512()) {
        scatter16(r0, r1, W, A, dr, dq, (float *const *)dst->p, add, mask ? mask->p : NULL);
        return;
    }
    for (int l = 0; l < jb; l++)
        for (int r = r0; r < r1; r++) {
            float *row = (float *)dst->p[l] + (size_t)r * W;
            const float *mk = mask ? mask->p[l] + (size_t)r * W : NULL;
            for (int q = 0; q < W; q++) {
                const float v = add ? A[r - r0 + dr][q + dq][l] + row[q] : A[r - r0 + dr][q + dq][l];
                row[q] = mk && !(mk[q] > 0.0f) ? 0.0f : v;
            }
        }
}

/* Zero E[r][q][*] outside rows [r0, r1) and columns [q0, q1) of an R x Q plane:
 * the border only, the inside is about to be written.  When some lanes carry no
 * image (jb < L) the whole plane is zeroed, so they hold zeros, not stale stack. */
static inline void zero_border(float (*E)[PMAX][L], int R, int Q, int r0, int r1, int q0, int q1,
                               int jb)
{
    for (int r = 0; r < R; r++)
        if (jb < L || r < r0 || r >= r1)
            memset(E[r], 0, sizeof(float) * L * Q);
        else {
            memset(E[r], 0, sizeof(float) * L * q0);
            memset(E[r][q1], 0, sizeof(float) * L * (Q - q1));
        }
}

/* P[r][q][l] = image l's padded input (row p0 + r - 1, column q - 1) for the
 * padded rows [p0, p1) of tile rows [ty0, ty1) (p0 = 4 ty0, p1 = 4 ty1 + 2),
 * zero outside the image. */
static inline void load_planes(int H, int W, int p0, int p1, int WP, const blk16 *src, int jb,
                               float (*P)[PMAX][L])
{
    const int r0 = p0 - 1 > 0 ? p0 - 1 : 0, r1 = p1 - 1 < H ? p1 - 1 : H;  /* input rows */
    zero_border(P, p1 - p0, WP, r0 + 1 - p0, r1 + 1 - p0, 1, W + 1, jb);
    get_rows(r0, r1, W, src, jb, r0 + 1 - p0, 1, P);
}

/* V for tile rows [ty0, ty1) of a block of jb images (one channel); tile
 * (ty, tx) goes to v + ((ty - ty0) * TW + tx) * jb, position xi at + xi * pl. */
FE_CLONES
static void in_block(int H, int W, int ty0, int ty1, int TW, const blk16 *src, int jb, size_t pl,
                     float *v)
{
    float P[PMAX][PMAX][L];
    load_planes(H, W, 4 * ty0, 4 * ty1 + 2, 4 * TW + 2, src, jb, P);
    for (int ty = 0; ty < ty1 - ty0; ty++)
        for (int tx = 0; tx < TW; tx++) {
            float t[6][6][L], o[36][L];
            for (int k = 0; k < 6; k++)        /* B^T d: down each column of the tile */
                for (int l = 0; l < L; l++) {
                    const float x0 = P[4 * ty][4 * tx + k][l], x1 = P[4 * ty + 1][4 * tx + k][l];
                    const float x2 = P[4 * ty + 2][4 * tx + k][l], x3 = P[4 * ty + 3][4 * tx + k][l];
                    const float x4 = P[4 * ty + 4][4 * tx + k][l], x5 = P[4 * ty + 5][4 * tx + k][l];
                    float o0, o1, o2, o3, o4, o5;
                    BT6(o, x);
                    t[0][k][l] = o0; t[1][k][l] = o1; t[2][k][l] = o2;
                    t[3][k][l] = o3; t[4][k][l] = o4; t[5][k][l] = o5;
                }
            for (int r = 0; r < 6; r++)        /* (B^T d) B: along each row */
                for (int l = 0; l < L; l++) {
                    const float x0 = t[r][0][l], x1 = t[r][1][l], x2 = t[r][2][l];
                    const float x3 = t[r][3][l], x4 = t[r][4][l], x5 = t[r][5][l];
                    float o0, o1, o2, o3, o4, o5;
                    BT6(o, x);
                    o[r * 6 + 0][l] = o0; o[r * 6 + 1][l] = o1; o[r * 6 + 2][l] = o2;
                    o[r * 6 + 3][l] = o3; o[r * 6 + 4][l] = o4; o[r * 6 + 5][l] = o5;
                }
            float *dst = v + ((size_t)ty * TW + tx) * jb;
            for (int xi = 0; xi < 36; xi++)
                COPY_LANES(dst + xi * pl, o[xi], jb);
        }
}

/* y = A^T M A for tile rows [ty0, ty1) of a block of jb images (one channel);
 * tile (ty, tx) is read from m + ((ty - ty0) * TW + tx) * jb. */
FE_CLONES
static void out_block(int H, int W, int ty0, int ty1, int TW, const float *m, size_t pl, int jb,
                      const blk16 *dst)
{
    float Y[PMAX][PMAX][L];                    /* [row - 4 ty0][column][lane] */
    for (int ty = ty0; ty < ty1; ty++)
        for (int tx = 0; tx < TW; tx++) {
            float in[36][L], s[4][6][L];
            if (jb < L)                        /* lanes without an image: zeros */
                memset(in, 0, sizeof in);
            const float *src = m + ((size_t)(ty - ty0) * TW + tx) * jb;
            for (int xi = 0; xi < 36; xi++)
                COPY_LANES(in[xi], src + xi * pl, jb);
            for (int q = 0; q < 6; q++)        /* A^T M: down each column */
                for (int l = 0; l < L; l++) {
                    const float x0 = in[q][l], x1 = in[6 + q][l], x2 = in[12 + q][l];
                    const float x3 = in[18 + q][l], x4 = in[24 + q][l], x5 = in[30 + q][l];
                    float o0, o1, o2, o3;
                    AT6(o, x);
                    s[0][q][l] = o0; s[1][q][l] = o1; s[2][q][l] = o2; s[3][q][l] = o3;
                }
            for (int r = 0; r < 4; r++)        /* (A^T M) A: along each row */
                for (int l = 0; l < L; l++) {
                    const float x0 = s[r][0][l], x1 = s[r][1][l], x2 = s[r][2][l];
                    const float x3 = s[r][3][l], x4 = s[r][4][l], x5 = s[r][5][l];
                    float o0, o1, o2, o3;
                    AT6(o, x);
                    float *y = Y[4 * (ty - ty0) + r][4 * tx];
                    y[0 * L + l] = o0; y[1 * L + l] = o1; y[2 * L + l] = o2; y[3 * L + l] = o3;
                }
        }
    const int r1 = H < 4 * ty1 ? H : 4 * ty1;
    put_rows(4 * ty0, r1, W, Y, 0, 0, dst, jb, 0, NULL);
}

FE_CLONES
static void gout_block(int H, int W, int TH, int TW, const blk16 *src, int jb, size_t pl,
                       float *dm)
{
    float E[PMAX][PMAX][L];                    /* dy, zero past the map's edge */
    zero_border(E, 4 * TH, 4 * TW, 0, H, 0, W, jb);
    get_rows(0, H, W, src, jb, 0, 0, E);
    for (int ty = 0; ty < TH; ty++)
        for (int tx = 0; tx < TW; tx++) {
            float t[6][4][L], o[36][L];
            for (int k = 0; k < 4; k++)        /* A dY: down each column */
                for (int l = 0; l < L; l++) {
                    const float x0 = E[4 * ty][4 * tx + k][l], x1 = E[4 * ty + 1][4 * tx + k][l];
                    const float x2 = E[4 * ty + 2][4 * tx + k][l], x3 = E[4 * ty + 3][4 * tx + k][l];
                    float o0, o1, o2, o3, o4, o5;
                    A4(o, x);
                    t[0][k][l] = o0; t[1][k][l] = o1; t[2][k][l] = o2;
                    t[3][k][l] = o3; t[4][k][l] = o4; t[5][k][l] = o5;
                }
            for (int r = 0; r < 6; r++)        /* (A dY) A^T: along each row */
                for (int l = 0; l < L; l++) {
                    const float x0 = t[r][0][l], x1 = t[r][1][l], x2 = t[r][2][l], x3 = t[r][3][l];
                    float o0, o1, o2, o3, o4, o5;
                    A4(o, x);
                    o[r * 6 + 0][l] = o0; o[r * 6 + 1][l] = o1; o[r * 6 + 2][l] = o2;
                    o[r * 6 + 3][l] = o3; o[r * 6 + 4][l] = o4; o[r * 6 + 5][l] = o5;
                }
            float *dst = dm + ((size_t)ty * TW + tx) * jb;
            for (int xi = 0; xi < 36; xi++)
                COPY_LANES(dst + xi * pl, o[xi], jb);
        }
}

/* dx (+)= B dV B^T, then dx = 0 where mask <= 0 when mask is set.  The padded
 * plane of sums ([0][0] = input (-1, -1)) is kept as a window of the 6 rows of
 * one tile row, so that it stays in L1: its first 4 rows are complete once the
 * tile row is added in and go out to dx, the 2 it shares with the next tile row
 * move up.  Each sum gets its terms in the same order as in a whole plane. */
FE_CLONES
static void gin_block(int H, int W, int TH, int TW, const float *dv, size_t pl, int jb,
                      const blk16 *dst, int add, const blk16 *mask)
{
    float A[6][PMAX][L];                       /* plane rows 4 ty .. 4 ty + 5 */
    const size_t row = sizeof(float) * L * (4 * TW + 2);
    for (int ty = 0; ty < TH; ty++) {
        for (int r = 0; r < 2; r++)
            if (ty == 0)
                memset(A[r], 0, row);
            else
                memcpy(A[r], A[4 + r], row);
        for (int r = 2; r < 6; r++)
            memset(A[r], 0, row);
        for (int tx = 0; tx < TW; tx++) {
            float in[36][L], t[6][6][L];
            if (jb < L)
                memset(in, 0, sizeof in);
            const float *src = dv + ((size_t)ty * TW + tx) * jb;
            for (int xi = 0; xi < 36; xi++)
                COPY_LANES(in[xi], src + xi * pl, jb);
            for (int q = 0; q < 6; q++)        /* B dV: down each column */
                for (int l = 0; l < L; l++) {
                    const float x0 = in[q][l], x1 = in[6 + q][l], x2 = in[12 + q][l];
                    const float x3 = in[18 + q][l], x4 = in[24 + q][l], x5 = in[30 + q][l];
                    float o0, o1, o2, o3, o4, o5;
                    B6(o, x);
                    t[0][q][l] = o0; t[1][q][l] = o1; t[2][q][l] = o2;
                    t[3][q][l] = o3; t[4][q][l] = o4; t[5][q][l] = o5;
                }
            for (int r = 0; r < 6; r++)        /* (B dV) B^T: along each row, added in */
                for (int l = 0; l < L; l++) {
                    const float x0 = t[r][0][l], x1 = t[r][1][l], x2 = t[r][2][l];
                    const float x3 = t[r][3][l], x4 = t[r][4][l], x5 = t[r][5][l];
                    float o0, o1, o2, o3, o4, o5;
                    B6(o, x);
                    float *a = A[r][4 * tx];
                    a[0 * L + l] += o0; a[1 * L + l] += o1; a[2 * L + l] += o2;
                    a[3 * L + l] += o3; a[4 * L + l] += o4; a[5 * L + l] += o5;
                }
        }
        /* window rows 0..3: input rows 4 ty - 1 .. 4 ty + 2 */
        const int r0 = 4 * ty - 1 > 0 ? 4 * ty - 1 : 0, r1 = 4 * ty + 3 < H ? 4 * ty + 3 : H;
        if (r0 < r1)
            put_rows(r0, r1, W, A, r0 - (4 * ty - 1), 1, dst, jb, add, mask);
    }
    /* the last tile row's rows 4 and 5: input rows 4 TH - 1 and 4 TH */
    const int r0 = 4 * TH - 1, r1 = 4 * TH + 1 < H ? 4 * TH + 1 : H;
    if (r0 < r1)
        put_rows(r0, r1, W, A, 4, 1, dst, jb, add, mask);
}

/* Channel c of images n0+j0 .. n0+j0+jb-1 (n0 + j0 a multiple of 16), in either layout. */
static void planes(const float *base, int blk, int c, int n_total, int n0, int j0, int jb,
                   size_t hw, blk16 *p)
{
    p->b = blk ? base + ((size_t)c * n_total + n0 + j0) * hw : NULL;
    for (int l = 0; l < jb && !blk; l++)
        p->p[l] = base + ((size_t)c * n_total + n0 + j0 + l) * hw;
}

/* V = B^T d B for the tiles of images [n0, n0+nc) of x (c channels; blocked:
 * blk), into v[36][c][T]. */
static void input_transform(int c_n, int H, int W, int n_total, int n0, int nc, int blk,
                            const float *x, float *v)
{
    const int TH = (H + 3) / 4, TW = (W + 3) / 4, nb = (nc + L - 1) / L;
    const size_t T = (size_t)nc * TH * TW, pl = (size_t)c_n * T;
    #pragma omp parallel for collapse(2) schedule(static)
    for (int c = 0; c < c_n; c++)
        for (int b = 0; b < nb; b++) {
            const int j0 = b * L, jb = nc - j0 < L ? nc - j0 : L;
            blk16 src;
            planes(x, blk, c, n_total, n0, j0, jb, (size_t)H * W, &src);
            in_block(H, W, 0, TH, TW, &src, jb, pl, v + (size_t)c * T + (size_t)j0 * TH * TW);
        }
}

/* y = A^T M A for every tile, m[36][c][T] -> y (c channels). */
static void output_transform(int c_n, int H, int W, int n_total, int n0, int nc, int blk,
                             const float *m, float *y)
{
    const int TH = (H + 3) / 4, TW = (W + 3) / 4, nb = (nc + L - 1) / L;
    const size_t T = (size_t)nc * TH * TW, pl = (size_t)c_n * T;
    #pragma omp parallel for collapse(2) schedule(static)
    for (int c = 0; c < c_n; c++)
        for (int b = 0; b < nb; b++) {
            const int j0 = b * L, jb = nc - j0 < L ? nc - j0 : L;
            blk16 dst;
            planes(y, blk, c, n_total, n0, j0, jb, (size_t)H * W, &dst);
            out_block(H, W, 0, TH, TW, m + (size_t)c * T + (size_t)j0 * TH * TW, pl, jb, &dst);
        }
}

/* dM = A dY A^T for every tile of dy (c channels), into dm[36][c][T]; outputs
 * past the edge of the map (when H or W is not a multiple of 4) count as zero. */
static void grad_output_transform(int c_n, int H, int W, int n_total, int n0, int nc, int blk,
                                  const float *dy, float *dm)
{
    const int TH = (H + 3) / 4, TW = (W + 3) / 4, nb = (nc + L - 1) / L;
    const size_t T = (size_t)nc * TH * TW, pl = (size_t)c_n * T;
    #pragma omp parallel for collapse(2) schedule(static)
    for (int c = 0; c < c_n; c++)
        for (int b = 0; b < nb; b++) {
            const int j0 = b * L, jb = nc - j0 < L ? nc - j0 : L;
            blk16 src;
            planes(dy, blk, c, n_total, n0, j0, jb, (size_t)H * W, &src);
            gout_block(H, W, TH, TW, &src, jb, pl, dm + (size_t)c * T + (size_t)j0 * TH * TW);
        }
}

/* dx (+)= B dV B^T over the overlapping 6x6 input tiles, dv[36][c][T]; then,
 * when mask is set, dx = 0 wherever mask <= 0 (a ReLU's backward, fused). */
static void grad_input_transform(int c_n, int H, int W, int n_total, int n0, int nc, int blk,
                                 const float *dv, float *dx, int add, const float *mask)
{
    const int TH = (H + 3) / 4, TW = (W + 3) / 4, nb = (nc + L - 1) / L;
    const size_t T = (size_t)nc * TH * TW, pl = (size_t)c_n * T;
    #pragma omp parallel for collapse(2) schedule(static)
    for (int c = 0; c < c_n; c++)
        for (int b = 0; b < nb; b++) {
            const int j0 = b * L, jb = nc - j0 < L ? nc - j0 : L;
            blk16 d, mk;
            planes(dx, blk, c, n_total, n0, j0, jb, (size_t)H * W, &d);
            if (mask)
                planes(mask, blk, c, n_total, n0, j0, jb, (size_t)H * W, &mk);
            gin_block(H, W, TH, TW, dv + (size_t)c * T + (size_t)j0 * TH * TW, pl, jb, &d, add,
                      mask ? &mk : NULL);
        }
}

/* The fused forward pass, for layers whose U is small enough to stay in cache
 * (cin * cout <= FUSE_MAX_U: ResNet-18's layer1 and layer2): each thread takes
 * one tile row of a block of 16 images at a time, transforms its input into V
 * (36 x cin x TW*16, about 1 MiB), runs the 36 products into M and transforms
 * M into y, so V and M never leave the caches for memory.  Every output is
 * the same sum in the same order as the unfused pass (the products' sums run
 * along cin, whatever the number of columns): the same bits. */
#define FUSE_MAX_U ((size_t)128 * 128)

static size_t fused_floats(const conv_geom *g)
{
    return (size_t)36 * (g->cin + g->cout) * (size_t)((g->w + 3) / 4) * L;
}

int wino_fused_applies(const conv_geom *g, size_t col_cap)
{
    return (size_t)g->cin * g->cout <= FUSE_MAX_U &&
           (size_t)omp_get_max_threads() * fused_floats(g) <= col_cap;
}

static void forward_fused(const conv_geom *g, int n, const float *x, const float *u, float *y,
                          float *col)
{
    const int H = g->h, W = g->w, TH = (H + 3) / 4, TW = (W + 3) / 4, nb = (n + L - 1) / L;
    const int ci_n = g->cin, co_n = g->cout;
    #pragma omp parallel
    {
        float *v = col + (size_t)omp_get_thread_num() * fused_floats(g);
        float *m = v + (size_t)36 * ci_n * TW * L;
        #pragma omp for schedule(static)
        for (int blk = 0; blk < nb * TH; blk++) {
            const int j0 = blk / TH * L, ty = blk % TH, jb = n - j0 < L ? n - j0 : L;
            const int nbk = TW * jb;           /* the block's columns: (tile, image) */
            blk16 p;
            for (int c = 0; c < ci_n; c++) {
                planes(x, g->bx, c, n, 0, j0, jb, (size_t)H * W, &p);
                in_block(H, W, ty, ty + 1, TW, &p, jb, (size_t)ci_n * nbk, v + (size_t)c * nbk);
            }
            for (int xi = 0; xi < 36; xi++)
                fe_sgemm(0, 0, co_n, nbk, ci_n, u + xi * u_plane(g), ci_n,
                         v + (size_t)xi * ci_n * nbk, nbk, 0, m + (size_t)xi * co_n * nbk, nbk,
                         NULL);
            for (int c = 0; c < co_n; c++) {
                planes(y, g->by, c, n, 0, j0, jb, (size_t)H * W, &p);
                out_block(H, W, ty, ty + 1, TW, m + (size_t)c * nbk, (size_t)co_n * nbk, jb, &p);
            }
        }
    }
}

/* ---- Small batches: the filter transforms streamed through the products ----
 * At ResNet-18's layer4 with 16 images each product is 512 x 512 x 16: U and
 * dU (36 x cout x cin, 36 MiB each) dwarf the tiles' V and M (1 MiB), and
 * writing U, reading it back, writing dU and reading it back took more time
 * than the products.  Here U and dU never go to memory: each thread transforms
 * the filters of SR output channels into a block of U in its L2 and runs those
 * rows of the 36 products at once; the weight gradient likewise makes SR rows
 * of dU and turns them into dw at once; the input gradient transforms the
 * filters of WL input channels (all cout of them) and runs those columns of U
 * in the products U^T dM.  Each output is the same sum in the same order as in
 * wino_forward and wino_backward (the products' sums run along cin, T or cout
 * in whole FE_SGEMM_KC blocks, whatever rows they have): the same bits.
 * On a 2-core Zen 3, layer4's convolutions (min of 3 runs, `bench_train
 * --layers 1`): at batch 16 forward 5.9 -> 3.5 ms, backward 14.3 -> 8.6 ms; at
 * 32, 7.2 -> 5.8 and 14.0 -> 13.1; at 64 the backward was slower (every block
 * of rows reads all of V, 4.7 MiB there): hence T <= min(cin, cout) / 16.
 * SR = 24: four AVX2 tiles of 6 rows, three AVX-512 tiles of 8 (12, 48 and 6
 * were no faster). */
#define SR 24
/* The blocks' 36 planes lie PLANE_PAD floats more than a plane apart: the
 * filter transform's 36 stores (or loads) a multiple of 4 KiB apart all fall
 * in one set of L1, which holds 8 lines.  Transforming a 512 x 512 layer into
 * blocks of 12 rows, one thread of a Zen 3 (a scratch program, best of 10, noisy
 * machine): 15-17 ns per filter and channel unpadded, 10-12.5 padded.
 * (Padding U itself, 36 MiB there, made wino_filters slower: 21 -> 25 ns.) */
#define PLANE_PAD 16

static size_t streamed_block_floats(const conv_geom *g)
{
    const size_t a = (size_t)SR * g->cin, b = (size_t)WL * g->cout;
    return 36 * ((a > b ? a : b) + PLANE_PAD);
}

int wino_streams_applies(const conv_geom *g, int n, size_t col_cap)
{
    const size_t T = (size_t)n * tiles(g);
    return 16 * T <= (size_t)(g->cin < g->cout ? g->cin : g->cout) &&
           (size_t)36 * (2 * g->cin + g->cout) * T <= col_cap &&
           (size_t)omp_get_max_threads() * streamed_block_floats(g) <= wino_scratch_floats(g);
}

void wino_forward_streamed(const conv_geom *g, int n, const float *x, const float *w, float *y,
                           float *col, float *scratch)
{
    const int ci_n = g->cin, co_n = g->cout, nb = (ci_n + WL - 1) / WL;
    const int T = (int)(n * tiles(g));
    float *v = col, *m = col + (size_t)36 * ci_n * T;
    input_transform(ci_n, g->h, g->w, n, 0, n, g->bx, x, v);
    #pragma omp parallel
    {
        float *ub = scratch + (size_t)omp_get_thread_num() * streamed_block_floats(g);
        #pragma omp for schedule(dynamic)
        for (int co0 = 0; co0 < co_n; co0 += SR) {
            const int nr = co_n - co0 < SR ? co_n - co0 : SR;
            const size_t pl = (size_t)nr * ci_n + PLANE_PAD;
            for (int r = 0; r < nr; r++)            /* ub[36][nr][cin] */
                for (int b = 0; b < nb; b++) {
                    const int c0 = b * WL, nl = ci_n - c0 < WL ? ci_n - c0 : WL;
                    filter_block(w + (size_t)(co0 + r) * ci_n * 9, c0, nl, pl,
                                 ub + (size_t)r * ci_n + c0);
                }
            for (int xi = 0; xi < 36; xi++)
                fe_sgemm(0, 0, nr, T, ci_n, ub + xi * pl, ci_n,
                         v + (size_t)xi * ci_n * T, T, 0, m + ((size_t)xi * co_n + co0) * T, T,
                         NULL);
        }
    }
    output_transform(co_n, g->h, g->w, n, 0, n, g->by, m, y);
}

void wino_backward_streamed(const conv_geom *g, int n, const float *x, const float *w,
                            const float *dy, float *dw, float *dx, int accumulate_dx,
                            const float *mask, float *scratch, float *col)
{
    const int ci_n = g->cin, co_n = g->cout, nb = (ci_n + WL - 1) / WL;
    const int T = (int)(n * tiles(g));
    float *v = col, *dm = v + (size_t)36 * ci_n * T, *vt = dm + (size_t)36 * co_n * T;
    grad_output_transform(co_n, g->h, g->w, n, 0, n, g->by, dy, dm);
    if (dw) {
        input_transform(ci_n, g->h, g->w, n, 0, n, g->bx, x, v);
        #pragma omp parallel for schedule(static)  /* vt[36][T][cin]: V^T, read in place */
        for (int xi = 0; xi < 36; xi++)
            for (int c = 0; c < ci_n; c++)
                for (int t = 0; t < T; t++)
                    vt[((size_t)xi * T + t) * ci_n + c] = v[((size_t)xi * ci_n + c) * T + t];
        #pragma omp parallel
        {
            float *db = scratch + (size_t)omp_get_thread_num() * streamed_block_floats(g);
            #pragma omp for schedule(dynamic)
            for (int co0 = 0; co0 < co_n; co0 += SR) {
                const int nr = co_n - co0 < SR ? co_n - co0 : SR;
                const size_t pl = (size_t)nr * ci_n + PLANE_PAD;
                for (int xi = 0; xi < 36; xi++)         /* db[36][nr][cin] */
                    fe_sgemm(0, 0, nr, ci_n, T, dm + ((size_t)xi * co_n + co0) * T, T,
                             vt + (size_t)xi * T * ci_n, ci_n, 0, db + xi * pl,
                             ci_n, NULL);
                for (int r = 0; r < nr; r++)
                    for (int b = 0; b < nb; b++) {
                        const int c0 = b * WL, nl = ci_n - c0 < WL ? ci_n - c0 : WL;
                        filter_grad_block(db + (size_t)r * ci_n, c0, nl, pl,
                                          dw + (size_t)(co0 + r) * ci_n * 9);
                    }
            }
        }
    }
    if (dx) {                  /* dV overwrites V, no longer needed */
        #pragma omp parallel
        {
            float *ub = scratch + (size_t)omp_get_thread_num() * streamed_block_floats(g);
            #pragma omp for schedule(dynamic)
            for (int b = 0; b < nb; b++) {
                const int c0 = b * WL, nl = ci_n - c0 < WL ? ci_n - c0 : WL;
                const size_t pl = (size_t)co_n * nl + PLANE_PAD;
                for (int co = 0; co < co_n; co++)       /* ub[36][cout][nl] */
                    filter_block(w + (size_t)co * ci_n * 9, c0, nl, pl, ub + (size_t)co * nl);
                for (int xi = 0; xi < 36; xi++)
                    fe_sgemm(1, 0, nl, T, co_n, ub + xi * pl, nl,
                             dm + (size_t)xi * co_n * T, T, 0, v + ((size_t)xi * ci_n + c0) * T,
                             T, NULL);
            }
        }
        grad_input_transform(ci_n, g->h, g->w, n, 0, n, g->bx, v, dx, accumulate_dx, mask);
    }
}

void wino_forward(const conv_geom *g, int n, const float *x, const float *u, float *y, float *col,
                  size_t col_cap)
{
    if (wino_fused_applies(g, col_cap)) {
        forward_fused(g, n, x, u, y, col);
        return;
    }
    const int chunk = wino_chunk(g, col_cap), ci_n = g->cin, co_n = g->cout;
    for (int n0 = 0; n0 < n; n0 += chunk) {
        const int nc = n - n0 < chunk ? n - n0 : chunk;
        const int T = (int)(nc * tiles(g));
        float *v = col, *m = col + (size_t)36 * ci_n * T;
        input_transform(ci_n, g->h, g->w, n, n0, nc, g->bx, x, v);
        #pragma omp parallel for schedule(dynamic)
        for (int xi = 0; xi < 36; xi++)
            fe_sgemm(0, 0, co_n, T, ci_n, u + xi * u_plane(g), ci_n,
                     v + (size_t)xi * ci_n * T, T, 0, m + (size_t)xi * co_n * T, T, NULL);
        output_transform(co_n, g->h, g->w, n, n0, nc, g->by, m, y);
    }
}

void wino_backward(const conv_geom *g, int n, const float *x, const float *u, const float *dy,
                   float *dw, float *dx, int accumulate_dx, const float *mask, float *du,
                   float *col, size_t col_cap)
{
    const int chunk = wino_chunk(g, col_cap), ci_n = g->cin, co_n = g->cout;
    for (int n0 = 0; n0 < n; n0 += chunk) {
        const int nc = n - n0 < chunk ? n - n0 : chunk;
        const int T = (int)(nc * tiles(g));
        float *v = col, *dm = col + (size_t)36 * ci_n * T;
        grad_output_transform(co_n, g->h, g->w, n, n0, nc, g->by, dy, dm);
        if (dw) {
            input_transform(ci_n, g->h, g->w, n, n0, nc, g->bx, x, v);
            float *pack = du + wino_u_floats(g);
            #pragma omp parallel for schedule(dynamic)
            for (int xi = 0; xi < 36; xi++)
                fe_sgemm(0, 1, co_n, ci_n, T, dm + (size_t)xi * co_n * T, T,
                         v + (size_t)xi * ci_n * T, T, n0 != 0, du + xi * u_plane(g), ci_n,
                         pack + (size_t)xi * FE_SGEMM_PACK_FLOATS);
        }
        if (dx) {              /* dV overwrites V, no longer needed */
            #pragma omp parallel for schedule(dynamic)
            for (int xi = 0; xi < 36; xi++)
                fe_sgemm(1, 0, ci_n, T, co_n, u + xi * u_plane(g), ci_n,
                         dm + (size_t)xi * co_n * T, T, 0, v + (size_t)xi * ci_n * T, T, NULL);
            grad_input_transform(ci_n, g->h, g->w, n, n0, nc, g->bx, v, dx, accumulate_dx,
                                 mask);
        }
    }
    if (dw)
        weight_grad_transform(g, du, dw);
}
