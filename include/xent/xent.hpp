// xent: classification losses over Eigen with PyTorch's semantics. Include this for everything.
#pragma once

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
