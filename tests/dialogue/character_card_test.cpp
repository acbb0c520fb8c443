// Character cards: V1/V2/V3 from JSON and PNG, lossless export, and rejection of bad input.
#include "dialogue/character_card.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <fstream>

#include "dialogue/png_card.h"
#include "test_data.h"

namespace kindred::dialogue {
namespace {

using nlohmann::json;

json v2_card() {
  return json::parse(R"({
    "spec": "chara_card_v2", "spec_version": "2.0", "x_root_unknown": {"keep": [1, 2.5, null]},
    "data": {
      "name": "Aria", "description": "A {{char}} who sings.", "personality": "warm", "scenario": "a tavern",
      "first_mes": "Hello, {{user}}!", "mes_example": "<START>", "creator_notes": "not for prompts",
      "system_prompt": "Be Aria. {{original}}", "post_history_instructions": "",
      "alternate_greetings": ["Hi again", "Welcome"], "tags": ["bard"], "creator": "me",
      "character_version": "1.2", "x_data_unknown": "stays",
      "extensions": {"talkativeness": "0.5", "depth_prompt": {"depth": 4, "prompt": "x"}},
      "character_book": {"name": "Aria lore", "scan_depth": 3, "extensions": {},
        "entries": [{"keys": ["lute"], "content": "Aria's lute is old.", "extensions": {"custom": true},
                     "enabled": true, "insertion_order": 10, "x_entry_unknown": 7}]}
    }})");
}

json v3_card(const std::string& name = "Nova") {
  return {{"spec", "chara_card_v3"},
          {"spec_version", "3.0"},
          {"data",
           {{"name", name}, {"nickname", "Nov"}, {"description", "d"}, {"personality", ""}, {"scenario", ""},
            {"first_mes", "hi"}, {"mes_example", ""}, {"creator_notes", ""}, {"system_prompt", ""},
            {"post_history_instructions", "Stay in character. {{original}}"}, {"alternate_greetings", json::array()},
            {"group_only_greetings", {"Hello, everyone"}}, {"tags", json::array()}, {"creator", ""},
            {"character_version", ""}, {"extensions", {{"app", {{"k", 1}}}}},
            {"assets", {{{"type", "icon"}, {"uri", "ccdefault:"}, {"name", "main"}, {"ext", "png"}}}},
            {"creation_date", 1700000000}, {"source", {"https://example.org/nova"}}}}};
}

// PNG chunks as (type, whole chunk bytes) for comparing images chunk by chunk.
std::vector<std::pair<std::string, std::vector<uint8_t>>> chunks_of(const std::vector<uint8_t>& png) {
  std::vector<std::pair<std::string, std::vector<uint8_t>>> out;
  for (size_t pos = 8; pos + 12 <= png.size();) {
    const uint32_t len = (uint32_t(png[pos]) << 24) | (uint32_t(png[pos + 1]) << 16) | (uint32_t(png[pos + 2]) << 8) |
                         png[pos + 3];
    out.emplace_back(std::string(png.begin() + long(pos) + 4, png.begin() + long(pos) + 8),
                     std::vector<uint8_t>(png.begin() + long(pos), png.begin() + long(pos + 12 + len)));
    pos += 12 + len;
  }
  return out;
}

std::vector<uint8_t> make_chunk(const std::string& type, const std::string& data) {
  std::string c;
  for (int s = 24; s >= 0; s -= 8) c += char(uint8_t(data.size() >> s));
  c += type + data;
  const uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(c.data()) + 4, uInt(c.size() - 4));
  for (int s = 24; s >= 0; s -= 8) c += char(uint8_t(crc >> s));
  return {c.begin(), c.end()};
}

// Inserts raw chunks just after IHDR (8-byte signature + 25-byte IHDR chunk).
std::vector<uint8_t> insert_after_ihdr(const std::vector<uint8_t>& png, const std::vector<std::vector<uint8_t>>& chunks) {
  std::string out(png.begin(), png.begin() + 33);
  for (const auto& c : chunks) out.append(c.begin(), c.end());
  out.append(png.begin() + 33, png.end());
  return {out.begin(), out.end()};
}

// A one-file zip archive (stored or raw-deflate), as a .charx writer would make it.
std::string make_zip(const std::string& name, const std::string& content, bool squeeze) {
  std::string data = content;
  if (squeeze) {
    data.assign(compressBound(uLong(content.size())) + 64, '\0');
    z_stream z{};
    deflateInit2(&z, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(content.data()));
    z.avail_in = uInt(content.size());
    z.next_out = reinterpret_cast<Bytef*>(data.data());
    z.avail_out = uInt(data.size());
    deflate(&z, Z_FINISH);
    data.resize(z.total_out);
    deflateEnd(&z);
  }
  auto u16 = [](std::string& s, uint32_t v) { s += char(v & 0xff), s += char(v >> 8 & 0xff); };
  auto u32 = [&](std::string& s, uint32_t v) { u16(s, v & 0xffff), u16(s, v >> 16); };
  const uint32_t crc = uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(content.data()), uInt(content.size())));
  const uint32_t method = squeeze ? 8 : 0;
  std::string zip = "PK\3\4";
  for (uint32_t v : {20u, 0u, method, 0u, 0u}) u16(zip, v);
  u32(zip, crc), u32(zip, uint32_t(data.size())), u32(zip, uint32_t(content.size()));
  u16(zip, uint32_t(name.size())), u16(zip, 0);
  zip += name + data;
  const uint32_t dir = uint32_t(zip.size());
  zip += "PK\1\2";
  for (uint32_t v : {20u, 20u, 0u, method, 0u, 0u}) u16(zip, v);
  u32(zip, crc), u32(zip, uint32_t(data.size())), u32(zip, uint32_t(content.size()));
  for (uint32_t v : {uint32_t(name.size()), 0u, 0u, 0u, 0u}) u16(zip, v);
  u32(zip, 0), u32(zip, 0);
  zip += name;
  const uint32_t dir_size = uint32_t(zip.size()) - dir;
  zip += "PK\5\6";
  for (uint32_t v : {0u, 0u, 1u, 1u}) u16(zip, v);
  u32(zip, dir_size), u32(zip, dir), u16(zip, 0);
  return zip;
}

std::string card_chunk(const json& j) { return png::base64_encode(j.dump()); }

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(CharacterCard, V2JsonKeepsEveryFieldAndExposesAccessors) {
  const auto card = CharacterCard::from_json(v2_card());
  EXPECT_EQ(card.to_json(), v2_card());
  EXPECT_EQ(card.spec_version(), 2);
  EXPECT_EQ(card.name(), "Aria");
  EXPECT_EQ(card.display_name(), "Aria");
  EXPECT_EQ(card.scenario(), "a tavern");
  EXPECT_EQ(card.creator_notes(), "not for prompts");
  EXPECT_EQ(card.greetings(), (std::vector<std::string>{"Hello, {{user}}!", "Hi again", "Welcome"}));
  EXPECT_EQ(card.extensions()["talkativeness"], "0.5");
  ASSERT_TRUE(card.book());
  EXPECT_EQ(card.book()->entries().size(), 1u);
  EXPECT_EQ(card.book()->scan_depth(), 3);
  EXPECT_EQ(resolve_override(card.system_prompt(), "Default."), "Be Aria. Default.");
  EXPECT_EQ(resolve_override(card.post_history_instructions(), "Default."), "Default.");
}

TEST(CharacterCard, V3FieldsAndNickname) {
  const auto card = CharacterCard::from_json(v3_card());
  EXPECT_EQ(card.spec_version(), 3);
  EXPECT_EQ(card.display_name(), "Nov");
  EXPECT_EQ(card.group_only_greetings(), std::vector<std::string>{"Hello, everyone"});
  EXPECT_EQ(card.assets()[0]["uri"], "ccdefault:");
  EXPECT_EQ(resolve_override(card.post_history_instructions(), "Reply briefly."),
            "Stay in character. Reply briefly.");
  EXPECT_FALSE(card.book());
}

TEST(CharacterCard, V1IsPresentedAsV2) {
  const json v1 = {{"name", "Old"}, {"description", "desc"}, {"personality", "p"}, {"scenario", "s"},
                   {"first_mes", "hey"}, {"mes_example", "ex"}, {"avatar", "none"}, {"chat", "x"}};
  const auto card = CharacterCard::from_json(v1);
  EXPECT_TRUE(card.upgraded_from_v1());
  EXPECT_EQ(card.spec_version(), 2);
  const json& j = card.to_json();
  EXPECT_EQ(j["spec"], "chara_card_v2");
  EXPECT_EQ(j["spec_version"], "2.0");
  EXPECT_EQ(j["data"]["name"], "Old");
  EXPECT_EQ(j["data"]["first_mes"], "hey");
  EXPECT_EQ(j["data"]["alternate_greetings"], json::array());
  EXPECT_EQ(j["data"]["extensions"], json::object());
  EXPECT_EQ(j["avatar"], "none");  // original root fields stay
  EXPECT_EQ(card.description(), "desc");
}

TEST(CharacterCard, JsonToPngToJsonIsExact) {
  const auto card = CharacterCard::from_json(v2_card());
  const auto png_bytes = card.to_png();
  const auto texts = png::read_text_chunks(png_bytes);  // also proves libpng accepts the image
  ASSERT_TRUE(texts.count("chara"));
  EXPECT_FALSE(texts.count("ccv3"));
  const auto back = CharacterCard::from_png_bytes(png_bytes);
  EXPECT_EQ(back.to_json(), v2_card());
  EXPECT_TRUE(back.has_image());
}

TEST(CharacterCard, V3PngWritesBothChunksAndPrefersCcv3) {
  const auto png_bytes = CharacterCard::from_json(v3_card()).to_png();
  const auto texts = png::read_text_chunks(png_bytes);
  ASSERT_TRUE(texts.count("chara") && texts.count("ccv3"));
  EXPECT_EQ(json::parse(png::base64_decode(texts.at("chara")))["spec"], "chara_card_v2");
  EXPECT_EQ(json::parse(png::base64_decode(texts.at("ccv3"))), v3_card());
  EXPECT_EQ(CharacterCard::from_png_bytes(png_bytes).to_json(), v3_card());

  // The backfilled V2 copy loses the V3-only decorators; the ccv3 copy keeps them.
  json with_book = v3_card();
  with_book["data"]["character_book"] = {{"extensions", json::object()},
                                         {"entries", {{{"keys", {"k"}}, {"content", "@@depth 2\nLore"}}}}};
  const auto booked = png::read_text_chunks(CharacterCard::from_json(with_book).to_png());
  EXPECT_EQ(json::parse(png::base64_decode(booked.at("chara")))["data"]["character_book"]["entries"][0]["content"],
            "Lore");
  EXPECT_EQ(json::parse(png::base64_decode(booked.at("ccv3"))), with_book);

  // A file whose `chara` says one thing and `ccv3` another: ccv3 wins, wherever it sits.
  json old = v2_card();
  old["data"]["name"] = "Backfill";
  const auto both = png::replace_text_chunks(png::placeholder_png(), {},
                                             {{"ccv3", card_chunk(v3_card("Real"))}, {"chara", card_chunk(old)}});
  EXPECT_EQ(CharacterCard::from_png_bytes(both).name(), "Real");
}

TEST(CharacterCard, PngRoundTripKeepsOtherChunksByteForByte) {
  const auto source = insert_after_ihdr(
      png::placeholder_png(),
      {make_chunk("tEXt", std::string("Comment") + '\0' + "drawn by hand"), make_chunk("prVt", "private bytes"),
       make_chunk("tEXt", std::string("chara") + '\0' + card_chunk(v2_card())), make_chunk("gAMA", "\x00\x00\xb1\x8f")});
  const auto card = CharacterCard::from_png_bytes(source);
  json edited = card.to_json();
  const auto out = card.to_png();

  auto without_card = [](const std::vector<uint8_t>& png) {
    auto cs = chunks_of(png);
    std::erase_if(cs, [](const auto& c) {
      return c.first == "tEXt" && (std::memcmp(c.second.data() + 8, "chara", 5) == 0 ||
                                   std::memcmp(c.second.data() + 8, "ccv3", 4) == 0);
    });
    return cs;
  };
  EXPECT_EQ(without_card(out), without_card(source));
  EXPECT_EQ(chunks_of(out).size(), chunks_of(source).size());
  EXPECT_EQ(CharacterCard::from_png_bytes(out).to_json(), edited);
}

TEST(CharacterCard, SaveAndLoadFiles) {
  const auto dir = test::temp_dir();
  const auto card = CharacterCard::from_json(v3_card());
  card.save(dir / "nova.json");
  card.save(dir / "nova.png");
  EXPECT_EQ(CharacterCard::load(dir / "nova.json").to_json(), v3_card());
  EXPECT_EQ(CharacterCard::load(dir / "nova.png").to_json(), v3_card());
  std::filesystem::copy_file(dir / "nova.png", dir / "nova.bin");
  EXPECT_EQ(CharacterCard::load(dir / "nova.bin").name(), "Nova");  // sniffed by signature
  std::ofstream(dir / "nova.charx") << "PK";
  EXPECT_NE(error_of([&] { CharacterCard::load(dir / "nova.charx"); }).find("not a zip"), std::string::npos);
  EXPECT_NE(error_of([&] { card.save(dir / "nova.txt"); }).find(".png or .json"), std::string::npos);
  EXPECT_NE(error_of([&] { CharacterCard::load(dir / "missing.json"); }).find("cannot open"), std::string::npos);
}

TEST(CharacterCard, ReadsCharx) {
  const auto dir = test::temp_dir();
  for (bool squeeze : {false, true}) {
    std::ofstream(dir / "nova.charx", std::ios::binary) << make_zip("card.json", v3_card().dump(), squeeze);
    EXPECT_EQ(CharacterCard::load(dir / "nova.charx").to_json(), v3_card()) << squeeze;
  }
  std::ofstream(dir / "other.charx", std::ios::binary) << make_zip("readme.txt", "hi", false);
  EXPECT_NE(error_of([&] { CharacterCard::load(dir / "other.charx"); }).find("no card.json"), std::string::npos);
  std::string cut = make_zip("card.json", v3_card().dump(), true);
  cut.erase(40, 30);  // the data no longer fits where the directory says
  std::ofstream(dir / "cut.charx", std::ios::binary) << cut;
  EXPECT_THROW(CharacterCard::load(dir / "cut.charx"), std::runtime_error);
  CharacterCard::load(dir / "nova.charx").save(dir / "from_charx.png");
  EXPECT_EQ(CharacterCard::load(dir / "from_charx.png").to_json(), v3_card());
}

TEST(CharacterCard, RejectsMalformedPng) {
  const auto good = CharacterCard::from_json(v2_card()).to_png();
  const std::vector<uint8_t> not_png = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'};
  EXPECT_NE(error_of([&] { CharacterCard::from_png_bytes(not_png); }).find("not a PNG"), std::string::npos);
  const std::vector<uint8_t> truncated(good.begin(), good.begin() + 60);
  EXPECT_NE(error_of([&] { CharacterCard::from_png_bytes(truncated); }).find("malformed PNG"), std::string::npos);
  auto corrupt = good;
  for (const auto& [type, bytes] : chunks_of(good))
    if (type == "IDAT") {
      const auto at = std::search(corrupt.begin(), corrupt.end(), bytes.begin(), bytes.end());
      at[9] ^= 0x55;  // a data byte: the CRC no longer matches
    }
  EXPECT_NE(error_of([&] { CharacterCard::from_png_bytes(corrupt); }).find("malformed PNG"), std::string::npos);
  EXPECT_NE(error_of([&] { CharacterCard::from_png_bytes(png::placeholder_png()); }).find("no character card"),
            std::string::npos);
  const auto bad_b64 = png::replace_text_chunks(png::placeholder_png(), {}, {{"chara", "eyJu!!!"}});
  EXPECT_NE(error_of([&] { CharacterCard::from_png_bytes(bad_b64); }).find("bad base64"), std::string::npos);
  const auto bad_json = png::replace_text_chunks(png::placeholder_png(), {}, {{"ccv3", png::base64_encode("{\"spec\":")}});
  const std::string msg = error_of([&] { CharacterCard::from_png_bytes(bad_json); });
  EXPECT_NE(msg.find("'ccv3' chunk is not valid JSON"), std::string::npos) << msg;
}

// Damaged files either still read or fail with an exception: never a crash or a hang.
TEST(CharacterCard, MutatedPngsNeverCrash) {
  const auto good = CharacterCard::from_json(v3_card()).to_png();
  uint64_t state = 12345;
  auto next = [&] { return state = state * 6364136223846793005ull + 1442695040888963407ull, state >> 33; };
  int rejected = 0;
  for (int round = 0; round < 300; ++round) {
    auto bytes = good;
    for (int flips = 1 + int(next() % 4); flips > 0; --flips) bytes[next() % bytes.size()] ^= uint8_t(1 + next() % 255);
    if (round % 3 == 0) bytes.resize(next() % bytes.size());
    try {
      CharacterCard::from_png_bytes(bytes).to_png();
    } catch (const std::runtime_error&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 100);
}

TEST(CharacterCard, RejectsWrongFieldTypes) {
  auto with = [](const char* key, json value) {
    json j = v2_card();
    j["data"][key] = std::move(value);
    return error_of([&] { CharacterCard::from_json(j); });
  };
  EXPECT_NE(with("name", 5).find("data.name must be a string"), std::string::npos);
  EXPECT_NE(with("alternate_greetings", "hi").find("data.alternate_greetings must be an array"), std::string::npos);
  EXPECT_NE(with("tags", json::array({1})).find("data.tags must be an array of strings"), std::string::npos);
  EXPECT_NE(with("extensions", json::array()).find("data.extensions must be an object"), std::string::npos);
  EXPECT_NE(with("character_book", {{"entries", {{{"keys", "x"}, {"content", 3}}}}}).find("character_book"),
            std::string::npos);
  json no_data = v2_card();
  no_data.erase("data");
  EXPECT_NE(error_of([&] { CharacterCard::from_json(no_data); }).find("missing data"), std::string::npos);
  json bad_spec = v2_card();
  bad_spec["spec"] = "chara_card_v9";
  EXPECT_NE(error_of([&] { CharacterCard::from_json(bad_spec); }).find("unsupported spec"), std::string::npos);
  EXPECT_NE(error_of([] { CharacterCard::from_json(json::array()); }).find("JSON object"), std::string::npos);
  EXPECT_NE(error_of([] { CharacterCard::from_json_text("{oops", "x.json"); }).find("x.json is not valid JSON"),
            std::string::npos);
}

TEST(PngCard, Base64) {
  for (const std::string& s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar", std::string("\0\xff\x10", 3)})
    EXPECT_EQ(png::base64_decode(png::base64_encode(s)), s);
  EXPECT_EQ(png::base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(png::base64_decode("Zm9v\nYmE="), "fooba");
  EXPECT_EQ(png::base64_decode("Zm9vYmE"), "fooba");  // unpadded
  EXPECT_THROW(png::base64_decode("Zm9v*"), std::runtime_error);
  EXPECT_THROW(png::base64_decode("Zm=vYmE="), std::runtime_error);
  EXPECT_THROW(png::base64_decode("Z"), std::runtime_error);
}

}  // namespace
}  // namespace kindred::dialogue
