// GGUF: the model file format of llama.cpp/ggml, read (memory-mapped, validated) and written.
//
// Layout (all integers little-endian):
//   magic      "GGUF" (4 bytes)
//   version    u32: 2 or 3 (version 1 used 32-bit counts and is rejected)
//   n_tensors  u64
//   n_kv       u64
//   n_kv × metadata pair:
//       key    string  (u64 length + UTF-8 bytes, no terminator)
//       type   u32     (ValueType below)
//       value  of that type; an ARRAY is: elem type u32, count u64, then count values
//              (arrays may nest: an array of arrays)
//   n_tensors × tensor info:
//       name   string
//       n_dims u32 (1..4)
//       ne     n_dims × u64, innermost dimension first
//       type   u32 (DType)
//       offset u64, relative to the start of the data section, a multiple of the alignment
//   padding to `general.alignment` (u32 metadata, default 32, a power of two)
//   data section: tensor bytes at their offsets
//
// A key repeated with the identical value is accepted once; any other duplicate is an error.
// The reader trusts nothing: every count, length and offset is checked against the bytes that
// remain before it is used, and each problem raises GgufError naming the field.
#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tensor/dtype.h"
#include "tensor/tensor.h"

namespace kindred::gguf {

class GgufError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class ValueType : uint32_t {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};
std::string_view value_type_name(ValueType t);

// One metadata value. Integers keep their exact GGUF type; accessors convert where the value
// fits and throw GgufError otherwise.
class Value {
 public:
  using Array = std::vector<Value>;

  Value() = default;
  static Value u8(uint8_t v) { return Value(ValueType::UINT8, uint64_t{v}); }
  static Value i8(int8_t v) { return Value(ValueType::INT8, int64_t{v}); }
  static Value u16(uint16_t v) { return Value(ValueType::UINT16, uint64_t{v}); }
  static Value i16(int16_t v) { return Value(ValueType::INT16, int64_t{v}); }
  static Value u32(uint32_t v) { return Value(ValueType::UINT32, uint64_t{v}); }
  static Value i32(int32_t v) { return Value(ValueType::INT32, int64_t{v}); }
  static Value u64(uint64_t v) { return Value(ValueType::UINT64, v); }
  static Value i64(int64_t v) { return Value(ValueType::INT64, v); }
  static Value f32(float v) { return Value(ValueType::FLOAT32, double{v}); }
  static Value f64(double v) { return Value(ValueType::FLOAT64, v); }
  static Value boolean(bool v) { return Value(ValueType::BOOL, v); }
  static Value string(std::string v) { return Value(ValueType::STRING, std::move(v)); }
  // Every element must have type elem (checked).
  static Value array(ValueType elem, Array items);
  static Value string_array(const std::vector<std::string>& items);
  static Value f32_array(const std::vector<float>& items);
  static Value i32_array(const std::vector<int32_t>& items);

  ValueType type() const { return type_; }
  ValueType array_type() const;  // element type; throws unless an array
  bool is_integer() const;
  bool is_number() const;

  uint64_t as_u64() const;  // any integer type, value >= 0
  int64_t as_i64() const;   // any integer type that fits
  uint32_t as_u32() const;
  int32_t as_i32() const;
  double as_f64() const;  // any numeric type
  float as_f32() const { return static_cast<float>(as_f64()); }
  bool as_bool() const;
  const std::string& as_string() const;
  const Array& as_array() const;

  // Human-readable rendering (arrays longer than max_items are elided), for `kindred info`.
  std::string to_display(size_t max_items = 8) const;

  bool operator==(const Value&) const = default;

 private:
  using Storage = std::variant<std::monostate, uint64_t, int64_t, double, bool, std::string, Array>;
  Value(ValueType t, Storage s) : type_(t), storage_(std::move(s)) {}
  Value(ValueType t, ValueType elem, Array items)
      : type_(t), elem_type_(elem), storage_(std::move(items)) {}

  ValueType type_ = ValueType::UINT8;
  ValueType elem_type_ = ValueType::UINT8;
  Storage storage_;
};

struct TensorInfo {
  std::string name;
  DType type = DType::F32;
  int n_dims = 0;
  std::array<int64_t, 4> ne = {1, 1, 1, 1};
  uint64_t offset = 0;  // relative to the data section
  uint64_t bytes = 0;   // size of the data
};

// A parsed GGUF file. Tensor data stays in the mapping (or buffer) owned by the File; views
// returned by tensor() are valid while the File lives. Immutable after parse, so it may be
// shared across threads.
class File {
 public:
  static File open(const std::filesystem::path& path);            // mmap, read-only
  static File from_bytes(std::vector<uint8_t> bytes);             // takes ownership
  static File from_memory(const void* data, size_t size);         // borrows; caller keeps it alive

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  uint64_t file_size() const { return size_; }

  const std::vector<std::pair<std::string, Value>>& metadata() const { return metadata_; }
  const Value* find(std::string_view key) const;
  const Value& get(std::string_view key) const;  // throws GgufError "missing metadata key"
  bool has(std::string_view key) const { return find(key) != nullptr; }

  // Typed look-ups; the key is named in any error. The *_or forms return fallback if absent.
  std::string get_string(std::string_view key) const;
  std::string get_string_or(std::string_view key, std::string fallback) const;
  uint32_t get_u32(std::string_view key) const;
  uint32_t get_u32_or(std::string_view key, uint32_t fallback) const;
  float get_f32(std::string_view key) const;
  float get_f32_or(std::string_view key, float fallback) const;
  bool get_bool_or(std::string_view key, bool fallback) const;
  std::vector<std::string> get_string_array(std::string_view key) const;
  std::vector<float> get_f32_array(std::string_view key) const;
  std::vector<int32_t> get_i32_array(std::string_view key) const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(std::string_view name) const;
  // A view into the file's bytes; throws GgufError if the tensor is missing.
  TensorView tensor(std::string_view name) const;
  TensorView view(const TensorInfo& info) const;

  // Tells the kernel that [data, data + bytes) will not be read for a while (the loader copied
  // it into another layout), so a mapped file's pages leave resident memory; a later read
  // faults them back in from the file. A no-op for in-memory files.
  void release_pages(const void* data, size_t bytes) const;

 private:
  File() = default;
  void parse();

  std::shared_ptr<const void> owner_;  // keeps the mapping or buffer alive
  const uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
  bool mapped_ = false;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, Value>> metadata_;
  std::vector<TensorInfo> tensors_;
};

// Builds a GGUF file in memory. Keys keep the order of their first set(); set() on an existing
// key replaces its value. Tensor data is padded to the alignment.
class Writer {
 public:
  explicit Writer(uint32_t version = 3) : version_(version) {}

  void set(std::string key, Value value);
  void remove(std::string_view key);
  // ne is innermost first; data must be exactly row_bytes(type, ne[0]) × rows bytes.
  void add_tensor(std::string name, DType type, std::vector<int64_t> ne, std::vector<uint8_t> data);
  void add_tensor_f32(std::string name, std::vector<int64_t> ne, const std::vector<float>& values);

  std::vector<uint8_t> to_bytes() const;
  // Writes to a temporary file beside path and renames it, so a crash never leaves half a file.
  void write(const std::filesystem::path& path) const;

 private:
  struct PendingTensor {
    std::string name;
    DType type;
    std::vector<int64_t> ne;
    std::vector<uint8_t> data;
  };
  uint64_t alignment() const;

  uint32_t version_;
  std::vector<std::pair<std::string, Value>> metadata_;
  std::vector<PendingTensor> tensors_;
};

}  // namespace kindred::gguf
