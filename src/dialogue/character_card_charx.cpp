// Reads card.json out of a .charx zip: central directory lookup, then stored or raw-deflate data
// inflated with zlib. Every offset and size is checked against the buffer before use.
#include "dialogue/character_card_charx.h"

#include <zlib.h>

#include <stdexcept>

namespace kindred::dialogue::charx {
namespace {

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("CHARX card: " + what); }

uint32_t le(std::span<const uint8_t> b, size_t at, int bytes) {
  if (at > b.size() || b.size() - at < size_t(bytes)) fail("archive is truncated");
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | b[at + size_t(i)];
  return v;
}

constexpr size_t kMaxCardBytes = 256u << 20;

std::string inflate_raw(std::span<const uint8_t> in, size_t expected) {
  if (expected > kMaxCardBytes) fail("card.json is too large");
  std::string out(expected, '\0');
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) fail("zlib could not start");
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = uInt(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  const int rc = inflate(&z, Z_FINISH);
  const size_t produced = z.total_out;
  inflateEnd(&z);
  if (rc != Z_STREAM_END || produced != expected) fail("card.json is not valid deflate data");
  return out;
}

}  // namespace

std::string read_card_json(std::span<const uint8_t> zip) {
  if (zip.size() < 22) fail("not a zip archive (too short)");
  // The EOCD record sits in the last 22 + 65535 (max comment) bytes.
  size_t eocd = std::string::npos;
  const size_t lowest = zip.size() > 22 + 65535 ? zip.size() - 22 - 65535 : 0;
  for (size_t at = zip.size() - 22 + 1; at-- > lowest;)
    if (le(zip, at, 4) == 0x06054b50) {
      eocd = at;
      break;
    }
  if (eocd == std::string::npos) fail("not a zip archive (no end of central directory)");
  const uint32_t entries = le(zip, eocd + 10, 2), dir_offset = le(zip, eocd + 16, 4);
  if (dir_offset == 0xffffffffu || entries == 0xffffu) fail("zip64 archives are not supported");
  size_t at = dir_offset;
  for (uint32_t i = 0; i < entries; ++i) {
    if (le(zip, at, 4) != 0x02014b50) fail("corrupt central directory");
    const uint32_t flags = le(zip, at + 8, 2), method = le(zip, at + 10, 2);
    const uint32_t csize = le(zip, at + 20, 4), usize = le(zip, at + 24, 4);
    const uint32_t name_len = le(zip, at + 28, 2), extra_len = le(zip, at + 30, 2), comment_len = le(zip, at + 32, 2);
    const uint32_t local = le(zip, at + 42, 4);
    if (zip.size() - (at + 46) < name_len) fail("archive is truncated");
    const std::string name(reinterpret_cast<const char*>(zip.data() + at + 46), name_len);
    at += 46 + size_t(name_len) + extra_len + comment_len;
    if (name != "card.json") continue;
    if (flags & 1) fail("encrypted archives are not supported");
    if (le(zip, local, 4) != 0x04034b50) fail("corrupt local header for card.json");
    const size_t data = size_t(local) + 30 + le(zip, local + 26, 2) + le(zip, local + 28, 2);
    if (data > zip.size() || zip.size() - data < csize) fail("card.json runs past the end of the archive");
    const auto bytes = zip.subspan(data, csize);
    if (method == 0) {
      if (csize != usize) fail("stored card.json has inconsistent sizes");
      return std::string(bytes.begin(), bytes.end());
    }
    if (method == 8) return inflate_raw(bytes, usize);
    fail("card.json uses unsupported compression method " + std::to_string(method));
  }
  fail("the archive has no card.json at its root");
}

}  // namespace kindred::dialogue::charx
