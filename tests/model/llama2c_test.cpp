// llama2.c → GGUF: the stories260K fixture against llama.cpp's own conversion of it, synthetic
// checkpoints for the cases the fixture lacks (unshared classifier, no RoPE tables), and
// malformed inputs that must each raise one clear error.
#include "model/llama2c.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "test_data.h"

namespace kindred::model {
namespace {

std::vector<uint8_t> read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void put_i32(std::vector<uint8_t>& out, int32_t v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  out.insert(out.end(), p, p + 4);
}
void put_f32(std::vector<uint8_t>& out, float v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  out.insert(out.end(), p, p + 4);
}

// A tiny model whose every weight is its own index in the file, so each tensor's source can be
// checked; RoPE tables are filled with -1 and must never appear in the output.
struct Synthetic {
  int32_t dim = 8, hidden = 12, layers = 2, heads = 4, kv_heads = 2, vocab = 10, seq = 6;
  bool shared = true;
  bool freq_cis = true;

  std::vector<uint8_t> checkpoint() const {
    std::vector<uint8_t> out;
    for (int32_t v : {dim, hidden, layers, heads, kv_heads, shared ? vocab : -vocab, seq}) {
      put_i32(out, v);
    }
    const int32_t hs = dim / heads, kv = kv_heads * hs;
    const int64_t n = int64_t(vocab) * dim + 2 * layers * dim + layers * dim * dim * 2 +
                      2 * layers * kv * dim + 3 * layers * hidden * dim + dim;
    for (int64_t i = 0; i < n; ++i) put_f32(out, static_cast<float>(i));
    if (freq_cis) {
      for (int64_t i = 0; i < int64_t(seq) * hs; ++i) put_f32(out, -1.0f);
    }
    if (!shared) {
      for (int64_t i = 0; i < int64_t(vocab) * dim; ++i) put_f32(out, 0.5f + float(i));
    }
    return out;
  }

  std::vector<uint8_t> tokenizer() const {
    std::vector<uint8_t> out;
    put_i32(out, 8);
    for (int32_t id = 0; id < vocab; ++id) {
      std::string text = id == 3   ? "<0x0A>"
                         : id == 4 ? " the"
                         : id == 5 ? ""
                                   : "t" + std::to_string(id);
      put_f32(out, -float(id));
      put_i32(out, int32_t(text.size()));
      out.insert(out.end(), text.begin(), text.end());
    }
    return out;
  }
};

std::vector<float> floats_of(const TensorView& t) {
  std::vector<float> v(static_cast<size_t>(t.elements()));
  std::memcpy(v.data(), t.data, v.size() * sizeof(float));
  return v;
}

std::string error_of(const std::vector<uint8_t>& ckpt, const std::vector<uint8_t>& tok) {
  try {
    convert_llama2c_to_gguf(ckpt, tok);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(Llama2c, MatchesLlamaCppConversionOfStories260K) {
  KINDRED_REQUIRE_SHARED_DATA(data);
  const auto dir = data / "models" / "stories260K";
  const auto ours = gguf::File::from_bytes(
      convert_llama2c_to_gguf(read_all(dir / "stories260K.bin"), read_all(dir / "tok512.bin")));
  const auto ref = gguf::File::open(dir / "stories260K.gguf");

  ASSERT_EQ(ours.tensors().size(), ref.tensors().size());
  for (size_t i = 0; i < ref.tensors().size(); ++i) {
    const auto& a = ours.tensors()[i];
    const auto& b = ref.tensors()[i];
    SCOPED_TRACE(b.name);
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.type, b.type);
    EXPECT_EQ(a.n_dims, b.n_dims);
    EXPECT_EQ(a.ne, b.ne);
    ASSERT_EQ(a.bytes, b.bytes);
    EXPECT_EQ(std::memcmp(ours.view(a).data, ref.view(b).data, a.bytes), 0);
  }

  // Same keys in the same order with equal values, except the context length: llama.cpp
  // writes its default 128, we write the checkpoint's seq_len.
  ASSERT_EQ(ours.metadata().size(), ref.metadata().size());
  for (size_t i = 0; i < ref.metadata().size(); ++i) {
    const auto& [key, value] = ref.metadata()[i];
    SCOPED_TRACE(key);
    EXPECT_EQ(ours.metadata()[i].first, key);
    if (key != "llama.context_length") {
      EXPECT_TRUE(ours.metadata()[i].second == value);
    }
  }
  EXPECT_EQ(ref.get_u32("llama.context_length"), 128u);
  EXPECT_EQ(ours.get_u32("llama.context_length"), 512u);

  EXPECT_EQ(ours.get_string_array("tokenizer.ggml.tokens"),
            ref.get_string_array("tokenizer.ggml.tokens"));
  const auto sa = ours.get_f32_array("tokenizer.ggml.scores");
  const auto sb = ref.get_f32_array("tokenizer.ggml.scores");
  ASSERT_EQ(sa.size(), sb.size());
  EXPECT_EQ(std::memcmp(sa.data(), sb.data(), sa.size() * sizeof(float)), 0);  // -0.0 included
  EXPECT_EQ(ours.get_i32_array("tokenizer.ggml.token_type"),
            ref.get_i32_array("tokenizer.ggml.token_type"));
}

TEST(Llama2c, WithLlamaCppContextLengthTheFileIsByteIdentical) {
  KINDRED_REQUIRE_SHARED_DATA(data);
  const auto dir = data / "models" / "stories260K";
  const auto bytes = convert_llama2c_to_gguf(read_all(dir / "stories260K.bin"),
                                             read_all(dir / "tok512.bin"), {.context_length = 128});
  EXPECT_TRUE(bytes == read_all(dir / "stories260K.gguf"));
}

TEST(Llama2c, PathOverloadWritesTheFile) {
  KINDRED_REQUIRE_SHARED_DATA(data);
  const auto dir = data / "models" / "stories260K";
  const auto out = test::temp_dir() / "llama2c_out" / "stories260K.gguf";
  std::filesystem::create_directories(out.parent_path());
  convert_llama2c_to_gguf(dir / "stories260K.bin", dir / "tok512.bin", out);
  const auto f = gguf::File::open(out);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.tensors().size(), 3u + 9u * 5u);
  EXPECT_THROW(convert_llama2c_to_gguf(dir / "missing.bin", dir / "tok512.bin", out),
               std::runtime_error);
}

TEST(Llama2c, SyntheticSharedClassifierLayout) {
  const Synthetic s;
  const auto f = gguf::File::from_bytes(convert_llama2c_to_gguf(s.checkpoint(), s.tokenizer()));
  EXPECT_EQ(f.get_u32("llama.context_length"), 6u);
  EXPECT_EQ(f.get_u32("llama.embedding_length"), 8u);
  EXPECT_EQ(f.get_u32("llama.feed_forward_length"), 12u);
  EXPECT_EQ(f.get_u32("llama.block_count"), 2u);
  EXPECT_EQ(f.get_u32("llama.attention.head_count"), 4u);
  EXPECT_EQ(f.get_u32("llama.attention.head_count_kv"), 2u);
  EXPECT_EQ(f.get_u32("llama.rope.dimension_count"), 2u);
  EXPECT_FLOAT_EQ(f.get_f32("llama.attention.layer_norm_rms_epsilon"), 1e-5f);

  // File order: emb 80, rms_att 16, wq 128, wk 64, wv 64, wo 128, rms_ffn 16, w1/w2/w3 192 each.
  const auto first = [&](const char* name) { return floats_of(f.tensor(name)).front(); };
  EXPECT_EQ(first("token_embd.weight"), 0.f);
  EXPECT_EQ(first("blk.0.attn_norm.weight"), 80.f);
  EXPECT_EQ(first("blk.1.attn_norm.weight"), 88.f);
  EXPECT_EQ(first("blk.0.attn_q.weight"), 96.f);
  EXPECT_EQ(first("blk.1.attn_q.weight"), 160.f);
  EXPECT_EQ(first("blk.0.attn_k.weight"), 224.f);
  EXPECT_EQ(first("blk.1.attn_k.weight"), 256.f);
  EXPECT_EQ(first("blk.0.attn_v.weight"), 288.f);
  EXPECT_EQ(first("blk.0.attn_output.weight"), 352.f);
  EXPECT_EQ(first("blk.0.ffn_norm.weight"), 480.f);
  EXPECT_EQ(first("blk.0.ffn_gate.weight"), 496.f);
  EXPECT_EQ(first("blk.1.ffn_gate.weight"), 592.f);
  EXPECT_EQ(first("blk.0.ffn_down.weight"), 688.f);
  EXPECT_EQ(first("blk.0.ffn_up.weight"), 880.f);
  EXPECT_EQ(first("output_norm.weight"), 1072.f);
  EXPECT_EQ(floats_of(f.tensor("output.weight")), floats_of(f.tensor("token_embd.weight")));

  const auto k = f.tensor("blk.1.attn_k.weight");
  EXPECT_EQ(k.ne[0], 8);
  EXPECT_EQ(k.ne[1], 4);
  const auto down = f.tensor("blk.0.ffn_down.weight");
  EXPECT_EQ(down.ne[0], 12);
  EXPECT_EQ(down.ne[1], 8);
  EXPECT_EQ(floats_of(down).back(), 688.f + 95.f);
}

TEST(Llama2c, SyntheticUnsharedClassifierWithAndWithoutRopeTables) {
  for (bool freq : {true, false}) {
    SCOPED_TRACE(freq ? "with freq_cis" : "without freq_cis");
    Synthetic s;
    s.shared = false;
    s.freq_cis = freq;
    const auto f = gguf::File::from_bytes(convert_llama2c_to_gguf(s.checkpoint(), s.tokenizer()));
    const auto out = floats_of(f.tensor("output.weight"));
    ASSERT_EQ(out.size(), 80u);
    EXPECT_EQ(out.front(), 0.5f);
    EXPECT_EQ(out.back(), 79.5f);
    EXPECT_EQ(floats_of(f.tensor("token_embd.weight")).back(), 79.f);
  }
  Synthetic s;
  s.freq_cis = false;
  const auto f = gguf::File::from_bytes(convert_llama2c_to_gguf(s.checkpoint(), s.tokenizer()));
  EXPECT_EQ(floats_of(f.tensor("output_norm.weight")).back(), 1079.f);
}

TEST(Llama2c, TokenTextAndTypes) {
  const Synthetic s;
  const auto f = gguf::File::from_bytes(convert_llama2c_to_gguf(s.checkpoint(), s.tokenizer()));
  const auto tokens = f.get_string_array("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens.size(), 10u);
  EXPECT_EQ(tokens[0], "<unk>");
  EXPECT_EQ(tokens[1], "<s>");
  EXPECT_EQ(tokens[2], "</s>");
  EXPECT_EQ(tokens[3], "<0x0A>");
  EXPECT_EQ(tokens[4], "\xE2\x96\x81the");
  EXPECT_EQ(tokens[5], "");
  EXPECT_EQ(tokens[6], "t6");
  EXPECT_EQ(f.get_i32_array("tokenizer.ggml.token_type"),
            (std::vector<int32_t>{2, 3, 3, 6, 1, 3, 1, 1, 1, 1}));
  EXPECT_EQ(f.get_f32_array("tokenizer.ggml.scores")[7], -7.f);
  EXPECT_EQ(f.get_u32("tokenizer.ggml.unknown_token_id"), 0u);
  EXPECT_EQ(f.get_u32("tokenizer.ggml.bos_token_id"), 1u);
  EXPECT_EQ(f.get_u32("tokenizer.ggml.eos_token_id"), 2u);
  EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "llama");
}

TEST(Llama2c, RejectsTruncatedCheckpointAtEveryBoundaryAndManyOffsets) {
  const Synthetic s;
  const auto full = s.checkpoint();
  const auto tok = s.tokenizer();
  Synthetic no_freq = s;
  no_freq.freq_cis = false;
  const size_t valid_without_freq = no_freq.checkpoint().size();
  for (size_t len = 0; len < full.size(); ++len) {
    if (len == valid_without_freq) continue;  // a legitimate checkpoint without RoPE tables
    const std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<ptrdiff_t>(len));
    const std::string err = error_of(cut, tok);
    ASSERT_NE(err.find("checkpoint"), std::string::npos) << "length " << len << ": " << err;
  }
  auto longer = full;
  longer.push_back(0);
  EXPECT_NE(error_of(longer, tok).find("does not match"), std::string::npos);
}

TEST(Llama2c, RejectsTruncatedFixtureCheckpoint) {
  KINDRED_REQUIRE_SHARED_DATA(data);
  const auto dir = data / "models" / "stories260K";
  const auto full = read_all(dir / "stories260K.bin");
  const auto tok = read_all(dir / "tok512.bin");
  const size_t without_freq = full.size() - 512 * 8 * 4;
  for (size_t len = 0; len < full.size(); len += len < 64 ? 1 : 4093) {
    if (len == without_freq) continue;
    const std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<ptrdiff_t>(len));
    EXPECT_NE(error_of(cut, tok).find("checkpoint"), std::string::npos) << "length " << len;
  }
  for (size_t len : {full.size() - 1, full.size() - 4, without_freq - 4, without_freq + 4}) {
    const std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<ptrdiff_t>(len));
    EXPECT_NE(error_of(cut, tok).find("does not match"), std::string::npos) << "length " << len;
  }
}

TEST(Llama2c, RejectsBadHeaderFields) {
  const Synthetic s;
  const auto tok = s.tokenizer();
  const char* names[] = {"dim",        "hidden_dim", "n_layers", "n_heads",
                         "n_kv_heads", "vocab_size", "seq_len"};
  for (int field = 0; field < 7; ++field) {
    for (int32_t bad :
         {0, -1, -8, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()}) {
      if (field == 5 && bad < 0 && bad != std::numeric_limits<int32_t>::min()) continue;
      auto ckpt = s.checkpoint();
      std::memcpy(ckpt.data() + 4 * field, &bad, 4);
      const std::string err = error_of(ckpt, tok);
      EXPECT_NE(err.find(names[field]), std::string::npos)
          << names[field] << " = " << bad << ": " << err;
    }
  }
  const auto with_header = [&](int32_t dim, int32_t heads, int32_t kv) {
    auto ckpt = s.checkpoint();
    std::memcpy(ckpt.data(), &dim, 4);
    std::memcpy(ckpt.data() + 12, &heads, 4);
    std::memcpy(ckpt.data() + 16, &kv, 4);
    return error_of(ckpt, tok);
  };
  EXPECT_NE(with_header(8, 3, 1).find("multiple of n_heads"), std::string::npos);
  EXPECT_NE(with_header(8, 8, 2).find("must be even"), std::string::npos);
  EXPECT_NE(with_header(8, 4, 3).find("multiple of n_kv_heads"), std::string::npos);
  EXPECT_NE(with_header(8, 4, 8).find("n_kv_heads = 8 exceeds n_heads = 4"), std::string::npos);
  EXPECT_NE(with_header(8, 16, 1).find("n_heads = 16 exceeds dim = 8"), std::string::npos);
}

TEST(Llama2c, RejectsBadTokenizer) {
  const Synthetic s;
  const auto ckpt = s.checkpoint();
  const auto tok = s.tokenizer();
  for (size_t len = 0; len < tok.size(); ++len) {
    const std::vector<uint8_t> cut(tok.begin(), tok.begin() + static_cast<ptrdiff_t>(len));
    const std::string err = error_of(ckpt, cut);
    ASSERT_NE(err.find("tokenizer.bin"), std::string::npos) << "length " << len << ": " << err;
  }
  // Token 0 starts at offset 4: score, then the length at offset 8.
  const auto with_len0 = [&](int32_t len) {
    auto bad = tok;
    std::memcpy(bad.data() + 8, &len, 4);
    return error_of(ckpt, bad);
  };
  EXPECT_NE(with_len0(-1).find("token 0: negative length"), std::string::npos);
  EXPECT_NE(with_len0(std::numeric_limits<int32_t>::max()).find("runs past the end"),
            std::string::npos);
  EXPECT_NE(with_len0(std::numeric_limits<int32_t>::min()).find("negative length"),
            std::string::npos);
  auto negative_max = tok;
  const int32_t minus = -5;
  std::memcpy(negative_max.data(), &minus, 4);
  EXPECT_NE(error_of(ckpt, negative_max).find("max_token_length"), std::string::npos);
  auto trailing = tok;
  trailing.push_back(0);
  EXPECT_NE(error_of(ckpt, trailing).find("does not match the checkpoint's vocab_size"),
            std::string::npos);
}

}  // namespace
}  // namespace kindred::model
