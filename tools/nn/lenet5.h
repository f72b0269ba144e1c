/* lenet5.h - LeNet-5's own state (m->net of a model of fe_lenet5), for
 * lenet5.c and the tests; the tools see only model.h. */
#ifndef FE_LENET5_H
#define FE_LENET5_H

#include "model.h"

typedef struct {
    fe_conv conv1, conv2;
    float *p1;              /* maxpool2(relu(conv1)) [6][N][14][14] */
    float *flat;            /* maxpool2(relu(conv2)) flattened, [400][N] */
    fe_fc fc1, fc2, fc3;
} lenet5_net;

#endif
