#!/usr/bin/env bash
# test_numeric.sh - numbers that overflow, runs that diverge, sizes that do not fit
# (issue 30, items 2, 5 and 6):
#   - train's real-valued options out of range (--lr, --momentum, --weight-decay,
#     --init normal:STD, --mean, --std; also agop's and snapshot's --mean/--std)
#     are refused with exit 2, the range named, and no --out made;
#   - a run that diverges in the last step of an epoch (loss finite during the
#     epoch, weights NaN after its last step) exits 1 without that epoch's
#     checkpoint, saying "no checkpoint written"; one that diverges mid-epoch
#     likewise; neither calls any checkpoint "good";
#   - agop and snapshot on an all-zero checkpoint: exit 1, no output;
#   - resume identity: the optimiser that differs is named ("--optimizer sgd, not
#     --optimizer adam"); weight decay 0 against 4e-13 is refused by name; the
#     largest --lr is stored exactly (float64 1e6 in state.npz) and the next
#     double below it is refused on resume;
#   - stack and npy2txt on .npy headers whose shapes overflow or hold a zero
#     beside a huge dimension: refused at once (no endless loop, no allocation);
#   - train with --batch far beyond the data: trains, its buffers sized for the
#     data (the same "MiB of activations" as --batch equal to the data, and it
#     runs under ulimit -v 1000000 in the plain lane).
# Data: 96 images made by /usr/bin/python3 with numpy (skip without it).
# Env: BIN (the tools), FE_ROOT (repository root).
set -euo pipefail
: "${BIN:?set BIN to the directory holding the tools}" "${FE_ROOT:?set FE_ROOT}"
cd "$FE_ROOT"
PY=/usr/bin/python3
if ! $PY -c 'import numpy' > /dev/null 2>&1; then
    echo "SKIP: /usr/bin/python3 with numpy is needed to make the data and checkpoints"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); echo "ok: $*"; }
# refused RC LABEL NEEDLE -- CMD...: CMD exits RC within 20 s, its stderr holds NEEDLE
refused() {
    local want=$1 label=$2 needle=$3 rc=0
    shift 4
    timeout 20 "$@" > "$tmp/out" 2> "$tmp/err" || rc=$?
    ((rc == want)) || fail "$label: exit $rc, expected $want: $(cat "$tmp/err")"
    grep -qF -- "$needle" "$tmp/err" || fail "$label: no '$needle' in: $(cat "$tmp/err")"
    ok "$label: exit $want, '$needle'"
}

d=$tmp/data
mkdir "$d"
$PY - "$d" <<'PY'
import sys, numpy as np
d = sys.argv[1]
r = np.random.default_rng(3)
np.save(f"{d}/x.npy", (r.random((96, 28, 28)) ** 3 * 255).astype(np.uint8))
np.save(f"{d}/y.npy", r.integers(0, 10, 96).astype(np.uint8))
PY
base=(--model lenet5 --images "$d/x.npy" --labels "$d/y.npy" --seed 0 --threads 1 --quiet)

# --- 1. options out of range: exit 2, the range named, no --out made ---------------
for spec in "--lr 1e30|<= 1e+06" "--lr 0|> 0" "--lr 2e6|--lr" "--momentum 1.5|--momentum" \
            "--momentum -0.1|>= 0" "--weight-decay 1e7|--weight-decay" "--weight-decay -1|>= 0" \
            "--init normal:1e-40|1e-30" "--init normal:1e7|normal:STD" "--mean 1e7|--mean" \
            "--mean -1e7|>= -1e+06" "--std 1e-9|>= 1e-06" "--std 1e30|--std" "--std 0|--std"; do
    opt=${spec%%|*} needle=${spec#*|}
    # shellcheck disable=SC2086  # opt is "--option value"
    refused 2 "train $opt" "$needle" -- "$BIN/train" "${base[@]}" --epochs 1 --batch 32 \
        --optimizer sgd --lr 0.01 $opt --out "$tmp/never/run"
    [[ ! -e $tmp/never ]] || fail "train $opt: made $(find "$tmp/never")"
done
for tool in agop snapshot; do
    refused 2 "$tool --std 1e-9" "--std: a number >= 1e-06" -- \
        "$BIN/$tool" --ckpt "$tmp/none.npz" --images "$d/x.npy" --layer conv1 --std 1e-9 -o "$tmp/no.npy"
    refused 2 "$tool --mean 1e30" "--mean" -- \
        "$BIN/$tool" --ckpt "$tmp/none.npz" --images "$d/x.npy" --layer conv1 --mean 1e30 -o "$tmp/no.npy"
    [[ ! -e $tmp/no.npy ]] || fail "$tool: wrote an output"
done

# --- 2. divergence: no checkpoint for the epoch, exit 1, nothing called good --------
# One batch an epoch at --lr 1e6: epoch 1's loss is finite and so are its weights
# after the step; epoch 2's loss (before its step) too; its one step makes NaN.
rc=0
"$BIN/train" "${base[@]}" --epochs 3 --batch 96 --optimizer sgd --lr 1e6 --out "$tmp/last" \
    2> "$tmp/err" || rc=$?
((rc == 1)) || fail "last-step divergence: exit $rc, expected 1: $(cat "$tmp/err")"
grep -q "^train: .*training diverged: .*after the last step of epoch 2.*no checkpoint written for epoch 2" \
    "$tmp/err" || fail "last-step divergence: message: $(cat "$tmp/err")"
! grep -qi good "$tmp/err" || fail "last-step divergence: calls something good: $(cat "$tmp/err")"
[[ -f $tmp/last/epoch-001.npz && ! -e $tmp/last/epoch-002.npz && ! -e $tmp/last/epoch-003.npz ]] ||
    fail "last-step divergence: files $(ls "$tmp/last")"
ls -A "$tmp/last" | grep -q '\.tmp' && fail "last-step divergence: a temporary file left"
[[ $($PY -c 'import numpy as np, sys; print(int(np.load(sys.argv[1])["epoch"]))' "$tmp/last/state.npz") == 1 ]] ||
    fail "last-step divergence: state.npz is not at epoch 1"
[[ $(wc -l < "$tmp/last/metrics.tsv") -eq 3 ]] || fail "last-step divergence: metrics rows $(cat "$tmp/last/metrics.tsv")"
$PY -c '
import numpy as np, sys
z = np.load(sys.argv[1])
assert all(np.isfinite(z[k]).all() for k in z.files if z[k].dtype.kind == "f")' "$tmp/last/epoch-001.npz" ||
    fail "last-step divergence: epoch-001.npz is not finite"
ok "divergence in an epoch's last step: exit 1, no epoch-002.npz, state at epoch 1, 'no checkpoint written'"
rc=0
"$BIN/train" "${base[@]}" --epochs 2 --batch 32 --optimizer sgd --lr 1e6 --out "$tmp/mid" 2> "$tmp/err" || rc=$?
((rc == 1)) && grep -q "^train: .*diverged: loss is .* at epoch 1, batch [23]; no checkpoint written for epoch 1" "$tmp/err" ||
    fail "mid-epoch divergence: exit $rc: $(cat "$tmp/err")"
! grep -qi good "$tmp/err" || fail "mid-epoch divergence: calls something good: $(cat "$tmp/err")"
[[ -f $tmp/mid/epoch-000.npz && ! -e $tmp/mid/epoch-001.npz ]] || fail "mid-epoch divergence: files $(ls "$tmp/mid")"
ok "divergence mid-epoch: exit 1, epoch and batch named, no epoch-001.npz"

# --- 3. agop and snapshot on an all-zero checkpoint ----------------------------------
"$BIN/train" "${base[@]}" --epochs 0 --batch 32 --optimizer sgd --lr 0.01 --out "$tmp/c0"
$PY -c '
import numpy as np, sys
z = np.load(sys.argv[1]); np.savez(sys.argv[2], **{k: np.zeros_like(z[k]) for k in z.files})' \
    "$tmp/c0/epoch-000.npz" "$tmp/zero.npz"
refused 1 "snapshot, all-zero checkpoint" "conv1: the activations for image 0 are all zero" -- \
    "$BIN/snapshot" --ckpt "$tmp/zero.npz" --images "$d/x.npy" --index 0 --layer conv1 -o "$tmp/z.npy"
refused 1 "agop, all-zero checkpoint" "conv2: the AGOP is all zero" -- \
    "$BIN/agop" --ckpt "$tmp/zero.npz" --images "$d/x.npy" --layer conv2 --count 8 --quiet -o "$tmp/z.npy"
refused 1 "agop, two layers, all-zero checkpoint" "all zero" -- \
    "$BIN/agop" --ckpt "$tmp/zero.npz" --images "$d/x.npy" --layer conv1 -o "$tmp/z1.npy" \
    --layer conv2 -o "$tmp/z.npy" --count 8 --quiet
[[ ! -e $tmp/z.npy && ! -e $tmp/z1.npy ]] || fail "agop/snapshot wrote a degenerate result"
ok "no output written for an all-zero result"

# --- 4. the resume identity ------------------------------------------------------------
"$BIN/train" "${base[@]}" --epochs 1 --batch 32 --optimizer sgd --lr 0.01 --out "$tmp/r"
(cd "$tmp/r" && md5sum ./*) > "$tmp/r.sums"
refused 1 "resume with another optimiser" "--optimizer sgd, not --optimizer adam" -- \
    "$BIN/train" "${base[@]}" --epochs 2 --batch 32 --optimizer adam --lr 0.01 --out "$tmp/r" --resume
refused 1 "resume with weight decay 4e-13 after 0" "--weight-decay 0, not --weight-decay 4e-13" -- \
    "$BIN/train" "${base[@]}" --epochs 2 --batch 32 --optimizer sgd --lr 0.01 --weight-decay 4e-13 \
    --out "$tmp/r" --resume
(cd "$tmp/r" && md5sum -c --quiet "$tmp/r.sums") || fail "a refused resume changed the run"
"$BIN/train" "${base[@]}" --epochs 0 --batch 32 --optimizer sgd --lr 1e6 --out "$tmp/big"
[[ $($PY -c 'import numpy as np, sys; v = np.load(sys.argv[1])["run.lr"]; print(v.dtype, repr(float(v)))' \
     "$tmp/big/state.npz") == "float64 1000000.0" ]] || fail "--lr 1e6 not stored as float64 1e6"
ok "--lr 1e6 stored exactly"
refused 1 "resume with the double below --lr 1e6" "--lr 1000000, not --lr 999999.99999999988" -- \
    "$BIN/train" "${base[@]}" --epochs 1 --batch 32 --optimizer sgd --lr 999999.99999999988 \
    --out "$tmp/big" --resume

# --- 5. shapes that overflow or hold zero beside a huge dimension ---------------------
npy() {  # FILE DESCR SHAPE: a .npy header and no data
    $PY - "$@" <<'PY'
import sys
f, descr, shape = sys.argv[1:4]
h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
h += " " * ((-(10 + len(h) + 1)) % 64) + "\n"
open(f, "wb").write(b"\x93NUMPY\x01\x00" + len(h).to_bytes(2, "little") + h.encode())
PY
}
npy "$tmp/zh.npy" '<f4' '(1099511627776, 0)'                 # 2^40 rows of nothing
npy "$tmp/hz.npy" '<f4' '(0, 4611686018427387904)'
npy "$tmp/z3.npy" '<f4' '(1099511627776, 0, 3)'
npy "$tmp/zu.npy" '|u1' '(4611686018427387904, 0)'           # 2^62 rows of nothing
npy "$tmp/ov.npy" '<f4' '(4294967296, 4294967296)'           # 2^64 elements
npy "$tmp/ov8.npy" '<f8' '(1152921504606846976, 16)'         # 2^64 bytes
for f in zh hz z3 zu; do    # (the old npy2txt printed 2^40 empty lines for zh)
    refused 1 "npy2txt $f" "empty array" -- "$BIN/npy2txt" "$tmp/$f.npy"
done
refused 1 "stack of two [2^62,0]" "2^63" -- "$BIN/stack" -o "$tmp/s.npy" "$tmp/zu.npy" "$tmp/zu.npy"
for f in ov ov8; do
    refused 1 "stack $f" "$tmp/$f.npy" -- "$BIN/stack" -o "$tmp/s.npy" "$tmp/$f.npy"
    refused 1 "npy2txt $f" "$tmp/$f.npy" -- "$BIN/npy2txt" "$tmp/$f.npy"
done
[[ ! -e $tmp/s.npy ]] || fail "stack wrote an output"
timeout 20 "$BIN/stack" -o "$tmp/s.npy" "$tmp/hz.npy" "$tmp/hz.npy" || fail "stack of [0,2^62] twice"
[[ $($PY -c '
import numpy as np, sys
f = open(sys.argv[1], "rb"); np.lib.format.read_magic(f)
print(np.lib.format.read_array_header_1_0(f)[0])' "$tmp/s.npy") == "(0, 4611686018427387904)" ]] ||
    fail "stack of [0,2^62] twice: not [0,2^62]"
ok "stack of [0,2^62] twice is [0,2^62]"

# --- 6. --batch beyond the data: buffers for the data -----------------------------------
for b in 96 65536; do
    "$BIN/train" --model lenet5 --images "$d/x.npy" --labels "$d/y.npy" --seed 0 --threads 1 \
        --epochs 1 --batch $b --optimizer sgd --lr 0.01 --out "$tmp/b$b" 2> "$tmp/b$b.err" ||
        fail "train --batch $b: $(cat "$tmp/b$b.err")"
done
m96=$(grep -o '[0-9]* MiB of activations' "$tmp/b96.err") m64k=$(grep -o '[0-9]* MiB of activations' "$tmp/b65536.err")
[[ -n $m96 && $m96 == "$m64k" ]] || fail "--batch 65536 on 96 images: '$m64k', --batch 96: '$m96'"
cmp -s "$tmp/b96/epoch-001.npz" "$tmp/b65536/epoch-001.npz" || fail "--batch 65536 and 96 differ on 96 images"
ok "--batch 65536 on 96 images: $m64k, as --batch 96, and the same checkpoint"

# and so within 1 GB of address space (ulimit -v), where the old train asked for 10 GB;
# not under ASan, whose shadow memory needs terabytes of address space
# (grep without -q: it reads all of ldd's output, so ldd never dies of SIGPIPE, which
# pipefail would turn into "not ASan")
if ldd "$BIN/train" 2> /dev/null | grep libasan > /dev/null; then
    echo "skipped (ASan build): --batch 65536 under ulimit -v"
else
    (ulimit -v 1000000 && "$BIN/train" "${base[@]}" --epochs 1 --batch 65536 --optimizer sgd \
        --lr 0.01 --out "$tmp/uv/run") 2> "$tmp/err" || fail "--batch 65536 under ulimit -v 1000000: $(cat "$tmp/err")"
    [[ -f $tmp/uv/run/epoch-001.npz ]] || fail "--batch 65536 under ulimit -v: no epoch-001.npz"
    ok "--batch 65536 on 96 images trains within ulimit -v 1000000"
fi

echo "test_numeric: $checks checks passed"
