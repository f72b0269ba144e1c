# pipeline/paper.mk - the paper's figures and tables, plus AGOP and CNFA, from raw MNIST.
# (Included by the Makefile; hyperparameters in pipeline/config.mk.)
#
#   make all           the paper's settings            -> results/figures, results/tables
#   make paper-short   the same, ResNet-18 for 3 epochs -> results/figures, results/tables
#   make quick         a small subset, few epochs      -> results/quick/...
#   make table1-seeds  the Table 1 run for each of SEEDS, mean and spread -> tables/table1-seeds.*
#   make all DATASET=fashion-mnist                     -> results/fashion-mnist/...
#   make all PRECISION=bf16   ResNet-18 in bf16          -> results/bf16/..., runs/mnist-bf16
#
#   make sweep         the Table 1 run over SEEDS x LRS x INITS: mean and spread per epoch
#
# Training runs live in runs/ (ignored by git); `train --resume` continues an
# interrupted run, so re-running make picks up where it stopped.
#
# Dispatch: every training runs as $(RUN_TRAIN) bin/train ..., every AGOP and
# activation snapshot as $(RUN) bin/...; both are empty by default.  On a
# cluster:  make -j16 all RUN='srun -N1 -n1 -c8' (SLURM: each recipe a job step),
# RUN_TRAIN='srun -n4 -c2' or 'mpirun -np 4' for data-parallel trainings.
# Independent runs, seeds and epochs' AGOPs are separate targets, so -jN runs them
# at once.

include pipeline/config.mk
.SECONDEXPANSION:

ifeq ($(filter fp32 bf16,$(PRECISION)),)
  $(error PRECISION must be fp32 or bf16, not '$(PRECISION)')
endif
PREC_DIR := $(if $(filter bf16,$(PRECISION)),/bf16)
ifeq ($(PROFILE),quick)
  RES  := results/quick$(if $(filter-out mnist,$(DATASET)),/$(DATASET))$(PREC_DIR)
  RUNS := runs/quick-$(DATASET)$(if $(PREC_DIR),-bf16)
else
  RES  := results$(if $(filter-out mnist,$(DATASET)),/$(DATASET))$(PREC_DIR)
  RUNS := runs/$(DATASET)$(if $(PREC_DIR),-bf16)
endif
FIG  := $(RES)/figures
TAB  := $(RES)/tables
WORK := $(RUNS)/analysis
# Keep intermediate files (per-epoch maps, NFMs; AGOPs: agop_rule, texts: txt_rule) so reruns
# are incremental.
# (Not a global .SECONDARY: that would make the runs' trained-N markers secondary
# too, and make would then skip an interrupted training instead of resuming it.)
# (.PRECIOUS takes the rules' target patterns themselves, not a wider pattern.)
.PRECIOUS: $(addprefix $(WORK)/,maps/%.npy maps/%-stack.npy nfm/%.npy gram/%.npy \
             cnfa/%.tsv)
RL   := $(RUNS)/lenet5
RR   := $(RUNS)/resnet18
# The Table 1 run: a directory per seed, named by its learning rate and optimiser
# reset so that other settings never reuse it (make table1-seeds adds the other
# seeds). T1, its name for SEED, is the model field of the analysis stems and of
# cnfa.tsv.
T1_TAG = resnet18-table1-lr$(LR_T1)-$(if $(filter 1,$(FRESH_T1)),fresh,kept)
RT     = $(RUNS)/$(T1_TAG)-seed$(1)
T1     = $(T1_TAG)-seed$(SEED)
# a run's completion marker: $(call done,RUN NAME)
done   = $(RUNS)/$(1)/trained-$(if $(filter lenet5,$(1)),$(EPOCHS_LENET),$(if $(filter resnet18,$(1)),$(EPOCHS_RESNET),$(EPOCHS_T1)))
# Which Table 1 run (and which SEEDS) the figures and tables use, as files that
# change only when the choice does, so that choosing another rebuilds them.
T1_STAMP    := $(RUNS)/table1-run.txt
SEEDS_STAMP := $(RUNS)/table1-seeds.txt

TRAIN_X := $(DATA_DIR)/train-images.npy
TRAIN_Y := $(DATA_DIR)/train-labels.npy
TEST_X  := $(DATA_DIR)/test-images.npy
TEST_Y  := $(DATA_DIR)/test-labels.npy

ep = $(shell printf '%03d' $(1))
EPOCHS_L := $(foreach e,$(shell seq 0 $(EPOCHS_LENET)),$(call ep,$(e)))
EPOCHS_R := $(foreach e,$(shell seq 0 $(EPOCHS_RESNET)),$(call ep,$(e)))
EPOCHS_T := $(foreach e,$(shell seq 0 $(EPOCHS_T1)),$(call ep,$(e)))
FEAT_E   := $(foreach e,$(FEATURE_EPOCHS),$(call ep,$(e)))
ifneq ($(words $(filter-out $(EPOCHS_T),$(FEAT_E))),0)
  $(error FEATURE_EPOCHS ($(FEATURE_EPOCHS)) go beyond EPOCHS_T1 ($(EPOCHS_T1)))
endif

FIGURES := $(addprefix $(FIG)/,fig1-resnet18-curves.png fig2-lenet5-curves.png fig3-sample.png \
             fig4-lenet5-conv1-maps.png fig5-lenet5-conv2-maps.png fig6-resnet18-nfm.png \
             fig6b-resnet18-gram.png fig7-resnet18-agop.png fig8-cnfa-correlation.png)
TABLES  := $(addprefix $(TAB)/,table1.tsv table1.md cnfa.tsv lenet5-metrics.tsv resnet18-metrics.tsv \
             resnet18-table1-metrics.tsv)

.PHONY: all paper-short quick figures tables results table1-seeds FORCE
all:
	@$(MAKE) --no-print-directory results
paper-short:
	@$(MAKE) --no-print-directory results EPOCHS_RESNET=3
quick:
	@$(MAKE) --no-print-directory results PROFILE=quick
results: figures tables
figures: $(FIGURES)
tables: $(TABLES)

# Every output is written under a temporary name and renamed when complete.
TMP = $@.tmp

# ---- training -------------------------------------------------------------
COMMON_TRAIN = --images $(TRAIN_X) --labels $(TRAIN_Y) --test-images $(TEST_X) \
  --test-labels $(TEST_Y) --val-split $(VAL_SPLIT) --threads $(THREADS) \
  --mean $(MEAN) --std $(STD) $(if $(filter-out 0,$(LIMIT)),--limit $(LIMIT)) \
  $(if $(filter-out 0,$(TEST_LIMIT)),--test-limit $(TEST_LIMIT)) --resume

$(RL)/trained-$(EPOCHS_LENET): $(BIN)/train $(TRAIN_X) $(TRAIN_Y) $(TEST_X) $(TEST_Y)
	@mkdir -p $(RUNS)
	$(RUN_TRAIN) $(BIN)/train --model lenet5 --out $(RL) --epochs $(EPOCHS_LENET) --batch $(BATCH_LENET) \
	  --optimizer $(OPT_LENET) --lr $(LR_LENET) --weight-decay $(WD_LENET) \
	  --init $(INIT_LENET) --seed $(SEED) $(COMMON_TRAIN)
	touch $@

# $(call train_resnet,DIR,EPOCHS,LR,SEED,EXTRA OPTIONS)
train_resnet = $(RUN_TRAIN) $(BIN)/train --model resnet18 --out $(1) --epochs $(2) --batch $(BATCH_RESNET) \
  --optimizer $(OPT_RESNET) --lr $(3) --momentum $(MOM_RESNET) --weight-decay $(WD_RESNET) \
  --init $(INIT_RESNET) --seed $(4) $(COMMON_TRAIN) $(5) \
  $(if $(filter bf16,$(PRECISION)),--precision bf16)

# Figure 1's run: the config's learning rate, EPOCHS_RESNET epochs
$(RR)/trained-$(EPOCHS_RESNET): $(BIN)/train $(TRAIN_X) $(TRAIN_Y) $(TEST_X) $(TEST_Y)
	@mkdir -p $(RUNS)
	$(call train_resnet,$(RR),$(EPOCHS_RESNET),$(LR_RESNET),$(SEED))
	touch $@

# The Table 1 run (and its other seeds): lr LR_T1, EPOCHS_T1 epochs, a fresh
# optimiser each epoch when FRESH_T1 is 1
$(call RT,%)/trained-$(EPOCHS_T1): $(BIN)/train $(TRAIN_X) $(TRAIN_Y) $(TEST_X) $(TEST_Y)
	@mkdir -p $(RUNS)
	$(call train_resnet,$(call RT,$*),$(EPOCHS_T1),$(LR_T1),$*,$(if $(filter 1,$(FRESH_T1)),--fresh-optimizer))
	touch $@

# Checkpoints come with the run.  (What reads a run's metrics.tsv depends on its
# trained-N marker instead: metrics.tsv is rewritten after every epoch, so an
# interrupted run's would look up to date.)
$(addprefix $(RL)/epoch-,$(addsuffix .npz,$(EPOCHS_L))): $(RL)/trained-$(EPOCHS_LENET) ;
$(addprefix $(RR)/epoch-,$(addsuffix .npz,$(EPOCHS_R))): $(RR)/trained-$(EPOCHS_RESNET) ;
$(addprefix $(call RT,$(SEED))/epoch-,$(addsuffix .npz,$(EPOCHS_T))): $(call done,$(T1)) ;

$(T1_STAMP): FORCE
	@mkdir -p $(@D)
	@[ "$$(cat $@ 2>/dev/null)" = "$(T1)" ] || echo "$(T1)" > $@
$(SEEDS_STAMP): FORCE
	@mkdir -p $(@D)
	@[ "$$(cat $@ 2>/dev/null)" = "$(strip $(SEEDS)) $(T1_TAG)" ] || echo "$(strip $(SEEDS)) $(T1_TAG)" > $@

# ---- Figures 1-2: learning curves (gnuplot) -------------------------------
$(FIG)/fig1-resnet18-curves.png: $(RR)/trained-$(EPOCHS_RESNET) pipeline/plot-curves.gp
	@mkdir -p $(@D)
	gnuplot -e "metrics='$(<D)/metrics.tsv'; out='$(TMP)'; name='ResNet-18, SGD lr $(LR_RESNET), $(EPOCHS_RESNET) epochs$(if $(filter-out 0,$(LIMIT)), ($(LIMIT) images))'" pipeline/plot-curves.gp
	mv $(TMP) $@

$(FIG)/fig2-lenet5-curves.png: $(RL)/trained-$(EPOCHS_LENET) pipeline/plot-curves.gp
	@mkdir -p $(@D)
	gnuplot -e "metrics='$(<D)/metrics.tsv'; out='$(TMP)'; name='LeNet-5, Adam lr $(LR_LENET), $(EPOCHS_LENET) epochs$(if $(filter-out 0,$(LIMIT)), ($(LIMIT) images))'" pipeline/plot-curves.gp
	mv $(TMP) $@

# ---- Figures 3-5: the sample image and LeNet-5's maps for it, epoch by epoch ----
# Intermediate files are named by stems MODEL@LAYER@EPOCH (e.g. resnet18@conv1@003;
# MODEL: the run's name), and these name a stem's parts:
stem_model = $(word 1,$(subst @, ,$(1)))
stem_layer = $(word 2,$(subst @, ,$(1)))
stem_epoch = $(word 3,$(subst @, ,$(1)))
# the checkpoint a stem's files are made from
stem_ckpt  = $(RUNS)/$(call stem_model,$(1))/epoch-$(call stem_epoch,$(1)).npz

$(FIG)/fig3-sample.png: $(RL)/epoch-000.npz $(TEST_X) $(BIN)/snapshot $(BIN)/heatmap
	@mkdir -p $(@D)
	$(BIN)/snapshot --ckpt $< --images $(TEST_X) --index $(SAMPLE_INDEX) --layer input \
	  | $(BIN)/heatmap --cmap grey -o $@

$(WORK)/maps/%.npy: $$(call stem_ckpt,$$*) $(TEST_X) $(BIN)/snapshot
	@mkdir -p $(@D)
	$(RUN) $(BIN)/snapshot --ckpt $< --images $(TEST_X) --index $(SAMPLE_INDEX) \
	  --layer $(call stem_layer,$*) -o $@

$(WORK)/maps/%-stack.npy: $$(foreach e,$$(EPOCHS_L),$$(WORK)/maps/lenet5@$$*@$$(e).npy) $(BIN)/stack
	$(BIN)/stack -o $@ $(filter %.npy,$^)

# one row per epoch 0..N (top to bottom), one tile per channel, each tile its own scale
$(FIG)/fig4-lenet5-conv1-maps.png: $(WORK)/maps/conv1-stack.npy $(BIN)/heatmap
	@mkdir -p $(@D)
	$(BIN)/heatmap --cmap grey --cols 6 --per-tile $< -o $@
$(FIG)/fig5-lenet5-conv2-maps.png: $(WORK)/maps/conv2-stack.npy $(BIN)/heatmap
	@mkdir -p $(@D)
	$(BIN)/heatmap --cmap grey --cols 16 --per-tile $< -o $@

# ---- NFM, AGOP and their correlation per model, layer and epoch -----------
$(WORK)/nfm/%.npy: $$(call stem_ckpt,$$*) $(BIN)/snapshot $(BIN)/featmat
	@mkdir -p $(@D)
	$(BIN)/snapshot --ckpt $< --tensor $(call stem_layer,$*).weight | $(BIN)/featmat -o $@

$(WORK)/gram/%.npy: $$(call stem_ckpt,$$*) $(BIN)/snapshot $(BIN)/featmat
	@mkdir -p $(@D)
	$(BIN)/snapshot --ckpt $< --tensor $(call stem_layer,$*).weight | $(BIN)/featmat --gram -o $@

# A run's AGOPs of one epoch, every layer of its list, come from one agop call:
# the layers share its backward passes (agop(1)), so ResNet-18's five convs cost
# about what conv1 alone does.  $(call agop_rule,RUN,LAYERS,IMAGES) makes the
# pattern rule (stem: the epoch) whose targets are its AGOP files.
agop_out = $(foreach l,$(2),$(WORK)/agop/$(1)@$(l)@$(3).npy)
define agop_rule
$(call agop_out,$(1),$(2),%): $(RUNS)/$(1)/epoch-%.npz $(TRAIN_X) $(BIN)/agop
	@mkdir -p $$(@D)
	$$(RUN) $$(BIN)/agop --ckpt $$< --images $$(TRAIN_X) --count $(3) --batch $$(AGOP_BATCH) \
	  --threads $$(THREADS) --mean $$(MEAN) --std $$(STD) --quiet \
	  $(foreach l,$(2),--layer $(l) -o $(WORK)/agop/$(1)@$(l)@$$*.npy)
.PRECIOUS: $(call agop_out,$(1),$(2),%)
endef
$(eval $(call agop_rule,lenet5,$(CNFA_LAYERS_LENET),$(AGOP_COUNT_LENET)))
$(eval $(call agop_rule,resnet18,$(CNFA_LAYERS_RESNET),$(AGOP_COUNT_RESNET)))
$(eval $(call agop_rule,$(T1),$(CNFA_LAYERS_RESNET),$(AGOP_COUNT_RESNET)))

# one row: model layer epoch corr(NFM, AGOP) corr(NFM, NFM at epoch 0)
# (stem_nfm0: the NFM of the stem's run and layer at epoch 0)
stem_nfm0 = $(WORK)/nfm/$(call stem_model,$(1))@$(call stem_layer,$(1))@000.npy
$(WORK)/cnfa/%.tsv: $(WORK)/nfm/%.npy $(WORK)/agop/%.npy $$(call stem_nfm0,$$*) $(BIN)/corr
	@mkdir -p $(@D)
	printf '%s\t%s\t%d\t%s\t%s\n' $(call stem_model,$*) $(call stem_layer,$*) $$((10#$(call stem_epoch,$*))) \
	  "$$($(BIN)/corr $(WORK)/nfm/$*.npy $(WORK)/agop/$*.npy)" \
	  "$$($(BIN)/corr $(call stem_nfm0,$*) $(WORK)/nfm/$*.npy)" > $(TMP) && mv $(TMP) $@

# ResNet-18 rows from both runs: "resnet18" (lr LR_RESNET) and the Table 1 run $(T1)
CNFA_ROWS := $(foreach l,$(CNFA_LAYERS_LENET),$(foreach e,$(EPOCHS_L),$(WORK)/cnfa/lenet5@$(l)@$(e).tsv)) \
             $(foreach l,$(CNFA_LAYERS_RESNET),$(foreach e,$(EPOCHS_R),$(WORK)/cnfa/resnet18@$(l)@$(e).tsv)) \
             $(foreach l,$(CNFA_LAYERS_RESNET),$(foreach e,$(EPOCHS_T),$(WORK)/cnfa/$(T1)@$(l)@$(e).tsv))

$(TAB)/cnfa.tsv: $(CNFA_ROWS) $(T1_STAMP)
	@mkdir -p $(@D)
	{ printf 'model\tlayer\tepoch\tcorr_nfm_agop\tcorr_nfm_init\n'; cat $(CNFA_ROWS); } > $(TMP) && mv $(TMP) $@

# ---- Figures 6-8 (gnuplot) -------------------------------------------------
# txt/KIND@MODEL@LAYER@EPOCH.txt: the matrix KIND/MODEL@LAYER@EPOCH.npy (KIND: nfm,
# gram or agop) as text for gnuplot; a pattern rule per KIND, so that its stem is
# the analysis stem and names the .npy as it stands
define txt_rule
$(WORK)/txt/$(1)@%.txt: $(WORK)/$(1)/%.npy $(BIN)/npy2txt
	@mkdir -p $$(@D)
	$(BIN)/npy2txt $$< > $$(TMP) && mv $$(TMP) $$@
.PRECIOUS: $(WORK)/txt/$(1)@%.txt
endef
$(foreach k,nfm gram agop,$(eval $(call txt_rule,$(k))))

# Figures 6, 6b and 7: conv1 of the Table 1 run (lr LR_T1), as in the report
MATS = $(foreach e,$(FEAT_E),$(WORK)/txt/$(1)@$(T1)@conv1@$(e).txt)
FEAT_TITLES = $(foreach e,$(FEATURE_EPOCHS),epoch_$(e))
T1_NAME = ResNet-18 conv1, the Table 1 run (SGD lr $(LR_T1)$(if $(filter 1,$(FRESH_T1)),$(comma) momentum restarted each epoch)$(comma) seed $(SEED))
comma := ,

$(FIG)/fig6-resnet18-nfm.png: $(call MATS,nfm) pipeline/plot-matrices.gp $(T1_STAMP)
	@mkdir -p $(@D)
	gnuplot -e "files='$(call MATS,nfm)'; titles='$(FEAT_TITLES)'; rows=1; rowscale=0; out='$(TMP)'; name='$(T1_NAME): neural feature matrix W^T W (9x9), one grey scale'" pipeline/plot-matrices.gp
	mv $(TMP) $@

$(FIG)/fig6b-resnet18-gram.png: $(call MATS,gram) pipeline/plot-matrices.gp $(T1_STAMP)
	@mkdir -p $(@D)
	gnuplot -e "files='$(call MATS,gram)'; titles='$(FEAT_TITLES)'; rows=1; rowscale=0; out='$(TMP)'; name='$(T1_NAME): W W^T (64x64), as the notebook drew it, one grey scale'" pipeline/plot-matrices.gp
	mv $(TMP) $@

$(FIG)/fig7-resnet18-agop.png: $(call MATS,nfm) $(call MATS,agop) pipeline/plot-matrices.gp $(T1_STAMP)
	@mkdir -p $(@D)
	gnuplot -e "files='$(call MATS,nfm) $(call MATS,agop)'; titles='$(addprefix NFM_,$(FEAT_TITLES)) $(addprefix AGOP_,$(FEAT_TITLES))'; rows=2; rowscale=2; out='$(TMP)'; name='$(T1_NAME): NFM W^T W (top) and patch AGOP over $(AGOP_COUNT_RESNET) images (bottom), each panel its own grey scale'" pipeline/plot-matrices.gp
	mv $(TMP) $@

$(FIG)/fig8-cnfa-correlation.png: $(TAB)/cnfa.tsv pipeline/plot-cnfa.gp
	@mkdir -p $(@D)
	gnuplot -e "data='$<'; out='$(TMP)'; lenet='$(CNFA_LAYERS_LENET)'; resnet='$(CNFA_LAYERS_RESNET)'; lr_resnet='$(LR_RESNET)'; t1='$(T1)'" pipeline/plot-cnfa.gp
	mv $(TMP) $@

# ---- Table 1: the Table 1 run, epochs 0-EPOCHS_T1 --------------------------
# train_acc is train_acc_batchmean (column 10): the mean of the per-batch
# accuracies, what the report's progress bar printed.
$(TAB)/table1.tsv: $(call done,$(T1)) $(T1_STAMP)
	@mkdir -p $(@D)
	awk -F'\t' 'BEGIN { OFS = "\t"; print "epoch", "train_acc", "val_acc", "test_acc" } \
	  NR > 1 { print $$1, $$10, $$5, $$7 }' $(<D)/metrics.tsv > $(TMP) && mv $(TMP) $@

$(TAB)/table1.md: $(TAB)/table1.tsv pipeline/table1-md.sh pipeline/report-table1.tsv
	pipeline/table1-md.sh $< > $(TMP) && mv $(TMP) $@

# ---- the numbers behind Figures 1-2 and Table 1: each run's metrics.tsv without
# its timing columns (seconds, images_per_s), which vary from machine to machine
$(TAB)/lenet5-metrics.tsv: $(call done,lenet5)
$(TAB)/resnet18-metrics.tsv: $(call done,resnet18)
$(TAB)/resnet18-table1-metrics.tsv: $(call done,$(T1)) $(T1_STAMP)
$(addprefix $(TAB)/,lenet5-metrics.tsv resnet18-metrics.tsv resnet18-table1-metrics.tsv):
	@mkdir -p $(@D)
	cut -f1-7,10 $(<D)/metrics.tsv > $(TMP) && mv $(TMP) $@

# ---- make table1-seeds: the Table 1 run for every seed of SEEDS ---------------
# (each seed its own run directory, so `make -j` trains them side by side)
table1-seeds: $(TAB)/table1-seeds.md
$(TAB)/table1-seeds.tsv: $(foreach s,$(SEEDS),$(call RT,$(s))/trained-$(EPOCHS_T1)) $(SEEDS_STAMP) \
                         pipeline/table1-seeds.sh
	@mkdir -p $(@D)
	pipeline/table1-seeds.sh $(foreach s,$(SEEDS),$(call RT,$(s))/metrics.tsv) > $(TMP) && mv $(TMP) $@
$(TAB)/table1-seeds.md: $(TAB)/table1-seeds.tsv pipeline/table1-seeds.sh pipeline/report-table1.tsv
	pipeline/table1-seeds.sh --md $< > $(TMP) && mv $(TMP) $@

# ---- make sweep: the Table 1 run over SEEDS x LRS x INITS --------------------------
# Each run its own directory, sweep/LR@INIT@SEED (INIT: the std of every conv weight,
# --init normal:INIT), the other settings the Table 1 run's; `make -jN sweep` trains N
# at once.  sweep.tsv: per learning rate, init and epoch, the runs' mean and sample
# standard deviation (pipeline/sweep.sh); fig-sweep.png: test accuracy, mean +- sd.
SW       = $(RUNS)/sweep/$(1)@$(2)@$(3)
# the parts of a sweep run's stem LR@INIT@SEED
sweep_lr   = $(word 1,$(subst @, ,$(1)))
sweep_init = $(word 2,$(subst @, ,$(1)))
sweep_seed = $(word 3,$(subst @, ,$(1)))
SW_RUNS := $(foreach l,$(LRS),$(foreach i,$(INITS),$(foreach s,$(SEEDS),$(call SW,$(l),$(i),$(s)))))
SW_STAMP := $(RUNS)/sweep.txt
.PHONY: sweep
sweep: $(TAB)/sweep.tsv $(FIG)/fig-sweep.png
$(RUNS)/sweep/%/trained-$(EPOCHS_T1): $(BIN)/train $(TRAIN_X) $(TRAIN_Y) $(TEST_X) $(TEST_Y)
	@mkdir -p $(@D)
	$(call train_resnet,$(@D),$(EPOCHS_T1),$(call sweep_lr,$*),$(call sweep_seed,$*),--init normal:$(call sweep_init,$*) $(if $(filter 1,$(FRESH_T1)),--fresh-optimizer))
	touch $@
$(SW_STAMP): FORCE
	@mkdir -p $(@D)
	@[ "$$(cat $@ 2>/dev/null)" = "$(strip $(LRS)) / $(strip $(INITS)) / $(strip $(SEEDS))" ] || \
	  echo "$(strip $(LRS)) / $(strip $(INITS)) / $(strip $(SEEDS))" > $@
$(TAB)/sweep.tsv: $(addsuffix /trained-$(EPOCHS_T1),$(SW_RUNS)) $(SW_STAMP) pipeline/sweep.sh \
                  pipeline/table1-seeds.sh
	@mkdir -p $(@D)
	pipeline/sweep.sh $(RUNS)/sweep "$(LRS)" "$(INITS)" "$(SEEDS)" > $(TMP) && mv $(TMP) $@
$(FIG)/fig-sweep.png: $(TAB)/sweep.tsv pipeline/plot-sweep.gp
	@mkdir -p $(@D)
	gnuplot -e "data='$<'; out='$(TMP)'; groups='$(foreach l,$(LRS),$(foreach i,$(INITS),$(l)/$(i)))'; name='ResNet-18, the Table 1 run (SGD$(if $(filter 1,$(FRESH_T1)),$(comma) momentum restarted each epoch)) over seeds $(strip $(SEEDS))$(if $(filter-out 0,$(LIMIT)), ($(LIMIT) images))'" pipeline/plot-sweep.gp
	mv $(TMP) $@
