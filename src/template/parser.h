// Parses template source into a Program (see ast.h), following Jinja2's grammar and operator
// precedence. Throws TemplateError "line L, column C: ..." on a syntax error.
#pragma once
#include <string_view>

#include "template/ast.h"

namespace kindred::tmpl {

Program parse_program(std::string_view source);

}  // namespace kindred::tmpl
