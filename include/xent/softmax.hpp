// xent: log_softmax, softmax and logsumexp over the classes of each sample, and their backward.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "detail/checks.hpp"
#include "detail/dispatch.hpp"
#include "detail/lane_kernels.hpp"
#include "detail/parallel.hpp"
#include "detail/row_stats.hpp"
#include "detail/views.hpp"
#include "options.hpp"

namespace xent {
/// The instruction-set namespace: an inline namespace named after the SIMD instruction set the
/// translation unit is compiled for (`isa_avx512`, `isa_avx2`, `isa_sse2`, `isa_neon`,
/// `isa_scalar`, ...; the macro `XENT_SIMD_ISA_NAMESPACE`), so that units built with different
/// `-march` flags never share a function body. Its members are spelled `xent::name`: always write
/// `xent::cross_entropy`, never the namespace's own name.
inline namespace XENT_SIMD_ISA_NAMESPACE {

/// log_softmax over the classes of each sample, into a caller's matrix, like
/// `F.log_softmax(x, dim=1)` (`dim=0` with Layout::SamplesInColumns).
///
/// Computes y = (x - max) - log(sum exp(x - max)), in that order, which keeps big, close logits
/// exact. A row holding NaN or +inf, or only -inf, gives NaN; a -inf logit among finite ones gives
/// -inf.
/// \param x       logits, N x C (or C x N with Layout::SamplesInColumns); float or double.
/// \param out     the result, x's shape: a resizable Matrix is resized, a Map, Block or Ref must
///                have x's shape (else std::invalid_argument). It may be x itself (bitwise the
///                same result; docs/aliasing.md).
/// \param layout  which axis holds the samples.
template <class Derived, class Out>
void log_softmax(const Eigen::MatrixBase<Derived>& x, const Eigen::MatrixBase<Out>& out,
                 Layout layout = Layout::SamplesInRows) {
  detail::assert_public_scalar<typename Derived::Scalar>();
  auto& result = const_cast<Eigen::MatrixBase<Out>&>(out);
  detail::prepare_output("log_softmax", "out", result, x.rows(), x.cols());
  const detail::InputRef<Derived> in(x.derived());
  detail::with_samples_in_rows(in, layout, [&](const auto& rows) {
    detail::with_samples_in_rows(detail::output_view(result.derived()), layout, [&](auto&& dst) {
      if (rows.cols() == 0) return;
      using Scalar = typename Derived::Scalar;
      if (detail::simd::run_lanes<Scalar>(
              rows, nullptr, dst, [&](Eigen::Index, Eigen::Index k, auto xs, auto, auto os) {
                detail::simd::LaneState<Scalar> lanes;  // per call: strips run on threads
                detail::simd::log_softmax_lanes(xs.data, xs.ld, rows.cols(), k, os.data, os.ld,
                                                lanes);
              })) {
        return;
      }
      constexpr bool kContiguous =
          detail::has_contiguous_rows<const std::decay_t<decltype(rows)>>() &&
          detail::has_contiguous_rows<std::decay_t<decltype(dst)>>();
      // Rows are independent: split over threads when OpenMP is on (the same bits for any count).
      const int threads = detail::threads_for(rows.rows(), rows.cols());
      const bool stream =
          kContiguous && detail::simd::stream_output<Scalar>(rows.rows() * rows.cols());
      if constexpr (kContiguous) {
        if (rows.rows() == 0) return;
        detail::dispatch_log_softmax_rows(rows.row(0).data(), detail::row_step(rows),
                                          dst.row(0).data(), detail::row_step(dst), rows.rows(),
                                          rows.cols(), threads, stream);
      } else {
        detail::simd::for_rows(rows.rows(), threads, stream, [&](Eigen::Index n) {
          const auto st = detail::row_stats(rows.row(n));
          dst.row(n) = (rows.row(n).array() - st.max) - st.log_sum();
        });
      }
    });
  });
}

/// log_softmax, returned as a new matrix of x's shape and storage order (see the overload with
/// `out`).
template <class Derived>
detail::PlainMatrix<Derived> log_softmax(const Eigen::MatrixBase<Derived>& x,
                                         Layout layout = Layout::SamplesInRows) {
  detail::PlainMatrix<Derived> out(x.rows(), x.cols());
  log_softmax(x, out, layout);
  return out;
}

/// softmax over the classes of each sample, into a caller's matrix, like `F.softmax(x, dim=1)`.
///
/// Computes exp(x - max) / sum exp(x - max). A row holding NaN or +inf, or only -inf, gives NaN; a
/// -inf logit among finite ones gives probability 0.
/// \param x       logits, N x C (or C x N with Layout::SamplesInColumns); float or double.
/// \param out     the result, x's shape: a resizable Matrix is resized, a Map, Block or Ref must
///                have x's shape (else std::invalid_argument). It may be x itself (bitwise the
///                same result; docs/aliasing.md).
/// \param layout  which axis holds the samples.
template <class Derived, class Out>
void softmax(const Eigen::MatrixBase<Derived>& x, const Eigen::MatrixBase<Out>& out,
             Layout layout = Layout::SamplesInRows) {
  detail::assert_public_scalar<typename Derived::Scalar>();
  auto& result = const_cast<Eigen::MatrixBase<Out>&>(out);
  detail::prepare_output("softmax", "out", result, x.rows(), x.cols());
  const detail::InputRef<Derived> in(x.derived());
  detail::with_samples_in_rows(in, layout, [&](const auto& rows) {
    detail::with_samples_in_rows(detail::output_view(result.derived()), layout, [&](auto&& dst) {
      if (rows.cols() == 0) return;
      using Scalar = typename Derived::Scalar;
      if (detail::simd::run_lanes<Scalar>(
              rows, nullptr, dst, [&](Eigen::Index, Eigen::Index k, auto xs, auto, auto os) {
                detail::simd::LaneState<Scalar> lanes;  // per call: strips run on threads
                detail::simd::softmax_lanes(xs.data, xs.ld, rows.cols(), k, os.data, os.ld, lanes);
              })) {
        return;
      }
      constexpr bool kContiguous =
          detail::has_contiguous_rows<const std::decay_t<decltype(rows)>>() &&
          detail::has_contiguous_rows<std::decay_t<decltype(dst)>>();
      // Rows are independent: split over threads when OpenMP is on (the same bits for any count).
      const int threads = detail::threads_for(rows.rows(), rows.cols());
      const bool stream =
          kContiguous && detail::simd::stream_output<Scalar>(rows.rows() * rows.cols());
      if constexpr (kContiguous) {
        if (rows.rows() == 0) return;
        detail::dispatch_softmax_rows(rows.row(0).data(), detail::row_step(rows), dst.row(0).data(),
                                      detail::row_step(dst), rows.rows(), rows.cols(), threads,
                                      stream);
      } else {
        detail::simd::for_rows(rows.rows(), threads, stream, [&](Eigen::Index n) {
          const auto st = detail::row_stats(rows.row(n));
          dst.row(n) = detail::exp_shifted(rows.row(n).array(), st.max) * (1 / st.sum);
        });
      }
    });
  });
}

/// softmax, returned as a new matrix of x's shape and storage order (see the overload with
/// `out`).
template <class Derived>
detail::PlainMatrix<Derived> softmax(const Eigen::MatrixBase<Derived>& x,
                                     Layout layout = Layout::SamplesInRows) {
  detail::PlainMatrix<Derived> out(x.rows(), x.cols());
  softmax(x, out, layout);
  return out;
}

/// log(sum exp(x)) over the classes of each sample, into a caller's vector of N entries, like
/// `torch.logsumexp(x, dim=1)`.
///
/// Follows torch.logsumexp on non-finite rows: all -inf (or no classes) gives -inf, any +inf gives
/// +inf, any NaN gives NaN.
/// \param x       logits, N x C (or C x N with Layout::SamplesInColumns); float or double.
/// \param out     a vector of N entries: a resizable vector is resized, a Map, Block or Ref must
///                have N entries (else std::invalid_argument).
/// \param layout  which axis holds the samples.
template <class Derived, class Out>
void logsumexp(const Eigen::MatrixBase<Derived>& x, const Eigen::MatrixBase<Out>& out,
               Layout layout = Layout::SamplesInRows) {
  using Scalar = typename Derived::Scalar;
  detail::assert_public_scalar<Scalar>();
  auto& result = const_cast<Eigen::MatrixBase<Out>&>(out);
  const Eigen::Index samples = detail::samples_of(x.rows(), x.cols(), layout);
  detail::prepare_vector_output("logsumexp", "out", result, samples);
  const detail::InputRef<Derived> in(x.derived());
  detail::with_samples_in_rows(in, layout, [&](const auto& rows) {
    if (detail::simd::run_lanes<Scalar>(
            rows, nullptr, nullptr,
            [&](Eigen::Index n0, Eigen::Index k, auto xs, auto, auto) {
              detail::simd::LaneState<Scalar> lanes;  // per call: strips run on threads
              alignas(64) Scalar values[detail::simd::kLaneStripMax];
              detail::simd::logsumexp_lanes(xs.data, xs.ld, rows.cols(), k, values, lanes);
              for (Eigen::Index i = 0; i < k; ++i) result(n0 + i) = values[i];
            },
            detail::simd::kLaneSmallClasses)) {
      return;
    }
    constexpr bool kContiguous = detail::has_contiguous_rows<const std::decay_t<decltype(rows)>>();
    // Rows are independent: split over threads when OpenMP is on (the same bits for any count).
    const int threads = detail::threads_for(rows.rows(), rows.cols());
    if constexpr (kContiguous) {
      if (rows.cols() > 0) {
        // max ignoring NaN (a NaN makes the sum NaN); the logs a group of short rows at a time,
        // as in log_softmax.
        using V = detail::simd::Vec<Scalar>;
        const Eigen::Index C = rows.cols();
        const Eigen::Index group = detail::simd::rows_per_log_group<Scalar>(C);
        if (group > 1) {
          detail::simd::for_row_groups(
              rows.rows(), group, threads, false, [&](Eigen::Index n0, Eigen::Index count) {
                alignas(64) Scalar maxes[V::width], logs[V::width];
                detail::simd::group_log_sums(
                    n0, count, rows.rows(), C, [&](Eigen::Index n) { return rows.row(n).data(); },
                    [](Eigen::Index) { return static_cast<Scalar*>(nullptr); }, maxes, logs);
                for (Eigen::Index i = 0; i < count; ++i) {
                  const Eigen::Index n = n0 + i;
                  if (std::isinf(maxes[i])) {  // -inf or +inf, unless a NaN hides behind it
                    result(n) = rows.row(n).array().isNaN().any()
                                    ? std::numeric_limits<Scalar>::quiet_NaN()
                                    : maxes[i];
                  } else {
                    result(n) = maxes[i] + logs[i];
                  }
                }
              });
          return;
        }
      }
    }
    detail::parallel_for(rows.rows(), threads, [&](Eigen::Index n) {
      if (rows.cols() == 0) {
        result(n) = -std::numeric_limits<Scalar>::infinity();
        return;
      }
      if constexpr (kContiguous) {  // max ignoring NaN; a NaN makes the sum NaN
        detail::simd::RowScan<Scalar> scan;
        detail::simd::scan_row<false>(
            rows.row(n).data(), rows.cols(), detail::simd::kMaxApart, static_cast<Scalar*>(nullptr),
            static_cast<const Scalar*>(nullptr), scan, static_cast<Scalar*>(nullptr),
            n + 1 < rows.rows() ? rows.row(n + 1).data() : nullptr);
        if (std::isinf(scan.max)) {  // -inf or +inf, unless a NaN hides behind it
          result(n) = rows.row(n).array().isNaN().any() ? std::numeric_limits<Scalar>::quiet_NaN()
                                                        : scan.max;
        } else {
          result(n) = scan.max + scan.log_sum();
        }
        return;
      }
      const Scalar m = rows.row(n).template maxCoeff<Eigen::PropagateNaN>();
      if (std::isinf(m)) {
        // -inf: every entry is -inf. +inf: the sum is +inf, or NaN if a NaN hides behind it
        // (a NaN max is handled by the general branch).
        result(n) =
            m < 0 ? m
                  : (rows.row(n).array().isNaN().any() ? std::numeric_limits<Scalar>::quiet_NaN()
                                                       : m);
      } else {
        result(n) = m + std::log(detail::exp_shifted(rows.row(n).array(), m).sum());
      }
    });
  });
}

/// logsumexp, returned as a new column vector of N entries (see the overload with `out`).
template <class Derived>
detail::PlainVector<Derived> logsumexp(const Eigen::MatrixBase<Derived>& x,
                                       Layout layout = Layout::SamplesInRows) {
  detail::PlainVector<Derived> out(detail::samples_of(x.rows(), x.cols(), layout));
  logsumexp(x, out, layout);
  return out;
}

/// The gradient of log_softmax, computed from its output, into grad_input, like
/// `torch._log_softmax_backward_data`.
///
/// Per sample: grad_input = g - exp(y) * sum(g), with g = grad_output and y = output.
/// \param grad_output  the upstream gradient, output's shape and scalar type.
/// \param output       the result of log_softmax(x, layout).
/// \param grad_input   the result, output's shape: a resizable Matrix is resized, a Map, Block or
///                     Ref must have output's shape (else std::invalid_argument). It may be
///                     grad_output or output itself (bitwise the same result; docs/aliasing.md).
/// \param layout       which axis holds the samples.
template <class G, class Y, class Out>
void log_softmax_backward(const Eigen::MatrixBase<G>& grad_output,
                          const Eigen::MatrixBase<Y>& output,
                          const Eigen::MatrixBase<Out>& grad_input,
                          Layout layout = Layout::SamplesInRows) {
  detail::assert_public_scalar<typename Y::Scalar>();
  static_assert(
      std::is_same<typename G::Scalar, typename Y::Scalar>::value,
      "xent::log_softmax_backward: grad_output and output must have the same scalar type");
  detail::check_same_shape("log_softmax_backward", "grad_output", grad_output, output.rows(),
                           output.cols(), "output");
  auto& result = const_cast<Eigen::MatrixBase<Out>&>(grad_input);
  detail::prepare_output("log_softmax_backward", "grad_input", result, output.rows(),
                         output.cols());
  const detail::InputRef<Y> y(output.derived());
  const detail::InputRef<G> g(grad_output.derived());
  detail::with_samples_in_rows(y, layout, [&](const auto& yr) {
    detail::with_samples_in_rows(g, layout, [&](const auto& gr) {
      detail::with_samples_in_rows(detail::output_view(result.derived()), layout, [&](auto&& dst) {
        // No classes: nothing to write (and row(n) of a matrix without data is UB in Eigen).
        if (yr.cols() == 0) return;
        using Scalar = typename Y::Scalar;
        if (detail::simd::run_lanes<Scalar>(
                gr, yr, dst,
                [&](Eigen::Index, Eigen::Index k, auto gs, auto ys, auto os) {
                  detail::simd::LaneState<Scalar> lanes;  // per call: strips run on threads
                  detail::simd::softmax_backward_lanes<true>(gs.data, gs.ld, ys.data, ys.ld,
                                                             gr.cols(), k, os.data, os.ld, lanes);
                },
                detail::simd::kLaneSmallClassesBackward)) {
          return;
        }
        constexpr bool kContiguous =
            detail::has_contiguous_rows<const std::decay_t<decltype(yr)>>() &&
            detail::has_contiguous_rows<const std::decay_t<decltype(gr)>>() &&
            detail::has_contiguous_rows<std::decay_t<decltype(dst)>>();
        // Rows are independent: split over threads when OpenMP is on (the same bits for any count).
        const int threads = detail::threads_for(yr.rows(), yr.cols());
        const bool stream =
            kContiguous && detail::simd::stream_output<Scalar>(yr.rows() * yr.cols());
        detail::simd::for_rows(yr.rows(), threads, stream, [&](Eigen::Index n) {
          if constexpr (kContiguous) {
            detail::simd::contiguous_log_softmax_backward(gr.row(n).data(), yr.row(n).data(),
                                                          dst.row(n).data(), yr.cols(), stream);
          } else {
            dst.row(n) =
                gr.row(n).array() - detail::exp_shifted(yr.row(n).array()) * gr.row(n).sum();
          }
        });
      });
    });
  });
}

/// The gradient of log_softmax, returned as a new matrix of output's shape and storage order (see
/// the overload with `grad_input`).
template <class G, class Y>
detail::PlainMatrix<Y> log_softmax_backward(const Eigen::MatrixBase<G>& grad_output,
                                            const Eigen::MatrixBase<Y>& output,
                                            Layout layout = Layout::SamplesInRows) {
  detail::PlainMatrix<Y> result(output.rows(), output.cols());
  log_softmax_backward(grad_output, output, result, layout);
  return result;
}

/// The gradient of softmax, computed from its output, into grad_input, like
/// `torch._softmax_backward_data`.
///
/// Per sample: grad_input = y * (g - sum(g * y)), with g = grad_output and y = output.
/// \param grad_output  the upstream gradient, output's shape and scalar type.
/// \param output       the result of softmax(x, layout).
/// \param grad_input   the result, output's shape: a resizable Matrix is resized, a Map, Block or
///                     Ref must have output's shape (else std::invalid_argument). It may be
///                     grad_output or output itself (bitwise the same result; docs/aliasing.md).
/// \param layout       which axis holds the samples.
template <class G, class Y, class Out>
void softmax_backward(const Eigen::MatrixBase<G>& grad_output, const Eigen::MatrixBase<Y>& output,
                      const Eigen::MatrixBase<Out>& grad_input,
                      Layout layout = Layout::SamplesInRows) {
  detail::assert_public_scalar<typename Y::Scalar>();
  static_assert(std::is_same<typename G::Scalar, typename Y::Scalar>::value,
                "xent::softmax_backward: grad_output and output must have the same scalar type");
  detail::check_same_shape("softmax_backward", "grad_output", grad_output, output.rows(),
                           output.cols(), "output");
  auto& result = const_cast<Eigen::MatrixBase<Out>&>(grad_input);
  detail::prepare_output("softmax_backward", "grad_input", result, output.rows(), output.cols());
  const detail::InputRef<Y> y(output.derived());
  const detail::InputRef<G> g(grad_output.derived());
  detail::with_samples_in_rows(y, layout, [&](const auto& yr) {
    detail::with_samples_in_rows(g, layout, [&](const auto& gr) {
      detail::with_samples_in_rows(detail::output_view(result.derived()), layout, [&](auto&& dst) {
        // No classes: nothing to write (and row(n) of a matrix without data is UB in Eigen).
        if (yr.cols() == 0) return;
        using Scalar = typename Y::Scalar;
        if (detail::simd::run_lanes<Scalar>(
                gr, yr, dst,
                [&](Eigen::Index, Eigen::Index k, auto gs, auto ys, auto os) {
                  detail::simd::LaneState<Scalar> lanes;  // per call: strips run on threads
                  detail::simd::softmax_backward_lanes<false>(gs.data, gs.ld, ys.data, ys.ld,
                                                              gr.cols(), k, os.data, os.ld, lanes);
                },
                detail::simd::kLaneSmallClassesBackward)) {
          return;
        }
        constexpr bool kContiguous =
            detail::has_contiguous_rows<const std::decay_t<decltype(yr)>>() &&
            detail::has_contiguous_rows<const std::decay_t<decltype(gr)>>() &&
            detail::has_contiguous_rows<std::decay_t<decltype(dst)>>();
        // Rows are independent: split over threads when OpenMP is on (the same bits for any count).
        const int threads = detail::threads_for(yr.rows(), yr.cols());
        const bool stream =
            kContiguous && detail::simd::stream_output<Scalar>(yr.rows() * yr.cols());
        detail::simd::for_rows(yr.rows(), threads, stream, [&](Eigen::Index n) {
          if constexpr (kContiguous) {
            detail::simd::contiguous_softmax_backward(gr.row(n).data(), yr.row(n).data(),
                                                      dst.row(n).data(), yr.cols(), stream);
          } else {
            const auto dot = gr.row(n).dot(yr.row(n));
            dst.row(n) = yr.row(n).array() * (gr.row(n).array() - dot);
          }
        });
      });
    });
  });
}

/// The gradient of softmax, returned as a new matrix of output's shape and storage order (see the
/// overload with `grad_input`).
template <class G, class Y>
detail::PlainMatrix<Y> softmax_backward(const Eigen::MatrixBase<G>& grad_output,
                                        const Eigen::MatrixBase<Y>& output,
                                        Layout layout = Layout::SamplesInRows) {
  detail::PlainMatrix<Y> result(output.rows(), output.cols());
  softmax_backward(grad_output, output, result, layout);
  return result;
}

}  // namespace XENT_SIMD_ISA_NAMESPACE
}  // namespace xent
