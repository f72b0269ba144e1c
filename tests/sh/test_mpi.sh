#!/usr/bin/env bash
# test_mpi.sh - data-parallel train under Open MPI (mpirun -np 2, one thread each)
# against one process with the same global batch:
#   - LeNet-5, 2 epochs of 3 batches (32, 32 and 8 images: 16 + 16 and 4 + 4 a
#     rank): every weight within float32 summation-order tolerance of one process;
#   - ResNet-18, one step of 24 images (12 per rank): every BatchNorm running
#     mean and variance within 1e-4 of its update (batch statistics over both
#     ranks, as in one process), and all parameters together within 5e-2 of
#     the update (|w_np2 - w_1| / |w_1 - w_0| over every parameter tensor).
#     Not tighter, and not each tensor on its own: float32 itself is not that
#     close here.  Measured 2026-12-03 on an AMD EPYC (OpenBLAS Haswell
#     kernels) for one such step on 24 random images: torch float32 is 4.8e-3
#     of the update from torch float64, one tensor (layer4.0.conv2.weight) 14%
#     off, and its forward flips one ReLU mask bit against float64's (a layer4
#     value 3e-6 from zero); ours is 6.6e-3 from float64 with --threads 1 and
#     7.8e-3 with --threads 2, and the two differ by 13% in one tensor; -np 2
#     against one process: 8e-3, with the running statistics within 2e-6.
#     A rank that skipped the gradient sums would be 1.1 away.  (Not more
#     steps: this ResNet-18 at initialisation turns a 1e-7 change of its
#     weights into ~1e-3 of the next gradient, so differences of summation
#     order grow a thousandfold a step);
#   - that comparison rejects a checkpoint that did not take the step (so it can fail);
#   - -np 2 twice: the same bytes (fixed order of the cross-rank sums);
#   - mpirun -np 1 gives exactly the one-process bytes;
#   - a run killed under mpirun (SIGKILL of both ranks, at epoch 2 of 40) resumes with --resume under
#     mpirun to the bytes of an uninterrupted -np 2 run, and a -np 1 run resumes
#     under -np 2;
#   - rank 0 prints the time spent in the cross-rank sums after each epoch;
#   - a batch too small to give every rank an image is refused.
# Skipped (exit 77) where mpirun is missing or train was built without MPI.
# Env: BIN, FE_ROOT.  Needs /usr/bin/python3 with numpy to compare weights.
set -euo pipefail
: "${BIN:?set BIN}" "${FE_ROOT:?set FE_ROOT}"
cd "$FE_ROOT"
train=$BIN/train
if ! command -v mpirun > /dev/null; then
    echo "SKIPPED: mpirun not installed (Debian: openmpi-bin libopenmpi-dev)"
    exit 77
fi
if ! "$train" --help | grep -q "this train: built with Open MPI"; then
    echo "SKIPPED: $train was built without MPI (the ASan build is, or NO_MPI=1)"
    exit 77
fi
if ! /usr/bin/python3 -c 'import numpy' 2> /dev/null; then
    echo "SKIPPED: /usr/bin/python3 with numpy is needed to compare the weights"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); echo "ok: $*"; }
# Open MPI refuses root unless told; CI runs as root. --oversubscribe: 2 ranks even
# where fewer cores are reported.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpi() { local np=$1; shift; timeout 300 mpirun -np "$np" --oversubscribe --bind-to none "$@"; }

# data: 96 images, MNIST's first when the mirror is there, else random
/usr/bin/python3 - "$tmp" << 'PY'
import gzip, os, sys
import numpy as np
d, n = sys.argv[1], 96
m = "../shared/mnist"
try:
    with gzip.open(os.path.join(m, "train-images-idx3-ubyte.gz")) as f:
        x = np.frombuffer(f.read(16 + n * 784)[16:], np.uint8).reshape(n, 28, 28)
    with gzip.open(os.path.join(m, "train-labels-idx1-ubyte.gz")) as f:
        y = np.frombuffer(f.read(8 + n)[8:], np.uint8).astype(np.int64)
except OSError:
    r = np.random.default_rng(5)
    x = r.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    y = np.arange(n, dtype=np.int64) % 10
np.save(os.path.join(d, "x.npy"), x)
np.save(os.path.join(d, "y.npy"), y)
PY

# close A B EPOCH TOL: every tensor of B's checkpoint within TOL * max|A - A0| (its
# update since epoch 0) + 2 float32 ulps of max|A| of A's
close() {
    /usr/bin/python3 - "$@" << 'PY'
import sys
import numpy as np
a_dir, b_dir, e, tol = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
a = np.load(f"{a_dir}/epoch-{e:03d}.npz")
b = np.load(f"{b_dir}/epoch-{e:03d}.npz")
z = np.load(f"{a_dir}/epoch-000.npz")
assert sorted(a.files) == sorted(b.files), "different tensors"
worst, at = 0.0, ""
for k in a.files:
    x, y = a[k].astype(np.float64), b[k].astype(np.float64)
    if x.size == 0:
        continue
    upd = np.max(np.abs(x - z[k].astype(np.float64)))
    bound = tol * upd + 2 * np.finfo(np.float32).eps * np.max(np.abs(x))
    d = np.max(np.abs(x - y))
    if d > bound:
        sys.exit(f"{k}: max |difference| {d:.3g} > {bound:.3g} (update {upd:.3g})")
    if upd > 0 and d / upd > worst:
        worst, at = d / upd, k
print(f"largest difference {worst:.2g} of its update ({at})")
PY
}

# close_all A B EPOCH TOL RTOL: all parameters of B's checkpoint together within TOL of
# A's update, |B - A| / |A - A0| over every tensor, and every BatchNorm running
# statistic within RTOL * max|A - A0| + 2 float32 ulps of max|A| on its own
close_all() {
    /usr/bin/python3 - "$@" << 'PY'
import sys
import numpy as np
a_dir, b_dir, e = sys.argv[1], sys.argv[2], int(sys.argv[3])
tol, rtol = float(sys.argv[4]), float(sys.argv[5])
a = np.load(f"{a_dir}/epoch-{e:03d}.npz")
b = np.load(f"{b_dir}/epoch-{e:03d}.npz")
z = np.load(f"{a_dir}/epoch-000.npz")
assert sorted(a.files) == sorted(b.files), "different tensors"
num = den = 0.0
worst, at, stats = 0.0, "", 0
for k in a.files:
    x, y, x0 = (f[k].astype(np.float64) for f in (a, b, z))
    if x.size == 0 or k.endswith("num_batches_tracked"):
        if not np.array_equal(x, y):
            sys.exit(f"{k}: {x} against {y}")
        continue
    upd, d = np.max(np.abs(x - x0)), np.max(np.abs(x - y))
    if ".running_" in k:
        stats += 1
        bound = rtol * upd + 2 * np.finfo(np.float32).eps * np.max(np.abs(x))
        if d > bound:
            sys.exit(f"{k}: max |difference| {d:.3g} > {bound:.3g} (update {upd:.3g})")
        continue
    num += float(np.sum((x - y) ** 2))
    den += float(np.sum((x - x0) ** 2))
    if upd > 0 and d / upd > worst:
        worst, at = d / upd, k
if stats == 0:
    sys.exit("no BatchNorm running statistics in the checkpoint")
err = np.sqrt(num / den)
if not err <= tol:
    sys.exit(f"all parameters: |difference| {err:.3g} of the update > {tol:g}")
print(f"{stats} running statistics within {rtol:g}; all parameters {err:.2g} of the update "
      f"(largest of one tensor {worst:.2g}, {at})")
PY
}

base=(--images "$tmp/x.npy" --labels "$tmp/y.npy" --optimizer sgd --momentum 0.9 --seed 3
      --threads 1 --val-split 0.25 --quiet)
# --- LeNet-5: 72 training images, batch 32: 32, 32, 8 (4 per rank) -------------------
lenet=(--model lenet5 "${base[@]}" --batch 32 --lr 0.05 --epochs 2)
"$train" "${lenet[@]}" --out "$tmp/L1"
mpi 1 "$train" "${lenet[@]}" --out "$tmp/LM1"
cmp "$tmp/L1/epoch-002.npz" "$tmp/LM1/epoch-002.npz" || fail "mpirun -np 1 differs from one process"
ok "lenet5: mpirun -np 1 gives the one-process bytes"
mpi 2 "$train" "${lenet[@]}" --out "$tmp/LM2"
mpi 2 "$train" "${lenet[@]}" --out "$tmp/LM2b"
for f in epoch-001.npz epoch-002.npz state.npz; do
    cmp "$tmp/LM2/$f" "$tmp/LM2b/$f" || fail "lenet5 -np 2 twice: $f differs"
done
msg=$(close "$tmp/L1" "$tmp/LM2" 2 1e-4 2>&1) || fail "lenet5 -np 2 against one process: $msg"
cmp -s "$tmp/L1/epoch-002.npz" "$tmp/LM2/epoch-002.npz" && fail "lenet5 -np 2: bit-identical to one process, so the split did nothing?"
# the cost of communication, printed by rank 0 after each epoch (without --quiet)
loud=()
for a in "${lenet[@]}"; do [[ $a == --quiet ]] || loud+=("$a"); done
mpi 2 "$train" "${loud[@]}" --epochs 1 --out "$tmp/LP" 2> "$tmp/LP.err" > /dev/null ||
    fail "-np 2 without --quiet: $(cat "$tmp/LP.err")"
grep -q "^train: epoch 1: [0-9.]* s of [0-9.]* in the sums over 2 ranks ([0-9.]* ms a step" "$tmp/LP.err" ||
    fail "-np 2 did not print its communication time: $(cat "$tmp/LP.err")"
ok "lenet5: -np 2 (6 steps, the last 4 + 4 images) equals one process within 1e-4 of each update: $msg; the same bytes twice"

# --- ResNet-18: one step of 24 images ----------------------------------------------
resnet=(--model resnet18 "${base[@]}" --batch 24 --lr 0.01 --epochs 1 --limit 32)
"$train" "${resnet[@]}" --out "$tmp/R1"
mpi 2 "$train" "${resnet[@]}" --out "$tmp/RM2"
msg=$(close_all "$tmp/R1" "$tmp/RM2" 1 5e-2 1e-4 2>&1) || fail "resnet18 -np 2 against one process: $msg"
ok "resnet18: -np 2 (12 images a rank, batch norm over both) equals one process: $msg"
# the check itself can fail: a run that did not move from epoch 0 is far from R1
mkdir "$tmp/R0" && cp "$tmp/R1/epoch-000.npz" "$tmp/R0/" && cp "$tmp/R1/epoch-000.npz" "$tmp/R0/epoch-001.npz"
close_all "$tmp/R1" "$tmp/R0" 1 5e-2 1e-4 > /dev/null 2>&1 && fail "close_all accepts an untrained checkpoint as R1's step"
ok "close_all rejects a checkpoint that did not take R1's step"
rm -rf "$tmp/R1" "$tmp/RM2" "$tmp/R0"

# --- killed under MPI, resumed -------------------------------------------------------
long=(--model lenet5 "${base[@]}" --batch 8 --lr 0.02 --epochs 40 --quiet)
mpi 2 "$train" "${long[@]}" --out "$tmp/K0"
mpirun -np 2 --oversubscribe --bind-to none "$train" "${long[@]}" --out "$tmp/K" &
pid=$!
for _ in $(seq 200); do [[ -e $tmp/K/epoch-002.npz ]] && break; sleep 0.05; done
pkill -9 -f -- "--out $tmp/K\$" 2> /dev/null || true     # both ranks, as a crash would
wait "$pid" 2> /dev/null || true                          # mpirun then ends the job
[[ -e $tmp/K/epoch-001.npz ]] || fail "the run to kill did not get to epoch 1"
[[ ! -e $tmp/K/epoch-040.npz ]] || fail "the run finished before it was killed: the test tests nothing"
mpi 2 "$train" "${long[@]}" --out "$tmp/K" --resume
for f in epoch-040.npz state.npz; do
    cmp "$tmp/K0/$f" "$tmp/K/$f" || fail "killed and resumed under -np 2: $f differs from the uninterrupted run"
done
ok "a -np 2 run killed with SIGKILL resumes under -np 2 to the uninterrupted run's bytes"
# one process for 2 epochs, then -np 2 for the rest
"$train" "${long[@]}" --epochs 2 --out "$tmp/S"
mpi 2 "$train" "${long[@]}" --epochs 4 --out "$tmp/S" --resume
[[ -e $tmp/S/epoch-004.npz ]] || fail "a one-process run did not resume under -np 2"
ok "a one-process run resumes under mpirun -np 2"

# --- refusal: fewer images than ranks in a batch ---------------------------------------
rc=0
mpi 2 "$train" --model lenet5 "${base[@]}" --batch 1 --lr 0.01 --epochs 1 --out "$tmp/X" \
    2> "$tmp/err" || rc=$?
((rc != 0)) && grep -q "fewer than one image for each of the 2 ranks" "$tmp/err" ||
    fail "--batch 1 on 2 ranks: exit $rc: $(cat "$tmp/err")"
[[ ! -e $tmp/X ]] || fail "--batch 1 on 2 ranks created $tmp/X"
ok "a batch that cannot give each rank an image is refused before anything is written"

echo "test_mpi.sh: $checks checks passed"
