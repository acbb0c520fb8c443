#include "tensor/dtype.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>
#include <string>

namespace kindred {
namespace {

struct Entry {
  DType type;
  DTypeInfo info;
};

// Block sizes and byte counts follow ggml's type traits so every GGUF file's sizes check out,
// including types Kindred cannot compute with (those load for `info` but not for inference).
constexpr std::array kTypes = {
    Entry{DType::F32, {"f32", 1, 4, true}},
    Entry{DType::F16, {"f16", 1, 2, true}},
    Entry{DType::Q4_0, {"q4_0", 32, 18, true}},
    Entry{DType::Q4_1, {"q4_1", 32, 20, true}},
    Entry{DType::Q5_0, {"q5_0", 32, 22, true}},
    Entry{DType::Q5_1, {"q5_1", 32, 24, true}},
    Entry{DType::Q8_0, {"q8_0", 32, 34, true}},
    Entry{DType::Q8_1, {"q8_1", 32, 36, false}},
    Entry{DType::Q2_K, {"q2_K", 256, 84, true}},
    Entry{DType::Q3_K, {"q3_K", 256, 110, true}},
    Entry{DType::Q4_K, {"q4_K", 256, 144, true}},
    Entry{DType::Q5_K, {"q5_K", 256, 176, true}},
    Entry{DType::Q6_K, {"q6_K", 256, 210, true}},
    Entry{DType::Q8_K, {"q8_K", 256, 292, false}},
    Entry{DType::IQ2_XXS, {"iq2_xxs", 256, 66, false}},
    Entry{DType::IQ2_XS, {"iq2_xs", 256, 74, false}},
    Entry{DType::IQ3_XXS, {"iq3_xxs", 256, 98, false}},
    Entry{DType::IQ1_S, {"iq1_s", 256, 50, false}},
    Entry{DType::IQ4_NL, {"iq4_nl", 32, 18, false}},
    Entry{DType::IQ3_S, {"iq3_s", 256, 110, false}},
    Entry{DType::IQ2_S, {"iq2_s", 256, 82, false}},
    Entry{DType::IQ4_XS, {"iq4_xs", 256, 136, false}},
    Entry{DType::I8, {"i8", 1, 1, false}},
    Entry{DType::I16, {"i16", 1, 2, false}},
    Entry{DType::I32, {"i32", 1, 4, false}},
    Entry{DType::I64, {"i64", 1, 8, false}},
    Entry{DType::F64, {"f64", 1, 8, false}},
    Entry{DType::IQ1_M, {"iq1_m", 256, 56, false}},
    Entry{DType::BF16, {"bf16", 1, 2, true}},
    Entry{DType::TQ1_0, {"tq1_0", 256, 54, false}},
    Entry{DType::TQ2_0, {"tq2_0", 256, 66, false}},
    Entry{DType::MXFP4, {"mxfp4", 32, 17, false}},
};

const Entry* find(uint32_t raw) {
  for (const auto& e : kTypes) {
    if (static_cast<uint32_t>(e.type) == raw) return &e;
  }
  return nullptr;
}

}  // namespace

bool dtype_is_known(uint32_t raw) { return find(raw) != nullptr; }

const DTypeInfo& dtype_info(DType t) {
  const Entry* e = find(static_cast<uint32_t>(t));
  if (!e) throw std::invalid_argument("unknown tensor type " + std::to_string(static_cast<uint32_t>(t)));
  return e->info;
}

std::string_view dtype_name(DType t) { return dtype_info(t).name; }

DType dtype_from_name(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const auto& e : kTypes) {
    std::string candidate(e.info.name);
    std::transform(candidate.begin(), candidate.end(), candidate.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (candidate == lower) return e.type;
  }
  throw std::invalid_argument("unknown tensor type name '" + std::string(name) + "'");
}

size_t row_bytes(DType t, int64_t n) {
  const DTypeInfo& info = dtype_info(t);
  if (n < 0 || n % info.block_size != 0) {
    throw std::invalid_argument("row of " + std::to_string(n) + " values is not a multiple of " +
                                std::string(info.name) + "'s block size " +
                                std::to_string(info.block_size));
  }
  return static_cast<size_t>(n / info.block_size) * info.block_bytes;
}

}  // namespace kindred
