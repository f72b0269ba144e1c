/* cli.h - what every featevo program shares on its command line: option parsing
 * with one set of messages, --help and --version, strict numbers, BLAS threads.
 *
 * Conventions: each program defines its name once, `#define PROG "agop"`, and
 * passes PROG to every helper here and to fe_die.  Bad usage exits 2 with
 * "PROG: what is wrong (see PROG --help)"; bad data exits 1 with
 * "PROG: FILE: what is wrong" (fe_die). */
#ifndef FE_CLI_H
#define FE_CLI_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

/* "PROG: MESSAGE (see PROG --help)" on stderr, then exit 2: every usage error. */
_Noreturn void fe_usage_error(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "PROG (featevo) VERSION" on stdout, VERSION being the Makefile's; returns 0. */
int fe_version(const char *prog);

/* --help (-h) and --version, last in every program's option table. */
enum { FE_OPT_VERSION = 0x7f00 };
#define FE_STD_OPTIONS \
    {"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, FE_OPT_VERSION}

/* A program's options, for getopt_long. */
typedef struct {
    const char *prog;
    const char *shortopts;          /* getopt's, e.g. "o:h" */
    const struct option *opts;      /* ending with FE_STD_OPTIONS, {0} */
    void (*usage)(FILE *);          /* the --help text */
} fe_cli;

/* The next option's code, as getopt_long returns it (optarg set), or -1 after
 * the last option; options and operands may come in any order (getopt_long
 * moves the operands to argv[optind..argc-1]), and "--" ends the options.  Handles the rest itself: -h/--help prints usage on stdout
 * and exits 0, --version prints the version and exits 0, an unknown option or
 * one without its argument is a usage error (exit 2). */
int fe_cli_next(const fe_cli *cl, int argc, char **argv);
/* Usage error "invalid value 'ARG' for --NAME", NAME being option code's name. */
_Noreturn void fe_cli_bad_value(const fe_cli *cl, int code, const char *arg);
/* Usage error "unexpected argument 'X'" when operands follow the options. */
void fe_cli_no_operands(const fe_cli *cl, int argc, char **argv);

/* Parse the whole string or fail (no trailing junk, no overflow). */
int fe_parse_i64(const char *s, int64_t *v);
int fe_parse_double(const char *s, double *v);   /* finite values only */

/* The real number ARG of option `code`, within [lo, hi] (lo excluded when
 * lo_open): values that overflow or vanish when used in float32 are refused up
 * front.  A usage error (exit 2) otherwise, naming the range:
 * "invalid value '1e30' for --lr: a number > 0 and <= 1e+06". */
double fe_cli_real(const fe_cli *cl, int code, const char *arg, double lo, int lo_open, double hi);

/* OpenBLAS picks its kernels when the library loads.  Debian's 0.3.21 does not
 * recognise some AVX-512 CPUs and falls back to its slowest (Prescott) kernels.
 * When OPENBLAS_CORETYPE is unset and the CPU can run better ones, this sets it
 * and re-executes the program (once, same argv) so the choice takes effect.
 * Call it before any BLAS work and before anything the program would do twice
 * (a file written, MPI started).  A user's OPENBLAS_CORETYPE is always respected. */
void fe_blas_autoselect(char **argv);

/* Threads: OpenBLAS and the OpenMP loops of the layers use n threads (n <= 0: the
 * machine's cores); returns n. */
int fe_blas_threads(int n);
/* "OpenBLAS ...; core SkylakeX; 2 threads", and how the core was chosen. */
const char *fe_blas_describe(char *buf, int len);

/* For tools that print text: flush stdout, or exit with
 * "prog: <stdout>: write error: REASON" (a full disk, a closed pipe). */
void fe_stdout_flush_or_die(const char *prog);

/* "s" unless n is 1: "%d thread%s", n, FE_PLURAL(n). */
#define FE_PLURAL(n) ((n) == 1 ? "" : "s")

/* Seconds on a monotonic clock. */
double fe_now(void);

#endif
