#!/usr/bin/env bash
# setup-debian.sh - install the Debian packages featevo needs (bookworm or later, or
# a Debian-based system).  Two groups, so that making figures never needs the test
# tools:
#   run   build the tools, draw the figures, fetch MNIST:  what make quick/all need
#   test  run the tests (make test): cmocka, clang, valgrind, numpy, mandoc; and,
#         optional (their tests say skipped without them): PyTorch, Open MPI
#
#   sudo pipeline/setup-debian.sh          both groups (the one set-up command)
#   pipeline/setup-debian.sh --check       only report what is missing
#
#   --for run | test   one group (test = run + test); default: both
#   --check  only report: exit 1 and name what is missing when a required package is
#   --auto   what `make quick`, `make all` (--for run) and `make test` (--for test) run
#            first: silent when the packages are there.  Otherwise it says which are
#            missing and what each is for, then asks before installing when it talks
#            to a terminal ("Install them now? [Y/n]"); without a terminal (scripts,
#            CI) it installs after saying so.  It installs only where it may (root,
#            or sudo without a password), else stops with the one command to run.
#            FEATEVO_SETUP=no (make quick FEATEVO_SETUP=no) skips all of this.
#   --slurm  also SLURM and munge (slurmd, slurmctld, slurm-client, munge): for
#            tests/slurm/test_slurm.sh (make test-slurm), which starts a private
#            one-node cluster of its own; .ci/run asks for them.  Optional: the test
#            says skipped without them.  (Where systemd runs, Debian also enables
#            the packages' own services, which stay idle without /etc/slurm/slurm.conf.)
# When every package is already installed it only checks (dpkg-query) and returns
# at once, without touching apt.
set -euo pipefail

me=setup-debian
mode=install
group=all
slurm=0
while (($#)); do
    case $1 in
    --check) mode=check ;;
    --auto) mode=auto ;;
    --slurm) slurm=1 ;;
    --for)
        [[ ${2:-} == run || ${2:-} == test ]] || { echo "$me: --for takes run or test" >&2; exit 2; }
        group=$2; shift ;;
    *) echo "usage: setup-debian.sh [--check | --auto] [--for run|test] [--slurm]" >&2; exit 2 ;;
    esac
    shift
done
[[ ${FEATEVO_SETUP:-} == no && $mode == auto ]] && exit 0

# package:what it is for
run_pkgs=(build-essential:"the C compiler" make:"the pipeline" pkg-config:"the build"
          libopenblas-dev:"matrix products (OpenBLAS)" libopenblas-openmp-dev:"OpenBLAS on OpenMP threads"
          libpng-dev:"the PNG figures" zlib1g-dev:".npz checkpoints"
          gnuplot-nox:"the plotted figures" man-db:"featevo help TOOL"
          curl:"fetching MNIST when there is no local copy" ca-certificates:"fetching MNIST over https")
test_pkgs=(libcmocka-dev:"the unit tests (cmocka)" clang:"the fuzz tests (libFuzzer)"
           valgrind:"the memcheck tests" python3-numpy:"the checks of figures and tables"
           mandoc:"the manual pages' lint"
           libsimde-dev:"the AVX512_BF16 kernels' test on any CPU (SIMDe)")
# optional: their tests say skipped without them
test_opt=(python3-torch:"the PyTorch comparisons" libopenmpi-dev:"train under mpirun and its test"
          openmpi-bin:"train under mpirun and its test")
slurm_opt=(slurmd:"make test-slurm" slurmctld:"make test-slurm" slurm-client:"make test-slurm"
           munge:"make test-slurm")

required=("${run_pkgs[@]}") optional=()
[[ $group == run ]] || { required+=("${test_pkgs[@]}"); optional+=("${test_opt[@]}"); }
((slurm == 0)) || optional+=("${slurm_opt[@]}")

installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2> /dev/null) == "install ok installed" ]]
}

if ! command -v dpkg-query > /dev/null; then
    if [[ $mode == auto ]]; then    # nothing to do here: the build says what is missing
        exit 0
    fi
    echo "$me: this is not a Debian-based system (no dpkg-query)." >&2
    echo "$me: install by hand: a C11 compiler, make, pkg-config, OpenBLAS, libpng, zlib," >&2
    echo "$me: gnuplot, curl; for the tests cmocka, clang, valgrind, SIMDe, Python 3 with numpy (and torch)." >&2
    exit 1
fi

missing=() missing_opt=() why=()
for e in "${required[@]}"; do
    installed "${e%%:*}" || { missing+=("${e%%:*}"); why+=("${e%%:*} (${e#*:})"); }
done
for e in "${optional[@]}"; do
    installed "${e%%:*}" || { missing_opt+=("${e%%:*}"); why+=("${e%%:*} (optional: ${e#*:})"); }
done
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
    {
        echo "featevo needs these Debian packages, not installed here:"
        for w in "${why[@]}"; do echo "  $w"; done
    } >&2
    if [[ $(id -u) -ne 0 ]] && ! sudo -n true 2> /dev/null; then
        echo "install them with:  sudo pipeline/setup-debian.sh" >&2
        exit 1
    fi
    if [[ -t 0 && -t 2 ]]; then
        printf 'Install them now with apt-get? [Y/n] ' >&2
        read -r answer || answer=n
        if [[ $answer == [nN]* ]]; then
            echo "not installed; to install them later:  sudo pipeline/setup-debian.sh" >&2
            exit 1
        fi
    else
        echo "$me: installing them with apt-get (no terminal to ask; FEATEVO_SETUP=no skips this)" >&2
    fi
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
        echo "$me: WARNING: could not install ${missing_opt[*]}; the tests that need them (PyTorch comparisons, MPI, SLURM) will say skipped" >&2
    fi
fi
echo "$me: done"
