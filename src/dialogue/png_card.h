// PNG and base64 plumbing for character cards (private to dialogue/).
//
// A card travels inside a PNG as a `tEXt` chunk whose keyword is `chara` (V1/V2 JSON) or `ccv3`
// (V3 JSON) and whose text is the UTF-8 JSON encoded as base64. The PNG layout is the standard
// one: an 8-byte signature, then chunks of {u32 big-endian length, 4-byte type, data, u32 CRC-32
// over type+data}, IHDR first and IEND last. Everything here validates its input and throws
// std::runtime_error with a message naming the problem; nothing trusts lengths or CRCs.
#pragma once
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace kindred::dialogue::png {

// Standard base64 (RFC 4648, with padding). decode ignores ASCII whitespace and throws on any
// other non-alphabet character, a bad length or misplaced padding.
std::string base64_encode(std::string_view bytes);
std::string base64_decode(std::string_view text);

// Decodes the whole image with libpng (so a corrupt file is rejected, not half-read) and returns
// every tEXt/zTXt/iTXt chunk as keyword → text (the first chunk wins for a repeated keyword).
std::map<std::string, std::string> read_text_chunks(std::span<const uint8_t> png);

// Copies `png` chunk by chunk, byte for byte, dropping text chunks whose keyword is in `drop`,
// and inserts `add` (keyword, text) as new tEXt chunks just before IEND.
std::vector<uint8_t> replace_text_chunks(std::span<const uint8_t> png, const std::vector<std::string>& drop,
                                         const std::vector<std::pair<std::string, std::string>>& add);

// A small valid RGBA image (written with libpng) to carry a card that came without one.
std::vector<uint8_t> placeholder_png();

}  // namespace kindred::dialogue::png
