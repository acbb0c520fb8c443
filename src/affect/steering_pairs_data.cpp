// data/affect/steering_pairs.json assembled into read-only data with .incbin, so steer-build
// needs no file beside the binary (KINDRED_AFFECT_DATA_DIR comes from CMakeLists.txt).
#include <cstdint>
#include <string_view>

#include "affect/steering.h"
#include "util/incbin.h"

KINDRED_INCBIN(kindred_steering_pairs_json, KINDRED_AFFECT_DATA_DIR "/steering_pairs.json");

extern "C" const char kindred_steering_pairs_json[], kindred_steering_pairs_json_end[];

namespace kindred::affect {

std::string_view embedded_steering_pairs_json() {
  return {kindred_steering_pairs_json, static_cast<size_t>(kindred_steering_pairs_json_end - kindred_steering_pairs_json)};
}

}  // namespace kindred::affect
