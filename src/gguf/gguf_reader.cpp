// GGUF parsing: every read is bounds-checked against the bytes that remain, so a truncated or
// hostile file produces a GgufError naming the field, never an out-of-range access.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_set>

#include "gguf/gguf.h"

namespace kindred::gguf {
namespace {

constexpr uint64_t kMaxKeyBytes = 65535;   // the GGUF spec's limit on key length
constexpr int kMaxArrayDepth = 16;         // nested arrays deeper than this are not real models
constexpr uint64_t kMaxDims = 4;

// A cursor over the file's bytes that refuses to read past the end.
class Cursor {
 public:
  Cursor(const uint8_t* data, uint64_t size) : data_(data), size_(size) {}

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }

  void need(uint64_t n, const std::string& what) const {
    if (n > remaining()) {
      throw GgufError(what + ": needs " + std::to_string(n) + " bytes at offset " + std::to_string(pos_) +
                      " but the file has " + std::to_string(remaining()) + " left");
    }
  }

  template <typename T>
  T read(const std::string& what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string read_string(const std::string& what, uint64_t max_bytes = UINT64_MAX) {
    const uint64_t len = read<uint64_t>(what + " length");
    if (len > max_bytes) {
      throw GgufError(what + ": length " + std::to_string(len) + " exceeds the limit of " + std::to_string(max_bytes));
    }
    if (len > remaining()) {
      throw GgufError(what + ": string length " + std::to_string(len) + " at offset " + std::to_string(pos_ - 8) +
                      " exceeds the " + std::to_string(remaining()) + " bytes left in the file");
    }
    std::string s(reinterpret_cast<const char*>(data_ + pos_), len);
    pos_ += len;
    return s;
  }

 private:
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

// Smallest encoding of one value of type t, used to reject counts that cannot fit the file.
uint64_t min_value_bytes(ValueType t) {
  switch (t) {
    case ValueType::UINT8: case ValueType::INT8: case ValueType::BOOL: return 1;
    case ValueType::UINT16: case ValueType::INT16: return 2;
    case ValueType::UINT32: case ValueType::INT32: case ValueType::FLOAT32: return 4;
    case ValueType::UINT64: case ValueType::INT64: case ValueType::FLOAT64: return 8;
    case ValueType::STRING: return 8;
    case ValueType::ARRAY: return 12;
  }
  return 1;
}

ValueType read_value_type(Cursor& c, const std::string& what) {
  const uint32_t raw = c.read<uint32_t>(what + " type");
  if (raw > static_cast<uint32_t>(ValueType::FLOAT64)) {
    throw GgufError(what + ": unknown value type " + std::to_string(raw));
  }
  return static_cast<ValueType>(raw);
}

Value read_value(Cursor& c, ValueType t, const std::string& what, int depth) {
  switch (t) {
    case ValueType::UINT8: return Value::u8(c.read<uint8_t>(what));
    case ValueType::INT8: return Value::i8(c.read<int8_t>(what));
    case ValueType::UINT16: return Value::u16(c.read<uint16_t>(what));
    case ValueType::INT16: return Value::i16(c.read<int16_t>(what));
    case ValueType::UINT32: return Value::u32(c.read<uint32_t>(what));
    case ValueType::INT32: return Value::i32(c.read<int32_t>(what));
    case ValueType::FLOAT32: return Value::f32(c.read<float>(what));
    case ValueType::UINT64: return Value::u64(c.read<uint64_t>(what));
    case ValueType::INT64: return Value::i64(c.read<int64_t>(what));
    case ValueType::FLOAT64: return Value::f64(c.read<double>(what));
    case ValueType::BOOL: {
      const uint8_t b = c.read<uint8_t>(what);
      if (b > 1) throw GgufError(what + ": bool byte is " + std::to_string(b) + ", expected 0 or 1");
      return Value::boolean(b != 0);
    }
    case ValueType::STRING: return Value::string(c.read_string(what));
    case ValueType::ARRAY: {
      if (depth >= kMaxArrayDepth) throw GgufError(what + ": arrays nested deeper than " + std::to_string(kMaxArrayDepth));
      const ValueType elem = read_value_type(c, what + " element");
      const uint64_t count = c.read<uint64_t>(what + " count");
      if (count > c.remaining() / min_value_bytes(elem)) {
        throw GgufError(what + ": array count " + std::to_string(count) + " cannot fit in the " +
                        std::to_string(c.remaining()) + " bytes left in the file");
      }
      Value::Array items;
      items.reserve(count);
      for (uint64_t k = 0; k < count; ++k) items.push_back(read_value(c, elem, what, depth + 1));
      return Value::array(elem, std::move(items));
    }
  }
  throw GgufError(what + ": unknown value type");
}

uint64_t checked_mul(uint64_t a, uint64_t b, const std::string& what) {
  uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) throw GgufError(what + ": size overflows 64 bits");
  return r;
}

uint64_t checked_add(uint64_t a, uint64_t b, const std::string& what) {
  uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) throw GgufError(what + ": offset overflows 64 bits");
  return r;
}

}  // namespace

File File::open(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw GgufError("cannot open " + path.string() + ": " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw GgufError(path.string() + " is not a regular file");
  }
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size == 0) {
    ::close(fd);
    throw GgufError(path.string() + " is empty");
  }
  void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) throw GgufError("cannot map " + path.string() + ": " + std::strerror(errno));
  File f;
  f.owner_ = std::shared_ptr<const void>(map, [size](const void* p) { munmap(const_cast<void*>(p), size); });
  f.base_ = static_cast<const uint8_t*>(map);
  f.size_ = size;
  f.mapped_ = true;
  try {
    f.parse();
  } catch (const GgufError& e) {
    throw GgufError(path.filename().string() + ": " + e.what());
  }
  return f;
}

File File::from_bytes(std::vector<uint8_t> bytes) {
  auto owned = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
  File f;
  f.base_ = owned->data();
  f.size_ = owned->size();
  f.owner_ = std::shared_ptr<const void>(owned, owned.get());
  f.parse();
  return f;
}

File File::from_memory(const void* data, size_t size) {
  File f;
  f.base_ = static_cast<const uint8_t*>(data);
  f.size_ = size;
  f.parse();
  return f;
}

void File::parse() {
  Cursor c(base_, size_);
  c.need(4, "magic");
  if (std::memcmp(base_, "GGUF", 4) != 0) throw GgufError("bad magic: not a GGUF file (expected \"GGUF\")");
  c.read<uint32_t>("magic");
  version_ = c.read<uint32_t>("version");
  if (version_ == 1) throw GgufError("version 1 GGUF files are not supported (re-convert the model)");
  if (version_ != 2 && version_ != 3) {
    throw GgufError("unsupported version " + std::to_string(version_) + " (expected 2 or 3; a big-endian file?)");
  }
  const uint64_t n_tensors = c.read<uint64_t>("tensor count");
  const uint64_t n_kv = c.read<uint64_t>("metadata count");
  // Each pair needs at least a key length, a type and one byte of value.
  if (n_kv > c.remaining() / 13) {
    throw GgufError("metadata count " + std::to_string(n_kv) + " cannot fit in a file of " + std::to_string(size_) + " bytes");
  }
  // Each tensor info needs at least a name length, n_dims, one dimension, a type and an offset.
  if (n_tensors > c.remaining() / 32) {
    throw GgufError("tensor count " + std::to_string(n_tensors) + " cannot fit in a file of " + std::to_string(size_) + " bytes");
  }

  std::unordered_set<std::string> keys;
  metadata_.reserve(n_kv);
  for (uint64_t k = 0; k < n_kv; ++k) {
    std::string key = c.read_string("metadata key #" + std::to_string(k), kMaxKeyBytes);
    const std::string what = "metadata '" + key + "'";
    const ValueType t = read_value_type(c, what);
    Value value = read_value(c, t, what, 0);
    if (!keys.insert(key).second) {
      // A repeat with the identical value is harmless (some published files have one).
      if (*find(key) == value) continue;
      throw GgufError("duplicate metadata key '" + key + "' with conflicting values");
    }
    metadata_.emplace_back(std::move(key), std::move(value));
  }

  if (const Value* a = find("general.alignment")) {
    if (!a->is_integer()) throw GgufError("metadata 'general.alignment' must be an integer");
    const uint64_t align = a->as_u64();
    if (align == 0 || (align & (align - 1)) != 0 || align > (1u << 30)) {
      throw GgufError("metadata 'general.alignment' is " + std::to_string(align) + ", expected a power of two");
    }
    alignment_ = align;
  }

  std::unordered_set<std::string> names;
  tensors_.reserve(n_tensors);
  for (uint64_t k = 0; k < n_tensors; ++k) {
    TensorInfo info;
    info.name = c.read_string("tensor #" + std::to_string(k) + " name", kMaxKeyBytes);
    const std::string what = "tensor '" + info.name + "'";
    if (!names.insert(info.name).second) throw GgufError("duplicate tensor name '" + info.name + "'");
    const uint32_t n_dims = c.read<uint32_t>(what + " n_dims");
    if (n_dims == 0 || n_dims > kMaxDims) {
      throw GgufError(what + ": n_dims is " + std::to_string(n_dims) + ", expected 1 to 4");
    }
    info.n_dims = static_cast<int>(n_dims);
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t ne = c.read<uint64_t>(what + " dimension " + std::to_string(d));
      if (ne > static_cast<uint64_t>(INT64_MAX)) throw GgufError(what + ": dimension " + std::to_string(d) + " is too large");
      info.ne[d] = static_cast<int64_t>(ne);
      elements = checked_mul(elements, ne, what + " element count");
      if (elements > static_cast<uint64_t>(INT64_MAX)) throw GgufError(what + ": element count overflows");
    }
    const uint32_t raw_type = c.read<uint32_t>(what + " type");
    if (!dtype_is_known(raw_type)) throw GgufError(what + ": unknown tensor type " + std::to_string(raw_type));
    info.type = static_cast<DType>(raw_type);
    const DTypeInfo& ti = dtype_info(info.type);
    if (info.ne[0] % ti.block_size != 0) {
      throw GgufError(what + ": first dimension " + std::to_string(info.ne[0]) + " is not a multiple of " +
                      std::string(ti.name) + "'s block size " + std::to_string(ti.block_size));
    }
    info.bytes = checked_mul(elements / static_cast<uint64_t>(ti.block_size), ti.block_bytes, what + " byte size");
    info.offset = c.read<uint64_t>(what + " offset");
    if (info.offset % alignment_ != 0) {
      throw GgufError(what + ": offset " + std::to_string(info.offset) + " is not a multiple of the alignment " +
                      std::to_string(alignment_));
    }
    tensors_.push_back(std::move(info));
  }

  // The data section starts at the next multiple of the alignment after the tensor infos.
  const uint64_t pad = (alignment_ - c.pos() % alignment_) % alignment_;
  data_offset_ = checked_add(c.pos(), pad, "data section");
  if (!tensors_.empty() && data_offset_ > size_) {
    throw GgufError("data section starts at " + std::to_string(data_offset_) + ", past the end of the " +
                    std::to_string(size_) + "-byte file");
  }
  for (const TensorInfo& t : tensors_) {
    const uint64_t end = checked_add(checked_add(data_offset_, t.offset, "tensor '" + t.name + "'"), t.bytes,
                                     "tensor '" + t.name + "'");
    if (end > size_) {
      throw GgufError("tensor '" + t.name + "': data [" + std::to_string(data_offset_ + t.offset) + ", " +
                      std::to_string(end) + ") lies past the end of the " + std::to_string(size_) + "-byte file");
    }
  }
}

const Value* File::find(std::string_view key) const {
  for (const auto& [k, v] : metadata_) {
    if (k == key) return &v;
  }
  return nullptr;
}

const Value& File::get(std::string_view key) const {
  if (const Value* v = find(key)) return *v;
  throw GgufError("missing metadata key '" + std::string(key) + "'");
}

// Runs a typed conversion, naming the key in any error.
template <typename Fn>
static auto with_key(std::string_view key, Fn&& fn) {
  try {
    return fn();
  } catch (const GgufError& e) {
    throw GgufError("metadata '" + std::string(key) + "': " + e.what());
  }
}

std::string File::get_string(std::string_view key) const {
  return with_key(key, [&] { return get(key).as_string(); });
}
std::string File::get_string_or(std::string_view key, std::string fallback) const {
  return has(key) ? get_string(key) : fallback;
}
uint32_t File::get_u32(std::string_view key) const {
  return with_key(key, [&] { return get(key).as_u32(); });
}
uint32_t File::get_u32_or(std::string_view key, uint32_t fallback) const {
  return has(key) ? get_u32(key) : fallback;
}
float File::get_f32(std::string_view key) const {
  return with_key(key, [&] { return get(key).as_f32(); });
}
float File::get_f32_or(std::string_view key, float fallback) const {
  return has(key) ? get_f32(key) : fallback;
}
bool File::get_bool_or(std::string_view key, bool fallback) const {
  return has(key) ? with_key(key, [&] { return get(key).as_bool(); }) : fallback;
}

std::vector<std::string> File::get_string_array(std::string_view key) const {
  return with_key(key, [&] {
    std::vector<std::string> out;
    const auto& a = get(key).as_array();
    out.reserve(a.size());
    for (const auto& v : a) out.push_back(v.as_string());
    return out;
  });
}

std::vector<float> File::get_f32_array(std::string_view key) const {
  return with_key(key, [&] {
    std::vector<float> out;
    const auto& a = get(key).as_array();
    out.reserve(a.size());
    for (const auto& v : a) out.push_back(v.as_f32());
    return out;
  });
}

std::vector<int32_t> File::get_i32_array(std::string_view key) const {
  return with_key(key, [&] {
    std::vector<int32_t> out;
    const auto& a = get(key).as_array();
    out.reserve(a.size());
    for (const auto& v : a) out.push_back(v.as_i32());
    return out;
  });
}

const TensorInfo* File::find_tensor(std::string_view name) const {
  for (const auto& t : tensors_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

TensorView File::view(const TensorInfo& info) const {
  TensorView v;
  v.name = info.name;
  v.type = info.type;
  v.ne = info.ne;
  v.n_dims = info.n_dims;
  v.data = base_ + data_offset_ + info.offset;
  return v;
}

TensorView File::tensor(std::string_view name) const {
  const TensorInfo* info = find_tensor(name);
  if (!info) throw GgufError("missing tensor '" + std::string(name) + "'");
  return view(*info);
}

void File::release_pages(const void* data, size_t bytes) const {
  if (!mapped_ || bytes == 0) return;
  // Whole pages strictly inside the range only: neighbours may still be in use.
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(data);
  const uintptr_t first = (begin + page - 1) / page * page;
  const uintptr_t last = (begin + bytes) / page * page;
  const auto base = reinterpret_cast<uintptr_t>(base_);
  if (first >= last || first < base || last > base + size_) return;
  madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);  // advisory: failure changes nothing
}

}  // namespace kindred::gguf
