#include "tokenizer/unicode.h"
#include "util/utf8.h"

#include <utf8proc.h>

#include <algorithm>
#include <array>

namespace kindred::tok {

size_t utf8_sequence_length(std::string_view s, size_t pos) {
  const size_t n = s.size() - pos;
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(s[pos + i]); };
  const auto cont = [&](size_t i) { return i < n && (byte(i) & 0xC0) == 0x80; };
  const uint8_t b0 = byte(0);
  if (b0 < 0x80) return 1;
  if (b0 < 0xC2) return 0;  // continuation byte or overlong 2-byte lead
  if (b0 < 0xE0) return cont(1) ? 2 : 0;
  if (b0 < 0xF0) {
    if (!cont(1) || !cont(2)) return 0;
    if (b0 == 0xE0 && byte(1) < 0xA0) return 0;   // overlong
    if (b0 == 0xED && byte(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (b0 < 0xF5) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (b0 == 0xF0 && byte(1) < 0x90) return 0;   // overlong
    if (b0 == 0xF4 && byte(1) >= 0x90) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

char32_t utf8_decode_at(std::string_view s, size_t pos, size_t length) {
  const auto b = [&](size_t i) { return static_cast<char32_t>(static_cast<uint8_t>(s[pos + i])); };
  switch (length) {
    case 1:
      return b(0);
    case 2:
      return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3:
      return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    default:
      return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
  }
}

void append_utf8(std::string& out, char32_t cp) { util::append_utf8(out, cp); }

std::string utf8_of(char32_t cp) {
  std::string s;
  append_utf8(s, cp);
  return s;
}

size_t incomplete_utf8_tail(std::string_view s) {
  // An unfinished sequence is a lead byte followed by fewer continuation bytes than it needs.
  for (size_t back = 1; back <= 3 && back <= s.size(); ++back) {
    const auto lead = static_cast<uint8_t>(s[s.size() - back]);
    if ((lead & 0xC0) == 0x80) continue;
    if (lead < 0xC2 || lead >= 0xF5) return 0;
    const size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    if (need <= back) return 0;
    if (back >= 2) {  // the second byte narrows the range for these leads
      const auto second = static_cast<uint8_t>(s[s.size() - back + 1]);
      if ((lead == 0xE0 && second < 0xA0) || (lead == 0xED && second >= 0xA0) ||
          (lead == 0xF0 && second < 0x90) || (lead == 0xF4 && second >= 0x90)) {
        return 0;
      }
    }
    return back;
  }
  return 0;
}

std::string sanitize_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t pos = 0; pos < s.size();) {
    const size_t len = utf8_sequence_length(s, pos);
    if (len == 0) {
      append_utf8(out, kReplacementChar);
      ++pos;
    } else {
      out.append(s.substr(pos, len));
      pos += len;
    }
  }
  return out;
}

namespace {

bool is_white_space_property(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

uint16_t compute_flags(char32_t cp) {
  uint16_t f = 0;
  if (is_white_space_property(cp)) f |= kWhitespace;
  if (cp == '\r' || cp == '\n') f |= kNewline;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LT:
      f |= kLetter | kUpperLike;
      break;
    case UTF8PROC_CATEGORY_LL:
      f |= kLetter | kLowerLike;
      break;
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
      f |= kLetter | kUpperLike | kLowerLike;
      break;
    case UTF8PROC_CATEGORY_MN:
      f |= kMark | kUpperLike | kLowerLike | kNonspacingMark;
      break;
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
      f |= kMark | kUpperLike | kLowerLike;
      break;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      f |= kNumber;
      break;
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
      f |= kPunctuation;
      break;
    case UTF8PROC_CATEGORY_SM:
    case UTF8PROC_CATEGORY_SC:
    case UTF8PROC_CATEGORY_SK:
    case UTF8PROC_CATEGORY_SO:
      f |= kSymbol;
      break;
    case UTF8PROC_CATEGORY_CC:
      if (cp != '\t' && cp != '\n' && cp != '\r') f |= kControl;
      break;
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
      f |= kControl;
      break;
    default:
      break;
  }
  return f;
}

// Flags of the first 256 code points, the common case, without a utf8proc call.
const std::array<uint16_t, 256>& latin1_flags() {
  static const std::array<uint16_t, 256> table = [] {
    std::array<uint16_t, 256> t{};
    for (char32_t cp = 0; cp < 256; ++cp) t[cp] = compute_flags(cp);
    return t;
  }();
  return table;
}

// Normalises one well-formed UTF-8 run: decompose and put combining marks in canonical order
// (utf8proc_decompose), then optionally recompose (utf8proc_normalize_utf32).
void normalize_run(std::string_view run, bool compose, std::string& out) {
  if (run.empty()) return;
  const auto options =
      static_cast<utf8proc_option_t>(UTF8PROC_STABLE | (compose ? UTF8PROC_COMPOSE : UTF8PROC_DECOMPOSE));
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(run.data());
  const auto length = static_cast<utf8proc_ssize_t>(run.size());
  std::vector<utf8proc_int32_t> buffer(run.size() + 8);
  utf8proc_ssize_t n =
      utf8proc_decompose(bytes, length, buffer.data(), static_cast<utf8proc_ssize_t>(buffer.size()), options);
  if (n > static_cast<utf8proc_ssize_t>(buffer.size())) {  // decomposition grew past the guess
    buffer.resize(static_cast<size_t>(n));
    n = utf8proc_decompose(bytes, length, buffer.data(), n, options);
  }
  if (n < 0) {  // cannot happen for well-formed input; keep the text rather than lose it
    out.append(run);
    return;
  }
  if (compose) n = utf8proc_normalize_utf32(buffer.data(), n, options);
  for (utf8proc_ssize_t i = 0; i < n; ++i)
    append_utf8(out, static_cast<char32_t>(buffer[static_cast<size_t>(i)]));
}

// Code points below this bound are classified by the table below; the rest are always
// normalised (they are rare: CJK extension G and later).
constexpr char32_t kSimpleTableEnd = 0x30000;

// "Simple" characters pass through NFC unchanged and isolate what surrounds them: combining
// class 0, NFC of the character alone is itself, and never the second half of a canonical
// composition (so nothing before them can absorb them). Text between two simple characters
// normalises independently, which lets NFC skip the (large) runs that need no work.
std::vector<bool> build_simple_table() {
  std::vector<bool> simple(kSimpleTableEnd, true);
  utf8proc_int32_t buf[32];
  const auto options = static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE);
  for (char32_t cp = 0x300; cp < kSimpleTableEnd; ++cp) {
    const auto c = static_cast<utf8proc_int32_t>(cp);
    if (utf8proc_get_property(c)->combining_class != 0) simple[cp] = false;
    int boundclass = 0;
    const utf8proc_ssize_t n = utf8proc_decompose_char(c, buf, 32, options, &boundclass);
    if (n < 0 || n > 32) {
      simple[cp] = false;
      continue;
    }
    if (n == 1 && buf[0] == c) continue;
    // Whatever follows the first character of a decomposition may be a composition's second
    // half (a superset of the true seconds, which only costs speed).
    for (utf8proc_ssize_t i = 1; i < n; ++i) {
      if (static_cast<char32_t>(buf[i]) < kSimpleTableEnd) simple[static_cast<size_t>(buf[i])] = false;
    }
    // Singletons and composition exclusions do not survive NFC.
    const utf8proc_ssize_t m =
        utf8proc_normalize_utf32(buf, n, static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
    if (m != 1 || buf[0] != c) simple[cp] = false;
  }
  // Hangul vowel and trailing jamo compose algorithmically with what precedes them.
  for (char32_t cp = 0x1161; cp <= 0x1175; ++cp) simple[cp] = false;
  for (char32_t cp = 0x11A8; cp <= 0x11C2; ++cp) simple[cp] = false;
  return simple;
}

bool is_simple_for_nfc(char32_t cp) {
  static const std::vector<bool> table = build_simple_table();
  return cp < kSimpleTableEnd && table[cp];
}

std::string normalize(std::string_view text, bool compose) {
  // NFD needs every precomposed character split, so only pure ASCII passes through untouched.
  if (!compose) {
    if (std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
      return std::string(text);
    }
  }
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  size_t segment_start = 0;
  bool dirty = false;  // the current segment holds a character that may change
  const auto flush = [&](size_t end) {
    const std::string_view segment = text.substr(segment_start, end - segment_start);
    if (dirty) {
      normalize_run(segment, compose, out);
    } else {
      out.append(segment);
    }
    segment_start = end;
    dirty = false;
  };
  for (size_t pos = 0; pos < text.size();) {
    const size_t len = utf8_sequence_length(text, pos);
    if (len == 0) {  // a malformed byte passes through untouched and splits the text
      flush(pos);
      out += text[pos];
      segment_start = ++pos;
      continue;
    }
    const char32_t cp = utf8_decode_at(text, pos, len);
    if (compose && (cp < 0x300 || is_simple_for_nfc(cp))) {
      flush(pos);
    } else {
      dirty = true;
    }
    pos += len;
  }
  flush(text.size());
  return out;
}

}  // namespace

uint16_t char_flags(char32_t cp) {
  if (cp < 256) return latin1_flags()[cp];
  return compute_flags(cp);
}

char32_t to_lower(char32_t cp) {
  return static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp)));
}

std::string nfc(std::string_view text) { return normalize(text, true); }
std::string nfd(std::string_view text) { return normalize(text, false); }

namespace {
// Bytes that are printable Latin-1 stand for themselves; the other 68 are shifted to U+0100+n
// in byte order so every byte has a visible, non-whitespace stand-in.
bool byte_is_self(int b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE); }

struct ByteAlphabet {
  std::array<char32_t, 256> to_char{};
  std::array<int16_t, 324> to_byte{};  // indexed by code point, all stand-ins are < U+0144
  ByteAlphabet() {
    to_byte.fill(-1);
    int shifted = 0;
    for (int b = 0; b < 256; ++b) {
      const char32_t cp = byte_is_self(b) ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + shifted++);
      to_char[b] = cp;
      to_byte[cp] = static_cast<int16_t>(b);
    }
  }
};

const ByteAlphabet& byte_alphabet() {
  static const ByteAlphabet alphabet;
  return alphabet;
}
}  // namespace

char32_t byte_to_char(uint8_t byte) { return byte_alphabet().to_char[byte]; }

int char_to_byte(char32_t cp) {
  const auto& table = byte_alphabet().to_byte;
  return cp < table.size() ? table[cp] : -1;
}

}  // namespace kindred::tok
