// xent: classification losses over Eigen with PyTorch's semantics. Include this for everything.
#pragma once

/// \namespace xent
/// Classification losses over Eigen with PyTorch's semantics: log_softmax, softmax, logsumexp,
/// NLL, cross-entropy, binary cross-entropy on logits and on probabilities, each with its gradient
/// and a fused forward+backward, as free functions and as loss objects built from option objects;
/// xent::reference holds the plain formulation of each. Include `<xent/xent.hpp>` for everything.

#include "binary_cross_entropy.hpp"
#include "binary_cross_entropy_with_logits.hpp"
#include "config.hpp"
#include "cross_entropy.hpp"
#include "nll_loss.hpp"
#include "options.hpp"
#include "reference.hpp"
#include "softmax.hpp"
#include "threads.hpp"
#include "tuning.hpp"
