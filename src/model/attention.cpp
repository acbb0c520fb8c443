// Causal self-attention over a sequence's KV cache, with grouped-query heads, computed over tiles
// of keys with an online softmax (Milakov & Gimelshein 2018; FlashAttention-2, Dao 2023): each row
// keeps its running maximum m and sum l, and its output accumulator is rescaled by exp(m_old - m_new)
// whenever the maximum grows. Memory is a few tiles per thread, whatever the context length.
//
// One task is one KV head × one block of one sequence's query tokens (the sequences of a batch share
// one parallel loop, each over its own cache): every query head of the GQA group and every
// token of the block shares the key/value tile, so a tile is read (and converted from F16/Q8_0 to
// float) once per task rather than once per query row.
#include "model/attention.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "tensor/quants.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

// The inner loops are written to auto-vectorize without reassociating float sums (scores run across
// keys, the value update across the head dimension), and are cloned for AVX-512 and AVX2+FMA with a
// run-time pick, since the rest of the library is built for baseline x86-64.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define KINDRED_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define KINDRED_SIMD_CLONES
#endif

namespace kindred {
namespace {

constexpr int kKeyTile = 64;     // keys per tile: K and V tiles of 64 × head_dim floats stay in L1/L2
constexpr int kQueryBlock = 16;  // tokens per task: enough reuse of a tile, enough tasks to balance

// s[j] = q · K[:, j] for the kKeyTile keys of a tile stored transposed (kt[i * kKeyTile + j]).
KINDRED_SIMD_CLONES
void tile_scores(const float* q, const float* kt, int hd, float* s) {
  for (int j = 0; j < kKeyTile; ++j) s[j] = 0.0f;
  for (int i = 0; i < hd; ++i) {
    const float qi = q[i];
    const float* k = kt + static_cast<size_t>(i) * kKeyTile;
    for (int j = 0; j < kKeyTile; ++j) s[j] += qi * k[j];
  }
}

// o = o * corr + sum_j p[j] v_j, for n value rows v_j = v + j * v_stride. Dimensions go in blocks
// of 32 held in registers across all n rows (o would otherwise be loaded and stored once per row).
KINDRED_SIMD_CLONES
void tile_accumulate(float* o, float corr, const float* p, const float* v, size_t v_stride, int n, int hd) {
  constexpr int kBlock = 32;
  int i0 = 0;
  for (; i0 + kBlock <= hd; i0 += kBlock) {
    float acc[kBlock];
    for (int u = 0; u < kBlock; ++u) acc[u] = o[i0 + u] * corr;
    for (int j = 0; j < n; ++j) {
      const float pj = p[j];
      const float* vj = v + static_cast<size_t>(j) * v_stride + i0;
      for (int u = 0; u < kBlock; ++u) acc[u] += pj * vj[u];
    }
    for (int u = 0; u < kBlock; ++u) o[i0 + u] = acc[u];
  }
  if (i0 == hd) return;
  for (int i = i0; i < hd; ++i) o[i] *= corr;
  for (int j = 0; j < n; ++j) {
    const float pj = p[j];
    const float* vj = v + static_cast<size_t>(j) * v_stride;
    for (int i = i0; i < hd; ++i) o[i] += pj * vj[i];
  }
}

// The largest of s[0..n), n >= 1, with eight running maxima so it vectorizes.
KINDRED_SIMD_CLONES
float tile_max(const float* s, int n) {
  float part[8];
  for (int u = 0; u < 8; ++u) part[u] = s[0];
  int j = 0;
  for (; j + 8 <= n; j += 8) {
    for (int u = 0; u < 8; ++u) part[u] = std::max(part[u], s[j + u]);
  }
  for (; j < n; ++j) part[0] = std::max(part[0], s[j]);
  for (int u = 1; u < 8; ++u) part[0] = std::max(part[0], part[u]);
  return part[0];
}

// s[j] = exp(s[j] - m) for j < n (all arguments <= 0), returning their sum. A scalar std::exp per
// score costs more than the whole dot product of a key, so this is a branch-free polynomial that
// vectorizes: exp(x) = 2^k exp(r), k = round(x / ln 2), |r| <= ln(2)/2, exp(r) by its degree-7
// Taylor series (truncation < 3e-9 relative, below float rounding), 2^k built in the exponent bits.
// k is rounded by adding 1.5 * 2^23, which leaves it in the low mantissa bits: a float-to-int
// conversion would keep GCC from vectorizing under the default -ftrapping-math.
KINDRED_SIMD_CLONES
float tile_exp(float* s, int n, float m) {
  constexpr float kLog2e = 1.44269504f, kLn2Hi = 0.693145752f, kLn2Lo = 1.42860677e-6f;
  constexpr float kRound = 12582912.0f;     // 1.5 * 2^23
  constexpr int32_t kRoundBits = 0x4B400000;  // its bits
  for (int j = 0; j < n; ++j) {
    float x = s[j] - m;
    x = x > -87.0f ? x : -87.0f;  // exp(-87) ~ 1.6e-38 is still a normal float: 2^k stays valid
    const float t = x * kLog2e + kRound;
    int32_t t_bits;
    std::memcpy(&t_bits, &t, sizeof t_bits);
    const float k = t - kRound;
    const float r = (x - k * kLn2Hi) - k * kLn2Lo;  // ln 2 in two parts keeps r exact to float
    float p = 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const int32_t bits = (t_bits - kRoundBits + 127) * (1 << 23);  // 2^k
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    s[j] = p * scale;
  }
  // Eight partial sums: vectorizes without reordering float additions.
  float part[8] = {};
  int j = 0;
  for (; j + 8 <= n; j += 8) {
    for (int u = 0; u < 8; ++u) part[u] += s[j + u];
  }
  for (; j < n; ++j) part[0] += s[j];
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

// F16 cache rows to float. The tensor library's F16 to_float is scalar (weights take the F16
// vec_dot path instead), but attention converts every key and value it reads, so here the
// conversion uses F16C / AVX-512 vcvtph2ps where the active ISA has it (Avx2 implies F16C).
#if defined(__x86_64__) && defined(__GNUC__)
// maskz_: the unmasked form trips GCC 12 -Wmaybe-uninitialized on its undefined pass-through.
__attribute__((target("avx512f"))) void f16_to_f32_avx512(const fp16_t* src, float* dst, int n) {
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm512_storeu_ps(dst + i, _mm512_maskz_cvtph_ps(0xFFFF, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i))));
  }
  for (; i < n; ++i) dst[i] = fp16_to_f32(src[i]);
}

__attribute__((target("avx,f16c"))) void f16_to_f32_f16c(const fp16_t* src, float* dst, int n) {
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
  }
  for (; i < n; ++i) dst[i] = fp16_to_f32(src[i]);
}
#endif

void f16_to_f32_scalar(const fp16_t* src, float* dst, int n) {
  for (int i = 0; i < n; ++i) dst[i] = fp16_to_f32(src[i]);
}

using RowToFloat = void (*)(const fp16_t* src, float* dst, int n);

RowToFloat f16_converter() {
#if defined(__x86_64__) && defined(__GNUC__)
  if (active_isa() == Isa::Avx512) return f16_to_f32_avx512;
  if (active_isa() == Isa::Avx2) return f16_to_f32_f16c;
#endif
  return f16_to_f32_scalar;
}

// One cache head (hd values of `type`) to floats.
void head_to_float(DType type, RowToFloat f16, const std::byte* src, float* dst, int hd) {
  if (type == DType::F16) {
    f16(reinterpret_cast<const fp16_t*>(src), dst, hd);
  } else {
    dequantize_row(type, src, dst, hd);
  }
}

// Per-thread scratch layout, in floats.
struct Scratch {
  int rows, hd;
  size_t q() const { return 0; }                                   // rows × hd, queries pre-scaled
  size_t o() const { return q() + static_cast<size_t>(rows) * hd; }  // rows × hd accumulators
  size_t m() const { return o() + static_cast<size_t>(rows) * hd; }  // rows running maxima
  size_t l() const { return m() + rows; }                            // rows running sums
  size_t kt() const { return l() + rows; }                           // hd × kKeyTile, transposed keys
  size_t vt() const { return kt() + static_cast<size_t>(hd) * kKeyTile; }  // kKeyTile × hd values
  size_t s() const { return vt() + static_cast<size_t>(hd) * kKeyTile; }   // kKeyTile scores
  size_t row() const { return s() + kKeyTile; }                            // hd, one converted key
  // Rounded up to 64 bytes so threads never share a cache line.
  size_t size() const { return (row() + hd + 15) / 16 * 16; }
};

// One task: KV head kvh of the query block starting at token t0 of one sequence, whose n_tokens
// queries (q, at positions pos..) attend over its cache and write out. base: this thread's scratch.
void attend_block(const ModelConfig& c, const KvCache& cache, int layer, int pos, int n_tokens, const float* q,
                  float* out, int kvh, int t0, const Scratch& layout, float* base, RowToFloat f16) {
  const int hd = c.head_dim;
  const int group = c.n_head / c.n_head_kv;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const DType type = cache.type();
  const size_t row_stride_floats = cache.row_bytes() / sizeof(float);  // F32 caches only
  const int nt = std::min(kQueryBlock, n_tokens - t0);
  const int rows = group * nt;  // row r: query head kvh * group + r / nt, token t0 + r % nt
  float* qs = base + layout.q();
  float* o = base + layout.o();
  float* m = base + layout.m();
  float* l = base + layout.l();
  float* kt = base + layout.kt();
  float* vt = base + layout.vt();
  float* s = base + layout.s();
  float* key_row = base + layout.row();
  for (int r = 0; r < rows; ++r) {
    const int h = kvh * group + r / nt, t = t0 + r % nt;
    const float* qh = q + (static_cast<size_t>(t) * c.n_head + h) * hd;
    for (int i = 0; i < hd; ++i) qs[static_cast<size_t>(r) * hd + i] = qh[i] * scale;
    m[r] = -INFINITY;
    l[r] = 0.0f;
  }
  std::fill(o, o + static_cast<size_t>(rows) * hd, 0.0f);

  const int n_keys = pos + t0 + nt;  // the block's last token sees keys [0, n_keys)
  for (int j0 = 0; j0 < n_keys; j0 += kKeyTile) {
    const int nk = std::min(kKeyTile, n_keys - j0);
    // Keys, transposed so scores vectorize across keys; the tail of a partial tile is zero.
    for (int j = 0; j < kKeyTile; ++j) {
      const float* k = key_row;
      if (j >= nk) {
        std::fill(key_row, key_row + hd, 0.0f);
      } else if (type == DType::F32) {
        k = reinterpret_cast<const float*>(cache.key(layer, j0 + j, kvh));
      } else {
        head_to_float(type, f16, cache.key(layer, j0 + j, kvh), key_row, hd);
      }
      for (int i = 0; i < hd; ++i) kt[static_cast<size_t>(i) * kKeyTile + j] = k[i];
    }
    // Values: read in place from an F32 cache, converted once per tile otherwise.
    const float* v = vt;
    size_t v_stride = static_cast<size_t>(hd);
    if (type == DType::F32) {
      v = reinterpret_cast<const float*>(cache.value(layer, j0, kvh));
      v_stride = row_stride_floats;
    } else {
      for (int j = 0; j < nk; ++j) head_to_float(type, f16, cache.value(layer, j0 + j, kvh), vt + static_cast<size_t>(j) * hd, hd);
    }
    for (int r = 0; r < rows; ++r) {
      const int visible = std::min(nk, pos + t0 + r % nt + 1 - j0);  // causal mask
      if (visible <= 0) continue;
      tile_scores(qs + static_cast<size_t>(r) * hd, kt, hd, s);
      const float m_new = std::max(m[r], tile_max(s, visible));
      const float corr = std::exp(m[r] - m_new);  // 0 on the first tile (m = -inf)
      const float sum = tile_exp(s, visible, m_new);
      l[r] = l[r] * corr + sum;
      m[r] = m_new;
      tile_accumulate(o + static_cast<size_t>(r) * hd, corr, s, v, v_stride, visible, hd);
    }
  }
  for (int r = 0; r < rows; ++r) {
    const int h = kvh * group + r / nt, t = t0 + r % nt;
    float* oh = out + (static_cast<size_t>(t) * c.n_head + h) * hd;
    const float inv = 1.0f / l[r];
    for (int i = 0; i < hd; ++i) oh[i] = o[static_cast<size_t>(r) * hd + i] * inv;
  }
}

}  // namespace

void attention(const ModelConfig& c, std::span<const SequenceSlice> seqs, int layer, const float* q, float* out,
               Activations& act, ThreadPool& pool) {
  const int q_dim = c.n_head * c.head_dim;
  // Tasks are numbered sequence after sequence: sequence i owns tasks [first_task[i], first_task[i + 1])
  // and query rows from first_token[i].
  std::vector<int64_t>& first_task = act.attn_first_task;
  std::vector<int64_t>& first_token = act.attn_first_token;
  first_task.assign(1, 0);
  first_token.clear();
  int64_t tokens = 0, work = 0;
  int max_block = 1;
  for (const SequenceSlice& s : seqs) {
    const int n = static_cast<int>(s.tokens.size());
    first_token.push_back(tokens);
    first_task.push_back(first_task.back() + static_cast<int64_t>(c.n_head_kv) * ((n + kQueryBlock - 1) / kQueryBlock));
    tokens += n;
    work += static_cast<int64_t>(n) * c.n_head * (s.pos + n) * c.head_dim;
    max_block = std::max(max_block, std::min(n, kQueryBlock));
  }
  const Scratch layout{.rows = c.n_head / c.n_head_kv * max_block, .hd = c.head_dim};
  const size_t per_thread = layout.size();
  std::vector<float>& scratch = act.attn_scratch;
  if (scratch.size() < per_thread * pool.size()) scratch.resize(per_thread * pool.size());
  const RowToFloat f16 = f16_converter();

  auto attend = [&](int64_t task, int thread) {
    const auto i = static_cast<size_t>(std::upper_bound(first_task.begin(), first_task.end(), task) - first_task.begin() - 1);
    const SequenceSlice& s = seqs[i];
    const int n = static_cast<int>(s.tokens.size());
    const int64_t local = task - first_task[i];
    const int n_qblocks = (n + kQueryBlock - 1) / kQueryBlock;
    const size_t offset = static_cast<size_t>(first_token[i]) * q_dim;
    attend_block(c, *s.cache, layer, s.pos, n, q + offset, out + offset, static_cast<int>(local / n_qblocks),
                 static_cast<int>(local % n_qblocks) * kQueryBlock, layout, scratch.data() + per_thread * thread, f16);
  };

  const int64_t n_tasks = first_task.back();
  // Very short contexts are cheaper on one thread than the hand-off to the (spinning) pool.
  if (work < (1 << 14) || pool.size() == 1) {
    for (int64_t task = 0; task < n_tasks; ++task) attend(task, 0);
  } else {
    pool.parallel_for(n_tasks, attend);
  }
}

}  // namespace kindred
