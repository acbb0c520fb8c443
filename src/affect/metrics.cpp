#include "affect/metrics.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace kindred::affect {
namespace {

double f1_of(double p, double r) { return p + r > 0 ? 2 * p * r / (p + r) : 0.0; }

void finish(ClassificationReport& report, long long tp_all, long long pred_all, long long support_all) {
  double macro = 0, weighted = 0;
  for (LabelScore& s : report.labels) {
    s.precision = s.predicted ? double(s.true_positive) / s.predicted : 0.0;
    s.recall = s.support ? double(s.true_positive) / s.support : 0.0;
    s.f1 = f1_of(s.precision, s.recall);
    macro += s.f1;
    weighted += s.f1 * s.support;
  }
  const double n = double(report.labels.size());
  report.macro_f1 = n > 0 ? macro / n : 0.0;
  report.weighted_f1 = support_all > 0 ? weighted / double(support_all) : 0.0;
  const double micro_p = pred_all ? double(tp_all) / double(pred_all) : 0.0;
  const double micro_r = support_all ? double(tp_all) / double(support_all) : 0.0;
  report.micro_f1 = f1_of(micro_p, micro_r);
}

void check_label(int label, int n_labels) {
  if (label < 0 || label >= n_labels) {
    throw std::invalid_argument("label " + std::to_string(label) + " is outside [0, " + std::to_string(n_labels) + ")");
  }
}

}  // namespace

ClassificationReport evaluate_multilabel(std::span<const std::vector<int>> truth,
                                         std::span<const std::vector<int>> predicted, int n_labels) {
  if (truth.size() != predicted.size()) throw std::invalid_argument("truth and predictions differ in length");
  ClassificationReport report;
  report.labels.resize(size_t(std::max(0, n_labels)));
  long long tp_all = 0, pred_all = 0, support_all = 0, exact = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    std::vector<int> t = truth[i], p = predicted[i];
    for (int l : t) check_label(l, n_labels);
    for (int l : p) check_label(l, n_labels);
    std::sort(t.begin(), t.end());
    t.erase(std::unique(t.begin(), t.end()), t.end());
    std::sort(p.begin(), p.end());
    p.erase(std::unique(p.begin(), p.end()), p.end());
    for (int l : t) ++report.labels[l].support;
    for (int l : p) {
      ++report.labels[l].predicted;
      if (std::binary_search(t.begin(), t.end(), l)) {
        ++report.labels[l].true_positive;
        ++tp_all;
      }
    }
    support_all += static_cast<long long>(t.size());
    pred_all += static_cast<long long>(p.size());
    exact += (t == p);
  }
  finish(report, tp_all, pred_all, support_all);
  report.accuracy = truth.empty() ? 0.0 : double(exact) / double(truth.size());
  return report;
}

ClassificationReport evaluate_single_label(std::span<const int> truth, std::span<const int> predicted, int n_labels) {
  if (truth.size() != predicted.size()) throw std::invalid_argument("truth and predictions differ in length");
  std::vector<std::vector<int>> t(truth.size()), p(truth.size());
  for (size_t i = 0; i < truth.size(); ++i) {
    if (truth[i] >= 0) t[i] = {truth[i]};
    if (predicted[i] >= 0) p[i] = {predicted[i]};
  }
  return evaluate_multilabel(t, p, n_labels);
}

double pearson(std::span<const double> x, std::span<const double> y) {
  if (x.size() != y.size()) throw std::invalid_argument("pearson: series differ in length");
  if (x.size() < 2) throw std::invalid_argument("pearson: needs at least two points");
  const double n = double(x.size());
  double mx = 0, my = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  if (sxx <= 0 || syy <= 0) return 0.0;
  return sxy / std::sqrt(sxx * syy);
}

}  // namespace kindred::affect
