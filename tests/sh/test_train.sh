#!/usr/bin/env bash
# test_train.sh - train end to end on tiny data sets made here:
#   - the same seed and --threads give byte-identical checkpoints and state
#     (LeNet-5, and one epoch of ResNet-18 on 16 images);
#   - --resume continues a run to exactly what an uninterrupted run gives, also
#     after a simulated crash between a checkpoint and its state file, and
#     --resume on an empty directory starts the run afresh; resuming a finished
#     run says there is nothing to do (exit 0), another --threads is warned about;
#   - progress: the time left per epoch, "1 epoch"/"1 thread", evaluation's
#     progress on a terminal;
#   - metrics.tsv: its header, a row per epoch, accuracies within 0..100, the
#     val/test columns empty when there are no such sets;
#   - --fresh-optimizer: the first epoch as without it, later ones not; it resumes
#     bit-identically and is part of the run's identity;
#   - a state.npz as trains before the named run.* entries wrote it (one int64
#     array, made here by numpy) resumes bit-identically, and a setting that
#     differs from it is refused by name;
#   - --precision bf16 (ResNet-18, where the CPU has AVX512_BF16): deterministic,
#     not fp32's weights, part of the run's identity;
#   - bad command lines and bad inputs are refused ("train: ...", non-zero exit)
#     and leave no files behind; an existing run is never overwritten;
#   - train --help.
# The data (96 images and labels, and broken variants) are written as .npy by
# /usr/bin/python3 with numpy, or else as IDX files converted by idx2bin; the
# images are the first 96 of ../shared/mnist when that is present, else random.
# Env: BIN (directory holding train and idx2bin), FE_ROOT (repository root);
# FE_SKIP_RESNET=1 leaves out the ResNet-18 determinism check (for valgrind).
# FE_TEST_DATA=idx forces the idx2bin route.
set -euo pipefail
: "${BIN:?set BIN to the directory holding train}" "${FE_ROOT:?set FE_ROOT}"
cd "$FE_ROOT"
train=$BIN/train
[[ -x $train ]] || { echo "FAIL: $train not built" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
failures=0
soft_fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }   # report, go on
checks=0
ok() { checks=$((checks + 1)); echo "ok: $*"; }
d=$tmp/data
mkdir "$d"
mnist=../shared/mnist
N=96

# --- data ---------------------------------------------------------------------
if [[ ${FE_TEST_DATA:-} != idx ]] && /usr/bin/python3 -c 'import numpy' > /dev/null 2>&1; then
    /usr/bin/python3 - "$d" "$mnist" "$N" <<'PY'
import gzip, os, sys
import numpy as np
d, mnist, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
if os.path.exists(f"{mnist}/train-images-idx3-ubyte.gz"):
    with gzip.open(f"{mnist}/train-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(16 + n * 784)[16:], np.uint8).reshape(n, 28, 28)
    with gzip.open(f"{mnist}/train-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(8 + n)[8:], np.uint8)
else:
    r = np.random.default_rng(3)
    x = (r.random((n, 28, 28)) ** 3 * 255).astype(np.uint8)
    y = r.integers(0, 10, n).astype(np.uint8)
np.save(f"{d}/x.npy", x)
np.save(f"{d}/y.npy", y)
np.save(f"{d}/x16.npy", x[:16])
np.save(f"{d}/y16.npy", y[:16].astype(np.int64))        # int64 labels are fine too
np.save(f"{d}/y95.npy", y[:95])                         # one label short
bad = y.copy(); bad[50] = 10
np.save(f"{d}/y10.npy", bad)                            # a label outside 0..9
np.save(f"{d}/xf32.npy", x.astype(np.float32))          # wrong dtype
np.save(f"{d}/x2827.npy", np.ascontiguousarray(x[:, :, :27]))  # wrong shape
PY
    echo "data: .npy written by numpy ($( [[ -e $mnist/train-images-idx3-ubyte.gz ]] && echo MNIST || echo random) images)"
elif [[ -x $BIN/idx2bin ]]; then
    # IDX: 0 0 TYPE NDIM, NDIM big-endian uint32 sizes, then the data
    byte() { printf '%b' "\\0$(printf %03o "$1")"; }
    be32() { byte $((($1 >> 24) & 255)); byte $((($1 >> 16) & 255)); byte $((($1 >> 8) & 255)); byte $(($1 & 255)); }
    header() {  # TYPE DIM...
        byte 0; byte 0; byte "$1"; byte $(($# - 1))
        shift
        for v in "$@"; do be32 "$v"; done
    }
    # COUNT bytes, pseudo-random below MOD (awk writes octal escapes, printf the bytes)
    bytes() { printf '%b' "$(awk -v n="$1" -v m="$2" -v s="$3" 'BEGIN { srand(s); for (i = 0; i < n; i++) printf "\\0%03o", int(rand() * m) }')"; }
    if [[ -e $mnist/train-images-idx3-ubyte.gz ]]; then
        # (gzip dies of SIGPIPE when head has enough: not an error here)
        pix() { (set +o pipefail; gzip -dc "$mnist/train-images-idx3-ubyte.gz" | head -c $((16 + $1 * 784)) | tail -c $(($1 * 784))); }
        lab() { (set +o pipefail; gzip -dc "$mnist/train-labels-idx1-ubyte.gz" | head -c $((8 + $1)) | tail -c "$1"); }
    else
        pix() { bytes $(($1 * 784)) 256 3; }
        lab() { bytes "$1" 10 4; }
    fi
    { header 8 $N 28 28; pix $N; } > "$d/x.idx"
    { header 8 $N; lab $N; } > "$d/y.idx"
    { header 8 16 28 28; pix 16; } > "$d/x16.idx"
    { header 8 16; lab 16; } > "$d/y16.idx"
    { header 8 95; lab 95; } > "$d/y95.idx"
    { header 8 $N; lab 50; printf '\012'; lab $N | tail -c $((N - 51)); } > "$d/y10.idx"
    { header 13 $N 28 28; head -c $((N * 784 * 4)) /dev/zero; } > "$d/xf32.idx"
    { header 8 $N 28 27; (set +o pipefail; pix $N | head -c $((N * 28 * 27))); } > "$d/x2827.idx"
    for f in "$d"/*.idx; do "$BIN/idx2bin" -o "${f%.idx}.npy" "$f"; done
    echo "data: IDX files converted by idx2bin"
else
    echo "SKIP: neither /usr/bin/python3 with numpy nor $BIN/idx2bin to make the test data"
    exit 77
fi

strip() { cut -f1-7,10 "$1"; }   # metrics.tsv without the timing columns
same_run() {  # DIR_A DIR_B FILE... : byte-identical files and metrics bar timing
    local a=$1 b=$2
    shift 2
    for f in "$@"; do
        cmp "$a/$f" "$b/$f" || fail "$f differs between $(basename "$a") and $(basename "$b")"
    done
    diff <(strip "$a/metrics.tsv") <(strip "$b/metrics.tsv") ||
        fail "metrics.tsv differs between $(basename "$a") and $(basename "$b")"
}
snap() { (cd "$1" && find . -type f -exec sha256sum {} + | sort); }   # DIR's files and sums
no_temps() {
    local t
    t=$(find "$1" -name '*.tmp*' 2> /dev/null | head -3)
    [[ -z $t ]] || fail "temporary files left behind: $t"
}

# --- help -----------------------------------------------------------------------
"$train" --help > "$tmp/help" || fail "train --help exited $?"
grep -q -- "--resume" "$tmp/help" || fail "train --help does not mention --resume"
grep -q "^usage: train" "$tmp/help" || fail "train --help: no usage line"
ok "train --help exits 0 and documents --resume"

# --- determinism: same seed and threads, same bytes -----------------------------
base=(--model lenet5 --images "$d/x.npy" --labels "$d/y.npy" --batch 16 --optimizer adam
      --lr 1e-3 --seed 5 --threads 2 --quiet)
full=("${base[@]}" --val-split 0.25 --test-images "$d/x16.npy" --test-labels "$d/y16.npy")
"$train" "${full[@]}" --epochs 3 --out "$tmp/A"
"$train" "${full[@]}" --epochs 3 --out "$tmp/B"
for e in 000 001 002 003; do [[ -s $tmp/A/epoch-$e.npz ]] || fail "A: no epoch-$e.npz"; done
[[ ! -e $tmp/A/epoch-004.npz ]] || fail "A: more epochs than asked for"
same_run "$tmp/A" "$tmp/B" epoch-000.npz epoch-001.npz epoch-002.npz epoch-003.npz state.npz
no_temps "$tmp/A"
cmp -s "$tmp/A/epoch-000.npz" "$tmp/A/epoch-003.npz" && fail "lenet5: training did not change the weights"
ok "lenet5: two runs with the same seed and --threads 2 are byte-identical"

# --- metrics.tsv ----------------------------------------------------------------
check_metrics() {  # FILE EPOCHS HAVE_VAL HAVE_TEST
    local f=$1 epochs=$2 val=$3 test=$4
    printf 'epoch\ttrain_loss\ttrain_acc\tval_loss\tval_acc\ttest_loss\ttest_acc\tseconds\timages_per_s\ttrain_acc_batchmean\n' |
        cmp -s - <(head -n 1 "$f") || fail "$f: header is $(head -n 1 "$f" | cat -A)"
    awk -F'\t' -v epochs="$epochs" -v val="$val" -v test="$test" '
        function num(x) { return x ~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/ }
        function bad(msg) { print FILENAME ": line " NR ": " msg ": " $0; err = 1; exit 1 }
        NR == 1 { next }
        {
            if (NF != 10) bad("expected 10 tab-separated fields, got " NF)
            if ($1 != NR - 2) bad("epoch " $1 ", expected " NR - 2)
            tr = $1 > 0
            if (tr && !(num($2) && num($3) && num($9) && num($10))) bad("train columns are not numbers")
            if (!tr && ($2 != "" || $3 != "" || $9 != "" || $10 != "")) bad("epoch 0 has train columns")
            if (tr && ($3 < 0 || $3 > 100)) bad("train accuracy outside 0..100")
            if (tr && ($10 < 0 || $10 > 100)) bad("mean batch accuracy outside 0..100")
            if (tr && !($2 > 0)) bad("train loss not positive")
            if (val && !(num($4) && num($5) && $5 >= 0 && $5 <= 100 && $4 > 0)) bad("val columns")
            if (!val && ($4 != "" || $5 != "")) bad("val columns should be empty")
            if (test && !(num($6) && num($7) && $7 >= 0 && $7 <= 100 && $6 > 0)) bad("test columns")
            if (!test && ($6 != "" || $7 != "")) bad("test columns should be empty")
            if (!num($8) || $8 < 0) bad("seconds")
        }
        END { if (!err && NR != epochs + 2) { print FILENAME ": " NR - 1 " rows for epochs 0.." epochs; exit 1 } }
    ' "$f" || fail "$f: malformed metrics"
}
check_metrics "$tmp/A/metrics.tsv" 3 1 1
"$train" "${base[@]}" --epochs 2 --val-split 0 --out "$tmp/C"
check_metrics "$tmp/C/metrics.tsv" 2 0 0
"$train" "${base[@]}" --epochs 1 --val-split 0.5 --out "$tmp/C2"
check_metrics "$tmp/C2/metrics.tsv" 1 1 0
ok "metrics.tsv: header, one row per epoch 0..N, accuracies in 0..100, empty val/test columns without those sets"

# --- resume equals uninterrupted --------------------------------------------------
"$train" "${full[@]}" --epochs 1 --out "$tmp/R"
[[ ! -e $tmp/R/epoch-002.npz ]] || fail "R: ran past --epochs 1"
"$train" "${full[@]}" --epochs 3 --out "$tmp/R" --resume 2> "$tmp/stderr"
same_run "$tmp/A" "$tmp/R" epoch-000.npz epoch-001.npz epoch-002.npz epoch-003.npz state.npz
no_temps "$tmp/R"
[[ ! -s $tmp/stderr ]] || fail "--quiet --resume with the same --threads said: $(cat "$tmp/stderr")"
ok "1 epoch, then --resume --epochs 3: identical to 3 epochs straight"

# --- resume messages: a finished run, another thread count --------------------------
loud=()
for a in "${full[@]}"; do [[ $a == --quiet ]] || loud+=("$a"); done
before=$(snap "$tmp/R")
for n in 3 2; do        # at or below the last epoch: nothing to do, said so, exit 0
    rc=0
    "$train" "${loud[@]}" --epochs $n --out "$tmp/R" --resume 2> "$tmp/stderr" || rc=$?
    ((rc == 0)) && [[ $(cat "$tmp/stderr") == "train: $tmp/R: already trained to epoch 3 (--epochs $n); nothing to do" ]] ||
        fail "--resume --epochs $n of a run at epoch 3: exit $rc: $(cat "$tmp/stderr")"
done
[[ $(snap "$tmp/R") == "$before" ]] || fail "a finished run resumed: files changed"
# another --threads: a warning (bit-identity needs the same count), not a refusal;
# --quiet does not silence it
"$train" "${full[@]}" --epochs 1 --out "$tmp/W"
"$train" "${full[@]}" --threads 1 --epochs 2 --out "$tmp/W" --resume 2> "$tmp/stderr" ||
    fail "--resume with --threads 1 after 2: exit $?: $(cat "$tmp/stderr")"
grep -q "^train: $tmp/W: warning: epoch 1 was trained with 2 threads, this resumes with 1: .*the same --threads" \
    "$tmp/stderr" || fail "--resume with another --threads: $(cat "$tmp/stderr")"
[[ -e $tmp/W/epoch-002.npz ]] || fail "--resume with another --threads did not train"
ok "--resume of a finished run says there is nothing to do (exit 0, nothing written); another --threads is warned about"

# a crash after epoch-002.npz was written but before state.npz was: state says 1
"$train" "${full[@]}" --epochs 1 --out "$tmp/K"
cp "$tmp/K/state.npz" "$tmp/state-1.npz"
"$train" "${full[@]}" --epochs 2 --out "$tmp/K" --resume
cmp -s "$tmp/K/state.npz" "$tmp/state-1.npz" && fail "K: state.npz did not advance"
cp "$tmp/state-1.npz" "$tmp/K/state.npz"
"$train" "${full[@]}" --epochs 3 --out "$tmp/K" --resume
same_run "$tmp/A" "$tmp/K" epoch-001.npz epoch-002.npz epoch-003.npz state.npz
no_temps "$tmp/K"
ok "epoch-002 written but state.npz of epoch 1: --resume redoes epoch 2 and ends identical"

# --- --fresh-optimizer ---------------------------------------------------------------
# (its arithmetic, a new torch optimiser per epoch, is checked in test_train_vs_torch.py)
"$train" "${full[@]}" --epochs 3 --fresh-optimizer --out "$tmp/FA"
cmp "$tmp/A/epoch-001.npz" "$tmp/FA/epoch-001.npz" || fail "--fresh-optimizer changed epoch 1"
cmp -s "$tmp/A/epoch-002.npz" "$tmp/FA/epoch-002.npz" && fail "--fresh-optimizer: epoch 2 as without it"
"$train" "${full[@]}" --epochs 1 --fresh-optimizer --out "$tmp/FR"
"$train" "${full[@]}" --epochs 3 --fresh-optimizer --out "$tmp/FR" --resume
same_run "$tmp/FA" "$tmp/FR" epoch-001.npz epoch-002.npz epoch-003.npz state.npz
rc=0
"$train" "${full[@]}" --epochs 4 --out "$tmp/FR" --resume 2> "$tmp/stderr" || rc=$?
((rc != 0)) && grep -q "^train: .*other settings: --fresh-optimizer, not no --fresh-optimizer;" "$tmp/stderr" ||
    fail "a --fresh-optimizer run resumed without it: exit $rc, $(cat "$tmp/stderr")"
ok "--fresh-optimizer: epoch 1 unchanged, epoch 2 differs, resumes bit-identically, not mixed with a plain run"

# --- state.npz as trains before the named run.* entries wrote it --------------------
# They kept the run's settings as one int64 array `run`: model and optimiser by
# enum value, reals times 1e12 truncated, then 1 for --fresh-optimizer and 16 for
# bf16.  Such a run resumes to the bytes of an uninterrupted one (its state
# rewritten with named entries), and a setting that differs is refused by name.
# numpy writes the old state here from a new one, as those trains did (checked
# against train at 26d03e9: the same entries and values).
if /usr/bin/python3 -c 'import numpy' > /dev/null 2>&1; then
    to_legacy() {  # STATE.npz: rewrite it in place as earlier trains wrote it
        /usr/bin/python3 - "$1" << 'PY'
import sys, numpy as np
z = dict(np.load(sys.argv[1]))
txt = lambda k: z.pop("run." + k).tobytes().decode()
i = lambda k: int(z.pop("run." + k))
f = lambda k: float(z.pop("run." + k))
run = [["lenet5", "resnet18"].index(txt("model")), ["sgd", "adam"].index(txt("optimizer")),
       i("seed"), i("batch"), i("val_images"), i("images"), i("test_limit"),
       int(f("lr") * 1e12), int(f("weight_decay") * 1e12), int(f("momentum") * 1e12),
       i("shuffle"), int(f("init_std") * 1e12), int(f("mean") * 1e12), int(f("std") * 1e12)]
if i("fresh_optimizer"):
    run.append(1)
if txt("precision") == "bf16":
    run.append(16)
assert not [k for k in z if k.startswith("run.")], z.keys()
z["run"] = np.array(run, np.int64)
with open(sys.argv[1], "wb") as out:
    np.savez(out, **z)
PY
    }
    "$train" "${full[@]}" --epochs 1 --out "$tmp/OLD"
    to_legacy "$tmp/OLD/state.npz"
    before=$(snap "$tmp/OLD")
    for t in "--seed 6|--seed 5, not --seed 6" "--lr 2e-3|--lr 0.001, not --lr 0.002" \
             "--fresh-optimizer|no --fresh-optimizer, not --fresh-optimizer" \
             "--limit 95|96 images (--images, --limit), not 95 images (--images, --limit)"; do
        read -ra extra <<< "${t%%|*}"
        rc=0
        "$train" "${full[@]}" "${extra[@]}" --epochs 3 --out "$tmp/OLD" --resume 2> "$tmp/stderr" || rc=$?
        ((rc == 1)) && grep -qF "train: $tmp/OLD/state.npz: this run was started with other settings: ${t#*|};" "$tmp/stderr" ||
            fail "an old-format run resumed with ${t%%|*}: exit $rc, $(cat "$tmp/stderr")"
        [[ $(snap "$tmp/OLD") == "$before" ]] || fail "a refused resume with ${t%%|*} changed the old-format run"
    done
    "$train" "${full[@]}" --epochs 3 --out "$tmp/OLD" --resume
    same_run "$tmp/A" "$tmp/OLD" epoch-001.npz epoch-002.npz epoch-003.npz state.npz
    # the tail: a --fresh-optimizer run of then
    "$train" "${full[@]}" --epochs 1 --fresh-optimizer --out "$tmp/OLDF"
    to_legacy "$tmp/OLDF/state.npz"
    rc=0
    "$train" "${full[@]}" --epochs 3 --out "$tmp/OLDF" --resume 2> "$tmp/stderr" || rc=$?
    ((rc == 1)) && grep -qF "other settings: --fresh-optimizer, not no --fresh-optimizer;" "$tmp/stderr" ||
        fail "an old-format --fresh-optimizer run resumed without it: exit $rc, $(cat "$tmp/stderr")"
    cp -a "$tmp/OLDF" "$tmp/OLDB"
    "$train" "${full[@]}" --epochs 3 --fresh-optimizer --out "$tmp/OLDF" --resume
    same_run "$tmp/FA" "$tmp/OLDF" epoch-001.npz epoch-002.npz epoch-003.npz state.npz
    # an array that is none of theirs: 13 elements
    /usr/bin/python3 -c '
import sys, numpy as np
z = dict(np.load(sys.argv[1])); z["run"] = z["run"][:13]
np.savez(open(sys.argv[1], "wb"), **z)' "$tmp/OLDB/state.npz"
    rc=0
    "$train" "${full[@]}" --epochs 3 --fresh-optimizer --out "$tmp/OLDB" --resume 2> "$tmp/stderr" || rc=$?
    ((rc == 1)) && grep -qF "OLDB/state.npz: not a featevo training state (its run entry)" "$tmp/stderr" ||
        fail "a 13-element run array: exit $rc, $(cat "$tmp/stderr")"
    rm -rf "$tmp/OLD" "$tmp/OLDF" "$tmp/OLDB"
    ok "a state.npz of earlier trains (one int64 array) resumes bit-identically; a setting that differs is named"
else
    echo "skipped (no numpy in /usr/bin/python3): the state.npz of earlier trains"
fi

# train_acc_batchmean (the mean of per-batch accuracies): with one batch an epoch
# it must be the epoch accuracy exactly
"$train" "${base[@]}" --epochs 1 --val-split 0 --batch 96 --out "$tmp/B1"
awk -F'\t' 'NR == 3 && $3 != $10 { exit 1 } END { if (NR != 3) exit 1 }' "$tmp/B1/metrics.tsv" ||
    fail "one batch: train_acc_batchmean differs from train_acc: $(sed -n 3p "$tmp/B1/metrics.tsv")"
ok "train_acc_batchmean equals train_acc when the epoch is one batch"

# a run made before train_acc_batchmean (9 columns) resumes: its rows get an
# empty tenth column, the new epochs a full one
"$train" "${full[@]}" --epochs 1 --out "$tmp/O"
cut -f1-9 "$tmp/O/metrics.tsv" > "$tmp/O/m9" && mv "$tmp/O/m9" "$tmp/O/metrics.tsv"
"$train" "${full[@]}" --epochs 2 --out "$tmp/O" --resume
awk -F'\t' 'NF != 10 || (NR == 1 && $10 != "train_acc_batchmean") || (NR == 3 && $10 != "") ||
             (NR == 4 && $10 == "") { exit 1 } END { if (NR != 4) exit 1 }' "$tmp/O/metrics.tsv" ||
    fail "resume of a 9-column metrics.tsv: $(cat -A "$tmp/O/metrics.tsv")"
cmp "$tmp/A/epoch-002.npz" "$tmp/O/epoch-002.npz" || fail "resume of a 9-column run: epoch 2 differs"
ok "a run with the old 9-column metrics.tsv resumes, old rows padded"

# --resume on a directory without a run starts it afresh
"$train" "${full[@]}" --epochs 3 --out "$tmp/F" --resume
same_run "$tmp/A" "$tmp/F" epoch-000.npz epoch-003.npz state.npz
ok "--resume on an empty directory starts the run afresh"

# --- ResNet-18: one epoch on 16 images, batch 8 -----------------------------------
if [[ -z ${FE_SKIP_RESNET:-} ]]; then
    rn=(--model resnet18 --images "$d/x16.npy" --labels "$d/y16.npy" --batch 8 --optimizer sgd
        --lr 1e-2 --momentum 0.9 --weight-decay 1e-4 --seed 2 --threads 2 --val-split 0.25
        --epochs 1 --quiet)
    "$train" "${rn[@]}" --out "$tmp/N1"
    "$train" "${rn[@]}" --out "$tmp/N2"
    same_run "$tmp/N1" "$tmp/N2" epoch-000.npz epoch-001.npz state.npz
    check_metrics "$tmp/N1/metrics.tsv" 1 1 0
    cmp -s "$tmp/N1/epoch-000.npz" "$tmp/N1/epoch-001.npz" && fail "resnet18: training did not change the weights"
    rm -rf "$tmp/N2"               # 45 MB each checkpoint
    ok "resnet18: two one-epoch runs (12 train + 4 validation images, batch 8) are byte-identical"
    # --precision bf16: deterministic too, the same start, another end, and not
    # resumable as the fp32 run (the precision is part of the run's identity)
    if grep -qw avx512_bf16 /proc/cpuinfo; then
        "$train" "${rn[@]}" --precision bf16 --out "$tmp/BF1"
        "$train" "${rn[@]}" --precision bf16 --out "$tmp/BF2"
        same_run "$tmp/BF1" "$tmp/BF2" epoch-000.npz epoch-001.npz state.npz
        cmp -s "$tmp/N1/epoch-000.npz" "$tmp/BF1/epoch-000.npz" || fail "bf16: another initial model"
        cmp -s "$tmp/N1/epoch-001.npz" "$tmp/BF1/epoch-001.npz" && fail "bf16: the same weights as fp32"
        rc=0
        "$train" "${rn[@]}" --epochs 2 --out "$tmp/BF1" --resume 2> "$tmp/stderr" || rc=$?
        ((rc == 1)) && grep -q "other settings: --precision bf16, not --precision fp32;" "$tmp/stderr" ||
            fail "resuming a bf16 run as fp32: exit $rc: $(cat "$tmp/stderr")"
        rm -rf "$tmp/BF1" "$tmp/BF2"
        ok "resnet18 --precision bf16: byte-identical twice, not fp32's weights, its own run identity"
    else
        echo "skipped (no avx512_bf16 in /proc/cpuinfo): the --precision bf16 run"
    fi
    rm -rf "$tmp/N1"
else
    echo "skipped (FE_SKIP_RESNET set): the ResNet-18 determinism check"
fi

# --- refusals -----------------------------------------------------------------------
good=(--model lenet5 --images "$d/x.npy" --labels "$d/y.npy" --epochs 1 --batch 16
      --optimizer adam --lr 1e-3 --seed 1 --quiet)
# refuse WHAT EXPECTED-MESSAGE-PART ARGS...: non-zero exit, "train: " message, no files
refuse() {
    local what=$1 want=$2 out=$tmp/refused rc=0
    shift 2
    rm -rf "$out"
    "$train" "$@" > "$tmp/stdout" 2> "$tmp/stderr" || rc=$?
    if ((rc == 0)); then soft_fail "$what: accepted (exit 0)"; return; fi
    echo "   refused ($rc): $what: $(head -n 1 "$tmp/stderr")"
    grep -q "^train: " "$tmp/stderr" || soft_fail "$what: message does not start with 'train: '"
    grep -q -- "$want" "$tmp/stderr" || soft_fail "$what: message lacks '$want'"
    ! grep -q "Sanitizer\|runtime error" "$tmp/stderr" || soft_fail "$what: sanitizer report: $(cat "$tmp/stderr")"
    if [[ -e $out && -n $(ls -A "$out") ]]; then
        soft_fail "$what: left files in the output directory: $(ls -A "$out")"
    fi
}
set_arg() {  # OPTION VALUE: the good command line with OPTION's value replaced
    local opt=$1 val=$2 i
    args=("${good[@]}")
    for ((i = 0; i < ${#args[@]}; i++)); do
        if [[ ${args[i]} == "$opt" ]]; then args[i + 1]=$val; return; fi
    done
    args+=("$opt" "$val")
}
out_r=(--out "$tmp/refused")
no_images=()
for ((i = 0; i < ${#good[@]}; i++)); do
    if [[ ${good[i]} == --images ]]; then i=$((i + 1)); else no_images+=("${good[i]}"); fi
done
refuse "missing --images" "--images" "${no_images[@]}" "${out_r[@]}"
set_arg --images "$tmp/nonexistent.npy";  refuse "nonexistent images file" "nonexistent.npy" "${args[@]}" "${out_r[@]}"
set_arg --labels "$d/y95.npy";            refuse "95 labels for 96 images" "95 labels" "${args[@]}" "${out_r[@]}"
set_arg --labels "$d/y10.npy";            refuse "label 10" "label 10" "${args[@]}" "${out_r[@]}"
set_arg --batch 0;                        refuse "--batch 0" "--batch" "${args[@]}" "${out_r[@]}"
set_arg --batch -4;                       refuse "--batch -4" "--batch" "${args[@]}" "${out_r[@]}"
set_arg --lr nan;                         refuse "--lr nan" "--lr" "${args[@]}" "${out_r[@]}"
set_arg --lr inf;                         refuse "--lr inf" "--lr" "${args[@]}" "${out_r[@]}"
set_arg --lr 0;                           refuse "--lr 0" "--lr" "${args[@]}" "${out_r[@]}"
set_arg --model foo;                      refuse "--model foo" "foo" "${args[@]}" "${out_r[@]}"
set_arg --optimizer rmsprop;              refuse "--optimizer rmsprop" "rmsprop" "${args[@]}" "${out_r[@]}"
set_arg --epochs 2x;                      refuse "--epochs 2x" "--epochs" "${args[@]}" "${out_r[@]}"
set_arg --init normal:0;                  refuse "--init normal:0" "normal:0" "${args[@]}" "${out_r[@]}"
refuse "--precision fp16" "--precision" "${good[@]}" --precision fp16 "${out_r[@]}"
refuse "--precision bf16 for lenet5" "resnet18" "${good[@]}" --precision bf16 "${out_r[@]}"
refuse "unknown flag --bogus" "bogus" "${good[@]}" --bogus "${out_r[@]}"
refuse "stray argument" "stray" "${good[@]}" stray "${out_r[@]}"
set_arg --images "$d/xf32.npy";           refuse "float32 images" "uint8" "${args[@]}" "${out_r[@]}"
set_arg --images "$d/x2827.npy";          refuse "images of shape [96,28,27]" "28,28" "${args[@]}" "${out_r[@]}"
set_arg --val-split 1.5;                  refuse "--val-split 1.5" "--val-split" "${args[@]}" "${out_r[@]}"
set_arg --val-split -0.1;                 refuse "--val-split -0.1" "--val-split" "${args[@]}" "${out_r[@]}"
refuse "--test-images without --test-labels" "test-labels" "${good[@]}" --test-images "$d/x16.npy" "${out_r[@]}"
((failures == 0)) && ok "bad command lines and inputs are refused with 'train: ...' and create nothing"

# an existing run is not overwritten without --resume, nor resumed with other settings
cp -a "$tmp/C" "$tmp/E"
before=$(snap "$tmp/E")
rc=0
"$train" "${base[@]}" --epochs 2 --val-split 0 --out "$tmp/E" 2> "$tmp/stderr" || rc=$?
((rc != 0)) || fail "existing run overwritten (exit 0)"
grep -q "^train: .*already holds a run" "$tmp/stderr" || fail "existing run: message: $(cat "$tmp/stderr")"
[[ $(snap "$tmp/E") == "$before" ]] || fail "existing run: files changed"
no_temps "$tmp/E"
rc=0
"$train" "${base[@]}" --epochs 3 --val-split 0 --seed 6 --resume --out "$tmp/E" 2> "$tmp/stderr" || rc=$?
((rc != 0)) || fail "resumed a run with another seed"
grep -q "^train: .*other settings: --seed 5, not --seed 6;" "$tmp/stderr" ||
    fail "resume with another seed: message: $(cat "$tmp/stderr")"
[[ $(snap "$tmp/E") == "$before" ]] || fail "resume with another seed: files changed"
no_temps "$tmp/E"
ok "an existing run dir is refused without --resume, and with other settings, and left untouched"

# progress: every epoch but the last says how long the rest of the run will take
"$train" "${base[@]:0:${#base[@]}-1}" --epochs 3 --val-split 0 --out "$tmp/P" 2> "$tmp/stderr"
[[ $(grep -c "^train: epoch [12]: .*; about [0-9]\+ \(s\|min\) to epoch 3$" "$tmp/stderr") == 2 ]] ||
    fail "progress: no time left after epochs 1 and 2: $(cat "$tmp/stderr")"
grep -q "^train: epoch 3: .*img/s)$" "$tmp/stderr" || fail "progress: epoch 3's line: $(cat "$tmp/stderr")"
ok "without --quiet, each epoch's line but the last's gives the time to the run's end"
"$train" "${base[@]:0:${#base[@]}-1}" --threads 1 --epochs 1 --val-split 0 --out "$tmp/P1" 2> "$tmp/stderr"
grep -q "^train: lenet5, .*, batch 16, 1 epoch$" "$tmp/stderr" && grep -q "; 1 thread (asked for 1)$" "$tmp/stderr" ||
    fail "one epoch, one thread: $(cat "$tmp/stderr")"
ok "the settings lines say '1 epoch' and '1 thread'"
# evaluation's progress on a terminal: a line per set, erased before the epoch's line
if command -v script > /dev/null && script -qec true /dev/null > /dev/null 2>&1; then
    cmd=$(printf '%q ' "$train" "${loud[@]}" --epochs 1 --out "$tmp/PT")
    script -qec "$cmd" /dev/null > "$tmp/tty.out" 2>&1 || fail "train on a terminal: $(cat "$tmp/tty.out")"
    for want in "epoch 0/1  validation 0/24 images" "epoch 0/1  test 0/16 images" \
                "epoch 1/1  validation 0/24 images" "epoch 1/1  test 0/16 images"; do
        grep -qF "$want" "$tmp/tty.out" || fail "train on a terminal: no '$want': $(cat -A "$tmp/tty.out")"
    done
    grep -q $'\r *\rtrain: epoch 1: ' "$tmp/tty.out" || fail "train on a terminal: evaluation line not erased"
    ok "on a terminal, evaluation shows its progress per set (validation, test) and erases it"
fi

# one train per run directory: a second is refused at once, naming the holder's pid;
# the kernel drops the lock when the holder dies
mkdir "$tmp/L"
"$train" "${base[@]}" --epochs 400 --val-split 0 --out "$tmp/L" &
holder=$!
for ((i = 0; i < 600; i++)); do [[ -e $tmp/L/epoch-000.npz ]] && break; sleep 0.1; done   # locked by then
rc=0
"$train" "${base[@]}" --epochs 400 --val-split 0 --out "$tmp/L" --resume 2> "$tmp/stderr" || rc=$?
kill "$holder" 2> /dev/null; wait "$holder" 2> /dev/null || true
((rc == 1)) || fail "second train on a busy run directory: exit $rc, expected 1"
grep -q "^train: $tmp/L: in use by another process (pid $holder)" "$tmp/stderr" ||
    fail "second train on a busy run directory: message: $(cat "$tmp/stderr")"
"$train" "${base[@]}" --epochs 2 --val-split 0 --out "$tmp/L2"
if command -v flock > /dev/null; then
    flock -o -x "$tmp/L2" sleep 30 &     # -o: only flock itself holds the lock
    holder=$!
    for ((i = 0; i < 100; i++)); do grep -q "FLOCK .* $holder " /proc/locks 2> /dev/null && break; sleep 0.05; done
    before=$(snap "$tmp/L2")
    rc=0
    "$train" "${base[@]}" --epochs 3 --val-split 0 --out "$tmp/L2" --resume 2> "$tmp/stderr" || rc=$?
    ((rc == 1)) && grep -q "in use by another process (pid $holder)" "$tmp/stderr" ||
        fail "a run directory locked by flock(1): exit $rc, $(cat "$tmp/stderr")"
    [[ $(snap "$tmp/L2") == "$before" ]] || fail "a refused train changed the locked run"
    child=$(pgrep -P "$holder" 2> /dev/null || true)
    kill -9 "$holder"; wait "$holder" 2> /dev/null || true
    [[ -n $child ]] && kill "$child" 2> /dev/null
    "$train" "${base[@]}" --epochs 3 --val-split 0 --out "$tmp/L2" --resume ||
        fail "train after the lock's holder was killed: exit $?"
    [[ -e $tmp/L2/epoch-003.npz ]] || fail "train after the holder was killed did not run"
fi
ok "a second train on a busy run directory is refused naming the holder's pid; the lock dies with its holder"

# divergence: a non-finite loss stops training, naming the epoch and batch; the last
# checkpoint stays, nothing later is written, and nothing is called good (--lr 1e6,
# the largest allowed: test_numeric.sh has divergence in an epoch's last step too)
rc=0
"$train" "${base[@]}" --epochs 3 --val-split 0 --optimizer sgd --lr 1e6 --out "$tmp/D" 2> "$tmp/stderr" || rc=$?
((rc == 1)) || fail "divergence: exit $rc, expected 1"
grep -q "^train: .*diverged: loss is .* at epoch 1, batch [0-9]*; no checkpoint written for epoch 1 (the last one written is epoch-000.npz)" \
    "$tmp/stderr" || fail "divergence: message: $(cat "$tmp/stderr")"
! grep -qi good "$tmp/stderr" || fail "divergence: calls a checkpoint good: $(cat "$tmp/stderr")"
[[ -f $tmp/D/epoch-000.npz && ! -e $tmp/D/epoch-001.npz ]] || fail "divergence: checkpoints $(ls "$tmp/D")"
no_temps "$tmp/D"
ok "a diverging run stops with the epoch and batch named and keeps its last checkpoint"

if ((failures)); then
    echo "test_train.sh: $failures failures (see FAIL lines above), $checks checks passed" >&2
    exit 1
fi
echo "test_train.sh: $checks checks passed"
