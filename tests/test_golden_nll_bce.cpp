// xent against PyTorch: nll_loss, binary_cross_entropy_with_logits and binary_cross_entropy
// (golden_runner.hpp: the method and tolerances).
#include "golden_runner.hpp"

TEST_CASE("golden: nll_loss") { run_loss_cases<NLL>("nll_loss", true, false); }
TEST_CASE("golden: binary_cross_entropy_with_logits") {
  run_loss_cases<BCEL>("bce_with_logits", false, true);
}
TEST_CASE("golden: binary_cross_entropy") { run_loss_cases<BCE>("bce", false, true); }
