// Half-precision conversions, CPU feature detection and the per-ISA kernel tables.
#include "tensor/quants.h"

#include <cpuid.h>

#include <array>
#include <atomic>
#include <cstring>
#include <stdexcept>
#include <string>

#include "tensor/quants_internal.h"

namespace kindred {

// ---- fp16 / bf16 ----

float fp16_to_f32(fp16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);  // inf, or NaN keeping its payload
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);  // rebias 15 -> 127
  } else {
    // Zero or subnormal: mant · 2^-24 is exact in float.
    const float v = static_cast<float>(mant) * 0x1p-24f;
    return sign ? -v : v;
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

fp16_t f32_to_fp16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  const auto sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  x &= 0x7fffffffu;
  if (x >= 0x7f800000u) {  // inf, or NaN: keep the top payload bits and force it quiet
    return static_cast<uint16_t>(sign | 0x7c00u | (x > 0x7f800000u ? 0x0200u | ((x >> 13) & 0x3ffu) : 0u));
  }
  if (x >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // >= 65520 rounds to inf
  const uint32_t exp = x >> 23;
  uint32_t h;
  uint32_t rem;
  uint32_t half;
  if (exp >= 113) {  // normal half: keep 10 mantissa bits, round on the 13 dropped
    h = ((exp - 112) << 10) | ((x >> 13) & 0x3ffu);
    rem = x & 0x1fffu;
    half = 0x1000u;
  } else {  // subnormal half (or zero): value = mant · 2^(exp-150), unit 2^-24
    if (exp < 102) return sign;  // below 2^-25: rounds to zero
    const uint32_t mant = (x & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - exp;  // 14..24
    h = mant >> shift;
    rem = mant & ((1u << shift) - 1);
    half = 1u << (shift - 1);
  }
  // Round to nearest even; a carry out of the mantissa correctly bumps the exponent.
  if (rem > half || (rem == half && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

float bf16_to_f32(bf16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

bf16_t f32_to_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x0040u);  // quiet NaN
  // Round to nearest even on the 16 dropped bits; overflow carries into inf as it should.
  x += 0x7fffu + ((x >> 16) & 1u);
  return static_cast<uint16_t>(x >> 16);
}

// ---- ISA detection and selection ----

namespace {

// F16C through CPUID leaf 1 (ECX bit 29): clang's __builtin_cpu_supports lacks "f16c".
bool cpu_has_f16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29)) != 0;
}

bool cpu_has_uncached(Isa isa) {
  switch (isa) {
    case Isa::Scalar:
      return true;
    case Isa::Avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c();
    case Isa::Avx512:
      // The AVX-512 files also use AVX2/FMA/F16C instructions for their 256-bit parts.
      return cpu_has_uncached(Isa::Avx2) && __builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vnni");
  }
  return false;
}

// CPUID traps to the hypervisor in a VM, so it is asked once, not per matmul.
bool cpu_has(Isa isa) {
  static const std::array<bool, 3> has = {cpu_has_uncached(Isa::Scalar), cpu_has_uncached(Isa::Avx2),
                                          cpu_has_uncached(Isa::Avx512)};
  const auto i = static_cast<size_t>(isa);
  return i < has.size() && has[i];
}

bool cpu_has_avx512_bf16() { return __builtin_cpu_supports("avx512bf16"); }

std::atomic<Isa>& active_slot() {
  static std::atomic<Isa> active{best_supported_isa()};
  return active;
}

// One slot per GGUF type number (DType's largest value is 39).
constexpr size_t kSlots = 40;
using KernelTable = std::array<TypeKernels, kSlots>;

size_t slot(DType t) { return static_cast<size_t>(t); }

KernelTable make_scalar_table() {
  using namespace kernels;
  KernelTable t{};
  auto set = [&](DType type, DType vdt, auto to_f, auto from_f, auto dot) {
    t[slot(type)] = TypeKernels{vdt, to_f, from_f, dot};
  };
  set(DType::F32, DType::F32, to_float_f32, quantize_f32, vec_dot_f32_scalar);
  set(DType::F16, DType::F16, to_float_f16, quantize_f16, vec_dot_f16_scalar);
  set(DType::BF16, DType::BF16, to_float_bf16, quantize_bf16, vec_dot_bf16_scalar);
  // Q4_1/Q5_1 take Q8_0 activations (ggml uses Q8_1): the kernels sum the activation quants
  // themselves, which is exact, instead of reading Q8_1's fp16-rounded d·Σq; one activation
  // type then serves every legacy quant.
  set(DType::Q4_0, DType::Q8_0, to_float_q4_0, quantize_q4_0, vec_dot_q4_0_scalar);
  set(DType::Q4_1, DType::Q8_0, to_float_q4_1, quantize_q4_1, vec_dot_q4_1_scalar);
  set(DType::Q5_0, DType::Q8_0, to_float_q5_0, quantize_q5_0, vec_dot_q5_0_scalar);
  set(DType::Q5_1, DType::Q8_0, to_float_q5_1, quantize_q5_1, vec_dot_q5_1_scalar);
  set(DType::Q8_0, DType::Q8_0, to_float_q8_0, quantize_q8_0, vec_dot_q8_0_scalar);
  set(DType::Q2_K, DType::Q8_K, to_float_q2_k, quantize_q2_k, vec_dot_q2_k_scalar);
  set(DType::Q3_K, DType::Q8_K, to_float_q3_k, quantize_q3_k, vec_dot_q3_k_scalar);
  set(DType::Q4_K, DType::Q8_K, to_float_q4_k, quantize_q4_k, vec_dot_q4_k_scalar);
  set(DType::Q5_K, DType::Q8_K, to_float_q5_k, quantize_q5_k, vec_dot_q5_k_scalar);
  set(DType::Q6_K, DType::Q8_K, to_float_q6_k, quantize_q6_k, vec_dot_q6_k_scalar);
  // Activation-only type: conversions but no dot product (it is never a weight).
  t[slot(DType::Q8_K)] = TypeKernels{DType::Q8_K, to_float_q8_k, quantize_q8_k, nullptr};
  return t;
}

// The SIMD tables differ from the scalar one in their dot products only: conversions are off
// the hot path (activations are quantized once per matmul, rows dequantized once per lookup).
KernelTable make_avx2_table() {
  using namespace kernels;
  KernelTable t = make_scalar_table();
  t[slot(DType::F32)].vec_dot = vec_dot_f32_avx2;
  t[slot(DType::F16)].vec_dot = vec_dot_f16_avx2;
  t[slot(DType::BF16)].vec_dot = vec_dot_bf16_avx2;
  t[slot(DType::Q4_0)].vec_dot = vec_dot_q4_0_avx2;
  t[slot(DType::Q4_1)].vec_dot = vec_dot_q4_1_avx2;
  t[slot(DType::Q5_0)].vec_dot = vec_dot_q5_0_avx2;
  t[slot(DType::Q5_1)].vec_dot = vec_dot_q5_1_avx2;
  t[slot(DType::Q8_0)].vec_dot = vec_dot_q8_0_avx2;
  t[slot(DType::Q2_K)].vec_dot = vec_dot_q2_k_avx2;
  t[slot(DType::Q3_K)].vec_dot = vec_dot_q3_k_avx2;
  t[slot(DType::Q4_K)].vec_dot = vec_dot_q4_k_avx2;
  t[slot(DType::Q5_K)].vec_dot = vec_dot_q5_k_avx2;
  t[slot(DType::Q6_K)].vec_dot = vec_dot_q6_k_avx2;
  return t;
}

KernelTable make_avx512_table() {
  using namespace kernels;
  KernelTable t = make_scalar_table();
  t[slot(DType::F32)].vec_dot = vec_dot_f32_avx512;
  t[slot(DType::F16)].vec_dot = vec_dot_f16_avx512;
  t[slot(DType::BF16)].vec_dot = cpu_has_avx512_bf16() ? vec_dot_bf16_avx512 : vec_dot_bf16_avx512_nobf16;
  t[slot(DType::Q4_0)].vec_dot = vec_dot_q4_0_avx512;
  t[slot(DType::Q4_1)].vec_dot = vec_dot_q4_1_avx512;
  t[slot(DType::Q5_0)].vec_dot = vec_dot_q5_0_avx512;
  t[slot(DType::Q5_1)].vec_dot = vec_dot_q5_1_avx512;
  t[slot(DType::Q8_0)].vec_dot = vec_dot_q8_0_avx512;
  t[slot(DType::Q2_K)].vec_dot = vec_dot_q2_k_avx512;
  t[slot(DType::Q3_K)].vec_dot = vec_dot_q3_k_avx512;
  t[slot(DType::Q4_K)].vec_dot = vec_dot_q4_k_avx512;
  t[slot(DType::Q5_K)].vec_dot = vec_dot_q5_k_avx512;
  t[slot(DType::Q6_K)].vec_dot = vec_dot_q6_k_avx512;
  return t;
}

// Building a table only takes function addresses, so it is safe on any CPU; callers check
// that the CPU runs the ISA before handing its kernels out.
const KernelTable& table_for(Isa isa) {
  switch (isa) {
    case Isa::Avx2: {
      static const KernelTable t = make_avx2_table();
      return t;
    }
    case Isa::Avx512: {
      static const KernelTable t = make_avx512_table();
      return t;
    }
    case Isa::Scalar:
      break;
  }
  static const KernelTable t = make_scalar_table();
  return t;
}

void require_supported(Isa isa) {
  if (isa != Isa::Scalar && isa != Isa::Avx2 && isa != Isa::Avx512) {
    throw std::invalid_argument("unknown ISA " + std::to_string(static_cast<int>(isa)));
  }
  if (!cpu_has(isa)) {
    throw std::invalid_argument(std::string("this CPU does not support the ") + isa_name(isa) + " kernels");
  }
}

// Any entry with conversions, including the activation-only Q8_K; nullptr when none.
const TypeKernels* find_entry(DType t) {
  const size_t s = slot(t);
  if (s >= kSlots) return nullptr;
  const TypeKernels& k = table_for(active_isa())[s];
  return k.to_float ? &k : nullptr;
}

std::string type_label(DType t) {
  if (dtype_is_known(static_cast<uint32_t>(t))) return std::string(dtype_name(t));
  return "#" + std::to_string(static_cast<uint32_t>(t));
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar: return "scalar";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
  }
  return "unknown";
}

Isa best_supported_isa() {
  static const Isa best = cpu_has(Isa::Avx512) ? Isa::Avx512 : cpu_has(Isa::Avx2) ? Isa::Avx2 : Isa::Scalar;
  return best;
}

Isa active_isa() { return active_slot().load(std::memory_order_relaxed); }

void set_active_isa(Isa isa) {
  require_supported(isa);
  active_slot().store(isa, std::memory_order_relaxed);
}

const TypeKernels& type_kernels(DType t) { return type_kernels(t, active_isa()); }

const TypeKernels& type_kernels(DType t, Isa isa) {
  require_supported(isa);
  const size_t s = slot(t);
  if (s >= kSlots || !table_for(isa)[s].vec_dot) {
    throw std::invalid_argument("tensor type " + type_label(t) +
                                " is not computable (Kindred has no dot product for it)");
  }
  return table_for(isa)[s];
}

void dequantize_row(DType t, const void* src, float* dst, int64_t n) {
  const TypeKernels* k = find_entry(t);
  if (!k) throw std::invalid_argument("cannot dequantize tensor type " + type_label(t));
  row_bytes(t, n);  // throws unless n is a whole number of blocks
  k->to_float(src, dst, n);
}

bool has_quantizer(DType t) {
  const TypeKernels* k = find_entry(t);
  return k && k->from_float;
}

void quantize_row(DType t, const float* src, void* dst, int64_t n) {
  const TypeKernels* k = find_entry(t);
  if (!k || !k->from_float) throw std::invalid_argument("no quantizer for tensor type " + type_label(t));
  row_bytes(t, n);
  k->from_float(src, dst, n);
}

}  // namespace kindred
