#!/usr/bin/env bash
# compare.sh - a regenerated results directory against the committed one.
#
#   pipeline/compare.sh [-r REF] [DIR]      (make compare; DIR: results, REF: HEAD)
#
# make all, paper-short's and quick's own directories aside, writes results/ in
# place: this says what the regeneration changed.  For every file git holds under
# DIR at REF:
#   tables (.tsv)  rows matched by their key columns (model, layer, epoch, n, pool,
#                  resamples, runs), every other column compared as a number:
#                  accuracies (a name with "acc") within ACC_TOL points (0.5),
#                  losses within LOSS_RTOL of the committed value (0.1 = 10%), other
#                  numbers (correlations, their spread and intervals) within
#                  CORR_TOL (0.02); empty fields must stay empty.  Prints the
#                  largest difference of each column, and rows new or gone.
#   figures (.png) and other files: "same bytes" or "regenerated (bytes differ)":
#                  a figure's pixels are not compared; look at it.
# Files only in the working tree are listed as new.  Exit 1 when a table's number
# is out of tolerance, a committed row or file is gone, else 0.
set -euo pipefail
me=compare
ref=HEAD
[[ ${1:-} == -r ]] && { ref=$2; shift 2; }
[[ ${1:-} == -h || ${1:-} == --help ]] && { sed -n '2,20s/^# \{0,1\}//p' "$0"; exit 0; }
dir=${1:-results}
dir=${dir%/}
git rev-parse --verify -q "$ref^{commit}" > /dev/null || { echo "$me: $ref: not a commit" >&2; exit 2; }
mapfile -t files < <(git ls-tree -r --name-only "$ref" -- "$dir/" | grep -v '/README.md$' || true)
if ((${#files[@]} == 0)); then
    echo "$me: $dir: git holds no committed results there at $ref (nothing to compare)"
    exit 0
fi
ACC_TOL=${ACC_TOL:-0.5} LOSS_RTOL=${LOSS_RTOL:-0.1} CORR_TOL=${CORR_TOL:-0.02}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bad=0
echo "$me: $dir against $ref (accuracies within $ACC_TOL points, losses within" \
     "$LOSS_RTOL relative, other numbers within $CORR_TOL)"
for f in "${files[@]}"; do
    if [[ ! -e $f ]]; then
        echo "  $f: GONE (committed, not regenerated)"
        bad=1
        continue
    fi
    git show "$ref:$f" > "$tmp/old"
    if cmp -s "$tmp/old" "$f"; then
        echo "  $f: same bytes"
        continue
    fi
    if [[ $f != *.tsv ]]; then
        echo "  $f: regenerated (bytes differ)"
        continue
    fi
    if ! awk -F'\t' -v acc="$ACC_TOL" -v lrt="$LOSS_RTOL" -v ctol="$CORR_TOL" -v name="$f" '
        function iskey(h) { return h ~ /^(model|layer|epoch|n|pool|resamples|runs)$/ }
        function tol(h, old) {
            if (h ~ /acc/) return acc
            if (h ~ /loss/) return lrt * (old < 0 ? -old : old)
            return ctol
        }
        FNR == 1 { if (NR == 1) { nh = split($0, head); next }
                   if ($0 != hline) { printf "  %s: the header changed\n", name; fail = 1 }
                   next }
        NR == FNR { key = ""; for (i = 1; i <= NF; i++) if (iskey(head[i])) key = key SUBSEP $i
                    old[key] = $0; order[++n_old] = key; next }
        { key = ""; for (i = 1; i <= NF; i++) if (iskey(head[i])) key = key SUBSEP $i
          if (!(key in old)) { added++; next }
          seen[key] = 1; split(old[key], o)
          for (i = 1; i <= nh; i++) {
              if (iskey(head[i])) continue
              if ((o[i] == "") != ($i == "")) { d = "empty vs value"; bad_col[i] = 1; fail = 1; continue }
              if (o[i] == "") continue
              d = $i - o[i]; if (d < 0) d = -d
              if (d > maxd[i]) maxd[i] = d
              if (d > tol(head[i], o[i]) + 1e-12) { bad_col[i] = 1; fail = 1 }
          } }
        END {
            for (k = 1; k <= n_old; k++) if (!(order[k] in seen)) gone++
            line = ""
            for (i = 1; i <= nh; i++) if (!iskey(head[i]))
                line = line sprintf(" %s %s%g", head[i], (i in bad_col) ? "OUT OF TOLERANCE " : "", maxd[i] + 0)
            printf "  %s: numbers differ; largest differences:%s", name, line
            if (added) printf "; %d new rows", added
            if (gone) { printf "; %d committed rows GONE", gone; fail = 1 }
            printf "\n"
            exit fail
        }' hline="$(head -1 "$tmp/old")" "$tmp/old" "$f"; then
        bad=1
    fi
done
while IFS= read -r f; do
    git ls-tree --name-only "$ref" -- "$f" | grep -q . || echo "  $f: new (not committed)"
done < <(find "$dir" -type f -not -path "$dir/quick/*" -not -path "$dir/paper-short/*" \
         -not -path "$dir/bf16/*" -not -path "$dir/fashion-mnist/*" -not -name README.md | sort)
if ((bad)); then
    echo "$me: $dir differs from $ref beyond the tolerances (above)"
    exit 1
fi
echo "$me: $dir agrees with $ref within the tolerances"
