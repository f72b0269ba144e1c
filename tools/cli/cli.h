/* cli.h - strict parsing of command-line numbers and the BLAS banner every tool logs. */
#ifndef FE_CLI_H
#define FE_CLI_H

#include <stdint.h>

/* Parse the whole string or fail (no trailing junk, no overflow). */
int fe_parse_i64(const char *s, int64_t *v);
int fe_parse_double(const char *s, double *v);   /* finite values only */

/* OpenBLAS picks its kernels when the library loads.  Debian's 0.3.21 does not
 * recognise some AVX-512 CPUs and falls back to its slowest (Prescott) kernels.
 * When OPENBLAS_CORETYPE is unset and the CPU can run better ones, this sets it
 * and re-executes the program (once) so the choice takes effect.  Call first in
 * main.  A user's OPENBLAS_CORETYPE is always respected. */
void fe_blas_autoselect(char **argv);

/* Threads: OpenBLAS and the OpenMP loops of the layers use n threads (n <= 0: the
 * machine's cores); returns n. */
int fe_blas_threads(int n);
/* "OpenBLAS ...; core SkylakeX; 2 threads", and how the core was chosen. */
const char *fe_blas_describe(char *buf, int len);

/* For tools that print text: flush stdout, or exit with
 * "prog: <stdout>: write error: REASON" (a full disk, a closed pipe). */
void fe_stdout_flush_or_die(const char *prog);

/* Seconds on a monotonic clock. */
double fe_now(void);

#endif
