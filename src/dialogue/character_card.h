// Character cards: Character Card V1 (flat TavernAI JSON), V2 (chara_card_v2) and V3
// (chara_card_v3), read from JSON or PNG and written back to either without losing a field.
//
// The card keeps its whole JSON object (unknown fields and `extensions` included) and offers typed
// accessors over `data`; a V1 card is presented as V2 (spec, spec_version and data added, the
// original root fields kept). In a PNG the card is a base64 tEXt chunk: `ccv3` (V3, preferred when
// present) or `chara` (V1/V2, or V3 backfilled as V2). Writing a PNG keeps every other chunk of
// the source image byte for byte; a card read from JSON gets a small placeholder image.
// Prompt rules for the context builder: creator_notes never go into a prompt; system_prompt and
// post_history_instructions replace the defaults, `{{original}}` inside them standing for the
// default (see resolve_override); alternate_greetings are extra first messages (swipes);
// nickname, when set, is what {{char}} means. Immutable after construction; thread-compatible.
#pragma once
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dialogue/lorebook.h"

namespace kindred::dialogue {

class CharacterCard {
 public:
  // Validates and wraps a card object. Throws std::runtime_error naming the field at fault
  // (unknown spec, data not an object, a known field of the wrong type, a bad character_book).
  static CharacterCard from_json(const nlohmann::json& card);
  // Parses JSON text first; `origin` prefixes error messages ("card.json", "ccv3 chunk").
  static CharacterCard from_json_text(std::string_view text, const std::string& origin = "card JSON");
  // Reads the `ccv3` chunk, else `chara`; the image is kept for to_png().
  static CharacterCard from_png_bytes(std::span<const uint8_t> png);
  // By extension (.png, .json, .charx: card.json inside the zip; its assets are not loaded).
  // Unknown extensions are sniffed (PNG signature, else JSON).
  static CharacterCard load(const std::filesystem::path& path);

  const nlohmann::json& to_json() const { return json_; }  // the full object, as stored
  std::vector<uint8_t> to_png() const;
  void save(const std::filesystem::path& path) const;  // .png or .json (not .charx)

  int spec_version() const;  // 2 or 3 (a V1 card reads as 2)
  bool upgraded_from_v1() const { return from_v1_; }
  bool has_image() const { return !png_.empty(); }

  std::string name() const;
  std::string nickname() const;      // V3; empty when absent
  std::string display_name() const;  // nickname when set, else name: the value of {{char}}
  std::string description() const;
  std::string personality() const;
  std::string scenario() const;
  std::string first_mes() const;
  std::string mes_example() const;
  std::string creator_notes() const;  // for people only: never part of a prompt
  std::string system_prompt() const;  // raw; see resolve_override
  std::string post_history_instructions() const;
  std::string creator() const;
  std::string character_version() const;
  std::vector<std::string> alternate_greetings() const;
  std::vector<std::string> group_only_greetings() const;  // V3
  std::vector<std::string> greetings() const;             // first_mes, then alternate_greetings
  std::vector<std::string> tags() const;
  nlohmann::json extensions() const;  // {} when absent
  nlohmann::json assets() const;      // V3 assets array, or [] when absent
  std::optional<Lorebook> book() const;

 private:
  std::string str(const char* key) const;
  std::vector<std::string> strings(const char* key) const;

  nlohmann::json json_;
  std::vector<uint8_t> png_;  // the source image when read from a PNG
  bool from_v1_ = false;
};

// A card's override of a default prompt: empty → the default; otherwise the override with each
// `{{original}}` replaced by the default.
std::string resolve_override(std::string_view card_value, std::string_view default_value);

}  // namespace kindred::dialogue
