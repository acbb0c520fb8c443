// libFuzzer target for the GGUF reader: any input must either parse into a file whose tensors
// all lie inside the input, or raise GgufError. Crashes, hangs and sanitizer reports are bugs.
#include <cstdint>
#include <cstdlib>

#include "gguf/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kindred::gguf;
  try {
    const File f = File::from_memory(data, size);
    for (const TensorInfo& t : f.tensors()) {
      if (f.data_offset() + t.offset + t.bytes > size) std::abort();
      const kindred::TensorView v = f.view(t);
      volatile uint8_t sink = 0;
      if (t.bytes > 0) sink = static_cast<const uint8_t*>(v.data)[t.bytes - 1];
      (void)sink;
    }
    for (const auto& [key, value] : f.metadata()) (void)value.to_display();
  } catch (const GgufError&) {
  }
  return 0;
}
