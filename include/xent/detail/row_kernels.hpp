// xent internals: explicitly vectorized passes over one contiguous sample (a row of logits), used
// whenever a sample's classes are adjacent in memory (samples in rows of a row-major matrix, or in
// columns of a column-major one). Written with Eigen's packet primitives, so the ISA is the one the
// user's compiler flags select.
//
// Every function is templated on the packet type as well as the scalar: a translation unit built
// with other -m flags instantiates other symbols, never another body for the same symbol (the ODR
// hazard of header-only SIMD code).
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <limits>

namespace xent {
namespace detail {

template <class Scalar>
using PacketOf = typename Eigen::internal::packet_traits<Scalar>::type;

// exp of arguments <= 0 with exp(-inf) exactly 0 (see exp_shifted in row_stats.hpp).
template <class Packet>
Packet pexp_shifted(const Packet& v) {
  namespace ei = Eigen::internal;
  using Scalar = typename ei::unpacket_traits<Packet>::type;
  const Packet underflow = ei::pset1<Packet>(std::log(std::numeric_limits<Scalar>::min()));
  return ei::pselect(ei::pcmp_lt(v, underflow), ei::pzero(v), ei::pexp(v));
}

// max over x[0, n) ignoring NaN (Eigen's pmax keeps its first argument when either is NaN, and the
// accumulator goes first); a NaN then surfaces through exp(NaN - max) in the sum.
template <class Scalar, class Packet = PacketOf<Scalar>>
Scalar contiguous_max(const Scalar* x, Eigen::Index n) {
  namespace ei = Eigen::internal;
  constexpr Eigen::Index W = ei::unpacket_traits<Packet>::size;
  const Scalar lowest = -std::numeric_limits<Scalar>::infinity();
  Packet m0 = ei::pset1<Packet>(lowest), m1 = m0, m2 = m0, m3 = m0;  // 4 chains hide pmax latency
  Eigen::Index i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    m0 = ei::pmax(m0, ei::ploadu<Packet>(x + i));
    m1 = ei::pmax(m1, ei::ploadu<Packet>(x + i + W));
    m2 = ei::pmax(m2, ei::ploadu<Packet>(x + i + 2 * W));
    m3 = ei::pmax(m3, ei::ploadu<Packet>(x + i + 3 * W));
  }
  for (; i + W <= n; i += W) m0 = ei::pmax(m0, ei::ploadu<Packet>(x + i));
  Scalar m = ei::predux_max(ei::pmax(ei::pmax(m0, m1), ei::pmax(m2, m3)));
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

// The softmax statistics of one contiguous sample with a target class y (or y < 0 for none):
// sum = sum_c exp(x_c - m) and others = the same sum without the target's term, accumulated apart
// (never as sum - e_y, which would cancel as p_y -> 1). When e is given, exp(x_c - m) is also
// stored there (the fused gradient rescales it in place: one exp per element).
template <class Scalar>
struct ContiguousStats {
  Scalar max, sum, others, target_exp;
};

template <class Scalar, class Packet = PacketOf<Scalar>>
ContiguousStats<Scalar> contiguous_stats(const Scalar* x, Eigen::Index n, Eigen::Index y,
                                         Scalar* e) {
  namespace ei = Eigen::internal;
  constexpr Eigen::Index W = ei::unpacket_traits<Packet>::size;
  const Scalar m = contiguous_max<Scalar, Packet>(x, n);
  const Packet pm = ei::pset1<Packet>(m);
  Packet s0 = ei::pzero(pm), s1 = s0;
  Eigen::Index i = 0;
  // The packet holding the target is summed apart; everything else goes into two chains.
  const Eigen::Index target_block = y >= 0 ? (y / W) * W : -1;
  Scalar target_exp = 0;
  const auto packet_at = [&](Eigen::Index at) {
    const Packet v = pexp_shifted(ei::psub(ei::ploadu<Packet>(x + at), pm));
    if (e) ei::pstoreu(e + at, v);
    return v;
  };
  for (; i + 2 * W <= n; i += 2 * W) {
    if (i == target_block || i + W == target_block) break;
    s0 = ei::padd(s0, packet_at(i));
    s1 = ei::padd(s1, packet_at(i + W));
  }
  for (; i + W <= n; i += W) {
    const Packet v = packet_at(i);
    if (i == target_block) {
      alignas(64) Scalar lanes[W];
      ei::pstore(lanes, v);
      target_exp = lanes[y - i];
      lanes[y - i] = 0;
      s1 = ei::padd(s1, ei::pload<Packet>(lanes));
    } else {
      s0 = ei::padd(s0, v);
    }
  }
  Scalar others = ei::predux(ei::padd(s0, s1));
  for (; i < n; ++i) {
    const Scalar v =
        x[i] - m < std::log(std::numeric_limits<Scalar>::min()) ? Scalar(0) : std::exp(x[i] - m);
    if (e) e[i] = v;
    if (i == y) {
      target_exp = v;
    } else {
      others += v;
    }
  }
  return {m, others + target_exp, others, target_exp};
}

// e[c] = a * e[c] - b * w[c] over a contiguous row (w may be null: then b alone is subtracted).
template <class Scalar, class Packet = PacketOf<Scalar>>
void contiguous_rescale(Scalar* e, Eigen::Index n, Scalar a, Scalar b, const Scalar* w) {
  namespace ei = Eigen::internal;
  constexpr Eigen::Index W = ei::unpacket_traits<Packet>::size;
  const Packet pa = ei::pset1<Packet>(a), pb = ei::pset1<Packet>(b);
  Eigen::Index i = 0;
  if (b == 0) {
    for (; i + W <= n; i += W) ei::pstoreu(e + i, ei::pmul(pa, ei::ploadu<Packet>(e + i)));
    for (; i < n; ++i) e[i] = a * e[i];
  } else if (w) {
    for (; i + W <= n; i += W) {
      ei::pstoreu(e + i, ei::psub(ei::pmul(pa, ei::ploadu<Packet>(e + i)),
                                  ei::pmul(pb, ei::ploadu<Packet>(w + i))));
    }
    for (; i < n; ++i) e[i] = a * e[i] - b * w[i];
  } else {
    for (; i + W <= n; i += W) {
      ei::pstoreu(e + i, ei::psub(ei::pmul(pa, ei::ploadu<Packet>(e + i)), pb));
    }
    for (; i < n; ++i) e[i] = a * e[i] - b;
  }
}

}  // namespace detail
}  // namespace xent
