/* test_layers.c - every layer of tools/nn/layers.h against a direct computation
 * and its backward pass against central finite differences.
 *
 * The scalar under test is L = sum(y .* R) for a fixed pseudo-random R, summed in
 * double, so dL/dy = R is what each backward function is handed.  A finite
 * difference perturbs one float by +-h and divides by the step the float actually
 * took ((float)(v + h) - v, not h), so the rounding of the perturbed input does
 * not masquerade as a gradient error.  Inputs of the piecewise-linear layers
 * (ReLU, max-pool) are kept further than h from their kinks, except in the
 * dedicated tie test.  Directional derivatives along random directions check
 * every element at once. */
#include "fe_test.h"

#include <math.h>
#include <omp.h>

#include "conv5x5.h"
#include "gemm_bf16.h"
#include "layers.h"
#include "ops.h"
#include "rng.h"
#include "sgemm.h"

/* ------------------------------------------------------------------ helpers */

static fe_rng rng_for(const char *stream)
{
    fe_rng r;
    fe_rng_seed(&r, 20240229, stream, 0);
    return r;
}

static float *fvec(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof(float));
    assert_non_null(p);
    return p;
}

static float *fdup(const float *x, size_t n)
{
    float *p = fvec(n);
    memcpy(p, x, sizeof(float) * n);
    return p;
}

static void fill_normal(fe_rng *r, float *x, size_t n, double mean, double std)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(mean + std * fe_rng_normal(r));
}

/* Normal values, none closer than `gap` to zero. */
static void fill_away_from_zero(fe_rng *r, float *x, size_t n, double gap)
{
    for (size_t i = 0; i < n; i++) {
        double v;
        do
            v = fe_rng_normal(r);
        while (fabs(v) < gap);
        x[i] = (float)v;
    }
}

static double dotd(const float *y, const float *r, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)y[i] * r[i];
    return s;
}

static double max_abs(const float *x, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(x[i]));
    return m;
}

/* Elementwise |a - b| <= rtol * max(|a|, |b|) + atol. */
static void assert_close_f(const char *what, const float *got, const double *want, size_t n,
                           double rtol, double atol)
{
    int bad = 0;
    size_t first = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!(d <= rtol * fmax(fabs(got[i]), fabs(want[i])) + atol)) {
            if (!bad)
                first = i;
            bad++;
        }
    }
    if (bad)
        fail_msg("%s: %d of %zu values differ; first at [%zu]: got %.9g, want %.9g", what, bad, n,
                 first, (double)got[first], want[first]);
}

static void assert_close_ff(const char *what, const float *got, const float *want, size_t n,
                            double rtol, double atol)
{
    double *w = malloc(sizeof(double) * (n ? n : 1));
    assert_non_null(w);
    for (size_t i = 0; i < n; i++)
        w[i] = want[i];
    assert_close_f(what, got, w, n, rtol, atol);
    free(w);
}

typedef double (*loss_fn)(void *ctx);

/* Central difference of f w.r.t. p[i] for every step-th i, against grad[i]:
 * |fd - g| <= rtol * max(|fd|, |g|) + atol_frac * max|grad| + 1e-7. */
static void fd_check(const char *what, loss_fn f, void *ctx, float *p, size_t n, size_t step,
                     const float *grad, double h, double rtol, double atol_frac)
{
    const double atol = atol_frac * max_abs(grad, n) + 1e-7;
    int bad = 0, checked = 0;
    for (size_t i = 0; i < n; i += step) {
        const float v = p[i];
        p[i] = (float)(v + h);
        const double hp = (double)p[i] - v, lp = f(ctx);
        p[i] = (float)(v - h);
        const double hm = v - (double)p[i], lm = f(ctx);
        p[i] = v;
        const double fd = (lp - lm) / (hp + hm), g = grad[i];
        checked++;
        if (!(fabs(fd - g) <= rtol * fmax(fabs(fd), fabs(g)) + atol)) {
            if (bad < 5)
                print_message("  %s[%zu]: backward %.8g, finite difference %.8g\n", what, i, g, fd);
            bad++;
        }
    }
    if (bad)
        fail_msg("%s: %d of %d derivatives disagree with finite differences", what, bad, checked);
}

/* Directional derivatives along three random directions v: L(p + h v) - L(p - h v)
 * against <grad, actual step>, the step being what the floats actually moved. */
static void dir_check(const char *what, loss_fn f, void *ctx, float *p, size_t n,
                      const float *grad, double h, double rtol)
{
    fe_rng r = rng_for(what);
    float *p0 = fdup(p, n);
    for (int t = 0; t < 3; t++) {
        double pred = 0, scale = 0;
        float *v = fvec(n);
        fill_normal(&r, v, n, 0, 1);
        for (size_t i = 0; i < n; i++)
            p[i] = (float)(p0[i] + h * v[i]);
        for (size_t i = 0; i < n; i++) {
            pred += (double)grad[i] * ((double)p[i] - p0[i]);
            scale += fabs(grad[i] * h * v[i]);
        }
        const double lp = f(ctx);
        for (size_t i = 0; i < n; i++)
            p[i] = (float)(p0[i] - h * v[i]);
        for (size_t i = 0; i < n; i++)
            pred += (double)grad[i] * ((double)p0[i] - p[i]);
        const double lm = f(ctx);
        memcpy(p, p0, sizeof(float) * n);
        const double got = lp - lm;
        if (!(fabs(got - pred) <= rtol * fmax(fabs(got), fabs(pred)) + 1e-3 * scale + 1e-9))
            fail_msg("%s: directional derivative %d: backward predicts %.9g, finite difference %.9g",
                     what, t, pred, got);
        free(v);
    }
    free(p0);
}

/* ------------------------------------------------------------------ conv2d */

/* y[co][img][oh][ow] in double, straight from the definition. */
static void conv_naive(const conv_geom *g, int n, const float *x, const float *w, const float *b,
                       double *y)
{
    const int k = g->k;
    for (int co = 0; co < g->cout; co++)
        for (int img = 0; img < n; img++)
            for (int oh = 0; oh < g->oh; oh++)
                for (int ow = 0; ow < g->ow; ow++) {
                    double s = b ? b[co] : 0.0;
                    for (int ci = 0; ci < g->cin; ci++)
                        for (int ki = 0; ki < k; ki++)
                            for (int kj = 0; kj < k; kj++) {
                                int ih = oh * g->stride - g->pad + ki, iw = ow * g->stride - g->pad + kj;
                                if (ih < 0 || ih >= g->h || iw < 0 || iw >= g->w)
                                    continue;
                                s += (double)w[((size_t)(co * g->cin + ci) * k + ki) * k + kj] *
                                     x[(((size_t)ci * n + img) * g->h + ih) * g->w + iw];
                            }
                    y[(((size_t)co * n + img) * g->oh + oh) * g->ow + ow] = s;
                }
}

typedef struct {
    conv_geom g;
    int n;
    float *x, *w, *b, *y, *R, *col;
    size_t col_cap, ny;
} conv_ctx;

static double conv_loss(void *c)
{
    conv_ctx *k = c;
    conv2d_forward(&k->g, k->n, k->x, k->w, k->b, k->y, k->col, k->col_cap);
    return dotd(k->y, k->R, k->ny);
}

static void conv_case(int cin, int cout, int ksz, int stride, int pad, int h, int w, int n)
{
    char name[128];
    snprintf(name, sizeof name, "conv cin %d cout %d k %d stride %d pad %d %dx%d batch %d", cin,
             cout, ksz, stride, pad, h, w, n);
    fe_rng r = rng_for(name);
    conv_ctx c = {.n = n};
    conv_geom_init(&c.g, cin, cout, ksz, stride, pad, h, w);
    assert_int_equal(c.g.oh, (h + 2 * pad - ksz) / stride + 1);
    assert_int_equal(c.g.ow, (w + 2 * pad - ksz) / stride + 1);
    const size_t nx = (size_t)cin * n * h * w, nw = (size_t)cout * cin * ksz * ksz;
    c.ny = (size_t)cout * n * c.g.oh * c.g.ow;
    assert_int_equal(conv_col_floats(&c.g, 1), (size_t)cin * ksz * ksz * c.g.oh * c.g.ow);
    c.x = fvec(nx);
    c.w = fvec(nw);
    c.b = fvec(cout);
    c.y = fvec(c.ny);
    c.R = fvec(c.ny);
    fill_normal(&r, c.x, nx, 0, 1);
    fill_normal(&r, c.w, nw, 0, 0.5);
    fill_normal(&r, c.b, cout, 0, 1);
    fill_normal(&r, c.R, c.ny, 0, 1);
    double *ref = malloc(sizeof(double) * c.ny), *ref_nb = malloc(sizeof(double) * c.ny);
    conv_naive(&c.g, n, c.x, c.w, c.b, ref);
    conv_naive(&c.g, n, c.x, c.w, NULL, ref_nb);

    /* Reference results of the unchunked pass, to compare the chunked ones with. */
    float *y0 = fvec(c.ny), *dw0 = fvec(nw), *db0 = fvec(cout), *dx0 = fvec(nx);
    /* whole batch at once; two images a chunk (n = 3: chunks of 2 and 1); one at a time */
    size_t caps[3] = {conv_col_floats(&c.g, n), conv_col_floats(&c.g, 2), conv_col_floats(&c.g, 1)};
    int ncaps = n > 2 ? 3 : 2;
    if (n <= 2)
        caps[1] = caps[2];
    for (int ci = 0; ci < ncaps; ci++) {
        c.col_cap = caps[ci];
        /* exactly col_cap floats, so ASan sees any write past the planned scratch */
        c.col = malloc(sizeof(float) * c.col_cap);
        assert_non_null(c.col);
        int chunk = conv_chunk(&c.g, c.col_cap);
        assert_int_equal(chunk, ci == 0 ? n : ci == ncaps - 1 ? 1 : 2);
        char what[200];

        /* forward against the definition, with and without bias */
        conv2d_forward(&c.g, n, c.x, c.w, c.b, c.y, c.col, c.col_cap);
        snprintf(what, sizeof what, "%s chunk %d: forward", name, chunk);
        assert_close_f(what, c.y, ref, c.ny, 1e-5, 1e-5);
        float *ynb = fvec(c.ny);
        conv2d_forward(&c.g, n, c.x, c.w, NULL, ynb, c.col, c.col_cap);
        snprintf(what, sizeof what, "%s chunk %d: forward without bias", name, chunk);
        assert_close_f(what, ynb, ref_nb, c.ny, 1e-5, 1e-5);
        free(ynb);

        /* backward with dL/dy = R */
        float *dw = fvec(nw), *db = fvec(cout), *dx = fvec(nx);
        fill_normal(&r, dw, nw, 0, 1);      /* garbage: must be overwritten */
        fill_normal(&r, db, cout, 0, 1);
        fill_normal(&r, dx, nx, 0, 1);
        conv2d_backward(&c.g, n, c.x, c.w, c.R, dw, db, dx, 0, c.col, c.col_cap);
        if (ci == 0) {
            memcpy(y0, c.y, sizeof(float) * c.ny);
            memcpy(dw0, dw, sizeof(float) * nw);
            memcpy(db0, db, sizeof(float) * cout);
            memcpy(dx0, dx, sizeof(float) * nx);
            /* conv is linear in x, w and b: the differences are exact but for rounding */
            snprintf(what, sizeof what, "%s: dx", name);
            fd_check(what, conv_loss, &c, c.x, nx, 1, dx, 1e-2, 1e-3, 1e-4);
            dir_check(what, conv_loss, &c, c.x, nx, dx, 1e-2, 1e-3);
            snprintf(what, sizeof what, "%s: dw", name);
            fd_check(what, conv_loss, &c, c.w, nw, 1, dw, 1e-2, 1e-3, 1e-4);
            dir_check(what, conv_loss, &c, c.w, nw, dw, 1e-2, 1e-3);
            snprintf(what, sizeof what, "%s: db", name);
            fd_check(what, conv_loss, &c, c.b, cout, 1, db, 1e-2, 1e-3, 1e-4);
        } else {
            snprintf(what, sizeof what, "%s chunk %d: y vs unchunked", name, chunk);
            assert_close_ff(what, c.y, y0, c.ny, 1e-5, 1e-6);
            snprintf(what, sizeof what, "%s chunk %d: dw vs unchunked", name, chunk);
            assert_close_ff(what, dw, dw0, nw, 1e-5, 1e-5);
            snprintf(what, sizeof what, "%s chunk %d: db vs unchunked", name, chunk);
            assert_close_ff(what, db, db0, cout, 1e-6, 1e-6);
            snprintf(what, sizeof what, "%s chunk %d: dx vs unchunked", name, chunk);
            assert_close_ff(what, dx, dx0, nx, 1e-5, 1e-6);
        }

        /* accumulate_dx: dx = D0 + gradient */
        float *acc = fvec(nx), *d0 = fvec(nx);
        fill_normal(&r, d0, nx, 0, 1);
        memcpy(acc, d0, sizeof(float) * nx);
        conv2d_backward(&c.g, n, c.x, c.w, c.R, NULL, NULL, acc, 1, c.col, c.col_cap);
        double *want = malloc(sizeof(double) * nx);
        for (size_t i = 0; i < nx; i++)
            want[i] = (double)d0[i] + dx0[i];
        snprintf(what, sizeof what, "%s chunk %d: accumulated dx", name, chunk);
        assert_close_f(what, acc, want, nx, 1e-5, 1e-5);
        free(want);
        free(acc);
        free(d0);

        /* optional outputs: dx only; dw without db and without dx */
        float *dx2 = fvec(nx), *dw2 = fvec(nw);
        fill_normal(&r, dx2, nx, 0, 1);
        conv2d_backward(&c.g, n, c.x, c.w, c.R, NULL, NULL, dx2, 0, c.col, c.col_cap);
        snprintf(what, sizeof what, "%s chunk %d: dx alone", name, chunk);
        assert_close_ff(what, dx2, dx0, nx, 1e-5, 1e-6);
        conv2d_backward(&c.g, n, c.x, c.w, c.R, dw2, NULL, NULL, 0, c.col, c.col_cap);
        snprintf(what, sizeof what, "%s chunk %d: dw alone", name, chunk);
        assert_close_ff(what, dw2, dw0, nw, 1e-5, 1e-5);
        free(dx2);
        free(dw2);
        free(dw);
        free(db);
        free(dx);
        free(c.col);
    }
    free(ref);
    free(ref_nb);
    free(y0);
    free(dw0);
    free(db0);
    free(dx0);
    free(c.x);
    free(c.w);
    free(c.b);
    free(c.y);
    free(c.R);
}

static void test_conv_k5_pad2(void **state) { conv_case(2, 3, 5, 1, 2, 8, 7, 3); }
static void test_conv_k5_pad0(void **state) { conv_case(3, 2, 5, 1, 0, 9, 8, 3); }
static void test_conv_k3_s1_pad1(void **state) { conv_case(2, 4, 3, 1, 1, 6, 7, 3); }
static void test_conv_k3_s2_pad1(void **state)
{
    conv_case(2, 3, 3, 2, 1, 7, 8, 3);     /* odd and even sizes: 7 -> 4, 8 -> 4 */
    conv_case(3, 2, 3, 2, 1, 14, 14, 2);   /* as ResNet's layer3.0: 14 -> 7 */
}
static void test_conv_k1_s2_pad0(void **state)
{
    conv_case(3, 4, 1, 2, 0, 7, 6, 3);     /* the shortcut geometry: 7 -> 4, 6 -> 3 */
    conv_case(2, 3, 1, 1, 0, 5, 5, 2);
}
static void test_conv_single(void **state) { conv_case(1, 6, 5, 1, 2, 12, 12, 1); }

/* ------------------------------------------------------- Winograd F(4x4,3x3) */

/* Both gradients of the 3x3/stride-1/pad-1 convolution in double, from the
 * definition: dw = sum dy * x, dx = sum w * dy. */
static void conv3_grads_naive(const conv_geom *g, int n, const float *x, const float *w,
                              const float *dy, double *dw, double *dx)
{
    const int H = g->h, W = g->w;
    memset(dw, 0, sizeof(double) * g->cout * g->cin * 9);
    memset(dx, 0, sizeof(double) * g->cin * n * H * W);
    for (int co = 0; co < g->cout; co++)
        for (int ci = 0; ci < g->cin; ci++)
            for (int img = 0; img < n; img++)
                for (int oh = 0; oh < H; oh++)
                    for (int ow = 0; ow < W; ow++) {
                        double d = dy[(((size_t)co * n + img) * H + oh) * W + ow];
                        for (int ki = 0; ki < 3; ki++)
                            for (int kj = 0; kj < 3; kj++) {
                                int ih = oh - 1 + ki, iw = ow - 1 + kj;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                                    continue;
                                size_t xi = (((size_t)ci * n + img) * H + ih) * W + iw;
                                size_t wi = ((size_t)co * g->cin + ci) * 9 + ki * 3 + kj;
                                dw[wi] += d * x[xi];
                                dx[xi] += d * w[wi];
                            }
                    }
}

/* |got - want| <= tol * max|want| everywhere: Winograd's transforms add a few
 * roundings per value, so the bound is relative to the output's scale. */
static void assert_close_scaled(const char *what, const float *got, const double *want, size_t n,
                                double tol)
{
    double scale = 0, worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(want[i]));
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!(d <= worst)) {
            worst = d;
            at = i;
        }
    }
    if (!(worst <= tol * scale))
        fail_msg("%s: error %.3g at [%zu] (got %.9g, want %.9g) > %.1g x max|want| %.3g", what,
                 worst, at, (double)got[at], want[at], tol, scale);
}

static void wino_case(int cin, int cout, int h, int w, int n)
{
    char name[128];
    snprintf(name, sizeof name, "winograd cin %d cout %d %dx%d batch %d", cin, cout, h, w, n);
    fe_rng r = rng_for(name);
    conv_geom g;
    conv_geom_init(&g, cin, cout, 3, 1, 1, h, w);
    assert_true(wino_applies(&g));
    const size_t nx = (size_t)cin * n * h * w, nw = (size_t)cout * cin * 9, ny = (size_t)cout * n * h * w;
    float *x = fvec(nx), *wt = fvec(nw), *dy = fvec(ny), *y = fvec(ny), *dw = fvec(nw), *dx = fvec(nx);
    float *u = fvec(wino_u_floats(&g)), *du = fvec(wino_scratch_floats(&g));
    float *mask = fvec(nx), *masked = fvec(nx);
    fill_normal(&r, x, nx, 0, 1);
    fill_normal(&r, wt, nw, 0, 0.5);
    fill_normal(&r, dy, ny, 0, 1);
    double *yref = malloc(sizeof(double) * ny), *dwref = malloc(sizeof(double) * nw);
    double *dxref = malloc(sizeof(double) * nx), *acc_ref = malloc(sizeof(double) * nx);
    assert_true(yref && dwref && dxref && acc_ref);
    conv_naive(&g, n, x, wt, NULL, yref);
    conv3_grads_naive(&g, n, x, wt, dy, dwref, dxref);
    /* whole batch, two images a chunk, one at a time; exactly the planned scratch */
    const int chunks[3] = {n, 2, 1};
    for (int c = 0; c < 3; c++) {
        size_t cap = wino_col_floats(&g, chunks[c]);
        float *col = malloc(sizeof(float) * cap);
        assert_non_null(col);
        char what[200];
        fill_normal(&r, y, ny, 0, 1);           /* garbage: must be overwritten */
        fill_normal(&r, u, wino_u_floats(&g), 0, 1);
        wino_filters(&g, wt, u);
        wino_forward(&g, n, x, u, y, col, cap);
        snprintf(what, sizeof what, "%s chunk %d: forward", name, chunks[c]);
        assert_close_scaled(what, y, yref, ny, 1e-5);
        fill_normal(&r, dw, nw, 0, 1);
        fill_normal(&r, dx, nx, 0, 1);
        wino_backward(&g, n, x, u, dy, dw, dx, 0, NULL, du, col, cap);
        snprintf(what, sizeof what, "%s chunk %d: dw", name, chunks[c]);
        assert_close_scaled(what, dw, dwref, nw, 1e-5);
        snprintf(what, sizeof what, "%s chunk %d: dx", name, chunks[c]);
        assert_close_scaled(what, dx, dxref, nx, 1e-5);
        /* dx alone, added to what is there */
        fill_normal(&r, dx, nx, 0, 1);
        for (size_t i = 0; i < nx; i++)
            acc_ref[i] = dx[i] + dxref[i];
        wino_backward(&g, n, x, u, dy, NULL, dx, 1, NULL, du, col, cap);
        snprintf(what, sizeof what, "%s chunk %d: accumulated dx", name, chunks[c]);
        assert_close_scaled(what, dx, acc_ref, nx, 1e-5);
        /* the same with a ReLU's backward fused: zero where mask <= 0 (mask
         * values -1, 0 (as a ReLU's outputs often are), 0.5, 1 and 1.5) */
        for (size_t i = 0; i < nx; i++) {
            mask[i] = (float)(i % 3) - 1.0f + (i % 7 == 0 ? 0.5f : 0.0f);
            masked[i] = dx[i];
        }
        wino_backward(&g, n, x, u, dy, NULL, masked, 1, mask, du, col, cap);
        for (size_t i = 0; i < nx; i++)
            acc_ref[i] = mask[i] > 0.0f ? (double)dx[i] + dxref[i] : 0.0;
        snprintf(what, sizeof what, "%s chunk %d: accumulated dx through a ReLU", name, chunks[c]);
        assert_close_scaled(what, masked, acc_ref, nx, 1e-5);
        for (size_t i = 0; i < nx; i++)
            if (mask[i] <= 0.0f && masked[i] != 0.0f)
                fail_msg("%s: [%zu] = %g where the ReLU was off", what, i, (double)masked[i]);
        /* dw alone */
        fill_normal(&r, dw, nw, 0, 1);
        wino_backward(&g, n, x, u, dy, dw, NULL, 0, NULL, du, col, cap);
        snprintf(what, sizeof what, "%s chunk %d: dw alone", name, chunks[c]);
        assert_close_scaled(what, dw, dwref, nw, 1e-5);
        free(col);
    }
    /* A full block of 16 images moves through the transforms by 16 x 16
     * transposes (AVX-512 where the CPU has it), a partial block one lane at a
     * time: the same bits.  Every tile is a column of its own in the products,
     * so an image's output and dx do not depend on its chunk: the whole batch
     * at once must equal one image at a time, bit for bit (forward, and dx
     * added into a base through a ReLU mask).  The whole batch's forward is
     * the fused pass (one tile row of a block at a time) where it applies,
     * one image at a time the unfused one. */
    if (n >= 16) {
        float *yk[2], *dxk[2], *base = fvec(nx);
        fill_normal(&r, base, nx, 0, 1);
        wino_filters(&g, wt, u);
        for (int k = 0; k < 2; k++) {
            size_t cap = wino_col_floats(&g, k ? 1 : n);
            while (k == 0 && !wino_fused_applies(&g, cap) && cap < (size_t)1 << 28)
                cap *= 2;                      /* room for a fused block per thread */
            if (wino_fused_applies(&g, cap) != !k)
                fail_msg("%s: the %s pass was not the one tested", name, k ? "unfused" : "fused");
            float *col = malloc(sizeof(float) * cap);
            yk[k] = fvec(ny);
            dxk[k] = fvec(nx);
            assert_non_null(col);
            wino_forward(&g, n, x, u, yk[k], col, cap);
            memcpy(dxk[k], base, sizeof(float) * nx);
            wino_backward(&g, n, x, u, dy, NULL, dxk[k], 1, mask, du, col, cap);
            free(col);
        }
        if (memcmp(yk[0], yk[1], sizeof(float) * ny) || memcmp(dxk[0], dxk[1], sizeof(float) * nx))
            fail_msg("%s: a block of 16 images does not give the bits of one image at a time",
                     name);
        free(yk[0]); free(yk[1]); free(dxk[0]); free(dxk[1]); free(base);
    }
    free(x); free(wt); free(dy); free(y); free(dw); free(dx); free(u); free(du);
    free(mask); free(masked);
    free(yref); free(dwref); free(dxref); free(acc_ref);
}

/* conv2d in bf16 (train --precision bf16): 3x3 pad 1, stride 1 and 2, against
 * the float64 definition within bf16's rounding (operands to 8 bits: ~2e-3
 * each, summed over cin*9 terms), a result not float32's, and the weight
 * gradient exactly conv2d_backward's (it stays float32). */
static void conv_bf16_case(int cin, int cout, int stride, int h, int n)
{
    char name[128];
    snprintf(name, sizeof name, "conv bf16 cin %d cout %d stride %d %dx%d batch %d", cin, cout,
             stride, h, h, n);
    fe_rng r = rng_for(name);
    conv_geom g;
    conv_geom_init(&g, cin, cout, 3, stride, 1, h, h);
    const size_t nx = (size_t)cin * n * h * h, nw = (size_t)cout * cin * 9,
                 ny = (size_t)cout * n * g.oh * g.ow;
    float *x = fvec(nx), *wt = fvec(nw), *dy = fvec(ny), *y = fvec(ny), *y32 = fvec(ny);
    float *dw = fvec(nw), *dw32 = fvec(nw), *dx = fvec(nx), *dx32 = fvec(nx);
    fill_normal(&r, x, nx, 0, 1);
    fill_normal(&r, wt, nw, 0, 0.5);
    fill_normal(&r, dy, ny, 0, 1);
    double *yref = malloc(sizeof(double) * ny), *dxref = malloc(sizeof(double) * nx);
    assert_true(yref && dxref);
    conv_naive(&g, n, x, wt, NULL, yref);
    memset(dxref, 0, sizeof(double) * nx);
    for (int co = 0; co < cout; co++)               /* dx = sum w * dy, from the definition */
        for (int img = 0; img < n; img++)
            for (int oh = 0; oh < g.oh; oh++)
                for (int ow = 0; ow < g.ow; ow++)
                    for (int ci = 0; ci < cin; ci++)
                        for (int ki = 0; ki < 3; ki++)
                            for (int kj = 0; kj < 3; kj++) {
                                const int ih = oh * stride - 1 + ki, iw = ow * stride - 1 + kj;
                                if (ih < 0 || ih >= h || iw < 0 || iw >= h)
                                    continue;
                                dxref[(((size_t)ci * n + img) * h + ih) * h + iw] +=
                                    (double)dy[(((size_t)co * n + img) * g.oh + oh) * g.ow + ow] *
                                    wt[((size_t)co * cin + ci) * 9 + ki * 3 + kj];
                            }
    const size_t cap = conv_col_floats(&g, 2);      /* chunks of two images */
    float *col = fvec(cap), *scr = fvec(conv_bf16_scratch_floats(&g) + 16);
    conv2d_forward(&g, n, x, wt, NULL, y32, col, cap);
    conv2d_backward(&g, n, x, wt, dy, dw32, NULL, dx32, 0, col, cap);
    conv2d_forward_bf16(&g, n, x, wt, y, col, cap, scr);
    fill_normal(&r, dx, nx, 0, 1);                  /* garbage: must be overwritten */
    conv2d_backward_bf16(&g, n, x, wt, dy, dw, dx, 0, col, cap, scr);
    char what[200];
    snprintf(what, sizeof what, "%s: forward", name);
    assert_close_scaled(what, y, yref, ny, 1e-2);
    snprintf(what, sizeof what, "%s: dx", name);
    assert_close_scaled(what, dx, dxref, nx, 1e-2);
    assert_true(memcmp(y, y32, sizeof(float) * ny) != 0);
    assert_true(memcmp(dx, dx32, sizeof(float) * nx) != 0);
    assert_memory_equal(dw, dw32, sizeof(float) * nw);
    free(x); free(wt); free(dy); free(y); free(y32); free(dw); free(dw32); free(dx); free(dx32);
    free(yref); free(dxref); free(col); free(scr);
}

static void test_conv_bf16(void **state)
{
    if (!fe_bf16_supported()) {
        fprintf(stderr, "test_conv_bf16: SKIPPED: this CPU has no AVX512_BF16\n");
        skip();
    }
    conv_bf16_case(16, 24, 1, 7, 3);
    conv_bf16_case(8, 16, 2, 9, 3);
    conv_bf16_case(1, 8, 1, 6, 5);              /* ResNet-18's conv1: k = 9, odd */
}

/* The bf16-blocked row's AVX512_BF16 kernels against its portable ones (which
 * test_conv_algos checks on every CPU), on the same blocked tensors: y, dw and
 * dx within 1e-5 of their scale, and whether the bits are the same is printed
 * (the portable kernels follow Intel's definition of VDPBF16PS: the odd
 * product added first, then the even one; another CPU may round the pair
 * otherwise).  A stride-1 3x3, a stride-2 3x3 and a 1x1 shortcut, 70 images. */
static void test_conv_bf16_blocked_kernels(void **state)
{
    if (!fe_bf16_supported()) {
        fprintf(stderr, "test_conv_bf16_blocked_kernels: SKIPPED: this CPU has no AVX512_BF16\n");
        skip();
    }
    static const struct { int cin, cout, k, stride, pad, h; } geoms[] = {
        {32, 64, 3, 1, 1, 7}, {16, 72, 3, 2, 1, 9}, {24, 64, 1, 2, 0, 8},
    };
    const int n = 70;
    for (size_t j = 0; j < sizeof geoms / sizeof geoms[0]; j++) {
        char name[128];
        snprintf(name, sizeof name, "bf16-blocked kernels: cin %d cout %d k %d stride %d %dx%d",
                 geoms[j].cin, geoms[j].cout, geoms[j].k, geoms[j].stride, geoms[j].h, geoms[j].h);
        fe_rng r = rng_for(name);
        conv_geom g;
        conv_geom_init(&g, geoms[j].cin, geoms[j].cout, geoms[j].k, geoms[j].stride, geoms[j].pad,
                       geoms[j].h, geoms[j].h);
        g.bx = g.by = 1;
        const size_t nx = (size_t)g.cin * n * g.h * g.w, nw = (size_t)g.cout * g.cin * g.k * g.k,
                     ny = (size_t)g.cout * n * g.oh * g.ow;
        float *x = fvec(nx), *wt = fvec(nw), *dy = fvec(ny),
              *scr = fvec(conv_bf16_blocked_scratch_floats(&g));
        fill_normal(&r, x, nx, 0, 1);
        fill_normal(&r, wt, nw, 0, 0.5);
        fill_normal(&r, dy, ny, 0, 1);
        float *y[2], *dw[2], *dx[2];
        for (int p = 0; p < 2; p++) {               /* 0: AVX512_BF16, 1: portable */
            y[p] = fvec(ny);
            dw[p] = fvec(nw);
            dx[p] = fvec(nx);
            conv2d_forward_bf16_blocked(&g, n, x, wt, y[p], scr, p);
            conv2d_backward_bf16_blocked(&g, n, x, wt, dy, dw[p], dx[p], 0, NULL, scr, p);
        }
        const struct { const char *t; float *const *v; size_t len; } out[3] = {
            {"y", y, ny}, {"dw", dw, nw}, {"dx", dx, nx}};
        double *want = malloc(sizeof(double) * (nx > ny ? (nx > nw ? nx : nw) : (ny > nw ? ny : nw)));
        assert_non_null(want);
        for (int i = 0; i < 3; i++) {
            char what[200];
            for (size_t e = 0; e < out[i].len; e++)
                want[e] = out[i].v[1][e];
            snprintf(what, sizeof what, "%s: %s", name, out[i].t);
            assert_close_scaled(what, out[i].v[0], want, out[i].len, 1e-5);
            fprintf(stderr, "%s: %s, AVX512_BF16 against portable: %s bits\n", name, out[i].t,
                    memcmp(out[i].v[0], out[i].v[1], sizeof(float) * out[i].len) ? "other"
                                                                                  : "the same");
        }
        free(want);
        for (int p = 0; p < 2; p++) {
            free(y[p]); free(dw[p]); free(dx[p]);
        }
        free(x); free(wt); free(dy); free(scr);
    }
}

/* The bf16 rows on the blocked layout sum every output in a fixed order by one
 * thread: 1 and 3 threads give the same bits (portable kernels, so on every
 * CPU; 40 images in two chunks of F(2x2)'s and one of direct's). */
static void test_conv_bf16_threads(void **state)
{
    const fe_conv_algo *rows[] = {&fe_conv_bf16_blocked_portable, &fe_conv_bf16_wino2_portable};
    const int n = 40, threads = omp_get_max_threads();
    for (int i = 0; i < 2; i++) {
        const fe_conv_algo *a = rows[i];
        fe_conv c = {.algo = a};
        conv_geom_init(&c.g, 16, 12, 3, 1, 1, 7, 6);
        c.g.bx = c.g.by = 1;
        fe_rng r = rng_for(a->name);
        const size_t nx = (size_t)16 * n * 42, nw = (size_t)12 * 16 * 9, ny = (size_t)12 * n * 42;
        float *x = fvec(nx), *dy = fvec(ny), *mask = fvec(nx);
        c.w = fvec(nw);
        fill_normal(&r, x, nx, 0, 1);
        fill_normal(&r, dy, ny, 0, 1);
        fill_normal(&r, mask, nx, 0, 1);
        fill_normal(&r, c.w, nw, 0, 0.5);
        fe_conv_ws ws = {.scratch = fvec(a->scratch_floats(&c.g))};
        float *y[2], *dw[2], *dx[2];
        for (int t = 0; t < 2; t++) {
            omp_set_num_threads(t ? 3 : 1);
            c.y = y[t] = fvec(ny);
            dw[t] = fvec(nw);
            dx[t] = fvec(nx);
            a->forward(&ws, &c, n, x);
            a->backward(&ws, &c, n, x, dy, dw[t], dx[t], 0, mask);
        }
        omp_set_num_threads(threads);
        assert_memory_equal(y[0], y[1], sizeof(float) * ny);
        assert_memory_equal(dw[0], dw[1], sizeof(float) * nw);
        assert_memory_equal(dx[0], dx[1], sizeof(float) * nx);
        for (int t = 0; t < 2; t++) {
            free(y[t]); free(dw[t]); free(dx[t]);
        }
        free(x); free(dy); free(mask); free(c.w); free(ws.scratch);
    }
}

/* Map sizes that are and are not multiples of 4 (the others end in part-empty
 * tiles), 1x1 and 2x2 maps, cin != cout both ways, ResNet-18's 7x7 stage, and
 * batches that fill and overflow a block of 16 images. */
static void test_winograd(void **state)
{
    (void)state;
    wino_case(16, 8, 6, 6, 3);
    wino_case(16, 20, 7, 5, 3);
    wino_case(24, 16, 4, 4, 5);
    wino_case(16, 3, 1, 1, 3);
    wino_case(17, 5, 2, 3, 3);
    wino_case(32, 32, 7, 7, 2);
    wino_case(16, 16, 12, 10, 19);     /* two blocks of images (16 + 3) */
    wino_case(16, 4, 32, 32, 17);      /* the largest map it takes */
    wino_case(16, 8, 28, 28, 16);      /* ResNet-18's layer1 map, one whole block */
    conv_geom g;
    conv_geom_init(&g, 16, 16, 3, 1, 1, 33, 8);
    assert_false(wino_applies(&g));
    conv_geom_init(&g, 15, 16, 3, 1, 1, 8, 8);
    assert_false(wino_applies(&g));
    conv_geom_init(&g, 16, 16, 3, 2, 1, 8, 8);
    assert_false(wino_applies(&g));
}

/* Small batches (wino_streams_applies): the filter transforms run block by
 * block beside the products, from w; every output must be the bits of
 * wino_filters + wino_forward / wino_backward (the same sums in the same
 * order).  Shapes with partial blocks of output channels (24 a block) and of
 * input channels (16 a block), part-empty tiles, cin past one FE_SGEMM_KC
 * block.  (The blocked layout goes through the same transforms as here; a
 * block of 16 images would need 256 channels, 48 s under valgrind: ResNet-18
 * of 21 images, blocked, whose layer4 streams, is checked against the plain
 * layout by test_model's test_resnet18_layouts.)  On two threads, as CI has:
 * how many threads' blocks fit in the scratch decides whether it applies. */
static void wino_streamed_case(int cin, int cout, int h, int w, int n)
{
    char name[128];
    snprintf(name, sizeof name, "winograd streamed cin %d cout %d %dx%d batch %d", cin, cout, h,
             w, n);
    fe_rng r = rng_for(name);
    conv_geom g;
    conv_geom_init(&g, cin, cout, 3, 1, 1, h, w);
    const size_t nx = (size_t)cin * n * h * w, nw = (size_t)cout * cin * 9,
                 ny = (size_t)cout * n * h * w, T = (size_t)n * ((h + 3) / 4) * ((w + 3) / 4);
    const size_t cap = wino_col_floats(&g, n) + (size_t)36 * cin * T;
    if (!wino_streams_applies(&g, n, cap) || wino_streams_applies(&g, n, cap - 1))
        fail_msg("%s: the streamed pass does not apply (or needs less col than planned)", name);
    float *x = fvec(nx), *wt = fvec(nw), *dy = fvec(ny), *mask = fvec(nx), *base = fvec(nx);
    float *u = fvec(wino_u_floats(&g)), *scratch = fvec(wino_scratch_floats(&g));
    float *col = fvec(cap), *y[2], *dw[2], *dx[2], *dxm[2], *dwa[2];
    fill_normal(&r, x, nx, 0, 1);
    fill_normal(&r, wt, nw, 0, 0.5);
    fill_normal(&r, dy, ny, 0, 1);
    fill_normal(&r, base, nx, 0, 1);
    for (size_t i = 0; i < nx; i++)
        mask[i] = (float)(i % 3) - 1.0f;
    for (int k = 0; k < 2; k++) {       /* 0: through u and du, 1: streamed */
        y[k] = fvec(ny); dw[k] = fvec(nw); dx[k] = fvec(nx); dxm[k] = fvec(nx); dwa[k] = fvec(nw);
        fill_normal(&r, y[k], ny, 0, 1);          /* garbage: must be overwritten */
        fill_normal(&r, dw[k], nw, 0, 1);
        fill_normal(&r, dwa[k], nw, 0, 1);
        fill_normal(&r, dx[k], nx, 0, 1);
        memcpy(dxm[k], base, sizeof(float) * nx);
        if (k == 0) {
            wino_filters(&g, wt, u);
            wino_forward(&g, n, x, u, y[0], col, cap);
            wino_backward(&g, n, x, u, dy, dw[0], dx[0], 0, NULL, scratch, col, cap);
            wino_backward(&g, n, x, u, dy, NULL, dxm[0], 1, mask, scratch, col, cap);
            wino_backward(&g, n, x, u, dy, dwa[0], NULL, 0, NULL, scratch, col, cap);
        } else {
            wino_forward_streamed(&g, n, x, wt, y[1], col, scratch);
            wino_backward_streamed(&g, n, x, wt, dy, dw[1], dx[1], 0, NULL, scratch, col);
            wino_backward_streamed(&g, n, x, wt, dy, NULL, dxm[1], 1, mask, scratch, col);
            wino_backward_streamed(&g, n, x, wt, dy, dwa[1], NULL, 0, NULL, scratch, col);
        }
    }
    const struct { const char *what; float *const *v; size_t n; } out[] = {
        {"forward", y, ny}, {"dw", dw, nw}, {"dx", dx, nx},
        {"dx added through a ReLU mask", dxm, nx}, {"dw alone", dwa, nw}};
    for (size_t i = 0; i < sizeof out / sizeof out[0]; i++)
        for (size_t j = 0; j < out[i].n; j++)
            if (memcmp(&out[i].v[0][j], &out[i].v[1][j], sizeof(float)))
                fail_msg("%s: %s [%zu] is %.9g streamed, %.9g through u", name, out[i].what, j,
                         (double)out[i].v[1][j], (double)out[i].v[0][j]);
    for (int k = 0; k < 2; k++) {
        free(y[k]); free(dw[k]); free(dx[k]); free(dxm[k]); free(dwa[k]);
    }
    free(x); free(wt); free(dy); free(mask); free(base); free(u); free(scratch); free(col);
}

static void test_winograd_streamed(void **state)
{
    (void)state;
    const int threads = omp_get_max_threads();
    omp_set_num_threads(2);
    wino_streamed_case(40, 26, 4, 4, 1);        /* blocks of 24 + 2 and 16 + 16 + 8 */
    wino_streamed_case(64, 80, 7, 5, 1);        /* 2 x 2 tiles, part-empty */
    wino_streamed_case(96, 64, 4, 4, 4);
    wino_streamed_case(272, 64, 2, 2, 4);       /* cin past one FE_SGEMM_KC block */
    conv_geom g;                /* ResNet-18's layer4 at batch 16, 32 and 64; layer3 at 16 */
    conv_geom_init(&g, 512, 512, 3, 1, 1, 4, 4);
    assert_true(wino_streams_applies(&g, 16, (size_t)1 << 24));
    assert_true(wino_streams_applies(&g, 32, (size_t)1 << 24));
    assert_false(wino_streams_applies(&g, 64, (size_t)1 << 28));
    conv_geom_init(&g, 256, 256, 3, 1, 1, 7, 7);
    assert_false(wino_streams_applies(&g, 16, (size_t)1 << 28));
    omp_set_num_threads(threads);
}

/* ------------------------------------------- every row of the algorithm table */

/* Both gradients of any conv (bias sum too) in double, from the definition. */
static void conv_grads_naive(const conv_geom *g, int n, const float *x, const float *w,
                             const float *dy, double *dw, double *db, double *dx)
{
    const int k = g->k;
    memset(dw, 0, sizeof(double) * g->cout * g->cin * k * k);
    memset(db, 0, sizeof(double) * g->cout);
    memset(dx, 0, sizeof(double) * g->cin * n * g->h * g->w);
    for (int co = 0; co < g->cout; co++)
        for (int img = 0; img < n; img++)
            for (int oh = 0; oh < g->oh; oh++)
                for (int ow = 0; ow < g->ow; ow++) {
                    const double d = dy[(((size_t)co * n + img) * g->oh + oh) * g->ow + ow];
                    db[co] += d;
                    for (int ci = 0; ci < g->cin; ci++)
                        for (int ki = 0; ki < k; ki++)
                            for (int kj = 0; kj < k; kj++) {
                                const int ih = oh * g->stride - g->pad + ki,
                                          iw = ow * g->stride - g->pad + kj;
                                if (ih < 0 || ih >= g->h || iw < 0 || iw >= g->w)
                                    continue;
                                const size_t xi = (((size_t)ci * n + img) * g->h + ih) * g->w + iw;
                                const size_t wi = ((size_t)(co * g->cin + ci) * k + ki) * k + kj;
                                dw[wi] += d * x[xi];
                                dx[xi] += d * w[wi];
                            }
                }
}

typedef struct {
    const fe_conv_algo *a;
    fe_conv_ws ws;
    fe_conv c;
    int n;
    const float *x;
    const float *R;
} algo_ctx;

static double algo_loss(void *vc)          /* L = sum(y .* R) with the row's forward */
{
    algo_ctx *k = vc;
    k->c.state_kept = 0;                    /* the weights may have moved */
    k->a->forward(&k->ws, &k->c, k->n, k->x);
    return dotd(k->c.y, k->R, (size_t)k->c.g.cout * k->n * k->c.g.oh * k->c.g.ow);
}

/* One row on one geometry, in chunks of two images: forward and both gradients
 * against the float64 definition within the row's tolerance of the output's
 * scale, against the direct row, directional derivatives of its own loss
 * (linear in x and w: exact at any step, so a step of 1 keeps a bf16 row's
 * rounding of the perturbed operands small beside it), accumulation into dx,
 * the fused ReLU mask where the row has one, dw without dx, and the same bits
 * from a forward that keeps its state (weights_fixed). */
static void algo_case(const fe_conv_algo *a, int cin, int cout, int k, int stride, int pad, int h,
                      int w, int n, int bias, int blk)
{
    char name[160];
    snprintf(name, sizeof name, "%s: cin %d cout %d k %d stride %d pad %d %dx%d batch %d%s%s",
             a->name, cin, cout, k, stride, pad, h, w, n, bias ? " bias" : "",
             blk == 1 ? " blocked" : blk == 2 ? " blocked y" : "");
    fe_rng r = rng_for(name);
    algo_ctx t = {.a = a, .n = n};
    fe_conv *c = &t.c;
    conv_geom_init(&c->g, cin, cout, k, stride, pad, h, w);
    c->g.bx = blk == 1;                     /* blk 1: x, y blocked; 2: y only (conv1) */
    c->g.by = blk != 0;
    if (a->fits && !a->fits(&c->g, bias))
        fail_msg("%s: the row does not fit this geometry", name);
    const size_t nx = (size_t)cin * n * h * w, nw = (size_t)cout * cin * k * k,
                 ny = (size_t)cout * n * c->g.oh * c->g.ow, hw = (size_t)h * w,
                 ohw = (size_t)c->g.oh * c->g.ow;
    float *x = fvec(nx), *R = fvec(ny);
    c->w = fvec(nw);
    c->b = bias ? fvec(cout) : NULL;
    c->y = fvec(ny);
    c->state = a->state_floats ? fvec(a->state_floats(&c->g)) : NULL;
    c->algo = a;
    t.x = x;
    t.R = R;
    fill_normal(&r, x, nx, 0, 1);
    fill_normal(&r, c->w, nw, 0, 0.5);
    if (bias)
        fill_normal(&r, c->b, cout, 0, 0.5);
    fill_normal(&r, R, ny, 0, 1);
    /* exactly what the row asks for, so ASan sees a write past it */
    t.ws.col_cap = a->col_floats(&c->g, 2);
    t.ws.col = fvec(t.ws.col_cap);
    t.ws.scratch = a->scratch_floats ? fvec(a->scratch_floats(&c->g)) : NULL;
    const double tol = a->tolerance;

    double *yref = malloc(sizeof(double) * ny), *dwref = malloc(sizeof(double) * nw),
           *dbref = malloc(sizeof(double) * cout), *dxref = malloc(sizeof(double) * nx);
    assert_true(yref && dwref && dbref && dxref);
    conv_naive(&c->g, n, x, c->w, c->b, yref);
    conv_grads_naive(&c->g, n, x, c->w, R, dwref, dbref, dxref);
    /* from here on x, R, y and dx are in the row's layouts; plain copies
     * (unpacked) are compared with the references */
    float *xplain = x, *Rplain = R, *plain = fvec(nx > ny ? nx : ny);
    if (c->g.bx) {
        x = fvec(nx);
        fe_blk_pack(cin, n, hw, xplain, x);
    }
    if (c->g.by) {
        R = fvec(ny);
        fe_blk_pack(cout, n, ohw, Rplain, R);
    }
    t.x = x;
    t.R = R;
    char what[240];

    a->forward(&t.ws, c, n, x);
    snprintf(what, sizeof what, "%s: forward", name);
    if (c->g.by)
        fe_blk_unpack(cout, n, ohw, c->y, plain);
    assert_close_scaled(what, c->g.by ? plain : c->y, yref, ny, tol);
    float *y1 = fdup(c->y, ny);
    t.ws.weights_fixed = 1;                 /* state made once, then reused: same bits */
    c->state_kept = 0;
    for (int i = 0; i < 2; i++) {
        a->forward(&t.ws, c, n, x);
        snprintf(what, sizeof what, "%s: forward %d with fixed weights", name, i);
        if (memcmp(c->y, y1, sizeof(float) * ny))
            fail_msg("%s: other bits", what);
    }
    t.ws.weights_fixed = 0;

    float *dw = fvec(nw), *dx = fvec(nx);
    c->dw = dw;
    c->db = bias ? fvec(cout) : NULL;
    fill_normal(&r, dw, nw, 0, 1);          /* garbage: must be overwritten */
    fill_normal(&r, dx, nx, 0, 1);
    assert_int_equal(a->backward(&t.ws, c, n, x, R, dw, dx, 0, NULL), 0);
    snprintf(what, sizeof what, "%s: dw", name);
    assert_close_scaled(what, dw, dwref, nw, tol);
    snprintf(what, sizeof what, "%s: dx", name);
    if (c->g.bx)
        fe_blk_unpack(cin, n, hw, dx, plain);
    assert_close_scaled(what, c->g.bx ? plain : dx, dxref, nx, tol);
    if (bias) {
        snprintf(what, sizeof what, "%s: db", name);
        assert_close_scaled(what, c->db, dbref, cout, tol);
    }

    /* against the direct row, the reference every other row is measured by */
    if (a != &fe_conv_direct) {
        fe_conv d = *c;
        d.algo = &fe_conv_direct;
        d.y = fvec(ny);
        float *ddw = fvec(nw), *ddx = fvec(nx);
        d.db = bias ? fvec(cout) : NULL;
        /* in the blocked layout a chunk is the whole block (n < 16 here) */
        fe_conv_ws dws = {.col_cap = conv_col_floats(&c->g, blk ? n : 2)};
        dws.col = fvec(dws.col_cap);
        fe_conv_direct.forward(&dws, &d, n, x);
        fe_conv_direct.backward(&dws, &d, n, x, R, ddw, ddx, 0, NULL);
        double *dd = malloc(sizeof(double) * (nx > nw ? (nx > ny ? nx : ny) : (nw > ny ? nw : ny)));
        assert_non_null(dd);
        for (size_t i = 0; i < ny; i++)
            dd[i] = d.y[i];
        snprintf(what, sizeof what, "%s: forward against direct", name);
        assert_close_scaled(what, y1, dd, ny, 2 * tol);
        for (size_t i = 0; i < nw; i++)
            dd[i] = ddw[i];
        snprintf(what, sizeof what, "%s: dw against direct", name);
        assert_close_scaled(what, dw, dd, nw, 2 * tol);
        for (size_t i = 0; i < nx; i++)
            dd[i] = ddx[i];
        snprintf(what, sizeof what, "%s: dx against direct", name);
        assert_close_scaled(what, dx, dd, nx, 2 * tol);
        free(dd); free(d.y); free(d.db); free(ddw); free(ddx); free(dws.col);
    }

    /* finite differences of the row's own loss */
    const double rtol = tol > 1e-3 ? 10 * tol : 1e-3;
    snprintf(what, sizeof what, "%s: dx, directional", name);
    dir_check(what, algo_loss, &t, x, nx, dx, 1.0, rtol);
    snprintf(what, sizeof what, "%s: dw, directional", name);
    dir_check(what, algo_loss, &t, c->w, nw, dw, 1.0, rtol);
    a->forward(&t.ws, c, n, x);             /* the state of the unperturbed weights */

    /* accumulate_dx: dx = D0 + gradient; with a mask, the fused ReLU backward */
    float *acc = fvec(nx), *mask = fvec(nx);
    double *want = malloc(sizeof(double) * nx);
    assert_non_null(want);
    for (int masked = 0; masked < 2; masked++) {
        fill_normal(&r, acc, nx, 0, 1);
        for (size_t i = 0; i < nx; i++) {
            mask[i] = (float)(i % 3) - 1.0f + (i % 7 == 0 ? 0.5f : 0.0f);  /* -1, 0, 0.5 ... */
            want[i] = (double)acc[i] + dx[i];
        }
        const int fused = a->backward(&t.ws, c, n, x, R, NULL, acc, 1, masked ? mask : NULL);
        assert_true(fused == 0 || (masked && fused == 1));
        if (masked && !fused)
            relu_backward(nx, mask, acc, acc);
        for (size_t i = 0; masked && i < nx; i++)
            if (mask[i] <= 0.0f)
                want[i] = 0.0;
        snprintf(what, sizeof what, "%s: accumulated dx%s", name, masked ? " through a ReLU" : "");
        assert_close_scaled(what, acc, want, nx, tol);
        for (size_t i = 0; masked && i < nx; i++)
            if (mask[i] <= 0.0f && acc[i] != 0.0f)
                fail_msg("%s: [%zu] = %g where the ReLU was off", what, i, (double)acc[i]);
    }

    /* dw alone: the same bits as with dx */
    float *dw2 = fvec(nw);
    a->backward(&t.ws, c, n, x, R, dw2, NULL, 0, NULL);
    snprintf(what, sizeof what, "%s: dw without dx", name);
    if (memcmp(dw2, dw, sizeof(float) * nw))
        fail_msg("%s: other bits", what);

    free(dw2); free(acc); free(mask); free(want); free(y1);
    free(dw); free(dx); free(c->db); free(yref); free(dwref); free(dbref); free(dxref);
    if (x != xplain)
        free(xplain);
    if (R != Rplain)
        free(Rplain);
    free(plain);
    free(x); free(R); free(c->w); free(c->b); free(c->y); free(c->state);
    free(t.ws.col); free(t.ws.scratch);
}

/* Every row of fe_conv_algos on every geometry of this list it fits: a new row
 * is tested by adding it to the table.  The geometries: Winograd's (map sizes
 * and not multiples of 4, cin != cout), stride 2, a 1x1 shortcut, 5x5 with a
 * bias, ResNet-18's conv1 (one input channel), and 70 images twice (blocks
 * of the blocked layout in several chunks, the last partial: F(2x2)'s weight
 * gradient takes them in two).  A row that takes only the blocked
 * layout runs each geometry blocked (conv1's: images plain, y blocked); the
 * bf16-blocked row runs here with its portable kernels too, on every CPU. */
static void test_conv_algos(void **state)
{
    static const struct { int cin, cout, k, stride, pad, h, w, n, bias; } geoms[] = {
        {16, 8, 3, 1, 1, 6, 6, 3, 0},   {16, 20, 3, 1, 1, 7, 5, 3, 0}, {24, 16, 3, 1, 1, 4, 4, 5, 0},
        {8, 16, 3, 2, 1, 9, 9, 3, 0},   {16, 12, 1, 2, 0, 7, 7, 3, 0}, {3, 5, 5, 1, 2, 8, 7, 3, 1},
        {1, 8, 3, 1, 1, 6, 6, 5, 0},    {16, 12, 3, 2, 1, 7, 7, 70, 0}, {16, 12, 3, 1, 1, 5, 6, 70, 0},
    };
    const fe_conv_algo *extra[] = {&fe_conv_bf16_blocked_portable, &fe_conv_bf16_wino2_portable,
                                   NULL};
    int rows = 0, cases = 0;
    const fe_conv_algo *all[16];
    int na = 0;
    for (int i = 0; fe_conv_algos[i]; i++)
        all[na++] = fe_conv_algos[i];
    for (int i = 0; extra[i]; i++)
        all[na++] = extra[i];
    for (int i = 0; i < na; i++) {
        const fe_conv_algo *a = all[i];
        if (a->available && !a->available()) {
            fprintf(stderr, "test_conv_algos: SKIPPED row %s: this CPU does not run it\n",
                    a->name);
            continue;
        }
        rows++;
        int fitted = 0;
        for (size_t j = 0; j < sizeof geoms / sizeof geoms[0]; j++) {
            conv_geom g;
            conv_geom_init(&g, geoms[j].cin, geoms[j].cout, geoms[j].k, geoms[j].stride,
                           geoms[j].pad, geoms[j].h, geoms[j].w);
            int blk = 0;
            if (a->fits && !a->fits(&g, geoms[j].bias)) {
                g.bx = g.cin > 1;
                g.by = 1;
                if (!a->fits(&g, geoms[j].bias))
                    continue;
                blk = g.bx ? 1 : 2;
            }
            algo_case(a, geoms[j].cin, geoms[j].cout, geoms[j].k, geoms[j].stride, geoms[j].pad,
                      geoms[j].h, geoms[j].w, geoms[j].n, geoms[j].bias, blk);
            fitted++;
        }
        if (!fitted)
            fail_msg("row %s fits none of the test's geometries: add one it takes", a->name);
        cases += fitted;
    }
    assert_true(rows >= 3);
    if (getenv("FE_TEST_VERBOSE"))
        fprintf(stderr, "test_conv_algos: %d rows, %d cases\n", rows, cases);
}

/* bf16-winograd2 fuses its products with the inverse transforms only where
 * the 16 planes of U take at most 1 MiB (winograd2_bf16.c); above that (192
 * channels: 1.2 MiB) it stores M and dV and transforms them after.  That path,
 * which ResNet-18's layer3 and layer4 take, on the portable kernels (every
 * CPU) and on AVX512_BF16 where the CPU has it: 17 images, a partial block;
 * 3x2 maps, a partial tile in each direction. */
static void test_conv_wino2_unfused(void **state)
{
    const fe_conv_algo *rows[] = {&fe_conv_bf16_wino2_portable, &fe_conv_bf16_wino2};
    for (int i = 0; i < 2; i++) {
        if (rows[i]->available && !rows[i]->available()) {
            fprintf(stderr, "test_conv_wino2_unfused: SKIPPED row %s: this CPU does not run it\n",
                    rows[i]->name);
            continue;
        }
        algo_case(rows[i], 192, 192, 3, 1, 1, 3, 2, 17, 0, 1);
    }
}

/* The blocked layout (layers.h) against the plain one, row by row: the same
 * conv on the same values, x, dy and the mask packed into blocks, the results
 * unpacked.  Batches with a partial block (5, 21), and scratch for one block
 * of 16 images, so that 21 images run as two chunks.  Winograd's tiles are
 * numbered by blocks of 16 images in both layouts, and our own GEMM sums every
 * element in the same order wherever it sits: their y, dx and dw are the same
 * bits.  The im2col rows' y and dx are the same sums too (OpenBLAS's within
 * 1e-6); their dw sums the columns in the blocked order (within 1e-5).  Then
 * ResNet-18's first conv, plain images in, blocked out (bx 0, by 1). */
static void blk_case(const fe_conv_algo *a, int cin, int cout, int k, int stride, int pad, int h,
                     int w, int n, int bx)
{
    char name[160];
    snprintf(name, sizeof name, "%s blocked: cin %d cout %d k %d stride %d %dx%d batch %d bx %d",
             a->name, cin, cout, k, stride, h, w, n, bx);
    fe_rng r = rng_for(name);
    fe_conv c = {.algo = a};
    conv_geom_init(&c.g, cin, cout, k, stride, pad, h, w);
    const size_t hw = (size_t)h * w, ohw = (size_t)c.g.oh * c.g.ow, nx = (size_t)cin * n * hw,
                 nw = (size_t)cout * cin * k * k, ny = (size_t)cout * n * ohw;
    float *x = fvec(nx), *dy = fvec(ny), *mask = fvec(nx), *xb = fvec(nx), *dyb = fvec(ny),
          *maskb = fvec(nx);
    c.w = fvec(nw);
    fill_normal(&r, x, nx, 0, 1);
    fill_normal(&r, dy, ny, 0, 1);
    fill_normal(&r, mask, nx, 0, 1);
    fill_normal(&r, c.w, nw, 0, 0.5);
    if (bx) {
        fe_blk_pack(cin, n, hw, x, xb);
        fe_blk_pack(cin, n, hw, mask, maskb);
    } else {
        memcpy(xb, x, sizeof(float) * nx);
    }
    fe_blk_pack(cout, n, ohw, dy, dyb);
    fe_conv_ws ws = {.col_cap = a->col_floats(&c.g, 16)};
    ws.col = fvec(ws.col_cap);
    ws.scratch = a->scratch_floats ? fvec(a->scratch_floats(&c.g)) : NULL;
    c.state = a->state_floats ? fvec(a->state_floats(&c.g)) : NULL;
    float *y[2], *dw[2], *dx[2];
    for (int b = 0; b < 2; b++) {           /* 0: plain, 1: blocked */
        c.g.bx = b && bx;
        c.g.by = b;
        c.y = y[b] = fvec(ny);
        dw[b] = fvec(nw);
        dx[b] = fvec(nx);
        c.state_kept = 0;
        a->forward(&ws, &c, n, b ? xb : x);
        const float *mk = !bx ? NULL : b ? maskb : mask;
        if (!a->backward(&ws, &c, n, b ? xb : x, b ? dyb : dy, dw[b], bx ? dx[b] : NULL, 0, mk) &&
            bx)
            relu_backward(nx, mk, dx[b], dx[b]);    /* what a row that does not fuse it leaves */
    }
    float *yu = fvec(ny), *dxu = fvec(nx);
    fe_blk_unpack(cout, n, ohw, y[1], yu);
    if (bx)
        fe_blk_unpack(cin, n, hw, dx[1], dxu);
    const int same = a != &fe_conv_direct;  /* our GEMM, or Winograd's products */
    double *want = malloc(sizeof(double) * (nx > ny ? (nx > nw ? nx : nw) : (ny > nw ? ny : nw)));
    assert_non_null(want);
    char what[240];
    const struct { const char *t; const float *got, *ref; size_t len; double tol; } cmp[3] = {
        {"y", yu, y[0], ny, same ? 0 : 1e-6},
        {"dx", dxu, dx[0], bx ? nx : 0, same ? 0 : 1e-6},
        {"dw", dw[1], dw[0], nw, a == &fe_conv_winograd ? 0 : 1e-5},
    };
    for (int i = 0; i < 3; i++) {
        snprintf(what, sizeof what, "%s: %s", name, cmp[i].t);
        for (size_t j = 0; cmp[i].tol == 0 && j < cmp[i].len; j++)
            if (memcmp(cmp[i].got + j, cmp[i].ref + j, sizeof(float)))
                fail_msg("%s: [%zu] is %.9g, the plain layout's %.9g", what, j,
                         (double)cmp[i].got[j], (double)cmp[i].ref[j]);
        for (size_t j = 0; j < cmp[i].len; j++)
            want[j] = cmp[i].ref[j];
        assert_close_scaled(what, cmp[i].got, want, cmp[i].len, cmp[i].tol);
    }
    free(want); free(yu); free(dxu);
    for (int b = 0; b < 2; b++) {
        free(y[b]); free(dw[b]); free(dx[b]);
    }
    free(x); free(dy); free(mask); free(xb); free(dyb); free(maskb); free(c.w); free(ws.col);
    free(ws.scratch); free(c.state);
}

static void test_conv_blocked(void **state)
{
    static const struct { int cin, cout, k, stride, pad, h, w; } geoms[] = {
        {16, 8, 3, 1, 1, 6, 6}, {16, 20, 3, 1, 1, 7, 5}, {8, 16, 3, 2, 1, 9, 9},
        {16, 12, 1, 2, 0, 7, 7},
    };
    static const int batches[] = {5, 21};
    int cases = 0;
    for (int i = 0; fe_conv_algos[i]; i++) {
        const fe_conv_algo *a = fe_conv_algos[i];
        if (a->precision != FE_PREC_FP32)
            continue;
        for (size_t j = 0; j < sizeof geoms / sizeof geoms[0]; j++)
            for (int b = 0; b < 2; b++) {
                conv_geom g;
                conv_geom_init(&g, geoms[j].cin, geoms[j].cout, geoms[j].k, geoms[j].stride,
                               geoms[j].pad, geoms[j].h, geoms[j].w);
                if (a->fits && !a->fits(&g, 0))
                    continue;
                blk_case(a, geoms[j].cin, geoms[j].cout, geoms[j].k, geoms[j].stride,
                         geoms[j].pad, geoms[j].h, geoms[j].w, batches[b], 1);
                cases++;
            }
    }
    blk_case(&fe_conv_direct, 1, 8, 3, 1, 1, 6, 6, 21, 0);
    assert_true(cases >= 12);
}

/* The direct convolution's forward and weight gradient with y blocked read
 * the patch matrix in place (implicit im2col, conv2d_sgemm.c): the same bits
 * as im2col's matrix handed to fe_sgemm_threads, chunk by chunk for dw, as
 * before; its input gradient, made and added 32 columns at a time, the same
 * bits as W^T dy then col2im_add, accumulated into dx and masked.  Cases: x
 * blocked and plain, a last block of 5 images, odd pixel counts (a pixel's 16
 * columns astride two of the GEMM's 32-column strips), K over the GEMM's
 * 256-row blocks (a block from the middle of a channel's rows), dw shared
 * among the threads by rows (K < cout), and on 3 threads one or two image
 * blocks, each cut into runs of channels for dx; dx with W^T copied into
 * col and with W read in place.  (Kept small: test_layers
 * also runs under valgrind in make test.) */
static void test_conv_implicit(void **state)
{
    static const struct { int cin, cout, k, stride, pad, h, n, threads; } cases[] = {
        {40, 24, 3, 2, 1, 9, 21, 1}, {8, 40, 3, 2, 1, 14, 21, 3}, {16, 40, 1, 2, 0, 7, 21, 1},
        {20, 16, 3, 1, 1, 5, 33, 2}, {24, 20, 3, 2, 1, 9, 9, 3},
    };
    const int threads = omp_get_max_threads();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const int nt = cases[i].threads;     /* 3: one or two blocks cut into channel runs */
        omp_set_num_threads(nt);
        for (int bx = 0; bx < 2; bx++) {
            conv_geom g;
            conv_geom_init(&g, cases[i].cin, cases[i].cout, cases[i].k, cases[i].stride,
                           cases[i].pad, cases[i].h, cases[i].h);
            g.bx = bx;
            g.by = 1;
            const int n = cases[i].n, K = g.cin * g.k * g.k;
            const size_t nx = (size_t)g.cin * n * g.h * g.w, ohw = (size_t)g.oh * g.ow,
                         ldy = (size_t)n * ohw, ny = (size_t)g.cout * ldy,
                         nw = (size_t)g.cout * K;
            const size_t cap = conv_col_floats(&g, 16);       /* chunks of 16 images */
            char name[120];
            snprintf(name, sizeof name, "implicit im2col: cin %d cout %d k %d stride %d %dx%d "
                     "batch %d bx %d threads %d", g.cin, g.cout, g.k, g.stride, g.h, g.w, n, bx,
                     nt);
            fe_rng r = rng_for(name);
            float *x = fvec(nx), *w = fvec(nw), *dy = fvec(ny), *y = fvec(ny), *yref = fvec(ny),
                  *dw = fvec(nw), *dwref = fvec(nw), *col = fvec(conv_col_floats(&g, n)),
                  *dx = fvec(nx), *dxref = fvec(nx), *mask = fvec(nx);
            fill_normal(&r, x, nx, 0, 1);
            fill_normal(&r, mask, nx, 0, 1);
            fill_normal(&r, w, nw, 0, 0.5);
            fill_normal(&r, dy, ny, 0, 1);
            im2col(&g, n, 0, n, x, col);
            fe_sgemm_threads(0, 0, g.cout, (int)ldy, K, w, K, col, (int)ldy, 0, yref, (int)ldy);
            const int chunk = conv_chunk(&g, cap);
            assert_true(chunk < n || n <= FE_NB);
            for (int n0 = 0; n0 < n; n0 += chunk) {
                const int nc = n - n0 < chunk ? n - n0 : chunk, cols = (int)(nc * ohw);
                im2col(&g, n, n0, nc, x, col);
                fe_sgemm_threads(0, 1, g.cout, K, cols, dy + n0 * ohw, (int)ldy, col, cols,
                                 n0 != 0, dwref, K);
            }
            for (size_t j = 0; j < nx; j++)         /* dx accumulated into, then masked */
                dxref[j] = dx[j] = (float)((j * 7919) % 1000) * 1e-3f - 0.5f;
            for (int n0 = 0; n0 < n; n0 += chunk) {
                const int nc = n - n0 < chunk ? n - n0 : chunk, cols = (int)(nc * ohw);
                fe_sgemm_threads(1, 0, K, cols, g.cout, w, K, dy + n0 * ohw, (int)ldy, 0, col,
                                 cols);
                col2im_add(&g, n, n0, nc, col, dxref, mask);
            }
            conv2d_forward_sgemm(&g, n, x, w, y, col, cap);
            conv2d_backward_sgemm(&g, n, x, w, dy, dw, NULL, 0, col, cap, NULL);
            conv2d_backward_sgemm(&g, n, x, w, dy, NULL, dx, 1, col, cap, mask);
            for (size_t j = 0; j < ny; j++)
                if (memcmp(y + j, yref + j, sizeof(float)))
                    fail_msg("%s: y[%zu] is %.9g, im2col's %.9g", name, j, (double)y[j],
                             (double)yref[j]);
            for (size_t j = 0; j < nw; j++)
                if (memcmp(dw + j, dwref + j, sizeof(float)))
                    fail_msg("%s: dw[%zu] is %.9g, im2col's %.9g", name, j, (double)dw[j],
                             (double)dwref[j]);
            for (size_t j = 0; j < nx; j++)
                if (memcmp(dx + j, dxref + j, sizeof(float)))
                    fail_msg("%s: dx[%zu] is %.9g, col2im's %.9g", name, j, (double)dx[j],
                             (double)dxref[j]);
            /* That dx read W^T copied into col; with one float less of col,
             * the products read W in place: the same bits again. */
            const size_t wt_cap = (size_t)nt * K * 32 + (size_t)K * g.cout;
            assert_true(cap >= wt_cap && ldy >= 128);   /* (dx_implicit's conditions for W^T) */
            for (size_t j = 0; j < nx; j++)
                dx[j] = (float)((j * 7919) % 1000) * 1e-3f - 0.5f;
            conv2d_backward_sgemm(&g, n, x, w, dy, NULL, dx, 1, col, wt_cap - 1, mask);
            for (size_t j = 0; j < nx; j++)
                if (memcmp(dx + j, dxref + j, sizeof(float)))
                    fail_msg("%s: dx[%zu] with W in place is %.9g, col2im's %.9g", name, j,
                             (double)dx[j], (double)dxref[j]);
            free(x); free(w); free(dy); free(y); free(yref); free(dw); free(dwref); free(col);
            free(dx); free(dxref); free(mask);
        }
    }
    omp_set_num_threads(threads);
}

/* The average pool reads the blocked layout's pixels in the plain order: the same bits. */
static void test_avgpool_blocked(void **state)
{
    const int c = 3, n = 21, hw = 16;
    const size_t nx = (size_t)c * n * hw;
    fe_rng r = rng_for("avgpool blocked");
    float *x = fvec(nx), *xb = fvec(nx), *y = fvec((size_t)c * n), *yb = fvec((size_t)c * n);
    float *dx = fvec(nx), *dxb = fvec(nx), *dxu = fvec(nx);
    fill_normal(&r, x, nx, 0, 1);
    fe_blk_pack(c, n, hw, x, xb);
    avgpool_forward(c, n, hw, 0, x, y);
    avgpool_forward(c, n, hw, 1, xb, yb);
    assert_memory_equal(y, yb, sizeof(float) * c * n);
    avgpool_backward(c, n, hw, 0, y, dx);
    avgpool_backward(c, n, hw, 1, y, dxb);
    fe_blk_unpack(c, n, hw, dxb, dxu);
    assert_memory_equal(dx, dxu, sizeof(float) * nx);
    fe_blk_unpack(c, n, hw, xb, dxu);       /* and the conversions are each other's inverse */
    assert_memory_equal(x, dxu, sizeof(float) * nx);
    assert_int_equal(fe_blk_off(21, 17, 16, 3), 16 * 16 + 3 * 5 + 1);
    free(x); free(xb); free(y); free(yb); free(dx); free(dxb); free(dxu);
}

/* im2col of a chunk in the middle of a batch against the patches read directly. */
static void test_im2col(void **state)
{
    conv_geom g;
    conv_geom_init(&g, 2, 1, 3, 2, 1, 7, 6);
    const int n = 4, n0 = 1, nc = 2, K = 2 * 3 * 3;
    const size_t nx = (size_t)2 * n * 7 * 6, cols = (size_t)nc * g.oh * g.ow;
    fe_rng r = rng_for("im2col");
    float *x = fvec(nx), *col = fvec(conv_col_floats(&g, nc));
    fill_normal(&r, x, nx, 0, 1);
    im2col(&g, n, n0, nc, x, col);
    for (int ci = 0; ci < 2; ci++)
        for (int ki = 0; ki < 3; ki++)
            for (int kj = 0; kj < 3; kj++)
                for (int j = 0; j < nc; j++)
                    for (int oh = 0; oh < g.oh; oh++)
                        for (int ow = 0; ow < g.ow; ow++) {
                            int ih = oh * 2 - 1 + ki, iw = ow * 2 - 1 + kj;
                            float want = (ih < 0 || ih >= 7 || iw < 0 || iw >= 6) ? 0.0f
                                       : x[(((size_t)ci * n + n0 + j) * 7 + ih) * 6 + iw];
                            size_t row = (size_t)(ci * 3 + ki) * 3 + kj;
                            size_t cc = ((size_t)j * g.oh + oh) * g.ow + ow;
                            assert_true(row < (size_t)K);
                            if (col[row * cols + cc] != want)
                                fail_msg("im2col[%zu][%zu] = %g, want %g", row, cc,
                                         (double)col[row * cols + cc], (double)want);
                        }
    free(x);
    free(col);
}

/* ------------------------------------------------------------------ batch norm */

typedef struct {
    bn_geom g;
    int64_t m;
    int train;
    float *x, *gamma, *beta, *y, *sm, *si, *rm, *rv, *R;
    int64_t nbt;
} bn_ctx;

static double bn_loss(void *c)
{
    bn_ctx *k = c;
    size_t n = (size_t)k->g.c * k->m;
    if (k->train)   /* the running stats move on every call; the loss does not use them */
        bn_forward_train(&k->g, k->m, k->x, k->gamma, k->beta, k->y, k->sm, k->si, k->rm, k->rv,
                         &k->nbt, NULL);
    else
        bn_forward_eval(&k->g, k->m, k->x, k->gamma, k->beta, k->rm, k->rv, k->y, NULL);
    return dotd(k->y, k->R, n);
}

static bn_ctx bn_setup(const char *stream, int c, int64_t m, int train)
{
    fe_rng r = rng_for(stream);
    bn_ctx k = {.g = {.c = c, .eps = 1e-5f, .momentum = 0.1f}, .m = m, .train = train};
    size_t n = (size_t)c * m;
    k.x = fvec(n);
    k.y = fvec(n);
    k.R = fvec(n);
    k.gamma = fvec(c);
    k.beta = fvec(c);
    k.sm = fvec(c);
    k.si = fvec(c);
    k.rm = fvec(c);
    k.rv = fvec(c);
    /* each channel its own offset and spread: means far from zero relative to the spread */
    for (int ch = 0; ch < c; ch++) {
        fill_normal(&r, k.x + (size_t)ch * m, (size_t)m, 4.0 * (ch - 1), 0.3 + 0.5 * ch);
        k.gamma[ch] = (float)(0.5 + fe_rng_uniform(&r));
        k.beta[ch] = (float)fe_rng_normal(&r);
        k.rm[ch] = (float)(4.0 * (ch - 1) + 0.2 * fe_rng_normal(&r));
        k.rv[ch] = (float)(0.2 + fe_rng_uniform(&r));
    }
    fill_normal(&r, k.R, n, 0, 1);
    k.nbt = 5;
    return k;
}

static void bn_free(bn_ctx *k)
{
    free(k->x); free(k->y); free(k->R); free(k->gamma); free(k->beta);
    free(k->sm); free(k->si); free(k->rm); free(k->rv);
}

static void test_bn_train_forward_and_stats(void **state)
{
    const int C = 3;
    const int64_t M = 2 * 3 * 5;    /* N 2, 3x5: not a multiple of any vector width */
    bn_ctx k = bn_setup("bn train stats", C, M, 1);
    float *rm0 = fdup(k.rm, C), *rv0 = fdup(k.rv, C);
    bn_forward_train(&k.g, M, k.x, k.gamma, k.beta, k.y, k.sm, k.si, k.rm, k.rv, &k.nbt, NULL);
    assert_int_equal(k.nbt, 6);
    double *want = malloc(sizeof(double) * C * M);
    for (int c = 0; c < C; c++) {
        const float *xc = k.x + (size_t)c * M;
        double s = 0, v = 0;
        for (int64_t i = 0; i < M; i++)
            s += xc[i];
        double mean = s / M;
        for (int64_t i = 0; i < M; i++)
            v += (xc[i] - mean) * (xc[i] - mean);
        double var = v / M, unbiased = v / (M - 1), invstd = 1.0 / sqrt(var + 1e-5);
        for (int64_t i = 0; i < M; i++)
            want[(size_t)c * M + i] = (xc[i] - mean) * invstd * k.gamma[c] + k.beta[c];
        double wm = 0.9 * rm0[c] + 0.1 * mean, wv = 0.9 * rv0[c] + 0.1 * unbiased;
        if (fabs(k.sm[c] - mean) > 1e-6 * fabs(mean) + 1e-7)
            fail_msg("channel %d: saved mean %.9g, want %.9g", c, (double)k.sm[c], mean);
        if (fabs(k.si[c] - invstd) > 1e-6 * invstd)
            fail_msg("channel %d: saved invstd %.9g, want %.9g", c, (double)k.si[c], invstd);
        if (fabs(k.rm[c] - wm) > 1e-6 * fabs(wm) + 1e-7)
            fail_msg("channel %d: running_mean %.9g, want 0.9*%.9g + 0.1*%.9g = %.9g", c,
                     (double)k.rm[c], (double)rm0[c], mean, wm);
        if (fabs(k.rv[c] - wv) > 1e-6 * wv)
            fail_msg("channel %d: running_var %.9g, want 0.9*%.9g + 0.1*%.9g (unbiased) = %.9g;"
                     " with the biased variance it would be %.9g", c, (double)k.rv[c],
                     (double)rv0[c], unbiased, wv, 0.9 * rv0[c] + 0.1 * var);
    }
    assert_close_f("bn train forward", k.y, want, (size_t)C * M, 1e-5, 1e-5);
    /* nbt NULL is allowed; a second step moves the running stats again */
    bn_forward_train(&k.g, M, k.x, k.gamma, k.beta, k.y, k.sm, k.si, k.rm, k.rv, NULL, NULL);
    assert_int_equal(k.nbt, 6);
    for (int c = 0; c < C; c++) {
        double wm = 0.9 * (0.9 * rm0[c] + 0.1 * k.sm[c]) + 0.1 * k.sm[c];
        assert_true(fabs(k.rm[c] - wm) <= 1e-6 * fabs(wm) + 1e-7);
    }
    free(want);
    free(rm0);
    free(rv0);
    bn_free(&k);
}

static void test_bn_train_gradients(void **state)
{
    const int C = 3;
    const int64_t M = 2 * 3 * 3;
    bn_ctx k = bn_setup("bn train grad", C, M, 1);
    const size_t n = (size_t)C * M;
    float *dx = fvec(n), *dg = fvec(C), *dbeta = fvec(C);
    bn_forward_train(&k.g, M, k.x, k.gamma, k.beta, k.y, k.sm, k.si, k.rm, k.rv, &k.nbt, NULL);
    float *sm = fdup(k.sm, C), *si = fdup(k.si, C);
    bn_backward_train(&k.g, M, k.x, k.R, k.gamma, sm, si, dx, dg, dbeta);
    /* normalisation makes L invariant to shifting a channel: its dx sums to zero */
    for (int c = 0; c < C; c++) {
        double s = 0, a = 0;
        for (int64_t i = 0; i < M; i++) {
            s += dx[(size_t)c * M + i];
            a += fabs(dx[(size_t)c * M + i]);
        }
        if (fabs(s) > 1e-5 * a)
            fail_msg("channel %d: sum of dx %.3g (sum |dx| %.3g), want 0", c, s, a);
    }
    /* each channel's step relative to its spread (0.3, 0.8, 1.3) */
    fd_check("bn train dx", bn_loss, &k, k.x, n, 1, dx, 1e-3, 1e-2, 1e-3);
    dir_check("bn train dx", bn_loss, &k, k.x, n, dx, 1e-3, 1e-2);
    fd_check("bn train dgamma", bn_loss, &k, k.gamma, C, 1, dg, 1e-2, 1e-3, 1e-4);
    fd_check("bn train dbeta", bn_loss, &k, k.beta, C, 1, dbeta, 1e-2, 1e-3, 1e-4);
    /* optional parameter gradients */
    float *dx2 = fvec(n);
    bn_backward_train(&k.g, M, k.x, k.R, k.gamma, sm, si, dx2, NULL, NULL);
    assert_memory_equal(dx2, dx, sizeof(float) * n);
    free(dx2);
    free(dx); free(dg); free(dbeta); free(sm); free(si);
    bn_free(&k);
}

static void test_bn_eval(void **state)
{
    const int C = 3;
    const int64_t M = 4 * 2 * 2;
    bn_ctx k = bn_setup("bn eval", C, M, 0);
    const size_t n = (size_t)C * M;
    k.rv[0] = 2e-4f;     /* small enough for eps (1e-5) to matter at 1e-5 relative tolerance */
    float *rm0 = fdup(k.rm, C), *rv0 = fdup(k.rv, C), *dx = fvec(n);
    bn_forward_eval(&k.g, M, k.x, k.gamma, k.beta, k.rm, k.rv, k.y, NULL);
    double *want = malloc(sizeof(double) * n);
    for (int c = 0; c < C; c++)
        for (int64_t i = 0; i < M; i++)
            want[(size_t)c * M + i] = ((double)k.x[(size_t)c * M + i] - k.rm[c]) /
                                      sqrt((double)k.rv[c] + 1e-5) * k.gamma[c] + k.beta[c];
    assert_close_f("bn eval forward", k.y, want, n, 1e-5, 1e-5);
    assert_memory_equal(k.rm, rm0, sizeof(float) * C);     /* eval leaves the stats alone */
    assert_memory_equal(k.rv, rv0, sizeof(float) * C);
    assert_int_equal(k.nbt, 5);
    float *dg = fvec(C), *db = fvec(C);
    bn_backward_eval(&k.g, M, k.x, k.R, k.gamma, k.rm, k.rv, dx, dg, db);
    fd_check("bn eval dx", bn_loss, &k, k.x, n, 1, dx, 1e-2, 1e-3, 1e-4);
    dir_check("bn eval dx", bn_loss, &k, k.x, n, dx, 1e-2, 1e-3);
    fd_check("bn eval dgamma", bn_loss, &k, k.gamma, C, 1, dg, 1e-2, 1e-3, 1e-4);
    fd_check("bn eval dbeta", bn_loss, &k, k.beta, C, 1, db, 1e-2, 1e-3, 1e-4);
    float *dx2 = fvec(n);             /* the parameter gradients are optional */
    bn_backward_eval(&k.g, M, k.x, k.R, k.gamma, k.rm, k.rv, dx2, NULL, NULL);
    assert_memory_equal(dx, dx2, sizeof(float) * n);
    free(want); free(rm0); free(rv0); free(dx); free(dx2); free(dg); free(db);
    bn_free(&k);
}

/* bn_post: the residual addition and the ReLU applied in BatchNorm's pass give
 * the bits of BatchNorm, then the addition, then relu_forward as separate
 * passes (what ResNet-18's forward ran before they were fused), in training
 * and evaluation and with each part alone. */
static void test_bn_post(void **state)
{
    const int C = 3;
    const int64_t M = 37;       /* not a multiple of any vector width */
    const size_t n = (size_t)C * M;
    fe_rng r = rng_for("bn post");
    float *res = fvec(n), *want = fvec(n), *got = fvec(n);
    fill_normal(&r, res, n, 0, 1);
    for (int train = 0; train <= 1; train++)
        for (int with_res = 0; with_res <= 1; with_res++)
            for (int relu = 0; relu <= 1; relu++) {
                bn_ctx k = bn_setup("bn post", C, M, train);
                const bn_post post = {.res = with_res ? res : NULL, .relu = relu};
                float *rm = fdup(k.rm, C), *rv = fdup(k.rv, C);
                bn_loss(&k);                   /* y = bn(x), then the separate passes */
                memcpy(want, k.y, sizeof(float) * n);
                for (size_t i = 0; with_res && i < n; i++)
                    want[i] += res[i];
                if (relu)
                    for (size_t i = 0; i < n; i++)
                        want[i] = want[i] > 0.0f ? want[i] : 0.0f;
                memcpy(k.rm, rm, sizeof(float) * C);    /* the same running stats again */
                memcpy(k.rv, rv, sizeof(float) * C);
                if (train)
                    bn_forward_train(&k.g, M, k.x, k.gamma, k.beta, got, k.sm, k.si, k.rm, k.rv,
                                     NULL, &post);
                else
                    bn_forward_eval(&k.g, M, k.x, k.gamma, k.beta, k.rm, k.rv, got, &post);
                size_t zeros = 0;
                for (size_t i = 0; i < n; i++)
                    zeros += want[i] == 0.0f;
                if (relu)        /* the ReLU cuts somewhere, and not everywhere */
                    assert_true(zeros > n / 8 && zeros < n - n / 8);
                if (memcmp(got, want, sizeof(float) * n))
                    fail_msg("train %d, residual %d, relu %d: the fused pass differs from the "
                             "separate ones", train, with_res, relu);
                free(rm);
                free(rv);
                bn_free(&k);
            }
    free(res); free(want); free(got);
}

/* ------------------------------------------------------------------ relu */

typedef struct {
    size_t n;
    float *x, *y, *R;
} ew_ctx;

static double relu_loss(void *c)
{
    ew_ctx *k = c;
    memcpy(k->y, k->x, sizeof(float) * k->n);
    relu_forward(k->n, k->y);
    return dotd(k->y, k->R, k->n);
}

static void test_relu(void **state)
{
    fe_rng r = rng_for("relu");
    ew_ctx k = {.n = 203};
    k.x = fvec(k.n);
    k.y = fvec(k.n);
    k.R = fvec(k.n);
    fill_away_from_zero(&r, k.x, k.n, 0.05);     /* h = 1e-2: no input within h of the kink */
    fill_normal(&r, k.R, k.n, 0, 1);
    relu_loss(&k);
    int pos = 0;
    for (size_t i = 0; i < k.n; i++) {
        assert_true(k.y[i] == (k.x[i] > 0 ? k.x[i] : 0.0f));
        pos += k.x[i] > 0;
    }
    assert_true(pos > 50 && pos < 150);
    float *dx = fvec(k.n);
    relu_backward(k.n, k.y, k.R, dx);
    fd_check("relu dx", relu_loss, &k, k.x, k.n, 1, dx, 1e-2, 1e-4, 1e-6);
    dir_check("relu dx", relu_loss, &k, k.x, k.n, dx, 1e-2, 1e-4);
    /* in place, dx == dy */
    float *g = fdup(k.R, k.n);
    relu_backward(k.n, k.y, g, g);
    assert_memory_equal(g, dx, sizeof(float) * k.n);
    /* at exactly zero the gradient is zero, as PyTorch's threshold_backward gives */
    float z[3] = {0.0f, -0.0f, 1.0f}, dz[3] = {1, 1, 1}, d[3];
    relu_forward(3, z);
    relu_backward(3, z, dz, d);
    assert_true(d[0] == 0.0f && d[1] == 0.0f && d[2] == 1.0f);
    free(g); free(dx); free(k.x); free(k.y); free(k.R);
}

/* ------------------------------------------------------------------ pools */

typedef struct {
    int c, n, h, w;
    float *x, *y, *R;
} pool_ctx;

static double maxpool_loss(void *p)
{
    pool_ctx *k = p;
    maxpool2_forward(k->c, k->n, k->h, k->w, k->x, k->y);
    return dotd(k->y, k->R, (size_t)k->c * k->n * (k->h / 2) * (k->w / 2));
}

static void test_maxpool(void **state)
{
    fe_rng r = rng_for("maxpool");
    pool_ctx k = {.c = 2, .n = 3, .h = 6, .w = 8};
    const size_t nx = (size_t)k.c * k.n * k.h * k.w, ny = nx / 4;
    k.x = fvec(nx);
    k.y = fvec(ny);
    k.R = fvec(ny);
    /* distinct values 0.01 apart (> 2h) in random order: no ties, no near-ties */
    int64_t *perm = malloc(sizeof(int64_t) * nx);
    for (size_t i = 0; i < nx; i++)
        perm[i] = (int64_t)i;
    fe_rng_permute(&r, perm, (int64_t)nx);
    for (size_t i = 0; i < nx; i++)
        k.x[i] = (float)(0.01 * (double)perm[i] - 1.0);
    free(perm);
    fill_normal(&r, k.R, ny, 0, 1);
    maxpool_loss(&k);
    for (int p = 0; p < k.c * k.n; p++)
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++) {
                const float *q = k.x + (size_t)p * 48 + 2 * i * 8 + 2 * j;
                float m = fmaxf(fmaxf(q[0], q[1]), fmaxf(q[8], q[9]));
                assert_true(k.y[(size_t)p * 12 + i * 4 + j] == m);
            }
    float *dx = fvec(nx);
    fill_normal(&r, dx, nx, 0, 1);   /* must be overwritten */
    maxpool2_backward(k.c, k.n, k.h, k.w, k.x, k.R, dx);
    size_t nonzero = 0;
    for (size_t i = 0; i < nx; i++)
        nonzero += dx[i] != 0.0f;
    assert_int_equal(nonzero, ny);
    fd_check("maxpool dx", maxpool_loss, &k, k.x, nx, 1, dx, 1e-3, 1e-3, 1e-5);
    dir_check("maxpool dx", maxpool_loss, &k, k.x, nx, dx, 1e-3, 1e-3);
    free(dx); free(k.x); free(k.y); free(k.R);
}

/* Ties: the gradient goes to the first maximum in row-major window order
 * (top-left, top-right, bottom-left, bottom-right), as PyTorch's max_pool2d. */
static void test_maxpool_ties(void **state)
{
    static const struct {
        float v[4];
        int want;
    } cases[] = {
        {{1, 1, 1, 1}, 0},     {{2, 1, 1, 2}, 0},      {{1, 2, 1, 2}, 1},
        {{1, 1, 2, 2}, 2},     {{1, 2, 2, 1}, 1},      {{3, 3, 3, 1}, 0},
        {{0, 3, 3, 3}, 1},     {{-1, -2, -1, -1}, 0},  {{-2, -5, -1, -1}, 2},
        {{0.0f, -0.0f, -1, -1}, 0}, {{-0.0f, 0.0f, -1, -1}, 0}, {{-3, -1, -2, -1}, 1},
    };
    const int nc = (int)(sizeof cases / sizeof cases[0]);
    /* all cases side by side in one 2 x (2*nc) map, channel 0 of a batch of 1 */
    const int h = 2, w = 2 * nc;
    float *x = fvec((size_t)h * w), *y = fvec(nc), *dy = fvec(nc), *dx = fvec((size_t)h * w);
    for (int t = 0; t < nc; t++) {
        x[2 * t] = cases[t].v[0];
        x[2 * t + 1] = cases[t].v[1];
        x[w + 2 * t] = cases[t].v[2];
        x[w + 2 * t + 1] = cases[t].v[3];
        dy[t] = (float)(t + 1);
    }
    maxpool2_forward(1, 1, h, w, x, y);
    maxpool2_backward(1, 1, h, w, x, dy, dx);
    for (int t = 0; t < nc; t++) {
        const int pos[4] = {2 * t, 2 * t + 1, w + 2 * t, w + 2 * t + 1};
        const float *v = cases[t].v;
        float m = fmaxf(fmaxf(v[0], v[1]), fmaxf(v[2], v[3]));
        assert_true(y[t] == m);
        for (int q = 0; q < 4; q++) {
            float want = q == cases[t].want ? dy[t] : 0.0f;
            if (dx[pos[q]] != want)
                fail_msg("tie case %d {%g %g / %g %g}: gradient %g at window position %d, want %g",
                         t, (double)v[0], (double)v[1], (double)v[2], (double)v[3],
                         (double)dx[pos[q]], q, (double)want);
        }
    }
    free(x); free(y); free(dy); free(dx);
}

typedef struct {
    int c, n, hw;
    float *x, *y, *R;
} avg_ctx;

static double avgpool_loss(void *p)
{
    avg_ctx *k = p;
    avgpool_forward(k->c, k->n, k->hw, 0, k->x, k->y);
    return dotd(k->y, k->R, (size_t)k->c * k->n);
}

static void test_avgpool(void **state)
{
    const int hws[2] = {16, 9};
    for (int t = 0; t < 2; t++) {
        fe_rng r = rng_for(t ? "avgpool 9" : "avgpool 16");
        avg_ctx k = {.c = 3, .n = 2, .hw = hws[t]};
        const size_t nx = (size_t)k.c * k.n * k.hw, ny = (size_t)k.c * k.n;
        k.x = fvec(nx);
        k.y = fvec(ny);
        k.R = fvec(ny);
        fill_normal(&r, k.x, nx, 0.5, 1);
        fill_normal(&r, k.R, ny, 0, 1);
        avgpool_loss(&k);
        double *want = malloc(sizeof(double) * ny);
        for (size_t p = 0; p < ny; p++) {
            double s = 0;
            for (int i = 0; i < k.hw; i++)
                s += k.x[p * k.hw + i];
            want[p] = s / k.hw;
        }
        assert_close_f("avgpool forward", k.y, want, ny, 1e-6, 1e-6);
        float *dx = fvec(nx);
        avgpool_backward(k.c, k.n, k.hw, 0, k.R, dx);
        fd_check("avgpool dx", avgpool_loss, &k, k.x, nx, 1, dx, 1e-2, 1e-3, 1e-4);
        dir_check("avgpool dx", avgpool_loss, &k, k.x, nx, dx, 1e-2, 1e-3);
        free(want); free(dx); free(k.x); free(k.y); free(k.R);
    }
}

/* ------------------------------------------------------------------ linear */

typedef struct {
    int in, out, n;
    float *x, *w, *b, *y, *R;
} lin_ctx;

static double linear_loss(void *p)
{
    lin_ctx *k = p;
    linear_forward(k->in, k->out, k->n, k->x, k->w, k->b, k->y);
    return dotd(k->y, k->R, (size_t)k->out * k->n);
}

static void test_linear(void **state)
{
    fe_rng r = rng_for("linear");
    lin_ctx k = {.in = 7, .out = 5, .n = 3};
    const size_t nx = (size_t)k.in * k.n, nw = (size_t)k.out * k.in, ny = (size_t)k.out * k.n;
    k.x = fvec(nx);
    k.w = fvec(nw);
    k.b = fvec(k.out);
    k.y = fvec(ny);
    k.R = fvec(ny);
    fill_normal(&r, k.x, nx, 0, 1);
    fill_normal(&r, k.w, nw, 0, 0.5);
    fill_normal(&r, k.b, k.out, 0, 1);
    fill_normal(&r, k.R, ny, 0, 1);
    linear_loss(&k);
    double *want = malloc(sizeof(double) * ny);
    for (int o = 0; o < k.out; o++)
        for (int j = 0; j < k.n; j++) {
            double s = k.b[o];
            for (int i = 0; i < k.in; i++)
                s += (double)k.w[o * k.in + i] * k.x[i * k.n + j];
            want[o * k.n + j] = s;
        }
    assert_close_f("linear forward", k.y, want, ny, 1e-5, 1e-6);
    float *ynb = fvec(ny);
    linear_forward(k.in, k.out, k.n, k.x, k.w, NULL, ynb);
    for (int o = 0; o < k.out; o++)
        for (int j = 0; j < k.n; j++)
            want[o * k.n + j] -= k.b[o];
    assert_close_f("linear forward without bias", ynb, want, ny, 1e-5, 1e-6);
    float *dw = fvec(nw), *db = fvec(k.out), *dx = fvec(nx);
    fill_normal(&r, dw, nw, 0, 1);   /* garbage: must be overwritten */
    fill_normal(&r, db, k.out, 0, 1);
    fill_normal(&r, dx, nx, 0, 1);
    linear_backward(k.in, k.out, k.n, k.x, k.w, k.R, dw, db, dx);
    fd_check("linear dx", linear_loss, &k, k.x, nx, 1, dx, 1e-2, 1e-3, 1e-4);
    dir_check("linear dx", linear_loss, &k, k.x, nx, dx, 1e-2, 1e-3);
    fd_check("linear dw", linear_loss, &k, k.w, nw, 1, dw, 1e-2, 1e-3, 1e-4);
    dir_check("linear dw", linear_loss, &k, k.w, nw, dw, 1e-2, 1e-3);
    fd_check("linear db", linear_loss, &k, k.b, k.out, 1, db, 1e-2, 1e-3, 1e-4);
    float *dx2 = fvec(nx);
    linear_backward(k.in, k.out, k.n, k.x, k.w, k.R, NULL, NULL, dx2);
    assert_memory_equal(dx2, dx, sizeof(float) * nx);
    free(dx2); free(ynb); free(want); free(dw); free(db); free(dx);
    free(k.x); free(k.w); free(k.b); free(k.y); free(k.R);
}

/* ------------------------------------------------------------------ softmax cross-entropy */

typedef struct {
    int k, n;
    float *logits;
    int64_t *labels;
} xent_ctx;

static double xent_loss(void *p)
{
    xent_ctx *c = p;
    return softmax_xent(c->k, c->n, c->logits, c->labels, NULL, NULL, NULL);
}

/* Mean cross-entropy computed directly, in long double. */
static double xent_direct(int k, int n, const float *lg, const int64_t *lab, double *each)
{
    long double total = 0;
    for (int j = 0; j < n; j++) {
        long double mx = lg[j];
        for (int c = 1; c < k; c++)
            mx = fmaxl(mx, lg[(size_t)c * n + j]);
        long double s = 0;
        for (int c = 0; c < k; c++)
            s += expl((long double)lg[(size_t)c * n + j] - mx);
        long double l = mx + logl(s) - lg[(size_t)lab[j] * n + j];
        each[j] = (double)l;
        total += l;
    }
    return (double)(total / n);
}

static void test_softmax_xent(void **state)
{
    fe_rng r = rng_for("xent");
    const int K = 10, N = 6;
    xent_ctx c = {.k = K, .n = N};
    c.logits = fvec((size_t)K * N);
    c.labels = malloc(sizeof(int64_t) * N);
    fill_normal(&r, c.logits, (size_t)K * N, 0, 2);
    for (int j = 0; j < N; j++)
        c.labels[j] = (int64_t)fe_rng_below(&r, K);
    /* image 4: huge logits (exp would overflow without the max shift) */
    for (int cl = 0; cl < K; cl++)
        c.logits[(size_t)cl * N + 4] += 1000.0f;
    /* image 5: its label has the largest logit by far (loss ~ 0, a sure hit) */
    c.labels[5] = 3;
    c.logits[3 * N + 5] = 30.0f;

    double each[6], want_each[6];
    float *dl = fvec((size_t)K * N);
    int64_t correct = 100;     /* counts are added, so batches can be summed */
    double loss = softmax_xent(K, N, c.logits, c.labels, dl, &correct, each);
    double want = xent_direct(K, N, c.logits, c.labels, want_each);
    /* absolute slack: lse = max + log(s) carries the rounding of |max| ~ 1000 in double,
     * and log(1 + 1e-12) its own; both are far below float resolution */
    if (!(fabs(loss - want) <= 1e-12 * fabs(want) + 1e-12))
        fail_msg("loss %.17g, direct computation %.17g", loss, want);
    for (int j = 0; j < N; j++)
        if (!(fabs(each[j] - want_each[j]) <= 1e-12 * fabs(want_each[j]) + 1e-12))
            fail_msg("loss of image %d: %.17g, want %.17g", j, each[j], want_each[j]);
    int64_t want_correct = 100;
    for (int j = 0; j < N; j++) {
        int arg = 0;
        for (int cl = 1; cl < K; cl++)
            if (c.logits[(size_t)cl * N + j] > c.logits[(size_t)arg * N + j])
                arg = cl;
        want_correct += arg == c.labels[j];
    }
    assert_int_equal(correct, want_correct);
    assert_true(correct >= 101);
    /* gradient: softmax - onehot over n, each column summing to zero */
    for (int j = 0; j < N; j++) {
        double s = 0;
        for (int cl = 0; cl < K; cl++)
            s += dl[(size_t)cl * N + j];
        assert_true(fabs(s) < 1e-7);
    }
    fd_check("softmax_xent dlogits", xent_loss, &c, c.logits, (size_t)K * N, 1, dl, 1e-3, 1e-3,
             1e-4);
    dir_check("softmax_xent dlogits", xent_loss, &c, c.logits, (size_t)K * N, dl, 1e-3, 1e-3);
    /* optional outputs */
    double l2 = softmax_xent(K, N, c.logits, c.labels, NULL, NULL, NULL);
    assert_true(l2 == loss);
    assert_true(softmax_xent(K, 0, c.logits, c.labels, NULL, NULL, NULL) == 0.0);

    /* argmax ties: the first of equal maxima is the prediction (torch.argmax) */
    float tl[10 * 3] = {0};
    int64_t tlab[3] = {3, 3, 7};
    for (int j = 0; j < 3; j++) {
        tl[3 * 3 + j] = 5.0f;
        tl[7 * 3 + j] = 5.0f;
    }
    int64_t tc = 0;
    double tloss = softmax_xent(10, 3, tl, tlab, NULL, &tc, NULL);
    assert_int_equal(tc, 2);
    assert_true(fabs(tloss - (log(2 * exp(5.0) + 8.0) - 5.0)) < 1e-12);
    free(dl); free(c.logits); free(c.labels);
}

/* ------------------------------------------------------------------ LeNet-5 fast paths */

/* Multiples of 0.5 in [-1, 2]: ties and ReLU zeros in most pool windows. */
static void fill_ties(fe_rng *r, float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(0.5 * ((double)fe_rng_below(r, 7) - 2));
}

/* bias + ReLU + pool forward and pool + ReLU backward, chunk by chunk, in both
 * output layouts, against the reference layers: bit for bit. */
static void pool_fast_case(int c, int n, int h, int w, int chunk)
{
    fe_rng r = rng_for("pool fast");
    const size_t ny = (size_t)c * n * h * w, s = (size_t)(h / 2) * (w / 2), np = (size_t)c * n * s;
    float *x = fvec(ny), *b = fvec(c), *yref = fvec(ny), *pref = fvec(np), *dp = fvec(np);
    float *dzref = fvec(ny);
    double *dbref = calloc(c, sizeof(double));
    fill_ties(&r, x, ny);
    fill_ties(&r, b, c);
    fill_normal(&r, dp, np, 0, 1);
    for (size_t i = 0; i < ny; i++)
        yref[i] = x[i] + b[i / ((size_t)n * h * w)];
    relu_forward(ny, yref);
    maxpool2_forward(c, n, h, w, yref, pref);
    maxpool2_backward(c, n, h, w, yref, dp, dzref);
    relu_backward(ny, yref, dzref, dzref);
    for (size_t i = 0; i < ny; i++)
        dbref[i / ((size_t)n * h * w)] += dzref[i];
    for (int flat = 0; flat < 2; flat++) {
        const size_t pcs = flat ? s * n : (size_t)n * s, pis = flat ? 1 : s, pss = flat ? (size_t)n : 1;
        float *y = fdup(x, ny), *p = fvec(np), *pl = fvec(np), *dpl = fvec(np), *dz = fvec(ny);
        float *db = fvec(c);
        for (int ch = 0; ch < c; ch++)
            for (int i = 0; i < n; i++)
                for (size_t k = 0; k < s; k++)
                    dpl[ch * pcs + i * pis + k * pss] = dp[((size_t)ch * n + i) * s + k];
        for (int n0 = 0; n0 < n; n0 += chunk) {
            int nc = n - n0 < chunk ? n - n0 : chunk;
            bias_relu_maxpool2_forward(c, n, n0, nc, h, w, b, y, pl, pcs, pis, pss);
            maxpool2_relu_backward(c, n, n0, nc, h, w, y, dpl, pcs, pis, pss, dz, db);
        }
        for (int ch = 0; ch < c; ch++)
            for (int i = 0; i < n; i++)
                for (size_t k = 0; k < s; k++)
                    p[((size_t)ch * n + i) * s + k] = pl[ch * pcs + i * pis + k * pss];
        assert_memory_equal(y, yref, sizeof(float) * ny);
        assert_memory_equal(p, pref, sizeof(float) * np);
        assert_memory_equal(dz, dzref, sizeof(float) * ny);
        assert_close_f("pool fast db", db, dbref, c, 1e-5, 1e-6);
        free(y); free(p); free(pl); free(dpl); free(dz); free(db);
    }
    free(x); free(b); free(yref); free(pref); free(dp); free(dzref); free(dbref);
}

static void test_pool_fast(void **state)
{
    pool_fast_case(3, 1, 4, 6, 1);
    pool_fast_case(2, 3, 10, 10, 2);
    pool_fast_case(16, 17, 10, 10, 8);
    pool_fast_case(16, 3, 10, 10, 4);
}

/* conv2d_forward_chunk / conv2d_backward_chunk, chunk by chunk with the columns
 * kept per chunk, against conv2d_forward / conv2d_backward. */
static void conv_chunk_case(int cin, int cout, int pad, int h, int w, int n, int chunk)
{
    fe_rng r = rng_for("conv chunk");
    conv_geom g;
    conv_geom_init(&g, cin, cout, 5, 1, pad, h, w);
    const size_t nx = (size_t)cin * n * h * w, ny = (size_t)cout * n * g.oh * g.ow;
    const size_t nw = (size_t)cout * cin * 25, per = conv_col_floats(&g, 1);
    float *x = fvec(nx), *wt = fvec(nw), *dy = fvec(ny), *col = fvec(per * n);
    float *yref = fvec(ny), *dwref = fvec(nw), *dxref = fvec(nx);
    fill_normal(&r, x, nx, 0, 1);
    fill_normal(&r, wt, nw, 0, 0.2);
    fill_normal(&r, dy, ny, 0, 1);
    conv2d_forward(&g, n, x, wt, NULL, yref, col, per * n);
    conv2d_backward(&g, n, x, wt, dy, dwref, NULL, dxref, 0, col, per * n);
    float *y = fvec(ny), *kept = fvec(per * n), *dcol = fvec(per * chunk), *dwp = fvec(nw);
    float *dx = fvec(nx);
    double *dw = calloc(nw, sizeof(double)), *want = calloc(nx > ny ? nx : ny, sizeof(double));
    for (int n0 = 0; n0 < n; n0 += chunk) {
        int nc = n - n0 < chunk ? n - n0 : chunk;
        conv2d_forward_chunk(&g, n, n0, nc, x, wt, y, kept + per * n0);
        conv2d_backward_chunk(&g, n, n0, nc, wt, dy, kept + per * n0, dwp, dcol, dx);
        for (size_t i = 0; i < nw; i++)
            dw[i] += dwp[i];
    }
    for (size_t i = 0; i < ny; i++)
        want[i] = yref[i];
    assert_close_f("conv chunk y", y, want, ny, 1e-5, 1e-5);
    for (size_t i = 0; i < nx; i++)
        want[i] = dxref[i];
    assert_close_f("conv chunk dx", dx, want, nx, 1e-5, 1e-5);
    for (size_t i = 0; i < nw; i++)
        dwp[i] = (float)dw[i];
    assert_close_ff("conv chunk dw", dwp, dwref, nw, 1e-5, 1e-5 * max_abs(dwref, nw));
    free(x); free(wt); free(dy); free(col); free(yref); free(dwref); free(dxref);
    free(y); free(kept); free(dcol); free(dwp); free(dx); free(dw); free(want);
}

static void test_conv_chunk(void **state)
{
    conv_chunk_case(6, 16, 0, 14, 14, 1, 1);
    conv_chunk_case(6, 16, 0, 14, 14, 17, 8);
    conv_chunk_case(6, 16, 0, 14, 14, 3, 2);    /* conv2's 10-wide rows, LeNet's chunk of 4 */
    conv_chunk_case(6, 16, 0, 14, 14, 17, 4);
    conv_chunk_case(2, 3, 2, 7, 9, 3, 2);
}

/* conv5x5c1's arithmetic written out one float at a time, in the order every
 * kernel of conv5x5.c and conv5x5_avx2.c must follow (their results do not
 * depend on the CPU): y = relu(((0 + w0 x0) + w1 x1 ... + w24 x24) + b), each
 * product and sum rounded; p = the 2x2 maximum. */
static void conv5_exact_forward(const conv_geom *g, int n, int n0, int nc, const float *x,
                                const float *w, const float *b, float *y, float *p)
{
    const int OH = g->oh, OW = g->ow, H = g->h, W = g->w, P = g->pad;
    for (int co = 0; co < g->cout; co++)
        for (int i = n0; i < n0 + nc; i++) {
            float *yc = y + ((size_t)co * n + i) * OH * OW;
            float *pc = p + ((size_t)co * n + i) * (OH / 2) * (OW / 2);
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    float a = 0.0f;
                    for (int kk = 0; kk < 25; kk++) {
                        const int ih = oh + kk / 5 - P, iw = ow + kk % 5 - P;
                        const float xv = ih >= 0 && ih < H && iw >= 0 && iw < W
                                             ? x[((size_t)i * H + ih) * W + iw] : 0.0f;
                        const float prod = w[co * 25 + kk] * xv;
                        a = a + prod;
                    }
                    a = a + b[co];
                    yc[oh * OW + ow] = a > 0.0f ? a : 0.0f;
                }
            for (int r = 0; r < OH / 2; r++)
                for (int c = 0; c < OW / 2; c++) {
                    const float *q = yc + 2 * r * OW + 2 * c;
                    float m = q[0];
                    m = q[1] > m ? q[1] : m;
                    m = q[OW] > m ? q[OW] : m;
                    m = q[OW + 1] > m ? q[OW + 1] : m;
                    pc[r * (OW / 2) + c] = m;
                }
        }
}

/* The weight gradient likewise: per pooled column j (a lane of 16) and tap, a
 * sum over the chunk's images and pooled rows of dp * the input under the tap
 * at the window's first maximum (when > 0); then dw += the 16 lanes' sum in
 * lane order, db += the gradients' likewise.  y must be >= 0 (a ReLU'd map). */
static void conv5_exact_backward_w(const conv_geom *g, int n, int n0, int nc, const float *x,
                                   const float *y, const float *dp, float *dw, float *db)
{
    const int OH = g->oh, OW = g->ow, PH = OH / 2, PW = OW / 2, H = g->h, W = g->w;
    for (int co = 0; co < g->cout; co++) {
        float acc[25][16] = {{0}}, accb[16] = {0};
        for (int i = n0; i < n0 + nc; i++) {
            const float *yc = y + ((size_t)co * n + i) * OH * OW;
            const float *dpc = dp + ((size_t)co * n + i) * PH * PW;
            for (int pi = 0; pi < PH; pi++)
                for (int j = 0; j < PW; j++) {
                    const float *q = yc + 2 * pi * OW + 2 * j;
                    const float v[4] = {q[0], q[1], q[OW], q[OW + 1]};
                    int win = 0;
                    for (int k = 1; k < 4; k++)
                        if (v[k] > v[win])
                            win = k;
                    const float gv = v[win] > 0.0f ? dpc[pi * PW + j] : 0.0f;
                    accb[j] = accb[j] + gv;
                    const int oh = 2 * pi + win / 2, ow = 2 * j + win % 2;
                    for (int kk = 0; kk < 25; kk++) {
                        const int ih = oh + kk / 5 - g->pad, iw = ow + kk % 5 - g->pad;
                        const float xv = ih >= 0 && ih < H && iw >= 0 && iw < W
                                             ? x[((size_t)i * H + ih) * W + iw] : 0.0f;
                        const float prod = gv * xv;
                        acc[kk][j] = acc[kk][j] + prod;
                    }
                }
        }
        for (int kk = 0; kk < 25; kk++) {
            float s = 0.0f;
            for (int l = 0; l < 16; l++)
                s += acc[kk][l];
            dw[co * 25 + kk] += s;
        }
        float s = 0.0f;
        for (int l = 0; l < 16; l++)
            s += accb[l];
        db[co] += s;
    }
}

typedef void conv5_fwd_fn(const conv_geom *, int, int, int, const float *, const float *,
                          const float *, float *, float *);
typedef void conv5_bwd_fn(const conv_geom *, int, int, int, const float *, const float *,
                          const float *, float *, float *);

/* y and p (ny, np floats) from f, chunk by chunk, over zeroed outputs. */
static void conv5_fwd_chunks(conv5_fwd_fn *f, const conv_geom *g, int n, int chunk,
                             const float *x, const float *w, const float *b, float *y, size_t ny,
                             float *p, size_t np)
{
    memset(y, 0, sizeof(float) * ny);
    memset(p, 0, sizeof(float) * np);
    for (int n0 = 0; n0 < n; n0 += chunk)
        f(g, n, n0, n - n0 < chunk ? n - n0 : chunk, x, w, b, y, p);
}

/* dw and db (nw, cout floats) from f, chunk by chunk, summed into zeros. */
static void conv5_bwd_chunks(conv5_bwd_fn *f, const conv_geom *g, int n, int chunk,
                             const float *x, const float *y, const float *dp, float *dw,
                             size_t nw, float *db)
{
    memset(dw, 0, sizeof(float) * nw);
    memset(db, 0, sizeof(float) * g->cout);
    for (int n0 = 0; n0 < n; n0 += chunk)
        f(g, n, n0, n - n0 < chunk ? n - n0 : chunk, x, y, dp, dw, db);
}

/* The direct 1-channel 5x5 convolution (forward with bias, ReLU and pool; weight
 * gradient through pool and ReLU) against conv2d + relu + maxpool2, on its own
 * output and on a tie-laden map.
 * Each kernel must also give conv5_exact_*'s bits: conv5x5.c's AVX-512/AVX2/
 * baseline clones through the public functions, conv5x5_avx2.c's directly
 * wherever the CPU has AVX2. */
static void conv5_fast_case(int cout, int hw, int pad, int n, int chunk)
{
    fe_rng r = rng_for("conv5 fast");
    conv_geom g;
    conv_geom_init(&g, 1, cout, 5, 1, pad, hw, hw);
    assert_true(conv5x5c1_applies(&g));
    const int oh = g.oh, ow = g.ow;
    const size_t nx = (size_t)n * hw * hw, ny = (size_t)cout * n * oh * ow, np = ny / 4;
    const size_t nw = (size_t)cout * 25, cap = conv_col_floats(&g, n);
    float *x = fvec(nx), *wt = fvec(nw), *b = fvec(cout), *col = fvec(cap);
    float *yref = fvec(ny), *pref = fvec(np), *y = fvec(ny), *p = fvec(np);
    fill_normal(&r, x, nx, 0, 1);
    fill_normal(&r, wt, nw, 0, 0.2);
    fill_normal(&r, b, cout, 0, 0.1);
    conv2d_forward(&g, n, x, wt, b, yref, col, cap);
    relu_forward(ny, yref);
    maxpool2_forward(cout, n, oh, ow, yref, pref);
    conv5_fwd_chunks(conv5x5c1_relu_pool_forward, &g, n, chunk, x, wt, b, y, ny, p, np);
    assert_close_ff("conv5 fast y", y, yref, ny, 1e-5, 1e-5);
    assert_close_ff("conv5 fast p", p, pref, np, 1e-5, 1e-5);
    float *ye = fvec(ny), *pe = fvec(np);
    conv5_fwd_chunks(conv5_exact_forward, &g, n, chunk, x, wt, b, ye, ny, pe, np);
    assert_memory_equal(y, ye, sizeof(float) * ny);
    assert_memory_equal(p, pe, sizeof(float) * np);
    if (__builtin_cpu_supports("avx2")) {
        conv5_fwd_chunks(conv5x5c1_relu_pool_forward_avx2, &g, n, chunk, x, wt, b, y, ny, p, np);
        assert_memory_equal(y, ye, sizeof(float) * ny);
        assert_memory_equal(p, pe, sizeof(float) * np);
    }
    float *dp = fvec(np), *dz = fvec(ny), *dwref = fvec(nw), *dbref = fvec(cout);
    float *dw = fvec(nw), *db = fvec(cout), *dwe = fvec(nw), *dbe = fvec(cout);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            fill_ties(&r, y, ny);       /* any ReLU'd map will do: ties and zeros */
        fill_normal(&r, dp, np, 0, 1);
        maxpool2_backward(cout, n, oh, ow, y, dp, dz);
        relu_backward(ny, y, dz, dz);
        conv2d_backward(&g, n, x, wt, dz, dwref, dbref, NULL, 0, col, cap);
        conv5_bwd_chunks(conv5x5c1_pool_relu_backward_w, &g, n, chunk, x, y, dp, dw, nw, db);
        assert_close_ff("conv5 fast dw", dw, dwref, nw, 1e-4, 1e-5 * max_abs(dwref, nw));
        assert_close_ff("conv5 fast db", db, dbref, cout, 1e-4, 1e-5 * max_abs(dbref, cout));
        conv5_bwd_chunks(conv5_exact_backward_w, &g, n, chunk, x, y, dp, dwe, nw, dbe);
        assert_memory_equal(dw, dwe, sizeof(float) * nw);
        assert_memory_equal(db, dbe, sizeof(float) * cout);
        if (__builtin_cpu_supports("avx2")) {
            conv5_bwd_chunks(conv5x5c1_pool_relu_backward_w_avx2, &g, n, chunk, x, y, dp, dw, nw,
                             db);
            assert_memory_equal(dw, dwe, sizeof(float) * nw);
            assert_memory_equal(db, dbe, sizeof(float) * cout);
        }
    }
    free(x); free(wt); free(b); free(col); free(yref); free(pref); free(y); free(p);
    free(dp); free(dz); free(dwref); free(dbref); free(dw); free(db);
    free(ye); free(pe); free(dwe); free(dbe);
}

static void test_conv5_fast(void **state)
{
    conv5_fast_case(6, 28, 2, 1, 1);     /* LeNet-5's conv1 */
    conv5_fast_case(6, 28, 2, 3, 2);
    conv5_fast_case(7, 20, 2, 17, 8);    /* a partial channel block */
    conv5_fast_case(2, 22, 1, 3, 3);
    conv_geom g;
    conv_geom_init(&g, 2, 6, 5, 1, 2, 28, 28);
    assert_false(conv5x5c1_applies(&g));
    conv_geom_init(&g, 1, 6, 3, 1, 1, 28, 28);
    assert_false(conv5x5c1_applies(&g));
    conv_geom_init(&g, 1, 6, 5, 1, 2, 12, 12);
    assert_false(conv5x5c1_applies(&g));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_k5_pad2),
        cmocka_unit_test(test_conv_k5_pad0),
        cmocka_unit_test(test_conv_k3_s1_pad1),
        cmocka_unit_test(test_conv_k3_s2_pad1),
        cmocka_unit_test(test_conv_k1_s2_pad0),
        cmocka_unit_test(test_conv_single),
        cmocka_unit_test(test_im2col),
        cmocka_unit_test(test_winograd),
        cmocka_unit_test(test_winograd_streamed),
        cmocka_unit_test(test_conv_bf16),
        cmocka_unit_test(test_conv_bf16_blocked_kernels),
        cmocka_unit_test(test_conv_bf16_threads),
        cmocka_unit_test(test_conv_algos),
        cmocka_unit_test(test_conv_wino2_unfused),
        cmocka_unit_test(test_conv_blocked),
        cmocka_unit_test(test_conv_implicit),
        cmocka_unit_test(test_avgpool_blocked),
        cmocka_unit_test(test_bn_train_forward_and_stats),
        cmocka_unit_test(test_bn_train_gradients),
        cmocka_unit_test(test_bn_eval),
        cmocka_unit_test(test_bn_post),
        cmocka_unit_test(test_relu),
        cmocka_unit_test(test_maxpool),
        cmocka_unit_test(test_maxpool_ties),
        cmocka_unit_test(test_avgpool),
        cmocka_unit_test(test_linear),
        cmocka_unit_test(test_softmax_xent),
        cmocka_unit_test(test_pool_fast),
        cmocka_unit_test(test_conv_chunk),
        cmocka_unit_test(test_conv5_fast),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
