// Files assembled into the binary's read-only data with the assembler's .incbin, so the program
// needs nothing beside it at run time and the build needs no generated sources. The file path
// is absolute (a compile definition from CMakeLists.txt); the data ends with one 0 byte beyond
// `symbol`_end, so text data can be read as a C string too.
#pragma once

#define KINDRED_INCBIN(symbol, file)                  \
  __asm__(".section .rodata\n"                        \
          ".global " #symbol "\n"                     \
          ".balign 64\n" #symbol ":\n"                \
          ".incbin \"" file "\"\n"                    \
          ".global " #symbol "_end\n" #symbol "_end:\n" \
          ".byte 0\n"                                 \
          ".previous\n")
