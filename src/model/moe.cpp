// Expert routing and grouping; see moe.h. The rules follow each model's reference implementation
// as converted to GGUF: softmax or sigmoid scores, optional selection bias, renormalisation, scale.
#include "model/moe.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace kindred {

RoutingRule routing_rule(const ModelConfig& c) {
  return {.gating = c.expert_gating,
          .n_expert = c.n_expert,
          .n_used = c.n_expert_used,
          .norm = c.expert_weights_norm,
          .scale = c.expert_weights_scale};
}

void route_token(const RoutingRule& r, const float* logits, const float* bias, int* ids, float* weights, float* scores,
                 int* order) {
  const int E = r.n_expert;
  if (r.gating == ExpertGating::Softmax) {
    const float mx = *std::max_element(logits, logits + E);
    double sum = 0;
    for (int e = 0; e < E; ++e) sum += scores[e] = std::exp(logits[e] - mx);
    for (int e = 0; e < E; ++e) scores[e] = static_cast<float>(scores[e] / sum);
  } else {
    for (int e = 0; e < E; ++e) scores[e] = 1.0f / (1.0f + std::exp(-logits[e]));
  }
  auto choice = [&](int e) { return bias ? scores[e] + bias[e] : scores[e]; };
  std::iota(order, order + E, 0);
  std::partial_sort(order, order + r.n_used, order + E, [&](int a, int b) {
    const float ca = choice(a), cb = choice(b);
    return ca > cb || (ca == cb && a < b);
  });
  double total = 0;
  for (int k = 0; k < r.n_used; ++k) {
    ids[k] = order[k];
    weights[k] = scores[order[k]];
    total += weights[k];
  }
  // A floor on the sum keeps a token whose sigmoid scores all vanish finite.
  const float norm = r.norm ? static_cast<float>(1.0 / std::max(total, 6.103515625e-5)) : 1.0f;
  for (int k = 0; k < r.n_used; ++k) weights[k] *= norm * r.scale;
}

void group_by_expert(int n_expert, int n_tokens, int n_used, MoeScratch& m) {
  const size_t n_slots = static_cast<size_t>(n_tokens) * n_used;
  m.offsets.assign(static_cast<size_t>(n_expert) + 1, 0);
  if (m.slot_token.size() < n_slots) m.slot_token.resize(n_slots);
  if (m.slot_weight.size() < n_slots) m.slot_weight.resize(n_slots);
  for (size_t s = 0; s < n_slots; ++s) ++m.offsets[m.ids[s] + 1];
  for (int e = 0; e < n_expert; ++e) m.offsets[e + 1] += m.offsets[e];
  // Fill each expert's slots in token order; order[] serves as the per-expert write cursor.
  m.order.assign(m.offsets.begin(), m.offsets.end() - 1);
  for (size_t s = 0; s < n_slots; ++s) {
    const int slot = m.order[m.ids[s]]++;
    m.slot_token[slot] = static_cast<int>(s / n_used);
    m.slot_weight[slot] = m.weights[s];
  }
}

TensorView expert_view(const TensorView& stacked, int64_t e) {
  TensorView v = stacked;
  v.ne = {stacked.ne[0], stacked.ne[1], 1, 1};
  v.n_dims = 2;
  v.data = stacked.row(e * stacked.ne[1]);
  v.packed_slice = stacked.packed_slice + e;
  return v;
}

}  // namespace kindred
