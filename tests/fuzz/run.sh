#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz/ and runs each for a bounded time; exits non-zero on
# any finding (a crash, a sanitizer report, a mismatch against xent::reference, an undocumented
# exception, a timeout or running out of memory).
#
#   tests/fuzz/run.sh [seconds-per-harness]     (default 60; XENT_FUZZ_SEED, default 1)
#
# Needs clang++ with libFuzzer (Debian 12: clang, libclang-rt-14-dev). Outputs in build/fuzz/:
# the harness binaries, a scratch corpus per harness (the inputs a run adds; the committed corpus
# is never written to) and build/fuzz/artifacts/ (the inputs of any finding; save one as
# tests/fuzz/regressions/<harness>/<name> to replay it in the test suite).
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.."
SECONDS_PER_HARNESS=${1:-60}
# A fixed seed by default, so that runs start alike; they are not bit-reproducible all the same:
# coverage depends on buffer addresses (alignment picks streaming stores and tail paths; ASLR
# moves them), and two runs of the same seed measured here part after a few hundred inputs. A
# finding is reproduced from its saved input (build/fuzz/artifacts/), not by re-running.
# XENT_FUZZ_SEED=0 draws a fresh seed (libFuzzer's default), to explore beyond.
SEED=${XENT_FUZZ_SEED:-1}
# XENT_FUZZ_RUNS=N bounds each harness by N inputs instead of by time (the same amount of work on
# any machine).
if [[ -n ${XENT_FUZZ_RUNS:-} ]]; then
  BOUND=(-runs="$XENT_FUZZ_RUNS")
else
  BOUND=(-max_total_time="$SECONDS_PER_HARNESS")
fi
HARNESSES=(fuzz_softmax fuzz_class_index fuzz_class_prob fuzz_binary)
CXX=${CXX_FUZZ:-clang++}
OUT=build/fuzz

eigen=$(pkg-config --variable=includedir eigen3 2>/dev/null || true)
[[ -n $eigen ]] || eigen=/usr/include/eigen3
[[ -d $eigen/Eigen ]] || eigen=$eigen/eigen3

# The widest instruction set the CPU runs: xent's kernels differ per ISA, and the AVX-512 tier has
# the most code (masked tails, 16-lane strips). The tier's -march rather than -march=native, so
# that the build does not depend on the exact CPU model (tools/cpu_tiers.sh reads /proc/cpuinfo).
source tools/cpu_tiers.sh
if [[ -z $(cpu_lacks x86-64-v4) ]]; then
  MARCH=-march=x86-64-v4
elif [[ -z $(cpu_lacks x86-64-v3) ]]; then
  MARCH=-march=x86-64-v3
else
  MARCH=-march=x86-64
fi
# Warnings are shown, not errors: the warning policy is enforced by .ci/run's stage f (the same
# harnesses, g++ with every warning an error), and a new warning in a header should not stop the
# fuzzing.
# -g1: line tables (file:line in reports) at a fraction of -g's compile time.
FLAGS=(-std=c++17 -O1 -g1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all "$MARCH"
  -Wall -Wextra -Iinclude -isystem "$eigen")

rm -rf "$OUT"
mkdir -p "$OUT/artifacts" "$OUT/logs"

build() {  # build <harness>: compile, print the time
  local h=$1 start=$SECONDS
  if ! "$CXX" "${FLAGS[@]}" "tests/fuzz/$h.cpp" -o "$OUT/$h" >"$OUT/logs/$h.build.log" 2>&1; then
    cat "$OUT/logs/$h.build.log"
    echo "== $h: BUILD FAILED"
    return 1
  fi
  echo "== $h: built in $((SECONDS - start)) s"
}

# in_pairs <function> <harness...>: "function harness" for each harness, two at a time (one per
# core); each one's output is printed whole when it ends, in order, so that the two do not
# interleave; fails if any fails.
in_pairs() {
  local fn=$1 h failed=0 pending=()
  shift
  report() {  # report <harness> <pid>
    if wait "$2"; then cat "$OUT/logs/$1.$fn.txt"; else cat "$OUT/logs/$1.$fn.txt" >&2; failed=1; fi
  }
  for h in "$@"; do
    "$fn" "$h" >"$OUT/logs/$h.$fn.txt" 2>&1 &
    pending+=("$h" $!)
    if ((${#pending[@]} == 4)); then
      report "${pending[0]}" "${pending[1]}"
      pending=("${pending[@]:2}")
    fi
  done
  while ((${#pending[@]})); do
    report "${pending[0]}" "${pending[1]}"
    pending=("${pending[@]:2}")
  done
  return $failed
}

echo "== building ${HARNESSES[*]} ($CXX $MARCH)"
in_pairs build "${HARNESSES[@]}" || exit 1

fuzz() {  # fuzz <harness>: replay its regressions, then fuzz
  local h=$1 name=${1#fuzz_} start=$SECONDS status=0
  local scratch=$OUT/corpus/$name seeds=$OUT/corpus/$name.seeds
  mkdir -p "$scratch"
  # The committed corpus goes in as seed inputs, listed in name order (a directory is read in the
  # filesystem's order, one more difference between machines); the inputs the run adds go to the
  # scratch directory.
  printf '%s\n' tests/fuzz/corpus/"$name"/* | LC_ALL=C sort | paste -sd, - >"$seeds"
  # Regression inputs first (must pass), then the fuzzing run on the scratch corpus.
  local regressions=()
  [[ -d tests/fuzz/regressions/$name ]] && regressions=(tests/fuzz/regressions/"$name")
  if ((${#regressions[@]})) && ! "$OUT/$h" -runs=0 -artifact_prefix="$OUT/artifacts/$h-" \
    "${regressions[@]}" >"$OUT/logs/$h.regressions.log" 2>&1; then
    grep -A8 'fuzz finding\|ERROR\|runtime error' "$OUT/logs/$h.regressions.log" | head -n 30
    echo "== $h: REGRESSION INPUT FAILED"
    status=1
  fi
  if "$OUT/$h" "${BOUND[@]}" -seed="$SEED" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$OUT/artifacts/$h-" -print_final_stats=1 -seed_inputs=@"$seeds" "$scratch" \
    >"$OUT/logs/$h.log" 2>&1; then
    local runs
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$OUT/logs/$h.log" | grep -o '[0-9]*$' || true)
    echo "== $h: ran $((SECONDS - start)) s, ${runs:-?} inputs, no finding"
  else
    grep -A8 'fuzz finding\|ERROR\|runtime error' "$OUT/logs/$h.log" | head -n 30
    tail -n 4 "$OUT/logs/$h.log"
    # The input itself (libFuzzer prints small ones in base64), so that a finding on another
    # machine can be replayed here: base64 -d > tests/fuzz/regressions/<harness>/<name>.
    grep -m1 '^Base64: ' "$OUT/logs/$h.log" || true
    echo "== $h: FINDING after $((SECONDS - start)) s (inputs in $OUT/artifacts/)"
    status=1
  fi
  return $status
}

in_pairs fuzz "${HARNESSES[@]}"
