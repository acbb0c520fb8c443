#include "affect/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace kindred::affect {
namespace {

// Hand-computed: 3 labels, 4 examples.
//   truth      {0}, {0,1}, {2}, {}
//   predicted  {0}, {1},   {0}, {2}
// label 0: tp 1, predicted 2, support 2 -> P .5 R .5 F1 .5
// label 1: tp 1, predicted 1, support 1 -> P 1 R 1 F1 1
// label 2: tp 0, predicted 1, support 1 -> 0
TEST(Metrics, MultilabelHandComputed) {
  const std::vector<std::vector<int>> truth = {{0}, {0, 1}, {2}, {}};
  const std::vector<std::vector<int>> pred = {{0}, {1}, {0}, {2}};
  const auto r = evaluate_multilabel(truth, pred, 3);
  EXPECT_DOUBLE_EQ(r.labels[0].precision, 0.5);
  EXPECT_DOUBLE_EQ(r.labels[0].recall, 0.5);
  EXPECT_DOUBLE_EQ(r.labels[1].f1, 1.0);
  EXPECT_DOUBLE_EQ(r.labels[2].f1, 0.0);
  EXPECT_DOUBLE_EQ(r.macro_f1, 0.5);
  // micro: tp 2, predicted 4, support 4 -> .5
  EXPECT_DOUBLE_EQ(r.micro_f1, 0.5);
  // weighted by support 2,1,1: (0.5*2 + 1*1 + 0)/4
  EXPECT_DOUBLE_EQ(r.weighted_f1, 0.5);
  EXPECT_DOUBLE_EQ(r.accuracy, 0.25);
}

TEST(Metrics, SingleLabelWithOutOfScope) {
  const std::vector<int> truth = {0, 1, 1, -1};
  const std::vector<int> pred = {0, 1, 0, -1};
  const auto r = evaluate_single_label(truth, pred, 2);
  EXPECT_DOUBLE_EQ(r.accuracy, 0.75);
  EXPECT_DOUBLE_EQ(r.labels[0].precision, 0.5);
  EXPECT_DOUBLE_EQ(r.labels[1].recall, 0.5);
  EXPECT_THROW(evaluate_single_label(truth, std::vector<int>{0}, 2), std::invalid_argument);
  EXPECT_THROW(evaluate_single_label(std::vector<int>{5}, std::vector<int>{0}, 2), std::invalid_argument);
}

TEST(Metrics, PearsonHandComputed) {
  const std::vector<double> x = {1, 2, 3, 4}, y = {2, 4, 6, 8.5};
  // by hand: mean x 2.5, mean y 5.125; sxy = 10.75, sxx = 5, syy = 23.1875
  EXPECT_NEAR(pearson(x, y), 10.75 / std::sqrt(5 * 23.1875), 1e-12);
  EXPECT_DOUBLE_EQ(pearson(x, std::vector<double>{1, 1, 1, 1}), 0.0);
  EXPECT_THROW(pearson(std::vector<double>{1}, std::vector<double>{1}), std::invalid_argument);
}

}  // namespace
}  // namespace kindred::affect
