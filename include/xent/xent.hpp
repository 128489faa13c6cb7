// xent: classification losses over Eigen with PyTorch's semantics. Include this for every loss
// (xent::reference, the plain formulation, is <xent/reference.hpp>).
#pragma once

/// \namespace xent
/// Classification losses over Eigen with PyTorch's semantics: log_softmax, softmax, logsumexp,
/// NLL, cross-entropy, binary cross-entropy on logits and on probabilities, each with its gradient
/// and a fused forward+backward, as free functions and as loss objects built from option objects.
/// Include `<xent/xent.hpp>` for all of them; xent::reference, the plain formulation of each loss,
/// is included on its own: `<xent/reference.hpp>`.

#include "binary_cross_entropy.hpp"
#include "binary_cross_entropy_with_logits.hpp"
#include "config.hpp"
#include "cross_entropy.hpp"
#include "isa.hpp"
#include "nll_loss.hpp"
#include "options.hpp"
#include "softmax.hpp"
#include "threads.hpp"
#include "tuning.hpp"
