/* rng.c - xoshiro256** (Blackman & Vigna), seeded through splitmix64. */
#include <math.h>
#include "rng.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void fe_rng_seed(fe_rng *r, uint64_t seed, const char *stream, uint64_t index)
{
    uint64_t h = 1469598103934665603ull;           /* FNV-1a of the stream name */
    for (const char *c = stream; *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ull;
    uint64_t x = seed ^ h;
    x = splitmix64(&x) ^ index * 0xD1B54A32D192ED03ull;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t fe_rng_u64(fe_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t; s[3] = rotl(s[3], 45);
    return result;
}

double fe_rng_uniform(fe_rng *r) { return (fe_rng_u64(r) >> 11) * 0x1.0p-53; }

double fe_rng_normal(fe_rng *r)
{
    double u1 = 1.0 - fe_rng_uniform(r), u2 = fe_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

uint64_t fe_rng_below(fe_rng *r, uint64_t n)
{
    uint64_t lim = UINT64_MAX - UINT64_MAX % n, x;
    do
        x = fe_rng_u64(r);
    while (x >= lim);
    return x % n;
}

void fe_rng_permute(fe_rng *r, int64_t *a, int64_t n)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)fe_rng_below(r, (uint64_t)i + 1), t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
