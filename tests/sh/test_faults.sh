#!/usr/bin/env bash
# test_faults.sh - a full disk never costs an existing file.
#
# Every tool that writes a named file (idx2bin, train, snapshot, featmat, agop,
# stack, heatmap) is run with its output over an existing file while writes
# beyond 1 KiB fail with EFBIG (`ulimit -f 1`, SIGXFSZ ignored: the same
# error path as ENOSPC). Each must exit 1 with "tool: FILE: why", leave the old
# file byte-identical and leave no temporary file behind.  For train: a run is
# --resumed under the limit; its checkpoints, state and metrics stay as they
# were, and a later --resume without the limit completes the run.
# The data are made here (random uint8 images through idx2bin): no numpy needed.
# Env: BIN (directory holding the tools), FE_ROOT (repository root).
set -euo pipefail
: "${BIN:?set BIN}" "${FE_ROOT:?set FE_ROOT}"
cd "$FE_ROOT"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); echo "ok: $*"; }

# 64 images [64,28,28] and labels 0..9 as IDX, then .npy
N=64
{ printf '\0\0\010\003\0\0\0\100\0\0\0\034\0\0\0\034'; head -c $((N * 784)) /dev/urandom; } > "$tmp/x.idx"
{ printf '\0\0\010\001\0\0\0\100'; for ((i = 0; i < N; i++)); do printf "\\$(printf '%03o' $((i % 10)))"; done; } > "$tmp/y.idx"
"$BIN/idx2bin" -o "$tmp/x.npy" "$tmp/x.idx"
"$BIN/idx2bin" -o "$tmp/y.npy" "$tmp/y.idx"
run=$tmp/run
common=(--model lenet5 --images "$tmp/x.npy" --labels "$tmp/y.npy" --out "$run" --batch 16
        --optimizer adam --lr 1e-3 --seed 1 --threads 1 --quiet)
"$BIN/train" "${common[@]}" --epochs 1

# full TOOL OUT ARGS...: run ARGS with writes capped at 1 KiB; OUT already exists
full() {
    local tool=$1 out=$2
    shift 2
    cp "$out" "$tmp/before"
    local rc=0
    ( ulimit -f 1; trap '' XFSZ; exec "$@" ) > /dev/null 2> "$tmp/err" || rc=$?
    [[ $rc -eq 1 ]] || fail "$tool under a full disk: exit $rc, want 1: $(cat "$tmp/err")"
    grep -q "^$tool: $out: .*File too large" "$tmp/err" ||
        fail "$tool under a full disk: message '$(cat "$tmp/err")' does not name $out and the error"
    cmp -s "$out" "$tmp/before" || fail "$tool under a full disk changed the old $out"
    local left
    # temporaries are named .featevo.tmp.PID.HOST.XXXXXX (tools/lib/io.c; before
    # issue 30 .NAME.tmp.PID.XXXXXX): either, or any other copy of the name
    left=$(find "$(dirname "$out")" \( -name "*$(basename "$out")*" ! -name "$(basename "$out")" \) \
           -o -name '.featevo.tmp.*')
    [[ -z $left ]] || fail "$tool under a full disk left behind: $left"
    ok "$tool: a full disk keeps the old $(basename "$out") and says $(sed 's/.*: //' "$tmp/err")"
}

ck=$run/epoch-001.npz
"$BIN/snapshot" --ckpt "$ck" --tensor fc1.weight -o "$tmp/w.npy"
"$BIN/featmat" -o "$tmp/nfm.npy" "$tmp/w.npy"
"$BIN/agop" --ckpt "$ck" --images "$tmp/x.npy" --layer conv2 --count 4 --quiet -o "$tmp/agop.npy"
"$BIN/stack" -o "$tmp/stack.npy" "$tmp/nfm.npy" "$tmp/nfm.npy"
"$BIN/heatmap" -o "$tmp/nfm.png" "$tmp/nfm.npy"

full idx2bin "$tmp/x.npy" "$BIN/idx2bin" -o "$tmp/x.npy" "$tmp/x.idx"
full snapshot "$tmp/w.npy" "$BIN/snapshot" --ckpt "$ck" --tensor fc1.weight -o "$tmp/w.npy"
full featmat "$tmp/nfm.npy" "$BIN/featmat" -o "$tmp/nfm.npy" "$tmp/w.npy"
full agop "$tmp/agop.npy" "$BIN/agop" --ckpt "$ck" --images "$tmp/x.npy" --layer conv2 --count 4 \
    --quiet -o "$tmp/agop.npy"
full stack "$tmp/stack.npy" "$BIN/stack" -o "$tmp/stack.npy" "$tmp/nfm.npy" "$tmp/nfm.npy"
full heatmap "$tmp/nfm.png" "$BIN/heatmap" -o "$tmp/nfm.png" "$tmp/nfm.npy"

# train: resuming to epoch 2 cannot write epoch-002.npz; the run stays at epoch 1
cp -a "$run" "$tmp/run-before"
rc=0
( ulimit -f 1; trap '' XFSZ; exec "$BIN/train" "${common[@]}" --epochs 2 --resume ) 2> "$tmp/err" || rc=$?
[[ $rc -eq 1 ]] || fail "train under a full disk: exit $rc, want 1: $(cat "$tmp/err")"
grep -q "^train: $run/.*File too large" "$tmp/err" || fail "train under a full disk said: $(cat "$tmp/err")"
diff -r "$run" "$tmp/run-before" > /dev/null || fail "train under a full disk changed the run: $(diff -rq "$run" "$tmp/run-before")"
ok "train: a full disk leaves the run at its last complete epoch; $(sed 's/.*: //' "$tmp/err")"
"$BIN/train" "${common[@]}" --epochs 2 --resume
[[ -s $run/epoch-002.npz ]] || fail "train --resume after the full disk did not finish epoch 2"
[[ $(tail -n 1 "$run/metrics.tsv" | cut -f1) == 2 ]] || fail "metrics.tsv does not end at epoch 2"
[[ -z $(find "$run" -name '*.tmp*') ]] || fail "temporary files left in the run: $(ls "$run")"
ok "train: --resume without the limit completes the run"
echo "test_faults.sh: $checks checks passed"
