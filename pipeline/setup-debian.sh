#!/usr/bin/env bash
# setup-debian.sh - install everything featevo needs on Debian (bookworm or later)
# or a Debian-based system.  The project's one set-up command:
#
#   sudo pipeline/setup-debian.sh
#
# Run as root, or as a user with sudo.  When every package is already installed
# it only checks (dpkg-query) and returns at once, without touching apt.
#   --check  only report: exit 1 and name what is missing when a required package is
#   --auto   what `make quick`, `make all` and `make test` run first: silent when the
#            required packages are there; otherwise install them where it may (root,
#            or sudo without a password), else stop with the one command to run
#   --slurm  also SLURM and munge (slurmd, slurmctld, slurm-client, munge): for
#            tests/sh/test_slurm.sh, which starts a private one-node cluster of its
#            own (tests/slurm/start.sh); .ci/run asks for them.  Optional: the test
#            says skipped without them.  (Where systemd runs, Debian also enables
#            the packages' own services, which stay idle without /etc/slurm/slurm.conf.)
set -euo pipefail

me=setup-debian
mode=install
slurm=0
for a in "$@"; do
    case $a in
    --check) mode=check ;;
    --auto) mode=auto ;;
    --slurm) slurm=1 ;;
    *) echo "usage: setup-debian.sh [--check | --auto] [--slurm]" >&2; exit 2 ;;
    esac
done
required=(build-essential make pkg-config libopenblas-dev libopenblas-openmp-dev libpng-dev zlib1g-dev
          gnuplot-nox libcmocka-dev clang valgrind python3-numpy mandoc man-db
          libopenmpi-dev openmpi-bin)
# PyTorch is only the test oracle: without it the PyTorch comparison tests are
# reported as skipped, everything else works.
optional=(python3-torch)
((slurm == 0)) || optional+=(slurmd slurmctld slurm-client munge)

installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2> /dev/null) == "install ok installed" ]]
}

if ! command -v dpkg-query > /dev/null; then
    if [[ $mode == auto ]]; then    # nothing to do here: the build says what is missing
        exit 0
    fi
    echo "$me: this is not a Debian-based system (no dpkg-query)." >&2
    echo "$me: install by hand: a C11 compiler, make, pkg-config, OpenBLAS, libpng, zlib," >&2
    echo "$me: gnuplot, cmocka, clang (for the fuzz tests), Python 3 with numpy and torch." >&2
    exit 1
fi

missing=() missing_opt=()
for p in "${required[@]}"; do installed "$p" || missing+=("$p"); done
for p in "${optional[@]}"; do installed "$p" || missing_opt+=("$p"); done
if ((${#missing[@]} + ${#missing_opt[@]} == 0)); then
    [[ $mode == auto ]] || echo "$me: all $((${#required[@]} + ${#optional[@]})) packages are installed"
    exit 0
fi
if [[ $mode == check ]]; then
    ((${#missing_opt[@]})) && echo "$me: optional, not installed: ${missing_opt[*]}"
    if ((${#missing[@]})); then
        echo "$me: required, not installed: ${missing[*]}" >&2
        exit 1
    fi
    exit 0
fi
if [[ $mode == auto ]]; then
    ((${#missing[@]})) || exit 0        # only optional ones missing: their tests say skipped
    if [[ $(id -u) -ne 0 ]] && ! sudo -n true 2> /dev/null; then
        echo "featevo needs these Debian packages: ${missing[*]}" >&2
        echo "install them with:  sudo pipeline/setup-debian.sh" >&2
        exit 1
    fi
    echo "$me: installing what featevo needs first: ${missing[*]} ${missing_opt[*]}" >&2
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo > /dev/null; then
        sudo=(sudo)
    else
        echo "$me: need root to install: ${missing[*]} ${missing_opt[*]}" >&2
        echo "$me: run it as root (or install sudo)" >&2
        exit 1
    fi
fi
apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)

echo "$me: installing: ${missing[*]} ${missing_opt[*]}"
"${apt[@]}" update
if ((${#missing[@]})); then
    "${apt[@]}" install -y --no-install-recommends "${missing[@]}"
fi
if ((${#missing_opt[@]})); then
    if ! "${apt[@]}" install -y --no-install-recommends "${missing_opt[@]}"; then
        echo "$me: WARNING: could not install ${missing_opt[*]}; the tests that need them (PyTorch comparisons, SLURM) will say skipped" >&2
    fi
fi
echo "$me: done"
