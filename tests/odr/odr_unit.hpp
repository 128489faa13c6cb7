// The same xent calls, compiled into translation units with different -march flags
// (odr_baseline.cpp, odr_avx2.cpp). See test_odr_main.cpp.
#pragma once

#include <Eigen/Core>
#include <xent/xent.hpp>

#define XENT_ODR_STR2(x) #x
#define XENT_ODR_STR(x) XENT_ODR_STR2(x)

using CrossEntropyFn = float (*)(const Eigen::MatrixBase<Eigen::MatrixXf>&,
                                 const Eigen::DenseBase<Eigen::VectorXi>&,
                                 const xent::CrossEntropyOptions&);
using LogSoftmaxFn = void (*)(const Eigen::MatrixBase<Eigen::MatrixXf>&,
                              const Eigen::MatrixBase<Eigen::MatrixXf>&, xent::Layout);

struct OdrUnit {
  const char* isa_namespace;    // the ISA-named inline namespace of this unit's xent code
  CrossEntropyFn cross_entropy;  // the instantiation this unit calls
  LogSoftmaxFn log_softmax;
};

#define XENT_ODR_UNIT(fn_name)                                                          \
  OdrUnit fn_name() {                                                                   \
    return {XENT_ODR_STR(XENT_SIMD_ISA_NAMESPACE),                                      \
            &xent::cross_entropy<Eigen::MatrixXf, Eigen::VectorXi>,                     \
            &xent::log_softmax<Eigen::MatrixXf, Eigen::MatrixXf>};                      \
  }
