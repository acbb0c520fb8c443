// Mixture-of-experts routing (Shazeer et al. 2017; Mixtral, Qwen-MoE, OLMoE, MiniMax-M2): router
// logits become top-k experts and weights per token, then tokens are grouped by expert so that a
// batch multiplies each expert's weights once.
#pragma once
#include <cstdint>

#include "model/model.h"

namespace kindred {

// How one architecture turns router logits into expert weights.
struct RoutingRule {
  ExpertGating gating = ExpertGating::Softmax;
  int n_expert = 0;
  int n_used = 0;       // top-k
  bool norm = false;    // renormalise the chosen weights to sum to 1
  float scale = 1.0f;   // then multiply them by this
};

RoutingRule routing_rule(const ModelConfig& c);

// One token: logits (n_expert) → ids and weights (n_used each, best first). bias (n_expert, or
// null) is added to the scores only to choose experts; the weights use the unbiased scores
// (DeepSeek-V3's auxiliary-loss-free balancing, used by MiniMax-M2). Ties go to the lower id.
// scores and order are scratch of n_expert.
void route_token(const RoutingRule& r, const float* logits, const float* bias, int* ids, float* weights, float* scores,
                 int* order);

// Groups the n_tokens × n_used assignments in m.ids / m.weights by expert into m.offsets,
// m.slot_token and m.slot_weight (a counting sort, so tokens stay in order within an expert).
void group_by_expert(int n_expert, int n_tokens, int n_used, MoeScratch& m);

// Expert e of a stacked weight {cols, rows, n_expert} as a 2-D view of its rows
// [e*rows, (e+1)*rows); a 2-D weight is its own expert 0 (the dense FFN).
TensorView expert_view(const TensorView& stacked, int64_t e);

}  // namespace kindred
