// xent internals: the six entry points of the element-wise binary losses, written once over a
// kernel. The arguments are checked first (binary_checks.hpp: the shapes, the weights, then
// check_binary_values, chosen by the options type). A kernel provides
//   template <bool kLoss, bool kGrad, class T>
//   static void eval(Vec<T> x, Vec<T> t, Vec<T> pos_weight, Vec<T>& loss, Vec<T>& grad);
// the unweighted element loss and its derivative with respect to x, lane-wise (simd::Vec).
// Weights multiply both; Mean divides by the number of elements (zero weights still count).
//
// Memory. The input is read through a strided view whose inner index is contiguous: a "line" is a
// row of a row-major input, a column of a column-major one. Elements go through the kernel in
// chunks of at most kElementChunk along a line. Every other operand (targets, weights, pos_weight,
// grad_outputs, the output) is used in place when it has the input's storage order and scalar
// type, and is otherwise staged through an aligned stack buffer (gathered / converted in,
// scattered out): every layout runs the same vector code, and nothing allocates.
// When every operand is one contiguous array in the same order and no weight broadcasts along an
// axis, the matrix is treated as one flat array whose chunks run across line ends: a column-major
// input or a short inner dimension then runs as fast as one long row. With a broadcast weight or
// pos_weight and short lines, chunks hold whole lines and the broadcast values are staged for them.
//
// Sums. A block's element losses accumulate in double vector lanes (float widened to double;
// double with Neumaier's compensation per lane), added to the block's Accumulator in lane order at
// the block's end. Blocks (detail/parallel.hpp) depend on the problem size alone, so the result is
// bitwise the same for any thread count.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <type_traits>

#include "binary_checks.hpp"
#include "checks.hpp"
#include "class_targets.hpp"
#include "parallel.hpp"
#include "reduce.hpp"
#include "simd/isa.hpp"
#include "simd/math.hpp"
#include "simd/vec.hpp"
#include "views.hpp"

namespace xent {
namespace detail {
inline namespace XENT_SIMD_ISA_NAMESPACE {

// Elements per chunk: small enough for the stack buffers (5 x 256 doubles), big enough that the
// per-chunk bookkeeping is noise.
constexpr Eigen::Index kElementChunk = 256;

// The element losses of one block, summed in double vector lanes.
template <class Scalar>
class LaneSums;

template <>
class LaneSums<float> {
 public:
  XENT_SIMD_INLINE void add(simd::Vec<float> v) {
    simd::Vec<double> lo, hi;
    simd::widen(v, lo, hi);
    lo_ += lo;
    hi_ += hi;
  }
  // Calls add(double) for every lane, in lane order.
  template <class Add>
  void fold(Add&& add) const {
    for (int i = 0; i < simd::Vec<double>::width; ++i) add(lo_.lane(i));
    for (int i = 0; i < simd::Vec<double>::width; ++i) add(hi_.lane(i));
  }

 private:
  simd::Vec<double> lo_ = simd::Vec<double>::zero(), hi_ = simd::Vec<double>::zero();
};

template <>
class LaneSums<double> {
 public:
  // Neumaier's compensated sum, lane-wise (as Accumulator<double>).
  XENT_SIMD_INLINE void add(simd::Vec<double> v) {
    const simd::Vec<double> t = sum_ + v;
    comp_ += simd::select(simd::abs(sum_) >= simd::abs(v), (sum_ - t) + v, (v - t) + sum_);
    sum_ = t;
  }
  template <class Add>
  void fold(Add&& add) const {
    for (int i = 0; i < simd::Vec<double>::width; ++i) {
      const double s = sum_.lane(i);
      add(s);
      if (std::isfinite(s)) add(comp_.lane(i));  // else the compensation is inf - inf
    }
  }

 private:
  simd::Vec<double> sum_ = simd::Vec<double>::zero(), comp_ = simd::Vec<double>::zero();
};

// One chunk of n contiguous elements: each per-element operand is a pointer to n values, or, for
// weight, pos_weight and the gradient's scale, nullptr and one value for all.
template <class Scalar>
struct ElementChunk {
  const Scalar* x;
  const Scalar* t;
  const Scalar* w;
  Scalar w_all;
  const Scalar* pos;
  Scalar pos_all;
  const Scalar* scale;
  Scalar scale_all;
  Scalar* out;  // the weighted element losses (kOut) or the gradient (kGrad)
};

template <bool kTail, class Scalar>
XENT_SIMD_INLINE simd::Vec<Scalar> load_lanes(const Scalar* p, int lanes) {
  if constexpr (kTail) {
    return simd::Vec<Scalar>::load_tail(p, lanes, Scalar(0));
  } else {
    static_cast<void>(lanes);
    return simd::Vec<Scalar>::loadu(p);
  }
}

template <bool kTail, class Scalar>
XENT_SIMD_INLINE void store_lanes(Scalar* p, int lanes, simd::Vec<Scalar> v) {
  if constexpr (kTail) {
    v.store_tail(p, lanes);
  } else {
    static_cast<void>(lanes);
    v.storeu(p);
  }
}

// Elements [i, i + lanes) of the chunk: out = w * loss and/or grad = (scale * w) * d loss / dx, as
// the scalar form scale(i, j) * w * grad would round them. `unit_w`: w is 1 everywhere (no
// multiply); `scale_w`: scale * w when both are one value for the chunk.
template <class Kernel, bool kSum, bool kOut, bool kGrad, bool kTail, class Scalar>
XENT_SIMD_INLINE void element_step(const ElementChunk<Scalar>& c, Eigen::Index i, int lanes,
                                   bool unit_w, simd::Vec<Scalar> scale_w, LaneSums<Scalar>& sums) {
  using V = simd::Vec<Scalar>;
  const V x = load_lanes<kTail>(c.x + i, lanes);
  const V t = load_lanes<kTail>(c.t + i, lanes);
  const V w = c.w ? load_lanes<kTail>(c.w + i, lanes) : V::set1(c.w_all);
  const V pos = c.pos ? load_lanes<kTail>(c.pos + i, lanes) : V::set1(c.pos_all);
  V loss = V::zero(), grad = V::zero();
  Kernel::template eval<kSum || kOut, kGrad>(x, t, pos, loss, grad);
  if constexpr (kSum || kOut) {
    const V weighted = unit_w ? loss : w * loss;  // 1 * v = v for every v
    if constexpr (kOut) store_lanes<kTail>(c.out + i, lanes, weighted);
    if constexpr (kSum) {
      sums.add(kTail ? simd::select(simd::Mask<Scalar>::first(lanes), weighted, V::zero())
                     : weighted);
    }
  }
  if constexpr (kGrad) {
    V factor = scale_w;
    if (c.w != nullptr || c.scale != nullptr) {
      factor = (c.scale ? load_lanes<kTail>(c.scale + i, lanes) : V::set1(c.scale_all)) * w;
    }
    store_lanes<kTail>(c.out + i, lanes, factor * grad);
  }
}

template <class Kernel, bool kSum, bool kOut, bool kGrad, class Scalar>
void element_chunk(const ElementChunk<Scalar>& c, Eigen::Index n, LaneSums<Scalar>& block_sums) {
  constexpr int W = simd::Vec<Scalar>::width;
  const bool unit_w = c.w == nullptr && c.w_all == Scalar(1);
  const simd::Vec<Scalar> scale_w = simd::Vec<Scalar>::set1(c.scale_all * c.w_all);
  LaneSums<Scalar> sums = block_sums;  // in registers for the loop
  Eigen::Index i = 0;
  for (; i + W <= n; i += W) {
    element_step<Kernel, kSum, kOut, kGrad, false>(c, i, W, unit_w, scale_w, sums);
  }
  if (i < n) {
    element_step<Kernel, kSum, kOut, kGrad, true>(c, i, static_cast<int>(n - i), unit_w, scale_w,
                                                  sums);
  }
  block_sums = sums;
}

// Is m one contiguous array in its storage order?
template <class M>
bool is_contiguous(const M& m) {
  return m.outerSize() <= 1 || m.outerStride() == m.innerSize();
}

// A read-only operand of the input's shape (targets, grad_outputs, an element-wise weight) with a
// contiguous inner index, in any storage order and scalar type: read(o, k, n, buffer) gives the
// elements [k, k + n) of the input's line o as n contiguous Scalars, in place when possible.
template <class Scalar, class X, class M>
class ElementSource {
 public:
  explicit ElementSource(const M& m) : m_(m) {}
  // Usable as one flat array in the input's order (read(0, k, n, buffer) for any k).
  bool flat() const { return kSameOrder && is_contiguous(m_); }
  const Scalar* read(Eigen::Index o, Eigen::Index k, Eigen::Index n, Scalar* buffer) const {
    if constexpr (kSameOrder) {
      const auto* p = m_.data() + o * m_.outerStride() + k;
      if constexpr (std::is_same<typename M::Scalar, Scalar>::value) {
        static_cast<void>(n);
        static_cast<void>(buffer);
        return p;
      } else {
        for (Eigen::Index q = 0; q < n; ++q) buffer[q] = static_cast<Scalar>(p[q]);
        return buffer;
      }
    } else {
      for (Eigen::Index q = 0; q < n; ++q) {
        buffer[q] = static_cast<Scalar>(X::IsRowMajor ? m_(o, k + q) : m_(k + q, o));
      }
      return buffer;
    }
  }

 private:
  static constexpr bool kSameOrder = bool(M::IsRowMajor) == bool(X::IsRowMajor);
  const M& m_;
};

// The output (element losses or gradient) of the input's shape: written in place when it has the
// input's storage order and a contiguous inner index, else through the buffer and scattered.
template <class Scalar, class X, class G>
class ElementSink {
 public:
  explicit ElementSink(G& g) : g_(g) {
    if constexpr (kDirectType) direct_ = g.innerStride() == 1;
  }
  bool flat() const {
    if constexpr (kDirectType) {
      return direct_ && is_contiguous(g_);
    } else {
      return false;
    }
  }
  Scalar* begin(Eigen::Index o, Eigen::Index k, Scalar* buffer) {
    if constexpr (kDirectType) {
      if (direct_) return g_.data() + o * g_.outerStride() + k;
    }
    return buffer;
  }
  void commit(Eigen::Index o, Eigen::Index k, Eigen::Index n, const Scalar* buffer) {
    if (direct_) return;
    for (Eigen::Index q = 0; q < n; ++q) {
      if (X::IsRowMajor) {
        g_(o, k + q) = buffer[q];
      } else {
        g_(k + q, o) = buffer[q];
      }
    }
  }

 private:
  static constexpr bool kDirectType =
      (int(G::Flags) & Eigen::DirectAccessBit) != 0 && bool(G::IsRowMajor) == bool(X::IsRowMajor);
  G& g_;
  bool direct_ = false;
};

// No output (the reduced loss).
template <class Scalar>
struct NoSink {
  bool flat() const { return true; }
  Scalar* begin(Eigen::Index, Eigen::Index, Scalar*) { return nullptr; }
  void commit(Eigen::Index, Eigen::Index, Eigen::Index, const Scalar*) {}
};

// A per-class or per-sample vector (weight, pos_weight) broadcast over the input: it runs along
// the lines' inner index (a value per element of a line) or along the outer one (a value per line).
template <class Scalar>
struct AxisVector {
  const double* data = nullptr;  // nullptr: none
  bool along_inner = false;

  // Sets the chunk's pointer (staged into buffer) or its one value; with `restage` false, buffer
  // already holds these values (short lines: the same chunk for every line of a block).
  void apply(Eigen::Index o, Eigen::Index k, Eigen::Index n, Scalar* buffer, bool restage,
             const Scalar*& ptr, Scalar& all) const {
    if (data == nullptr) {
      ptr = nullptr;
      all = Scalar(1);
    } else if (along_inner) {
      if (restage) {
        for (Eigen::Index q = 0; q < n; ++q) buffer[q] = static_cast<Scalar>(data[k + q]);
      }
      ptr = buffer;
    } else {
      ptr = nullptr;
      all = static_cast<Scalar>(data[o]);
    }
  }

  // The same for a chunk of `lines` whole lines of `inner` elements from line o on (the grouped
  // path): the vector along the inner index repeated per line (restaged only when `restage`: the
  // pattern of a block's first chunk covers its later ones), or each line's value inner times.
  void apply_lines(Eigen::Index o, Eigen::Index lines, Eigen::Index inner, Scalar* buffer,
                   bool restage, const Scalar*& ptr, Scalar& all) const {
    if (data == nullptr) {
      ptr = nullptr;
      all = Scalar(1);
      return;
    }
    if (along_inner && !restage) {
      ptr = buffer;
      return;
    }
    for (Eigen::Index l = 0; l < lines; ++l) {
      for (Eigen::Index j = 0; j < inner; ++j) {
        buffer[l * inner + j] = static_cast<Scalar>(along_inner ? data[j] : data[o + l]);
      }
    }
    ptr = buffer;
  }
};

// The view of per-element upstream gradients (std::nullptr_t: none; then a stand-in never read).
template <class X, class GO>
struct GradOutputsRef {
  using type = InputRef<GO>;
};
template <class X>
struct GradOutputsRef<X, std::nullptr_t> {
  using type = InputRef<X>;
};

// Checks every argument, calls prepare() (which sizes the caller's output, so that a throwing call
// leaves it untouched), then runs the kernel over every element: the weighted element losses into
// the sink (kOut), or the gradient scaled by grad_outputs (if not nullptr) or by `scale` into it
// (kGrad); returns the sum of the weighted element losses (kSum).
template <class Kernel, bool kSum, bool kOut, bool kGrad, class X, class T, class Options,
          class Prepare, class Sink, class GO>
Accumulator<typename X::Scalar> elementwise_run(const char* fn, const Eigen::MatrixBase<X>& x,
                                                const Eigen::DenseBase<T>& targets,
                                                const Options& opts, Prepare&& prepare, Sink& sink,
                                                const GO* grad_outputs, typename X::Scalar scale) {
  using Scalar = typename X::Scalar;
  using Index = Eigen::Index;
  assert_public_scalar<Scalar>();
  static_assert(std::is_floating_point<typename T::Scalar>::value,
                "xent: binary targets must be floating point (convert boolean or integer labels)");
  check_same_shape(fn, "targets", targets, x.rows(), x.cols(), "input");
  check_binary_weights(fn, opts, x.rows(), x.cols());
  const InputRef<X> in(x.derived());
  const InputRef<T> t_ref(targets.derived());
  check_binary_values(fn, in, t_ref, opts);
  prepare();

  const ElementSource<Scalar, X, InputRef<T>> t(t_ref);
  const Eigen::Map<const Eigen::MatrixXd> w_view = opts.weight();  // w_matrix holds a reference
  const ElementSource<Scalar, X, Eigen::Map<const Eigen::MatrixXd>> w_matrix(w_view);
  constexpr bool kScaled = !std::is_same<GO, std::nullptr_t>::value;
  // Per-element upstream gradients, read like the targets.
  using GORef = typename GradOutputsRef<X, GO>::type;
  const GORef go_ref = [&]() -> GORef {
    if constexpr (kScaled) {
      return GORef(*grad_outputs);
    } else {
      return GORef(in);
    }
  }();
  const ElementSource<Scalar, X, GORef> go(go_ref);

  // The class axis is the columns for SamplesInRows, the rows otherwise; lines run along the
  // inner index (the columns of a row-major input).
  const bool classes_inner = bool(X::IsRowMajor) == (opts.layout() == Layout::SamplesInRows);
  const WeightKind kind = opts.weight_kind();
  AxisVector<Scalar> w_axis, pos_axis;
  if (kind == WeightKind::PerClass || kind == WeightKind::PerSample) {
    w_axis.data = opts.weight().data();
    w_axis.along_inner = (kind == WeightKind::PerClass) == classes_inner;
  }
  if constexpr (std::is_same<Options, BCEWithLogitsLossOptions>::value) {
    if (opts.has_pos_weight()) {
      pos_axis.data = opts.pos_weight().data();
      pos_axis.along_inner = classes_inner;
    }
  }

  const Index size = x.size();
  const Index inner = X::IsRowMajor ? x.cols() : x.rows();
  const Index outer = X::IsRowMajor ? x.rows() : x.cols();
  // Flat: every operand one contiguous array in the input's order, nothing broadcast. Grouped:
  // the same but with a broadcast weight or pos_weight, and short lines: chunks of whole lines
  // with the broadcast values staged per chunk. Otherwise: line by line.
  const bool contiguous = is_contiguous(in) && t.flat() && sink.flat() && (!kScaled || go.flat()) &&
                          (kind != WeightKind::Elementwise || w_matrix.flat());
  const bool broadcast = pos_axis.data != nullptr || w_axis.data != nullptr;
  const bool flat = contiguous && !broadcast;
  const bool grouped = contiguous && broadcast && inner > 0 && inner <= kElementChunk / 2;

  // The line o's elements [k, k + n) (flat: o = 0, k anywhere) through the kernel.
  struct Buffers {
    alignas(64) Scalar t[kElementChunk];
    alignas(64) Scalar w[kElementChunk];
    alignas(64) Scalar pos[kElementChunk];
    alignas(64) Scalar scale[kElementChunk];
    alignas(64) Scalar out[kElementChunk];
  };
  const auto run_chunk = [&](Buffers& b, Index o, Index k, Index n, bool restage,
                             LaneSums<Scalar>& sums) {
    ElementChunk<Scalar> c{};
    c.x = in.data() + o * in.outerStride() + k;
    c.t = t.read(o, k, n, b.t);
    if (kind == WeightKind::Elementwise) {
      c.w = w_matrix.read(o, k, n, b.w);
      c.w_all = Scalar(1);
    } else {
      w_axis.apply(o, k, n, b.w, restage, c.w, c.w_all);
    }
    pos_axis.apply(o, k, n, b.pos, restage, c.pos, c.pos_all);
    if constexpr (kScaled) {
      c.scale = go.read(o, k, n, b.scale);
    } else {
      c.scale = nullptr;
    }
    c.scale_all = scale;
    c.out = sink.begin(o, k, b.out);
    element_chunk<Kernel, kSum, kOut, kGrad>(c, n, sums);
    sink.commit(o, k, n, b.out);
  };

  // Blocks of chunks (flat) or of lines; per block, the lane sums go to its accumulator.
  const Index items = flat ? (size + kElementChunk - 1) / kElementChunk : outer;
  const Blocks blocks(items);
  BlockSums<Scalar> block_sums(blocks);
  for_each_block(blocks, items, flat ? kElementChunk : inner, [&](Index begin, Index end) {
    Buffers b;
    LaneSums<Scalar> sums;
    if (flat) {
      for (Index chunk = begin; chunk < end; ++chunk) {
        const Index k = chunk * kElementChunk;
        run_chunk(b, 0, k, std::min(kElementChunk, size - k), true, sums);
      }
    } else if (grouped) {
      const Index per_chunk = kElementChunk / inner;
      for (Index o = begin; o < end; o += per_chunk) {
        const Index lines = std::min(per_chunk, end - o);
        const Index k = o * inner, n = lines * inner;
        ElementChunk<Scalar> c{};
        c.x = in.data() + k;
        c.t = t.read(0, k, n, b.t);
        if (kind == WeightKind::Elementwise) {
          c.w = w_matrix.read(0, k, n, b.w);
          c.w_all = Scalar(1);
        } else {
          w_axis.apply_lines(o, lines, inner, b.w, o == begin, c.w, c.w_all);
        }
        pos_axis.apply_lines(o, lines, inner, b.pos, o == begin, c.pos, c.pos_all);
        if constexpr (kScaled) c.scale = go.read(0, k, n, b.scale);
        c.scale_all = scale;
        c.out = sink.begin(0, k, b.out);
        element_chunk<Kernel, kSum, kOut, kGrad>(c, n, sums);
      }
    } else {
      for (Index o = begin; o < end; ++o) {
        for (Index k = 0; k < inner; k += kElementChunk) {
          // A line within one chunk sees the same broadcast values on every line: stage once.
          run_chunk(b, o, k, std::min(kElementChunk, inner - k),
                    o == begin || inner > kElementChunk, sums);
        }
      }
    }
    if constexpr (kSum) sums.fold([&](double v) { block_sums.add(begin, v); });
  });
  return block_sums.total();
}

template <class Kernel, class X, class T, class Options>
typename X::Scalar elementwise_reduced(const char* fn, const Eigen::MatrixBase<X>& x,
                                       const Eigen::DenseBase<T>& targets, const Options& opts) {
  using Scalar = typename X::Scalar;
  NoSink<Scalar> none;
  const std::nullptr_t* no_scale = nullptr;
  const auto sum = elementwise_run<Kernel, true, false, false>(
      fn, x, targets, opts, [] {}, none, no_scale, Scalar(1));
  return reduce(sum, opts.reduction(), static_cast<double>(x.size()));
}

template <class Kernel, class X, class T, class Out, class Options>
void elementwise_per_element(const char* fn, const Eigen::MatrixBase<X>& x,
                             const Eigen::DenseBase<T>& targets, const Eigen::MatrixBase<Out>& out,
                             const Options& opts) {
  using Scalar = typename X::Scalar;
  static_assert(std::is_same<typename Out::Scalar, Scalar>::value,
                "xent: the output must have the input's scalar type");
  auto& result = const_cast<Eigen::MatrixBase<Out>&>(out);
  ElementSink<Scalar, X, Out> sink(result.derived());
  const std::nullptr_t* no_scale = nullptr;
  elementwise_run<Kernel, false, true, false>(
      fn, x, targets, opts, [&] { prepare_output(fn, "out", result, x.rows(), x.cols()); }, sink,
      no_scale, Scalar(1));
}

// grad = scale * w * d loss / d x, scale per element from grad_outputs (if not nullptr) or one
// value; returns the sum of the weighted element losses when kLoss.
template <class Kernel, bool kLoss, class X, class T, class G, class Options, class GO>
double elementwise_gradient(const char* fn, const Eigen::MatrixBase<X>& x,
                            const Eigen::DenseBase<T>& targets, Eigen::MatrixBase<G>& grad,
                            const Options& opts, const GO* grad_outputs, typename X::Scalar scale) {
  using Scalar = typename X::Scalar;
  static_assert(std::is_same<typename G::Scalar, Scalar>::value,
                "xent: grad must have the input's scalar type");
  ElementSink<Scalar, X, G> sink(grad.derived());
  return elementwise_run<Kernel, kLoss, false, true>(
             fn, x, targets, opts, [&] { prepare_output(fn, "grad", grad, x.rows(), x.cols()); },
             sink, grad_outputs, scale)
      .value();
}

template <class Kernel, class X, class T, class Options>
PlainMatrix<X> elementwise_backward(const char* fn, const Eigen::MatrixBase<X>& x,
                                    const Eigen::DenseBase<T>& targets, const Options& opts,
                                    typename X::Scalar grad_output) {
  using Scalar = typename X::Scalar;
  const Scalar scale =
      reduction_scale<Scalar>(opts.reduction(), grad_output, static_cast<double>(x.size()));
  PlainMatrix<X> grad(x.rows(), x.cols());
  const std::nullptr_t* no_scale = nullptr;
  elementwise_gradient<Kernel, false>(fn, x, targets, grad, opts, no_scale, scale);
  return grad;
}

template <class Kernel, class X, class T, class GO, class Options>
PlainMatrix<X> elementwise_per_element_backward(const char* fn, const Eigen::MatrixBase<X>& x,
                                                const Eigen::DenseBase<T>& targets,
                                                const Eigen::MatrixBase<GO>& grad_outputs,
                                                const Options& opts) {
  using Scalar = typename X::Scalar;
  check_same_shape(fn, "grad_outputs", grad_outputs, x.rows(), x.cols(), "input");
  PlainMatrix<X> grad(x.rows(), x.cols());
  elementwise_gradient<Kernel, false>(fn, x, targets, grad, opts, &grad_outputs.derived(),
                                      Scalar(1));
  return grad;
}

template <class Kernel, class X, class T, class G, class Options>
typename X::Scalar elementwise_forward_backward(const char* fn, const Eigen::MatrixBase<X>& x,
                                                const Eigen::DenseBase<T>& targets,
                                                const Eigen::MatrixBase<G>& grad,
                                                const Options& opts) {
  using Scalar = typename X::Scalar;
  const double numel = static_cast<double>(x.size());
  const Scalar scale = reduction_scale<Scalar>(opts.reduction(), 1.0, numel);
  auto& result = const_cast<Eigen::MatrixBase<G>&>(grad);
  const std::nullptr_t* no_scale = nullptr;
  const double sum =
      elementwise_gradient<Kernel, true>(fn, x, targets, result, opts, no_scale, scale);
  return static_cast<Scalar>(opts.reduction() == Reduction::Sum ? sum : sum / numel);
}

}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail
}  // namespace xent
