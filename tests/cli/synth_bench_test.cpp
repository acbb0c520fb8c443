// `kindred synth` and `kindred bench`: synthetic models carry llama.cpp's tensor names and keys
// and load in Kindred for every architecture its loader accepts; bench reports its fields.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/context.h"
#include "gguf/gguf.h"
#include "model/model.h"
#include "model/synth.h"
#include "tensor/thread_pool.h"
#include "run_kindred.h"
#include "test_data.h"

namespace kindred {
namespace {

using test::Outcome;
using test::slurp;

Outcome kindred(const std::vector<std::string>& args) { return test::run_kindred(args); }

void expect_one_line_error(const Outcome& o, const std::string& needle) {
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find(needle), std::string::npos) << o.err;
  EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
}

// A tiny shape every architecture accepts (olmoe and qwen2moe need head_dim × heads = embd).
SynthSpec tiny_spec(const std::string& arch, bool experts) {
  SynthSpec s;
  s.arch = arch;
  apply_synth_shape(s, "vocab=600,embd=128,layers=2,heads=4,kv_heads=4,ff=256,ctx=256");
  if (experts) apply_synth_shape(s, "experts=4,experts_used=2,ff_exp=64,ff_shexp=96");
  s.type = DType::Q8_0;
  s.output_type = DType::Q8_0;
  return s;
}

std::vector<int64_t> shape_of(const gguf::TensorInfo& t) { return {t.ne.begin(), t.ne.begin() + t.n_dims}; }

TEST(Synth, EveryArchitectureHasLlamaCppNamesAndLoadsWhereKindredSupportsIt) {
  const auto dir = test::temp_dir();
  ThreadPool pool(2);
  std::vector<std::pair<std::string, bool>> cases;  // (arch, with experts)
  for (const std::string& a : synth_architectures()) cases.emplace_back(a, a.find("moe") != std::string::npos || a == "minimax-m2");
  cases.emplace_back("llama", true);  // Mixtral
  std::string loaded, not_yet;
  for (const auto& [arch, experts] : cases) {
    SCOPED_TRACE(arch + (experts ? " with experts" : ""));
    const SynthSpec spec = resolve_synth_spec(tiny_spec(arch, experts));
    const auto path = dir / (arch + (experts ? "-moe" : "") + ".gguf");
    write_synth_model(spec, path, pool);
    auto file = std::make_shared<const gguf::File>(gguf::File::open(path));

    // Every tensor as specified, and the keys llama.cpp's loaders read.
    const auto expected = synth_tensors(spec);
    ASSERT_EQ(file->tensors().size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(file->tensors()[i].name, expected[i].name);
      EXPECT_EQ(shape_of(file->tensors()[i]), expected[i].ne) << expected[i].name;
    }
    const std::string p = arch + ".";
    EXPECT_EQ(file->get_u32(p + "embedding_length"), 128u);
    EXPECT_EQ(file->get_string_array("tokenizer.ggml.tokens").size(), 600u);
    EXPECT_EQ(file->get_string("tokenizer.ggml.model"), "gpt2");
    if (experts) {
      EXPECT_EQ(file->get_u32(p + "expert_count"), 4u);
      EXPECT_EQ(file->get_u32(p + "expert_used_count"), 2u);
      EXPECT_EQ(file->get_u32(p + "expert_feed_forward_length"), 64u);
      EXPECT_TRUE(file->has(p + "expert_weights_norm"));
      EXPECT_EQ(file->get_u32(p + "expert_gating_func"), arch == "minimax-m2" ? 2u : 1u);
      const auto tensor_shape = [&](const std::string& name) {
        const gguf::TensorInfo* t = file->find_tensor(name);
        return t ? shape_of(*t) : std::vector<int64_t>{};
      };
      EXPECT_EQ(tensor_shape("blk.1.ffn_gate_inp.weight"), (std::vector<int64_t>{128, 4}));
      EXPECT_EQ(tensor_shape("blk.1.ffn_gate_exps.weight"), (std::vector<int64_t>{128, 64, 4}));
      EXPECT_EQ(tensor_shape("blk.1.ffn_up_exps.weight"), (std::vector<int64_t>{128, 64, 4}));
      EXPECT_EQ(tensor_shape("blk.1.ffn_down_exps.weight"), (std::vector<int64_t>{64, 128, 4}));
      EXPECT_EQ(file->find_tensor("blk.0.ffn_gate.weight"), nullptr);
      if (arch == "qwen2moe") {
        EXPECT_EQ(file->get_u32(p + "expert_shared_feed_forward_length"), 96u);
        EXPECT_EQ(tensor_shape("blk.0.ffn_gate_inp_shexp.weight"), (std::vector<int64_t>{128}));
        EXPECT_EQ(tensor_shape("blk.0.ffn_gate_shexp.weight"), (std::vector<int64_t>{128, 96}));
        EXPECT_EQ(tensor_shape("blk.0.ffn_down_shexp.weight"), (std::vector<int64_t>{96, 128}));
      }
      if (arch == "minimax-m2") {
        EXPECT_EQ(tensor_shape("blk.0.exp_probs_b.bias"), (std::vector<int64_t>{4}));
      }
    }

    // Loadable wherever Kindred's loader knows the architecture (the MoE loader lands separately:
    // until then those are reported, not failed).
    std::unique_ptr<Model> model;
    try {
      model = Model::load(file);
    } catch (const ModelError& e) {
      const bool dense = !experts;
      const std::string why = e.what();
      if (dense || why.find("unsupported architecture") == std::string::npos) {
        ADD_FAILURE() << "Kindred cannot load the synthetic " << arch << ": " << why;
      }
      not_yet += " " + arch + (experts && arch == "llama" ? "(mixtral)" : "") + " [" + why.substr(0, 60) + "]";
      continue;
    } catch (const std::exception& e) {
      if (!experts) ADD_FAILURE() << "Kindred cannot load the synthetic " << arch << ": " << e.what();
      not_yet += " " + arch + (experts && arch == "llama" ? "(mixtral)" : "") + " [" + std::string(e.what()).substr(0, 60) + "]";
      continue;
    }
    Context ctx(*model, {.n_ctx = 32, .n_threads = 2});
    const std::vector<int32_t> tokens = {1, 100, 599, 42};
    const auto logits = ctx.eval(tokens);
    ASSERT_EQ(logits.size(), 600u);
    for (float v : logits) ASSERT_TRUE(std::isfinite(v));
    loaded += " " + arch + (experts && arch == "llama" ? "(mixtral)" : "");
  }
  std::printf("[synth] loaded and ran in Kindred:%s\n[synth] names/shapes checked only (loader refused):%s\n",
              loaded.c_str(), not_yet.empty() ? " none" : not_yet.c_str());
  RecordProperty("loaded", loaded);
  RecordProperty("not_loaded", not_yet);
}

TEST(Synth, FileDoesNotDependOnThreadCountAndSeedChangesIt) {
  const auto dir = test::temp_dir();
  SynthSpec spec = tiny_spec("qwen3", false);
  spec.type = DType::Q4_0;
  spec.vocab = "spm";
  ThreadPool one(1), two(2);
  write_synth_model(spec, dir / "a.gguf", one);
  write_synth_model(spec, dir / "b.gguf", two);
  spec.seed = 2;
  write_synth_model(spec, dir / "c.gguf", two);
  EXPECT_EQ(slurp(dir / "a.gguf"), slurp(dir / "b.gguf"));
  EXPECT_NE(slurp(dir / "a.gguf"), slurp(dir / "c.gguf"));
  EXPECT_EQ(gguf::File::open(dir / "a.gguf").get_string("tokenizer.ggml.model"), "llama");
}

TEST(Synth, RejectsShapesTheTypeCannotHold) {
  SynthSpec spec = tiny_spec("llama", false);
  spec.type = DType::Q4_K;  // 256-value blocks, rows of 128
  EXPECT_THROW(resolve_synth_spec(spec), std::invalid_argument);
  EXPECT_THROW(apply_synth_shape(spec, "bogus=1"), std::invalid_argument);
  EXPECT_THROW(apply_synth_shape(spec, "embd=abc"), std::invalid_argument);
}

TEST(SynthCli, WritesAModelThatBenchMeasures) {
  const auto dir = test::temp_dir();
  const std::string path = (dir / "m.gguf").string();
  const Outcome s = kindred({"synth", "qwen3", "--shape", "vocab=512,embd=64,layers=2,heads=2,kv_heads=1,ff=128",
                             "--type", "q8_0", "--output-type", "f16", "-o", path});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  const Outcome b = kindred({"bench", "-m", path, "-p", "16", "-n", "4", "-r", "3", "-t", "1", "--json"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const auto j = nlohmann::json::parse(b.out);
  for (const char* key : {"pp_tps", "pp_tps_min", "pp_tps_max", "tg_tps", "tg_tps_min", "tg_tps_max", "peak_rss_bytes",
                          "kv_cache_bytes", "model_bytes", "threads", "n_prompt", "n_gen", "reps"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_GT(j["pp_tps"].get<double>(), 0);
  EXPECT_GT(j["tg_tps"].get<double>(), 0);
  EXPECT_LE(j["pp_tps_min"].get<double>(), j["pp_tps"].get<double>());
  EXPECT_GE(j["pp_tps_max"].get<double>(), j["pp_tps"].get<double>());
  EXPECT_EQ(j["n_prompt"], 16);
  EXPECT_EQ(j["threads"], 1);
  EXPECT_GT(j["kv_cache_bytes"].get<uint64_t>(), 0u);
  EXPECT_GT(j["peak_rss_bytes"].get<uint64_t>(), j["model_bytes"].get<uint64_t>());
}

TEST(SynthCli, BadArgumentsAreOneLineErrors) {
  const auto dir = test::temp_dir();
  const std::string out = (dir / "x.gguf").string();
  expect_one_line_error(kindred({"synth", "gpt5", "-o", out}), "unknown architecture");
  expect_one_line_error(kindred({"synth", "llama", "--shape", "layers=two", "-o", out}), "layers=two");
  expect_one_line_error(kindred({"synth", "llama", "--shape", "wings=2", "-o", out}), "unknown --shape key");
  expect_one_line_error(kindred({"synth", "llama", "--type", "q9_9", "-o", out}), "q9_9");
  expect_one_line_error(kindred({"synth", "llama", "--vocab", "wordpiece", "-o", out}), "--vocab");
  expect_one_line_error(kindred({"synth", "llama"}), "output");
  EXPECT_FALSE(std::filesystem::exists(out));
  expect_one_line_error(kindred({"bench", "-m", (dir / "missing.gguf").string()}), "missing.gguf");
  expect_one_line_error(kindred({"bench", "-r", "0"}), "-r");
  expect_one_line_error(kindred({"bench", "-p", "0", "-n", "0"}), "nothing to measure");
}

}  // namespace
}  // namespace kindred
