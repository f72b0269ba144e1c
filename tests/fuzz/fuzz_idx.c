/* fuzz_idx.c - libFuzzer harness: the IDX reader (gzip or raw) over arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fe_tensor t;
    fe_err err;
    if (idx_decode(data, size, &t, &err) == 0)
        fe_tensor_free(&t);
    return 0;
}
