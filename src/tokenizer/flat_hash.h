// Open-addressing hash tables for the tokenizer's hot look-ups (text -> id, merge pair -> rank).
// std::unordered_map's per-node allocations and pointer chasing made loading a 128K-token,
// 280K-merge vocabulary take most of a second; flat arrays with linear probing are several
// times faster to build and to query.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace kindred::tok {

inline size_t table_capacity_for(size_t n) {
  size_t capacity = 16;
  while (capacity < n * 2) capacity <<= 1;  // load factor <= 1/2 keeps probes short
  return capacity;
}

// Maps strings owned elsewhere (a vector of texts) to their index; the first of equal texts wins.
class TextIndex {
 public:
  void build(const std::vector<std::string>& texts) {
    slots_.assign(table_capacity_for(texts.size()), Slot{});
    mask_ = slots_.size() - 1;
    for (size_t i = 0; i < texts.size(); ++i) {
      if (texts[i].empty()) continue;
      const uint64_t h = hash(texts[i]);
      for (size_t s = h & mask_;; s = (s + 1) & mask_) {
        if (slots_[s].id < 0) {
          slots_[s] = {h, static_cast<int32_t>(i)};
          break;
        }
        if (slots_[s].hash == h && texts[static_cast<size_t>(slots_[s].id)] == texts[i]) break;
      }
    }
  }

  int32_t find(std::string_view text, const std::vector<std::string>& texts) const {
    if (slots_.empty()) return -1;
    const uint64_t h = hash(text);
    for (size_t s = h & mask_;; s = (s + 1) & mask_) {
      const Slot& slot = slots_[s];
      if (slot.id < 0) return -1;
      if (slot.hash == h && texts[static_cast<size_t>(slot.id)] == text) return slot.id;
    }
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    int32_t id = -1;
  };
  static uint64_t hash(std::string_view s) { return std::hash<std::string_view>{}(s); }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

// Maps a pair of token ids to a value; the first insertion of a pair wins.
template <typename Value>
class TokenPairMap {
 public:
  void reserve(size_t n) {
    slots_.assign(table_capacity_for(n), Slot{});
    mask_ = slots_.size() - 1;
  }

  void insert(int32_t left, int32_t right, const Value& value) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    const uint64_t key = key_of(left, right);
    for (size_t s = mix(key) & mask_;; s = (s + 1) & mask_) {
      if (slots_[s].key == kEmpty) {
        slots_[s] = {key, value};
        ++size_;
        return;
      }
      if (slots_[s].key == key) return;
    }
  }

  const Value* find(int32_t left, int32_t right) const {
    if (slots_.empty()) return nullptr;
    const uint64_t key = key_of(left, right);
    for (size_t s = mix(key) & mask_;; s = (s + 1) & mask_) {
      if (slots_[s].key == key) return &slots_[s].value;
      if (slots_[s].key == kEmpty) return nullptr;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};  // ids are never both 0xFFFFFFFF
  struct Slot {
    uint64_t key = kEmpty;
    Value value{};
  };
  static uint64_t key_of(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }
  static uint64_t mix(uint64_t x) {  // splitmix64 finaliser
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    return x ^ (x >> 31);
  }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    reserve(old.empty() ? 8 : old.size());
    size_ = 0;
    for (const Slot& s : old) {
      if (s.key != kEmpty)
        insert(static_cast<int32_t>(s.key >> 32), static_cast<int32_t>(s.key & 0xFFFFFFFFu), s.value);
    }
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace kindred::tok
