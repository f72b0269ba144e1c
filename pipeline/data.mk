# pipeline/data.mk - `make data`: raw IDX files -> data/DATASET/*.npy  (included by the Makefile)
#
#   make data                         MNIST into data/mnist/
#   make data MNIST_DIR=/some/dir     take the raw files (plain or .gz) from there first
#   make data DATASET=fashion-mnist   Fashion-MNIST into data/fashion-mnist/
#
# pipeline/fetch-mnist.sh gets the four raw files into data/raw/DATASET/ and checks
# their SHA-256 (data/SHA256SUMS, data/SHA256SUMS.fashion-mnist) before anything
# uses them; bin/idx2bin converts each to .npy (uint8: images [N,28,28], labels [N]).

DATASET ?= mnist
ifeq ($(filter $(DATASET),mnist fashion-mnist),)
  $(error DATASET must be mnist or fashion-mnist, not '$(DATASET)')
endif

DATA_RAW_DIR := data/raw/$(DATASET)
DATA_DIR     := data/$(DATASET)
DATA_SUMS    := $(if $(filter mnist,$(DATASET)),data/SHA256SUMS,data/SHA256SUMS.$(DATASET))
DATA_RAW     := $(addprefix $(DATA_RAW_DIR)/,train-images-idx3-ubyte train-labels-idx1-ubyte \
                                             t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
DATA_NPY     := $(addprefix $(DATA_DIR)/,train-images.npy train-labels.npy \
                                         test-images.npy test-labels.npy)

data: $(DATA_NPY)

# One run of the script fetches and verifies all four (it keeps files that verify).
$(DATA_RAW) &: $(DATA_SUMS) | pipeline/fetch-mnist.sh
	MNIST_DIR='$(MNIST_DIR)' FASHION_MNIST_DIR='$(FASHION_MNIST_DIR)' \
	  pipeline/fetch-mnist.sh $(DATASET) $(DATA_RAW_DIR)

define fe_npy_rule
$(DATA_DIR)/$(1).npy: $(DATA_RAW_DIR)/$(2) $(BIN)/idx2bin
	@mkdir -p $$(@D)
	$(BIN)/idx2bin -o $$@ $$<
endef
$(eval $(call fe_npy_rule,train-images,train-images-idx3-ubyte))
$(eval $(call fe_npy_rule,train-labels,train-labels-idx1-ubyte))
$(eval $(call fe_npy_rule,test-images,t10k-images-idx3-ubyte))
$(eval $(call fe_npy_rule,test-labels,t10k-labels-idx1-ubyte))
