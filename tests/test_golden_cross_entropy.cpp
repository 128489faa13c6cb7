// xent against PyTorch: cross_entropy, class-index and class-probability targets
// (golden_runner.hpp: the method and tolerances).
#include "golden_runner.hpp"

TEST_CASE("golden: cross_entropy with class-index targets") {
  run_loss_cases<CE>("cross_entropy", true, false);
}
TEST_CASE("golden: cross_entropy with class-probability targets") {
  run_loss_cases<CE>("cross_entropy", false, true);
}
