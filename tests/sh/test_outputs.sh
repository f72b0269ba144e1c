#!/usr/bin/env bash
# test_outputs.sh - what -o names is treated as careful Unix tools treat it
# (featevo(7), OUTPUT FILES; tools/lib/io.c), and no temp file is left behind.
#
#   write-through  a character device (a private null device made with mknod, as
#                  root; never the real /dev/null), a FIFO with a reader,
#                  /dev/fd/1 and /proc/self/fd/1 into a pipe and appended with
#                  `>>`, /dev/stdout (only once /dev/fd/1 was seen written
#                  through: an old build would rename over the real /dev/stdout),
#                  `-o >(cmd)`; the device or FIFO is still there afterwards
#   symlinks       a link to a file: the target replaced, the link kept; a
#                  dangling link creates its target; a loop refused; a link of
#                  another user in a sticky world-writable directory refused (root)
#   modes          set-user-ID and set-group-ID bits never carried over
#   names          a 255-byte output name works (the temp name is short)
#   refused        a directory, a socket: exit 1, "tool: NAME: ...", nothing left
#   signals        SIGINT, SIGTERM, SIGHUP while idx2bin holds its temp open (its
#                  input a FIFO that has not ended): the tool dies of the signal
#                  and leaves no temp file and no output
#   kill -9        leaves a temp; the next tool writing into that directory, and
#                  the next train in a run directory, remove it; a temp of a live
#                  process or another host stays
#   agop           two names of one output (./x and x, a hard link, a symlink)
#                  and an unwritable directory (as nobody) refused before the
#                  checkpoint is read (its --ckpt does not exist)
# Env: BIN (directory holding the tools), FE_ROOT (repository root).
set -uo pipefail
: "${BIN:?set BIN}" "${FE_ROOT:?set FE_ROOT}"
cd "$FE_ROOT" || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
checks=0 failures=0
ok() { checks=$((checks + 1)); echo "ok: $*"; }
fail() { failures=$((failures + 1)); echo "FAIL: $*" >&2; }
# temps, old naming (.NAME.tmp.PID.XXXXXX) or new (.featevo.tmp.PID.HOST.XXXXXX)
temps() { find "$1" -maxdepth 1 -name '.*.tmp.*'; }

# 32 images [32,28,28] as IDX; the reference .npy through a plain file
N=32
{ printf '\0\0\010\003\0\0\0\040\0\0\0\034\0\0\0\034'; head -c $((N * 784)) /dev/urandom; } > "$tmp/x.idx"
"$BIN/idx2bin" -o "$tmp/ref.npy" "$tmp/x.idx" || { echo "idx2bin failed on a plain file"; exit 1; }
size=$(stat -c %s "$tmp/ref.npy")

# ---- write-through ----
if [[ $(id -u) -eq 0 ]] && mknod "$tmp/null" c 1 3 2> /dev/null; then
    if "$BIN/idx2bin" -o "$tmp/null" "$tmp/x.idx" && [[ -c $tmp/null ]] && [[ -z $(temps "$tmp") ]]; then
        ok "a character device is written through and stays a device"
    else
        fail "-o CHARDEV: $(ls -l "$tmp/null")"
    fi
    rm -f "$tmp/null"
else
    echo "test_outputs.sh: not root (or no mknod): the character-device check is not run"
fi
mkfifo "$tmp/fifo"
timeout 10 cat "$tmp/fifo" > "$tmp/fromfifo" &
reader=$!
if timeout 10 "$BIN/idx2bin" -o "$tmp/fifo" "$tmp/x.idx" && wait $reader &&
   cmp -s "$tmp/fromfifo" "$tmp/ref.npy" && [[ -p $tmp/fifo ]]; then
    ok "a FIFO's reader gets the output; the FIFO stays"
else
    fail "-o FIFO: reader got $(stat -c %s "$tmp/fromfifo") of $size bytes; $(ls -l "$tmp/fifo")"
    kill $reader 2> /dev/null
fi
rm -f "$tmp/fifo"
through=0
for name in /dev/fd/1 /proc/self/fd/1; do
    if "$BIN/idx2bin" -o $name "$tmp/x.idx" | cmp -s - "$tmp/ref.npy"; then
        ok "-o $name into a pipe"
        through=$((through + 1))
    else
        fail "-o $name into a pipe"
    fi
done
: > "$tmp/app"
"$BIN/idx2bin" -o /dev/fd/1 "$tmp/x.idx" >> "$tmp/app"
"$BIN/idx2bin" -o /dev/fd/1 "$tmp/x.idx" >> "$tmp/app"
if [[ $(stat -c %s "$tmp/app") -eq $((2 * size)) ]]; then
    ok "-o /dev/fd/1 >> FILE appends"
else
    fail "-o /dev/fd/1 >> FILE twice: $(stat -c %s "$tmp/app") bytes, want $((2 * size))"
fi
if [[ $through -eq 2 ]]; then
    for tool in idx2bin stack featmat; do
        case $tool in
            idx2bin) args=("$tmp/x.idx") ;;
            stack) args=("$tmp/ref.npy" "$tmp/ref.npy") ;;
            featmat) args=("$tmp/ref.npy") ;;
        esac
        "$BIN/$tool" -o "$tmp/plain.npy" "${args[@]}"
        if "$BIN/$tool" -o /dev/stdout "${args[@]}" | cmp -s - "$tmp/plain.npy"; then
            ok "$tool -o /dev/stdout into a pipe"
        else
            fail "$tool -o /dev/stdout into a pipe"
        fi
    done
else
    fail "-o /dev/stdout not tried: /dev/fd/1 is not written through (it would rename over /dev/stdout)"
fi
rm -f "$tmp/fromproc"
"$BIN/idx2bin" -o >(cat > "$tmp/fromproc") "$tmp/x.idx"
rc=$?
for _ in $(seq 50); do [[ $(stat -c %s "$tmp/fromproc" 2> /dev/null) == "$size" ]] && break; sleep 0.1; done
if [[ $rc -eq 0 ]] && cmp -s "$tmp/fromproc" "$tmp/ref.npy"; then
    ok "-o >(cmd)"
else
    fail "-o >(cmd): exit $rc"
fi
if "$BIN/idx2bin" -o /dev/fd/0 "$tmp/x.idx" < "$tmp/ref.npy" 2> "$tmp/err"; then
    fail "-o /dev/fd/0 (read-only) accepted"
elif grep -q "^idx2bin: /dev/fd/0: descriptor 0 is not open for writing" "$tmp/err"; then
    ok "a descriptor not open for writing refused"
else
    fail "-o /dev/fd/0: $(cat "$tmp/err")"
fi

# ---- symlinks ----
mkdir "$tmp/l"
echo old > "$tmp/l/target"
ln -s target "$tmp/l/link"
"$BIN/idx2bin" -o "$tmp/l/link" "$tmp/x.idx"
if [[ -L $tmp/l/link ]] && cmp -s "$tmp/l/target" "$tmp/ref.npy"; then
    ok "a symlink to a file: the target replaced, the link kept"
else
    fail "-o SYMLINK: $(ls -l "$tmp/l")"
fi
ln -s made "$tmp/l/dangling"
"$BIN/idx2bin" -o "$tmp/l/dangling" "$tmp/x.idx"
if [[ -L $tmp/l/dangling ]] && cmp -s "$tmp/l/made" "$tmp/ref.npy"; then
    ok "a dangling symlink: its target made, the link kept"
else
    fail "-o DANGLING: $(ls -l "$tmp/l")"
fi
ln -s b "$tmp/l/a"
ln -s a "$tmp/l/b"
if ! "$BIN/idx2bin" -o "$tmp/l/a" "$tmp/x.idx" 2> "$tmp/err" &&
   grep -q "^idx2bin: $tmp/l/a: Too many levels of symbolic links" "$tmp/err" &&
   [[ -L $tmp/l/a && -L $tmp/l/b ]]; then
    ok "a symlink loop refused"
else
    fail "-o LOOP: $(cat "$tmp/err"); $(ls -l "$tmp/l")"
fi
[[ -z $(temps "$tmp/l") ]] || fail "symlinks left temps: $(temps "$tmp/l")"
if [[ $(id -u) -eq 0 ]]; then
    mkdir -m 1777 "$tmp/sticky"
    echo keep > "$tmp/sticky/victim"
    ln -s victim "$tmp/sticky/trap"
    chown -h 65534:65534 "$tmp/sticky/trap"
    if ! "$BIN/idx2bin" -o "$tmp/sticky/trap" "$tmp/x.idx" 2> "$tmp/err" &&
       grep -q "^idx2bin: $tmp/sticky/trap: refusing to follow a symbolic link owned by another user" "$tmp/err" &&
       [[ $(cat "$tmp/sticky/victim") == keep && -L $tmp/sticky/trap ]]; then
        ok "another user's symlink in a sticky world-writable directory refused"
    else
        fail "sticky-directory symlink: $(cat "$tmp/err"); $(ls -l "$tmp/sticky")"
    fi
else
    echo "test_outputs.sh: not root: the sticky-directory symlink check is not run"
fi

# ---- modes, long names ----
cp "$tmp/ref.npy" "$tmp/suid"
chmod 6755 "$tmp/suid"
"$BIN/idx2bin" -o "$tmp/suid" "$tmp/x.idx"
mode=$(stat -c %a "$tmp/suid")
if [[ $mode == 755 ]]; then ok "set-user-ID and set-group-ID bits dropped (6755 -> 755)"; else fail "mode $mode after replacing a 6755 file"; fi
long=$(printf 'n%.0s' $(seq 255))
if "$BIN/idx2bin" -o "$tmp/$long" "$tmp/x.idx" && cmp -s "$tmp/$long" "$tmp/ref.npy"; then
    ok "a 255-byte output name"
else
    fail "a 255-byte output name"
fi
rm -f "$tmp/$long"

# ---- refused kinds ----
mkdir "$tmp/r"
if ! "$BIN/idx2bin" -o "$tmp/r" "$tmp/x.idx" 2> "$tmp/err" && grep -q "^idx2bin: $tmp/r: output name is a directory" "$tmp/err"; then
    ok "a directory refused"
else
    fail "-o DIR: $(cat "$tmp/err")"
fi
if /usr/bin/python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$tmp/r/sock" 2> /dev/null; then
    if ! "$BIN/idx2bin" -o "$tmp/r/sock" "$tmp/x.idx" 2> "$tmp/err" &&
       grep -q "^idx2bin: $tmp/r/sock: output name is a socket" "$tmp/err" && [[ -S $tmp/r/sock ]]; then
        ok "a socket refused and kept"
    else
        fail "-o SOCKET: $(cat "$tmp/err"); $(ls -l "$tmp/r")"
    fi
else
    echo "test_outputs.sh: no python3 to make a socket: the socket check is not run"
fi
[[ -z $(temps "$tmp/r") ]] || fail "refusals left temps: $(temps "$tmp/r")"

# ---- signals: idx2bin holds its temp while its input (a FIFO) has not ended ----
# hold DIR: start idx2bin -o DIR/out.npy reading DIR/in, fd 3 its open writer;
# sets pid once the temp exists.  The tool gets the default actions of INT, TERM
# and HUP, as from a terminal: a background job of this shell has SIGINT ignored,
# and under nohup or a background make test all three may come in ignored (bash
# cannot undo that; env(1) can), and an ignored signal would wait forever here.
hold() {
    local d=$1
    mkdir -p "$d"
    mkfifo "$d/in"
    env --default-signal=INT,TERM,HUP "$BIN/idx2bin" -o "$d/out.npy" "$d/in" 2> "$d/err" &
    pid=$!
    exec 3> "$d/in"
    printf '\0\0\010\003\0\0\0\040\0\0\0\034\0\0\0\034' >&3
    for _ in $(seq 100); do [[ -n $(temps "$d") ]] && return 0; sleep 0.05; done
    return 1
}
for sig in INT TERM HUP; do
    d=$tmp/sig-$sig
    if ! hold "$d"; then
        fail "SIG$sig: no temp file appeared"
        kill -9 $pid 2> /dev/null
        exec 3>&-
        continue
    fi
    kill -s $sig $pid
    # a tool that ignored the signal would wait on its FIFO for ever: 20 s, then -9.
    # (Polled here: a watchdog subshell killed early after its fork can run this
    # script's EXIT trap, which removed \$tmp under a loaded make test.)
    for _ in $(seq 200); do kill -0 $pid 2> /dev/null || break; sleep 0.1; done
    kill -9 $pid 2> /dev/null
    { wait $pid; } 2> /dev/null   # bash's "Hangup" line is no news here
    rc=$?
    exec 3>&-
    rm -f "$d/in" "$d/err"
    want=$((128 + $(kill -l $sig)))
    if [[ $rc -eq $want && -d $d && -z $(ls -A "$d") ]]; then
        ok "SIG$sig during a write: the tool dies of it (exit $rc), no temp, no output"
    else
        fail "SIG$sig during a write: exit $rc (want $want), left: $(ls -A "$d")"
    fi
done

# ---- kill -9, then the sweep ----
d=$tmp/k9
if hold "$d"; then
    kill -9 $pid
    { wait $pid; } 2> /dev/null
    exec 3>&-
    rm -f "$d/in" "$d/err"
    stale=$(temps "$d")
    if [[ -n $stale ]]; then
        ok "kill -9 leaves a temp (as it must)"
        host=$(basename "$stale" | cut -d. -f5)        # .featevo.tmp.PID.HOST.XXXXXX
        live=$d/.featevo.tmp.$$.$host.AbCdEf            # this shell: alive
        sleep 0 & dead=$!; wait $dead
        other=$d/.featevo.tmp.$dead.otherhost.AbCdEf   # dead, but another host's
        touch "$live" "$other"
        "$BIN/idx2bin" -o "$d/next.npy" "$tmp/x.idx"
        if [[ ! -e $stale && -e $live && -e $other ]]; then
            ok "the next tool writing there removes the dead process's temp, keeps a live one's and another host's"
        else
            fail "after kill -9 and a later run: $(ls -A "$d")"
        fi
    else
        fail "kill -9 left no temp: the test cannot see the sweep"
    fi
else
    fail "kill -9: no temp file appeared"
    kill -9 $pid 2> /dev/null
    exec 3>&-
fi

# train sweeps its run directory when it starts and when it resumes
{ printf '\0\0\010\001\0\0\0\040'; for ((i = 0; i < N; i++)); do printf "\\$(printf '%03o' $((i % 10)))"; done; } > "$tmp/y.idx"
"$BIN/idx2bin" -o "$tmp/y.npy" "$tmp/y.idx"
run=$tmp/run
mkdir "$run"
sleep 0 & dead=$!; wait $dead
[[ -n ${host:-} ]] || host=$(uname -n | tr -c 'A-Za-z0-9_\n-' '_' | cut -c1-20)
touch "$run/.featevo.tmp.$dead.$host.AbCdEf"
common=(--model lenet5 --images "$tmp/ref.npy" --labels "$tmp/y.npy" --out "$run" --batch 16
        --optimizer adam --lr 1e-3 --seed 1 --threads 1 --quiet)
"$BIN/train" "${common[@]}" --epochs 1
if [[ -z $(temps "$run") ]]; then ok "train removes a dead process's temp from its run directory"; else fail "train left $(temps "$run")"; fi
touch "$run/.featevo.tmp.$dead.$host.XyZ123"
"$BIN/train" "${common[@]}" --epochs 2 --resume
if [[ -z $(temps "$run") ]]; then ok "train --resume removes a dead process's temp"; else fail "train --resume left $(temps "$run")"; fi

# ---- agop: outputs checked before the checkpoint is read ----
mkdir "$tmp/a"
echo x > "$tmp/a/x"
ln "$tmp/a/x" "$tmp/a/hard"
ln -s x "$tmp/a/sym"
agop_refused() {  # WHAT NEEDLE -o A -o B
    local what=$1 needle=$2 rc=0
    shift 2
    "$BIN/agop" --ckpt "$tmp/a/no-such.npz" --images "$tmp/ref.npy" --model lenet5 \
        --layer conv1 --layer conv2 "$@" > /dev/null 2> "$tmp/err" || rc=$?
    if [[ $rc -eq 1 ]] && grep -q "^agop: .*$needle" "$tmp/err" && ! grep -q no-such "$tmp/err"; then
        ok "agop: $what refused before the checkpoint is read"
    else
        fail "agop $what: exit $rc: $(cat "$tmp/err")"
    fi
}
agop_refused "./x and x" "the same file as output" -o "$tmp/a/x" -o "$tmp/a/./x"
agop_refused "a hard link" "the same file as output" -o "$tmp/a/x" -o "$tmp/a/hard"
agop_refused "a symlink" "the same file as output" -o "$tmp/a/sym" -o "$tmp/a/x"
agop_refused "two new names of one file" "the same file as output" -o "$tmp/a/new" -o "$tmp/a/../a/new"
[[ $(cat "$tmp/a/x") == x ]] || fail "agop changed $tmp/a/x"
if [[ $(id -u) -eq 0 ]] && command -v setpriv > /dev/null; then
    nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    chmod 755 "$tmp"
    mkdir -m 755 "$tmp/ro"
    tool=$BIN/agop
    if ! "${nobody[@]}" test -x "$tool" -a -r "$tool"; then
        mkdir -m 755 "$tmp/nobody-bin" && install -m 755 "$tool" "$tmp/nobody-bin/" && tool=$tmp/nobody-bin/agop
    fi
    if "${nobody[@]}" test -x "$tool" -a -r "$tool" -a -r "$tmp/ref.npy"; then
        rc=0
        "${nobody[@]}" "$tool" --ckpt "$tmp/a/no-such.npz" --images "$tmp/ref.npy" --model lenet5 \
            --layer conv1 -o "$tmp/ro/g.npy" > /dev/null 2> "$tmp/err" || rc=$?
        if [[ $rc -eq 1 ]] && grep -q "^agop: $tmp/ro/g.npy: cannot write in its directory" "$tmp/err"; then
            ok "agop: an unwritable output directory refused before the checkpoint is read"
        else
            fail "agop unwritable directory: exit $rc: $(cat "$tmp/err")"
        fi
    else
        echo "test_outputs.sh: user nobody cannot reach $tool or $tmp: the unwritable-directory check is not run"
    fi
    chmod 700 "$tmp"
elif [[ $(id -u) -ne 0 ]]; then
    mkdir -m 555 "$tmp/ro"
    rc=0
    "$BIN/agop" --ckpt "$tmp/a/no-such.npz" --images "$tmp/ref.npy" --model lenet5 \
        --layer conv1 -o "$tmp/ro/g.npy" > /dev/null 2> "$tmp/err" || rc=$?
    if [[ $rc -eq 1 ]] && grep -q "^agop: $tmp/ro/g.npy: cannot write in its directory" "$tmp/err"; then
        ok "agop: an unwritable output directory refused before the checkpoint is read"
    else
        fail "agop unwritable directory: exit $rc: $(cat "$tmp/err")"
    fi
    chmod 755 "$tmp/ro"
fi

echo "test_outputs.sh: $checks checks, $failures failed"
[[ $failures -eq 0 ]]
