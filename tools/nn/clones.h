/* clones.h - FE_CLONES: build a function for AVX-512, AVX2 and baseline x86-64
 * and let the loader pick the widest the CPU runs (GCC's target_clones, an
 * ifunc), so one binary is fast here and still runs everywhere.  ISO C mode
 * (-std=c11) keeps floating-point contraction off, so every copy rounds every
 * product and sum alike: results do not depend on the CPU.  Elsewhere (clang,
 * other architectures, -DFE_NO_CLONES) it is empty. */
#ifndef FE_CLONES_H
#define FE_CLONES_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(FE_NO_CLONES)
#define FE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FE_CLONES
#endif

#endif
