# pipeline/paper.mk - the paper's figures and tables, plus AGOP and CNFA, from raw MNIST.
# (Included by the Makefile; hyperparameters in pipeline/config.mk.)
#
#   make all           the paper's settings            -> results/figures, results/tables
#   make paper-short   the same, ResNet-18 for 3 epochs -> results/figures, results/tables
#   make quick         a small subset, few epochs      -> results/quick/...
#   make all DATASET=fashion-mnist                     -> results/fashion-mnist/...
#
# Training runs live in runs/ (ignored by git); `train --resume` continues an
# interrupted run, so re-running make picks up where it stopped.

include pipeline/config.mk
.SECONDEXPANSION:
# keep intermediate files (per-epoch maps, NFMs, AGOPs) so reruns are incremental
.SECONDARY:

ifeq ($(PROFILE),quick)
  RES  := results/quick$(if $(filter-out mnist,$(DATASET)),/$(DATASET))
  RUNS := runs/quick-$(DATASET)
else
  RES  := results$(if $(filter-out mnist,$(DATASET)),/$(DATASET))
  RUNS := runs/$(DATASET)
endif
FIG  := $(RES)/figures
TAB  := $(RES)/tables
WORK := $(RUNS)/analysis
RL   := $(RUNS)/lenet5
RR   := $(RUNS)/resnet18

TRAIN_X := $(DATA_DIR)/train-images.npy
TRAIN_Y := $(DATA_DIR)/train-labels.npy
TEST_X  := $(DATA_DIR)/test-images.npy
TEST_Y  := $(DATA_DIR)/test-labels.npy

ep = $(shell printf '%03d' $(1))
EPOCHS_L := $(foreach e,$(shell seq 0 $(EPOCHS_LENET)),$(call ep,$(e)))
EPOCHS_R := $(foreach e,$(shell seq 0 $(EPOCHS_RESNET)),$(call ep,$(e)))
FEAT_E   := $(foreach e,$(FEATURE_EPOCHS),$(call ep,$(e)))
ifneq ($(words $(filter-out $(EPOCHS_R),$(FEAT_E))),0)
  $(error FEATURE_EPOCHS ($(FEATURE_EPOCHS)) go beyond EPOCHS_RESNET ($(EPOCHS_RESNET)))
endif

FIGURES := $(addprefix $(FIG)/,fig1-resnet18-curves.png fig2-lenet5-curves.png fig3-sample.png \
             fig4-lenet5-conv1-maps.png fig5-lenet5-conv2-maps.png fig6-resnet18-nfm.png \
             fig6b-resnet18-gram.png fig7-resnet18-agop.png fig8-cnfa-correlation.png)
TABLES  := $(addprefix $(TAB)/,table1.tsv table1.md cnfa.tsv)

.PHONY: all paper-short quick figures tables results
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
  --test-labels $(TEST_Y) --val-split $(VAL_SPLIT) --seed $(SEED) --threads $(THREADS) \
  --mean $(MEAN) --std $(STD) $(if $(filter-out 0,$(LIMIT)),--limit $(LIMIT)) \
  $(if $(filter-out 0,$(TEST_LIMIT)),--test-limit $(TEST_LIMIT)) --resume

$(RL)/trained-$(EPOCHS_LENET): $(BIN)/train $(TRAIN_X) $(TRAIN_Y) $(TEST_X) $(TEST_Y)
	@mkdir -p $(RUNS)
	$(BIN)/train --model lenet5 --out $(RL) --epochs $(EPOCHS_LENET) --batch $(BATCH_LENET) \
	  --optimizer $(OPT_LENET) --lr $(LR_LENET) --weight-decay $(WD_LENET) \
	  --init $(INIT_LENET) $(COMMON_TRAIN)
	touch $@

$(RR)/trained-$(EPOCHS_RESNET): $(BIN)/train $(TRAIN_X) $(TRAIN_Y) $(TEST_X) $(TEST_Y)
	@mkdir -p $(RUNS)
	$(BIN)/train --model resnet18 --out $(RR) --epochs $(EPOCHS_RESNET) --batch $(BATCH_RESNET) \
	  --optimizer $(OPT_RESNET) --lr $(LR_RESNET) --momentum $(MOM_RESNET) \
	  --weight-decay $(WD_RESNET) --init $(INIT_RESNET) $(COMMON_TRAIN)
	touch $@

# Checkpoints and metrics come with the run.
$(addprefix $(RL)/epoch-,$(addsuffix .npz,$(EPOCHS_L))) $(RL)/metrics.tsv: $(RL)/trained-$(EPOCHS_LENET) ;
$(addprefix $(RR)/epoch-,$(addsuffix .npz,$(EPOCHS_R))) $(RR)/metrics.tsv: $(RR)/trained-$(EPOCHS_RESNET) ;

# ---- Figures 1-2: learning curves (gnuplot) -------------------------------
$(FIG)/fig1-resnet18-curves.png: $(RR)/metrics.tsv pipeline/plot-curves.gp
	@mkdir -p $(@D)
	gnuplot -e "metrics='$<'; out='$(TMP)'; name='ResNet-18, SGD lr $(LR_RESNET), $(EPOCHS_RESNET) epochs$(if $(filter-out 0,$(LIMIT)), ($(LIMIT) images))'" pipeline/plot-curves.gp
	mv $(TMP) $@

$(FIG)/fig2-lenet5-curves.png: $(RL)/metrics.tsv pipeline/plot-curves.gp
	@mkdir -p $(@D)
	gnuplot -e "metrics='$<'; out='$(TMP)'; name='LeNet-5, Adam lr $(LR_LENET), $(EPOCHS_LENET) epochs$(if $(filter-out 0,$(LIMIT)), ($(LIMIT) images))'" pipeline/plot-curves.gp
	mv $(TMP) $@

# ---- Figures 3-5: the sample image and LeNet-5's maps for it, epoch by epoch ----
# Intermediate files are named by stems MODEL@LAYER@EPOCH (e.g. resnet18@conv1@003).
at     = $(word $(2),$(subst @, ,$(1)))
ckpt   = $(RUNS)/$(call at,$(1),1)/epoch-$(call at,$(1),3).npz
acount = $(if $(filter lenet5,$(call at,$(1),1)),$(AGOP_COUNT_LENET),$(AGOP_COUNT_RESNET))

$(FIG)/fig3-sample.png: $(RL)/epoch-000.npz $(TEST_X) $(BIN)/snapshot $(BIN)/heatmap
	@mkdir -p $(@D)
	$(BIN)/snapshot --ckpt $< --images $(TEST_X) --index $(SAMPLE_INDEX) --layer input \
	  | $(BIN)/heatmap --cmap grey -o $@

$(WORK)/maps/%.npy: $$(call ckpt,$$*) $(TEST_X) $(BIN)/snapshot
	@mkdir -p $(@D)
	$(BIN)/snapshot --ckpt $< --images $(TEST_X) --index $(SAMPLE_INDEX) \
	  --layer $(call at,$*,2) -o $@

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
$(WORK)/nfm/%.npy: $$(call ckpt,$$*) $(BIN)/snapshot $(BIN)/featmat
	@mkdir -p $(@D)
	$(BIN)/snapshot --ckpt $< --tensor $(call at,$*,2).weight | $(BIN)/featmat -o $@

$(WORK)/gram/%.npy: $$(call ckpt,$$*) $(BIN)/snapshot $(BIN)/featmat
	@mkdir -p $(@D)
	$(BIN)/snapshot --ckpt $< --tensor $(call at,$*,2).weight | $(BIN)/featmat --gram -o $@

$(WORK)/agop/%.npy: $$(call ckpt,$$*) $(TRAIN_X) $(BIN)/agop
	@mkdir -p $(@D)
	$(BIN)/agop --ckpt $< --images $(TRAIN_X) --layer $(call at,$*,2) --count $(call acount,$*) \
	  --batch $(AGOP_BATCH) --threads $(THREADS) --mean $(MEAN) --std $(STD) --quiet -o $@

# one row: model layer epoch corr(NFM, AGOP) corr(NFM, NFM at epoch 0)
nfm0 = $(WORK)/nfm/$(call at,$(1),1)@$(call at,$(1),2)@000.npy
$(WORK)/cnfa/%.tsv: $(WORK)/nfm/%.npy $(WORK)/agop/%.npy $$(call nfm0,$$*) $(BIN)/corr
	@mkdir -p $(@D)
	printf '%s\t%s\t%d\t%s\t%s\n' $(call at,$*,1) $(call at,$*,2) $$((10#$(call at,$*,3))) \
	  "$$($(BIN)/corr $(WORK)/nfm/$*.npy $(WORK)/agop/$*.npy)" \
	  "$$($(BIN)/corr $(call nfm0,$*) $(WORK)/nfm/$*.npy)" > $(TMP) && mv $(TMP) $@

CNFA_ROWS := $(foreach l,$(CNFA_LAYERS_LENET),$(foreach e,$(EPOCHS_L),$(WORK)/cnfa/lenet5@$(l)@$(e).tsv)) \
             $(foreach l,$(CNFA_LAYERS_RESNET),$(foreach e,$(EPOCHS_R),$(WORK)/cnfa/resnet18@$(l)@$(e).tsv))

$(TAB)/cnfa.tsv: $(CNFA_ROWS)
	@mkdir -p $(@D)
	{ printf 'model\tlayer\tepoch\tcorr_nfm_agop\tcorr_nfm_init\n'; cat $^; } > $(TMP) && mv $(TMP) $@

# ---- Figures 6-8 (gnuplot) -------------------------------------------------
# KIND@MODEL@LAYER@EPOCH.txt: a matrix as text for gnuplot
$(WORK)/txt/%.txt: $$(WORK)/$$(call at,$$*,1)/$$(subst $$(call at,$$*,1)@,,$$*).npy $(BIN)/npy2txt
	@mkdir -p $(@D)
	$(BIN)/npy2txt $< > $(TMP) && mv $(TMP) $@

MATS = $(foreach e,$(FEAT_E),$(WORK)/txt/$(1)@resnet18@conv1@$(e).txt)
FEAT_TITLES = $(foreach e,$(FEATURE_EPOCHS),epoch_$(e))

$(FIG)/fig6-resnet18-nfm.png: $(call MATS,nfm) pipeline/plot-matrices.gp
	@mkdir -p $(@D)
	gnuplot -e "files='$(call MATS,nfm)'; titles='$(FEAT_TITLES)'; rows=1; rowscale=0; out='$(TMP)'; name='ResNet-18 conv1: neural feature matrix W^T W (9x9), one grey scale'" pipeline/plot-matrices.gp
	mv $(TMP) $@

$(FIG)/fig6b-resnet18-gram.png: $(call MATS,gram) pipeline/plot-matrices.gp
	@mkdir -p $(@D)
	gnuplot -e "files='$(call MATS,gram)'; titles='$(FEAT_TITLES)'; rows=1; rowscale=0; out='$(TMP)'; name='ResNet-18 conv1: W W^T (64x64), as the notebook drew it, one grey scale'" pipeline/plot-matrices.gp
	mv $(TMP) $@

$(FIG)/fig7-resnet18-agop.png: $(call MATS,nfm) $(call MATS,agop) pipeline/plot-matrices.gp
	@mkdir -p $(@D)
	gnuplot -e "files='$(call MATS,nfm) $(call MATS,agop)'; titles='$(addprefix NFM_,$(FEAT_TITLES)) $(addprefix AGOP_,$(FEAT_TITLES))'; rows=2; rowscale=2; out='$(TMP)'; name='ResNet-18 conv1: NFM W^T W (top) and patch AGOP over $(AGOP_COUNT_RESNET) images (bottom), each panel its own grey scale'" pipeline/plot-matrices.gp
	mv $(TMP) $@

$(FIG)/fig8-cnfa-correlation.png: $(TAB)/cnfa.tsv pipeline/plot-cnfa.gp
	@mkdir -p $(@D)
	gnuplot -e "data='$<'; out='$(TMP)'; lenet='$(CNFA_LAYERS_LENET)'; resnet='$(CNFA_LAYERS_RESNET)'" pipeline/plot-cnfa.gp
	mv $(TMP) $@

# ---- Table 1: ResNet-18, epochs 1-3 ----------------------------------------
$(TAB)/table1.tsv: $(RR)/metrics.tsv
	@mkdir -p $(@D)
	awk -F'\t' 'BEGIN { OFS = "\t"; print "epoch", "train_acc", "val_acc", "test_acc" } \
	  NR > 1 && $$1 >= 1 && $$1 <= 3 { print $$1, $$3, $$5, $$7 }' $< > $(TMP) && mv $(TMP) $@

$(TAB)/table1.md: $(TAB)/table1.tsv pipeline/table1-md.sh
	pipeline/table1-md.sh $< > $(TMP) && mv $(TMP) $@
