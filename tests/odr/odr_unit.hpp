// The same xent calls, compiled into translation units with different -march flags
// (odr_baseline.cpp, odr_avx2.cpp and, on a CPU with AVX-512, odr_avx512.cpp). See odr_main.cpp.
#pragma once

#include <Eigen/Core>
#include <vector>
#include <xent/xent.hpp>

#define XENT_ODR_STR2(x) #x
#define XENT_ODR_STR(x) XENT_ODR_STR2(x)

using CrossEntropyFn = float (*)(const Eigen::MatrixBase<Eigen::MatrixXf>&,
                                 const Eigen::DenseBase<Eigen::VectorXi>&,
                                 const xent::CrossEntropyOptions&);
using LogSoftmaxFn = void (*)(const Eigen::MatrixBase<Eigen::MatrixXf>&,
                              const Eigen::MatrixBase<Eigen::MatrixXf>&, xent::Layout);

// Inputs and options built in main (a baseline unit) and read by every unit: the option types,
// weights included, are shared between units built for different instruction sets.
struct OdrInputs {
  Eigen::MatrixXf x, probs, bce_targets, bce_probs, grad_rows;
  Eigen::VectorXi y;
  Eigen::VectorXf grad_samples;
  xent::CrossEntropyOptions ce, ce_prob;
  xent::NLLLossOptions nll;
  xent::BCELossOptions bce;
  xent::BCEWithLogitsLossOptions bce_logits;
};

struct OdrUnit {
  const char* isa_namespace;    // the ISA-named inline namespace of this unit's xent code
  CrossEntropyFn cross_entropy;  // the instantiation this unit calls
  LogSoftmaxFn log_softmax;
  // Every entry point of xent on the inputs, each result's values appended in turn.
  std::vector<double> (*every_entry_point)(const OdrInputs&);
};

namespace odr {

inline void append(std::vector<double>& out, double v) { out.push_back(v); }
template <class Derived>
void append(std::vector<double>& out, const Eigen::DenseBase<Derived>& m) {
  const auto plain = m.derived().eval();
  for (Eigen::Index i = 0; i < plain.size(); ++i) out.push_back(static_cast<double>(plain.data()[i]));
}

// Defined in each unit (inline: one per unit, the bodies differ only through the ISA namespace,
// which is what the test is about; see XENT_ODR_UNIT).
#define XENT_ODR_EVERY_ENTRY_POINT_BODY                                                            \
  using namespace xent;                                                                            \
  std::vector<double> r;                                                                           \
  const Eigen::MatrixXf& x = in.x;                                                                 \
  odr::append(r, cross_entropy(x, in.y, in.ce));                                                   \
  odr::append(r, cross_entropy(x, in.probs, in.ce_prob));                                          \
  odr::append(r, cross_entropy_per_sample(x, in.y, in.ce));                                        \
  odr::append(r, cross_entropy_backward(x, in.y, in.ce));                                          \
  odr::append(r, cross_entropy_per_sample_backward(x, in.y, in.grad_samples, in.ce));              \
  {                                                                                                \
    Eigen::MatrixXf g(x.rows(), x.cols());                                                         \
    odr::append(r, cross_entropy_forward_backward(x, in.y, g, in.ce));                             \
    odr::append(r, g);                                                                             \
    Eigen::MatrixXf inplace = x;                                                                   \
    odr::append(r, cross_entropy_forward_backward_in_place(inplace, in.y, in.ce));                 \
    odr::append(r, inplace);                                                                       \
    odr::append(r, CrossEntropyLoss(in.ce).forward_backward(x, in.y, g));                          \
    odr::append(r, g);                                                                             \
  }                                                                                                \
  const Eigen::MatrixXf lp = log_softmax(x);                                                       \
  odr::append(r, lp);                                                                              \
  odr::append(r, softmax(x));                                                                      \
  odr::append(r, logsumexp(x));                                                                    \
  odr::append(r, log_softmax_backward(in.grad_rows, lp));                                          \
  odr::append(r, softmax_backward(in.grad_rows, softmax(x)));                                      \
  odr::append(r, nll_loss(lp, in.y, in.nll));                                                      \
  odr::append(r, nll_loss_per_sample(lp, in.y, in.nll));                                           \
  odr::append(r, nll_loss_backward(lp, in.y, in.nll));                                             \
  odr::append(r, nll_loss_per_sample_backward(lp, in.y, in.grad_samples, in.nll));                 \
  {                                                                                                \
    Eigen::MatrixXf g(x.rows(), x.cols());                                                         \
    odr::append(r, nll_loss_forward_backward(lp, in.y, g, in.nll));                                \
    odr::append(r, g);                                                                             \
  }                                                                                                \
  odr::append(r, binary_cross_entropy_with_logits(x, in.bce_targets, in.bce_logits));              \
  odr::append(r, binary_cross_entropy_with_logits_per_sample(x, in.bce_targets, in.bce_logits));   \
  odr::append(r, binary_cross_entropy_with_logits_backward(x, in.bce_targets, in.bce_logits));     \
  odr::append(r, binary_cross_entropy_with_logits_per_sample_backward(x, in.bce_targets,           \
                                                                      in.grad_rows, in.bce_logits)); \
  {                                                                                                \
    Eigen::MatrixXf g(x.rows(), x.cols());                                                         \
    odr::append(r, binary_cross_entropy_with_logits_forward_backward(x, in.bce_targets, g,         \
                                                                     in.bce_logits));              \
    odr::append(r, g);                                                                             \
  }                                                                                                \
  odr::append(r, binary_cross_entropy(in.bce_probs, in.bce_targets, in.bce));                      \
  odr::append(r, binary_cross_entropy_per_sample(in.bce_probs, in.bce_targets, in.bce));           \
  odr::append(r, binary_cross_entropy_backward(in.bce_probs, in.bce_targets, in.bce));             \
  odr::append(r, binary_cross_entropy_per_sample_backward(in.bce_probs, in.bce_targets,            \
                                                          in.grad_rows, in.bce));                  \
  {                                                                                                \
    Eigen::MatrixXf g(x.rows(), x.cols());                                                         \
    odr::append(r, binary_cross_entropy_forward_backward(in.bce_probs, in.bce_targets, g, in.bce)); \
    odr::append(r, g);                                                                             \
  }                                                                                                \
  return r;

}  // namespace odr

#define XENT_ODR_UNIT(fn_name)                                                          \
  static std::vector<double> fn_name##_every_entry_point(const OdrInputs& in) {         \
    XENT_ODR_EVERY_ENTRY_POINT_BODY                                                     \
  }                                                                                     \
  OdrUnit fn_name() {                                                                   \
    return {XENT_ODR_STR(XENT_SIMD_ISA_NAMESPACE),                                      \
            &xent::cross_entropy<Eigen::MatrixXf, Eigen::VectorXi>,                     \
            &xent::log_softmax<Eigen::MatrixXf, Eigen::MatrixXf>,                       \
            &fn_name##_every_entry_point};                                              \
  }
