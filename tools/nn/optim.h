/* optim.h - SGD (momentum, weight decay) and Adam (coupled L2), PyTorch semantics,
 * over a model's flat parameter arena. */
#ifndef FE_OPTIM_H
#define FE_OPTIM_H

#include <stddef.h>
#include <stdint.h>

typedef enum { FE_SGD, FE_ADAM } fe_optim_kind;

typedef struct {
    fe_optim_kind kind;
    double lr, momentum, weight_decay, beta1, beta2, eps;
    size_t n;
    float *buf;        /* SGD momentum buffer, or Adam exp_avg */
    float *sq;         /* Adam exp_avg_sq (NULL for SGD) */
    int64_t step;      /* steps taken */
} fe_optim;

int fe_optim_init(fe_optim *o, fe_optim_kind kind, size_t n);
void fe_optim_free(fe_optim *o);
/* Back to the state of a new optimiser (as torch.optim.SGD/Adam built afresh):
 * zero momentum and moments, step 0; the hyperparameters stay. */
void fe_optim_reset(fe_optim *o);
/* One step: params -= update(grads). */
void fe_optim_step(fe_optim *o, float *params, const float *grads);

#endif
