// Character card reading, validation, V1 upgrade and export (JSON and PNG).
#include "dialogue/character_card.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "dialogue/character_card_charx.h"
#include "dialogue/png_card.h"

namespace kindred::dialogue {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("character card: " + what); }

const char* const kV1Fields[] = {"name", "description", "personality", "scenario", "first_mes", "mes_example"};
const char* const kStringFields[] = {"name",          "description",   "personality",
                                     "scenario",      "first_mes",     "mes_example",
                                     "creator_notes", "system_prompt", "post_history_instructions",
                                     "creator",       "character_version", "nickname"};
const char* const kStringArrays[] = {"alternate_greetings", "tags", "group_only_greetings", "source"};

void check_data(const json& data, const std::string& where) {
  if (!data.is_object()) fail(where + " must be an object");
  auto field = [&](const char* k) { return where + "." + k; };
  if (!data.contains("name")) fail("missing " + field("name"));
  for (const char* k : kStringFields)
    if (auto it = data.find(k); it != data.end() && !it->is_string() && !it->is_null())
      fail(field(k) + " must be a string, not " + it->type_name());
  for (const char* k : kStringArrays) {
    auto it = data.find(k);
    if (it == data.end() || it->is_null()) continue;
    if (!it->is_array()) fail(field(k) + " must be an array of strings, not " + it->type_name());
    for (const auto& v : *it)
      if (!v.is_string()) fail(field(k) + " must be an array of strings (found " + v.type_name() + ")");
  }
  for (const char* k : {"extensions", "creator_notes_multilingual"})
    if (auto it = data.find(k); it != data.end() && !it->is_object() && !it->is_null())
      fail(field(k) + " must be an object, not " + it->type_name());
  for (const char* k : {"creation_date", "modification_date"})
    if (auto it = data.find(k); it != data.end() && !it->is_number() && !it->is_null())
      fail(field(k) + " must be a number, not " + it->type_name());
  if (auto it = data.find("assets"); it != data.end() && !it->is_null()) {
    if (!it->is_array()) fail(field("assets") + " must be an array");
    for (const auto& a : *it)
      if (!a.is_object()) fail(field("assets") + " must hold objects");
  }
  if (auto it = data.find("character_book"); it != data.end() && !it->is_null()) {
    try {
      Lorebook::from_json(*it);
    } catch (const std::exception& e) {
      fail(field("character_book") + ": " + e.what());
    }
  }
}

std::vector<uint8_t> read_file(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("cannot open " + path.string());
  std::ostringstream s;
  s << f.rdbuf();
  const std::string bytes = s.str();
  return {bytes.begin(), bytes.end()};
}

std::string extension_of(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

}  // namespace

CharacterCard CharacterCard::from_json(const json& card) {
  if (!card.is_object()) fail(std::string("must be a JSON object, not ") + card.type_name());
  CharacterCard c;
  auto spec = card.find("spec");
  if (spec == card.end()) {
    // V1: flat fields at the root. Present it as V2, keeping the original root fields.
    c.json_ = card;
    json data = json::object();
    for (const char* k : kV1Fields) data[k] = card.value(k, json(""));
    check_data(data, "card");
    for (const char* k : {"creator_notes", "system_prompt", "post_history_instructions", "creator",
                          "character_version"})
      data[k] = "";
    data["alternate_greetings"] = json::array();
    data["tags"] = json::array();
    data["extensions"] = json::object();
    c.json_["spec"] = "chara_card_v2";
    c.json_["spec_version"] = "2.0";
    c.json_["data"] = std::move(data);
    c.from_v1_ = true;
    return c;
  }
  if (!spec->is_string()) fail("spec must be a string");
  const std::string s = spec->get<std::string>();
  if (s != "chara_card_v2" && s != "chara_card_v3") fail("unsupported spec '" + s + "'");
  auto data = card.find("data");
  if (data == card.end()) fail("missing data object");
  if (auto v = card.find("spec_version"); v != card.end() && !v->is_string() && !v->is_number())
    fail("spec_version must be a string");
  check_data(*data, "data");
  c.json_ = card;
  return c;
}

CharacterCard CharacterCard::from_json_text(std::string_view text, const std::string& origin) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    fail(origin + " is not valid JSON: " + e.what());
  }
  return from_json(j);
}

CharacterCard CharacterCard::from_png_bytes(std::span<const uint8_t> bytes) {
  const auto texts = png::read_text_chunks(bytes);
  const char* key = texts.count("ccv3") ? "ccv3" : texts.count("chara") ? "chara" : nullptr;
  if (!key) fail("the PNG holds no character card (no 'ccv3' or 'chara' tEXt chunk)");
  std::string decoded;
  try {
    decoded = png::base64_decode(texts.at(key));
  } catch (const std::exception& e) {
    fail(std::string("'") + key + "' chunk: " + e.what());
  }
  CharacterCard c = from_json_text(decoded, std::string("'") + key + "' chunk");
  c.png_.assign(bytes.begin(), bytes.end());
  return c;
}

CharacterCard CharacterCard::load(const std::filesystem::path& path) {
  const std::string ext = extension_of(path);
  const auto bytes = read_file(path);
  if (ext == ".charx") return from_json_text(charx::read_card_json(bytes), path.string() + ": card.json");
  static const uint8_t kSig[] = {137, 'P', 'N', 'G'};
  const bool looks_png = bytes.size() >= 4 && std::equal(kSig, kSig + 4, bytes.begin());
  if (ext == ".png" || (ext != ".json" && looks_png)) return from_png_bytes(bytes);
  return from_json_text(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path.string());
}

std::vector<uint8_t> CharacterCard::to_png() const {
  std::vector<std::pair<std::string, std::string>> chunks;
  if (spec_version() >= 3) {
    // SillyTavern's layout: a V2-compatible `chara` for older readers next to the real `ccv3`.
    json v2 = json_;
    v2["spec"] = "chara_card_v2";
    v2["spec_version"] = "2.0";
    // V3 asks backfilled V2 copies to drop lorebook decorators, which V2 readers would show as text.
    if (auto book = v2["data"].find("character_book"); book != v2["data"].end() && book->is_object())
      if (auto entries = book->find("entries"); entries != book->end() && entries->is_array())
        for (auto& e : *entries)
          if (auto c = e.find("content"); c != e.end() && c->is_string()) {
            std::string text = c->get<std::string>();
            parse_decorators(text);
            *c = text;
          }
    chunks.emplace_back("chara", png::base64_encode(v2.dump()));
    chunks.emplace_back("ccv3", png::base64_encode(json_.dump()));
  } else {
    chunks.emplace_back("chara", png::base64_encode(json_.dump()));
  }
  const std::vector<uint8_t> image = png_.empty() ? png::placeholder_png() : png_;
  return png::replace_text_chunks(image, {"chara", "ccv3"}, chunks);
}

void CharacterCard::save(const std::filesystem::path& path) const {
  const std::string ext = extension_of(path);
  std::string bytes;
  if (ext == ".png") {
    const auto png = to_png();
    bytes.assign(png.begin(), png.end());
  } else if (ext == ".json") {
    bytes = json_.dump(2) + "\n";
  } else {
    fail("cannot write '" + path.string() + "': use a .png or .json file name (.charx output is not supported)");
  }
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), std::streamsize(bytes.size()));
  if (!f.flush()) fail("cannot write " + path.string());
}

int CharacterCard::spec_version() const { return json_.value("spec", "") == "chara_card_v3" ? 3 : 2; }

std::string CharacterCard::str(const char* key) const {
  const json& data = json_.at("data");
  auto it = data.find(key);
  return it != data.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> CharacterCard::strings(const char* key) const {
  const json& data = json_.at("data");
  auto it = data.find(key);
  return it != data.end() && it->is_array() ? it->get<std::vector<std::string>>() : std::vector<std::string>{};
}

std::string CharacterCard::name() const { return str("name"); }
std::string CharacterCard::nickname() const { return str("nickname"); }
std::string CharacterCard::display_name() const { return nickname().empty() ? name() : nickname(); }
std::string CharacterCard::description() const { return str("description"); }
std::string CharacterCard::personality() const { return str("personality"); }
std::string CharacterCard::scenario() const { return str("scenario"); }
std::string CharacterCard::first_mes() const { return str("first_mes"); }
std::string CharacterCard::mes_example() const { return str("mes_example"); }
std::string CharacterCard::creator_notes() const { return str("creator_notes"); }
std::string CharacterCard::system_prompt() const { return str("system_prompt"); }
std::string CharacterCard::post_history_instructions() const { return str("post_history_instructions"); }
std::string CharacterCard::creator() const { return str("creator"); }
std::string CharacterCard::character_version() const { return str("character_version"); }
std::vector<std::string> CharacterCard::alternate_greetings() const { return strings("alternate_greetings"); }
std::vector<std::string> CharacterCard::group_only_greetings() const { return strings("group_only_greetings"); }
std::vector<std::string> CharacterCard::tags() const { return strings("tags"); }

std::vector<std::string> CharacterCard::greetings() const {
  std::vector<std::string> out{first_mes()};
  for (auto& g : alternate_greetings()) out.push_back(std::move(g));
  return out;
}

nlohmann::json CharacterCard::extensions() const {
  const json& data = json_.at("data");
  auto it = data.find("extensions");
  return it != data.end() && it->is_object() ? *it : json::object();
}

nlohmann::json CharacterCard::assets() const {
  const json& data = json_.at("data");
  auto it = data.find("assets");
  return it != data.end() && it->is_array() ? *it : json::array();
}

std::optional<Lorebook> CharacterCard::book() const {
  const json& data = json_.at("data");
  auto it = data.find("character_book");
  if (it == data.end() || it->is_null()) return std::nullopt;
  return Lorebook::from_json(*it);
}

std::string resolve_override(std::string_view card_value, std::string_view default_value) {
  if (card_value.find_first_not_of(" \t\r\n") == std::string_view::npos) return std::string(default_value);
  std::string out;
  constexpr std::string_view kOriginal = "{{original}}";
  size_t pos = 0;
  for (size_t at; (at = card_value.find(kOriginal, pos)) != std::string_view::npos; pos = at + kOriginal.size())
    out.append(card_value.substr(pos, at - pos)).append(default_value);
  out.append(card_value.substr(pos));
  return out;
}

}  // namespace kindred::dialogue
