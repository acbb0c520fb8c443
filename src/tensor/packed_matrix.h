// Weight matrices repacked at load for the int8 SIMD kernels, and the quantized activations
// those kernels read.
//
// GGUF stores a Q8_0/Q4_0 row as blocks of {fp16 scale, 32 quants}: a dot product per row has
// to gather scales out of the quant stream and reduce a vector to one number per row and
// block. Here 16 rows are interleaved instead, so one 512-bit register holds four consecutive
// quants of each of 16 rows and one vpdpbusd against four broadcast activation quants advances
// all 16 rows at once; every lane is one output row, nothing is reduced horizontally, and the
// same register tile serves 1 token (decode) or several (prefill, each weight load reused).
//
// Layout of one group of 16 rows with B blocks of 32 columns:
//   scales: B × 16 fp16 (block-major, row within), padded to 64 bytes
//   quants: B × chunk, where a block's chunk is
//     Q8_0: 8 × [16 rows × 4 bytes], byte = quant + 128 (so unsigned: vpdpbusd's u8 operand)
//     Q4_0: 4 × [16 rows × 4 bytes], the row's own bytes 4j..4j+3: low nibbles are values
//           4j..4j+3 and high nibbles 16+4j..16+4j+3, unsigned 0..15 as stored
// The unsigned offset (128 or 8) times the block's activation sum comes off once per block.
// Rows past the end are zero-scaled padding. A 3-D tensor (stacked experts) packs each slice
// (expert) on its own, so an expert starts on a group boundary.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "tensor/dtype.h"
#include "tensor/tensor.h"

namespace kindred {

inline constexpr int kPackRows = 16;   // rows interleaved per group (one 512-bit lane each)
inline constexpr int kPackBlock = 32;  // columns per scale block
inline constexpr int kPackTokens = 4;  // tokens per register tile

// 64-byte aligned bytes that are never shrunk (reused across calls).
class AlignedBytes {
 public:
  uint8_t* data() { return data_.get(); }
  const uint8_t* data() const { return data_.get(); }
  size_t size() const { return size_; }
  void resize(size_t n);  // contents are not kept

 private:
  struct Free {
    void operator()(uint8_t* p) const;
  };
  std::unique_ptr<uint8_t, Free> data_;
  size_t size_ = 0;
};

// n_tokens rows of `cols` floats as int8 blocks of 32: per token the quants (row stride
// q_stride, a multiple of 64), per block the scale d and d × Σ quants.
struct QuantizedActivations {
  int64_t n_tokens = 0, cols = 0, blocks = 0;
  size_t q_stride = 0;
  AlignedBytes q;
  std::vector<float> d, dsum;

  const int8_t* quants(int64_t t) const { return reinterpret_cast<const int8_t*>(q.data() + t * q_stride); }
  const float* scales(int64_t t) const { return d.data() + t * blocks; }
  const float* scaled_sums(int64_t t) const { return dsum.data() + t * blocks; }
};

// Quantizes x (n_tokens × cols, cols a multiple of 32) with the active ISA: per block
// d = max|x| / 127, q = round-half-even(x / d).
void quantize_activations(const float* x, int64_t n_tokens, int64_t cols, QuantizedActivations& out);

class PackedMatrix {
 public:
  // Types with a packed kernel.
  static bool supports(DType t) { return t == DType::Q8_0 || t == DType::Q4_0; }
  // Whether load-time packing pays off on this CPU (it needs AVX-512 VNNI to be faster).
  static bool worthwhile();

  // Repacks w (2-D, or 3-D with ne[2] slices) into its own buffer; throws
  // std::invalid_argument for an unsupported type or a column count that is not whole blocks.
  explicit PackedMatrix(const TensorView& w);
  // The same into storage the caller owns (storage_bytes(w) bytes, 64-byte aligned), so a
  // model's matrices can share one arena on large pages without per-matrix rounding.
  PackedMatrix(const TensorView& w, uint8_t* storage);
  static size_t storage_bytes(const TensorView& w);

  DType type() const { return type_; }
  int64_t rows() const { return rows_; }  // per slice
  int64_t cols() const { return cols_; }
  int64_t slices() const { return slices_; }
  int64_t groups() const { return groups_; }  // per slice
  size_t bytes() const { return group_bytes_ * static_cast<size_t>(groups_ * slices_); }
  const uint8_t* group(int64_t slice, int64_t g) const {
    return data_ + (static_cast<size_t>(slice * groups_ + g)) * group_bytes_;
  }

 private:
  PackedMatrix() = default;
  void layout(const TensorView& w);
  void pack(const TensorView& w);
  void pack_groups(const TensorView& w, int64_t first, int64_t last);  // groups counted across slices

  DType type_ = DType::Q8_0;
  int64_t rows_ = 0, cols_ = 0, slices_ = 0, groups_ = 0;
  size_t scale_bytes_ = 0, group_bytes_ = 0;
  AlignedBytes owned_;  // empty when the storage is the caller's
  uint8_t* data_ = nullptr;
};

// y[t * ldy + r] = row r of `slice` · x_t for the rows of groups [g0, g1) and tokens [t0, t1),
// with the active ISA's kernel.
void packed_matmul(const PackedMatrix& w, int64_t slice, int64_t g0, int64_t g1, const QuantizedActivations& x,
                   int64_t t0, int64_t t1, float* y, int64_t ldy);

}  // namespace kindred
