/* rng.h - xoshiro256** with explicit state; streams derived by splitmix64. */
#ifndef FE_RNG_H
#define FE_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} fe_rng;

/* Seed a generator from (seed, stream, index): independent reproducible streams,
 * e.g. stream "shuffle" of epoch 3. */
void fe_rng_seed(fe_rng *r, uint64_t seed, const char *stream, uint64_t index);
uint64_t fe_rng_u64(fe_rng *r);
double fe_rng_uniform(fe_rng *r);           /* [0, 1) with 53 bits */
double fe_rng_normal(fe_rng *r);            /* N(0,1), Box-Muller */
uint64_t fe_rng_below(fe_rng *r, uint64_t n);  /* unbiased [0, n) */
void fe_rng_permute(fe_rng *r, int64_t *a, int64_t n);  /* Fisher-Yates */

#endif
