#!/usr/bin/env bash
# divergence.sh TRAIN_A THREADS_A TRAIN_B THREADS_B [STEPS] - how fast two ResNet-18
# trainings with Figure 1's settings part, when they differ only in how they sum
# (two builds of `train`, or one on two thread counts).  Each runs STEPS (16)
# one-step epochs on the first 512 training images from the same initial
# checkpoint (same seed); printed per step: the distance between the two runs'
# conv1 weights and between all their conv weights, relative to how far run B's
# moved from the start.  Run from anywhere; TRAIN paths absolute or relative to the
# repository root.  Needs data/mnist/ (make data) and numpy.  Used for
# results/README.md, "Two runs of the same settings".
set -euo pipefail
if [[ $# -lt 4 ]]; then
    echo "usage: tests/bench/divergence.sh TRAIN_A THREADS_A TRAIN_B THREADS_B [STEPS]" >&2
    exit 2
fi
cd "$(dirname "$0")/../.."
steps=${5:-16}
for f in data/mnist/train-images.npy data/mnist/train-labels.npy; do
    [[ -f $f ]] || { echo "divergence.sh: $f: missing (make data)" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run() {     # OUT TRAIN THREADS
    "$2" --model resnet18 --out "$1" --epochs "$steps" --batch 512 --optimizer sgd --lr 1e-4 \
        --momentum 0.9 --weight-decay 1e-4 --init normal:1e-4 --seed 0 \
        --images data/mnist/train-images.npy --labels data/mnist/train-labels.npy \
        --limit 512 --val-split 0 --threads "$3" --quiet
}
run "$tmp/a" "$1" "$2"
run "$tmp/b" "$3" "$4"
/usr/bin/python3 - "$tmp" "$steps" <<'EOF'
import sys
import numpy as np
tmp, steps = sys.argv[1], int(sys.argv[2])
load = lambda r, s: dict(np.load(f"{tmp}/{r}/epoch-{s:03d}.npz"))
a0, b0 = load("a", 0), load("b", 0)
same = all(np.array_equal(a0[k], b0[k]) for k in b0)
print(f"initial checkpoints identical: {same}")
convs = [k for k in b0 if k.endswith(".weight") and b0[k].ndim == 4]
def dist(a, b, keys):
    num = sum(np.sum((a[k].astype(np.float64) - b[k]) ** 2) for k in keys)
    den = sum(np.sum((b[k].astype(np.float64) - b0[k]) ** 2) for k in keys)
    return np.sqrt(num / den)
print("step  conv1   all convs")
for s in range(1, steps + 1):
    a, b = load("a", s), load("b", s)
    print(f"{s:4d}  {dist(a, b, ['conv1.weight']):.3f}   {dist(a, b, convs):.3f}")
EOF
