/* cli.h - strict parsing of command-line numbers and the BLAS banner every tool logs. */
#ifndef FE_CLI_H
#define FE_CLI_H

#include <stdint.h>

/* Parse the whole string or fail (no trailing junk, no overflow). */
int fe_parse_i64(const char *s, int64_t *v);
int fe_parse_double(const char *s, double *v);   /* finite values only */

/* Threads: set OpenBLAS to n threads (n <= 0: the machine's cores); returns n used. */
int fe_blas_threads(int n);
/* "OpenBLAS 0.3.21 (core SkylakeX, 2 threads)" */
const char *fe_blas_describe(char *buf, int len);

/* Seconds on a monotonic clock. */
double fe_now(void);

#endif
