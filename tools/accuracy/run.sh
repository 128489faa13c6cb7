#!/bin/sh
# The accuracy study, end to end: builds tools/accuracy/accuracy.cpp as a user would
# (g++ -O2 -march=native), dumps every cell's inputs into a temporary directory (~700 MB with
# PyTorch's outputs, removed at the end), runs PyTorch 1.13 on them (/usr/bin/python3 with
# Debian's python3-torch), measures every contender and regenerates tools/accuracy/results.csv,
# tools/accuracy/README.md and the summary table in docs/accuracy.md. About 1.5 minutes on 2 cores.
# -march=native: the study measures the widest tier this CPU runs (never one it lacks); the
# figures differ slightly between tiers (AVX-512, AVX2+FMA, SSE2), so say which one a run used.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
CXX=${CXX:-g++}
work=$(mktemp -d "${TMPDIR:-/tmp}/xent-accuracy.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$CXX" -std=c++17 -O2 -march=native -I"$root/include" -isystem /usr/include/eigen3 \
  "$here/accuracy.cpp" -o "$work/accuracy"
"$work/accuracy" dump "$work"
/usr/bin/python3 "$here/torch_outputs.py" "$work"
"$work/accuracy" measure "$work" "$here/results.csv" 2>/dev/null
/usr/bin/python3 "$here/report.py" "$here/results.csv"
