// Conversions between floats and every computable tensor type, and the dot products the
// matrix kernels are built from. Each kernel has a scalar reference that is always compiled;
// AVX2 and AVX-512 versions live in per-ISA files and are chosen once, at first use, from what
// the CPU supports (set_active_isa overrides it, for tests and benchmarks).
#pragma once
#include <cstdint>

#include "tensor/dtype.h"

namespace kindred {

float fp16_to_f32(fp16_t h);
fp16_t f32_to_fp16(float f);  // round to nearest even
float bf16_to_f32(bf16_t h);
bf16_t f32_to_bf16(float f);  // round to nearest even, NaN stays NaN

// Avx2 needs AVX2 + FMA + F16C; Avx512 needs F/BW/VL/DQ + VNNI (Ice Lake, Zen 4 and later)
// and uses AVX512_BF16's vdpbf16ps for BF16 where the CPU has it. Other CPUs get the best of
// the rest; Scalar runs anywhere.
enum class Isa { Scalar, Avx2, Avx512 };
const char* isa_name(Isa isa);
Isa best_supported_isa();
Isa active_isa();
// Throws std::invalid_argument when the CPU lacks `isa`.
void set_active_isa(Isa isa);

// The kernels for weights of one type at one ISA. Buffers need only the natural alignment of
// their elements or blocks (2 bytes for fp16-scaled blocks, 4 for F32 and Q8_K), which
// GGUF's 32-byte tensor alignment and back-to-back rows provide; SIMD loads are unaligned.
struct TypeKernels {
  // Activations are converted to this type before dot products: as ggml (Q8_0 for the legacy
  // quants, Q8_K for the K-quants, F16/BF16/F32 for themselves) except that Q4_1/Q5_1 take
  // Q8_0 rather than Q8_1 (their kernels sum the activation quants exactly themselves).
  DType vec_dot_type;
  // n values (a multiple of the block size) from src into floats.
  void (*to_float)(const void* src, float* dst, int64_t n);
  // n floats into blocks of this type, byte-identical to ggml's quantize_row_*_ref;
  // nullptr where Kindred has no quantizer for the type.
  void (*from_float)(const float* src, void* dst, int64_t n);
  // Dot product of n values: w (this type) · x (vec_dot_type).
  float (*vec_dot)(int64_t n, const void* w, const void* x);
};

// Throws std::invalid_argument for a type that is not computable.
const TypeKernels& type_kernels(DType t);
const TypeKernels& type_kernels(DType t, Isa isa);

// Convenience wrappers over type_kernels(t) for the active ISA.
void dequantize_row(DType t, const void* src, float* dst, int64_t n);
bool has_quantizer(DType t);
void quantize_row(DType t, const float* src, void* dst, int64_t n);  // throws if no quantizer

}  // namespace kindred
