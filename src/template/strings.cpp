// Python str semantics over UTF-8 bytes. Whitespace is Python's ASCII set plus the common
// Unicode spaces (NBSP, ideographic space, ...) so strip() agrees with Python on chat text.
#include "template/strings.h"

#include <algorithm>

#include "template/value.h"

namespace kindred::tmpl {
namespace {

bool is_ws(std::string_view ch) {
  if (ch.size() == 1) {
    const char c = ch[0];
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1f);
  }
  static const char* spaces[] = {"\xc2\x85", "\xc2\xa0", "\xe1\x9a\x80", "\xe2\x80\x80", "\xe2\x80\x81", "\xe2\x80\x82",
                                 "\xe2\x80\x83", "\xe2\x80\x84", "\xe2\x80\x85", "\xe2\x80\x86", "\xe2\x80\x87",
                                 "\xe2\x80\x88", "\xe2\x80\x89", "\xe2\x80\x8a", "\xe2\x80\xa8", "\xe2\x80\xa9",
                                 "\xe2\x80\xaf", "\xe2\x81\x9f", "\xe3\x80\x80"};
  return std::any_of(std::begin(spaces), std::end(spaces), [&](const char* s) { return ch == s; });
}

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char up(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; }
char down(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

}  // namespace

// Length of the UTF-8 character starting at byte i (1 for stray bytes).
size_t char_len(std::string_view s, size_t i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  const size_t n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
  return std::min(n, s.size() - i);
}

// Start of the UTF-8 character that ends just before byte `end`.
size_t char_start(std::string_view s, size_t end) {
  size_t b = end - 1;
  while (b > 0 && end - b < 4 && (static_cast<unsigned char>(s[b]) & 0xc0) == 0x80) --b;
  return b;
}

std::string strip(std::string_view s, const std::string* chars, bool left, bool right) {
  // Scans characters from both ends only, so stripping a long message costs nothing extra.
  std::vector<std::string_view> set;
  if (chars) set = utf8_chars(*chars);
  auto strippable = [&](std::string_view c) {
    return chars ? std::find(set.begin(), set.end(), c) != set.end() : is_ws(c);
  };
  size_t b = 0, e = s.size();
  if (left) {
    while (b < e) {
      const size_t n = char_len(s, b);
      if (!strippable(s.substr(b, n))) break;
      b += n;
    }
  }
  if (right) {
    while (e > b) {
      const size_t st = std::max(char_start(s, e), b);
      if (!strippable(s.substr(st, e - st))) break;
      e = st;
    }
  }
  return std::string(s.substr(b, e - b));
}

std::vector<std::string> split(std::string_view s, const std::string* sep, int64_t maxsplit, bool from_right) {
  std::vector<std::string> out;
  if (sep) {
    if (sep->empty()) throw TemplateError("empty separator");
    if (!from_right) {
      size_t p = 0;
      while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
        const size_t at = s.find(*sep, p);
        if (at == std::string_view::npos) break;
        out.emplace_back(s.substr(p, at - p));
        p = at + sep->size();
      }
      out.emplace_back(s.substr(p));
      return out;
    }
    size_t end = s.size();
    int64_t n = 0;
    while (maxsplit < 0 || n < maxsplit) {
      if (end < sep->size()) break;
      const size_t at = s.rfind(*sep, end - sep->size());
      if (at == std::string_view::npos) break;
      out.emplace_back(s.substr(at + sep->size(), end - at - sep->size()));
      end = at;
      ++n;
    }
    out.emplace_back(s.substr(0, end));
    std::reverse(out.begin(), out.end());
    return out;
  }
  // Whitespace splitting: runs of whitespace separate, empty strings never appear.
  const auto cs = utf8_chars(s);
  std::vector<std::pair<size_t, size_t>> words;  // char index ranges
  for (size_t k = 0; k < cs.size();) {
    while (k < cs.size() && is_ws(cs[k])) ++k;
    if (k == cs.size()) break;
    size_t e = k;
    while (e < cs.size() && !is_ws(cs[e])) ++e;
    words.emplace_back(k, e);
    k = e;
  }
  auto text = [&](size_t b, size_t e) {
    const size_t from = static_cast<size_t>(cs[b].data() - s.data());
    const size_t to = static_cast<size_t>(cs[e - 1].data() + cs[e - 1].size() - s.data());
    return std::string(s.substr(from, to - from));
  };
  const size_t limit = maxsplit < 0 ? words.size() : std::min(words.size(), static_cast<size_t>(maxsplit) + 1);
  if (limit == words.size()) {
    for (auto [b, e] : words) out.push_back(text(b, e));
    return out;
  }
  if (!from_right) {
    for (size_t k = 0; k + 1 < limit; ++k) out.push_back(text(words[k].first, words[k].second));
    out.push_back(strip(text(words[limit - 1].first, cs.size()), nullptr, false, true));
  } else {
    const size_t first = words.size() - (limit - 1);
    out.push_back(strip(text(0, words[first - 1].second), nullptr, true, false));
    for (size_t k = first; k < words.size(); ++k) out.push_back(text(words[k].first, words[k].second));
  }
  return out;
}

std::vector<std::string> split_lines(std::string_view s) {
  std::vector<std::string> out;
  size_t b = 0;
  for (size_t k = 0; k < s.size(); ++k) {
    if (s[k] == '\n' || s[k] == '\r') {
      out.emplace_back(s.substr(b, k - b));
      if (s[k] == '\r' && k + 1 < s.size() && s[k + 1] == '\n') ++k;
      b = k + 1;
    }
  }
  if (b < s.size()) out.emplace_back(s.substr(b));
  return out;
}

namespace {

// Simple case mapping for Latin-1, Latin Extended-A, Greek and Cyrillic (other scripts unchanged).
uint32_t map_case(uint32_t c, bool upper) {
  if (upper) {
    if (c >= 'a' && c <= 'z') return c - 32;
    if ((c >= 0xe0 && c <= 0xfe && c != 0xf7) || (c >= 0x3b1 && c <= 0x3c9 && c != 0x3c2) || (c >= 0x430 && c <= 0x44f)) return c - 0x20;
    if (c == 0x3c2) return 0x3a3;
    if (c >= 0x450 && c <= 0x45f) return c - 0x50;
    if (((c >= 0x100 && c <= 0x137) || (c >= 0x14a && c <= 0x177)) && (c & 1)) return c - 1;
    if (((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e)) && !(c & 1)) return c - 1;
    return c;
  }
  if (c >= 'A' && c <= 'Z') return c + 32;
  if ((c >= 0xc0 && c <= 0xde && c != 0xd7) || (c >= 0x391 && c <= 0x3a9 && c != 0x3a2) || (c >= 0x410 && c <= 0x42f)) return c + 0x20;
  if (c >= 0x400 && c <= 0x40f) return c + 0x50;
  if (((c >= 0x100 && c <= 0x137) || (c >= 0x14a && c <= 0x177)) && !(c & 1)) return c + 1;
  if (((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e)) && (c & 1)) return c + 1;
  return c;
}

std::string change_case(std::string_view s, bool upper) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out += static_cast<char>(upper ? up(static_cast<char>(c)) : down(static_cast<char>(c)));
      ++i;
      continue;
    }
    // Only two-byte sequences (U+0080..U+07FF) hold the scripts mapped above.
    if ((c & 0xe0) == 0xc0 && i + 1 < s.size() && (static_cast<unsigned char>(s[i + 1]) & 0xc0) == 0x80) {
      const uint32_t cp = ((c & 0x1fu) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3fu);
      const uint32_t m = map_case(cp, upper);
      out += static_cast<char>(0xc0 | (m >> 6));
      out += static_cast<char>(0x80 | (m & 0x3f));
      i += 2;
      continue;
    }
    out += static_cast<char>(c);
    ++i;
  }
  return out;
}

}  // namespace

std::string to_upper(std::string_view s) { return change_case(s, true); }

std::string to_lower(std::string_view s) { return change_case(s, false); }

std::string python_title(std::string_view s) {
  std::string out(s);
  bool prev_cased = false;
  for (char& c : out) {
    if (is_alpha(c)) {
      c = prev_cased ? down(c) : up(c);
      prev_cased = true;
    } else {
      prev_cased = (static_cast<unsigned char>(c) & 0x80) != 0 && prev_cased;
    }
  }
  return out;
}

std::string jinja_title(std::string_view s) {
  // Words begin after '-', whitespace or an opening bracket; each is capitalized.
  std::string out(s);
  bool start = true;
  for (char& c : out) {
    const bool sep = c == '-' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '(' || c == '{' ||
                     c == '[' || c == '<';
    if (sep) {
      start = true;
      continue;
    }
    c = start ? up(c) : down(c);
    start = false;
  }
  return out;
}

std::string capitalize(std::string_view s) {
  std::string out = to_lower(s);
  if (!out.empty()) out[0] = up(out[0]);
  return out;
}

std::string replace(std::string_view s, std::string_view old, std::string_view with, int64_t count) {
  std::string out;
  if (old.empty()) {
    // Python inserts `with` around every character.
    int64_t n = 0;
    for (auto c : utf8_chars(s)) {
      if (count < 0 || n++ < count) out += with;
      out += c;
    }
    if (count < 0 || n < count) out += with;
    return out;
  }
  size_t p = 0;
  int64_t n = 0;
  while (count < 0 || n < count) {
    const size_t at = s.find(old, p);
    if (at == std::string_view::npos) break;
    out.append(s.substr(p, at - p));
    out.append(with);
    p = at + old.size();
    ++n;
  }
  out.append(s.substr(p));
  return out;
}

size_t count_substr(std::string_view s, std::string_view sub) {
  if (sub.empty()) return utf8_length(s) + 1;
  size_t n = 0;
  for (size_t p = s.find(sub); p != std::string_view::npos; p = s.find(sub, p + sub.size())) ++n;
  return n;
}

}  // namespace kindred::tmpl
