// Macro expansion: one left-to-right pass; a `{{` opens a macro that ends at its matching `}}`,
// inner macros are expanded first, and unknown names are written back untouched.
#include "dialogue/macros.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <vector>

namespace kindred::dialogue {
namespace {

// splitmix64: a tiny, well-mixed hash so choices are reproducible across platforms.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t hash_text(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  return std::string(s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1));
}

// "a,b\,c" → {a, "b,c"}; "::a::b" → {a, b}.
std::vector<std::string> split_choices(std::string_view args) {
  std::vector<std::string> out;
  if (args.substr(0, 1) == ":") {
    args.remove_prefix(1);
    size_t start = 0;
    while (true) {
      const size_t sep = args.find("::", start);
      out.emplace_back(args.substr(start, sep == std::string_view::npos ? std::string_view::npos : sep - start));
      if (sep == std::string_view::npos) break;
      start = sep + 2;
    }
    return out;
  }
  std::string cur;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == '\\' && i + 1 < args.size() && args[i + 1] == ',') {
      cur += ',';
      ++i;
    } else if (args[i] == ',') {
      out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += args[i];
    }
  }
  out.push_back(std::move(cur));
  return out;
}

// "20", "d20", "2d6+1", "d6-1" → total, or nothing when the expression is not a dice roll.
std::optional<long long> roll(std::string_view expr, uint64_t state) {
  std::string e = lower(trim(expr));
  long long count = 1, sides = 0, bonus = 0;
  auto num = [](std::string_view s, long long& v) {
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && p == s.data() + s.size();
  };
  const size_t d = e.find('d');
  std::string_view rest = e;
  if (d != std::string::npos) {
    if (d > 0 && !num(std::string_view(e).substr(0, d), count)) return std::nullopt;
    rest = std::string_view(e).substr(d + 1);
  }
  const size_t sign = rest.find_first_of("+-");
  if (sign != std::string_view::npos) {
    if (!num(rest.substr(sign + 1), bonus)) return std::nullopt;
    if (rest[sign] == '-') bonus = -bonus;
    rest = rest.substr(0, sign);
  }
  if (!num(rest, sides) || sides < 1 || count < 1 || count > 1000 || sides > 1'000'000'000) return std::nullopt;
  long long total = bonus;
  for (long long i = 0; i < count; ++i) total += 1 + (long long)((state = mix(state)) % uint64_t(sides));
  return total;
}

class Expander {
 public:
  explicit Expander(const MacroContext& ctx) : ctx_(ctx) {}

  std::string run(std::string_view text) {
    pair_braces(text);
    std::string out = expand(text, 0, 0);
    return apply_trim(out);
  }

 private:
  // `base` is the offset of `text` in the original, so {{pick}} is keyed by its position.
  std::string expand(std::string_view text, size_t base, int depth) {
    std::string out;
    size_t i = 0;
    while (i < text.size()) {
      // Nesting deeper than any real card is written back verbatim rather than recursed into.
      if (text.compare(i, 2, "{{") == 0 && close_of_[base + i] != kNone && depth < kMaxNesting) {
        const size_t close = close_of_[base + i] - base;
        const std::string inner = expand(text.substr(i + 2, close - i - 2), base + i + 2, depth + 1);
        const auto value = evaluate(inner, base + i);
        out += value ? *value : std::string(text.substr(i, close + 2 - i));
        i = close + 2;
        continue;
      }
      if (text[i] == '<') {
        const std::string tag = lower(text.substr(i, 6));
        if (tag.rfind("<bot>", 0) == 0 || tag.rfind("<char>", 0) == 0) {
          out += ctx_.char_name;
          i += tag.rfind("<bot>", 0) == 0 ? 5 : 6;
          continue;
        }
        if (tag.rfind("<user>", 0) == 0) {
          out += ctx_.user_name;
          i += 6;
          continue;
        }
      }
      out += text[i++];
    }
    return out;
  }

  // One pass with a stack pairs every `{{` with its `}}` (positions in the original text), so
  // unclosed braces cost linear time rather than a rescan each.
  void pair_braces(std::string_view text) {
    close_of_.assign(text.size(), kNone);
    std::vector<size_t> open;
    for (size_t j = 0; j + 1 < text.size(); ++j) {
      if (text.compare(j, 2, "{{") == 0) {
        open.push_back(j++);
      } else if (text.compare(j, 2, "}}") == 0 && !open.empty()) {
        close_of_[open.back()] = j++;
        open.pop_back();
      }
    }
  }

  std::optional<std::string> evaluate(const std::string& body, size_t pos) {
    const size_t colon = body.find(':');
    const std::string name = lower(trim(body.substr(0, colon)));
    const std::string_view args =
        colon == std::string::npos ? std::string_view() : std::string_view(body).substr(colon + 1);
    if (body.rfind("//", 0) == 0) return "";
    if (colon == std::string::npos) {
      if (name == "char") return ctx_.char_name;
      if (name == "user") return ctx_.user_name;
      if (name == "newline") return "\n";
      if (name == "noop") return "";
      if (name == "trim") return std::string(kTrimMark);
    } else {
      if (name == "comment" || name == "hidden_key") return "";
      if (name == "reverse") return std::string(args.rbegin(), args.rend());
      if (name == "random" || name == "pick") {
        const auto choices = split_choices(args);
        // random: new per nonce and per occurrence; pick: fixed for this seed and text position.
        const uint64_t state = name == "random" ? mix(ctx_.seed ^ mix(ctx_.nonce ^ mix(++random_count_)))
                                                : mix(ctx_.seed ^ mix(pos ^ hash_text(body)));
        return choices[state % choices.size()];
      }
      if (name == "roll")
        if (auto total = roll(args, mix(ctx_.seed ^ mix(ctx_.nonce ^ mix(++random_count_ + (1ull << 40))))))
          return std::to_string(*total);
    }
    return std::nullopt;  // unknown: the caller writes the original text back
  }

  // {{trim}} removes the whitespace on both sides of where it stood.
  static std::string apply_trim(std::string s) {
    for (size_t at; (at = s.find(kTrimMark)) != std::string::npos;) {
      size_t b = at, e = at + kTrimMark.size();
      while (b > 0 && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
      while (e < s.size() && std::isspace(static_cast<unsigned char>(s[e]))) ++e;
      s.erase(b, e - b);
    }
    return s;
  }

  static constexpr std::string_view kTrimMark = "\x01trim\x01";
  static constexpr size_t kNone = std::string_view::npos;
  static constexpr int kMaxNesting = 16;
  std::vector<size_t> close_of_;  // original position of `{{` → position of its `}}`
  const MacroContext& ctx_;
  uint64_t random_count_ = 0;
};

}  // namespace

std::string expand_macros(std::string_view text, const MacroContext& ctx) { return Expander(ctx).run(text); }

}  // namespace kindred::dialogue
