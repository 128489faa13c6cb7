// xent internals: the six entry points every per-sample loss offers (reduced, per-sample, backward,
// per-sample backward, fused forward+backward), written once over a kernel.
//
// The arguments are checked first by check_class_loss(fn, x, targets, opts) (class_checks.hpp,
// chosen by the options type), which returns the mean's denominator. A kernel provides
//   static void run(x_rows, targets, opts, loss, grad_rows, scale, begin, end);
// where x_rows is the N x C view of the logits; for the samples n in [begin, end), loss(n, value)
// receives the per-sample loss and, unless grad_rows is nullptr, grad row n receives
// scale(n) * d loss_n / d x_n. Blocks of samples may run on several threads (detail/parallel.hpp).
#pragma once

#include <Eigen/Core>
#include <cstddef>
#include <type_traits>

#include "checks.hpp"
#include "class_checks.hpp"
#include "class_targets.hpp"
#include "parallel.hpp"
#include "reduce.hpp"
#include "simd/isa.hpp"
#include "views.hpp"

namespace xent {
namespace detail {
inline namespace XENT_SIMD_ISA_NAMESPACE {

// Where a kernel's per-sample losses go: added into block sums (the reduced entry points), written
// to a vector (the per-sample ones) or dropped (the backward ones). One concrete type rather than
// each entry point's lambda, so a kernel is compiled once per input type for all six entry points
// (it was compiled once per entry point: cross_entropy_lanes 80 times in test_cross_entropy.cpp).
template <class T>
class SampleLosses {
 public:
  static SampleLosses dropped() { return SampleLosses(); }
  static SampleLosses summed(BlockSums<T>& sums) {
    SampleLosses s;
    s.sums_ = &sums;
    return s;
  }
  // Into a vector of N entries (already sized): through its memory where it has direct access,
  // else through write(target, n, v).
  template <class Out>
  static SampleLosses written(Eigen::MatrixBase<Out>& out) {
    SampleLosses s;
    if constexpr ((Eigen::internal::traits<Out>::Flags & Eigen::DirectAccessBit) != 0 &&
                  std::is_same<typename Out::Scalar, T>::value) {
      s.out_ = out.derived().data();
      s.stride_ = out.cols() == 1 ? out.derived().rowStride() : out.derived().colStride();
    } else {
      s.target_ = &out;
      s.write_ = [](void* target, Eigen::Index n, T v) {
        static_cast<Eigen::MatrixBase<Out>*>(target)->coeffRef(n) = v;
      };
    }
    return s;
  }
  void operator()(Eigen::Index n, T v) const {
    if (sums_ != nullptr) {
      sums_->add(n, v);
    } else if (out_ != nullptr) {
      out_[n * stride_] = v;
    } else if (write_ != nullptr) {
      write_(target_, n, v);
    }
  }

 private:
  BlockSums<T>* sums_ = nullptr;
  T* out_ = nullptr;
  Eigen::Index stride_ = 0;
  void* target_ = nullptr;
  void (*write_)(void*, Eigen::Index, T) = nullptr;
};

// Where a kernel's per-sample gradient scales come from: one value for every sample (the reduced
// entry points) or a vector of upstream gradients (the per-sample backward); as SampleLosses, one
// type for all entry points.
template <class T>
class SampleScales {
 public:
  static SampleScales constant(T value) {
    SampleScales s;
    s.constant_ = value;
    return s;
  }
  template <class G>
  static SampleScales per_sample(const Eigen::MatrixBase<G>& g) {
    SampleScales s;
    if constexpr ((Eigen::internal::traits<G>::Flags & Eigen::DirectAccessBit) != 0 &&
                  std::is_same<typename G::Scalar, T>::value) {
      s.values_ = g.derived().data();
      s.stride_ = g.cols() == 1 ? g.derived().rowStride() : g.derived().colStride();
    } else {
      s.source_ = &g;
      s.read_ = [](const void* source, Eigen::Index n) {
        return static_cast<T>(static_cast<const Eigen::MatrixBase<G>*>(source)->derived().coeff(n));
      };
    }
    return s;
  }
  T operator()(Eigen::Index n) const {
    if (values_ != nullptr) return values_[n * stride_];
    if (read_ != nullptr) return read_(source_, n);
    return constant_;
  }

 private:
  T constant_ = 0;
  const T* values_ = nullptr;
  Eigen::Index stride_ = 0;
  const void* source_ = nullptr;
  T (*read_)(const void*, Eigen::Index) = nullptr;
};

template <class Kernel, class X, class Y, class Options, class LossFn, class Grad, class ScaleFn>
void visit_samples(const Eigen::MatrixBase<X>& x, const Eigen::DenseBase<Y>& targets,
                   const Options& opts, LossFn&& loss, Grad* grad, ScaleFn&& scale) {
  const InputRef<X> in(x.derived());
  with_samples_in_rows(in, opts.layout(), [&](const auto& rows) {
    const Blocks blocks(rows.rows());
    for_each_block(blocks, rows.rows(), rows.cols(), [&](Eigen::Index begin, Eigen::Index end) {
      if constexpr (std::is_same<Grad, std::nullptr_t>::value) {
        Kernel::run(rows, targets.derived(), opts, loss, nullptr, scale, begin, end);
      } else {
        with_samples_in_rows(output_view(*grad), opts.layout(), [&](auto&& grad_rows) {
          Kernel::run(rows, targets.derived(), opts, loss, grad_rows, scale, begin, end);
        });
      }
    });
  });
}

template <class Kernel, class X, class Y, class Options>
typename X::Scalar reduced_loss(const char* fn, const Eigen::MatrixBase<X>& x,
                                const Eigen::DenseBase<Y>& targets, const Options& opts) {
  using Scalar = typename X::Scalar;
  assert_public_scalar<Scalar>();
  const double denominator = check_class_loss(fn, x, targets, opts);
  const Blocks blocks(samples_of(x.rows(), x.cols(), opts.layout()));
  BlockSums<Scalar> sums(blocks);
  std::nullptr_t* no_grad = nullptr;
  visit_samples<Kernel>(x, targets, opts, SampleLosses<Scalar>::summed(sums), no_grad,
                        SampleScales<Scalar>::constant(0));
  return reduce(sums.total(), opts.reduction(), denominator);
}

template <class Kernel, class X, class Y, class Out, class Options>
void per_sample_loss(const char* fn, const Eigen::MatrixBase<X>& x,
                     const Eigen::DenseBase<Y>& targets, const Eigen::MatrixBase<Out>& out,
                     const Options& opts) {
  using Scalar = typename X::Scalar;
  assert_public_scalar<Scalar>();
  static_assert(std::is_same<typename Out::Scalar, Scalar>::value,
                "xent: the per-sample output must have the logits' scalar type");
  check_class_loss(fn, x, targets, opts);
  auto& result = const_cast<Eigen::MatrixBase<Out>&>(out);
  prepare_vector_output(fn, "out", result, samples_of(x.rows(), x.cols(), opts.layout()));
  std::nullptr_t* no_grad = nullptr;
  visit_samples<Kernel>(x, targets, opts, SampleLosses<Scalar>::written(result), no_grad,
                        SampleScales<Scalar>::constant(0));
}

template <class Kernel, class X, class Y, class Options>
PlainMatrix<X> loss_backward(const char* fn, const Eigen::MatrixBase<X>& x,
                             const Eigen::DenseBase<Y>& targets, const Options& opts,
                             typename X::Scalar grad_output) {
  using Scalar = typename X::Scalar;
  assert_public_scalar<Scalar>();
  const double denominator = check_class_loss(fn, x, targets, opts);
  const Scalar scale = reduction_scale<Scalar>(opts.reduction(), grad_output, denominator);
  PlainMatrix<X> grad(x.rows(), x.cols());
  visit_samples<Kernel>(x, targets, opts, SampleLosses<Scalar>::dropped(), &grad,
                        SampleScales<Scalar>::constant(scale));
  return grad;
}

template <class Kernel, class X, class Y, class G, class Options>
PlainMatrix<X> per_sample_loss_backward(const char* fn, const Eigen::MatrixBase<X>& x,
                                        const Eigen::DenseBase<Y>& targets,
                                        const Eigen::MatrixBase<G>& grad_outputs,
                                        const Options& opts) {
  using Scalar = typename X::Scalar;
  assert_public_scalar<Scalar>();
  check_class_loss(fn, x, targets, opts);
  const Eigen::Index samples = samples_of(x.rows(), x.cols(), opts.layout());
  if ((grad_outputs.rows() != 1 && grad_outputs.cols() != 1) || grad_outputs.size() != samples) {
    fail(fn, "grad_outputs has shape " + shape_text(grad_outputs.rows(), grad_outputs.cols()) +
                 ", expected a vector of " + std::to_string(samples) + " entries (one per sample)");
  }
  PlainMatrix<X> grad(x.rows(), x.cols());
  visit_samples<Kernel>(x, targets, opts, SampleLosses<Scalar>::dropped(), &grad,
                        SampleScales<Scalar>::per_sample(grad_outputs));
  return grad;
}

template <class Kernel, class X, class Y, class G, class Options>
typename X::Scalar loss_forward_backward(const char* fn, const Eigen::MatrixBase<X>& x,
                                         const Eigen::DenseBase<Y>& targets,
                                         const Eigen::MatrixBase<G>& grad, const Options& opts) {
  using Scalar = typename X::Scalar;
  assert_public_scalar<Scalar>();
  static_assert(std::is_same<typename G::Scalar, Scalar>::value,
                "xent: grad must have the logits' scalar type");
  const double denominator = check_class_loss(fn, x, targets, opts);
  auto& result = const_cast<Eigen::MatrixBase<G>&>(grad);
  prepare_output(fn, "grad", result, x.rows(), x.cols());
  const Scalar scale = reduction_scale<Scalar>(opts.reduction(), 1.0, denominator);
  const Blocks blocks(samples_of(x.rows(), x.cols(), opts.layout()));
  BlockSums<Scalar> sums(blocks);
  G* grad_matrix = &result.derived();
  visit_samples<Kernel>(x, targets, opts, SampleLosses<Scalar>::summed(sums), grad_matrix,
                        SampleScales<Scalar>::constant(scale));
  return reduce(sums.total(), opts.reduction(), denominator);
}

}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace detail
}  // namespace xent
