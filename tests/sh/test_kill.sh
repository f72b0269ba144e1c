#!/usr/bin/env bash
# test_kill.sh - kill -9 of train at random moments, then --resume, must end with
# checkpoints, optimiser state and metrics (bar the timing columns) byte-identical
# to an uninterrupted run, and no half-written file may ever be visible under a
# final name.  Env: BIN (directory holding the tools), FE_ROOT (repository root).
set -euo pipefail
: "${BIN:?set BIN}" "${FE_ROOT:?set FE_ROOT}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
/usr/bin/python3 -c 'import numpy' 2>/dev/null || { echo "SKIP: needs /usr/bin/python3 with numpy"; exit 77; }
/usr/bin/python3 - "$tmp" <<'PY'
import sys, numpy as np
r = np.random.default_rng(5)
np.save(f"{sys.argv[1]}/x.npy", (r.random((2000, 28, 28)) ** 3 * 255).astype(np.uint8))
np.save(f"{sys.argv[1]}/y.npy", r.integers(0, 10, 2000).astype(np.uint8))
PY
args=(--model lenet5 --images "$tmp/x.npy" --labels "$tmp/y.npy" --epochs 8 --batch 32
      --optimizer adam --lr 1e-3 --seed 9 --val-split 0.1 --threads 1 --quiet)
"$BIN/train" "${args[@]}" --out "$tmp/ref"
strip() { cut -f1-7,10 "$1"; }        # metrics without seconds and images/s

# Every visible .npz must always be complete: numpy can load it.
valid() {
    /usr/bin/python3 - "$1" <<'PY' || fail "a file under its final name is incomplete"
import sys, glob, numpy as np
for f in glob.glob(sys.argv[1] + "/*.npz"):
    with np.load(f) as z:
        for k in z.files:
            z[k]
PY
}
kills=0
for trial in 1 2 3; do
    out=$tmp/run$trial
    rm -rf "$out"
    for attempt in $(seq 1 40); do
        "$BIN/train" "${args[@]}" --out "$out" --resume &
        pid=$!
        # a random moment within the first second of this attempt (0.00-0.99 s)
        sleep "0.$(( RANDOM % 10 ))$(( RANDOM % 10 ))"
        if kill -9 "$pid" 2> /dev/null; then kills=$((kills + 1)); fi
        wait "$pid" 2> /dev/null || true
        valid "$out"
        [[ -f $out/metrics.tsv ]] && [[ $(tail -n 1 "$out/metrics.tsv" | cut -f1) == 8 ]] && break
    done
    "$BIN/train" "${args[@]}" --out "$out" --resume       # finish if the loop did not
    for f in epoch-008.npz epoch-004.npz state.npz; do
        cmp "$tmp/ref/$f" "$out/$f" || fail "trial $trial: $f differs after kills and resumes"
    done
    diff <(strip "$tmp/ref/metrics.tsv") <(strip "$out/metrics.tsv") > /dev/null ||
        fail "trial $trial: metrics differ"
    leftovers=$(find "$out" -name '*.tmp*' | head -3)
    echo "trial $trial: identical after $attempt attempts${leftovers:+ (temp files left by killed writers: $leftovers)}"
done
((kills > 0)) || fail "no attempt was killed: the test did not test anything"
echo "test_kill.sh: $kills kills, every run identical to the uninterrupted one"
