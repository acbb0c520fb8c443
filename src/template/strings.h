// Python str operations on UTF-8 text (whitespace and case rules of Python's str, ASCII case
// mapping only), used by string methods and filters.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kindred::tmpl {

// str.strip / lstrip / rstrip; chars == nullptr strips whitespace.
std::string strip(std::string_view s, const std::string* chars, bool left, bool right);
// str.split / rsplit; sep == nullptr splits on runs of whitespace.
std::vector<std::string> split(std::string_view s, const std::string* sep, int64_t maxsplit, bool from_right);
std::vector<std::string> split_lines(std::string_view s);
std::string to_upper(std::string_view s);
std::string to_lower(std::string_view s);
std::string python_title(std::string_view s);  // str.title()
std::string jinja_title(std::string_view s);   // the `title` filter
std::string capitalize(std::string_view s);
std::string replace(std::string_view s, std::string_view old, std::string_view with, int64_t count);
size_t count_substr(std::string_view s, std::string_view sub);

}  // namespace kindred::tmpl
