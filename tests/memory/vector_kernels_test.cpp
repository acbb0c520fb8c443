// The AVX2 kernels against their baseline twins, on awkward sizes.
#include "memory/vector_kernels.h"

#include <gtest/gtest.h>

#include <bit>
#include <random>
#include <vector>

namespace kindred::memory {
namespace {

using namespace kernels_detail;

bool has_avx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("popcnt"); }

TEST(VectorKernels, AllIsasAgree) {
  std::mt19937_64 rng(5);
  for (size_t dim : {1u, 7u, 16u, 31u, 32u, 33u, 100u, 384u, 2048u}) {
    const size_t n = 9;
    std::vector<int8_t> q(dim), rows(n * dim);
    std::vector<float> a(dim), b(dim);
    for (auto& x : q) x = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
    for (auto& x : rows) x = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
    for (auto& x : a) x = static_cast<float>(static_cast<double>(rng() >> 11) * 0x1.0p-53 - 0.5);
    for (auto& x : b) x = static_cast<float>(static_cast<double>(rng() >> 11) * 0x1.0p-53 - 0.5);
    std::vector<int32_t> base(n), fast(n);
    dot_i8_rows_base(q.data(), rows.data(), n, dim, base.data());
    for (size_t r = 0; r < n; ++r) {
      int32_t want = 0;
      for (size_t j = 0; j < dim; ++j) want += int32_t{q[j]} * int32_t{rows[r * dim + j]};
      EXPECT_EQ(base[r], want);
    }
    double want_f = 0;
    for (size_t j = 0; j < dim; ++j) want_f += double(a[j]) * b[j];
    EXPECT_NEAR(dot_f32_base(a.data(), b.data(), dim), want_f, 1e-5 * static_cast<double>(dim));
    const size_t words = (dim + 63) / 64;
    std::vector<uint64_t> qs(words), rs(n * words);
    for (auto& x : qs) x = rng();
    for (auto& x : rs) x = rng();
    std::vector<uint16_t> hb(n), hf(n);
    hamming_rows_base(qs.data(), rs.data(), n, words, hb.data());
    EXPECT_EQ(hb[0], [&] { int d = 0; for (size_t w = 0; w < words; ++w) d += std::popcount(qs[w] ^ rs[w]); return d; }());
    if (!has_avx2()) continue;
    dot_i8_rows_avx2(q.data(), rows.data(), n, dim, fast.data());
    EXPECT_EQ(base, fast) << "dim " << dim;
    EXPECT_NEAR(dot_f32_avx2(a.data(), b.data(), dim), want_f, 1e-5 * static_cast<double>(dim));
    hamming_rows_popcnt(qs.data(), rs.data(), n, words, hf.data());
    EXPECT_EQ(hb, hf);
  }
}

}  // namespace
}  // namespace kindred::memory
