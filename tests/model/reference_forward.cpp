#include "reference_forward.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>

#include "tensor/quants.h"

namespace kindred::test {
namespace {

using Matrix = std::vector<std::vector<float>>;  // [row][col]

Matrix load(const gguf::File& f, const std::string& name) {
  const TensorView t = f.tensor(name);
  Matrix m(static_cast<size_t>(t.rows()), std::vector<float>(static_cast<size_t>(t.cols())));
  for (int64_t r = 0; r < t.rows(); ++r) dequantize_row(t.type, t.row(r), m[r].data(), t.cols());
  return m;
}

std::vector<float> load_vector(const gguf::File& f, const std::string& name) { return load(f, name)[0]; }

std::vector<float> matvec(const Matrix& w, const std::vector<float>& x) {
  std::vector<float> y(w.size());
  for (size_t r = 0; r < w.size(); ++r) {
    double s = 0;
    for (size_t c = 0; c < x.size(); ++c) s += static_cast<double>(w[r][c]) * x[c];
    y[r] = static_cast<float>(s);
  }
  return y;
}

std::vector<float> rmsnorm(const std::vector<float>& x, const std::vector<float>& w, float eps) {
  double ss = 0;
  for (float v : x) ss += static_cast<double>(v) * v;
  const double scale = 1.0 / std::sqrt(ss / x.size() + eps);
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = static_cast<float>(x[i] * scale * w[i]);
  return y;
}

struct Rope {
  bool neox;
  int n_dims;
  double base;
  std::string scaling;
  double factor;
  int orig_ctx;

  // YaRN (Peng et al. 2023): interpolate low frequencies, extrapolate high ones, blend between,
  // and scale magnitudes by 0.1 ln(factor) + 1.
  void rotate(float* head, int pos) const {
    const int half = n_dims / 2;
    for (int i = 0; i < half; ++i) {
      const double inv_freq = std::pow(base, -2.0 * i / n_dims);
      double theta = pos * inv_freq;
      double mscale = 1.0;
      if (scaling == "linear") theta /= factor;
      if (scaling == "yarn") {
        auto corr_dim = [&](double rotations) {
          return n_dims * std::log(orig_ctx / (rotations * 2 * std::numbers::pi)) / (2 * std::log(base));
        };
        const double low = std::max(0.0, std::floor(corr_dim(32.0)));
        const double high = std::min(n_dims - 1.0, std::ceil(corr_dim(1.0)));
        const double ramp = 1.0 - std::clamp((i - low) / std::max(0.001, high - low), 0.0, 1.0);
        theta = (theta / factor) * (1 - ramp) + theta * ramp;
        mscale = 1.0 + 0.1 * std::log(factor);
      }
      const int a = neox ? i : 2 * i;
      const int b = neox ? i + half : 2 * i + 1;
      const double x0 = head[a], x1 = head[b];
      head[a] = static_cast<float>((x0 * std::cos(theta) - x1 * std::sin(theta)) * mscale);
      head[b] = static_cast<float>((x0 * std::sin(theta) + x1 * std::cos(theta)) * mscale);
    }
  }
};

// SwiGLU through rows [first, first + n_ff) of stacked gate/up/down weights (one expert).
std::vector<float> swiglu(const Matrix& gate, const Matrix& up, const Matrix& down, size_t first, size_t n_ff,
                          const std::vector<float>& h) {
  std::vector<float> a(n_ff);
  for (size_t i = 0; i < n_ff; ++i) {
    double g = 0, u = 0;
    for (size_t c = 0; c < h.size(); ++c) {
      g += static_cast<double>(gate[first + i][c]) * h[c];
      u += static_cast<double>(up[first + i][c]) * h[c];
    }
    a[i] = static_cast<float>(g / (1.0 + std::exp(-g)) * u);
  }
  const size_t n_embd = h.size(), expert = first / n_ff;
  std::vector<float> y(n_embd);
  for (size_t r = 0; r < n_embd; ++r) {
    double s = 0;
    for (size_t i = 0; i < n_ff; ++i) s += static_cast<double>(down[expert * n_embd + r][i]) * a[i];
    y[r] = static_cast<float>(s);
  }
  return y;
}

// One layer's feed-forward block: SwiGLU, or for a mixture of experts every router score, the
// top k chosen and weighted as the architecture defines, plus qwen2moe's gated shared expert.
struct Ffn {
  Matrix gate, up, down, router, shared_gate, shared_up, shared_down;
  std::vector<float> bias, shared_gate_inp;
  size_t k = 0;
  bool sigmoid = false, renormalise = false;
  float scale = 0.0f;

  Ffn(const gguf::File& f, const std::string& arch, const std::string& b) {
    const std::string p = arch + ".";
    if (!f.find_tensor(b + "ffn_gate_inp.weight")) {
      gate = load(f, b + "ffn_gate.weight"), up = load(f, b + "ffn_up.weight"), down = load(f, b + "ffn_down.weight");
      return;
    }
    router = load(f, b + "ffn_gate_inp.weight");
    gate = load(f, b + "ffn_gate_exps.weight"), up = load(f, b + "ffn_up_exps.weight");
    down = load(f, b + "ffn_down_exps.weight");
    k = f.get_u32(p + "expert_used_count");
    sigmoid = f.get_u32_or(p + "expert_gating_func", arch == "minimax-m2" ? 2 : 1) == 2;
    renormalise = f.get_bool_or(p + "expert_weights_norm",
                                arch == "llama" || arch == "mistral" || arch == "qwen3moe" || arch == "minimax-m2");
    scale = f.get_f32_or(p + "expert_weights_scale", 0.0f);
    bias.assign(router.size(), 0.0f);
    if (f.find_tensor(b + "exp_probs_b.bias")) bias = load_vector(f, b + "exp_probs_b.bias");
    if (f.find_tensor(b + "ffn_up_shexp.weight")) {
      shared_gate_inp = load_vector(f, b + "ffn_gate_inp_shexp.weight");
      shared_gate = load(f, b + "ffn_gate_shexp.weight"), shared_up = load(f, b + "ffn_up_shexp.weight");
      shared_down = load(f, b + "ffn_down_shexp.weight");
    }
  }

  // margin receives the smaller of itself and this token's gap between the selection scores of
  // the last expert chosen and the best one left out.
  std::vector<float> operator()(const std::vector<float>& h, double& margin) const {
    if (router.empty()) return swiglu(gate, up, down, 0, gate.size(), h);
    const size_t n_expert = router.size(), n_ff = gate.size() / n_expert;
    std::vector<double> score(n_expert);
    for (size_t e = 0; e < n_expert; ++e) {
      for (size_t c = 0; c < h.size(); ++c) score[e] += static_cast<double>(router[e][c]) * h[c];
    }
    if (sigmoid) {
      for (double& v : score) v = 1.0 / (1.0 + std::exp(-v));
    } else {
      const double mx = *std::max_element(score.begin(), score.end());
      double sum = 0;
      for (double& v : score) sum += v = std::exp(v - mx);
      for (double& v : score) v /= sum;
    }
    // The bias only decides which experts run; their weights are the unbiased scores.
    std::vector<size_t> order(n_expert);
    for (size_t e = 0; e < n_expert; ++e) order[e] = e;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t c) { return score[a] + bias[a] > score[c] + bias[c]; });
    if (k < n_expert) {
      margin = std::min(margin, score[order[k - 1]] + bias[order[k - 1]] - score[order[k]] - bias[order[k]]);
    }
    double total = 0;
    for (size_t i = 0; i < k; ++i) total += score[order[i]];
    std::vector<float> out(h.size(), 0.0f);
    for (size_t i = 0; i < k; ++i) {
      double w = score[order[i]];
      if (renormalise) w /= total;
      if (scale != 0.0f) w *= scale;
      const auto y = swiglu(gate, up, down, order[i] * n_ff, n_ff, h);
      for (size_t j = 0; j < out.size(); ++j) out[j] += static_cast<float>(w * y[j]);
    }
    if (!shared_up.empty()) {
      double s = 0;
      for (size_t c = 0; c < h.size(); ++c) s += static_cast<double>(shared_gate_inp[c]) * h[c];
      const auto y = swiglu(shared_gate, shared_up, shared_down, 0, shared_gate.size(), h);
      for (size_t j = 0; j < out.size(); ++j) out[j] += static_cast<float>(y[j] / (1.0 + std::exp(-s)));
    }
    return out;
  }
};

}  // namespace

std::vector<std::vector<float>> reference_logits(const gguf::File& f, const std::vector<int32_t>& tokens,
                                                 double* routing_margin) {
  double margin = std::numeric_limits<double>::infinity();
  const std::string arch = f.get_string("general.architecture");
  const std::string p = arch + ".";
  const int n_embd = static_cast<int>(f.get_u32(p + "embedding_length"));
  const int n_layer = static_cast<int>(f.get_u32(p + "block_count"));
  const int n_head = static_cast<int>(f.get_u32(p + "attention.head_count"));
  const int n_head_kv = static_cast<int>(f.get_u32_or(p + "attention.head_count_kv", n_head));
  const int hd = static_cast<int>(f.get_u32_or(p + "attention.key_length", n_embd / n_head));
  const float eps = f.get_f32(p + "attention.layer_norm_rms_epsilon");
  const Rope rope{arch != "llama", static_cast<int>(f.get_u32_or(p + "rope.dimension_count", hd)),
                  f.get_f32_or(p + "rope.freq_base", 10000.0f), f.get_string_or(p + "rope.scaling.type", "none"),
                  f.get_f32_or(p + "rope.scaling.factor", 1.0f),
                  static_cast<int>(f.get_u32_or(p + "rope.scaling.original_context_length",
                                                f.get_u32(p + "context_length")))};
  const Matrix embd = load(f, "token_embd.weight");
  const Matrix out = f.find_tensor("output.weight") ? load(f, "output.weight") : embd;
  const auto out_norm = load_vector(f, "output_norm.weight");

  const size_t T = tokens.size();
  std::vector<std::vector<float>> x(T);
  for (size_t t = 0; t < T; ++t) x[t] = embd.at(static_cast<size_t>(tokens[t]));

  for (int l = 0; l < n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    const auto attn_norm = load_vector(f, b + "attn_norm.weight");
    const Matrix wq = load(f, b + "attn_q.weight"), wk = load(f, b + "attn_k.weight");
    const Matrix wv = load(f, b + "attn_v.weight"), wo = load(f, b + "attn_output.weight");
    std::vector<std::vector<float>> q(T), k(T), v(T);
    for (size_t t = 0; t < T; ++t) {
      const auto h = rmsnorm(x[t], attn_norm, eps);
      q[t] = matvec(wq, h);
      k[t] = matvec(wk, h);
      v[t] = matvec(wv, h);
      if (f.find_tensor(b + "attn_q.bias")) {
        const auto bq = load_vector(f, b + "attn_q.bias"), bk = load_vector(f, b + "attn_k.bias");
        const auto bv = load_vector(f, b + "attn_v.bias");
        for (size_t i = 0; i < q[t].size(); ++i) q[t][i] += bq[i];
        for (size_t i = 0; i < k[t].size(); ++i) k[t][i] += bk[i];
        for (size_t i = 0; i < v[t].size(); ++i) v[t][i] += bv[i];
      }
      if (f.find_tensor(b + "attn_q_norm.weight")) {
        const auto qn = load_vector(f, b + "attn_q_norm.weight"), kn = load_vector(f, b + "attn_k_norm.weight");
        // A norm weight one head wide normalises each head (qwen3); one as wide as all heads
        // normalises the whole vector at once (olmoe, minimax-m2).
        auto norm_heads = [&](std::vector<float>& vec, const std::vector<float>& w) {
          const size_t span = w.size();
          for (size_t h0 = 0; h0 < vec.size(); h0 += span) {
            std::vector<float> head(vec.begin() + h0, vec.begin() + h0 + span);
            head = rmsnorm(head, w, eps);
            std::copy(head.begin(), head.end(), vec.begin() + h0);
          }
        };
        norm_heads(q[t], qn);
        norm_heads(k[t], kn);
      }
      for (int h = 0; h < n_head; ++h) rope.rotate(q[t].data() + h * hd, static_cast<int>(t));
      for (int h = 0; h < n_head_kv; ++h) rope.rotate(k[t].data() + h * hd, static_cast<int>(t));
    }
    for (size_t t = 0; t < T; ++t) {
      std::vector<float> attn(static_cast<size_t>(n_head) * hd, 0.0f);
      for (int h = 0; h < n_head; ++h) {
        const int kvh = h / (n_head / n_head_kv);
        std::vector<double> w(t + 1);
        double mx = -1e300;
        for (size_t j = 0; j <= t; ++j) {
          double s = 0;
          for (int i = 0; i < hd; ++i) s += static_cast<double>(q[t][h * hd + i]) * k[j][kvh * hd + i];
          w[j] = s / std::sqrt(static_cast<double>(hd));
          mx = std::max(mx, w[j]);
        }
        double sum = 0;
        for (double& s : w) sum += (s = std::exp(s - mx));
        for (size_t j = 0; j <= t; ++j) {
          for (int i = 0; i < hd; ++i) attn[h * hd + i] += static_cast<float>(w[j] / sum * v[j][kvh * hd + i]);
        }
      }
      const auto o = matvec(wo, attn);
      for (int i = 0; i < n_embd; ++i) x[t][i] += o[i];
    }
    const auto ffn_norm = load_vector(f, b + "ffn_norm.weight");
    const Ffn ffn(f, arch, b);
    for (size_t t = 0; t < T; ++t) {
      const auto d = ffn(rmsnorm(x[t], ffn_norm, eps), margin);
      for (int i = 0; i < n_embd; ++i) x[t][i] += d[i];
    }
  }
  if (routing_margin) *routing_margin = margin;
  std::vector<std::vector<float>> logits(T);
  for (size_t t = 0; t < T; ++t) logits[t] = matvec(out, rmsnorm(x[t], out_norm, eps));
  return logits;
}

double reference_tolerance(DType t) {
  switch (t) {
    case DType::F32: return 1e-4;
    case DType::F16: return 4e-3;
    case DType::BF16: return 3e-2;
    default: return 4e-2;
  }
}

double relative_error(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) throw std::invalid_argument("relative_error: sizes differ");
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    den += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

}  // namespace kindred::test
