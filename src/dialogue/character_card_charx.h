// CHARX (Character Card V3's zip container) reading, private to dialogue/.
//
// A .charx file is a zip archive with the card as `card.json` at its root (assets beside it).
// Zip layout used here: the End Of Central Directory record (signature PK\5\6, 22 bytes + comment)
// at the end gives the central directory's offset and entry count; each central entry (PK\1\2)
// gives the name, method, sizes and the offset of a local header (PK\3\4, 30 bytes + name +
// extra) that precedes the data. Stored (0) and deflate (8) entries are read; zip64, encryption
// and multi-disk archives are rejected with a message.
#pragma once
#include <cstdint>
#include <span>
#include <string>

namespace kindred::dialogue::charx {

// The text of `card.json` inside the archive; throws std::runtime_error naming the problem.
std::string read_card_json(std::span<const uint8_t> zip);

}  // namespace kindred::dialogue::charx
