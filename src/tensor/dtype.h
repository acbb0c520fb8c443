// Element and block types of tensors, with on-disk layouts identical to GGUF/ggml so existing
// model files load as they are. Quantized types store blocks of `block_size` values; each block
// struct below is exactly the bytes in the file (static_assert'ed).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace kindred {

// Numbering is GGUF's `ggml_type`; the gaps are types ggml removed.
enum class DType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22,
  IQ4_XS = 23, I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
  TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39,
};

struct DTypeInfo {
  std::string_view name;  // as llama.cpp prints it: "q4_K", "f16" ...
  int64_t block_size;     // values per block
  size_t block_bytes;     // bytes per block
  bool computable;        // Kindred can dequantize it and take dot products with it
};

// Whether `raw` names a type that GGUF defines (known to Kindred's tables).
bool dtype_is_known(uint32_t raw);
// Facts about a known type; throws std::invalid_argument for an unknown one.
const DTypeInfo& dtype_info(DType t);
std::string_view dtype_name(DType t);
// Parses "q4_0", "Q4_K", "f16", "bf16" ... ; throws std::invalid_argument naming the text.
DType dtype_from_name(std::string_view name);
// Bytes taken by a row of n values; throws if n is not a multiple of the block size.
size_t row_bytes(DType t, int64_t n);

inline constexpr int QK4_0 = 32;
inline constexpr int QK4_1 = 32;
inline constexpr int QK5_0 = 32;
inline constexpr int QK5_1 = 32;
inline constexpr int QK8_0 = 32;
inline constexpr int QK8_1 = 32;
inline constexpr int QK_K = 256;
inline constexpr int K_SCALE_SIZE = 12;

using fp16_t = uint16_t;  // IEEE half, stored bits
using bf16_t = uint16_t;  // bfloat16, stored bits

struct BlockQ4_0 { fp16_t d; uint8_t qs[QK4_0 / 2]; };
struct BlockQ4_1 { fp16_t d, m; uint8_t qs[QK4_1 / 2]; };
struct BlockQ5_0 { fp16_t d; uint8_t qh[4]; uint8_t qs[QK5_0 / 2]; };
struct BlockQ5_1 { fp16_t d, m; uint8_t qh[4]; uint8_t qs[QK5_1 / 2]; };
struct BlockQ8_0 { fp16_t d; int8_t qs[QK8_0]; };
struct BlockQ8_1 { fp16_t d, s; int8_t qs[QK8_1]; };  // s = d * sum(qs)
// K-quants: super-blocks of 256 values split into sub-blocks with their own scales.
struct BlockQ2_K { uint8_t scales[QK_K / 16]; uint8_t qs[QK_K / 4]; fp16_t d, dmin; };
struct BlockQ3_K { uint8_t hmask[QK_K / 8]; uint8_t qs[QK_K / 4]; uint8_t scales[12]; fp16_t d; };
struct BlockQ4_K { fp16_t d, dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qs[QK_K / 2]; };
struct BlockQ5_K { fp16_t d, dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qh[QK_K / 8]; uint8_t qs[QK_K / 2]; };
struct BlockQ6_K { uint8_t ql[QK_K / 2]; uint8_t qh[QK_K / 4]; int8_t scales[QK_K / 16]; fp16_t d; };
// Activation type for K-quant dot products (never stored in model files).
struct BlockQ8_K { float d; int8_t qs[QK_K]; int16_t bsums[QK_K / 16]; };

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ2_K) == 84);
static_assert(sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);

}  // namespace kindred
