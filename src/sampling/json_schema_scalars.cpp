// Bounded scalars for JSON Schema grammars: integer and number ranges, string formats.
#include <cmath>
#include <map>

#include "sampling/json_schema.h"

namespace kindred {
namespace {

constexpr int kMaxDigits = 19;  // as the unbounded integer rule

std::string any_digits(size_t n) { return n == 0 ? "" : n == 1 ? "[0-9]" : "[0-9]{" + std::to_string(n) + "}"; }

std::string digit_class(char lo, char hi) { return lo == hi ? std::string("\"") + lo + "\"" : std::string("[") + lo + "-" + hi + "]"; }

// Digit strings of one length from x to y (x <= y): split at the first digit, the middle
// digits free, the two ends recursive, so that each string has one parse.
std::string digits_between(const std::string& x, const std::string& y) {
  if (x.empty()) return "";
  const std::string rest_x = x.substr(1), rest_y = y.substr(1);
  const bool full = rest_x.find_first_not_of('0') == std::string::npos && rest_y.find_first_not_of('9') == std::string::npos;
  if (full || x[0] == y[0]) {
    const std::string tail = full ? any_digits(rest_x.size()) : digits_between(rest_x, rest_y);
    return digit_class(x[0], y[0]) + (tail.empty() ? "" : " " + tail);
  }
  std::string alts = "\"" + std::string(1, x[0]) + "\" " + digits_between(rest_x, std::string(rest_x.size(), '9'));
  if (x[0] + 1 <= y[0] - 1) {
    const std::string free = any_digits(rest_x.size());
    alts += " | " + digit_class(static_cast<char>(x[0] + 1), static_cast<char>(y[0] - 1)) + (free.empty() ? "" : " " + free);
  }
  alts += " | \"" + std::string(1, y[0]) + "\" " + digits_between(std::string(rest_y.size(), '0'), rest_y);
  return "( " + alts + " )";
}

unsigned long long pow10(int n) {
  unsigned long long v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}

// Non-negative integers in [a, b] (b absent: up to kMaxDigits digits), no leading zeros.
std::string magnitudes(unsigned long long a, std::optional<unsigned long long> b) {
  if (b && *b < a) return "";
  const int len_a = static_cast<int>(std::to_string(a).size());
  const int len_b = b ? static_cast<int>(std::to_string(*b).size()) : kMaxDigits;
  std::string alts;
  for (int len = len_a; len <= len_b; ++len) {
    if (!b && len > len_a) {  // every longer length at once
      alts += " | [1-9] [0-9]{" + std::to_string(len_a) + "," + std::to_string(kMaxDigits - 1) + "}";
      break;
    }
    const unsigned long long lo = len == len_a ? a : pow10(len - 1);
    const unsigned long long hi = b && len == len_b ? *b : pow10(len) - 1;
    alts += " | " + digits_between(std::to_string(lo), std::to_string(hi));
  }
  return "( " + alts.substr(3) + " )";
}

unsigned long long magnitude(long long v) { return v < 0 ? 0ULL - static_cast<unsigned long long>(v) : static_cast<unsigned long long>(v); }

}  // namespace

std::string gbnf_integer_range(std::optional<long long> min, std::optional<long long> max) {
  if (min && max && *min > *max) return "";
  std::string alts;
  if (!max || *max >= 0) {
    const std::string m = magnitudes(min && *min > 0 ? static_cast<unsigned long long>(*min) : 0,
                                     max ? std::optional<unsigned long long>(static_cast<unsigned long long>(*max)) : std::nullopt);
    if (!m.empty()) alts += m;
  }
  if (!min || *min < 0) {  // "-k" for k in [max(1, -max), -min]
    const unsigned long long from = max && *max < 0 ? magnitude(*max) : 1;
    const std::string m = magnitudes(from, min ? std::optional<unsigned long long>(magnitude(*min)) : std::nullopt);
    if (!m.empty()) alts += (alts.empty() ? "" : " | ") + std::string("\"-\" ") + m;
  }
  return alts.empty() ? "" : "( " + alts + " )";
}

std::string gbnf_number_range(std::optional<double> min, bool min_exclusive, std::optional<double> max, bool max_exclusive) {
  auto ll = [](double v) { return static_cast<long long>(v); };
  // Integers inside the bounds.
  std::optional<long long> int_lo, int_hi;
  if (min) int_lo = min_exclusive ? ll(std::floor(*min)) + 1 : ll(std::ceil(*min));
  if (max) int_hi = max_exclusive ? ll(std::ceil(*max)) - 1 : ll(std::floor(*max));
  std::string alts = gbnf_integer_range(int_lo, int_hi);
  const std::string fraction = " \".\" [0-9]{1,18}";
  // k.f lies in [k, k+1): every fraction fits when k >= min (k > min if exclusive) and k+1 <= max.
  {
    const long long lo = std::max(0LL, int_lo.value_or(0));
    const std::optional<long long> hi = max ? std::optional<long long>(ll(std::floor(*max)) - 1) : std::nullopt;
    if (!hi || *hi >= lo) {
      const std::string m = magnitudes(static_cast<unsigned long long>(lo), hi ? std::optional<unsigned long long>(*hi) : std::nullopt);
      alts += (alts.empty() ? "" : " | ") + m + fraction;
    }
  }
  // -k.f lies in (-(k+1), -k]: it fits when -(k+1) >= min and -k <= max (-k < max if exclusive).
  {
    long long lo = 0;
    if (max) lo = std::max(0LL, max_exclusive ? ll(std::floor(-*max)) + 1 : ll(std::ceil(-*max)));
    const std::optional<long long> hi = min ? std::optional<long long>(ll(std::floor(-*min)) - 1) : std::nullopt;
    if (!hi || *hi >= lo) {
      const std::string m = magnitudes(static_cast<unsigned long long>(lo), hi ? std::optional<unsigned long long>(*hi) : std::nullopt);
      alts += (alts.empty() ? "" : " | ") + std::string("\"-\" ") + m + fraction;
    }
  }
  return alts.empty() ? "" : "( " + alts + " )";
}

std::string gbnf_string_format(std::string_view format) {
  static const std::string kDate =
      "[0-9]{4} \"-\" ( \"0\" [1-9] | \"1\" [0-2] ) \"-\" ( \"0\" [1-9] | [12] [0-9] | \"3\" [01] )";
  static const std::string kTime =
      "( [01] [0-9] | \"2\" [0-3] ) \":\" [0-5] [0-9] \":\" ( [0-5] [0-9] | \"60\" ) ( \".\" [0-9]{1,9} )? "
      "( [Zz] | [+-] ( [01] [0-9] | \"2\" [0-3] ) \":\" [0-5] [0-9] )";
  static const std::map<std::string, std::string, std::less<>> kFormats = {
      {"date", kDate},
      {"time", kTime},
      {"date-time", kDate + " [Tt] " + kTime},
      {"uuid", "[0-9a-fA-F]{8} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{12}"}};
  const auto it = kFormats.find(format);
  return it == kFormats.end() ? "" : it->second;
}

}  // namespace kindred
