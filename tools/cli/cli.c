/* cli.c - options and usage errors, number parsing, BLAS threads and banner, clock. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <cblas.h>
#include <omp.h>
#include "cli.h"
#include "fe.h"

#ifndef FE_VERSION
#error "FE_VERSION (the Makefile's VERSION) is not defined"
#endif

_Noreturn void fe_usage_error(const char *prog, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see %s --help)\n", prog);
    exit(2);
}

int fe_version(const char *prog)
{
    printf("%s (featevo) %s\n", prog, FE_VERSION);
    fe_stdout_flush_or_die(prog);
    return 0;
}

int fe_cli_next(const fe_cli *cl, int argc, char **argv)
{
    char shortopts[64];
    /* a leading ':' tells a missing argument (':') from an unknown option ('?') */
    if ((size_t)snprintf(shortopts, sizeof shortopts, ":%s", cl->shortopts) >= sizeof shortopts)
        abort();                                /* an assertion: the table is the program's */
    opterr = 0;
    int c = getopt_long(argc, argv, shortopts, cl->opts, NULL);
    switch (c) {
    case 'h':
        cl->usage(stdout);
        fe_stdout_flush_or_die(cl->prog);
        exit(0);
    case FE_OPT_VERSION:
        exit(fe_version(cl->prog));
    case ':':
        fe_usage_error(cl->prog, "option '%s' needs an argument", argv[optind - 1]);
    case '?':
        /* optopt: an unknown short option's letter, or a known long option's code
         * given a value it does not take (--gram=1); 0 for an unknown long option */
        if (optopt) {
            for (const struct option *o = cl->opts; o->name; o++)
                if (o->val == optopt && o->has_arg == no_argument && !strncmp(argv[optind - 1], "--", 2))
                    fe_usage_error(cl->prog, "option '--%s' takes no value", o->name);
            if (optopt < 256)
                fe_usage_error(cl->prog, "unknown option '-%c'", optopt);
        }
        fe_usage_error(cl->prog, "unknown option '%s'", argv[optind - 1]);
    default:
        return c;
    }
}

_Noreturn void fe_cli_bad_value(const fe_cli *cl, int code, const char *arg)
{
    const struct option *o = cl->opts;
    while (o->name && o->val != code)
        o++;
    if (o->name)
        fe_usage_error(cl->prog, "invalid value '%s' for --%s", arg, o->name);
    fe_usage_error(cl->prog, "invalid value '%s' for -%c", arg, code);
}

double fe_cli_real(const fe_cli *cl, int code, const char *arg, double lo, int lo_open, double hi)
{
    double v;
    if (!fe_parse_double(arg, &v) && (lo_open ? v > lo : v >= lo) && v <= hi)
        return v;
    const struct option *o = cl->opts;
    while (o->name && o->val != code)
        o++;
    char name[64];
    if (o->name)
        snprintf(name, sizeof name, "--%s", o->name);
    else
        snprintf(name, sizeof name, "-%c", code);
    fe_usage_error(cl->prog, "invalid value '%s' for %s: a number %s %g and <= %g", arg, name,
                   lo_open ? ">" : ">=", lo, hi);
}

void fe_cli_no_operands(const fe_cli *cl, int argc, char **argv)
{
    if (optind < argc)
        fe_usage_error(cl->prog, "unexpected argument '%s'", argv[optind]);
}

int fe_parse_i64(const char *s, int64_t *v)
{
    char *end;
    if (!s || !*s)
        return -1;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *v = x;
    return 0;
}

int fe_parse_double(const char *s, double *v)
{
    char *end;
    if (!s || !*s)
        return -1;
    errno = 0;
    double x = strtod(s, &end);
    if (errno || *end || !isfinite(x))
        return -1;
    *v = x;
    return 0;
}

int fe_blas_threads(int n)
{
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 1;
    }
    openblas_set_num_threads(n);
    omp_set_num_threads(n);      /* the layers' own loops */
    return n;
}

void fe_blas_autoselect(char **argv)
{
    if (getenv("OPENBLAS_CORETYPE") || getenv("FEATEVO_BLAS_DETECTED"))
        return;
    const char *core = openblas_get_corename();
    if (!core || (strcasecmp(core, "Prescott") && strcasecmp(core, "Core2") &&
                  strcasecmp(core, "Nehalem") && strcasecmp(core, "Sandybridge")))
        return;
    const char *better = NULL;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        better = "SkylakeX";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        better = "Haswell";
    if (!better)
        return;
    setenv("OPENBLAS_CORETYPE", better, 1);
    setenv("FEATEVO_BLAS_DETECTED", core, 1);
    execv("/proc/self/exe", argv);
    /* exec failed: carry on with what OpenBLAS chose */
    unsetenv("OPENBLAS_CORETYPE");
}

const char *fe_blas_describe(char *buf, int len)
{
    const char *detected = getenv("FEATEVO_BLAS_DETECTED"), *user = getenv("OPENBLAS_CORETYPE");
    char how[128];
    if (detected && user)
        snprintf(how, sizeof how, " (chosen by featevo: OpenBLAS detected only %s)", detected);
    else if (user)
        snprintf(how, sizeof how, " (OPENBLAS_CORETYPE=%s from the environment)", user);
    else
        snprintf(how, sizeof how, " (OpenBLAS's own choice)");
    const int n = openblas_get_num_threads();
    snprintf(buf, len, "%s; core %s%s; %d thread%s", openblas_get_config(), openblas_get_corename(),
             how, n, FE_PLURAL(n));
    return buf;
}

double fe_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void fe_stdout_flush_or_die(const char *prog)
{
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout))
        fe_die(prog, "<stdout>", "write error: %s", errno ? strerror(errno) : "unknown error");
}
