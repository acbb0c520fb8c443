// PNG text chunks and base64 for character cards: libpng validates and decodes the image, a
// chunk-level copier rewrites only the card chunks so every other byte of the image survives.
#include "dialogue/png_card.h"

#include <openssl/evp.h>
#include <png.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace kindred::dialogue::png {
namespace {

constexpr uint8_t kSignature[8] = {137, 'P', 'N', 'G', 13, 10, 26, 10};

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("PNG card: " + what); }

bool is_text_chunk(const char* type) {
  return !std::memcmp(type, "tEXt", 4) || !std::memcmp(type, "zTXt", 4) || !std::memcmp(type, "iTXt", 4);
}

uint32_t read_be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

void append_be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(uint8_t(v >> s));
}

void append_chunk(std::vector<uint8_t>& out, const char* type, std::string_view data) {
  if (data.size() > 0x7fffffffu) fail("chunk too large to write");
  append_be32(out, uint32_t(data.size()));
  const size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  const uLong crc = crc32(0L, out.data() + start, uInt(out.size() - start));
  append_be32(out, uint32_t(crc));
}

// libpng reports errors by longjmp; the message is kept here so the caller can throw it after
// the jump, outside any frame that owns C++ objects.
struct IoState {
  std::span<const uint8_t> in;
  size_t pos = 0;
  std::vector<uint8_t>* out = nullptr;
  char error[256] = {};
};

void on_error(png_structp png, png_const_charp msg) {
  auto* st = static_cast<IoState*>(png_get_error_ptr(png));
  std::snprintf(st->error, sizeof st->error, "%s", msg ? msg : "unknown libpng error");
  png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {}  // ancillary problems are not fatal for a card

void on_read(png_structp png, png_bytep dst, png_size_t n) {
  auto* st = static_cast<IoState*>(png_get_io_ptr(png));
  if (n > st->in.size() - st->pos) png_error(png, "file is truncated");
  std::memcpy(dst, st->in.data() + st->pos, n);
  st->pos += n;
}

void on_write(png_structp png, png_bytep src, png_size_t n) {
  auto* out = static_cast<IoState*>(png_get_io_ptr(png))->out;
  out->insert(out->end(), src, src + n);
}

void on_flush(png_structp) {}

// Only plain data lives in this frame, so a longjmp out of libpng skips no destructor.
bool decode_all(png_structp png, png_infop info, png_infop end, std::vector<uint8_t>* row) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_info(png, info);
  const int passes = png_set_interlace_handling(png);
  png_read_update_info(png, info);
  row->resize(png_get_rowbytes(png, info));
  const png_uint_32 height = png_get_image_height(png, info);
  for (int p = 0; p < passes; ++p)
    for (png_uint_32 y = 0; y < height; ++y) png_read_row(png, row->data(), nullptr);
  png_read_end(png, end);
  return true;
}

bool encode_placeholder(png_structp png, png_infop info, const uint8_t* pixels, int side) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_IHDR(png, info, side, side, 8, PNG_COLOR_TYPE_RGBA, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < side; ++y) png_write_row(png, pixels + size_t(y) * side * 4);
  png_write_end(png, nullptr);
  return true;
}

void collect_text(png_structp png, png_infop info, std::map<std::string, std::string>& out) {
  png_textp text = nullptr;
  int n = 0;
  png_get_text(png, info, &text, &n);
  for (int i = 0; i < n; ++i) {
    const size_t len = text[i].compression >= PNG_ITXT_COMPRESSION_NONE ? text[i].itxt_length : text[i].text_length;
    out.emplace(text[i].key, std::string(text[i].text ? text[i].text : "", len));
  }
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), int(bytes.size()));
  out.resize(size_t(n));
  return out;
}

std::string base64_decode(std::string_view text) {
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                    c == '/' || c == '=';
    if (!ok) throw std::runtime_error("bad base64: invalid character '" + std::string(1, c) + "'");
    clean += c;
  }
  // Some writers drop the padding; restore it so the length check below stays strict.
  if (clean.size() % 4 == 2) clean += "==";
  else if (clean.size() % 4 == 3) clean += "=";
  if (clean.size() % 4 != 0) throw std::runtime_error("bad base64: length is not a multiple of 4");
  const size_t first_pad = clean.find('=');
  size_t pad = 0;
  if (first_pad != std::string::npos) {
    pad = clean.size() - first_pad;
    if (pad > 2 || clean.find_first_not_of('=', first_pad) != std::string::npos)
      throw std::runtime_error("bad base64: misplaced padding");
  }
  std::string out(clean.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(clean.data()), int(clean.size()));
  if (n < 0) throw std::runtime_error("bad base64: decoding failed");
  out.resize(size_t(n) - pad);
  return out;
}

std::map<std::string, std::string> read_text_chunks(std::span<const uint8_t> bytes) {
  if (bytes.size() < 8 || std::memcmp(bytes.data(), kSignature, 8) != 0) fail("not a PNG file (bad signature)");
  IoState st{.in = bytes};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &st, on_error, on_warning);
  if (!png) fail("libpng could not start");
  png_infop info = png_create_info_struct(png);
  png_infop end = png_create_info_struct(png);
  png_set_read_fn(png, &st, on_read);
  png_set_chunk_malloc_max(png, 256u << 20);  // large lorebooks make multi-megabyte text chunks
  png_set_user_limits(png, 1u << 15, 1u << 15);
  std::vector<uint8_t> row;
  std::map<std::string, std::string> texts;
  const bool ok = info && end && decode_all(png, info, end, &row);
  if (ok) {
    collect_text(png, info, texts);
    collect_text(png, end, texts);
  }
  png_destroy_read_struct(&png, &info, &end);
  if (!ok) fail(std::string("malformed PNG: ") + (st.error[0] ? st.error : "out of memory"));
  return texts;
}

std::vector<uint8_t> replace_text_chunks(std::span<const uint8_t> bytes, const std::vector<std::string>& drop,
                                         const std::vector<std::pair<std::string, std::string>>& add) {
  if (bytes.size() < 8 || std::memcmp(bytes.data(), kSignature, 8) != 0) fail("not a PNG file (bad signature)");
  std::vector<uint8_t> out(bytes.begin(), bytes.begin() + 8);
  size_t pos = 8;
  bool seen_end = false;
  while (!seen_end) {
    if (bytes.size() - pos < 12) fail("truncated chunk at byte " + std::to_string(pos));
    const uint32_t len = read_be32(bytes.data() + pos);
    if (len > 0x7fffffffu || bytes.size() - pos - 12 < len) fail("chunk length runs past the end of the file");
    const char* type = reinterpret_cast<const char*>(bytes.data() + pos + 4);
    const uint8_t* data = bytes.data() + pos + 8;
    if (crc32(0L, bytes.data() + pos + 4, len + 4) != read_be32(data + len))
      fail("CRC mismatch in chunk '" + std::string(type, 4) + "'");
    if (pos == 8 && std::memcmp(type, "IHDR", 4) != 0) fail("first chunk is not IHDR");
    seen_end = !std::memcmp(type, "IEND", 4);
    if (seen_end)
      for (const auto& [key, text] : add) append_chunk(out, "tEXt", key + std::string(1, '\0') + text);
    bool keep = true;
    if (is_text_chunk(type)) {
      const auto* nul = static_cast<const uint8_t*>(std::memchr(data, 0, len));
      const std::string key(reinterpret_cast<const char*>(data), nul ? size_t(nul - data) : len);
      keep = std::find(drop.begin(), drop.end(), key) == drop.end();
    }
    if (keep) out.insert(out.end(), bytes.begin() + pos, bytes.begin() + pos + 12 + len);
    pos += 12 + size_t(len);
  }
  return out;
}

std::vector<uint8_t> placeholder_png() {
  constexpr int kSide = 8;
  std::vector<uint8_t> pixels(kSide * kSide * 4);
  // A soft two-tone square: enough for a viewer to show something rather than nothing.
  for (int y = 0; y < kSide; ++y)
    for (int x = 0; x < kSide; ++x) {
      uint8_t* p = &pixels[size_t(y * kSide + x) * 4];
      const bool light = (x / 4 + y / 4) % 2 == 0;
      p[0] = light ? 200 : 120, p[1] = light ? 170 : 90, p[2] = light ? 230 : 160, p[3] = 255;
    }
  std::vector<uint8_t> out;
  IoState st{.out = &out};
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &st, on_error, on_warning);
  if (!png) fail("libpng could not start");
  png_infop info = png_create_info_struct(png);
  png_set_write_fn(png, &st, on_write, on_flush);
  const bool ok = info && encode_placeholder(png, info, pixels.data(), kSide);
  png_destroy_write_struct(&png, &info);
  if (!ok) fail(std::string("could not write placeholder image: ") + st.error);
  return out;
}

}  // namespace kindred::dialogue::png
