/* test_model.c - the whole models of tools/nn/model.h:
 *   - parameter gradients of fe_model_backward against central differences of the
 *     loss (LeNet-5; ResNet-18 in training mode, batch statistics), a sample of
 *     entries of every kind of tensor, and directional derivatives per tensor;
 *   - hooks: the gradient w.r.t. a layer's output z handed to an fe_hook in an
 *     eval-mode, param_grads = 0 pass (checked through the conv bias, or through
 *     the running mean of the BatchNorm after a bias-free conv), and that the pass
 *     stops there without touching the parameter gradients;
 *   - a batch smaller than the model's capacity, and the smallest im2col scratch
 *     (one image per chunk), give the same logits, gradients and running stats;
 *   - the named layers (fe_model_find_layer, fe_model_layer_list);
 *   - fe_model_save / fe_model_load round trips (bit-identical parameters, buffers
 *     and num_batches_tracked) and the PyTorch state_dict keys and shapes;
 *   - initialisation statistics (default and normal:STD) and fe_model_set_input.
 * FE_TEST_VERBOSE=1 prints every comparison; FE_TEST_SEED=K tries other seeds.
 * FE_TEST_MEMCHECK=1 (set by make test's ASan part, whose job is memory errors:
 * the plain part runs every check) keeps every code path but fewer finite
 * differences of ResNet-18: gradients of one tensor of each kind (stem conv, BN,
 * 1x1 shortcut, 3x3 conv, linear) instead of 18, and the hooks' finite
 * differences at one layer instead of three (3 of test_model's 3.5 minutes
 * under ASan went there).
 *
 * The networks are float32 with ReLU and max-pool kinks, so a finite difference is
 * accurate only to roughly 1e-8 / h (rounding) plus a term growing with h (kinks
 * crossed within the step).  Each derivative is therefore tried at a short ladder
 * of steps and passes when one of them agrees within the tolerance; with a wrong
 * backward pass none would.  (Studied by hand: as h shrinks, the differences
 * converge on the backward values until rounding takes over, e.g. to 1e-4
 * relative for directional derivatives of ResNet-18's conv weights.) */
#include "fe_test.h"

#include <math.h>

#include "builder.h"
#include "cli.h"
#include "comm.h"
#include "lenet5.h"
#include "model.h"
#include "npy.h"
#include "gemm_bf16.h"
#include "ops.h"
#include "resnet18.h"

static int verbose;
static uint64_t seed_offset;    /* FE_TEST_SEED: try other seeds (the tolerances were set so) */
static int memcheck;            /* FE_TEST_MEMCHECK: fewer ResNet-18 finite differences */

typedef struct {
    fe_model *m;
    int n, training;
    int64_t labels[8];
    float *g0;          /* parameter gradients of the backward pass under test */
} net;

static double net_loss(net *t)
{
    fe_model_forward(t->m, t->n, t->training);
    return softmax_xent(FE_CLASSES, t->n, t->m->logits, t->labels, NULL, NULL, NULL);
}

/* Random uint8 images through fe_model_set_input (as train feeds the model). */
static uint8_t *random_images(fe_rng *r, int n)
{
    uint8_t *img = malloc((size_t)n * 784);
    assert_non_null(img);
    for (size_t i = 0; i < (size_t)n * 784; i++)
        img[i] = (uint8_t)fe_rng_below(r, 256);
    return img;
}

/* n random images and labels from stream "input" of seed (labels: n of them). */
static uint8_t *random_batch(uint64_t seed, int n, int64_t *labels)
{
    fe_rng r;
    fe_rng_seed(&r, seed, "input", 0);
    uint8_t *img = random_images(&r, n);
    for (int i = 0; i < n; i++)
        labels[i] = (int64_t)fe_rng_below(&r, FE_CLASSES);
    return img;
}

static fe_model *new_model_in(const fe_arch *arch, int maxn, const fe_model_opts *mode,
                             uint64_t seed, double conv_std)
{
    fe_err err;
    fe_model *m = fe_model_new(arch, maxn, mode, &err);
    if (!m)
        fail_msg("fe_model_new: %s", err.msg);
    fe_rng r;
    fe_rng_seed(&r, seed, "init", 0);
    fe_model_init(m, &r, conv_std);
    return m;
}

static fe_model *new_model(const fe_arch *arch, int maxn, size_t col, uint64_t seed, double conv_std)
{
    const fe_model_opts mode = {.col_floats = col};
    return new_model_in(arch, maxn, &mode, seed, conv_std);
}

static net net_setup(const fe_arch *arch, int n, int training, uint64_t seed)
{
    net t = {.n = n, .training = training};
    seed += seed_offset;
    t.m = new_model(arch, n, 0, seed, 0);
    fe_rng r;
    fe_rng_seed(&r, seed, "input", 0);
    uint8_t *img = random_images(&r, n);
    fe_model_set_input(t.m, img, NULL, n, 0.1307f, 0.3081f);
    free(img);
    for (int j = 0; j < n; j++)
        t.labels[j] = (int64_t)fe_rng_below(&r, FE_CLASSES);
    fe_model_forward(t.m, n, training);
    softmax_xent(FE_CLASSES, n, t.m->logits, t.labels, t.m->dlogits, NULL, NULL);
    fe_model_backward(t.m, 1, NULL);
    t.g0 = malloc(sizeof(float) * t.m->nparams);
    memcpy(t.g0, t.m->grads, sizeof(float) * t.m->nparams);
    return t;
}

static void net_free(net *t)
{
    free(t->g0);
    fe_model_free(t->m);
}

static fe_param *find_param(fe_model *m, const char *name)
{
    for (int i = 0; i < m->np; i++)
        if (!strcmp(m->p[i].name, name))
            return &m->p[i];
    fail_msg("no parameter %s", name);
    return NULL;
}

/* Central difference w.r.t. *x, dividing by the step the float actually took. */
static double fd_entry(net *t, float *x, double h)
{
    const float v = *x;
    *x = (float)(v + h);
    const double hp = (double)*x - v, lp = net_loss(t);
    *x = (float)(v - h);
    const double hm = v - (double)*x, lm = net_loss(t);
    *x = v;
    return (lp - lm) / (hp + hm);
}

/* fd_entry at steps h0, h0/3, h0/10, h0/30 until one agrees with `want` within
 * tol; returns 1 when one did.  fd[] receives the differences tried, *ntried
 * their number. */
static int fd_ladder(net *t, float *x, double h0, double want, double tol, double fd[4], int *ntried)
{
    static const double ladder[4] = {1, 1.0 / 3, 0.1, 1.0 / 30};
    for (int s = 0; s < 4; s++) {
        fd[s] = fd_entry(t, x, h0 * ladder[s]);
        *ntried = s + 1;
        if (fabs(fd[s] - want) <= tol)
            return 1;
    }
    return 0;
}

static void print_tried(const double *fd, int n, int ok)
{
    for (int q = 0; q < n; q++)
        print_message(" %+.6e", fd[q]);
    print_message("%s\n", ok ? "" : "  FAIL");
}

/* L(x + h v) - L(x - h v) along v = g / max|g| over the n floats x, against the
 * change <g, step> that the gradient g predicts (both returned per unit of h). */
static void fd_dir(net *t, float *x, size_t n, const double *g, double h, double *pred, double *got)
{
    double gmax = 0;
    for (size_t i = 0; i < n; i++)
        gmax = fmax(gmax, fabs(g[i]));
    float *x0 = malloc(sizeof(float) * n);
    memcpy(x0, x, sizeof(float) * n);
    double pr = 0;
    for (size_t i = 0; i < n; i++) {
        x[i] = (float)(x0[i] + h * g[i] / gmax);
        pr += g[i] * ((double)x[i] - x0[i]);
    }
    const double lp = net_loss(t);
    for (size_t i = 0; i < n; i++) {
        x[i] = (float)(x0[i] - h * g[i] / gmax);
        pr += g[i] * ((double)x0[i] - x[i]);
    }
    const double lm = net_loss(t);
    memcpy(x, x0, sizeof(float) * n);
    free(x0);
    *pred = pr / (2 * h);
    *got = (lp - lm) / (2 * h);
}

/* fd_dir at steps h0, h0/5, h0/25 until one agrees within rtol; reports failures. */
static int dir_ladder(net *t, const char *what, float *x, size_t n, const double *g, double h0,
                      double rtol)
{
    double pred[3], got[3];
    int ok = 0, s;
    for (s = 0; s < 3 && !ok; s++) {
        fd_dir(t, x, n, g, h0 / (s == 0 ? 1 : s == 1 ? 5 : 25), &pred[s], &got[s]);
        ok = fabs(got[s] - pred[s]) <= rtol * fabs(pred[s]);
    }
    if (verbose || !ok) {
        print_message("  %-28s along the gradient: predicted %+.6e  central differences", what,
                      pred[0]);
        print_tried(got, s, ok);
    }
    return ok;
}

/* Check tensor `name` (steps are relative to its scale, 1/sqrt(fan_in), or 1 for
 * BatchNorm):
 *   - its largest-|g| entry and `nrand` random entries among those with
 *     |g| >= max|g| / 5: |fd - g| <= rtol |g| + atol_frac max|g| at one of the
 *     steps hrel, hrel/3, hrel/10, hrel/30 (a single entry moves the loss little,
 *     so rounding rules out tiny steps, and kinks make big ones inexact);
 *   - the directional derivative along g over the whole tensor, which moves the
 *     loss enough for small steps: within 1% at one of 1e-3, 2e-4, 4e-5. */
static int check_param(net *t, const char *name, double hrel, double rtol, double atol_frac,
                       int nrand, fe_rng *r)
{
    fe_param *p = find_param(t->m, name);
    assert_non_null(p->grad);
    const float *g = t->g0 + (p->grad - t->m->grads);
    double gmax = 0;
    size_t best = 0;
    for (size_t i = 0; i < p->n; i++)
        if (fabs(g[i]) > gmax) {
            gmax = fabs(g[i]);
            best = i;
        }
    if (!(gmax > 0))
        fail_msg("%s: the gradient is zero everywhere", name);
    const double scale = p->fan_in ? 1.0 / sqrt((double)p->fan_in) : 1.0;
    const double atol = atol_frac * gmax;
    size_t idx[8];
    int ni = 0;
    idx[ni++] = best;
    for (int tries = 0; ni < 1 + nrand && tries < 100000; tries++) {
        size_t j = (size_t)fe_rng_below(r, p->n);
        if (j != best && fabs(g[j]) >= gmax / 5)
            idx[ni++] = j;
    }
    int bad = 0;
    for (int k = 0; k < ni; k++) {
        const size_t j = idx[k];
        double fd[4];
        int nt;
        const int ok = fd_ladder(t, &p->data[j], hrel * scale, g[j], rtol * fabs(g[j]) + atol, fd, &nt);
        if (verbose || !ok) {
            print_message("  %-28s [%7zu] backward %+.6e  central differences", name, j,
                          (double)g[j]);
            print_tried(fd, nt, ok);
        }
        bad += !ok;
    }
    double *gd = malloc(sizeof(double) * p->n);
    for (size_t i = 0; i < p->n; i++)
        gd[i] = g[i];
    const int ok = dir_ladder(t, name, p->data, p->n, gd, 1e-3 * scale, 1e-2);
    free(gd);
    bad += !ok;
    return bad;
}

/* ------------------------------------------------------------------ gradients */

static void test_lenet5_gradients(void **state)
{
    net t = net_setup(&fe_lenet5, 3, 1, 7);
    fe_rng r;
    fe_rng_seed(&r, 7 + seed_offset, "pick", 0);
    static const char *names[] = {"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
                                  "fc1.weight",   "fc1.bias",   "fc2.weight",   "fc2.bias",
                                  "fc3.weight",   "fc3.bias"};
    int bad = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        bad += check_param(&t, names[i], 1e-2, 2e-2, 5e-3, 3, &r);
    if (bad)
        fail_msg("lenet5: %d gradient checks failed (see above)", bad);
    net_free(&t);
}

static void test_resnet18_gradients(void **state)
{
    /* training mode: BatchNorm normalises with the statistics of this batch of 2 */
    net t = net_setup(&fe_resnet18, 2, 1, 11);
    fe_rng r;
    fe_rng_seed(&r, 11 + seed_offset, "pick", 0);
    static const char *names[] = {
        "conv1.weight",          "bn1.weight",               "bn1.bias",
        "layer1.0.conv1.weight", "layer1.0.bn2.weight",      "layer1.1.conv2.weight",
        "layer1.1.bn1.bias",     "layer2.0.conv1.weight",    "layer2.0.shortcut.0.weight",
        "layer2.0.shortcut.1.weight", "layer2.0.shortcut.1.bias", "layer3.0.conv2.weight",
        "layer3.1.bn2.bias",     "layer4.0.shortcut.0.weight", "layer4.1.conv2.weight",
        "layer4.1.bn2.weight",   "linear.weight",            "linear.bias"};
    /* under FE_TEST_MEMCHECK: one tensor of each kind (indices into names) */
    static const int kinds[] = {0, 1, 8, 11, 17};
    const size_t nn = memcheck ? sizeof kinds / sizeof kinds[0] : sizeof names / sizeof names[0];
    int bad = 0;
    for (size_t i = 0; i < nn; i++)
        bad += check_param(&t, names[memcheck ? kinds[i] : (int)i], 1e-2, 8e-2, 2e-2, 1, &r);
    if (bad)
        fail_msg("resnet18: %d gradient checks failed (see above)", bad);
    net_free(&t);
}

/* ------------------------------------------------------------------ hooks */

typedef struct {
    int calls, rows;
    int64_t cols;
    const fe_layer *layer;
    float *dz;
} hook_rec;

static void record(void *ctx, int slot, const fe_layer *l, const float *dz, int rows,
                   int64_t cols)
{
    hook_rec *h = (hook_rec *)ctx + slot;
    h->calls++;
    h->layer = l;
    h->rows = rows;
    h->cols = cols;
    free(h->dz);
    h->dz = malloc(sizeof(float) * (size_t)rows * cols);
    memcpy(h->dz, dz, sizeof(float) * (size_t)rows * cols);
}

/* Eval-mode backward with param_grads = 0 and a hook at `layer`: returns what the
 * hook saw; checks that the parameter gradients were left alone. */
static hook_rec run_hook(net *t, const char *layer, int rows, int64_t cols)
{
    fe_model *m = t->m;
    hook_rec h = {0};
    int li = fe_model_find_layer(m, layer);
    assert_true(li >= 0);
    assert_string_equal(m->layers[li].name, layer);
    fe_hook hook = {.layers = &li, .nlayers = 1, .fn = record, .ctx = &h};
    fe_model_forward(m, t->n, 0);
    softmax_xent(FE_CLASSES, t->n, m->logits, t->labels, m->dlogits, NULL, NULL);
    for (size_t i = 0; i < m->nparams; i++)
        m->grads[i] = 1234.5f;     /* sentinel: param_grads = 0 must not write here */
    fe_model_backward(m, 0, &hook);
    assert_int_equal(h.calls, 1);
    assert_ptr_equal(h.layer, &m->layers[li]);
    assert_int_equal(h.rows, rows);
    assert_int_equal(h.cols, cols);
    for (size_t i = 0; i < m->nparams; i++)
        if (m->grads[i] != 1234.5f)
            fail_msg("hook at %s, param_grads 0: gradient %zu was written", layer, i);
    return h;
}

/* One pass with hooks at k layers (in any order) hands each of them, once, the
 * very bits k passes with one hook each do: agop measures several layers in one
 * pass. */
static void check_multi_hook(net *t, const char *const *names, int k)
{
    fe_model *m = t->m;
    int li[8];
    hook_rec h[8] = {{0}};
    assert_true(k <= 8);
    for (int i = 0; i < k; i++)
        assert_true((li[i] = fe_model_find_layer(m, names[i])) >= 0);
    fe_hook hook = {.layers = li, .nlayers = k, .fn = record, .ctx = h};
    fe_model_forward(m, t->n, 0);
    softmax_xent(FE_CLASSES, t->n, m->logits, t->labels, m->dlogits, NULL, NULL);
    fe_model_backward(m, 0, &hook);
    assert_int_equal(hook.called, k);
    for (int i = 0; i < k; i++) {
        assert_int_equal(h[i].calls, 1);
        assert_ptr_equal(h[i].layer, &m->layers[li[i]]);
        hook_rec one = run_hook(t, names[i], h[i].rows, h[i].cols);
        if (memcmp(one.dz, h[i].dz, sizeof(float) * (size_t)one.rows * one.cols))
            fail_msg("hook at %s: one pass for %d layers differs from a pass for it alone",
                     names[i], k);
        free(one.dz);
        free(h[i].dz);
    }
}

/* dL/db_c = sum of row c of dz, for a conv with bias; checked by finite differences
 * (eval mode) and against the db of a full backward pass. */
static void check_hook_bias(net *t, const char *layer, fe_conv *conv, int rows, int64_t cols)
{
    hook_rec h = run_hook(t, layer, rows, cols);
    assert_ptr_equal(h.layer->conv, conv);
    double *rs = calloc(rows, sizeof(double)), smax = 0;
    for (int c = 0; c < rows; c++) {
        for (int64_t j = 0; j < cols; j++)
            rs[c] += h.dz[(size_t)c * cols + j];
        smax = fmax(smax, fabs(rs[c]));
    }
    /* a full training-free backward with parameter gradients: db is the same sum */
    fe_model_forward(t->m, t->n, 0);
    softmax_xent(FE_CLASSES, t->n, t->m->logits, t->labels, t->m->dlogits, NULL, NULL);
    fe_model_backward(t->m, 1, NULL);
    int bad = 0;
    const int saved = t->training;
    t->training = 0;
    for (int c = 0; c < rows; c++) {
        if (fabs(conv->db[c] - rs[c]) > 1e-5 * smax + 1e-9)
            fail_msg("%s: db[%d] = %.8g but the hook's row sum is %.8g", layer, c,
                     (double)conv->db[c], rs[c]);
        double fd[4];
        int nt;
        const int ok = fd_ladder(t, &conv->b[c], 1e-3, rs[c], 3e-2 * fabs(rs[c]) + 1e-2 * smax, fd, &nt);
        if (verbose || !ok) {
            print_message("  hook %s: channel %2d: sum of dz %+.6e, d loss/d bias", layer, c, rs[c]);
            print_tried(fd, nt, ok);
        }
        bad += !ok;
    }
    char what[96];
    snprintf(what, sizeof what, "hook %s: bias", layer);
    bad += !dir_ladder(t, what, conv->b, (size_t)rows, rs, 1e-3, 1e-2);
    t->training = saved;
    if (bad)
        fail_msg("hook at %s: %d checks disagree with finite differences", layer, bad);
    free(rs);
    free(h.dz);
}

static void test_lenet5_hooks(void **state)
{
    net t = net_setup(&fe_lenet5, 3, 0, 21);
    lenet5_net *L = t.m->net;
    check_hook_bias(&t, "conv2", &L->conv2, 16, 3 * 100);
    check_hook_bias(&t, "conv1", &L->conv1, 6, 3 * 784);
    /* the last layer's output is the logits: dz = dlogits */
    hook_rec h = run_hook(&t, "fc3", 10, 3);
    assert_memory_equal(h.dz, t.m->dlogits, sizeof(float) * 30);
    free(h.dz);
    h = run_hook(&t, "fc1", 120, 3);
    free(h.dz);
    const char *const all[] = {"conv2", "fc3", "conv1", "fc1", "fc2"};
    check_multi_hook(&t, all, 5);
    net_free(&t);
}

/* ResNet's convs have no bias, but in eval mode the BatchNorm after the conv
 * computes (z - running_mean) * gamma / sqrt(running_var + eps) + beta: raising
 * running_mean_c by d acts as lowering every z of row c by d, so
 * dL/d running_mean_c = -(sum of row c of dz). */
static void check_hook_bn(net *t, const char *layer, const char *bn_name, int rows, int64_t cols,
                          int nch)
{
    hook_rec h = run_hook(t, layer, rows, cols);
    char key[96];
    snprintf(key, sizeof key, "%s.running_mean", bn_name);
    float *rm = find_param(t->m, key)->data;
    snprintf(key, sizeof key, "%s.running_var", bn_name);
    float *rv = find_param(t->m, key)->data;
    double *want = calloc(rows, sizeof(double)), wmax = 0;
    for (int c = 0; c < rows; c++) {
        double s = 0;
        for (int64_t j = 0; j < cols; j++)
            s += h.dz[(size_t)c * cols + j];
        want[c] = -s;
        wmax = fmax(wmax, fabs(want[c]));
    }
    /* the channel with the largest gradient, and others with at least a quarter of
     * that (a small one would drown in the rounding of the float32 loss) */
    int bad = 0;
    const int saved = t->training;
    t->training = 0;
    fe_rng r;
    fe_rng_seed(&r, 1, layer, 0);
    for (int k = 0, tries = 0; k < nch && tries < 100000; tries++) {
        int c = 0;
        if (k == 0) {
            for (int i = 1; i < rows; i++)
                c = fabs(want[i]) > fabs(want[c]) ? i : c;
        } else {
            c = (int)fe_rng_below(&r, (uint64_t)rows);
            if (fabs(want[c]) < wmax / 4 || fabs(want[c]) == wmax)
                continue;
        }
        k++;
        double fd[4];
        int nt;
        const int ok = fd_ladder(t, &rm[c], 1e-2 * sqrt((double)rv[c]), want[c],
                                 5e-2 * fabs(want[c]) + 1e-2 * wmax, fd, &nt);
        if (verbose || !ok) {
            print_message("  hook %s: channel %3d: from dz %+.6e, d loss/d running_mean", layer, c,
                          want[c]);
            print_tried(fd, nt, ok);
        }
        bad += !ok;
    }
    char what[96];
    snprintf(what, sizeof what, "hook %s: running_mean", layer);
    bad += !dir_ladder(t, what, rm, (size_t)rows, want, 1e-3, 1e-2);
    t->training = saved;
    if (bad)
        fail_msg("hook at %s: %d checks disagree with finite differences", layer, bad);
    free(want);
    free(h.dz);
}

static void test_resnet18_hooks(void **state)
{
    net t = net_setup(&fe_resnet18, 2, 1, 31);
    /* Running statistics = this batch's (one training pass with momentum 1), so the
     * eval-mode activations are normalised as in a trained model.  (With the
     * initial 0/1 statistics most pre-ReLU values crowd within 1e-2 of the kink and
     * no step is both above the rounding and below the kinks.) */
    fe_model *m = t.m;
    resnet18_net *R = m->net;
    fe_bn *bns[20];
    int nb = 0;
    bns[nb++] = &R->bn1;
    for (int i = 0; i < 8; i++) {
        bns[nb++] = &R->blk[i].b1;
        bns[nb++] = &R->blk[i].b2;
        if (R->blk[i].has_sc)
            bns[nb++] = &R->blk[i].sbn;
    }
    assert_int_equal(nb, 20);
    for (int i = 0; i < nb; i++)
        bns[i]->g.momentum = 1.0f;
    fe_model_forward(m, t.n, 1);
    for (int i = 0; i < nb; i++)
        bns[i]->g.momentum = 0.1f;
    check_hook_bn(&t, "layer3.0.shortcut.0", "layer3.0.shortcut.1", 256, 2 * 7 * 7, memcheck ? 1 : 3);
    if (!memcheck) {
        check_hook_bn(&t, "layer1.0.conv1", "layer1.0.bn1", 64, 2 * 28 * 28, 3);
        check_hook_bn(&t, "conv1", "bn1", 64, 2 * 28 * 28, 2);
    }
    hook_rec h = run_hook(&t, "linear", 10, 2);
    assert_memory_equal(h.dz, t.m->dlogits, sizeof(float) * 20);
    free(h.dz);
    /* the pipeline's five convs, and a shortcut beside its block's convs */
    const char *const five[] = {"layer4.0.conv1", "conv1", "layer2.0.conv1", "layer1.0.conv1",
                                "layer3.0.conv1"};
    check_multi_hook(&t, five, 5);
    const char *const blk[] = {"layer3.0.conv1", "layer3.0.shortcut.0", "layer3.0.conv2"};
    check_multi_hook(&t, blk, 3);
    net_free(&t);
}

/* ------------------------------------------------------------------ batch size, chunking */

/* A batch smaller than the model's capacity (train's last batch), and im2col
 * scratch for one image at a time, give what a model sized exactly for the batch
 * gives.  In the blocked layout (ResNet-18 unless plain) a chunk is a whole
 * block of 16 images at the least: there 21 images, in chunks of 16 and 5. */
static void check_same_model(const fe_arch *arch, int plain)
{
    const int blocked = arch == &fe_resnet18 && !plain;
    const int n = blocked ? 21 : 2, cap = blocked ? 40 : 5;
    const fe_model_opts base = {.plain_layout = plain}, one = {.col_floats = 1, .plain_layout = plain};
    fe_model *ref = new_model_in(arch, n, &base, 51, 0);
    fe_model *big = new_model_in(arch, cap, &base, 51, 0);
    fe_model *tiny = new_model_in(arch, cap, &one, 51, 0);    /* col_floats 1: the minimum */
    assert_true(tiny->col_cap < big->col_cap);
    assert_int_equal(ref->blocked, blocked);
    fe_model *ms[3] = {ref, big, tiny};
    fe_rng r;
    fe_rng_seed(&r, 51, "input", 0);
    uint8_t *img = random_images(&r, n);
    int64_t labels[21];
    for (int i = 0; i < n; i++)
        labels[i] = (3 + 5 * i) % FE_CLASSES;
    for (int k = 0; k < 3; k++) {
        assert_memory_equal(ms[k]->params, ref->params, sizeof(float) * ref->nparams);
        fe_model_set_input(ms[k], img, NULL, n, 0.1307f, 0.3081f);
        fe_model_forward(ms[k], n, 1);
        softmax_xent(FE_CLASSES, n, ms[k]->logits, labels, ms[k]->dlogits, NULL, NULL);
        fe_model_backward(ms[k], 1, NULL);
    }
    for (int k = 1; k < 3; k++) {
        const char *what = k == 1 ? "batch 2 of 5" : "one image per im2col chunk";
        double gmax = 0;
        for (size_t i = 0; i < ref->nparams; i++)
            gmax = fmax(gmax, fabs(ref->grads[i]));
        for (int i = 0; i < FE_CLASSES * n; i++)
            if (fabs(ms[k]->logits[i] - ref->logits[i]) > 1e-5 * (1 + fabs(ref->logits[i])))
                fail_msg("%s %s: logit %d is %.9g, want %.9g", arch->name, what, i,
                         (double)ms[k]->logits[i], (double)ref->logits[i]);
        for (size_t i = 0; i < ref->nparams; i++)
            if (fabs(ms[k]->grads[i] - ref->grads[i]) > 1e-4 * fabs(ref->grads[i]) + 1e-5 * gmax)
                fail_msg("%s %s: gradient %zu is %.9g, want %.9g", arch->name, what, i,
                         (double)ms[k]->grads[i], (double)ref->grads[i]);
        if (ms[k]->nbufs)
            for (size_t i = 0; i < ref->nbufs; i++)
                if (fabs(ms[k]->bufs[i] - ref->bufs[i]) > 1e-5 * (1 + fabs(ref->bufs[i])))
                    fail_msg("%s %s: running statistic %zu is %.9g, want %.9g", arch->name,
                             what, i, (double)ms[k]->bufs[i], (double)ref->bufs[i]);
    }
    free(img);
    fe_model_free(ref);
    fe_model_free(big);
    fe_model_free(tiny);
}

static void test_partial_batch_lenet5(void **state) { check_same_model(&fe_lenet5, 1); }
static void test_partial_batch_resnet18(void **state) { check_same_model(&fe_resnet18, 1); }
static void test_partial_batch_resnet18_blocked(void **state) { check_same_model(&fe_resnet18, 0); }

/* ResNet-18 in the blocked layout against the plain one, a training step of 21
 * images (a block and a part).  Each conv gives the plain layout's bits
 * (test_layers' test_conv_blocked) but OpenBLAS's first conv, and BatchNorm's
 * sums run in another order: last bits, which the deep net at its initial
 * weights magnifies (up to 1e-2 of a gradient's largest value).  The yardstick
 * is the plain model's own sensitivity: the same step with 1% of the input
 * pixels moved by one unit in the last place.  The layouts may differ by no
 * more than 10 times what that moves, per logit and per gradient tensor. */
static double worst_diff(const float *a, const float *b, size_t n, double *scale)
{
    double w = 0;
    *scale = 0;
    for (size_t j = 0; j < n; j++) {
        *scale = fmax(*scale, fabs(a[j]));
        w = fmax(w, fabs((double)b[j] - a[j]));
    }
    return w;
}

static void test_resnet18_layouts(void **state)
{
    (void)state;
    const int n = 21;
    const fe_model_opts plain = {.plain_layout = 1};
    fe_model *mp = new_model_in(&fe_resnet18, n, &plain, 61, 0);
    fe_model *mq = new_model_in(&fe_resnet18, n, &plain, 61, 0);
    fe_model *mb = new_model(&fe_resnet18, n, 0, 61, 0);
    assert_true(mb->blocked && !mp->blocked);
    int64_t labels[21];
    uint8_t *img = random_batch(61, n, labels);
    fe_model *ms[3] = {mp, mq, mb};
    for (int k = 0; k < 3; k++) {
        fe_model_set_input(ms[k], img, NULL, n, 0.1307f, 0.3081f);
        for (int i = 0; k == 1 && i < n * FE_IMG * FE_IMG; i += 97)
            ms[k]->input[i] = nextafterf(ms[k]->input[i], INFINITY);
        fe_model_forward(ms[k], n, 1);
        softmax_xent(FE_CLASSES, n, ms[k]->logits, labels, ms[k]->dlogits, NULL, NULL);
        fe_model_backward(ms[k], 1, NULL);
    }
    double scale, ulp = worst_diff(mp->logits, mq->logits, (size_t)FE_CLASSES * n, &scale);
    double got = worst_diff(mp->logits, mb->logits, (size_t)FE_CLASSES * n, &scale);
    if (getenv("FE_TEST_VERBOSE"))
        fprintf(stderr, "layouts: logits %.3g, one ulp %.3g\n", got, ulp);
    if (!(got <= 10 * ulp + 1e-7 * scale) || !(ulp > 0))
        fail_msg("blocked layout: logits %.3g from the plain ones', 10x the ulp yardstick %.3g",
                 got, 10 * ulp);
    for (int p = 0; p < mp->np; p++) {
        if (!mp->p[p].grad)
            continue;
        ulp = worst_diff(mp->p[p].grad, mq->p[p].grad, mp->p[p].n, &scale);
        got = worst_diff(mp->p[p].grad, mb->p[p].grad, mp->p[p].n, &scale);
        if (getenv("FE_TEST_VERBOSE"))
            fprintf(stderr, "layouts: %s %.3g, one ulp %.3g (largest %.3g)\n", mp->p[p].name, got,
                    ulp, scale);
        if (!(got <= 10 * ulp + 1e-6 * scale))
            fail_msg("blocked layout: %s's gradient %.3g from the plain one's, 10x the ulp "
                     "yardstick %.3g (largest %.3g)", mp->p[p].name, got, 10 * ulp, scale);
    }
    fe_model_free(mq);
    free(img);
    fe_model_free(mp);
    fe_model_free(mb);
}

/* The float32 model m with its convolutions' weights rounded to bf16 (to
 * nearest even): the yardstick of test_resnet18_bf16. */
static void round_conv_weights(fe_model *m)
{
    for (int p = 0; p < m->np; p++)
        for (size_t j = 0; m->p[p].is_conv_weight && j < m->p[p].n; j++) {
            uint32_t u;
            memcpy(&u, &m->p[p].data[j], sizeof u);
            u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
            memcpy(&m->p[p].data[j], &u, sizeof u);
        }
}

/* --precision bf16 (where the CPU has AVX512_BF16): the blocked layout, the
 * 3x3 stride-1 convs on Winograd F(2x2,3x3) in bf16, the others (conv1 with
 * its plain images, stride 2, 1x1) on the bf16-blocked row, and one training
 * step's logits and gradients near the float32 model's (the same weights,
 * images and labels).  Near by a yardstick: a freshly initialised ResNet-18
 * in training mode turns small changes into large ones (rounding only the
 * conv weights to bf16 in float32 moves some gradients by 30% of their
 * largest element), so each result may differ from float32's by at most 4x
 * what that rounding alone moves it.  The rows' portable kernels, which do
 * VDPBF16PS's arithmetic, gave 2.3x for the logits and at most 2.15x for the
 * gradients here; a wrong tap or channel moves results by their whole scale. */
static void test_resnet18_bf16(void **state)
{
    (void)state;
    if (!fe_bf16_supported()) {
        print_message("test_resnet18_bf16: SKIPPED: this CPU has no AVX512_BF16\n");
        skip();
    }
    const int n = 21;
    const fe_model_opts bf = {.precision = FE_PREC_BF16};
    fe_model *mf = new_model(&fe_resnet18, n, 0, 61, 0), *mr = new_model(&fe_resnet18, n, 0, 61, 0);
    fe_model *mb = new_model_in(&fe_resnet18, n, &bf, 61, 0);
    round_conv_weights(mr);
    assert_true(mb->blocked && mf->blocked);
    int wino2 = 0;
    for (int i = 0; i < mb->nlayers; i++) {
        const fe_conv *c = mb->layers[i].conv;
        if (!c)
            continue;
        const fe_conv_algo *want = wino2_bf16_applies(&c->g) ? &fe_conv_bf16_wino2
                                                             : &fe_conv_bf16_blocked;
        wino2 += want == &fe_conv_bf16_wino2;
        if (c->algo != want)
            fail_msg("bf16: %s runs on row %s, not %s", mb->layers[i].name, c->algo->name,
                     want->name);
    }
    assert_int_equal(wino2, 13);            /* the 3x3 stride-1 convs but conv1 (plain images) */
    int64_t labels[21];
    uint8_t *img = random_batch(61, n, labels);
    fe_model *ms[3] = {mf, mr, mb};
    for (int k = 0; k < 3; k++) {
        fe_model_set_input(ms[k], img, NULL, n, 0.1307f, 0.3081f);
        fe_model_forward(ms[k], n, 1);
        softmax_xent(FE_CLASSES, n, ms[k]->logits, labels, ms[k]->dlogits, NULL, NULL);
        fe_model_backward(ms[k], 1, NULL);
    }
    double scale, yard = worst_diff(mf->logits, mr->logits, (size_t)FE_CLASSES * n, &scale),
                  got = worst_diff(mf->logits, mb->logits, (size_t)FE_CLASSES * n, &scale);
    if (getenv("FE_TEST_VERBOSE"))
        fprintf(stderr, "bf16: logits %.3g from float32's, the yardstick %.3g\n", got, yard);
    if (!(got <= 4 * yard + 1e-6 * scale))
        fail_msg("bf16: logits %.3g from float32's, more than 4x the yardstick %.3g", got, yard);
    double worst = 0;
    for (int p = 0; p < mf->np; p++) {
        if (!mf->p[p].grad)
            continue;
        yard = worst_diff(mf->p[p].grad, mr->p[p].grad, mf->p[p].n, &scale);
        got = worst_diff(mf->p[p].grad, mb->p[p].grad, mf->p[p].n, &scale);
        worst = fmax(worst, got / (yard + 1e-6 * scale));
        if (!(got <= 4 * yard + 1e-6 * scale))
            fail_msg("bf16: %s's gradient %.3g from float32's, more than 4x the yardstick %.3g "
                     "(largest %.3g)", mf->p[p].name, got, yard, scale);
    }
    if (getenv("FE_TEST_VERBOSE"))
        fprintf(stderr, "bf16: gradients at most %.3gx the yardstick\n", worst);
    free(img);
    fe_model_free(mf);
    fe_model_free(mr);
    fe_model_free(mb);
}

/* exact_conv (agop, snapshot) keeps the 3x3 stride-1 convolutions on the
 * im2col path: layer1.0.conv1's output is then bit for bit that of
 * conv2d_forward_sgemm (the direct-sgemm row: im2col and our own GEMM);
 * training's Winograd path gives different bits within its rounding.  The
 * exact model keeps no Winograd filters, and its chunk scratch is the other's
 * (fe_conv_col_floats: the same chunking in every mode). */
static void test_resnet18_exact_conv(void **state)
{
    (void)state;
    const int n = 2;
    const fe_model_opts plain = {.plain_layout = 1};
    fe_model *m = new_model_in(&fe_resnet18, n, &plain, 11, 0);
    const fe_model_opts exact = {.exact_conv = 1};
    fe_model *me = new_model_in(&fe_resnet18, n, &exact, 11, 0);
    assert_int_equal(me->col_cap, m->col_cap);
    assert_true(me->nacts < m->nacts);
    fe_rng r;
    fe_rng_seed(&r, 11, "input", 0);
    uint8_t *img = random_images(&r, n);
    fe_model_set_input(m, img, NULL, n, 0.1307f, 0.3081f);
    fe_model_set_input(me, img, NULL, n, 0.1307f, 0.3081f);
    free(img);
    const resnet18_net *R = m->net, *Re = me->net;
    const fe_conv *c = &R->blk[0].c1, *ce = &Re->blk[0].c1;
    assert_true(wino_applies(&c->g));
    assert_ptr_equal(c->algo, &fe_conv_winograd);
    assert_ptr_equal(ce->algo, &fe_conv_direct_sgemm);
    assert_null(ce->state);
    const size_t ny = (size_t)c->g.cout * n * c->g.oh * c->g.ow, cap = conv_col_floats(&c->g, n);
    float *ref = malloc(sizeof(float) * ny), *col = malloc(sizeof(float) * cap);
    float *wino = malloc(sizeof(float) * ny);
    assert_true(ref && col && wino);
    fe_model_forward(m, n, 0);
    memcpy(wino, c->y, sizeof(float) * ny);
    conv2d_forward_sgemm(&c->g, n, R->a0, c->w, ref, col, cap);
    fe_model_forward(me, n, 0);
    assert_memory_equal(Re->a0, R->a0, sizeof(float) * (size_t)64 * n * 28 * 28);
    assert_memory_equal(ce->y, ref, sizeof(float) * ny);
    double scale = 0, worst = 0;
    for (size_t i = 0; i < ny; i++) {
        scale = fmax(scale, fabs(ref[i]));
        worst = fmax(worst, fabs((double)wino[i] - ref[i]));
    }
    assert_true(worst > 0);                 /* the default path is Winograd's */
    assert_true(worst <= 1e-5 * scale);
    free(ref); free(col); free(wino);
    fe_model_free(m);
    fe_model_free(me);
}

/* fe_model_fix_weights: forwards under the promise reuse the filters made by
 * the first one and give the same bits as forwards without it; after the
 * promise ends, a change of the weights shows in the next forward. */
static void test_resnet18_fix_weights(void **state)
{
    (void)state;
    const int n = 2;
    fe_model *m = new_model(&fe_resnet18, n, 0, 12, 0);
    fe_rng r;
    fe_rng_seed(&r, 12, "input", 0);
    uint8_t *img = random_images(&r, n);
    fe_model_set_input(m, img, NULL, n, 0.1307f, 0.3081f);
    free(img);
    float ref[10 * 2], got[10 * 2];
    fe_model_forward(m, n, 0);
    memcpy(ref, m->logits, sizeof ref);
    fe_model_fix_weights(m, 1);
    for (int k = 0; k < 2; k++) {
        fe_model_forward(m, n, 0);
        assert_memory_equal(m->logits, ref, sizeof ref);
    }
    fe_conv *c = &((resnet18_net *)m->net)->blk[7].c2;
    assert_true(c->algo == &fe_conv_winograd && c->state_kept);
    fe_model_fix_weights(m, 0);
    assert_false(c->state_kept);
    for (size_t i = 0; i < (size_t)c->g.cout * c->g.cin * 9; i++)
        c->w[i] *= 2.0f;
    fe_model_forward(m, n, 0);
    memcpy(got, m->logits, sizeof got);
    assert_memory_not_equal(got, ref, sizeof ref);
    fe_model_fix_weights(m, 1);               /* a new promise makes them afresh */
    fe_model_forward(m, n, 0);
    assert_memory_equal(m->logits, got, sizeof got);
    fe_model_free(m);
}

static void test_layer_names(void **state)
{
    fe_err err;
    fe_model *m = fe_model_new(&fe_lenet5, 1, NULL, &err);
    char buf[1024];
    fe_model_layer_list(m, buf, sizeof buf);
    assert_string_equal(buf, "conv1, conv2, fc1, fc2, fc3");
    assert_int_equal(fe_model_find_layer(m, "fc2"), 3);
    assert_int_equal(fe_model_find_layer(m, "nope"), -1);
    const lenet5_net *L = m->net;
    assert_ptr_equal(m->layers[1].conv, &L->conv2);
    assert_ptr_equal(m->layers[1].post, L->conv2.y);
    assert_int_equal(m->layers[1].post_c * m->layers[1].post_h * m->layers[1].post_w, 1600);
    fe_model_free(m);
    m = fe_model_new(&fe_resnet18, 1, NULL, &err);
    assert_int_equal(m->nlayers, 1 + 16 + 3 + 1);
    static const char *names[] = {"conv1", "layer1.0.conv1", "layer2.0.shortcut.0",
                                  "layer4.1.conv2", "linear"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (fe_model_find_layer(m, names[i]) < 0)
            fail_msg("resnet18 has no layer %s", names[i]);
    int sc = fe_model_find_layer(m, "layer3.0.shortcut.0");
    assert_true(sc >= 0);
    assert_int_equal(m->layers[sc].post_c, 256);
    assert_int_equal(m->layers[sc].post_h, 7);
    assert_int_equal(fe_model_find_layer(m, "layer1.0.shortcut.0"), -1);  /* identity there */
    fe_model_free(m);
}

/* ------------------------------------------------------------------ checkpoints */

static void check_round_trip(const fe_arch *arch, int nsteps)
{
    char *dir = make_tmpdir(), path[4200];
    snprintf(path, sizeof path, "%s/model.npz", dir);
    net t = net_setup(arch, 2, 1, 41);
    fe_model *m = t.m;
    for (int i = 0; i < nsteps; i++)      /* running stats and num_batches_tracked move */
        fe_model_forward(m, t.n, 1);
    for (size_t i = 0; i < m->nparams; i++)   /* and the parameters are not the init ones */
        m->params[i] -= 0.01f * t.g0[i];
    fe_err err;
    if (fe_model_save(m, path, &err))
        fail_msg("fe_model_save: %s", err.msg);
    assert_int_equal(count_entries(dir), 1);      /* no temporary left behind */

    fe_model *m2 = fe_model_new(arch, 1, NULL, &err);
    assert_non_null(m2);
    fe_rng r;
    fe_rng_seed(&r, 99, "init", 0);
    fe_model_init(m2, &r, 0);
    if (fe_model_load(m2, path, &err))
        fail_msg("fe_model_load: %s", err.msg);
    assert_int_equal(m2->nparams, m->nparams);
    assert_int_equal(m2->nbufs, m->nbufs);
    assert_memory_equal(m2->params, m->params, sizeof(float) * m->nparams);
    if (m->nbufs)
        assert_memory_equal(m2->bufs, m->bufs, sizeof(float) * m->nbufs);
    assert_int_equal(m2->np, m->np);
    int nnbt = 0;
    for (int i = 0; i < m->np; i++)
        if (m->p[i].i64) {
            assert_int_equal(*m2->p[i].i64, *m->p[i].i64);
            assert_int_equal(*m->p[i].i64, nsteps + 1);
            nnbt++;
        }
    assert_int_equal(nnbt, arch == &fe_resnet18 ? 20 : 0);

    /* the file itself: the state_dict keys, shapes and dtypes */
    npz_t z = {0};
    if (npz_load(path, &z, &err))
        fail_msg("npz_load: %s", err.msg);
    assert_int_equal(z.n, m->np);
    for (int i = 0; i < m->np; i++) {
        const fe_tensor *e = npz_get(&z, m->p[i].name);
        if (!e)
            fail_msg("%s missing from the checkpoint", m->p[i].name);
        assert_int_equal(e->ndim, m->p[i].ndim);
        for (int d = 0; d < e->ndim; d++)
            assert_int_equal(e->shape[d], m->p[i].shape[d]);
        assert_int_equal(e->dtype, m->p[i].i64 ? FE_I64 : FE_F32);
    }
    static const struct {
        const char *name;
        int ndim;
        int64_t shape[4];
    } keys[] = {
        {"conv1.weight", 4, {6, 1, 5, 5}},  {"conv1.bias", 1, {6}},       {"conv2.weight", 4, {16, 6, 5, 5}},
        {"fc1.weight", 2, {120, 400}},      {"fc2.bias", 1, {84}},        {"fc3.weight", 2, {10, 84}},
        {"conv1.weight", 4, {64, 1, 3, 3}}, {"bn1.running_var", 1, {64}}, {"bn1.num_batches_tracked", 0, {0}},
        {"layer2.0.shortcut.0.weight", 4, {128, 64, 1, 1}}, {"layer4.1.conv2.weight", 4, {512, 512, 3, 3}},
        {"layer3.0.shortcut.1.bias", 1, {256}}, {"linear.weight", 2, {10, 512}}, {"linear.bias", 1, {10}},
    };
    for (size_t k = arch == &fe_lenet5 ? 0 : 6; k < (arch == &fe_lenet5 ? 6u : sizeof keys / sizeof keys[0]); k++) {
        const fe_tensor *e = npz_get(&z, keys[k].name);
        if (!e)
            fail_msg("no %s in the checkpoint", keys[k].name);
        assert_int_equal(e->ndim, keys[k].ndim);
        for (int d = 0; d < e->ndim; d++)
            assert_int_equal(e->shape[d], keys[k].shape[d]);
    }
    assert_ptr_equal(fe_arch_detect(&z), arch);

    /* a non-finite weight is refused, naming the tensor and the element */
    {
        float *w = (float *)npz_get(&z, "conv1.weight")->data;
        const float bad[2] = {NAN, -INFINITY};
        const char *word[2] = {"NaN", "inf"};
        fe_model *m5 = fe_model_new(arch, 1, NULL, &err);
        assert_non_null(m5);
        assert_int_equal(fe_model_from_npz(m5, &z, &err), 0);
        for (int k = 0; k < 2; k++) {
            const float keep = w[3];
            w[3] = bad[k];
            assert_int_not_equal(fe_model_from_npz(m5, &z, &err), 0);
            if (!strstr(err.msg, "conv1.weight") || !strstr(err.msg, word[k]) ||
                !strstr(err.msg, "element 3"))
                fail_msg("non-finite weight: unexpected message '%s'", err.msg);
            w[3] = keep;
        }
        fe_model_free(m5);
    }
    npz_free(&z);

    /* fe_model_open detects the architecture; the other model's loader refuses */
    fe_model *m3 = fe_model_open(path, NULL, 1, NULL, &err);
    if (!m3)
        fail_msg("fe_model_open: %s", err.msg);
    assert_ptr_equal(m3->arch, arch);
    assert_memory_equal(m3->params, m->params, sizeof(float) * m->nparams);
    fe_model_free(m3);
    const fe_arch *other = arch == &fe_lenet5 ? &fe_resnet18 : &fe_lenet5;
    assert_null(fe_model_open(path, other, 1, NULL, &err));
    fe_model *m4 = fe_model_new(other, 1, NULL, &err);
    assert_int_not_equal(fe_model_load(m4, path, &err), 0);
    assert_true(strlen(err.msg) > 0);
    fe_model_free(m4);

    fe_model_free(m2);
    net_free(&t);
    unlink(path);
    remove_tmpdir(dir);
}

static void test_save_load_lenet5(void **state) { check_round_trip(&fe_lenet5, 2); }
static void test_save_load_resnet18(void **state) { check_round_trip(&fe_resnet18, 2); }

/* ------------------------------------------------------------------ initialisation */

/* U(-b, b): every value within the bound, and for big tensors mean, variance and a
 * 10-bin histogram within 5 standard errors of the uniform distribution's. */
static void check_uniform(const fe_param *p, double b)
{
    size_t hist[10] = {0};
    double s = 0, s2 = 0, umax = 0;
    for (size_t i = 0; i < p->n; i++) {
        double u = p->data[i] / b;
        umax = fmax(umax, fabs(u));
        if (!(fabs(u) <= 1.0 + 1e-6))
            fail_msg("%s[%zu] = %g is outside +-1/sqrt(fan_in) = %g", p->name, i,
                     (double)p->data[i], b);
        hist[u >= 1.0 ? 9 : (int)((u + 1.0) * 5.0)]++;
        s += u;
        s2 += u * u;
    }
    if (p->n < 500)
        return;
    const double n = (double)p->n, mean = s / n, var = s2 / n - mean * mean;
    if (fabs(mean) > 5 * sqrt(1.0 / 3 / n))
        fail_msg("%s: mean %g of w/bound, want 0", p->name, mean);
    /* Var of u^2 for u ~ U(-1,1) is 4/45 */
    if (fabs(var - 1.0 / 3) > 5 * sqrt(4.0 / 45 / n))
        fail_msg("%s: variance %g of w/bound, want 1/3", p->name, var);
    for (int k = 0; k < 10; k++)
        if (fabs((double)hist[k] - n / 10) > 5 * sqrt(n / 10 * 0.9))
            fail_msg("%s: %zu values in bin %d of 10, want about %.0f", p->name, hist[k], k, n / 10);
    /* the bound is reached: P(max |u| < 1 - 15/n) = (1 - 15/n)^n < e^-15 */
    if (umax < 1.0 - 15.0 / n)
        fail_msg("%s: max |w| is %.6f of 1/sqrt(fan_in): a smaller bound?", p->name, umax);
}

static void check_normal(const fe_param *p, double std, double rtol)
{
    double s = 0, s2 = 0;
    for (size_t i = 0; i < p->n; i++) {
        s += p->data[i];
        s2 += (double)p->data[i] * p->data[i];
    }
    const double n = (double)p->n, mean = s / n, sd = sqrt(s2 / n - mean * mean);
    if (fabs(mean) > 5 * std / sqrt(n))
        fail_msg("%s: mean %g, want 0 (std %g)", p->name, mean, std);
    if (fabs(sd - std) > rtol * std)
        fail_msg("%s: sample std %g, want %g within %g%%", p->name, sd, std, 100 * rtol);
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static void check_init(fe_model *m, double conv_std)
{
    int nconv = 0, nbn = 0;
    for (int i = 0; i < m->np; i++) {
        const fe_param *p = &m->p[i];
        const int is_bn = strstr(p->name, "bn") || strstr(p->name, "shortcut.1");
        if (p->i64) {
            assert_true(is_bn && ends_with(p->name, ".num_batches_tracked"));
            assert_int_equal(*p->i64, 0);
        } else if (is_bn) {
            float want = ends_with(p->name, ".weight") || ends_with(p->name, ".running_var") ? 1.0f : 0.0f;
            assert_true(ends_with(p->name, ".weight") || ends_with(p->name, ".bias") ||
                        ends_with(p->name, ".running_mean") || ends_with(p->name, ".running_var"));
            for (size_t j = 0; j < p->n; j++)
                if (p->data[j] != want)
                    fail_msg("%s[%zu] = %g, want %g", p->name, j, (double)p->data[j], (double)want);
            nbn++;
        } else if (conv_std > 0 && p->ndim == 4) {
            assert_true(p->is_conv_weight);
            check_normal(p, conv_std, p->n >= 1000 ? 0.05 : 0.2);
            nconv++;
        } else {
            int64_t fan_in = 1;
            for (int d = 1; d < p->ndim; d++)
                fan_in *= p->shape[d];
            if (p->ndim == 1) {   /* a bias: the fan-in of its layer's weight */
                const fe_param *w = &m->p[i - 1];
                assert_true(ends_with(w->name, ".weight"));
                fan_in = 1;
                for (int d = 1; d < w->ndim; d++)
                    fan_in *= w->shape[d];
            }
            assert_int_equal(p->fan_in, fan_in);
            check_uniform(p, 1.0 / sqrt((double)fan_in));
        }
    }
    if (m->arch == &fe_resnet18) {
        assert_int_equal(nbn, 20 * 4);
        assert_int_equal(nconv, conv_std > 0 ? 20 : 0);
    }
}

static void test_init_lenet5(void **state)
{
    fe_model *m = new_model(&fe_lenet5, 1, 0, 3, 0);
    check_init(m, 0);
    size_t total = 0;
    for (int i = 0; i < m->np; i++)
        total += m->p[i].grad ? m->p[i].n : 0;
    assert_int_equal(total, 61706);     /* LeNet-5's parameter count in PyTorch */
    fe_model_free(m);
    m = new_model(&fe_lenet5, 1, 0, 3, 0.05);
    check_init(m, 0.05);
    fe_model_free(m);
}

static void test_init_resnet18(void **state)
{
    fe_model *m = new_model(&fe_resnet18, 1, 0, 5, 0);
    size_t total = 0;
    for (int i = 0; i < m->np; i++)
        total += m->p[i].grad ? m->p[i].n : 0;
    assert_int_equal(total, 11172810);  /* sum(p.numel() for p in model.parameters()) */
    check_init(m, 0);
    /* same seed, same parameters; another seed, other parameters */
    fe_model *m2 = new_model(&fe_resnet18, 1, 0, 5, 0);
    assert_memory_equal(m2->params, m->params, sizeof(float) * m->nparams);
    fe_rng r;
    fe_rng_seed(&r, 6, "init", 0);
    fe_model_init(m2, &r, 0);
    assert_memory_not_equal(m2->params, m->params, sizeof(float) * 1000);
    /* the paper's init: conv weights N(0, 1e-4), re-initialising a used model */
    for (int i = 0; i < 2; i++)
        fe_model_forward(m2, 1, 1);
    fe_rng_seed(&r, 5, "init", 0);
    fe_model_init(m2, &r, 1e-4);
    check_init(m2, 1e-4);
    fe_model_free(m2);
    fe_model_free(m);
}

static void test_set_input(void **state)
{
    fe_model *m = new_model(&fe_lenet5, 3, 0, 1, 0);
    uint8_t img[4 * 784];
    for (int i = 0; i < 4 * 784; i++)
        img[i] = (uint8_t)(i * 7 + i / 784);
    int64_t idx[3] = {2, 0, 3};
    fe_model_set_input(m, img, idx, 3, 0.1307f, 0.3081f);
    for (int k = 0; k < 3; k++)
        for (int j = 0; j < 784; j++) {
            float want = ((float)img[idx[k] * 784 + j] / 255.0f - 0.1307f) / 0.3081f;
            if (m->input[k * 784 + j] != want)
                fail_msg("input[%d][%d] = %.9g, want %.9g", k, j, (double)m->input[k * 784 + j],
                         (double)want);
        }
    fe_model_free(m);
}

/* ------------------------------------------------------------------ a model of the test's own */

/* The builder once kept 32 named layers (dropping the rest without a word) and
 * BatchNorm's data-parallel buffer held 512 channels.  This model is past both
 * (41 named convs, a BatchNorm of 1030 channels) and is built as a third model
 * would be: its own state, build, forward and backward, and one fe_arch row. */
enum { WIDE_CONVS = 40, WIDE_C = 1030 };
typedef struct {
    fe_conv c[WIDE_CONVS];  /* 1x1: 1 -> 4, then 4 -> 4, each with a ReLU, 28x28 */
    fe_conv up;             /* 1x1 stride 4: 4 -> WIDE_C, 7x7 */
    fe_bn bn;
    float *a;               /* relu(bn(up)) */
    float *pooled;
    fe_fc fc;
} wide_net;

static void wide_build(fe_builder *b)
{
    wide_net *W = b->m->net;
    char name[32];
    for (int i = 0; i < WIDE_CONVS; i++) {
        snprintf(name, sizeof name, "c%d", i);
        fe_b_conv(b, &W->c[i], name, i ? 4 : 1, 4, 1, 1, 0, 28, 28, FE_CONV_BIAS);
        fe_b_layer(b, &W->c[i], NULL, W->c[i].y, 4, 28, 28);
    }
    fe_b_conv(b, &W->up, "up", 4, WIDE_C, 1, 4, 0, 28, 28, 0);
    fe_b_bn(b, &W->bn, "bn", WIDE_C);
    W->a = fe_b_act(b, (size_t)WIDE_C * b->m->maxn * 49);
    fe_b_layer(b, &W->up, NULL, W->a, WIDE_C, 7, 7);
    W->pooled = fe_b_act(b, (size_t)WIDE_C * b->m->maxn);
    fe_b_fc(b, &W->fc, "fc", WIDE_C, 10);
    fe_b_layer(b, NULL, &W->fc, W->fc.y, 10, 1, 1);
}

static void wide_forward(fe_model *m, int n, int tr)
{
    wide_net *W = m->net;
    const float *x = m->input;
    for (int i = 0; i < WIDE_CONVS; i++) {
        fe_conv_forward(m, &W->c[i], n, x);
        relu_forward((size_t)4 * n * 784, W->c[i].y);
        x = W->c[i].y;
    }
    fe_conv_forward(m, &W->up, n, x);
    fe_bn_forward(m, &W->bn, (int64_t)n * 49, W->up.y, W->a, tr, &(bn_post){.relu = 1});
    avgpool_forward(WIDE_C, n, 49, 0, W->a, W->pooled);
    linear_forward(WIDE_C, 10, n, W->pooled, W->fc.w, W->fc.b, W->fc.y);
    memcpy(m->logits, W->fc.y, sizeof(float) * 10 * n);
}

static void wide_backward(fe_model *m, int pg, fe_hook *hook)
{
    (void)hook;
    wide_net *W = m->net;
    const int n = m->n;
    float *gA = m->g[0], *gB = m->g[1];
    linear_backward(WIDE_C, 10, n, W->pooled, W->fc.w, m->dlogits, pg ? W->fc.dw : NULL,
                    pg ? W->fc.db : NULL, gA);
    avgpool_backward(WIDE_C, n, 49, 0, gA, gB);
    relu_backward((size_t)WIDE_C * n * 49, W->a, gB, gB);
    fe_bn_backward(m, &W->bn, (int64_t)n * 49, W->up.y, gB, gA, m->training, pg);
    fe_conv_backward(m, &W->up, n, W->c[WIDE_CONVS - 1].y, gA, pg, gB, 0, NULL);
    for (int i = WIDE_CONVS - 1; i >= 0; i--) {
        relu_backward((size_t)4 * n * 784, W->c[i].y, gB, gB);
        fe_conv_backward(m, &W->c[i], n, i ? W->c[i - 1].y : m->input, gB, pg, i ? gA : NULL, 0,
                         NULL);
        float *t = gA;
        gA = gB;
        gB = t;
    }
}

static const fe_arch wide_arch = {
    .name = "wide", .title = "a test model", .detect_keys = {"up.weight", "bn.running_var"},
    .net_size = sizeof(wide_net), .build = wide_build, .forward = wide_forward,
    .backward = wide_backward,
};

/* A comm of one process that records the largest sum it is handed, and reads
 * and writes every element of it (so ASan sees a buffer shorter than it says). */
typedef struct { size_t most; } fake_comm_state;
static void fake_sum_f64(const fe_comm *c, double *buf, size_t n)
{
    fake_comm_state *s = c->impl;
    if (n > s->most)
        s->most = n;
    for (size_t i = 0; i < n; i++)
        buf[i] += 0.0;
}
static void fake_sum_f32(const fe_comm *c, float *buf, size_t n) { (void)c, (void)buf, (void)n; }

static void test_past_old_limits(void **state)
{
    (void)state;
    fe_err err;
    const int n = 2;
    fe_model *m = new_model(&wide_arch, n, 0, 61, 0);
    assert_int_equal(m->nlayers, WIDE_CONVS + 2);
    assert_int_equal(fe_model_find_layer(m, "c39"), 39);
    assert_int_equal(fe_model_find_layer(m, "fc"), WIDE_CONVS + 1);
    char list[1024];
    fe_model_layer_list(m, list, sizeof list);
    assert_non_null(strstr(list, "c38, c39, up, fc"));
    assert_int_equal(m->np, 2 * WIDE_CONVS + 1 + 5 + 2);

    /* the BatchNorm's sums over "the ranks": its 1030 channels in the buffer */
    fake_comm_state cs = {0};
    fe_comm comm = {.rank = 0, .size = 1, .sum_f64 = fake_sum_f64, .sum_f32 = fake_sum_f32,
                    .impl = &cs};
    const fe_model_opts dist = {.comm = &comm};
    fe_model *md = new_model_in(&wide_arch, n, &dist, 61, 0);
    fe_rng r;
    fe_rng_seed(&r, 61, "input", 0);
    uint8_t *img = random_images(&r, n);
    int64_t labels[2] = {1, 7};
    fe_model *ms[2] = {m, md};
    for (int k = 0; k < 2; k++) {
        fe_model_set_input(ms[k], img, NULL, n, 0.1307f, 0.3081f);
        fe_model_forward(ms[k], n, 1);
        softmax_xent(FE_CLASSES, n, ms[k]->logits, labels, ms[k]->dlogits, NULL, NULL);
        fe_model_backward(ms[k], 1, NULL);
    }
    free(img);
    /* the backward's two sums per channel, past the old 2 * 512 + 2 */
    assert_true(cs.most > 2 * 512 + 2 && cs.most <= 2 * WIDE_C + 2);
    double gmax = 0;
    for (size_t i = 0; i < m->nparams; i++)
        gmax = fmax(gmax, fabs(m->grads[i]));
    assert_true(gmax > 0);
    for (size_t i = 0; i < m->nparams; i++)     /* one process: the same step either way */
        if (fabs(md->grads[i] - m->grads[i]) > 1e-5 * gmax)
            fail_msg("gradient %zu: %.9g with the comm, %.9g without", i, (double)md->grads[i],
                     (double)m->grads[i]);
    fe_model_free(md);

    /* its checkpoint round trip, and detection among the known models (it is none) */
    char *dir = make_tmpdir(), path[4200];
    snprintf(path, sizeof path, "%s/wide.npz", dir);
    if (fe_model_save(m, path, &err))
        fail_msg("fe_model_save: %s", err.msg);
    fe_model *m2 = fe_model_new(&wide_arch, 1, NULL, &err);
    assert_non_null(m2);
    if (fe_model_load(m2, path, &err))
        fail_msg("fe_model_load: %s", err.msg);
    assert_memory_equal(m2->params, m->params, sizeof(float) * m->nparams);
    assert_null(fe_model_open(path, NULL, 1, NULL, &err));
    assert_non_null(strstr(err.msg, "lenet5, resnet18"));
    fe_model_free(m2);
    fe_model_free(m);
    unlink(path);
    remove_tmpdir(dir);
}

/* A name that would not fit is refused, not cut short: a layer's (47
 * characters at most) and a state_dict key (63). */
static void long_build(fe_builder *b)
{
    fe_bn *bn = b->m->net;
    fe_b_bn(b, bn, b->m->maxn == 1 ? "a.batchnorm.whose.keys.are.longer.than.sixty.three" : "bn", 4);
}

static void long_build2(fe_builder *b)
{
    fe_conv *c = b->m->net;
    fe_b_conv(b, c, "a.convolution.whose.name.is.longer.than.47.chars", 1, 2, 3, 1, 1, 28, 28, 0);
}

static void test_long_key(void **state)
{
    (void)state;
    const fe_arch a = {.name = "long", .net_size = sizeof(fe_conv), .build = long_build},
                  c = {.name = "long", .net_size = sizeof(fe_conv), .build = long_build2};
    fe_err err;
    assert_null(fe_model_new(&a, 1, NULL, &err));
    assert_non_null(strstr(err.msg, "longer than 63 characters"));
    fe_model *m = fe_model_new(&a, 2, NULL, &err);  /* the same with a short name */
    assert_non_null(m);
    fe_model_free(m);
    assert_null(fe_model_new(&c, 1, NULL, &err));
    assert_non_null(strstr(err.msg, "longer than 47 characters"));
}

/* What the table of models offers: lookup, the list, the modes. */
static void test_arch_table(void **state)
{
    (void)state;
    char buf[256];
    assert_ptr_equal(fe_arch_find("lenet5"), &fe_lenet5);
    assert_ptr_equal(fe_arch_find("resnet18"), &fe_resnet18);
    assert_null(fe_arch_find("resnet"));
    assert_string_equal(fe_arch_names(buf, sizeof buf, "|"), "lenet5|resnet18");
    fe_err why;
    const fe_model_opts bf16 = {.precision = FE_PREC_BF16};
    assert_int_equal(fe_arch_supports(&fe_lenet5, NULL, &why), 0);
    assert_int_not_equal(fe_arch_supports(&fe_lenet5, &bf16, &why), 0);
    assert_non_null(strstr(why.msg, "resnet18"));
    assert_null(fe_model_new(&fe_lenet5, 1, &bf16, &why));
    /* the mode decides what is reserved: an exact ResNet-18 no Winograd filters */
    fe_model *w = fe_model_new(&fe_resnet18, 1, NULL, &why);
    const fe_model_opts exact = {.exact_conv = 1};
    fe_model *e = fe_model_new(&fe_resnet18, 1, &exact, &why);
    assert_true(w && e);
    assert_non_null(w->conv_scratch);
    assert_null(e->conv_scratch);
    int wino = 0, own = 0;
    for (int i = 0; i < w->nlayers; i++)
        if (w->layers[i].conv) {
            const fe_conv *c = w->layers[i].conv;
            wino += c->algo == &fe_conv_winograd;
            own += c->algo == &fe_conv_direct_sgemm;
            /* exact: im2col, with our GEMM from 16 channels in, else OpenBLAS's */
            assert_ptr_equal(e->layers[i].conv->algo,
                             c->g.cin >= 16 ? &fe_conv_direct_sgemm : &fe_conv_direct);
        }
    /* every 3x3 stride-1 conv but conv1 (one channel): 4 in layer1, 3 in each other
     * layer; the three stride-2 3x3 convs and three 1x1 shortcuts on our GEMM */
    assert_int_equal(wino, 13);
    assert_int_equal(own, 6);
    fe_model_free(w);
    fe_model_free(e);
}

int main(int argc, char **argv)
{
    fe_blas_autoselect(argv);   /* as the tools do: the fast kernels when OpenBLAS misdetects */
    verbose = getenv("FE_TEST_VERBOSE") != NULL;
    memcheck = getenv("FE_TEST_MEMCHECK") != NULL;
    if (memcheck)
        print_message("FE_TEST_MEMCHECK set: fewer ResNet-18 finite differences (all in the plain run)\n");
    if (getenv("FE_TEST_SEED"))
        seed_offset = strtoull(getenv("FE_TEST_SEED"), NULL, 10);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lenet5_gradients),
        cmocka_unit_test(test_resnet18_gradients),
        cmocka_unit_test(test_lenet5_hooks),
        cmocka_unit_test(test_resnet18_hooks),
        cmocka_unit_test(test_partial_batch_lenet5),
        cmocka_unit_test(test_partial_batch_resnet18),
        cmocka_unit_test(test_partial_batch_resnet18_blocked),
        cmocka_unit_test(test_resnet18_layouts),
        cmocka_unit_test(test_resnet18_bf16),
        cmocka_unit_test(test_resnet18_exact_conv),
        cmocka_unit_test(test_resnet18_fix_weights),
        cmocka_unit_test(test_layer_names),
        cmocka_unit_test(test_save_load_lenet5),
        cmocka_unit_test(test_save_load_resnet18),
        cmocka_unit_test(test_init_lenet5),
        cmocka_unit_test(test_init_resnet18),
        cmocka_unit_test(test_set_input),
        cmocka_unit_test(test_past_old_limits),
        cmocka_unit_test(test_long_key),
        cmocka_unit_test(test_arch_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
