/* npy.c - NumPy .npy and .npz reading and writing (npy.h).
 *
 * .npy: magic "\x93NUMPY", version (1.0: 2-byte header length; 2.0/3.0: 4-byte),
 * a Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': (...), }
 * padded with spaces to a multiple of 64 bytes and ended by '\n', then the data.
 * .npz: a zip archive of NAME.npy members (stored or deflated; deflated ones are
 * read through zin.h, header first, never inflated past their declared size).
 * Member names and header text in messages go through fe_esc (esc.h). */
#include "npy.h"
#include "esc.h"
#include "io.h"
#include "zin.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define NPY_MAX_HEADER  (1u << 20)     /* header bytes we accept (numpy writes < 200) */
#define NPZ_MAX_FILE    ((size_t)16 << 30) /* 16 GiB */

static const uint8_t NPY_MAGIC[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

static int host_is_le(void)
{
    uint16_t x = 1;
    uint8_t b;
    memcpy(&b, &x, 1);
    return b == 1;
}

static void byteswap(void *data, size_t n, size_t esize)
{
    uint8_t *p = data;
    if (esize <= 1)
        return;
    for (size_t i = 0; i < n; i++, p += esize)
        for (size_t a = 0, b = esize - 1; a < b; a++, b--) {
            uint8_t t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

/* ---------- input source: a stream, a memory buffer or an inflating .npz member,
 * read front to back ---------- */

typedef struct {
    FILE *f;
    const uint8_t *m;
    size_t mlen, mpos;
    fe_zin *z;
} src_t;

/* Read up to n bytes; returns the count, < n only at end of input. -1 on read error. */
static int src_read(src_t *s, void *dst, size_t n, size_t *got, fe_err *err)
{
    if (s->z)
        return fe_zin_read(s->z, dst, n, got, err);
    if (s->f) {
        size_t r = fread(dst, 1, n, s->f);
        *got = r;
        if (r < n && ferror(s->f))
            return fe_fail(err, "read error: %s", strerror(errno));
        return 0;
    }
    size_t avail = s->mlen - s->mpos;
    size_t r = n < avail ? n : avail;
    if (r)
        memcpy(dst, s->m + s->mpos, r);
    s->mpos += r;
    *got = r;
    return 0;
}

static int src_rd(void *s, void *dst, size_t n, size_t *got, fe_err *err)
{
    return src_read(s, dst, n, got, err);
}

/* Read want bytes into a new malloc'd buffer, growing it as data arrives so a
 * huge `want` over a short input allocates only about what is there.
 * *got < want means the input ended early. */
static int src_read_alloc(src_t *s, size_t want, uint8_t **out, size_t *got, fe_err *err)
{
    *out = NULL;
    *got = 0;
    if (s->z)
        return fe_zin_read_alloc(s->z, want, out, got, err);
    if (!s->f) {
        /* memory: never allocate more than remains */
        size_t n = s->mlen - s->mpos < want ? s->mlen - s->mpos : want;
        uint8_t *b = malloc(n ? n : 1);
        if (!b)
            return fe_fail(err, "out of memory (%zu bytes)", n);
        if (n)
            memcpy(b, s->m + s->mpos, n);
        s->mpos += n;
        *out = b;
        *got = n;
        return 0;
    }
    return fe_read_grow(src_rd, s, want, out, got, err);
}

/* ---------- header dict parser ---------- */

typedef struct {
    const char *s;
    size_t n, i;
} pz_t;

static void pz_ws(pz_t *p)
{
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' ||
                           p->s[p->i] == '\n' || p->s[p->i] == '\r'))
        p->i++;
}

static int pz_peek(const pz_t *p)
{
    return p->i < p->n ? (unsigned char)p->s[p->i] : -1;
}

static int pz_expect(pz_t *p, char c, const char *where, fe_err *err)
{
    pz_ws(p);
    if (pz_peek(p) != (unsigned char)c)
        return fe_fail(err, "malformed header: expected '%c' %s at byte %zu", c, where, p->i);
    p->i++;
    return 0;
}

static int pz_string(pz_t *p, char *out, size_t outsz, fe_err *err)
{
    pz_ws(p);
    int q = pz_peek(p);
    if (q != '\'' && q != '"')
        return fe_fail(err, "malformed header: expected a quoted string at byte %zu", p->i);
    p->i++;
    size_t k = 0;
    for (;;) {
        int c = pz_peek(p);
        if (c < 0)
            return fe_fail(err, "malformed header: unterminated string");
        p->i++;
        if (c == q)
            break;
        if (c == '\\')
            return fe_fail(err, "malformed header: escapes in strings are not supported");
        if (k + 1 >= outsz)
            return fe_fail(err, "malformed header: string too long");
        out[k++] = (char)c;
    }
    out[k] = '\0';
    return 0;
}

static int pz_word(pz_t *p, const char *w)
{
    size_t n = strlen(w);
    if (p->n - p->i >= n && memcmp(p->s + p->i, w, n) == 0) {
        p->i += n;
        return 1;
    }
    return 0;
}

#define DIM_MAX ((int64_t)1 << 62)

static int pz_dim(pz_t *p, int64_t *v, fe_err *err)
{
    pz_ws(p);
    int c = pz_peek(p);
    if (c == '-')
        return fe_fail(err, "negative dimension in shape");
    if (c < '0' || c > '9')
        return fe_fail(err, "malformed header: expected a dimension in shape at byte %zu", p->i);
    int64_t x = 0;
    while ((c = pz_peek(p)) >= '0' && c <= '9') {
        if (x > (DIM_MAX - (c - '0')) / 10)
            return fe_fail(err, "absurd dimension in shape (too large)");
        x = x * 10 + (c - '0');
        p->i++;
    }
    if (pz_peek(p) == 'L')  /* Python 2 long literal */
        p->i++;
    *v = x;
    return 0;
}

static int pz_shape(pz_t *p, int *ndim, int64_t *shape, fe_err *err)
{
    pz_ws(p);
    if (pz_peek(p) != '(')
        return fe_fail(err, "malformed header: shape is not a tuple");
    p->i++;
    int nd = 0, comma = 0;
    pz_ws(p);
    if (pz_peek(p) == ')') {
        p->i++;
        *ndim = 0;
        return 0;
    }
    for (;;) {
        int64_t d = 0;
        if (pz_dim(p, &d, err) != 0)
            return -1;
        if (nd >= FE_MAXDIM)
            return fe_fail(err, "too many dimensions in shape (more than %d)", FE_MAXDIM);
        shape[nd++] = d;
        pz_ws(p);
        int c = pz_peek(p);
        if (c == ',') {
            comma = 1;
            p->i++;
            pz_ws(p);
            if (pz_peek(p) == ')') {
                p->i++;
                break;
            }
            continue;
        }
        if (c == ')') {
            p->i++;
            if (nd == 1 && !comma)
                return fe_fail(err, "malformed header: shape (%" PRId64 ") is not a tuple", d);
            break;
        }
        return fe_fail(err, "malformed header: expected ',' or ')' in shape at byte %zu", p->i);
    }
    *ndim = nd;
    return 0;
}

static int descr_dtype(const char *d, fe_dtype *dt, fe_err *err)
{
    static const struct { const char *descr; fe_dtype dt; } tab[] = {
        {"|u1", FE_U8}, {"<i4", FE_I32}, {"<i8", FE_I64}, {"<f4", FE_F32}, {"<f8", FE_F64},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (strcmp(d, tab[i].descr) == 0) {
            *dt = tab[i].dt;
            return 0;
        }
    fe_escbuf eb, eb1;      /* header text: shown escaped */
    if (strchr(d, 'O'))
        return fe_fail(err, "object arrays (dtype '%s') are not supported", fe_esc(&eb, d));
    if (d[0] == '>')
        return fe_fail(err, "big-endian dtype '%s' is not supported (save with arr.astype('<%s'))",
                       fe_esc(&eb, d), fe_esc(&eb1, d + 1));
    return fe_fail(err, "unsupported dtype '%s' (supported: |u1 <i4 <i8 <f4 <f8)", fe_esc(&eb, d));
}

typedef struct {
    fe_dtype dtype;
    int ndim;
    int64_t shape[FE_MAXDIM];
} npy_hdr;

static int parse_dict(const char *s, size_t n, npy_hdr *h, fe_err *err)
{
    pz_t p = {s, n, 0};
    int have_descr = 0, have_fo = 0, have_shape = 0, fortran = 0;
    char descr[64];
    if (pz_expect(&p, '{', "at the start of the header", err) != 0)
        return -1;
    for (;;) {
        pz_ws(&p);
        if (pz_peek(&p) == '}') {
            p.i++;
            break;
        }
        char key[32];
        if (pz_string(&p, key, sizeof key, err) != 0)
            return -1;
        if (pz_expect(&p, ':', "after a key", err) != 0)
            return -1;
        pz_ws(&p);
        if (strcmp(key, "descr") == 0) {
            if (have_descr)
                return fe_fail(err, "malformed header: duplicate key 'descr'");
            if (pz_peek(&p) == '[')
                return fe_fail(err, "structured dtypes are not supported");
            if (pz_string(&p, descr, sizeof descr, err) != 0)
                return -1;
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (have_fo)
                return fe_fail(err, "malformed header: duplicate key 'fortran_order'");
            if (pz_word(&p, "True"))
                fortran = 1;
            else if (pz_word(&p, "False"))
                fortran = 0;
            else
                return fe_fail(err, "malformed header: fortran_order is not True or False");
            have_fo = 1;
        } else if (strcmp(key, "shape") == 0) {
            if (have_shape)
                return fe_fail(err, "malformed header: duplicate key 'shape'");
            if (pz_shape(&p, &h->ndim, h->shape, err) != 0)
                return -1;
            have_shape = 1;
        } else {
            fe_escbuf eb;
            return fe_fail(err, "malformed header: unexpected key '%s'", fe_esc(&eb, key));
        }
        pz_ws(&p);
        int c = pz_peek(&p);
        if (c == ',') {
            p.i++;
            continue;
        }
        if (c == '}') {
            p.i++;
            break;
        }
        return fe_fail(err, "malformed header: expected ',' or '}' at byte %zu", p.i);
    }
    pz_ws(&p);
    if (p.i != p.n)
        return fe_fail(err, "malformed header: unexpected bytes after the dict");
    if (!have_descr || !have_fo || !have_shape)
        return fe_fail(err, "malformed header: missing key '%s'",
                       !have_descr ? "descr" : !have_fo ? "fortran_order" : "shape");
    if (descr_dtype(descr, &h->dtype, err) != 0)
        return -1;
    if (fortran)
        return fe_fail(err, "Fortran-order arrays are not supported (save np.ascontiguousarray(a))");
    return 0;
}

/* Byte size of the data a header describes, or -1 if it overflows. */
static int hdr_nbytes(const npy_hdr *h, size_t *nbytes, fe_err *err)
{
    uint64_t es = fe_dtype_size(h->dtype);
    uint64_t limit = (uint64_t)(SIZE_MAX < INT64_MAX ? SIZE_MAX : INT64_MAX);
    uint64_t n = es;
    for (int i = 0; i < h->ndim; i++) {
        uint64_t d = (uint64_t)h->shape[i];
        if (d != 0 && n > limit / d)
            return fe_fail(err, "absurd shape: the element count overflows");
        n *= d;
    }
    *nbytes = (size_t)n;
    return 0;
}

static int npy_read_src(src_t *s, fe_tensor *t, fe_err *err)
{
    memset(t, 0, sizeof *t);
    uint8_t pre[12];
    size_t got;
    if (src_read(s, pre, 8, &got, err) != 0)
        return -1;
    if (got == 0)
        return fe_fail(err, "empty input (expected a .npy file)");
    if (got < 6 || memcmp(pre, NPY_MAGIC, 6) != 0)
        return fe_fail(err, "not a .npy file (bad magic)");
    if (got < 8)
        return fe_fail(err, "truncated header");
    int major = pre[6], minor = pre[7];
    if (!((major == 1 || major == 2 || major == 3) && minor == 0))
        return fe_fail(err, "unsupported .npy format version %d.%d", major, minor);
    size_t lenbytes = major == 1 ? 2 : 4;
    if (src_read(s, pre + 8, lenbytes, &got, err) != 0)
        return -1;
    if (got < lenbytes)
        return fe_fail(err, "truncated header");
    uint32_t hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8;
    if (major != 1)
        hlen |= (uint32_t)pre[10] << 16 | (uint32_t)pre[11] << 24;
    if (hlen > NPY_MAX_HEADER)
        return fe_fail(err, "header length %" PRIu32 " is too large", hlen);
    uint8_t *hb;
    if (src_read_alloc(s, hlen, &hb, &got, err) != 0)
        return -1;
    if (got < hlen) {
        free(hb);
        return fe_fail(err, "truncated header: says %" PRIu32 " bytes, file has %zu", hlen, got);
    }
    npy_hdr h;
    memset(&h, 0, sizeof h);
    int rc = parse_dict((const char *)hb, hlen, &h, err);
    free(hb);
    if (rc != 0)
        return -1;
    size_t nbytes = 0;
    if (hdr_nbytes(&h, &nbytes, err) != 0)
        return -1;
    /* an inflating member: refuse now what its declared size cannot hold */
    if (s->z && nbytes > s->z->limit - s->z->out)
        return fe_fail(err, "truncated data: header says %zu bytes, more than the %" PRIu64
                            " the member can hold", nbytes, s->z->limit - s->z->out);
    uint8_t *data;
    if (src_read_alloc(s, nbytes, &data, &got, err) != 0)
        return -1;
    if (got < nbytes) {
        free(data);
        return fe_fail(err, "truncated data: header says %zu bytes, file has %zu", nbytes, got);
    }
    if (!host_is_le())
        byteswap(data, nbytes / fe_dtype_size(h.dtype), fe_dtype_size(h.dtype));
    t->dtype = h.dtype;
    t->ndim = h.ndim;
    memcpy(t->shape, h.shape, sizeof t->shape);
    t->data = data;
    return 0;
}

int npy_read(FILE *f, fe_tensor *t, fe_err *err)
{
    src_t s = {f, NULL, 0, 0, NULL};
    return npy_read_src(&s, t, err);
}

int npy_read_mem(const uint8_t *buf, size_t len, fe_tensor *t, fe_err *err)
{
    src_t s = {NULL, buf, len, 0, NULL};
    if (npy_read_src(&s, t, err) != 0)
        return -1;
    if (s.mpos != len) {
        fe_tensor_free(t);
        return fe_fail(err, "%zu bytes of trailing data after the array", len - s.mpos);
    }
    return 0;
}

/* ---------- writing ---------- */

static int descr_of(fe_dtype d, const char **s)
{
    switch (d) {
    case FE_U8:  *s = "|u1"; return 0;
    case FE_I32: *s = "<i4"; return 0;
    case FE_I64: *s = "<i8"; return 0;
    case FE_F32: *s = "<f4"; return 0;
    case FE_F64: *s = "<f8"; return 0;
    }
    return -1;
}

static int check_tensor(const fe_tensor *t, size_t *nbytes, fe_err *err)
{
    const char *d;
    if (descr_of(t->dtype, &d) != 0)
        return fe_fail(err, "invalid dtype %d", (int)t->dtype);
    if (t->ndim < 0 || t->ndim > FE_MAXDIM)
        return fe_fail(err, "invalid number of dimensions %d", t->ndim);
    npy_hdr h;
    h.dtype = t->dtype;
    h.ndim = t->ndim;
    for (int i = 0; i < t->ndim; i++) {
        if (t->shape[i] < 0)
            return fe_fail(err, "negative dimension %" PRId64, t->shape[i]);
        h.shape[i] = t->shape[i];
    }
    if (hdr_nbytes(&h, nbytes, err) != 0)
        return -1;
    if (*nbytes && !t->data)
        return fe_fail(err, "tensor has no data");
    return 0;
}

/* Build the exact header numpy 1.24 writes (dict, growth padding, alignment to 64). */
static size_t make_header(const fe_tensor *t, char *out, size_t cap)
{
    const char *descr = "|u1";
    descr_of(t->dtype, &descr);
    char shape[FE_MAXDIM * 24 + 8];
    size_t k = 0;
    shape[k++] = '(';
    for (int i = 0; i < t->ndim; i++)
        k += (size_t)snprintf(shape + k, sizeof shape - k, "%s%" PRId64,
                              i ? ", " : "", t->shape[i]);
    if (t->ndim == 1)
        shape[k++] = ',';
    shape[k++] = ')';
    shape[k] = '\0';
    char dict[512];
    int dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                      descr, shape);
    if (t->ndim > 0) {
        char first[24];
        int fl = snprintf(first, sizeof first, "%" PRId64, t->shape[0]);
        for (int i = fl; i < 21; i++)
            dict[dl++] = ' ';
        dict[dl] = '\0';
    }
    size_t hlen = (size_t)dl + 1;
    size_t prefix = 10;
    size_t pad = 64 - ((prefix + hlen) % 64);
    if (hlen + pad > 65535) {
        prefix = 12;
        pad = 64 - ((prefix + hlen) % 64);
    }
    size_t total = prefix + hlen + pad;
    if (total > cap)
        return 0;
    uint32_t hl = (uint32_t)(hlen + pad);
    memcpy(out, NPY_MAGIC, 6);
    out[6] = prefix == 10 ? 1 : 2;
    out[7] = 0;
    out[8] = (char)(hl & 0xff);
    out[9] = (char)(hl >> 8 & 0xff);
    if (prefix == 12) {
        out[10] = (char)(hl >> 16 & 0xff);
        out[11] = (char)(hl >> 24 & 0xff);
    }
    memcpy(out + prefix, dict, (size_t)dl);
    memset(out + prefix + dl, ' ', pad);
    out[total - 1] = '\n';
    return total;
}

#define HDR_CAP 1024

int npy_write(FILE *f, const fe_tensor *t, fe_err *err)
{
    size_t nbytes = 0;
    if (check_tensor(t, &nbytes, err) != 0)
        return -1;
    char hdr[HDR_CAP];
    size_t hl = make_header(t, hdr, sizeof hdr);
    if (hl == 0)
        return fe_fail(err, "header too long");
    if (fwrite(hdr, 1, hl, f) != hl)
        return fe_fail(err, "write error: %s", strerror(errno));
    if (host_is_le()) {
        if (nbytes && fwrite(t->data, 1, nbytes, f) != nbytes)
            return fe_fail(err, "write error: %s", strerror(errno));
    } else {
        size_t es = fe_dtype_size(t->dtype);
        uint8_t tmp[4096];
        const uint8_t *p = t->data;
        for (size_t off = 0; off < nbytes; off += sizeof tmp) {
            size_t n = nbytes - off < sizeof tmp ? nbytes - off : sizeof tmp;
            memcpy(tmp, p + off, n);
            byteswap(tmp, n / es, es);
            if (fwrite(tmp, 1, n, f) != n)
                return fe_fail(err, "write error: %s", strerror(errno));
        }
    }
    return 0;
}

int npy_write_mem(const fe_tensor *t, uint8_t **buf, size_t *len, fe_err *err)
{
    *buf = NULL;
    *len = 0;
    size_t nbytes = 0;
    if (check_tensor(t, &nbytes, err) != 0)
        return -1;
    char hdr[HDR_CAP];
    size_t hl = make_header(t, hdr, sizeof hdr);
    if (hl == 0)
        return fe_fail(err, "header too long");
    if (nbytes > SIZE_MAX - hl)
        return fe_fail(err, "array too large");
    uint8_t *b = malloc(hl + nbytes);
    if (!b)
        return fe_fail(err, "out of memory (%zu bytes)", hl + nbytes);
    memcpy(b, hdr, hl);
    if (nbytes)
        memcpy(b + hl, t->data, nbytes);
    if (!host_is_le())
        byteswap(b + hl, nbytes / fe_dtype_size(t->dtype), fe_dtype_size(t->dtype));
    *buf = b;
    *len = hl + nbytes;
    return 0;
}

int npy_load(const char *path, fe_tensor *t, fe_err *err)
{
    memset(t, 0, sizeof *t);
    FILE *f = fe_in_open(path, err);
    if (!f)
        return -1;
    int rc = npy_read(f, t, err);
    if (rc == 0) {
        int c = fgetc(f);
        if (c != EOF) {
            fe_tensor_free(t);
            rc = fe_fail(err, "trailing data after the array");
        } else if (ferror(f)) {
            fe_tensor_free(t);
            rc = fe_fail(err, "read error: %s", strerror(errno));
        }
    }
    fe_in_close(f);
    return rc;
}

int npy_save(const char *path, const fe_tensor *t, fe_err *err)
{
    fe_out o;
    if (fe_out_open(&o, path, 0, err) != 0)
        return -1;
    if (npy_write(o.f, t, err) != 0) {
        fe_out_abort(&o);
        return -1;
    }
    return fe_out_commit(&o, err);
}

/* ---------- .npz (zip) ---------- */

#define SIG_LOCAL   0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD    0x06054b50u
#define SIG_EOCD64  0x06064b50u
#define SIG_LOC64   0x07064b50u

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

void npz_free(npz_t *z)
{
    if (!z)
        return;
    for (int i = 0; i < z->n; i++) {
        free(z->e[i].name);
        fe_tensor_free(&z->e[i].t);
    }
    free(z->e);
    z->e = NULL;
    z->n = 0;
}

const fe_tensor *npz_get(const npz_t *z, const char *name)
{
    for (int i = 0; i < z->n; i++)
        if (strcmp(z->e[i].name, name) == 0)
            return &z->e[i].t;
    return NULL;
}

static int cmp_entry_name(const void *a, const void *b)
{
    const npz_entry *x = *(const npz_entry *const *)a, *y = *(const npz_entry *const *)b;
    return strcmp(x->name, y->name);
}

/* Duplicate names among n entries: returns the name or NULL. */
static const char *find_dup(const npz_entry *e, int n)
{
    if (n < 2)
        return NULL;
    const npz_entry **v = fe_xmalloc((size_t)n * sizeof *v);
    for (int i = 0; i < n; i++)
        v[i] = &e[i];
    qsort(v, (size_t)n, sizeof *v, cmp_entry_name);
    const char *dup = NULL;
    for (int i = 1; i < n && !dup; i++)
        if (strcmp(v[i - 1]->name, v[i]->name) == 0)
            dup = v[i]->name;
    free(v);
    return dup;
}

/* Parse the archive in buf; only != NULL: check every member's directory entry
 * and local header but decode (inflate, CRC, .npy) only the member of that name. */
static int npz_parse(const uint8_t *buf, size_t len, npz_t *z, const char *only, fe_err *err)
{
    memset(z, 0, sizeof *z);
    if (len < 22)
        return fe_fail(err, "not a .npz (zip) file: too short");
    /* End of central directory: the last signature within 64 KiB + 22 of the end. */
    size_t lo = len > 22 + 65535 ? len - 22 - 65535 : 0;
    size_t eocd = SIZE_MAX;
    for (size_t p = len - 22 + 1; p-- > lo;) {
        if (rd32(buf + p) == SIG_EOCD && p + 22 + rd16(buf + p + 20) <= len) {
            eocd = p;
            break;
        }
    }
    if (eocd == SIZE_MAX)
        return fe_fail(err, "not a .npz (zip) file: no end of central directory record "
                            "(truncated or not a zip file)");
    const uint8_t *e = buf + eocd;
    uint64_t ndisk = rd16(e + 4), cddisk = rd16(e + 6), nthis = rd16(e + 8),
             ntotal = rd16(e + 10), cdsize = rd32(e + 12), cdoff = rd32(e + 16);
    uint64_t cdlimit = eocd;
    if (eocd >= 20 && rd32(buf + eocd - 20) == SIG_LOC64) {
        const uint8_t *l = buf + eocd - 20;
        uint64_t off = rd64(l + 8);
        if (rd32(l + 4) != 0 || rd32(l + 16) > 1)
            return fe_fail(err, "multi-disk zip archives are not supported");
        if (off > eocd - 20 || eocd - 20 - off < 56)
            return fe_fail(err, "ZIP64 end of central directory record out of bounds");
        const uint8_t *r = buf + off;
        if (rd32(r) != SIG_EOCD64)
            return fe_fail(err, "bad ZIP64 end of central directory signature");
        ndisk = rd32(r + 16);
        cddisk = rd32(r + 20);
        nthis = rd64(r + 24);
        ntotal = rd64(r + 32);
        cdsize = rd64(r + 40);
        cdoff = rd64(r + 48);
        cdlimit = off;
    }
    if (ndisk != 0 || cddisk != 0 || nthis != ntotal)
        return fe_fail(err, "multi-disk zip archives are not supported");
    if (cdoff > cdlimit || cdsize > cdlimit - cdoff)
        return fe_fail(err, "central directory out of bounds");
    if (ntotal > cdsize / 46)
        return fe_fail(err, "central directory too small for %" PRIu64 " entries", ntotal);
    if (ntotal > INT32_MAX)
        return fe_fail(err, "too many entries");
    if (ntotal == 0)
        return 0;
    z->e = calloc((size_t)ntotal, sizeof *z->e);
    if (!z->e)
        return fe_fail(err, "out of memory");
    uint64_t pos = cdoff, cdend = cdoff + cdsize;
    for (uint64_t i = 0; i < ntotal; i++) {
        if (cdend - pos < 46) {
            fe_fail(err, "truncated central directory");
            goto fail;
        }
        const uint8_t *c = buf + pos;
        if (rd32(c) != SIG_CENTRAL) {
            fe_fail(err, "bad central directory entry signature");
            goto fail;
        }
        unsigned flags = rd16(c + 8), method = rd16(c + 10);
        uint32_t crc = rd32(c + 16);
        uint64_t csize = rd32(c + 20), usize = rd32(c + 24);
        size_t nlen = rd16(c + 28), xlen = rd16(c + 30), clen = rd16(c + 32);
        uint64_t disk = rd16(c + 34), loff = rd32(c + 42);
        if (cdend - pos - 46 < (uint64_t)nlen + xlen + clen) {
            fe_fail(err, "truncated central directory");
            goto fail;
        }
        const char *name = (const char *)c + 46;
        const uint8_t *x = c + 46 + nlen, *xend = x + xlen;
        while (xend - x >= 4) {
            unsigned id = rd16(x), sz = rd16(x + 2);
            if ((size_t)(xend - x - 4) < sz) {
                fe_fail(err, "malformed extra field in central directory");
                goto fail;
            }
            if (id == 0x0001) {  /* ZIP64: only the fields that overflowed, in this order */
                const uint8_t *f = x + 4, *fend = f + sz;
                uint64_t *fields[3] = {&usize, &csize, &loff};
                int need[3] = {usize == 0xFFFFFFFFu, csize == 0xFFFFFFFFu, loff == 0xFFFFFFFFu};
                for (int k = 0; k < 3; k++)
                    if (need[k]) {
                        if (fend - f < 8) {
                            fe_fail(err, "malformed ZIP64 extra field");
                            goto fail;
                        }
                        *fields[k] = rd64(f);
                        f += 8;
                    }
                if (disk == 0xFFFF) {
                    if (fend - f < 4) {
                        fe_fail(err, "malformed ZIP64 extra field");
                        goto fail;
                    }
                    disk = rd32(f);
                }
            }
            x += 4 + sz;
        }
        fe_escbuf eb;
        const char *show = fe_escn(&eb, name, nlen);
        if (memchr(name, '\0', nlen)) {
            fe_fail(err, "member name contains a NUL byte");
            goto fail;
        }
        if (flags & 0x41) {
            fe_fail(err, "member '%s' is encrypted", show);
            goto fail;
        }
        if (method != 0 && method != 8) {
            fe_fail(err, "member '%s' uses compression method %u (only stored and deflate are supported)",
                    show, method);
            goto fail;
        }
        if (disk != 0) {
            fe_fail(err, "multi-disk zip archives are not supported");
            goto fail;
        }
        if (nlen < 4 || memcmp(name + nlen - 4, ".npy", 4) != 0) {
            fe_fail(err, "member '%s' is not a .npy file", show);
            goto fail;
        }
        /* Local header: only its variable lengths matter; sizes come from the directory. */
        if (loff > cdoff || cdoff - loff < 30) {
            fe_fail(err, "member '%s': local header out of bounds", show);
            goto fail;
        }
        const uint8_t *lh = buf + loff;
        if (rd32(lh) != SIG_LOCAL) {
            fe_fail(err, "member '%s': bad local header signature", show);
            goto fail;
        }
        size_t lnlen = rd16(lh + 26), lxlen = rd16(lh + 28);
        uint64_t doff = loff + 30 + lnlen + lxlen;
        if (doff > cdoff || lnlen != nlen || memcmp(lh + 30, name, nlen) != 0) {
            fe_fail(err, "member '%s': local header does not match the central directory",
                    show);
            goto fail;
        }
        if (csize > cdoff - doff) {
            fe_fail(err, "member '%s': data out of bounds", show);
            goto fail;
        }
        if (only && (nlen - 4 != strlen(only) || memcmp(name, only, nlen - 4) != 0)) {
            pos += 46 + nlen + xlen + clen;
            continue;
        }
        const uint8_t *data = buf + doff;
        npz_entry *en = &z->e[z->n];
        fe_err e2;
        if (method == 0) {
            if (csize != usize) {
                fe_fail(err, "member '%s': stored sizes disagree", show);
                goto fail;
            }
            if (crc32_z(0, data, (size_t)usize) != crc) {
                fe_fail(err, "member '%s': CRC-32 mismatch (corrupt file)", show);
                goto fail;
            }
            if (npy_read_mem(data, (size_t)usize, &en->t, &e2) != 0) {
                fe_fail(err, "member '%s': %s", show, e2.msg);
                goto fail;
            }
        } else {
            if (usize > fe_zin_bound((size_t)csize) || usize > SIZE_MAX - 1) {
                fe_fail(err, "member '%s': implausible uncompressed size %" PRIu64 " (%s)", show,
                        usize, usize > FE_ZIN_MAX ? "more than the 4 GiB limit on compressed members"
                                                  : "more than its compressed size can hold");
                goto fail;
            }
            /* header first, then data into a buffer that grows with what the stream
             * really holds, never past the declared size (zin.h) */
            fe_zin zi;
            int rc = fe_zin_open(&zi, FE_ZIN_RAW, data, (size_t)csize, usize, 1, crc, &e2);
            if (rc == 0) {
                src_t s = {NULL, NULL, 0, 0, &zi};
                rc = npy_read_src(&s, &en->t, &e2);
            }
            uint64_t extra = 0;
            int more = 0;
            if (rc == 0 && (rc = fe_zin_end(&zi, &extra, &more, &e2)) == 0) {
                if (extra || more)
                    rc = fe_fail(&e2, "%s%" PRIu64 " bytes of trailing data after the array",
                                 more ? "more than " : "", extra);
                else if (zi.out != usize)
                    rc = fe_fail(&e2, "uncompressed size %" PRIu64 " differs from the %" PRIu64
                                      " declared", zi.out, usize);
            }
            fe_zin_close(&zi);
            if (rc != 0) {
                fe_tensor_free(&en->t);
                fe_fail(err, "member '%s': %s", show, e2.msg);
                goto fail;
            }
        }
        en->name = fe_xmalloc(nlen - 3);
        memcpy(en->name, name, nlen - 4);
        en->name[nlen - 4] = '\0';
        z->n++;
        pos += 46 + nlen + xlen + clen;
    }
    const char *dup = find_dup(z->e, z->n);
    if (dup) {
        fe_escbuf eb;
        fe_fail(err, "duplicate member '%s.npy'", fe_esc(&eb, dup));
        goto fail;
    }
    return 0;
fail:
    npz_free(z);
    return -1;
}

int npz_read_mem(const uint8_t *buf, size_t len, npz_t *z, fe_err *err)
{
    return npz_parse(buf, len, z, NULL, err);
}

static int npz_load_only(const char *path, npz_t *z, const char *only, fe_err *err)
{
    memset(z, 0, sizeof *z);
    uint8_t *buf;
    size_t len;
    if (fe_read_all(path, &buf, &len, NPZ_MAX_FILE, err) != 0)
        return -1;
    int rc = npz_parse(buf, len, z, only, err);
    free(buf);
    return rc;
}

int npz_load(const char *path, npz_t *z, fe_err *err)
{
    return npz_load_only(path, z, NULL, err);
}

int npz_load_one(const char *path, const char *name, npz_t *z, fe_err *err)
{
    return npz_load_only(path, z, name, err);
}

static void wr16(uint8_t *p, unsigned v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

#define DOS_DATE 0x0021  /* 1980-01-01: fixed, so equal inputs give equal files */
#define DOS_TIME 0x0000

int npz_save(const char *path, const npz_entry *e, int n, fe_err *err)
{
    if (n < 0 || n > 65535)
        return fe_fail(err, "cannot write %d members (at most 65535)", n);
    for (int i = 0; i < n; i++) {
        if (!e[i].name || strlen(e[i].name) > 65535 - 4)
            return fe_fail(err, "invalid member name");
    }
    const char *dup = find_dup(e, n);
    if (dup)
        return fe_fail(err, "duplicate member name '%.200s'", dup);
    fe_out o;
    if (fe_out_open(&o, path, 0, err) != 0)
        return -1;
    uint32_t *crc = fe_xcalloc((size_t)n + 1, sizeof *crc);
    uint32_t *size = fe_xcalloc((size_t)n + 1, sizeof *size);
    uint32_t *off = fe_xcalloc((size_t)n + 1, sizeof *off);
    uint64_t pos = 0;
    uint8_t h[46];
    for (int i = 0; i < n; i++) {
        uint8_t *b;
        size_t bl;
        fe_err e2;
        if (npy_write_mem(&e[i].t, &b, &bl, &e2) != 0) {
            fe_fail(err, "member '%.200s': %s", e[i].name, e2.msg);
            goto fail;
        }
        size_t nl = strlen(e[i].name) + 4;
        if (bl >= 0xFFFFFFFFu || pos >= 0xFFFFFFFFu) {
            free(b);
            fe_fail(err, "member '%.200s': archive larger than 4 GiB is not supported", e[i].name);
            goto fail;
        }
        crc[i] = (uint32_t)crc32_z(0, b, bl);
        size[i] = (uint32_t)bl;
        off[i] = (uint32_t)pos;
        wr32(h, SIG_LOCAL);
        wr16(h + 4, 20);
        wr16(h + 6, 0);
        wr16(h + 8, 0);
        wr16(h + 10, DOS_TIME);
        wr16(h + 12, DOS_DATE);
        wr32(h + 14, crc[i]);
        wr32(h + 18, size[i]);
        wr32(h + 22, size[i]);
        wr16(h + 26, (unsigned)nl);
        wr16(h + 28, 0);
        int ok = fwrite(h, 1, 30, o.f) == 30 &&
                 fwrite(e[i].name, 1, nl - 4, o.f) == nl - 4 &&
                 fwrite(".npy", 1, 4, o.f) == 4 &&
                 (bl == 0 || fwrite(b, 1, bl, o.f) == bl);
        free(b);
        if (!ok) {
            fe_fail(err, "write error: %s", strerror(errno));
            goto fail;
        }
        pos += 30 + nl + bl;
    }
    uint64_t cdstart = pos;
    for (int i = 0; i < n; i++) {
        size_t nl = strlen(e[i].name) + 4;
        wr32(h, SIG_CENTRAL);
        wr16(h + 4, 0x0314);       /* made by: Unix, zip 2.0 */
        wr16(h + 6, 20);
        wr16(h + 8, 0);
        wr16(h + 10, 0);
        wr16(h + 12, DOS_TIME);
        wr16(h + 14, DOS_DATE);
        wr32(h + 16, crc[i]);
        wr32(h + 20, size[i]);
        wr32(h + 24, size[i]);
        wr16(h + 28, (unsigned)nl);
        wr16(h + 30, 0);
        wr16(h + 32, 0);
        wr16(h + 34, 0);
        wr16(h + 36, 0);
        wr32(h + 38, (uint32_t)0100644 << 16);
        wr32(h + 42, off[i]);
        if (fwrite(h, 1, 46, o.f) != 46 || fwrite(e[i].name, 1, nl - 4, o.f) != nl - 4 ||
            fwrite(".npy", 1, 4, o.f) != 4) {
            fe_fail(err, "write error: %s", strerror(errno));
            goto fail;
        }
        pos += 46 + nl;
    }
    if (pos >= 0xFFFFFFFFu) {
        fe_fail(err, "archive larger than 4 GiB is not supported");
        goto fail;
    }
    wr32(h, SIG_EOCD);
    wr16(h + 4, 0);
    wr16(h + 6, 0);
    wr16(h + 8, (unsigned)n);
    wr16(h + 10, (unsigned)n);
    wr32(h + 12, (uint32_t)(pos - cdstart));
    wr32(h + 16, (uint32_t)cdstart);
    wr16(h + 20, 0);
    if (fwrite(h, 1, 22, o.f) != 22) {
        fe_fail(err, "write error: %s", strerror(errno));
        goto fail;
    }
    free(crc);
    free(size);
    free(off);
    return fe_out_commit(&o, err);
fail:
    free(crc);
    free(size);
    free(off);
    fe_out_abort(&o);
    return -1;
}
