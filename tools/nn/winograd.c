/* winograd.c - 3x3, stride-1, pad-1 convolution by Winograd's F(2x2, 3x3).
 *
 * Each 2x2 output tile comes from a 4x4 input tile (Lavin & Gray 2016):
 *     Y = A^T [ U (.) V ] A,   U = G g G^T (per filter),   V = B^T d B (per tile),
 * so the 9 multiplies per output of direct convolution become 16 per 4 outputs:
 * in the transformed domain, each of the 16 positions xi is one GEMM
 *     M[xi] (cout x T) = U[xi] (cout x cin) * V[xi] (cin x T)     (T = tiles).
 * The backward pass is the exact transpose of this linear map (no second
 * algorithm, no flipped kernels): with dM = A dY A^T per tile,
 *     dU[xi] = dM[xi] * V[xi]^T,   dg = G^T dU G,
 *     dV[xi] = U[xi]^T * dM[xi],   dd = B dV B^T  (added into the overlapping
 *                                                  4x4 input tiles).
 * G's entries are 0, 1 and 1/2 and B's, A's are 0 and +-1, so the transforms
 * round no worse than a few extra additions; tests/unit/test_layers.c checks all
 * three passes against the im2col path.
 *
 * Layouts: x [cin][N][H][W], y [cout][N][H][W], w [cout][cin][3][3] (PyTorch's).
 * Scratch: u and du [16][cout][cin]; per chunk of nc images, with T = nc*TH*TW
 * tiles (TH = ceil(H/2)) numbered (image, tile row, tile column), two buffers
 * in col: [16][cin][T] (V, then dV) and [16][cout][T] (M or dM). */
#include <string.h>
#include <cblas.h>
#include "clones.h"
#include "layers.h"

#define WINO_MAXW 64

int wino_applies(const conv_geom *g)
{
    return g->k == 3 && g->stride == 1 && g->pad == 1 && g->cin >= 16 && g->h <= WINO_MAXW &&
           g->w <= WINO_MAXW;
}

static size_t tiles(const conv_geom *g) { return (size_t)((g->h + 1) / 2) * ((g->w + 1) / 2); }

size_t wino_u_floats(const conv_geom *g) { return (size_t)16 * g->cout * g->cin; }

size_t wino_col_floats(const conv_geom *g, int chunk)
{
    return (size_t)16 * tiles(g) * (size_t)(g->cin + g->cout) * (size_t)chunk;
}

static int wino_chunk(const conv_geom *g, size_t col_cap)
{
    size_t per = wino_col_floats(g, 1), c = col_cap / per;
    return c < 1 ? 1 : (c > 1 << 20 ? 1 << 20 : (int)c);
}

/* U = G g G^T for every filter, into u[16][cout][cin]. */
static void weight_transform(const conv_geom *g, const float *w, float *u)
{
    const int co_n = g->cout, ci_n = g->cin;
    const size_t pl = (size_t)co_n * ci_n;
    #pragma omp parallel for schedule(static)
    for (int co = 0; co < co_n; co++)
        for (int ci = 0; ci < ci_n; ci++) {
            const float *k = w + ((size_t)co * ci_n + ci) * 9;
            float t[4][3];
            for (int c = 0; c < 3; c++) {      /* G g: rows */
                t[0][c] = k[c];
                t[1][c] = 0.5f * (k[c] + k[3 + c] + k[6 + c]);
                t[2][c] = 0.5f * (k[c] - k[3 + c] + k[6 + c]);
                t[3][c] = k[6 + c];
            }
            float *o = u + (size_t)co * ci_n + ci;
            for (int r = 0; r < 4; r++) {      /* (G g) G^T: columns */
                o[(r * 4 + 0) * pl] = t[r][0];
                o[(r * 4 + 1) * pl] = 0.5f * (t[r][0] + t[r][1] + t[r][2]);
                o[(r * 4 + 2) * pl] = 0.5f * (t[r][0] - t[r][1] + t[r][2]);
                o[(r * 4 + 3) * pl] = t[r][2];
            }
        }
}

/* dw = G^T dU G, the transpose of weight_transform. */
static void weight_grad_transform(const conv_geom *g, const float *du, float *dw)
{
    const int co_n = g->cout, ci_n = g->cin;
    const size_t pl = (size_t)co_n * ci_n;
    #pragma omp parallel for schedule(static)
    for (int co = 0; co < co_n; co++)
        for (int ci = 0; ci < ci_n; ci++) {
            const float *s = du + (size_t)co * ci_n + ci;
            float x[4][4], t[3][4];
            for (int i = 0; i < 16; i++)
                x[i / 4][i % 4] = s[i * pl];
            for (int c = 0; c < 4; c++) {      /* G^T X: rows */
                t[0][c] = x[0][c] + 0.5f * (x[1][c] + x[2][c]);
                t[1][c] = 0.5f * (x[1][c] - x[2][c]);
                t[2][c] = 0.5f * (x[1][c] + x[2][c]) + x[3][c];
            }
            float *k = dw + ((size_t)co * ci_n + ci) * 9;
            for (int r = 0; r < 3; r++) {      /* (G^T X) G: columns */
                k[r * 3 + 0] = t[r][0] + 0.5f * (t[r][1] + t[r][2]);
                k[r * 3 + 1] = 0.5f * (t[r][1] - t[r][2]);
                k[r * 3 + 2] = 0.5f * (t[r][1] + t[r][2]) + t[r][3];
            }
        }
}

/* The per-tile-row kernels below are loops over the tiles of a row, written so
 * that the compiler vectorises them, in several copies (clones.h). */

#define TWMAX (WINO_MAXW / 2 + 1)

/* One row of tiles: d0..d3 are the padded input rows 2ty-1 .. 2ty+2. */
FE_CLONES
static void in_row(int TW, size_t pl, const float *restrict d0, const float *restrict d1,
                   const float *restrict d2, const float *restrict d3, float *restrict o)
{
    const int WP = 2 * TW + 2;
    float t[4][2 * TWMAX + 2];
    for (int c = 0; c < WP; c++) {             /* B^T d: rows, across the whole row */
        t[0][c] = d0[c] - d2[c];
        t[1][c] = d1[c] + d2[c];
        t[2][c] = d2[c] - d1[c];
        t[3][c] = d1[c] - d3[c];
    }
    for (int r = 0; r < 4; r++) {              /* (B^T d) B: columns, tile by tile */
        const float *restrict q = t[r];
        float *restrict o0 = o + (r * 4 + 0) * pl, *restrict o1 = o + (r * 4 + 1) * pl;
        float *restrict o2 = o + (r * 4 + 2) * pl, *restrict o3 = o + (r * 4 + 3) * pl;
        for (int tx = 0; tx < TW; tx++) {
            o0[tx] = q[2 * tx] - q[2 * tx + 2];
            o1[tx] = q[2 * tx + 1] + q[2 * tx + 2];
            o2[tx] = q[2 * tx + 2] - q[2 * tx + 1];
            o3[tx] = q[2 * tx + 1] - q[2 * tx + 3];
        }
    }
}

/* One row of tiles of A^T M A into the two output rows y0, y1 (2*TW each). */
FE_CLONES
static void out_row(int TW, size_t pl, const float *restrict p, float *restrict y0,
                    float *restrict y1)
{
    float s[2][4][TWMAX];
    for (int q = 0; q < 4; q++) {              /* A^T M: rows */
        const float *restrict m0 = p + (0 + q) * pl, *restrict m1 = p + (4 + q) * pl;
        const float *restrict m2 = p + (8 + q) * pl, *restrict m3 = p + (12 + q) * pl;
        for (int tx = 0; tx < TW; tx++) {
            s[0][q][tx] = m0[tx] + m1[tx] + m2[tx];
            s[1][q][tx] = m1[tx] - m2[tx] - m3[tx];
        }
    }
    for (int r = 0; r < 2; r++) {              /* (A^T M) A: columns */
        float *restrict y = r ? y1 : y0;
        for (int tx = 0; tx < TW; tx++) {
            y[2 * tx] = s[r][0][tx] + s[r][1][tx] + s[r][2][tx];
            y[2 * tx + 1] = s[r][1][tx] - s[r][2][tx] - s[r][3][tx];
        }
    }
}

/* One row of tiles of A dY A^T from the output-gradient rows e0, e1 (2*TW each). */
FE_CLONES
static void gout_row(int TW, size_t pl, const float *restrict e0, const float *restrict e1,
                     float *restrict o)
{
    float t[4][2 * TWMAX];
    for (int c = 0; c < 2 * TW; c++) {         /* A dY: rows */
        t[0][c] = e0[c];
        t[1][c] = e0[c] + e1[c];
        t[2][c] = e0[c] - e1[c];
        t[3][c] = -e1[c];
    }
    for (int r = 0; r < 4; r++) {              /* (A dY) A^T: columns */
        const float *restrict q = t[r];
        float *restrict o0 = o + (r * 4 + 0) * pl, *restrict o1 = o + (r * 4 + 1) * pl;
        float *restrict o2 = o + (r * 4 + 2) * pl, *restrict o3 = o + (r * 4 + 3) * pl;
        for (int tx = 0; tx < TW; tx++) {
            o0[tx] = q[2 * tx];
            o1[tx] = q[2 * tx] + q[2 * tx + 1];
            o2[tx] = q[2 * tx] - q[2 * tx + 1];
            o3[tx] = -q[2 * tx + 1];
        }
    }
}

/* One row of tiles of B dV B^T, added into the padded rows a0..a3 (tile row
 * ty covers padded rows 2ty .. 2ty+3).  Neighbouring tiles overlap by two
 * columns: the first two columns of every tile are added in one loop, the
 * last two in a second, so neither loop carries a dependence. */
FE_CLONES
static void gin_row(int TW, size_t pl, const float *restrict p, float *restrict a0,
                    float *restrict a1, float *restrict a2, float *restrict a3)
{
    float t[4][4][TWMAX];
    for (int q = 0; q < 4; q++) {              /* B dV: rows */
        const float *restrict x0 = p + (0 + q) * pl, *restrict x1 = p + (4 + q) * pl;
        const float *restrict x2 = p + (8 + q) * pl, *restrict x3 = p + (12 + q) * pl;
        for (int tx = 0; tx < TW; tx++) {
            t[0][q][tx] = x0[tx];
            t[1][q][tx] = x1[tx] - x2[tx] + x3[tx];
            t[2][q][tx] = x1[tx] + x2[tx] - x0[tx];
            t[3][q][tx] = -x3[tx];
        }
    }
    for (int r = 0; r < 4; r++) {              /* (B dV) B^T: columns, added in */
        float *restrict a = r == 0 ? a0 : r == 1 ? a1 : r == 2 ? a2 : a3;
        const float *restrict u0 = t[r][0], *restrict u1 = t[r][1];
        const float *restrict u2 = t[r][2], *restrict u3 = t[r][3];
        for (int tx = 0; tx < TW; tx++) {
            a[2 * tx] += u0[tx];
            a[2 * tx + 1] += u1[tx] - u2[tx] + u3[tx];
        }
        for (int tx = 0; tx < TW; tx++) {
            a[2 * tx + 2] += u1[tx] + u2[tx] - u0[tx];
            a[2 * tx + 3] -= u3[tx];
        }
    }
}

/* V = B^T d B for the tiles of images [n0, n0+nc) of x (c channels), into
 * v[16][c][T]. */
static void input_transform(int c_n, int H, int W, int n_total, int n0, int nc, const float *x,
                            float *v)
{
    const int TH = (H + 1) / 2, TW = (W + 1) / 2, WP = 2 * TW + 2;
    const size_t T = (size_t)nc * TH * TW, pl = (size_t)c_n * T;
    #pragma omp parallel for collapse(2) schedule(static)
    for (int c = 0; c < c_n; c++)
        for (int j = 0; j < nc; j++) {
            const float *src = x + ((size_t)c * n_total + n0 + j) * H * W;
            float *dst = v + (size_t)c * T + (size_t)j * TH * TW;
            /* the padded plane: row 0 and column 0 are the zero padding */
            float d[WINO_MAXW + 4][WINO_MAXW + 4];
            for (int r = 0; r < 2 * TH + 2; r++) {
                memset(d[r], 0, sizeof(float) * WP);
                if (r >= 1 && r <= H)
                    memcpy(d[r] + 1, src + (size_t)(r - 1) * W, sizeof(float) * W);
            }
            for (int ty = 0; ty < TH; ty++)
                in_row(TW, pl, d[2 * ty], d[2 * ty + 1], d[2 * ty + 2], d[2 * ty + 3],
                       dst + (size_t)ty * TW);
        }
}

/* y = A^T M A for every tile, m[16][c][T] -> y (c channels), written or added. */
static void output_transform(int c_n, int H, int W, int n_total, int n0, int nc, const float *m,
                             float *y, int add)
{
    const int TH = (H + 1) / 2, TW = (W + 1) / 2;
    const size_t T = (size_t)nc * TH * TW, pl = (size_t)c_n * T;
    #pragma omp parallel for collapse(2) schedule(static)
    for (int c = 0; c < c_n; c++)
        for (int j = 0; j < nc; j++) {
            const float *src = m + (size_t)c * T + (size_t)j * TH * TW;
            float *dst = y + ((size_t)c * n_total + n0 + j) * H * W;
            float rows[2][WINO_MAXW + 2];
            for (int ty = 0; ty < TH; ty++) {
                out_row(TW, pl, src + (size_t)ty * TW, rows[0], rows[1]);
                for (int r = 0; r < 2 && 2 * ty + r < H; r++) {
                    float *row = dst + (size_t)(2 * ty + r) * W;
                    if (add)
                        for (int q = 0; q < W; q++)
                            row[q] += rows[r][q];
                    else
                        memcpy(row, rows[r], sizeof(float) * W);
                }
            }
        }
}

/* dM = A dY A^T for every tile of dy (c channels), into dm[16][c][T]; outputs
 * past the edge of an odd-sized map count as zero. */
static void grad_output_transform(int c_n, int H, int W, int n_total, int n0, int nc,
                                  const float *dy, float *dm)
{
    const int TH = (H + 1) / 2, TW = (W + 1) / 2;
    const size_t T = (size_t)nc * TH * TW, pl = (size_t)c_n * T;
    #pragma omp parallel for collapse(2) schedule(static)
    for (int c = 0; c < c_n; c++)
        for (int j = 0; j < nc; j++) {
            const float *src = dy + ((size_t)c * n_total + n0 + j) * H * W;
            float *dst = dm + (size_t)c * T + (size_t)j * TH * TW;
            float e[2][WINO_MAXW + 2];
            for (int ty = 0; ty < TH; ty++) {
                for (int r = 0; r < 2; r++) {
                    memset(e[r], 0, sizeof(float) * 2 * TW);
                    if (2 * ty + r < H)
                        memcpy(e[r], src + (size_t)(2 * ty + r) * W, sizeof(float) * W);
                }
                gout_row(TW, pl, e[0], e[1], dst + (size_t)ty * TW);
            }
        }
}

/* dx (+)= B dV B^T over the overlapping 4x4 input tiles, dv[16][c][T]; then,
 * when mask is set, dx = 0 wherever mask <= 0 (a ReLU's backward, fused). */
static void grad_input_transform(int c_n, int H, int W, int n_total, int n0, int nc,
                                 const float *dv, float *dx, int add, const float *mask)
{
    const int TH = (H + 1) / 2, TW = (W + 1) / 2, WP = 2 * TW + 2, HP = 2 * TH + 2;
    const size_t T = (size_t)nc * TH * TW, pl = (size_t)c_n * T;
    #pragma omp parallel for collapse(2) schedule(static)
    for (int c = 0; c < c_n; c++)
        for (int j = 0; j < nc; j++) {
            const float *src = dv + (size_t)c * T + (size_t)j * TH * TW;
            const size_t off = ((size_t)c * n_total + n0 + j) * H * W;
            float *dst = dx + off;
            float acc[WINO_MAXW + 4][WINO_MAXW + 4];  /* padded plane, row 0 = input row -1 */
            for (int r = 0; r < HP; r++)
                memset(acc[r], 0, sizeof(float) * WP);
            for (int ty = 0; ty < TH; ty++)
                gin_row(TW, pl, src + (size_t)ty * TW, acc[2 * ty], acc[2 * ty + 1],
                        acc[2 * ty + 2], acc[2 * ty + 3]);
            for (int r = 0; r < H; r++) {
                float *row = dst + (size_t)r * W;
                const float *a = acc[r + 1] + 1;
                if (add)
                    for (int q = 0; q < W; q++)
                        row[q] += a[q];
                else
                    memcpy(row, a, sizeof(float) * W);
                if (mask) {
                    const float *mk = mask + off + (size_t)r * W;
                    for (int q = 0; q < W; q++)
                        row[q] = mk[q] > 0.0f ? row[q] : 0.0f;
                }
            }
        }
}

void wino_forward(const conv_geom *g, int n, const float *x, const float *w, float *y, float *u,
                  float *col, size_t col_cap)
{
    const int chunk = wino_chunk(g, col_cap), ci_n = g->cin, co_n = g->cout;
    weight_transform(g, w, u);
    for (int n0 = 0; n0 < n; n0 += chunk) {
        const int nc = n - n0 < chunk ? n - n0 : chunk;
        const int T = (int)(nc * tiles(g));
        float *v = col, *m = col + (size_t)16 * ci_n * T;
        input_transform(ci_n, g->h, g->w, n, n0, nc, x, v);
        for (int xi = 0; xi < 16; xi++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, co_n, T, ci_n, 1.0f,
                        u + (size_t)xi * co_n * ci_n, ci_n, v + (size_t)xi * ci_n * T, T, 0.0f,
                        m + (size_t)xi * co_n * T, T);
        output_transform(co_n, g->h, g->w, n, n0, nc, m, y, 0);
    }
}

void wino_backward(const conv_geom *g, int n, const float *x, const float *w, const float *dy,
                   float *dw, float *dx, int accumulate_dx, const float *mask, float *u, float *du,
                   float *col, size_t col_cap)
{
    const int chunk = wino_chunk(g, col_cap), ci_n = g->cin, co_n = g->cout;
    if (dx)
        weight_transform(g, w, u);
    for (int n0 = 0; n0 < n; n0 += chunk) {
        const int nc = n - n0 < chunk ? n - n0 : chunk;
        const int T = (int)(nc * tiles(g));
        float *v = col, *dm = col + (size_t)16 * ci_n * T;
        grad_output_transform(co_n, g->h, g->w, n, n0, nc, dy, dm);
        if (dw) {
            input_transform(ci_n, g->h, g->w, n, n0, nc, x, v);
            for (int xi = 0; xi < 16; xi++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, co_n, ci_n, T, 1.0f,
                            dm + (size_t)xi * co_n * T, T, v + (size_t)xi * ci_n * T, T,
                            n0 == 0 ? 0.0f : 1.0f, du + (size_t)xi * co_n * ci_n, ci_n);
        }
        if (dx) {              /* dV overwrites V, no longer needed */
            for (int xi = 0; xi < 16; xi++)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ci_n, T, co_n, 1.0f,
                            u + (size_t)xi * co_n * ci_n, ci_n, dm + (size_t)xi * co_n * T, T,
                            0.0f, v + (size_t)xi * ci_n * T, T);
            grad_input_transform(ci_n, g->h, g->w, n, n0, nc, v, dx, accumulate_dx, mask);
        }
    }
    if (dw)
        weight_grad_transform(g, du, dw);
}
