// Template lexer. Whitespace rules (Jinja2 with trim_blocks and lstrip_blocks):
// - `{%-`/`{{-`/`{#-` strip all whitespace before the tag; `-%}`/`-}}`/`-#}` all after it;
// - a block or comment tag without `+` eats spaces/tabs before it back to the line start
//   (lstrip_blocks) and, unless it ends with `+%}`, one newline after it (trim_blocks).
#include "template/lexer.h"

#include <algorithm>
#include <cstring>

#include "template/chat_template.h"

namespace kindred::tmpl {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

class Lexer {
 public:
  explicit Lexer(std::string_view src) {
    // Python's splitlines() + "\n".join: CR LF and lone CR become LF, one final newline is dropped.
    src_.reserve(src.size());
    for (size_t k = 0; k < src.size(); ++k) {
      if (src[k] == '\r') {
        src_ += '\n';
        if (k + 1 < src.size() && src[k + 1] == '\n') ++k;
      } else {
        src_ += src[k];
      }
    }
    if (!src_.empty() && src_.back() == '\n') src_.pop_back();
    for (size_t k = 0; k < src_.size(); ++k)
      if (src_[k] == '\n') line_starts_.push_back(k + 1);
  }

  std::vector<Token> run() {
    size_t pos = 0;
    bool line_starting = true;
    const size_t n = src_.size();
    while (pos < n) {
      size_t tag = pos;
      while (true) {
        tag = src_.find('{', tag);
        if (tag == std::string::npos || tag + 1 >= n) {
          tag = n;
          break;
        }
        const char c = src_[tag + 1];
        if (c == '{' || c == '%' || c == '#') break;
        ++tag;
      }
      std::string text = src_.substr(pos, tag - pos);
      if (tag == n) {
        emit_text(std::move(text), pos);
        break;
      }
      const char kind = src_[tag + 1];
      const char sign = tag + 2 < n ? src_[tag + 2] : '\0';
      strip_before(text, kind, sign, line_starting);
      emit_text(std::move(text), pos);
      size_t p = tag + 2 + ((sign == '-' || sign == '+') ? 1 : 0);
      if (kind == '#') {
        size_t end = src_.find("#}", p);
        if (end == std::string::npos) fail(tag, "unterminated comment");
        const char esign = end > p ? src_[end - 1] : '\0';
        pos = after_tag(end + 2, esign, true);
      } else if (kind == '{') {
        push(Token::T::VarBegin, tag);
        pos = expression(p, '}', tag);
      } else {
        if (raw_block(p, tag, pos)) {
          line_starting = pos > 0 && src_[pos - 1] == '\n';
          continue;
        }
        push(Token::T::BlockBegin, tag);
        pos = expression(p, '%', tag);
      }
      line_starting = pos > 0 && src_[pos - 1] == '\n';
    }
    Token eof;
    eof.t = Token::T::Eof;
    set_pos(eof, n);
    toks_.push_back(eof);
    return std::move(toks_);
  }

 private:
  [[noreturn]] void fail(size_t offset, const std::string& msg) const {
    Token t;
    set_pos(t, offset);
    throw TemplateError("line " + std::to_string(t.line) + ", column " + std::to_string(t.col) + ": " + msg);
  }

  void set_pos(Token& t, size_t offset) const {
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    t.line = static_cast<int>(it - line_starts_.begin()) + 1;
    t.col = static_cast<int>(offset - (it == line_starts_.begin() ? 0 : *(it - 1))) + 1;
  }

  void push(Token::T type, size_t offset, std::string s = {}) {
    Token t;
    t.t = type;
    t.s = std::move(s);
    set_pos(t, offset);
    toks_.push_back(std::move(t));
  }

  void emit_text(std::string text, size_t offset) {
    if (!text.empty()) push(Token::T::Text, offset, std::move(text));
  }

  static void strip_before(std::string& text, char kind, char sign, bool line_starting) {
    if (sign == '-') {
      size_t e = text.size();
      while (e > 0 && is_space(text[e - 1])) --e;
      text.resize(e);
    } else if (sign != '+' && kind != '{') {
      // lstrip_blocks: only when the tag is the first non-blank thing on its line.
      const size_t nl = text.rfind('\n');
      const size_t l = nl == std::string::npos ? 0 : nl + 1;
      if (l > 0 || line_starting) {
        bool blank = l < text.size();
        for (size_t k = l; k < text.size(); ++k) blank = blank && is_space(text[k]);
        if (blank) text.resize(l);
      }
    }
  }

  // Position after a closing tag whose modifier is esign: `-` eats all whitespace, `+` nothing,
  // otherwise trim_blocks eats one newline (block and comment tags only).
  size_t after_tag(size_t p, char esign, bool trim) const {
    if (esign == '-') {
      while (p < src_.size() && is_space(src_[p])) ++p;
    } else if (esign != '+' && trim && p < src_.size() && src_[p] == '\n') {
      ++p;
    }
    return p;
  }

  // `{% raw %}...{% endraw %}`: the body is text, never evaluated.
  bool raw_block(size_t p, size_t tag, size_t& pos) {
    size_t q = p;
    while (q < src_.size() && is_space(src_[q])) ++q;
    if (src_.compare(q, 3, "raw") != 0) return false;
    q += 3;
    while (q < src_.size() && is_space(src_[q])) ++q;
    char esign = '\0';
    if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) esign = src_[q++];
    if (src_.compare(q, 2, "%}") != 0) return false;
    const size_t body = after_tag(q + 2, esign, true);
    for (size_t s = body;; ++s) {
      s = src_.find("{%", s);
      if (s == std::string::npos) fail(tag, "unterminated raw block (missing {% endraw %})");
      size_t r = s + 2;
      const char bsign = r < src_.size() ? src_[r] : '\0';
      if (bsign == '-' || bsign == '+') ++r;
      while (r < src_.size() && is_space(src_[r])) ++r;
      if (src_.compare(r, 6, "endraw") != 0) continue;
      r += 6;
      while (r < src_.size() && is_space(src_[r])) ++r;
      char es = '\0';
      if (r < src_.size() && (src_[r] == '-' || src_[r] == '+')) es = src_[r++];
      if (src_.compare(r, 2, "%}") != 0) continue;
      std::string text = src_.substr(body, s - body);
      strip_before(text, '%', bsign, body > 0 && src_[body - 1] == '\n');
      emit_text(std::move(text), body);
      pos = after_tag(r + 2, es, true);
      return true;
    }
  }

  // Tokenizes an expression up to the closing `}}` (close = '}') or `%}` (close = '%').
  size_t expression(size_t p, char close, size_t tag) {
    int depth = 0;
    const size_t n = src_.size();
    while (true) {
      while (p < n && is_space(src_[p])) ++p;
      if (p >= n) fail(tag, close == '}' ? "unexpected end of template, expected '}}'" : "unexpected end of template, expected '%}'");
      const char c = src_[p];
      if (depth == 0) {
        char esign = '\0';
        size_t q = p;
        if ((c == '-' || c == '+') && p + 1 < n) {
          esign = c;
          ++q;
        }
        if (src_[q] == close && q + 1 < n && src_[q + 1] == '}') {
          push(close == '}' ? Token::T::VarEnd : Token::T::BlockEnd, q);
          return after_tag(q + 2, esign, close == '%');
        }
      }
      if (is_name_start(c)) {
        size_t e = p;
        while (e < n && (is_name_start(src_[e]) || is_digit(src_[e]))) ++e;
        push(Token::T::Name, p, src_.substr(p, e - p));
        p = e;
      } else if (is_digit(c)) {
        p = number(p);
      } else if (c == '\'' || c == '"') {
        p = string_literal(p);
      } else {
        static const char* two[] = {"//", "**", "==", "!=", "<=", ">="};
        std::string op(1, c);
        for (const char* t : two)
          if (src_.compare(p, 2, t) == 0) op = t;
        if (op.size() == 1 && !std::strchr("+-*/%~<>=.,:|()[]{}", c)) fail(p, std::string("unexpected character '") + c + "'");
        if (c == '(' || c == '[' || c == '{') ++depth;
        if ((c == ')' || c == ']' || c == '}') && depth > 0) --depth;
        push(Token::T::Op, p, op);
        p += op.size();
      }
    }
  }

  size_t number(size_t p) {
    const size_t start = p, n = src_.size();
    bool is_float = false;
    while (p < n && (is_digit(src_[p]) || src_[p] == '_')) ++p;
    if (p + 1 < n && src_[p] == '.' && is_digit(src_[p + 1])) {
      is_float = true;
      ++p;
      while (p < n && (is_digit(src_[p]) || src_[p] == '_')) ++p;
    }
    if (p < n && (src_[p] == 'e' || src_[p] == 'E')) {
      size_t q = p + 1;
      if (q < n && (src_[q] == '+' || src_[q] == '-')) ++q;
      if (q < n && is_digit(src_[q])) {
        is_float = true;
        p = q;
        while (p < n && is_digit(src_[p])) ++p;
      }
    }
    std::string digits;
    for (size_t k = start; k < p; ++k)
      if (src_[k] != '_') digits += src_[k];
    Token t;
    set_pos(t, start);
    if (is_float) {
      t.t = Token::T::Float;
      t.f = std::strtod(digits.c_str(), nullptr);
    } else {
      t.t = Token::T::Int;
      errno = 0;
      t.i = std::strtoll(digits.c_str(), nullptr, 10);
      if (errno == ERANGE) fail(start, "integer literal too large");
    }
    toks_.push_back(std::move(t));
    return p;
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  // Python string literal escapes (\n \t \\ \' \" \xHH \uHHHH ...); unknown escapes stay as written.
  size_t string_literal(size_t p) {
    const char q = src_[p];
    const size_t start = p++;
    std::string out;
    const size_t n = src_.size();
    while (true) {
      if (p >= n) fail(start, "unterminated string literal");
      const char c = src_[p];
      if (c == q) break;
      if (c == '\\' && p + 1 < n) {
        const char e = src_[p + 1];
        p += 2;
        switch (e) {
          case 'n': out += '\n'; break;
          case 't': out += '\t'; break;
          case 'r': out += '\r'; break;
          case '\\': out += '\\'; break;
          case '\'': out += '\''; break;
          case '"': out += '"'; break;
          case '0': out += '\0'; break;
          case 'a': out += '\a'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'v': out += '\v'; break;
          case '\n': break;
          case 'x':
          case 'u':
          case 'U': {
            const size_t len = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            if (p + len > n) fail(p, "truncated \\" + std::string(1, e) + " escape");
            const std::string hex = src_.substr(p, len);
            if (hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) fail(p, "bad \\" + std::string(1, e) + " escape");
            append_utf8(out, static_cast<uint32_t>(std::stoul(hex, nullptr, 16)));
            p += len;
            break;
          }
          default:
            out += '\\';
            out += e;
        }
        continue;
      }
      out += c;
      ++p;
    }
    push(Token::T::String, start, std::move(out));
    return p + 1;
  }

  std::string src_;
  std::vector<size_t> line_starts_;
  std::vector<Token> toks_;
};

}  // namespace

std::vector<Token> lex(std::string_view source) { return Lexer(source).run(); }

}  // namespace kindred::tmpl
