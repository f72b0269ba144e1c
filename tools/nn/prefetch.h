/* prefetch.h - fetch_t0 / fetch_t1: a prefetch of one line into L1 (t0) or
 * L2 (t1) that the compiler keeps.  GCC 12 drops __builtin_prefetch in some
 * functions: a function made only of them lost its calls (sgemm.c's
 * fetch_next_bt, and its measured gain with it), and the ones in
 * winograd2_bf16.c's copy_dm_channels were missing from the object code.
 * Internal to tools/nn. */
#ifndef FE_PREFETCH_H
#define FE_PREFETCH_H

#if defined(__GNUC__) && defined(__x86_64__)
static inline void fetch_t0(const void *p) { __asm__ volatile("prefetcht0 %0" : : "m"(*(const char *)p)); }
static inline void fetch_t1(const void *p) { __asm__ volatile("prefetcht1 %0" : : "m"(*(const char *)p)); }
#else
static inline void fetch_t0(const void *p) { __builtin_prefetch(p, 0, 3); }
static inline void fetch_t1(const void *p) { __builtin_prefetch(p, 0, 2); }
#endif

#endif
