#!/usr/bin/env bash
# Build and run the xent benchmark suite, then write benchmarks/results/ (README.md, chart.png,
# results.json). Extra arguments go to the benchmark binary, e.g. a quick subset:
#   benchmarks/run.sh --benchmark_filter='^cross_entropy/.*/row_major/N:4096/'
# Environment: BUILD (build directory, default build/bench), CXXFLAGS_BENCH (default
# -march=native), RESULTS (output directory, default benchmarks/results).
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
BUILD=${BUILD:-build/bench}
RESULTS=${RESULTS:-benchmarks/results}
CXXFLAGS_BENCH=${CXXFLAGS_BENCH:--march=native}

cmake -S benchmarks -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS="$CXXFLAGS_BENCH"
cmake --build "$BUILD" --target xent_bench -j "$(nproc)"

# A binary built for a -march the CPU lacks dies with SIGILL: build it, but do not run it.
source tools/cpu_tiers.sh
if [[ $CXXFLAGS_BENCH =~ -march=([^ ]+) ]] && lacks=$(cpu_lacks "${BASH_REMATCH[1]}") && [[ -n $lacks ]]; then
  echo "benchmarks ($CXXFLAGS_BENCH): built, not run (CPU lacks $lacks)"
  exit 0
fi

mkdir -p "$RESULTS"
"$BUILD/xent_bench" --benchmark_min_time=0.1 \
  --benchmark_out="$RESULTS/results.json" --benchmark_out_format=json "$@"
benchmarks/report.py "$RESULTS/results.json" "$RESULTS"
