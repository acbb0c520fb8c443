#include "reference_forward.h"

#include <algorithm>
#include <cmath>
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

}  // namespace

std::vector<std::vector<float>> reference_logits(const gguf::File& f, const std::vector<int32_t>& tokens) {
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
        auto norm_heads = [&](std::vector<float>& vec, const std::vector<float>& w) {
          for (size_t h0 = 0; h0 < vec.size(); h0 += hd) {
            std::vector<float> head(vec.begin() + h0, vec.begin() + h0 + hd);
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
    const Matrix gate = load(f, b + "ffn_gate.weight"), up = load(f, b + "ffn_up.weight");
    const Matrix down = load(f, b + "ffn_down.weight");
    for (size_t t = 0; t < T; ++t) {
      const auto h = rmsnorm(x[t], ffn_norm, eps);
      auto g = matvec(gate, h);
      const auto u = matvec(up, h);
      for (size_t i = 0; i < g.size(); ++i) g[i] = static_cast<float>(g[i] / (1.0 + std::exp(-static_cast<double>(g[i]))) * u[i]);
      const auto d = matvec(down, g);
      for (int i = 0; i < n_embd; ++i) x[t][i] += d[i];
    }
  }
  std::vector<std::vector<float>> logits(T);
  for (size_t t = 0; t < T; ++t) logits[t] = matvec(out, rmsnorm(x[t], out_norm, eps));
  return logits;
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
