# pipeline/paper.mk - the paper's figures and tables, plus AGOP and CNFA, from raw MNIST.
# (Included by the Makefile, after pipeline/config.mk (the hyperparameters) and
# pipeline/data.mk (DATASET and the data files).)
#
#   make all           the paper's settings            -> results/figures, results/tables
#   make paper-short   the same, ResNet-18 for 3 epochs -> results/paper-short/..., runs/paper-short-mnist
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
#
# Layout: each training run is one line, $(eval $(call run_rules,...)) under "the
# runs", which makes its training, checkpoint and AGOP rules, its CNFA rows and its
# metrics table; a third model's run is one more such line.  The figures' and
# tables' rules are written out one by one, as make -n prints them.  Analysis files
# are named by stems MODEL@LAYER@EPOCH, read with stem_model, stem_layer, stem_epoch.

.SECONDEXPANSION:

ifeq ($(filter fp32 bf16,$(PRECISION)),)
  $(error PRECISION must be fp32 or bf16, not '$(PRECISION)')
endif
PREC_DIR := $(if $(filter bf16,$(PRECISION)),/bf16)
ifneq ($(filter quick paper-short,$(PROFILE)),)
  RES  := results/$(PROFILE)$(if $(filter-out mnist,$(DATASET)),/$(DATASET))$(PREC_DIR)
  RUNS := runs/$(PROFILE)-$(DATASET)$(if $(PREC_DIR),-bf16)
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
# The Table 1 run: a directory per seed, named by its learning rate and optimiser
# reset so that other settings never reuse it (make table1-seeds adds the other
# seeds). T1, its name for SEED, is the model field of the analysis stems and of
# cnfa.tsv.
T1_TAG = resnet18-table1-lr$(LR_T1)-$(if $(filter 1,$(FRESH_T1)),fresh,kept)
RT     = $(RUNS)/$(T1_TAG)-seed$(1)
T1     = $(T1_TAG)-seed$(SEED)
# Which Table 1 run (and which SEEDS) the figures and tables use, as files that
# change only when the choice does, so that choosing another rebuilds them.
T1_STAMP    := $(RUNS)/table1-run.txt
SEEDS_STAMP := $(RUNS)/table1-seeds.txt

TRAIN_X := $(DATA_DIR)/train-images.npy
TRAIN_Y := $(DATA_DIR)/train-labels.npy
TEST_X  := $(DATA_DIR)/test-images.npy
TEST_Y  := $(DATA_DIR)/test-labels.npy

# Epochs as the checkpoints name them: $(call epochs,N) is 000 001 ... N
epochs = $(shell seq -f '%03g' 0 $(1))
ep = $(shell printf '%03d' $(1))
FEAT_E   := $(foreach e,$(FEATURE_EPOCHS),$(call ep,$(e)))
ifneq ($(words $(filter-out $(call epochs,$(EPOCHS_T1)),$(FEAT_E))),0)
  $(error FEATURE_EPOCHS ($(FEATURE_EPOCHS)) go beyond EPOCHS_T1 ($(EPOCHS_T1)))
endif

FIGURES := $(addprefix $(FIG)/,fig1-resnet18-curves.png fig2-lenet5-curves.png fig3-sample.png \
             fig4-lenet5-conv1-maps.png fig5-lenet5-conv2-maps.png fig6-resnet18-nfm.png \
             fig6b-resnet18-gram.png fig7-resnet18-agop.png fig8-cnfa-correlation.png \
             fig9-cnfa-map.png)
# then each run's metrics table, RUN_TABLES (run_rules, below)
TABLES  := $(addprefix $(TAB)/,table1.tsv table1.md cnfa.tsv cnfa-sample-size.tsv)

.PHONY: all paper-short quick figures tables results table1-seeds estimate compare FORCE
all:
	@$(MAKE) --no-print-directory results
paper-short:
	@$(MAKE) --no-print-directory results PROFILE=paper-short
quick:
	@$(MAKE) --no-print-directory results PROFILE=quick
results: figures tables
figures: estimate $(FIGURES)
# ($$: RUN_TABLES is complete once the runs below have been read)
tables: estimate $(TABLES) $$(RUN_TABLES)
# Before the work starts: how much training and AGOP is left and about how long it
# takes (pipeline/estimate.sh; EST_* in config.mk).  It comes first because make
# takes prerequisites in order (without -j); once per make.
# make compare: the results directory of these settings against git's (pipeline/compare.sh)
compare:
	pipeline/compare.sh $(RES)
estimate:
	@EST_MACHINE='$(EST_MACHINE)' pipeline/estimate.sh "make $(if $(PROFILE),$(PROFILE),all) -> $(RES)" \
	  $(if $(filter-out 0,$(LIMIT)),$$(awk 'BEGIN { print $(LIMIT) / 60000 }'),1) \
	  $(EST_RESNET_EPOCH_S) $$(awk 'BEGIN { print $(EST_AGOP_EPOCH_S) * $(AGOP_COUNT_RESNET) / 500 }') \
	  $(lenet5_dir):$(EPOCHS_LENET):lenet $(resnet18_dir):$(EPOCHS_RESNET):resnet $(T1_dir):$(EPOCHS_T1):resnet

# Every output is written under a temporary name and renamed when complete.
TMP = $@.tmp

# ---- the runs: training, checkpoints, AGOPs, CNFA rows, metrics tables -----
COMMON_TRAIN = --images $(TRAIN_X) --labels $(TRAIN_Y) --test-images $(TEST_X) \
  --test-labels $(TEST_Y) --val-split $(VAL_SPLIT) --threads $(THREADS) \
  --mean $(MEAN) --std $(STD) $(if $(filter-out 0,$(LIMIT)),--limit $(LIMIT)) \
  $(if $(filter-out 0,$(TEST_LIMIT)),--test-limit $(TEST_LIMIT)) --resume
# Each model's training options, after --model, --out and --epochs.
LENET5_OPTS = --batch $(BATCH_LENET) --optimizer $(OPT_LENET) --lr $(LR_LENET) --weight-decay $(WD_LENET) \
  --init $(INIT_LENET) --seed $(SEED) $(COMMON_TRAIN)
# $(call resnet18_opts,LR,SEED,EXTRA OPTIONS[,BATCH: BATCH_RESNET])
resnet18_opts = --batch $(if $(4),$(4),$(BATCH_RESNET)) --optimizer $(OPT_RESNET) --lr $(1) --momentum $(MOM_RESNET) \
  --weight-decay $(WD_RESNET) --init $(INIT_RESNET) --seed $(2) $(COMMON_TRAIN) $(3) \
  $(if $(filter bf16,$(PRECISION)),--precision bf16)
# the Table 1 run's for seed $(1): lr LR_T1, a fresh optimiser each epoch when FRESH_T1 is 1
t1_opts = $(call resnet18_opts,$(LR_T1),$(1),$(if $(filter 1,$(FRESH_T1)),--fresh-optimizer),$(BATCH_T1))

# $(call train_rule,DIR,MODEL,EPOCHS,OPTIONS): DIR/trained-EPOCHS, the marker of a
# finished training; until it exists, each make continues the run (--resume).
# (A DIR with a % makes a pattern rule.)
define train_rule
$(1)/trained-$(3): $(BIN)/train $(TRAIN_X) $(TRAIN_Y) $(TEST_X) $(TEST_Y)
	@mkdir -p $$(RUNS)
	$$(RUN_TRAIN) $$(BIN)/train --model $(2) --out $$(@D) --epochs $(3) $(4)
	touch $$@
endef

# A run's AGOPs of one epoch, every layer of its list, come from one agop call:
# the layers share its backward passes (agop(1)), so ResNet-18's 20 convs cost
# about what conv1 alone does.  The same recipe writes the epoch's CNFA rows, a
# file per layer, cnfa/RUN@LAYER@EPOCH.tsv: model layer epoch corr(NFM, AGOP)
# corr(NFM, NFM at epoch 0) (the epoch's NFM goes through a pipe into corr, which
# reads it once for both numbers; a failing corr fails the recipe).  Then it
# removes the AGOPs but conv1's, which Figure 7 draws, and AGOP_KEEP's: a run's 20
# ResNet-18 AGOPs take 0.4 GB per epoch.  One recipe makes the rows and the kept
# AGOPs together (a pattern rule with several targets), so no file that a later
# make compares is missing or rewritten behind the back of what was made from
# it: a second make, or make -n, after a finished one has nothing to do.
# $(call agop_rule,RUN,LAYERS,IMAGES) makes that pattern rule (stem: the epoch).
cnfa_out  = $(foreach l,$(2),$(WORK)/cnfa/$(1)@$(l)@$(3).tsv)
agop_kept = $(foreach l,$(filter conv1 $(AGOP_KEEP),$(2)),$(WORK)/agop/$(1)@$(l)@$(3).npy)
define agop_rule
$(call cnfa_out,$(1),$(2),%) $(call agop_kept,$(1),$(2),%): $(RUNS)/$(1)/epoch-%.npz $(TRAIN_X) \
    $(foreach l,$(2),$(WORK)/nfm/$(1)@$(l)@000.npy) $(BIN)/agop $(BIN)/snapshot $(BIN)/featmat $(BIN)/corr
	@mkdir -p $(WORK)/agop $(WORK)/cnfa
	$$(RUN) $$(BIN)/agop --ckpt $$< --images $$(TRAIN_X) --count $(3) --batch $$(AGOP_BATCH) \
	  --threads $$(THREADS) --mean $$(MEAN) --std $$(STD) --quiet \
	  $(foreach l,$(2),--layer $(l) -o $(WORK)/agop/$(1)@$(l)@$$*.npy)
	for l in $(2); do \
	  c=$$$$($$(BIN)/snapshot --ckpt $$< --tensor $$$$l.weight | $$(BIN)/featmat \
	    | $$(BIN)/corr - $(WORK)/agop/$(1)@$$$$l@$$*.npy $(WORK)/nfm/$(1)@$$$$l@000.npy) || exit 1; \
	  printf '%s\t%s\t%d\t%s\n' $(1) $$$$l $$$$((10#$$*)) "$$$$c" > $(WORK)/cnfa/$(1)@$$$$l@$$*.tsv.tmp && \
	  mv $(WORK)/cnfa/$(1)@$$$$l@$$*.tsv.tmp $(WORK)/cnfa/$(1)@$$$$l@$$*.tsv || exit 1; \
	done
	$(if $(filter-out conv1 $(AGOP_KEEP),$(2)),rm -f $(foreach l,$(filter-out conv1 $(AGOP_KEEP),$(2)),$(WORK)/agop/$(1)@$(l)@$$*.npy))
endef

# $(call run_rules,ID,NAME,MODEL,EPOCHS,TRAIN OPTIONS,CNFA LAYERS,AGOP COUNT,METRICS TABLE[,ITS OTHER PREREQUISITES])
# One run, $(RUNS)/NAME, and all that is made from it alone:
#   ID_dir, ID_done   its directory and its marker trained-EPOCHS (train_rule):
#                     bin/train --model MODEL --out ID_dir --epochs EPOCHS TRAIN OPTIONS
#   ID_epochs         000 ... EPOCHS; its checkpoints epoch-NNN.npz come with the
#                     training.  (What reads a run's metrics.tsv depends on its
#                     trained-N marker instead: metrics.tsv is rewritten after every
#                     epoch, so an interrupted run's would look up to date.)
#   its AGOPs         of each of CNFA LAYERS over AGOP COUNT images (agop_rule)
#   CNFA_ROWS         += its rows of cnfa.tsv, one per layer of CNFA LAYERS and epoch
#   RUN_TABLES        += $(TAB)/METRICS TABLE: its metrics.tsv without the timing
#                     columns (seconds, images_per_s), which vary from machine to
#                     machine; it also depends on ITS OTHER PREREQUISITES
# NAME is the model field of the analysis stems (NAME@LAYER@EPOCH) and of cnfa.tsv.
CNFA_ROWS  :=
RUN_TABLES :=
define run_rules
$(1)_dir    := $(RUNS)/$(2)
$(1)_done   := $(RUNS)/$(2)/trained-$(4)
$(1)_epochs := $(call epochs,$(4))
$(call train_rule,$(RUNS)/$(2),$(3),$(4),$(5))
$(foreach e,$(call epochs,$(4)),$(RUNS)/$(2)/epoch-$(e).npz): | $(RUNS)/$(2)/trained-$(4) ;
$(call agop_rule,$(2),$(6),$(7))
CNFA_ROWS  += $(foreach l,$(6),$(foreach e,$(call epochs,$(4)),$(WORK)/cnfa/$(2)@$(l)@$(e).tsv))
RUN_TABLES += $(TAB)/$(8)
$(TAB)/$(8): $(RUNS)/$(2)/trained-$(4) $(9)
	@mkdir -p $$(@D)
	cut -f1-7,10 $$(<D)/metrics.tsv > $$(TMP) && mv $$(TMP) $$@
endef

# LeNet-5 (Figures 2-5, 8)
$(eval $(call run_rules,lenet5,lenet5,lenet5,$(EPOCHS_LENET),$(LENET5_OPTS),$(CNFA_LAYERS_LENET),$(AGOP_COUNT_LENET),lenet5-metrics.tsv))
# ResNet-18, Figure 1's run: the config's learning rate, EPOCHS_RESNET epochs
$(eval $(call run_rules,resnet18,resnet18,resnet18,$(EPOCHS_RESNET),$(call resnet18_opts,$(LR_RESNET),$(SEED)),$(CNFA_LAYERS_RESNET),$(AGOP_COUNT_RESNET),resnet18-metrics.tsv))
# The Table 1 run (Table 1, Figures 6-8) for SEED: lr LR_T1, EPOCHS_T1 epochs
$(eval $(call run_rules,T1,$(T1),resnet18,$(EPOCHS_T1),$(call t1_opts,$(SEED)),$(CNFA_LAYERS_RESNET),$(AGOP_COUNT_RESNET),resnet18-table1-metrics.tsv,$(T1_STAMP)))
# and for any seed (make table1-seeds): its training alone, a pattern rule (stem: the seed)
$(eval $(call train_rule,$(call RT,%),resnet18,$(EPOCHS_T1),$$(call t1_opts,$$*)))

# $(call stamp_rule,FILE,TEXT): FILE holds TEXT, and changes (is rewritten) only when
# TEXT does.  The check is made when make reads this file, not by a FORCE'd recipe,
# so `make -n` does not take the stamp, and all that depends on it, as remade.
define stamp_rule
ifneq ($(wildcard $(1)),)
ifneq ($$(strip $$(file < $(1))),$(strip $(2)))
$$(file > $(1),$(strip $(2)))
endif
endif
$(1):
	@mkdir -p $$(@D)
	echo "$(strip $(2))" > $$@
endef
$(eval $(call stamp_rule,$(T1_STAMP),$(T1)))
$(eval $(call stamp_rule,$(SEEDS_STAMP),$(SEEDS) $(T1_TAG)))

# ---- Figures 1-2: learning curves (gnuplot) -------------------------------
$(FIG)/fig1-resnet18-curves.png: $(resnet18_done) pipeline/plot-curves.gp
	@mkdir -p $(@D)
	gnuplot -e "metrics='$(<D)/metrics.tsv'; out='$(TMP)'; name='ResNet-18, SGD (as the report''s code; its text says Adam), lr $(LR_RESNET), $(EPOCHS_RESNET) epochs$(if $(filter-out 0,$(LIMIT)), ($(LIMIT) images))'" pipeline/plot-curves.gp
	mv $(TMP) $@

$(FIG)/fig2-lenet5-curves.png: $(lenet5_done) pipeline/plot-curves.gp
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

$(FIG)/fig3-sample.png: $(lenet5_dir)/epoch-000.npz $(TEST_X) $(BIN)/snapshot $(BIN)/heatmap
	@mkdir -p $(@D)
	$(BIN)/snapshot --ckpt $< --images $(TEST_X) --index $(SAMPLE_INDEX) --layer input \
	  | $(BIN)/heatmap --cmap grey -o $@

$(WORK)/maps/%.npy: $$(call stem_ckpt,$$*) $(TEST_X) $(BIN)/snapshot
	@mkdir -p $(@D)
	$(RUN) $(BIN)/snapshot --ckpt $< --images $(TEST_X) --index $(SAMPLE_INDEX) \
	  --layer $(call stem_layer,$*) -o $@

$(WORK)/maps/%-stack.npy: $$(foreach e,$$(lenet5_epochs),$$(WORK)/maps/lenet5@$$*@$$(e).npy) $(BIN)/stack
	$(BIN)/stack -o $@ $(filter %.npy,$^)

# gnuplot (pipeline/plot-maps.gp) from the stack as text (txt_rule, below): one row per
# epoch 0..N (top to bottom), one column per filter, labelled, ONE grey scale for the
# whole figure (each tile its own scale hid how the maps' amplitudes change)
MAP_TITLE = LeNet-5 $(1) for test image $(SAMPLE_INDEX) after each epoch$(if $(filter-out 0,$(LIMIT)), ($(LIMIT) training images)), one grey scale for all tiles
$(FIG)/fig4-lenet5-conv1-maps.png: $(WORK)/txt/maps@conv1-stack.txt pipeline/plot-maps.gp
	@mkdir -p $(@D)
	gnuplot -e "file='$<'; filters=6; epochs='$(shell seq 0 $(EPOCHS_LENET))'; out='$(TMP)'; name='$(call MAP_TITLE,relu(conv1))'" pipeline/plot-maps.gp
	mv $(TMP) $@
$(FIG)/fig5-lenet5-conv2-maps.png: $(WORK)/txt/maps@conv2-stack.txt pipeline/plot-maps.gp
	@mkdir -p $(@D)
	gnuplot -e "file='$<'; filters=16; epochs='$(shell seq 0 $(EPOCHS_LENET))'; out='$(TMP)'; name='$(call MAP_TITLE,relu(conv2))'" pipeline/plot-maps.gp
	mv $(TMP) $@

# ---- NFM, AGOP and their correlation per model, layer and epoch -----------
# (the AGOPs: agop_rule, made for each run by run_rules above)
$(WORK)/nfm/%.npy: $$(call stem_ckpt,$$*) $(BIN)/snapshot $(BIN)/featmat
	@mkdir -p $(@D)
	$(BIN)/snapshot --ckpt $< --tensor $(call stem_layer,$*).weight | $(BIN)/featmat -o $(TMP)
	mv $(TMP) $@

$(WORK)/gram/%.npy: $$(call stem_ckpt,$$*) $(BIN)/snapshot $(BIN)/featmat
	@mkdir -p $(@D)
	$(BIN)/snapshot --ckpt $< --tensor $(call stem_layer,$*).weight | $(BIN)/featmat --gram -o $(TMP)
	mv $(TMP) $@

# CNFA_ROWS: every run's rows (run_rules), in the runs' order: LeNet-5, then
# ResNet-18's two runs, "resnet18" (lr LR_RESNET) and the Table 1 run $(T1)
$(TAB)/cnfa.tsv: $(CNFA_ROWS) $(T1_STAMP)
	@mkdir -p $(@D)
	{ printf 'model\tlayer\tepoch\tcorr_nfm_agop\tcorr_nfm_init\n'; cat $(CNFA_ROWS); } > $(TMP) && mv $(TMP) $@

# ---- Figures 6-8 (gnuplot) -------------------------------------------------
# txt/KIND@MODEL@LAYER@EPOCH.txt: the matrix KIND/MODEL@LAYER@EPOCH.npy (KIND: nfm,
# gram or agop) as text for gnuplot; a pattern rule per KIND, so that its stem is
# the analysis stem and names the .npy as it stands (and txt/maps@LAYER-stack.txt:
# Figures 4-5's stacks of maps, a matrix per epoch and filter)
define txt_rule
$(WORK)/txt/$(1)@%.txt: $(WORK)/$(1)/%.npy $(BIN)/npy2txt
	@mkdir -p $$(@D)
	$(BIN)/npy2txt $$< > $$(TMP) && mv $$(TMP) $$@
.PRECIOUS: $(WORK)/txt/$(1)@%.txt
endef
$(foreach k,nfm gram agop maps,$(eval $(call txt_rule,$(k))))

# Figures 6, 6b and 7: conv1 of the Table 1 run (lr LR_T1), as in the report
MATS = $(foreach e,$(FEAT_E),$(WORK)/txt/$(1)@$(T1)@conv1@$(e).txt)
FEAT_TITLES = $(foreach e,$(FEATURE_EPOCHS),epoch_$(e))
T1_NAME = ResNet-18 conv1, the Table 1 run (SGD lr $(LR_T1)$(if $(filter 1,$(FRESH_T1)),$(comma) momentum restarted each epoch)$(comma) seed $(SEED))
comma := ,
space := $(subst ,, )

$(FIG)/fig6-resnet18-nfm.png: $(call MATS,nfm) pipeline/plot-matrices.gp $(T1_STAMP)
	@mkdir -p $(@D)
	gnuplot -e "files='$(call MATS,nfm)'; titles='$(FEAT_TITLES)'; rows=1; rowscale=0; kernel=3; out='$(TMP)'; name='$(T1_NAME): neural feature matrix W^T W (9x9), one grey scale'" pipeline/plot-matrices.gp
	mv $(TMP) $@

$(FIG)/fig6b-resnet18-gram.png: $(call MATS,gram) pipeline/plot-matrices.gp $(T1_STAMP)
	@mkdir -p $(@D)
	gnuplot -e "files='$(call MATS,gram)'; titles='$(FEAT_TITLES)'; rows=1; rowscale=0; out='$(TMP)'; name='$(T1_NAME): W W^T (64x64), as the notebook drew it, one grey scale'" pipeline/plot-matrices.gp
	mv $(TMP) $@

$(FIG)/fig7-resnet18-agop.png: $(call MATS,nfm) $(call MATS,agop) pipeline/plot-matrices.gp $(T1_STAMP)
	@mkdir -p $(@D)
	gnuplot -e "files='$(call MATS,nfm) $(call MATS,agop)'; titles='$(addprefix NFM_,$(FEAT_TITLES)) $(addprefix AGOP_,$(FEAT_TITLES))'; rows=2; rowscale=2; kernel=3; out='$(TMP)'; name='$(T1_NAME): NFM W^T W (top) and patch AGOP over $(AGOP_COUNT_RESNET) images (bottom), each panel its own grey scale'" pipeline/plot-matrices.gp
	mv $(TMP) $@

$(FIG)/fig8-cnfa-correlation.png: $(TAB)/cnfa.tsv pipeline/plot-cnfa.gp
	@mkdir -p $(@D)
	gnuplot -e "data='$<'; out='$(TMP)'; lenet='$(CNFA_LAYERS_LENET)'; resnet='$(CNFA_PLOT_RESNET)'; lr_resnet='$(LR_RESNET)'; t1='$(T1)'" pipeline/plot-cnfa.gp
	mv $(TMP) $@

# Figure 9: every ResNet-18 conv (rows, network order) x epoch (columns), both runs
$(FIG)/fig9-cnfa-map.png: $(TAB)/cnfa.tsv pipeline/plot-cnfa-map.gp
	@mkdir -p $(@D)
	gnuplot -e "data='$<'; out='$(TMP)'; layers='$(CNFA_LAYERS_RESNET)'; run1='resnet18'; run2='$(T1)'; name1='Figure 1 run (SGD lr $(LR_RESNET))'; name2='Table 1 run (lr $(LR_T1))'; count='$(AGOP_COUNT_RESNET)'" pipeline/plot-cnfa-map.gp
	mv $(TMP) $@

# ---- The AGOP's sample size: corr(NFM, AGOP) over n images, resampled ------
# agop --sizes per epoch of AGOP_SS_EPOCHS (last: the run's last), then one table
# with the run and epoch in front of agop's columns
ss_epochs = $(foreach e,$(patsubst last,$(EPOCHS_RESNET),$(AGOP_SS_EPOCHS)),$(shell printf %03d $(e)))
SS_PARTS := $(foreach e,$(call ss_epochs),$(WORK)/sizes/resnet18@$(e).tsv)
$(WORK)/sizes/resnet18@%.tsv: $(resnet18_dir)/epoch-%.npz $(TRAIN_X) $(BIN)/agop
	@mkdir -p $(@D)
	$(RUN) $(BIN)/agop --ckpt $< --images $(TRAIN_X) --count $(AGOP_SS_POOL) --batch $(AGOP_SS_BATCH) \
	  --threads $(THREADS) --mean $(MEAN) --std $(STD) --quiet $(addprefix --layer ,$(CNFA_PLOT_RESNET)) \
	  --sizes $(subst $(space),$(comma),$(strip $(AGOP_SS_SIZES))) --resamples $(AGOP_SS_RESAMPLES) \
	  --seed $(SEED) -o $@
$(TAB)/cnfa-sample-size.tsv: $(SS_PARTS)
	@mkdir -p $(@D)
	awk -F'\t' -v OFS='\t' 'FNR == 1 { split(FILENAME, p, "@"); e = p[2] + 0; if (NR == 1) print "model", "epoch", $$0; next } \
	  { print "resnet18", e, $$0 }' $^ > $(TMP) && mv $(TMP) $@

# ---- Table 1: the Table 1 run, epochs 0-EPOCHS_T1 --------------------------
# train_acc is train_acc_batchmean (column 10): the mean of the per-batch
# accuracies, what the report's progress bar printed.
$(TAB)/table1.tsv: $(T1_done) $(T1_STAMP)
	@mkdir -p $(@D)
	awk -F'\t' 'BEGIN { OFS = "\t"; print "epoch", "train_acc", "val_acc", "test_acc" } \
	  NR > 1 { print $$1, $$10, $$5, $$7 }' $(<D)/metrics.tsv > $(TMP) && mv $(TMP) $@

$(TAB)/table1.md: $(TAB)/table1.tsv pipeline/table1-md.sh pipeline/report-table1.tsv
	pipeline/table1-md.sh $< > $(TMP) && mv $(TMP) $@

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
	$(RUN_TRAIN) $(BIN)/train --model resnet18 --out $(@D) --epochs $(EPOCHS_T1) $(call resnet18_opts,$(call sweep_lr,$*),$(call sweep_seed,$*),--init normal:$(call sweep_init,$*) $(if $(filter 1,$(FRESH_T1)),--fresh-optimizer),$(BATCH_T1))
	touch $@
$(eval $(call stamp_rule,$(SW_STAMP),$(strip $(LRS)) / $(strip $(INITS)) / $(strip $(SEEDS))))
$(TAB)/sweep.tsv: $(addsuffix /trained-$(EPOCHS_T1),$(SW_RUNS)) $(SW_STAMP) pipeline/sweep.sh \
                  pipeline/table1-seeds.sh
	@mkdir -p $(@D)
	pipeline/sweep.sh $(RUNS)/sweep "$(LRS)" "$(INITS)" "$(SEEDS)" > $(TMP) && mv $(TMP) $@
$(FIG)/fig-sweep.png: $(TAB)/sweep.tsv pipeline/plot-sweep.gp
	@mkdir -p $(@D)
	gnuplot -e "data='$<'; out='$(TMP)'; groups='$(foreach l,$(LRS),$(foreach i,$(INITS),$(l)/$(i)))'; name='ResNet-18, the Table 1 run (SGD$(if $(filter 1,$(FRESH_T1)),$(comma) momentum restarted each epoch)) over seeds $(strip $(SEEDS))$(if $(filter-out 0,$(LIMIT)), ($(LIMIT) images))'" pipeline/plot-sweep.gp
	mv $(TMP) $@
