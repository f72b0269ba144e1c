/* threads.h: OpenMP's thread queries, or one thread when a file is built
 * without OpenMP (the fuzzing harnesses build tools/nn with clang and no
 * -fopenmp: the pragmas are ignored and these stand in for the library). */
#ifndef FE_THREADS_H
#define FE_THREADS_H
#ifdef _OPENMP
#include <omp.h>
#else
static inline int omp_get_max_threads(void) { return 1; }
static inline int omp_get_thread_num(void) { return 0; }
static inline int omp_get_num_threads(void) { return 1; }
#endif
#endif
