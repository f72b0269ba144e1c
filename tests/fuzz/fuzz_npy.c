/* fuzz_npy.c - libFuzzer harness: the .npy reader, from memory and from a stream;
 * whatever it accepts must survive a write/read round trip unchanged. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fe_tensor t;
    fe_err err;
    int ok = npy_read_mem(data, size, &t, &err) == 0;
    if (ok) {
        uint8_t *buf;
        size_t len;
        fe_tensor back;
        if (npy_write_mem(&t, &buf, &len, &err) != 0)
            abort();
        if (npy_read_mem(buf, len, &back, &err) != 0)
            abort();
        if (back.dtype != t.dtype || back.ndim != t.ndim ||
            memcmp(back.shape, t.shape, sizeof t.shape) != 0 ||
            memcmp(back.data, t.data, fe_nbytes(&t)) != 0)
            abort();
        fe_tensor_free(&back);
        free(buf);
        fe_tensor_free(&t);
    }
    /* the stream reader: same verdict except that it ignores trailing bytes */
    if (size > 0) {
        FILE *f = fmemopen((void *)(uintptr_t)data, size, "rb");
        if (f) {
            int sok = npy_read(f, &t, &err) == 0;
            if (sok)
                fe_tensor_free(&t);
            if (ok && !sok)
                abort();
            fclose(f);
        }
    }
    return 0;
}
