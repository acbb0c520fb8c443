// Evaluation metrics for appraisers and intent classifiers: per-label precision/recall/F1,
// macro/micro/weighted F1 for multi-label and single-label predictions, accuracy, Pearson r.
#pragma once
#include <span>
#include <vector>

namespace kindred::affect {

struct LabelScore {
  double precision = 0, recall = 0, f1 = 0;
  int support = 0;           // examples that truly carry the label
  int predicted = 0, true_positive = 0;
};

struct ClassificationReport {
  std::vector<LabelScore> labels;  // one per label
  double macro_f1 = 0;             // unweighted mean of per-label F1 (labels with no support and no prediction count as 0)
  double micro_f1 = 0;
  double weighted_f1 = 0;          // per-label F1 weighted by support
  double accuracy = 0;             // exact match of the whole label set
};

// `truth` and `predicted` hold each example's label set; labels are in [0, n_labels).
// Throws std::invalid_argument when the sizes differ or a label is out of range.
ClassificationReport evaluate_multilabel(std::span<const std::vector<int>> truth,
                                         std::span<const std::vector<int>> predicted, int n_labels);

// Single-label: one label per example; -1 means "none / out of scope" and counts for no label.
ClassificationReport evaluate_single_label(std::span<const int> truth, std::span<const int> predicted, int n_labels);

// Pearson correlation; 0 when either side has no variance. Throws on size mismatch or fewer than 2 points.
double pearson(std::span<const double> x, std::span<const double> y);

}  // namespace kindred::affect
