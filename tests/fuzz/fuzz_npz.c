/* fuzz_npz.c - libFuzzer harness: the .npz (zip) reader over arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    npz_t z;
    fe_err err;
    if (npz_read_mem(data, size, &z, &err) == 0) {
        for (int i = 0; i < z.n; i++)
            if (npz_get(&z, z.e[i].name) == NULL)
                abort();
        npz_free(&z);
    }
    return 0;
}
