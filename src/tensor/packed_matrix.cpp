// Packing, activation quantization and the scalar reference of the packed kernels; the
// AVX-512 VNNI kernels are in packed_matrix_avx512.cpp. Layout: see packed_matrix.h.
#include "tensor/packed_matrix.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

#include <sys/mman.h>

#include "tensor/packed_kernels.h"
#include "tensor/quants.h"

namespace kindred {
namespace {

size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

size_t chunk_bytes(DType t) { return t == DType::Q8_0 ? kPackRows * kPackBlock : kPackRows * kPackBlock / 2; }

// Offset subtracted from the stored unsigned quant to get the signed level.
int32_t quant_offset(DType t) { return t == DType::Q8_0 ? 128 : 8; }

}  // namespace

void AlignedBytes::Free::operator()(uint8_t* p) const { std::free(p); }

void AlignedBytes::resize(size_t n) {
  if (n <= size_) return;
  // Weight-sized buffers go on 2 MiB pages where the kernel allows it: decoding streams the
  // whole model per token, and 4 KiB pages cost a TLB miss every 4 KiB of it.
  constexpr size_t kHugePage = size_t{2} << 20;
  const bool huge = n >= kHugePage;
  const size_t align = huge ? kHugePage : 64;
  const size_t alloc = round_up(std::max<size_t>(n, 64), align);
  auto* p = static_cast<uint8_t*>(std::aligned_alloc(align, alloc));
  if (!p) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  if (huge) madvise(p, alloc, MADV_HUGEPAGE);  // advisory: without it the pages are just smaller
#endif
  data_.reset(p);
  size_ = alloc;
}

namespace kernels {

void quantize_activations_scalar(const float* x, int64_t cols, int8_t* q, float* d, float* dsum) {
  for (int64_t b = 0; b < cols / kPackBlock; ++b) {
    const float* src = x + b * kPackBlock;
    float amax = 0.0f;
    for (int i = 0; i < kPackBlock; ++i) amax = std::max(amax, std::fabs(src[i]));
    const float scale = amax / 127.0f;
    const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    int32_t sum = 0;
    for (int i = 0; i < kPackBlock; ++i) {
      const auto v = static_cast<int32_t>(std::nearbyint(src[i] * inv));
      q[b * kPackBlock + i] = static_cast<int8_t>(v);
      sum += v;
    }
    d[b] = scale;
    dsum[b] = scale * static_cast<float>(sum);
  }
}

void packed_tile_scalar(DType type, const uint8_t* group, int64_t blocks, const QuantizedActivations& x, int64_t t0,
                        int nt, float* y, int64_t ldy, int valid_rows) {
  const size_t scale_bytes = round_up(static_cast<size_t>(blocks) * kPackRows * sizeof(fp16_t), 64);
  const auto* scales = reinterpret_cast<const fp16_t*>(group);
  const uint8_t* quants = group + scale_bytes;
  const size_t chunk = chunk_bytes(type);
  const float offset = static_cast<float>(quant_offset(type));
  for (int t = 0; t < nt; ++t) {
    const int8_t* xq = x.quants(t0 + t);
    const float* xd = x.scales(t0 + t);
    const float* xs = x.scaled_sums(t0 + t);
    for (int r = 0; r < valid_rows; ++r) {
      float sum = 0.0f;
      for (int64_t b = 0; b < blocks; ++b) {
        const uint8_t* c = quants + b * chunk;
        int32_t dot = 0;
        if (type == DType::Q8_0) {
          for (int j = 0; j < 8; ++j) {
            for (int i = 0; i < 4; ++i) dot += c[j * 64 + r * 4 + i] * xq[b * kPackBlock + j * 4 + i];
          }
        } else {
          for (int j = 0; j < 4; ++j) {
            for (int i = 0; i < 4; ++i) {
              const uint8_t byte = c[j * 64 + r * 4 + i];
              dot += (byte & 0x0F) * xq[b * kPackBlock + j * 4 + i];
              dot += (byte >> 4) * xq[b * kPackBlock + 16 + j * 4 + i];
            }
          }
        }
        const float dw = fp16_to_f32(scales[b * kPackRows + r]);
        sum += dw * (static_cast<float>(dot) * xd[b] - offset * xs[b]);
      }
      y[t * ldy + r] = sum;
    }
  }
}

}  // namespace kernels

bool PackedMatrix::worthwhile() { return active_isa() == Isa::Avx512; }

void PackedMatrix::layout(const TensorView& w) {
  type_ = w.type;
  rows_ = w.ne[1];
  cols_ = w.ne[0];
  slices_ = w.ne[2] * w.ne[3];
  if (!supports(w.type)) {
    throw std::invalid_argument("PackedMatrix: tensor '" + w.name + "' has type " + std::string(dtype_name(w.type)) +
                                ", which has no packed kernel");
  }
  if (!w.data || cols_ <= 0 || rows_ <= 0 || slices_ <= 0 || cols_ % kPackBlock != 0) {
    throw std::invalid_argument("PackedMatrix: tensor '" + w.name + "' is empty or not whole blocks");
  }
  const int64_t blocks = cols_ / kPackBlock;
  groups_ = (rows_ + kPackRows - 1) / kPackRows;
  scale_bytes_ = round_up(static_cast<size_t>(blocks) * kPackRows * sizeof(fp16_t), 64);
  group_bytes_ = scale_bytes_ + static_cast<size_t>(blocks) * chunk_bytes(type_);
}

size_t PackedMatrix::storage_bytes(const TensorView& w) {
  PackedMatrix shape;
  shape.layout(w);
  return shape.bytes();
}

PackedMatrix::PackedMatrix(const TensorView& w) {
  layout(w);
  owned_.resize(bytes());
  data_ = owned_.data();
  pack(w);
}

PackedMatrix::PackedMatrix(const TensorView& w, uint8_t* storage) {
  layout(w);
  if (!storage || reinterpret_cast<uintptr_t>(storage) % 64 != 0) {
    throw std::invalid_argument("PackedMatrix: storage for '" + w.name + "' is not 64-byte aligned");
  }
  data_ = storage;
  pack(w);
}

void PackedMatrix::pack(const TensorView& w) {
  // Groups are independent and written front to back; large matrices use every core.
  const int64_t n_groups = groups_ * slices_;
  const auto n_threads = static_cast<int64_t>(std::clamp(std::thread::hardware_concurrency(), 1u, 16u));
  const int64_t per_thread = (n_groups + n_threads - 1) / n_threads;
  if (n_threads == 1 || bytes() < (1u << 22)) {
    pack_groups(w, 0, n_groups);
  } else {
    std::vector<std::thread> threads;
    for (int64_t g = per_thread; g < n_groups; g += per_thread) {
      threads.emplace_back([this, &w, g, n_groups, per_thread] { pack_groups(w, g, std::min(n_groups, g + per_thread)); });
    }
    pack_groups(w, 0, std::min(n_groups, per_thread));
    for (auto& t : threads) t.join();
  }
}

void PackedMatrix::pack_groups(const TensorView& w, int64_t first, int64_t last) {
  const int64_t blocks = cols_ / kPackBlock;
  const size_t chunk = chunk_bytes(type_);
  for (int64_t gi = first; gi < last; ++gi) {
    const int64_t s = gi / groups_, g = gi % groups_;
    uint8_t* out = data_ + static_cast<size_t>(gi) * group_bytes_;
    auto* scales = reinterpret_cast<fp16_t*>(out);
    uint8_t* quants = out + scale_bytes_;
    const int valid = static_cast<int>(std::min<int64_t>(kPackRows, rows_ - g * kPackRows));
    if (valid < kPackRows) std::memset(out, 0, group_bytes_);  // padding rows: zero scales
    for (int lane = 0; lane < valid; ++lane) {
      const uint8_t* src = w.row(s * rows_ + g * kPackRows + lane);
      for (int64_t b = 0; b < blocks; ++b) {
        uint8_t* c = quants + b * chunk;
        if (type_ == DType::Q8_0) {
          BlockQ8_0 blk;
          std::memcpy(&blk, src + b * sizeof(BlockQ8_0), sizeof blk);
          scales[b * kPackRows + lane] = blk.d;
          for (int j = 0; j < 8; ++j) {
            for (int i = 0; i < 4; ++i) c[j * 64 + lane * 4 + i] = static_cast<uint8_t>(blk.qs[j * 4 + i] + 128);
          }
        } else {
          BlockQ4_0 blk;
          std::memcpy(&blk, src + b * sizeof(BlockQ4_0), sizeof blk);
          scales[b * kPackRows + lane] = blk.d;
          for (int j = 0; j < 4; ++j) std::memcpy(c + j * 64 + lane * 4, blk.qs + j * 4, 4);
        }
      }
    }
  }
}

void quantize_activations(const float* x, int64_t n_tokens, int64_t cols, QuantizedActivations& out) {
  if (cols % kPackBlock != 0) {
    throw std::invalid_argument("quantize_activations: " + std::to_string(cols) + " columns are not whole blocks");
  }
  out.n_tokens = n_tokens;
  out.cols = cols;
  out.blocks = cols / kPackBlock;
  out.q_stride = round_up(static_cast<size_t>(cols), 64);
  out.q.resize(out.q_stride * static_cast<size_t>(n_tokens));
  const auto n_blocks = static_cast<size_t>(out.blocks * n_tokens);
  if (out.d.size() < n_blocks) out.d.resize(n_blocks);
  if (out.dsum.size() < n_blocks) out.dsum.resize(n_blocks);
  auto* fn = active_isa() == Isa::Avx512 ? kernels::quantize_activations_avx512 : kernels::quantize_activations_scalar;
  for (int64_t t = 0; t < n_tokens; ++t) {
    fn(x + t * cols, cols, reinterpret_cast<int8_t*>(out.q.data() + t * out.q_stride), out.d.data() + t * out.blocks,
       out.dsum.data() + t * out.blocks);
  }
}

void packed_matmul(const PackedMatrix& w, int64_t slice, int64_t g0, int64_t g1, const QuantizedActivations& x,
                   int64_t t0, int64_t t1, float* y, int64_t ldy) {
  if (x.cols != w.cols()) {
    throw std::invalid_argument("packed_matmul: activations have " + std::to_string(x.cols) + " columns, weights " +
                                std::to_string(w.cols()));
  }
  const bool simd = active_isa() == Isa::Avx512;
  const int64_t blocks = w.cols() / kPackBlock;
  for (int64_t g = g0; g < g1; ++g) {
    const uint8_t* group = w.group(slice, g);
    const int valid = static_cast<int>(std::min<int64_t>(kPackRows, w.rows() - g * kPackRows));
    for (int64_t t = t0; t < t1; t += kPackTokens) {
      const int nt = static_cast<int>(std::min<int64_t>(kPackTokens, t1 - t));
      float* out = y + t * ldy + g * kPackRows;
      if (!simd) {
        kernels::packed_tile_scalar(w.type(), group, blocks, x, t, nt, out, ldy, valid);
      } else if (w.type() == DType::Q8_0) {
        kernels::packed_tile_q8_0_avx512(group, blocks, x, t, nt, out, ldy, valid);
      } else {
        kernels::packed_tile_q4_0_avx512(group, blocks, x, t, nt, out, ldy, valid);
      }
    }
  }
}

}  // namespace kindred
