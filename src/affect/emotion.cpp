// Label names and PAD anchors. Anchors come from ALMA's table of OCC emotions in PAD space
// (Gebhard 2005, "ALMA – A Layered Model of Affect", Table 2) where a GoEmotions label names the
// same emotion or its nearest OCC neighbour, from Russell & Mehrabian (1977, "Evidence for a
// three-factor theory of emotions") for terms ALMA lacks, and are set here (marked so) for the
// few labels neither lists; docs/AFFECT.md gives the reasoning for each.
#include "affect/emotion.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace kindred::affect {
namespace {

struct LabelInfo {
  std::string_view name;
  Pad anchor;
  std::string_view source;
};

constexpr std::array<LabelInfo, kNumLabels> kLabels = {{
    {"admiration", {0.50f, 0.30f, -0.20f}, "ALMA (Gebhard 2005): Admiration"},
    {"amusement", {0.45f, 0.35f, 0.15f}, "set here: ALMA Joy with more arousal (laughter)"},
    {"anger", {-0.51f, 0.59f, 0.25f}, "ALMA (Gebhard 2005): Anger"},
    {"annoyance", {-0.40f, 0.20f, 0.10f}, "ALMA (Gebhard 2005): Disliking (nearest)"},
    {"approval", {0.40f, 0.16f, -0.24f}, "ALMA (Gebhard 2005): Liking (nearest)"},
    {"caring", {0.40f, 0.20f, 0.20f}, "ALMA (Gebhard 2005): HappyFor (nearest)"},
    {"confusion", {-0.20f, 0.20f, -0.30f}, "set here: mildly unpleasant, alert, low control"},
    {"curiosity", {0.20f, 0.40f, 0.00f}, "set here: mildly pleasant, alert"},
    {"desire", {0.30f, 0.50f, 0.10f}, "set here: pleasant anticipation, aroused"},
    {"disappointment", {-0.30f, 0.10f, -0.40f}, "ALMA (Gebhard 2005): Disappointment"},
    {"disapproval", {-0.30f, -0.10f, 0.40f}, "ALMA (Gebhard 2005): Reproach (nearest)"},
    {"disgust", {-0.60f, 0.35f, 0.11f}, "Russell & Mehrabian (1977): disgusted"},
    {"embarrassment", {-0.30f, 0.10f, -0.60f}, "ALMA (Gebhard 2005): Shame (nearest)"},
    {"excitement", {0.62f, 0.75f, 0.38f}, "Russell & Mehrabian (1977): excited"},
    {"fear", {-0.64f, 0.60f, -0.43f}, "ALMA (Gebhard 2005): Fear"},
    {"gratitude", {0.40f, 0.20f, -0.30f}, "ALMA (Gebhard 2005): Gratitude"},
    {"grief", {-0.40f, -0.20f, -0.50f}, "ALMA (Gebhard 2005): Distress (nearest)"},
    {"joy", {0.40f, 0.20f, 0.10f}, "ALMA (Gebhard 2005): Joy"},
    {"love", {0.30f, 0.10f, 0.20f}, "ALMA (Gebhard 2005): Love"},
    {"nervousness", {-0.40f, 0.50f, -0.40f}, "set here: ALMA Fear, milder"},
    {"optimism", {0.20f, 0.20f, -0.10f}, "ALMA (Gebhard 2005): Hope (nearest)"},
    {"pride", {0.40f, 0.30f, 0.30f}, "ALMA (Gebhard 2005): Pride"},
    {"realization", {0.10f, 0.30f, 0.10f}, "set here: a mild, alert surprise"},
    {"relief", {0.20f, -0.30f, 0.40f}, "ALMA (Gebhard 2005): Relief"},
    {"remorse", {-0.30f, 0.10f, -0.60f}, "ALMA (Gebhard 2005): Remorse"},
    {"sadness", {-0.63f, -0.27f, -0.33f}, "Russell & Mehrabian (1977): sad"},
    {"surprise", {0.20f, 0.60f, -0.10f}, "set here: alert, slightly pleasant, low control"},
    {"neutral", {0.00f, 0.00f, 0.00f}, "the origin"},
}};

const std::array<std::string_view, kNumLabels> kNames = [] {
  std::array<std::string_view, kNumLabels> names{};
  for (int i = 0; i < kNumLabels; ++i) names[i] = kLabels[i].name;
  return names;
}();

const std::array<std::string, kNumLabels> kNameStrings = [] {
  std::array<std::string, kNumLabels> names{};
  for (int i = 0; i < kNumLabels; ++i) names[i] = std::string(kLabels[i].name);
  return names;
}();

void check(int label) {
  if (label < 0 || label >= kNumLabels) throw std::out_of_range("emotion label " + std::to_string(label) + " is not in [0, 28)");
}

double round4(float v) { return std::round(double(v) * 10000.0) / 10000.0; }

}  // namespace

std::span<const std::string_view> label_names() { return kNames; }

const std::string& label_name(int label) {
  check(label);
  return kNameStrings[label];
}

int label_index(std::string_view name) {
  for (int i = 0; i < kNumLabels; ++i) {
    if (kNames[i] == name) return i;
  }
  return -1;
}

const Pad& label_anchor(int label) {
  check(label);
  return kLabels[label].anchor;
}

std::string_view label_anchor_source(int label) {
  check(label);
  return kLabels[label].source;
}

Pad pad_of(const LabelProbs& probs) {
  double sum = 0, p = 0, a = 0, d = 0;
  for (int i = 0; i < kNumLabels; ++i) {
    const double w = std::max(0.0f, probs[i]);
    sum += w;
    p += w * kLabels[i].anchor.p;
    a += w * kLabels[i].anchor.a;
    d += w * kLabels[i].anchor.d;
  }
  if (sum <= 0) return {};
  return clamp({float(p / sum), float(a / sum), float(d / sum)});
}

Pad clamp(Pad pad) {
  for (int i = 0; i < 3; ++i) pad[i] = std::clamp(pad[i], -1.0f, 1.0f);
  return pad;
}

int Appraisal::top() const {
  return int(std::max_element(labels.begin(), labels.end()) - labels.begin());
}

nlohmann::ordered_json to_json(const Appraisal& appraisal) {
  nlohmann::ordered_json out;
  out["top"] = label_name(appraisal.top());
  nlohmann::ordered_json active = nlohmann::ordered_json::array();
  for (int label : appraisal.active) active.push_back(label_name(label));
  out["active"] = active;
  nlohmann::ordered_json labels = nlohmann::ordered_json::object();
  for (int i = 0; i < kNumLabels; ++i) labels[label_name(i)] = round4(appraisal.labels[i]);
  out["labels"] = labels;
  out["pad"] = {round4(appraisal.pad.p), round4(appraisal.pad.a), round4(appraisal.pad.d)};
  out["confidence"] = round4(appraisal.confidence);
  return out;
}

}  // namespace kindred::affect
