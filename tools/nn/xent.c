/* xent.c - numerically stable softmax cross-entropy, mean over the batch. */
#include <math.h>
#include "layers.h"

double softmax_xent(int k, int n, const float *logits, const int64_t *labels, float *dlogits,
                    int64_t *correct, double *loss_each)
{
    double total = 0;
    for (int j = 0; j < n; j++) {
        double mx = logits[j];
        int arg = 0;
        for (int c = 1; c < k; c++)
            if (logits[(size_t)c * n + j] > mx) {
                mx = logits[(size_t)c * n + j];
                arg = c;
            }
        double s = 0;
        for (int c = 0; c < k; c++)
            s += exp(logits[(size_t)c * n + j] - mx);
        double lse = mx + log(s);
        int64_t y = labels[j];
        double l = lse - logits[(size_t)y * n + j];
        total += l;
        if (loss_each)
            loss_each[j] = l;
        if (correct && arg == y)
            (*correct)++;
        if (dlogits)
            for (int c = 0; c < k; c++) {
                double p = exp(logits[(size_t)c * n + j] - lse);
                dlogits[(size_t)c * n + j] = (float)((p - (c == y)) / n);
            }
    }
    return n ? total / n : 0.0;
}
