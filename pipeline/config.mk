# pipeline/config.mk - every hyperparameter of the pipeline, with its source.
# Override any of them on the command line:  make all EPOCHS_RESNET=3 SEED=1
#
# "paper" = the report's text; "code" = its notebooks (github.com/KULcoder/DSC180A-Project1);
# "ours" = this project's choice.  pipeline/SOURCES.md gives each setting's source
# in full; where text and code disagree (ResNet-18's optimiser: Adam in the text,
# SGD in the code; Table 1 at lr 1e-7), the code made the numbers, and we follow it.

# ours: the report's code seeded its split and shuffle; any fixed seed
SEED          ?= 0
# code: random 80/20 split of the 60,000 training images
VAL_SPLIT     ?= 0.2
# code: transforms.Normalize((0.1307,), (0.3081,))
MEAN          ?= 0.1307
STD           ?= 0.3081
# ours: 0 = all cores (same seed + same threads = same bytes)
THREADS       ?= 0
# ours: fp32, or bf16 (train --precision bf16: ResNet-18's convolution products in
# bfloat16 with float32 sums; its runs and results go to their own directories)
PRECISION     ?= fp32

# LeNet-5: paper 2.1 and code
# paper: 10 epochs
EPOCHS_LENET  ?= 10
# code: batch size 512
BATCH_LENET   ?= 512
# paper and code: Adam, betas (0.9, 0.999), eps 1e-8
OPT_LENET     ?= adam
# paper: learning rate 0.0001
LR_LENET      ?= 1e-4
# code: no weight decay
WD_LENET      ?= 0
# code: PyTorch's default initialisation
INIT_LENET    ?= default

# ResNet-18: code (the paper's prose says Adam; the code used SGD: SOURCES.md)
# paper: 30 epochs (Figure 1); Table 1 and Figure 6 come from a second run (below)
EPOCHS_RESNET ?= 30
# code
BATCH_RESNET  ?= 512
# code: SGD, momentum 0.9, weight decay 1e-4, no Nesterov
OPT_RESNET    ?= sgd
# code
LR_RESNET     ?= 1e-4
MOM_RESNET    ?= 0.9
WD_RESNET     ?= 1e-4
# code: every conv weight ~ N(0, 1e-4)
INIT_RESNET   ?= normal:1e-4

# The Table 1 run (Table 1, Figures 6, 6b, 7): the ResNet-18 settings above except
# these (pipeline/SOURCES.md, "the Table 1 run").
# code: config['training']['epochs'] = 1, called three times
EPOCHS_T1     ?= 3
# code: config['optimizer']['lr'] = 1e-7
LR_T1         ?= 1e-7
# code: batch 512, as Figure 1's run
BATCH_T1      ?= $(BATCH_RESNET)
# code: Investigate_wTw.ipynb (run A, the paper's Table 1) built a new SGD optimiser
# for each one-epoch call, so momentum restarted every epoch: 1. 9.0-Q1-Result.ipynb
# (run B) kept one optimiser: 0.
FRESH_T1      ?= 1
# ours: the seeds of `make table1-seeds` and `make sweep` (the report's runs were unseeded)
SEEDS         ?= 0 1 2 3 4
# ours: `make sweep`: the Table 1 run for every learning rate of LRS and initial conv
# weight std of INITS (the --init normal:STD of every conv), times SEEDS
LRS           ?= $(LR_T1)
INITS         ?= 1e-4

# ours: how heavy recipes are run (pipeline/paper.mk, "Dispatch"): a prefix such as
# srun -N1 -n1 -c8; RUN_TRAIN for the trainings, e.g. mpirun -np 4
RUN           ?=
RUN_TRAIN     ?= $(RUN)

# Figures and the CNFA measurements
# ours: the first "eight" of the MNIST test set (Figures 3-5)
SAMPLE_INDEX  ?= 61
# paper: Figure 6 shows epochs 0-3 (of the Table 1 run)
FEATURE_EPOCHS ?= 0 1 2 3
# ours: images (the first of the training file) averaged per AGOP
AGOP_COUNT_LENET  ?= 2000
AGOP_COUNT_RESNET ?= 500
AGOP_BATCH    ?= 128
CNFA_LAYERS_LENET  ?= conv1 conv2 fc1 fc2 fc3
# ours: every convolution of ResNet-18 in network order (block: conv1, conv2, shortcut):
# cnfa.tsv and Figure 9; one agop call per epoch serves them all
CNFA_LAYERS_RESNET ?= conv1 $(foreach s,1 2 3 4,$(foreach b,0 1,layer$(s).$(b).conv1 \
  layer$(s).$(b).conv2 $(if $(filter-out 1,$(s)),$(if $(filter 0,$(b)),layer$(s).$(b).shortcut.0))))
# ours: the lines of Figure 8 (conv1 and the first conv of each stage)
CNFA_PLOT_RESNET ?= conv1 layer1.0.conv1 layer2.0.conv1 layer3.0.conv1 layer4.0.conv1
# ours: the AGOP matrices kept in the work directory after their cnfa.tsv rows
# (the others, up to 4608 x 4608, are deleted: 0.4 GB per epoch of a run)
AGOP_KEEP     ?= conv1
# ours: the sample-size study (tables/cnfa-sample-size.tsv): agop --sizes over a pool
# of the first AGOP_SS_POOL training images in blocks of AGOP_SS_BATCH, for the
# CNFA_PLOT_RESNET layers at the epochs AGOP_SS_EPOCHS of Figure 1's run ("last" =
# EPOCHS_RESNET), AGOP_SS_RESAMPLES resamples of each size
AGOP_SS_POOL  ?= 2000
AGOP_SS_BATCH ?= 25
AGOP_SS_SIZES ?= 100 250 500 1000 2000
AGOP_SS_EPOCHS ?= 0 1 last
AGOP_SS_RESAMPLES ?= 1000

# Subsets: 0 = the whole file
# training images used (of 60,000)
LIMIT         ?= 0
# test images used (of 10,000)
TEST_LIMIT    ?= 0

# ours: what `make all` says before it starts (pipeline/estimate.sh): seconds per
# full-data ResNet-18 epoch, training and evaluation, and per epoch's AGOPs and CNFA
# rows of the 20 convs over 500 images, as measured on two machines, the one taken
# whose vector width this CPU has (the convolutions' kernels differ):
# - 2 cores of an AMD EPYC Zen 5, AVX-512 (2026-12-06, blocked layout): 271 s of
#   training at 177 img/s plus about 40 s of evaluation (tests/bench/README.md);
#   AGOPs 35 s + CNFA rows 15 s; again on 2026-12-07 (5a4a721, a slower minute):
#   292 s of training at 165 img/s and 387 s of wall time for the process with two
#   evaluations, about 340 s an epoch;
# - 2 cores of an AMD EPYC Zen 3, AVX2 only (the committed make all, 2026-12-07,
#   results/README.md): a median 497 s of training at 97 img/s plus about 70 s of
#   evaluation; the analysis stage 2,850 s for 35 epochs' AGOPs and CNFA rows with
#   the sample-size table (81 s an epoch).
ifeq ($(shell grep -qw avx512f /proc/cpuinfo 2> /dev/null && echo y),y)
EST_MACHINE        ?= 2 cores of an AMD EPYC Zen 5 (AVX-512)
EST_RESNET_EPOCH_S ?= 340
EST_AGOP_EPOCH_S   ?= 50
else
EST_MACHINE        ?= 2 cores of an AMD EPYC Zen 3 (AVX2, no AVX-512)
EST_RESNET_EPOCH_S ?= 570
EST_AGOP_EPOCH_S   ?= 81
endif

# `make paper-short`: the paper's settings with Figure 1's run cut to 3 epochs, into
# results/paper-short/ (its runs in runs/paper-short-mnist), never over the
# committed results/figures and results/tables of `make all`
ifeq ($(PROFILE),paper-short)
  EPOCHS_RESNET := 3
endif

# `make quick`: the same graph on a small subset with few epochs, into results/quick/
ifeq ($(PROFILE),quick)
  LIMIT := 1024
  TEST_LIMIT := 500
  EPOCHS_LENET := 4
  EPOCHS_RESNET := 3
  BATCH_LENET := 32
  # batch 32: 26 steps an epoch (819 training images), enough for Figure 1's run
  # to leave chance by epoch 3 (at 128, 7 steps an epoch, validation stayed at
  # chance for 3 epochs)
  BATCH_RESNET := 32
  # the Table 1 run at lr 1e-7 needs more steps: the full run leaves chance in its
  # second epoch (94 steps an epoch), and at batch 32 (78 steps in all) its
  # validation stayed at 10.2% for 3 epochs.  At batch 8 (103 steps an epoch) it
  # has the report's shape: validation 8.3%, 83.9%, 90.2% in epochs 1-3 (test
  # 13.4, 76.6, 88.8 on 500 images), for 30 s of training (2026-12-05, 2 cores)
  BATCH_T1 := 8
  AGOP_COUNT_LENET := 256
  AGOP_COUNT_RESNET := 16
  AGOP_BATCH := 16
  # six convs, one of each kind and stage, for Figure 9's map: a CNFA row costs about
  # a second per 2304 x 2304 matrix it reads, and all 20 convs made make quick 330 s
  CNFA_LAYERS_RESNET := conv1 layer1.0.conv1 layer2.0.conv1 layer2.0.shortcut.0 \
    layer3.0.conv1 layer4.0.conv1
  AGOP_SS_POOL := 32
  AGOP_SS_BATCH := 8
  AGOP_SS_SIZES := 8 16 32
  AGOP_SS_RESAMPLES := 200
endif
