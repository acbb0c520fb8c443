// GGUF reader and writer: round trips, real files, and every class of malformed input.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <random>

#include "gguf/gguf.h"
#include "test_data.h"

namespace kindred::gguf {
namespace {

std::vector<uint8_t> small_valid_file() {
  Writer w;
  w.set("general.architecture", Value::string("llama"));
  w.set("general.alignment", Value::u32(32));
  w.set("test.u8", Value::u8(200));
  w.set("test.i8", Value::i8(-100));
  w.set("test.u16", Value::u16(60000));
  w.set("test.i16", Value::i16(-30000));
  w.set("test.u32", Value::u32(4000000000u));
  w.set("test.i32", Value::i32(-2000000000));
  w.set("test.f32", Value::f32(1.5f));
  w.set("test.bool", Value::boolean(true));
  w.set("test.u64", Value::u64(1ull << 60));
  w.set("test.i64", Value::i64(-(1ll << 60)));
  w.set("test.f64", Value::f64(3.25));
  w.set("test.strings", Value::string_array({"a", "", "ünïcode"}));
  w.set("test.nested", Value::array(ValueType::ARRAY, {Value::i32_array({1, 2}), Value::i32_array({})}));
  w.add_tensor_f32("a", {4, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  w.add_tensor_f32("b", {3}, {9, 10, 11});
  return w.to_bytes();
}

TEST(Gguf, RoundTripsEveryValueType) {
  const File f = File::from_bytes(small_valid_file());
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.get("test.u8").as_u64(), 200u);
  EXPECT_EQ(f.get("test.i8").as_i64(), -100);
  EXPECT_EQ(f.get("test.u16").as_u64(), 60000u);
  EXPECT_EQ(f.get("test.i16").as_i64(), -30000);
  EXPECT_EQ(f.get_u32("test.u32"), 4000000000u);
  EXPECT_EQ(f.get("test.i32").as_i32(), -2000000000);
  EXPECT_FLOAT_EQ(f.get_f32("test.f32"), 1.5f);
  EXPECT_TRUE(f.get_bool_or("test.bool", false));
  EXPECT_EQ(f.get("test.u64").as_u64(), 1ull << 60);
  EXPECT_EQ(f.get("test.i64").as_i64(), -(1ll << 60));
  EXPECT_DOUBLE_EQ(f.get("test.f64").as_f64(), 3.25);
  EXPECT_EQ(f.get_string_array("test.strings"), (std::vector<std::string>{"a", "", "ünïcode"}));
  const auto& nested = f.get("test.nested").as_array();
  ASSERT_EQ(nested.size(), 2u);
  EXPECT_EQ(nested[0].as_array()[1].as_i32(), 2);
  EXPECT_TRUE(nested[1].as_array().empty());
  EXPECT_EQ(f.get("test.nested").array_type(), ValueType::ARRAY);
  // Keys keep file order.
  EXPECT_EQ(f.metadata().front().first, "general.architecture");

  ASSERT_EQ(f.tensors().size(), 2u);
  const TensorView a = f.tensor("a");
  EXPECT_EQ(a.cols(), 4);
  EXPECT_EQ(a.rows(), 2);
  EXPECT_EQ(static_cast<const float*>(a.data)[7], 8.0f);
  EXPECT_EQ((f.data_offset() + f.find_tensor("b")->offset) % 32, 0u);
  EXPECT_EQ(static_cast<const float*>(f.tensor("b").data)[2], 11.0f);
}

TEST(Gguf, WrongTypeAccessNamesTheKey) {
  const File f = File::from_bytes(small_valid_file());
  try {
    f.get_u32("test.strings");
    FAIL();
  } catch (const GgufError& e) {
    EXPECT_NE(std::string(e.what()).find("test.strings"), std::string::npos) << e.what();
  }
  EXPECT_THROW(f.get_u32("test.i8"), GgufError);  // negative into unsigned
  EXPECT_THROW(f.get("missing.key"), GgufError);
  EXPECT_THROW(f.tensor("missing"), GgufError);
  EXPECT_EQ(f.get_u32_or("missing.key", 7), 7u);
}

TEST(Gguf, Version2AndCustomAlignment) {
  Writer w(2);
  w.set("general.alignment", Value::u32(64));
  w.add_tensor_f32("x", {2}, {1, 2});
  w.add_tensor_f32("y", {2}, {3, 4});
  const File f = File::from_bytes(w.to_bytes());
  EXPECT_EQ(f.version(), 2u);
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset() % 64, 0u);
  EXPECT_EQ(f.find_tensor("y")->offset, 64u);
  EXPECT_EQ(static_cast<const float*>(f.tensor("y").data)[1], 4.0f);
}

TEST(Gguf, WriterRejectsWrongDataSize) {
  Writer w;
  EXPECT_THROW(w.add_tensor("t", DType::F32, {4}, std::vector<uint8_t>(15)), GgufError);
  EXPECT_THROW(w.add_tensor("q", DType::Q8_0, {16}, std::vector<uint8_t>(34)), std::invalid_argument);
  w.add_tensor("q", DType::Q8_0, {32, 2}, std::vector<uint8_t>(68));
  EXPECT_THROW(w.add_tensor("q", DType::Q8_0, {32}, std::vector<uint8_t>(34)), GgufError);
}

TEST(Gguf, WriteToFileAndMap) {
  const auto path = test::temp_dir() / "small.gguf";
  Writer w;
  w.set("k", Value::string("v"));
  w.add_tensor_f32("t", {2, 2}, {1, 2, 3, 4});
  w.write(path);
  const File f = File::open(path);
  EXPECT_EQ(f.get_string("k"), "v");
  EXPECT_EQ(static_cast<const float*>(f.tensor("t").data)[3], 4.0f);
  EXPECT_EQ(f.file_size(), std::filesystem::file_size(path));
}

// --- malformed input -----------------------------------------------------------------------

std::string parse_error(std::vector<uint8_t> bytes) {
  try {
    File::from_bytes(std::move(bytes));
  } catch (const GgufError& e) {
    return e.what();
  }
  return "";
}

void put_u32(std::vector<uint8_t>& b, size_t at, uint32_t v) { std::memcpy(b.data() + at, &v, 4); }
void put_u64(std::vector<uint8_t>& b, size_t at, uint64_t v) { std::memcpy(b.data() + at, &v, 8); }

// Byte offset of the first tensor info of a file with no metadata.
constexpr size_t kHeader = 24;

std::vector<uint8_t> one_tensor_file() {
  Writer w;
  w.add_tensor_f32("weight", {4, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  return w.to_bytes();
}

// Offsets inside one_tensor_file(): name length u64, "weight", n_dims u32, ne0, ne1, type, offset.
constexpr size_t kNdims = kHeader + 8 + 6;
constexpr size_t kNe0 = kNdims + 4;
constexpr size_t kNe1 = kNe0 + 8;
constexpr size_t kType = kNe1 + 8;
constexpr size_t kOffset = kType + 4;

TEST(GgufMalformed, BadMagicAndVersion) {
  auto b = one_tensor_file();
  b[0] = 'X';
  EXPECT_NE(parse_error(b).find("magic"), std::string::npos);
  b = one_tensor_file();
  put_u32(b, 4, 1);
  EXPECT_NE(parse_error(b).find("version 1"), std::string::npos);
  put_u32(b, 4, 7);
  EXPECT_NE(parse_error(b).find("version 7"), std::string::npos);
  EXPECT_NE(parse_error({}).find("magic"), std::string::npos);
}

TEST(GgufMalformed, CountsThatCannotFit) {
  auto b = one_tensor_file();
  put_u64(b, 8, 1ull << 40);
  EXPECT_NE(parse_error(b).find("tensor count"), std::string::npos);
  b = one_tensor_file();
  put_u64(b, 16, UINT64_MAX);
  EXPECT_NE(parse_error(b).find("metadata count"), std::string::npos);
}

TEST(GgufMalformed, OversizeStringsAndArrays) {
  Writer w;
  w.set("key", Value::string("value"));
  auto b = w.to_bytes();
  put_u64(b, kHeader, 1ull << 62);  // key length
  EXPECT_NE(parse_error(b).find("length"), std::string::npos);
  b = w.to_bytes();
  put_u64(b, kHeader + 8 + 3 + 4, 1000);  // value length
  EXPECT_NE(parse_error(b).find("metadata 'key'"), std::string::npos) << parse_error(b);

  Writer wa;
  wa.set("arr", Value::i32_array({1, 2, 3}));
  b = wa.to_bytes();
  put_u64(b, kHeader + 8 + 3 + 4 + 4, 1ull << 61);  // array count
  EXPECT_NE(parse_error(b).find("array count"), std::string::npos) << parse_error(b);
}

TEST(GgufMalformed, UnknownTypes) {
  Writer w;
  w.set("key", Value::u8(1));
  auto b = w.to_bytes();
  put_u32(b, kHeader + 8 + 3, 99);
  EXPECT_NE(parse_error(b).find("unknown value type 99"), std::string::npos);
  b = one_tensor_file();
  put_u32(b, kType, 5);  // a type number ggml removed
  EXPECT_NE(parse_error(b).find("unknown tensor type 5"), std::string::npos);
}

TEST(GgufMalformed, DimensionsAndOffsets) {
  auto b = one_tensor_file();
  put_u32(b, kNdims, 5);
  EXPECT_NE(parse_error(b).find("n_dims"), std::string::npos);
  b = one_tensor_file();
  put_u64(b, kNe0, 1ull << 32);
  put_u64(b, kNe1, 1ull << 33);
  EXPECT_NE(parse_error(b).find("overflow"), std::string::npos) << parse_error(b);
  b = one_tensor_file();
  put_u64(b, kNe1, 1000);
  EXPECT_NE(parse_error(b).find("past the end"), std::string::npos) << parse_error(b);
  b = one_tensor_file();
  put_u64(b, kOffset, 7);
  EXPECT_NE(parse_error(b).find("alignment"), std::string::npos);
  b = one_tensor_file();
  put_u64(b, kOffset, UINT64_MAX - 31);
  EXPECT_NE(parse_error(b).find("weight"), std::string::npos);
  b = one_tensor_file();
  put_u32(b, kType, static_cast<uint32_t>(DType::Q8_0));  // 4 columns is not a multiple of 32
  EXPECT_NE(parse_error(b).find("block size"), std::string::npos);
}

TEST(GgufMalformed, DuplicatesAndAlignment) {
  Writer w;
  w.add_tensor_f32("aaaa", {2}, {1, 2});
  w.add_tensor_f32("aaab", {2}, {1, 2});
  auto b = w.to_bytes();
  // Rename the second tensor to the first one's name.
  const size_t second_name = kHeader + (8 + 4) + 4 + 8 + 4 + 8 + 8;
  b[second_name + 3] = 'a';
  EXPECT_NE(parse_error(b).find("duplicate tensor name 'aaaa'"), std::string::npos) << parse_error(b);

  Writer k;
  k.set("key1", Value::u8(1));
  k.set("key2", Value::u8(2));
  b = k.to_bytes();
  b[kHeader + 17 + 8 + 3] = '1';  // second key's name, after "key1" + type + u8
  EXPECT_NE(parse_error(b).find("duplicate metadata key 'key1'"), std::string::npos) << parse_error(b);

  Writer a;
  a.set("general.alignment", Value::u32(32));
  b = a.to_bytes();
  put_u32(b, kHeader + 8 + 17 + 4, 48);
  EXPECT_NE(parse_error(b).find("power of two"), std::string::npos);
}

// Some published files repeat a key with the same value (ggml-vocab-dbrx has general.file_type
// twice); that is harmless and accepted, while a conflicting repeat is an error.
TEST(GgufMalformed, IdenticalDuplicateKeyIsAccepted) {
  Writer k;
  k.set("key1", Value::u8(1));
  k.set("key2", Value::u8(1));
  auto b = k.to_bytes();
  b[kHeader + 17 + 8 + 3] = '1';
  const File f = File::from_bytes(b);
  EXPECT_EQ(f.metadata().size(), 1u);
  EXPECT_EQ(f.get("key1").as_u64(), 1u);
}

TEST(GgufMalformed, NestedArraysTooDeep) {
  Value v = Value::i32_array({1});
  for (int d = 0; d < 20; ++d) v = Value::array(ValueType::ARRAY, {v});
  Writer w;
  w.set("deep", v);
  EXPECT_NE(parse_error(w.to_bytes()).find("nested"), std::string::npos);
}

// Every truncation of a valid file either parses (only when nothing was cut from what the
// parser needs) or fails with GgufError; nothing else may happen.
TEST(GgufMalformed, SurvivesTruncationAtEveryOffset) {
  const auto full = small_valid_file();
  size_t parsed = 0;
  for (size_t n = 0; n < full.size(); ++n) {
    std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    try {
      File::from_bytes(std::move(cut));
      ++parsed;
    } catch (const GgufError&) {
    }
  }
  // Only cuts inside the padding after the last tensor's data can still parse.
  const File f = File::from_bytes(full);
  const TensorInfo& last = f.tensors().back();
  EXPECT_EQ(parsed, full.size() - (f.data_offset() + last.offset + last.bytes));
}

TEST(GgufMalformed, SurvivesRandomByteFlips) {
  const auto full = small_valid_file();
  std::mt19937_64 rng(1234);
  int rejected = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    auto b = full;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) b[rng() % b.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
    try {
      const File f = File::from_bytes(std::move(b));
      // A file that parses must have every tensor inside it.
      for (const auto& t : f.tensors()) ASSERT_LE(f.data_offset() + t.offset + t.bytes, f.file_size());
    } catch (const GgufError&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 1000);
}

TEST(GgufFixtures, ReadsRealModels) {
  KINDRED_REQUIRE_SHARED_DATA(data);
  const File f = File::open(data / "models/stories260K/stories260K.gguf");
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.tensors().size(), 48u);
  EXPECT_EQ(f.get_string_array("tokenizer.ggml.tokens").size(), 512u);
  const TensorView emb = f.tensor("token_embd.weight");
  EXPECT_EQ(emb.cols(), 64);
  EXPECT_EQ(emb.rows(), 512);

  const File r = File::open(data / "models/llama-2-tiny-random/llama-2-tiny-random.gguf");
  EXPECT_EQ(r.get_string_array("tokenizer.ggml.tokens").size(), 32000u);
}

TEST(GgufFixtures, ReadsEveryVocabFile) {
  KINDRED_REQUIRE_SHARED_DATA(data);
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(data / "vocab")) {
    if (entry.path().extension() != ".gguf") continue;
    const File f = File::open(entry.path());
    EXPECT_TRUE(f.has("tokenizer.ggml.model")) << entry.path();
    ++files;
  }
  EXPECT_GE(files, 10);
}

TEST(GgufMalformed, OpenReportsMissingAndEmptyFiles) {
  EXPECT_THROW(File::open(test::temp_dir() / "does-not-exist.gguf"), GgufError);
  const auto empty = test::temp_dir() / "empty.gguf";
  { std::ofstream(empty).flush(); }
  try {
    File::open(empty);
    FAIL();
  } catch (const GgufError& e) {
    EXPECT_NE(std::string(e.what()).find("empty"), std::string::npos);
  }
}

}  // namespace
}  // namespace kindred::gguf
