// Renders a parsed Program against a set of globals. One Interpreter per render: it owns the
// variable frames and the limits' counters; the Program is shared and never modified.
#pragma once
#include <string>

#include "template/ast.h"

namespace kindred::tmpl {

// Throws TemplateError for runtime errors and when a limit (output size, loop iterations,
// macro recursion) is exceeded.
std::string render_program(const Program& program, const Dict& globals);

}  // namespace kindred::tmpl
