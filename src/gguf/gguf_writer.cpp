// GGUF writing: the exact inverse of the reader, used by tests to build tiny models and by the
// converters. Files are written to a temporary name and renamed into place.
#include <cstring>
#include <fstream>
#include <random>

#include "gguf/gguf.h"

namespace kindred::gguf {
namespace {

class ByteSink {
 public:
  template <typename T>
  void put(T v) {
    const size_t at = bytes.size();
    bytes.resize(at + sizeof(T));
    std::memcpy(bytes.data() + at, &v, sizeof(T));
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
  void pad_to(uint64_t alignment) {
    while (bytes.size() % alignment != 0) bytes.push_back(0);
  }
  std::vector<uint8_t> bytes;
};

void put_value(ByteSink& out, const Value& v) {
  switch (v.type()) {
    case ValueType::UINT8: out.put<uint8_t>(static_cast<uint8_t>(v.as_u64())); break;
    case ValueType::INT8: out.put<int8_t>(static_cast<int8_t>(v.as_i64())); break;
    case ValueType::UINT16: out.put<uint16_t>(static_cast<uint16_t>(v.as_u64())); break;
    case ValueType::INT16: out.put<int16_t>(static_cast<int16_t>(v.as_i64())); break;
    case ValueType::UINT32: out.put<uint32_t>(static_cast<uint32_t>(v.as_u64())); break;
    case ValueType::INT32: out.put<int32_t>(static_cast<int32_t>(v.as_i64())); break;
    case ValueType::FLOAT32: out.put<float>(v.as_f32()); break;
    case ValueType::UINT64: out.put<uint64_t>(v.as_u64()); break;
    case ValueType::INT64: out.put<int64_t>(v.as_i64()); break;
    case ValueType::FLOAT64: out.put<double>(v.as_f64()); break;
    case ValueType::BOOL: out.put<uint8_t>(v.as_bool() ? 1 : 0); break;
    case ValueType::STRING: out.put_string(v.as_string()); break;
    case ValueType::ARRAY:
      out.put<uint32_t>(static_cast<uint32_t>(v.array_type()));
      out.put<uint64_t>(v.as_array().size());
      for (const Value& item : v.as_array()) put_value(out, item);
      break;
  }
}

}  // namespace

void Writer::set(std::string key, Value value) {
  for (auto& [k, v] : metadata_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  metadata_.emplace_back(std::move(key), std::move(value));
}

void Writer::remove(std::string_view key) {
  std::erase_if(metadata_, [&](const auto& kv) { return kv.first == key; });
}

void Writer::add_tensor(std::string name, DType type, std::vector<int64_t> ne, std::vector<uint8_t> data) {
  if (ne.empty() || ne.size() > 4) throw GgufError("tensor '" + name + "': expected 1 to 4 dimensions");
  for (const auto& t : tensors_) {
    if (t.name == name) throw GgufError("duplicate tensor name '" + name + "'");
  }
  int64_t rows = 1;
  for (size_t d = 1; d < ne.size(); ++d) rows *= ne[d];
  const size_t expected = row_bytes(type, ne[0]) * static_cast<size_t>(rows);
  if (data.size() != expected) {
    throw GgufError("tensor '" + name + "': " + std::to_string(data.size()) + " bytes given, " +
                    std::to_string(expected) + " expected for its shape and type");
  }
  tensors_.push_back({std::move(name), type, std::move(ne), std::move(data)});
}

void Writer::add_tensor_f32(std::string name, std::vector<int64_t> ne, const std::vector<float>& values) {
  std::vector<uint8_t> data(values.size() * sizeof(float));
  std::memcpy(data.data(), values.data(), data.size());
  add_tensor(std::move(name), DType::F32, std::move(ne), std::move(data));
}

uint64_t Writer::alignment() const {
  for (const auto& [k, v] : metadata_) {
    if (k == "general.alignment") return v.as_u64();
  }
  return 32;
}

std::vector<uint8_t> Writer::to_bytes() const {
  const uint64_t align = alignment();
  if (align == 0 || (align & (align - 1)) != 0) throw GgufError("general.alignment must be a power of two");
  ByteSink out;
  out.put<uint32_t>(0x46554747);  // "GGUF" read as a little-endian u32
  out.put<uint32_t>(version_);
  out.put<uint64_t>(tensors_.size());
  out.put<uint64_t>(metadata_.size());
  for (const auto& [key, value] : metadata_) {
    out.put_string(key);
    out.put<uint32_t>(static_cast<uint32_t>(value.type()));
    put_value(out, value);
  }
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    out.put_string(t.name);
    out.put<uint32_t>(static_cast<uint32_t>(t.ne.size()));
    for (int64_t d : t.ne) out.put<uint64_t>(static_cast<uint64_t>(d));
    out.put<uint32_t>(static_cast<uint32_t>(t.type));
    out.put<uint64_t>(offset);
    offset += (t.data.size() + align - 1) / align * align;
  }
  out.pad_to(align);
  for (const auto& t : tensors_) {
    out.bytes.insert(out.bytes.end(), t.data.begin(), t.data.end());
    out.pad_to(align);
  }
  return std::move(out.bytes);
}

void Writer::write(const std::filesystem::path& path) const {
  const std::vector<uint8_t> bytes = to_bytes();
  std::random_device rd;
  std::filesystem::path tmp = path;
  tmp += ".tmp" + std::to_string(rd());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw GgufError("cannot create " + tmp.string());
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    f.flush();
    if (!f) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      throw GgufError("cannot write " + tmp.string());
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw GgufError("cannot rename into " + path.string());
  }
}

}  // namespace kindred::gguf
