/* cli.c - number parsing, BLAS threads and banner, clock. */
#include <errno.h>
#include <math.h>
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
    snprintf(buf, len, "%s; core %s%s; %d threads", openblas_get_config(), openblas_get_corename(),
             how, openblas_get_num_threads());
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
