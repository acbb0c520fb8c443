#include "cli/model_source.h"

#include "cli/embedded_model.h"
#include "cli/pull.h"
#include "model/llama2c.h"

namespace kindred::cli {

std::shared_ptr<const gguf::File> open_model_file(const std::string& source) {
  if (source.empty()) {
    return std::make_shared<const gguf::File>(gguf::File::from_bytes(
        model::convert_llama2c_to_gguf(embedded_llama2c_checkpoint(), embedded_llama2c_tokenizer(),
                                       {.name = "stories260K"})));
  }
  if (source.rfind("hf://", 0) == 0) {
    const PullResult pulled = pull_model({.uri = source, .progress = Progress::Auto});
    return std::make_shared<const gguf::File>(gguf::File::open(pulled.path));
  }
  return std::make_shared<const gguf::File>(gguf::File::open(source));
}

LoadedModel load_model(const std::string& source, bool repack) {
  LoadedModel m;
  m.file = open_model_file(source);
  m.tokenizer = Tokenizer::from_gguf(*m.file);
  m.model = Model::load(m.file, repack);
  return m;
}

}  // namespace kindred::cli
