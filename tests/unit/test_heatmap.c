/* test_heatmap.c - heatmap_render and png_out: exact pixels of every colormap,
 * ranges and clamping, NaN/inf, upscaling, tiling and gaps, the automatic scale,
 * refusals, and PNG files decoded back with libpng. */
#include "fe_test.h"

#include <math.h>
#include <png.h>

#include "heatmap_render.h"
#include "png_out.h"
#include "tensor.h"

/* ---- helpers ------------------------------------------------------------- */

static fe_tensor mk(int ndim, const int64_t *shape, const float *vals)
{
    fe_tensor t;
    assert_int_equal(fe_tensor_alloc(&t, FE_F32, ndim, shape), 0);
    if (vals)
        memcpy(t.data, vals, (size_t)fe_numel(&t) * sizeof(float));
    return t;
}

static fe_tensor mk2(int64_t h, int64_t w, const float *vals)
{
    int64_t s[2] = {h, w};
    return mk(2, s, vals);
}

static fe_tensor mk3(int64_t n, int64_t h, int64_t w, const float *vals)
{
    int64_t s[3] = {n, h, w};
    return mk(3, s, vals);
}

static hm_opts opts(hm_cmap c, int64_t scale)
{
    hm_opts o;
    hm_opts_init(&o);
    o.cmap = c;
    o.scale = scale;
    return o;
}

/* Encode the plan's image as PNG in memory. */
static uint8_t *encode(const hm_plan *p, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    assert_non_null(f);
    fe_err err;
    if (hm_write_png(f, p, &err) != 0)
        fail_msg("hm_write_png: %s", err.msg);
    assert_int_equal(fclose(f), 0);
    *len = n;
    return (uint8_t *)buf;
}

/* Decode a PNG to packed RGB with libpng; checks it is 8-bit RGB (IHDR bytes). */
static uint8_t *decode(const uint8_t *png, size_t len, uint32_t *w, uint32_t *h)
{
    assert_true(len > 33);
    assert_memory_equal(png, "\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16);
    assert_int_equal(png[24], 8);  /* bit depth */
    assert_int_equal(png[25], 2);  /* colour type: RGB */
    assert_int_equal(png[28], 0);  /* not interlaced */
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_memory(&img, png, len));
    img.format = PNG_FORMAT_RGB;
    uint8_t *rgb = malloc(PNG_IMAGE_SIZE(img));
    assert_non_null(rgb);
    if (!png_image_finish_read(&img, NULL, rgb, 0, NULL))
        fail_msg("libpng: %s", img.message);
    *w = img.width;
    *h = img.height;
    png_image_free(&img);
    return rgb;
}

/* Render t with o through PNG and back; the decoded pixels must equal hm_render's. */
static uint8_t *draw(const fe_tensor *t, const hm_opts *o, uint32_t *w, uint32_t *h)
{
    hm_plan p;
    fe_err err;
    if (hm_plan_make(&p, t, o, &err) != 0)
        fail_msg("hm_plan_make: %s", err.msg);
    size_t len;
    uint8_t *png = encode(&p, &len);
    uint8_t *rgb = decode(png, len, w, h);
    assert_int_equal(*w, p.width);
    assert_int_equal(*h, p.height);
    uint8_t *direct = hm_render(&p);
    assert_non_null(direct);
    assert_memory_equal(rgb, direct, (size_t)*w * *h * 3);
    free(direct);
    free(png);
    hm_plan_free(&p);
    return rgb;
}

static void refuse(const fe_tensor *t, const hm_opts *o, const char *sub)
{
    hm_plan p;
    fe_err err = {{0}};
    assert_int_equal(hm_plan_make(&p, t, o, &err), -1);
    assert_msg_contains(err.msg, sub);
    hm_plan_free(&p);  /* harmless after a failure */
}

#define PX(rgb, w, x, y) ((rgb) + 3 * ((size_t)(y) * (w) + (x)))

static void assert_rgb(const uint8_t *px, int r, int g, int b)
{
    if (px[0] != r || px[1] != g || px[2] != b)
        fail_msg("pixel (%d,%d,%d), expected (%d,%d,%d)", px[0], px[1], px[2], r, g, b);
}

/* ---- colour maps ---------------------------------------------------------- */

static void test_grey_exact(void **state)
{
    (void)state;
    const float v[] = {0, 1, 2, 3, 4, 5};
    fe_tensor t = mk2(2, 3, v);
    hm_opts o = opts(HM_GREY, 1);
    uint32_t w, h;
    uint8_t *rgb = draw(&t, &o, &w, &h);
    assert_int_equal(w, 3);
    assert_int_equal(h, 2);
    /* row 0 at the top, column 0 at the left; t = k/5 -> 51 k exactly */
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 3; x++) {
            int g = 51 * (3 * y + x);
            assert_rgb(PX(rgb, w, x, y), g, g, g);
        }
    free(rgb);
    fe_tensor_free(&t);
}

static void test_luts(void **state)
{
    (void)state;
    uint8_t lut[256][3];
    hm_cmap_lut(HM_GREY, lut);
    for (int i = 0; i < 256; i++)
        assert_rgb(lut[i], i, i, i);
    /* matplotlib: to_hex(viridis(0)) = #440154, viridis(0.5) = #21918c, viridis(1) = #fde725 */
    hm_cmap_lut(HM_VIRIDIS, lut);
    assert_rgb(lut[0], 68, 1, 84);
    assert_rgb(lut[128], 33, 145, 140);
    assert_rgb(lut[255], 253, 231, 37);
    /* viridis: lightness grows; green rises monotonically */
    for (int i = 1; i < 256; i++)
        assert_true(lut[i][1] >= lut[i - 1][1]);
    /* RdBu_r: ColorBrewer's ends, near-white middle */
    hm_cmap_lut(HM_DIVERGING, lut);
    assert_rgb(lut[0], 5, 48, 97);
    assert_rgb(lut[255], 103, 0, 31);
    assert_rgb(lut[128], 247, 246, 246);
    assert_rgb(lut[127], 246, 247, 247);
    /* entries 51 and 204 fall exactly on stops 2 and 8 of 0..10: #4393c3, #d6604d */
    assert_rgb(lut[51], 67, 147, 195);
    assert_rgb(lut[204], 214, 96, 77);
    for (int i = 0; i < 256; i++)  /* blue half has more blue than red, red half the opposite */
        assert_true(i < 128 ? lut[i][2] >= lut[i][0] : lut[i][0] >= lut[i][2]);
    uint8_t bg[3];
    hm_cmap_bg(HM_GREY, bg);
    assert_rgb(bg, 0x3c, 0x50, 0x78);
    hm_cmap_bg(HM_VIRIDIS, bg);
    assert_rgb(bg, 255, 255, 255);
    hm_cmap_bg(HM_DIVERGING, bg);
    assert_rgb(bg, 128, 128, 128);

    hm_cmap c;
    assert_int_equal(hm_cmap_parse("grey", &c), 0);
    assert_int_equal(c, HM_GREY);
    assert_int_equal(hm_cmap_parse("gray", &c), 0);
    assert_int_equal(c, HM_GREY);
    assert_int_equal(hm_cmap_parse("viridis", &c), 0);
    assert_int_equal(c, HM_VIRIDIS);
    assert_int_equal(hm_cmap_parse("diverging", &c), 0);
    assert_int_equal(c, HM_DIVERGING);
    assert_int_equal(hm_cmap_parse("jet", &c), -1);
    assert_int_equal(hm_cmap_parse("", &c), -1);
    assert_string_equal(hm_cmap_name(HM_VIRIDIS), "viridis");
}

static void test_viridis_render(void **state)
{
    (void)state;
    const float v[] = {-1, 0, 1};
    fe_tensor t = mk2(1, 3, v);
    hm_opts o = opts(HM_VIRIDIS, 1);
    uint32_t w, h;
    uint8_t *rgb = draw(&t, &o, &w, &h);
    assert_rgb(PX(rgb, w, 0, 0), 68, 1, 84);     /* viridis(0) */
    assert_rgb(PX(rgb, w, 1, 0), 33, 145, 140);  /* t = 0.5 -> entry round(127.5) = 128 */
    assert_rgb(PX(rgb, w, 2, 0), 253, 231, 37);  /* viridis(1) */
    free(rgb);
    fe_tensor_free(&t);
}

static void test_diverging_symmetric(void **state)
{
    (void)state;
    const float v[] = {-2, 0, 1, 0.5f};
    fe_tensor t = mk2(2, 2, v);
    hm_opts o = opts(HM_DIVERGING, 1);
    uint8_t lut[256][3];
    hm_cmap_lut(HM_DIVERGING, lut);
    uint32_t w, h;
    uint8_t *rgb = draw(&t, &o, &w, &h);
    /* default range [-2, 2]: zero is the middle, whatever the data's min and max */
    assert_memory_equal(PX(rgb, w, 0, 0), lut[0], 3);
    assert_memory_equal(PX(rgb, w, 1, 0), lut[128], 3);
    assert_memory_equal(PX(rgb, w, 0, 1), lut[191], 3);   /* t = 0.75 -> 191.25 */
    assert_memory_equal(PX(rgb, w, 1, 1), lut[159], 3);   /* t = 0.625 -> 159.375 */
    free(rgb);
    /* all-positive data: still symmetric, so the smallest value is not blue */
    const float pos[] = {1, 2, 3, 4};
    fe_tensor t2 = mk2(2, 2, pos);
    rgb = draw(&t2, &o, &w, &h);
    assert_memory_equal(PX(rgb, w, 0, 0), lut[159], 3);  /* [-4, 4]: t = 5/8 -> 159.375 */
    free(rgb);
    fe_tensor_free(&t);
    fe_tensor_free(&t2);
}

/* ---- mapping rules -------------------------------------------------------- */

static void test_index(void **state)
{
    (void)state;
    assert_int_equal(hm_index(0.f, 0, 1), 0);
    assert_int_equal(hm_index(1.f, 0, 1), 255);
    assert_int_equal(hm_index(0.5f, 0, 1), 128);          /* 127.5 rounds up */
    assert_int_equal(hm_index(-5.f, 0, 1), 0);            /* clamped */
    assert_int_equal(hm_index(7.f, 0, 1), 255);
    assert_int_equal(hm_index(NAN, 0, 1), -1);
    assert_int_equal(hm_index(INFINITY, 0, 1), 255);
    assert_int_equal(hm_index(-INFINITY, 0, 1), 0);
    /* vmin == vmax: a step at that value, its own value in the middle */
    assert_int_equal(hm_index(3.f, 3, 3), 128);
    assert_int_equal(hm_index(2.f, 3, 3), 0);
    assert_int_equal(hm_index(4.f, 3, 3), 255);
    assert_int_equal(hm_index(INFINITY, 3, 3), 255);
    /* a range wider than DBL_MAX */
    assert_int_equal(hm_index(0.f, -1e308, 1e308), 128);
    assert_int_equal(hm_index(3e38f, -1e308, 1e308), 128);
    assert_int_equal(hm_index(-3e38f, -1e308, 1e308), 128);
    /* every entry is reachable: t = i/255 -> i */
    for (int i = 0; i < 256; i++)
        assert_int_equal(hm_index((float)i, 0, 255), i);
}

static void test_vmin_vmax(void **state)
{
    (void)state;
    const float v[] = {0, 1, 2, 3, 4, 5};
    fe_tensor t = mk2(2, 3, v);
    hm_opts o = opts(HM_GREY, 1);
    o.has_vmin = o.has_vmax = 1;
    o.vmin = 1;
    o.vmax = 4;
    uint32_t w, h;
    uint8_t *rgb = draw(&t, &o, &w, &h);
    const int want[] = {0, 0, 85, 170, 255, 255};
    for (int i = 0; i < 6; i++)
        assert_rgb(PX(rgb, w, i % 3, i / 3), want[i], want[i], want[i]);
    free(rgb);
    /* only one end given: the other from the data */
    hm_opts_init(&o);
    o.scale = 1;
    o.has_vmax = 1;
    o.vmax = 10;
    rgb = draw(&t, &o, &w, &h);
    assert_rgb(PX(rgb, w, 0, 0), 0, 0, 0);
    assert_rgb(PX(rgb, w, 2, 1), 128, 128, 128);   /* 5/10 -> 127.5 -> 128 */
    free(rgb);
    /* diverging with an explicit range is not forced symmetric */
    o = opts(HM_DIVERGING, 1);
    o.has_vmin = o.has_vmax = 1;
    o.vmin = 0;
    o.vmax = 5;
    uint8_t lut[256][3];
    hm_cmap_lut(HM_DIVERGING, lut);
    rgb = draw(&t, &o, &w, &h);
    assert_memory_equal(PX(rgb, w, 0, 0), lut[0], 3);
    assert_memory_equal(PX(rgb, w, 2, 1), lut[255], 3);
    free(rgb);
    fe_tensor_free(&t);
}

static void test_constant_nan_inf(void **state)
{
    (void)state;
    const float c[] = {7, 7, 7, 7};
    fe_tensor t = mk2(2, 2, c);
    hm_opts o = opts(HM_GREY, 1);
    uint32_t w, h;
    uint8_t *rgb = draw(&t, &o, &w, &h);
    for (int i = 0; i < 4; i++)
        assert_rgb(PX(rgb, w, i % 2, i / 2), 128, 128, 128);
    free(rgb);
    fe_tensor_free(&t);

    const float v[] = {NAN, 0, INFINITY, -INFINITY, 2, 1};
    t = mk2(2, 3, v);
    rgb = draw(&t, &o, &w, &h);
    assert_rgb(PX(rgb, w, 0, 0), HM_NAN_R, HM_NAN_G, HM_NAN_B);
    assert_rgb(PX(rgb, w, 0, 0), 255, 0, 255);
    assert_rgb(PX(rgb, w, 1, 0), 0, 0, 0);        /* range from finite values: [0, 2] */
    assert_rgb(PX(rgb, w, 2, 0), 255, 255, 255);  /* +inf: top */
    assert_rgb(PX(rgb, w, 0, 1), 0, 0, 0);        /* -inf: bottom */
    assert_rgb(PX(rgb, w, 1, 1), 255, 255, 255);
    assert_rgb(PX(rgb, w, 2, 1), 128, 128, 128);
    free(rgb);
    /* the NaN colour is the same in every map */
    o.cmap = HM_VIRIDIS;
    rgb = draw(&t, &o, &w, &h);
    assert_rgb(PX(rgb, w, 0, 0), 255, 0, 255);
    free(rgb);
    fe_tensor_free(&t);
}

/* ---- geometry ------------------------------------------------------------- */

static void test_upscale(void **state)
{
    (void)state;
    const float v[] = {0, 1, 2, 3, 4, 5};
    fe_tensor t = mk2(2, 3, v);
    hm_opts o = opts(HM_VIRIDIS, 1);
    uint32_t w1, h1, w, h;
    uint8_t *one = draw(&t, &o, &w1, &h1);
    o.scale = 4;
    uint8_t *rgb = draw(&t, &o, &w, &h);
    assert_int_equal(w, 12);
    assert_int_equal(h, 8);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            assert_memory_equal(PX(rgb, w, x, y), PX(one, w1, x / 4, y / 4), 3);
    free(rgb);
    free(one);
    fe_tensor_free(&t);
}

static void plan_size(int64_t hh, int64_t ww, int64_t *k, int64_t *w, int64_t *h)
{
    fe_tensor t = mk2(hh, ww, NULL);
    hm_opts o = opts(HM_GREY, 0);
    hm_plan p;
    fe_err err;
    if (hm_plan_make(&p, &t, &o, &err) != 0)
        fail_msg("%lldx%lld: %s", (long long)hh, (long long)ww, err.msg);
    *k = p.scale;
    *w = p.width;
    *h = p.height;
    hm_plan_free(&p);
    fe_tensor_free(&t);
}

static void test_auto_scale(void **state)
{
    (void)state;
    int64_t k, w, h;
    plan_size(9, 9, &k, &w, &h);
    assert_int_equal(k, 29);
    assert_int_equal(w, 261);
    assert_int_equal(h, 261);
    plan_size(256, 300, &k, &w, &h);
    assert_int_equal(k, 1);
    plan_size(255, 300, &k, &w, &h);
    assert_int_equal(k, 2);
    plan_size(1, 1, &k, &w, &h);
    assert_int_equal(k, 256);
    plan_size(10, 1000, &k, &w, &h);     /* 26 would make 26000 wide: capped at 8192 */
    assert_int_equal(k, 8);
    assert_int_equal(w, 8000);
    plan_size(1, 10000, &k, &w, &h);     /* long side already over 8192: raw pixels */
    assert_int_equal(k, 1);
    assert_int_equal(w, 10000);
    assert_int_equal(h, 1);
}

static void test_tiles(void **state)
{
    (void)state;
    /* 5 tiles of 2x3, tile i holds i everywhere except its top-left pixel = 10 */
    float v[5 * 6];
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 6; j++)
            v[i * 6 + j] = j == 0 ? 10.f : (float)i;
    fe_tensor t = mk3(5, 2, 3, v);
    hm_opts o = opts(HM_GREY, 2);
    o.gap = 3;
    uint32_t w, h;
    uint8_t *rgb = draw(&t, &o, &w, &h);
    /* cols = ceil(sqrt 5) = 3, rows 2: 3 tiles of 6 px + 2 gaps of 3; 2 of 4 + 1 gap */
    assert_int_equal(w, 3 * 6 + 2 * 3);
    assert_int_equal(h, 2 * 4 + 3);
    const uint8_t bg[3] = {0x3c, 0x50, 0x78};
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            int gx = (int)x / 9, ox = (int)x % 9, gy = (int)y / 7, oy = (int)y % 7;
            const uint8_t *px = PX(rgb, w, x, y);
            if (ox >= 6 || oy >= 4 || gy * 3 + gx >= 5) {
                assert_memory_equal(px, bg, 3);   /* gap or the empty sixth slot */
                continue;
            }
            int i = gy * 3 + gx;
            float val = (ox / 2 == 0 && oy / 2 == 0) ? 10.f : (float)i;
            int g = (int)floor(val / 10.0 * 255.0 + 0.5);  /* shared range [0, 10] */
            assert_rgb(px, g, g, g);
        }
    free(rgb);
    /* --cols 2: 3 rows, two tiles per row */
    o.cols = 2;
    o.gap = 0;
    rgb = draw(&t, &o, &w, &h);
    assert_int_equal(w, 12);
    assert_int_equal(h, 12);
    assert_rgb(PX(rgb, w, 6 + 2, 8 + 2), 0x3c, 0x50, 0x78);   /* slot 5: empty */
    assert_rgb(PX(rgb, w, 2, 8 + 2), 102, 102, 102);          /* tile 4 = 4/10 */
    free(rgb);
    /* default gap: max(1, K/4) */
    hm_plan p;
    fe_err err;
    o = opts(HM_GREY, 2);
    assert_int_equal(hm_plan_make(&p, &t, &o, &err), 0);
    assert_int_equal(p.gap, 1);
    hm_plan_free(&p);
    o.scale = 29;
    assert_int_equal(hm_plan_make(&p, &t, &o, &err), 0);
    assert_int_equal(p.gap, 7);
    assert_int_equal(p.width, 3 * 3 * 29 + 2 * 7);
    hm_plan_free(&p);
    /* a 2-D input has no gap whatever --gap says */
    fe_tensor t2 = mk2(2, 3, v);
    o.gap = 5;
    assert_int_equal(hm_plan_make(&p, &t2, &o, &err), 0);
    assert_int_equal(p.gap, 0);
    assert_int_equal(p.width, 3 * 29);
    hm_plan_free(&p);
    /* one tile: no gap either */
    fe_tensor t1 = mk3(1, 2, 3, v);
    assert_int_equal(hm_plan_make(&p, &t1, &o, &err), 0);
    assert_int_equal(p.width, 3 * 29);
    assert_int_equal(p.height, 2 * 29);
    hm_plan_free(&p);
    fe_tensor_free(&t);
    fe_tensor_free(&t1);
    fe_tensor_free(&t2);
}

/* A 4-D [O,I,KH,KW] weight: the 3-D stack [O*I,KH,KW], a grid row per output
 * channel (I columns); with I = 1 the stack [O,KH,KW]'s default grid; --cols wins. */
/* draw a with oa and b with ob: the same image, of want_w x want_h (want_h 0: any) */
static void assert_same_drawing(const fe_tensor *a, const hm_opts *oa, const fe_tensor *b,
                                const hm_opts *ob, uint32_t want_w, uint32_t want_h)
{
    uint32_t w, h, wb, hb;
    uint8_t *pa = draw(a, oa, &w, &h), *pb = draw(b, ob, &wb, &hb);
    assert_int_equal(w, want_w);
    if (want_h)
        assert_int_equal(h, want_h);
    assert_int_equal(wb, w);
    assert_int_equal(hb, h);
    assert_memory_equal(pa, pb, (size_t)w * h * 3);
    free(pa);
    free(pb);
}

static void test_conv_weight(void **state)
{
    (void)state;
    float v[3 * 2 * 2 * 3];
    for (int i = 0; i < 3 * 2 * 2 * 3; i++)
        v[i] = (float)i;
    int64_t s4[4] = {3, 2, 2, 3}, s41[4] = {6, 1, 2, 3};
    fe_tensor t4 = mk(4, s4, v), t3 = mk3(6, 2, 3, v), t41 = mk(4, s41, v);
    hm_opts o = opts(HM_VIRIDIS, 2), o3 = o;
    o.gap = o3.gap = 1;
    o3.cols = 2;
    /* 3 rows (output channels) of 2 tiles (input channels) of 3 x 2 values, K 2, gap 1 */
    assert_same_drawing(&t4, &o, &t3, &o3, 2 * 6 + 1, 3 * 4 + 2);
    /* one input channel: the default grid of the 6 filters, ceil(sqrt 6) = 3 columns */
    o3.cols = 0;
    assert_same_drawing(&t41, &o, &t3, &o3, 3 * 6 + 2, 2 * 4 + 1);
    /* --cols overrides: 4-D with --cols 3 is the 3-D stack with --cols 3 */
    o.cols = o3.cols = 3;
    assert_same_drawing(&t4, &o, &t3, &o3, 3 * 6 + 2, 0);
    fe_tensor_free(&t4);
    fe_tensor_free(&t3);
    fe_tensor_free(&t41);
}

static void test_per_tile(void **state)
{
    (void)state;
    const float v[] = {0, 1, 10, 20, NAN, NAN};
    fe_tensor t = mk3(3, 1, 2, v);
    hm_opts o = opts(HM_GREY, 1);
    o.gap = 1;
    o.cols = 3;
    uint32_t w, h;
    uint8_t *rgb = draw(&t, &o, &w, &h);   /* shared range [0, 20] */
    assert_int_equal(w, 8);
    assert_rgb(PX(rgb, w, 1, 0), 13, 13, 13);        /* 1/20 * 255 = 12.75 */
    assert_rgb(PX(rgb, w, 3, 0), 128, 128, 128);     /* 10/20 */
    assert_rgb(PX(rgb, w, 6, 0), 255, 0, 255);
    free(rgb);
    o.per_tile = 1;
    rgb = draw(&t, &o, &w, &h);
    assert_rgb(PX(rgb, w, 0, 0), 0, 0, 0);
    assert_rgb(PX(rgb, w, 1, 0), 255, 255, 255);
    assert_rgb(PX(rgb, w, 2, 0), 0x3c, 0x50, 0x78);  /* gap */
    assert_rgb(PX(rgb, w, 3, 0), 0, 0, 0);
    assert_rgb(PX(rgb, w, 4, 0), 255, 255, 255);
    assert_rgb(PX(rgb, w, 6, 0), 255, 0, 255);        /* an all-NaN tile is allowed */
    assert_rgb(PX(rgb, w, 7, 0), 255, 0, 255);
    free(rgb);
    /* an explicit end applies to every tile: [0, 1], [0, 20] */
    o.has_vmin = 1;
    o.vmin = 0;
    rgb = draw(&t, &o, &w, &h);
    assert_rgb(PX(rgb, w, 1, 0), 255, 255, 255);
    assert_rgb(PX(rgb, w, 3, 0), 128, 128, 128);
    assert_rgb(PX(rgb, w, 4, 0), 255, 255, 255);
    free(rgb);
    /* ... and must not invert any tile's range: [10, 2] */
    o.has_vmin = 0;
    o.has_vmax = 1;
    o.vmax = 2;
    refuse(&t, &o, "vmin 10 is above vmax 2 (vmin from the data, per tile)");
    fe_tensor_free(&t);
}

/* ---- refusals --------------------------------------------------------------- */

static void test_refusals(void **state)
{
    (void)state;
    hm_opts o = opts(HM_GREY, 0);
    int64_t s1[1] = {4}, s5[5] = {1, 2, 2, 2, 1};
    fe_tensor t1 = mk(1, s1, NULL), t5 = mk(5, s5, NULL);
    refuse(&t1, &o, "need a 2-D matrix, a 3-D [N,H,W] stack or a 4-D [O,I,KH,KW] conv weight, "
           "got 1-D shape (4,)");
    refuse(&t5, &o, "got 5-D shape (1, 2, 2, 2, 1)");
    fe_tensor t0;
    assert_int_equal(fe_tensor_alloc(&t0, FE_F32, 0, NULL), 0);
    refuse(&t0, &o, "got 0-D");
    fe_tensor z = mk2(0, 3, NULL);
    refuse(&z, &o, "zero-sized dimension");
    fe_tensor z3 = mk3(2, 3, 0, NULL);
    refuse(&z3, &o, "zero-sized dimension");
    const float nan4[] = {NAN, NAN, NAN, NAN}, inf4[] = {INFINITY, NAN, -INFINITY, NAN};
    fe_tensor n = mk2(2, 2, nan4), inf = mk2(2, 2, inf4);
    refuse(&n, &o, "no finite values");
    refuse(&inf, &o, "no finite values");
    o.per_tile = 1;
    fe_tensor n3 = mk3(2, 1, 2, nan4);
    refuse(&n3, &o, "no finite values");
    o.per_tile = 0;
    /* explicit range inverted or empty */
    const float v[] = {0, 1, 2, 3};
    fe_tensor m = mk2(2, 2, v);
    o.has_vmin = o.has_vmax = 1;
    o.vmin = 1;
    o.vmax = 1;
    refuse(&m, &o, "vmin 1 is not below vmax 1");
    o.vmin = 2;
    refuse(&m, &o, "not below");
    /* one end given, the other from the data, inverted */
    o.has_vmax = 0;
    o.vmin = 5;
    refuse(&m, &o, "vmin 5 is above vmax 3 (vmax from the data)");
    o.has_vmin = 0;
    o.has_vmax = 1;
    o.vmax = -1;
    refuse(&m, &o, "vmin 0 is above vmax -1 (vmin from the data)");
    o.has_vmax = 0;
    /* too large */
    o.scale = 40000;
    refuse(&m, &o, "over 32768 pixels per side");
    o.scale = 16385;   /* 32770 wide */
    refuse(&m, &o, "32770 x 32770 pixels, over 32768 per side");
    o.scale = 9000;    /* 18000 x 18000 x 3 = 927 MiB */
    refuse(&m, &o, "over 256 MiB");
    o.scale = 1;
    fe_tensor wide = mk2(1, 40000, NULL);
    refuse(&wide, &o, "over 32768 pixels per side");
    fe_tensor many = mk3(40000, 1, 1, NULL);
    o.cols = 40000;
    refuse(&many, &o, "over 32768 pixels per side");
    o.cols = 0;   /* 200 x 200 grid: fine */
    hm_plan p;
    fe_err err;
    assert_int_equal(hm_plan_make(&p, &many, &o, &err), 0);
    assert_int_equal(p.cols, 200);
    assert_int_equal(p.rows, 200);
    hm_plan_free(&p);
    o.gap = 1000;
    refuse(&many, &o, "over 32768 per side");
    o.gap = -1;
    /* not float32 */
    fe_tensor u;
    int64_t s2[2] = {2, 2};
    assert_int_equal(fe_tensor_alloc(&u, FE_U8, 2, s2), 0);
    refuse(&u, &o, "float32");
    fe_tensor *all[] = {&t1, &t5, &t0, &z, &z3, &n, &inf, &n3, &m, &wide, &many, &u};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        fe_tensor_free(all[i]);
}

/* ---- PNG output ------------------------------------------------------------ */

static void test_png_deterministic(void **state)
{
    (void)state;
    float v[3 * 4 * 5];
    for (int i = 0; i < 60; i++)
        v[i] = sinf((float)i);
    fe_tensor t = mk3(3, 4, 5, v);
    hm_opts o = opts(HM_VIRIDIS, 3);
    hm_plan p;
    fe_err err;
    assert_int_equal(hm_plan_make(&p, &t, &o, &err), 0);
    size_t l1, l2;
    uint8_t *a = encode(&p, &l1), *b = encode(&p, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(a, b, l1);
    /* only IHDR, IDAT..., IEND: no time stamp or text */
    size_t off = 8;
    int nchunks = 0;
    while (off + 12 <= l1) {
        uint32_t n = (uint32_t)a[off] << 24 | (uint32_t)a[off + 1] << 16 |
                     (uint32_t)a[off + 2] << 8 | a[off + 3];
        char type[5] = {0};
        memcpy(type, a + off + 4, 4);
        if (nchunks == 0)
            assert_string_equal(type, "IHDR");
        else if (strcmp(type, "IEND") != 0)
            assert_string_equal(type, "IDAT");
        nchunks++;
        off += 12 + n;
    }
    assert_int_equal(off, l1);
    assert_memory_equal(a + l1 - 12, "\0\0\0\0IEND\xae\x42\x60\x82", 12);
    free(a);
    free(b);
    hm_plan_free(&p);
    fe_tensor_free(&t);
}

static void test_png_save(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/x.png", dir);
    const uint8_t rgb[2 * 2 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 250, 251, 252};
    fe_err err;
    assert_int_equal(fe_png_save_rgb(path, rgb, 2, 2, &err), 0);
    size_t len;
    uint8_t *png = slurp(path, &len);
    uint32_t w, h;
    uint8_t *back = decode(png, len, &w, &h);
    assert_int_equal(w, 2);
    assert_int_equal(h, 2);
    assert_memory_equal(back, rgb, sizeof rgb);
    free(back);
    free(png);
    assert_int_equal(count_entries(dir), 1);
    /* a failed write leaves the old file and no temp */
    assert_int_equal(fe_png_save_rgb(path, rgb, 0, 2, &err), -1);
    assert_msg_contains(err.msg, "empty image");
    assert_int_equal(count_entries(dir), 1);
    png = slurp(path, &len);
    back = decode(png, len, &w, &h);
    assert_memory_equal(back, rgb, sizeof rgb);
    free(back);
    free(png);
    /* a failed write comes back as a message with the reason, not a crash */
    FILE *full = fopen("/dev/full", "wb");
    if (full) {
        setvbuf(full, NULL, _IONBF, 0);
        assert_int_equal(fe_png_write_rgb(full, rgb, 2, 2, &err), -1);
        assert_msg_contains(err.msg, "write failed: No space left on device");
        fclose(full);
    }
    remove_tmpdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grey_exact),
        cmocka_unit_test(test_luts),
        cmocka_unit_test(test_viridis_render),
        cmocka_unit_test(test_diverging_symmetric),
        cmocka_unit_test(test_index),
        cmocka_unit_test(test_vmin_vmax),
        cmocka_unit_test(test_constant_nan_inf),
        cmocka_unit_test(test_upscale),
        cmocka_unit_test(test_auto_scale),
        cmocka_unit_test(test_tiles),
        cmocka_unit_test(test_conv_weight),
        cmocka_unit_test(test_per_tile),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_png_deterministic),
        cmocka_unit_test(test_png_save),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
