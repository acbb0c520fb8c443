// The affect vocabulary every appraiser, the affect chain and fusion share: the 28 GoEmotions
// labels (the set SillyTavern's expression sprites use) and a continuous state in
// pleasure/arousal/dominance (PAD, each in [-1, 1]). Every label has a PAD anchor; the sources
// are listed beside the table in emotion.cpp and in docs/AFFECT.md.
#pragma once
#include <array>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kindred::affect {

inline constexpr int kNumLabels = 28;
inline constexpr int kNeutral = 27;  // GoEmotions index of "neutral"

struct Pad {
  float p = 0, a = 0, d = 0;  // pleasure (valence), arousal, dominance
  float& operator[](int i) { return i == 0 ? p : i == 1 ? a : d; }
  float operator[](int i) const { return i == 0 ? p : i == 1 ? a : d; }
  friend bool operator==(const Pad&, const Pad&) = default;
};

using LabelProbs = std::array<float, kNumLabels>;

// Label names in GoEmotions order (admiration … neutral).
std::span<const std::string_view> label_names();
const std::string& label_name(int label);  // throws std::out_of_range outside [0, 28)
int label_index(std::string_view name);    // -1 when the name is not a label
// The label's PAD anchor.
const Pad& label_anchor(int label);
// Where the anchor comes from, e.g. "ALMA (Gebhard 2005): Admiration".
std::string_view label_anchor_source(int label);

// The PAD point of a label mixture: the probability-weighted mean of the anchors (neutral, at
// the origin, pulls toward calm). All-zero probabilities give the origin.
Pad pad_of(const LabelProbs& probs);
// Clamps each component into [-1, 1].
Pad clamp(Pad pad);

// What an appraiser says about one utterance.
struct Appraisal {
  LabelProbs labels{};      // per-label probability (multi-label: they need not sum to 1)
  std::vector<int> active;  // the labels the appraiser asserts, after its thresholds, strongest first
  Pad pad;
  float confidence = 0;     // in [0, 1]: how far to trust this reading (the affect chain's noise scale)
  int top() const;          // the most probable label
};

// The contract of `kindred affect appraise` (docs/DESIGN.md):
// {"top":"joy","active":[…],"labels":{"joy":0.71,…},"pad":[p,a,d],"confidence":c}
nlohmann::ordered_json to_json(const Appraisal& appraisal);

// Every appraiser (LLM-free classifier, hidden-state probe, zero-shot) behind one interface.
class Appraiser {
 public:
  virtual ~Appraiser() = default;
  virtual Appraisal appraise(std::string_view text) = 0;
  virtual std::string name() const = 0;  // e.g. "classifier:en", "probe:L12", "zero-shot"
};

}  // namespace kindred::affect
