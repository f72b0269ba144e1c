/* winograd2_bf16.c - `--precision bf16` 3x3 stride-1 pad-1 convolutions on the
 * blocked layout by Winograd's F(2x2,3x3): 16 products per 2x2 output tile
 * where direct convolution has 36 (2.25x fewer).  F(4x4,3x3), float32's
 * algorithm, would save 4x but magnifies bf16's rounding about 15-fold;
 * F(2x2,3x3)'s transforms have coefficients 0, +-1 and 1/2 only, and its bf16
 * error stays near direct convolution's (0.80% against 0.70% of the output
 * scale, worst of 200 random 16-channel tiles, tests/bench/winograd_bf16_error.py).
 *
 * With U = G g G^T (per filter), V = B^T d B (per 4x4 input tile), for each of
 * the 16 positions xi of the transformed tile:
 *     M[xi] = U[xi] V[xi]              (cout x cin times cin x tiles)
 *     Y = A^T M A                       per tile
 * and the transposes for the backward, with dM = A dY A^T:
 *     dV[xi] = U[xi]^T dM[xi],  dd = B dV B^T   (added into overlapping tiles)
 *     dU[xi] = sum over tiles dM[xi] V[xi]^T,  dg = G^T dU G.
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *   A^T = [1 1 1 0; 0 1 -1 -1]
 * The transforms run in float32; U, V and dM are rounded to bf16 (to nearest
 * even) once, into copies the micro-kernels of bf16_kernels.c read in place:
 * the products M and dV by the tile kernel (pairs along the channels summed,
 * lanes = 16 images, 6 channels x 4 tiles a call), each group of 16 tiles
 * inverse-transformed as soon as it is made (fused_pass: M and dV never reach
 * memory), dU by the weight-gradient kernel (pairs along the images, lanes =
 * 16 output channels).  Per chunk of NB2 blocks of 16 images:
 *   Vp  [16][cin/2][block][T4][16]        V, channel pairs (forward)
 *   dMp [16][cout/2][block][T4][16]       dM, channel pairs (dx)
 *   Vq  [16][cin][block][TH][TW][8]       V, image pairs (dw)
 *   dMT [16][block][TH*TW][8][cout64]     dM, image pairs, channels innermost (dw)
 * TH x TW tiles per image; in the pair copies the TH*TW tiles of a block in
 * row order, then zeros up to T4, a multiple of the tile kernel's 4 tiles
 * (rows padded one by one wasted half the products at layer4's 2 x 2 tiles
 * and 1/8 at layer1's and layer2's).
 * Each output element is summed in a fixed order by one thread. */
#include "bf16_blocked.h"
#include "clones.h"
#include "prefetch.h"
#include "threads.h"

#define NB2 2            /* blocks of 16 images per chunk */

int wino2_bf16_applies(const conv_geom *g)
{
    return g->k == 3 && g->stride == 1 && g->pad == 1 && g->bx && g->by;
}

typedef struct {
    int th, tw, t4, c2, co2, k6, co64;  /* t4: the pair copies' tiles a block */
    int fuse;                           /* products fused with the inverse transforms */
    int nbw;                            /* blocks per chunk of the weight gradient */
    size_t vp, dmp, vq, dmt, mv;        /* words (floats) per block of each copy */
} plan2;

static void plan2_of(const conv_geom *g, plan2 *P)
{
    P->th = (g->h + 1) / 2;
    P->tw = (g->w + 1) / 2;
    P->t4 = fe_up(P->th * P->tw, NP);
    P->c2 = (g->cin + 1) / 2;
    P->co2 = (g->cout + 1) / 2;
    P->k6 = fe_up(g->cin, TQ);
    P->co64 = fe_up(g->cout, CV);
    const size_t t = (size_t)P->th * P->tw, tr = (size_t)P->t4;
    P->vp = 16 * (size_t)P->c2 * tr * 16;
    P->dmp = 16 * (size_t)P->co2 * tr * 16;
    P->vq = 16 * (size_t)g->cin * t * 8;
    P->dmt = 16 * t * 8 * (size_t)P->co64;
    /* fused where the 16 planes of U take at most 1 MiB, a Zen 5's L2 (ResNet-18's
     * layer1 and layer2: 132 and 528 KiB).  Layer3's and layer4's take 2 and 8
     * MiB: fused they would stream through the caches once per 4 tiles, and
     * layer4 ran 1.7x slower so (tests/bench/README.md).  Fixed, not read off
     * the CPU, so that the tests know which path a shape takes. */
    const int c = g->cin > g->cout ? g->cin : g->cout;
    P->fuse = 16.0 * fe_up(c, MR) * ((c + 1) / 2) * 4 <= 1024 * 1024;
    P->mv = P->fuse ? 0 : 16 * (size_t)c * FE_NB * t;   /* M or dV, float32 */
    /* the weight gradient's chunks: each adds into all of dU (16 x cin x cout
     * floats: 17 MB at layer4), so as many blocks as keep Vq and dMT within
     * 16 MiB, at most 4 (layer3 and layer4 4; layer1 and layer2 NB2).  Up to
     * 8 at layer4 measured no faster, and with 4 test_conv_algos' 70 images
     * take two chunks. */
    const size_t per = P->vq + P->dmt, nbw = ((size_t)4 << 20) / (per ? per : 1);
    P->nbw = nbw < NB2 ? NB2 : nbw > 4 ? 4 : (int)nbw;
}

typedef struct {
    uint32_t *a;
    int *off;
    float *dut;
    uint32_t *c0;       /* the chunk's first copy (Vp, dMp or Vq) */
    float *c1;          /* its second (dMT, or unfused M or dV) */
} carved2;

static void sizes2(const conv_geom *g, const plan2 *P, size_t part[5])
{
    const size_t a_fwd = 16 * (size_t)fe_up(g->cout, MR) * P->c2,
                 a_bwd = 16 * (size_t)fe_up(g->cin, MR) * P->co2;
    size_t first = P->vp > P->dmp ? P->vp : P->dmp;
    if (P->vq > first)
        first = P->vq;
    part[0] = a_fwd > a_bwd ? a_fwd : a_bwd;
    part[1] = (size_t)(P->c2 > P->co2 ? (P->c2 > P->k6 ? P->c2 : P->k6)
                                      : (P->co2 > P->k6 ? P->co2 : P->k6));
    part[2] = 16 * (size_t)P->k6 * P->co64;
    const size_t second = (P->dmt > P->mv ? P->dmt : P->mv) * NB2;
    part[3] = first * NB2 > P->vq * P->nbw ? first * NB2 : P->vq * P->nbw;
    part[4] = second > P->dmt * P->nbw ? second : P->dmt * P->nbw;
}

size_t wino2_bf16_scratch_floats(const conv_geom *g)
{
    plan2 P;
    size_t part[5];
    plan2_of(g, &P);
    sizes2(g, &P, part);
    return bf16_carve(NULL, part, 5, NULL);
}

static carved2 carve2(const conv_geom *g, const plan2 *P, float *scratch)
{
    size_t part[5];
    void *at[5];
    sizes2(g, P, part);
    bf16_carve(scratch, part, 5, at);
    return (carved2){.a = at[0], .off = at[1], .dut = at[2], .c0 = at[3], .c1 = at[4]};
}

/* ---- the transforms, 16 lanes at a time ---- */

/* V = B^T d B of the 4x4 input tile of tile (th, tw) (rows 2th-1 .. 2th+2). */
static inline __attribute__((always_inline)) void v_tile(const blk_view *e, int H, int W, int th, int tw, float V[16][FE_NB])
{
    float d[4][4][FE_NB], t[4][4][FE_NB];
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++) {
            const int r = 2 * th - 1 + a, c = 2 * tw - 1 + b;
            if (r < 0 || r >= H || c < 0 || c >= W)
                memset(d[a][b], 0, sizeof d[a][b]);
            else
                lanes16(e, (size_t)r * W + c, d[a][b]);
        }
    for (int b = 0; b < 4; b++)
        for (int l = 0; l < FE_NB; l++) {
            t[0][b][l] = d[0][b][l] - d[2][b][l];
            t[1][b][l] = d[1][b][l] + d[2][b][l];
            t[2][b][l] = d[2][b][l] - d[1][b][l];
            t[3][b][l] = d[1][b][l] - d[3][b][l];
        }
    for (int a = 0; a < 4; a++)
        for (int l = 0; l < FE_NB; l++) {
            V[a * 4 + 0][l] = t[a][0][l] - t[a][2][l];
            V[a * 4 + 1][l] = t[a][1][l] + t[a][2][l];
            V[a * 4 + 2][l] = t[a][2][l] - t[a][1][l];
            V[a * 4 + 3][l] = t[a][1][l] - t[a][3][l];
        }
}

/* dM = A dY A^T of the 2x2 output tile (th, tw) of dy (H x W). */
static inline __attribute__((always_inline)) void dm_tile(const blk_view *e, int H, int W, int th, int tw, float D[16][FE_NB])
{
    float y[2][2][FE_NB], t[4][2][FE_NB];
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            const int r = 2 * th + a, c = 2 * tw + b;
            if (r >= H || c >= W)
                memset(y[a][b], 0, sizeof y[a][b]);
            else
                lanes16(e, (size_t)r * W + c, y[a][b]);
        }
    for (int b = 0; b < 2; b++)
        for (int l = 0; l < FE_NB; l++) {
            t[0][b][l] = y[0][b][l];
            t[1][b][l] = y[0][b][l] + y[1][b][l];
            t[2][b][l] = y[0][b][l] - y[1][b][l];
            t[3][b][l] = -y[1][b][l];
        }
    for (int a = 0; a < 4; a++)
        for (int l = 0; l < FE_NB; l++) {
            D[a * 4 + 0][l] = t[a][0][l];
            D[a * 4 + 1][l] = t[a][0][l] + t[a][1][l];
            D[a * 4 + 2][l] = t[a][0][l] - t[a][1][l];
            D[a * 4 + 3][l] = -t[a][1][l];
        }
}

/* U = G g G^T of one 3x3 filter. */
static void u_of(const float *g, float u[16])
{
    float t[4][3];
    for (int b = 0; b < 3; b++) {
        t[0][b] = g[b];
        t[1][b] = 0.5f * (g[b] + g[3 + b] + g[6 + b]);
        t[2][b] = 0.5f * (g[b] - g[3 + b] + g[6 + b]);
        t[3][b] = g[6 + b];
    }
    for (int a = 0; a < 4; a++) {
        u[a * 4 + 0] = t[a][0];
        u[a * 4 + 1] = 0.5f * (t[a][0] + t[a][1] + t[a][2]);
        u[a * 4 + 2] = 0.5f * (t[a][0] - t[a][1] + t[a][2]);
        u[a * 4 + 3] = t[a][2];
    }
}

/* ---- the copies ---- */

/* Channel pairs of the transformed tiles of blocks [b0, b0+nbc) of t (c
 * channels, h x w, blocked): x's V (dm 0: Vp) or dy's dM (dm 1: dMp). */
FE_CLONES static void copy_tile_pairs(const conv_geom *g, const plan2 *P, int n, const float *t,
                                      int c, int dm, int b0, int nbc, uint32_t *dst)
{
    const int c2 = (c + 1) / 2;
    const size_t hw = (size_t)g->h * g->w, plane = (size_t)c2 * nbc * P->t4 * 16;
    const int T = P->th * P->tw;
    #pragma omp parallel for collapse(2) schedule(static)
    for (int cp = 0; cp < c2; cp++)
        for (int bb = 0; bb < nbc; bb++) {
            const int two = 2 * cp + 1 < c;
            const blk_view e = view(t, 2 * cp, n, b0 + bb, hw, 1),
                           f = view(t, two ? 2 * cp + 1 : 2 * cp, n, b0 + bb, hw, 1);
            const uint32_t keep = two ? 0xffffffffu : 0;
            uint32_t *o = dst + ((size_t)cp * nbc + bb) * P->t4 * 16;
            for (int p = 0; p < P->t4; p++) {
                uint32_t *ot = o + (size_t)p * 16;
                if (p >= T) {
                    for (int xi = 0; xi < 16; xi++)
                        memset(ot + xi * plane, 0, sizeof(uint32_t) * 16);
                    continue;
                }
                const int th = p / P->tw, tw = p % P->tw;
                float va[16][FE_NB], vb[16][FE_NB];
                if (dm) {
                    dm_tile(&e, g->h, g->w, th, tw, va);
                    dm_tile(&f, g->h, g->w, th, tw, vb);
                } else {
                    v_tile(&e, g->h, g->w, th, tw, va);
                    v_tile(&f, g->h, g->w, th, tw, vb);
                }
                for (int xi = 0; xi < 16; xi++)
                    for (int l = 0; l < FE_NB; l++)
                        ot[xi * plane + l] = bf16_bits(va[xi][l]) |
                                             (bf16_bits(vb[xi][l]) << 16 & keep);
            }
        }
}

/* Vq of blocks [b0, b0+nbc): x's V, image pairs. */
FE_CLONES static void copy_v_images(const conv_geom *g, const plan2 *P, int n, const float *x,
                                    int b0, int nbc, uint32_t *vq)
{
    const size_t hw = (size_t)g->h * g->w, t = (size_t)P->th * P->tw,
                 plane = (size_t)g->cin * nbc * t * 8;
    #pragma omp parallel for collapse(2) schedule(static)
    for (int ci = 0; ci < g->cin; ci++)
        for (int bb = 0; bb < nbc; bb++) {
            const blk_view e = view(x, ci, n, b0 + bb, hw, 1);
            uint32_t *o = vq + ((size_t)ci * nbc + bb) * t * 8;
            for (int th = 0; th < P->th; th++)
                for (int tw = 0; tw < P->tw; tw++) {
                    uint32_t *ot = o + ((size_t)th * P->tw + tw) * 8;
                    float v[16][FE_NB];
                    v_tile(&e, g->h, g->w, th, tw, v);
                    for (int xi = 0; xi < 16; xi++)
                        for (int i = 0; i < 8; i++)
                            ot[xi * plane + i] = bf16_bits(v[xi][2 * i]) |
                                                 bf16_bits(v[xi][2 * i + 1]) << 16;
                }
        }
}

/* Ask for the lines of dy's 2x2 output tile (th, tw) in e.  copy_dm_channels
 * reads each tile of 16 channels, n * hw floats apart: more streams than the
 * hardware prefetchers follow, and half its time went to waiting for these
 * loads (perf annotate, Zen 5). */
static inline void fetch_tile(const blk_view *e, int H, int W, int th, int tw)
{
    for (int a = 0; a < 2 && 2 * th + a < H; a++)
        for (int b = 0; b < 2 && 2 * tw + b < W; b++)
            fetch_t0(e->base + ((size_t)(2 * th + a) * W + 2 * tw + b) * e->pix);
}

/* dMT of blocks [b0, b0+nbc): dy's dM, image pairs, output channels innermost;
 * 16 channels at a time through a small tile, so that the stores run along
 * the channels. */
FE_CLONES static void copy_dm_channels(const conv_geom *g, const plan2 *P, int n, const float *dy,
                                       int b0, int nbc, uint32_t *dmt)
{
    const size_t hw = (size_t)g->h * g->w, t = (size_t)P->th * P->tw,
                 plane = (size_t)nbc * t * 8 * P->co64;
    #pragma omp parallel for collapse(2) schedule(static)
    for (int bb = 0; bb < nbc; bb++)
        for (size_t p = 0; p < t; p++) {
            const int th = (int)(p / P->tw), tw = (int)(p % P->tw);
            uint32_t *o = dmt + ((size_t)bb * t + p) * 8 * P->co64;
            for (int co0 = 0; co0 < P->co64; co0 += 16) {
                uint32_t h[16][8][16];              /* [xi][image pair][channel] words */
                for (int c = 0; c < 16; c++) {
                    float d[16][FE_NB];
                    if (co0 + c < g->cout) {
                        const blk_view e = view(dy, co0 + c, n, b0 + bb, hw, 1);
                        if (p + 2 < t)      /* the channel's lines of the tile after next */
                            fetch_tile(&e, g->h, g->w, (int)((p + 2) / P->tw),
                                       (int)((p + 2) % P->tw));
                        dm_tile(&e, g->h, g->w, th, tw, d);
                    } else {
                        memset(d, 0, sizeof d);
                    }
                    for (int xi = 0; xi < 16; xi++) {
                        uint32_t wd[8];
                        for (int i = 0; i < 8; i++)
                            wd[i] = bf16_bits(d[xi][2 * i]) | bf16_bits(d[xi][2 * i + 1]) << 16;
                        for (int i = 0; i < 8; i++)
                            h[xi][i][c] = wd[i];
                    }
                }
                for (int xi = 0; xi < 16; xi++)
                    for (int i = 0; i < 8; i++)
                        memcpy(o + xi * plane + (size_t)i * P->co64 + co0, h[xi][i],
                               sizeof h[xi][i]);
            }
        }
}

/* ---- the layer ---- */

/* A of the 16 products: forward (rows = cout, pairs of input channels) or,
 * transposed, the input gradient's (rows = cin, pairs of output channels). */
static void pack_u(const conv_geom *g, const float *w, int transposed, uint32_t *a)
{
    const int rows = transposed ? g->cin : g->cout, cols = transposed ? g->cout : g->cin,
              m6 = fe_up(rows, MR), c2 = (cols + 1) / 2;
    const size_t per_xi = (size_t)m6 * c2;
    #pragma omp parallel for schedule(static)
    for (int r = 0; r < m6; r++)
        for (int cp = 0; cp < c2; cp++) {
            float u0[16] = {0}, u1[16] = {0};
            for (int h = 0; h < 2; h++) {
                const int c = 2 * cp + h;
                if (r >= rows || c >= cols)
                    continue;
                const int co = transposed ? c : r, ci = transposed ? r : c;
                u_of(w + ((size_t)co * g->cin + ci) * 9, h ? u1 : u0);
            }
            for (int xi = 0; xi < 16; xi++)
                a[xi * per_xi + (size_t)(r / MR) * MR * c2 + (size_t)cp * MR + r % MR] =
                    bf16_bits(u0[xi]) | bf16_bits(u1[xi]) << 16;
        }
}

/* Y = A^T M A of one 2x2 output tile (th, tw), M[xi] the 16 lanes at m + xi * xs,
 * into the block's plane o (wl images). */
static inline __attribute__((always_inline)) void
y_tile(const conv_geom *g, const float *m, size_t xs, int th, int tw, int wl, float *o)
{
    float s[4][2][FE_NB];
    for (int a = 0; a < 4; a++)
        for (int l = 0; l < FE_NB; l++) {
            const float *m0 = m + (a * 4) * xs, *m1 = m0 + xs, *m2 = m1 + xs, *m3 = m2 + xs;
            s[a][0][l] = m0[l] + m1[l] + m2[l];
            s[a][1][l] = m1[l] - m2[l] - m3[l];
        }
    for (int c = 0; c < 2; c++) {
        const int ow = 2 * tw + c;
        for (int r = 0; r < 2; r++) {
            const int oh = 2 * th + r;
            if (oh >= g->h || ow >= g->w)
                continue;
            float *dst = o + ((size_t)oh * g->w + ow) * wl;
            for (int l = 0; l < wl; l++)
                dst[l] = r == 0 ? s[0][c][l] + s[1][c][l] + s[2][c][l]
                                : s[1][c][l] - s[2][c][l] - s[3][c][l];
        }
    }
}

/* dd = B dV B^T of one 4x4 input tile (th, tw), dV[xi] the 16 lanes at v + xi * xs,
 * added into the block's plane o (wl images). */
static inline __attribute__((always_inline)) void
dd_tile(const conv_geom *g, const float *v, size_t xs, int th, int tw, int wl, float *o)
{
    float s[4][4][FE_NB];
    for (int b = 0; b < 4; b++)                     /* rows, then columns */
        for (int l = 0; l < FE_NB; l++) {
            const float v0 = v[b * xs + l], v1 = v[(4 + b) * xs + l], v2 = v[(8 + b) * xs + l],
                        v3 = v[(12 + b) * xs + l];
            s[0][b][l] = v0;
            s[1][b][l] = v1 - v2 + v3;
            s[2][b][l] = -v0 + v1 + v2;
            s[3][b][l] = -v3;
        }
    for (int a = 0; a < 4; a++) {
        const int r = 2 * th - 1 + a;
        if (r < 0 || r >= g->h)
            continue;
        float dd[4][FE_NB];
        for (int l = 0; l < FE_NB; l++) {
            dd[0][l] = s[a][0][l];
            dd[1][l] = s[a][1][l] - s[a][2][l] + s[a][3][l];
            dd[2][l] = -s[a][0][l] + s[a][1][l] + s[a][2][l];
            dd[3][l] = -s[a][3][l];
        }
        for (int b = 0; b < 4; b++) {
            const int c = 2 * tw - 1 + b;
            if (c < 0 || c >= g->w)
                continue;
            float *dst = o + ((size_t)r * g->w + c) * wl;
            for (int l = 0; l < wl; l++)
                dst[l] += dd[b][l];
        }
    }
}

/* The 16 products of blocks [b0, b0+nbc) fused with their inverse transform:
 * the forward's M = U V and Y = A^T M A (stored into y), or the input
 * gradient's dV = U^T dM and dd = B dV B^T (added into dx).  Per tile row, 4
 * tiles and 6 channels, the tile kernel makes the 16 planes' tiles t[xi] (24
 * KiB, in L1) and they are transformed at once, so M and dV never go through
 * memory.  The items (block, 6 channels) are cut into one contiguous range per
 * thread; a thread goes through its range's tile rows, then 4 tiles, then
 * channels, so the rows of the copy B it reads stay in its caches across the
 * channels, and every element of dx is summed by one thread in the order of
 * the tiles (row-major), whatever the thread count. */
typedef struct {
    int m, ntaps;           /* rows (cout forward, cin input gradient); channel pairs */
    const uint32_t *a;      /* the 16 planes' A, a_step words apart */
    size_t a_step;
    const int *off;
    const uint32_t *b;      /* the chunk's copy, b_step words a plane */
    size_t b_step;
    float *out;             /* y or dx, blocked, the whole batch */
    int dx, accumulate;     /* input gradient: add into out (zeroed first unless accumulate) */
    const float *mask;      /* input gradient: then out = 0 where mask <= 0 */
} fused2;

FE_CLONES static void fused_pass(const conv_geom *g, const plan2 *P, const fused2 *F, int n,
                                 int b0, int nbc, kern_tile tile)
{
    const int groups = (F->m + MR - 1) / MR, items = nbc * groups, T = P->th * P->tw;
    const size_t hw = (size_t)g->h * g->w;
    #pragma omp parallel
    {
        const int nt = omp_get_num_threads(), id = omp_get_thread_num(),
                  lo = (int)((long)items * id / nt), hi = (int)((long)items * (id + 1) / nt);
        float t[16][MR * NP * 16] __attribute__((aligned(64)));
        for (int bb = lo / groups; bb < nbc && bb * groups < hi; bb++) {
            const int g0 = lo > bb * groups ? lo - bb * groups : 0,
                      g1 = hi < (bb + 1) * groups ? hi - bb * groups : groups,
                      i0 = (b0 + bb) * FE_NB, wl = fe_blk_w(n, i0),
                      c0 = g0 * MR, c1 = g1 * MR < F->m ? g1 * MR : F->m;
            float *base = F->out + (size_t)i0 * hw;         /* channel ch: + ch * n * hw */
            if (F->dx && !F->accumulate)
                for (int ch = c0; ch < c1; ch++)
                    memset(base + (size_t)ch * n * hw, 0, sizeof(float) * hw * wl);
            for (int p0 = 0; p0 < T; p0 += NP)              /* 4 tiles, in row order */
                for (int gi = g0; gi < g1; gi++) {
                    const int m0 = gi * MR;
                    const uint32_t *b = F->b + ((size_t)bb * P->t4 + p0) * 16;
                    for (int xi = 0; xi < 16; xi++)
                        tile(F->ntaps, F->a + xi * F->a_step + (size_t)m0 * F->ntaps, F->off,
                             b + xi * F->b_step, 16, t[xi]);
                    for (int i = 0; i < MR && m0 + i < F->m; i++)
                        for (int j = 0; j < NP && p0 + j < T; j++) {
                            float *o = base + (size_t)(m0 + i) * n * hw;
                            const int th = (p0 + j) / P->tw, tw = (p0 + j) % P->tw,
                                      k = (i * NP + j) * 16;
                            if (F->dx)
                                dd_tile(g, t[0] + k, MR * NP * 16, th, tw, wl, o);
                            else
                                y_tile(g, t[0] + k, MR * NP * 16, th, tw, wl, o);
                        }
                }
            if (F->dx && F->mask)
                for (int ch = c0; ch < c1; ch++) {
                    const size_t o = (size_t)ch * n * hw + (size_t)i0 * hw;
                    float *db = F->out + o;
                    for (size_t q = 0; q < hw * wl; q++)
                        db[q] = F->mask[o + q] > 0.0f ? db[q] : 0.0f;
                }
        }
    }
}

/* The same, unfused, where U's 16 planes do not fit in L2: the tile kernel
 * runs over one plane at a time, so that its U stays in the caches across the
 * chunk's tiles, into buf ([16][m][images][TH][TW], blocked), and the inverse
 * transforms read it back.  The same bits as fused_pass. */
FE_CLONES static void unfused_pass(const conv_geom *g, const plan2 *P, const fused2 *F, int n,
                                   int b0, int nbc, float *buf, kern_tile tile)
{
    const int i0 = b0 * FE_NB, on = n - i0 < nbc * FE_NB ? n - i0 : nbc * FE_NB;
    const size_t hw = (size_t)g->h * g->w, t = (size_t)P->th * P->tw,
                 mplane = (size_t)F->m * on * t;
    const bf16_pass p = {.m = F->m, .ntaps = F->ntaps, .a = F->a, .off = F->off, .b = F->b,
                         .bh = 1, .bw = P->t4, .brs = 1, .bstep = 16, .rows = 1,
                         .cols = (int)t, .rs = 1, .cs = 1, .out = buf, .on = on, .oi0 = i0,
                         .oh = 1, .ow = (int)t, .blk = 1, .nsub = 16, .a_step = F->a_step,
                         .b_step = F->b_step, .out_step = mplane};
    bf16_run_pass(&p, n, b0, nbc, tile);
    #pragma omp parallel for collapse(2) schedule(static)
    for (int ch = 0; ch < F->m; ch++)
        for (int bb = 0; bb < nbc; bb++) {
            const blk_view mv = view(buf, ch, on, bb, t, 1);
            const int wl = mv.w;
            const size_t o = ((size_t)ch * n + (size_t)(b0 + bb) * FE_NB) * hw;
            float *ob = F->out + o;
            if (F->dx && !F->accumulate)
                memset(ob, 0, sizeof(float) * hw * wl);
            for (int th = 0; th < P->th; th++)
                for (int tw = 0; tw < P->tw; tw++) {
                    float m[16][FE_NB];
                    for (int xi = 0; xi < 16; xi++) {
                        const blk_view mx = {.base = mv.base + xi * mplane, .lane = 1,
                                             .pix = (size_t)wl, .w = wl};
                        lanes16(&mx, (size_t)th * P->tw + tw, m[xi]);
                    }
                    if (F->dx)
                        dd_tile(g, m[0], FE_NB, th, tw, wl, ob);
                    else
                        y_tile(g, m[0], FE_NB, th, tw, wl, ob);
                }
            if (F->dx && F->mask)
                for (size_t q = 0; q < hw * wl; q++)
                    ob[q] = F->mask[o + q] > 0.0f ? ob[q] : 0.0f;
        }
}

static void products(const conv_geom *g, const plan2 *P, const fused2 *F, int n, int b0, int nbc,
                     float *buf, kern_tile tile)
{
    if (P->fuse)
        fused_pass(g, P, F, n, b0, nbc, tile);
    else
        unfused_pass(g, P, F, n, b0, nbc, buf, tile);
}

void wino2_bf16_forward(const conv_geom *g, int n, const float *x, const float *w, float *y,
                        float *scratch, int portable)
{
    plan2 P;
    plan2_of(g, &P);
    const carved2 S = carve2(g, &P, scratch);
    const bf16_kernels K = bf16_kernels_for(portable);
    pack_u(g, w, 0, S.a);
    const int nb = (n + FE_NB - 1) / FE_NB, m6 = fe_up(g->cout, MR);
    for (int b0 = 0; b0 < nb; b0 += NB2) {
        const int nbc = nb - b0 < NB2 ? nb - b0 : NB2;
        copy_tile_pairs(g, &P, n, x, g->cin, 0, b0, nbc, S.c0);
        for (int q = 0; q < P.c2; q++)
            S.off[q] = q * nbc * P.t4 * 16;
        const fused2 F = {.m = g->cout, .ntaps = P.c2, .a = S.a, .a_step = (size_t)m6 * P.c2,
                          .off = S.off, .b = S.c0,
                          .b_step = (size_t)P.c2 * nbc * P.t4 * 16, .out = y};
        products(g, &P, &F, n, b0, nbc, S.c1, K.tile);  /* M = U V, Y = A^T M A */
    }
}

/* The weight gradient's sums of blocks [b0, b0+nbc), into S->dut. */
static void dw_chunk2(const conv_geom *g, const plan2 *P, const carved2 *S, int n, const float *x,
                      const float *dy, int b0, int nbc, kern_dw kern)
{
    const size_t t = (size_t)P->th * P->tw, vplane = (size_t)g->cin * nbc * t * 8,
                 dplane = (size_t)nbc * t * 8 * P->co64;
    uint32_t *vq = S->c0, *dmt = (uint32_t *)S->c1;
    copy_v_images(g, P, n, x, b0, nbc, vq);
    copy_dm_channels(g, P, n, dy, b0, nbc, dmt);
    for (int q = 0; q < P->k6; q++)                 /* padding taps: channel 0, discarded */
        S->off[q] = (q < g->cin ? q : 0) * nbc * (int)t * 8;
    const int groups = P->k6 / TQ, cgroups = P->co64 / CV;
    /* one call per (plane, taps, channels) over the chunk's blocks, their
     * tiles one list ([block][tile] in both copies): dU goes through the
     * caches once a chunk, and each sum takes the tiles in the same order */
    #pragma omp parallel
    for (int xi = 0; xi < 16; xi++) {
        /* the same taps to the same thread every time (static): no races */
        #pragma omp for schedule(static) nowait
        for (int tg = 0; tg < groups; tg++)
            for (int cg = 0; cg < cgroups; cg++)
                kern(1, nbc * (int)t, vq + xi * vplane, S->off + tg * TQ, 0, 8,
                     dmt + xi * dplane + cg * CV, P->co64, 0,
                     S->dut + ((size_t)xi * P->k6 + tg * TQ) * P->co64 + cg * CV, P->co64);
    }
}

/* dx of blocks [b0, b0+nbc): dV = U^T dM, then dd = B dV B^T added into dx. */
static void dx_chunk2(const conv_geom *g, const plan2 *P, const carved2 *S, int n,
                      const float *dy, float *dx, int accumulate, const float *mask,
                      int b0, int nbc, kern_tile tile)
{
    copy_tile_pairs(g, P, n, dy, g->cout, 1, b0, nbc, S->c0);
    for (int q = 0; q < P->co2; q++)
        S->off[q] = q * nbc * P->t4 * 16;
    const fused2 F = {.m = g->cin, .ntaps = P->co2, .a = S->a,
                      .a_step = (size_t)fe_up(g->cin, MR) * P->co2, .off = S->off, .b = S->c0,
                      .b_step = (size_t)P->co2 * nbc * P->t4 * 16, .out = dx, .dx = 1,
                      .accumulate = accumulate, .mask = mask};
    products(g, P, &F, n, b0, nbc, S->c1, tile);
}

int wino2_bf16_backward(const conv_geom *g, int n, const float *x, const float *w,
                        const float *dy, float *dw, float *dx, int accumulate_dx,
                        const float *mask, float *scratch, int portable)
{
    plan2 P;
    plan2_of(g, &P);
    const carved2 S = carve2(g, &P, scratch);
    const bf16_kernels K = bf16_kernels_for(portable);
    if (dw)
        memset(S.dut, 0, sizeof(float) * 16 * P.k6 * P.co64);
    if (dx)
        pack_u(g, w, 1, S.a);
    const int nb = (n + FE_NB - 1) / FE_NB;
    for (int b0 = 0; dw && b0 < nb; b0 += P.nbw)
        dw_chunk2(g, &P, &S, n, x, dy, b0, nb - b0 < P.nbw ? nb - b0 : P.nbw, K.dw);
    for (int b0 = 0; dx && b0 < nb; b0 += NB2)
        dx_chunk2(g, &P, &S, n, dy, dx, accumulate_dx, mask, b0, nb - b0 < NB2 ? nb - b0 : NB2,
                  K.tile);
    if (dw) {                                       /* dg = G^T dU G */
        #pragma omp parallel for schedule(static)
        for (int co = 0; co < g->cout; co++)
            for (int ci = 0; ci < g->cin; ci++) {
                float u[16], t[3][4];
                for (int xi = 0; xi < 16; xi++)
                    u[xi] = S.dut[((size_t)xi * P.k6 + ci) * P.co64 + co];
                for (int b = 0; b < 4; b++) {
                    t[0][b] = u[b] + 0.5f * (u[4 + b] + u[8 + b]);
                    t[1][b] = 0.5f * (u[4 + b] - u[8 + b]);
                    t[2][b] = 0.5f * (u[4 + b] + u[8 + b]) + u[12 + b];
                }
                float *o = dw + ((size_t)co * g->cin + ci) * 9;
                for (int a = 0; a < 3; a++) {
                    o[a * 3 + 0] = t[a][0] + 0.5f * (t[a][1] + t[a][2]);
                    o[a * 3 + 1] = 0.5f * (t[a][1] - t[a][2]);
                    o[a * 3 + 2] = 0.5f * (t[a][1] + t[a][2]) + t[a][3];
                }
            }
    }
    return dx && mask;
}
