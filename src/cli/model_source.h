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

LoadedModel load_model(const std::string& source);

}  // namespace kindred::cli
