#!/usr/bin/env bash
# The mutation campaign: plants each mutant of tools/mutation/mutants.py (a small deliberate bug in
# a kernel: a flipped sign, a dropped term, a wrong denominator, a skipped max shift...) in a copy
# of the sources and reports which test first catches it, or that none does.
#
#   tools/mutation/run.sh [mutant-id...]       (default: every mutant)
#   MUTATION_TESTS="test_lane_kernels" tools/mutation/run.sh ...   (only these tests, in this order)
#
# The tests are built once per mutant with g++ -O1 for the widest instruction set this CPU runs,
# fast sweeps (XENT_TEST_FULL_SWEEP=OFF), OpenMP when installed, and run one at a time in the order
# below until one fails (the cheapest, most searching first), so a caught mutant costs one or two
# test builds and a survivor all of them. A baseline run without mutants must pass first.
# Everything happens under build/mutation/ (WORK to move it); the checkout itself is never changed.
# About 2-4 minutes per caught mutant on 2 cores; the results go to build/mutation/results.md.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.."
ROOT=$PWD
WORK=${WORK:-$ROOT/build/mutation}
TESTS=(test_row_kernels test_lane_kernels test_accuracy test_small_classes test_elementwise_kernels
  test_golden_cross_entropy test_golden_nll_bce test_golden test_special_values test_threads
  test_cross_entropy test_nll_loss test_bce test_softmax)
if [[ -n ${MUTATION_TESTS:-} ]]; then read -ra TESTS <<<"$MUTATION_TESTS"; fi

source tools/cpu_tiers.sh
if [[ -z $(cpu_lacks x86-64-v4) ]]; then MARCH=-march=x86-64-v4
elif [[ -z $(cpu_lacks x86-64-v3) ]]; then MARCH=-march=x86-64-v3
else MARCH=-march=x86-64; fi

rm -rf "$WORK"
mkdir -p "$WORK/src" "$WORK/logs"
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$WORK/src"
cmake -S "$WORK/src" -B "$WORK/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++ \
  -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG" -DCMAKE_CXX_FLAGS="$MARCH" \
  -DXENT_BUILD_EXAMPLES=OFF -DXENT_BUILD_BENCHMARKS=OFF -DXENT_TEST_DISCOVERY=OFF \
  -DXENT_TEST_FULL_SWEEP=OFF -DXENT_TEST_FUZZ_REPLAY=OFF \
  -DXENT_TEST_ONLY="^.*/($(IFS='|'; echo "${TESTS[*]}"))\.cpp\$" >"$WORK/logs/configure.log"

mutate() {  # mutate apply|revert <id>: plants or removes one mutant in $WORK/src
  python3 - "$1" "$2" "$WORK/src/include/xent" "$ROOT/tools/mutation" <<'PY'
import sys
action, ident, include, here = sys.argv[1:]
sys.path.insert(0, here)
from mutants import MUTANTS
(m,) = [m for m in MUTANTS if m[0] == ident]
path = f"{include}/{m[1]}"
text = open(path).read()
old, new = (m[2], m[3]) if action == "apply" else (m[3], m[2])
if text.count(old) != 1:
    sys.exit(f"mutant {ident}: its text occurs {text.count(old)} times in {m[1]}, not once")
open(path, "w").write(text.replace(old, new))
PY
}

# run_tests <label>: builds and runs the tests in order; prints the first that fails ("none" when
# all pass, "build:<test>" when one does not compile).
run_tests() {
  local t
  for t in "${TESTS[@]}"; do
    if ! cmake --build "$WORK/build" --target "$t" -j 2 >"$WORK/logs/$1.$t.build.log" 2>&1; then
      echo "build:$t"
      return
    fi
    if ! timeout 600 "$WORK/build/tests/$t" >"$WORK/logs/$1.$t.log" 2>&1; then
      echo "$t"
      return
    fi
  done
  echo none
}

start=$SECONDS
baseline=$(run_tests baseline)
if [[ $baseline != none ]]; then
  echo "baseline: $baseline fails without any mutant (see $WORK/logs/); nothing to measure" >&2
  exit 1
fi
echo "baseline: every test passes ($((SECONDS - start)) s)"

ids=("$@")
if ((${#ids[@]} == 0)); then
  mapfile -t ids < <(python3 -c "import sys; sys.path.insert(0, 'tools/mutation')
from mutants import MUTANTS
print('\n'.join(m[0] for m in MUTANTS))")
fi
caught=0
{
  echo "| mutant | what it breaks | caught by |"
  echo "|---|---|---|"
} >"$WORK/results.md"
for id in "${ids[@]}"; do
  t0=$SECONDS
  mutate apply "$id"
  by=$(run_tests "$id")
  mutate revert "$id"
  what=$(python3 -c "import sys; sys.path.insert(0, 'tools/mutation')
from mutants import MUTANTS
print([m[4] for m in MUTANTS if m[0] == '$id'][0])")
  [[ $by == none || $by == build:* ]] || caught=$((caught + 1))
  echo "| $id | $what | ${by/none/**survived**} |" >>"$WORK/results.md"
  echo "$id: ${by/none/SURVIVED} ($((SECONDS - t0)) s)"
done
echo "caught $caught of ${#ids[@]} mutants ($((SECONDS - start)) s); table: $WORK/results.md"
