// A non-owning view of a tensor's bytes, in GGUF's dimension order: ne[0] is the innermost
// (contiguous) dimension, so a weight matrix of `rows` outputs by `cols` inputs has
// ne = {cols, rows}. Rows are stored back to back, each row_bytes(type, ne[0]) long.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "tensor/dtype.h"

namespace kindred {

class PackedMatrix;

struct TensorView {
  std::string name;
  DType type = DType::F32;
  std::array<int64_t, 4> ne = {1, 1, 1, 1};
  int n_dims = 0;
  const void* data = nullptr;
  // The same values repacked for the int8 SIMD kernels (packed_matrix.h) when the loader made a
  // copy; the view is then slice `packed_slice` of it. Null when the matrix is only in GGUF layout.
  const PackedMatrix* packed = nullptr;
  int64_t packed_slice = 0;

  int64_t cols() const { return ne[0]; }
  int64_t rows() const { return ne[1] * ne[2] * ne[3]; }
  int64_t elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
  size_t row_stride() const { return row_bytes(type, ne[0]); }
  size_t bytes() const { return row_stride() * static_cast<size_t>(rows()); }
  const uint8_t* row(int64_t r) const {
    return static_cast<const uint8_t*>(data) + static_cast<size_t>(r) * row_stride();
  }
};

}  // namespace kindred
