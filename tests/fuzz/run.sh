#!/bin/bash
# Builds the libFuzzer targets and runs each for SECONDS, from a copy of its
# seed corpus (the repository is never written). Fails on any crash, leak,
# sanitizer report, timeout or out-of-memory; the input that did it is kept
# under BUILDDIR/fuzz-artifacts/ and its path printed.
#   tests/fuzz/run.sh BUILDDIR SECONDS
# On a fresh Debian 12 run as root: installs clang and the libFuzzer runtime
# when missing, and configures BUILDDIR (clang, -Dfuzz=true) if it does not exist.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ $# -ne 2 ] || ! [[ $2 =~ ^[1-9][0-9]*$ ]]; then
        echo "usage: $0 BUILDDIR SECONDS" >&2
        exit 2
fi
builddir=$1
seconds=$2
targets=(fuzz-config fuzz-frame fuzz-channel fuzz-control)

# shellcheck source=tests/deps.sh
. tests/deps.sh
# shellcheck disable=SC2086 # $missing: one package a line, to be split
install_missing() {
        local missing
        missing=$(deps_missing "$@")
        [ -n "$missing" ] || return 0
        if [ "$(id -u)" != 0 ]; then
                echo "missing packages:" $missing "(run as root to install them)" >&2
                exit 1
        fi
        echo "installing:" $missing >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get -o DPkg::Lock::Timeout=600 update -qq
        # shellcheck disable=SC2086
        apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >/dev/null
}
# What the fuzz build needs: no criterion (-Dtests=false), no gcc.
install_missing meson ninja-build pkg-config libc6-dev libsystemd-dev libinih-dev clang
# libFuzzer's runtime (libclang_rt.fuzzer) is in libclang-rt-N-dev for clang N.
clang_major=$(clang -dumpversion | cut -d. -f1)
install_missing "libclang-rt-$clang_major-dev"

if [ ! -f "$builddir/build.ninja" ]; then
        CC=clang meson setup "$builddir" -Dfuzz=true -Dtests=false -Db_lundef=false
elif ! meson introspect --buildoptions "$builddir" |
        python3 -c 'import json, sys; sys.exit(not any(o["name"] == "fuzz" and o["value"] for o in json.load(sys.stdin)))'; then
        echo "error: $builddir is not a fuzz build directory (-Dfuzz=true, clang): give another one" >&2
        exit 1
fi
meson compile -C "$builddir" "${targets[@]}"

# The targets' own sanitizer settings: not those of a caller (.ci/run sends
# ASan reports to files), and UBSan stops at the first report.
unset ASAN_OPTIONS LSAN_OPTIONS
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

work=$(mktemp -d /tmp/unixsockd-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
artifacts=$builddir/fuzz-artifacts
mkdir -p "$artifacts"
artifacts=$(cd "$artifacts" && pwd)

passed=0 failed=0
summary=()
for t in "${targets[@]}"; do
        corpus=${t#fuzz-}
        args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
              -artifact_prefix="$artifacts/$t-")
        case $t in
        fuzz-config) args+=(-dict=tests/fuzz/config.dict -max_len=8192) ;;
        fuzz-frame) args+=(-max_len=512) ;;
        fuzz-channel) args+=(-max_len=512) ;;
        fuzz-control) args+=(-max_len=4200) ;;
        esac
        mkdir -p "$work/$corpus"
        cp tests/fuzz/corpus/"$corpus"/* "$work/$corpus/"
        log=$work/$t.log
        echo "== $t: ${seconds}s"
        rc=0
        # Crash, leak, timeout and OOM all end libFuzzer with a non-zero status.
        "$builddir/tests/fuzz/$t" "${args[@]}" "$work/$corpus" >"$log" 2>&1 || rc=$?

        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        # The last status line: "#N DONE cov: C ft: F corp: K/Sb ..."
        status=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
        cov=$(sed -nE 's/.* cov: ([0-9]+) .*/\1/p' <<<"$status")
        ft=$(sed -nE 's/.* ft: ([0-9]+) .*/\1/p' <<<"$status")
        corp=$(sed -nE 's/.* corp: ([0-9]+)\/.*/\1/p' <<<"$status")
        [ -n "$execs" ] || execs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$status")
        line="$t: execs ${execs:-?}, coverage ${cov:-?} edges, ${ft:-?} features, corpus ${corp:-?} inputs"
        if [ "$rc" = 0 ]; then
                passed=$((passed + 1))
                summary+=("PASS $line")
        else
                failed=$((failed + 1))
                grep -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|==[0-9]+== ERROR' "$log" | head -5 || true
                sed -n '/^SUMMARY:/p' "$log" | head -3
                crash=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | tail -1)
                tail -40 "$log" >&2
                summary+=("FAIL $line (exit $rc)")
                summary+=("     input: ${crash:-none written}")
                summary+=("     reproduce: $builddir/tests/fuzz/$t ${crash:-}")
        fi
done

echo "== summary"
printf '%s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
