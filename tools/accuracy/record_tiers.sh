#!/usr/bin/env bash
# Records xent's accuracy figures for each instruction-set tier this CPU runs into
# tools/accuracy/tiers.csv, which tests/test_accuracy.cpp pins (each tier to its own figures).
# Builds tests/test_accuracy.cpp with g++ -O2 and the full sweep for each tier, runs it with
# XENT_ACCURACY_RECORD set, and replaces that tier's rows; a tier the CPU lacks keeps its rows
# (record it on a CPU that has it). About 2 minutes per tier on 2 cores.
#
#   tools/accuracy/record_tiers.sh [tier...]    (default: avx512 avx2 sse2 scalar)
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.."
source tools/cpu_tiers.sh
CXX=${CXX:-g++}
work=$(mktemp -d "${TMPDIR:-/tmp}/xent-tiers.XXXXXX")
trap 'rm -rf "$work"' EXIT
flags_of() {  # flags_of <tier>: the -march (or defines) of the CI preset of that tier
  case $1 in
    avx512) echo "-march=x86-64-v4" ;;
    avx2) echo "-march=x86-64-v3" ;;
    sse2) echo "-march=x86-64" ;;
    scalar) echo "-DXENT_SIMD_SCALAR -DEIGEN_DONT_VECTORIZE" ;;
    *) echo "unknown tier $1" >&2; return 1 ;;
  esac
}
march_of() { case $1 in avx512) echo x86-64-v4 ;; avx2) echo x86-64-v3 ;; *) echo x86-64 ;; esac; }

"$CXX" -std=c++17 -O0 -Itests -c tests/catch_main.cpp -o "$work/catch_main.o"
cp tools/accuracy/tiers.csv "$work/tiers.csv"
for tier in "${@:-avx512 avx2 sse2 scalar}"; do
  for t in $tier; do
    if lacks=$(cpu_lacks "$(march_of "$t")") && [[ -n $lacks ]]; then
      echo "$t: skipped (CPU lacks $lacks); its committed figures stay"
      continue
    fi
    # shellcheck disable=SC2046
    "$CXX" -std=c++17 -O2 $(flags_of "$t") -Iinclude -Itests -isystem /usr/include/eigen3 \
      -DXENT_TEST_DATA_DIR="\"$PWD/tests\"" -DXENT_TEST_FULL_SWEEP=1 \
      tests/test_accuracy.cpp "$work/catch_main.o" -o "$work/test_accuracy_$t"
    rm -f "$work/$t.csv"
    # The test itself may fail (figures not yet recorded, or worse): the figures are what counts.
    XENT_ACCURACY_RECORD="$work/$t.csv" "$work/test_accuracy_$t" >"$work/$t.log" 2>&1 || true
    [[ -s $work/$t.csv ]] || { cat "$work/$t.log"; echo "$t: recorded nothing" >&2; exit 1; }
    ns=$(cut -d, -f1 "$work/$t.csv" | sort -u)
    { head -1 "$work/tiers.csv"; tail -n +2 "$work/tiers.csv" | awk -F, -v ns="$ns" '$1 != ns';
      cat "$work/$t.csv"; } >"$work/next.csv"
    mv "$work/next.csv" "$work/tiers.csv"
    echo "$t ($ns): $(wc -l <"$work/$t.csv") figures recorded"
  done
done
{ head -1 "$work/tiers.csv"; tail -n +2 "$work/tiers.csv" | sort -t, -k1,1 -k2,2n -k3,3; } \
  >tools/accuracy/tiers.csv
