/* fuzz_ckpt.c - libFuzzer harness: the checkpoint loader (an .npz read from
 * arbitrary bytes, its architecture detected, then loaded into a model of that
 * architecture, as snapshot, agop and train --resume do). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One model of each architecture for the whole run (building a ResNet-18 per
 * input would dominate the time); loading overwrites all of its parameters. */
static fe_model *models[8];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    npz_t z;
    fe_err err;
    if (npz_read_mem(data, size, &z, &err))
        return 0;
    const fe_arch *found = fe_arch_detect(&z);
    int arch = 0;
    while (found && fe_archs[arch] != found)
        arch++;
    if (found && arch < 8) {
        if (!models[arch] && !(models[arch] = fe_model_new(found, 1, NULL, &err)))
            abort();
        err.msg[0] = '\0';
        if (fe_model_from_npz(models[arch], &z, &err) == 0) {
            /* a load that succeeded left only finite weights */
            const fe_model *m = models[arch];
            for (int i = 0; i < m->np; i++)
                for (size_t k = 0; m->p[i].data && k < m->p[i].n; k++)
                    if (!(m->p[i].data[k] - m->p[i].data[k] == 0.0f))
                        abort();
        } else if (err.msg[0] == '\0') {
            abort();
        }
    }
    npz_free(&z);
    return 0;
}
