// `kindred info -m MODEL.gguf [--json]`: the file's header, every metadata pair and the tensor
// table; for a supported architecture, the configuration Kindred derives from it.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/model_source.h"

namespace kindred::cli {
namespace {

struct InfoOptions {
  std::string model;
  bool json = false;
  size_t max_items = 8;
};

std::string shape(const gguf::TensorInfo& t) {
  std::string s;
  for (int d = 0; d < t.n_dims; ++d) s += (d ? " x " : "") + std::to_string(t.ne[d]);
  return s;
}

nlohmann::json value_json(const gguf::Value& v, size_t max_items) {
  using gguf::ValueType;
  switch (v.type()) {
    case ValueType::STRING: return v.as_string();
    case ValueType::BOOL: return v.as_bool();
    case ValueType::FLOAT32:
    case ValueType::FLOAT64: return v.as_f64();
    case ValueType::ARRAY: {
      nlohmann::json a = nlohmann::json::array();
      const auto& items = v.as_array();
      for (size_t i = 0; i < items.size() && i < max_items; ++i) a.push_back(value_json(items[i], max_items));
      if (items.size() > max_items) return {{"type", gguf::value_type_name(v.array_type())}, {"count", items.size()}, {"head", a}};
      return a;
    }
    default: return v.is_integer() && v.type() != ValueType::UINT64 ? nlohmann::json(v.as_i64()) : nlohmann::json(v.as_u64());
  }
}

void info(const InfoOptions& o) {
  const auto file = open_model_file(o.model);
  std::string config_note;
  ModelConfig config;
  bool have_config = false;
  try {
    config = read_model_config(*file);
    have_config = true;
  } catch (const std::exception& e) {
    config_note = e.what();
  }

  if (o.json) {
    nlohmann::json out;
    out["version"] = file->version();
    out["alignment"] = file->alignment();
    out["file_size"] = file->file_size();
    out["metadata"] = nlohmann::json::object();
    for (const auto& [k, v] : file->metadata()) out["metadata"][k] = value_json(v, o.max_items);
    out["tensors"] = nlohmann::json::array();
    for (const auto& t : file->tensors()) {
      out["tensors"].push_back({{"name", t.name},
                                {"type", dtype_name(t.type)},
                                {"shape", std::vector<int64_t>(t.ne.begin(), t.ne.begin() + t.n_dims)},
                                {"offset", file->data_offset() + t.offset},
                                {"bytes", t.bytes}});
    }
    if (have_config) {
      out["model"] = {{"arch", config.arch},     {"n_vocab", config.n_vocab}, {"n_embd", config.n_embd},
                      {"n_layer", config.n_layer}, {"n_head", config.n_head},   {"n_head_kv", config.n_head_kv},
                      {"head_dim", config.head_dim}, {"n_ff", config.n_ff},     {"n_ctx_train", config.n_ctx_train}};
    }
    std::cout << out.dump(2) << '\n';
    return;
  }

  std::printf("GGUF version %u, alignment %llu, %llu bytes, %zu metadata keys, %zu tensors\n", file->version(),
              static_cast<unsigned long long>(file->alignment()), static_cast<unsigned long long>(file->file_size()),
              file->metadata().size(), file->tensors().size());
  std::printf("\nmetadata:\n");
  for (const auto& [k, v] : file->metadata()) {
    std::string type(gguf::value_type_name(v.type()));
    if (v.type() == gguf::ValueType::ARRAY) type += "[" + std::string(gguf::value_type_name(v.array_type())) + "]";
    std::printf("  %-48s %-9s %s\n", k.c_str(), type.c_str(), v.to_display(o.max_items).c_str());
  }
  if (!file->tensors().empty()) {
    std::printf("\n%-5s %-40s %-8s %-22s %14s %12s\n", "#", "tensor", "type", "shape", "offset", "bytes");
    uint64_t total = 0;
    for (size_t i = 0; i < file->tensors().size(); ++i) {
      const auto& t = file->tensors()[i];
      total += t.bytes;
      std::printf("%-5zu %-40s %-8s %-22s %14llu %12llu\n", i, t.name.c_str(), std::string(dtype_name(t.type)).c_str(),
                  shape(t).c_str(), static_cast<unsigned long long>(file->data_offset() + t.offset),
                  static_cast<unsigned long long>(t.bytes));
    }
    std::printf("total tensor bytes: %llu\n", static_cast<unsigned long long>(total));
  }
  if (have_config) {
    std::printf("\nmodel: %s, vocab %d, embd %d, layers %d, heads %d (kv %d) x %d, ffn %d, trained context %d\n",
                config.arch.c_str(), config.n_vocab, config.n_embd, config.n_layer, config.n_head, config.n_head_kv,
                config.head_dim, config.n_ff, config.n_ctx_train);
  } else if (!file->tensors().empty()) {
    std::printf("\nmodel: not runnable by Kindred (%s)\n", config_note.c_str());
  }
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto opts = std::make_shared<InfoOptions>();
  CLI::App* cmd = app.add_subcommand("info", "Show a GGUF file's metadata and tensor table");
  cmd->add_option("-m,--model", opts->model, "GGUF file (default: embedded stories260K)");
  cmd->add_flag("--json", opts->json, "Print JSON");
  cmd->add_option("--max-items", opts->max_items, "Array items shown per metadata value");
  cmd->callback([opts] { info(*opts); });
}

}  // namespace kindred::cli
