/* heatmap_render.c - colour mapping, tiling and PNG output of matrices
 * (heatmap_render.h). */
#include "heatmap_render.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "png_out.h"

/* matplotlib's viridis (lib/matplotlib/_cm_listed.py, _viridis_data), by Nathaniel
 * J. Smith, Stefan van der Walt and Eric Firing, released under CC0. */
static const double VIRIDIS[256][3] = {
    {0.267004, 0.004874, 0.329415}, {0.268510, 0.009605, 0.335427},
    {0.269944, 0.014625, 0.341379}, {0.271305, 0.019942, 0.347269},
    {0.272594, 0.025563, 0.353093}, {0.273809, 0.031497, 0.358853},
    {0.274952, 0.037752, 0.364543}, {0.276022, 0.044167, 0.370164},
    {0.277018, 0.050344, 0.375715}, {0.277941, 0.056324, 0.381191},
    {0.278791, 0.062145, 0.386592}, {0.279566, 0.067836, 0.391917},
    {0.280267, 0.073417, 0.397163}, {0.280894, 0.078907, 0.402329},
    {0.281446, 0.084320, 0.407414}, {0.281924, 0.089666, 0.412415},
    {0.282327, 0.094955, 0.417331}, {0.282656, 0.100196, 0.422160},
    {0.282910, 0.105393, 0.426902}, {0.283091, 0.110553, 0.431554},
    {0.283197, 0.115680, 0.436115}, {0.283229, 0.120777, 0.440584},
    {0.283187, 0.125848, 0.444960}, {0.283072, 0.130895, 0.449241},
    {0.282884, 0.135920, 0.453427}, {0.282623, 0.140926, 0.457517},
    {0.282290, 0.145912, 0.461510}, {0.281887, 0.150881, 0.465405},
    {0.281412, 0.155834, 0.469201}, {0.280868, 0.160771, 0.472899},
    {0.280255, 0.165693, 0.476498}, {0.279574, 0.170599, 0.479997},
    {0.278826, 0.175490, 0.483397}, {0.278012, 0.180367, 0.486697},
    {0.277134, 0.185228, 0.489898}, {0.276194, 0.190074, 0.493001},
    {0.275191, 0.194905, 0.496005}, {0.274128, 0.199721, 0.498911},
    {0.273006, 0.204520, 0.501721}, {0.271828, 0.209303, 0.504434},
    {0.270595, 0.214069, 0.507052}, {0.269308, 0.218818, 0.509577},
    {0.267968, 0.223549, 0.512008}, {0.266580, 0.228262, 0.514349},
    {0.265145, 0.232956, 0.516599}, {0.263663, 0.237631, 0.518762},
    {0.262138, 0.242286, 0.520837}, {0.260571, 0.246922, 0.522828},
    {0.258965, 0.251537, 0.524736}, {0.257322, 0.256130, 0.526563},
    {0.255645, 0.260703, 0.528312}, {0.253935, 0.265254, 0.529983},
    {0.252194, 0.269783, 0.531579}, {0.250425, 0.274290, 0.533103},
    {0.248629, 0.278775, 0.534556}, {0.246811, 0.283237, 0.535941},
    {0.244972, 0.287675, 0.537260}, {0.243113, 0.292092, 0.538516},
    {0.241237, 0.296485, 0.539709}, {0.239346, 0.300855, 0.540844},
    {0.237441, 0.305202, 0.541921}, {0.235526, 0.309527, 0.542944},
    {0.233603, 0.313828, 0.543914}, {0.231674, 0.318106, 0.544834},
    {0.229739, 0.322361, 0.545706}, {0.227802, 0.326594, 0.546532},
    {0.225863, 0.330805, 0.547314}, {0.223925, 0.334994, 0.548053},
    {0.221989, 0.339161, 0.548752}, {0.220057, 0.343307, 0.549413},
    {0.218130, 0.347432, 0.550038}, {0.216210, 0.351535, 0.550627},
    {0.214298, 0.355619, 0.551184}, {0.212395, 0.359683, 0.551710},
    {0.210503, 0.363727, 0.552206}, {0.208623, 0.367752, 0.552675},
    {0.206756, 0.371758, 0.553117}, {0.204903, 0.375746, 0.553533},
    {0.203063, 0.379716, 0.553925}, {0.201239, 0.383670, 0.554294},
    {0.199430, 0.387607, 0.554642}, {0.197636, 0.391528, 0.554969},
    {0.195860, 0.395433, 0.555276}, {0.194100, 0.399323, 0.555565},
    {0.192357, 0.403199, 0.555836}, {0.190631, 0.407061, 0.556089},
    {0.188923, 0.410910, 0.556326}, {0.187231, 0.414746, 0.556547},
    {0.185556, 0.418570, 0.556753}, {0.183898, 0.422383, 0.556944},
    {0.182256, 0.426184, 0.557120}, {0.180629, 0.429975, 0.557282},
    {0.179019, 0.433756, 0.557430}, {0.177423, 0.437527, 0.557565},
    {0.175841, 0.441290, 0.557685}, {0.174274, 0.445044, 0.557792},
    {0.172719, 0.448791, 0.557885}, {0.171176, 0.452530, 0.557965},
    {0.169646, 0.456262, 0.558030}, {0.168126, 0.459988, 0.558082},
    {0.166617, 0.463708, 0.558119}, {0.165117, 0.467423, 0.558141},
    {0.163625, 0.471133, 0.558148}, {0.162142, 0.474838, 0.558140},
    {0.160665, 0.478540, 0.558115}, {0.159194, 0.482237, 0.558073},
    {0.157729, 0.485932, 0.558013}, {0.156270, 0.489624, 0.557936},
    {0.154815, 0.493313, 0.557840}, {0.153364, 0.497000, 0.557724},
    {0.151918, 0.500685, 0.557587}, {0.150476, 0.504369, 0.557430},
    {0.149039, 0.508051, 0.557250}, {0.147607, 0.511733, 0.557049},
    {0.146180, 0.515413, 0.556823}, {0.144759, 0.519093, 0.556572},
    {0.143343, 0.522773, 0.556295}, {0.141935, 0.526453, 0.555991},
    {0.140536, 0.530132, 0.555659}, {0.139147, 0.533812, 0.555298},
    {0.137770, 0.537492, 0.554906}, {0.136408, 0.541173, 0.554483},
    {0.135066, 0.544853, 0.554029}, {0.133743, 0.548535, 0.553541},
    {0.132444, 0.552216, 0.553018}, {0.131172, 0.555899, 0.552459},
    {0.129933, 0.559582, 0.551864}, {0.128729, 0.563265, 0.551229},
    {0.127568, 0.566949, 0.550556}, {0.126453, 0.570633, 0.549841},
    {0.125394, 0.574318, 0.549086}, {0.124395, 0.578002, 0.548287},
    {0.123463, 0.581687, 0.547445}, {0.122606, 0.585371, 0.546557},
    {0.121831, 0.589055, 0.545623}, {0.121148, 0.592739, 0.544641},
    {0.120565, 0.596422, 0.543611}, {0.120092, 0.600104, 0.542530},
    {0.119738, 0.603785, 0.541400}, {0.119512, 0.607464, 0.540218},
    {0.119423, 0.611141, 0.538982}, {0.119483, 0.614817, 0.537692},
    {0.119699, 0.618490, 0.536347}, {0.120081, 0.622161, 0.534946},
    {0.120638, 0.625828, 0.533488}, {0.121380, 0.629492, 0.531973},
    {0.122312, 0.633153, 0.530398}, {0.123444, 0.636809, 0.528763},
    {0.124780, 0.640461, 0.527068}, {0.126326, 0.644107, 0.525311},
    {0.128087, 0.647749, 0.523491}, {0.130067, 0.651384, 0.521608},
    {0.132268, 0.655014, 0.519661}, {0.134692, 0.658636, 0.517649},
    {0.137339, 0.662252, 0.515571}, {0.140210, 0.665859, 0.513427},
    {0.143303, 0.669459, 0.511215}, {0.146616, 0.673050, 0.508936},
    {0.150148, 0.676631, 0.506589}, {0.153894, 0.680203, 0.504172},
    {0.157851, 0.683765, 0.501686}, {0.162016, 0.687316, 0.499129},
    {0.166383, 0.690856, 0.496502}, {0.170948, 0.694384, 0.493803},
    {0.175707, 0.697900, 0.491033}, {0.180653, 0.701402, 0.488189},
    {0.185783, 0.704891, 0.485273}, {0.191090, 0.708366, 0.482284},
    {0.196571, 0.711827, 0.479221}, {0.202219, 0.715272, 0.476084},
    {0.208030, 0.718701, 0.472873}, {0.214000, 0.722114, 0.469588},
    {0.220124, 0.725509, 0.466226}, {0.226397, 0.728888, 0.462789},
    {0.232815, 0.732247, 0.459277}, {0.239374, 0.735588, 0.455688},
    {0.246070, 0.738910, 0.452024}, {0.252899, 0.742211, 0.448284},
    {0.259857, 0.745492, 0.444467}, {0.266941, 0.748751, 0.440573},
    {0.274149, 0.751988, 0.436601}, {0.281477, 0.755203, 0.432552},
    {0.288921, 0.758394, 0.428426}, {0.296479, 0.761561, 0.424223},
    {0.304148, 0.764704, 0.419943}, {0.311925, 0.767822, 0.415586},
    {0.319809, 0.770914, 0.411152}, {0.327796, 0.773980, 0.406640},
    {0.335885, 0.777018, 0.402049}, {0.344074, 0.780029, 0.397381},
    {0.352360, 0.783011, 0.392636}, {0.360741, 0.785964, 0.387814},
    {0.369214, 0.788888, 0.382914}, {0.377779, 0.791781, 0.377939},
    {0.386433, 0.794644, 0.372886}, {0.395174, 0.797475, 0.367757},
    {0.404001, 0.800275, 0.362552}, {0.412913, 0.803041, 0.357269},
    {0.421908, 0.805774, 0.351910}, {0.430983, 0.808473, 0.346476},
    {0.440137, 0.811138, 0.340967}, {0.449368, 0.813768, 0.335384},
    {0.458674, 0.816363, 0.329727}, {0.468053, 0.818921, 0.323998},
    {0.477504, 0.821444, 0.318195}, {0.487026, 0.823929, 0.312321},
    {0.496615, 0.826376, 0.306377}, {0.506271, 0.828786, 0.300362},
    {0.515992, 0.831158, 0.294279}, {0.525776, 0.833491, 0.288127},
    {0.535621, 0.835785, 0.281908}, {0.545524, 0.838039, 0.275626},
    {0.555484, 0.840254, 0.269281}, {0.565498, 0.842430, 0.262877},
    {0.575563, 0.844566, 0.256415}, {0.585678, 0.846661, 0.249897},
    {0.595839, 0.848717, 0.243329}, {0.606045, 0.850733, 0.236712},
    {0.616293, 0.852709, 0.230052}, {0.626579, 0.854645, 0.223353},
    {0.636902, 0.856542, 0.216620}, {0.647257, 0.858400, 0.209861},
    {0.657642, 0.860219, 0.203082}, {0.668054, 0.861999, 0.196293},
    {0.678489, 0.863742, 0.189503}, {0.688944, 0.865448, 0.182725},
    {0.699415, 0.867117, 0.175971}, {0.709898, 0.868751, 0.169257},
    {0.720391, 0.870350, 0.162603}, {0.730889, 0.871916, 0.156029},
    {0.741388, 0.873449, 0.149561}, {0.751884, 0.874951, 0.143228},
    {0.762373, 0.876424, 0.137064}, {0.772852, 0.877868, 0.131109},
    {0.783315, 0.879285, 0.125405}, {0.793760, 0.880678, 0.120005},
    {0.804182, 0.882046, 0.114965}, {0.814576, 0.883393, 0.110347},
    {0.824940, 0.884720, 0.106217}, {0.835270, 0.886029, 0.102646},
    {0.845561, 0.887322, 0.099702}, {0.855810, 0.888601, 0.097452},
    {0.866013, 0.889868, 0.095953}, {0.876168, 0.891125, 0.095250},
    {0.886271, 0.892374, 0.095374}, {0.896320, 0.893616, 0.096335},
    {0.906311, 0.894855, 0.098125}, {0.916242, 0.896091, 0.100717},
    {0.926106, 0.897330, 0.104071}, {0.935904, 0.898570, 0.108131},
    {0.945636, 0.899815, 0.112838}, {0.955300, 0.901065, 0.118128},
    {0.964894, 0.902323, 0.123941}, {0.974417, 0.903590, 0.130215},
    {0.983868, 0.904867, 0.136897}, {0.993248, 0.906157, 0.143936},
};

/* ColorBrewer RdBu (11 classes), from dark red to dark blue; matplotlib's _RdBu_data
 * holds the same colours as fractions of 255. */
static const uint8_t RDBU[11][3] = {
    {103, 0, 31},    {178, 24, 43},   {214, 96, 77},   {244, 165, 130},
    {253, 219, 199}, {247, 247, 247}, {209, 229, 240}, {146, 197, 222},
    {67, 147, 195},  {33, 102, 172},  {5, 48, 97},
};

void hm_opts_init(hm_opts *o)
{
    memset(o, 0, sizeof *o);
    o->cmap = HM_GREY;
    o->scale = 0;
    o->cols = 0;
    o->gap = -1;
}

int hm_cmap_parse(const char *s, hm_cmap *c)
{
    if (strcmp(s, "grey") == 0 || strcmp(s, "gray") == 0)
        *c = HM_GREY;
    else if (strcmp(s, "viridis") == 0)
        *c = HM_VIRIDIS;
    else if (strcmp(s, "diverging") == 0)
        *c = HM_DIVERGING;
    else
        return -1;
    return 0;
}

const char *hm_cmap_name(hm_cmap c)
{
    switch (c) {
    case HM_GREY: return "grey";
    case HM_VIRIDIS: return "viridis";
    case HM_DIVERGING: return "diverging";
    }
    return "?";
}

static uint8_t to_byte(double x)   /* x in [0, 255] */
{
    long v = lround(x);
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

void hm_cmap_lut(hm_cmap c, uint8_t lut[256][3])
{
    for (int i = 0; i < 256; i++)
        for (int ch = 0; ch < 3; ch++) {
            switch (c) {
            case HM_GREY:
                lut[i][ch] = (uint8_t)i;
                break;
            case HM_VIRIDIS:
                lut[i][ch] = to_byte(VIRIDIS[i][ch] * 255.0);
                break;
            case HM_DIVERGING: {
                /* RdBu_r: stop k (k = 0..10, at k/10) is RDBU[10 - k]. */
                double x = (double)i * 10.0 / 255.0;
                int k = (int)x;
                if (k > 9)
                    k = 9;
                double f = x - k;
                double a = RDBU[10 - k][ch], b = RDBU[9 - k][ch];
                lut[i][ch] = to_byte(a + f * (b - a));
                break;
            }
            }
        }
}

void hm_cmap_bg(hm_cmap c, uint8_t bg[3])
{
    static const uint8_t grey_bg[3] = {0x3c, 0x50, 0x78};
    static const uint8_t viridis_bg[3] = {255, 255, 255};
    static const uint8_t diverging_bg[3] = {128, 128, 128};
    const uint8_t *s = c == HM_GREY ? grey_bg : c == HM_VIRIDIS ? viridis_bg : diverging_bg;
    memcpy(bg, s, 3);
}

int hm_index(float v, double vmin, double vmax)
{
    if (isnan(v))
        return -1;
    double x = v;
    if (x < vmin)
        return 0;
    if (x > vmax)
        return 255;
    if (vmin == vmax)      /* here x == vmin == vmax */
        return 128;
    /* finite here: vmin <= x <= vmax, both finite */
    double d = vmax - vmin, t;
    if (isinf(d))          /* range wider than DBL_MAX: halve everything (exact) */
        t = (0.5 * x - 0.5 * vmin) / (0.5 * vmax - 0.5 * vmin);
    else
        t = (x - vmin) / d;
    if (!(t > 0))
        return 0;
    if (t >= 1)
        return 255;
    return (int)floor(t * 255.0 + 0.5);
}

/* Finite min, max and max |x| of n floats; returns the number of finite values. */
static int64_t finite_range(const float *x, int64_t n, double *lo, double *hi, double *amax)
{
    int64_t k = 0;
    double mn = 0, mx = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            continue;
        if (k == 0 || x[i] < mn)
            mn = x[i];
        if (k == 0 || x[i] > mx)
            mx = x[i];
        k++;
    }
    *lo = mn;
    *hi = mx;
    *amax = fabs(mn) > fabs(mx) ? fabs(mn) : fabs(mx);
    return k;
}

static void shape_str(const fe_tensor *t, char *buf, size_t cap)
{
    size_t n = 0;
    n += (size_t)snprintf(buf + n, cap - n, "(");
    for (int i = 0; i < t->ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
    if (n < cap)
        snprintf(buf + n, cap - n, "%s)", t->ndim == 1 ? "," : "");
}

static int64_t ceil_div(int64_t a, int64_t b)
{
    return a / b + (a % b != 0);
}

int hm_plan_make(hm_plan *p, const fe_tensor *t, const hm_opts *o, fe_err *err)
{
    memset(p, 0, sizeof *p);
    char shp[200];
    shape_str(t, shp, sizeof shp);
    if (t->dtype != FE_F32)
        return fe_fail(err, "internal: heatmap needs float32 data, got %s", fe_dtype_name(t->dtype));
    if (t->ndim < 2 || t->ndim > 4)
        return fe_fail(err, "need a 2-D matrix, a 3-D [N,H,W] stack or a 4-D [O,I,KH,KW] "
                       "conv weight, got %d-D shape %s", t->ndim, shp);
    for (int i = 0; i < t->ndim; i++)
        if (t->shape[i] <= 0)
            return fe_fail(err, "empty array: shape %s has a zero-sized dimension", shp);
    if (o->has_vmin && o->has_vmax && !(o->vmin < o->vmax))
        return fe_fail(err, "vmin %g is not below vmax %g", o->vmin, o->vmax);
    if (o->scale < 0 || o->cols < 0 || o->gap < -1)
        return fe_fail(err, "internal: bad options");

    /* tiles: a 3-D stack's N; a 4-D weight's O x I filters, one grid row per
     * output channel (or, with one input channel, O tiles as a 3-D stack) */
    const int is3d = t->ndim >= 3;
    p->data = t->data;
    p->n = t->ndim == 4 ? t->shape[0] * t->shape[1] : is3d ? t->shape[0] : 1;
    p->h = t->shape[t->ndim - 2];
    p->w = t->shape[t->ndim - 1];
    const int64_t numel = p->n * p->h * p->w;
    const int64_t tile = p->h * p->w;

    /* grid */
    if (o->cols > 0) {
        p->cols = o->cols;
    } else if (t->ndim == 4 && t->shape[1] > 1) {
        p->cols = t->shape[1];
    } else {
        int64_t c = (int64_t)ceil(sqrt((double)p->n));
        while (c > 1 && (c - 1) * (c - 1) >= p->n)
            c--;
        while (c * c < p->n)
            c++;
        p->cols = c;
    }
    if (!is3d)
        p->cols = 1;
    p->rows = ceil_div(p->n, p->cols);
    /* Everything below is checked against HM_MAX_SIDE before it is multiplied, so
     * no product can overflow. */
    if (p->cols > HM_MAX_SIDE || p->rows > HM_MAX_SIDE || p->h > HM_MAX_SIDE ||
        p->w > HM_MAX_SIDE || p->cols * p->w > HM_MAX_SIDE || p->rows * p->h > HM_MAX_SIDE)
        return fe_fail(err, "shape %s%s would need an image over %d pixels per side", shp,
                       is3d ? " in this grid" : "", HM_MAX_SIDE);
    const int64_t base_w = p->cols * p->w, base_h = p->rows * p->h;

    /* scale */
    if (o->scale > 0) {
        p->scale = o->scale;
    } else {
        int64_t s = base_w < base_h ? base_w : base_h, l = base_w < base_h ? base_h : base_w;
        int64_t k = ceil_div(HM_AUTO_SHORT, s);
        int64_t kmax = HM_AUTO_LONG / l;
        if (k > kmax)
            k = kmax;
        p->scale = k < 1 ? 1 : k;
    }
    p->gap = !is3d ? 0 : o->gap >= 0 ? o->gap : (p->scale / 4 > 1 ? p->scale / 4 : 1);
    if (p->scale > HM_MAX_SIDE || p->gap > HM_MAX_SIDE)
        return fe_fail(err, "the image would be over %d pixels per side (--scale %lld%s)",
                       HM_MAX_SIDE, (long long)p->scale, p->gap > HM_MAX_SIDE ? ", large --gap" : "");
    p->width = base_w * p->scale + (p->cols - 1) * p->gap;
    p->height = base_h * p->scale + (p->rows - 1) * p->gap;
    if (p->width > HM_MAX_SIDE || p->height > HM_MAX_SIDE)
        return fe_fail(err, "the image would be %lld x %lld pixels, over %d per side; "
                       "use a smaller --scale%s", (long long)p->width, (long long)p->height,
                       HM_MAX_SIDE, is3d ? ", --gap or a different --cols" : "");
    if (p->width * p->height * 3 > HM_MAX_BYTES)
        return fe_fail(err, "the image would be %lld x %lld pixels (%lld MiB), over %lld MiB; "
                       "use a smaller --scale", (long long)p->width, (long long)p->height,
                       (long long)(p->width * p->height * 3 >> 20), (long long)(HM_MAX_BYTES >> 20));

    /* colour range */
    double lo, hi, amax;
    if (finite_range(p->data, numel, &lo, &hi, &amax) == 0)
        return fe_fail(err, "no finite values (all NaN or infinite): nothing to draw");
    p->vmin = malloc((size_t)p->n * sizeof(double));
    p->vmax = malloc((size_t)p->n * sizeof(double));
    if (!p->vmin || !p->vmax) {
        hm_plan_free(p);
        return fe_fail(err, "out of memory");
    }
    for (int64_t i = 0; i < p->n; i++) {
        double a = lo, b = hi, m = amax;
        /* A tile without finite values draws the same with any range: keep the
         * shared one for it. */
        if (o->per_tile && is3d && finite_range(p->data + i * tile, tile, &a, &b, &m) == 0) {
            a = lo;
            b = hi;
            m = amax;
        }
        if (o->cmap == HM_DIVERGING) {
            a = -m;
            b = m;
        }
        if (o->has_vmin)
            a = o->vmin;
        if (o->has_vmax)
            b = o->vmax;
        if (a > b) {
            hm_plan_free(p);
            return fe_fail(err, "vmin %g is above vmax %g (%s from the data%s); "
                           "give both --vmin and --vmax", a, b,
                           o->has_vmin ? "vmax" : "vmin",
                           o->per_tile && is3d ? ", per tile" : "");
        }
        p->vmin[i] = a;
        p->vmax[i] = b;
    }
    hm_cmap_lut(o->cmap, p->lut);
    hm_cmap_bg(o->cmap, p->bg);
    return 0;
}

void hm_plan_free(hm_plan *p)
{
    free(p->vmin);
    free(p->vmax);
    p->vmin = p->vmax = NULL;
}

static void put(uint8_t *px, const uint8_t c[3], int64_t count)
{
    for (int64_t i = 0; i < count; i++) {
        px[3 * i] = c[0];
        px[3 * i + 1] = c[1];
        px[3 * i + 2] = c[2];
    }
}

void hm_render_row(const hm_plan *p, int64_t y, uint8_t *row)
{
    static const uint8_t nan_rgb[3] = {HM_NAN_R, HM_NAN_G, HM_NAN_B};
    const int64_t th = p->h * p->scale, tw = p->w * p->scale;
    const int64_t gr = y / (th + p->gap), yy = y % (th + p->gap);
    if (yy >= th) {   /* a gap row */
        put(row, p->bg, p->width);
        return;
    }
    const int64_t r = yy / p->scale;
    for (int64_t gc = 0; gc < p->cols; gc++) {
        uint8_t *px = row + 3 * gc * (tw + p->gap);
        const int64_t i = gr * p->cols + gc;
        if (i >= p->n) {
            put(px, p->bg, tw);
        } else {
            const float *src = p->data + (i * p->h + r) * p->w;
            for (int64_t c = 0; c < p->w; c++) {
                int k = hm_index(src[c], p->vmin[i], p->vmax[i]);
                put(px + 3 * c * p->scale, k < 0 ? nan_rgb : p->lut[k], p->scale);
            }
        }
        if (gc + 1 < p->cols)
            put(px + 3 * tw, p->bg, p->gap);
    }
}

uint8_t *hm_render(const hm_plan *p)
{
    size_t stride = (size_t)p->width * 3;
    uint8_t *rgb = malloc(stride * (size_t)p->height);
    if (!rgb)
        return NULL;
    for (int64_t y = 0; y < p->height; y++)
        hm_render_row(p, y, rgb + stride * (size_t)y);
    return rgb;
}

static void png_row(void *ctx, uint32_t y, uint8_t *row)
{
    hm_render_row(ctx, y, row);
}

int hm_write_png(FILE *f, const hm_plan *p, fe_err *err)
{
    return fe_png_write_rgb_rows(f, (uint32_t)p->width, (uint32_t)p->height, png_row,
                                 (void *)p, err);
}
