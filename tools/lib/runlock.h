/* runlock.h - one process at a time in a run directory.
 *
 * fe_run_lock takes an exclusive flock(2) on the directory itself (no file is
 * created in it), without waiting.  The kernel releases it when the process
 * exits, however it exits, so a killed run never leaves a stale lock. */
#ifndef FE_RUNLOCK_H
#define FE_RUNLOCK_H

#include "fe.h"

/* Returns the locked descriptor (keep it open while the run lasts), or -1 with
 * err set: "in use by another process (pid N)" when another process holds the
 * lock (pid from /proc/locks; "pid unknown" where that is not readable), else
 * the system's reason. */
int fe_run_lock(const char *dir, fe_err *err);

#endif
