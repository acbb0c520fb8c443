// Where a command's model comes from: a GGUF path, an hf:// reference (fetched into the cache
// like `kindred pull`), or nothing, meaning the embedded stories260K model.
#pragma once
#include <memory>
#include <string>

#include "gguf/gguf.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace kindred::cli {

// Opens the GGUF named by `source` (see above).
std::shared_ptr<const gguf::File> open_model_file(const std::string& source);

struct LoadedModel {
  std::shared_ptr<const gguf::File> file;
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
};

// repack: copy Q8_0/Q4_0 matrices into the packed SIMD layout (Model::load); off only to measure it.
LoadedModel load_model(const std::string& source, bool repack = true);

}  // namespace kindred::cli
