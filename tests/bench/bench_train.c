/* bench_train - training and evaluation throughput of one model, for `make bench`.
 *
 *   bench_train --model lenet5|resnet18 [--batch 512] [--steps S] [--threads T]
 *               [--train-only 1 | --eval-only 1] [--precision fp32|bf16]
 *               [--col-mfloats M] [--gemms 1 | --layers 1]
 *
 * Synthetic MNIST-like batches; one warm-up step, then S timed training steps
 * (forward, loss, backward, SGD step) and S timed eval forwards.  Prints one
 * line of key=value pairs: images/s, GFLOP/s of the layers' multiply-adds, peak
 * RSS, the share of a training step spent in forward (with the loss), backward
 * and the optimiser step, the sgemm peak (2048^3) and the FMA peak (independent
 * fused multiply-adds in registers, the widest vectors the CPU has, on every
 * thread: the machine's limit for float32 arithmetic) measured in the same
 * process, and the share of the FMA peak each pass reaches.
 * --train-only 1 runs the training steps alone and prints their line: for
 * profiling, e.g.  perf record -g bench_train --model resnet18 --train-only 1;
 * --eval-only 1 the evaluation passes alone.  --col-mfloats M sets the
 * convolutions' chunk scratch to M mebi-floats (default: the model's own).
 * wino_gemm_gflops: the Winograd products of layer3's forward at batch 512 (a
 * chunk of 455 images, 4 tiles each: 256 x 1820 x 256), 36 at once, by our
 * GEMM, and wino_gemm_openblas_gflops by OpenBLAS, in the same process.
 * --gemms 1 prints only that measurement, for each product shape of
 * ResNet-18's Winograd convolutions (one chunk of 64 images), a line each,
 * rows 16 bytes past a cache line (as most of winograd.c's are) and aligned.
 * --layers 1 times each convolution of the model alone at the batch size, by
 * the algorithm the model runs it with: forward, and backward with dW and dX,
 * best of S after a warm-up, a line each with its milliseconds and GFLOP/s of
 * executed arithmetic, and a total: where a training step's convolution time goes.
 * Each line also times the backward with dW alone and with dX alone (shared
 * work such as Winograd's output-gradient transform counts in both; 0 for dX
 * where the model takes none, conv1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <cblas.h>
#include <immintrin.h>
#include "cli.h"
#include "model.h"
#include "ops.h"
#include "sgemm.h"
#include "gemm_bf16.h"
#include "optim.h"

/* Forward multiply-add FLOPs per image of the conv and linear layers, *first
 * those of the first layer.  executed 0: every conv counted as direct
 * convolution (the usual count, comparable across implementations).
 * executed 1: what the model's algorithms really execute in their products, a
 * Winograd conv as its 36 GEMMs of 2 * tiles * cin * cout, the tiles covering
 * the map's edge included.  A training step executes 3 times the forward's
 * (forward, dW, dX) less the first layer's dX; at the FMA peak, fma_peak over
 * that is a ceiling on images/s no implementation of these algorithms can pass
 * (in float32: bench_train prints it only there). */
static double forward_flops(const fe_model *m, int executed, double *first)
{
    double f = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const fe_layer *l = &m->layers[i];
        const conv_geom *g = l->conv ? &l->conv->g : NULL;
        double x;
        if (!g)
            x = 2.0 * l->fc->in * l->fc->out;
        else
            x = 2.0 * (executed ? l->conv->algo : &fe_conv_direct)->macs(g);
        if (i == 0)
            *first = x;
        f += x;
    }
    return f;
}

static double sgemm_peak(void)
{
    const int n = 2048;
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n),
          *c = malloc(sizeof(float) * n * n);
    for (size_t i = 0; i < (size_t)n * n; i++)
        a[i] = b[i] = (float)(i % 7) * 0.1f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
    double best = 0;
    for (int r = 0; r < 3; r++) {
        double t = fe_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        double g = 2.0 * n * n * n / (fe_now() - t) / 1e9;
        if (g > best)
            best = g;
    }
    free(a); free(b); free(c);
    return best;
}

/* The Winograd convolution's products as a training step runs them: 36
 * independent GEMMs at once, one per thread at a time (C = op(A) op(B), m x n x
 * k), by our own GEMM (sgemm.h, what winograd.c calls) and by OpenBLAS (what
 * it called before), best of 3 after a warm-up round each.  GFLOP/s of both.
 * skew: the matrices start that many floats past a 64-byte line, so every row
 * does when its length is a multiple of 16 (winograd.c's rows of T tiles start
 * wherever T leaves them: 0, 4, 8 or 12 floats past). */
static void wino_gemms(int m, int n, int k, int ta, int tb, int skew, double *own,
                       double *openblas)
{
    enum { X = 36 };
    const size_t na = (size_t)m * k, nb = (size_t)k * n, nc = (size_t)m * n;
    float *a0 = aligned_alloc(64, sizeof(float) * (X * na + 16)),
          *b0 = aligned_alloc(64, sizeof(float) * (X * nb + 16)),
          *c0 = aligned_alloc(64, sizeof(float) * (X * nc + 16)),
          *pack = aligned_alloc(64, sizeof(float) * X * FE_SGEMM_PACK_FLOATS);
    float *a = a0 + skew, *b = b0 + skew, *c = c0 + skew;
    for (size_t i = 0; i < X * na; i++)
        a[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < X * nb; i++)
        b[i] = (float)(i % 5) * 0.1f;
    const int lda = ta ? m : k, ldb = tb ? k : n;
    double best[2] = {0, 0};
    for (int r = 0; r < 4; r++)
        for (int impl = 0; impl < 2; impl++) {
            const double t = fe_now();
            #pragma omp parallel for schedule(static)
            for (int x = 0; x < X; x++) {
                const float *ax = a + x * na, *bx = b + x * nb;
                float *cx = c + x * nc;
                if (impl == 0)
                    fe_sgemm(ta, tb, m, n, k, ax, lda, bx, ldb, 0, cx, n,
                             pack + (size_t)x * FE_SGEMM_PACK_FLOATS);
                else
                    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                                tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, ax, lda, bx, ldb,
                                0.0f, cx, n);
            }
            const double g = 2.0 * X * m * n * k / (fe_now() - t) / 1e9;
            if (r > 0 && g > best[impl])        /* (the first round warms up) */
                best[impl] = g;
        }
    free(a0); free(b0); free(c0); free(pack);
    *own = best[0];
    *openblas = best[1];
}

/* --gemms 1: the products of ResNet-18's Winograd convolutions, a line each. */
static void gemm_table(void)
{
    static const struct { int m, n, k, ta, tb; const char *where; } s[] = {
        {64, 3136, 64, 0, 0, "layer1_forward"},   {128, 1024, 128, 0, 0, "layer2_forward"},
        {256, 256, 256, 0, 0, "layer3_forward"},  {512, 64, 512, 0, 0, "layer4_forward"},
        {64, 3136, 64, 1, 0, "layer1_dx"},        {512, 64, 512, 1, 0, "layer4_dx"},
        {64, 64, 3136, 0, 1, "layer1_dw"},        {512, 512, 64, 0, 1, "layer4_dw"},
    };
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        double own, blas, own_al, blas_al;
        wino_gemms(s[i].m, s[i].n, s[i].k, s[i].ta, s[i].tb, 4, &own, &blas);
        wino_gemms(s[i].m, s[i].n, s[i].k, s[i].ta, s[i].tb, 0, &own_al, &blas_al);
        printf("gemm=%s m=%d n=%d k=%d trans_a=%d trans_b=%d own_gflops=%.1f own_isa=%s "
               "openblas_gflops=%.1f own_aligned_gflops=%.1f openblas_aligned_gflops=%.1f\n",
               s[i].where, s[i].m, s[i].n, s[i].k, s[i].ta, s[i].tb, own, fe_sgemm_isa(), blas,
               own_al, blas_al);
    }
}

/* --layers 1: each convolution alone, forward and backward (dW and dX), on
 * synthetic activations in the model's scratch; best of `steps` after one warm-up. */
static void layer_table(fe_model *m, int n, int steps)
{
    double tf_all = 0, tb_all = 0;
    for (int i = 0; i < m->nlayers; i++) {
        fe_conv *c = m->layers[i].conv;
        if (!c)
            continue;
        const size_t nx = (size_t)c->g.cin * n * c->g.h * c->g.w;
        const size_t ny = (size_t)c->g.cout * n * c->g.oh * c->g.ow;
        float *x = m->g[0], *dy = m->g[1], *dx = m->g[2];
        for (size_t j = 0; j < nx; j++)
            x[j] = (float)((j * 2654435761u) % 1000) * 1e-3f - 0.5f;
        for (size_t j = 0; j < ny; j++)
            dy[j] = (float)((j * 40503u) % 1000) * 1e-3f - 0.5f;
        double tf = 1e30, tb = 1e30, tw = 1e30, tx = 1e30;
        for (int s = 0; s <= steps; s++) {
            double t0 = fe_now();
            fe_conv_forward(m, c, n, x);
            double t1 = fe_now();
            fe_conv_backward(m, c, n, x, dy, 1, i ? dx : NULL, 0, NULL);
            double t2 = fe_now();
            fe_conv_backward(m, c, n, x, dy, 1, NULL, 0, NULL);
            double t3 = fe_now();
            if (i)
                fe_conv_backward(m, c, n, x, dy, 0, dx, 0, NULL);
            double t4 = fe_now();
            if (s && t1 - t0 < tf)
                tf = t1 - t0;
            if (s && t2 - t1 < tb)
                tb = t2 - t1;
            if (s && t3 - t2 < tw)
                tw = t3 - t2;
            if (s && t4 - t3 < tx)
                tx = t4 - t3;
        }
        const double f = 2.0 * c->algo->macs(&c->g) * n;
        printf("layer=%s algo=%s cin=%d cout=%d k=%d stride=%d hw=%d fwd_ms=%.2f bwd_ms=%.2f "
               "fwd_gflops=%.1f bwd_gflops=%.1f bwd_dw_only_ms=%.2f bwd_dx_only_ms=%.2f\n",
               c->name, c->algo->name, c->g.cin, c->g.cout, c->g.k, c->g.stride, c->g.h,
               1e3 * tf, 1e3 * tb, f / tf / 1e9, (i ? 2 : 1) * f / tb / 1e9, 1e3 * tw,
               i ? 1e3 * tx : 0.0);
        tf_all += tf;
        tb_all += tb;
    }
    printf("layers=all batch=%d fwd_ms=%.1f bwd_ms=%.1f conv_img_s=%.1f\n", n, 1e3 * tf_all,
           1e3 * tb_all, n / (tf_all + tb_all));
}

/* FMA peak: independent accumulators (more than an FMA's latency times its
 * ports on any x86 core: 16 of AVX-512's 32 registers, 12 of AVX2's 16, so that
 * the two operands stay in registers too; with 16 of them AVX2 spilled and read
 * 115 GFLOP/s on a Zen 3 where OpenBLAS's sgemm reached 156) of _mm512/_mm256
 * fused multiply-adds, so nothing but the FMA units limits the loop.  Returns
 * the flops done; *sink keeps the results. */
#define FMA12(T, f) \
    a0 = f(a0, x, y); a1 = f(a1, x, y); a2 = f(a2, x, y); a3 = f(a3, x, y); \
    a4 = f(a4, x, y); a5 = f(a5, x, y); a6 = f(a6, x, y); a7 = f(a7, x, y); \
    a8 = f(a8, x, y); a9 = f(a9, x, y); a10 = f(a10, x, y); a11 = f(a11, x, y)
#define FMA16(T, f) \
    FMA12(T, f); a12 = f(a12, x, y); a13 = f(a13, x, y); a14 = f(a14, x, y); a15 = f(a15, x, y)
#define FMA_BODY(T, set1, f, lanes) \
    const T x = set1(0.999999f), y = set1(1e-7f); \
    T a0 = set1(1), a1 = set1(2), a2 = set1(3), a3 = set1(4), a4 = set1(5), a5 = set1(6), \
      a6 = set1(7), a7 = set1(8), a8 = set1(9), a9 = set1(10), a10 = set1(11), a11 = set1(12), \
      a12 = set1(13), a13 = set1(14), a14 = set1(15), a15 = set1(16); \
    for (long i = 0; i < iters; i++) { FMA16(T, f); } \
    T s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13 + a14 + a15; \
    float out[lanes]; \
    memcpy(out, &s, sizeof out); \
    *sink = out[0]; \
    return 16.0 * 2 * lanes * (double)iters

__attribute__((target("avx512f"))) static double fma_run_512(long iters, float *sink)
{
    FMA_BODY(__m512, _mm512_set1_ps, _mm512_fmadd_ps, 16);
}

__attribute__((target("avx2,fma"))) static double fma_run_256(long iters, float *sink)
{
    const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
    __m256 a0 = _mm256_set1_ps(1), a1 = _mm256_set1_ps(2), a2 = _mm256_set1_ps(3),
           a3 = _mm256_set1_ps(4), a4 = _mm256_set1_ps(5), a5 = _mm256_set1_ps(6),
           a6 = _mm256_set1_ps(7), a7 = _mm256_set1_ps(8), a8 = _mm256_set1_ps(9),
           a9 = _mm256_set1_ps(10), a10 = _mm256_set1_ps(11), a11 = _mm256_set1_ps(12);
    for (long i = 0; i < iters; i++) {
        FMA12(__m256, _mm256_fmadd_ps);
    }
    __m256 s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
    float out[8];
    memcpy(out, &s, sizeof out);
    *sink = out[0];
    return 12.0 * 2 * 8 * (double)iters;
}

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 10
#define HAVE_BF16_PEAK 1
/* The same with AVX512_BF16's VDPBF16PS: 32 multiply-adds per instruction. */
__attribute__((target("avx512f,avx512bf16"))) static double dp_run(long iters, float *sink)
{
    const __m512bh x = (__m512bh)_mm512_set1_epi32(0x3f7f3f7f), y = (__m512bh)_mm512_set1_epi32(0x33d633d6);
    __m512 a0 = _mm512_set1_ps(1), a1 = _mm512_set1_ps(2), a2 = _mm512_set1_ps(3),
           a3 = _mm512_set1_ps(4), a4 = _mm512_set1_ps(5), a5 = _mm512_set1_ps(6),
           a6 = _mm512_set1_ps(7), a7 = _mm512_set1_ps(8), a8 = _mm512_set1_ps(9),
           a9 = _mm512_set1_ps(10), a10 = _mm512_set1_ps(11), a11 = _mm512_set1_ps(12),
           a12 = _mm512_set1_ps(13), a13 = _mm512_set1_ps(14), a14 = _mm512_set1_ps(15),
           a15 = _mm512_set1_ps(16);
    for (long i = 0; i < iters; i++) {
        FMA16(__m512, _mm512_dpbf16_ps);
    }
    __m512 s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13 + a14 + a15;
    float out[16];
    memcpy(out, &s, sizeof out);
    *sink = out[0];
    return 16.0 * 64 * (double)iters;
}
#endif

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
#define HAVE_AMX_PEAK 1
/* The same with AMX's TDPBF16PS on tiles: four 16x16 float32 accumulators, two A
 * and two B tiles, each instruction 16*16*32 multiply-adds. */
__attribute__((target("amx-tile,amx-bf16"))) static double amx_run(long iters, float *sink)
{
    struct {
        uint8_t palette, start_row, reserved[14];
        uint16_t colsb[16];
        uint8_t rows[16];
    } cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int i = 0; i < 8; i++) {
        cfg.colsb[i] = 64;
        cfg.rows[i] = 16;
    }
    uint32_t ab[2][256] __attribute__((aligned(64)));
    for (int i = 0; i < 256; i++)
        ab[0][i] = 0x33d633d6u, ab[1][i] = 0x3f7f3f7fu;
    float out[256] __attribute__((aligned(64)));
    _tile_loadconfig(&cfg);
    _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
    _tile_loadd(4, ab[0], 64); _tile_loadd(5, ab[1], 64);
    _tile_loadd(6, ab[1], 64); _tile_loadd(7, ab[0], 64);
    for (long i = 0; i < iters; i++) {
        _tile_dpbf16ps(0, 4, 6); _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6); _tile_dpbf16ps(3, 5, 7);
    }
    _tile_stored(0, out, 64);
    _tile_release();
    *sink = out[0];
    return 4.0 * 16 * 16 * 32 * 2 * (double)iters;
}
#endif

/* Best of 3: GFLOP/s of `run` on `threads` threads at once. */
static double peak_of(int threads, double (*run)(long, float *), long iters)
{
    double best = 0;
    for (int r = 0; r < 3; r++) {
        double flops = 0, t = fe_now();
        #pragma omp parallel num_threads(threads) reduction(+ : flops)
        {
            float sink;
            flops += run(iters, &sink);
            if (sink == 42.0f)      /* never: the results must look used */
                printf(" ");
        }
        double g = flops / (fe_now() - t) / 1e9;
        if (g > best)
            best = g;
    }
    return best;
}

/* GFLOP/s of VDPBF16PS on all threads (a bf16 multiply-add counted as 2), 0 without it. */
static double bf16_peak(int threads)
{
#ifdef HAVE_BF16_PEAK
    return fe_bf16_supported() ? peak_of(threads, dp_run, 10000000) : 0;
#else
    return 0;
#endif
}

/* GFLOP/s of TDPBF16PS on all threads (as bf16_peak), 0 where AMX does not run. */
static double amx_peak(int threads)
{
#ifdef HAVE_AMX_PEAK
    return fe_bf16_kernel_available(FE_BF16_AMX) ? peak_of(threads, amx_run, 2000000) : 0;
#else
    return 0;
#endif
}

/* GFLOP/s of fe_gemm_bf16 (the kernel it picks here) on layer3.0.conv2's forward
 * product in a chunk of 64 images: 256 x 256*9 weights times 2304 x 3136 columns. */
static double bf16_gemm_gflops(void)
{
    if (!fe_bf16_supported())
        return 0;
    const int m = 256, k = 2304, n = 64 * 49;
    float *a = aligned_alloc(64, sizeof(float) * (size_t)m * k),
          *b = aligned_alloc(64, sizeof(float) * (size_t)k * n),
          *c = aligned_alloc(64, sizeof(float) * (size_t)m * n),
          *s = aligned_alloc(64, (sizeof(float) * fe_gemm_bf16_scratch(m, k) + 63) / 64 * 64);
    for (size_t i = 0; i < (size_t)m * k; i++)
        a[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < (size_t)k * n; i++)
        b[i] = (float)(i % 5) * 0.1f;
    double best = 0;
    for (int r = 0; r < 4; r++) {
        const double t = fe_now();
        fe_gemm_bf16(m, n, k, a, k, 0, b, n, c, n, s);
        const double g = 2.0 * m * n * k / (fe_now() - t) / 1e9;
        if (r > 0 && g > best)      /* (the first round warms up) */
            best = g;
    }
    free(a); free(b); free(c); free(s);
    return best;
}

/* GFLOP/s of all `threads` threads together; *isa names the vectors used. */
static double fma_peak(int threads, const char **isa)
{
    __builtin_cpu_init();
    int w = __builtin_cpu_supports("avx512f") ? 512 : __builtin_cpu_supports("fma") ? 256 : 0;
    *isa = w == 512 ? "avx512f" : w == 256 ? "avx2+fma" : "none";
    return w == 512 ? peak_of(threads, fma_run_512, 20000000)
         : w == 256 ? peak_of(threads, fma_run_256, 20000000) : 0;
}

int main(int argc, char **argv)
{
    fe_blas_autoselect(argv);
    const char *model = "resnet18";
    const char *precision = "fp32";
    int batch = 512, steps = 3, threads = 0, train_only = 0, eval_only = 0, gemms = 0,
        layers = 0, plain = 0;
    double col_mfloats = 0;     /* Winograd/im2col chunk scratch; 0: the model's default */
    for (int i = 1; i < argc; i += 2) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: bench_train [--model lenet5|resnet18] [--batch B] [--steps S] [--threads T]\n"
                   "                   [--train-only 1 | --eval-only 1] [--precision fp32|bf16]\n"
                   "                   [--col-mfloats M] [--plain-layout 1] [--gemms 1 | --layers 1]\n"
                   "Times S training steps and S evaluation passes on synthetic batches and prints\n"
                   "one line of key=value pairs (images/s, GFLOP/s, share of the FMA peak, RSS).\n"
                   "--plain-layout 1 keeps every activation [C][N][H][W] (the layout the analysis\n"
                   "tools use; in bf16 the convolutions then run on fe_gemm_bf16, AMX tiles where\n"
                   "the CPU has them), in place of the blocked layout the trainer uses.\n");
            return 0;
        }
        if (i + 1 == argc) { fprintf(stderr, "bench_train: %s needs a value\n", argv[i]); return 2; }
        if (!strcmp(argv[i], "--model")) model = argv[i + 1];
        else if (!strcmp(argv[i], "--batch")) batch = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--steps")) steps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--train-only")) train_only = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--eval-only")) eval_only = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--gemms")) gemms = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--layers")) layers = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--precision")) precision = argv[i + 1];
        else if (!strcmp(argv[i], "--plain-layout")) plain = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--col-mfloats")) {
            char *end;
            col_mfloats = strtod(argv[i + 1], &end);
            if (end == argv[i + 1] || *end || !(col_mfloats >= 0 && col_mfloats < 1e6)) {
                fprintf(stderr, "bench_train: --col-mfloats %s: not a size in Mi floats\n", argv[i + 1]);
                return 2;
            }
        }
        else { fprintf(stderr, "bench_train: unknown option %s\n", argv[i]); return 2; }
    }
    const fe_arch *arch = fe_arch_find(model);
    if (!arch || batch < 1 || steps < 1 ||
        (strcmp(precision, "fp32") && strcmp(precision, "bf16"))) {
        fprintf(stderr, "bench_train: bad arguments\n");
        return 2;
    }
    const int bf16 = !strcmp(precision, "bf16");
    const fe_model_opts mode = {.precision = bf16 ? FE_PREC_BF16 : FE_PREC_FP32,
                                .col_floats = (size_t)(col_mfloats * 1048576.0),
                                .plain_layout = plain};
    fe_err err;
    if (fe_arch_supports(arch, &mode, &err)) {
        fprintf(stderr, "bench_train: --precision bf16: %s\n", err.msg);
        return 2;
    }
    threads = fe_blas_threads(threads);
    if (gemms) {
        gemm_table();
        return 0;
    }
    fe_model *m = fe_model_new(arch, batch, &mode, &err);
    if (!m) { fprintf(stderr, "bench_train: %s\n", err.msg); return 1; }
    fe_rng r;
    fe_rng_seed(&r, 1, "bench", 0);
    fe_model_init(m, &r, arch == &fe_resnet18 ? 1e-4 : 0);
    if (layers) {
        layer_table(m, batch, steps);
        fe_model_free(m);
        return 0;
    }
    fe_optim o;
    fe_optim_init(&o, FE_SGD, m->nparams);
    o.lr = 1e-4; o.momentum = 0.9; o.weight_decay = 1e-4;
    uint8_t *img = malloc((size_t)batch * 784);
    int64_t *lab = malloc(sizeof(int64_t) * batch);
    for (size_t i = 0; i < (size_t)batch * 784; i++) {
        double u = fe_rng_uniform(&r);
        img[i] = (uint8_t)(255 * u * u * u);
    }
    for (int i = 0; i < batch; i++)
        lab[i] = (int64_t)fe_rng_below(&r, 10);
    double t_train = 0, t_eval = 0, t_fwd = 0, t_bwd = 0;
    for (int s = 0; s <= (eval_only ? -1 : steps); s++) {   /* step 0 is the warm-up */
        double t = fe_now();
        fe_model_set_input(m, img, NULL, batch, 0.1307f, 0.3081f);
        fe_model_forward(m, batch, 1);
        softmax_xent(10, batch, m->logits, lab, m->dlogits, NULL, NULL);
        double t1 = fe_now();
        fe_model_backward(m, 1, NULL);
        double t2 = fe_now();
        fe_optim_step(&o, m->params, m->grads);
        if (s) {
            t_train += fe_now() - t;
            t_fwd += t1 - t;
            t_bwd += t2 - t1;
        }
    }
    fe_model_fix_weights(m, 1);      /* as train's evaluation: the filters made once */
    for (int s = 0; s <= (train_only ? -1 : steps); s++) {
        double t = fe_now();
        fe_model_set_input(m, img, NULL, batch, 0.1307f, 0.3081f);
        fe_model_forward(m, batch, 0);
        softmax_xent(10, batch, m->logits, lab, NULL, NULL, NULL);
        if (s)
            t_eval += fe_now() - t;
    }
    double first = 0, fwd = forward_flops(m, 0, &first);
    double train_flops = 3 * fwd - first;       /* forward, dW, dX (none for the input) */
    double ips_train = batch * steps / t_train;
    if (eval_only) {
        printf("impl=featevo model=%s precision=%s layout=%s batch=%d threads=%d eval_img_s=%.1f\n",
               model, precision, m->blocked ? "blocked" : "plain", batch, threads,
               batch * steps / t_eval);
        goto done;
    }
    printf("impl=featevo model=%s precision=%s layout=%s batch=%d threads=%d train_img_s=%.1f "
           "train_time_pct_fwd_bwd_step=%.0f/%.0f/%.0f", model, precision,
           m->blocked ? "blocked" : "plain", batch, threads, ips_train,
           100 * t_fwd / t_train, 100 * t_bwd / t_train, 100 * (t_train - t_fwd - t_bwd) / t_train);
    if (!train_only) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        char blas[256];
        const char *isa;
        double peak = fma_peak(threads, &isa), tg = ips_train * train_flops / 1e9,
               eg = batch * steps / t_eval * fwd / 1e9, wown, wblas;
        wino_gemms(256, 1820, 256, 0, 0, 4, &wown, &wblas);     /* layer3's forward, batch 512 */
        printf(" eval_img_s=%.1f train_gflop_img=%.3f train_gflops=%.1f eval_gflops=%.1f "
               "sgemm_peak_gflops=%.1f fma_peak_gflops=%.1f fma_isa=%s train_pct_fma_peak=%.1f "
               "eval_pct_fma_peak=%.1f bf16_dot_peak_gflops=%.1f amx_bf16_peak_gflops=%.1f "
               "bf16_gemm=%s bf16_gemm_gflops=%.1f wino_gemm_gflops=%.1f "
               "wino_gemm_isa=%s wino_gemm_openblas_gflops=%.1f peak_rss_mb=%.0f blas=\"%s\"",
               batch * steps / t_eval, train_flops / 1e9, tg, eg, sgemm_peak(), peak, isa,
               peak > 0 ? 100 * tg / peak : 0, peak > 0 ? 100 * eg / peak : 0, bf16_peak(threads),
               amx_peak(threads),
               !fe_bf16_supported() ? "none" : fe_bf16_kernel_available(FE_BF16_AMX) ? "amx" : "avx512",
               bf16_gemm_gflops(), wown, fe_sgemm_isa(), wblas, ru.ru_maxrss / 1024.0,
               fe_blas_describe(blas, sizeof blas));
        /* the same against the arithmetic really executed: how far from the ceiling
         * (float32 only: bf16's products run at the bf16 dot-product peak instead) */
        double xfirst = 0, xfwd = forward_flops(m, 1, &xfirst), xtrain = 3 * xfwd - xfirst;
        if (!bf16)
            printf(" exec_train_gflop_img=%.6f exec_eval_gflop_img=%.6f ceiling_train_img_s=%.1f "
                   "ceiling_eval_img_s=%.1f train_pct_ceiling=%.1f eval_pct_ceiling=%.1f",
                   xtrain / 1e9, xfwd / 1e9, peak * 1e9 / xtrain, peak * 1e9 / xfwd,
                   peak > 0 ? 100 * ips_train * xtrain / 1e9 / peak : 0,
                   peak > 0 ? 100 * batch * steps / t_eval * xfwd / 1e9 / peak : 0);
    }
    printf("\n");
done:
    free(img); free(lab);
    fe_optim_free(&o);
    fe_model_free(m);
    return 0;
}
