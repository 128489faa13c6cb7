# Sourced by the scripts that run binaries built for an x86-64 instruction-set tier (.ci/run,
# tests/fuzz/run.sh, benchmarks/run.sh; tools/accuracy/run.sh builds -march=native, which any CPU
# runs): a binary built for a tier the CPU lacks dies with SIGILL, so such a tier is built but not
# run.
#
#   cpu_lacks <tier>   prints what the CPU lacks to run code built with -march=<tier>, or nothing
#                      if it can run it. Tiers: x86-64-v4 (AVX-512F/BW/CD/DQ/VL, on top of v3),
#                      x86-64-v3 (AVX2, FMA, BMI1/2, F16C, LZCNT, MOVBE), x86-64 (SSE2: every
#                      x86-64 CPU), native (the CPU itself).
# The flags are those of /proc/cpuinfo (Linux); a machine that is not x86-64 lacks every x86 tier.

cpu_lacks() {
  local tier=$1 flags needed=() f missing=()
  case $tier in
    native) return 0 ;;
    x86-64) needed=() ;;
    x86-64-v3) needed=(avx avx2 bmi1 bmi2 f16c fma abm movbe xsave) ;;
    x86-64-v4) needed=(avx avx2 bmi1 bmi2 f16c fma abm movbe xsave
                       avx512f avx512bw avx512cd avx512dq avx512vl) ;;
    *) echo "unknown tier $tier"; return 0 ;;
  esac
  if [[ $(uname -m) != x86_64 ]]; then
    echo "not an x86-64 CPU ($(uname -m))"
    return 0
  fi
  flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
  for f in "${needed[@]}"; do
    [[ $flags == *" $f "* ]] || missing+=("$f")
  done
  ((${#missing[@]} == 0)) || echo "${missing[*]}"
}
