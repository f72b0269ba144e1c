#!/usr/bin/env bash
# test_analysis.sh - featmat, corr, stack, npy2txt, snapshot and agop from the shell:
# results against independent numpy computations, pipes, and every bad input
# refused with "tool: what: why", a non-zero exit and no output file left behind.
# Env: BIN (directory holding the tools), FE_ROOT (repository root); FE_SKIP_RESNET=1
# leaves out the one ResNet-18 computation (tests/run-valgrind.sh sets it for its
# quick pass in make test: ResNet-18 under valgrind takes minutes per image).
set -euo pipefail
: "${BIN:?set BIN}" "${FE_ROOT:?set FE_ROOT}"
cd "$FE_ROOT"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); }
PY=/usr/bin/python3
$PY -c 'import numpy' 2>/dev/null || { echo "SKIP: test_analysis.sh needs /usr/bin/python3 with numpy"; exit 77; }

# refused: non-zero exit, message starting "TOOL: ", no files left in $tmp/out.
# Under tests/run-valgrind.sh (FE_VG_DIRECT: the tools themselves, beside the
# wrappers in BIN) a refusal runs the tool directly: valgrind's start-up alone
# costs 2 s a run, 64 s for these 32 refusals; their error paths are leak-checked
# by LeakSanitizer in make test's ASan part, and memcheck watches the computations.
refused() {
    local tool=$1; shift
    [[ -n ${FE_VG_DIRECT:-} ]] && set -- "$FE_VG_DIRECT/${1#"$BIN"/}" "${@:2}"
    rm -rf "$tmp/out"; mkdir "$tmp/out"
    if "$@" > "$tmp/out/stdout" 2> "$tmp/err"; then fail "$tool accepted: $*"; fi
    grep -q "^$tool: " "$tmp/err" || fail "$tool: message does not start with '$tool: ': $(cat "$tmp/err")"
    rm -f "$tmp/out/stdout"
    [[ -z $(ls -A "$tmp/out") ]] || fail "$tool left files behind: $(ls -A "$tmp/out")"
    ok
}

$PY - "$tmp" <<'PYEOF'
import sys, numpy as np
t = sys.argv[1]; r = np.random.default_rng(3)
np.save(f"{t}/conv.npy", r.standard_normal((8, 3, 3, 3)).astype(np.float32))
np.save(f"{t}/lin.npy", r.standard_normal((5, 7)).astype(np.float32))
np.save(f"{t}/f64.npy", r.standard_normal((4, 6)))
a = r.standard_normal((6, 6)).astype(np.float32)
np.save(f"{t}/a.npy", a); np.save(f"{t}/a2.npy", (3 * a + 1).astype(np.float32))
np.save(f"{t}/aneg.npy", (-a).astype(np.float32)); np.save(f"{t}/b.npy", r.standard_normal((6, 6)).astype(np.float32))
np.save(f"{t}/const.npy", np.ones((6, 6), np.float32)); np.save(f"{t}/v5.npy", np.arange(5, dtype=np.float32))
bad = a.copy(); bad[2, 3] = np.nan; np.save(f"{t}/nan.npy", bad)
np.save(f"{t}/s1.npy", np.arange(12, dtype=np.float32).reshape(2, 2, 3))
np.save(f"{t}/s2.npy", np.arange(6, dtype=np.float32).reshape(1, 2, 3) + 100)
np.save(f"{t}/s3.npy", np.arange(8, dtype=np.float32).reshape(2, 4))
np.save(f"{t}/s4.npy", np.arange(4, dtype=np.float32).reshape(1, 2, 1, 2))
np.save(f"{t}/img.npy", (r.random((12, 28, 28)) ** 3 * 255).astype(np.uint8))
np.save(f"{t}/img520.npy", (r.random((520, 28, 28)) ** 3 * 255).astype(np.uint8))
np.save(f"{t}/lab.npy", r.integers(0, 10, 12).astype(np.uint8))
np.save(f"{t}/imgf.npy", r.random((12, 28, 28)).astype(np.float32))
PYEOF

# ---- featmat: W^T W and W W^T against numpy, files and pipes -------------
"$BIN/featmat" "$tmp/conv.npy" -o "$tmp/nfm.npy"
"$BIN/featmat" --gram < "$tmp/conv.npy" > "$tmp/gram.npy"
cat "$tmp/lin.npy" | "$BIN/featmat" | cat > "$tmp/nfm_lin.npy"
"$BIN/featmat" -o "$tmp/nfm64.npy" "$tmp/f64.npy"
$PY - "$tmp" <<'PYEOF' || fail "featmat disagrees with numpy"
import sys, numpy as np
t = sys.argv[1]
w = np.load(f"{t}/conv.npy").astype(np.float64).reshape(8, -1)
for name, ref in (("nfm", w.T @ w), ("gram", w @ w.T)):
    got = np.load(f"{t}/{name}.npy")
    assert got.dtype == np.float32 and got.shape == ref.shape, (name, got.dtype, got.shape)
    assert np.allclose(got, ref, rtol=1e-6, atol=1e-6), name
l = np.load(f"{t}/lin.npy").astype(np.float64)
assert np.allclose(np.load(f"{t}/nfm_lin.npy"), l.T @ l, rtol=1e-6, atol=1e-6)
f = np.load(f"{t}/f64.npy")
assert np.allclose(np.load(f"{t}/nfm64.npy"), f.T @ f, rtol=1e-6, atol=1e-6)
PYEOF
ok
refused featmat "$BIN/featmat" "$tmp/v5.npy" -o "$tmp/out/x.npy"           # 1-D
refused featmat "$BIN/featmat" "$tmp/missing.npy" -o "$tmp/out/x.npy"
refused featmat "$BIN/featmat" -o "$tmp/out/x.npy" "$tmp/lab.idx.nonexistent"
head -c 100 "$tmp/conv.npy" > "$tmp/trunc.npy"
refused featmat "$BIN/featmat" "$tmp/trunc.npy" -o "$tmp/out/x.npy"
"$BIN/featmat" --bogus < /dev/null > /dev/null 2>&1 && fail "featmat accepted --bogus"; [[ $? -ne 0 ]]; ok
"$BIN/featmat" --help | grep -q "W^T W" || fail "featmat --help"; ok

# ---- corr: known pairs ----------------------------------------------------
[[ $("$BIN/corr" "$tmp/a.npy" "$tmp/a2.npy") == 1.000000 ]] || fail "corr(a, 3a+1) != 1"; ok
[[ $("$BIN/corr" "$tmp/a.npy" "$tmp/aneg.npy") == -1.000000 ]] || fail "corr(a, -a) != -1"; ok
want=$($PY -c "import numpy as np; a=np.load('$tmp/a.npy').ravel(); b=np.load('$tmp/b.npy').ravel(); print('%.6f' % np.corrcoef(a, b)[0, 1])")
[[ $("$BIN/corr" "$tmp/a.npy" - < "$tmp/b.npy") == "$want" ]] || fail "corr(a, b) != numpy's $want"; ok
refused corr "$BIN/corr" "$tmp/a.npy" "$tmp/v5.npy"          # shape
refused corr "$BIN/corr" "$tmp/a.npy" "$tmp/const.npy"       # undefined
refused corr "$BIN/corr" "$tmp/a.npy" "$tmp/nan.npy"         # NaN
refused corr "$BIN/corr" "$tmp/a.npy" "$tmp/missing.npy"
"$BIN/corr" "$tmp/a.npy" > /dev/null 2>&1 && fail "corr accepted one input"; ok
# the first against each of the others, on one line; the first from a pipe, read once
[[ $("$BIN/corr" - "$tmp/a2.npy" "$tmp/aneg.npy" "$tmp/b.npy" < "$tmp/a.npy") == $'1.000000\t-1.000000\t'"$want" ]] ||
    fail "corr a a2 aneg b: $("$BIN/corr" "$tmp/a.npy" "$tmp/a2.npy" "$tmp/aneg.npy" "$tmp/b.npy")"; ok
refused corr "$BIN/corr" - "$tmp/a.npy" -                                  # stdin twice
refused corr "$BIN/corr" "$tmp/a.npy" "$tmp/a2.npy" "$tmp/v5.npy"         # the third's shape
grep -qF "v5.npy: shape [5] differs from $tmp/a.npy's [6,6]" "$tmp/err" ||
    fail "corr: which array differs, both shapes: $(cat "$tmp/err")"; ok
# options and operands in any order, "--" before a name with a dash
[[ $("$BIN/corr" "$tmp/a.npy" -- "$tmp/a2.npy") == 1.000000 ]] || fail "corr A -- B"; ok
[[ $("$BIN/corr" "$tmp/a.npy" "$tmp/a2.npy" -h | head -1) == "usage: corr"* ]] || fail "corr A B -h"; ok

# ---- stack and npy2txt --------------------------------------------------------
"$BIN/stack" -o "$tmp/st.npy" "$tmp/s1.npy" "$tmp/s2.npy"
$PY -c "
import numpy as np
s = np.load('$tmp/st.npy'); r = np.concatenate([np.load('$tmp/s1.npy'), np.load('$tmp/s2.npy')])
assert s.shape == (3, 2, 3) and (s == r).all()" || fail "stack result"
ok
refused stack "$BIN/stack" -o "$tmp/out/x.npy" "$tmp/s1.npy" "$tmp/s3.npy"   # trailing shape
grep -qF "s3.npy: float32 [2,4], but $tmp/s1.npy is float32 [2,2,3]" "$tmp/err" ||
    fail "stack: both shapes: $(cat "$tmp/err")"; ok
# -o after the inputs, or between them, as every tool takes options anywhere
"$BIN/stack" "$tmp/s1.npy" "$tmp/s2.npy" -o "$tmp/st2.npy"
"$BIN/stack" "$tmp/s1.npy" --output "$tmp/st3.npy" "$tmp/s2.npy"
cmp -s "$tmp/st.npy" "$tmp/st2.npy" && cmp -s "$tmp/st.npy" "$tmp/st3.npy" || fail "stack A B -o OUT"; ok
refused stack "$BIN/stack" -o "$tmp/out/x.npy" "$tmp/s1.npy" "$tmp/missing.npy"
[[ $("$BIN/npy2txt" "$tmp/s3.npy") == $'0 1 2 3\n4 5 6 7' ]] || fail "npy2txt output"; ok
# 3-D [N,H,W]: N matrices two blank lines apart, gnuplot's data sets (matrix index I)
[[ $("$BIN/npy2txt" "$tmp/s1.npy") == $'0 1 2\n3 4 5\n\n\n6 7 8\n9 10 11' ]] || fail "npy2txt 3-D output"; ok
refused npy2txt "$BIN/npy2txt" "$tmp/s4.npy"                                 # 4-D
[[ $("$BIN/npy2txt" "$tmp/s3.npy" --version) == "npy2txt (featevo) "* ]] || fail "npy2txt M --version"; ok

# ---- snapshot and agop on a tiny trained model --------------------------------
"$BIN/train" --model lenet5 --images "$tmp/img.npy" --labels "$tmp/lab.npy" --out "$tmp/run" \
    --epochs 1 --batch 6 --optimizer adam --lr 1e-3 --seed 1 --threads 1 --quiet
ck=$tmp/run/epoch-001.npz
"$BIN/snapshot" --ckpt "$ck" --list > "$tmp/list"
grep -q $'^conv1.weight\tfloat32\t\[6,1,5,5\]$' "$tmp/list" || fail "snapshot --list: $(head -3 "$tmp/list")"; ok
"$BIN/snapshot" --ckpt "$ck" --tensor conv1.weight | "$BIN/featmat" | "$BIN/npy2txt" > "$tmp/nfm.txt"
[[ $(wc -l < "$tmp/nfm.txt") -eq 25 ]] || fail "snapshot | featmat | npy2txt: not 25 rows"; ok
"$BIN/snapshot" --ckpt "$ck" --images "$tmp/img.npy" --index 11 --layer conv2 -o "$tmp/m.npy"
$PY -c "
import numpy as np; m = np.load('$tmp/m.npy')
assert m.shape == (16, 10, 10) and m.dtype == np.float32 and (m >= 0).all()" || fail "snapshot conv2 shape"
ok
refused snapshot "$BIN/snapshot" --ckpt "$ck" --images "$tmp/img.npy" --index 0 --layer conv9 -o "$tmp/out/x.npy"
grep -q "layers: conv1, conv2, fc1, fc2, fc3" "$tmp/err" || fail "unknown layer does not list the layers"; ok
refused snapshot "$BIN/snapshot" --ckpt "$ck" --images "$tmp/img.npy" --index 12 --layer conv1 -o "$tmp/out/x.npy"
refused snapshot "$BIN/snapshot" --ckpt "$ck" --images "$tmp/imgf.npy" --index 0 --layer conv1 -o "$tmp/out/x.npy"
refused snapshot "$BIN/snapshot" --ckpt "$ck" --tensor nope -o "$tmp/out/x.npy"
refused snapshot "$BIN/snapshot" --model resnet18 --ckpt "$ck" --images "$tmp/img.npy" --index 0 --layer conv1 -o "$tmp/out/x.npy"
grep -q "lenet5 checkpoint" "$tmp/err" || fail "wrong-model message: $(cat "$tmp/err")"; ok
refused snapshot "$BIN/snapshot" --ckpt "$tmp/img.npy" --list
"$BIN/agop" --ckpt "$ck" --images "$tmp/img.npy" --layer conv1 --count 5 --batch 2 --quiet -o "$tmp/ag.npy"
$PY -c "
import numpy as np; a = np.load('$tmp/ag.npy')
assert a.shape == (25, 25) and np.allclose(a, a.T, rtol=1e-5, atol=1e-12)
assert np.linalg.eigvalsh(a.astype(np.float64)).min() > -1e-6 * abs(a).max()" || fail "agop not symmetric PSD 25x25"
ok
# fc3: the AGOP of the last layer is exactly W^T W (sum over classes of e_c e_c^T = I)
"$BIN/agop" --ckpt "$ck" --images "$tmp/img.npy" --layer fc3 --quiet -o "$tmp/ag3.npy"
"$BIN/snapshot" --ckpt "$ck" --tensor fc3.weight | "$BIN/featmat" -o "$tmp/nfm3.npy"
$PY -c "
import numpy as np
assert np.allclose(np.load('$tmp/ag3.npy'), np.load('$tmp/nfm3.npy'), rtol=1e-5, atol=1e-7)" || fail "agop(fc3) != W^T W"
ok
# the default --count: 500 images (of 520), not all of them.  Not under memcheck
# (tests/run-valgrind.sh sets FE_VALGRIND), where agop costs 2-3 s an image: this
# test took 686 s there with these runs (in a make test), 462 s without (alone).
# The same code runs under memcheck with --count 5 and 12 below; the plain and
# ASan lanes run this check.
if [[ -n ${FE_VALGRIND:-} ]]; then
    echo "skipped under valgrind: agop's default --count (1540 images; checked in the plain and ASan lanes)"
else
    "$BIN/agop" --ckpt "$ck" --images "$tmp/img520.npy" --layer conv1 --quiet -o "$tmp/agd.npy"
    "$BIN/agop" --ckpt "$ck" --images "$tmp/img520.npy" --layer conv1 --count 500 --quiet -o "$tmp/ag500.npy"
    "$BIN/agop" --ckpt "$ck" --images "$tmp/img520.npy" --layer conv1 --count 520 --quiet -o "$tmp/ag520.npy"
    cmp -s "$tmp/agd.npy" "$tmp/ag500.npy" && ! cmp -s "$tmp/agd.npy" "$tmp/ag520.npy" ||
        fail "agop's default --count is not 500"; ok
fi
"$BIN/agop" --help | grep -q -- "--count N .*(default 500" || fail "agop --help: the default --count"; ok
# several layers in one run: each output the very bytes of a run for it alone
"$BIN/agop" --ckpt "$ck" --images "$tmp/img.npy" --count 5 --batch 2 --quiet \
    --layer fc3 -o "$tmp/agm3.npy" --layer conv1 -o "$tmp/agm1.npy" --layer fc1 -o "$tmp/agm_fc1.npy"
"$BIN/agop" --ckpt "$ck" --images "$tmp/img.npy" --layer fc1 --count 5 --batch 2 --quiet -o "$tmp/ag_fc1.npy"
"$BIN/agop" --ckpt "$ck" --images "$tmp/img.npy" --layer fc3 --count 5 --batch 2 --quiet -o "$tmp/ag3_5.npy"
cmp -s "$tmp/agm1.npy" "$tmp/ag.npy" || fail "agop conv1 with fc3 and fc1 differs from conv1 alone"; ok
cmp -s "$tmp/agm_fc1.npy" "$tmp/ag_fc1.npy" || fail "agop fc1 with fc3 and conv1 differs from fc1 alone"; ok
cmp -s "$tmp/agm3.npy" "$tmp/ag3_5.npy" || fail "agop fc3 with conv1 and fc1 differs from fc3 alone"; ok
refused agop "$BIN/agop" --ckpt "$ck" --images "$tmp/img.npy" --layer conv1 --layer fc1 -o "$tmp/out/x.npy"
grep -q "2 --layer but 1 -o" "$tmp/err" || fail "agop: layers without their -o: $(cat "$tmp/err")"; ok
refused agop "$BIN/agop" --ckpt "$ck" --images "$tmp/img.npy" --layer conv1 -o "$tmp/out/x.npy" -o "$tmp/out/y.npy"
refused agop "$BIN/agop" --ckpt "$ck" --images "$tmp/img.npy" --layer conv1 -o "$tmp/out/x.npy" --layer conv1 -o "$tmp/out/y.npy"
grep -q "conv1 given twice" "$tmp/err" || fail "agop: a layer twice: $(cat "$tmp/err")"; ok
refused agop "$BIN/agop" --ckpt "$ck" --images "$tmp/img.npy" --layer conv1 -o "$tmp/out/x.npy" --layer fc1 -o "$tmp/out/x.npy"
grep -q "x.npy given for two layers" "$tmp/err" || fail "agop: one file twice: $(cat "$tmp/err")"; ok
refused agop "$BIN/agop" --ckpt "$ck" --images "$tmp/img.npy" --layer conv1 -o "$tmp/out/x.npy" --layer conv9 -o "$tmp/out/y.npy"
# --sizes: the whole pool's corr is corr(featmat, agop) over the same images; a pool
# of one block resamples to itself; the same seed gives the same table.  (Under
# valgrind 5 resamples, not 50: the same code, 42 s instead of 83 s.)
nres=50
[[ -n ${FE_VALGRIND:-} ]] && nres=5
"$BIN/agop" --ckpt "$ck" --images "$tmp/img.npy" --count 12 --batch 2 --quiet \
    --layer conv1 --layer fc1 --sizes 2,6,12 --resamples $nres -o "$tmp/sizes.tsv"
"$BIN/agop" --ckpt "$ck" --images "$tmp/img.npy" --count 12 --batch 2 --quiet \
    --layer conv1 -o "$tmp/ag12c.npy" --layer fc1 -o "$tmp/ag12f.npy"
for l in conv1:c fc1:f; do
    "$BIN/snapshot" --ckpt "$ck" --tensor "${l%%:*}.weight" | "$BIN/featmat" -o "$tmp/nfm12${l##*:}.npy"
done
pc=$("$BIN/corr" "$tmp/nfm12c.npy" "$tmp/ag12c.npy") pf=$("$BIN/corr" "$tmp/nfm12f.npy" "$tmp/ag12f.npy")
$PY - "$tmp/sizes.tsv" "$pc" "$pf" $nres <<'PYEOF' || fail "agop --sizes table: $(cat "$tmp/sizes.tsv")"
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
assert rows[0] == "layer n pool corr_pool resamples corr_mean corr_sd ci95_lo ci95_hi".split(), rows[0]
body = rows[1:]
assert [(r[0], r[1]) for r in body] == [(l, n) for l in ("conv1", "fc1") for n in ("2", "6", "12")], body
want = {"conv1": float(sys.argv[2]), "fc1": float(sys.argv[3])}
for r in body:
    pool, mean, sd, lo, hi = (float(r[i]) for i in (3, 5, 6, 7, 8))
    assert r[2] == "12" and r[4] == sys.argv[4]
    assert abs(pool - want[r[0]]) <= 1.5e-6, (r, want)          # both rounded to 6 decimals
    assert sd > 0 and lo <= mean <= hi and lo < hi, r
PYEOF
ok
# the resampling's seed (two more runs of the same code, 80 s each under memcheck:
# not there; the plain and ASan lanes run them)
if [[ -n ${FE_VALGRIND:-} ]]; then
    echo "skipped under valgrind: agop --sizes, the same seed twice and another seed"
else
    "$BIN/agop" --ckpt "$ck" --images "$tmp/img.npy" --count 12 --batch 2 --quiet \
        --layer conv1 --layer fc1 --sizes 2,6,12 --resamples 50 > "$tmp/sizes2.tsv"
    cmp -s "$tmp/sizes.tsv" "$tmp/sizes2.tsv" || fail "agop --sizes: the same seed, another table"; ok
    "$BIN/agop" --ckpt "$ck" --images "$tmp/img.npy" --count 12 --batch 2 --quiet \
        --layer conv1 --layer fc1 --sizes 2,6,12 --resamples 50 --seed 1 > "$tmp/sizes3.tsv"
    cmp -s "$tmp/sizes.tsv" "$tmp/sizes3.tsv" && fail "agop --sizes: seed 1 drew what seed 0 did"; ok
fi
"$BIN/agop" --ckpt "$ck" --images "$tmp/img.npy" --count 4 --batch 4 --quiet --layer conv2 --sizes 4 \
    --resamples 10 | awk -F'\t' 'NR == 2 && $4 == $6 && $4 == $8 && $4 == $9 && $7 == "0.000000" { ok = 1 }
    END { exit !ok }' || fail "agop --sizes: one block does not resample to itself"; ok
for bad in "--count 12 --batch 5 --sizes 5" "--count 12 --batch 2 --sizes 3" "--count 12 --batch 2 --sizes 14" \
           "--count 12 --batch 2 --sizes 6,2" "--count 12 --batch 2 --sizes 2 --resamples 1" \
           "--count 12 --batch 2 --sizes 2,x"; do
    # shellcheck disable=SC2086
    refused agop "$BIN/agop" --ckpt "$ck" --images "$tmp/img.npy" --layer conv1 $bad -o "$tmp/out/x.tsv"
done
if [[ -z ${FE_SKIP_RESNET:-} ]]; then
    "$BIN/train" --model resnet18 --images "$tmp/img.npy" --labels "$tmp/lab.npy" --out "$tmp/runr" \
        --epochs 0 --batch 6 --optimizer sgd --lr 1e-3 --seed 1 --threads 1 --quiet
    "$BIN/agop" --ckpt "$tmp/runr/epoch-000.npz" --images "$tmp/img.npy" --layer layer2.0.shortcut.0 --count 3 --quiet -o "$tmp/agr.npy"
    $PY -c "import numpy as np; assert np.load('$tmp/agr.npy').shape == (64, 64)" || fail "agop shortcut shape"; ok
    "$BIN/agop" --ckpt "$tmp/runr/epoch-000.npz" --images "$tmp/img.npy" --count 3 --quiet \
        --layer layer2.0.conv1 -o "$tmp/agr1.npy" --layer layer2.0.shortcut.0 -o "$tmp/agr2.npy"
    cmp -s "$tmp/agr2.npy" "$tmp/agr.npy" || fail "agop shortcut with its block's conv1 differs from it alone"; ok
else
    echo "skipped (FE_SKIP_RESNET set): agop of a ResNet-18 layer"
fi
refused agop "$BIN/agop" --ckpt "$ck" --images "$tmp/img.npy" --layer layer1.0.conv1 -o "$tmp/out/x.npy"
grep -q "layers: conv1, conv2" "$tmp/err" || fail "agop unknown layer does not list the layers"; ok
refused agop "$BIN/agop" --ckpt "$ck" --images "$tmp/img.npy" --layer conv1 --count 13 -o "$tmp/out/x.npy"
refused agop "$BIN/agop" --ckpt "$ck" --images "$tmp/imgf.npy" --layer conv1 -o "$tmp/out/x.npy"
refused agop "$BIN/agop" --ckpt "$tmp/missing.npz" --images "$tmp/img.npy" --layer conv1 -o "$tmp/out/x.npy"
refused agop "$BIN/agop" --model resnet18 --ckpt "$ck" --images "$tmp/img.npy" --layer conv1 -o "$tmp/out/x.npy"

# ---- binary output to a terminal is refused -------------------------------
if command -v script > /dev/null; then
    script -qec "$BIN/featmat $tmp/conv.npy" /dev/null > "$tmp/tty.out" 2>&1 && fail "featmat wrote to a terminal"
    grep -q "terminal" "$tmp/tty.out" || fail "featmat tty message: $(cat "$tmp/tty.out")"
    ok
fi
echo "test_analysis.sh: $checks checks passed"
